import DriftCore

/// CREATE / ALTER / DROP ROLE: roles are catalog events, so `pg_roles AS OF @seq:N` shows
/// who existed with which attributes then. Passwords become verifiers
/// (`password_encryption`) before they reach the log.
extension Session {
    func role(_ s: RoleStatement, in t: Transaction) throws -> StatementResult {
        let result = try roleStatement(s, in: t)
        // Role and privilege changes join drift_audit in the transaction that makes them.
        let (event, detail) = Self.auditEntry(s)
        try Audit.record(in: t, role: currentRoleName, address: clientAddress, event: event, detail: detail)
        return result
    }

    /// What the audit says of a role or privilege statement (never a password).
    static func auditEntry(_ s: RoleStatement) -> (String, String) {
        func names(_ roles: [RoleName]) -> String {
            roles.map { r in
                switch r {
                case .name(let n): return n
                case .public: return "PUBLIC"
                case .currentUser: return "CURRENT_USER"
                case .sessionUser: return "SESSION_USER"
                }
            }.joined(separator: ", ")
        }
        func options(_ o: [(String, Expr?)]) -> String {
            o.isEmpty ? "" : " " + o.map { $0.0 == "password" ? "password" : $0.0 }.joined(separator: ", ")
        }
        switch s {
        case let .create(name, o, _): return ("create_role", name + options(o))
        case let .alter(name, o): return ("alter_role", (name ?? "CURRENT_USER") + options(o))
        case let .rename(from, to): return ("alter_role", from + " rename to " + to)
        case let .drop(list, _): return ("drop_role", list.joined(separator: ", "))
        case let .set(name, setting, value): return ("alter_role", (name ?? "CURRENT_USER") + (value.map { " set \(setting) = \($0)" } ?? " reset \(setting)"))
        case let .membership(roles, members, grant, admin):
            return (grant ? "grant_role" : "revoke_role",
                    roles.joined(separator: ", ") + (grant ? " to " : " from ") + names(members) + (admin ? " (admin option)" : ""))
        case .privileges(let g):
            let objects: String
            switch g.target {
            case let .relations(refs, sequence):
                objects = (sequence ? "sequence " : "table ") + refs.map { ($0.schema.map { $0 + "." } ?? "") + $0.name }.joined(separator: ", ")
            case let .allInSchemas(schemas, sequence): objects = "all \(sequence ? "sequences" : "tables") in schema " + schemas.joined(separator: ", ")
            case .schemas(let list): objects = "schema " + list.joined(separator: ", ")
            case let .defaults(roles, schemas, kind):
                objects = "default privileges on new \(kind.noun)" + (roles.isEmpty ? "" : " for role " + names(roles))
                    + (schemas.isEmpty ? "" : " in schema " + schemas.joined(separator: ", "))
            }
            return (g.grant ? "grant" : "revoke", (g.privileges?.joined(separator: ", ") ?? "ALL") + " on " + objects
                    + (g.grant ? " to " : " from ") + names(g.grantees) + (g.grantOption ? " (grant option)" : ""))
        case let .owner(kind, object, to):
            return ("alter_owner", kind.rawValue.replacingPrefix("OBJECT_", with: "").lowercased() + " " + object.joined(separator: ".") + " owner to " + names([to]))
        case .policy(let p):
            let verb: String
            switch p.action {
            case .create: verb = "create_policy"
            case .alter, .rename: verb = "alter_policy"
            case .drop: verb = "drop_policy"
            }
            return (verb, p.name + " on " + p.table.name)
        }
    }

    func roleStatement(_ s: RoleStatement, in t: Transaction) throws -> StatementResult {
        switch s {
        case let .create(name, options, user): return try createRole(name, options, user: user, in: t)
        case let .alter(name, options): return try alterRole(name ?? userName, options, in: t)
        case let .rename(from, to): return try renameRole(from, to, in: t)
        case let .drop(names, ifExists): return try dropRoles(names, ifExists: ifExists, in: t)
        case let .set(name, setting, value): return try alterRoleSet(name ?? userName, setting, value, in: t)
        case let .membership(roles, members, grant, admin): return try membership(roles: roles, members: members, grant: grant, admin: admin, in: t)
        case .privileges(let g): return try grantPrivileges(g, in: t)
        case let .owner(kind, object, to): return try changeOwner(kind: kind, object: object, to: to, in: t)
        case .policy(let p): return try policy(p, in: t)
        }
    }

