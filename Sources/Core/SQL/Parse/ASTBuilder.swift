import DriftCore

/// Builds statements from libpg_query's JSON parse tree. Nodes this build cannot run
/// fail with 0A000 naming the node.
struct ASTBuilder {
    var r: JSONReader
    /// The statement text the tree was parsed from (for constants the tree mangles).
    let source: [UInt8]

    static func statements(sql: String) throws -> [Statement] {
        let source = Array(sql.utf8)
        return try PgQuery.parse(sql) { tree in
            var b = ASTBuilder(r: JSONReader(tree), source: source)
            return try b.root()
        }
    }

    mutating func root() throws -> [Statement] {
        var out: [Statement] = []
        try r.beginObject()
        while let k = try r.nextKey() {
            guard k == "stmts" else { try r.skip(); continue }
            try r.beginArray()
            while try r.nextElement() {
                try r.beginObject()
                var stmt: Statement = .empty
                while let f = try r.nextKey() {
                    if f == "stmt" { stmt = try statement() } else { try r.skip() }
                }
                out.append(stmt)
            }
        }
        return out
    }

    static func unsupported(_ node: String) -> SQLError {
        SQLError(.featureNotSupported, "\(node) is not supported yet")
    }

    /// Reads `{"Kind": {...}}`, calling `body` with the kind while positioned at its fields.
    mutating func node<T>(_ body: (inout ASTBuilder, String) throws -> T) throws -> T {
        try r.beginObject()
        guard let kind = try r.nextKey() else { throw r.fail("empty node") }
        let v = try body(&self, kind)
        guard try r.nextKey() == nil else { throw r.fail("node with two kinds") }
        return v
    }

    /// Iterates the fields of the object at the cursor.
    mutating func fields(_ body: (inout ASTBuilder, String) throws -> Void) throws {
        try r.beginObject()
        while let k = try r.nextKey() { try body(&self, k) }
    }

    mutating func list<T>(_ element: (inout ASTBuilder) throws -> T) throws -> [T] {
        var out: [T] = []
        try r.beginArray()
        while try r.nextElement() { out.append(try element(&self)) }
        return out
    }

    /// A list of `{"String": {"sval": ...}}` nodes.
    mutating func names() throws -> [String] {
        try list { b in
            try b.node { b, kind in
                guard kind == "String" else { throw ASTBuilder.unsupported(kind) }
                var s = ""
                try b.fields { b, k in if k == "sval" { s = try b.r.string() } else { try b.r.skip() } }
                return s
            }
        }
    }

    // MARK: Statements

    mutating func statement() throws -> Statement {
        try node { b, kind in
            switch kind {
            case "SelectStmt": return .select(try b.select())
            case "TransactionStmt": return .transaction(try b.transaction(), asOf: nil)
            case "VariableSetStmt": return try b.variableSet()
            case "VariableShowStmt":
                var name = ""
                try b.fields { b, k in if k == "name" { name = try b.r.string() } else { try b.r.skip() } }
                return .show(name: name)
            default:
                throw ASTBuilder.unsupported(ASTBuilder.statementName(kind))
            }
        }
    }

    /// `CreateStmt` → "CREATE TABLE", for messages.
    static func statementName(_ kind: String) -> String {
        let known: [String: String] = [
            "CreateStmt": "CREATE TABLE", "InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE",
            "DropStmt": "DROP", "AlterTableStmt": "ALTER TABLE", "IndexStmt": "CREATE INDEX", "ViewStmt": "CREATE VIEW",
            "CopyStmt": "COPY", "ExplainStmt": "EXPLAIN", "CreateTableAsStmt": "CREATE TABLE AS", "TruncateStmt": "TRUNCATE",
            "CreateSeqStmt": "CREATE SEQUENCE", "CreateRoleStmt": "CREATE ROLE", "GrantStmt": "GRANT",
        ]
        return known[kind] ?? kind
    }

