import DriftCore

/// Builds statements from libpg_query's JSON parse tree. Nodes this build cannot run fail
/// with 0A000 naming the node.
struct ASTBuilder {
    /// The statement text the tree was parsed from (for constants the tree mangles, and for
    /// the text of views, defaults and checks).
    let source: [UInt8]

    static func statements(sql: String) throws -> [Statement] {
        try statementsWithLocations(sql: sql).map(\.0)
    }

    /// Each statement with its own text, byte offset and length (a multi-statement string is
    /// split by the parser's locations).
    static func statementsWithLocations(sql: String) throws -> [(Statement, String, Int, Int)] {
        let source = Array(sql.utf8)
        return try PgQuery.parse(sql) { json in
            let tree = try JSONTree(json)
            let b = ASTBuilder(source: source)
            var out: [(Statement, String, Int, Int)] = []
            for raw in tree.root["stmts"]?.children ?? [] {
                let location = Int(raw["stmt_location"]?.int ?? 0)
                let length = raw["stmt_len"]?.int.map(Int.init) ?? (source.count - location)
                let end = length == 0 ? source.count : min(source.count, location + length)
                let text = String(decoding: source[min(location, end)..<end], as: UTF8.self)
                guard let s = raw["stmt"] else {
                    out.append((.empty, text, location, end - location))
                    continue
                }
                out.append((try b.statement(s), text, location, end - location))
            }
            return out
        }
    }

    static func unsupported(_ node: String) -> SQLError {
        SQLError(.featureNotSupported, "\(node) is not supported yet")
    }

    func fail(_ m: String) -> SQLError { SQLError.bug("parse tree: \(m)") }

    /// The text of the statement between two byte offsets.
    func text(_ start: Int, _ end: Int) -> String {
        guard start >= 0, start <= end, end <= source.count else { return "" }
        return String(decoding: source[start..<end], as: UTF8.self)
    }

    // MARK: Helpers over the tree

    func names(_ n: TreeRef?) -> [String] {
        (n?.children ?? []).compactMap { c in c["String"]?["sval"]?.string }
    }

    func location(_ n: TreeRef?) -> Int { Int(n?["location"]?.int ?? -1) }

    func string(_ n: TreeRef?, _ key: String) -> String? { n?[key]?.string }

    // MARK: Statements

