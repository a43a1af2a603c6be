import DriftCore
import DriftStorage

/// A compiled expression: reads the values of one row.
public typealias Eval = (UnsafeBufferPointer<Value>) throws -> Value

/// Compiles bound expressions once per plan instance into closures, so rows are never
/// re-interpreted from the tree. Operators are specialised by type at compile time.
enum ExprCompiler {
    static func compile(_ e: BoundExpr, _ ctx: ExecContext) throws -> Eval {
        switch e {
        case let .slot(i, _):
            return { row in row[i] }
        case let .outer(ref):
            let rows = ref.rows, slot = ref.slot
            return { _ in slot < rows.current.count ? rows.current[slot] : .null }
        case let .constant(v, _):
            return { _ in v }
        case let .parameter(n, type):
            return { _ in
                guard n <= ctx.parameters.count else {
                    throw SQLError(.undefinedParameter, "there is no parameter $\(n)")
                }
                let v = ctx.parameters[n - 1]
                if type == .unknown || v.isNull { return v }
                return try Coercion.cast(v, from: v.naturalType, to: type, explicit: false, ctx.dt)
            }
        case let .compare(op, a, b):
            let fa = try compile(a, ctx), fb = try compile(b, ctx)
            return { row in
                let x = try fa(row)
                if x.isNull { return .null }
                let y = try fb(row)
                if y.isNull { return .null }
                guard let c = compareValues(x, y) else {
                    throw SQLError.bug("compared \(x) with \(y)")
                }
                return .bool(op.holds(c))
            }
        case let .arith(op, a, b, type):
            let fa = try compile(a, ctx), fb = try compile(b, ctx)
            let f = Arithmetic.binary(op, type)
            return { row in
                let x = try fa(row)
                if x.isNull { return .null }
                let y = try fb(row)
                if y.isNull { return .null }
                return try f(x, y)
            }
        case let .negate(a, type):
            let fa = try compile(a, ctx)
            return { row in
                switch try fa(row) {
                case .int(let i):
                    guard i != Int64.min else { throw SQLError(.numericValueOutOfRange, "\(type.name) out of range") }
                    return try Coercion.checkRange(-i, type)
                case .double(let d): return .double(-d)
                case .numeric(let n): return .numeric(-n)
                case .null: return .null
                case let v: throw SQLError.bug("negated \(v)")
                }
            }
        case let .concat(a, b):
            let fa = try compile(a, ctx), fb = try compile(b, ctx)
            return { row in
                guard case .text(let s) = try fa(row), case .text(let t) = try fb(row) else { return .null }
                return .text(s + t)
            }
        case .and(let xs):
            let fs = try xs.map { try compile($0, ctx) }
            if fs.count == 2 {
                let f0 = fs[0], f1 = fs[1]
                return { row in
                    let a = try f0(row)
                    if case .bool(false) = a { return a }
                    let b = try f1(row)
                    if case .bool(false) = b { return b }
                    return a.isNull || b.isNull ? .null : .bool(true)
                }
            }
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
            return { row in
                let v = try f(row)
                // A row value IS NULL when every field is; arrays are values.
                return .bool(v.isNull != negated)
            }
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
        case let .cast(x, type, explicit):
            let f = try compile(x, ctx)
            let from = x.type
            if from.isInteger && type.isInteger {
                return { row in
                    let v = try f(row)
                    guard case .int(let i) = v else { return v }
                    return try Coercion.checkRange(i, type)
                }
            }
            let dt = ctx.dt
            return { row in try Coercion.cast(try f(row), from: from, to: type, explicit: explicit, dt) }
        case let .inList(x, items, negated):
            return try inList(x, items, negated: negated, ctx)
        case let .like(x, p, escape, ci, negated):
            return try like(x, p, escape: escape, caseInsensitive: ci, negated: negated, ctx)
        case let .caseWhen(whens, otherwise, _):
            let cs = try whens.map { (try compile($0.0, ctx), try compile($0.1, ctx)) }
            let o = try otherwise.map { try compile($0, ctx) }
            return { row in
                for (c, r) in cs {
                    if case .bool(true) = try c(row) { return try r(row) }
                }
                return try o?(row) ?? .null
            }
        case let .coalesce(xs, _):
            let fs = try xs.map { try compile($0, ctx) }
            return { row in
                for f in fs {
                    let v = try f(row)
                    if !v.isNull { return v }
                }
                return .null
            }
        case let .nullIf(a, b, _):
            let fa = try compile(a, ctx), fb = try compile(b, ctx)
            return { row in
                let x = try fa(row)
                if x.isNull { return x }
                let y = try fb(row)
                if !y.isNull, compareValues(x, y) == 0 { return .null }
                return x
            }
        case let .greatest(xs, _, least):
            let fs = try xs.map { try compile($0, ctx) }
            return { row in
                var best: Value = .null
                for f in fs {
                    let v = try f(row)
                    if v.isNull { continue }
                    if best.isNull { best = v; continue }
                    let c = compareValues(v, best) ?? 0
                    if least ? c < 0 : c > 0 { best = v }
                }
                return best
            }
        case let .distinctFrom(a, b, negated):
            let fa = try compile(a, ctx), fb = try compile(b, ctx)
            return { row in
                let x = try fa(row), y = try fb(row)
                let same: Bool
                if x.isNull || y.isNull { same = x.isNull && y.isNull } else { same = compareValues(x, y) == 0 }
                return .bool(same == negated)
            }
        case let .function(f, args, _):
            return try function(f, args, ctx)
        case let .subquery(sp, _):
            return try SubqueryRunner(sp, ctx).eval()
        case let .anyArray(x, op, array, all):
            let fx = try compile(x, ctx), fa = try compile(array, ctx)
            return { row in
                let v = try fx(row)
                guard case .array(let xs) = try fa(row) else { return .null }
                if xs.isEmpty { return .bool(all) }
                if v.isNull { return .null }
                var sawNull = false
                for e in xs {
                    if e.isNull { sawNull = true; continue }
                    let holds = op.holds(compareValues(v, e) ?? 0)
                    if all && !holds { return .bool(false) }
                    if !all && holds { return .bool(true) }
                }
                return sawNull ? .null : .bool(all)
            }
        case let .array(xs, _):
            let fs = try xs.map { try compile($0, ctx) }
            return { row in .array(try fs.map { try $0(row) }) }
        case .aggRef, .windowRef:
            throw SQLError.bug("aggregate or window reference reached the compiler")
        }
    }

