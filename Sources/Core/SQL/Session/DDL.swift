import DriftCore
import DriftStorage

/// Schema changes through SQL: each is a logged catalog event, validated first.
extension Session {
    /// The schema a new object goes into (its own, or the first of the search path).
    func checkSchema(_ schema: String?, location: Int) throws -> String {
        guard let t = block ?? implicitTransaction else { return schema ?? "public" }
        return try creationSchema(schema, in: t.catalog, location: location)
    }

    func checkName(_ name: String, location: Int) throws {
        guard name.utf8.count <= Limits.identifierBytesMax else {
            throw SQLError(.nameTooLong, "identifier \"\(name)\" is too long", position: sqlPosition(location))
        }
    }

    // MARK: CREATE TABLE

    func createTable(_ s: CreateTableStatement, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        let temporary = s.temporary || s.table.schema == TemporaryTables.schema
        if s.onCommit != nil && !temporary {
            throw SQLError(SQLState("42P16"), "ON COMMIT can only be used on temporary tables")
        }
        let result = try createTableBody(s, in: t, parameters: parameters)
        if let action = s.onCommit, action != .preserveRows,
           let table = t.catalog.table(schema: TemporaryTables.schema, s.table.name) {
            onCommitActions[table.id] = action
        }
        return result
    }

    /// Runs each temporary table's ON COMMIT action in `t`, just before it commits: DELETE
    /// ROWS empties a table the transaction wrote to, DROP drops the table (with what depends
    /// on it). A table dropped or never committed meanwhile is forgotten.
    func runOnCommitActions(_ t: Transaction) throws {
        guard !onCommitActions.isEmpty, t.state == .active else { return }
        t.beginStatement()
        for (id, action) in onCommitActions.sorted(by: { $0.key < $1.key }) {
            guard let table = t.catalog.table(id: id), table.schema == TemporaryTables.schema else {
                onCommitActions[id] = nil
                continue
            }
            switch action {
            case .deleteRows:
                if t.hasWrites(to: table) { try t.truncate(table) }
            case .drop:
                _ = try drop(DropStatement(kind: .table, names: [[TemporaryTables.schema, table.name]], ifExists: true, cascade: true), in: t)
            case .preserveRows:
                break
            }
        }
    }