    func statement(_ s: TreeRef) throws -> Statement {
        guard let (kind, body) = s.wrapped else { throw fail("empty statement") }
        switch kind {
        case "SelectStmt":
            return .select(try query(body))
        case "InsertStmt": return .insert(try insert(body))
        case "UpdateStmt": return .update(try update(body))
        case "DeleteStmt": return .delete(try delete(body))
        case "TransactionStmt": return .transaction(try transaction(body), asOf: nil)
        case "VariableSetStmt": return try variableSet(body)
        case "VariableShowStmt": return .show(name: string(body, "name") ?? "")
        case "CreateStmt": return .createTable(try createTable(body))
        case "CreateTableAsStmt": return .createTable(try createTableAs(body))
        case "IndexStmt": return .createIndex(try createIndex(body))
        case "ViewStmt": return .createView(try createView(body))
        case "DropStmt":
            if string(body, "removeType") == "OBJECT_POLICY" {
                guard let items = body["objects"]?.children, items.count == 1 else { throw Self.unsupported("DROP POLICY of several policies") }
                var parts = names(items[0]["List"]?["items"])
                guard parts.count >= 2, let name = parts.popLast(), let table = parts.popLast() else { throw fail("DROP POLICY names") }
                return .role(.policy(PolicyStatement(name: name, table: TableRef(schema: parts.last, name: table), action: .drop(ifExists: body["missing_ok"]?.bool ?? false))))
            }
            return .drop(try drop(body))
        case "AlterTableStmt":
            // OWNER TO alone is a privilege statement (it applies to views and sequences too).
            let cmds = body["cmds"]?.children ?? []
            if cmds.count == 1, let cmd = cmds[0]["AlterTableCmd"], string(cmd, "subtype") == "AT_ChangeOwner" {
                let kind = ObjectKind(rawValue: string(body, "objtype") ?? "OBJECT_TABLE") ?? .table
                guard kind == .table || kind == .view || kind == .sequence else { throw Self.unsupported("ALTER \(objectName(kind.rawValue)) ... OWNER TO") }
                let ref = try rangeVar(body["relation"])
                return .role(.owner(kind: kind, object: (ref.schema.map { [$0] } ?? []) + [ref.name], to: try roleName(cmd["newowner"])))
            }
            return .alterTable(try alterTable(body))
        case "RenameStmt":
            if string(body, "renameType") == "OBJECT_POLICY" {
                return .role(.policy(PolicyStatement(name: string(body, "subname") ?? "", table: try rangeVar(body["relation"]),
                                                     action: .rename(string(body, "newname") ?? ""))))
            }
            return try rename(body)
        case "TruncateStmt":
            let tables = try (body["relations"]?.children ?? []).map { try rangeVar($0["RangeVar"] ?? $0) }
            return .truncate(tables, restartIdentity: body["restart_seqs"]?.bool ?? false,
                             cascade: string(body, "behavior") == "DROP_CASCADE")
        case "CreateSeqStmt":
            return .createSequence(CreateSequenceStatement(sequence: try rangeVar(body["sequence"]), options: try defElems(body["options"]),
                                                           ifNotExists: body["if_not_exists"]?.bool ?? false))
        case "AlterSeqStmt":
            return .alterSequence(try rangeVar(body["sequence"]), options: try defElems(body["options"]))
        case "CreateEnumStmt":
            return .createEnum(name: names(body["typeName"]), labels: names(body["vals"]))
        case "CreateRoleStmt":
            guard string(body, "stmt_type") != "ROLESTMT_GROUP" else { throw Self.unsupported("CREATE GROUP") }
            return .role(.create(name: string(body, "role") ?? "", options: try defElems(body["options"]),
                                 user: string(body, "stmt_type") == "ROLESTMT_USER"))
        case "AlterRoleStmt":
            let spec = body["role"]
            let name = string(spec, "roletype") == "ROLESPEC_CSTRING" ? string(spec, "rolename") : nil
            return .role(.alter(name: name, options: try defElems(body["options"])))
        case "AlterRoleSetStmt":
            guard let spec = body["role"] else { throw Self.unsupported("ALTER ROLE ALL SET") }
            guard body["database"] == nil else { throw Self.unsupported("ALTER ROLE ... IN DATABASE") }
            guard let setting = body["setstmt"], case let .set(name, value, _) = try variableSet(setting) else {
                throw Self.unsupported("this ALTER ROLE ... SET")
            }
            let role = string(spec, "roletype") == "ROLESPEC_CSTRING" ? string(spec, "rolename") : nil
            return .role(.set(role: role, setting: name, value: value))
        case "GrantRoleStmt":
            guard body["grantor"] == nil else { throw Self.unsupported("GRANT ... GRANTED BY") }
            let roles = (body["granted_roles"]?.children ?? []).map { string($0["AccessPriv"], "priv_name") ?? "" }
            let members = try (body["grantee_roles"]?.children ?? []).map { try roleName($0["RoleSpec"]) }
            return .role(.membership(roles: roles, members: members, grant: body["is_grant"]?.bool ?? false,
                                     admin: body["admin_opt"]?.bool ?? false))
        case "GrantStmt":
            return .role(.privileges(try grant(body)))
        case "AlterDefaultPrivilegesStmt":
            var roles: [RoleName] = []
            var schemas: [String] = []
            for o in body["options"]?.children ?? [] {
                guard let d = o["DefElem"] else { continue }
                let items = d["arg"]?["List"]?["items"]?.children ?? []
                switch string(d, "defname") {
                case "roles": roles = try items.map { try roleName($0["RoleSpec"]) }
                case "schemas": schemas = items.map { $0["String"]?["sval"]?.string ?? "" }
                default: throw Self.unsupported("ALTER DEFAULT PRIVILEGES option \(string(d, "defname") ?? "")")
                }
            }
            guard let action = body["action"] else { throw fail("ALTER DEFAULT PRIVILEGES without GRANT or REVOKE") }
            return .role(.privileges(try grant(action, defaults: (roles, schemas))))
        case "CreatePolicyStmt", "AlterPolicyStmt":
            let create = kind == "CreatePolicyStmt"
            let using = try body["qual"].map { try expr($0) }
            let check = try body["with_check"].map { try expr($0) }
            let roles = try body["roles"].map { try $0.children.map { try roleName($0["RoleSpec"]) } }
            return .role(.policy(PolicyStatement(
                name: string(body, "policy_name") ?? "", table: try rangeVar(body["table"]),
                action: create ? .create(permissive: body["permissive"]?.bool ?? false, command: string(body, "cmd_name") ?? "all") : .alter,
                roles: roles, using: using.map { ($0, Deparser.expr($0)) }, check: check.map { ($0, Deparser.expr($0)) })))
        case "AlterOwnerStmt":
            guard string(body, "objectType") == "OBJECT_SCHEMA", let name = body["object"]?["String"]?["sval"]?.string else {
                throw Self.unsupported("ALTER \(objectName(string(body, "objectType") ?? "")) ... OWNER TO")
            }
            return .role(.owner(kind: .schema, object: [name], to: try roleName(body["newowner"])))
        case "DropRoleStmt":
            let names = (body["roles"]?.children ?? []).map { string($0["RoleSpec"], "rolename") ?? "" }
            return .role(.drop(names, ifExists: body["missing_ok"]?.bool ?? false))
        case "CreateSchemaStmt":
            return .createSchema(string(body, "schemaname") ?? "", ifNotExists: body["if_not_exists"]?.bool ?? false)
        case "CommentStmt": return try comment(body)
        case "ExplainStmt": return try explain(body)
        case "PrepareStmt":
            guard let q = body["query"] else { throw fail("PREPARE without a statement") }
            let types = try (body["argtypes"]?.children ?? []).map { try typeName($0["TypeName"] ?? $0) }
            return .prepare(name: string(body, "name") ?? "", types: types, statement: try statement(q), text: "")
        case "ExecuteStmt":
            return .execute(name: string(body, "name") ?? "", parameters: try (body["params"]?.children ?? []).map { try expr($0) })
        case "DeallocateStmt": return .deallocate(string(body, "name"))
        case "DeclareCursorStmt":
            let options = Int(body["options"]?.int ?? 0)
            guard let q = body["query"], case .select(let query) = try statement(q) else { throw Self.unsupported("DECLARE for this statement") }
            return .declareCursor(name: string(body, "portalname") ?? "", query: query, hold: options & 0x20 != 0, scroll: options & 0x02 != 0)
        case "FetchStmt": return try fetch(body)
        case "ClosePortalStmt": return .closeCursor(string(body, "portalname"))
        case "VacuumStmt":
            let tables = try (body["rels"]?.children ?? []).compactMap { rel -> TableRef? in
                guard let r = rel["VacuumRelation"]?["relation"] else { return nil }
                return try rangeVar(r)
            }
            let optionNames = (body["options"]?.children ?? []).compactMap { $0["DefElem"]?["defname"]?.string }
            // (The parse tree leaves out false flags: no is_vacuumcmd means ANALYZE.)
            if body["is_vacuumcmd"]?.bool != true { return .analyze(tables) }
            return .vacuum(tables: tables, analyze: optionNames.contains("analyze"))
        case "CheckPointStmt": return .checkpoint
        case "CopyStmt": return try copy(body)
        case "DiscardStmt": return .discard(String((body["target"]?.string ?? "DISCARD_ALL").dropFirst(8)))
        case "LockStmt":
            let tables = try (body["relations"]?.children ?? []).map { try rangeVar($0["RangeVar"] ?? $0) }
            return .lockTable(tables, mode: "\(body["mode"]?.int ?? 8)", noWait: body["nowait"]?.bool ?? false)
        default:
            throw Self.unsupported(Self.statementName(kind))
        }
    }

