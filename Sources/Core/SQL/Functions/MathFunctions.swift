import DriftCore
#if canImport(Glibc)
import Glibc
#endif

/// Mathematical functions, with PostgreSQL's overloads per numeric type and its range errors.
enum MathFunctions {
    static func outOfRange(_ t: SQLType) -> SQLError { SQLError(.numericValueOutOfRange, "\(t.name) out of range") }

    /// A float8 result: PostgreSQL fails on overflow to infinity and on underflow to zero.
    @inline(__always)
    static func checked(_ r: Double, _ inputs: Double...) throws -> Value {
        if r.isInfinite && !inputs.contains(where: \.isInfinite) {
            throw SQLError(.numericValueOutOfRange, "value out of range: overflow")
        }
        if r == 0 && !inputs.contains(0) && inputs.allSatisfy(\.isFinite) && !inputs.isEmpty {
            throw SQLError(.numericValueOutOfRange, "value out of range: underflow")
        }
        return .double(r)
    }

    static func absInt(_ t: SQLType) -> ScalarFunction.Body {
        .unary { v in
            let i = try v.int()
            guard i != Int64.min else { throw outOfRange(t) }
            return try Coercion.checkRange(abs(i), t)
        }
    }

    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        var out: [(String, Overload)] = []
        for t in [SQLType.int2, .int4, .int8] { out.append(F.fn("abs", [t], t, absInt(t))) }
        for t in [SQLType.float4, .float8] {
            out.append(F.fn("abs", [t], t, .unary { .double(abs(try $0.double())) }))
        }
        out.append(F.fn("abs", [.numeric], .numeric, .unary { .numeric(try $0.numeric().magnitude) }))
        for name in ["ceil", "ceiling"] {
            out.append(F.fn(name, [.float8], .float8, .unary { .double((try $0.double()).rounded(.up)) }))
            out.append(F.fn(name, [.numeric], .numeric, .unary { .numeric(try $0.numeric().ceiling) }))
        }
        out.append(F.fn("floor", [.float8], .float8, .unary { .double((try $0.double()).rounded(.down)) }))
        out.append(F.fn("floor", [.numeric], .numeric, .unary { .numeric(try $0.numeric().floor) }))
        // float8 rounds half to even (rint); numeric half away from zero.
        out.append(F.fn("round", [.float8], .float8, .unary { .double((try $0.double()).rounded(.toNearestOrEven)) }))
        out.append(F.fn("round", [.numeric], .numeric, .unary { .numeric(try $0.numeric().rounded(scale: 0).validated()) }))
        out.append(F.fn("round", [.numeric, .int4], .numeric, .binary { v, s in
            .numeric(try v.numeric().rounded(scale: Int(try s.int())).validated())
        }))
        out.append(F.fn("trunc", [.float8], .float8, .unary { .double((try $0.double()).rounded(.towardZero)) }))
        out.append(F.fn("trunc", [.numeric], .numeric, .unary { .numeric(try $0.numeric().truncated(scale: 0)) }))
        out.append(F.fn("trunc", [.numeric, .int4], .numeric, .binary { v, s in .numeric(try v.numeric().truncated(scale: Int(try s.int()))) }))
        out.append(F.fn("sign", [.float8], .float8, .unary { let d = try $0.double(); return .double(d > 0 ? 1 : d < 0 ? -1 : 0) }))
        out.append(F.fn("sign", [.numeric], .numeric, .unary { v in
            let n = try v.numeric()
            if n.isNaN { return .numeric(.nan) }
            return .numeric(Numeric(Int64(n.sign)))
        }))
        for t in [SQLType.float8] {
            out.append(F.fn("sqrt", [t], t, .unary { v in
                let d = try v.double()
                guard d >= 0 || d.isNaN else {
                    throw SQLError(SQLState("2201F"), t == .numeric ? "cannot take square root of a negative number"
                                   : "cannot take square root of a negative number")
                }
                return .double(d.squareRoot())
            }))
            out.append(F.fn("exp", [t], t, .unary { v in try checked(Glibc.exp(try v.double()), try v.double()) }))
            out.append(F.fn("ln", [t], t, .unary { v in
                let d = try v.double()
                if d.isNaN { return .double(d) }
                guard d != 0 else { throw SQLError(SQLState("2201E"), "cannot take logarithm of zero") }
                guard d > 0 else { throw SQLError(SQLState("2201E"), "cannot take logarithm of a negative number") }
                return .double(Glibc.log(d))
            }))
            for name in ["log", "log10"] {
                out.append(F.fn(name, [t], t, .unary { v in
                    let d = try v.double()
                    if d.isNaN { return .double(d) }
                    guard d != 0 else { throw SQLError(SQLState("2201E"), "cannot take logarithm of zero") }
                    guard d > 0 else { throw SQLError(SQLState("2201E"), "cannot take logarithm of a negative number") }
                    return .double(Glibc.log10(d))
                }))
            }
            for name in ["power", "pow"] {
                out.append(F.fn(name, [t, t], t, .binary { a, b in
                    let x = try a.double(), y = try b.double()
                    if x == 0 && y < 0 {
                        throw SQLError(SQLState("2201F"), "zero raised to a negative power is undefined")
                    }
                    if x < 0 && y.rounded() != y {
                        throw SQLError(SQLState("2201F"), "a negative number raised to a non-integer power yields a complex result")
                    }
                    return try checked(Glibc.pow(x, y), x, y)
                }))
            }
        }
        out.append(F.fn("sqrt", [.numeric], .numeric, .unary { .numeric(try $0.numeric().squareRoot()) }))
        out.append(F.fn("exp", [.numeric], .numeric, .unary { .numeric(try $0.numeric().exp()) }))
        out.append(F.fn("ln", [.numeric], .numeric, .unary { .numeric(try $0.numeric().ln()) }))
        out.append(F.fn("log", [.numeric], .numeric, .unary { .numeric(try $0.numeric().log10()) }))
        out.append(F.fn("log10", [.numeric], .numeric, .unary { .numeric(try $0.numeric().log10()) }))
        for name in ["power", "pow"] {
            out.append(F.fn(name, [.numeric, .numeric], .numeric, .binary { .numeric(try $0.numeric().power(try $1.numeric())) }))
        }
        out.append(F.fn("log", [.numeric, .numeric], .numeric, .binary { b, x in .numeric(try x.numeric().log(base: try b.numeric())) }))
        out.append(F.fn("cbrt", [.float8], .float8, .unary { .double(Glibc.cbrt(try $0.double())) }))
        for t in [SQLType.int2, .int4, .int8] {
            out.append(F.fn("mod", [t, t], t, .binary { a, b in
                let x = try a.int(), y = try b.int()
                guard y != 0 else { throw SQLError(.divisionByZero, "division by zero") }
                return .int(y == -1 ? 0 : x % y)
            }))
        }
        out.append(F.fn("mod", [.numeric, .numeric], .numeric, .binary { .numeric(try $0.numeric().remainder(dividingBy: try $1.numeric())) }))
        out.append(F.fn("div", [.numeric, .numeric], .numeric, .binary { .numeric(try $0.numeric().integerDivision(by: try $1.numeric())) }))
        out.append(F.fn("scale", [.numeric], .int4, .unary { v in
            let n = try v.numeric()
            return n.isFinite ? .int(Int64(n.scale)) : .null
        }))
        out.append(F.fn("min_scale", [.numeric], .int4, .unary { v in
            let n = try v.numeric()
            return n.isFinite ? .int(Int64(n.minimumScale)) : .null
        }))
        out.append(F.fn("trim_scale", [.numeric], .numeric, .unary { .numeric(try $0.numeric().trimmingScale()) }))
        for t in [SQLType.int4, .int8] {
            out.append(F.fn("gcd", [t, t], t, .binary { a, b in
                var x = try a.int().magnitude, y = try b.int().magnitude
                while y != 0 { (x, y) = (y, x % y) }
                guard x <= UInt64(Int64.max) else { throw outOfRange(t) }
                return try Coercion.checkRange(Int64(x), t)
            }))
            out.append(F.fn("lcm", [t, t], t, .binary { a, b in
                let p = try a.int(), q = try b.int()
                guard p != 0, q != 0 else { return .int(0) }
                var x = p.magnitude, y = q.magnitude
                while y != 0 { (x, y) = (y, x % y) }
                let (r, o) = (p.magnitude / x).multipliedReportingOverflow(by: q.magnitude)
                guard !o, r <= UInt64(Int64.max) else { throw outOfRange(t) }
                return try Coercion.checkRange(Int64(r), t)
            }))
        }
        out.append(F.fn("pi", [], .float8, .nullary { _ in .double(Double.pi) }))
        out.append(F.fn("random", [], .float8, volatile: true, .nullary { _ in .double(Double.random(in: 0..<1)) }))
        // PostgreSQL divides or multiplies by one constant, and checks the result's range.
        let radiansPerDegree = 0.0174532925199432957692
        func angle(_ x: Double, _ r: Double) throws -> Value {
            if r.isInfinite && !x.isInfinite { throw SQLError(.numericValueOutOfRange, "value out of range: overflow") }
            if r == 0 && x != 0 { throw SQLError(.numericValueOutOfRange, "value out of range: underflow") }
            return .double(r)
        }
        out.append(F.fn("degrees", [.float8], .float8, .unary { v in let x = try v.double(); return try angle(x, x / radiansPerDegree) }))
        out.append(F.fn("radians", [.float8], .float8, .unary { v in let x = try v.double(); return try angle(x, x * radiansPerDegree) }))
        let trig: [(String, (Double) -> Double, ClosedRange<Double>?)] = [
            ("sin", Glibc.sin, nil), ("cos", Glibc.cos, nil), ("tan", Glibc.tan, nil),
            ("asin", Glibc.asin, -1...1), ("acos", Glibc.acos, -1...1), ("atan", Glibc.atan, nil),
            ("sinh", Glibc.sinh, nil), ("cosh", Glibc.cosh, nil), ("tanh", Glibc.tanh, nil),
        ]
        for (name, f, domain) in trig {
            out.append(F.fn(name, [.float8], .float8, .unary { v in
                let d = try v.double()
                if let domain, !d.isNaN, !domain.contains(d) {
                    throw SQLError(.numericValueOutOfRange, "input is out of range")
                }
                if d.isInfinite && ["sin", "cos", "tan"].contains(name) {
                    throw SQLError(.numericValueOutOfRange, "input is out of range")
                }
                return .double(f(d))
            }))
        }
        out.append(F.fn("cot", [.float8], .float8, .unary { .double(1 / Glibc.tan(try $0.double())) }))
        out.append(F.fn("atan2", [.float8, .float8], .float8, .binary { .double(Glibc.atan2(try $0.double(), try $1.double())) }))
        out.append(F.fn("width_bucket", [.float8, .float8, .float8, .int4], .int4, .nary { a in
            try .int(Int64(widthBucket(try a[0].double(), try a[1].double(), try a[2].double(), count: try a[3].int())))
        }))
        return out
    }()
}

