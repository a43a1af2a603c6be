import DriftCore

/// What one schema change was, for the `schema_changes` topic: a statement that makes it
/// (DriftDB logs catalog events, not the text a client sent, so the statement is written
/// from the event and the catalog before and after it), the schema it is in, the object's
/// qualified name, and, for a table, Debezium's table change (CREATE, ALTER or DROP, with
/// the table as it is after the change, or was before a DROP).
struct SchemaChange {
    var ddl: String
    var schema: String
    /// `schema.name` of the table, view or sequence (nil for a schema or a type).
    var object: String?
    var tableChange: (type: String, table: TableDef)?

    /// The change `event` made, nil for what is not a schema change (a sequence's state, a
    /// TRUNCATE).
    static func describe(_ event: CatalogEvent, before: Catalog, after: Catalog) -> SchemaChange? {
        func name(_ schema: String, _ name: String) -> String { SQLQuoting.ident(schema) + "." + SQLQuoting.ident(name) }
        func table(_ id: UInt32) -> TableDef? { after.tables[id] ?? before.tables[id] }
        func alter(_ id: UInt32, _ clause: (TableDef, TableDef) -> String) -> SchemaChange? {
            guard let now = after.tables[id] else { return nil }
            let was = before.tables[id] ?? now
            return SchemaChange(ddl: "ALTER TABLE " + name(was.schema, was.name) + " " + clause(was, now), schema: now.schema,
                                object: now.qualifiedName, tableChange: ("ALTER", now))
        }
        func column(_ t: TableDef, _ p: Int) -> String { p < t.columns.count ? SQLQuoting.ident(t.columns[p].name) : "?" }
        func columns(_ t: TableDef, _ ps: [Int]) -> String { ps.map { column(t, $0) }.joined(separator: ", ") }

        switch event {
        case .createTable(let t):
            guard let now = after.tables[t.id] else { return nil }
            var parts = now.columns.filter { !$0.isDropped }.map(columnDefinition)
            if !now.primaryKey.isEmpty {
                parts.append("CONSTRAINT " + SQLQuoting.ident(now.primaryKeyName) + " PRIMARY KEY (" + columns(now, now.primaryKey) + ")")
            }
            parts += now.constraints.map { constraint($0, of: now, catalog: after) }
            var ddl = "CREATE TABLE " + name(now.schema, now.name) + " (" + parts.joined(separator: ", ") + ")"
            // The primary key's own index is the constraint above.
            for i in now.indexes where i.name != now.primaryKeyName { ddl += "; " + index(i, on: now) }
            return SchemaChange(ddl: ddl, schema: now.schema, object: now.qualifiedName, tableChange: ("CREATE", now))
        case .dropTable(let id):
            guard let was = before.tables[id] else { return nil }
            return SchemaChange(ddl: "DROP TABLE " + name(was.schema, was.name), schema: was.schema, object: was.qualifiedName,
                                tableChange: ("DROP", was))
        case .addColumn(let id, let c):
            return alter(id) { _, _ in "ADD COLUMN " + columnDefinition(c) }
        case .dropColumn(let id, let p):
            return alter(id) { was, _ in "DROP COLUMN " + column(was, p) }
        case .setColumnType(let id, let p, let type):
            return alter(id) { _, now in "ALTER COLUMN " + column(now, p) + " TYPE " + type.name }
        case .renameColumn(let id, let p, let n):
            return alter(id) { was, _ in "RENAME COLUMN " + column(was, p) + " TO " + SQLQuoting.ident(n) }
        case .renameTable(let id, let n):
            return alter(id) { _, _ in "RENAME TO " + SQLQuoting.ident(n) }
        case .createIndex(let id, let i):
            guard let now = after.tables[id] else { return nil }
            return SchemaChange(ddl: index(i, on: now), schema: now.schema, object: now.qualifiedName, tableChange: ("ALTER", now))
        case .dropIndex(let id, let indexId):
            guard let now = table(id) else { return nil }
            let was = before.tables[id]?.indexes.first { $0.id == indexId }
            return SchemaChange(ddl: "DROP INDEX " + name(now.schema, was?.name ?? "?"), schema: now.schema, object: now.qualifiedName,
                                tableChange: ("ALTER", now))
        case .setOption(let id, let key, let value):
            return alter(id) { _, _ in value.map { "SET (" + key + " = " + SQLQuoting.literal($0) + ")" } ?? "RESET (" + key + ")" }
        case .setNotNull(let id, let p, let on):
            return alter(id) { _, now in "ALTER COLUMN " + column(now, p) + (on ? " SET NOT NULL" : " DROP NOT NULL") }
        case .setDefault(let id, let p, let sql):
            return alter(id) { _, now in "ALTER COLUMN " + column(now, p) + (sql.map { " SET DEFAULT " + $0 } ?? " DROP DEFAULT") }
        case .addConstraint(let id, let c):
            return alter(id) { _, now in "ADD " + constraint(c, of: now, catalog: after) }
        case .dropConstraint(let id, let n):
            return alter(id) { _, _ in "DROP CONSTRAINT " + SQLQuoting.ident(n) }
        case .setPrimaryKey(let id, let key):
            return alter(id) { was, now in
                key.isEmpty ? "DROP CONSTRAINT " + SQLQuoting.ident(was.primaryKeyName)
                    : "ADD CONSTRAINT " + SQLQuoting.ident(now.primaryKeyName) + " PRIMARY KEY (" + columns(now, key) + ")"
            }
        case .createView(let v):
            let verb = before.views[v.id] == nil ? "CREATE VIEW " : "CREATE OR REPLACE VIEW "
            return SchemaChange(ddl: verb + name(v.schema, v.name) + " AS " + v.sql, schema: v.schema, object: v.qualifiedName)
        case .dropView(let id):
            guard let v = before.views[id] else { return nil }
            return SchemaChange(ddl: "DROP VIEW " + name(v.schema, v.name), schema: v.schema, object: v.qualifiedName)
        case .createSequence(let s):
            return SchemaChange(ddl: "CREATE SEQUENCE " + name(s.schema, s.name) + sequenceOptions(s), schema: s.schema, object: s.qualifiedName)
        case .alterSequence(let s):
            return SchemaChange(ddl: "ALTER SEQUENCE " + name(s.schema, s.name) + sequenceOptions(s), schema: s.schema, object: s.qualifiedName)
        case .dropSequence(let id):
            guard let s = before.sequences[id] else { return nil }
            return SchemaChange(ddl: "DROP SEQUENCE " + name(s.schema, s.name), schema: s.schema, object: s.qualifiedName)
        case .createSchema(let n):
            return SchemaChange(ddl: "CREATE SCHEMA " + SQLQuoting.ident(n), schema: n, object: nil)
        case .dropSchema(let n):
            return SchemaChange(ddl: "DROP SCHEMA " + SQLQuoting.ident(n), schema: n, object: nil)
        case .createEnum(let e):
            return SchemaChange(ddl: "CREATE TYPE " + name(e.schema, e.name) + " AS ENUM (" + e.labels.map(SQLQuoting.literal).joined(separator: ", ") + ")",
                                schema: e.schema, object: nil)
        case .dropEnum(let id):
            guard let e = before.enums[id] else { return nil }
            return SchemaChange(ddl: "DROP TYPE " + name(e.schema, e.name), schema: e.schema, object: nil)
        case .createRole(let r):
            // Never the password: its verifier stays in the catalog.
            let verb = before.roles[r.id] == nil ? "CREATE ROLE " : "ALTER ROLE "
            return SchemaChange(ddl: verb + SQLQuoting.ident(r.name) + roleOptions(r), schema: "", object: nil)
        case .dropRole(let id):
            guard let r = before.roles[id] else { return nil }
            return SchemaChange(ddl: "DROP ROLE " + SQLQuoting.ident(r.name), schema: "", object: nil)
        case .sequenceState, .truncateTable, .setACL, .createPolicy, .dropPolicy:
            return nil
        }
    }

