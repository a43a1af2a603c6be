import DriftCore

/// GRANT / REVOKE (privileges and role membership), ALTER ... OWNER TO, SET ROLE, and the
/// checks statements make: PostgreSQL's rules on the catalog's access lists, which are
/// catalog events like everything else (who could do what as of any seq stays readable).
extension Session {
    /// The role privileges are checked for: SET ROLE's, else the session user.
    public var currentRoleName: String {
        let r = derivedSettings.role
        return r == "none" ? userName : r
    }

    /// The role the session acts as, as `catalog` (the rights catalog: now's) defines it; nil
    /// when its user is no role (a server without the auth plugin trusts its loopback clients
    /// as whoever they say they are, with every right). A login role or SET ROLE role that no
    /// longer exists (dropped or renamed meanwhile) acts with no rights but PUBLIC's: never
    /// with every right.
    func actingRole(in catalog: Catalog) -> RoleDef? {
        let name = currentRoleName
        if let role = catalog.role(named: name) { return role }
        return loginWasRole || derivedSettings.role != "none" ? Self.nobody : nil
    }

    /// Stands for a role that is gone: holds nothing but what PUBLIC holds.
    static let nobody = RoleDef(id: UInt32.max - 1, name: "")

    /// The session user's role (GRANT's and SET ROLE's membership checks use the role that
    /// logged in for SET ROLE, the current one for everything else).
    func sessionRole(in catalog: Catalog) -> RoleDef? { catalog.role(named: userName) }

    /// Records the acting role as the owner of an object it just created, with the access
    /// list its default privileges give it (objects made with no role belong to the
    /// bootstrap superuser and need no entry unless it has default privileges).
    func recordOwner(_ object: PrivilegeObject, in t: Transaction) throws {
        let catalog = t.catalog
        let actor = actingRole(in: catalog)
        let owner = actor?.id ?? Catalog.bootstrapRoleId
        var acl: [ACLItem]?
        switch object {
        case .relation(let id):
            let schema = catalog.tables[id]?.schema ?? catalog.views[id]?.schema ?? catalog.sequences[id]?.schema
            acl = catalog.initialACL(kind: catalog.sequences[id] != nil ? .sequences : .tables, owner: owner, schema: schema)
        case .schema:
            acl = catalog.initialACL(kind: .schemas, owner: owner, schema: nil)
        case .column, .defaults:
            break
        }
        guard actor != nil || acl != nil else { return }
        try t.applyDDL { _ in .setACL(object, ObjectACL(owner: owner, acl: acl)) }
    }

    // MARK: ALTER DEFAULT PRIVILEGES