    func createTableBody(_ s: CreateTableStatement, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        let schema: String
        if s.temporary || s.table.schema == TemporaryTables.schema {
            // Session-local: defined and stored in this session's memory, never logged.
            if let given = s.table.schema, given != TemporaryTables.schema {
                throw SQLError(SQLState("42P16"), "cannot create temporary relation in non-temporary schema",
                               position: sqlPosition(s.table.location))
            }
            schema = TemporaryTables.schema
        } else {
            schema = try checkSchema(s.table.schema, location: s.table.location)
            try requireCreate(inSchema: schema, in: t.catalog)
        }
        try checkName(s.table.name, location: s.table.location)
        if t.catalog.relationExists(schema: schema, s.table.name) {
            if s.ifNotExists {
                return StatementResult(tag: "CREATE TABLE", notices: ["NOTICE: relation \"\(s.table.name)\" already exists, skipping"])
            }
            throw SQLError(.duplicateTable, "relation \"\(s.table.name)\" already exists")
        }
        for (k, v) in s.options {
            switch k.lowercased() {
            case "fillfactor", "autovacuum_enabled", "toast_tuple_target", "parallel_workers", "oids", "user_catalog_table",
                 "log_autovacuum_min_duration":
                continue
            case "system_versioning":
                continue
            default:
                if k.lowercased().hasPrefix("autovacuum_") || k.lowercased().hasPrefix("toast.") { continue }
                throw SQLError(.invalidParameterValue, "unrecognized parameter \"\(k)\"\(v == nil ? "" : "")")
            }
        }
        if let q = s.asQuery { return try createTableAs(s, q, schema: schema, in: t, parameters: parameters) }
        var columns: [ColumnDef] = []
        var primaryKey: [Int]?
        var pkName: String?
        var uniques: [(name: String?, columns: [Int], location: Int)] = []
        var checks: [(name: String?, expr: Expr, text: String, column: String?)] = []
        var foreignKeys: [(name: String?, columns: [String], ref: TableRef, refColumns: [String], onDelete: String, onUpdate: String,
                           match: String, location: Int)] = []
        /// Columns that own a sequence (SERIAL, identity): position and identity kind.
        var owned: [(position: Int, identity: String?, options: [(String, Expr?)])] = []
        for c in s.columns {
            try checkName(c.name, location: c.location)
            guard !columns.contains(where: { $0.name == c.name }) else {
                throw SQLError(.duplicateColumn, "column \"\(c.name)\" specified more than once", position: sqlPosition(c.location))
            }
            let pos = columns.count
            var def = ColumnDef(name: c.name, type: try columnType(c.type))
            var explicitNull = false
            for con in c.constraints {
                switch con.kind {
                case .notNull:
                    if explicitNull { throw conflictingNull(c, s.table.name) }
                    def.notNull = true
                case .null:
                    if def.notNull { throw conflictingNull(c, s.table.name) }
                    explicitNull = true
                case .defaultValue(let e, let text):
                    guard def.defaultSQL == nil else {
                        throw SQLError(.syntaxError, "multiple default values specified for column \"\(c.name)\" of table \"\(s.table.name)\"",
                                       position: sqlPosition(con.location))
                    }
                    try validateDefault(e, type: def.type, column: c.name, in: t)
                    def.defaultSQL = text
                case .primaryKey:
                    guard primaryKey == nil else { throw multiplePrimaryKeys(s.table.name, con.location) }
                    primaryKey = [pos]
                    pkName = con.name
                case .unique:
                    uniques.append((con.name, [pos], con.location))
                case .check(let e, let text):
                    checks.append((con.name, e, text, c.name))
                case let .foreignKey(_, ref, refColumns, onDelete, onUpdate, match):
                    foreignKeys.append((con.name, [c.name], ref, refColumns, onDelete, onUpdate, match, con.location))
                case .identity(let always, let options):
                    guard [SQLType.int2, .int4, .int8].contains(def.type) else {
                        throw SQLError(.invalidParameterValue, "identity column type must be smallint, integer, or bigint",
                                       position: sqlPosition(con.location))
                    }
                    guard !owned.contains(where: { $0.position == pos }) else {
                        throw SQLError(.syntaxError, "multiple identity specifications for column \"\(c.name)\" of table \"\(s.table.name)\"",
                                       position: sqlPosition(con.location))
                    }
                    def.notNull = true
                    owned.append((pos, always ? "a" : "d", options))
                case .generated:
                    throw SQLError.notSupported("generated columns", position: sqlPosition(con.location))
                }
                if con.deferrable { throw SQLError.notSupported("DEFERRABLE constraints", position: sqlPosition(con.location)) }
            }
            if isSerial(c.type) {
                def.notNull = true
                owned.append((pos, nil, []))
            }
            if owned.contains(where: { $0.position == pos }) && def.defaultSQL != nil {
                throw SQLError(.syntaxError, "multiple default values specified for column \"\(c.name)\" of table \"\(s.table.name)\"",
                               position: sqlPosition(c.location))
            }
            columns.append(def)
        }
        func positions(_ names: [String], _ location: Int) throws -> [Int] {
            try names.map { n in
                guard let p = columns.firstIndex(where: { $0.name == n }) else {
                    throw SQLError(.undefinedColumn, "column \"\(n)\" named in key does not exist", position: sqlPosition(location))
                }
                return p
            }
        }
        for con in s.constraints {
            switch con.kind {
            case .primaryKey(let names):
                guard primaryKey == nil else { throw multiplePrimaryKeys(s.table.name, con.location) }
                primaryKey = try positions(names, con.location)
                pkName = con.name
            case .unique(let names, _):
                uniques.append((con.name, try positions(names, con.location), con.location))
            case .check(let e, let text):
                checks.append((con.name, e, text, nil))
            case let .foreignKey(names, ref, refColumns, onDelete, onUpdate, match):
                foreignKeys.append((con.name, names, ref, refColumns, onDelete, onUpdate, match, con.location))
            default:
                throw SQLError.notSupported("this table constraint", position: sqlPosition(con.location))
            }
            if con.deferrable { throw SQLError.notSupported("DEFERRABLE constraints", position: sqlPosition(con.location)) }
        }
        guard columns.count <= Limits.tableColumnsMax else {
            throw SQLError(.tooManyColumns, "tables can have at most \(Limits.tableColumnsMax) columns")
        }
        for p in primaryKey ?? [] { columns[p].notNull = true }
        let tableId = t.allocateTableId()
        // SERIAL and identity columns: a sequence named <table>_<column>_seq that they own.
        var sequences: [SequenceDef] = []
        var takenNames = Set<String>()
        for o in owned {
            let name = uniqueName(s.table.name, [columns[o.position].name], suffix: "seq", taken: takenNames, catalog: t.catalog)
            takenNames.insert(name)
            var seq = SequenceDef(id: t.allocateTableId(), schema: schema, name: name, type: columns[o.position].type)
            seq.ownedBy = (tableId, o.position)
            (seq, _) = try sequenceDefinition(seq, o.options, creating: true, in: t)
            sequences.append(seq)
            columns[o.position].defaultSQL = "nextval('\(schema == "public" ? "" : schema + ".")\(name)'::regclass)"
        }
        var table = TableDef(id: tableId, schema: schema, name: s.table.name, columns: columns, primaryKey: primaryKey ?? [],
                             indexes: [], origin: .sql)
        if let pkName { table.options["drift.pkey_name"] = pkName }
        if let pk = primaryKey {
            // The primary key's ordered index (rows live in the table keyed by the key's hash,
            // so ranges and prefixes of the key are served by this B-tree, as PostgreSQL's
            // primary key index serves them). Uniqueness is the table's own key.
            if t.catalog.relationExists(schema: schema, table.primaryKeyName) || t.catalog.index(schema: schema, named: table.primaryKeyName) != nil {
                throw SQLError(.duplicateTable, "relation \"\(table.primaryKeyName)\" already exists")
            }
            table.indexes.append(IndexDef(id: t.allocateIndexId(), name: table.primaryKeyName, columns: pk, unique: false))
        }
        for o in owned { if let kind = o.identity { table.options["drift.identity.\(o.position)"] = kind } }
        var usedNames = Set([table.primaryKeyName])
        for u in uniques {
            if let pk = primaryKey, pk == u.columns { continue }
            let name = u.name ?? uniqueName(s.table.name, u.columns.map { columns[$0].name }, suffix: "key", taken: usedNames, catalog: t.catalog)
            usedNames.insert(name)
            if t.catalog.relationExists(schema: schema, name) || t.catalog.index(schema: schema, named: name) != nil {
                throw SQLError(.duplicateTable, "relation \"\(name)\" already exists")
            }
            let index = IndexDef(id: t.allocateIndexId(), name: name, columns: u.columns, unique: true)
            table.indexes.append(index)
            // A UNIQUE constraint, not a bare unique index (pg_constraint lists it).
            table.options["drift.unique_constraint.\(index.id)"] = "u"
        }
        var constraints: [TableConstraint] = []
        for c in checks {
            let name = c.name ?? uniqueName(s.table.name, c.column.map { [$0] } ?? checkColumns(c.expr, columns), suffix: "check",
                                             taken: usedNames, catalog: nil)
            usedNames.insert(name)
            try validateCheck(c.expr, table: table, in: t)
            constraints.append(.check(name: name, sql: c.text))
        }
        let created = table
        for seq in sequences { try t.applyDDL { _ in .createSequence(seq) } }
        try t.applyDDL { catalog in
            if catalog.relationExists(schema: schema, created.name) { throw SQLError(.duplicateTable, "relation \"\(created.name)\" already exists") }
            return .createTable(created)
        }
        if schema != TemporaryTables.schema {
            try recordOwner(.relation(tableId), in: t)
            for seq in sequences { try recordOwner(.relation(seq.id), in: t) }
        }
        for c in constraints { try t.applyDDL { _ in .addConstraint(tableId, c) } }
        for f in foreignKeys {
            let table = try current(tableId, t)
            let fk = try foreignKey(name: f.name, columns: try positions(f.columns, f.location), of: table, references: f.ref,
                                    refColumns: f.refColumns, onDelete: f.onDelete, onUpdate: f.onUpdate, match: f.match,
                                    location: f.location, in: t, selfTable: table)
            if table.constraints.contains(where: { $0.name == fk.name }) || usedNames.contains(fk.name) && f.name != nil {
                throw SQLError(.duplicateObject, "constraint \"\(fk.name)\" for relation \"\(table.name)\" already exists")
            }
            try t.applyDDL { _ in .addConstraint(tableId, .foreignKey(fk)) }
        }
        return StatementResult(tag: "CREATE TABLE")
    }

