import DriftCore

extension ASTBuilder {
    // MARK: DML

    func insert(_ n: TreeRef) throws -> InsertStatement {
        var s = InsertStatement(table: try rangeVar(n["relation"]))
        s.columns = (n["cols"]?.children ?? []).compactMap { c in
            guard let r = c["ResTarget"] else { return nil }
            if r["indirection"] != nil { return nil }
            return (string(r, "name") ?? "", location(r))
        }
        if (n["cols"]?.children ?? []).contains(where: { $0["ResTarget"]?["indirection"] != nil }) {
            throw Self.unsupported("INSERT into array elements or fields")
        }
        s.source = try n["selectStmt"]?["SelectStmt"].map { try query($0) }
        if let w = n["withClause"] {
            guard var q = s.source else { throw Self.unsupported("WITH on INSERT ... DEFAULT VALUES") }
            let (ctes, recursive) = try commonTables(w)
            q.with = ctes + q.with
            q.recursive = q.recursive || recursive
            s.source = q
        }
        if let c = n["onConflictClause"] {
            var oc = OnConflict(location: location(c))
            if let infer = c["infer"] {
                oc.columns = (infer["indexElems"]?.children ?? []).compactMap { $0["IndexElem"]?["name"]?.string }
                oc.constraint = string(infer, "conname")
                if infer["whereClause"] != nil { throw Self.unsupported("ON CONFLICT with a partial index predicate") }
            }
            if string(c, "action") == "ONCONFLICT_UPDATE" {
                oc.doUpdate = try (c["targetList"]?.children ?? []).map { t in
                    guard let r = t["ResTarget"], let v = r["val"] else { throw fail("ON CONFLICT target") }
                    return (string(r, "name") ?? "", try expr(v))
                }
                oc.updateWhere = try c["whereClause"].map { try expr($0) }
            }
            s.onConflict = oc
        }
        s.returning = try (n["returningList"]?.children ?? []).map { try resTarget($0) }
        s.overridingSystemValue = string(n, "override") == "OVERRIDING_SYSTEM_VALUE"
        return s
    }

    func update(_ n: TreeRef) throws -> UpdateStatement {
        var s = UpdateStatement(table: try rangeVar(n["relation"]))
        for t in n["targetList"]?.children ?? [] {
            guard let r = t["ResTarget"], let v = r["val"] else { throw fail("SET item") }
            if r["indirection"] != nil { throw Self.unsupported("UPDATE of array elements or fields") }
            var value: Expr
            if let m = v["MultiAssignRef"] {
                let col = Int(m["colno"]?.int ?? 1)
                guard let src = m["source"] else { throw fail("multiple assignment") }
                switch try expr(src) {
                case .row(let items, _) where col - 1 < items.count: value = items[col - 1]
                case .subquery(let q, .scalar, _, let loc):
                    value = .subquery(q, kind: .scalar, test: .constant(.integer(Int64(col)), location: -1), location: loc)
                default: throw Self.unsupported("this multiple-column assignment")
                }
            } else {
                value = try expr(v)
            }
            s.set.append((string(r, "name") ?? "", nil, value, location(r)))
        }
        s.from = try (n["fromClause"]?.children ?? []).map { try fromItem($0) }
        if let w = n["whereClause"] {
            if let c = w["CurrentOfExpr"] { s.currentOf = string(c, "cursor_name") } else { s.whereClause = try expr(w) }
        }
        s.returning = try (n["returningList"]?.children ?? []).map { try resTarget($0) }
        if let w = n["withClause"] { s.with = try commonTables(w).0 }
        return s
    }

    func delete(_ n: TreeRef) throws -> DeleteStatement {
        var s = DeleteStatement(table: try rangeVar(n["relation"]))
        s.using = try (n["usingClause"]?.children ?? []).map { try fromItem($0) }
        if let w = n["whereClause"] {
            if let c = w["CurrentOfExpr"] { s.currentOf = string(c, "cursor_name") } else { s.whereClause = try expr(w) }
        }
        s.returning = try (n["returningList"]?.children ?? []).map { try resTarget($0) }
        if let w = n["withClause"] { s.with = try commonTables(w).0 }
        return s
    }

    // MARK: DDL

    /// `OBJECT_MATVIEW` → "MATVIEW".
    func objectName(_ k: String?) -> String {
        guard let k else { return "" }
        return k.hasPrefix("OBJECT_") ? String(k.dropFirst(7)) : k
    }

