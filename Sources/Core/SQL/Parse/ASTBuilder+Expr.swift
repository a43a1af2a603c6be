import DriftCore

extension ASTBuilder {
    func expr(_ n: TreeRef) throws -> Expr {
        guard let (kind, b) = n.wrapped else { throw fail("empty expression") }
        return try exprBody(kind, b)
    }

    func exprs(_ n: TreeRef?) throws -> [Expr] { try (n?.children ?? []).map { try expr($0) } }

    /// Reads the body of a node of `kind`.
    func exprBody(_ kind: String, _ b: TreeRef) throws -> Expr {
        let loc = location(b)
        switch kind {
        case "ColumnRef": return columnRef(b)
        case "A_Const": return constant(b)
        case "ParamRef": return .parameter(Int(b["number"]?.int ?? 0), location: loc)
        case "A_Expr": return try aExpr(b)
        case "BoolExpr":
            let args = try exprs(b["args"])
            switch string(b, "boolop") {
            case "AND_EXPR": return .and(args)
            case "OR_EXPR": return .or(args)
            default:
                guard let a = args.first else { throw fail("NOT without an argument") }
                return .not(a)
            }
        case "NullTest":
            guard let a = b["arg"] else { throw fail("NullTest without an argument") }
            return .isNull(try expr(a), negated: string(b, "nulltesttype") == "IS_NOT_NULL")
        case "BooleanTest":
            guard let a = b["arg"], let t = BoolTest(rawValue: string(b, "booltesttype") ?? "") else { throw fail("BooleanTest") }
            return .boolTest(try expr(a), t)
        case "TypeCast":
            guard let a = b["arg"], let t = b["typeName"] else { throw fail("TypeCast without an argument or a type") }
            return .cast(try expr(a), try typeName(t), location: loc)
        case "FuncCall": return .function(try funcCall(b))
        case "A_Star": return .star(qualifier: nil, location: loc)
        case "SubLink": return try subLink(b)
        case "CaseExpr":
            let whens = try (b["args"]?.children ?? []).map { w -> (Expr, Expr) in
                guard let cw = w["CaseWhen"], let c = cw["expr"], let r = cw["result"] else { throw fail("CASE WHEN") }
                return (try expr(c), try expr(r))
            }
            return .caseWhen(operand: try b["arg"].map { try expr($0) }, whens: whens,
                             otherwise: try b["defresult"].map { try expr($0) }, location: loc)
        case "CoalesceExpr": return .coalesce(try exprs(b["args"]), location: loc)
        case "MinMaxExpr":
            let args = try exprs(b["args"])
            return string(b, "op") == "IS_GREATEST" ? .greatest(args, location: loc) : .least(args, location: loc)
        case "RowExpr": return .row(try exprs(b["args"]), location: loc)
        case "A_ArrayExpr": return .array(try exprs(b["elements"]), location: loc)
        case "A_Indirection":
            guard let a = b["arg"] else { throw fail("indirection") }
            var e = try expr(a)
            for ind in b["indirection"]?.children ?? [] {
                if let idx = ind["A_Indices"] {
                    let slice = idx["is_slice"]?.bool ?? false
                    // `a[i]` has only uidx; a slice `a[i:j]` either bound or none.
                    e = .subscripted(e, index: slice ? try idx["lidx"].map { try expr($0) } : try idx["uidx"].map { try expr($0) },
                                     upper: slice ? try idx["uidx"].map { try expr($0) } : nil, slice: slice, location: loc)
                } else if let s = ind["String"] {
                    e = .field(e, string(s, "sval") ?? "", location: loc)
                } else if ind["A_Star"] != nil {
                    throw Self.unsupported("(x).*")
                }
            }
            return e
        case "CollateClause":
            guard let a = b["arg"] else { throw fail("COLLATE") }
            return .collate(try expr(a), names(b["collname"]), location: loc)
        case "SQLValueFunction":
            let t = b["typmod"]?.int.map(Int.init)
            return .sqlValue(string(b, "op") ?? "", typmod: t == -1 ? nil : t, location: loc)
        case "SetToDefault": return .defaultValue(location: loc)
        case "GroupingSet":
            return .groupingSet(kind: string(b, "kind") ?? "", try exprs(b["content"]), location: loc)
        case "GroupingFunc": return .groupingFunc(try exprs(b["args"]), location: loc)
        case "List": return .row(try exprs(b["items"]), location: loc)
        case "ParamExecData", "MultiAssignRef": throw Self.unsupported(kind)
        case "XmlExpr", "XmlSerialize": throw Self.unsupported("XML")
        case "JsonObjectConstructor", "JsonArrayConstructor", "JsonIsPredicate": throw Self.unsupported("SQL/JSON constructors")
        default: throw Self.unsupported(kind)
        }
    }