    /// ALTER DEFAULT PRIVILEGES [FOR ROLE r, ...] [IN SCHEMA s, ...] GRANT | REVOKE ... ON
    /// TABLES | SEQUENCES | SCHEMAS: changes the lists objects those roles create start with
    /// (the acting role must be a member of each). A role's global list replaces the
    /// built-in default (owner holds everything); a schema's list is added to it. A list back
    /// at its default is removed, as PostgreSQL removes the pg_default_acl row.
    func alterDefaultPrivileges(_ g: GrantStatement, roles: [RoleName], schemas: [String], kind: DefaultPrivilegeKind,
                                in t: Transaction) throws -> StatementResult {
        let catalog = t.catalog
        if kind == .schemas && !schemas.isEmpty {
            throw SQLError(SQLState("0LP01"), "cannot use IN SCHEMA clause when using GRANT/REVOKE ON SCHEMAS")
        }
        if !g.columnPrivileges.isEmpty {
            throw SQLError(SQLState("0LP01"), "default privileges cannot be set for columns")
        }
        let requested = try Self.requestedPrivileges(g.privileges, applicable: kind.privileges) { p in
            let noun = kind == .tables ? "relation" : String(kind.noun.dropLast())
            throw SQLError(SQLState("0LP01"), "invalid privilege type \(p) for \(noun)")
        }
        let me = actingRole(in: catalog)
        var owners: [UInt32] = []
        if roles.isEmpty {
            owners = [me?.id ?? Catalog.bootstrapRoleId]
        } else {
            for name in roles {
                let role = try resolveRole(name, in: catalog)
                if let me, !me.superuser, !catalog.memberRoles(of: me).contains(role.id) {
                    throw SQLError(.insufficientPrivilege, "must be member of role \"\(role.name)\"")
                }
                owners.append(role.id)
            }
        }
        for s in schemas where !catalog.schemas.contains(s) {
            throw SQLError(SQLState("3F000"), "schema \"\(s)\" does not exist")
        }
        let grantees: [UInt32?] = try g.grantees.map { $0 == .public ? nil : try resolveRole($0, in: catalog).id }
        for owner in owners {
            for schema in schemas.isEmpty ? [nil] : schemas.map(Optional.some) {
                let object = PrivilegeObject.defaults(role: owner, schema: schema, kind: kind)
                var acl = t.catalog.effectiveACL(object)
                for grantee in grantees {
                    if g.grant {
                        Self.addGrant(requested, to: grantee, by: owner, withOption: g.grantOption, in: &acl)
                    } else {
                        try revoke(requested, optionOnly: g.grantOption, from: grantee, by: owner, cascade: g.cascade, in: &acl,
                                   name: "default privileges")
                    }
                }
                acl = Catalog.sortedDefaultACL(acl.filter { !$0.privileges.isEmpty })
                guard acl.count <= Catalog.listEntriesMax else {
                    throw SQLError(SQLState("54000"), "the default privileges would have more than \(Catalog.listEntriesMax) entries")
                }
                let unchanged = schema == nil ? Catalog.builtInACL(kind, owner: owner) : []
                if acl == unchanged {
                    if t.catalog.acls[object] != nil { try t.applyDDL { _ in .setACL(object, nil) } }
                } else {
                    try t.applyDDL { _ in .setACL(object, ObjectACL(owner: owner, acl: acl)) }
                }
            }
        }
        return StatementResult(tag: "ALTER DEFAULT PRIVILEGES")
    }

    /// 42501 unless the acting role owns the object (a session's temporary objects are its own).
    func requireOwner(_ object: PrivilegeObject, kind: String, name: String, in catalog: Catalog) throws {
        if case .relation(let id) = object, Self.isTemporary(id, in: catalog) { return }
        guard let actor = actingRole(in: catalog), !catalog.owns(actor, object) else { return }
        throw SQLError(.insufficientPrivilege, "must be owner of \(kind) \(name)")
    }

    /// 42501 unless the acting role holds every one of `needed` on the object.
    func requirePrivileges(_ needed: Privileges, on object: PrivilegeObject, kind: String, name: String, in catalog: Catalog) throws {
        guard let actor = actingRole(in: catalog), !catalog.privileges(of: actor, on: object).isSuperset(of: needed) else { return }
        throw SQLError(.insufficientPrivilege, "permission denied for \(kind) \(name)")
    }

    /// drift_audit takes rows from the server alone: no statement writes, alters or drops it.
    static func auditIsAppendOnly() -> SQLError {
        SQLError(.insufficientPrivilege, "drift_audit is append-only: only the server writes it",
                 detail: "Logins and role and privilege changes are recorded as they happen; nothing changes or removes a record.")
    }

    /// A table's privileges for a statement that writes it (with USAGE on its schema). With
    /// `columns`, privileges a column can carry may be held on those columns instead (on any
    /// one column when the set is empty).
    func requireTablePrivileges(_ needed: Privileges, _ table: TableDef, in catalog: Catalog, columns: Set<Int>? = nil) throws {
        guard table.schema != TemporaryTables.schema, let actor = actingRole(in: catalog) else { return }
        let denied = columns.map { catalog.denial(of: actor, needed, relation: table.id, kind: "table", name: table.name, schema: table.schema, columns: $0) }
            ?? catalog.denial(of: actor, needed, relation: table.id, kind: "table", name: table.name, schema: table.schema)
        if let denied { throw SQLError(.insufficientPrivilege, denied) }
    }

    /// nextval (USAGE or UPDATE), currval (USAGE or SELECT), setval (UPDATE).
    func requireSequence(_ def: SequenceDef, anyOf: Privileges) throws {
        let catalog = block?.catalog ?? engine.latestCatalog
        guard def.schema != TemporaryTables.schema, let actor = actingRole(in: catalog), !actor.superuser else { return }
        guard catalog.privileges(of: actor, on: .relation(def.id)).isDisjoint(with: anyOf) else { return }
        throw SQLError(.insufficientPrivilege, "permission denied for sequence \(def.name)")
    }

