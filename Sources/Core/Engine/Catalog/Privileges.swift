import DriftStorage

/// Privileges on an object, as PostgreSQL's ACL bits (its letters in `relacl`: `arwdDxtUC`).
public struct Privileges: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let insert = Privileges(rawValue: 1 << 0)
    public static let select = Privileges(rawValue: 1 << 1)
    public static let update = Privileges(rawValue: 1 << 2)
    public static let delete = Privileges(rawValue: 1 << 3)
    public static let truncate = Privileges(rawValue: 1 << 4)
    public static let references = Privileges(rawValue: 1 << 5)
    public static let trigger = Privileges(rawValue: 1 << 6)
    public static let usage = Privileges(rawValue: 1 << 8)
    public static let create = Privileges(rawValue: 1 << 9)

    /// Every privilege a table or view can carry.
    public static let table: Privileges = [.insert, .select, .update, .delete, .truncate, .references, .trigger]
    public static let sequence: Privileges = [.usage, .select, .update]
    public static let schema: Privileges = [.usage, .create]
    /// What a column can carry (GRANT SELECT (a, b) ON t): a table's other privileges
    /// (DELETE, TRUNCATE, TRIGGER) exist only for the whole table.
    public static let column: Privileges = [.select, .insert, .update, .references]

    /// In PostgreSQL's order, as `aclitem` text writes them.
    public static let letters: [(Character, Privileges)] = [
        ("a", .insert), ("r", .select), ("w", .update), ("d", .delete), ("D", .truncate), ("x", .references),
        ("t", .trigger), ("U", .usage), ("C", .create),
    ]

    /// The SQL keyword of each privilege, as GRANT takes it and has_*_privilege names it.
    public static let keywords: [(String, Privileges)] = [
        ("INSERT", .insert), ("SELECT", .select), ("UPDATE", .update), ("DELETE", .delete), ("TRUNCATE", .truncate),
        ("REFERENCES", .references), ("TRIGGER", .trigger), ("USAGE", .usage), ("CREATE", .create),
    ]
}

/// What privileges attach to: a relation (table, view or sequence, by catalog id), a schema,
/// or a table's column (by position, stable as PostgreSQL's attnum: dropped columns keep theirs).
public enum PrivilegeObject: Hashable, Sendable {
    case relation(UInt32)
    case schema(String)
    case column(UInt32, Int)
    /// ALTER DEFAULT PRIVILEGES: the list new objects of `kind` that `role` creates start
    /// with (`schema` nil: everywhere, in place of the built-in default; a schema: added to
    /// it for objects made there), as PostgreSQL's pg_default_acl rows.
    case defaults(role: UInt32, schema: String?, kind: DefaultPrivilegeKind)
}

/// The kinds of object default privileges apply to, by pg_default_acl's `defaclobjtype`.
public enum DefaultPrivilegeKind: String, Hashable, Sendable, CaseIterable {
    case tables = "r"
    case sequences = "S"
    case schemas = "n"

    /// What objects of the kind can carry.
    public var privileges: Privileges {
        switch self {
        case .tables: return .table
        case .sequences: return .sequence
        case .schemas: return .schema
        }
    }

    /// As PostgreSQL's messages name the objects (`new relations`).
    public var noun: String {
        switch self {
        case .tables: return "relations"
        case .sequences: return "sequences"
        case .schemas: return "schemas"
        }
    }
}

/// One entry of an access list: `grantee=privileges/grantor`; grantee `nil` is PUBLIC.
public struct ACLItem: Hashable, Sendable {
    public var grantee: UInt32?
    public var grantor: UInt32
    public var privileges: Privileges
    /// The subset the grantee may grant on (WITH GRANT OPTION).
    public var grantOptions: Privileges

    public init(grantee: UInt32?, grantor: UInt32, privileges: Privileges, grantOptions: Privileges = []) {
        self.grantee = grantee
        self.grantor = grantor
        self.privileges = privileges
        self.grantOptions = grantOptions
    }
}

extension [ACLItem] {
    /// Adds `item` to the entry with its grantee and grantor (their privileges and grant
    /// options joined), or appends it when there is none: how GRANT, default privileges and
    /// a change of owner combine lists.
    public mutating func merge(_ item: ACLItem) {
        if let i = firstIndex(where: { $0.grantee == item.grantee && $0.grantor == item.grantor }) {
            self[i].privileges.formUnion(item.privileges)
            self[i].grantOptions.formUnion(item.grantOptions)
        } else {
            append(item)
        }
    }
}

