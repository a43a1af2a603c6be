import DriftCore
import DriftStorage

/// A cursor: DECLARE's query result, read as of the declaring statement's snapshot, fetched
/// in steps. The rows are taken when it is declared (the snapshot is fixed then, so this is
/// what a lazy reader would see too); a cursor WITH HOLD outlives its transaction's commit.
final class SQLCursor {
    let name: String
    let columns: [ResultColumn]
    let rows: [[Value]]
    let hold: Bool
    let scroll: Bool
    /// 0 before the first row, rows.count + 1 after the last; otherwise the current row (1-based).
    var position = 0
    /// A WITH HOLD cursor whose transaction committed (a rollback drops the others).
    var committed = false
    /// A simply updatable scan's table and each row's key (WHERE CURRENT OF).
    let table: UInt32?
    let keys: [[UInt8]]

    init(name: String, columns: [ResultColumn], rows: [[Value]], hold: Bool, scroll: Bool,
         table: UInt32? = nil, keys: [[UInt8]] = []) {
        self.table = table
        self.keys = keys
        self.name = name
        self.columns = columns
        self.rows = rows
        self.hold = hold
        self.scroll = scroll
    }

    /// Moves as FETCH/MOVE `direction` does and returns the rows passed over (in fetch order).
    func step(_ direction: FetchDirection) throws -> [[Value]] {
        let n = rows.count
        func at(_ p: Int) -> [[Value]] { p >= 1 && p <= n ? [rows[p - 1]] : [] }
        func forward(_ count: Int) -> [[Value]] {
            var out: [[Value]] = []
            var left = count
            while left > 0 && position <= n {
                position += 1
                if position <= n { out.append(rows[position - 1]) }
                left -= 1
            }
            return out
        }
        func backward(_ count: Int) throws -> [[Value]] {
            guard scroll else {
                throw SQLError(.objectNotInPrerequisiteState, "cursor can only scan forward",
                               hint: "Declare it with SCROLL option to enable backward scan.")
            }
            var out: [[Value]] = []
            var left = count
            while left > 0 && position >= 1 {
                position -= 1
                if position >= 1 { out.append(rows[position - 1]) }
                left -= 1
            }
            return out
        }
        switch direction {
        case .next: return forward(1)
        case .prior: return try backward(1)
        case .first:
            position = min(1, n + 1)
            return at(position)
        case .last:
            position = n == 0 ? 1 : n
            return at(position)
        case .absolute(let k):
            if k < 0 && !scroll || k < Int64(position) && !scroll && k >= 0 {
                if !scroll && k < Int64(position) { _ = try backward(0) }
            }
            let target = k >= 0 ? Int(clamping: k) : n + 1 + Int(clamping: k)
            position = max(0, min(n + 1, target))
            return at(position)
        case .relative(let k):
            if k == 0 { return at(position) }
            return k > 0 ? Array(forward(Int(clamping: k)).suffix(1)) : Array(try backward(Int(clamping: -k)).suffix(1))
        case .forward(let k): return forward(k.map { Int(clamping: $0) } ?? Int.max)
        case .backward(let k): return try backward(k.map { Int(clamping: $0) } ?? Int.max)
        }
    }
}

extension Session {
    func declareCursor(name: String, query: Query, hold: Bool, scroll: Bool) throws -> StatementResult {
        guard let b = block else {
            throw SQLError(SQLState("25P01"), "DECLARE CURSOR can only be used in transaction blocks")
        }
        if cursors[name] != nil { throw SQLError(SQLState("42P03"), "cursor \"\(name)\" already exists") }
        b.beginStatement()
        let capture = Binder.CursorCapture()
        let result = try runQuery(query, in: b, parameters: currentParameters, capture: query.with.isEmpty ? capture : nil)
        var columns = result.columns ?? []
        var rows = result.rows
        var keys: [[UInt8]] = []
        if capture.table != nil {
            keys = rows.map { if case .bytes(let k)? = $0.last { return k } else { return [] } }
            rows = rows.map { Array($0.dropLast()) }
            columns.removeLast()
        }
        cursors[name] = SQLCursor(name: name, columns: columns, rows: rows, hold: hold, scroll: scroll,
                                  table: capture.table?.id, keys: keys)
        return StatementResult(tag: "DECLARE CURSOR")
    }

    /// WHERE CURRENT OF: the key of the row the cursor is on, which must be a row of `table`.
    func currentRowKey(_ name: String, _ table: TableDef) throws -> [UInt8] {
        guard let c = cursors[name] else { throw SQLError(SQLState("34000"), "cursor \"\(name)\" does not exist") }
        guard c.table == table.id, c.keys.count == c.rows.count else {
            throw SQLError(SQLState("24000"), "cursor \"\(name)\" is not a simply updatable scan of table \"\(table.name)\"")
        }
        guard c.position >= 1 && c.position <= c.keys.count else {
            throw SQLError(SQLState("24000"), "cursor \"\(name)\" is not positioned on a row")
        }
        return c.keys[c.position - 1]
    }

    /// WHERE CURRENT OF as a condition on the primary key (so the row is found by key, with
    /// the key values as extra parameters), and the key every written row must have.
    func currentOfCondition(_ name: String, _ table: TableDef, alias: String?, parameters: inout [Value]) throws -> (Expr?, [UInt8]) {
        let key = try currentRowKey(name, table)
        guard !table.hasRowId else { return (nil, key) }
        let values = try KeyCodec.decode(key)
        guard values.count == table.primaryKey.count else { throw SQLError.bug("cursor key does not match \(table.name)'s primary key") }
        var conjuncts: [Expr] = []
        for (p, v) in zip(table.primaryKey, values) {
            parameters.append(v)
            conjuncts.append(.op("=", left: .column([alias ?? table.name, table.columns[p].name], location: -1),
                                 right: .parameter(parameters.count, location: -1), location: -1))
        }
        return (conjuncts.count == 1 ? conjuncts[0] : .and(conjuncts), key)
    }

    func fetchCursor(_ name: String, _ direction: FetchDirection, move: Bool) throws -> StatementResult {
        guard let c = cursors[name] else { throw SQLError(SQLState("34000"), "cursor \"\(name)\" does not exist") }
        let rows = try c.step(direction)
        if move { return StatementResult(tag: "MOVE \(rows.count)") }
        return StatementResult(tag: "FETCH \(rows.count)", columns: c.columns, rows: rows)
    }

    func closeCursor(_ name: String?) throws -> StatementResult {
        if let name {
            guard cursors.removeValue(forKey: name) != nil else {
                throw SQLError(SQLState("34000"), "cursor \"\(name)\" does not exist")
            }
        } else {
            cursors.removeAll()
        }
        return StatementResult(tag: name == nil ? "CLOSE CURSOR ALL" : "CLOSE CURSOR")
    }

    /// At a transaction's end: cursors without HOLD close; a rollback also drops the HOLD
    /// cursors the transaction declared.
    func endCursors(committed: Bool) {
        for (name, c) in cursors {
            if !c.hold || (!committed && !c.committed) { cursors[name] = nil } else { c.committed = true }
        }
    }
}
