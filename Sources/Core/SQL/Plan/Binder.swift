import DriftCore

/// Resolves names and types of expressions against a scope, folding untyped literals into
/// the type their context gives them (PostgreSQL's unknown-literal rule).
struct Binder {
    var scope: Scope?
    let parameters: [Value]

    mutating func bind(_ e: Expr) throws -> BoundExpr {
        switch e {
        case let .column(parts, loc):
            guard var s = scope else {
                throw SQLError(.undefinedColumn, "column \"\(parts.joined(separator: "."))\" does not exist", position: sqlPosition(loc))
            }
            let c = try s.resolve(parts, location: loc)
            scope = s
            return .slot(c.slot, c.type)
        case let .star(_, loc):
            throw SQLError(.syntaxError, "\"*\" is not allowed here", position: sqlPosition(loc))
        case let .constant(lit, _):
            switch lit {
            case .integer(let i): return .constant(.int(i), i >= Int64(Int32.min) && i <= Int64(Int32.max) ? .int4 : .int8)
            case .numeric(let n):
                // An integer too big for int4 but within int8 is an int8 constant (PostgreSQL's make_const).
                if let i = Int64(n) { return .constant(.int(i), .int8) }
                guard let d = Double(n), d.isFinite else {
                    throw SQLError(.numericValueOutOfRange, "numeric constant \(n.prefix(30)) is out of the supported range")
                }
                return .constant(.double(d), .numeric)
            case .string(let s): return .constant(.text(s), nil)
            case .bool(let b): return .constant(.bool(b), .bool)
            case .null: return .constant(.null, nil)
            }
        case let .parameter(n, loc):
            guard n >= 1, n <= parameters.count else {
                throw SQLError(.undefinedObject, "there is no parameter $\(n)", position: sqlPosition(loc))
            }
            return .constant(parameters[n - 1], nil)
        case let .op(name, left, right, loc):
            return try bindOperator(name, left, right, location: loc)
        case .and(let xs): return .and(try xs.map { try bindBool($0) })
        case .or(let xs): return .or(try xs.map { try bindBool($0) })
        case .not(let x): return .not(try bindBool(x))
        case let .isNull(x, negated): return .isNull(try bind(x), negated: negated)
        case let .boolTest(x, t): return .boolTest(try bindBool(x), t)
        case let .cast(x, typeName, loc):
            let type = try Self.resolveType(typeName, location: loc)
            let inner = try bind(x)
            if case let .constant(v, t) = inner {
                do {
                    return .constant(try Coercion.cast(v, from: t, to: type, explicit: true), type)
                } catch var err as SQLError {
                    err.position = err.position ?? sqlPosition(x.location)
                    throw err
                }
            }
            return .cast(inner, type)
        case let .inList(x, items, negated, loc):
            var l = try bind(x)
            var bound = try items.map { try bind($0) }
            if l.isUntypedLiteral, let t = bound.first(where: { !$0.isUntypedLiteral })?.type {
                l = try coerce(l, to: t, location: loc)
            }
            bound = try bound.map { try unify(l, $0, op: "=", location: loc).1 }
            if l.isUntypedLiteral { l = try coerce(l, to: .text, location: loc) }
            return .inList(l, bound, negated: negated)
        case let .between(x, low, high, negated, loc):
            let v = try bind(x)
            let ge = try compare(.ge, v, try bind(low), location: loc)
            let le = try compare(.le, v, try bind(high), location: loc)
            let both = BoundExpr.and([ge, le])
            return negated ? .not(both) : both
        case let .like(x, pattern, ci, negated, loc):
            let (a, b) = try unify(try bind(x), try bind(pattern), op: "~~", location: loc)
            guard a.type.isText else {
                throw SQLError(.undefinedFunction, "operator does not exist: \(a.type.name) ~~ \(b.type.name)",
                               hint: "No operator matches the given name and argument types. You might need to add explicit type casts.",
                               position: sqlPosition(loc))
            }
            return .like(a, b, caseInsensitive: ci, negated: negated)
        case let .function(name, args, star, distinct, loc):
            return try bindFunction(name.last ?? "", args, star: star, distinct: distinct, location: loc)
        }
    }

    mutating func bindBool(_ e: Expr) throws -> BoundExpr {
        let b = try bind(e)
        if b.isUntypedLiteral { return try coerce(b, to: .bool, location: e.location ?? 0) }
        guard b.type == .bool || b.type == .unknown else {
            throw SQLError(.datatypeMismatch, "argument of WHERE must be type boolean, not type \(b.type.name)",
                           position: sqlPosition(e.location))
        }
        return b
    }

    /// Gives an untyped literal the type its context needs.
    func coerce(_ e: BoundExpr, to type: SQLType, location: Int) throws -> BoundExpr {
        guard case let .constant(v, nil) = e else { return e }
        do {
            return .constant(try Coercion.cast(v, to: type), type)
        } catch var err as SQLError {
            err.position = err.position ?? sqlPosition(location)
            throw err
        }
    }

