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
            let from = x.type
            return { row in try Coercion.cast(try f(row), from: from, to: type, explicit: true) }
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
                let matcher = try LikePattern(pattern, caseInsensitive: ci)
                return { row in
                    guard case .text(let s) = try f(row) else { return .null }
                    return .bool(try matcher.matches(s) != negated)
                }
            }
            let fp = try compile(p, ctx)
            return { row in
                guard case .text(let s) = try f(row), case .text(let pat) = try fp(row) else { return .null }
                return .bool(try LikePattern(pat, caseInsensitive: ci).matches(s) != negated)
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
                case "lower": return .text(asciiCase(s, upper: false))
                case "upper": return .text(asciiCase(s, upper: true))
                default: return .int(Int64(s.unicodeScalars.count))
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
        case "substring":
            let f = fs[0], start = fs[1], count = fs.count > 2 ? fs[2] : nil
            return { row in
                guard case .text(let s) = try f(row), case .int(let from) = try start(row) else { return .null }
                var length: Int64?
                if let count {
                    guard case .int(let n) = try count(row) else { return .null }
                    guard n >= 0 else { throw SQLError(SQLState("22011"), "negative substring length not allowed") }
                    length = n
                }
                return .text(substring(s, from: from, count: length))
            }
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

/// A LIKE pattern over UTF-8 bytes: `%` any run, `_` one character (code point), backslash
/// escapes the next character. ILIKE folds ASCII letters only (the C locale's rule).
///
/// The pattern is split at `%` into segments of literal bytes and `_`. The first segment is
/// anchored at the start, the last at the end, and each one between is matched at its
/// leftmost place after the one before. Leftmost placement is always safe with these
/// wildcards, so there is no backtracking: time is O(text × pattern) at worst, never
/// exponential as a recursive matcher is on `%a%a%a...%b`.
struct LikePattern {
    enum Atom: Equatable {
        case byte(UInt8)
        case anyCharacter
    }
    /// The pattern between `%`s; a pattern without `%` has one segment.
    let segments: [[Atom]]
    let caseInsensitive: Bool
    /// For a pattern ending in a lone escape: the pattern before it followed by `_%`. PostgreSQL
    /// fails with 22025 only when matching reaches that escape with text left, which is when
    /// this matches; otherwise the answer is false.
    let danglingEscape: Box?

    final class Box { let pattern: LikePattern; init(_ p: LikePattern) { pattern = p } }

    init(_ pattern: String, caseInsensitive: Bool) throws {
        self.caseInsensitive = caseInsensitive
        var body = pattern
        var trailing = 0
        for c in pattern.utf8.reversed() {
            guard c == UInt8(ascii: "\\") else { break }
            trailing += 1
        }
        if trailing % 2 == 1 {
            body.removeLast()
            danglingEscape = Box(try LikePattern(body + "_%", caseInsensitive: caseInsensitive))
            segments = [[]]
            return
        }
        danglingEscape = nil
        var segments: [[Atom]] = [[]]
        var escape = false
        for b in pattern.utf8 {
            if escape {
                segments[segments.count - 1].append(.byte(Self.fold(b, caseInsensitive)))
                escape = false
            } else if b == UInt8(ascii: "\\") {
                escape = true
            } else if b == UInt8(ascii: "%") {
                segments.append([])
            } else if b == UInt8(ascii: "_") {
                segments[segments.count - 1].append(.anyCharacter)
            } else {
                segments[segments.count - 1].append(.byte(Self.fold(b, caseInsensitive)))
            }
        }
        self.segments = segments
    }

    @inline(__always)
    static func fold(_ b: UInt8, _ ci: Bool) -> UInt8 { ci && b >= 65 && b <= 90 ? b + 32 : b }

    func matches(_ s: String) throws -> Bool {
        var s = s
        return try s.withUTF8 { try matches(UnsafeRawBufferPointer($0)) }
    }

    func matches(_ text: UnsafeRawBufferPointer) throws -> Bool {
        if let d = danglingEscape {
            if try d.pattern.matches(text) {
                throw SQLError(SQLState("22025"), "LIKE pattern must not end with escape character")
            }
            return false
        }
        let n = text.count
        guard segments.count > 1 else { return match(segments[0], text, at: 0) == n }
        guard var pos = match(segments[0], text, at: 0) else { return false }
        for seg in segments.dropFirst().dropLast() where !seg.isEmpty {
            guard let (_, end) = leftmost(seg, text, from: pos) else { return false }
            pos = end
        }
        let last = segments[segments.count - 1]
        if last.isEmpty { return true }
        // The last segment must end at the text's end: try each character boundary from the
        // right whose span fits after `pos` (a `_` spans one character, not one byte).
        var start = n
        while start >= pos {
            if isBoundary(text, start), match(last, text, at: start) == n { return true }
            start -= 1
        }
        return false
    }

    @inline(__always)
    func isBoundary(_ t: UnsafeRawBufferPointer, _ i: Int) -> Bool { i >= t.count || t[i] & 0xC0 != 0x80 }

    /// Matches `seg` at byte `at`; returns where the match ends, or nil.
    func match(_ seg: [Atom], _ t: UnsafeRawBufferPointer, at: Int) -> Int? {
        var i = at
        for a in seg {
            guard i < t.count else { return nil }
            switch a {
            case .byte(let b):
                guard Self.fold(t[i], caseInsensitive) == b else { return nil }
                i += 1
            case .anyCharacter:
                i += 1
                while i < t.count && t[i] & 0xC0 == 0x80 { i += 1 }
            }
        }
        return i
    }

    /// The leftmost match of `seg` starting at or after `from`, on a character boundary.
    func leftmost(_ seg: [Atom], _ t: UnsafeRawBufferPointer, from: Int) -> (Int, Int)? {
        var start = from
        while start <= t.count {
            if isBoundary(t, start), let end = match(seg, t, at: start) { return (start, end) }
            start += 1
        }
        return nil
    }
}

/// lower()/upper() in the C locale: ASCII letters only, as PostgreSQL does with C collation.
func asciiCase(_ s: String, upper: Bool) -> String {
    var bytes = Array(s.utf8)
    for i in bytes.indices {
        let b = bytes[i]
        if upper ? (b >= 97 && b <= 122) : (b >= 65 && b <= 90) { bytes[i] = upper ? b - 32 : b + 32 }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// PostgreSQL's substring by code points: `from` is 1-based and may be below 1 (the count
/// then still runs from it), a nil count runs to the end.
func substring(_ s: String, from: Int64, count: Int64?) -> String {
    let scalars = s.unicodeScalars
    let total = Int64(scalars.count)
    let (end, overflow) = count.map { from.addingReportingOverflow($0) } ?? (total + 1, false)
    let lo = max(from, 1), hi = overflow ? total + 1 : min(end, total + 1)
    guard lo < hi else { return "" }
    let a = scalars.index(scalars.startIndex, offsetBy: Int(lo - 1))
    let b = scalars.index(a, offsetBy: Int(hi - lo))
    return String(String.UnicodeScalarView(scalars[a..<b]))
}
