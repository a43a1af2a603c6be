import DriftCore
import DriftStorage

/// ALTER TABLE: every action is one or more logged catalog events, so the table's shape as
/// of any seq stays known. Actions that change stored values (a volatile DEFAULT for a new
/// column, ALTER COLUMN TYPE, a new or dropped primary key) rewrite the live rows in the same
/// transaction: history before the change still reads as it was written.
extension Session {
    func alterTable(_ s: AlterTableStatement, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        let name = s.table.name
        let schema = schemaHolding(s.table.schema, name, in: t.catalog)
        guard let found = t.catalog.table(schema: schema, name) else {
            if s.actions.count == 1, case .renameTable(let to) = s.actions[0] {
                return try renameOther(schema: schema, name, to: to, ifExists: s.ifExists, in: t)
            }
            if t.catalog.view(schema: schema, name) != nil || t.catalog.sequence(schema: schema, name) != nil {
                throw SQLError(.wrongObjectType, "\"\(name)\" is not a table")
            }
            if s.ifExists { return StatementResult(tag: "ALTER TABLE", notices: ["NOTICE: relation \"\(name)\" does not exist, skipping"]) }
            throw SQLError(.undefinedTable, "relation \"\(name)\" does not exist")
        }
        let id = found.id
        if Audit.isAuditTable(found) { throw Self.auditIsAppendOnly() }
        try requireOwner(.relation(id), kind: "table", name: found.name, in: t.catalog)
        var notices: [String] = []
        for action in s.actions {
            // Each action sees the rows the ones before it rewrote.
            t.beginStatement()
            guard let table = t.catalog.table(id: id) else { throw SQLError.bug("altered table vanished") }
            switch action {
            case let .addColumn(c, ifNotExists):
                if table.columnPosition(c.name) != nil {
                    if ifNotExists {
                        notices.append("NOTICE: column \"\(c.name)\" of relation \"\(table.name)\" already exists, skipping")
                        continue
                    }
                    throw SQLError(.duplicateColumn, "column \"\(c.name)\" of relation \"\(table.name)\" already exists")
                }
                try addColumn(c, to: table, in: t, parameters: parameters)
            case let .dropColumn(column, ifExists, cascade):
                guard let pos = table.columnPosition(column) else {
                    if ifExists {
                        notices.append("NOTICE: column \"\(column)\" of relation \"\(table.name)\" does not exist, skipping")
                        continue
                    }
                    throw SQLError(.undefinedColumn, "column \"\(column)\" of relation \"\(table.name)\" does not exist")
                }
                try dropColumn(pos, of: table, cascade: cascade, in: t)
            case let .renameColumn(old, new):
                guard let pos = table.columnPosition(old) else {
                    throw SQLError(.undefinedColumn, "column \"\(old)\" does not exist")
                }
                try checkName(new, location: s.table.location)
                if table.columnPosition(new) != nil {
                    throw SQLError(.duplicateColumn, "column \"\(new)\" of relation \"\(table.name)\" already exists")
                }
                try renameColumn(pos, of: table, to: new, in: t)
            case .renameTable(let to):
                try checkName(to, location: s.table.location)
                if t.catalog.relationExists(schema: schema, to) || t.catalog.index(schema: schema, named: to) != nil {
                    throw SQLError(.duplicateTable, "relation \"\(to)\" already exists")
                }
                try refuseIfViewsBreak(table, in: t, what: "rename table \"\(table.name)\"") { c in
                    try c.apply(.renameTable(table.id, to))
                }
                // The primary key keeps the name it had (PostgreSQL renames no constraints).
                if table.options["drift.pkey_name"] == nil && !table.primaryKey.isEmpty {
                    try t.applyDDL { _ in .setOption(table.id, "drift.pkey_name", table.primaryKeyName) }
                }
                try t.applyDDL { _ in .renameTable(table.id, to) }
            case let .alterColumnType(column, typeName, using):
                guard let pos = table.columnPosition(column) else {
                    throw SQLError(.undefinedColumn, "column \"\(column)\" of relation \"\(table.name)\" does not exist")
                }
                try alterColumnType(pos, of: table, to: try columnType(typeName), using: using, in: t, parameters: parameters)
            case let .setDefault(column, e, text):
                guard let pos = table.columnPosition(column) else {
                    throw SQLError(.undefinedColumn, "column \"\(column)\" of relation \"\(table.name)\" does not exist")
                }
                if table.options["drift.identity.\(pos)"] != nil {
                    throw SQLError(.syntaxError, "column \"\(column)\" of relation \"\(table.name)\" is an identity column",
                                   hint: e == nil ? "Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead." : nil)
                }
                if let e { try validateDefault(e, type: table.columns[pos].type, column: column, in: t) }
                try t.applyDDL { _ in .setDefault(table.id, pos, text) }
            case let .setNotNull(column, on):
                guard let pos = table.columnPosition(column) else {
                    throw SQLError(.undefinedColumn, "column \"\(column)\" of relation \"\(table.name)\" does not exist")
                }
                if on {
                    try requireNoNulls(table, [pos], in: t)
                } else if table.primaryKey.contains(pos) {
                    throw SQLError(.invalidTableDefinition, "column \"\(column)\" is in a primary key")
                } else if table.options["drift.identity.\(pos)"] != nil {
                    throw SQLError(.syntaxError, "column \"\(column)\" of relation \"\(table.name)\" is an identity column")
                }
                try t.applyDDL { _ in .setNotNull(table.id, pos, on) }
            case .addConstraint(let con):
                try addConstraint(con, to: table, in: t)
            case let .dropConstraint(constraint, ifExists, cascade):
                if try !dropConstraint(constraint, of: table, cascade: cascade, in: t) {
                    if ifExists {
                        notices.append("NOTICE: constraint \"\(constraint)\" of relation \"\(table.name)\" does not exist, skipping")
                        continue
                    }
                    throw SQLError(.undefinedObject, "constraint \"\(constraint)\" of relation \"\(table.name)\" does not exist")
                }
            case .setOptions(let options):
                try checkStorageOptions(options)
            case .rowLevelSecurity(let what):
                try setRowSecurity(what, on: table, in: t)
            case .owner:
                throw SQLError.notSupported("ALTER TABLE ... OWNER TO (roles come with the auth plugin)")
            case .setSchema:
                throw SQLError.notSupported("ALTER TABLE ... SET SCHEMA")
            }
        }
        return StatementResult(tag: "ALTER TABLE", notices: notices)
    }