    static func columnDefinition(_ c: ColumnDef) -> String {
        var out = SQLQuoting.ident(c.name) + " " + c.type.name
        if c.notNull { out += " NOT NULL" }
        if let d = c.defaultSQL { out += " DEFAULT " + d }
        return out
    }

    static func index(_ i: IndexDef, on t: TableDef) -> String {
        let cols = i.columns.map { $0 < t.columns.count ? SQLQuoting.ident(t.columns[$0].name) : "?" }.joined(separator: ", ")
        return (i.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") + SQLQuoting.ident(i.name) + " ON "
            + SQLQuoting.ident(t.schema) + "." + SQLQuoting.ident(t.name) + " (" + cols + ")"
    }

    static func constraint(_ c: TableConstraint, of t: TableDef, catalog: Catalog) -> String {
        switch c {
        case .check(let n, let sql):
            return "CONSTRAINT " + SQLQuoting.ident(n) + " CHECK (" + sql + ")"
        case .foreignKey(let f):
            let names = { (table: TableDef?, ps: [Int]) in
                ps.map { p in table.flatMap { p < $0.columns.count ? SQLQuoting.ident($0.columns[p].name) : nil } ?? "?" }.joined(separator: ", ")
            }
            let ref = catalog.tables[f.refTable]
            let refName = ref.map { SQLQuoting.ident($0.schema) + "." + SQLQuoting.ident($0.name) } ?? "?"
            return "CONSTRAINT " + SQLQuoting.ident(f.name) + " FOREIGN KEY (" + names(t, f.columns) + ") REFERENCES " + refName
                + " (" + names(ref, f.refColumns) + ")" + (f.matchFull ? " MATCH FULL" : "")
                + " ON UPDATE " + f.onUpdate.sql + " ON DELETE " + f.onDelete.sql
        }
    }

    static func roleOptions(_ r: RoleDef) -> String {
        let flags = [(r.superuser, "SUPERUSER"), (r.createDB, "CREATEDB"), (r.createRole, "CREATEROLE"), (r.inherit, "INHERIT"),
                     (r.login, "LOGIN"), (r.replication, "REPLICATION"), (r.bypassRLS, "BYPASSRLS")]
        return " WITH " + flags.map { $0.0 ? $0.1 : "NO" + $0.1 }.joined(separator: " ") + " CONNECTION LIMIT \(r.connectionLimit)"
    }

    static func sequenceOptions(_ s: SequenceDef) -> String {
        " AS \(s.type.name) INCREMENT BY \(s.increment) MINVALUE \(s.minValue) MAXVALUE \(s.maxValue) START WITH \(s.start) CACHE \(s.cache)"
            + (s.cycle ? " CYCLE" : " NO CYCLE")
    }
}

extension DebeziumEncoder {
    /// The `schema_changes` records of a transaction, one per schema change of an object
    /// `include` accepts (by `schema.name`; schemas and types always), keyed by the database
    /// (`{"databaseName": "driftdb"}`, one partition: changes stay in order), with the value
    /// `{source, ts_ms, databaseName, schemaName, ddl, tableChanges}` of Debezium's
    /// schema-change topic.
    func schemaChangeRecords(_ t: CommittedTransaction, topic: String, before: Catalog, after: Catalog, nowMicros: Int64,
                             include: (String) -> Bool) -> [CDCRecord] {
        var out: [CDCRecord] = []
        var k = JSONWriter(capacity: 32)
        k.beginObject()
        k.key("databaseName"); k.string(database)
        k.endObject()
        for e in t.events where e.kind == .ddl {
            guard let event = e.ddl, let change = SchemaChange.describe(event, before: before, after: after) else { continue }
            if let object = change.object, !include(object) { continue }
            var w = JSONWriter(capacity: 512)
            w.beginObject()
            w.key("source")
            writeSource(schema: change.schema, table: change.tableChange?.table.name ?? change.object.map { String($0.dropFirst(change.schema.count + 1)) } ?? "",
                        seq: t.seq, commitMicros: t.timestamp, snapshot: "false", to: &w)
            w.key("ts_ms"); w.int(DebeziumValues.floorDiv(nowMicros, 1000))
            w.key("databaseName"); w.string(database)
            w.key("schemaName"); w.string(change.schema)
            w.key("ddl"); w.string(change.ddl)
            w.key("tableChanges")
            w.beginArray()
            if let (type, table) = change.tableChange { writeTableChange(type, table, to: &w) }
            w.endArray()
            w.endObject()
            out.append(CDCRecord(topic: topic, key: wrap(k.bytes, DebeziumSchemas.schemaChangeKey),
                                 value: wrap(w.bytes, DebeziumSchemas.schemaChangeValue), seq: t.seq))
        }
        return out
    }