    mutating func select() throws -> SelectStatement {
        var s = SelectStatement()
        try fields { b, k in
            switch k {
            case "targetList": s.targets = try b.list { try $0.resTarget() }
            case "fromClause": s.from = try b.list { try $0.fromItem() }
            case "whereClause": s.whereClause = try b.expr()
            case "sortClause": s.orderBy = try b.list { try $0.sortBy() }
            case "limitCount": s.limit = try b.expr()
            case "limitOffset": s.offset = try b.expr()
            case "op":
                let op = try b.r.string()
                if op != "SETOP_NONE" { throw ASTBuilder.unsupported("UNION/INTERSECT/EXCEPT") }
            case "limitOption":
                if try b.r.string() == "LIMIT_OPTION_WITH_TIES" { throw ASTBuilder.unsupported("FETCH ... WITH TIES") }
            case "distinctClause": try b.r.skip(); throw ASTBuilder.unsupported("SELECT DISTINCT")
            case "groupClause": try b.r.skip(); throw ASTBuilder.unsupported("GROUP BY")
            case "havingClause": try b.r.skip(); throw ASTBuilder.unsupported("HAVING")
            case "windowClause": try b.r.skip(); throw ASTBuilder.unsupported("WINDOW")
            case "withClause": try b.r.skip(); throw ASTBuilder.unsupported("WITH")
            case "valuesLists": try b.r.skip(); throw ASTBuilder.unsupported("VALUES")
            case "lockingClause": try b.r.skip(); throw ASTBuilder.unsupported("SELECT ... FOR UPDATE")
            case "intoClause": try b.r.skip(); throw ASTBuilder.unsupported("SELECT INTO")
            default: try b.r.skip()
            }
        }
        return s
    }

    mutating func resTarget() throws -> SelectTarget {
        try node { b, kind in
            guard kind == "ResTarget" else { throw ASTBuilder.unsupported(kind) }
            var e: Expr?
            var alias: String?
            var loc = 0
            try b.fields { b, k in
                switch k {
                case "val": e = try b.expr()
                case "name": alias = try b.r.string()
                case "location": loc = Int(try b.r.int())
                default: try b.r.skip()
                }
            }
            guard let e else { throw b.r.fail("target without a value") }
            return SelectTarget(expr: e, alias: alias, location: loc)
        }
    }

    mutating func fromItem() throws -> TableRef {
        try node { b, kind in
            switch kind {
            case "RangeVar":
                var t = TableRef(schema: nil, name: "", alias: nil, location: 0, temporal: nil)
                try b.fields { b, k in
                    switch k {
                    case "relname": t.name = try b.r.string()
                    case "schemaname": t.schema = try b.r.string()
                    case "catalogname": _ = try b.r.string(); throw ASTBuilder.unsupported("cross-database references")
                    case "alias":
                        try b.fields { b, k in
                            if k == "aliasname" { t.alias = try b.r.string() } else if k == "colnames" {
                                try b.r.skip()
                                throw ASTBuilder.unsupported("column aliases in FROM")
                            } else { try b.r.skip() }
                        }
                    case "location": t.location = Int(try b.r.int())
                    default: try b.r.skip()
                    }
                }
                return t
            case "JoinExpr": throw ASTBuilder.unsupported("JOIN")
            case "RangeSubselect": throw ASTBuilder.unsupported("subqueries in FROM")
            case "RangeFunction": throw ASTBuilder.unsupported("functions in FROM")
            default: throw ASTBuilder.unsupported(kind)
            }
        }
    }

    mutating func sortBy() throws -> SortItem {
        try node { b, kind in
            guard kind == "SortBy" else { throw ASTBuilder.unsupported(kind) }
            var item = SortItem(expr: .constant(.null, location: 0), descending: false, nullsFirst: nil)
            try b.fields { b, k in
                switch k {
                case "node": item.expr = try b.expr()
                case "sortby_dir":
                    let d = try b.r.string()
                    if d == "SORTBY_USING" { throw ASTBuilder.unsupported("ORDER BY ... USING") }
                    item.descending = d == "SORTBY_DESC"
                case "sortby_nulls":
                    let n = try b.r.string()
                    item.nullsFirst = n == "SORTBY_NULLS_FIRST" ? true : n == "SORTBY_NULLS_LAST" ? false : nil
                default: try b.r.skip()
                }
            }
            return item
        }
    }

