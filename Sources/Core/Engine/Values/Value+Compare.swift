/// SQL comparison of two non-null values: numbers across int and double, text by bytes
/// (the C collation), NaN above every other double as in PostgreSQL. Returns nil when
/// the values are not comparable.
public func compareValues(_ a: Value, _ b: Value) -> Int? {
    switch (a, b) {
    case let (.int(x), .int(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case let (.double(x), .double(y)): return compareDoubles(x, y)
    case let (.int(x), .double(y)): return compareDoubles(Double(x), y)
    case let (.double(x), .int(y)): return compareDoubles(x, Double(y))
    case let (.numeric(x), .numeric(y)): return x.compare(y)
    case let (.numeric(x), .int(y)): return x.compare(Numeric(y))
    case let (.int(x), .numeric(y)): return Numeric(x).compare(y)
    case let (.numeric(x), .double(y)): return compareDoubles(x.doubleValue, y)
    case let (.double(x), .numeric(y)): return compareDoubles(x, y.doubleValue)
    case let (.text(x), .text(y)): return compareStrings(x, y)
    case let (.bool(x), .bool(y)): return x == y ? 0 : (x ? 1 : -1)
    case let (.bytes(x), .bytes(y)): return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
    case let (.json(x), .json(y)): return compareStrings(x, y)
    case let (.date(x), .date(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case let (.timestamp(x), .timestamp(y)), let (.timestamptz(x), .timestamptz(y)):
        return x < y ? -1 : (x == y ? 0 : 1)
    case let (.time(x), .time(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case let (.interval(x), .interval(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case let (.array(x), .array(y)):
        // Element by element, NULL elements after all others; then the shorter first.
        for (a, b) in zip(x, y) {
            switch (a.isNull, b.isNull) {
            case (true, true): continue
            case (true, false): return 1
            case (false, true): return -1
            default:
                guard let c = compareValues(a, b) else { return nil }
                if c != 0 { return c }
            }
        }
        return x.count < y.count ? -1 : (x.count == y.count ? 0 : 1)
    default: return nil
    }
}

@inline(__always)
func compareDoubles(_ x: Double, _ y: Double) -> Int {
    if x.isNaN { return y.isNaN ? 0 : 1 }
    if y.isNaN { return -1 }
    return x < y ? -1 : (x == y ? 0 : 1)
}

/// Byte-wise (C collation) comparison of UTF-8 strings. Swift's `==` on String compares by
/// Unicode canonical equivalence (`é` equals `e` + U+0301); SQL text compares by bytes.
@inline(__always)
public func compareStrings(_ x: String, _ y: String) -> Int {
    var a = x, b = y
    let c = a.withUTF8 { ua in b.withUTF8 { ub in compareBytes(UnsafeRawBufferPointer(ua), UnsafeRawBufferPointer(ub)) } }
    return c < 0 ? -1 : (c == 0 ? 0 : 1)
}

/// Whether two strings have the same bytes (not Swift's canonical equivalence).
@inline(__always)
public func sameBytes(_ x: String, _ y: String) -> Bool {
    x.utf8.count == y.utf8.count && compareStrings(x, y) == 0
}

extension Value: Equatable, Hashable {
    /// Equality as SQL groups values: text and json by bytes, NaN equal to NaN, -0 equal to 0.
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.numeric(x), .numeric(y)): return x == y
        case let (.time(x), .time(y)): return x == y
        case let (.interval(x), .interval(y)): return x == y
        case let (.text(x), .text(y)), let (.json(x), .json(y)): return sameBytes(x, y)
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.date(x), .date(y)): return x == y
        case let (.timestamp(x), .timestamp(y)), let (.timestamptz(x), .timestamptz(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0 as UInt8)
        case .bool(let b): h.combine(1 as UInt8); h.combine(b)
        case .int(let i): h.combine(2 as UInt8); h.combine(i)
        case .double(let d): h.combine(3 as UInt8); h.combine(d.isNaN ? Double.nan.bitPattern : (d == 0 ? 0 : d.bitPattern))
        case .text(let s): h.combine(4 as UInt8); hashBytes(s, into: &h)
        case .json(let s): h.combine(5 as UInt8); hashBytes(s, into: &h)
        case .bytes(let b): h.combine(6 as UInt8); b.withUnsafeBytes { h.combine(bytes: $0) }
        case .date(let d): h.combine(7 as UInt8); h.combine(d)
        case .timestamp(let t): h.combine(8 as UInt8); h.combine(t)
        case .timestamptz(let t): h.combine(9 as UInt8); h.combine(t)
        case .array(let xs): h.combine(10 as UInt8); h.combine(xs.count); for x in xs { x.hash(into: &h) }
        case .numeric(let n): h.combine(11 as UInt8); n.hash(into: &h)
        case .time(let t): h.combine(12 as UInt8); h.combine(t)
        case .interval(let i): h.combine(13 as UInt8); i.hash(into: &h)
        }
    }
}

@inline(__always)
func hashBytes(_ s: String, into h: inout Hasher) {
    var s = s
    s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    h.combine(s.utf8.count)
}