    /// LOCK TABLE: any one of `anyOf` on the table.
    func requireAnyTablePrivilege(_ anyOf: Privileges, _ table: TableDef, in catalog: Catalog) throws {
        guard table.schema != TemporaryTables.schema, let actor = actingRole(in: catalog), !actor.superuser else { return }
        guard catalog.privileges(of: actor, on: .relation(table.id)).isDisjoint(with: anyOf) else { return }
        throw SQLError(.insufficientPrivilege, "permission denied for table \(table.name)")
    }

    /// VACUUM, ANALYZE, CHECKPOINT: the owner's right for named tables, a superuser's for all.
    func requireMaintenance(of tables: [TableDef], all: Bool, what: String) throws {
        let catalog = engine.latestCatalog
        guard let actor = actingRole(in: catalog), !actor.superuser else { return }
        if all { throw SQLError(.insufficientPrivilege, "must be superuser to \(what) every table") }
        for t in tables { try requireOwner(.relation(t.id), kind: "table", name: t.name, in: catalog) }
    }

    /// CREATE in a schema: CREATE on it (PostgreSQL 15: only the owner on `public`).
    func requireCreate(inSchema schema: String, in catalog: Catalog) throws {
        guard schema != TemporaryTables.schema else { return }
        try requirePrivileges(.create, on: .schema(schema), kind: "schema", name: schema, in: catalog)
    }

    static func isTemporary(_ id: UInt32, in catalog: Catalog) -> Bool {
        (catalog.tables[id]?.schema ?? catalog.sequences[id]?.schema) == TemporaryTables.schema
    }

    /// A relation's kind as privilege messages name it.
    static func relationKind(_ id: UInt32, in catalog: Catalog) -> String {
        if catalog.sequences[id] != nil { return "sequence" }
        if catalog.views[id] != nil { return "view" }
        return "table"
    }

    // MARK: SET ROLE

    /// SET ROLE name | NONE, RESET ROLE: the session user must be a member of the role.
    func setRoleSetting(_ value: String?, local: Bool) throws -> StatementResult {
        var canonical = value ?? "none"
        if canonical.lowercased() == "none" {
            canonical = "none"
        } else {
            let catalog = engine.latestCatalog
            guard let target = catalog.role(named: canonical) else {
                throw SQLError(.undefinedObject, "role \"\(canonical)\" does not exist")
            }
            let me = sessionRole(in: catalog)
            if me == nil && loginWasRole || me.map({ !$0.superuser && !catalog.memberRoles(of: $0).contains(target.id) }) == true {
                throw SQLError(.insufficientPrivilege, "permission denied to set role \"\(canonical)\"")
            }
        }
        let warning = try settings.set("role", canonical, local: local)
        noteActingRole()
        if let warning { return StatementResult(tag: "SET", notices: [warning]) }
        return StatementResult(tag: value == nil ? "RESET" : "SET")
    }

    /// SET [LOCAL] SESSION AUTHORIZATION name | DEFAULT, RESET SESSION AUTHORIZATION: the
    /// session user (and so the current user) becomes `name`, the authenticated user for
    /// DEFAULT. Only a login that was a superuser may take another role, as PostgreSQL
    /// decides it by the login: such a session may go on switching after becoming an
    /// ordinary role. Any SET ROLE ends with it; both are undone with a rolled-back block.
    func setSessionAuthorization(_ value: String?, local: Bool) throws -> StatementResult {
        let target = value ?? authenticatedUser
        if target != authenticatedUser {
            guard let role = engine.latestCatalog.role(named: target) else {
                throw SQLError(.invalidParameterValue, "role \"\(target)\" does not exist")
            }
            guard authenticatedIsSuperuser else {
                throw SQLError(.insufficientPrivilege, "permission denied to set session authorization \"\(role.name)\"")
            }
        }
        if let warning = try settings.set("session_authorization", target, local: local) {
            return StatementResult(tag: "SET", notices: [warning])
        }
        _ = try settings.set("role", "none", local: local)
        noteActingRole()
        return StatementResult(tag: value == nil ? "RESET" : "SET")
    }