    /// `CreateStmt` → "CREATE TABLE", for messages.
    static func statementName(_ kind: String) -> String {
        let known: [String: String] = [
            "CreateStmt": "CREATE TABLE", "InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE",
            "DropStmt": "DROP", "AlterTableStmt": "ALTER TABLE", "IndexStmt": "CREATE INDEX", "ViewStmt": "CREATE VIEW",
            "CopyStmt": "COPY", "ExplainStmt": "EXPLAIN", "CreateTableAsStmt": "CREATE TABLE AS", "TruncateStmt": "TRUNCATE",
            "CreateSeqStmt": "CREATE SEQUENCE", "CreateRoleStmt": "CREATE ROLE", "GrantStmt": "GRANT", "GrantRoleStmt": "GRANT",
            "CreateFunctionStmt": "CREATE FUNCTION", "CreateTrigStmt": "CREATE TRIGGER", "DoStmt": "DO",
            "CreateExtensionStmt": "CREATE EXTENSION", "CreatePolicyStmt": "CREATE POLICY", "NotifyStmt": "NOTIFY",
            "ListenStmt": "LISTEN", "UnlistenStmt": "UNLISTEN", "CreateDomainStmt": "CREATE DOMAIN", "RuleStmt": "CREATE RULE",
            "MergeStmt": "MERGE", "CallStmt": "CALL", "ReindexStmt": "REINDEX", "ClusterStmt": "CLUSTER",
            "CreateMatViewStmt": "CREATE MATERIALIZED VIEW", "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
            "AlterRoleStmt": "ALTER ROLE", "DropRoleStmt": "DROP ROLE", "AlterOwnerStmt": "ALTER ... OWNER TO",
            "CompositeTypeStmt": "CREATE TYPE", "AlterEnumStmt": "ALTER TYPE",
        ]
        return known[kind] ?? kind
    }

