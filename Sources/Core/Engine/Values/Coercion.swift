import DriftStorage

/// PostgreSQL's input functions and casts for the types the engine stores.
public enum Coercion {
    /// Parses text as a value of `type` (PostgreSQL's type input function).
    public static func fromText(_ text: String, to type: SQLType) throws -> Value {
        switch type {
        case .text, .unknown: return .text(text)
        case .varchar(let n), .bpchar(let n):
            if let n, text.count > n {
                throw SQLError(.stringDataRightTruncation, "value too long for type \(type.name)")
            }
            return .text(text)
        case .int2, .int4, .int8:
            let t = text.trimming()
            guard let v = Int64(t.hasPrefix("+") ? String(t.dropFirst()) : t) else {
                if !t.isEmpty, t.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }) {
                    throw SQLError(.numericValueOutOfRange, "value \"\(text)\" is out of range for type \(type.name)")
                }
                throw SQLError(.invalidTextRepresentation, "invalid input syntax for type \(type.name): \"\(text)\"")
            }
            return try checkRange(v, type, text: text)
        case .float4, .float8:
            let t = text.trimming()
            guard !t.isEmpty, let d = parseDouble(t) else {
                throw SQLError(.invalidTextRepresentation, "invalid input syntax for type \(type.name): \"\(text)\"")
            }
            return .double(type == .float4 ? Double(Float(d)) : d)
        case .numeric:
            let t = text.trimming()
            guard let d = parseDouble(t), !t.lowercased().contains("inf") else {
                throw SQLError(.invalidTextRepresentation, "invalid input syntax for type numeric: \"\(text)\"")
            }
            return .double(d)
        case .bool:
            guard let b = parseBool(text) else {
                throw SQLError(.invalidTextRepresentation, "invalid input syntax for type boolean: \"\(text)\"")
            }
            return .bool(b)
        case .json, .jsonb:
            do {
                return .json(try JSONParser.parse(text).canonicalText)
            } catch let e as JSONParser.Failure {
                throw SQLError(.invalidJSONText, "invalid input syntax for type json", detail: e.description)
            }
        case .timestamptz, .timestamp:
            guard let us = parseTimestamp(text) else {
                throw SQLError(.invalidDatetimeFormat, "invalid input syntax for type \(type.name): \"\(text)\"")
            }
            return type == .timestamptz ? .timestamptz(us) : .timestamp(us)
        case .date:
            guard let us = parseTimestamp(text) else {
                throw SQLError(.invalidDatetimeFormat, "invalid input syntax for type date: \"\(text)\"")
            }
            return .date(Int32(truncatingIfNeeded: us >= 0 ? us / 86_400_000_000 : (us - 86_399_999_999) / 86_400_000_000))
        case .bytea:
            if text.hasPrefix("\\x") {
                var out: [UInt8] = []
                let digits = Array(text.utf8.dropFirst(2))
                guard digits.count % 2 == 0 else {
                    throw SQLError(.invalidTextRepresentation, "invalid hexadecimal data: odd number of digits")
                }
                var k = 0
                while k < digits.count {
                    guard let v = UInt8(String(decoding: digits[k..<(k + 2)], as: UTF8.self), radix: 16) else {
                        throw SQLError(.invalidTextRepresentation, "invalid hexadecimal digit")
                    }
                    out.append(v)
                    k += 2
                }
                return .bytes(out)
            }
            return .bytes(Array(text.utf8))
        default:
            throw SQLError.notSupported("type \(type.name)")
        }
    }

    static func checkRange(_ v: Int64, _ type: SQLType, text: String? = nil) throws -> Value {
        let ok: Bool
        switch type {
        case .int2: ok = v >= Int64(Int16.min) && v <= Int64(Int16.max)
        case .int4: ok = v >= Int64(Int32.min) && v <= Int64(Int32.max)
        default: ok = true
        }
        guard ok else {
            if let text { throw SQLError(.numericValueOutOfRange, "value \"\(text)\" is out of range for type \(type.name)") }
            throw SQLError(.numericValueOutOfRange, "\(type.name) out of range")
        }
        return .int(v)
    }

    public static func parseDouble(_ t: String) -> Double? {
        switch t.lowercased() {
        case "nan": return .nan
        case "infinity", "+infinity", "inf", "+inf": return .infinity
        case "-infinity", "-inf": return -.infinity
        default:
            guard t.first.map({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" }) == true else { return nil }
            return Double(t)
        }
    }

    /// PostgreSQL's boolin: t/true/y/yes/on/1 and f/false/n/no/off/0, any case, unique prefixes.
    public static func parseBool(_ text: String) -> Bool? {
        let t = text.trimming().lowercased()
        guard !t.isEmpty else { return nil }
        if t == "1" { return true }
        if t == "0" { return false }
        for (word, value) in [("true", true), ("false", false), ("yes", true), ("no", false)] where word.hasPrefix(t) {
            return value
        }
        if t == "on" { return true }
        if t == "off" || t == "of" { return t == "off" ? false : nil }
        return nil
    }

    /// Casts a value to `type` (`CAST(v AS type)`).
    public static func cast(_ v: Value, to type: SQLType) throws -> Value {
        switch (v, type) {
        case (.null, _): return .null
        case (.text(let s), _): return try fromText(s, to: type)
        case (_, .text), (_, .varchar), (_, .bpchar), (_, .unknown):
            let s: String
            if case .bool(let b) = v { s = b ? "true" : "false" } else { s = v.pgText ?? "" }
            return try fromText(s, to: type)
        case (.int(let i), .int2), (.int(let i), .int4), (.int(let i), .int8):
            return try checkRange(i, type)
        case (.int(let i), .float4), (.int(let i), .float8), (.int(let i), .numeric):
            return .double(Double(i))
        case (.double(let d), .int2), (.double(let d), .int4), (.double(let d), .int8):
            let r = d.rounded(.toNearestOrEven)
            guard r.isFinite, r >= -9.223372036854775808e18, r < 9.223372036854775808e18 else {
                throw SQLError(.numericValueOutOfRange, "\(type.name) out of range")
            }
            return try checkRange(Int64(r), type)
        case (.double(let d), .float8), (.double(let d), .numeric): return .double(d)
        case (.double(let d), .float4): return .double(Double(Float(d)))
        case (.int(let i), .bool): return .bool(i != 0)
        case (.bool(let b), .int4), (.bool(let b), .int8), (.bool(let b), .int2): return .int(b ? 1 : 0)
        case (.bool, .bool), (.json, .jsonb), (.json, .json), (.bytes, .bytea), (.date, .date),
             (.timestamp, .timestamp), (.timestamptz, .timestamptz):
            return v
        case (.timestamp(let t), .timestamptz): return .timestamptz(t)
        case (.timestamptz(let t), .timestamp): return .timestamp(t)
        case (.date(let d), .timestamp): return .timestamp(Int64(d) * 86_400_000_000)
        case (.date(let d), .timestamptz): return .timestamptz(Int64(d) * 86_400_000_000)
        default:
            throw SQLError(.datatypeMismatch, "cannot cast type \(v.naturalType?.name ?? "unknown") to \(type.name)")
        }
    }

    /// The column type a DriftQL value gives a new column: text, bigint, double precision,
    /// boolean, or jsonb for objects and arrays (nil for null).
    public static func inferType(_ j: JSONValue) -> SQLType? {
        switch j {
        case .null: return nil
        case .bool: return .bool
        case .number: return j.integerValue != nil ? .int8 : .float8
        case .string: return .text
        case .array, .object: return .jsonb
        }
    }

    /// Converts a DriftQL document value to a column's type; a value that does not fit fails with 22P02.
    public static func fromJSON(_ j: JSONValue, to type: SQLType) throws -> Value {
        switch (j, type) {
        case (.null, _): return .null
        case (.array, .jsonb), (.object, .jsonb), (_, .jsonb), (_, .json): return .json(j.canonicalText)
        case (.string(let s), _): return try fromText(s, to: type)
        case (.number(let n), _) where type.isText: return .text(n)
        case (.bool(let b), _) where type.isText: return .text(b ? "true" : "false")
        case (.array, _) where type.isText, (.object, _) where type.isText: return .text(j.canonicalText)
        case (.number(let n), _) where type.isInteger || type.isFloat || type == .numeric:
            return try fromText(n, to: type)
        case (.bool(let b), .bool): return .bool(b)
        default:
            let shown: String
            switch j {
            case .bool(let b): shown = b ? "true" : "false"
            case .number(let n): shown = n
            default: shown = j.canonicalText
            }
            throw SQLError(.invalidTextRepresentation, "invalid input syntax for type \(type.name): \"\(shown)\"")
        }
    }
}
