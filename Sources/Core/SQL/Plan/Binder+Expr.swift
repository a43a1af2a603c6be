import DriftCore
import DriftStorage

/// Where a conversion happens, as PostgreSQL distinguishes them: an implicit cast (operands,
/// function arguments), an assignment (INSERT/UPDATE values), or an explicit CAST.
enum CoercionContext {
    case implicit, assignment, explicit
}

extension Binder {
    static let operatorHint = "No operator matches the given name and argument types. You might need to add explicit type casts."

    func noOperator(_ name: String, _ a: BoundExpr?, _ b: BoundExpr, location: Int?) -> SQLError {
        let left = a.map { ($0.isUntypedLiteral ? "unknown" : $0.type.name) + " " } ?? ""
        return SQLError(.undefinedFunction, "operator does not exist: \(left)\(name) \(b.isUntypedLiteral ? "unknown" : b.type.name)",
                        hint: Self.operatorHint, position: sqlPosition(location))
    }

    // MARK: Coercion

    /// Converts `e` to `type`: an untyped literal is read as that type's input (errors point at
    /// it), a parameter takes the type, anything else gets a cast the context allows.
    func coerce(_ e: BoundExpr, to type: SQLType, context: CoercionContext, location: Int?) throws -> BoundExpr {
        if case .unknown = type { return e }
        if case .reg(let kind) = type, let r = try regInput(e, kind, location: location) { return r }
        if case .reg(let kind) = e.type, context != .implicit, TypeRules.category(type) == .string {
            return try coerce(.function(CatalogFunctions.regOut(kind), [e], .text), to: type, context: context, location: location)
        }
        switch e {
        case .constant(let v, nil):
            let resultType = type.base == .numeric ? type : type.base
            do {
                if v.isNull { return .constant(.null, resultType) }
                switch type.base {
                case .date, .time, .timestamp, .timestamptz, .interval: cacheable = false  // read in the session's zone and clock
                default: break
                }
                return .constant(try Coercion.cast(v, from: .unknown, to: type, explicit: context == .explicit, dateTime), resultType)
            } catch var err as SQLError {
                err.position = err.position ?? sqlPosition(location)
                throw err
            }
        case .parameter(let n, .unknown):
            setParameterType(n, type)
            return .parameter(n, type)
        default:
            break
        }
        let from = e.type
        if from == type { return e }
        let allowed: Bool
        switch TypeRules.castKind(from, to: type) {
        case .implicit?: allowed = true
        case .assignment?: allowed = context != .implicit
        case .explicit?: allowed = context == .explicit
        case nil: allowed = false
        }
        guard allowed else {
            if context == .explicit || TypeRules.castKind(from, to: type) == nil {
                throw SQLError(SQLState("42846"), "cannot cast type \(from.name) to \(type.name)", position: sqlPosition(location))
            }
            throw SQLError(.datatypeMismatch, "expression is of type \(from.name), which cannot be used as \(type.name)",
                           hint: "You will need to rewrite or cast the expression.", position: sqlPosition(location))
        }
        if case .constant(let v, let t) = e {
            do {
                return .constant(try Coercion.cast(v, from: t, to: type, explicit: context == .explicit, dateTime), type.base == .numeric ? type : type.base)
            } catch var err as SQLError {
                err.position = err.position ?? sqlPosition(location)
                throw err
            }
        }
        return .cast(e, type, explicit: context == .explicit)
    }

    /// A name read as regclass (or another reg* type): a literal is looked up now, in the
    /// statement's catalog (42P01 and friends point at it); text computed at run time or a
    /// parameter goes through the type's input function. Numbers are OIDs already (nil).
    func regInput(_ e: BoundExpr, _ kind: RegKind, location: Int?) throws -> BoundExpr? {
        switch e {
        case .constant(.null, _):
            return .constant(.null, .reg(kind))
        case .constant(.text(let s), let t) where t == nil || t.map({ TypeRules.category($0) == .string }) == true:
            let view = CatalogView(catalog: catalogOverride ?? txn.catalog, session: session, engine: engine)
            do {
                return .constant(.int(try view.regValue(s, kind)), .reg(kind))
            } catch var err as SQLError {
                err.position = err.position ?? sqlPosition(location)
                throw err
            }
        case .parameter(let n, .unknown):
            setParameterType(n, .text)
            return .function(CatalogFunctions.regIn(kind), [.parameter(n, .text)], .reg(kind))
        default:
            if TypeRules.category(e.type) == .string || e.type == .unknown {
                return .function(CatalogFunctions.regIn(kind), [e], .reg(kind))
            }
            return nil
        }
    }

    func setParameterType(_ n: Int, _ type: SQLType) {
        while parameterTypes.count < n { parameterTypes.append(nil) }
        if parameterTypes[n - 1] == nil || parameterTypes[n - 1] == .unknown { parameterTypes[n - 1] = type }
    }

    /// A condition (WHERE, HAVING, ON, CASE WHEN, CHECK): boolean, an untyped literal read as one.
    func bindCondition(_ e: Expr, _ scope: BlockScope, context: String) throws -> BoundExpr {
        let b = try bindExpr(e, scope)
        if b.isUntypedLiteral || b.type == .unknown { return try coerce(b, to: .bool, context: .implicit, location: e.location) }
        guard b.type == .bool else {
            throw SQLError(.datatypeMismatch, "argument of \(context) must be type boolean, not type \(b.type.name)",
                           position: sqlPosition(e.location))
        }
        return b
    }

    // MARK: Expressions

    func bindExpr(_ e: Expr, _ scope: BlockScope) throws -> BoundExpr {
        try enter()
        defer { depth -= 1 }
        return try fold(try bindExprUnfolded(e, scope))
    }