    // MARK: Queries

    /// A SelectStmt body: a SELECT, VALUES or set operation, with WITH, ORDER BY, LIMIT.
    func query(_ n: TreeRef) throws -> Query {
        var q = Query(body: try queryBody(n))
        if let w = n["withClause"] { (q.with, q.recursive) = try commonTables(w) }
        q.orderBy = try (n["sortClause"]?.children ?? []).map { try sortBy($0) }
        q.limit = try n["limitCount"].map { try expr($0) }
        q.offset = try n["limitOffset"].map { try expr($0) }
        q.withTies = string(n, "limitOption") == "LIMIT_OPTION_WITH_TIES"
        q.locking = try (n["lockingClause"]?.children ?? []).map { try lockingClause($0) }
        return q
    }

    func commonTables(_ w: TreeRef) throws -> ([CommonTable], Bool) {
        let ctes = try (w["ctes"]?.children ?? []).map { c in
            guard let cte = c["CommonTableExpr"], let inner = cte["ctequery"]?["SelectStmt"] else {
                throw Self.unsupported("WITH holding a data-modifying statement")
            }
            return CommonTable(name: string(cte, "ctename") ?? "", columns: names(cte["aliascolnames"]),
                               query: try query(inner), location: location(cte))
        }
        return (ctes, w["recursive"]?.bool ?? false)
    }

    func queryBody(_ n: TreeRef) throws -> QueryBody {
        let op = string(n, "op") ?? "SETOP_NONE"
        if op != "SETOP_NONE" {
            guard let l = n["larg"], let r = n["rarg"] else { throw fail("set operation without operands") }
            let kind: String
            switch op {
            case "SETOP_UNION": kind = "UNION"
            case "SETOP_INTERSECT": kind = "INTERSECT"
            default: kind = "EXCEPT"
            }
            // An operand with its own ORDER BY or LIMIT is a subquery.
            func operand(_ x: TreeRef) throws -> QueryBody {
                if x["sortClause"] != nil || x["limitCount"] != nil || x["limitOffset"] != nil || x["withClause"] != nil {
                    var core = SelectCore()
                    core.targets = [SelectTarget(expr: .star(qualifier: nil, location: -1))]
                    core.from = [.subquery(try query(x), alias: "*SELECT*", columnAliases: [], lateral: false, location: -1)]
                    return .select(core)
                }
                return try queryBody(x)
            }
            return .setOp(kind: kind, all: n["all"]?.bool ?? false, try operand(l), try operand(r))
        }
        if let values = n["valuesLists"] {
            let rows = try values.children.map { row in try (row["List"]?["items"]?.children ?? []).map { try expr($0) } }
            return .values(rows, location: location(n))
        }
        var core = SelectCore()
        if let d = n["distinctClause"] {
            let items = d.children
            // `DISTINCT` alone is a list holding one empty node.
            if items.count == 1, items[0].node.firstChild < 0 || items[0].kind != .object || items[0].wrapped == nil {
                core.distinct = true
            } else if items.isEmpty {
                core.distinct = true
            } else {
                core.distinctOn = try items.map { try expr($0) }
            }
        }
        core.targets = try (n["targetList"]?.children ?? []).map { try resTarget($0) }
        core.from = try (n["fromClause"]?.children ?? []).map { try fromItem($0) }
        core.whereClause = try n["whereClause"].map { try expr($0) }
        core.groupBy = try (n["groupClause"]?.children ?? []).map { try expr($0) }
        core.having = try n["havingClause"].map { try expr($0) }
        core.windows = try (n["windowClause"]?.children ?? []).map { try windowDef($0["WindowDef"] ?? $0) }
        if let into = n["intoClause"] { core.into = string(into["rel"], "relname") ?? "" }
        return .select(core)
    }

