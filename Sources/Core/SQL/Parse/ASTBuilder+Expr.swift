import DriftCore

extension ASTBuilder {
    mutating func expr() throws -> Expr {
        try node { b, kind in try b.exprBody(kind) }
    }

    /// Reads the body of a node of `kind` (its kind already read).
    mutating func exprBody(_ kind: String) throws -> Expr {
        switch kind {
        case "ColumnRef": return try columnRef()
        case "A_Const": return try constant()
        case "ParamRef":
            var n = 0, loc = 0
            try fields { b, k in
                if k == "number" { n = Int(try b.r.int()) } else if k == "location" { loc = Int(try b.r.int()) } else { try b.r.skip() }
            }
            return .parameter(n, location: loc)
        case "A_Expr": return try aExpr()
        case "BoolExpr": return try boolExpr()
        case "NullTest":
            var arg: Expr?
            var negated = false
            try fields { b, k in
                if k == "arg" { arg = try b.expr() } else if k == "nulltesttype" { negated = try b.r.string() == "IS_NOT_NULL" } else { try b.r.skip() }
            }
            guard let arg else { throw r.fail("NullTest without an argument") }
            return .isNull(arg, negated: negated)
        case "BooleanTest":
            var arg: Expr?
            var test = BoolTest.isTrue
            try fields { b, k in
                if k == "arg" { arg = try b.expr() } else if k == "booltesttype" {
                    let s = try b.r.string()
                    guard let t = BoolTest(rawValue: s) else { throw ASTBuilder.unsupported(s) }
                    test = t
                } else { try b.r.skip() }
            }
            guard let arg else { throw r.fail("BooleanTest without an argument") }
            return .boolTest(arg, test)
        case "TypeCast":
            var arg: Expr?
            var type: TypeName?
            var loc = 0
            try fields { b, k in
                switch k {
                case "arg": arg = try b.expr()
                case "typeName": type = try b.typeName()
                case "location": loc = Int(try b.r.int())
                default: try b.r.skip()
                }
            }
            guard let arg, let type else { throw r.fail("TypeCast without an argument or a type") }
            return .cast(arg, type, location: loc)
        case "FuncCall": return try funcCall()
        case "A_Star": try r.skip(); return .star(qualifier: nil, location: 0)
        case "SubLink": throw ASTBuilder.unsupported("subqueries")
        case "CaseExpr": throw ASTBuilder.unsupported("CASE")
        case "CoalesceExpr": throw ASTBuilder.unsupported("COALESCE")
        default: throw ASTBuilder.unsupported(kind)
        }
    }

    mutating func columnRef() throws -> Expr {
        var parts: [String] = []
        var star = false
        var loc = 0
        try fields { b, k in
            switch k {
            case "fields":
                _ = try b.list { b -> Void in
                    try b.node { b, kind in
                        if kind == "A_Star" {
                            try b.r.skip()
                            star = true
                        } else if kind == "String" {
                            try b.fields { b, k in if k == "sval" { parts.append(try b.r.string()) } else { try b.r.skip() } }
                        } else {
                            throw ASTBuilder.unsupported(kind)
                        }
                    }
                }
            case "location": loc = Int(try b.r.int())
            default: try b.r.skip()
            }
        }
        if star { return .star(qualifier: parts.last, location: loc) }
        return .column(parts, location: loc)
    }

    mutating func constant() throws -> Expr {
        var lit = Literal.null
        var loc = 0
        var sawInt = false
        var ival: Int64?
        try fields { b, k in
            switch k {
            case "ival":
                sawInt = true
                try b.fields { b, k in if k == "ival" { ival = try b.r.int() } else { try b.r.skip() } }
            case "fval":
                try b.fields { b, k in if k == "fval" { lit = .numeric(try b.r.string()) } else { try b.r.skip() } }
            case "sval":
                lit = .string("")
                try b.fields { b, k in if k == "sval" { lit = .string(try b.r.string()) } else { try b.r.skip() } }
            case "bsval":
                try b.fields { b, k in if k == "bsval" { lit = .string(try b.r.string()) } else { try b.r.skip() } }
            case "boolval":
                lit = .bool(false)
                try b.fields { b, k in if k == "boolval" { lit = .bool(try b.r.bool()) } else { try b.r.skip() } }
            case "isnull": _ = try b.r.bool(); lit = .null
            case "location": loc = Int(try b.r.int())
            default: try b.r.skip()
            }
        }
        // libpg_query 15's JSON prints zero and negative integer constants as "ival": {}. A
        // negative one was written `-N` (the grammar folds the sign into the constant and
        // points at the minus); anything else there, or no location (a constant the grammar
        // made up, such as FETCH FIRST ROW's 1 or BEGIN READ WRITE's 0), is a zero.
        if sawInt { lit = .integer(ival ?? negativeInteger(at: loc) ?? 0) }
        return .constant(lit, location: loc)
    }