    func columnRef(_ b: TreeRef) -> Expr {
        var parts: [String] = []
        var star = false
        for f in b["fields"]?.children ?? [] {
            if f["A_Star"] != nil { star = true } else if let s = f["String"] { parts.append(string(s, "sval") ?? "") }
        }
        let loc = location(b)
        if star { return .star(qualifier: parts.last, location: loc) }
        return .column(parts, location: loc)
    }

    func constant(_ b: TreeRef) -> Expr {
        let loc = location(b)
        if b["isnull"]?.bool == true { return .constant(.null, location: loc) }
        if let i = b["ival"] {
            // libpg_query 15's JSON prints zero and negative integer constants as "ival": {}. A
            // negative one was written `-N` (the grammar folds the sign into the constant and
            // points at the minus); anything else there, or no location (a constant the grammar
            // made up, such as FETCH FIRST ROW's 1 or BEGIN READ WRITE's 0), is a zero.
            return .constant(.integer(i["ival"]?.int ?? negativeInteger(at: loc) ?? 0), location: loc)
        }
        if let f = b["fval"] { return .constant(.numeric(string(f, "fval") ?? "0"), location: loc) }
        if let s = b["sval"] { return .constant(.string(string(s, "sval") ?? ""), location: loc) }
        if let s = b["bsval"] { return .constant(.bitString(string(s, "bsval") ?? ""), location: loc) }
        if let s = b["boolval"] { return .constant(.bool(s["boolval"]?.bool ?? false), location: loc) }
        return .constant(.null, location: loc)
    }

    /// The value of `- N` written at byte `location` of the statement, if that is what is there.
    ///
    /// The grammar folds every unary minus applied directly to a constant into it, through
    /// parentheses too (`- ( - 5 )` is the constant 5 located at the first minus): the sign is
    /// the parity of the minus signs before the digits.
    func negativeInteger(at location: Int) -> Int64? {
        guard location >= 0, location < source.count, source[location] == UInt8(ascii: "-") else { return nil }
        var lexer = Lexer(bytes: source, at: location)
        var minuses = 0
        while let t = try? lexer.next() {
            if t.isOp("-") {
                minuses += 1
            } else if t.isPunct("(") {
                continue
            } else if t.kind == .integer {
                return Int64((minuses % 2 == 1 ? "-" : "") + t.text)
            } else {
                return nil
            }
        }
        return nil
    }

    func aExpr(_ b: TreeRef) throws -> Expr {
        let kind = string(b, "kind") ?? ""
        let opName = names(b["name"])
        let name = opName.last ?? ""
        let loc = location(b)
        if opName.count == 2 && opName[0] != "pg_catalog" { throw Self.unsupported("operator in schema \(opName[0])") }
        let left = try b["lexpr"].map { try expr($0) }
        func right() throws -> Expr {
            guard let r = b["rexpr"] else { throw fail("\(kind) without a right operand") }
            return try expr(r)
        }
        func operand(_ e: Expr?) throws -> Expr {
            guard let e else { throw fail("\(kind) without an operand") }
            return e
        }
        switch kind {
        case "AEXPR_OP":
            return .op(name, left: left, right: try right(), location: loc)
        case "AEXPR_IN":
            guard let r = b["rexpr"] else { throw fail("IN without a list") }
            let items = r.kind == .array ? try exprs(r) : try exprs(r["List"]?["items"])
            return .inList(try operand(left), items, negated: name == "<>", location: loc)
        case "AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN", "AEXPR_BETWEEN_SYM", "AEXPR_NOT_BETWEEN_SYM":
            guard let r = b["rexpr"] else { throw fail("BETWEEN without bounds") }
            let l = r.kind == .array ? try exprs(r) : try exprs(r["List"]?["items"])
            guard l.count == 2 else { throw fail("BETWEEN without two bounds") }
            return .between(try operand(left), low: l[0], high: l[1], negated: kind.contains("NOT"),
                            symmetric: kind.hasSuffix("SYM"), location: loc)
        case "AEXPR_LIKE", "AEXPR_ILIKE":
            var pattern = try right()
            var escape: Expr?
            if case let .function(f) = pattern, f.name.last == "like_escape", f.args.count == 2 {
                pattern = f.args[0]
                escape = f.args[1]
            }
            return .like(try operand(left), pattern: pattern, escape: escape, caseInsensitive: kind == "AEXPR_ILIKE",
                         negated: name.hasPrefix("!"), location: loc)
        case "AEXPR_SIMILAR":
            var pattern = try right()
            var escape: Expr?
            if case let .function(f) = pattern, f.name.last == "similar_to_escape", !f.args.isEmpty {
                pattern = f.args[0]
                escape = f.args.count > 1 ? f.args[1] : nil
            }
            return .similar(try operand(left), pattern: pattern, escape: escape, negated: name.hasPrefix("!"), location: loc)
        case "AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT":
            return .distinctFrom(try operand(left), try right(), negated: kind == "AEXPR_NOT_DISTINCT", location: loc)
        case "AEXPR_NULLIF":
            return .nullIf(try operand(left), try right(), location: loc)
        case "AEXPR_OP_ANY", "AEXPR_OP_ALL":
            return .anyArray(try operand(left), op: name, try right(), all: kind == "AEXPR_OP_ALL", location: loc)
        default:
            throw Self.unsupported(kind)
        }
    }