    func lockingClause(_ n: TreeRef) throws -> LockingClause {
        let l = n["LockingClause"] ?? n
        let strength = LockStrength(rawValue: string(l, "strength") ?? "") ?? .update
        let wait: LockWait
        switch string(l, "waitPolicy") {
        case "LockWaitSkip": wait = .skipLocked
        case "LockWaitError": wait = .noWait
        default: wait = .block
        }
        let tables = (l["lockedRels"]?.children ?? []).compactMap { $0["RangeVar"]?["relname"]?.string }
        return LockingClause(strength: strength, tables: tables, wait: wait)
    }

    func resTarget(_ n: TreeRef) throws -> SelectTarget {
        guard let t = n["ResTarget"] else { throw fail("target list item") }
        guard let v = t["val"] else { throw fail("target without a value") }
        return SelectTarget(expr: try expr(v), alias: string(t, "name"), location: location(t))
    }

    /// A RoleSpec: a name, PUBLIC, CURRENT_USER / CURRENT_ROLE or SESSION_USER.
    func roleName(_ spec: TreeRef?) throws -> RoleName {
        switch string(spec, "roletype") ?? "" {
        case "ROLESPEC_CSTRING": return .name(string(spec, "rolename") ?? "")
        case "ROLESPEC_PUBLIC": return .public
        case "ROLESPEC_CURRENT_USER", "ROLESPEC_CURRENT_ROLE": return .currentUser
        case "ROLESPEC_SESSION_USER": return .sessionUser
        case let k: throw Self.unsupported("role \(k)")
        }
    }

    /// GRANT / REVOKE privileges ON tables, sequences or schemas.
    func grant(_ n: TreeRef, defaults: (roles: [RoleName], schemas: [String])? = nil) throws -> GrantStatement {
        let objtype = string(n, "objtype") ?? ""
        let all = string(n, "targtype") == "ACL_TARGET_ALL_IN_SCHEMA"
        guard n["grantor"] == nil else { throw Self.unsupported("GRANT ... GRANTED BY") }
        let target: GrantStatement.Target
        let objects = n["objects"]?.children ?? []
        switch objtype {
        case _ where defaults != nil:
            let kinds: [String: DefaultPrivilegeKind] = ["OBJECT_TABLE": .tables, "OBJECT_SEQUENCE": .sequences, "OBJECT_SCHEMA": .schemas]
            guard let kind = kinds[objtype], let defaults else {
                throw Self.unsupported("ALTER DEFAULT PRIVILEGES on \(objectName(objtype).lowercased())s")
            }
            target = .defaults(roles: defaults.roles, schemas: defaults.schemas, kind: kind)
        case "OBJECT_TABLE", "OBJECT_SEQUENCE":
            let sequence = objtype == "OBJECT_SEQUENCE"
            if all {
                target = .allInSchemas(objects.map { $0["String"]?["sval"]?.string ?? "" }, sequence: sequence)
            } else {
                target = .relations(try objects.map { try rangeVar($0["RangeVar"] ?? $0) }, sequence: sequence)
            }
        case "OBJECT_SCHEMA":
            target = .schemas(objects.map { $0["String"]?["sval"]?.string ?? "" })
        default:
            throw Self.unsupported("GRANT / REVOKE on \(objectName(objtype))s")
        }
        var privileges: [String]?
        var columnPrivileges: [(privilege: String?, columns: [String])] = []
        if let list = n["privileges"]?.children {
            privileges = []
            for p in list {
                let priv = p["AccessPriv"]
                let name = string(priv, "priv_name")?.uppercased()
                if let cols = priv?["cols"]?.children {
                    columnPrivileges.append((name, cols.map { $0["String"]?["sval"]?.string ?? "" }))
                } else {
                    privileges?.append(name ?? "")
                }
            }
        }
        var g = GrantStatement(grant: n["is_grant"]?.bool ?? false, target: target, privileges: privileges,
                               grantees: try (n["grantees"]?.children ?? []).map { try roleName($0["RoleSpec"]) },
                               grantOption: n["grant_option"]?.bool ?? false, cascade: string(n, "behavior") == "DROP_CASCADE")
        g.columnPrivileges = columnPrivileges
        return g
    }