    /// `is_superuser` follows the acting role, as in PostgreSQL (SET ROLE, RESET ROLE, and a
    /// rolled-back or ended block that undoes one), reported to the client when it changes.
    func noteActingRole() {
        let superuser = actingRole(in: engine.latestCatalog).map(\.superuser) ?? true
        let value = superuser ? "on" : "off"
        if settings["is_superuser"] != value { settings.setReadOnly("is_superuser", value, report: true) }
    }

    // MARK: Role membership

    func resolveRole(_ name: RoleName, in catalog: Catalog) throws -> RoleDef {
        let text: String
        switch name {
        case .name(let n): text = n
        case .currentUser: text = currentRoleName
        case .sessionUser: text = userName
        case .public: throw SQLError(.undefinedObject, "role \"public\" does not exist")
        }
        guard let role = catalog.role(named: text) else { throw SQLError(.undefinedObject, "role \"\(text)\" does not exist") }
        return role
    }

    /// GRANT role TO member [WITH ADMIN OPTION] / REVOKE [ADMIN OPTION FOR] role FROM member.
    func membership(roles: [String], members: [RoleName], grant: Bool, admin: Bool, in t: Transaction) throws -> StatementResult {
        var notices: [String] = []
        for roleName in roles {
            let catalog = t.catalog
            guard let role = catalog.role(named: roleName) else { throw SQLError(.undefinedObject, "role \"\(roleName)\" does not exist") }
            let actor = actingRole(in: catalog)
            if let a = actor, !a.superuser {
                if role.superuser { throw SQLError(.insufficientPrivilege, "must be superuser to alter superusers") }
                let adminOf = a.memberOf.contains { $0.role == role.id && $0.admin }
                    || catalog.privilegeRoles(of: a).contains { id in catalog.roles[id]?.memberOf.contains { $0.role == role.id && $0.admin } ?? false }
                guard a.createRole || adminOf else {
                    throw SQLError(.insufficientPrivilege, "must have admin option on role \"\(roleName)\"")
                }
            }
            let grantor = actor?.id ?? Catalog.bootstrapRoleId
            for memberName in members {
                let catalog = t.catalog
                var member = try resolveRole(memberName, in: catalog)
                if grant {
                    if member.id == role.id || catalog.memberRoles(of: role).contains(member.id) {
                        throw SQLError(SQLState("0LP01"), "role \"\(member.name)\" is a member of role \"\(role.name)\"")
                    }
                    if let i = member.memberOf.firstIndex(where: { $0.role == role.id }) {
                        if !admin || member.memberOf[i].admin {
                            notices.append("NOTICE: role \"\(member.name)\" is already a member of role \"\(role.name)\"")
                            continue
                        }
                        member.memberOf[i].admin = true
                    } else {
                        guard member.memberOf.count < Catalog.listEntriesMax else {
                            throw SQLError(SQLState("54000"), "role \"\(member.name)\" is a member of \(Catalog.listEntriesMax) roles already")
                        }
                        member.memberOf.append(RoleMembership(role: role.id, grantor: grantor, admin: admin))
                    }
                } else {
                    guard let i = member.memberOf.firstIndex(where: { $0.role == role.id }) else {
                        notices.append("WARNING: role \"\(member.name)\" has not been granted membership in role \"\(role.name)\" by role \"\(actor?.name ?? userName)\"")
                        continue
                    }
                    if admin { member.memberOf[i].admin = false } else { member.memberOf.remove(at: i) }
                }
                let changed = member
                _ = try t.applyDDL { _ in .createRole(changed) }
            }
        }
        return StatementResult(tag: grant ? "GRANT ROLE" : "REVOKE ROLE", notices: notices)
    }

    // MARK: Object privileges