    /// PostgreSQL's constant folding: a strict operator with a NULL constant operand is NULL
    /// (its other operand is never evaluated), AND/OR with a deciding constant are decided, and
    /// an immutable expression over constants is evaluated once, here (its errors too).
    func fold(_ e: BoundExpr) throws -> BoundExpr {
        func isNullConstant(_ x: BoundExpr) -> Bool {
            if case .constant(.null, _) = x { return true }
            return false
        }
        switch e {
        case .compare(_, let a, let b), .arith(_, let a, let b, _), .concat(let a, let b):
            if isNullConstant(a) || isNullConstant(b) { return .constant(.null, e.type) }
        case .negate(let a, _):
            if isNullConstant(a) { return .constant(.null, e.type) }
        case .function(let f, let args, let t):
            if f.strict && args.contains(where: isNullConstant) { return .constant(.null, t) }
        case .and(let xs):
            if xs.contains(where: { if case .constant(.bool(false), _) = $0 { return true }; return false }) {
                return .constant(.bool(false), .bool)
            }
            let rest = xs.filter { if case .constant(.bool(true), _) = $0 { return false }; return true }
            if rest.isEmpty { return .constant(.bool(true), .bool) }
            if rest.allSatisfy(isNullConstant) { return .constant(.null, .bool) }
            if rest.count == 1 && !isNullConstant(rest[0]) { return rest[0] }
            return rest.count == xs.count ? e : .and(rest)
        case .or(let xs):
            if xs.contains(where: { if case .constant(.bool(true), _) = $0 { return true }; return false }) {
                return .constant(.bool(true), .bool)
            }
            let rest = xs.filter { if case .constant(.bool(false), _) = $0 { return false }; return true }
            if rest.isEmpty { return .constant(.bool(false), .bool) }
            if rest.allSatisfy(isNullConstant) { return .constant(.null, .bool) }
            if rest.count == 1 && !isNullConstant(rest[0]) { return rest[0] }
            return rest.count == xs.count ? e : .or(rest)
        case .not(let a):
            if isNullConstant(a) { return .constant(.null, .bool) }
        default:
            break
        }
        // Everything constant and immutable: evaluate now.
        if deferFolding > 0 { return e }
        switch e {
        case .constant, .slot, .outer, .parameter, .subquery, .aggRef, .windowRef, .array: return e
        case .function(let f, _, _):
            switch f.body {
            case .nullary, .context: return e
            default: if f.volatile { return e }
            }
        default: break
        }
        guard !e.children.isEmpty, e.children.allSatisfy({ x in
            if case .constant(_, let t) = x { return t != nil }
            return false
        }) else { return e }
        let ctx = ExecContext(engine: engine, txn: txn, session: session, parameters: [], transactionTime: 0, statementTime: 0)
        let v = try ExprCompiler.compile(e, ctx)(UnsafeBufferPointer(start: nil, count: 0))
        return .constant(v, e.type)
    }