    func rangeVar(_ n: TreeRef?) throws -> TableRef {
        guard let n else { throw fail("missing relation") }
        let r = n["RangeVar"] ?? n
        if r["catalogname"] != nil { throw Self.unsupported("cross-database references") }
        var t = TableRef(schema: string(r, "schemaname"), name: string(r, "relname") ?? "", alias: nil, location: location(r))
        if let a = r["alias"] {
            t.alias = string(a, "aliasname")
            t.columnAliases = names(a["colnames"])
        }
        t.only = r["inh"]?.bool == false
        if r["relpersistence"]?.string == "t" {}
        return t
    }

    func fromItem(_ n: TreeRef) throws -> FromItem {
        guard let (kind, b) = n.wrapped else { throw fail("empty FROM item") }
        switch kind {
        case "RangeVar":
            return .table(try rangeVar(b))
        case "JoinExpr":
            guard let l = b["larg"], let r = b["rarg"] else { throw fail("join without operands") }
            let jt = JoinKind(rawValue: string(b, "jointype") ?? "JOIN_INNER") ?? .inner
            return .join(jt, try fromItem(l), try fromItem(r), on: try b["quals"].map { try expr($0) },
                         using: names(b["usingClause"]), natural: b["isNatural"]?.bool ?? false,
                         alias: string(b["alias"], "aliasname"), location: location(b))
        case "RangeSubselect":
            guard let sub = b["subquery"]?["SelectStmt"] else { throw fail("subquery in FROM") }
            return .subquery(try query(sub), alias: string(b["alias"], "aliasname"), columnAliases: names(b["alias"]?["colnames"]),
                             lateral: b["lateral"]?.bool ?? false, location: location(b))
        case "RangeFunction":
            let items = b["functions"]?.children ?? []
            guard items.count == 1, let first = items[0]["List"]?["items"]?.children.first,
                  case .function(let f) = try expr(first) else {
                throw Self.unsupported("ROWS FROM with several functions")
            }
            return .function(f, alias: string(b["alias"], "aliasname"), columnAliases: names(b["alias"]?["colnames"]),
                             withOrdinality: b["ordinality"]?.bool ?? false, lateral: b["lateral"]?.bool ?? false,
                             location: f.location)
        case "RangeTableSample": throw Self.unsupported("TABLESAMPLE")
        default: throw Self.unsupported(kind)
        }
    }

    func sortBy(_ n: TreeRef) throws -> SortItem {
        guard let s = n["SortBy"], let node = s["node"] else { throw fail("sort item") }
        var item = SortItem(expr: try expr(node))
        switch string(s, "sortby_dir") {
        case "SORTBY_DESC": item.descending = true
        case "SORTBY_USING": throw Self.unsupported("ORDER BY ... USING")
        default: break
        }
        switch string(s, "sortby_nulls") {
        case "SORTBY_NULLS_FIRST": item.nullsFirst = true
        case "SORTBY_NULLS_LAST": item.nullsFirst = false
        default: break
        }
        item.location = node.wrapped.map { location($0.1) } ?? -1
        return item
    }

    func windowDef(_ w: TreeRef) throws -> WindowSpec {
        var spec = WindowSpec()
        spec.name = string(w, "name")
        spec.refName = string(w, "refname")
        spec.partitionBy = try (w["partitionClause"]?.children ?? []).map { try expr($0) }
        spec.orderBy = try (w["orderClause"]?.children ?? []).map { try sortBy($0) }
        spec.frameOptions = Int(w["frameOptions"]?.int ?? 0)
        spec.startOffset = try w["startOffset"].map { try expr($0) }
        spec.endOffset = try w["endOffset"].map { try expr($0) }
        spec.location = location(w)
        return spec
    }

    // MARK: Transactions and settings

    func transaction(_ n: TreeRef) throws -> TransactionStatement {
        if n["chain"]?.bool == true { throw Self.unsupported("AND CHAIN") }
        let (isolation, readOnly) = try transactionOptions(n["options"])
        let name = string(n, "savepoint_name") ?? ""
        switch string(n, "kind") ?? "" {
        case "TRANS_STMT_BEGIN", "TRANS_STMT_START": return .begin(isolation: isolation, readOnly: readOnly)
        case "TRANS_STMT_COMMIT": return .commit
        case "TRANS_STMT_ROLLBACK": return .rollback
        case "TRANS_STMT_SAVEPOINT": return .savepoint(name)
        case "TRANS_STMT_RELEASE": return .release(name)
        case "TRANS_STMT_ROLLBACK_TO": return .rollbackTo(name)
        case "TRANS_STMT_PREPARE", "TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED":
            throw Self.unsupported("two-phase commit")
        case let k: throw Self.unsupported(k)
        }
    }