/// An object's owner and access list. A nil list is the default for its kind (PostgreSQL's
/// NULL `relacl`): the owner holds everything, nobody else anything (PUBLIC has USAGE on
/// schema `public`).
public struct ObjectACL: Hashable, Sendable {
    /// The owning role's id; 0 is the bootstrap superuser (the trusted user of a server
    /// without roles, OID 10 in pg_catalog).
    public var owner: UInt32
    public var acl: [ACLItem]?

    public init(owner: UInt32, acl: [ACLItem]? = nil) {
        self.owner = owner
        self.acl = acl
    }

    func encode(into w: inout ByteWriter) {
        w.varint(UInt64(owner))
        guard let acl else { return w.u8(0) }
        w.u8(1)
        w.varint(UInt64(acl.count))
        for item in acl {
            w.u8(item.grantee == nil ? 0 : 1)
            if let g = item.grantee { w.varint(UInt64(g)) }
            w.varint(UInt64(item.grantor))
            w.varint(UInt64(item.privileges.rawValue))
            w.varint(UInt64(item.grantOptions.rawValue))
        }
    }

    static func decode(_ r: inout ByteReader) throws -> ObjectACL {
        func id() throws -> UInt32 { UInt32(truncatingIfNeeded: try r.varint()) }
        func bits() throws -> Privileges {
            let v = try r.varint()
            guard v <= UInt64(UInt16.max) else { throw DecodeError("privilege bits out of range", offset: r.position) }
            return Privileges(rawValue: UInt16(v))
        }
        var object = ObjectACL(owner: try id())
        guard try r.u8() == 1 else { return object }
        let n = try r.count(max: 100_000)
        var acl: [ACLItem] = []
        acl.reserveCapacity(n)
        for _ in 0..<n {
            let grantee: UInt32? = try r.u8() == 1 ? try id() : nil
            acl.append(ACLItem(grantee: grantee, grantor: try id(), privileges: try bits(), grantOptions: try bits()))
        }
        object.acl = acl
        return object
    }
}

extension PrivilegeObject {
    func encode(into w: inout ByteWriter) {
        switch self {
        case .relation(let id): w.u8(0); w.varint(UInt64(id))
        case .schema(let name): w.u8(1); w.string(name)
        case let .column(table, position): w.u8(2); w.varint(UInt64(table)); w.varint(UInt64(position))
        case let .defaults(role, schema, kind):
            w.u8(3)
            w.varint(UInt64(role))
            if let schema { w.u8(1); w.string(schema) } else { w.u8(0) }
            w.u8(kind.rawValue.utf8.first ?? 0)
        }
    }

    static func decode(_ r: inout ByteReader) throws -> PrivilegeObject {
        switch try r.u8() {
        case 0: return .relation(UInt32(truncatingIfNeeded: try r.varint()))
        case 1: return .schema(try r.string())
        case 2:
            let table = UInt32(truncatingIfNeeded: try r.varint())
            let position = try r.varint()
            guard position < UInt64(Limits.tableColumnsMax) else {
                throw DecodeError("column position \(position) out of range", offset: r.position)
            }
            return .column(table, Int(position))
        case 3:
            let role = UInt32(truncatingIfNeeded: try r.varint())
            let schema: String? = try r.u8() == 1 ? try r.string() : nil
            let code = try r.u8()
            guard let kind = DefaultPrivilegeKind(rawValue: String(UnicodeScalar(code))) else {
                throw DecodeError("unknown default privilege kind \(code)", offset: r.position - 1)
            }
            return .defaults(role: role, schema: schema, kind: kind)
        default: throw DecodeError("unknown privilege object kind", offset: r.position - 1)
        }
    }
}

/// A membership of one role in another (GRANT role TO member).
public struct RoleMembership: Hashable, Sendable {
    public var role: UInt32
    public var grantor: UInt32
    public var admin: Bool

    public init(role: UInt32, grantor: UInt32, admin: Bool) {
        self.role = role
        self.grantor = grantor
        self.admin = admin
    }
}

extension Catalog {
    /// The most entries one access list, one role's memberships or one policy's roles may
    /// have (each decodes with ten times the room, so what SQL can write always reads back).
    public static let listEntriesMax = 10_000
    /// The most ALTER ROLE ... SET defaults one role may have (its event decodes 10,000).
    public static let roleSettingsMax = 1_000

    /// The bootstrap superuser's id (owner of what was made without a role).
    public static let bootstrapRoleId: UInt32 = 0

