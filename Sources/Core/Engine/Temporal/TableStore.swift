#if canImport(Glibc)
import Glibc
#endif
import DriftStorage

/// One row key's place in a table: where its key bytes are, its newest version and
/// that version's row image (kept in memory), and its older versions if any.
struct KeyEntry {
    var keyOffset: Int
    var keyLength: Int32
    var hash: UInt32
    var latest: Version
    var imageOffset: Int
    /// -1 when the newest version is a delete.
    var imageLength: Int32
    /// Index into `histories` of the older versions, or -1 when there are none.
    var history: Int32
}

/// The temporal state of one table.
///
/// Current row images live in memory (`images`); older versions are (seq, location)
/// pairs whose row images are read from the log on demand, so memory grows with keys
/// and versions, not with history bytes. A point lookup as of any seq is a hash probe
/// plus a binary search over that key's versions.
public final class TableStore: @unchecked Sendable {
    public let id: UInt32
    let lock = RWLock()
    var keyArena: [UInt8] = []
    var entries: [KeyEntry] = []
    var slots: [Int32]
    var histories: [[Version]] = []
    var images: [UInt8] = []
    var imageGarbage = 0
    /// Where a write builds each index key it inserts (under the write lock).
    var indexScratch: [UInt8] = []
    var indexes: [UInt32: BTree] = [:] { didSet { listIndexes() } }
    var indexDefs: [UInt32: IndexDef] = [:] { didSet { listIndexes() } }
    /// Each index with its definition, for the per-row work of applying writes.
    private(set) var indexList: [(IndexDef, BTree)] = []
    /// Values of columns an image predates (from the newest table definition).
    var missing: [Value] = []
    /// A session's temporary table: nothing is logged, so only the newest version of a key
    /// is kept (older ones would have no log frame to read their image from).
    var temporary = false
    /// Set once the table is dropped: its rows are history only, read as of seqs before the
    /// drop, so the newest images come from the log like older ones and the index trees are
    /// gone (an index range is answered by a scan that computes each row's key). A dropped
    /// table would otherwise keep every row's image and index key in memory for the life of
    /// the process, and again after each restart.
    private(set) var retired = false

    // Statistics (under `lock`).
    var liveRows = 0
    var versionCount = 0
    /// The next hidden row id (tables without a primary key); 0 until first used.
    var nextRowId: Int64 = 0
    let rowIdLock = Lock()

    init(id: UInt32) {
        self.id = id
        slots = [Int32](repeating: -1, count: 16)
    }

    private func listIndexes() {
        indexList = indexes.keys.sorted().compactMap { id in indexDefs[id].flatMap { d in indexes[id].map { (d, $0) } } }
    }