    func createTableAs(_ s: CreateTableStatement, _ q: Query, schema: String, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        let b = binder(t, parameters: parameters)
        let bound = try b.bindQuery(q, parent: nil)
        guard s.columns.count <= bound.columns.count else {
            throw SQLError(.syntaxError, "too many column names were specified")
        }
        var columns: [ColumnDef] = []
        for (i, c) in bound.columns.enumerated() {
            let name = i < s.columns.count ? s.columns[i].name : c.name
            guard !columns.contains(where: { $0.name == name }) else {
                throw SQLError(.duplicateColumn, "column \"\(name)\" specified more than once")
            }
            columns.append(ColumnDef(name: name, type: c.type == .unknown ? .text : c.type))
        }
        let tableId = t.allocateTableId()
        let table = TableDef(id: tableId, schema: schema, name: s.table.name, columns: columns, primaryKey: [], indexes: [], origin: .sql)
        if schema != TemporaryTables.schema { try requireCreate(inSchema: schema, in: t.catalog) }
        try t.applyDDL { catalog in
            if catalog.relationExists(schema: schema, table.name) { throw SQLError(.duplicateTable, "relation \"\(table.name)\" already exists") }
            return .createTable(table)
        }
        if schema != TemporaryTables.schema { try recordOwner(.relation(tableId), in: t) }
        if s.withNoData { return StatementResult(tag: "CREATE TABLE AS") }
        let ctx = execContext(t, parameters: parameters)
        let rows = try Executor.collect(bound.plan, columns: bound.columns.count, ctx)
        let def = try t.table(table.name, schema: schema)
        for r in rows { try t.insert(def, r) }
        return StatementResult(tag: "SELECT \(rows.count)")
    }