    func transactionOptions(_ n: TreeRef?) throws -> (IsolationLevel?, Bool?) {
        var isolation: IsolationLevel?
        var readOnly: Bool?
        for item in n?.children ?? [] {
            guard let d = item["DefElem"] else { continue }
            let name = string(d, "defname") ?? ""
            let value = try d["arg"].map { try expr($0) }
            switch (name, value) {
            case ("transaction_isolation", .constant(.string(let s), _)?):
                isolation = try ASTBuilder.isolation(s)
            case ("transaction_read_only", .constant(.integer(let v), _)?):
                readOnly = v != 0
            case ("transaction_deferrable", _):
                break
            default:
                throw Self.unsupported("transaction option \(name)")
            }
        }
        return (isolation, readOnly)
    }

    static func isolation(_ s: String) throws -> IsolationLevel {
        switch s.lowercased() {
        case "read uncommitted", "read committed": return .readCommitted
        case "repeatable read": return .repeatableRead
        case "serializable": return .serializable
        default: throw SQLError(.invalidParameterValue, "invalid value for parameter \"transaction_isolation\": \"\(s)\"")
        }
    }

    func variableSet(_ n: TreeRef) throws -> Statement {
        let kind = string(n, "kind") ?? ""
        let name = string(n, "name") ?? ""
        let local = n["is_local"]?.bool ?? false
        if kind == "VAR_SET_MULTI" && name == "TRANSACTION" {
            let (i, r) = try transactionOptions(n["args"])
            return .transaction(.setTransaction(isolation: i, readOnly: r), asOf: nil)
        }
        if kind == "VAR_SET_MULTI" && name == "SESSION CHARACTERISTICS" {
            let (i, r) = try transactionOptions(n["args"])
            if let i { return .set(name: "default_transaction_isolation", value: i.description, local: false) }
            if let r { return .set(name: "default_transaction_read_only", value: r ? "on" : "off", local: false) }
            return .empty
        }
        if kind == "VAR_SET_MULTI" { throw Self.unsupported("SET \(name)") }
        if kind == "VAR_RESET_ALL" { return .set(name: "all", value: nil, local: false) }
        if kind == "VAR_RESET" || kind == "VAR_SET_DEFAULT" { return .set(name: name, value: nil, local: local) }
        if kind == "VAR_SET_CURRENT" { throw Self.unsupported("SET ... FROM CURRENT") }
        let text = try (n["args"]?.children ?? []).map { a -> String in
            switch try expr(a) {
            case .constant(.string(let s), _): return s
            case .constant(.integer(let i), _): return String(i)
            case .constant(.numeric(let v), _): return v
            case .constant(.bool(let v), _): return v ? "on" : "off"
            case .column(let parts, _): return parts.joined(separator: ".")
            case .cast(.constant(.string(let s), _), _, _): return s
            default: return ""
            }
        }.joined(separator: ", ")
        return .set(name: name, value: text, local: local)
    }

    func explain(_ n: TreeRef) throws -> Statement {
        guard let q = n["query"] else { throw fail("EXPLAIN without a statement") }
        var analyze = false, verbose = false, costs = true
        for o in n["options"]?.children ?? [] {
            guard let d = o["DefElem"] else { continue }
            let on = (try? d["arg"].map { try expr($0) }).flatMap { e -> Bool? in
                if case .constant(.string(let s), _) = e { return Coercion.parseBool(s) }
                return nil
            } ?? true
            switch string(d, "defname") ?? "" {
            case "analyze": analyze = on
            case "verbose": verbose = on
            case "costs": costs = on
            case "format":
                if case .constant(.string(let f), _)? = try d["arg"].map({ try expr($0) }), f.lowercased() != "text" {
                    throw Self.unsupported("EXPLAIN (FORMAT \(f.uppercased()))")
                }
            default: break
            }
        }
        return .explain(try statement(q), analyze: analyze, verbose: verbose, costs: costs)
    }

