import DriftStorage

/// A row-level security policy (CREATE POLICY): which rows of a table a command may see or
/// write, for which roles. Its expressions are SQL text, bound when a statement uses them,
/// against the table as that statement reads it (also a past version of it).
public struct PolicyDef: Sendable, Hashable {
    public enum Command: UInt8, Sendable {
        case all = 0, select, insert, update, delete

        /// `polcmd` in pg_policy.
        public var letter: String {
            switch self {
            case .all: return "*"
            case .select: return "r"
            case .insert: return "a"
            case .update: return "w"
            case .delete: return "d"
            }
        }
    }

    public var id: UInt32
    public var table: UInt32
    public var name: String
    public var permissive: Bool
    public var command: Command
    /// The roles it applies to; empty: PUBLIC.
    public var roles: [UInt32]
    /// USING: which existing rows; nil: none given.
    public var using: String?
    /// WITH CHECK: which new rows; nil: USING stands in (PostgreSQL's rule).
    public var check: String?

    public init(id: UInt32, table: UInt32, name: String, permissive: Bool, command: Command, roles: [UInt32],
                using: String?, check: String?) {
        self.id = id
        self.table = table
        self.name = name
        self.permissive = permissive
        self.command = command
        self.roles = roles
        self.using = using
        self.check = check
    }

    func encode(into w: inout ByteWriter) {
        w.varint(UInt64(id))
        w.varint(UInt64(table))
        w.string(name)
        w.u8((permissive ? 1 : 0) | command.rawValue << 1)
        w.varint(UInt64(roles.count))
        for r in roles { w.varint(UInt64(r)) }
        w.u8((using == nil ? 0 : 1) | (check == nil ? 0 : 2))
        if let using { w.string(using) }
        if let check { w.string(check) }
    }

    static func decode(_ r: inout ByteReader) throws -> PolicyDef {
        func id() throws -> UInt32 { UInt32(truncatingIfNeeded: try r.varint()) }
        let pid = try id()
        let table = try id()
        let name = try r.string()
        let flags = try r.u8()
        guard let command = Command(rawValue: flags >> 1) else { throw DecodeError("unknown policy command", offset: r.position - 1) }
        let n = try r.count(max: 100_000)
        var roles: [UInt32] = []
        for _ in 0..<n { roles.append(try id()) }
        let present = try r.u8()
        let using = present & 1 != 0 ? try r.string() : nil
        let check = present & 2 != 0 ? try r.string() : nil
        return PolicyDef(id: pid, table: table, name: name, permissive: flags & 1 != 0, command: command, roles: roles,
                         using: using, check: check)
    }
}

extension Catalog {
    /// Table options that switch row-level security on (ENABLE) and make it bind the
    /// table's owner too (FORCE).
    public static let rowSecurityOption = "drift.rowsecurity"
    public static let forceRowSecurityOption = "drift.forcerowsecurity"

    public func policies(on table: UInt32) -> [PolicyDef] {
        policies.values.filter { $0.table == table }.sorted { $0.name < $1.name }
    }

    /// Whether `role` reads and writes `table` through its policies: row-level security is
    /// on, and the role is no superuser, has no BYPASSRLS, and does not own the table
    /// (unless FORCE). nil role: a trusted user that is no role (every right).
    public func rowSecurityApplies(to role: RoleDef?, on table: TableDef) -> Bool {
        guard tables[table.id]?.options[Self.rowSecurityOption] == "on", let role else { return false }
        if role.superuser || role.bypassRLS { return false }
        if owns(role, .relation(table.id)) && tables[table.id]?.options[Self.forceRowSecurityOption] != "on" { return false }
        return true
    }

    /// The policies that bind `role` for `command` on the table.
    public func applicablePolicies(_ table: UInt32, command: PolicyDef.Command, role: RoleDef) -> [PolicyDef] {
        let mine = privilegeRoles(of: role)
        return policies(on: table).filter { p in
            (p.command == .all || p.command == command) && (p.roles.isEmpty || p.roles.contains { mine.contains($0) })
        }
    }
}