    /// Makes both operands of a binary operator comparable.
    func unify(_ a: BoundExpr, _ b: BoundExpr, op: String, location: Int) throws -> (BoundExpr, BoundExpr) {
        switch (a.isUntypedLiteral, b.isUntypedLiteral) {
        case (true, true): return (try coerce(a, to: .text, location: location), try coerce(b, to: .text, location: location))
        case (true, false): return (try coerce(a, to: b.type, location: location), b)
        case (false, true): return (a, try coerce(b, to: a.type, location: location))
        default:
            guard Self.comparable(a.type, b.type) else {
                throw SQLError(.undefinedFunction, "operator does not exist: \(a.type.name) \(op) \(b.type.name)",
                               hint: "No operator matches the given name and argument types. You might need to add explicit type casts.",
                               position: sqlPosition(location))
            }
            // date < timestamp < timestamptz: the lower side is cast up, as PostgreSQL's operators do.
            let rank: (SQLType) -> Int? = { $0 == .date ? 0 : $0 == .timestamp ? 1 : $0 == .timestamptz ? 2 : nil }
            if let ra = rank(a.type), let rb = rank(b.type), ra != rb {
                return ra < rb ? (try castUp(a, to: b.type), b) : (a, try castUp(b, to: a.type))
            }
            return (a, b)
        }
    }

    /// An implicit cast (folded when the operand is a constant).
    func castUp(_ e: BoundExpr, to type: SQLType) throws -> BoundExpr {
        if case let .constant(v, t) = e { return .constant(try Coercion.cast(v, from: t, to: type), type) }
        return .cast(e, type)
    }

    static func comparable(_ a: SQLType, _ b: SQLType) -> Bool {
        let numeric: (SQLType) -> Bool = { $0.isInteger || $0.isFloat || $0 == .numeric }
        if numeric(a) && numeric(b) { return true }
        if a.isText && b.isText { return true }
        if (a == .timestamp || a == .timestamptz || a == .date) && (b == .timestamp || b == .timestamptz || b == .date) { return true }
        if (a == .json || a == .jsonb) && (b == .json || b == .jsonb) { return true }
        return a == b
    }

    func compare(_ op: CompareOp, _ a: BoundExpr, _ b: BoundExpr, location: Int) throws -> BoundExpr {
        let (x, y) = try unify(a, b, op: op.rawValue, location: location)
        return .compare(op, x, y)
    }

    mutating func bindOperator(_ name: String, _ left: Expr?, _ right: Expr, location: Int) throws -> BoundExpr {
        guard let left else {
            let r = try bind(right)
            switch name {
            case "-":
                if case let .constant(.int(i), t) = r {
                    guard i != Int64.min else { throw SQLError(.numericValueOutOfRange, "bigint out of range") }
                    return .constant(try Coercion.checkRange(-i, t ?? .int8), t)
                }
                if case let .constant(.double(d), t) = r { return .constant(.double(-d), t) }
                let x = try coerce(r, to: .numeric, location: location)
                return .negate(x)
            case "+": return try coerce(r, to: .numeric, location: location)
            default: throw SQLError(.undefinedFunction, "operator does not exist: \(name) \(r.type.name)", position: sqlPosition(location))
            }
        }
        let l = try bind(left), r = try bind(right)
        if let op = CompareOp(rawValue: name == "!=" ? "<>" : name) { return try compare(op, l, r, location: location) }
        if let op = ArithOp(rawValue: name) {
            var (x, y) = (l, r)
            if x.isUntypedLiteral { x = try coerce(x, to: y.isUntypedLiteral ? .numeric : y.type, location: location) }
            if y.isUntypedLiteral { y = try coerce(y, to: x.type, location: location) }
            let numeric: (SQLType) -> Bool = { $0.isInteger || $0.isFloat || $0 == .numeric }
            guard numeric(x.type), numeric(y.type) else {
                throw SQLError(.undefinedFunction, "operator does not exist: \(x.type.name) \(name) \(y.type.name)",
                               hint: "No operator matches the given name and argument types. You might need to add explicit type casts.",
                               position: sqlPosition(location))
            }
            return .arith(op, x, y, Self.arithType(x.type, y.type))
        }
        if name == "||" {
            func text(_ e: BoundExpr) throws -> BoundExpr {
                if case .bpchar = e.type { return try castUp(e, to: .text) }
                return try coerce(e, to: .text, location: location)
            }
            return .concat(try text(l), try text(r))
        }
        throw SQLError(.undefinedFunction, "operator does not exist: \(l.type.name) \(name) \(r.type.name)",
                       hint: "No operator matches the given name and argument types. You might need to add explicit type casts.",
                       position: sqlPosition(location))
    }