    static func inList(_ x: BoundExpr, _ items: [BoundExpr], negated: Bool, _ ctx: ExecContext) throws -> Eval {
        let f = try compile(x, ctx)
        // A list of constants becomes a hash set.
        if items.count > 4, items.allSatisfy({ $0.constantValue != nil }) {
            var set = Set<Value>()
            var hasNull = false
            for i in items {
                guard let v = i.constantValue else { continue }
                if v.isNull { hasNull = true } else { set.insert(normalized(v)) }
            }
            return { row in
                let v = try f(row)
                if v.isNull { return .null }
                if set.contains(normalized(v)) { return .bool(!negated) }
                return hasNull ? .null : .bool(negated)
            }
        }
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
    }

    /// A value in the form equal values hash alike (integers and integral doubles compare
    /// equal across types).
    @inline(__always)
    static func normalized(_ v: Value) -> Value {
        if case .double(let d) = v, d.rounded() == d, abs(d) < 9e15 { return .int(Int64(d)) }
        if case .numeric(let n) = v, n.scale == 0 || n.minimumScale == 0, let i = try? n.int64(bits: 64) { return .int(i) }
        return v
    }

    static func like(_ x: BoundExpr, _ p: BoundExpr, escape: BoundExpr?, caseInsensitive ci: Bool, negated: Bool, _ ctx: ExecContext) throws -> Eval {
        let f = try compile(x, ctx)
        func escapeBytes(_ v: Value) throws -> [UInt8]? {
            guard case .text(let e) = v else { return nil }
            guard e.unicodeScalars.count <= 1 else {
                throw SQLError(SQLState("22019"), "invalid escape string", hint: "Escape string must be empty or one character.")
            }
            return Array(e.utf8)
        }
        var constantEscape: [UInt8]? = [UInt8(ascii: "\\")]
        var escapeEval: Eval?
        if let escape {
            if let v = escape.constantValue {
                constantEscape = try escapeBytes(v)
                if constantEscape == nil { return { _ in .null } }
            } else {
                escapeEval = try compile(escape, ctx)
                constantEscape = nil
            }
        }
        if case let .constant(.text(pattern), _) = p, let esc = constantEscape {
            let matcher = try LikePattern(pattern, caseInsensitive: ci, escape: esc)
            return { row in
                guard case .text(let s) = try f(row) else { return .null }
                return .bool(try matcher.matches(s) != negated)
            }
        }
        let fp = try compile(p, ctx)
        return { row in
            guard case .text(let s) = try f(row), case .text(let pat) = try fp(row) else { return .null }
            var esc = constantEscape ?? [UInt8(ascii: "\\")]
            if let escapeEval {
                guard let e = try escapeBytes(try escapeEval(row)) else { return .null }
                esc = e
            }
            return .bool(try LikePattern(pat, caseInsensitive: ci, escape: esc).matches(s) != negated)
        }
    }