    func conflictingNull(_ c: ColumnDefinition, _ table: String) -> SQLError {
        SQLError(.syntaxError, "conflicting NULL/NOT NULL declarations for column \"\(c.name)\" of table \"\(table)\"",
                 position: sqlPosition(c.location))
    }

    func multiplePrimaryKeys(_ table: String, _ location: Int) -> SQLError {
        SQLError(.invalidTableDefinition, "multiple primary keys for table \"\(table)\" are not allowed", position: sqlPosition(location))
    }

    func isSerial(_ t: TypeName) -> Bool {
        guard t.arrayDimensions == 0 else { return false }
        return t.names.count == 1 && ["serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"].contains(t.names[0].lowercased())
    }

    func columnType(_ t: TypeName) throws -> SQLType {
        if isSerial(t) { return try TypeRules.resolve(t) }
        let type = try TypeRules.resolve(t, userTypes: userTypes)
        if case .array(.array) = type { throw SQLError.notSupported("multidimensional arrays") }
        return type
    }

    /// PostgreSQL's generated constraint name: `<table>_<columns>_<suffix>`, made unique with a number.
    func uniqueName(_ table: String, _ columns: [String], suffix: String, taken: Set<String>, catalog: Catalog?) -> String {
        let base = ([table] + (columns.isEmpty ? [] : [columns.joined(separator: "_")]) + [suffix]).joined(separator: "_")
        func truncated(_ s: String) -> String {
            var bytes = Array(s.utf8)
            if bytes.count > Limits.identifierBytesMax { bytes = Array(bytes.prefix(Limits.identifierBytesMax)) }
            return String(decoding: bytes, as: UTF8.self)
        }
        var name = truncated(base)
        var n = 1
        while taken.contains(name) || catalog?.relationExists(name) == true || catalog?.index(named: name) != nil {
            name = truncated(base.replacingSuffix("_" + suffix, with: "") + "_" + suffix) + String(n)
            n += 1
        }
        return name
    }

    func checkColumns(_ e: Expr, _ columns: [ColumnDef]) -> [String] {
        var names: [String] = []
        func visit(_ x: Expr) {
            if case .column(let parts, _) = x, let n = parts.last, columns.contains(where: { $0.name == n }), !names.contains(n) {
                names.append(n)
            }
            for c in x.children { visit(c) }
        }
        visit(e)
        return names.count == 1 ? names : []
    }

