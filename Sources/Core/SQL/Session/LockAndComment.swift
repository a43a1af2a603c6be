import DriftCore
import DriftStorage

extension Session {
    /// LOCK TABLE: PostgreSQL's eight modes on the core's table locks. Writers hold a table in
    /// key-share mode and DDL in update mode, and reads take no lock (MVCC), so ACCESS SHARE
    /// takes nothing, ROW SHARE and ROW EXCLUSIVE take what writers take, and the modes that
    /// keep writers out (SHARE UPDATE EXCLUSIVE up to ACCESS EXCLUSIVE) take update mode,
    /// which also keeps out other holders of those modes (stricter than PostgreSQL for SHARE,
    /// which allows other SHARE holders).
    func lockTables(_ refs: [TableRef], mode: String, noWait: Bool) throws -> StatementResult {
        guard let b = block else {
            throw SQLError(SQLState("25P01"), "LOCK TABLE can only be used in transaction blocks")
        }
        for ref in refs {
            let table = try targetTable(ref, in: b, verb: "lock", need: [])
            // PostgreSQL: ACCESS SHARE takes SELECT; the stronger modes a write privilege.
            try requireAnyTablePrivilege(Int(mode) ?? 8 == 1 ? .select : [.update, .delete, .truncate, .insert], table, in: b.rightsCatalog)
            let level: RowLockMode?
            switch Int(mode) ?? 8 {
            case 1: level = nil
            case 2, 3: level = .keyShare
            default: level = .update
            }
            guard let level else { continue }
            try b.lockTable(table, level, wait: noWait ? .noWait : .block)
        }
        return StatementResult(tag: "LOCK TABLE")
    }

    /// COMMENT ON TABLE / VIEW-less COLUMN: kept as table options (logged, so a comment as of
    /// any seq is known), read by pg_description and obj_description / col_description.
    func comment(_ kind: ObjectKind, _ object: [String], _ text: String?, in t: Transaction) throws -> StatementResult {
        switch kind {
        case .table:
            let name = object.last ?? ""
            guard let table = findTable(object.count > 1 ? object[object.count - 2] : nil, name, in: t.catalog) else {
                throw SQLError(.undefinedTable, "relation \"\(object.joined(separator: "."))\" does not exist")
            }
            try requireOwner(.relation(table.id), kind: "table", name: table.name, in: t.catalog)
            try t.applyDDL { _ in .setOption(table.id, "drift.comment", text.flatMap { $0.isEmpty ? nil : $0 }) }
        case .column:
            guard object.count >= 2 else { throw SQLError(.syntaxError, "column name must be qualified") }
            let column = object[object.count - 1], name = object[object.count - 2]
            guard let table = findTable(object.count > 2 ? object[object.count - 3] : nil, name, in: t.catalog) else {
                throw SQLError(.undefinedTable, "relation \"\(name)\" does not exist")
            }
            guard let pos = table.columnPosition(column) else {
                throw SQLError(.undefinedColumn, "column \"\(column)\" of relation \"\(name)\" does not exist")
            }
            try requireOwner(.relation(table.id), kind: "table", name: table.name, in: t.catalog)
            try t.applyDDL { _ in .setOption(table.id, "drift.comment.\(pos)", text.flatMap { $0.isEmpty ? nil : $0 }) }
        default:
            throw SQLError.notSupported("COMMENT ON \(kind.rawValue.replacingPrefix("OBJECT_", with: ""))")
        }
        return StatementResult(tag: "COMMENT")
    }
}