    static func function(_ fn: ScalarFunction, _ args: [BoundExpr], _ ctx: ExecContext) throws -> Eval {
        let fs = try args.map { try compile($0, ctx) }
        let strict = fn.strict
        switch fn.body {
        case .nullary(let body):
            return { _ in try body(ctx) }
        case .unary(let body):
            let a = fs[0]
            return { row in
                let x = try a(row)
                if strict && x.isNull { return .null }
                return try body(x)
            }
        case .binary(let body):
            let a = fs[0], b = fs[1]
            return { row in
                let x = try a(row)
                if strict && x.isNull { return .null }
                let y = try b(row)
                if strict && y.isNull { return .null }
                return try body(x, y)
            }
        case .ternary(let body):
            let a = fs[0], b = fs[1], c = fs[2]
            return { row in
                let x = try a(row), y = try b(row), z = try c(row)
                if strict && (x.isNull || y.isNull || z.isNull) { return .null }
                return try body(x, y, z)
            }
        case .nary(let body):
            return { row in
                let vs = try fs.map { try $0(row) }
                if strict && vs.contains(where: \.isNull) { return .null }
                return try body(vs)
            }
        case .context(let body):
            return { row in
                let vs = try fs.map { try $0(row) }
                if strict && vs.contains(where: \.isNull) { return .null }
                return try body(ctx, vs)
            }
        }
    }
}

/// Arithmetic by result type, with PostgreSQL's overflow and division errors.
enum Arithmetic {
    static func binary(_ op: ArithOp, _ type: SQLType) -> (Value, Value) throws -> Value {
        switch type {
        case .int2, .int4, .int8:
            let name = type.name
            let lo: Int64, hi: Int64
            switch type {
            case .int2: (lo, hi) = (Int64(Int16.min), Int64(Int16.max))
            case .int4: (lo, hi) = (Int64(Int32.min), Int64(Int32.max))
            default: (lo, hi) = (Int64.min, Int64.max)
            }
            return { x, y in
                guard case .int(let a) = x, case .int(let b) = y else { return try float(op, .float8)(x, y) }
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
                guard !overflow, r >= lo, r <= hi else { throw SQLError(.numericValueOutOfRange, "\(name) out of range") }
                return .int(r)
            }
        case .float4, .float8:
            return float(op, type)
        default:
            return numeric(op)
        }
    }

    static func float(_ op: ArithOp, _ type: SQLType) -> (Value, Value) throws -> Value {
        let single = type == .float4
        return { x, y in
            let a = try x.double(), b = try y.double()
            var r: Double
            switch op {
            case .add: r = a + b
            case .sub: r = a - b
            case .mul: r = a * b
            case .div:
                guard b != 0 else { throw SQLError(.divisionByZero, "division by zero") }
                r = a / b
            case .mod:
                guard b != 0 else { throw SQLError(.divisionByZero, "division by zero") }
                r = a.truncatingRemainder(dividingBy: b)
            }
            if single { r = Double(Float(r)) }
            if r.isInfinite && a.isFinite && b.isFinite {
                throw SQLError(.numericValueOutOfRange, "value out of range: overflow")
            }
            if r == 0 && (op == .mul || op == .div) && a != 0 && (op == .div ? b.isFinite : b != 0) {
                throw SQLError(.numericValueOutOfRange, "value out of range: underflow")
            }
            return .double(r)
        }
    }

    /// numeric arithmetic, exact, with PostgreSQL's result scales and range errors.
    static func numeric(_ op: ArithOp) -> (Value, Value) throws -> Value {
        { x, y in
            let a = try x.numeric(), b = try y.numeric()
            switch op {
            case .add: return .numeric(try a.adding(b))
            case .sub: return .numeric(try a.subtracting(b))
            case .mul: return .numeric(try a.multiplied(by: b))
            case .div: return .numeric(try a.divided(by: b))
            case .mod: return .numeric(try a.remainder(dividingBy: b))
            }
        }
    }
}

/// Runs a subquery inside an expression. Uncorrelated subqueries run once and keep their
/// answer (IN lists become a hash set); correlated ones run again for each row, from the
/// enclosing row set into their outer-row holder.
final class SubqueryRunner {
    let sp: SubqueryPlan
    let ctx: ExecContext
    var node: (any PlanNode)?
    var cachedValue: Value?
    var cachedRows: RowStore?
    var hashed: (set: Set<[Value]>, hasNull: Bool, empty: Bool)?