    /// A DEFAULT expression: no column references, no subqueries, the column's type.
    func validateDefault(_ e: Expr, type: SQLType, column: String, in t: Transaction) throws {
        let b = binder(t, parameters: [])
        let scope = BlockScope(parent: nil)
        scope.aggregateBan = "DEFAULT expressions"
        scope.windowBan = "DEFAULT expressions"
        let bound: BoundExpr
        do {
            bound = try b.bindExpr(e, scope)
        } catch let err as SQLError where err.code == .undefinedColumn {
            throw SQLError(.featureNotSupported, "cannot use column reference in DEFAULT expression", position: err.position)
        }
        if bound.hasSubquery { throw SQLError.notSupported("cannot use subquery in DEFAULT expression") }
        do {
            _ = try b.coerce(bound, to: type, context: .assignment, location: e.location)
        } catch let err as SQLError where err.code == .datatypeMismatch || err.code == SQLState("42846") {
            throw SQLError(.datatypeMismatch, "column \"\(column)\" is of type \(type.name) but default expression is of type \(bound.type.name)",
                           hint: "You will need to rewrite or cast the expression.")
        }
    }

    func validateCheck(_ e: Expr, table: TableDef, in t: Transaction) throws {
        let b = binder(t, parameters: [])
        let scope = BlockScope(parent: nil)
        _ = try b.addTable(table, ref: TableRef(name: table.name), mode: .transaction, scope: scope, need: [])
        scope.aggregateBan = "check constraints"
        scope.windowBan = "check constraints"
        let bound = try b.bindCondition(e, scope, context: "CHECK")
        if bound.hasSubquery { throw SQLError.notSupported("cannot use subquery in check constraint") }
    }

    // MARK: CREATE INDEX

    func createIndex(_ s: CreateIndexStatement, in t: Transaction) throws -> StatementResult {
        if let m = s.method, !["btree", "hash"].contains(m.lowercased()) {
            throw SQLError.notSupported("index access method \"\(m)\"")
        }
        if s.whereClause != nil { throw SQLError.notSupported("partial indexes (CREATE INDEX ... WHERE)") }
        guard let table = findTable(s.table.schema, s.table.name, in: t.catalog) else {
            if findView(s.table.schema, s.table.name, in: t.catalog) != nil {
                throw SQLError(.wrongObjectType, "\"\(s.table.name)\" is not a table")
            }
            throw SQLError(.undefinedTable, "relation \"\(s.table.name)\" does not exist")
        }
        try requireOwner(.relation(table.id), kind: "table", name: table.name, in: t.catalog)
        var positions: [Int] = []
        for c in s.columns {
            guard let name = c.name else { throw SQLError.notSupported("expression indexes") }
            guard let p = table.columnPosition(name) else {
                throw SQLError(.undefinedColumn, "column \"\(name)\" does not exist")
            }
            if c.descending || c.nullsFirst != nil {
                // Index order does not change results here: every scan direction is served.
            }
            positions.append(p)
        }
        let schema = table.schema
        let name = s.name ?? uniqueName(table.name, positions.map { table.columns[$0].name }, suffix: "idx", taken: [], catalog: t.catalog)
        try checkName(name, location: s.location)
        if t.catalog.relationExists(schema: schema, name) || t.catalog.index(schema: schema, named: name) != nil {
            if s.ifNotExists {
                return StatementResult(tag: "CREATE INDEX", notices: ["NOTICE: relation \"\(name)\" already exists, skipping"])
            }
            throw SQLError(.duplicateTable, "relation \"\(name)\" already exists")
        }
        let index = IndexDef(id: t.allocateIndexId(), name: name, columns: positions, unique: s.unique)
        if s.unique { try checkExistingUnique(table, index, in: t) }
        try t.applyDDL { _ in .createIndex(table.id, index) }
        return StatementResult(tag: "CREATE INDEX")
    }

    /// A unique index over rows that already repeat a value fails (23505), as in PostgreSQL.
    func checkExistingUnique(_ table: TableDef, _ index: IndexDef, in t: Transaction) throws {
        var seen = Set<[Value]>()
        try t.scan(table) { row in
            let values = try RowCodec.decode(row.image, missing: table.missingValues)
            let key = index.columns.map { ExprCompiler.normalized(values[$0]) }
            if key.contains(where: \.isNull) { return true }
            if !seen.insert(key).inserted {
                let cols = index.columns.map { table.columns[$0].name }.joined(separator: ", ")
                throw SQLError(.uniqueViolation, "could not create unique index \"\(index.name)\"",
                               detail: "Key (\(cols))=(\(key.map { $0.pgText ?? "null" }.joined(separator: ", "))) is duplicated.")
            }
            return true
        }
    }

    // MARK: CREATE VIEW