    func bindExprUnfolded(_ e: Expr, _ scope: BlockScope) throws -> BoundExpr {
        switch e {
        case let .column(parts, loc):
            return try scope.resolve(parts, location: loc)
        case let .star(_, loc):
            throw SQLError(.syntaxError, "\"*\" is not allowed here", position: sqlPosition(loc))
        case let .constant(lit, loc):
            return try constant(lit, location: loc)
        case let .parameter(n, loc):
            guard n >= 1, n <= 65535 else {
                throw SQLError(.undefinedParameter, "there is no parameter $\(n)", position: sqlPosition(loc))
            }
            while parameterTypes.count < n { parameterTypes.append(nil) }
            return .parameter(n, parameterTypes[n - 1] ?? .unknown)
        case let .op(name, left, right, loc):
            return try bindOperator(name, left, right, scope, location: loc)
        case .and(let xs):
            return .and(try xs.map { try bindCondition($0, scope, context: "AND") })
        case .or(let xs):
            return .or(try xs.map { try bindCondition($0, scope, context: "OR") })
        case .not(let x):
            return .not(try bindCondition(x, scope, context: "NOT"))
        case let .isNull(x, negated):
            var b = try bindExpr(x, scope)
            if b.isUntypedLiteral { b = try coerce(b, to: .text, context: .implicit, location: x.location) }
            return .isNull(b, negated: negated)
        case let .boolTest(x, t):
            return .boolTest(try bindCondition(x, scope, context: "IS \(t)"), t)
        case let .cast(x, typeName, loc):
            let type = try resolveType(typeName)
            let inner = try bindExpr(x, scope)
            return try coerce(inner, to: type, context: .explicit, location: x.location ?? loc)
        case let .inList(x, items, negated, loc):
            return try bindInList(x, items, negated: negated, scope, location: loc)
        case let .between(x, low, high, negated, symmetric, loc):
            let v = try bindExpr(x, scope), lo = try bindExpr(low, scope), hi = try bindExpr(high, scope)
            let ge = try compare(.ge, v, lo, location: loc), le = try compare(.le, v, hi, location: loc)
            var both = try fold(.and([ge, le]))
            if symmetric {
                let ge2 = try compare(.ge, v, hi, location: loc), le2 = try compare(.le, v, lo, location: loc)
                both = try fold(.or([both, try fold(.and([ge2, le2]))]))
            }
            return negated ? .not(both) : both
        case let .like(x, pattern, escape, ci, negated, loc):
            var a = try bindExpr(x, scope), p = try bindExpr(pattern, scope)
            if a.isUntypedLiteral { a = try coerce(a, to: .text, context: .implicit, location: loc) }
            a = try textOperand(a, "~~", p, location: loc)
            p = try textOperand(try coerce(p, to: .text, context: .implicit, location: loc), "~~", a, location: loc)
            let esc = try escape.map { try coerce(try bindExpr($0, scope), to: .text, context: .implicit, location: loc) }
            return .like(a, p, escape: esc, caseInsensitive: ci, negated: negated)
        case let .similar(x, pattern, escape, negated, loc):
            let a = try textOperand(try coerce(try bindExpr(x, scope), to: .text, context: .implicit, location: loc), "~", nil, location: loc)
            let p = try coerce(try bindExpr(pattern, scope), to: .text, context: .implicit, location: loc)
            let esc = try escape.map { try coerce(try bindExpr($0, scope), to: .text, context: .implicit, location: loc) }
            let regex = BoundExpr.function(BuiltinFunctions.similarToRegex, [p] + (esc.map { [$0] } ?? []), .text)
            let m = BoundExpr.function(BuiltinFunctions.regexMatch(caseInsensitive: false), [a, regex], .bool)
            return negated ? .not(m) : m
        case .function(let f):
            return try bindFunctionCall(f, scope)
        case let .subquery(q, kind, test, loc):
            return try bindSubquery(q, kind: kind, test: test, scope, location: loc)
        case let .caseWhen(operand, whens, otherwise, loc):
            return try bindCase(operand, whens, otherwise, scope, location: loc)
        case let .coalesce(xs, loc):
            deferFolding += 1
            let bound: [BoundExpr]
            do {
                defer { deferFolding -= 1 }
                bound = try xs.map { try bindExpr($0, scope) }
            }
            let t = try commonType(bound, context: "COALESCE", location: loc)
            return try simplifyConditional(.coalesce(try bound.map { try coerce($0, to: t, context: .implicit, location: loc) }, t))
        case let .nullIf(a, b, loc):
            let x = try bindExpr(a, scope), y = try bindExpr(b, scope)
            let (cx, cy) = try comparedOperands(.eq, x, y, location: loc)
            // PostgreSQL returns the first operand of the implied `=`, promoted when that
            // operator is not a cross-type one: an integer compared with numeric is numeric,
            // integer or numeric compared with a float is double precision, varchar or char
            // compared with text is text. Otherwise the first operand's own type.
            var first = x.isUntypedLiteral ? cx : x
            if !x.isUntypedLiteral && !y.isUntypedLiteral {
                let a = x.type.base, b = y.type.base
                let isFloat: (SQLType) -> Bool = { $0 == .float4 || $0 == .float8 }
                func stringKind(_ t: SQLType) -> Int {
                    switch t {
                    case .text: return 1
                    case .varchar: return 2
                    case .bpchar: return 3
                    default: return 0
                    }
                }
                let (ka, kb) = (stringKind(a), stringKind(b))
                var promoted: SQLType?
                if a.isInteger && b == .numeric { promoted = .numeric }
                if (a.isInteger || a == .numeric) && isFloat(b) { promoted = .float8 }
                if ka > 1 && kb > 0 && ka != kb { promoted = .text }
                if let p = promoted { first = try coerce(x, to: p, context: .implicit, location: loc) }
            }
            return .nullIf(first, cy, first.type == .unknown ? .text : first.type)
        case let .greatest(xs, loc), let .least(xs, loc):
            let bound = try xs.map { try bindExpr($0, scope) }
            var least = false
            if case .least = e { least = true }
            let t = try commonType(bound, context: least ? "LEAST" : "GREATEST", location: loc)
            return .greatest(try bound.map { try comparable(try coerce($0, to: t, context: .implicit, location: loc)) }, t, least: least)
        case let .distinctFrom(a, b, negated, loc):
            let (x, y) = try comparedOperands(.eq, try bindExpr(a, scope), try bindExpr(b, scope), location: loc)
            return .distinctFrom(x, y, negated: negated)
        case let .anyArray(a, op, b, all, loc):
            return try bindAnyArray(a, op, b, all: all, scope, location: loc)
        case let .row(_, loc):
            throw SQLError.notSupported("row constructors in this position", position: sqlPosition(loc))
        case let .array(xs, loc):
            let bound = try xs.map { try bindExpr($0, scope) }
            let t = bound.isEmpty ? SQLType.text : try commonType(bound, context: "ARRAY", location: loc)
            return .array(try bound.map { try coerce($0, to: t, context: .implicit, location: loc) }, .array(t))
        case let .subscripted(base, index, upper, slice, loc):
            return try bindSubscript(base, index: index, upper: upper, slice: slice, scope, location: loc)
        case let .field(base, name, loc):
            let record = try bindExpr(base, scope)
            guard case .record(let fields) = record.type else {
                throw SQLError.notSupported("field selection from a value of type \(record.type.name)", position: sqlPosition(loc))
            }
            guard let k = fields.firstIndex(where: { $0.name == name }) else {
                throw SQLError(.undefinedColumn, "could not identify column \"\(name)\" in record data type", position: sqlPosition(loc))
            }
            let f = ScalarFunction("record_field", .unary { v in
                guard case .array(let xs) = v, k < xs.count else { return .null }
                return xs[k]
            })
            return .function(f, [record], fields[k].type)
        case let .collate(x, names, loc):
            let coll = (names.last ?? "").lowercased()
            guard ["c", "posix", "default", "ucs_basic"].contains(coll) else {
                throw SQLError(.undefinedObject, "collation \"\(names.last ?? "")\" for encoding \"UTF8\" does not exist", position: sqlPosition(loc))
            }
            return try bindExpr(x, scope)
        case let .sqlValue(op, _, loc):
            return try sqlValue(op, location: loc)
        case let .defaultValue(loc):
            throw SQLError(.syntaxError, "DEFAULT is not allowed in this context", position: sqlPosition(loc))
        case let .groupingSet(_, _, loc):
            throw SQLError(.syntaxError, "grouping sets are only allowed in GROUP BY", position: sqlPosition(loc))
        case let .groupingFunc(_, loc):
            throw SQLError.notSupported("GROUPING()", position: sqlPosition(loc))
        }
    }

    func constant(_ lit: Literal, location: Int) throws -> BoundExpr {
        switch lit {
        case .integer(let i):
            return .constant(.int(i), i >= Int64(Int32.min) && i <= Int64(Int32.max) ? .int4 : .int8)
        case .numeric(let n):
            // An integer too big for int4 but within int8 is an int8 constant (PostgreSQL's make_const).
            if let i = Int64(n) { return .constant(.int(i), i >= Int64(Int32.min) && i <= Int64(Int32.max) ? .int4 : .int8) }
            return .constant(.numeric(try Numeric.parse(n)), .numeric)
        case .string(let s): return .constant(.text(s), nil)
        case .bool(let b): return .constant(.bool(b), .bool)
        case .null: return .constant(.null, nil)
        case .bitString:
            throw SQLError.notSupported("bit-string constants", position: sqlPosition(location))
        }
    }