    /// ALTER VIEW / ALTER SEQUENCE / ALTER TABLE on a view or sequence: RENAME TO.
    func renameOther(schema: String, _ name: String, to: String, ifExists: Bool, in t: Transaction) throws -> StatementResult {
        try checkName(to, location: 0)
        if let v = t.catalog.view(schema: schema, name) {
            try requireOwner(.relation(v.id), kind: "view", name: v.name, in: t.catalog)
            if t.catalog.relationExists(schema: schema, to) { throw SQLError(.duplicateTable, "relation \"\(to)\" already exists") }
            var renamed = v
            renamed.name = to
            let probe = renamed
            try refuseIfViewsBreak(nil, in: t, what: "rename view \"\(name)\"", except: v.id) { c in
                try c.apply(.createView(probe))
            }
            try t.applyDDL { _ in .createView(probe) }
            return StatementResult(tag: "ALTER VIEW")
        }
        if let q = t.catalog.sequence(schema: schema, name) {
            try requireOwner(.relation(q.id), kind: "sequence", name: q.name, in: t.catalog)
            if t.catalog.relationExists(schema: schema, to) { throw SQLError(.duplicateTable, "relation \"\(to)\" already exists") }
            var renamed = q
            renamed.name = to
            let next = renamed
            try t.applyDDL { _ in .alterSequence(next) }
            // Defaults naming it follow (PostgreSQL's regclass constant follows by OID).
            for table in t.catalog.tables.values {
                for (p, c) in table.columns.enumerated() where !c.isDropped && c.defaultSQL == "nextval('\(name)'::regclass)" {
                    try t.applyDDL { _ in .setDefault(table.id, p, "nextval('\(to)'::regclass)") }
                }
            }
            return StatementResult(tag: "ALTER SEQUENCE")
        }
        if ifExists { return StatementResult(tag: "ALTER TABLE", notices: ["NOTICE: relation \"\(name)\" does not exist, skipping"]) }
        throw SQLError(.undefinedTable, "relation \"\(name)\" does not exist")
    }

    func checkStorageOptions(_ options: [(String, String?)]) throws {
        for (k, _) in options {
            let key = k.lowercased()
            switch key {
            case "fillfactor", "autovacuum_enabled", "toast_tuple_target", "parallel_workers", "user_catalog_table",
                 "log_autovacuum_min_duration", "system_versioning":
                continue
            default:
                if key.hasPrefix("autovacuum_") || key.hasPrefix("toast.") { continue }
                throw SQLError(.invalidParameterValue, "unrecognized parameter \"\(k)\"")
            }
        }
    }