    func createTable(_ n: TreeRef) throws -> CreateTableStatement {
        var s = CreateTableStatement(table: try rangeVar(n["relation"]))
        s.ifNotExists = n["if_not_exists"]?.bool ?? false
        s.temporary = n["relation"]?["relpersistence"]?.string == "t"
        if n["inhRelations"] != nil { throw Self.unsupported("table inheritance (INHERITS)") }
        if n["partspec"] != nil { throw Self.unsupported("partitioned tables") }
        if n["partbound"] != nil { throw Self.unsupported("table partitions") }
        s.onCommit = try onCommit(string(n, "oncommit"))
        for e in n["tableElts"]?.children ?? [] {
            if let c = e["ColumnDef"] {
                s.columns.append(try columnDef(c))
            } else if let c = e["Constraint"] {
                s.constraints.append(try constraint(c, column: nil))
            } else if e["TableLikeClause"] != nil {
                throw Self.unsupported("CREATE TABLE ... (LIKE ...)")
            }
        }
        s.options = try relationOptions(n["options"])
        return s
    }

    func createTableAs(_ n: TreeRef) throws -> CreateTableStatement {
        guard let into = n["into"], let q = n["query"]?["SelectStmt"] else { throw Self.unsupported("this CREATE TABLE AS") }
        if string(n, "objtype") == "OBJECT_MATVIEW" { throw Self.unsupported("CREATE MATERIALIZED VIEW") }
        var s = CreateTableStatement(table: try rangeVar(into["rel"]))
        s.ifNotExists = n["if_not_exists"]?.bool ?? false
        s.temporary = into["rel"]?["relpersistence"]?.string == "t"
        s.asQuery = try query(q)
        s.withNoData = into["skipData"]?.bool ?? false
        let cols = names(into["colNames"])
        s.columns = cols.map { ColumnDefinition(name: $0, type: TypeName(names: [], modifiers: [], arrayDimensions: 0), constraints: [], location: -1) }
        s.options = try relationOptions(into["options"])
        s.onCommit = try onCommit(string(into, "onCommit"))
        return s
    }

    func onCommit(_ action: String?) throws -> OnCommitAction? {
        switch action {
        case nil, "ONCOMMIT_NOOP": return nil
        case "ONCOMMIT_PRESERVE_ROWS": return .preserveRows
        case "ONCOMMIT_DELETE_ROWS": return .deleteRows
        case "ONCOMMIT_DROP": return .drop
        case let other?: throw Self.unsupported("ON COMMIT \(other)")
        }
    }

    func relationOptions(_ n: TreeRef?) throws -> [(String, String?)] {
        try (n?.children ?? []).compactMap { o in
            guard let d = o["DefElem"] else { return nil }
            let name = (string(d, "defnamespace").map { $0 + "." } ?? "") + (string(d, "defname") ?? "")
            let value: String?
            switch try d["arg"].map({ try optionValue($0) }) {
            case .constant(.string(let s), _)?: value = s
            case .constant(.integer(let i), _)?: value = String(i)
            case .constant(.numeric(let v), _)?: value = v
            case .column(let parts, _)?: value = parts.joined(separator: ".")
            default: value = nil
            }
            return (name, value)
        }
    }

    func columnDef(_ c: TreeRef) throws -> ColumnDefinition {
        guard let t = c["typeName"] else { throw fail("column without a type") }
        let constraints = try (c["constraints"]?.children ?? []).compactMap { try $0["Constraint"].map { try constraint($0, column: string(c, "colname")) } }
        if c["collClause"] != nil {
            let coll = names(c["collClause"]?["collname"]).last ?? ""
            if !["c", "posix", "default"].contains(coll.lowercased()) { throw Self.unsupported("COLLATE \"\(coll)\"") }
        }
        return ColumnDefinition(name: string(c, "colname") ?? "", type: try typeName(t), constraints: constraints, location: location(c))
    }