    /// SQL's value functions (CURRENT_DATE, CURRENT_TIMESTAMP, CURRENT_USER, ...).
    func sqlValue(_ op: String, location: Int) throws -> BoundExpr {
        switch op {
        case "SVFOP_CURRENT_TIMESTAMP", "SVFOP_CURRENT_TIMESTAMP_N":
            return .function(BuiltinFunctions.now, [], .timestamptz)
        case "SVFOP_LOCALTIMESTAMP", "SVFOP_LOCALTIMESTAMP_N":
            return .cast(.function(BuiltinFunctions.now, [], .timestamptz), .timestamp, explicit: false)
        case "SVFOP_CURRENT_DATE":
            return .cast(.function(BuiltinFunctions.now, [], .timestamptz), .date, explicit: false)
        case "SVFOP_CURRENT_USER", "SVFOP_USER", "SVFOP_CURRENT_ROLE":
            return .function(BuiltinFunctions.currentUser, [], .text)
        case "SVFOP_SESSION_USER":
            return .function(BuiltinFunctions.sessionUser, [], .text)
        case "SVFOP_CURRENT_CATALOG": return .constant(.text("driftdb"), .text)
        case "SVFOP_CURRENT_SCHEMA": return .constant(searchPath.first.map { .text($0) } ?? .null, .text)
        default:
            throw SQLError.notSupported(op.replacingPrefix("SVFOP_", with: ""), position: sqlPosition(location))
        }
    }

    // MARK: Operators

    /// An operand of a text operator: char(n) loses its padding, other strings pass.
    func textOperand(_ e: BoundExpr, _ op: String, _ other: BoundExpr?, location: Int) throws -> BoundExpr {
        switch e.type {
        case .text, .varchar: return e
        case .bpchar: return .cast(e, .text, explicit: false)
        case .unknown: return try coerce(e, to: .text, context: .implicit, location: location)
        default:
            throw noOperator(op, e, other ?? e, location: location)
        }
    }

    /// Makes a value comparable as SQL compares its type: char(n) compares without its padding.
    func comparable(_ e: BoundExpr) throws -> BoundExpr {
        if case .enumeration(let en) = e.type { return .function(Binder.enumOrdinal(en), [e], .int4) }
        if case .bpchar = e.type {
            if case .constant(let v, let t) = e { return .constant(try Coercion.cast(v, from: t, to: .text, explicit: false, dateTime), .text) }
            return .cast(e, .text, explicit: false)
        }
        return e
    }

    /// Both operands of a comparison in one type, as PostgreSQL's operator resolution picks it.
    func unify(_ a: BoundExpr, _ b: BoundExpr, op: String, location: Int?) throws -> (BoundExpr, BoundExpr) {
        switch (a.isUntypedLiteral || a.type == .unknown, b.isUntypedLiteral || b.type == .unknown) {
        case (true, true):
            return (try coerce(a, to: .text, context: .implicit, location: location), try coerce(b, to: .text, context: .implicit, location: location))
        case (true, false):
            let t = b.type == .varchar(nil) || { if case .varchar = b.type { return true }; return false }() ? SQLType.text : b.type
            return (try comparable(try coerce(a, to: t, context: .implicit, location: location)), try comparable(b))
        case (false, true):
            let t = { if case .varchar = a.type { return true }; return false }() ? SQLType.text : a.type
            return (try comparable(a), try comparable(try coerce(b, to: t, context: .implicit, location: location)))
        default:
            let x = try comparable(a), y = try comparable(b)
            if x.type == y.type { return (x, y) }
            switch (TypeRules.category(x.type), TypeRules.category(y.type)) {
            case (.numeric, .numeric), (.datetime, .datetime):
                guard let t = try? TypeRules.common([x.type, y.type], context: "", location: nil) else { break }
                // Integers of any width compare as they are (one representation).
                if x.type.isInteger && y.type.isInteger { return (x, y) }
                // real against any other number resolves to PostgreSQL's mixed real/double
                // operators (float48eq ...): both compare as double precision.
                if (x.type == .float4) != (y.type == .float4), TypeRules.numericRank(x.type) != nil, TypeRules.numericRank(y.type) != nil {
                    return (try coerce(x, to: .float8, context: .implicit, location: location),
                            try coerce(y, to: .float8, context: .implicit, location: location))
                }
                return (try coerce(x, to: t, context: .implicit, location: location), try coerce(y, to: t, context: .implicit, location: location))
            case (.string, .string):
                return (x, y)
            case (.array, .array):
                if case .array(let ea) = x.type, case .array(let eb) = y.type,
                   let t = try? TypeRules.common([ea, eb], context: "", location: nil) {
                    return (try coerce(x, to: .array(t), context: .implicit, location: location),
                            try coerce(y, to: .array(t), context: .implicit, location: location))
                }
            default: break
            }
            throw noOperator(op, a, b, location: location)
        }
    }

    func compare(_ op: CompareOp, _ a: BoundExpr, _ b: BoundExpr, location: Int?) throws -> BoundExpr {
        let (x, y) = try comparedOperands(op, a, b, location: location)
        return try fold(.compare(op, x, y))
    }

    /// The operands of `a op b` in the type they compare in (for syntax built on a comparison).
    func comparedOperands(_ op: CompareOp, _ a: BoundExpr, _ b: BoundExpr, location: Int?) throws -> (BoundExpr, BoundExpr) {
        let (x, y) = try unify(a, b, op: op.rawValue, location: location)
        if x.type == .json {
            throw noOperator(op.rawValue, x, y, location: location)
        }
        return (x, y)
    }