    /// Views stored as text read columns and tables by name: a change that would leave one
    /// unbindable is refused rather than breaking it (PostgreSQL's views follow renames
    /// because they hold parsed trees).
    func refuseIfViewsBreak(_ table: TableDef?, in t: Transaction, what: String, except: UInt32? = nil,
                            _ change: (inout Catalog) throws -> Void) throws {
        var after = t.catalog
        try change(&after)
        for v in t.catalog.views.values.sorted(by: { $0.id < $1.id }) where v.id != except {
            let before = dependencyBinder(t)
            guard (try? before.bindView(v)) != nil else { continue }
            if let table, !before.referenced.contains(table.id) { continue }
            if (try? dependencyBinder(t, catalog: after).bindView(after.views[v.id] ?? v)) == nil {
                throw SQLError(.featureNotSupported, "cannot \(what) because view \(v.name) reads it by name",
                               detail: "Views are stored as SQL text.", hint: "Drop and recreate the view around the change.")
            }
        }
    }

    // MARK: Columns

    func addColumn(_ c: ColumnDefinition, to table: TableDef, in t: Transaction, parameters: [Value]) throws {
        try checkName(c.name, location: c.location)
        var def = ColumnDef(name: c.name, type: try columnType(c.type))
        var defaultExpr: Expr?
        var primaryKey = false
        var pkName: String?
        var uniques: [ConstraintDef] = []
        var checks: [ConstraintDef] = []
        var foreignKeys: [ConstraintDef] = []
        var identity: (kind: String?, options: [(String, Expr?)])?
        for con in c.constraints {
            if con.deferrable { throw SQLError.notSupported("DEFERRABLE constraints", position: sqlPosition(con.location)) }
            switch con.kind {
            case .notNull: def.notNull = true
            case .null: break
            case .defaultValue(let e, let text):
                try validateDefault(e, type: def.type, column: c.name, in: t)
                def.defaultSQL = text
                defaultExpr = e
            case .primaryKey:
                primaryKey = true
                pkName = con.name
            case .unique: uniques.append(con)
            case .check: checks.append(con)
            case .foreignKey: foreignKeys.append(con)
            case .identity(let always, let options):
                guard [SQLType.int2, .int4, .int8].contains(def.type) else {
                    throw SQLError(.invalidParameterValue, "identity column type must be smallint, integer, or bigint")
                }
                def.notNull = true
                identity = (always ? "a" : "d", options)
            case .generated:
                throw SQLError.notSupported("generated columns", position: sqlPosition(con.location))
            }
        }
        if isSerial(c.type) {
            def.notNull = true
            identity = (nil, [])
        }
        if primaryKey && !table.primaryKey.isEmpty {
            throw SQLError(.invalidTableDefinition, "multiple primary keys for table \"\(table.name)\" are not allowed")
        }
        let position = table.columns.count
        // SERIAL and identity: an owned sequence and its nextval default.
        if let identity {
            let name = uniqueName(table.name, [c.name], suffix: "seq", taken: [], catalog: t.catalog)
            var seq = SequenceDef(id: t.allocateTableId(), schema: table.schema, name: name, type: def.type)
            seq.ownedBy = (table.id, position)
            (seq, _) = try sequenceDefinition(seq, identity.options, creating: true, in: t)
            let created = seq
            try t.applyDDL { _ in .createSequence(created) }
            // The sequence belongs to the table's owner.
            if let owner = t.catalog.acls[.relation(table.id)]?.owner {
                try t.applyDDL { _ in .setACL(.relation(created.id), ObjectACL(owner: owner)) }
            }
            def.defaultSQL = "nextval('\(table.schema == "public" ? "" : table.schema + ".")\(name)'::regclass)"
            defaultExpr = try Session.parseExpression(def.defaultSQL ?? "")
            if let kind = identity.kind { try t.applyDDL { _ in .setOption(table.id, "drift.identity.\(position)", kind) } }
        }
        // What existing rows hold: a non-volatile DEFAULT evaluated once (stored as the value
        // rows written before the column read as); a volatile one per row, by rewriting them.
        var volatile = false
        if let e = defaultExpr {
            let b = binder(t, parameters: parameters)
            let bound = try b.coerce(try b.bindExpr(e, BlockScope(parent: nil)), to: def.type, context: .assignment, location: nil)
            if bound.isVolatile {
                volatile = true
            } else {
                let ctx = execContext(t, parameters: parameters)
                def.missingValue = try ExprCompiler.compile(bound, ctx)(UnsafeBufferPointer(start: nil, count: 0))
            }
        }
        if def.notNull && def.missingValue.isNull && !volatile {
            var any = false
            try t.scan(table) { _ in any = true; return false }
            if any { throw SQLError(.notNullViolation, "column \"\(c.name)\" of relation \"\(table.name)\" contains null values") }
        }
        let added = def
        try t.applyDDL { _ in .addColumn(table.id, added) }
        guard let widened = t.catalog.table(id: table.id) else { throw SQLError.bug("table vanished") }
        if volatile {
            let writer = try TableWriter(widened, binder: binder(t, parameters: parameters), ctx: execContext(t, parameters: parameters))
            for (key, var values) in try liveRows(widened, in: t) {
                values[position] = try writer.defaultValue(position)
                try writer.validate(values)
                try t.update(widened, key: key, values, old: nil)
            }
        }
        t.beginStatement()
        if primaryKey {
            try setPrimaryKey(widened, [position], name: pkName, in: t)
        }
        for u in uniques {
            try addConstraint(ConstraintDef(name: u.name, kind: .unique([c.name], nullsNotDistinct: false), location: u.location),
                              to: try current(table.id, t), in: t)
        }
        for ch in checks {
            guard case let .check(e, text) = ch.kind else { continue }
            let name = ch.name ?? uniqueName(table.name, [c.name], suffix: "check", taken: constraintNames(widened), catalog: nil)
            try addCheck(name: name, e, text: text, to: try current(table.id, t), in: t)
        }
        for fk in foreignKeys {
            guard case let .foreignKey(_, refTable, refColumns, onDelete, onUpdate, match) = fk.kind else { continue }
            let con = ConstraintDef(name: fk.name, kind: .foreignKey(columns: [c.name], table: refTable, refColumns: refColumns,
                                                                     onDelete: onDelete, onUpdate: onUpdate, match: match),
                                    location: fk.location)
            try addConstraint(con, to: try current(table.id, t), in: t)
        }
    }

