import DriftCore

/// Row-level security with PostgreSQL's semantics: CREATE / ALTER / DROP POLICY, ALTER TABLE
/// ... ENABLE | DISABLE | FORCE | NO FORCE ROW LEVEL SECURITY, and the conditions the binder
/// puts below every reader's own predicates. Policies are read as they stand now and applied
/// to every row version a statement reads, current or past.
extension Session {
    func policy(_ s: PolicyStatement, in t: Transaction) throws -> StatementResult {
        let catalog = t.catalog
        guard let table = findTable(s.table.schema, s.table.name, in: catalog) else {
            throw SQLError(.undefinedTable, "relation \"\(s.table.name)\" does not exist")
        }
        let existing = catalog.policies(on: table.id).first { $0.name == s.name }
        switch s.action {
        case let .create(permissive, commandName):
            try requireOwner(.relation(table.id), kind: "table", name: table.name, in: catalog)
            if existing != nil {
                throw SQLError(.duplicateObject, "policy \"\(s.name)\" for table \"\(table.name)\" already exists")
            }
            let command: PolicyDef.Command
            switch commandName.lowercased() {
            case "all": command = .all
            case "select": command = .select
            case "insert": command = .insert
            case "update": command = .update
            case "delete": command = .delete
            default: throw SQLError(.syntaxError, "unrecognized policy command \"\(commandName)\"")
            }
            var policy = PolicyDef(id: t.allocateTableId(), table: table.id, name: s.name, permissive: permissive, command: command,
                                   roles: [], using: s.using?.1, check: s.check?.1)
            policy.roles = try policyRoles(s.roles ?? [.public], in: catalog)
            try validate(policy, table, in: t)
            let created = policy
            try t.applyDDL { _ in .createPolicy(created) }
            return StatementResult(tag: "CREATE POLICY")
        case .alter, .rename:
            guard var policy = existing else {
                throw SQLError(.undefinedObject, "policy \"\(s.name)\" for table \"\(table.name)\" does not exist")
            }
            try requireOwner(.relation(table.id), kind: "table", name: table.name, in: catalog)
            if case .rename(let to) = s.action {
                if catalog.policies(on: table.id).contains(where: { $0.name == to }) {
                    throw SQLError(.duplicateObject, "policy \"\(to)\" for table \"\(table.name)\" already exists")
                }
                policy.name = to
            } else {
                if let roles = s.roles { policy.roles = try policyRoles(roles, in: catalog) }
                if let using = s.using { policy.using = using.1 }
                if let check = s.check { policy.check = check.1 }
                try validate(policy, table, in: t)
            }
            let changed = policy
            try t.applyDDL { _ in .createPolicy(changed) }
            return StatementResult(tag: "ALTER POLICY")
        case .drop(let ifExists):
            guard let policy = existing else {
                if ifExists {
                    return StatementResult(tag: "DROP POLICY",
                                           notices: ["NOTICE: policy \"\(s.name)\" for relation \"\(table.name)\" does not exist, skipping"])
                }
                throw SQLError(.undefinedObject, "policy \"\(s.name)\" for table \"\(table.name)\" does not exist")
            }
            try requireOwner(.relation(table.id), kind: "table", name: table.name, in: catalog)
            try t.applyDDL { _ in .dropPolicy(policy.id) }
            return StatementResult(tag: "DROP POLICY")
        }
    }

    /// What DriftQL reads and writes takes: the privilege, and the rows the policies allow.
    func driftQLAccess(_ table: TableDef, _ command: PolicyDef.Command, check: Bool = false, in t: Transaction) throws -> (([Value]) throws -> Bool)? {
        let privilege: Privileges
        switch command {
        case .insert: privilege = .insert
        case .update: privilege = [.update, .select]
        case .delete: privilege = [.delete, .select]
        default: privilege = .select
        }
        try requireTablePrivileges(privilege, table, in: t.catalog)
        return try binder(t, parameters: []).compiledRowSecurity(table, command, check: check, ctx: execContext(t, parameters: []))
    }

    func policyRoles(_ names: [RoleName], in catalog: Catalog) throws -> [UInt32] {
        if names.contains(.public) { return [] }
        var ids: [UInt32] = []
        for n in names {
            let id = try resolveRole(n, in: catalog).id
            if !ids.contains(id) { ids.append(id) }
        }
        guard ids.count <= Catalog.listEntriesMax else {
            throw SQLError(SQLState("54000"), "a policy may name at most \(Catalog.listEntriesMax) roles")
        }
        return ids
    }

    /// PostgreSQL's rules on which expressions a command's policy takes, and each bound now
    /// (unknown columns and non-boolean expressions fail CREATE, not a later read).
    func validate(_ p: PolicyDef, _ table: TableDef, in t: Transaction) throws {
        if p.command == .insert && p.using != nil {
            throw SQLError(.syntaxError, "only WITH CHECK expression allowed for INSERT")
        }
        if (p.command == .select || p.command == .delete) && p.check != nil {
            throw SQLError(.syntaxError, "WITH CHECK cannot be applied to SELECT or DELETE")
        }
        let b = binder(t, parameters: [])
        for text in [p.using, p.check].compactMap({ $0 }) {
            let scope = BlockScope(parent: nil)
            _ = try b.addTable(table, ref: TableRef(name: table.name), mode: .transaction, scope: scope, need: [])
            scope.aggregateBan = "POLICY"
            scope.windowBan = "POLICY"
            _ = try b.bindCondition(try Session.parseExpression(text), scope, context: "POLICY")
        }
    }

