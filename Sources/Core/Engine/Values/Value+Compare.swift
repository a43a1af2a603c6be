/// SQL comparison of two non-null values: numbers across int and double, text by bytes
/// (the C collation), NaN above every other double as in PostgreSQL. Returns nil when
/// the values are not comparable.
public func compareValues(_ a: Value, _ b: Value) -> Int? {
    switch (a, b) {
    case let (.int(x), .int(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case let (.double(x), .double(y)): return compareDoubles(x, y)
    case let (.int(x), .double(y)): return compareDoubles(Double(x), y)
    case let (.double(x), .int(y)): return compareDoubles(x, Double(y))
    case let (.text(x), .text(y)): return compareStrings(x, y)
    case let (.bool(x), .bool(y)): return x == y ? 0 : (x ? 1 : -1)
    case let (.bytes(x), .bytes(y)): return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
    case let (.json(x), .json(y)): return compareStrings(x, y)
    case let (.date(x), .date(y)): return x < y ? -1 : (x == y ? 0 : 1)
    case let (.timestamp(x), .timestamp(y)), let (.timestamptz(x), .timestamptz(y)):
        return x < y ? -1 : (x == y ? 0 : 1)
    default: return nil
    }
}

@inline(__always)
func compareDoubles(_ x: Double, _ y: Double) -> Int {
    if x.isNaN { return y.isNaN ? 0 : 1 }
    if y.isNaN { return -1 }
    return x < y ? -1 : (x == y ? 0 : 1)
}

/// Byte-wise (C collation) comparison of UTF-8 strings.
@inline(__always)
public func compareStrings(_ x: String, _ y: String) -> Int {
    if x == y { return 0 }
    var a = x, b = y
    return a.withUTF8 { ua in b.withUTF8 { ub in compareBytes(UnsafeRawBufferPointer(ua), UnsafeRawBufferPointer(ub)) < 0 ? -1 : 1 } }
}