    func current(_ id: UInt32, _ t: Transaction) throws -> TableDef {
        guard let table = t.catalog.table(id: id) else { throw SQLError.bug("table \(id) vanished") }
        return table
    }

    func constraintNames(_ table: TableDef) -> Set<String> {
        Set(table.constraints.map(\.name) + table.indexes.map(\.name) + [table.primaryKeyName])
    }

    /// Every live row of a table, with its key, read before a rewrite changes them.
    func liveRows(_ table: TableDef, in t: Transaction) throws -> [([UInt8], [Value])] {
        t.beginStatement()
        var rows: [([UInt8], [Value])] = []
        try t.scan(table) { row in
            rows.append((Array(row.key), try RowCodec.decode(row.image, missing: table.missingValues)))
            return true
        }
        return rows
    }

    func requireNoNulls(_ table: TableDef, _ positions: [Int], in t: Transaction) throws {
        try t.scan(table) { row in
            let values = try RowCodec.decode(row.image, missing: table.missingValues)
            if let p = positions.first(where: { values[$0].isNull }) {
                throw SQLError(.notNullViolation, "column \"\(table.columns[p].name)\" of relation \"\(table.name)\" contains null values")
            }
            return true
        }
    }

    func dropColumn(_ pos: Int, of table: TableDef, cascade: Bool, in t: Transaction) throws {
        let column = table.columns[pos].name
        // Foreign keys of other tables that reference the column.
        for other in t.catalog.tables.values.sorted(by: { $0.id < $1.id }) {
            for case .foreignKey(let fk) in other.constraints where fk.refTable == table.id && fk.refColumns.contains(pos) {
                guard cascade else {
                    throw SQLError(SQLState("2BP01"), "cannot drop column \(column) of table \(table.name) because other objects depend on it",
                                   detail: "constraint \(fk.name) on table \(other.name) depends on column \(column) of table \(table.name)",
                                   hint: "Use DROP ... CASCADE to drop the dependent objects too.")
                }
                try t.applyDDL { _ in .dropConstraint(other.id, fk.name) }
            }
        }
        // Views that read it.
        var after = t.catalog
        try after.apply(.dropColumn(table.id, pos))
        for v in t.catalog.views.values.sorted(by: { $0.id < $1.id }) {
            let before = dependencyBinder(t)
            guard let was = try? before.bindView(v), before.referenced.contains(table.id) else { continue }
            // A view depends on the column when its query no longer binds without it, or gives
            // other columns than the view's own (a `*` over the table: PostgreSQL's view names
            // the column).
            // (A view that no longer matched its columns and does again is not broken by it.)
            if let now = try? dependencyBinder(t, catalog: after).bindView(v),
               let nowColumns = try? Binder.viewColumnsAsDefined(v, now).columns {
                guard let wasColumns = try? Binder.viewColumnsAsDefined(v, was).columns else { continue }
                if nowColumns.map(\.name) == wasColumns.map(\.name) && nowColumns.map(\.type) == wasColumns.map(\.type) { continue }
            }
            guard cascade else {
                throw SQLError(SQLState("2BP01"), "cannot drop column \(column) of table \(table.name) because other objects depend on it",
                               detail: "view \(v.name) depends on column \(column) of table \(table.name)",
                               hint: "Use DROP ... CASCADE to drop the dependent objects too.")
            }
            try checkDependentViews(of: v.id, name: v.name, isView: true, in: t, cascade: true)
            try t.applyDDL { c in c.views[v.id] == nil ? nil : .dropView(v.id) }
        }
        // The table's own constraints on it go with it; a primary key on it is dropped, and
        // the rows are keyed by a hidden row id from then on.
        for con in table.constraints {
            switch con {
            case let .check(name, sql):
                let e = try Session.parseExpression(sql)
                if referencesColumn(e, column) { try t.applyDDL { _ in .dropConstraint(table.id, name) } }
            case .foreignKey(let fk):
                if fk.columns.contains(pos) { try t.applyDDL { _ in .dropConstraint(table.id, fk.name) } }
            }
        }
        if table.primaryKey.contains(pos) {
            try setPrimaryKey(table, [], name: nil, in: t)
        }
        for seq in t.catalog.sequences.values where seq.ownedBy?.table == table.id && seq.ownedBy?.column == pos {
            try t.applyDDL { _ in .dropSequence(seq.id) }
        }
        try t.applyDDL { _ in .dropColumn(table.id, pos) }
        if table.options["drift.identity.\(pos)"] != nil {
            try t.applyDDL { _ in .setOption(table.id, "drift.identity.\(pos)", nil) }
        }
    }