    static func checkRoleName(_ name: String) throws {
        if name == "public" || name == "none" {
            throw SQLError(SQLState("42939"), "role name \"\(name)\" is reserved")
        }
        if name.hasPrefix("pg_") {
            throw SQLError(SQLState("42939"), "role name \"\(name)\" is reserved", detail: "Role names starting with \"pg_\" are reserved.")
        }
        guard !name.isEmpty, name.utf8.count <= 63 else { throw SQLError(.invalidName, "invalid role name \"\(name)\"") }
    }

    func createRole(_ name: String, _ options: [(String, Expr?)], user: Bool, in t: Transaction) throws -> StatementResult {
        try Self.checkRoleName(name)
        let catalog = t.catalog
        let actor = actingRole(in: catalog)
        if let a = actor, !a.superuser && !a.createRole {
            throw SQLError(.insufficientPrivilege, "permission denied to create role")
        }
        if catalog.role(named: name) != nil { throw SQLError(SQLState("42710"), "role \"\(name)\" already exists") }
        var role = RoleDef(id: t.allocateTableId(), name: name)
        role.login = user
        var notices: [String] = []
        try applyRoleOptions(options, to: &role, actor: actor, notices: &notices)
        _ = try t.applyDDL { _ in .createRole(role) }
        return StatementResult(tag: "CREATE ROLE", notices: notices)
    }

    func alterRole(_ name: String, _ options: [(String, Expr?)], in t: Transaction) throws -> StatementResult {
        let catalog = t.catalog
        guard var role = catalog.role(named: name) else { throw SQLError(.undefinedObject, "role \"\(name)\" does not exist") }
        let actor = actingRole(in: catalog)
        let own = actor?.id == role.id
        // A role may change its own password; other changes need CREATEROLE (superuser for a
        // superuser's).
        let passwordOnly = options.allSatisfy { $0.0 == "password" }
        if let a = actor, !a.superuser && !(own && passwordOnly) {
            guard a.createRole, !role.superuser else { throw SQLError(.insufficientPrivilege, "permission denied") }
        }
        var notices: [String] = []
        try applyRoleOptions(options, to: &role, actor: actor, notices: &notices)
        _ = try t.applyDDL { _ in .createRole(role) }
        return StatementResult(tag: "ALTER ROLE", notices: notices)
    }

    /// ALTER ROLE ... SET / RESET: the role's session defaults (checked as SET checks them).
    func alterRoleSet(_ name: String, _ setting: String, _ value: String?, in t: Transaction) throws -> StatementResult {
        let catalog = t.catalog
        guard var role = catalog.role(named: name) else { throw SQLError(.undefinedObject, "role \"\(name)\" does not exist") }
        let actor = actingRole(in: catalog)
        if let a = actor, !a.superuser && !(a.id == role.id && !role.superuser) && !(a.createRole && !role.superuser) {
            throw SQLError(.insufficientPrivilege, "permission denied")
        }
        let key = setting.lowercased()
        if key == "all" && value == nil {
            role.config = []
        } else {
            var canonical: String?
            if let value {
                var scratch = SessionSettings()
                _ = try scratch.set(setting, value, local: false)
                canonical = scratch[setting] ?? value
            }
            let stored = SettingDefinition.byName[key]?.name ?? key
            role.config.removeAll { $0.prefix { $0 != "=" }.lowercased() == key }
            if let canonical {
                guard role.config.count < Catalog.roleSettingsMax else {
                    throw SQLError(SQLState("54000"), "role \"\(role.name)\" has \(Catalog.roleSettingsMax) settings already")
                }
                role.config.append(stored + "=" + canonical)
            }
        }
        _ = try t.applyDDL { _ in .createRole(role) }
        return StatementResult(tag: "ALTER ROLE")
    }

    func renameRole(_ from: String, _ to: String, in t: Transaction) throws -> StatementResult {
        let catalog = t.catalog
        guard var role = catalog.role(named: from) else { throw SQLError(.undefinedObject, "role \"\(from)\" does not exist") }
        try Self.checkRoleName(to)
        if from == userName { throw SQLError(.featureNotSupported, "session user cannot be renamed") }
        let actor = actingRole(in: catalog)
        if let a = actor, !a.superuser && !(a.createRole && !role.superuser) {
            throw SQLError(.insufficientPrivilege, "permission denied to rename role")
        }
        if catalog.role(named: to) != nil { throw SQLError(SQLState("42710"), "role \"\(to)\" already exists") }
        role.name = to
        var notices: [String] = []
        if role.password?.hasPrefix("md5") ?? false {
            // An MD5 verifier is salted with the role's name: it no longer matches.
            role.password = nil
            notices.append("NOTICE: MD5 password cleared because of role rename")
        }
        _ = try t.applyDDL { _ in .createRole(role) }
        return StatementResult(tag: "ALTER ROLE", notices: notices)
    }

