import DriftCore

/// A compiled expression: reads the values of one row.
public typealias Eval = (UnsafeBufferPointer<Value>) throws -> Value

/// Compiles bound expressions once per plan into closures, so rows are never
/// re-interpreted from the tree.
enum ExprCompiler {
    struct Context {
        /// Statement time for now(), fixed per statement as in PostgreSQL.
        var statementTime: Int64
    }

    static func compile(_ e: BoundExpr, _ ctx: Context) throws -> Eval {
        switch e {
        case let .slot(i, _):
            return { row in row[i] }
        case let .constant(v, _):
            return { _ in v }
        case let .compare(op, a, b):
            let fa = try compile(a, ctx), fb = try compile(b, ctx)
            return { row in
                let x = try fa(row)
                if x.isNull { return .null }
                let y = try fb(row)
                if y.isNull { return .null }
                guard let c = compareValues(x, y) else {
                    throw SQLError(.datatypeMismatch, "cannot compare \(x.naturalType?.name ?? "?") with \(y.naturalType?.name ?? "?")")
                }
                return .bool(op.holds(c))
            }
        case let .arith(op, a, b, type):
            let fa = try compile(a, ctx), fb = try compile(b, ctx)
            return { row in
                let x = try fa(row)
                if x.isNull { return .null }
                let y = try fb(row)
                if y.isNull { return .null }
                return try arithmetic(op, x, y, type)
            }
        case let .negate(a):
            let fa = try compile(a, ctx)
            return { row in
                switch try fa(row) {
                case .int(let i):
                    guard i != Int64.min else { throw SQLError(.numericValueOutOfRange, "bigint out of range") }
                    return .int(-i)
                case .double(let d): return .double(-d)
                case .null: return .null
                case let v: throw SQLError(.undefinedFunction, "operator does not exist: - \(v.naturalType?.name ?? "?")")
                }
            }
        case let .concat(a, b):
            let fa = try compile(a, ctx), fb = try compile(b, ctx)
            return { row in
                let x = try fa(row), y = try fb(row)
                guard let s = x.pgText, let t = y.pgText else { return .null }
                return .text(s + t)
            }
        case .and(let xs):
            let fs = try xs.map { try compile($0, ctx) }
            return { row in
                var sawNull = false
                for f in fs {
                    switch try f(row) {
                    case .bool(false): return .bool(false)
                    case .null: sawNull = true
                    default: break
                    }
                }
                return sawNull ? .null : .bool(true)
            }
        case .or(let xs):
            let fs = try xs.map { try compile($0, ctx) }
            return { row in
                var sawNull = false
                for f in fs {
                    switch try f(row) {
                    case .bool(true): return .bool(true)
                    case .null: sawNull = true
                    default: break
                    }
                }
                return sawNull ? .null : .bool(false)
            }
        case .not(let x):
            let f = try compile(x, ctx)
            return { row in
                if case .bool(let b) = try f(row) { return .bool(!b) }
                return .null
            }
        case let .isNull(x, negated):
            let f = try compile(x, ctx)
            return { row in .bool(try f(row).isNull != negated) }
        case let .boolTest(x, test):
            let f = try compile(x, ctx)
            return { row in
                let v = try f(row)
                switch test {
                case .isTrue: return .bool(v == .bool(true))
                case .isNotTrue: return .bool(v != .bool(true))
                case .isFalse: return .bool(v == .bool(false))
                case .isNotFalse: return .bool(v != .bool(false))
                case .isUnknown: return .bool(v.isNull)
                case .isNotUnknown: return .bool(!v.isNull)
                }
            }
        case let .cast(x, type):
            let f = try compile(x, ctx)
            return { row in try Coercion.cast(try f(row), to: type) }
        case let .inList(x, items, negated):
            let f = try compile(x, ctx)
            let fs = try items.map { try compile($0, ctx) }
            return { row in
                let v = try f(row)
                if v.isNull { return .null }
                var sawNull = false
                for g in fs {
                    let w = try g(row)
                    if w.isNull { sawNull = true; continue }
                    if compareValues(v, w) == 0 { return .bool(!negated) }
                }
                return sawNull ? .null : .bool(negated)
            }
        case let .like(x, p, ci, negated):
            let f = try compile(x, ctx)
            if case let .constant(.text(pattern), _) = p {
                let matcher = LikePattern(pattern, caseInsensitive: ci)
                return { row in
                    guard case .text(let s) = try f(row) else { return .null }
                    return .bool(matcher.matches(s) != negated)
                }
            }
            let fp = try compile(p, ctx)
            return { row in
                guard case .text(let s) = try f(row), case .text(let pat) = try fp(row) else { return .null }
                return .bool(LikePattern(pat, caseInsensitive: ci).matches(s) != negated)
            }
        case let .function(name, args, _):
            let fs = try args.map { try compile($0, ctx) }
            return try function(name, fs, ctx)
        }
    }