    func referencesColumn(_ e: Expr, _ column: String) -> Bool {
        if case .column(let parts, _) = e, parts.last == column { return true }
        return e.children.contains { referencesColumn($0, column) }
    }

    /// The expression with every reference to column `old` renamed.
    func renamingColumn(_ e: Expr, _ old: String, _ new: String) -> Expr {
        e.rewrittenColumns { parts in parts.last == old ? Array(parts.dropLast()) + [new] : parts }
    }

    func renameColumn(_ pos: Int, of table: TableDef, to new: String, in t: Transaction) throws {
        let old = table.columns[pos].name
        try refuseIfViewsBreak(table, in: t, what: "rename column \"\(old)\" of table \"\(table.name)\"") { c in
            try c.apply(.renameColumn(table.id, pos, new))
        }
        try t.applyDDL { _ in .renameColumn(table.id, pos, new) }
        // CHECK constraints are stored as text: they follow the rename.
        for case let .check(name, sql) in table.constraints {
            let e = try Session.parseExpression(sql)
            guard referencesColumn(e, old) else { continue }
            let text = Deparser.expr(renamingColumn(e, old, new))
            try t.applyDDL { _ in .dropConstraint(table.id, name) }
            try t.applyDDL { _ in .addConstraint(table.id, .check(name: name, sql: text)) }
        }
    }