    func bindOperator(_ rawName: String, _ left: Expr?, _ right: Expr, _ scope: BlockScope, location: Int) throws -> BoundExpr {
        let name = rawName == "!=" ? "<>" : rawName
        guard let left else {
            // A minus sign on a numeric literal is part of the literal, as PostgreSQL's grammar
            // folds it: -2147483648 is an integer, -9223372036854775808 a bigint.
            if name == "-", case .constant(let lit, let loc) = right {
                switch lit {
                case .integer(let i) where i != Int64.min:
                    return try constant(.integer(-i), location: loc)
                case .numeric(let n) where !n.hasPrefix("-"):
                    return try constant(.numeric("-" + n), location: loc)
                default: break
                }
            }
            let r = try bindExpr(right, scope)
            switch name {
            case "-":
                if case let .constant(.int(i), t?) = r, t.isInteger {
                    guard i != Int64.min else { throw SQLError(.numericValueOutOfRange, "bigint out of range") }
                    return .constant(try Coercion.checkRange(-i, t), t)
                }
                if case let .constant(.double(d), t?) = r, t.isFloat { return .constant(.double(-d), t) }
                if case let .constant(.numeric(n), t?) = r { return .constant(.numeric(-n), t) }
                let x = r.isUntypedLiteral ? try coerce(r, to: .float8, context: .implicit, location: location) : r
                if x.type == .interval { return try fold(.function(DateTimeSQLFunctions.intervalNeg, [x], .interval)) }
                guard TypeRules.numericRank(x.type) != nil else { throw noOperator(name, nil, x, location: location) }
                return .negate(x, x.type)
            case "+":
                let x = r.isUntypedLiteral ? try coerce(r, to: .float8, context: .implicit, location: location) : r
                guard TypeRules.numericRank(x.type) != nil || x.type == .interval else { throw noOperator(name, nil, x, location: location) }
                return x
            case "~":
                guard r.type.isInteger else { throw noOperator(name, nil, r, location: location) }
                return .function(BuiltinFunctions.bitNot, [r], r.type)
            case "@":
                return try bindFunctionByName("abs", [r], location: location)
            case "|/":
                return try bindFunctionByName("sqrt", [r], location: location)
            case "||/":
                return try bindFunctionByName("cbrt", [r], location: location)
            default:
                throw noOperator(name, nil, r, location: location)
            }
        }
        let l = try bindExpr(left, scope), r = try bindExpr(right, scope)
        if JSONOperators.isJSON(l) || JSONOperators.isJSON(r), CompareOp(rawValue: name) == nil, name != "||",
           let f = JSONOperators.resolve(name, l, r) {
            let (fn, args, type) = try f(self, location)
            return .function(fn, args, type)
        }
        if let op = CompareOp(rawValue: name) { return try compare(op, l, r, location: location) }
        switch name {
        case "+", "-", "*", "/", "%":
            guard let op = ArithOp(rawValue: name) else { throw noOperator(name, l, r, location: location) }
            return try arithmetic(op, l, r, location: location)
        case "||":
            if case .array = l.type { return try bindFunctionByName("array_cat", [l, r], location: location) }
            if case .array = r.type { return try bindFunctionByName("array_cat", [l, r], location: location) }
            if l.type == .jsonb || r.type == .jsonb { return try bindFunctionByName("jsonb_concat", [l, r], location: location) }
            func text(_ e: BoundExpr, _ other: BoundExpr) throws -> BoundExpr {
                if e.isUntypedLiteral || e.type.isText { return try textOperand(e, "||", other, location: location) }
                return .cast(e, .text, explicit: false)
            }
            guard l.isUntypedLiteral || l.type.isText || r.isUntypedLiteral || r.type.isText else {
                if l.type == .bytea && r.type == .bytea { return try bindFunctionByName("bytea_concat", [l, r], location: location) }
                throw noOperator(name, l, r, location: location)
            }
            return .concat(try text(l, r), try text(r, l))
        case "~~", "!~~", "~~*", "!~~*":
            let a = try textOperand(l, name, r, location: location), p = try textOperand(r, name, l, location: location)
            return .like(a, p, escape: nil, caseInsensitive: name.contains("*"), negated: name.hasPrefix("!"))
        case "~", "~*", "!~", "!~*":
            if l.type == .jsonb || r.type == .jsonb { break }
            let a = try textOperand(l, name, r, location: location), p = try textOperand(r, name, l, location: location)
            let m = BoundExpr.function(BuiltinFunctions.regexMatch(caseInsensitive: name.contains("*")), [a, p], .bool)
            return name.hasPrefix("!") ? .not(m) : m
        case "&", "|", "#", "<<", ">>":
            let (x, y) = try integerOperands(l, r, name, location: location)
            return .function(BuiltinFunctions.bitwise(name), [x, y], x.type)
        case "^":
            return try bindFunctionByName("power", [l, r], location: location)
        default:
            break
        }
        throw noOperator(name, l, r, location: location)
    }

    func integerOperands(_ l: BoundExpr, _ r: BoundExpr, _ name: String, location: Int) throws -> (BoundExpr, BoundExpr) {
        var x = l, y = r
        if x.isUntypedLiteral { x = try coerce(x, to: y.isUntypedLiteral ? .int4 : y.type, context: .implicit, location: location) }
        if y.isUntypedLiteral { y = try coerce(y, to: x.type, context: .implicit, location: location) }
        if name == "<<" || name == ">>" {
            guard x.type.isInteger, y.type.isInteger else { throw noOperator(name, l, r, location: location) }
            return (x, try coerce(y, to: .int4, context: .assignment, location: location))
        }
        guard x.type.isInteger, y.type.isInteger else { throw noOperator(name, l, r, location: location) }
        let t = TypeRules.arithmeticResult(x.type, y.type) ?? .int8
        return (try coerce(x, to: t, context: .implicit, location: location), try coerce(y, to: t, context: .implicit, location: location))
    }

    /// `a op b` for + - * / %: PostgreSQL's numeric tower, and date arithmetic.
    func arithmetic(_ op: ArithOp, _ l: BoundExpr, _ r: BoundExpr, location: Int) throws -> BoundExpr {
        var x = l, y = r
        if x.isUntypedLiteral && y.isUntypedLiteral {
            throw SQLError(SQLState("42725"), "operator is not unique: unknown \(op.rawValue) unknown",
                           hint: "Could not choose a best candidate operator. You might need to add explicit type casts.",
                           position: sqlPosition(location))
        }
        // Date arithmetic.
        if let d = try dateArithmetic(op, x, y, location: location) { return d }
        if x.isUntypedLiteral || x.type == .unknown { x = try coerce(x, to: y.type, context: .implicit, location: location) }
        if y.isUntypedLiteral || y.type == .unknown { y = try coerce(y, to: x.type, context: .implicit, location: location) }
        guard let t = TypeRules.arithmeticResult(x.type, y.type) else { throw noOperator(op.rawValue, l, r, location: location) }
        if op == .mod && t.isFloat { throw noOperator(op.rawValue, x, y, location: location) }
        return .arith(op, try coerce(x, to: t, context: .implicit, location: location), try coerce(y, to: t, context: .implicit, location: location), t)
    }

