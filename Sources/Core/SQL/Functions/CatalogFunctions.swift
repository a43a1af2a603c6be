import DriftCore
import DriftStorage

/// The functions clients call on the catalog: format_type, pg_get_expr, pg_get_indexdef,
/// pg_get_constraintdef, visibility tests, descriptions, sizes, privilege tests, reg* input
/// and output. They read the statement's transaction catalog through a `CatalogView`.
enum CatalogFunctions {
    static func view(_ ctx: ExecContext) -> CatalogView { CatalogView.reading(ctx, asOf: nil) }

    static func oid(_ v: Value) throws -> Int64 { try v.int() }

    /// reg* input of a name at run time (a parameter or a column cast to regclass).
    static func regIn(_ kind: RegKind) -> ScalarFunction {
        ScalarFunction(kind.rawValue + "in", .context { ctx, a in .int(try view(ctx).regValue(try a[0].text(), kind)) })
    }

    /// reg* output: the object's name.
    static func regOut(_ kind: RegKind) -> ScalarFunction {
        ScalarFunction(kind.rawValue + "out", .context { ctx, a in .text(view(ctx).regText(try a[0].int(), kind)) })
    }

    /// to_regclass and friends: NULL where the input function fails.
    static func toReg(_ kind: RegKind) -> ScalarFunction {
        ScalarFunction("to_" + kind.rawValue, .context { ctx, a in
            guard let v = try? view(ctx).regValue(try a[0].text(), kind) else { return .null }
            return .int(v)
        })
    }

    /// generate_subscripts(array, dim): the subscripts of a one-dimensional array.
    static let generateSubscripts = SetFunction("generate_subscripts", columns: { _ in
        [ResultColumn(name: "generate_subscripts", type: .int4)]
    }, rows: { _, args in
        guard case .array(let xs) = args[0], (try? args[1].int()) == 1 else { return AnyIterator { nil } }
        let reverse = args.count > 2 && (try? args[2].bool()) == true
        var k = 0
        return AnyIterator {
            guard k < xs.count else { return nil }
            defer { k += 1 }
            return [.int(Int64(reverse ? xs.count - k : k + 1))]
        }
    })

    /// pg_partition_ancestors(rel): a partition's ancestors; none here, as for any relation
    /// that is not a partition (DriftDB has no partitioning).
    static let partitionAncestors = SetFunction("pg_partition_ancestors", columns: { _ in
        [ResultColumn(name: "relid", type: .reg(.regclass))]
    }, rows: { _, _ in AnyIterator { nil } })

    /// information_schema._pg_expandarray(anyarray): one record (x, n) per element, n from 1.
    static let expandArray = SetFunction("_pg_expandarray", columns: { types in
        var element = SQLType.text
        if case .array(let e)? = types.first { element = e }
        return [ResultColumn(name: "_pg_expandarray", type: .record([RecordField(name: "x", type: element), RecordField(name: "n", type: .int4)]))]
    }, rows: { _, args in
        guard case .array(let xs) = args[0] else { return AnyIterator { nil } }
        var k = 0
        return AnyIterator {
            guard k < xs.count else { return nil }
            defer { k += 1 }
            return [.array([xs[k], .int(Int64(k + 1))])]
        }
    })

    static let generateSubscriptsFromZero = SetFunction("generate_subscripts", columns: { _ in
        [ResultColumn(name: "generate_subscripts", type: .int4)]
    }, rows: { _, args in
        guard case .array(let xs) = args[0], (try? args[1].int()) == 1 else { return AnyIterator { nil } }
        var k = 0
        return AnyIterator {
            guard k < xs.count else { return nil }
            defer { k += 1 }
            return [.int(Int64(k))]
        }
    })

    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        var out: [(String, Overload)] = []
        let oid = SQLType.oid, text = SQLType.text, int4 = SQLType.int4, bool = SQLType.bool
        func relation(_ ctx: ExecContext, _ v: Value) throws -> PGRelation? { view(ctx).relation(oid: try v.int()) }