    mutating func transaction() throws -> TransactionStatement {
        var kind = ""
        var name = ""
        var isolation: IsolationLevel?
        var readOnly: Bool?
        try fields { b, k in
            switch k {
            case "kind": kind = try b.r.string()
            case "savepoint_name": name = try b.r.string()
            case "options": (isolation, readOnly) = try b.transactionOptions()
            case "chain": if try b.r.bool() { throw ASTBuilder.unsupported("AND CHAIN") }
            default: try b.r.skip()
            }
        }
        switch kind {
        case "TRANS_STMT_BEGIN", "TRANS_STMT_START": return .begin(isolation: isolation, readOnly: readOnly)
        case "TRANS_STMT_COMMIT": return .commit
        case "TRANS_STMT_ROLLBACK": return .rollback
        case "TRANS_STMT_SAVEPOINT": return .savepoint(name)
        case "TRANS_STMT_RELEASE": return .release(name)
        case "TRANS_STMT_ROLLBACK_TO": return .rollbackTo(name)
        case "TRANS_STMT_PREPARE", "TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED":
            throw ASTBuilder.unsupported("two-phase commit")
        default: throw ASTBuilder.unsupported(kind)
        }
    }

    mutating func transactionOptions() throws -> (IsolationLevel?, Bool?) {
        var isolation: IsolationLevel?
        var readOnly: Bool?
        _ = try list { b -> Void in
            try b.node { b, kind in
                guard kind == "DefElem" else { throw ASTBuilder.unsupported(kind) }
                var name = ""
                var value: Expr?
                try b.fields { b, k in
                    if k == "defname" { name = try b.r.string() } else if k == "arg" { value = try b.expr() } else { try b.r.skip() }
                }
                switch (name, value) {
                case ("transaction_isolation", .constant(.string(let s), _)?):
                    isolation = try ASTBuilder.isolation(s)
                case ("transaction_read_only", .constant(.integer(let v), _)?):
                    readOnly = v != 0
                case ("transaction_deferrable", _):
                    break
                default:
                    throw ASTBuilder.unsupported("transaction option \(name)")
                }
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

    mutating func variableSet() throws -> Statement {
        var kind = ""
        var name = ""
        var args: [Expr] = []
        var local = false
        var options: (IsolationLevel?, Bool?) = (nil, nil)
        try fields { b, k in
            switch k {
            case "kind": kind = try b.r.string()
            case "name": name = try b.r.string()
            case "is_local": local = try b.r.bool()
            case "args":
                if name == "TRANSACTION" || name == "SESSION CHARACTERISTICS" {
                    options = try b.transactionOptions()
                } else {
                    args = try b.list { try $0.expr() }
                }
            default: try b.r.skip()
            }
        }
        if kind == "VAR_SET_MULTI" && name == "TRANSACTION" {
            return .transaction(.setTransaction(isolation: options.0, readOnly: options.1), asOf: nil)
        }
        if kind == "VAR_SET_MULTI" { throw ASTBuilder.unsupported("SET \(name)") }
        if kind == "VAR_RESET_ALL" { return .set(name: "all", value: nil, local: false) }
        if kind == "VAR_RESET" || kind == "VAR_SET_DEFAULT" {
            return .set(name: name, value: nil, local: local)
        }
        let text = args.map { a -> String in
            switch a {
            case .constant(.string(let s), _): return s
            case .constant(.integer(let i), _): return String(i)
            case .constant(.numeric(let n), _): return n
            case .constant(.bool(let v), _): return v ? "on" : "off"
            case .column(let parts, _): return parts.joined(separator: ".")
            default: return ""
            }
        }.joined(separator: ", ")
        return .set(name: name, value: text, local: local)
    }
}