    /// ALTER TABLE ... ENABLE | DISABLE | FORCE | NO FORCE ROW LEVEL SECURITY.
    func setRowSecurity(_ what: String, on table: TableDef, in t: Transaction) throws {
        let (key, value): (String, String?)
        switch what {
        case "ENABLE": (key, value) = (Catalog.rowSecurityOption, "on")
        case "DISABLE": (key, value) = (Catalog.rowSecurityOption, nil)
        case "FORCE": (key, value) = (Catalog.forceRowSecurityOption, "on")
        default: (key, value) = (Catalog.forceRowSecurityOption, nil)
        }
        if table.options[key] != value { try t.applyDDL { _ in .setOption(table.id, key, value) } }
    }
}

extension Binder {
    /// The catalog privileges and policies are decided on: now's, also when the statement
    /// reads the past (a probe catalog while DDL checks what it would break).
    var rightsCatalog: Catalog { catalogOverride ?? txn.rightsCatalog }

    /// The role a read is checked for: the session's acting role, or inside a view its owner;
    /// nil: nothing binds the reader (a trusted user that is no role, a view of the bootstrap
    /// superuser's, no session).
    func readingRole(_ catalog: Catalog) -> RoleDef? {
        guard checksRights, let session else { return nil }
        if let top = privilegeRoles.last { return top }
        return session.actingRole(in: catalog)
    }

    /// The condition row-level security puts on `table` for `command` (`check`: the WITH
    /// CHECK one, for new rows), over the table's own slots; nil when no policy binds the
    /// reading role. The permissive policies' expressions OR'd (none: no row), AND the
    /// restrictive ones. `access`: the scan that will evaluate it, told which columns it reads.
    func rowSecurityCondition(_ table: TableDef, _ command: PolicyDef.Command, check: Bool, access: TableAccess?) throws -> BoundExpr? {
        let catalog = rightsCatalog
        guard let role = readingRole(catalog), catalog.rowSecurityApplies(to: role, on: table) else { return nil }
        guard !rowSecurityStack.contains(table.id) else {
            throw SQLError(SQLState("42P17"), "infinite recursion detected in policy for relation \"\(table.name)\"")
        }
        rowSecurityStack.append(table.id)
        defer { rowSecurityStack.removeLast() }
        let scope = BlockScope(parent: nil)
        _ = try addTable(table, ref: TableRef(name: table.name), mode: .transaction, scope: scope, need: [])
        scope.aggregateBan = "POLICY"
        scope.windowBan = "POLICY"
        var permissive: [BoundExpr] = []
        var restrictive: [BoundExpr] = []
        for p in catalog.applicablePolicies(table.id, command: command, role: role) {
            guard let text = check ? (p.check ?? p.using) : p.using else { continue }
            let e = try bindCondition(try TableWriter.storedExpression(text, self), scope, context: "POLICY")
            if p.permissive { permissive.append(e) } else { restrictive.append(e) }
        }
        var conjuncts: [BoundExpr] = [permissive.isEmpty ? .constant(.bool(false), .bool)
                                      : permissive.count == 1 ? permissive[0] : .or(permissive)]
        conjuncts += restrictive
        if let access, let probe = scope.relations.first?.access {
            access.usedColumns.formUnion(probe.usedColumns)
            if probe.readsAllColumns { access.readsAllColumns = true }
        }
        return conjuncts.count == 1 ? conjuncts[0] : .and(conjuncts)
    }

    /// The same condition as a predicate over a row's values by column position, for the
    /// readers and writers outside the executor (drift_events, SHOW DRIFT, DriftQL).
    func compiledRowSecurity(_ table: TableDef, _ command: PolicyDef.Command, check: Bool, ctx: ExecContext) throws -> (([Value]) throws -> Bool)? {
        guard let condition = try rowSecurityCondition(table, command, check: check, access: nil) else { return nil }
        let eval = try ExprCompiler.compile(condition, ctx)
        let width = TableAccess(table: table, alias: table.name, mode: .transaction).width
        let columns = table.columns.count
        return { values in
            var row = [Value](repeating: .null, count: width)
            for (i, v) in values.prefix(columns).enumerated() { row[i] = v }
            guard case .bool(true) = try row.withUnsafeBufferPointer({ try eval($0) }) else { return false }
            return true
        }
    }

    /// Whether row-level security hides rows of `table` from the reading role (unique
    /// violations then give no DETAIL with the key, as PostgreSQL).
    func rowSecurityHides(_ table: TableDef) -> Bool {
        let catalog = rightsCatalog
        guard let role = readingRole(catalog) else { return false }
        return catalog.rowSecurityApplies(to: role, on: table)
    }
}
