import DriftCore
import DriftStorage

extension Session {
    func runDriftQL(_ d: DriftQLStatement) throws -> StatementResult {
        if let b = block, b.state == .failed {
            throw SQLError(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        switch d {
        case .snapshot(let name):
            guard block == nil else { throw SQLError(.activeSQLTransaction, "SNAPSHOT cannot run inside a transaction block") }
            let id = try name.map { try currentTable($0).id }
            try requireMaintenance(id)
            let info = try engine.snapshot(table: id)
            return StatementResult(tag: "SNAPSHOT",
                                   columns: [ResultColumn(name: "seq", type: .int8), ResultColumn(name: "file", type: .text),
                                             ResultColumn(name: "bytes", type: .int8)],
                                   rows: [[.int(Int64(info.seq)), .text(info.path), .int(Int64(info.bytes))]])
        case .compact(let name):
            guard block == nil else { throw SQLError(.activeSQLTransaction, "COMPACT cannot run inside a transaction block") }
            let id = try name.map { try currentTable($0).id }
            try requireMaintenance(id)
            let info = try engine.compact(table: id)
            return StatementResult(tag: "COMPACT",
                                   columns: [ResultColumn(name: "segments_packed", type: .int8),
                                             ResultColumn(name: "bytes_before", type: .int8), ResultColumn(name: "bytes_after", type: .int8)],
                                   rows: [[.int(Int64(info.segmentsPacked)), .int(Int64(info.bytesBefore)), .int(Int64(info.bytesAfter))]])
        case let .showDrift(name, key):
            return try withTransaction(readOnly: true) { t in try self.showDrift(t, name, key) }
        case let .createTable(name, pk, indexes):
            return try withTransaction { t in try self.createDriftTable(t, name, pk, indexes) }
        case let .insert(name, doc, at):
            return try withTransaction { t in try self.insertDocument(t, name, doc, at) }
        case let .patch(name, key, doc, at):
            return try withTransaction { t in try self.patchDocument(t, name, key, doc, at) }
        case let .softDelete(name, key):
            return try withTransaction { t in try self.softDelete(t, name, key) }
        }
    }

    /// SNAPSHOT and COMPACT: a table's owner for one table, a superuser for all of them.
    func requireMaintenance(_ table: UInt32?) throws {
        let catalog = engine.latestCatalog
        guard let actor = actingRole(in: catalog), !actor.superuser else { return }
        guard let table, let def = catalog.tables[table] else {
            throw SQLError(.insufficientPrivilege, "must be superuser to snapshot or compact every table")
        }
        try requireOwner(.relation(table), kind: "table", name: def.name, in: catalog)
    }

    func currentTable(_ name: String) throws -> TableDef {
        guard let t = engine.latestCatalog.table(name) else {
            throw SQLError(.undefinedTable, "relation \"\(name)\" does not exist")
        }
        return t
    }

    func createDriftTable(_ t: Transaction, _ name: String, _ pk: String, _ indexed: [String]) throws -> StatementResult {
        try requireCreate(inSchema: "public", in: t.catalog)
        let tableId = t.allocateTableId()
        try t.applyDDL { catalog in
            if catalog.table(name) != nil { throw SQLError(.duplicateTable, "relation \"\(name)\" already exists") }
            var columns = [ColumnDef(name: pk, type: .unknown, notNull: true)]
            var indexes: [IndexDef] = []
            for c in indexed {
                let position: Int
                if let existing = columns.firstIndex(where: { $0.name == c }) {
                    position = existing
                } else {
                    position = columns.count
                    columns.append(ColumnDef(name: c, type: .unknown))
                }
                guard !indexes.contains(where: { $0.columns == [position] }) else { continue }
                indexes.append(IndexDef(id: t.allocateIndexId(), name: "\(name)_\(c)_idx", columns: [position], unique: false))
            }
            return .createTable(TableDef(id: tableId, name: name, columns: columns, primaryKey: [0], indexes: indexes, origin: .driftQL))
        }
        try recordOwner(.relation(tableId), in: t)
        return StatementResult(tag: "CREATE TABLE")
    }

    /// Makes sure every key of a document has a typed column: fixes the type of a column
    /// still awaiting its first value, and adds columns to DriftQL tables (logged ALTERs).
    func ensureColumns(_ t: Transaction, _ name: String, _ pairs: [(String, JSONValue)]) throws -> TableDef {
        var def = try t.table(name)
        for (k, v) in pairs {
            if let pos = def.columnPosition(k) {
                guard def.columns[pos].type == .unknown, let inferred = Coercion.inferType(v) else { continue }
                try requireOwner(.relation(def.id), kind: "table", name: def.name, in: t.catalog)
                let type: SQLType = def.primaryKey.contains(pos) ? (inferred == .int8 ? .int8 : .text) : inferred
                try t.applyDDL { c in
                    guard let cur = c.table(id: def.id), cur.columns[pos].type == .unknown else { return nil }
                    return .setColumnType(def.id, pos, type)
                }
            } else {
                try requireOwner(.relation(def.id), kind: "table", name: def.name, in: t.catalog)
                guard def.origin == .driftQL else {
                    throw SQLError(.undefinedColumn, "column \"\(k)\" of relation \"\(name)\" does not exist")
                }
                guard let type = Coercion.inferType(v) else { continue }
                guard def.columns.count < Limits.tableColumnsMax else {
                    throw SQLError(.tooManyColumns, "tables can have at most \(Limits.tableColumnsMax) columns")
                }
                try t.applyDDL { c in
                    guard let cur = c.table(id: def.id), cur.columnPosition(k) == nil else { return nil }
                    return .addColumn(def.id, ColumnDef(name: k, type: type))
                }
            }
            def = try t.table(name)
        }
        return def
    }

    /// The column a document key writes to; nil for a null under a key that has no column yet
    /// (a null gives no type to create the column with, and reads as absent, i.e. NULL).
    func column(_ def: TableDef, _ key: String, _ value: JSONValue) throws -> Int? {
        if let pos = def.columnPosition(key) { return pos }
        if case .null = value { return nil }
        throw SQLError.bug("column \"\(key)\" of \(def.name) was not created for its document")
    }

    func objectPairs(_ doc: JSONValue, _ what: String, _ at: Int) throws -> [(String, JSONValue)] {
        guard case .object(let pairs) = doc else {
            throw SQLError(.datatypeMismatch, "\(what) takes a JSON object", position: at + 1)
        }
        // A key given twice keeps its last value, as jsonb does.
        var last: [[UInt8]: Int] = [:]
        for (i, (k, _)) in pairs.enumerated() {
            guard !k.isEmpty else {
                throw SQLError(.invalidName, "a document key cannot be empty: it names a column", position: at + 1)
            }
            guard k.utf8.count <= Limits.identifierBytesMax else {
                throw SQLError(.nameTooLong, "document key \"\(k.prefix(20))...\" is too long to name a column",
                               detail: "Column names have at most \(Limits.identifierBytesMax) bytes.", position: at + 1)
            }
            last[Array(k.utf8)] = i
        }
        return pairs.enumerated().filter { last[Array($0.element.0.utf8)] == $0.offset }.map(\.element)
    }

    func value(_ j: JSONValue, _ column: ColumnDef, at: Int) throws -> Value {
        do {
            return try Coercion.fromJSON(j, to: column.type)
        } catch var e as SQLError {
            e.detail = e.detail ?? "in column \"\(column.name)\""
            e.position = at + 1
            throw e
        }
    }

    func insertDocument(_ t: Transaction, _ name: String, _ doc: JSONValue, _ at: Int) throws -> StatementResult {
        let pairs = try objectPairs(doc, "INSERT INTO \(name)", at)
        _ = try driftQLAccess(try t.table(name), .insert, in: t)
        let def = try ensureColumns(t, name, pairs)
        var row = [Value](repeating: .null, count: def.columns.count)
        for (k, v) in pairs {
            guard let pos = try column(def, k, v) else { continue }
            row[pos] = try value(v, def.columns[pos], at: at)
        }
        if let check = try driftQLAccess(def, .insert, check: true, in: t), try !check(row) {
            throw SQLError(.insufficientPrivilege, "new row violates row-level security policy for table \"\(def.name)\"")
        }
        try t.insert(def, row)
        return StatementResult(tag: "INSERT 0 1")
    }

    func keyBytes(_ def: TableDef, _ key: DriftKey) throws -> [UInt8] {
        guard def.primaryKey.count == 1 else {
            throw SQLError.notSupported("DriftQL KEY on a table with a composite primary key")
        }
        let type = def.columns[def.primaryKey[0]].type
        let v: Value
        switch key {
        case .text(let s): v = type == .unknown ? .text(s) : try Coercion.fromText(s, to: type)
        case .integer(let i): v = type.isInteger ? .int(i) : .text(String(i))
        }
        return KeyCodec.encode([v])
    }

    func patchDocument(_ t: Transaction, _ name: String, _ key: DriftKey, _ doc: JSONValue, _ at: Int) throws -> StatementResult {
        let pairs = try objectPairs(doc, "PATCH", at)
        var def = try t.table(name)
        let visible = try driftQLAccess(def, .update, in: t)
        let k = try keyBytes(def, key)
        guard case .row(let current?, _) = try t.lockRow(def, key: k, mode: .noKeyUpdate) else {
            return StatementResult(tag: "PATCH 0")
        }
        // A row the UPDATE policies hide is not there for this role.
        if let visible, try !visible(current) { return StatementResult(tag: "PATCH 0") }
        def = try ensureColumns(t, name, pairs)
        var row = current + [Value](repeating: .null, count: def.columns.count - current.count)
        for (key, v) in pairs {
            guard let pos = try column(def, key, v) else { continue }
            let newValue = try value(v, def.columns[pos], at: at)
            if def.primaryKey.contains(pos) && compareValues(newValue, row[pos]) != 0 {
                throw SQLError.notSupported("changing the primary key (\"\(key)\") with PATCH")
            }
            row[pos] = newValue
        }
        if let check = try driftQLAccess(def, .update, check: true, in: t), try !check(row) {
            throw SQLError(.insufficientPrivilege, "new row violates row-level security policy for table \"\(def.name)\"")
        }
        try t.update(def, key: k, row)
        return StatementResult(tag: "PATCH 1")
    }

    func softDelete(_ t: Transaction, _ name: String, _ key: DriftKey) throws -> StatementResult {
        let def = try t.table(name)
        let visible = try driftQLAccess(def, .delete, in: t)
        let k = try keyBytes(def, key)
        guard case .row(let current?, _) = try t.lockRow(def, key: k, mode: .update) else {
            return StatementResult(tag: "SOFT DELETE 0")
        }
        if let visible, try !visible(current) { return StatementResult(tag: "SOFT DELETE 0") }
        try t.delete(def, key: k)
        return StatementResult(tag: "SOFT DELETE 1")
    }

    func showDrift(_ t: Transaction, _ name: String, _ key: DriftKey) throws -> StatementResult {
        let def = try t.table(name)
        // Every version the reader's SELECT policies allow (as they stand now).
        let allowed = try driftQLAccess(def, .select, in: t)
        let k = try keyBytes(def, key)
        let visible = def.visibleColumns
        let missing = def.missingValues
        let keyValues = try KeyCodec.decode(k)
        var rows: [[Value]] = []
        try t.history(def, key: k) { version, _ in
            var values: [Value]
            if version.version.isDelete {
                values = [Value](repeating: .null, count: def.columns.count)
                for (i, p) in def.primaryKey.enumerated() { values[p] = keyValues[i] }
            } else {
                values = try RowCodec.decode(version.image, missing: missing)
            }
            if let allowed, try !allowed(values) { return }
            rows.append([.int(Int64(version.version.seq)), .timestamptz(PGTime.fromUnix(engine.systemTime(version.version.seq))),
                         .text(version.version.op.name)] + visible.map { values[$0] })
        }
        let columns = [ResultColumn(name: "drift_seq", type: .int8), ResultColumn(name: "committed_at", type: .timestamptz),
                       ResultColumn(name: "drift_op", type: .text)]
            + visible.map { ResultColumn(name: def.columns[$0].name, type: def.columns[$0].type) }
        return StatementResult(tag: "SHOW DRIFT \(rows.count)", columns: columns, rows: rows)
    }
}