    func constraint(_ c: TreeRef, column: String?) throws -> ConstraintDef {
        let loc = location(c)
        let keys = names(c["keys"])
        var d: ConstraintDef
        switch string(c, "contype") ?? "" {
        case "CONSTR_NULL": d = ConstraintDef(kind: .null, location: loc)
        case "CONSTR_NOTNULL": d = ConstraintDef(kind: .notNull, location: loc)
        case "CONSTR_DEFAULT":
            guard let raw = c["raw_expr"] else { throw fail("DEFAULT without an expression") }
            let e = try expr(raw)
            d = ConstraintDef(kind: .defaultValue(e, text: Deparser.expr(e)), location: loc)
        case "CONSTR_PRIMARY":
            d = ConstraintDef(kind: .primaryKey(column.map { [$0] } ?? keys), location: loc)
        case "CONSTR_UNIQUE":
            d = ConstraintDef(kind: .unique(column.map { [$0] } ?? keys, nullsNotDistinct: c["nulls_not_distinct"]?.bool ?? false), location: loc)
        case "CONSTR_CHECK":
            guard let raw = c["raw_expr"] else { throw fail("CHECK without an expression") }
            let e = try expr(raw)
            d = ConstraintDef(kind: .check(e, text: Deparser.expr(e)), location: loc)
        case "CONSTR_FOREIGN":
            let action: (String?) -> String = { a in
                switch a ?? "a" {
                case "r": return "RESTRICT"
                case "c": return "CASCADE"
                case "n": return "SET NULL"
                case "d": return "SET DEFAULT"
                default: return "NO ACTION"
                }
            }
            let fkColumns = column.map { [$0] } ?? names(c["fk_attrs"])
            d = ConstraintDef(kind: .foreignKey(columns: fkColumns, table: try rangeVar(c["pktable"]), refColumns: names(c["pk_attrs"]),
                                                onDelete: action(string(c, "fk_del_action")), onUpdate: action(string(c, "fk_upd_action")),
                                                match: string(c, "fk_matchtype") == "f" ? "FULL" : "SIMPLE"),
                              location: loc)
        case "CONSTR_IDENTITY":
            d = ConstraintDef(kind: .identity(always: string(c, "generated_when") == "a", options: try defElems(c["options"])), location: loc)
        case "CONSTR_GENERATED":
            guard let raw = c["raw_expr"] else { throw fail("GENERATED without an expression") }
            let e = try expr(raw)
            d = ConstraintDef(kind: .generated(e, text: Deparser.expr(e)), location: loc)
        case "CONSTR_EXCLUSION": throw Self.unsupported("EXCLUDE constraints")
        case "CONSTR_ATTR_DEFERRABLE", "CONSTR_ATTR_NOT_DEFERRABLE", "CONSTR_ATTR_DEFERRED", "CONSTR_ATTR_IMMEDIATE":
            throw Self.unsupported("constraint attributes after the constraint")
        case let k: throw Self.unsupported("constraint \(k)")
        }
        d.name = string(c, "conname")
        d.deferrable = c["deferrable"]?.bool ?? false
        d.initiallyDeferred = c["initdeferred"]?.bool ?? false
        return d
    }

    func createIndex(_ n: TreeRef) throws -> CreateIndexStatement {
        let columns = try (n["indexParams"]?.children ?? []).map { p -> IndexColumn in
            guard let e = p["IndexElem"] else { throw fail("index element") }
            var c = IndexColumn(name: string(e, "name"), expr: try e["expr"].map { try expr($0) })
            c.descending = string(e, "ordering") == "SORTBY_DESC"
            switch string(e, "nulls_ordering") {
            case "SORTBY_NULLS_FIRST": c.nullsFirst = true
            case "SORTBY_NULLS_LAST": c.nullsFirst = false
            default: break
            }
            if e["opclass"] != nil { throw Self.unsupported("index operator classes") }
            return c
        }
        if n["indexIncludingParams"] != nil { throw Self.unsupported("INCLUDE columns in an index") }
        return CreateIndexStatement(name: string(n, "idxname"), table: try rangeVar(n["relation"]), columns: columns,
                                    unique: n["unique"]?.bool ?? false, ifNotExists: n["if_not_exists"]?.bool ?? false,
                                    method: string(n, "accessMethod"), whereClause: try n["whereClause"].map { try expr($0) },
                                    location: location(n["relation"]))
    }

    func createView(_ n: TreeRef) throws -> CreateViewStatement {
        guard let q = n["query"]?["SelectStmt"] else { throw fail("view without a query") }
        let query = try query(q)
        if let o = string(n, "withCheckOption"), o != "NO_CHECK_OPTION" { throw Self.unsupported("WITH CHECK OPTION") }
        return CreateViewStatement(view: try rangeVar(n["view"]), columns: names(n["aliases"]), query: query,
                                   text: "", replace: n["replace"]?.bool ?? false,
                                   temporary: n["view"]?["relpersistence"]?.string == "t")
    }

