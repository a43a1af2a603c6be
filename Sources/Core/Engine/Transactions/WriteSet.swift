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

    enum Undo {
        case added(Int)
        case replaced(Int, Write)
    }

    private(set) var writes: [Write] = []
    /// Per table: key hash to write indices.
    private var byHash: [UInt32: [UInt64: [Int]]] = [:]
    private(set) var undo: [Undo] = []

    var isEmpty: Bool { writes.isEmpty }

    func hasWrites(to table: UInt32) -> Bool { byHash[table] != nil }

    func find(table: UInt32, key: UnsafeRawBufferPointer) -> Int? {
        guard let t = byHash[table], let list = t[hashKey(key)] else { return nil }
        for i in list where writes[i].key.withUnsafeBytes({ compareBytes($0, key) == 0 }) { return i }
        return nil
    }

    func find(table: UInt32, key: [UInt8]) -> Int? {
        key.withUnsafeBytes { find(table: table, key: $0) }
    }

    func write(_ i: Int) -> Write { writes[i] }

    /// Records a write, replacing an earlier one to the same key.
    mutating func put(table: UInt32, key: [UInt8], image: [UInt8]?, existedBefore: Bool, order: Int, command: Int) {
        if let i = find(table: table, key: key) {
            undo.append(.replaced(i, writes[i]))
            if writes[i].command < command { writes[i].before = .own(writes[i].image) }
            writes[i].image = image
            writes[i].command = command
            return
        }
        let i = writes.count
        writes.append(Write(tableId: table, key: key, image: image, existedBefore: existedBefore, order: order,
                            command: command, before: .committed))
        byHash[table, default: [:]][key.withUnsafeBytes { hashKey($0) }, default: []].append(i)
        undo.append(.added(i))
    }

    /// Undoes writes back to an earlier `undo.count`.
    mutating func rollback(to mark: Int) {
        while undo.count > mark {
            switch undo.removeLast() {
            case .replaced(let i, let old):
                writes[i] = old
            case .added:
                // Undo entries are popped in reverse, so an added write is always the last one.
                let w = writes.removeLast()
                let h = w.key.withUnsafeBytes { hashKey($0) }
                var table = byHash[w.tableId] ?? [:]
                var list = table[h] ?? []
                list.removeAll { $0 == writes.count }
                table[h] = list.isEmpty ? nil : list
                byHash[w.tableId] = table.isEmpty ? nil : table
            }
        }
    }

    /// Writes of one table, for scans that merge them with the store.
    func indices(table: UInt32) -> [Int] {
        guard let t = byHash[table] else { return [] }
        return t.values.flatMap { $0 }.sorted()
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