    func subLink(_ b: TreeRef) throws -> Expr {
        guard let sub = b["subselect"]?["SelectStmt"] else { throw fail("subquery") }
        let q = try query(sub)
        let loc = location(b)
        let test = try b["testexpr"].map { try expr($0) }
        let op = names(b["operName"]).last ?? "="
        switch string(b, "subLinkType") ?? "" {
        case "EXISTS_SUBLINK": return .subquery(q, kind: .exists, test: nil, location: loc)
        case "ANY_SUBLINK": return .subquery(q, kind: .any(op: op), test: test, location: loc)
        case "ALL_SUBLINK": return .subquery(q, kind: .all(op: op), test: test, location: loc)
        case "EXPR_SUBLINK": return .subquery(q, kind: .scalar, test: nil, location: loc)
        case "ARRAY_SUBLINK": return .subquery(q, kind: .array, test: nil, location: loc)
        case let k: throw Self.unsupported(k)
        }
    }

    func funcCall(_ b: TreeRef) throws -> FunctionCall {
        var args: [Expr] = []
        var argNames: [String?] = []
        for a in b["args"]?.children ?? [] {
            if let named = a["NamedArgExpr"] {
                guard let v = named["arg"] else { throw fail("named argument without a value") }
                args.append(try expr(v))
                argNames.append(string(named, "name"))
            } else {
                args.append(try expr(a))
                argNames.append(nil)
            }
        }
        var f = FunctionCall(name: names(b["funcname"]), args: args, location: location(b))
        if argNames.contains(where: { $0 != nil }) { f.argNames = argNames }
        if f.name.count == 2 && f.name[0] == "pg_catalog" { f.name = [f.name[1]] }
        f.star = b["agg_star"]?.bool ?? false
        f.distinct = b["agg_distinct"]?.bool ?? false
        f.filter = try b["agg_filter"].map { try expr($0) }
        f.orderBy = try (b["agg_order"]?.children ?? []).map { try sortBy($0) }
        f.over = try b["over"].map { try windowDef($0) }
        f.variadic = b["func_variadic"]?.bool ?? false
        f.sqlSyntax = string(b, "funcformat") == "COERCE_SQL_SYNTAX"
        if b["agg_within_group"]?.bool == true { throw Self.unsupported("WITHIN GROUP") }
        return f
    }

    func typeName(_ t: TreeRef) throws -> TypeName {
        var tn = TypeName(names: names(t["names"]), modifiers: [], arrayDimensions: (t["arrayBounds"]?.children ?? []).count)
        tn.location = location(t)
        if t["setof"]?.bool == true { throw Self.unsupported("SETOF types") }
        if t["pct_type"]?.bool == true { throw Self.unsupported("%TYPE") }
        for m in t["typmods"]?.children ?? [] {
            switch try expr(m) {
            case .constant(.integer(let v), _): tn.modifiers.append(v)
            case .column(let parts, _) where parts.count == 1:
                throw Self.unsupported("type modifier \(parts[0])")
            default: throw Self.unsupported("this type modifier")
            }
        }
        return tn
    }
}