    func alterColumnType(_ pos: Int, of table: TableDef, to type: SQLType, using: Expr?, in t: Transaction, parameters: [Value]) throws {
        let column = table.columns[pos]
        let b = binder(t, parameters: parameters)
        let scope = BlockScope(parent: nil)
        _ = try b.addTable(table, ref: TableRef(name: table.name), mode: .transaction, scope: scope, need: [])
        scope.aggregateBan = "transform expressions"
        scope.windowBan = "transform expressions"
        let source = try b.bindExpr(using ?? .column([column.name], location: 0), scope)
        if source.hasSubquery { throw SQLError.notSupported("cannot use subquery in transform expression") }
        let converted: BoundExpr
        do {
            converted = try b.coerce(source, to: type, context: .assignment, location: nil)
        } catch let err as SQLError where err.code == .datatypeMismatch || err.code == SQLState("42846") {
            if using != nil {
                throw SQLError(.datatypeMismatch, "result of USING clause for column \"\(column.name)\" cannot be cast automatically to type \(type.name)",
                               hint: "You might need to add an explicit cast.")
            }
            throw SQLError(.datatypeMismatch, "column \"\(column.name)\" cannot be cast automatically to type \(type.name)",
                           hint: "You might need to specify \"USING \(column.name)::\(type.name)\".")
        }
        // Other tables' foreign keys must still compare with the new type.
        for other in t.catalog.tables.values {
            for case .foreignKey(let fk) in other.constraints where (fk.refTable == table.id && fk.refColumns.contains(pos))
                || (other.id == table.id && fk.columns.contains(pos)) {
                throw SQLError.notSupported("ALTER COLUMN TYPE of a column in foreign key \(fk.name)")
            }
        }
        try refuseIfViewsBreak(table, in: t, what: "alter type of column \"\(column.name)\"") { c in
            try c.apply(.setColumnType(table.id, pos, type))
        }
        let ctx = execContext(t, parameters: parameters)
        let eval = try ExprCompiler.compile(converted, ctx)
        let rows = try liveRows(table, in: t)
        let width = TableAccess(table: table, alias: table.name, mode: .transaction).width
        var scratch = [Value](repeating: .null, count: width)
        var next: [([UInt8], [Value], [Value])] = []
        for (key, values) in rows {
            for (i, v) in values.enumerated() { scratch[i] = v }
            var changed = values
            changed[pos] = try scratch.withUnsafeBufferPointer { try eval($0) }
            next.append((key, values, changed))
        }
        try t.applyDDL { _ in .setColumnType(table.id, pos, type) }
        if column.defaultSQL != nil && table.options["drift.identity.\(pos)"] == nil, let sql = column.defaultSQL {
            try validateDefault(try Session.parseExpression(sql), type: type, column: column.name, in: t)
        }
        let altered = try current(table.id, t)
        let writer = try TableWriter(altered, binder: binder(t, parameters: parameters), ctx: ctx)
        if altered.primaryKey.contains(pos) {
            // The row keys change with the type: every row moves to its new key.
            for (key, _, _) in next { try t.delete(altered, key: key) }
            for (_, _, values) in next {
                try writer.validate(values)
                try t.insert(altered, values)
            }
        } else {
            for (key, old, values) in next {
                try writer.validate(values)
                try t.update(altered, key: key, values, old: old)
            }
        }
    }

    // MARK: Constraints

    func addConstraint(_ con: ConstraintDef, to table: TableDef, in t: Transaction) throws {
        if con.deferrable { throw SQLError.notSupported("DEFERRABLE constraints", position: sqlPosition(con.location)) }
        func positions(_ names: [String]) throws -> [Int] {
            try names.map { n in
                guard let p = table.columnPosition(n) else {
                    throw SQLError(.undefinedColumn, "column \"\(n)\" named in key does not exist", position: sqlPosition(con.location))
                }
                return p
            }
        }
        if let name = con.name, constraintNames(table).contains(name) || t.catalog.index(schema: table.schema, named: name) != nil {
            throw SQLError(.duplicateObject, "constraint \"\(name)\" for relation \"\(table.name)\" already exists")
        }
        switch con.kind {
        case .primaryKey(let names):
            guard table.primaryKey.isEmpty else {
                throw SQLError(.invalidTableDefinition, "multiple primary keys for table \"\(table.name)\" are not allowed")
            }
            try setPrimaryKey(table, try positions(names), name: con.name, in: t)
        case .unique(let names, _):
            let cols = try positions(names)
            let name = con.name ?? uniqueName(table.name, cols.map { table.columns[$0].name }, suffix: "key", taken: constraintNames(table),
                                              catalog: t.catalog)
            if t.catalog.relationExists(schema: table.schema, name) { throw SQLError(.duplicateTable, "relation \"\(name)\" already exists") }
            let index = IndexDef(id: t.allocateIndexId(), name: name, columns: cols, unique: true)
            try checkExistingUnique(table, index, in: t)
            try t.applyDDL { _ in .createIndex(table.id, index) }
            try t.applyDDL { _ in .setOption(table.id, "drift.unique_constraint.\(index.id)", "u") }
        case let .check(e, text):
            let name = con.name ?? uniqueName(table.name, checkColumns(e, table.columns), suffix: "check", taken: constraintNames(table),
                                              catalog: nil)
            try addCheck(name: name, e, text: text, to: table, in: t)
        case let .foreignKey(columns, ref, refColumns, onDelete, onUpdate, match):
            let fk = try foreignKey(name: con.name, columns: try positions(columns), of: table, references: ref, refColumns: refColumns,
                                    onDelete: onDelete, onUpdate: onUpdate, match: match, location: con.location, in: t)
            try validateForeignKey(fk, of: table, in: t)
            try t.applyDDL { _ in .addConstraint(table.id, .foreignKey(fk)) }
        case .notNull, .null, .defaultValue, .identity, .generated:
            throw SQLError.notSupported("this table constraint", position: sqlPosition(con.location))
        }
    }

