/// A SQL value. The column's `SQLType` says how to read an `.int` (int2/4/8) or a `.double`
/// (float4/8); values themselves carry only their representation.
public enum Value: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// numeric (PostgreSQL's arbitrary-precision decimal), boxed: rarer than the others and
    /// wider, it must not widen every value.
    indirect case numeric(Numeric)
    case text(String)
    case bytes([UInt8])
    /// jsonb, as its canonical text.
    case json(String)
    /// Days since 2000-01-01 (PostgreSQL's representation; see `PGTime`).
    case date(Int32)
    /// Microseconds since 2000-01-01 00:00:00, no time zone.
    case timestamp(Int64)
    /// Microseconds since 2000-01-01 00:00:00 UTC.
    case timestamptz(Int64)
    /// time without time zone: microseconds since midnight.
    case time(Int64)
    /// interval: months, days and microseconds, as PostgreSQL keeps them (boxed: 16 bytes).
    indirect case interval(Interval)
    /// A one-dimensional array (the column type gives the element type).
    indirect case array([Value])

    @inlinable public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// PostgreSQL's text output for this value (nil for NULL).
    public var pgText: String? {
        switch self {
        case .null: return nil
        case .bool(let b): return b ? "t" : "f"
        case .int(let i): return String(i)
        case .double(let d): return formatFloat8(d)
        case .numeric(let n): return n.description
        case .text(let s): return s
        case .bytes(let b): return "\\x" + hexString(b)
        case .json(let s): return s
        case .date(let d): return PGTime.formatDate(d)
        case .timestamp(let us): return PGTime.formatTimestamp(us, withZone: false)
        case .timestamptz(let us): return PGTime.formatTimestamp(us, withZone: true)
        case .time(let t): return PGTimeOfDay.format(t)
        case .interval(let i): return i.description
        case .array(let xs): return arrayText(xs)
        }
    }

    /// PostgreSQL's array output: `{1,2,NULL}`, elements quoted when they need it.
    public func arrayText(_ xs: [Value], float4: Bool = false) -> String {
        var out = "{"
        for (i, x) in xs.enumerated() {
            if i > 0 { out += "," }
            var text = x.pgText
            if float4, case .double(let d) = x { text = formatFloat8(Double("\(Float(d))") ?? d, exponentLimit: 6) }
            guard let t = text else { out += "NULL"; continue }
            let needsQuotes: Bool
            switch x {
            case .text, .json, .bytes, .date, .timestamp, .timestamptz, .time, .interval:
                needsQuotes = t.isEmpty || t.lowercased() == "null"
                    || t.utf8.contains { $0 == 34 || $0 == 92 || $0 == 123 || $0 == 125 || $0 == 44 || $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
            default:
                needsQuotes = false
            }
            if needsQuotes {
                out += "\""
                for c in t.unicodeScalars {
                    if c == "\"" || c == "\\" { out += "\\" }
                    out.unicodeScalars.append(c)
                }
                out += "\""
            } else {
                out += t
            }
        }
        return out + "}"
    }

    /// The type a value of this representation has when no column says otherwise.
    public var naturalType: SQLType? {
        switch self {
        case .null: return nil
        case .bool: return .bool
        case .int: return .int8
        case .double: return .float8
        case .numeric: return .numeric
        case .text: return .text
        case .bytes: return .bytea
        case .json: return .jsonb
        case .date: return .date
        case .timestamp: return .timestamp
        case .timestamptz: return .timestamptz
        case .time: return .time
        case .interval: return .interval
        case .array(let xs): return .array(xs.lazy.compactMap(\.naturalType).first ?? .text)
        }
    }
}

public func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// float8 output as PostgreSQL prints it (shortest round-trip digits).
/// `exponentLimit` is where scientific notation starts: 15 digits for float8, 6 for float4.
public func formatFloat8(_ d: Double, exponentLimit: Int = 15) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
    if d == 0 { return d.sign == .minus ? "-0" : "0" }
    // Swift gives the shortest round-trip digits; re-lay them out as PostgreSQL's %g-style does:
    // plain notation for decimal exponents in [-4, 15), scientific otherwise.
    let text = "\(d.magnitude)"
    var digits = ""
    var exponent = 0
    var mantissa = Substring(text)
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = Int(text[text.index(after: e)...]) ?? 0
        mantissa = text[..<e]
    }
    let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
    let intPart = String(parts[0])
    let fracPart = parts.count > 1 ? String(parts[1]) : ""
    digits = intPart + fracPart
    var pointPos = intPart.count + exponent
    while digits.hasPrefix("0") && digits.count > 1 {
        digits.removeFirst()
        pointPos -= 1
    }
    while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
    let decimalExponent = pointPos - 1
    var out = d < 0 ? "-" : ""
    if decimalExponent < -4 || decimalExponent >= exponentLimit {
        out += digits.prefix(1)
        if digits.count > 1 { out += "." + digits.dropFirst() }
        out += decimalExponent < 0 ? "e-" : "e+"
        let ex = abs(decimalExponent)
        out += ex < 10 ? "0\(ex)" : "\(ex)"
    } else if pointPos <= 0 {
        out += "0." + String(repeating: "0", count: -pointPos) + digits
    } else if pointPos >= digits.count {
        out += digits + String(repeating: "0", count: pointPos - digits.count)
    } else {
        let i = digits.index(digits.startIndex, offsetBy: pointPos)
        out += digits[..<i] + "." + digits[i...]
    }
    return out
}
