import DriftStorage

/// A row version handed to a reader. The buffers are valid only inside the callback.
public struct RowVersion {
    /// Position of the key in its table (stable; keys are never removed).
    public let entry: Int
    public let key: UnsafeRawBufferPointer
    /// The row image; empty for a delete.
    public let image: UnsafeRawBufferPointer
    public let version: Version
    /// The seq of the version that replaced this one (nil while it is current).
    public let nextSeq: UInt64?
}

/// A bound of an index range: an order-preserving encoding of a prefix of the indexed values.
public struct IndexBound: Sendable {
    public var prefix: [UInt8]
    public var inclusive: Bool
    public init(prefix: [UInt8], inclusive: Bool) {
        self.prefix = prefix
        self.inclusive = inclusive
    }
}

extension TableStore {
    /// Reads the row image of `v` (a version of `e`): memory for the newest, the log otherwise.
    func withImage<T>(_ e: KeyEntry, _ v: Version, log: Log, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        if v.isDelete { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        if v == e.latest && e.imageLength >= 0 && !retired {
            return try images.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[e.imageOffset..<(e.imageOffset + Int(e.imageLength))])) }
        }
        return try log.withFrame(at: v.location) { frame, buf in
            try body(try RowEventCodec.decode(frame.payload(in: buf)).image)
        }
    }

    /// The live row with `key` as of `seq`, or nil.
    public func lookup<T>(key: UnsafeRawBufferPointer, at seq: UInt64, log: Log, _ body: (RowVersion) throws -> T) throws -> T? {
        try lock.withReadLock {
            guard let n = find(key, hash: hashKey(key)) else { return nil }
            let e = entries[n]
            guard let (v, next) = versionAndNext(e, at: seq), !v.isDelete else { return nil }
            return try withImage(e, v, log: log) { img in
                try body(RowVersion(entry: n, key: key, image: img, version: v, nextSeq: next))
            }
        }
    }

    /// The newest committed version of `key` (live or deleted), for write conflict checks.
    public func latestVersion(key: UnsafeRawBufferPointer) -> Version? {
        lock.withReadLock { find(key, hash: hashKey(key)).map { entries[$0].latest } }
    }

    /// Copies up to `limit` rows live as of `seq`, from key position `cursor` on, into
    /// `batch` (replacing what it held), under the table's read lock; the caller works on
    /// them after the lock is released, so its per-row work may read, lock and write this
    /// table freely. Returns the position to continue from, or nil when the table is exhausted.
    public func scan(at seq: UInt64, from cursor: Int, limit: Int, log: Log, into batch: inout ScanBatch) throws -> Int? {
        batch.clear()
        return try lock.withReadLock {
            var n = cursor
            let end = entries.count
            try keyArena.withUnsafeBytes { arena in
                while n < end && batch.count < limit {
                    let e = entries[n]
                    if let (v, next) = versionAndNext(e, at: seq), !v.isDelete {
                        try withImage(e, v, log: log) { img in
                            batch.append(entry: n, key: keyBytes(e, arena), image: img, version: v, nextSeq: next)
                        }
                    }
                    n += 1
                }
            }
            return n < end ? n : nil
        }
    }

    /// Calls `body` with the version of entry `n` live as of `seq`, if any (none when it is
    /// a delete): the newest version's image from memory (`current`, the image arena), an older
    /// one's from the log. Under the read lock.
    @inline(__always)
    private func withLiveVersion(_ n: Int, _ e: KeyEntry, at seq: UInt64, arena: UnsafeRawBufferPointer,
                                 current: UnsafeRawBufferPointer, log: Log, _ body: (RowVersion) throws -> Void) throws {
        let key = keyBytes(e, arena)
        if e.latest.seq <= seq {
            guard e.imageLength >= 0 else { return }
            if retired {
                return try withImage(e, e.latest, log: log) { img in
                    try body(RowVersion(entry: n, key: key, image: img, version: e.latest, nextSeq: nil))
                }
            }
            let img = UnsafeRawBufferPointer(rebasing: current[e.imageOffset..<(e.imageOffset + Int(e.imageLength))])
            try body(RowVersion(entry: n, key: key, image: img, version: e.latest, nextSeq: nil))
        } else if let (v, next) = versionAndNext(e, at: seq), !v.isDelete {
            try withImage(e, v, log: log) { img in
                try body(RowVersion(entry: n, key: key, image: img, version: v, nextSeq: next))
            }
        }
    }

    /// Visits the rows live as of `seq` among the `limit` keys from position `cursor` on,
    /// calling `body` with each row's buffers while the table's read lock is held: no copy is
    /// made, so `body` must only decode (it must not read, lock or write any table, nor wait).
    /// Returns the position to continue from, or nil when the table is exhausted.
    public func visitLocked(at seq: UInt64, from cursor: Int, limit: Int, log: Log,
                            _ body: (RowVersion) throws -> Void) throws -> Int? {
        try lock.withReadLock {
            let end = min(entries.count, cursor + limit)
            try keyArena.withUnsafeBytes { arena in
                try images.withUnsafeBytes { current in
                    try entries.withUnsafeBufferPointer { es in
                        for n in cursor..<end {
                            try withLiveVersion(n, es[n], at: seq, arena: arena, current: current, log: log, body)
                        }
                    }
                }
            }
            return end < entries.count ? end : nil
        }
    }

    /// Where a version scan resumes: a key position and a version of that key.
    public struct VersionCursor: Sendable, Equatable {
        public var entry: Int
        public var version: Int
        public static let start = VersionCursor(entry: 0, version: 0)
    }

    /// Visits up to `limit` versions, deletes included, of every key, oldest first per key, as a
    /// reader at `seq` sees them: only versions with seq ≤ `seq` exist, and a version whose
    /// successor is newer than `seq` is still current (its next seq is nil). Returns the cursor
    /// to continue from, or nil when the table is exhausted or `body` stopped.
    public func scanVersions(from cursor: VersionCursor, upTo seq: UInt64, limit: Int, log: Log,
                             _ body: (RowVersion, UInt64?) throws -> Bool) throws -> VersionCursor? {
        try lock.withReadLock {
            var c = cursor
            var visited = 0
            let end = entries.count
            var stopped = false
            try keyArena.withUnsafeBytes { arena in
                while c.entry < end && visited < limit {
                    let e = entries[c.entry]
                    let count = visibleVersionCount(e, at: seq)
                    while c.version < count && visited < limit {
                        let v = version(e, c.version)
                        let next = c.version + 1 < count ? version(e, c.version + 1).seq : nil
                        visited += 1
                        let keep = try withImage(e, v, log: log) { img in
                            try body(RowVersion(entry: c.entry, key: keyBytes(e, arena), image: img, version: v, nextSeq: next), next)
                        }
                        c.version += 1
                        if !keep { stopped = true; return }
                    }
                    if c.version >= count {
                        c.entry += 1
                        c.version = 0
                    }
                }
            }
            return stopped || c.entry >= end ? nil : c
        }
    }

    /// Every version of `key` a reader at `seq` sees, oldest first (deletes included), with the
    /// seq that ended it (nil while it is current as of `seq`).
    public func history(key: UnsafeRawBufferPointer, upTo seq: UInt64, log: Log,
                        _ body: (RowVersion, UInt64?) throws -> Void) throws {
        try lock.withReadLock {
            guard let n = find(key, hash: hashKey(key)) else { return }
            let e = entries[n]
            let count = visibleVersionCount(e, at: seq)
            for i in 0..<count {
                let v = version(e, i)
                let next = i + 1 < count ? version(e, i + 1).seq : nil
                try withImage(e, v, log: log) { img in
                    try body(RowVersion(entry: n, key: key, image: img, version: v, nextSeq: next), next)
                }
            }
        }
    }

    /// Visits rows live as of `seq` whose indexed values fall within the bounds, in index order.
    /// The index holds every version ever indexed, so each hit is checked against the version
    /// visible at `seq`: a row is visited once, and only if that version's key is the hit.
    /// Rows are copied out in chunks under the read lock and visited outside it. An index the
    /// store no longer has (dropped after `seq`, or while the scan ran) is answered by a scan
    /// that computes each row's index key, in key order.
    public func indexScan(_ def: IndexDef, lower: IndexBound?, upper: IndexBound?, at seq: UInt64, log: Log,
                          missing: [Value], _ body: (RowVersion) throws -> Bool) throws {
        var batch = ScanBatch()
        var resume: [UInt8]?
        var done = false
        guard lock.withReadLock({ indexes[def.id] != nil }) else {
            try indexScanWithoutTree(def, lower: lower, upper: upper, at: seq, log: log, missing: missing, body)
            return
        }
        // The last key visited (when `hasLast`), and the buffer each hit's key is built in.
        var lastKey: [UInt8] = [], hasLast = false
        var scratch: [UInt8] = []
        while !done {
            batch.clear()
            var visited = 0
            let gone = try lock.withReadLock { () -> Bool in
                // Dropped while this scan ran (DROP INDEX, or DROP TABLE releasing the
                // trees): it goes on from a keyed scan, after the last key it visited.
                guard let tree = indexes[def.id] else { return true }
                var failure: (any Error)?
                done = true
                hasLast = false
                keyArena.withUnsafeBytes { arena in
                    tree.scan(from: resume ?? lower?.prefix, strict: resume != nil) { k, value in
                        if resume == nil, let lower, !lower.inclusive, hasPrefix(k, lower.prefix) { return true }
                        if let upper {
                            let c = comparePrefix(k, upper.prefix)
                            if c > 0 || (c == 0 && !upper.inclusive) { return false }
                        }
                        if batch.count >= ScanBatch.chunkRows || visited >= 4 * ScanBatch.chunkRows {
                            done = false
                            return false
                        }
                        lastKey.removeAll(keepingCapacity: true)
                        lastKey.append(contentsOf: k)
                        hasLast = true
                        visited += 1
                        let n = Int(value)
                        let e = entries[n]
                        guard let (v, next) = versionAndNext(e, at: seq), !v.isDelete else { return true }
                        do {
                            try withImage(e, v, log: log) { img in
                                let key = keyBytes(e, arena)
                                guard try indexKey(def, image: img, key: key, missing: missing, into: &scratch, equals: k) else { return }
                                batch.append(entry: n, key: key, image: img, version: v, nextSeq: next)
                            }
                        } catch {
                            failure = error
                            return false
                        }
                        return true
                    }
                }
                if let failure { throw failure }
                return false
            }
            if gone {
                // `resume` is the last key visited (none yet: the range as asked).
                let from = resume.map { IndexBound(prefix: $0, inclusive: false) } ?? lower
                try indexScanWithoutTree(def, lower: from, upper: upper, at: seq, log: log, missing: missing, body)
                return
            }
            if hasLast { resume = lastKey }
            for i in 0..<batch.count where try !batch.withRow(i, body) { return }
            if !hasLast { return }
        }
    }

    /// Visits up to `limit` index hits of a range (as `indexScan` does) from where `state`
    /// left off, calling `body` with each live row's buffers while the table's read lock is
    /// held: no copy is made, so `body` must only decode. Returns false, visiting nothing,
    /// when the store does not hold the index (dropped after `seq`: use `indexScan`).
    ///
    /// `verify` false skips checking each hit's version against the hit's index key: right
    /// for the primary key's index only, whose key for a row never changes (a row's key is
    /// its primary key; a new key is a new row, with its own entry).
    public func indexVisitLocked(_ def: IndexDef, lower: IndexBound?, upper: IndexBound?, at seq: UInt64, log: Log,
                                 missing: [Value], verify: Bool = true, state: inout IndexRangeState, limit: Int,
                                 _ body: (RowVersion) throws -> Void) throws -> Bool {
        if state.finished { return true }
        return try lock.withReadLock {
            guard let tree = indexes[def.id] else { return false }
            var failure: (any Error)?
            var visited = 0
            var stopped = false
            var scratch = state.scratch
            state.scratch = []
            let resume = state.resume
            keyArena.withUnsafeBytes { arena in
                images.withUnsafeBytes { current in
                    entries.withUnsafeBufferPointer { es in
                        // A visit resumes at the key the previous one stopped before.
                        tree.scan(from: resume ?? lower?.prefix, strict: false) { k, value in
                            if resume == nil, let lower, !lower.inclusive, hasPrefix(k, lower.prefix) { return true }
                            if let upper {
                                let c = comparePrefix(k, upper.prefix)
                                if c > 0 || (c == 0 && !upper.inclusive) { return false }
                            }
                            if visited >= limit {
                                stopped = true
                                state.resume = Array(k)
                                return false
                            }
                            visited += 1
                            let n = Int(value)
                            do {
                                try withLiveVersion(n, es[n], at: seq, arena: arena, current: current, log: log) { row in
                                    guard try !verify || indexKey(def, image: row.image, key: row.key, missing: missing, into: &scratch, equals: k) else { return }
                                    try body(row)
                                }
                            } catch {
                                failure = error
                                return false
                            }
                            return true
                        }
                    }
                }
            }
            state.scratch = scratch
            if let failure { throw failure }
            if !stopped { state.finished = true }
            return true
        }
    }

    /// `indexScan` for an index this store does not hold: every row as of `seq` whose computed
    /// index key falls within the bounds, sorted by that key.
    private func indexScanWithoutTree(_ def: IndexDef, lower: IndexBound?, upper: IndexBound?, at seq: UInt64, log: Log,
                                      missing: [Value], _ body: (RowVersion) throws -> Bool) throws {
        var hits: [([UInt8], Int)] = []
        var batch = ScanBatch()
        var cursor: Int? = 0
        while let c = cursor {
            cursor = try scan(at: seq, from: c, limit: ScanBatch.chunkRows, log: log, into: &batch)
            for i in 0..<batch.count {
                _ = try batch.withRow(i) { row in
                    let k = try indexKey(def, image: row.image, key: row.key, missing: missing)
                    if let lower {
                        let c = comparePrefix(k, lower.prefix)
                        if c < 0 || (c == 0 && !lower.inclusive) { return true }
                    }
                    if let upper {
                        let c = comparePrefix(k, upper.prefix)
                        if c > 0 || (c == 0 && !upper.inclusive) { return true }
                    }
                    hits.append((k, row.entry))
                    return true
                }
            }
        }
        hits.sort { compareBytes($0.0, $1.0) < 0 }
        var at = 0
        while at < hits.count {
            batch.clear()
            try lock.withReadLock {
                try keyArena.withUnsafeBytes { arena in
                    while at < hits.count && batch.count < ScanBatch.chunkRows {
                        let n = hits[at].1
                        at += 1
                        let e = entries[n]
                        guard let (v, next) = versionAndNext(e, at: seq), !v.isDelete else { continue }
                        try withImage(e, v, log: log) { img in
                            batch.append(entry: n, key: keyBytes(e, arena), image: img, version: v, nextSeq: next)
                        }
                    }
                }
            }
            for i in 0..<batch.count where try !batch.withRow(i, body) { return }
        }
    }

    public struct Stats: Sendable {
        public var keys: Int
        public var liveRows: Int
        public var versions: Int
        public var memoryImageBytes: Int
    }

    public var stats: Stats {
        lock.withReadLock {
            Stats(keys: entries.count, liveRows: liveRows, versions: versionCount,
                  memoryImageBytes: images.count - imageGarbage)
        }
    }
}