    /// The objects a GRANT or REVOKE names, each with its kind and name for messages.
    func grantObjects(_ target: GrantStatement.Target, in catalog: Catalog) throws -> [(PrivilegeObject, kind: String, name: String)] {
        switch target {
        case .defaults:
            return []
        case let .relations(refs, sequence):
            return try refs.map { ref in
                if let tbl = findTable(ref.schema, ref.name, in: catalog), !sequence { return (.relation(tbl.id), "table", tbl.name) }
                if let v = findView(ref.schema, ref.name, in: catalog), !sequence { return (.relation(v.id), "view", v.name) }
                let schemas = ref.schema.map { [$0] } ?? searchPath(in: catalog)
                for s in schemas {
                    if let seq = catalog.sequence(schema: s, ref.name) { return (.relation(seq.id), "sequence", seq.name) }
                }
                if sequence, findTable(ref.schema, ref.name, in: catalog) != nil {
                    throw SQLError(.wrongObjectType, "\"\(ref.name)\" is not a sequence")
                }
                throw SQLError(.undefinedTable, "relation \"\(ref.schema.map { $0 + "." } ?? "")\(ref.name)\" does not exist")
            }
        case let .allInSchemas(schemas, sequence):
            var out: [(PrivilegeObject, kind: String, name: String)] = []
            for s in schemas {
                guard catalog.schemas.contains(s) else { throw SQLError(SQLState("3F000"), "schema \"\(s)\" does not exist") }
                if sequence {
                    for q in catalog.sequences.values.filter({ $0.schema == s }).sorted(by: { $0.id < $1.id }) {
                        out.append((.relation(q.id), "sequence", q.name))
                    }
                } else {
                    // ALL TABLES: tables and views (sequences take ALL SEQUENCES).
                    for tbl in catalog.tables.values.filter({ $0.schema == s }).sorted(by: { $0.id < $1.id }) {
                        out.append((.relation(tbl.id), "table", tbl.name))
                    }
                    for v in catalog.views.values.filter({ $0.schema == s }).sorted(by: { $0.id < $1.id }) {
                        out.append((.relation(v.id), "view", v.name))
                    }
                }
            }
            return out
        case .schemas(let names):
            return try names.map { s in
                guard catalog.schemas.contains(s) else { throw SQLError(SQLState("3F000"), "schema \"\(s)\" does not exist") }
                return (.schema(s), "schema", s)
            }
        }
    }

    func grantPrivileges(_ g: GrantStatement, in t: Transaction) throws -> StatementResult {
        if case let .defaults(roles, schemas, kind) = g.target {
            return try alterDefaultPrivileges(g, roles: roles, schemas: schemas, kind: kind, in: t)
        }
        var notices: [String] = []
        let objects = try grantObjects(g.target, in: t.catalog)
        for (object, kind, name) in objects {
            let catalog = t.catalog
            let applicable = catalog.applicable(object)
            let requested = try Self.requestedPrivileges(g.privileges, applicable: applicable) { p in
                guard kind == "sequence", case .relations(_, false) = g.target else {
                    throw SQLError(SQLState("0LP01"), "invalid privilege type \(p) for \(kind == "view" ? "table" : kind)")
                }
                notices.append("WARNING: sequence \"\(name)\" only supports USAGE, SELECT, and UPDATE privileges")
            }
            if g.privileges == nil || !requested.isEmpty {
                try changeACL(object, kind: kind, name: name, requested, g, in: t, notices: &notices)
                // REVOKE on a table takes the same privileges from its columns too (PostgreSQL's rule).
                let onColumns = requested.intersection(.column)
                if !g.grant, !onColumns.isEmpty, case .relation(let id) = object, let table = t.catalog.tables[id] {
                    var quiet: [String] = []
                    for (p, _) in t.catalog.columnACLs(of: id) {
                        try changeACL(.column(id, p), kind: kind, name: name, onColumns, g, in: t, notices: &quiet, column: table.columns[p].name)
                    }
                }
            }
            try grantColumnPrivileges(g, object, kind: kind, in: t, notices: &notices)
        }
        return StatementResult(tag: g.grant ? "GRANT" : "REVOKE", notices: notices)
    }

    /// The privileges a GRANT or REVOKE names, or all that apply when it names none (ALL).
    /// A named privilege the object does not take goes to `inapplicable`, which throws or,
    /// returning, leaves it out.
    static func requestedPrivileges(_ names: [String]?, applicable: Privileges,
                                    inapplicable: (String) throws -> Void) throws -> Privileges {
        guard let names else { return applicable }
        var requested: Privileges = []
        for p in names {
            let bit = try privilegeBit(p)
            if applicable.contains(bit) { requested.insert(bit) } else { try inapplicable(p) }
        }
        return requested
    }

    static func privilegeBit(_ keyword: String) throws -> Privileges {
        guard let bit = Privileges.keywords.first(where: { $0.0 == keyword })?.1 else {
            throw SQLError(.syntaxError, "unrecognized privilege type \"\(keyword.lowercased())\"")
        }
        return bit
    }