    /// The value of `- N` written at byte `location` of the statement, if that is what is there.
    func negativeInteger(at location: Int) -> Int64? {
        guard location >= 0, location < source.count, source[location] == UInt8(ascii: "-") else { return nil }
        var lexer = Lexer(bytes: source, at: location)
        guard let minus = try? lexer.next(), minus.isOp("-"), let n = try? lexer.next(), n.kind == .integer,
              let v = Int64("-" + n.text) else { return nil }
        return v
    }

    mutating func aExpr() throws -> Expr {
        var kind = "", name = "", loc = 0
        var left: Expr?, right: Expr?
        var rightList: [Expr]?
        try fields { b, k in
            switch k {
            case "kind": kind = try b.r.string()
            case "name": name = try b.names().last ?? ""
            case "lexpr": left = try b.expr()
            case "rexpr":
                if b.r.peek() == 91 {
                    rightList = try b.list { try $0.expr() }
                } else {
                    try b.node { b, kind in
                        if kind == "List" {
                            try b.fields { b, k in
                                if k == "items" { rightList = try b.list { try $0.expr() } } else { try b.r.skip() }
                            }
                        } else {
                            right = try b.exprBody(kind)
                        }
                    }
                }
            case "location": loc = Int(try b.r.int())
            default: try b.r.skip()
            }
        }
        func operand(_ e: Expr?) throws -> Expr {
            guard let e else { throw r.fail("\(kind) without an operand") }
            return e
        }
        switch kind {
        case "AEXPR_OP":
            return .op(name, left: left, right: try operand(right), location: loc)
        case "AEXPR_IN":
            return .inList(try operand(left), try rightList ?? [operand(right)], negated: name == "<>", location: loc)
        case "AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN":
            guard let l = rightList, l.count == 2 else { throw r.fail("BETWEEN without two bounds") }
            return .between(try operand(left), low: l[0], high: l[1], negated: kind == "AEXPR_NOT_BETWEEN", location: loc)
        case "AEXPR_LIKE", "AEXPR_ILIKE":
            return .like(try operand(left), pattern: try operand(right), caseInsensitive: kind == "AEXPR_ILIKE",
                         negated: name.hasPrefix("!"), location: loc)
        case "AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT": throw ASTBuilder.unsupported("IS DISTINCT FROM")
        case "AEXPR_NULLIF": throw ASTBuilder.unsupported("NULLIF")
        case "AEXPR_OP_ANY", "AEXPR_OP_ALL": throw ASTBuilder.unsupported("ANY/ALL")
        case "AEXPR_SIMILAR": throw ASTBuilder.unsupported("SIMILAR TO")
        default: throw ASTBuilder.unsupported(kind)
        }
    }

    mutating func boolExpr() throws -> Expr {
        var op = ""
        var args: [Expr] = []
        try fields { b, k in
            if k == "boolop" { op = try b.r.string() } else if k == "args" { args = try b.list { try $0.expr() } } else { try b.r.skip() }
        }
        switch op {
        case "AND_EXPR": return .and(args)
        case "OR_EXPR": return .or(args)
        default: return .not(args[0])
        }
    }

    mutating func funcCall() throws -> Expr {
        var name: [String] = []
        var args: [Expr] = []
        var star = false, distinct = false
        var loc = 0
        try fields { b, k in
            switch k {
            case "funcname": name = try b.names()
            case "args": args = try b.list { try $0.expr() }
            case "agg_star": star = try b.r.bool()
            case "agg_distinct": distinct = try b.r.bool()
            case "location": loc = Int(try b.r.int())
            case "over": try b.r.skip(); throw ASTBuilder.unsupported("window functions")
            case "agg_filter": try b.r.skip(); throw ASTBuilder.unsupported("FILTER")
            case "agg_order": try b.r.skip(); throw ASTBuilder.unsupported("ordered aggregates")
            default: try b.r.skip()
            }
        }
        return .function(name: name, args: args, star: star, distinct: distinct, location: loc)
    }

    mutating func typeName() throws -> TypeName {
        var t = TypeName(names: [], modifiers: [], arrayDimensions: 0)
        try fields { b, k in
            switch k {
            case "names": t.names = try b.names()
            case "typmods":
                t.modifiers = try b.list { b in
                    guard case .constant(.integer(let v), _) = try b.expr() else { throw ASTBuilder.unsupported("type modifier") }
                    return v
                }
            case "arrayBounds": t.arrayDimensions = try b.list { b -> Int in try b.r.skip(); return 0 }.count
            default: try b.r.skip()
            }
        }
        return t
    }
}