    func fetch(_ n: TreeRef) throws -> Statement {
        let count = n["howMany"]?.int ?? 1
        let direction: FetchDirection
        switch string(n, "direction") ?? "FETCH_FORWARD" {
        case "FETCH_BACKWARD": direction = count == Int64.max ? .backward(nil) : .backward(count)
        case "FETCH_ABSOLUTE": direction = .absolute(count)
        case "FETCH_RELATIVE": direction = .relative(count)
        default: direction = count == Int64.max || count == 0 && n["howMany"] == nil ? .forward(nil) : .forward(count)
        }
        return .fetch(cursor: string(n, "portalname") ?? "", direction: direction, move: n["ismove"]?.bool ?? false)
    }

    func defElems(_ n: TreeRef?) throws -> [(String, Expr?)] {
        try (n?.children ?? []).compactMap { o in
            guard let d = o["DefElem"] else { return nil }
            if let i = d["arg"]?["Integer"], i["ival"] == nil {
                // libpg_query prints zero and negative integers as {}: read the value from the text.
                return (string(d, "defname") ?? "", .constant(.integer(optionInteger(at: location(d)) ?? 0), location: -1))
            }
            if let b = d["arg"]?["Boolean"] {
                return (string(d, "defname") ?? "", .constant(.bool(b["boolval"]?.bool ?? false), location: -1))
            }
            return (string(d, "defname") ?? "", try d["arg"].map { try optionValue($0) })
        }
    }

    /// The first (signed) integer written at or after `location` (an option's value).
    func optionInteger(at location: Int) -> Int64? {
        guard location >= 0, location < source.count else { return nil }
        var lexer = Lexer(bytes: source, at: location)
        var negative = false
        while let t = try? lexer.next() {
            if t.isOp("-") { negative.toggle(); continue }
            if t.kind == .integer { return Int64((negative ? "-" : "") + t.text) }
            if t.kind == .identifier { continue }
            return nil
        }
        return nil
    }

    /// An option value: a node, or a bare integer / string / type name.
    func optionValue(_ n: TreeRef) throws -> Expr {
        if let i = n["Integer"] { return .constant(.integer(i["ival"]?.int ?? 0), location: -1) }
        if let f = n["Float"] { return .constant(.numeric(string(f, "fval") ?? "0"), location: -1) }
        if let s = n["String"] { return .constant(.string(string(s, "sval") ?? ""), location: -1) }
        if let t = n["TypeName"] { return .cast(.constant(.null, location: -1), try typeName(t), location: -1) }
        if n.kind == .array {
            let parts = names(n)
            return .column(parts, location: -1)
        }
        return try expr(n)
    }

    func copy(_ n: TreeRef) throws -> Statement {
        var q: Query?
        if let query = n["query"] {
            guard case .select(let s) = try statement(query) else {
                throw Self.unsupported("COPY of an INSERT, UPDATE or DELETE ... RETURNING")
            }
            q = s
        }
        let options: [(name: String, value: String?, location: Int)] = (n["options"]?.children ?? []).compactMap { o in
            guard let d = o["DefElem"] else { return nil }
            let name = string(d, "defname") ?? ""
            let location = Int(d["location"]?.int ?? -1)
            guard let a = d["arg"] else { return (name, nil, location) }
            if let s = a["String"] { return (name, string(s, "sval") ?? "", location) }
            if let b = a["Boolean"] { return (name, b["boolval"]?.bool == true ? "true" : "false", location) }
            if let i = a["Integer"] { return (name, String(i["ival"]?.int ?? 0), location) }
            if a["A_Star"] != nil { return (name, "*", location) }
            if let l = a["List"] { return (name, names(l["items"]).joined(separator: ","), location) }
            return (name, names(a).joined(separator: ","), location)
        }
        return .copy(CopyStatement(table: try n["relation"].map { try rangeVar($0) }, columns: names(n["attlist"]), query: q,
                                   isFrom: n["is_from"]?.bool ?? false, filename: string(n, "filename"),
                                   isProgram: n["is_program"]?.bool ?? false, options: options))
    }

    func comment(_ n: TreeRef) throws -> Statement {
        let kind = ObjectKind(rawValue: string(n, "objtype") ?? "") ?? .table
        var object: [String] = []
        if let o = n["object"] {
            if let list = o["List"]?["items"] { object = names(list) } else if let s = o["String"] { object = [string(s, "sval") ?? ""] }
        }
        return .comment(kind: kind, object: object, text: string(n, "comment"))
    }
}