    func addCheck(name: String, _ e: Expr, text: String, to table: TableDef, in t: Transaction) throws {
        try validateCheck(e, table: table, in: t)
        let probe = table.with { $0.constraints = [.check(name: name, sql: text)] }
        let writer = try TableWriter(probe, binder: binder(t, parameters: []), ctx: execContext(t, parameters: []))
        try t.scan(table) { row in
            let values = try RowCodec.decode(row.image, missing: table.missingValues)
            do {
                try writer.validate(values)
            } catch let err as SQLError where err.code == .checkViolation {
                throw SQLError(.checkViolation, "check constraint \"\(name)\" of relation \"\(table.name)\" is violated by some row")
            } catch let err as SQLError where err.code == .notNullViolation {
                return true
            }
            return true
        }
        try t.applyDDL { _ in .addConstraint(table.id, .check(name: name, sql: text)) }
    }

    /// Drops a constraint by name: CHECK, FOREIGN KEY, a unique index made by UNIQUE, or the
    /// primary key (rows are keyed by a hidden row id from then on). False if none has it.
    func dropConstraint(_ name: String, of table: TableDef, cascade: Bool, in t: Transaction) throws -> Bool {
        if table.constraints.contains(where: { $0.name == name }) {
            try t.applyDDL { _ in .dropConstraint(table.id, name) }
            return true
        }
        if !table.primaryKey.isEmpty && table.primaryKeyName == name {
            try refuseReferenced(table, columns: table.primaryKey, constraint: name, cascade: cascade, in: t)
            try setPrimaryKey(table, [], name: nil, in: t)
            return true
        }
        if let index = table.indexes.first(where: { $0.name == name && $0.unique }) {
            try refuseReferenced(table, columns: index.columns, constraint: name, cascade: cascade, in: t)
            try t.applyDDL { _ in .dropIndex(table.id, index.id) }
            return true
        }
        return false
    }

    /// Foreign keys that reference exactly these columns need CASCADE (which drops them).
    func refuseReferenced(_ table: TableDef, columns: [Int], constraint: String, cascade: Bool, in t: Transaction) throws {
        for other in t.catalog.tables.values.sorted(by: { $0.id < $1.id }) {
            for case .foreignKey(let fk) in other.constraints where fk.refTable == table.id && Set(fk.refColumns) == Set(columns) {
                guard cascade else {
                    throw SQLError(SQLState("2BP01"), "cannot drop constraint \(constraint) on table \(table.name) because other objects depend on it",
                                   detail: "constraint \(fk.name) on table \(other.name) depends on index \(constraint)",
                                   hint: "Use DROP ... CASCADE to drop the dependent objects too.")
                }
                try t.applyDDL { _ in .dropConstraint(other.id, fk.name) }
            }
        }
    }

