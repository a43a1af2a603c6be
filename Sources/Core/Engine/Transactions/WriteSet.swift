/// A transaction's buffered row writes: the newest image per key (nil for a delete),
/// found by hashing the key bytes, with an undo log for savepoints.
struct WriteSet {
    struct Write {
        var tableId: UInt32
        var key: [UInt8]
        /// nil for a delete.
        var image: [UInt8]?
        /// Whether the key had a live committed row when first written (decides insert vs update).
        var existedBefore: Bool
        /// Position among the transaction's events (DDL and first writes share one counter).
        var order: Int
        /// The statement (command) that wrote `image` last.
        var command: Int
        /// What the key held when that statement began: the committed state, or the image an
        /// earlier statement of the transaction left (nil: it deleted the row).
        var before: Before
    }

    enum Before {
        case committed
        case own([UInt8]?)
    }

    /// A point to roll back to: how many writes there were, and how many replacements of
    /// earlier writes had been made. New writes need no undo entry (they are the tail of
    /// `writes`), so a bulk insert keeps no undo log.
    struct Mark {
        var writes: Int
        var replaced: Int
    }

    private(set) var writes: [Write] = []
    /// Open addressing over every write: a slot holds a write's index (-1: empty), placed by
    /// the hash of its table and key. No allocation per write; a bulk insert of a million
    /// rows probes flat arrays instead of a dictionary of arrays per key.
    private var slots: [Int32] = []
    /// Each write's hash (same order as `writes`).
    private var hashes: [UInt64] = []
    /// How many writes each table has.
    private var perTable: [UInt32: Int] = [:]
    /// Each replaced write's index and earlier value, oldest first.
    private var replaced: [(Int, Write)] = []

    var mark: Mark { Mark(writes: writes.count, replaced: replaced.count) }

    var isEmpty: Bool { writes.isEmpty }

    func hasWrites(to table: UInt32) -> Bool { perTable[table] != nil }

    @inline(__always)
    private static func hash(_ table: UInt32, _ key: UnsafeRawBufferPointer) -> UInt64 {
        hashKey(key) ^ (UInt64(table) &* 0x9E37_79B9_7F4A_7C15)
    }

    func find(table: UInt32, key: UnsafeRawBufferPointer) -> Int? {
        guard !slots.isEmpty else { return nil }
        let h = Self.hash(table, key)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let w = Int(slots[i])
            if w < 0 { return nil }
            if hashes[w] == h && writes[w].tableId == table && writes[w].key.withUnsafeBytes({ compareBytes($0, key) == 0 }) {
                return w
            }
            i = (i + 1) & mask
        }
    }

    func find(table: UInt32, key: [UInt8]) -> Int? {
        key.withUnsafeBytes { find(table: table, key: $0) }
    }

    func write(_ i: Int) -> Write { writes[i] }

    /// Records a write, replacing an earlier one to the same key.
    mutating func put(table: UInt32, key: [UInt8], image: [UInt8]?, existedBefore: Bool, order: Int, command: Int) {
        if let i = find(table: table, key: key) {
            replaced.append((i, writes[i]))
            if writes[i].command < command { writes[i].before = .own(writes[i].image) }
            writes[i].image = image
            writes[i].command = command
            return
        }
        putNew(table: table, key: key, image: image, existedBefore: existedBefore, order: order, command: command)
    }

    /// Records the first write to a key the caller has just found unwritten (no search).
    mutating func putNew(table: UInt32, key: [UInt8], image: [UInt8]?, existedBefore: Bool, order: Int, command: Int) {
        let i = writes.count
        writes.append(Write(tableId: table, key: key, image: image, existedBefore: existedBefore, order: order,
                            command: command, before: .committed))
        hashes.append(key.withUnsafeBytes { Self.hash(table, $0) })
        perTable[table, default: 0] += 1
        if (writes.count + 1) * 2 > slots.count { rehash(capacity: max(16, slots.count * 2)) } else { place(i) }
    }

    /// Makes room for `n` more writes (a statement that expects to write that many rows), so
    /// the arrays grow once instead of by doubling.
    mutating func reserve(_ n: Int) {
        let needed = writes.count + n
        if needed > writes.capacity {
            writes.reserveCapacity(needed)
            hashes.reserveCapacity(needed)
        }
        var capacity = max(16, slots.count)
        while (needed + 1) * 2 > capacity { capacity *= 2 }
        if capacity > slots.count { rehash(capacity: capacity) }
    }

    private mutating func place(_ w: Int) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hashes[w]) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(w)
    }

    private mutating func rehash(capacity: Int) {
        slots = [Int32](repeating: -1, count: capacity)
        for w in writes.indices { place(w) }
    }

    /// Undoes writes back to `mark`: replacements are restored newest first, then the writes
    /// added since are removed from the end (no write placed after one of them is left in
    /// the table, so clearing its slot keeps every other write's probe run intact).
    mutating func rollback(to mark: Mark) {
        while replaced.count > mark.replaced {
            let (i, old) = replaced.removeLast()
            writes[i] = old
        }
        while writes.count > mark.writes {
            let w = writes.count - 1
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: hashes[w]) & mask
            while Int(slots[i]) != w { i = (i + 1) & mask }
            slots[i] = -1
            let table = writes[w].tableId
            let left = (perTable[table] ?? 1) - 1
            perTable[table] = left == 0 ? nil : left
            writes.removeLast()
            hashes.removeLast()
        }
    }

    /// Writes of one table, in the order they were first made, for scans that merge them
    /// with the store.
    func indices(table: UInt32) -> [Int] {
        guard perTable[table] != nil else { return [] }
        return writes.indices.filter { writes[$0].tableId == table }
    }
}

public enum IsolationLevel: Sendable, Equatable, CustomStringConvertible {
    case readCommitted
    case repeatableRead
    case serializable

    public var description: String {
        switch self {
        case .readCommitted: return "read committed"
        case .repeatableRead: return "repeatable read"
        case .serializable: return "serializable"
        }
    }
}