    static func function(_ name: String, _ fs: [Eval], _ ctx: Context) throws -> Eval {
        switch name {
        case "lower", "upper", "length":
            let f = fs[0]
            return { row in
                guard case .text(let s) = try f(row) else { return .null }
                switch name {
                case "lower": return .text(s.lowercased())
                case "upper": return .text(s.uppercased())
                default: return .int(Int64(s.count))
                }
            }
        case "abs":
            let f = fs[0]
            return { row in
                switch try f(row) {
                case .int(let i):
                    guard i != Int64.min else { throw SQLError(.numericValueOutOfRange, "bigint out of range") }
                    return .int(abs(i))
                case .double(let d): return .double(abs(d))
                default: return .null
                }
            }
        case "now":
            let t = ctx.statementTime
            return { _ in .timestamptz(t) }
        default:
            throw SQLError(.undefinedFunction, "function \(name) does not exist")
        }
    }

    static func arithmetic(_ op: ArithOp, _ x: Value, _ y: Value, _ type: SQLType) throws -> Value {
        if case let .int(a) = x, case let .int(b) = y, type.isInteger {
            let r: Int64
            var overflow = false
            switch op {
            case .add: (r, overflow) = a.addingReportingOverflow(b)
            case .sub: (r, overflow) = a.subtractingReportingOverflow(b)
            case .mul: (r, overflow) = a.multipliedReportingOverflow(by: b)
            case .div:
                guard b != 0 else { throw SQLError(.divisionByZero, "division by zero") }
                (r, overflow) = a.dividedReportingOverflow(by: b)
            case .mod:
                guard b != 0 else { throw SQLError(.divisionByZero, "division by zero") }
                r = b == -1 ? 0 : a % b
            }
            if overflow { throw SQLError(.numericValueOutOfRange, "\(type.name) out of range") }
            switch type {
            case .int4 where r < Int64(Int32.min) || r > Int64(Int32.max):
                throw SQLError(.numericValueOutOfRange, "integer out of range")
            case .int2 where r < Int64(Int16.min) || r > Int64(Int16.max):
                throw SQLError(.numericValueOutOfRange, "smallint out of range")
            default:
                return .int(r)
            }
        }
        let a: Double, b: Double
        switch (x, y) {
        case let (.int(i), .int(j)): a = Double(i); b = Double(j)
        case let (.int(i), .double(d)): a = Double(i); b = d
        case let (.double(d), .int(j)): a = d; b = Double(j)
        case let (.double(d), .double(e)): a = d; b = e
        default: throw SQLError(.datatypeMismatch, "arithmetic on non-numeric values")
        }
        switch op {
        case .add: return .double(a + b)
        case .sub: return .double(a - b)
        case .mul: return .double(a * b)
        case .div:
            guard b != 0 else { throw SQLError(.divisionByZero, "division by zero") }
            return .double(a / b)
        case .mod:
            guard b != 0 else { throw SQLError(.divisionByZero, "division by zero") }
            return .double(a.truncatingRemainder(dividingBy: b))
        }
    }
}

/// A LIKE pattern: `%` any run, `_` one character, backslash escapes the next.
struct LikePattern {
    enum Part { case literal(Character), one, any }
    let parts: [Part]
    let caseInsensitive: Bool

    init(_ pattern: String, caseInsensitive: Bool) {
        self.caseInsensitive = caseInsensitive
        var out: [Part] = []
        var escape = false
        for ch in caseInsensitive ? pattern.lowercased() : pattern {
            if escape {
                out.append(.literal(ch))
                escape = false
            } else if ch == "\\" {
                escape = true
            } else if ch == "%" {
                if case .any? = out.last { continue }
                out.append(.any)
            } else if ch == "_" {
                out.append(.one)
            } else {
                out.append(.literal(ch))
            }
        }
        parts = out
    }

    func matches(_ s: String) -> Bool {
        let chars = Array(caseInsensitive ? s.lowercased() : s)
        return match(chars, 0, 0)
    }

    private func match(_ s: [Character], _ si: Int, _ pi: Int) -> Bool {
        var si = si, pi = pi
        while pi < parts.count {
            switch parts[pi] {
            case .literal(let c):
                guard si < s.count, s[si] == c else { return false }
                si += 1
                pi += 1
            case .one:
                guard si < s.count else { return false }
                si += 1
                pi += 1
            case .any:
                if pi == parts.count - 1 { return true }
                var k = si
                while k <= s.count {
                    if match(s, k, pi + 1) { return true }
                    k += 1
                }
                return false
            }
        }
        return si == s.count
    }
}