    init(_ sp: SubqueryPlan, _ ctx: ExecContext) {
        self.sp = sp
        self.ctx = ctx
    }

    func eval() throws -> Eval {
        var tests: [Eval] = []
        if case .quantified(_, _, let t) = sp.use { tests = try t.map { try ExprCompiler.compile($0, ctx) } }
        return { [self] row in
            if sp.correlated { setOuter(row) }
            switch sp.use {
            case .exists:
                if !sp.correlated, let v = cachedValue { return v }
                let v = Value.bool(try run(limit: 1).count > 0)
                if !sp.correlated { cachedValue = v }
                return v
            case .scalar:
                if !sp.correlated, let v = cachedValue { return v }
                let rows = try run(limit: 2)
                guard rows.count <= 1 else {
                    throw SQLError(.cardinalityViolation, "more than one row returned by a subquery used as an expression")
                }
                let v = rows.count == 0 ? Value.null : rows.withRow(0) { $0[0] }
                if !sp.correlated { cachedValue = v }
                return v
            case .array:
                if !sp.correlated, let v = cachedValue { return v }
                let rows = try run(limit: nil)
                let v = Value.array((0..<rows.count).map { i in rows.withRow(i) { $0[0] } })
                if !sp.correlated { cachedValue = v }
                return v
            case .quantified(let op, let all, _):
                let values = try tests.map { try $0(row) }
                if op == .eq && !all && !sp.correlated { return try hashedIn(values) }
                let rows: RowStore
                if !sp.correlated, let c = cachedRows { rows = c } else {
                    rows = try run(limit: nil)
                    if !sp.correlated { cachedRows = rows }
                }
                return Self.quantified(op, all: all, values, rows)
            }
        }
    }

    func setOuter(_ row: UnsafeBufferPointer<Value>) {
        if let map = sp.postAggregateMap {
            let width = (map.map(\.from).max() ?? -1) + 1
            var r = [Value](repeating: .null, count: width)
            for (from, to) in map where to < row.count { r[from] = row[to] }
            sp.outer.current = r
        } else {
            sp.outer.current = Array(row)
        }
    }

    func run(limit: Int?) throws -> RowStore {
        let n: any PlanNode
        if let node {
            try node.rewind()
            n = node
        } else {
            n = try Executor.instantiate(sp.query.plan, ctx)
            node = n
        }
        let width = sp.query.columns.count
        var out = RowStore(width: width)
        while let b = try n.next() {
            for i in 0..<b.count {
                b.withRow(i) { r in out.append(UnsafeBufferPointer(rebasing: r[0..<width])) }
                if let limit, out.count >= limit { return out }
            }
        }
        return out
    }

    /// `x IN (uncorrelated subquery)`: a hash set of its rows, with SQL's NULL rules.
    func hashedIn(_ values: [Value]) throws -> Value {
        if hashed == nil {
            let rows = try run(limit: nil)
            var set = Set<[Value]>()
            var hasNull = false
            for i in 0..<rows.count {
                let r = rows.row(i).map(ExprCompiler.normalized)
                if r.contains(where: \.isNull) { hasNull = true } else { set.insert(r) }
            }
            hashed = (set, hasNull, rows.count == 0)
        }
        guard let h = hashed else { return .null }
        if h.empty { return .bool(false) }
        if values.contains(where: \.isNull) { return .null }
        if h.set.contains(values.map(ExprCompiler.normalized)) { return .bool(true) }
        return h.hasNull ? .null : .bool(false)
    }

    /// `values op ANY/ALL (rows)` with SQL's three-valued logic.
    static func quantified(_ op: CompareOp, all: Bool, _ values: [Value], _ rows: RowStore) -> Value {
        if rows.count == 0 { return .bool(all) }
        var sawNull = false
        for i in 0..<rows.count {
            let result: Bool? = rows.withRow(i) { r in
                if values.count == 1 {
                    let a = values[0], b = r[0]
                    if a.isNull || b.isNull { return nil }
                    return op.holds(compareValues(a, b) ?? 0)
                }
                // Row comparison: the first unequal pair decides; NULL there is unknown.
                for (k, a) in values.enumerated() {
                    let b = r[k]
                    if a.isNull || b.isNull { return nil }
                    let c = compareValues(a, b) ?? 0
                    if c != 0 || k == values.count - 1 { return op.holds(c) }
                }
                return op.holds(0)
            }
            switch result {
            case nil: sawNull = true
            case true?: if !all { return .bool(true) }
            case false?: if all { return .bool(false) }
            }
        }
        return sawNull ? .null : .bool(all)
    }
}