    /// GRANT SELECT (a, b), UPDATE (c) ON t: each column's own access list.
    func grantColumnPrivileges(_ g: GrantStatement, _ object: PrivilegeObject, kind: String, in t: Transaction,
                               notices: inout [String]) throws {
        guard !g.columnPrivileges.isEmpty else { return }
        let catalog = t.catalog
        // A table's live columns, or a view's output columns (named by the catalog).
        let relationName: String
        let position: (String) -> Int?
        let columnName: (Int) -> String
        guard case .relation(let id) = object else {
            throw SQLError(SQLState("0LP01"), "invalid privilege type \(g.columnPrivileges[0].privilege ?? "ALL") for \(kind)")
        }
        if kind == "table", let table = catalog.tables[id] {
            relationName = table.name
            position = { table.columnPosition($0) }
            columnName = { table.columns[$0].name }
        } else if kind == "view", let view = catalog.views[id] {
            relationName = view.name
            position = { view.columnNames.firstIndex(of: $0) }
            columnName = { view.columnNames[$0] }
        } else {
            throw SQLError(SQLState("0LP01"), "invalid privilege type \(g.columnPrivileges[0].privilege ?? "ALL") for \(kind)")
        }
        var perColumn: [(Int, Privileges)] = []
        for (keyword, names) in g.columnPrivileges {
            let bits: Privileges
            if let keyword {
                bits = try Self.privilegeBit(keyword)
                guard Privileges.column.isSuperset(of: bits) else {
                    throw SQLError(SQLState("0LP01"), "invalid privilege type \(keyword) for column")
                }
            } else {
                bits = .column
            }
            for n in names {
                guard let p = position(n) else {
                    throw SQLError(.undefinedColumn, "column \"\(n)\" of relation \"\(relationName)\" does not exist")
                }
                if let i = perColumn.firstIndex(where: { $0.0 == p }) { perColumn[i].1.formUnion(bits) } else { perColumn.append((p, bits)) }
            }
        }
        for (p, bits) in perColumn {
            try changeACL(.column(id, p), kind: kind, name: relationName, bits, g, in: t, notices: &notices,
                          column: columnName(p))
        }
    }

    /// Grants or revokes `requested` on one object for each grantee of `g`, as one catalog event.
    func changeACL(_ object: PrivilegeObject, kind: String, name: String, _ requested: Privileges, _ g: GrantStatement,
                   in t: Transaction, notices: inout [String], column: String? = nil) throws {
        var requested = requested
        let catalog = t.catalog
        // Who grants: the owner when the actor has its privileges, else the actor on
        // its grant options (PostgreSQL's select_best_grantor).
        let o = catalog.objectACL(object)
        let actor = actingRole(in: catalog)
        var grantor = o.owner
        if let a = actor, !catalog.owns(a, object) {
            let options = catalog.grantable(by: a, on: object)
            // With no grant option, holding any privilege on the object (for a column, on
            // it or its table) makes it a warning below, as in PostgreSQL; holding none, 42501.
            var holds = !catalog.privileges(of: a, on: object).isEmpty
            if case .column(let table, _) = object { holds = holds || !catalog.privileges(of: a, on: .relation(table)).isEmpty }
            if options.isEmpty && !holds {
                if let column { throw SQLError(.insufficientPrivilege, "permission denied for column \"\(column)\" of relation \"\(name)\"") }
                throw SQLError(.insufficientPrivilege, "permission denied for \(kind) \(name)")
            }
            grantor = a.id
            if !options.isSuperset(of: requested) {
                let verb = g.grant ? "granted" : "revoked"
                let what = column.map { "column \"\($0)\" of relation \"\(name)\"" } ?? "\"\(name)\""
                notices.append(options.intersection(requested).isEmpty
                    ? "WARNING: no privileges were \(verb) for \(what)"
                    : "WARNING: not all privileges were \(verb) for \(what)")
                requested.formIntersection(options)
            }
        }
        if requested.isEmpty { return }
        var acl = catalog.effectiveACL(object)
        for granteeName in g.grantees {
            let grantee: UInt32? = granteeName == .public ? nil : try resolveRole(granteeName, in: catalog).id
            if g.grant {
                guard !requested.isEmpty else { continue }
                Self.addGrant(requested, to: grantee, by: grantor, withOption: g.grantOption, in: &acl)
            } else {
                try revoke(requested, optionOnly: g.grantOption, from: grantee, by: grantor, cascade: g.cascade, in: &acl, name: name)
            }
        }
        guard acl.count <= Catalog.listEntriesMax else {
            let what = column.map { "column \($0) of table \(name)" } ?? "\(kind) \(name)"
            throw SQLError(SQLState("54000"), "the access list of \(what) would have more than \(Catalog.listEntriesMax) entries")
        }
        // A column whose list empties goes back to having none (as PostgreSQL's NULL attacl).
        if case .column = object, acl.isEmpty {
            if catalog.acls[object] != nil { try t.applyDDL { _ in .setACL(object, nil) } }
            return
        }
        let stored = ObjectACL(owner: o.owner, acl: acl)
        try t.applyDDL { _ in .setACL(object, stored) }
    }