    // MARK: Primary-key hash table

    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        let h32 = UInt32(truncatingIfNeeded: hash)
        return slots.withUnsafeBufferPointer { s in
            entries.withUnsafeBufferPointer { es in
                keyArena.withUnsafeBytes { arena in
                    while true {
                        let e = s[i]
                        if e < 0 { return nil }
                        let entry = es[Int(e)]
                        if entry.hash == h32 && Int(entry.keyLength) == key.count
                            && memoryCompare(arena.baseAddress.map { $0 + entry.keyOffset }, key.baseAddress, key.count) == 0 {
                            return Int(e)
                        }
                        i = (i + 1) & mask
                    }
                }
            }
        }
    }

    private func insertSlot(_ entryIndex: Int, hash: UInt64) {
        if (entries.count + 1) * 4 > slots.count * 3 { grow() }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(entryIndex)
    }

    private func grow() { rehash(capacity: slots.count * 2) }

    private func rehash(capacity: Int) {
        var fresh = [Int32](repeating: -1, count: capacity)
        let mask = fresh.count - 1
        // Each entry keeps its hash's low 32 bits, all a table of Int32 entry indexes can use.
        for (n, e) in entries.enumerated() {
            var i = Int(e.hash) & mask
            while fresh[i] >= 0 { i = (i + 1) & mask }
            fresh[i] = Int32(n)
        }
        slots = fresh
    }

    @inline(__always)
    func keyBytes(_ e: KeyEntry, _ arena: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: arena[e.keyOffset..<(e.keyOffset + Int(e.keyLength))])
    }

    // MARK: Versions

    /// The version visible at `seq` and the seq of the one after it (nil while it is current).
    @inline(__always)
    func versionAndNext(_ entry: KeyEntry, at seq: UInt64) -> (Version, UInt64?)? {
        if entry.latest.seq <= seq { return (entry.latest, nil) }
        guard entry.history >= 0 else { return nil }
        return histories[Int(entry.history)].withUnsafeBufferPointer { h in
            var lo = 0, hi = h.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if h[mid].seq <= seq { lo = mid + 1 } else { hi = mid }
            }
            guard lo > 0 else { return nil }
            return (h[lo - 1], lo < h.count ? h[lo].seq : entry.latest.seq)
        }
    }

    /// Version `i` of a key, oldest first (the newest is `entry.latest`).
    @inline(__always)
    func version(_ entry: KeyEntry, _ i: Int) -> Version {
        guard entry.history >= 0 else { return entry.latest }
        let h = histories[Int(entry.history)]
        return i < h.count ? h[i] : entry.latest
    }

    /// How many of a key's versions have seq ≤ `seq` (they are a prefix: versions ascend).
    @inline(__always)
    func visibleVersionCount(_ entry: KeyEntry, at seq: UInt64) -> Int {
        guard entry.history >= 0 else { return entry.latest.seq <= seq ? 1 : 0 }
        if entry.latest.seq <= seq { return histories[Int(entry.history)].count + 1 }
        return histories[Int(entry.history)].withUnsafeBufferPointer { h in
            var lo = 0, hi = h.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if h[mid].seq <= seq { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }

    func allVersions(_ entry: KeyEntry) -> [Version] {
        (entry.history >= 0 ? histories[Int(entry.history)] : []) + [entry.latest]
    }

    // MARK: Applying committed events (writer thread, or recovery)

    /// Applies one committed row event. `indexValues` extracts an index's key values from an image.
    func apply(op: RowOp, key: UnsafeRawBufferPointer, image: UnsafeRawBufferPointer, seq: UInt64,
               location: Location, frameBytes: Int, missing: [Value]) throws {
        let h = hashKey(key)
        let version = Version(seq: seq, op: op, location: location)
        let entryIndex: Int
        if let e = find(key, hash: h) {
            entryIndex = e
            var entry = entries[e]
            keepAsHistory(&entry)
            if entry.imageLength >= 0 {
                imageGarbage += Int(entry.imageLength)
                liveRows -= 1
            }
            entry.latest = version
            setImage(&entry, op == .delete ? nil : image)
            entries[e] = entry
        } else {
            entryIndex = entries.count
            var entry = KeyEntry(keyOffset: keyArena.count, keyLength: Int32(key.count), hash: UInt32(truncatingIfNeeded: h),
                                 latest: version, imageOffset: 0, imageLength: -1, history: -1)
            keyArena.append(contentsOf: key)
            setImage(&entry, op == .delete ? nil : image)
            entries.append(entry)
            insertSlot(entryIndex, hash: h)
        }
        versionCount += 1
        if op != .delete {
            liveRows += 1
            for (def, tree) in indexList {
                try buildIndexKey(def, image: image, key: key, missing: missing, into: &indexScratch)
                indexScratch.withUnsafeBytes { _ = tree.insert($0, Int32(entryIndex)) }
            }
        }
        if !retired && imageGarbage > (1 << 20) && imageGarbage * 2 > images.count { compactImages() }
    }

    /// Commits with at least this many new rows for a table reserve room for them first.
    static let reserveThreshold = 1024

    /// Makes room for `keys` new keys with `bytes` of key and image bytes, so a large commit
    /// grows each array once (at least doubling, so a run of large commits stays linear).
    func reserve(keys: Int, bytes: Int) {
        func grow<T>(_ a: inout [T], by n: Int) {
            let needed = a.count + n
            if needed > a.capacity { a.reserveCapacity(max(needed, a.capacity * 2)) }
        }
        grow(&entries, by: keys)
        grow(&keyArena, by: bytes / 4)
        grow(&images, by: bytes)
        var capacity = slots.count
        while (entries.count + keys) * 4 > capacity * 3 { capacity *= 2 }
        if capacity > slots.count { rehash(capacity: capacity) }
    }

    /// Moves a key's newest version into its history before a newer one replaces it (a
    /// temporary table keeps no history: the newest version simply replaces the one before).
    @inline(__always)
    private func keepAsHistory(_ entry: inout KeyEntry) {
        if temporary { return }
        if entry.history < 0 {
            entry.history = Int32(histories.count)
            histories.append([entry.latest])
        } else {
            histories[Int(entry.history)].append(entry.latest)
        }
    }

    /// TRUNCATE: a delete version at `seq` for every live row, all pointing at the one
    /// truncate frame. Index entries stay (they serve reads as of earlier seqs).
    func truncate(seq: UInt64, location: Location) {
        let version = Version(seq: seq, op: .delete, location: location)
        for e in entries.indices where entries[e].imageLength >= 0 {
            var entry = entries[e]
            keepAsHistory(&entry)
            imageGarbage += Int(entry.imageLength)
            entry.latest = version
            entry.imageLength = -1
            entries[e] = entry
            versionCount += 1
        }
        liveRows = 0
        if !retired && imageGarbage > (1 << 20) && imageGarbage * 2 > images.count { compactImages() }
    }

    private func setImage(_ entry: inout KeyEntry, _ image: UnsafeRawBufferPointer?) {
        guard let image else {
            entry.imageLength = -1
            return
        }
        if retired {
            // Live, with its image in the log only.
            entry.imageOffset = 0
            entry.imageLength = Int32(image.count)
            return
        }
        entry.imageOffset = images.count
        entry.imageLength = Int32(image.count)
        images.append(contentsOf: image)
    }

    /// Rewrites the image arena without the images of superseded versions.
    private func compactImages() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(images.count - imageGarbage + 1024)
        for i in entries.indices where entries[i].imageLength >= 0 {
            let off = entries[i].imageOffset
            entries[i].imageOffset = fresh.count
            fresh.append(contentsOf: images[off..<(off + Int(entries[i].imageLength))])
        }
        images = fresh
        imageGarbage = 0
    }

    /// The B-tree key of a row in an index: the indexed values, then the primary key.
    func indexKey(_ def: IndexDef, image: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, missing: [Value]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + key.count)
        try buildIndexKey(def, image: image, key: key, missing: missing, into: &out)
        return out
    }

    /// Builds a row's index key in `scratch` (allocates nothing once `scratch` has grown).
    func buildIndexKey(_ def: IndexDef, image: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, missing: [Value],
                       into scratch: inout [UInt8]) throws {
        scratch.removeAll(keepingCapacity: true)
        for c in def.columns {
            KeyCodec.append(try RowCodec.decodeColumn(image, c, missing: c < missing.count ? missing[c] : .null), to: &scratch)
        }
        scratch.append(contentsOf: key)
    }

    /// Whether a row's index key, built in `scratch`, equals `expected`.
    func indexKey(_ def: IndexDef, image: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, missing: [Value],
                  into scratch: inout [UInt8], equals expected: UnsafeRawBufferPointer) throws -> Bool {
        try buildIndexKey(def, image: image, key: key, missing: missing, into: &scratch)
        return scratch.withUnsafeBytes { compareBytes($0, expected) == 0 }
    }

    /// Adds an index and fills it from the rows that are live now: readers as of an
    /// earlier seq do not see the index, readers as of a later one find every version
    /// they can see (the live ones here, newer ones as they are applied).
    func addIndex(_ def: IndexDef, missing: [Value]) throws {
        let tree = BTree()
        for (n, e) in entries.enumerated() where e.imageLength >= 0 {
            let k = try keyArena.withUnsafeBytes { arena in
                try images.withUnsafeBytes { img in
                    try indexKey(def, image: UnsafeRawBufferPointer(rebasing: img[e.imageOffset..<(e.imageOffset + Int(e.imageLength))]),
                                 key: keyBytes(e, arena), missing: missing)
                }
            }
            tree.insert(k, Int32(n))
        }
        indexes[def.id] = tree
        indexDefs[def.id] = def
    }

    /// A new row id, above every row id this table has ever held (ids are not reused, so a
    /// deleted row's history stays its own).
    public func allocateRowId() throws -> Int64 {
        try rowIdLock.withLock {
            if nextRowId == 0 {
                var maxSeen: Int64 = 0
                lock.withReadLock {
                    keyArena.withUnsafeBytes { arena in
                        for e in entries {
                            let k = keyBytes(e, arena)
                            guard k.count == 9, k[0] == 0x20 else { continue }
                            var v: UInt64 = 0
                            for i in 1..<9 { v = v << 8 | UInt64(k[i]) }
                            maxSeen = max(maxSeen, Int64(bitPattern: v ^ (1 << 63)))
                        }
                    }
                }
                nextRowId = maxSeen + 1
            }
            guard nextRowId < Int64.max else { throw SQLError(.programLimitExceeded, "row ids are exhausted") }
            defer { nextRowId += 1 }
            return nextRowId
        }
    }

    /// Releases what only the current rows need once the table is dropped (under the write
    /// lock): the image arena and the index trees. Keys and versions stay, so reads as of
    /// any seq before the drop answer as before, from the log.
    func retire() {
        guard !temporary else { return }
        retired = true
        images = []
        imageGarbage = 0
        indexes = [:]
    }

    func dropIndex(_ id: UInt32) {
        indexes[id] = nil
        indexDefs[id] = nil
    }
}