    func createView(_ s: CreateViewStatement, text: String, textOffset: Int, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        if s.temporary { throw SQLError.notSupported("temporary views") }
        let schema = try checkSchema(s.view.schema, location: s.view.location)
        try checkName(s.view.name, location: s.view.location)
        try requireCreate(inSchema: schema, in: t.catalog)
        // Bind now: a view over missing tables or columns fails at CREATE, as in PostgreSQL.
        let b = binder(t, parameters: [])
        b.starExpansions = []
        let bound = try b.bindQuery(s.query, parent: nil)
        guard s.columns.count <= bound.columns.count else {
            throw SQLError(.syntaxError, "CREATE VIEW specifies more column names than columns")
        }
        var names = bound.columns.map(\.name)
        for (i, n) in s.columns.enumerated() { names[i] = n }
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted {
            throw SQLError(.duplicateColumn, "column \"\(n)\" specified more than once")
        }
        let existing = t.catalog.view(schema: schema, s.view.name)
        if t.catalog.table(schema: schema, s.view.name) != nil {
            throw SQLError(.duplicateTable, "relation \"\(s.view.name)\" already exists")
        }
        if existing != nil && !s.replace {
            throw SQLError(.duplicateTable, "relation \"\(s.view.name)\" already exists")
        }
        if let existing, s.replace {
            // CREATE OR REPLACE keeps the existing columns' names and types in place.
            // Its columns are the ones it was created with (its query, bound again, may give
            // more: a `*` over a table that gained columns).
            let oldQuery = try b.bindView(existing)
            let oldNames = existing.columnNames.isEmpty ? oldQuery.columns.map(\.name) : existing.columnNames
            for (i, oldName) in oldNames.enumerated() {
                guard i < bound.columns.count else { throw SQLError(SQLState("42P16"), "cannot drop columns from view") }
                if names[i] != oldName {
                    throw SQLError(SQLState("42P16"), "cannot change name of view column \"\(oldName)\" to \"\(names[i])\"")
                }
                if i < oldQuery.columns.count, oldQuery.columns[i].type != bound.columns[i].type {
                    throw SQLError(SQLState("42P16"), "cannot change data type of view column \"\(names[i])\" from \(oldQuery.columns[i].type.name) to \(bound.columns[i].type.name)")
                }
            }
        }
        if let existing { try requireOwner(.relation(existing.id), kind: "view", name: existing.name, in: t.catalog) }
        // Stored with each `*` spelled out, as PostgreSQL stores a view: columns its tables
        // gain later are not the view's.
        let sql = expandingStars(text, offset: textOffset, b.starExpansions ?? [], expected: bound.columns, in: t) ?? text
        let view = ViewDef(id: existing?.id ?? t.allocateTableId(), schema: schema, name: s.view.name, sql: sql, columnNames: names)
        try t.applyDDL { _ in .createView(view) }
        if existing == nil { try recordOwner(.relation(view.id), in: t) }
        return StatementResult(tag: "CREATE VIEW")
    }

    /// A view's query text with each `*` replaced by the column references it stands for;
    /// nil when it has none, or when the text so written would not give the same columns
    /// (the query is then stored as written, and its `*` expands at each read).
    func expandingStars(_ text: String, offset: Int, _ stars: [(location: Int, columns: [String])], expected: [ResultColumn],
                        in t: Transaction) -> String? {
        guard !stars.isEmpty, let tokens = try? Lexer.tokenize(text) else { return nil }
        var edits: [(Range<Int>, String)] = []
        for (location, columns) in stars {
            // `*` or `name.*`: from where the reference starts to its `*`.
            let start = location - offset
            guard start >= 0, !columns.isEmpty,
                  let star = tokens.first(where: { $0.start >= start && $0.text == "*" && ($0.kind == .op || $0.kind == .punct) }),
                  !edits.contains(where: { $0.0.contains(start) }) else { return nil }
            edits.append((start..<star.end, columns.joined(separator: ", ")))
        }
        var bytes = Array(text.utf8)
        for (range, replacement) in edits.sorted(by: { $0.0.lowerBound > $1.0.lowerBound }) {
            guard range.upperBound <= bytes.count else { return nil }
            bytes.replaceSubrange(range, with: Array(replacement.utf8))
        }
        let expanded = String(decoding: bytes, as: UTF8.self)
        let check = binder(t, parameters: [])
        guard let (q, map) = try? Session.parseQuery(expanded, what: "view", dt: check.dateTime) else { return nil }
        check.statementTemporal = q.temporal
        check.temporalMap = map
        var query = q
        query.temporal = nil
        guard let rebound = try? check.bindQuery(query, parent: nil),
              rebound.columns.map(\.name) == expected.map(\.name), rebound.columns.map(\.type) == expected.map(\.type) else { return nil }
        return expanded
    }