    /// Debezium's table change: `{type, id, table: {defaultCharsetName, primaryKeyColumnNames,
    /// columns: [...], comment}}`, the columns with their JDBC type codes as PostgreSQL's
    /// JDBC driver reports them.
    func writeTableChange(_ type: String, _ t: TableDef, to w: inout JSONWriter) {
        w.beginObject()
        w.key("type"); w.string(type)
        w.key("id"); w.string("\"" + database + "\".\"" + t.schema + "\".\"" + t.name + "\"")
        w.key("table")
        w.beginObject()
        w.key("defaultCharsetName"); w.null()
        w.key("primaryKeyColumnNames")
        w.beginArray()
        for p in t.primaryKey where p < t.columns.count { w.string(t.columns[p].name) }
        w.endArray()
        w.key("columns")
        w.beginArray()
        var position = 0
        for (i, c) in t.columns.enumerated() where !c.isDropped {
            position += 1
            let (jdbc, length, scale) = Self.jdbcType(c.type)
            w.beginObject()
            w.key("name"); w.string(c.name)
            w.key("jdbcType"); w.int(Int64(jdbc))
            w.key("typeName"); w.string(c.type.base.name)
            w.key("typeExpression"); w.string(c.type.name)
            w.key("charsetName"); w.null()
            w.key("length"); if let length { w.int(Int64(length)) } else { w.null() }
            w.key("scale"); if let scale { w.int(Int64(scale)) } else { w.null() }
            w.key("position"); w.int(Int64(position))
            w.key("optional"); w.bool(!c.notNull && !t.primaryKey.contains(i))
            w.key("autoIncremented"); w.bool(c.defaultSQL?.hasPrefix("nextval(") ?? false)
            w.key("generated"); w.bool(false)
            w.key("comment"); w.null()
            w.key("hasDefaultValue"); w.bool(c.defaultSQL != nil)
            w.key("defaultValueExpression"); if let d = c.defaultSQL { w.string(d) } else { w.null() }
            w.key("enumValues")
            if case .enumeration(let e) = c.type.base {
                w.beginArray()
                for l in e.labels { w.string(l) }
                w.endArray()
            } else {
                w.null()
            }
            w.endObject()
        }
        w.endArray()
        w.key("comment"); w.null()
        w.endObject()
        w.endObject()
    }

    /// `java.sql.Types` code, length and scale of a column type.
    static func jdbcType(_ type: SQLType) -> (Int, Int?, Int?) {
        var length: Int?, scale: Int?
        if case .modified(_, let m) = type, m >= 0 { length = Int(m) }
        switch type.base {
        case .bool: return (-7, length, scale)
        case .int2: return (5, length, scale)
        case .int4: return (4, length, scale)
        case .int8: return (-5, length, scale)
        case .float4: return (7, length, scale)
        case .float8: return (8, length, scale)
        case .numeric:
            if case .decimal(let p, let s) = type { length = p; scale = s }
            return (2, length, scale)
        case .text: return (12, length, scale)
        case .varchar(let n): return (12, n, scale)
        case .bpchar(let n): return (1, n ?? 1, scale)
        case .bytea: return (-2, length, scale)
        case .date: return (91, length, scale)
        case .time: return (92, length, scale)
        case .timestamp: return (93, length, scale)
        case .timestamptz: return (2014, length, scale)
        case .array: return (2003, length, scale)
        default: return (1111, length, scale)
        }
    }
}
