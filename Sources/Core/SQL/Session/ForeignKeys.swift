import DriftCore
import DriftStorage

/// What one statement's writes owe the foreign keys, settled when the statement ends (NO
/// ACTION is checked there, so a statement may delete a referenced row and put it back).
final class ReferentialQueue {
    /// Rows written to a table with foreign keys whose key columns are new or changed.
    var childRows: [(table: TableDef, fk: ForeignKeyDef, values: [Value])] = []
    /// Rows of referenced tables deleted (new nil) or updated.
    var parentChanges: [(table: TableDef, old: [Value], new: [Value]?)] = []
    /// Per table id: the foreign keys of other tables that reference it.
    var referencers: [UInt32: [(TableDef, ForeignKeyDef)]] = [:]

    var isEmpty: Bool { childRows.isEmpty && parentChanges.isEmpty }
}

extension Session {
    // MARK: Definition

    /// A FOREIGN KEY definition checked against the referenced table: the referenced columns
    /// (its primary key when none are named) must be its primary key or a unique index, and
    /// each pair of columns must compare.
    func foreignKey(name: String?, columns: [Int], of table: TableDef, references ref: TableRef, refColumns: [String],
                    onDelete: String, onUpdate: String, match: String, location: Int, in t: Transaction,
                    selfTable: TableDef? = nil) throws -> ForeignKeyDef {
        let parent: TableDef
        if let selfTable, ref.name == selfTable.name, ref.schema == nil || ref.schema == selfTable.schema {
            parent = selfTable
        } else if let p = findTable(ref.schema, ref.name, in: t.catalog) {
            parent = p
        } else {
            throw SQLError(.undefinedTable, "relation \"\(ref.name)\" does not exist")
        }
        var refPositions: [Int]
        if refColumns.isEmpty {
            guard !parent.primaryKey.isEmpty else {
                throw SQLError(SQLState("42830"), "there is no primary key for referenced table \"\(parent.name)\"")
            }
            refPositions = parent.primaryKey
        } else {
            refPositions = try refColumns.map { n in
                guard let p = parent.columnPosition(n) else {
                    throw SQLError(.undefinedColumn, "column \"\(n)\" referenced in foreign key constraint does not exist")
                }
                return p
            }
        }
        // REFERENCES on the referenced table, or on each referenced column.
        if parent.id != selfTable?.id { try requireTablePrivileges(.references, parent, in: t.catalog, columns: Set(refPositions)) }
        guard columns.count == refPositions.count else {
            throw SQLError(SQLState("42830"), "number of referencing and referenced columns for foreign key disagree")
        }
        let keyed = Set(refPositions) == Set(parent.primaryKey) && refPositions.count == parent.primaryKey.count
        let indexed = parent.indexes.contains { $0.unique && Set($0.columns) == Set(refPositions) && $0.columns.count == refPositions.count }
        guard keyed || indexed else {
            throw SQLError(SQLState("42830"), "there is no unique constraint matching given keys for referenced table \"\(parent.name)\"")
        }
        let fkName = name ?? uniqueName(table.name, columns.map { table.columns[$0].name }, suffix: "fkey", taken: constraintNames(table),
                                        catalog: nil)
        for (c, r) in zip(columns, refPositions) {
            let a = table.columns[c].type, b = parent.columns[r].type
            if TypeRules.category(a) != TypeRules.category(b) || (a.base != b.base && !(TypeRules.numericRank(a) != nil && TypeRules.numericRank(b) != nil)
                && TypeRules.category(a) != .string) {
                throw SQLError(.datatypeMismatch, "foreign key constraint \"\(fkName)\" cannot be implemented",
                               detail: "Key columns \"\(table.columns[c].name)\" and \"\(parent.columns[r].name)\" are of incompatible types: \(a.name) and \(b.name).")
            }
        }
        func action(_ s: String) throws -> ForeignKeyAction {
            switch s {
            case "NO ACTION", "": return .noAction
            case "RESTRICT": return .restrict
            case "CASCADE": return .cascade
            case "SET NULL": return .setNull
            case "SET DEFAULT": return .setDefault
            default: throw SQLError.notSupported("foreign key action \(s)")
            }
        }
        if match == "PARTIAL" { throw SQLError.notSupported("MATCH PARTIAL", position: sqlPosition(location)) }
        return ForeignKeyDef(name: fkName, columns: columns, refTable: parent.id, refColumns: refPositions,
                             onDelete: try action(onDelete), onUpdate: try action(onUpdate), matchFull: match == "FULL")
    }

    /// ADD CONSTRAINT ... FOREIGN KEY: every existing row must reference a live row.
    func validateForeignKey(_ fk: ForeignKeyDef, of table: TableDef, in t: Transaction) throws {
        guard let parent = fk.refTable == table.id ? table : t.catalog.table(id: fk.refTable) else { return }
        try t.scan(table) { row in
            let values = try RowCodec.decode(row.image, missing: table.missingValues)
            try checkParent(fk, child: table, parent: parent, values, in: t)
            return true
        }
    }