    /// Date and time arithmetic: PostgreSQL's operators over date, time, timestamp[tz] and
    /// interval (an untyped literal beside one of them reads as an interval, as PostgreSQL's
    /// preference for interval among candidate operators makes it).
    func dateArithmetic(_ op: ArithOp, _ l: BoundExpr, _ r: BoundExpr, location: Int) throws -> BoundExpr? {
        func isTemporal(_ e: BoundExpr) -> Bool {
            !e.isUntypedLiteral && [SQLType.date, .time, .timestamp, .timestamptz, .interval].contains(e.type)
        }
        guard isTemporal(l) || isTemporal(r) else { return nil }
        var x = l, y = r
        typealias D = DateTimeSQLFunctions
        func interval(_ e: BoundExpr) throws -> BoundExpr { try coerce(e, to: .interval, context: .implicit, location: location) }
        func fn(_ f: ScalarFunction, _ a: BoundExpr, _ b: BoundExpr, _ t: SQLType) -> BoundExpr { .function(f, [a, b], t) }
        // Untyped literals: beside date with +/- an integer is tried first when it reads as one.
        if x.isUntypedLiteral {
            x = (y.type == .date && op == .add && (try? coerce(x, to: .int4, context: .implicit, location: location)) != nil)
                ? try coerce(x, to: .int4, context: .implicit, location: location) : try interval(x)
        }
        if y.isUntypedLiteral {
            if x.type == .date && (op == .add || op == .sub), let asInt = try? coerce(y, to: .int4, context: .implicit, location: location) {
                y = asInt
            } else if op == .sub && [SQLType.timestamp, .timestamptz, .date, .time].contains(x.type),
                      let same = try? coerce(y, to: x.type, context: .implicit, location: location) {
                y = same
            } else if op == .mul || op == .div {
                y = try coerce(y, to: .float8, context: .implicit, location: location)
            } else {
                y = try interval(y)
            }
        }
        switch (x.type, y.type, op) {
        case (.date, let t, .add) where t.isInteger:
            return fn(BuiltinFunctions.dateAddDays, x, try coerce(y, to: .int4, context: .implicit, location: location), .date)
        case (let t, .date, .add) where t.isInteger:
            return fn(BuiltinFunctions.dateAddDays, y, try coerce(x, to: .int4, context: .implicit, location: location), .date)
        case (.date, let t, .sub) where t.isInteger:
            return fn(BuiltinFunctions.dateAddDays, x, .negate(try coerce(y, to: .int4, context: .implicit, location: location), .int4), .date)
        case (.date, .date, .sub): return fn(BuiltinFunctions.dateDiff, x, y, .int4)
        case (.date, .interval, .add): return fn(D.dateAddInterval, x, y, .timestamp)
        case (.interval, .date, .add): return fn(D.dateAddInterval, y, x, .timestamp)
        case (.date, .interval, .sub): return fn(D.dateSubInterval, x, y, .timestamp)
        case (.date, .time, .add): return fn(D.dateAddTime, x, y, .timestamp)
        case (.time, .date, .add): return fn(D.dateAddTime, y, x, .timestamp)
        case (.timestamp, .interval, .add): return fn(D.timestampAddInterval, x, y, .timestamp)
        case (.interval, .timestamp, .add): return fn(D.timestampAddInterval, y, x, .timestamp)
        case (.timestamp, .interval, .sub): return fn(D.timestampSubInterval, x, y, .timestamp)
        case (.timestamptz, .interval, .add): return fn(D.timestamptzAddInterval, x, y, .timestamptz)
        case (.interval, .timestamptz, .add): return fn(D.timestamptzAddInterval, y, x, .timestamptz)
        case (.timestamptz, .interval, .sub): return fn(D.timestamptzSubInterval, x, y, .timestamptz)
        case (.timestamp, .timestamp, .sub), (.timestamptz, .timestamptz, .sub): return fn(D.timestampDiff, x, y, .interval)
        case (.timestamp, .timestamptz, .sub), (.timestamptz, .timestamp, .sub), (.date, .timestamp, .sub), (.timestamp, .date, .sub),
             (.date, .timestamptz, .sub), (.timestamptz, .date, .sub):
            let t = try TypeRules.common([x.type, y.type], context: "", location: location)
            return fn(D.timestampDiff, try coerce(x, to: t, context: .implicit, location: location),
                      try coerce(y, to: t, context: .implicit, location: location), .interval)
        case (.interval, .interval, .add): return fn(D.intervalAdd, x, y, .interval)
        case (.interval, .interval, .sub): return fn(D.intervalSub, x, y, .interval)
        case (.interval, let t, .mul) where TypeRules.numericRank(t) != nil:
            return fn(D.intervalMul, x, try coerce(y, to: .float8, context: .implicit, location: location), .interval)
        case (let t, .interval, .mul) where TypeRules.numericRank(t) != nil:
            return fn(D.intervalMul, y, try coerce(x, to: .float8, context: .implicit, location: location), .interval)
        case (.interval, let t, .div) where TypeRules.numericRank(t) != nil:
            return fn(D.intervalDiv, x, try coerce(y, to: .float8, context: .implicit, location: location), .interval)
        case (.time, .interval, .add): return fn(D.timeAddInterval, x, y, .time)
        case (.interval, .time, .add): return fn(D.timeAddInterval, y, x, .time)
        case (.time, .interval, .sub): return fn(D.timeSubInterval, x, y, .time)
        case (.time, .time, .sub): return fn(D.timeDiff, x, y, .interval)
        default:
            throw noOperator(op.rawValue, l, r, location: location)
        }
    }

    // MARK: IN, ANY, CASE

    func bindInList(_ x: Expr, _ items: [Expr], negated: Bool, _ scope: BlockScope, location: Int) throws -> BoundExpr {
        let l = try bindExpr(x, scope)
        let bound = try items.map { try bindExpr($0, scope) }
        // PostgreSQL resolves `x IN (list)` to one common type when it can, else to x = item for each.
        if let t = try? commonType([l] + bound, context: "IN", location: location) {
            let lx = try comparable(try coerce(l, to: t, context: .implicit, location: location))
            let ys = try bound.map { try comparable(try coerce($0, to: t, context: .implicit, location: location)) }
            if lx.type == .json { throw noOperator("=", lx, lx, location: location) }
            return .inList(lx, ys, negated: negated)
        }
        let eqs = try bound.map { try compare(.eq, l, $0, location: location) }
        return negated ? .not(.or(eqs)) : .or(eqs)
    }