        out.append(F.fn("format_type", [oid, int4], text, strict: false, .context { ctx, a in
            guard !a[0].isNull else { return .null }
            return .text(view(ctx).formatType(try a[0].int(), a[1].isNull ? nil : Int32(truncatingIfNeeded: try a[1].int())))
        }))
        for params in [[text, oid], [text, oid, bool]] {
            out.append(F.fn("pg_get_expr", params, text, .nary { a in a[0] }))
        }
        for params in [[oid], [oid, int4, bool]] {
            out.append(F.fn("pg_get_indexdef", params, text, .context { ctx, a in
                let v = view(ctx)
                guard let r = v.relation(oid: try a[0].int()), case let .index(i, t) = r.object else { return .null }
                return v.indexDefinition(i, of: t, column: a.count > 1 ? Int(try a[1].int()) : 0).map { .text($0) } ?? .text("")
            }))
        }
        for params in [[oid], [oid, bool]] {
            out.append(F.fn("pg_get_constraintdef", params, text, .context { ctx, a in
                let v = view(ctx)
                guard let c = v.constraint(oid: try a[0].int()) else { return .null }
                return .text(v.constraintDefinition(c))
            }))
        }
        out.append(F.fn("pg_get_userbyid", [oid], text, .context { ctx, a in
            let o = try a[0].int()
            let v = view(ctx)
            return .text(v.role(oid: o)?.name ?? (o == PGOid.bootstrapRole ? v.bootstrapName : "unknown (OID=\(o))"))
        }))
        out.append(F.fn("pg_table_is_visible", [oid], bool, .context { ctx, a in
            let v = view(ctx)
            guard let r = v.relation(oid: try a[0].int()) else { return .null }
            return .bool(v.isVisible(r))
        }))
        out.append(F.fn("pg_type_is_visible", [oid], bool, .context { ctx, a in .bool(view(ctx).typeIsVisible(try a[0].int())) }))
        for name in ["pg_collation_is_visible", "pg_function_is_visible", "pg_opclass_is_visible", "pg_operator_is_visible",
                     "pg_conversion_is_visible", "pg_statistics_obj_is_visible"] {
            out.append(F.fn(name, [oid], bool, .unary { _ in .bool(true) }))
        }
        for params in [[oid], [oid, bool]] {
            out.append(F.fn("pg_get_viewdef", params, text, .context { ctx, a in
                guard let r = try relation(ctx, a[0]), case .view(let v) = r.object else { return .null }
                return .text(v.sql)
            }))
        }
        for params in [[text], [text, bool]] {
            out.append(F.fn("pg_get_viewdef", params, text, .context { ctx, a in
                guard let r = try view(ctx).relation(named: try a[0].text()) else {
                    throw SQLError(.undefinedTable, "relation \"\(try a[0].text())\" does not exist")
                }
                guard case .view(let v) = r.object else { return .null }
                return .text(v.sql)
            }))
        }
        out.append(F.fn("obj_description", [oid, text], text, .context { ctx, a in
            guard try a[1].text() == "pg_class", let r = try relation(ctx, a[0]), case .table(let t) = r.object else { return .null }
            return view(ctx).comment(t, column: 0).map { .text($0) } ?? .null
        }))
        out.append(F.fn("obj_description", [oid], text, .context { ctx, a in
            guard let r = try relation(ctx, a[0]), case .table(let t) = r.object else { return .null }
            return view(ctx).comment(t, column: 0).map { .text($0) } ?? .null
        }))
        out.append(F.fn("col_description", [oid, int4], text, .context { ctx, a in
            guard let r = try relation(ctx, a[0]), case .table(let t) = r.object else { return .null }
            return view(ctx).comment(t, column: Int(try a[1].int())).map { .text($0) } ?? .null
        }))
        out.append(F.fn("shobj_description", [oid, text], text, .unary { _ in .null }))
        out.append(F.fn("pg_encoding_to_char", [int4], text, .unary { a in
            switch try a.int() {
            case 6: return .text("UTF8")
            case 0: return .text("SQL_ASCII")
            default: return .text("")
            }
        }))
        out.append(F.fn("pg_char_to_encoding", [text], int4, .unary { a in
            switch try a.text().uppercased() {
            case "UTF8", "UTF-8", "UNICODE": return .int(6)
            case "SQL_ASCII": return .int(0)
            default: return .int(-1)
            }
        }))
        out.append(F.fn("pg_get_serial_sequence", [text, text], text, .context { ctx, a in
            let v = view(ctx)
            guard let r = try v.relation(named: try a[0].text()) else {
                throw SQLError(.undefinedTable, "relation \"\(try a[0].text())\" does not exist")
            }
            guard case .table(let t) = r.object else { return .null }
            let column = try a[1].text()
            guard let p = t.columnPosition(column) else {
                throw SQLError(.undefinedColumn, "column \"\(column)\" of relation \"\(t.name)\" does not exist")
            }
            guard let s = v.ownedSequence(t, column: p) else { return .null }
            return .text(Deparser.ident(s.schema) + "." + Deparser.ident(s.name))
        }))
        out.append(F.fn("current_schemas", [bool], .array(text), .context { ctx, a in
            let v = view(ctx)
            let implicit = (try? a[0].bool()) ?? false
            var path = v.path
            if !implicit {
                path.removeAll { $0 == "pg_catalog" && !(ctx.session?.settings["search_path"] ?? "").contains("pg_catalog") }
                path.removeAll { $0 == TemporaryTables.schema }
            }
            return .array(path.map { .text($0) })
        }))
        // Privilege tests: from the catalog's access lists; a trusted user that is no role
        // holds every privilege (the object must still exist).
        for (name, kind) in [("has_table_privilege", PrivilegeTest.Kind.table), ("has_sequence_privilege", .sequence),
                             ("has_column_privilege", .column), ("has_any_column_privilege", .anyColumn),
                             ("has_schema_privilege", .schema), ("has_database_privilege", .database),
                             ("has_function_privilege", .always), ("has_type_privilege", .always),
                             ("has_tablespace_privilege", .always), ("has_language_privilege", .always),
                             ("has_foreign_data_wrapper_privilege", .always), ("has_server_privilege", .always),
                             ("pg_has_role", .role)] {
            for object in [text, oid] {
                out.append(F.fn(name, [object, text], bool, .context { ctx, a in
                    try PrivilegeTest(view(ctx), kind).holds(user: nil, a[0], column: nil, a[1])
                }))
                // has_column_privilege's three arguments are (table, column, privilege).
                for user in [text, oid] where name != "has_column_privilege" {
                    out.append(F.fn(name, [user, object, text], bool, .context { ctx, a in
                        try PrivilegeTest(view(ctx), kind).holds(user: a[0], a[1], column: nil, a[2])
                    }))
                }
                if name == "has_column_privilege" {
                    for column in [text, .int2] {
                        out.append(F.fn(name, [object, column, text], bool, .context { ctx, a in
                            try PrivilegeTest(view(ctx), kind).holds(user: nil, a[0], column: a[1], a[2])
                        }))
                        for user in [text, oid] {
                            out.append(F.fn(name, [user, object, column, text], bool, .context { ctx, a in
                                try PrivilegeTest(view(ctx), kind).holds(user: a[0], a[1], column: a[2], a[3])
                            }))
                        }
                    }
                }
            }
        }
        for kind in RegKind.allCases {
            out.append(("to_" + kind.rawValue, Overload(params: [.type(text)], variadic: nil, result: .type(.reg(kind)), function: toReg(kind))))
        }
        out.append(F.fn("pg_size_pretty", [.int8], text, .unary { a in .text(sizePretty(try a.int())) }))
        for name in ["pg_table_size", "pg_relation_size", "pg_total_relation_size", "pg_indexes_size"] {
            out.append(F.fn(name, [.reg(.regclass)], .int8, .context { ctx, a in
                guard let r = try relation(ctx, a[0]) else { return .null }
                guard case .table(let t) = r.object, name != "pg_indexes_size" else { return .int(0) }
                return .int(Int64(ctx.engine.store(t.id)?.stats.memoryImageBytes ?? 0))
            }))
        }
        out.append(F.fn("pg_database_size", [text], .int8, .context { ctx, _ in
            .int(view(ctx).catalog.tables.keys.reduce(0) { $0 + Int64(ctx.engine.store($1)?.stats.memoryImageBytes ?? 0) })
        }))
        out.append(F.fn("pg_database_size", [oid], .int8, .context { ctx, _ in
            .int(view(ctx).catalog.tables.keys.reduce(0) { $0 + Int64(ctx.engine.store($1)?.stats.memoryImageBytes ?? 0) })
        }))
        out.append(F.fn("pg_relation_is_publishable", [.reg(.regclass)], bool, .context { ctx, a in
            guard let r = try relation(ctx, a[0]), case .table(let t) = r.object else { return .bool(false) }
            return .bool(t.schema != TemporaryTables.schema)
        }))
        // Objects DriftDB does not have: partition keys, triggers, rules, functions, statistics objects.
        for (name, params) in [("pg_get_partkeydef", [oid]), ("pg_get_triggerdef", [oid]), ("pg_get_triggerdef", [oid, bool]),
                               ("pg_get_ruledef", [oid]), ("pg_get_ruledef", [oid, bool]), ("pg_get_function_result", [oid]),
                               ("pg_get_function_arguments", [oid]), ("pg_get_function_identity_arguments", [oid]),
                               ("pg_get_statisticsobjdef_columns", [oid]), ("pg_get_partition_constraintdef", [oid])] {
            out.append(F.fn(name, params, text, .unary { _ in .null }))
        }
        out.append(F.fn("pg_tablespace_location", [oid], text, .unary { _ in .text("") }))
        out.append(F.fn("pg_is_in_recovery", [], bool, .nullary { _ in .bool(false) }))
        func setting(_ ctx: ExecContext, _ name: String, missingOK: Bool) throws -> Value {
            guard let s = ctx.session else { return .null }
            if let fixed = fixedSettings[name.lowercased()] { return .text(fixed) }
            do {
                let r = try s.show(name)
                return r.rows.first?.first ?? .null
            } catch let e as SQLError where missingOK && e.code == .undefinedObject {
                return .null
            }
        }
        out.append(F.fn("current_setting", [text], text, .context { ctx, a in try setting(ctx, try a[0].text(), missingOK: false) }))
        out.append(F.fn("current_setting", [text, bool], text, .context { ctx, a in
            try setting(ctx, try a[0].text(), missingOK: try a[1].bool())
        }))
        out.append(F.fn("set_config", [text, text, bool], text, volatile: true, strict: false, .context { ctx, a in
            guard let s = ctx.session, !a[0].isNull else { throw SQLError(SQLState("22004"), "SET requires parameter name") }
            _ = try s.set(try a[0].text(), a[1].isNull ? nil : try a[1].text(), local: (try? a[2].bool()) ?? false)
            return try setting(ctx, try a[0].text(), missingOK: false)
        }))
        for name in ["nextval", "currval"] {
            out.append(F.fn(name, [.reg(.regclass)], .int8, volatile: true, .context { ctx, a in
                guard let s = ctx.session else { throw SQLError.notSupported("sequence functions outside a session") }
                let def = try s.sequence(oid: try a[0].int())
                return .int(name == "nextval" ? try s.nextval(def) : try s.currval(def))
            }))
        }
        out.append(F.fn("setval", [.reg(.regclass), .int8], .int8, volatile: true, .context { ctx, a in
            guard let s = ctx.session else { throw SQLError.notSupported("sequence functions outside a session") }
            return .int(try s.setval(try s.sequence(oid: try a[0].int()), try a[1].int(), called: true))
        }))
        out.append(F.fn("setval", [.reg(.regclass), .int8, bool], .int8, volatile: true, .context { ctx, a in
            guard let s = ctx.session else { throw SQLError.notSupported("sequence functions outside a session") }
            return .int(try s.setval(try s.sequence(oid: try a[0].int()), try a[1].int(), called: try a[2].bool()))
        }))
        for v in [SQLType.vector(.int2), .vector(.oid)] {
            out.append(F.fn("array_lower", [v, int4], int4, .binary { a, d in
                guard case .array(let xs) = a, try d.int() == 1, !xs.isEmpty else { return .null }
                return .int(0)
            }))
            out.append(F.fn("array_upper", [v, int4], int4, .binary { a, d in
                guard case .array(let xs) = a, try d.int() == 1, !xs.isEmpty else { return .null }
                return .int(Int64(xs.count - 1))
            }))
        }
        return out
    }()

    /// Read-only parameters PostgreSQL has that no DriftDB setting stands for.
    static let fixedSettings: [String: String] = [
        "max_index_keys": "32", "max_identifier_length": "63", "block_size": "8192", "default_table_access_method": "heap",
    ]

    /// pg_size_pretty: bytes below 10 kB, then kB, MB, GB, TB, PB, each rounded half up.
    static func sizePretty(_ size: Int64) -> String {
        // PostgreSQL 15's units table: each step divides (truncating toward zero), keeping one
        // extra bit for the half rounding of the unit it stops at.
        let limit: UInt64 = 10 * 1024, limit2 = limit * 2 - 1
        if size.magnitude < limit { return "\(size) bytes" }
        var s = size / 512
        func half(_ x: Int64) -> Int64 { (x + (x < 0 ? -1 : 1)) / 2 }
        for unit in ["kB", "MB", "GB", "TB"] {
            if s.magnitude < limit2 { return "\(half(s)) \(unit)" }
            s /= 1024
        }
        return "\(half(s)) PB"
    }
}