    // MARK: Enforcement

    /// Records a write for the statement-end checks. Cheap when no foreign key is involved.
    func noteWrite(_ table: TableDef, old: [Value]?, new: [Value]?, in t: Transaction) {
        if let new {
            for case .foreignKey(let fk) in table.constraints {
                if let old, fk.columns.allSatisfy({ compareValues(old[$0], new[$0]) == 0 }) { continue }
                referential.childRows.append((table, fk, new))
            }
        }
        if let old, !referencers(of: table, in: t).isEmpty {
            referential.parentChanges.append((table, old, new))
        }
    }

    func referencers(of table: TableDef, in t: Transaction) -> [(TableDef, ForeignKeyDef)] {
        if let r = referential.referencers[table.id] { return r }
        var out: [(TableDef, ForeignKeyDef)] = []
        for other in t.catalog.tables.values.sorted(by: { $0.id < $1.id }) {
            for case .foreignKey(let fk) in other.constraints where fk.refTable == table.id { out.append((other, fk)) }
        }
        referential.referencers[table.id] = out
        return out
    }

    /// Settles the statement's foreign keys: actions on referencing rows (which may write more
    /// rows and so owe more checks), then the check that every written referencing row has
    /// its referenced row.
    func finishForeignKeys(in t: Transaction, parameters: [Value]) throws {
        defer { referential = ReferentialQueue() }
        var rounds = 0
        while !referential.isEmpty {
            rounds += 1
            if rounds > 10_000 { throw SQLError(SQLState("54001"), "foreign key actions nested too deeply") }
            let changes = referential.parentChanges
            referential.parentChanges = []
            var byTable: [UInt32: [(old: [Value], new: [Value]?)]] = [:]
            var tables: [UInt32: TableDef] = [:]
            for c in changes {
                byTable[c.table.id, default: []].append((c.old, c.new))
                tables[c.table.id] = c.table
            }
            for (pid, list) in byTable.sorted(by: { $0.key < $1.key }) {
                guard let parent = tables[pid] else { continue }
                for (child, fk) in referencers(of: parent, in: t) {
                    try settle(fk, parent: parent, child: child, list, in: t, parameters: parameters)
                }
            }
            let rows = referential.childRows
            referential.childRows = []
            for r in rows {
                guard let parent = r.fk.refTable == r.table.id ? r.table : t.catalog.table(id: r.fk.refTable) else { continue }
                try checkParent(r.fk, child: r.table, parent: parent, r.values, in: t)
            }
        }
    }

    /// The referenced row of `values` exists (locked FOR KEY SHARE until the transaction ends,
    /// so it cannot be deleted under the reference), or 23503.
    func checkParent(_ fk: ForeignKeyDef, child: TableDef, parent: TableDef, _ values: [Value], in t: Transaction) throws {
        let keyValues = fk.columns.map { values[$0] }
        let nulls = keyValues.filter(\.isNull).count
        if nulls == keyValues.count { return }
        if nulls > 0 {
            if fk.matchFull {
                throw SQLError(.foreignKeyViolation, "insert or update on table \"\(child.name)\" violates foreign key constraint \"\(fk.name)\"",
                               detail: "MATCH FULL does not allow mixing of null and nonnull key values.")
            }
            return
        }
        if try parentKey(parent, fk.refColumns, keyValues, lock: true, in: t) == nil {
            let cols = fk.columns.map { child.columns[$0].name }.joined(separator: ", ")
            throw SQLError(.foreignKeyViolation, "insert or update on table \"\(child.name)\" violates foreign key constraint \"\(fk.name)\"",
                           detail: "Key (\(cols))=(\(keyValues.map { $0.pgText ?? "null" }.joined(separator: ", "))) is not present in table \"\(parent.name)\".")
        }
    }

    /// The key of the live row of `parent` holding `values` in `columns` (its primary key or a
    /// unique index), converted to the parent's column types; locked FOR KEY SHARE if asked.
    func parentKey(_ parent: TableDef, _ columns: [Int], _ values: [Value], lock: Bool, in t: Transaction) throws -> [UInt8]? {
        var typed: [Int: Value] = [:]
        for (c, v) in zip(columns, values) {
            typed[c] = try Coercion.cast(v, to: parent.columns[c].type, explicit: false)
        }
        var key: [UInt8]?
        if !parent.primaryKey.isEmpty, Set(parent.primaryKey) == Set(columns) {
            var k: [UInt8] = []
            for p in parent.primaryKey { KeyCodec.append(typed[p] ?? .null, to: &k) }
            key = k
        } else if let index = parent.indexes.first(where: { $0.unique && Set($0.columns) == Set(columns) && $0.columns.count == columns.count }) {
            key = try t.findUnique(parent, index, index.columns.map { typed[$0] ?? .null })
            guard key != nil else { return nil }
        } else {
            throw SQLError.bug("foreign key of \(parent.name) has no matching key")
        }
        guard let k = key else { return nil }
        if lock {
            guard case .row(let row, _) = try t.lockRow(parent, key: k, mode: .keyShare), let row else { return nil }
            // A unique-index match must still hold the values after the lock.
            for (c, v) in typed where compareValues(row[c], v) != 0 { return nil }
            return k
        }
        return try t.latestLive(parent, key: k) ? k : nil
    }

