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
        if v == e.latest && e.imageLength >= 0 {
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

    /// Visits up to `limit` rows live as of `seq`, starting at key position `cursor`.
    /// Returns the cursor to continue from, or nil when the table is exhausted or `body` stopped.
    public func scan(at seq: UInt64, from cursor: Int, limit: Int, log: Log,
                     _ body: (RowVersion) throws -> Bool) throws -> Int? {
        try lock.withReadLock {
            var n = cursor
            var visited = 0
            let end = entries.count
            try keyArena.withUnsafeBytes { arena in
                while n < end && visited < limit {
                    let e = entries[n]
                    if let (v, next) = versionAndNext(e, at: seq), !v.isDelete {
                        visited += 1
                        let keep = try withImage(e, v, log: log) { img in
                            try body(RowVersion(entry: n, key: keyBytes(e, arena), image: img, version: v, nextSeq: next))
                        }
                        if !keep { n = Int.max; return }
                    }
                    n += 1
                }
            }
            return n < end ? n : nil
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
    public func indexScan(_ indexId: UInt32, lower: IndexBound?, upper: IndexBound?, at seq: UInt64, log: Log,
                          missing: [Value], _ body: (RowVersion) throws -> Bool) throws {
        try lock.withReadLock {
            guard let tree = indexes[indexId], let def = indexDefs[indexId] else {
                throw SQLError(.internalError, "index \(indexId) is not built")
            }
            var failure: (any Error)?
            keyArena.withUnsafeBytes { arena in
                tree.scan(from: lower?.prefix) { k, value in
                    if let lower, !lower.inclusive, hasPrefix(k, lower.prefix) { return true }
                    if let upper {
                        let c = comparePrefix(k, upper.prefix)
                        if c > 0 || (c == 0 && !upper.inclusive) { return false }
                    }
                    let n = Int(value)
                    let e = entries[n]
                    guard let (v, next) = versionAndNext(e, at: seq), !v.isDelete else { return true }
                    do {
                        return try withImage(e, v, log: log) { img in
                            let key = keyBytes(e, arena)
                            guard try indexKey(def, image: img, key: key, missing: missing) == k else { return true }
                            return try body(RowVersion(entry: n, key: key, image: img, version: v, nextSeq: next))
                        }
                    } catch {
                        failure = error
                        return false
                    }
                }
            }
            if let failure { throw failure }
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
func hasPrefix(_ k: [UInt8], _ p: [UInt8]) -> Bool {
    k.count >= p.count && k.withUnsafeBytes { a in p.withUnsafeBytes { b in compareBytes(UnsafeRawBufferPointer(rebasing: a[0..<b.count]), b) == 0 } }
}

/// Compares the first `p.count` bytes of `k` with `p` (a shorter `k` compares as its bytes).
@inline(__always)
func comparePrefix(_ k: [UInt8], _ p: [UInt8]) -> Int {
    k.withUnsafeBytes { a in
        p.withUnsafeBytes { b in
            compareBytes(UnsafeRawBufferPointer(rebasing: a[0..<min(a.count, b.count)]), b)
        }
    }
}