@inline(__always)
func hasPrefix(_ k: UnsafeRawBufferPointer, _ p: [UInt8]) -> Bool {
    k.count >= p.count && p.withUnsafeBytes { b in compareBytes(UnsafeRawBufferPointer(rebasing: k[0..<b.count]), b) == 0 }
}

/// Compares the first `p.count` bytes of `k` with `p` (a shorter `k` compares as its bytes).
@inline(__always)
func comparePrefix(_ k: UnsafeRawBufferPointer, _ p: [UInt8]) -> Int {
    p.withUnsafeBytes { b in compareBytes(UnsafeRawBufferPointer(rebasing: k[0..<min(k.count, b.count)]), b) }
}

@inline(__always)
func comparePrefix(_ k: [UInt8], _ p: [UInt8]) -> Int {
    k.withUnsafeBytes { comparePrefix($0, p) }
}

/// Where a range read of an index (`indexVisitLocked`) resumes.
public struct IndexRangeState {
    /// The first index key not yet visited (the next visit starts at it).
    var resume: [UInt8]?
    /// Reused for the index key each hit is checked against.
    var scratch: [UInt8] = []
    /// Whether the range is exhausted.
    public internal(set) var finished = false
    /// Whether a visit stopped part-way (so rows were delivered).
    public var isStarted: Bool { resume != nil }
    /// The first index key not yet visited, once a visit stopped part-way.
    public var resumeKey: [UInt8]? { resume }