    /// An object's owner and list, the default when nothing was granted or transferred. A
    /// column's owner is its table's.
    public func objectACL(_ object: PrivilegeObject) -> ObjectACL {
        if case .column(let table, _) = object {
            return ObjectACL(owner: objectACL(.relation(table)).owner, acl: acls[object]?.acl)
        }
        if case .defaults(let role, _, _) = object { return acls[object] ?? ObjectACL(owner: role) }
        return acls[object] ?? ObjectACL(owner: Self.bootstrapRoleId)
    }

    /// The list a new object of `kind` that `owner` creates in `schema` starts with, from
    /// the owner's default privileges: its global entry for the kind (else the built-in
    /// default) with its entry for the schema merged in, sorted as PostgreSQL sorts them;
    /// nil when that is the built-in default.
    public func initialACL(kind: DefaultPrivilegeKind, owner: UInt32, schema: String?) -> [ACLItem]? {
        let global = acls[.defaults(role: owner, schema: nil, kind: kind)]?.acl
        let local = schema.flatMap { acls[.defaults(role: owner, schema: $0, kind: kind)]?.acl }
        let builtIn = Self.builtInACL(kind, owner: owner)
        guard global != nil || local != nil else { return nil }
        var acl = global ?? builtIn
        for item in local ?? [] { acl.merge(item) }
        acl = Self.sortedDefaultACL(acl)
        return acl == builtIn ? nil : acl
    }

    /// The built-in default of a kind: the owner holds everything.
    public static func builtInACL(_ kind: DefaultPrivilegeKind, owner: UInt32) -> [ACLItem] {
        [ACLItem(grantee: owner, grantor: owner, privileges: kind.privileges)]
    }

    /// Default privilege lists in PostgreSQL's order: PUBLIC first, then by grantee, grantor.
    public static func sortedDefaultACL(_ acl: [ACLItem]) -> [ACLItem] {
        acl.sorted { a, b in
            let ga = a.grantee.map { Int64($0) } ?? -1, gb = b.grantee.map { Int64($0) } ?? -1
            return ga != gb ? ga < gb : a.grantor < b.grantor
        }
    }

    /// The columns of a table that carry an access list, by position.
    public func columnACLs(of table: UInt32) -> [(position: Int, acl: [ACLItem])] {
        acls.compactMap { object, o in
            guard case let .column(t, p) = object, t == table, let acl = o.acl else { return nil }
            return (p, acl)
        }.sorted { $0.position < $1.position }
    }

    /// The access list in force: the stored one, or the default for the object's kind.
    public func effectiveACL(_ object: PrivilegeObject) -> [ACLItem] {
        let o = objectACL(object)
        if let acl = o.acl { return acl }
        return defaultACL(object, owner: o.owner)
    }

    /// The privileges an object of this kind can carry.
    public func applicable(_ object: PrivilegeObject) -> Privileges {
        switch object {
        case .relation(let id): return sequences[id] != nil ? .sequence : .table
        case .schema: return .schema
        case .column: return .column
        case .defaults(_, _, let kind): return kind.privileges
        }
    }

    public func defaultACL(_ object: PrivilegeObject, owner: UInt32) -> [ACLItem] {
        switch object {
        case .relation:
            // The owner's grant options are implicit (PostgreSQL shows none in the list).
            return [ACLItem(grantee: owner, grantor: owner, privileges: applicable(object))]
        case .schema(let name):
            var acl = [ACLItem(grantee: owner, grantor: owner, privileges: .schema)]
            if name == "public" { acl.append(ACLItem(grantee: nil, grantor: owner, privileges: .usage)) }
            return acl
        case .column:
            // Nobody holds anything on a column by default (the table's privileges cover it).
            return []
        case let .defaults(role, schema, kind):
            // No entry: the built-in default everywhere, nothing added in a schema.
            return schema == nil ? Self.builtInACL(kind, owner: role) : []
        }
    }

    /// The roles whose privileges `role` has (PostgreSQL's has_privs_of_role): itself and,
    /// through every INHERIT step, the roles it is a member of.
    public func privilegeRoles(of role: RoleDef) -> Set<UInt32> {
        closure(of: role, followInherit: true)
    }

    /// Every role `role` is a member of, directly or not, inheriting or not (what SET ROLE may
    /// become), itself included.
    public func memberRoles(of role: RoleDef) -> Set<UInt32> {
        closure(of: role, followInherit: false)
    }

    private func closure(of role: RoleDef, followInherit: Bool) -> Set<UInt32> {
        var seen: Set<UInt32> = [role.id]
        var queue = [role]
        while let r = queue.popLast() {
            if followInherit && !r.inherit { continue }
            for m in r.memberOf where !seen.contains(m.role) {
                seen.insert(m.role)
                if let next = roles[m.role] { queue.append(next) }
            }
        }
        return seen
    }