    static func arithType(_ a: SQLType, _ b: SQLType) -> SQLType {
        if a.isFloat || b.isFloat { return .float8 }
        if a == .numeric || b == .numeric { return .numeric }
        if a == .int8 || b == .int8 { return .int8 }
        if a == .int4 || b == .int4 { return .int4 }
        return .int2
    }

    mutating func bindFunction(_ name: String, _ args: [Expr], star: Bool, distinct: Bool, location: Int) throws -> BoundExpr {
        if ["count", "sum", "avg", "min", "max"].contains(name) {
            throw SQLError.notSupported("aggregate function \(name)")
        }
        let bound = try args.map { try bind($0) }
        func arity(_ n: Int) throws {
            guard bound.count == n else {
                throw SQLError(.undefinedFunction, "function \(name) with \(bound.count) arguments does not exist", position: sqlPosition(location))
            }
        }
        switch name {
        case "lower", "upper", "length":
            try arity(1)
            let a = try coerce(bound[0], to: .text, location: location)
            return .function(name, [a], name == "length" ? .int4 : .text)
        case "abs":
            try arity(1)
            let a = try coerce(bound[0], to: .numeric, location: location)
            return .function(name, [a], a.type)
        case "now", "current_timestamp":
            try arity(0)
            return .function("now", [], .timestamptz)
        case "substring", "substr":
            guard bound.count == 2 || bound.count == 3 else { try arity(3); break }
            let s = try coerce(bound[0], to: .text, location: location)
            guard s.type.isText else {
                throw SQLError(.undefinedFunction, "function \(name)(\(bound.map(\.type.name).joined(separator: ", "))) does not exist",
                               hint: "No function matches the given name and argument types. You might need to add explicit type casts.",
                               position: sqlPosition(location))
            }
            let rest = try bound.dropFirst().map { a -> BoundExpr in
                let c = try coerce(a, to: .int4, location: location)
                guard c.type.isInteger else {
                    throw SQLError(.undefinedFunction, "function \(name)(text, \(c.type.name)) does not exist", position: sqlPosition(location))
                }
                return c
            }
            return .function("substring", [s] + rest, .text)
        case "extract", "date_part", "date_trunc", "to_json", "to_jsonb", "to_char", "age", "make_interval", "generate_series",
             "coalesce", "nullif", "greatest", "least", "concat", "replace", "trim", "btrim", "ltrim", "rtrim", "position",
             "strpos", "left", "right", "repeat", "reverse", "split_part", "round", "trunc", "floor", "ceil", "ceiling",
             "sqrt", "power", "mod", "sign", "random", "gen_random_uuid", "jsonb_build_object", "json_build_object",
             "array_length", "unnest", "array_agg", "string_agg", "clock_timestamp", "statement_timestamp",
             "transaction_timestamp", "current_date", "localtimestamp", "md5", "encode", "decode", "format",
             "regexp_replace", "regexp_match", "char_length", "character_length", "octet_length", "initcap", "lpad", "rpad":
            throw SQLError(.featureNotSupported, "function \(name) is not supported yet", position: sqlPosition(location))
        default:
            throw SQLError(.undefinedFunction, "function \(name) does not exist", position: sqlPosition(location))
        }
        throw SQLError(.undefinedFunction, "function \(name) does not exist", position: sqlPosition(location))
    }

    /// Maps a type name as written to a type.
    static func resolveType(_ t: TypeName, location: Int) throws -> SQLType {
        let name = t.names.last ?? ""
        let base: SQLType
        switch name {
        case "bool", "boolean": base = .bool
        case "int2", "smallint": base = .int2
        case "int4", "int", "integer": base = .int4
        case "int8", "bigint": base = .int8
        case "float4", "real": base = .float4
        case "float8", "double precision": base = .float8
        case "numeric", "decimal": base = .numeric
        case "text": base = .text
        case "varchar": base = .varchar(t.modifiers.first.map { Int($0) })
        case "bpchar", "char": base = .bpchar(t.modifiers.first.map { Int($0) } ?? 1)
        case "bytea": base = .bytea
        case "date": base = .date
        case "timestamp": base = .timestamp
        case "timestamptz": base = .timestamptz
        case "json": base = .json
        case "jsonb": base = .jsonb
        case "time", "timetz", "interval", "uuid", "money", "inet", "cidr", "macaddr", "bit", "varbit", "xml", "point",
             "line", "lseg", "box", "path", "polygon", "circle", "tsvector", "tsquery", "oid", "regclass", "regtype", "name":
            throw SQLError(.featureNotSupported, "type \(name) is not supported yet", position: sqlPosition(location))
        default:
            throw SQLError(.undefinedObject, "type \"\(name)\" does not exist", position: sqlPosition(location))
        }
        return t.arrayDimensions > 0 ? .array(base) : base
    }
}