    // MARK: DROP

    func drop(_ s: DropStatement, in t: Transaction) throws -> StatementResult {
        let tag: String
        switch s.kind {
        case .table: tag = "DROP TABLE"
        case .view: tag = "DROP VIEW"
        case .index: tag = "DROP INDEX"
        case .sequence: tag = "DROP SEQUENCE"
        case .schema: return try dropSchemas(s.names, ifExists: s.ifExists, cascade: s.cascade, in: t)
        case .type: return try dropTypes(s.names, ifExists: s.ifExists, cascade: s.cascade, in: t)
        default: throw SQLError.notSupported("DROP \(s.kind.rawValue.replacingPrefix("OBJECT_", with: ""))")
        }
        var notices: [String] = []
        for parts in s.names {
            let name = parts.last ?? ""
            let catalog = t.catalog
            let schema = schemaHolding(parts.count > 1 ? parts[parts.count - 2] : nil, name, in: catalog)
            switch s.kind {
            case .table:
                guard let table = catalog.table(schema: schema, name) else {
                    if catalog.view(schema: schema, name) != nil {
                        throw SQLError(.wrongObjectType, "\"\(name)\" is not a table", hint: "Use DROP VIEW to remove a view.")
                    }
                    if s.ifExists { notices.append("NOTICE: table \"\(name)\" does not exist, skipping"); continue }
                    throw SQLError(.undefinedTable, "table \"\(name)\" does not exist")
                }
                if Audit.isAuditTable(table) { throw Self.auditIsAppendOnly() }
                try requireOwner(.relation(table.id), kind: "table", name: table.name, in: catalog)
                try checkDependentViews(of: table.id, name: table.name, isView: false, in: t, cascade: s.cascade)
                // Foreign keys of other tables referencing it: refused, or dropped with CASCADE.
                for other in t.catalog.tables.values.sorted(by: { $0.id < $1.id }) where other.id != table.id {
                    for case .foreignKey(let fk) in other.constraints where fk.refTable == table.id {
                        if s.names.contains(where: { ($0.last ?? "") == other.name }) { continue }
                        guard s.cascade else {
                            throw SQLError(SQLState("2BP01"), "cannot drop table \(table.name) because other objects depend on it",
                                           detail: "constraint \(fk.name) on table \(other.name) depends on table \(table.name)",
                                           hint: "Use DROP ... CASCADE to drop the dependent objects too.")
                        }
                        notices.append("NOTICE: drop cascades to constraint \(fk.name) on table \(other.name)")
                        try t.applyDDL { _ in .dropConstraint(other.id, fk.name) }
                    }
                }
                try t.applyDDL { _ in .dropTable(table.id) }
                for seq in catalog.sequences.values where seq.ownedBy?.table == table.id {
                    try t.applyDDL { _ in .dropSequence(seq.id) }
                }
            case .view:
                guard let view = catalog.view(schema: schema, name) else {
                    if catalog.table(schema: schema, name) != nil {
                        throw SQLError(.wrongObjectType, "\"\(name)\" is not a view", hint: "Use DROP TABLE to remove a table.")
                    }
                    if s.ifExists { notices.append("NOTICE: view \"\(name)\" does not exist, skipping"); continue }
                    throw SQLError(.undefinedTable, "view \"\(name)\" does not exist")
                }
                try requireOwner(.relation(view.id), kind: "view", name: view.name, in: catalog)
                try checkDependentViews(of: view.id, name: view.name, isView: true, in: t, cascade: s.cascade)
                try t.applyDDL { _ in .dropView(view.id) }
            case .sequence:
                guard let seq = catalog.sequence(schema: schema, name) else {
                    if s.ifExists { notices.append("NOTICE: sequence \"\(name)\" does not exist, skipping"); continue }
                    throw SQLError(.undefinedTable, "sequence \"\(name)\" does not exist")
                }
                try requireOwner(.relation(seq.id), kind: "sequence", name: seq.name, in: catalog)
                if let o = seq.ownedBy, let table = catalog.table(id: o.table), !s.cascade,
                   table.columns[o.column].defaultSQL?.contains("'\(seq.name)'") == true {
                    throw SQLError(SQLState("2BP01"), "cannot drop sequence \(seq.name) because other objects depend on it",
                                   detail: "default value for column \(table.columns[o.column].name) of table \(table.name) depends on sequence \(seq.name)",
                                   hint: "Use DROP ... CASCADE to drop the dependent objects too.")
                }
                try t.applyDDL { _ in .dropSequence(seq.id) }
            default:
                guard let (table, index) = catalog.index(schema: schema, named: name) else {
                    if s.ifExists { notices.append("NOTICE: index \"\(name)\" does not exist, skipping"); continue }
                    throw SQLError(.undefinedObject, "index \"\(name)\" does not exist")
                }
                try requireOwner(.relation(table.id), kind: "index", name: name, in: catalog)
                if table.isPrimaryKeyIndex(index) {
                    throw SQLError(SQLState("2BP01"), "cannot drop index \(name) because constraint \(name) on table \(table.name) requires it",
                                   hint: "You can drop constraint \(name) on table \(table.name) instead.")
                }
                try t.applyDDL { _ in .dropIndex(table.id, index.id) }
            }
        }
        return StatementResult(tag: tag, notices: notices)
    }