    func drop(_ n: TreeRef) throws -> DropStatement {
        guard let kind = ObjectKind(rawValue: string(n, "removeType") ?? "") else {
            throw Self.unsupported("DROP \(objectName(string(n, "removeType")))")
        }
        let objects = (n["objects"]?.children ?? []).map { o -> [String] in
            if let list = o["List"]?["items"] { return names(list) }
            if let s = o["String"] { return [string(s, "sval") ?? ""] }
            if let t = o["TypeName"] { return names(t["names"]) }
            return []
        }
        return DropStatement(kind: kind, names: objects, ifExists: n["missing_ok"]?.bool ?? false,
                             cascade: string(n, "behavior") == "DROP_CASCADE")
    }

    func alterTable(_ n: TreeRef) throws -> AlterTableStatement {
        let kind = string(n, "objtype") ?? "OBJECT_TABLE"
        guard kind == "OBJECT_TABLE" || kind == "OBJECT_VIEW" || kind == "OBJECT_SEQUENCE" else {
            throw Self.unsupported("ALTER \(objectName(kind))")
        }
        var actions: [AlterTableAction] = []
        for c in n["cmds"]?.children ?? [] {
            guard let cmd = c["AlterTableCmd"] else { continue }
            let name = string(cmd, "name") ?? ""
            let missingOK = cmd["missing_ok"]?.bool ?? false
            let cascade = string(cmd, "behavior") == "DROP_CASCADE"
            switch string(cmd, "subtype") ?? "" {
            case "AT_AddColumn":
                guard let def = cmd["def"]?["ColumnDef"] else { throw fail("ADD COLUMN") }
                actions.append(.addColumn(try columnDef(def), ifNotExists: missingOK))
            case "AT_DropColumn": actions.append(.dropColumn(name, ifExists: missingOK, cascade: cascade))
            case "AT_AlterColumnType":
                guard let def = cmd["def"]?["ColumnDef"], let t = def["typeName"] else { throw fail("ALTER COLUMN TYPE") }
                actions.append(.alterColumnType(name, try typeName(t), using: try def["raw_default"].map { try expr($0) }))
            case "AT_ColumnDefault":
                let e = try cmd["def"].map { try expr($0) }
                actions.append(.setDefault(name, e, text: e.map { Deparser.expr($0) }))
            case "AT_SetNotNull": actions.append(.setNotNull(name, true))
            case "AT_DropNotNull": actions.append(.setNotNull(name, false))
            case "AT_AddConstraint":
                guard let def = cmd["def"]?["Constraint"] else { throw fail("ADD CONSTRAINT") }
                actions.append(.addConstraint(try constraint(def, column: nil)))
            case "AT_DropConstraint": actions.append(.dropConstraint(name, ifExists: missingOK, cascade: cascade))
            case "AT_SetRelOptions": actions.append(.setOptions(try relationOptions(cmd["def"])))
            case "AT_EnableRowSecurity": actions.append(.rowLevelSecurity("ENABLE"))
            case "AT_DisableRowSecurity": actions.append(.rowLevelSecurity("DISABLE"))
            case "AT_ForceRowSecurity": actions.append(.rowLevelSecurity("FORCE"))
            case "AT_NoForceRowSecurity": actions.append(.rowLevelSecurity("NO FORCE"))
            case "AT_ChangeOwner": actions.append(.owner(string(cmd["newowner"], "rolename") ?? ""))
            case let k: throw Self.unsupported("ALTER TABLE \(k.hasPrefix("AT_") ? String(k.dropFirst(3)) : k)")
            }
        }
        return AlterTableStatement(table: try rangeVar(n["relation"]), actions: actions, ifExists: n["missing_ok"]?.bool ?? false)
    }

    func rename(_ n: TreeRef) throws -> Statement {
        let missingOK = n["missing_ok"]?.bool ?? false
        let newName = string(n, "newname") ?? ""
        switch string(n, "renameType") ?? "" {
        case "OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_SEQUENCE":
            return .alterTable(AlterTableStatement(table: try rangeVar(n["relation"]), actions: [.renameTable(to: newName)], ifExists: missingOK))
        case "OBJECT_COLUMN":
            return .alterTable(AlterTableStatement(table: try rangeVar(n["relation"]),
                                                   actions: [.renameColumn(string(n, "subname") ?? "", to: newName)], ifExists: missingOK))
        case "OBJECT_ROLE":
            return .role(.rename(from: string(n, "subname") ?? "", to: newName))
        case let k: throw Self.unsupported("ALTER \(objectName(k)) ... RENAME")
        }
    }
}