    func bindAnyArray(_ a: Expr, _ opName: String, _ b: Expr, all: Bool, _ scope: BlockScope, location: Int) throws -> BoundExpr {
        guard let op = CompareOp(rawValue: opName == "!=" ? "<>" : opName) else {
            throw SQLError.notSupported("\(opName) ANY/ALL", position: sqlPosition(location))
        }
        let l = try bindExpr(a, scope)
        var r = try bindExpr(b, scope)
        if r.isUntypedLiteral {
            let element = l.isUntypedLiteral ? SQLType.text : l.type
            r = try coerce(r, to: .array(element), context: .implicit, location: location)
        }
        guard case .array(let element) = r.type else {
            throw SQLError(.wrongObjectType, "op ANY/ALL (array) requires array on right side", position: sqlPosition(location))
        }
        let probe = BoundExpr.slot(0, element)
        let (lx, px) = try comparedOperands(op, l, probe, location: location)
        var array = r
        if px.type != element {
            guard case .array = r.type else { throw SQLError.bug("ANY array") }
            array = try coerce(r, to: .array(px.type), context: .implicit, location: location)
        }
        return .anyArray(lx, op, array, all: all)
    }

    /// PostgreSQL's folding of conditionals, applied once to the outermost CASE or COALESCE
    /// after its arms were bound unfolded: a WHEN that folds to false or NULL is dropped
    /// with its result, one that folds to true ends the CASE (later arms are never folded,
    /// so `CASE WHEN false THEN 1/0 ELSE 1 END` is 1), and COALESCE stops at its first
    /// non-null constant. Everything else folds bottom-up as usual, errors included.
    func simplifyConditional(_ e: BoundExpr) throws -> BoundExpr {
        guard deferFolding == 0 else { return e }
        func simplify(_ e: BoundExpr) throws -> BoundExpr {
            switch e {
            case let .caseWhen(whens, otherwise, t):
                var kept: [(BoundExpr, BoundExpr)] = []
                var rest = otherwise
                var ended = false
                for (c, r) in whens {
                    let sc = try simplify(c)
                    if case .constant(let v, _) = sc {
                        if case .bool(true) = v {
                            rest = r
                            ended = true
                            break
                        }
                        continue
                    }
                    kept.append((sc, try simplify(r)))
                }
                _ = ended
                let o = try rest.map(simplify)
                if kept.isEmpty { return o ?? .constant(.null, t) }
                return try fold(.caseWhen(kept, otherwise: o, t))
            case let .coalesce(xs, t):
                var kept: [BoundExpr] = []
                for x in xs {
                    let sx = try simplify(x)
                    if case .constant(.null, _) = sx { continue }
                    kept.append(sx)
                    if case .constant = sx { break }
                }
                if kept.isEmpty { return .constant(.null, t) }
                if kept.count == 1 { return kept[0] }
                return try fold(.coalesce(kept, t))
            default:
                var top = true
                let mapped = try e.rewritten { x in
                    if top { top = false; return nil }
                    return try simplify(x)
                }
                return try fold(mapped)
            }
        }
        return try simplify(e)
    }

    func bindCase(_ operand: Expr?, _ whens: [(Expr, Expr)], _ otherwise: Expr?, _ scope: BlockScope, location: Int) throws -> BoundExpr {
        deferFolding += 1
        let bound: BoundExpr
        do {
            defer { deferFolding -= 1 }
            bound = try bindCaseArms(operand, whens, otherwise, scope, location: location)
        }
        return try simplifyConditional(bound)
    }

    func bindCaseArms(_ operand: Expr?, _ whens: [(Expr, Expr)], _ otherwise: Expr?, _ scope: BlockScope, location: Int) throws -> BoundExpr {
        let subject = try operand.map { try bindExpr($0, scope) }
        var conditions: [BoundExpr] = []
        var results: [BoundExpr] = []
        for (w, r) in whens {
            if let subject {
                conditions.append(try compare(.eq, subject, try bindExpr(w, scope), location: w.location))
            } else {
                conditions.append(try bindCondition(w, scope, context: "CASE/WHEN"))
            }
            results.append(try bindExpr(r, scope))
        }
        let other = try otherwise.map { try bindExpr($0, scope) }
        let t = try commonType(results + (other.map { [$0] } ?? []), context: "CASE", location: location)
        let rs = try results.enumerated().map { try coerce($0.element, to: t, context: .implicit, location: whens[$0.offset].1.location) }
        let o = try other.map { try coerce($0, to: t, context: .implicit, location: otherwise?.location) }
        return .caseWhen(Array(zip(conditions, rs)), otherwise: o, t)
    }

    /// The common type of several expressions (CASE, COALESCE, IN, VALUES): unknown literals
    /// alone resolve to text.
    func commonType(_ xs: [BoundExpr], context: String, location: Int?) throws -> SQLType {
        let types = xs.map { $0.isUntypedLiteral ? SQLType.unknown : $0.type }
        return try TypeRules.common(types, context: context, location: location)
    }

    // MARK: Subqueries