    /// Sets (or, with no columns, drops) the primary key. The rows are re-keyed: deleted under
    /// their old keys and inserted under the new ones in this transaction, after checking that
    /// the new key is unique and never null.
    func setPrimaryKey(_ table: TableDef, _ columns: [Int], name: String?, in t: Transaction) throws {
        let rows = try liveRows(table, in: t)
        if !columns.isEmpty {
            let keyName = name ?? table.name + "_pkey"
            if t.catalog.relationExists(schema: table.schema, keyName) || t.catalog.index(schema: table.schema, named: keyName) != nil {
                throw SQLError(.duplicateTable, "relation \"\(keyName)\" already exists")
            }
            var seen = Set<[Value]>()
            for (_, values) in rows {
                if let p = columns.first(where: { values[$0].isNull }) {
                    throw SQLError(.notNullViolation, "column \"\(table.columns[p].name)\" of relation \"\(table.name)\" contains null values")
                }
                let key = columns.map { ExprCompiler.normalized(values[$0]) }
                if !seen.insert(key).inserted {
                    throw SQLError(.uniqueViolation, "could not create unique index \"\(keyName)\"",
                                   detail: "Key (\(columns.map { table.columns[$0].name }.joined(separator: ", ")))=(\(key.map { $0.pgText ?? "null" }.joined(separator: ", "))) is duplicated.")
                }
            }
        }
        for (key, _) in rows { try t.delete(table, key: key) }
        if let old = table.indexes.first(where: table.isPrimaryKeyIndex) {
            try t.applyDDL { _ in .dropIndex(table.id, old.id) }
        }
        try t.applyDDL { _ in .setPrimaryKey(table.id, columns) }
        try t.applyDDL { _ in .setOption(table.id, "drift.pkey_name", columns.isEmpty ? nil : name) }
        if !columns.isEmpty {
            let keyed = try current(table.id, t)
            let index = IndexDef(id: t.allocateIndexId(), name: keyed.primaryKeyName, columns: columns, unique: false)
            try t.applyDDL { _ in .createIndex(table.id, index) }
        }
        let rekeyed = try current(table.id, t)
        for (_, values) in rows { try t.insert(rekeyed, values) }
    }
}

extension Expr {
    /// The expression with every column reference's name parts mapped.
    func rewrittenColumns(_ f: ([String]) -> [String]) -> Expr {
        func m(_ e: Expr) -> Expr { e.rewrittenColumns(f) }
        switch self {
        case let .column(parts, loc): return .column(f(parts), location: loc)
        case .star, .constant, .parameter, .sqlValue, .defaultValue, .subquery: return self
        case let .op(name, l, r, loc): return .op(name, left: l.map(m), right: m(r), location: loc)
        case .and(let xs): return .and(xs.map(m))
        case .or(let xs): return .or(xs.map(m))
        case .not(let x): return .not(m(x))
        case let .isNull(x, n): return .isNull(m(x), negated: n)
        case let .boolTest(x, b): return .boolTest(m(x), b)
        case let .cast(x, ty, loc): return .cast(m(x), ty, location: loc)
        case let .collate(x, c, loc): return .collate(m(x), c, location: loc)
        case let .field(x, n, loc): return .field(m(x), n, location: loc)
        case let .inList(x, xs, n, loc): return .inList(m(x), xs.map(m), negated: n, location: loc)
        case let .between(x, a, b, n, s, loc): return .between(m(x), low: m(a), high: m(b), negated: n, symmetric: s, location: loc)
        case let .like(x, p, e, ci, n, loc): return .like(m(x), pattern: m(p), escape: e.map(m), caseInsensitive: ci, negated: n, location: loc)
        case let .similar(x, p, e, n, loc): return .similar(m(x), pattern: m(p), escape: e.map(m), negated: n, location: loc)
        case .function(var f):
            f.args = f.args.map(m)
            f.filter = f.filter.map(m)
            return .function(f)
        case let .caseWhen(o, ws, e, loc):
            return .caseWhen(operand: o.map(m), whens: ws.map { (m($0.0), m($0.1)) }, otherwise: e.map(m), location: loc)
        case let .coalesce(xs, loc): return .coalesce(xs.map(m), location: loc)
        case let .greatest(xs, loc): return .greatest(xs.map(m), location: loc)
        case let .least(xs, loc): return .least(xs.map(m), location: loc)
        case let .row(xs, loc): return .row(xs.map(m), location: loc)
        case let .array(xs, loc): return .array(xs.map(m), location: loc)
        case let .groupingSet(k, xs, loc): return .groupingSet(kind: k, xs.map(m), location: loc)
        case let .groupingFunc(xs, loc): return .groupingFunc(xs.map(m), location: loc)
        case let .nullIf(a, b, loc): return .nullIf(m(a), m(b), location: loc)
        case let .distinctFrom(a, b, n, loc): return .distinctFrom(m(a), m(b), negated: n, location: loc)
        case let .anyArray(a, op, b, all, loc): return .anyArray(m(a), op: op, m(b), all: all, location: loc)
        case let .subscripted(x, i, u, s, loc): return .subscripted(m(x), index: i.map(m), upper: u.map(m), slice: s, location: loc)
        }
    }
}