/// width_bucket(operand, low, high, count) over float8, with PostgreSQL's errors (2201G) for a
/// non-positive count, NaN and infinite bounds. A range wider than the largest double is
/// measured in halves, and a quotient that rounds up to 1 stays in the last bucket, so no
/// operand can step outside 0...count+1 (PostgreSQL 15 answers -2147483648 for
/// width_bucket(1e308, -1e308, 1.5e308, 3); 16 and later answer 3, as here).
func widthBucket(_ x: Double, _ lo: Double, _ hi: Double, count n: Int64) throws -> Int32 {
    guard n > 0 else { throw SQLError(SQLState("2201G"), "count must be greater than zero") }
    guard !x.isNaN, !lo.isNaN, !hi.isNaN else {
        throw SQLError(SQLState("2201G"), "operand, lower bound, and upper bound cannot be NaN")
    }
    guard lo.isFinite, hi.isFinite else { throw SQLError(SQLState("2201G"), "lower and upper bounds must be finite") }
    guard lo != hi else { throw SQLError(SQLState("2201G"), "lower bound cannot equal upper bound") }
    guard let count = Int32(exactly: n) else { throw SQLError(.numericValueOutOfRange, "integer out of range") }
    let below = lo < hi ? x < lo : x > lo
    let above = lo < hi ? x >= hi : x <= hi
    if below { return 0 }
    if above {
        guard count < Int32.max else { throw SQLError(.numericValueOutOfRange, "integer out of range") }
        return count + 1
    }
    // x lies between the bounds: the fraction is in [0, 1].
    let (from, to) = lo < hi ? (lo, hi) : (hi, lo)
    let fraction: Double
    if (to - from).isFinite {
        fraction = lo < hi ? (x - lo) / (hi - lo) : (lo - x) / (lo - hi)
    } else {
        fraction = lo < hi ? (x / 2 - lo / 2) / (hi / 2 - lo / 2) : (lo / 2 - x / 2) / (lo / 2 - hi / 2)
    }
    let bucket = min(Double(count) * fraction, Double(count - 1))
    return Int32(max(0, bucket.rounded(.towardZero))) + 1
}