    /// The privileges `role` holds on `object` (a superuser holds them all).
    public func privileges(of role: RoleDef, on object: PrivilegeObject) -> Privileges {
        if role.superuser { return Privileges(rawValue: .max) }
        return held(by: privilegeRoles(of: role), on: object).privileges
    }

    /// The privileges `role` may grant on `object` (owners may grant everything).
    public func grantable(by role: RoleDef, on object: PrivilegeObject) -> Privileges {
        if role.superuser { return Privileges(rawValue: .max) }
        let mine = privilegeRoles(of: role)
        if mine.contains(objectACL(object).owner) { return Privileges(rawValue: .max) }
        if case .column(let table, _) = object {
            // Grant options on the table cover its columns.
            return held(by: mine, on: object).options.union(held(by: mine, on: .relation(table)).options)
        }
        return held(by: mine, on: object).options
    }

    /// What the list gives `roles` (and PUBLIC): privileges and grant options.
    private func held(by roles: Set<UInt32>, on object: PrivilegeObject) -> (privileges: Privileges, options: Privileges) {
        var held: (privileges: Privileges, options: Privileges) = ([], [])
        for item in effectiveACL(object) where item.grantee.map(roles.contains) ?? true {
            held.privileges.formUnion(item.privileges)
            held.options.formUnion(item.grantOptions)
        }
        return held
    }

    /// Why `role` lacks `needed` on a relation of `schema` (no USAGE on the schema comes
    /// first, as in PostgreSQL), as the 42501 message names it; nil when it holds them.
    public func denial(of role: RoleDef, _ needed: Privileges, relation id: UInt32, kind: String, name: String, schema: String) -> String? {
        if role.superuser || needed.isEmpty { return nil }
        if !privileges(of: role, on: .schema(schema)).contains(.usage) { return "permission denied for schema \(schema)" }
        return privileges(of: role, on: .relation(id)).isSuperset(of: needed) ? nil : "permission denied for \(kind) \(name)"
    }

    /// Like `denial`, where what the table lacks of `needed` may be held on columns instead
    /// (PostgreSQL's rule): on each of `columns` (positions; a history pseudo-column, past the
    /// table's columns, needs the table's privilege), or, when the statement names no column
    /// (`count(*)`, DEFAULT VALUES), on any one column.
    public func denial(of role: RoleDef, _ needed: Privileges, relation id: UInt32, kind: String, name: String, schema: String,
                       columns: Set<Int>) -> String? {
        guard let denied = denial(of: role, needed, relation: id, kind: kind, name: name, schema: schema) else { return nil }
        let missing = needed.subtracting(privileges(of: role, on: .relation(id)))
        guard !missing.isEmpty, Privileges.column.isSuperset(of: missing) else { return denied }
        // A table's columns, or a view's (a view has no dropped columns).
        let width: Int
        var isDropped: (Int) -> Bool = { _ in false }
        if let table = tables[id] {
            width = table.columns.count
            isDropped = { table.columns[$0].isDropped }
        } else if let view = views[id] {
            width = view.columnNames.count
        } else {
            return denied
        }
        let mine = privilegeRoles(of: role)
        if columns.isEmpty {
            // Each privilege on some column (not necessarily the same one).
            let grants = columnACLs(of: id).filter { $0.position < width && !isDropped($0.position) }
            for (_, bit) in Privileges.keywords where missing.contains(bit) {
                guard grants.contains(where: { held(by: mine, on: .column(id, $0.position)).privileges.contains(bit) }) else { return denied }
            }
            return nil
        }
        for c in columns {
            guard c < width, held(by: mine, on: .column(id, c)).privileges.isSuperset(of: missing) else { return denied }
        }
        return nil
    }

    /// Whether `role` owns `object` (or has the privileges of its owner).
    public func owns(_ role: RoleDef, _ object: PrivilegeObject) -> Bool {
        role.superuser || privilegeRoles(of: role).contains(objectACL(object).owner)
    }

    /// The objects a role owns or holds privileges on (DROP ROLE refuses while any remain).
    public func dependents(of roleId: UInt32) -> [PrivilegeObject] {
        acls.compactMap { object, o in
            let owns: Bool
            if case .column = object { owns = false } else { owns = o.owner == roleId }
            return owns || (o.acl ?? []).contains { $0.grantee == roleId || $0.grantor == roleId } ? object : nil
        }
    }
}