    /// A binder for what a view reads, whoever asks: a view whose owner lost a right still
    /// depends on its tables (a DROP must not break it silently).
    func dependencyBinder(_ t: Transaction, catalog: Catalog? = nil) -> Binder {
        let b = binder(t, parameters: [])
        b.checksRights = false
        if let catalog { b.catalogOverride = catalog }
        return b
    }

    /// Views reading relation `id`: DROP refuses (2BP01) unless CASCADE, which drops them too.
    func checkDependentViews(of id: UInt32, name: String, isView: Bool, in t: Transaction, cascade: Bool) throws {
        for v in t.catalog.views.values.sorted(by: { $0.id < $1.id }) where v.id != id {
            let b = dependencyBinder(t)
            guard (try? b.bindView(v)) != nil, b.referenced.contains(id) else { continue }
            if cascade {
                try checkDependentViews(of: v.id, name: v.name, isView: true, in: t, cascade: true)
                try t.applyDDL { c in c.views[v.id] == nil ? nil : .dropView(v.id) }
            } else {
                let kind = isView ? "view" : "table"
                throw SQLError(SQLState("2BP01"), "cannot drop \(kind) \(name) because other objects depend on it",
                               detail: "view \(v.name) depends on \(kind) \(name)",
                               hint: "Use DROP ... CASCADE to drop the dependent objects too.")
            }
        }
    }

}

extension String {
    func replacingSuffix(_ s: String, with r: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) + r : self }
}

extension Expr {
    var children: [Expr] {
        switch self {
        case .column, .star, .constant, .parameter, .sqlValue, .defaultValue: return []
        case let .op(_, l, r, _): return (l.map { [$0] } ?? []) + [r]
        case .and(let xs), .or(let xs): return xs
        case .not(let x), .isNull(let x, _), .boolTest(let x, _), .cast(let x, _, _), .collate(let x, _, _), .field(let x, _, _): return [x]
        case let .inList(x, xs, _, _): return [x] + xs
        case let .between(x, a, b, _, _, _): return [x, a, b]
        case let .like(x, p, e, _, _, _), let .similar(x, p, e, _, _): return [x, p] + (e.map { [$0] } ?? [])
        case .function(let f): return f.args + (f.filter.map { [$0] } ?? [])
        case .subquery(_, _, let t, _): return t.map { [$0] } ?? []
        case let .caseWhen(o, ws, e, _): return (o.map { [$0] } ?? []) + ws.flatMap { [$0.0, $0.1] } + (e.map { [$0] } ?? [])
        case .coalesce(let xs, _), .greatest(let xs, _), .least(let xs, _), .row(let xs, _), .array(let xs, _),
             .groupingSet(_, let xs, _), .groupingFunc(let xs, _):
            return xs
        case let .nullIf(a, b, _), let .distinctFrom(a, b, _, _): return [a, b]
        case let .anyArray(a, _, b, _, _): return [a, b]
        case let .subscripted(x, i, u, _, _): return [x] + (i.map { [$0] } ?? []) + (u.map { [$0] } ?? [])
        }
    }
}