extension Value {
    func bool() throws -> Bool {
        if case .bool(let b) = self { return b }
        throw SQLError.bug("expected a boolean, got \(self)")
    }
}

extension Session {
    /// The sequence a regclass value names.
    func sequence(oid: Int64) throws -> SequenceDef {
        let catalog = (block ?? implicitTransaction)?.catalog ?? engine.latestCatalog
        let id = oid - PGOid.firstUser
        guard id >= 0, id < Int64(UInt32.max), let def = catalog.sequences[UInt32(id)] else {
            if id >= 0, id < Int64(UInt32.max), catalog.tables[UInt32(id)] != nil || catalog.views[UInt32(id)] != nil {
                throw SQLError(.wrongObjectType, "\"\(CatalogView(catalog: catalog, session: self, engine: engine).regText(oid, .regclass))\" is not a sequence")
            }
            throw SQLError(.undefinedTable, "could not open relation with OID \(oid)")
        }
        return def
    }
}

/// has_table_privilege and friends: whether a role holds any of the listed privileges.
struct PrivilegeTest {
    enum Kind { case table, sequence, column, anyColumn, schema, database, role, always }

    let view: CatalogView
    let kind: Kind

    init(_ view: CatalogView, _ kind: Kind) {
        self.view = view
        self.kind = kind
    }