    func bindSubquery(_ q: Query, kind: SubLinkKind, test: Expr?, _ scope: BlockScope, location: Int) throws -> BoundExpr {
        let child = BlockScope(parent: scope, transparent: true)
        // Which of this block's slots the subquery reads: collected apart, then merged back.
        var chain: [BlockScope] = []
        var link: BlockScope? = scope
        while let b = link {
            chain.append(b)
            if !b.transparent { break }
            link = b.parent
        }
        let saved = chain.map(\.slotsReadByChildren)
        for b in chain { b.slotsReadByChildren = [] }
        var blockSlots = Set<Int>()
        let bound: BoundQuery
        do {
            defer {
                for (b, old) in zip(chain, saved) {
                    blockSlots.formUnion(b.slotsReadByChildren)
                    b.slotsReadByChildren.formUnion(old)
                }
            }
            bound = try bindQuery(q, parent: child)
        }
        let correlated = bound.outerDepthMax > 0
        func plan(_ use: SubqueryUse) -> SubqueryPlan {
            let p = SubqueryPlan(query: bound, use: use, correlated: correlated, outer: scope.outerRows)
            p.blockSlots = blockSlots
            return p
        }
        switch kind {
        case .exists:
            return .subquery(plan(.exists), .bool)
        case .scalar:
            guard bound.columns.count == 1 else {
                throw SQLError(.syntaxError, "subquery must return only one column", position: sqlPosition(location))
            }
            return .subquery(plan(.scalar), bound.columns[0].type)
        case .array:
            guard bound.columns.count == 1 else {
                throw SQLError(.syntaxError, "subquery must return only one column", position: sqlPosition(location))
            }
            return .subquery(plan(.array), .array(bound.columns[0].type))
        case .any(let opName), .all(let opName):
            guard let op = CompareOp(rawValue: opName == "!=" ? "<>" : opName) else {
                throw SQLError.notSupported("\(opName) ANY/ALL (subquery)", position: sqlPosition(location))
            }
            var tests: [BoundExpr]
            if case .row(let items, _)? = test {
                tests = try items.map { try bindExpr($0, scope) }
            } else if let test {
                tests = [try bindExpr(test, scope)]
            } else {
                throw SQLError.bug("ANY without a test expression")
            }
            guard tests.count == bound.columns.count else {
                throw SQLError(.syntaxError, bound.columns.count > tests.count ? "subquery has too many columns" : "subquery has too few columns",
                               position: sqlPosition(location))
            }
            // Compare each test value with its subquery column in one type.
            var castColumns: [SQLType] = []
            for (i, t) in tests.enumerated() {
                let probe = BoundExpr.slot(0, bound.columns[i].type)
                let (tx, px) = try comparedOperands(op, t, probe, location: location)
                tests[i] = tx
                castColumns.append(px.type)
            }
            var q2 = bound
            if zip(castColumns, bound.columns).contains(where: { $0 != $1.type }) {
                let exprs = bound.columns.enumerated().map { i, c -> BoundExpr in
                    c.type == castColumns[i] ? .slot(i, c.type) : (c.type == .bpchar(nil) || { if case .bpchar = c.type { return true }; return false }()
                        ? .cast(.slot(i, c.type), .text, explicit: false) : .cast(.slot(i, c.type), castColumns[i], explicit: false))
                }
                q2 = BoundQuery(plan: Plan(.project(bound.plan, exprs), width: exprs.count, rows: bound.plan.rows),
                                columns: zip(bound.columns, castColumns).map { ResultColumn(name: $0.name, type: $1) },
                                outerDepthMax: bound.outerDepthMax)
            }
            let all: Bool
            if case .all = kind { all = true } else { all = false }
            let quantified = SubqueryPlan(query: q2, use: .quantified(op, all: all, test: tests), correlated: correlated, outer: scope.outerRows)
            quantified.blockSlots = blockSlots
            return .subquery(quantified, .bool)
        }
    }

    // MARK: Types

    func resolveType(_ t: TypeName) throws -> SQLType {
        let catalog = catalogOverride ?? txn.catalog
        return try TypeRules.resolve(t) { schema, name in
            for s in schema.map({ [$0] }) ?? self.searchPath {
                if let e = catalog.enumType(schema: s, name) { return .enumeration(e) }
            }
            return nil
        }
    }
}

extension String {
    func replacingPrefix(_ p: String, with r: String) -> String { hasPrefix(p) ? r + dropFirst(p.count) : self }
}

extension Binder {
    /// `a[i]` (NULL outside the array) and `a[i:j]` (the elements in between, as an array).
    /// Arrays count from 1; int2vector and oidvector, as in PostgreSQL's catalogs, from 0.
    func bindSubscript(_ base: Expr, index: Expr?, upper: Expr?, slice: Bool, _ scope: BlockScope, location: Int) throws -> BoundExpr {
        let array = try bindExpr(base, scope)
        let element: SQLType
        var first: Int64 = 1
        switch array.type.base {
        case .array(let e): element = e
        case .vector(let e):
            element = e
            first = 0
        default:
            throw SQLError(.datatypeMismatch, "cannot subscript type \(array.type.name) because it does not support subscripting",
                           position: sqlPosition(location))
        }
        func bound(_ e: Expr?) throws -> BoundExpr? {
            guard let e else { return nil }
            let b = try bindExpr(e, scope)
            // int4, as PostgreSQL: a bigint subscript is cast (22003 out of int4's range, never wrapped).
            guard b.isUntypedLiteral || b.type.isInteger || b.type == .unknown else {
                throw SQLError(.datatypeMismatch, "array subscript must have type integer", position: sqlPosition(e.location))
            }
            return try coerce(b, to: .int4, context: .assignment, location: e.location)
        }
        let lo = try bound(index), hi = try bound(upper)
        if !slice {
            guard let lo else { throw SQLError(.syntaxError, "array subscript is missing", position: sqlPosition(location)) }
            let f = ScalarFunction("array_subscript", .binary { a, i in
                guard case .array(let xs) = a else { return .null }
                let k = try i.int() - first
                return k >= 0 && k < Int64(xs.count) ? xs[Int(k)] : .null
            })
            return .function(f, [array, lo], element)
        }
        let f = ScalarFunction("array_slice", strict: false, .nary { a in
            guard case .array(let xs) = a[0] else { return .null }
            if a.count > 1, a[1].isNull { return .null }
            if a.count > 2, a[2].isNull { return .null }
            let from = max(lo == nil ? 0 : (try a[1].int()) - first, 0)
            let to = min(hi == nil ? Int64(xs.count) - 1 : (try a[a.count - 1].int()) - first, Int64(xs.count) - 1)
            return from > to ? .array([]) : .array(Array(xs[Int(from)...Int(to)]))
        })
        var args = [array]
        if let lo { args.append(lo) } else { args.append(.constant(.int(first), .int4)) }
        if let hi { args.append(hi) }
        return .function(f, args, .array(element))
    }
}