    public init() {}
}

/// Rows copied out of a table under its lock, in one reusable buffer: reading a batch
/// allocates nothing per row once the buffer has grown.
public struct ScanBatch {
    struct Row {
        var entry: Int
        var version: Version
        var nextSeq: UInt64?
        var keyStart: Int
        var keyCount: Int
        var imageStart: Int
        var imageCount: Int
    }

    /// Rows an index range copies out per visit of the tree.
    static let chunkRows = 256

    var bytes: [UInt8] = []
    var rows: [Row] = []

    public init() {}

    public var count: Int { rows.count }

    mutating func clear() {
        bytes.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
    }

    mutating func append(entry: Int, key: UnsafeRawBufferPointer, image: UnsafeRawBufferPointer, version: Version, nextSeq: UInt64?) {
        let keyStart = bytes.count
        bytes.append(contentsOf: key)
        let imageStart = bytes.count
        bytes.append(contentsOf: image)
        rows.append(Row(entry: entry, version: version, nextSeq: nextSeq, keyStart: keyStart, keyCount: key.count,
                        imageStart: imageStart, imageCount: image.count))
    }

    /// Calls `body` with row `i` (its buffers valid only inside the call).
    public func withRow<T>(_ i: Int, _ body: (RowVersion) throws -> T) rethrows -> T {
        let r = rows[i]
        return try bytes.withUnsafeBytes { b in
            try body(RowVersion(entry: r.entry, key: UnsafeRawBufferPointer(rebasing: b[r.keyStart..<(r.keyStart + r.keyCount)]),
                                image: UnsafeRawBufferPointer(rebasing: b[r.imageStart..<(r.imageStart + r.imageCount)]),
                                version: r.version, nextSeq: r.nextSeq))
        }
    }
}