    /// The role asked about: by name or OID, else the current one; nil: a trusted user that
    /// is no role (every privilege).
    func role(_ user: Value?) throws -> RoleDef? {
        let catalog = view.catalog
        guard let user else { return view.session.flatMap { $0.actingRole(in: catalog) } }
        if case .int(let o) = user {
            guard let r = view.role(oid: o) else {
                if o == PGOid.bootstrapRole { return nil }
                throw SQLError(.undefinedObject, "role with OID \(o) does not exist")
            }
            return r
        }
        let name = try user.text()
        if name == "public" { return RoleDef(id: .max, name: "public") }
        guard let r = catalog.role(named: name) else {
            if name == view.userName { return nil }
            throw SQLError(.undefinedObject, "role \"\(name)\" does not exist")
        }
        return r
    }

    /// The privileges named (`SELECT, UPDATE WITH GRANT OPTION`), each with whether its grant
    /// option is asked for.
    func wanted(_ text: String, allowed: [String]) throws -> [(Privileges?, String, grantOption: Bool)] {
        try text.split(separator: ",").map { part in
            var word = part.trimming().uppercased()
            var option = false
            if word.hasSuffix(" WITH GRANT OPTION") {
                option = true
                word = String(word.dropLast(" WITH GRANT OPTION".count)).trimming()
            }
            guard allowed.contains(word) else { throw SQLError(.invalidParameterValue, "unrecognized privilege type: \"\(part.trimming())\"") }
            return (Privileges.keywords.first { $0.0 == word }?.1, word, option)
        }
    }