    /// Adds `privileges` (and their grant options) to the entry `grantor` gave `grantee`.
    static func addGrant(_ privileges: Privileges, to grantee: UInt32?, by grantor: UInt32, withOption: Bool, in acl: inout [ACLItem]) {
        acl.merge(ACLItem(grantee: grantee, grantor: grantor, privileges: privileges, grantOptions: withOption ? privileges : []))
    }

    /// Takes `privileges` (or only their grant options) that `grantor` gave `grantee`; what
    /// the grantee passed on with those options goes too with CASCADE, else 2BP01.
    func revoke(_ privileges: Privileges, optionOnly: Bool, from grantee: UInt32?, by grantor: UInt32, cascade: Bool,
                in acl: inout [ACLItem], name: String) throws {
        guard let i = acl.firstIndex(where: { $0.grantee == grantee && $0.grantor == grantor }) else { return }
        let lostOptions = acl[i].grantOptions.intersection(privileges)
        acl[i].grantOptions.subtract(privileges)
        if !optionOnly { acl[i].privileges.subtract(privileges) }
        if acl[i].privileges.isEmpty { acl.remove(at: i) }
        guard let g = grantee, !lostOptions.isEmpty else { return }
        // Grants this grantee made with the options it lost.
        if acl.contains(where: { $0.grantor == g && $0.grantee != g && !$0.privileges.intersection(lostOptions).isEmpty }) {
            guard cascade else { throw SQLError(SQLState("2BP01"), "dependent privileges exist", hint: "Use CASCADE to revoke them too.") }
            for dependent in acl.filter({ $0.grantor == g && $0.grantee != g }) {
                try revoke(lostOptions, optionOnly: false, from: dependent.grantee, by: g, cascade: true, in: &acl, name: name)
            }
        }
    }

    // MARK: Ownership

