import DriftStorage

/// `drift_audit`: logins (ok and failed) and role and privilege changes, as rows of a table in
/// schema `drift` that only the server writes and nobody updates, deletes, truncates, alters
/// or drops, so the log keeps it as append-only history. The auth plugin creates it; without
/// it there is no audit table and nothing is recorded.
public enum Audit {
    public static let schema = "drift"
    public static let table = "drift_audit"

    public static let columns: [ColumnDef] = [
        ColumnDef(name: "at", type: .timestamptz, notNull: true),
        ColumnDef(name: "role", type: .text),
        ColumnDef(name: "address", type: .text),
        ColumnDef(name: "event", type: .text, notNull: true),
        ColumnDef(name: "detail", type: .text),
    ]

    /// The audit table in `catalog`, if it exists.
    public static func table(in catalog: Catalog) -> TableDef? { catalog.table(schema: schema, table) }

    public static func isAuditTable(_ t: TableDef) -> Bool { t.schema == schema && t.name == table }

    /// Creates the schema and table in `t` where missing (idempotent).
    public static func ensureTable(in t: Transaction) throws {
        if !t.catalog.schemas.contains(schema) { _ = try t.applyDDL { _ in .createSchema(schema) } }
        guard table(in: t.catalog) == nil else { return }
        let id = t.allocateTableId()
        _ = try t.applyDDL { _ in
            .createTable(TableDef(id: id, schema: schema, name: table, columns: columns, primaryKey: [], indexes: [], origin: .sql))
        }
    }

    /// One row: at `micros` (unix µs; now when nil), by `role` from `address`. Recorded in
    /// `t` (with the change it describes, for DDL); nothing when there is no audit table.
    public static func record(in t: Transaction, role: String?, address: String?, event: String, detail: String?,
                              micros: Int64? = nil) throws {
        guard let def = table(in: t.catalog) else { return }
        let at = PGTime.fromUnix(micros ?? wallClockMicros())
        _ = try t.insert(def, [.timestamptz(at), role.map { .text($0) } ?? .null, address.map { .text($0) } ?? .null,
                               .text(event), detail.map { .text($0) } ?? .null])
    }
}