    func dropRoles(_ names: [String], ifExists: Bool, in t: Transaction) throws -> StatementResult {
        var notices: [String] = []
        for name in names {
            let catalog = t.catalog
            guard let role = catalog.role(named: name) else {
                if ifExists {
                    notices.append("NOTICE: role \"\(name)\" does not exist, skipping")
                    continue
                }
                throw SQLError(.undefinedObject, "role \"\(name)\" does not exist")
            }
            if name == userName { throw SQLError(SQLState("55006"), "current user cannot be dropped") }
            let actor = actingRole(in: catalog)
            if let a = actor, !a.superuser && !(a.createRole && !role.superuser) {
                throw SQLError(.insufficientPrivilege, "permission denied to drop role")
            }
            if role.id == Catalog.bootstrapRoleId {
                throw SQLError(SQLState("2BP01"), "cannot drop role \(name) because it is required by the database system")
            }
            let dependents = roleDependents(role, in: catalog)
            if !dependents.isEmpty {
                throw SQLError(SQLState("2BP01"), "role \"\(name)\" cannot be dropped because some objects depend on it",
                               detail: dependents.joined(separator: "\n"))
            }
            // Memberships in the role go with it (PostgreSQL drops its pg_auth_members rows).
            for var member in catalog.roles.values where member.memberOf.contains(where: { $0.role == role.id }) {
                member.memberOf.removeAll { $0.role == role.id }
                let changed = member
                _ = try t.applyDDL { _ in .createRole(changed) }
            }
            _ = try t.applyDDL { _ in .dropRole(role.id) }
        }
        return StatementResult(tag: "DROP ROLE", notices: notices)
    }

    /// Applies CREATE/ALTER ROLE options to `role`, with PostgreSQL's rules: each option once,
    /// SUPERUSER, REPLICATION and BYPASSRLS only from a superuser.
    func applyRoleOptions(_ options: [(String, Expr?)], to role: inout RoleDef, actor: RoleDef?, notices: inout [String]) throws {
        var seen = Set<String>()
        let superuser = actor?.superuser ?? true
        for (name, value) in options {
            guard seen.insert(name).inserted else { throw SQLError(.syntaxError, "conflicting or redundant options") }
            func flag() throws -> Bool {
                if case .constant(.bool(let b), _)? = value { return b }
                if value == nil { return true }
                throw SQLError(.syntaxError, "option \"\(name)\" takes no value")
            }
            func needSuperuser(_ what: String) throws {
                guard superuser else { throw SQLError(.insufficientPrivilege, "must be superuser to change \(what) attribute") }
            }
            switch name {
            case "superuser":
                try needSuperuser("superuser")
                role.superuser = try flag()
            case "replication", "isreplication":
                try needSuperuser("replication")
                role.replication = try flag()
            case "bypassrls":
                try needSuperuser("bypassrls")
                role.bypassRLS = try flag()
            case "createrole": role.createRole = try flag()
            case "createdb": role.createDB = try flag()
            case "canlogin": role.login = try flag()
            case "inherit": role.inherit = try flag()
            case "connectionlimit":
                guard case .constant(.integer(let n), _)? = value, n >= -1, n <= Int64(Int32.max) else {
                    throw SQLError(.invalidParameterValue, "invalid connection limit")
                }
                role.connectionLimit = n
            case "validUntil":
                guard case .constant(.string(let text), _)? = value else { throw SQLError(.syntaxError, "VALID UNTIL needs a timestamp") }
                role.validUntil = try PGDateTime.timestamptz(text, DateTimeContext(timeZone: timeZone))
            case "password":
                switch value {
                case .constant(.string(let p), _)?:
                    if p.isEmpty {
                        notices.append("NOTICE: empty string is not a valid password, clearing password")
                        role.password = nil
                    } else {
                        role.password = PasswordVerifier.make(password: p, user: role.name, encryption: settings["password_encryption"] ?? "scram-sha-256")
                    }
                case nil, .constant(.null, _)?: role.password = nil
                default: throw SQLError(.syntaxError, "PASSWORD needs a string")
                }
            case "sysid": notices.append("NOTICE: SYSID can no longer be specified")
            case "addroleto", "rolemembers", "adminmembers":
                throw SQLError(.featureNotSupported, "role membership (IN ROLE, ROLE, ADMIN) is not supported yet")
            default:
                throw SQLError(.syntaxError, "unrecognized role option \"\(name)\"")
            }
        }
    }
}