    func holds(user: Value?, _ object: Value, column: Value?, _ privilege: Value) throws -> Value {
        if user?.isNull == true || object.isNull || privilege.isNull || column?.isNull == true { return .null }
        let catalog = view.catalog
        let who = try role(user)
        let list = try privilege.text()
        switch kind {
        case .always:
            return .bool(true)
        case .role:
            let target: RoleDef?
            if case .int(let o) = object { target = view.role(oid: o) } else { target = catalog.role(named: try object.text()) }
            guard let target else { throw SQLError(.undefinedObject, "role \"\(object.pgText)\" does not exist") }
            let asked = try list.split(separator: ",").map { $0.trimming().uppercased() }
            for a in asked where !["MEMBER", "USAGE", "SET", "MEMBER WITH ADMIN OPTION", "USAGE WITH ADMIN OPTION", "MEMBER WITH GRANT OPTION", "USAGE WITH GRANT OPTION"].contains(a) {
                throw SQLError(.invalidParameterValue, "unrecognized privilege type: \"\(a.lowercased())\"")
            }
            guard let who else { return .bool(true) }
            if who.superuser { return .bool(true) }
            return .bool(asked.contains { a in
                if a.contains("OPTION") {
                    return who.id == target.id || catalog.memberRoles(of: who).contains { id in
                        catalog.roles[id]?.memberOf.contains { $0.role == target.id && $0.admin } ?? (who.memberOf.contains { $0.role == target.id && $0.admin })
                    }
                }
                return (a == "USAGE" ? catalog.privilegeRoles(of: who) : catalog.memberRoles(of: who)).contains(target.id)
            })
        case .database:
            let asked = try wanted(list, allowed: ["CREATE", "CONNECT", "TEMPORARY", "TEMP"])
            guard let who, !who.superuser, who.id != Catalog.bootstrapRoleId else { return .bool(true) }
            // The database's default ACL: CONNECT and TEMPORARY for PUBLIC, CREATE for its owner.
            return .bool(asked.contains { $0.1 != "CREATE" && !$0.grantOption })
        case .schema:
            let asked = try wanted(list, allowed: ["USAGE", "CREATE"])
            let name: String
            if case .int(let o) = object {
                guard let s = view.schema(oid: o) else { return .null }
                name = s
            } else {
                name = try object.text()
                guard view.schemas.contains(name) else { throw SQLError(SQLState("3F000"), "schema \"\(name)\" does not exist") }
            }
            if name == "pg_catalog" || name == "information_schema" || name == TemporaryTables.schema {
                return .bool(asked.contains { $0.0 == .usage } || who == nil || who?.superuser == true)
            }
            return .bool(check(who, .schema(name), asked))
        case .table, .sequence, .column, .anyColumn:
            let rel: PGRelation?
            if case .int(let o) = object { rel = view.relation(oid: o) } else {
                rel = try view.relation(named: try object.text())
                if rel == nil { throw SQLError(.undefinedTable, "relation \"\(try object.text())\" does not exist") }
            }
            guard let rel else { return .null }
            // Column privileges count beside the table's: the column's, or any column's.
            var columns: [PrivilegeObject] = []
            if kind == .column, let column {
                // A table's columns (some dropped), or a view's.
                let id: UInt32, width: Int, isDropped: (Int) -> Bool, position: (String) -> Int?
                switch rel.object {
                case .table(let t): (id, width, isDropped, position) = (t.id, t.columns.count, { t.columns[$0].isDropped }, t.columnPosition)
                case .view(let v): (id, width, isDropped, position) = (v.id, v.columnNames.count, { _ in false }, { v.columnNames.firstIndex(of: $0) })
                default: return .null
                }
                if case .int(let n) = column {
                    guard n >= 1, n <= width, !isDropped(Int(n) - 1) else { return .null }
                    columns = [.column(id, Int(n) - 1)]
                } else if let p = position(try column.text()) {
                    columns = [.column(id, p)]
                } else {
                    throw SQLError(.undefinedColumn, "column \"\(try column.text())\" of relation \"\(rel.name)\" does not exist")
                }
            }
            if kind == .anyColumn {
                switch rel.object {
                case .table(let t): columns = view.catalog.columnACLs(of: t.id).map { .column(t.id, $0.position) }
                case .view(let v): columns = view.catalog.columnACLs(of: v.id).map { .column(v.id, $0.position) }
                default: break
                }
            }
            let allowed: [String]
            switch kind {
            case .sequence:
                guard case .sequence = rel.object else { throw SQLError(.wrongObjectType, "\"\(rel.name)\" is not a sequence") }
                allowed = ["USAGE", "SELECT", "UPDATE"]
            case .column, .anyColumn: allowed = ["SELECT", "INSERT", "UPDATE", "REFERENCES"]
            default: allowed = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
            }
            let asked = try wanted(list, allowed: allowed)
            guard let object = view.privilegeObject(rel) else {
                // The system catalogs: SELECT for everyone, nothing else for a non-superuser.
                return .bool(who == nil || who?.superuser == true || asked.contains { $0.0 == .select && !$0.grantOption })
            }
            return .bool(check(who, object, asked, alsoOn: columns))
        }
    }

    /// Whether `who` holds one of the privileges asked for on `object`, or on one of `alsoOn`
    /// (a table's columns).
    func check(_ who: RoleDef?, _ object: PrivilegeObject, _ asked: [(Privileges?, String, grantOption: Bool)],
               alsoOn: [PrivilegeObject] = []) -> Bool {
        guard let who else { return true }
        let catalog = view.catalog
        return ([object] + alsoOn).contains { object in
            if who.name == "public" && who.id == .max {
                let items = catalog.effectiveACL(object).filter { $0.grantee == nil }
                return asked.contains { a in items.contains { a.2 ? $0.grantOptions.isSuperset(of: a.0 ?? []) : $0.privileges.isSuperset(of: a.0 ?? []) } }
            }
            let held = catalog.privileges(of: who, on: object)
            let options = catalog.grantable(by: who, on: object)
            return asked.contains { a in (a.2 ? options : held).isSuperset(of: a.0 ?? []) }
        }
    }
}