    /// Rows of `child` that reference deleted or changed rows of `parent`: refused (NO ACTION,
    /// RESTRICT) or acted on (CASCADE, SET NULL, SET DEFAULT).
    func settle(_ fk: ForeignKeyDef, parent: TableDef, child: TableDef, _ changes: [(old: [Value], new: [Value]?)],
                in t: Transaction, parameters: [Value]) throws {
        var pending: [[Value]: [Value]?] = [:]
        for (old, new) in changes {
            let oldKey = fk.refColumns.map { ExprCompiler.normalized(old[$0]) }
            if oldKey.contains(where: \.isNull) { continue }
            if let new, fk.refColumns.allSatisfy({ compareValues(old[$0], new[$0]) == 0 }) { continue }
            // updateValue: a deleted key maps to nil, which a subscript assignment would remove.
            pending.updateValue(new.map { n in fk.refColumns.map { n[$0] } }, forKey: oldKey)
        }
        guard !pending.isEmpty else { return }
        // NO ACTION: a key the statement put back (or another row still holds) is fine.
        for (k, new) in pending {
            let action = new == nil ? fk.onDelete : fk.onUpdate
            if action == .noAction, try parentKey(parent, fk.refColumns, k, lock: false, in: t) != nil { pending[k] = nil }
        }
        guard !pending.isEmpty else { return }
        // Referencing rows: this transaction's view, then rows committed since its snapshot
        // (a concurrent writer's reference must not be missed).
        var matches: [([UInt8], [Value])] = []
        var seen = Set<[UInt8]>()
        func consider(_ key: [UInt8], _ values: [Value]) {
            let k = fk.columns.map { ExprCompiler.normalized(values[$0]) }
            guard !k.contains(where: \.isNull), pending.index(forKey: k) != nil else { return }
            matches.append((key, values))
        }
        try t.scan(child) { row in
            let key = Array(row.key)
            seen.insert(key)
            consider(key, try RowCodec.decode(row.image, missing: child.missingValues))
            return true
        }
        let latest = try t.cursor(child, at: engine.visibleSeq)
        while try latest.next(limit: 512, { row in
            let key = Array(row.key)
            guard !seen.contains(key), try t.latestLive(child, key: key) else { return }
            consider(key, try RowCodec.decode(row.image, missing: child.missingValues))
        }) > 0 {}
        guard !matches.isEmpty else { return }
        let writer = try TableWriter(child, binder: binder(t, parameters: parameters), ctx: execContext(t, parameters: parameters))
        for (key, values) in matches {
            let k = fk.columns.map { ExprCompiler.normalized(values[$0]) }
            guard let entry = pending[k] else { continue }
            let action = entry == nil ? fk.onDelete : fk.onUpdate
            switch action {
            case .noAction, .restrict:
                let cols = fk.refColumns.map { parent.columns[$0].name }.joined(separator: ", ")
                throw SQLError(.foreignKeyViolation,
                               "update or delete on table \"\(parent.name)\" violates foreign key constraint \"\(fk.name)\" on table \"\(child.name)\"",
                               detail: "Key (\(cols))=(\(k.map { $0.pgText ?? "null" }.joined(separator: ", "))) is still referenced from table \"\(child.name)\".")
            case .cascade, .setNull, .setDefault:
                guard case .row(let found, _) = try t.lockRow(child, key: key, mode: .update), let current = found else { continue }
                let now = fk.columns.map { ExprCompiler.normalized(current[$0]) }
                guard now == k else { continue }
                if action == .cascade, entry == nil {
                    try t.delete(child, key: key)
                    noteWrite(child, old: current, new: nil, in: t)
                    continue
                }
                var next = current
                for (i, c) in fk.columns.enumerated() {
                    switch action {
                    case .cascade: next[c] = try Coercion.cast((entry ?? nil)?[i] ?? .null, to: child.columns[c].type, explicit: false)
                    case .setNull: next[c] = .null
                    default: next[c] = try writer.defaultValue(c)
                    }
                }
                try writer.validate(next)
                try t.update(child, key: key, next, old: current)
                noteWrite(child, old: current, new: next, in: t)
            }
        }
    }
}