    /// ALTER TABLE | VIEW | SEQUENCE | SCHEMA ... OWNER TO.
    func changeOwner(kind: ObjectKind, object: [String], to newOwnerName: RoleName, in t: Transaction) throws -> StatementResult {
        let catalog = t.catalog
        let target: PrivilegeObject
        let label: String
        let name = object.last ?? ""
        let schema: String? = object.count > 1 ? object[0] : nil
        let tag: String
        switch kind {
        case .schema:
            guard catalog.schemas.contains(name) else { throw SQLError(SQLState("3F000"), "schema \"\(name)\" does not exist") }
            (target, label, tag) = (.schema(name), "schema", "ALTER SCHEMA")
        default:
            if let tbl = findTable(schema, name, in: catalog), tbl.schema != TemporaryTables.schema || kind == .table {
                (target, label) = (.relation(tbl.id), "table")
            } else if let v = findView(schema, name, in: catalog) {
                (target, label) = (.relation(v.id), "view")
            } else if let q = (schema.map { [$0] } ?? searchPath(in: catalog)).lazy.compactMap({ catalog.sequence(schema: $0, name) }).first {
                (target, label) = (.relation(q.id), "sequence")
            } else {
                throw SQLError(.undefinedTable, "relation \"\(object.joined(separator: "."))\" does not exist")
            }
            tag = kind == .view ? "ALTER VIEW" : kind == .sequence ? "ALTER SEQUENCE" : "ALTER TABLE"
        }
        let newOwner = try resolveRole(newOwnerName, in: catalog)
        let current = catalog.objectACL(target)
        if current.owner == newOwner.id { return StatementResult(tag: tag) }
        if let a = actingRole(in: catalog), !a.superuser {
            guard catalog.owns(a, target) else { throw SQLError(.insufficientPrivilege, "must be owner of \(label) \(name)") }
            guard catalog.memberRoles(of: a).contains(newOwner.id) else {
                throw SQLError(.insufficientPrivilege, "must be member of role \"\(newOwner.name)\"")
            }
        }
        let stored = ObjectACL(owner: newOwner.id, acl: current.acl.map { Self.passOwnership($0, from: current.owner, to: newOwner.id) })
        try t.applyDDL { _ in .setACL(target, stored) }
        if case .relation(let id) = target {
            for (p, list) in catalog.columnACLs(of: id) {
                let moved = ObjectACL(owner: newOwner.id, acl: Self.passOwnership(list, from: current.owner, to: newOwner.id))
                try t.applyDDL { _ in .setACL(.column(id, p), moved) }
            }
        }
        // A table's owned sequences (SERIAL, identity) follow it.
        if case .relation(let id) = target, catalog.tables[id] != nil {
            for seq in catalog.sequences.values where seq.ownedBy?.0 == id {
                let s = ObjectACL(owner: newOwner.id, acl: catalog.objectACL(.relation(seq.id)).acl)
                try t.applyDDL { _ in .setACL(.relation(seq.id), s) }
            }
        }
        return StatementResult(tag: tag)
    }

    /// An access list with the old owner's entries passed to the new one (PostgreSQL's aclnewowner).
    static func passOwnership(_ list: [ACLItem], from old: UInt32, to new: UInt32) -> [ACLItem] {
        var merged: [ACLItem] = []
        for var item in list {
            if item.grantee == old { item.grantee = new }
            if item.grantor == old { item.grantor = new }
            merged.merge(item)
        }
        return merged
    }

    /// What keeps a role from being dropped: objects it owns and privileges it holds or gave.
    func roleDependents(_ role: RoleDef, in catalog: Catalog) -> [String] {
        let policies = catalog.policies.values.filter { $0.roles.contains(role.id) }.compactMap { p in
            catalog.tables[p.table].map { "target of policy \(p.name) on table \($0.name)" }
        }
        return policies + catalog.dependents(of: role.id).map { object in
            let what: String
            switch object {
            case .schema(let s): what = "schema \(s)"
            case let .column(id, p):
                if let v = catalog.views[id] {
                    return "privileges for column \(p < v.columnNames.count ? v.columnNames[p] : String(p + 1)) of view \(v.name)"
                }
                let t = catalog.tables[id]
                let column = t.flatMap { p < $0.columns.count ? $0.columns[p].name : nil } ?? String(p + 1)
                return "privileges for column \(column) of table \(t?.name ?? String(id))"
            case .relation(let id):
                let name = catalog.tables[id]?.name ?? catalog.views[id]?.name ?? catalog.sequences[id]?.name ?? String(id)
                what = Self.relationKind(id, in: catalog) + " " + name
            case let .defaults(owner, schema, kind):
                what = "default privileges on new \(kind.noun) belonging to role \(catalog.roles[owner]?.name ?? String(owner))"
                    + (schema.map { " in schema \($0)" } ?? "")
            }
            return (catalog.objectACL(object).owner == role.id ? "owner of " : "privileges for ") + what
        }.sorted()
    }
}

extension Catalog {
    /// `aclitem[]` text for pg_class.relacl and friends: `grantee=privs/grantor`, PUBLIC's
    /// grantee empty, `*` after a privilege held with its grant option.
    func aclText(_ object: PrivilegeObject, roleName: (UInt32) -> String) -> [String]? {
        guard acls[object]?.acl != nil else { return nil }
        return effectiveACL(object).map { item in
            var privs = ""
            for (letter, bit) in Privileges.letters where item.privileges.contains(bit) {
                privs.append(letter)
                if item.grantOptions.contains(bit) { privs.append("*") }
            }
            return (item.grantee.map(roleName) ?? "") + "=" + privs + "/" + roleName(item.grantor)
        }
    }
}
