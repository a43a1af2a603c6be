import DriftStorage
#if canImport(Glibc)
import Glibc
#endif

/// PostgreSQL's input functions and casts for the types the engine stores.
public enum Coercion {
    /// Parses text as a value of `type` (PostgreSQL's type input function). `dt` gives the
    /// session's time zone and the transaction's start (for timestamptz and 'now').
    public static func fromText(_ text: String, to type: SQLType, _ dt: DateTimeContext = DateTimeContext()) throws -> Value {
        switch type {
        case .text, .unknown: return .text(text)
        case .varchar(let n), .bpchar(let n):
            // Assignment: a value too long fails with 22001, unless only spaces are cut (PostgreSQL's rule).
            let fitted = try fitLength(text, type, n, explicit: false)
            return .text(fitted)
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
            return .double(try floatInput(text, type))
        case .numeric:
            return .numeric(try Numeric.parse(text))
        case let .decimal(p, s):
            return .numeric(try Numeric.parse(text).coerced(precision: p, scale: s))
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
        case .timestamptz:
            return .timestamptz(try PGDateTime.timestamptz(text, dt))
        case .timestamp:
            return .timestamp(try PGDateTime.timestamp(text, dt))
        case .date:
            return .date(try PGDateTime.date(text, dt))
        case .time:
            return .time(try PGDateTime.time(text, dt))
        case .interval:
            return .interval(try Interval.parse(text))
        case .uuid:
            return .text(try UUIDText.parse(text))
        case .enumeration(let e):
            guard e.ordinal(text) != nil else {
                throw SQLError(.invalidTextRepresentation, "invalid input value for enum \(e.name): \"\(text)\"")
            }
            return .text(text)
        case let .modified(base, typmod):
            if base == .interval { return .interval(try Interval.parse(text, typmod: typmod)) }
            return try applyTypmod(try fromText(text, to: base, dt), base, typmod)
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
        case .array(let element):
            return .array(try parseArray(text, element, dt))
        case .oid:
            return .int(try oidInput(text))
        case .reg(let k):
            // Names need the catalog: the SQL layer converts them before they get here.
            guard let v = try? oidInput(text) else {
                throw SQLError(.featureNotSupported, "\(k.rawValue) input of a name outside a query", detail: "The value was \"\(text)\".")
            }
            return .int(v)
        case .record:
            throw SQLError(.featureNotSupported, "record input from text")
        case .vector(let element):
            // int2vector / oidvector input: numbers separated by spaces.
            return .array(try text.split(separator: " ", omittingEmptySubsequences: true).map { try fromText(String($0), to: element, dt) })
        }
    }

    /// oid input: an unsigned 32-bit number; a negative 32-bit one wraps, as in PostgreSQL.
    public static func oidInput(_ text: String) throws -> Int64 {
        let t = text.trimming()
        guard let v = Int64(t), v >= Int64(Int32.min), v <= Int64(UInt32.max) else {
            if let _ = Int64(t) { throw SQLError(.numericValueOutOfRange, "value \"\(text)\" is out of range for type oid") }
            throw SQLError(.invalidTextRepresentation, "invalid input syntax for type oid: \"\(text)\"")
        }
        return v < 0 ? v + (1 << 32) : v
    }

    /// PostgreSQL's one-dimensional array input: `{a,"b c",NULL}` (optionally with `[1:3]=` bounds).
    static func parseArray(_ text: String, _ element: SQLType, _ dt: DateTimeContext) throws -> [Value] {
        func malformed(_ detail: String) -> SQLError {
            SQLError(.invalidTextRepresentation, "malformed array literal: \"\(text)\"", detail: detail)
        }
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.first, c == " " || c == "\t" || c == "\n" { chars.removeFirst() }
        if chars.first == "[" {
            while let c = chars.first, c != "=" { chars.removeFirst() }
            guard chars.popFirst() == "=" else { throw malformed("Missing \"=\" after array dimensions.") }
            while let c = chars.first, c == " " { chars.removeFirst() }
        }
        guard chars.popFirst() == "{" else { throw malformed("Array value must start with \"{\" or dimension information.") }
        var out: [Value] = []
        while let c = chars.first, c == " " { chars.removeFirst() }
        if chars.first == "}" {
            chars.removeFirst()
            guard chars.allSatisfy({ $0 == " " }) else { throw malformed("Junk after closing right brace.") }
            return []
        }
        while true {
            while let c = chars.first, c == " " { chars.removeFirst() }
            var item = ""
            var quoted = false
            if chars.first == "{" { throw SQLError(.featureNotSupported, "multidimensional arrays are not supported") }
            if chars.first == "\"" {
                quoted = true
                chars.removeFirst()
                while true {
                    guard let c = chars.popFirst() else { throw malformed("Unexpected end of input.") }
                    if c == "\"" { break }
                    if c == "\\" {
                        guard let n = chars.popFirst() else { throw malformed("Unexpected end of input.") }
                        item.unicodeScalars.append(n)
                    } else {
                        item.unicodeScalars.append(c)
                    }
                }
            } else {
                while let c = chars.first, c != ",", c != "}" {
                    chars.removeFirst()
                    if c == "\\" {
                        guard let n = chars.popFirst() else { throw malformed("Unexpected end of input.") }
                        item.unicodeScalars.append(n)
                    } else if c == "{" || c == "\"" {
                        throw malformed("Unexpected \"\(c)\" character.")
                    } else {
                        item.unicodeScalars.append(c)
                    }
                }
                while item.hasSuffix(" ") { item.removeLast() }
                if item.isEmpty { throw malformed("Unexpected \"\(chars.first.map { String($0) } ?? "end")\" character.") }
            }
            while let c = chars.first, c == " " { chars.removeFirst() }
            if !quoted && item.uppercased() == "NULL" { out.append(.null) } else { out.append(try fromText(item, to: element, dt)) }
            guard let sep = chars.popFirst() else { throw malformed("Unexpected end of input.") }
            if sep == "}" { break }
            guard sep == "," else { throw malformed("Expected \",\" or \"}\".") }
        }
        guard chars.allSatisfy({ $0 == " " }) else { throw malformed("Junk after closing right brace.") }
        return out
    }

    /// A type modifier's effect on a value: fractional seconds rounded, interval fields kept.
    static func applyTypmod(_ v: Value, _ base: SQLType, _ typmod: Int32) throws -> Value {
        switch v {
        case .interval(let i): return .interval(try i.applying(typmod: typmod))
        case .timestamp(let t): return .timestamp(try PGDateTime.roundTimestamp(t, typmod: typmod))
        case .timestamptz(let t): return .timestamptz(try PGDateTime.roundTimestamp(t, typmod: typmod))
        case .time(let t): return .time(PGTimeOfDay.round(t, typmod: typmod))
        default: return v
        }
    }

    /// PostgreSQL's timestamp[tz] input: microseconds since 2000-01-01, range-checked.
    /// A zone in the text moves a timestamptz to UTC (the session's zone when none is given);
    /// a timestamp ignores it, as PostgreSQL does.
    public static func timestampInput(_ text: String, _ type: SQLType, _ dt: DateTimeContext) throws -> Int64 {
        type == .timestamptz ? try PGDateTime.timestamptz(text, dt) : try PGDateTime.timestamp(text, dt)
    }

    public static func checkRange(_ v: Int64, _ type: SQLType, text: String? = nil) throws -> Value {
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

    /// Fits text to varchar(n)/char(n): code points past n are cut by an explicit cast, or by an
    /// assignment when they are all spaces; otherwise 22001. char(n) is padded with spaces to n.
    static func fitLength(_ text: String, _ type: SQLType, _ n: Int?, explicit: Bool) throws -> String {
        guard let n else { return text }
        let scalars = text.unicodeScalars
        var out = text
        if scalars.count > n {
            let cut = scalars.index(scalars.startIndex, offsetBy: n)
            if !explicit && !scalars[cut...].allSatisfy({ $0 == " " }) {
                throw SQLError(.stringDataRightTruncation, "value too long for type \(type.name)")
            }
            out = String(String.UnicodeScalarView(scalars[..<cut]))
        }
        if case .bpchar = type {
            let count = out.unicodeScalars.count
            if count < n { out = String(decoding: Array(out.utf8) + [UInt8](repeating: UInt8(ascii: " "), count: n - count), as: UTF8.self) }
        }
        return out
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

    /// float8/float4 input: 22P02 for a malformed number, 22003 when it over- or underflows.
    static func floatInput(_ text: String, _ type: SQLType) throws -> Double {
        let t = text.trimming()
        guard !t.isEmpty, let d = parseDouble(t) else {
            throw SQLError(.invalidTextRepresentation, "invalid input syntax for type \(type.name): \"\(text)\"")
        }
        let literalInfinity = t.lowercased().contains("inf")
        let value = type == .float4 ? Double(Float(d)) : d
        let mantissa = t.prefix { $0 != "e" && $0 != "E" }
        let underflow = value == 0 && mantissa.contains { $0 >= "1" && $0 <= "9" }
        if (value.isInfinite && !literalInfinity) || underflow {
            throw SQLError(.numericValueOutOfRange, "\"\(t)\" is out of range for type \(type.name)")
        }
        return value
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

    /// Casts a value of type `from` (nil: unknown) to `type`; `explicit` for `CAST(v AS type)` and
    /// `::`, which cut strings to a varchar/char length where an assignment fails.
    public static func cast(_ v: Value, from: SQLType? = nil, to type: SQLType, explicit: Bool = false,
                            _ dt: DateTimeContext = DateTimeContext()) throws -> Value {
        if case .bpchar? = from, case .text(let s) = v, type == .text || { if case .varchar = type { return true }; return false }() {
            // char(n) to text drops its padding, as PostgreSQL's rtrim1 does.
            var t = Substring(s)
            while t.last == " " { t.removeLast() }
            return try cast(.text(String(t)), from: .text, to: type, explicit: explicit, dt)
        }
        if case let .modified(base, typmod) = type {
            return try applyTypmod(try cast(v, from: from, to: base, explicit: explicit, dt), base, typmod)
        }
        // Date and time conversions that depend on the session's zone.
        switch (v, type) {
        case (.timestamptz(let t), .text), (.timestamptz(let t), .varchar), (.timestamptz(let t), .bpchar):
            let s = try PGDateTime.formatTimestamptz(t, zone: dt.timeZone)
            return try cast(.text(s), from: .text, to: type, explicit: explicit, dt)
        case (.date(let d), .timestamptz): return .timestamptz(try PGDateFunctions.dateToTimestamptz(d, zone: dt.timeZone))
        case (.timestamp(let t), .timestamptz): return .timestamptz(try PGDateFunctions.timestampToTimestamptz(t, zone: dt.timeZone))
        case (.timestamptz(let t), .timestamp): return .timestamp(try PGDateFunctions.timestamptzToTimestamp(t, zone: dt.timeZone))
        case (.timestamptz(let t), .date): return .date(try PGDateFunctions.timestamptzToDate(t, zone: dt.timeZone))
        case (.timestamp(let t), .date): return .date(try PGDateFunctions.timestampToDate(t))
        case (.date(let d), .timestamp): return .timestamp(try PGDateFunctions.dateToTimestamp(d))
        case (.timestamp(let t), .time): return PGDateFunctions.timestampToTime(t).map { .time($0) } ?? .null
        case (.timestamptz(let t), .time):
            return PGDateFunctions.timestampToTime(try PGDateFunctions.timestamptzToTimestamp(t, zone: dt.timeZone)).map { .time($0) } ?? .null
        case (.interval(let i), .time):
            var us = i.micros % PGTimeOfDay.end
            if us < 0 { us += PGTimeOfDay.end }
            return .time(us)
        case (.time(let t), .interval): return .interval(Interval(micros: t))
        case (.time, .time), (.interval, .interval): return v
        default: break
        }
        switch (v, type) {
        case (.null, _): return .null
        case (.numeric(let n), .numeric): return .numeric(n)
        case let (.numeric(n), .decimal(p, s)): return .numeric(try n.coerced(precision: p, scale: s))
        case let (.int(i), .decimal(p, s)): return .numeric(try Numeric(i).coerced(precision: p, scale: s))
        case (.int(let i), .numeric): return .numeric(Numeric(i))
        case (.double(let d), .numeric): return .numeric(try numericFromDouble(d, from))
        case let (.double(d), .decimal(p, s)): return .numeric(try numericFromDouble(d, from).coerced(precision: p, scale: s))
        case (.numeric(let n), .int2): return .int(try n.int64(bits: 16))
        case (.numeric(let n), .int4): return .int(try n.int64(bits: 32))
        case (.numeric(let n), .int8): return .int(try n.int64(bits: 64))
        case (.numeric(let n), .float8): return .double(try n.float8())
        case (.numeric(let n), .float4):
            let d = try n.float8()
            let f = Double(Float(d))
            if f.isInfinite && !d.isInfinite { throw SQLError(.numericValueOutOfRange, "\"\(n.description)\" is out of range for type real") }
            return .double(f)
        case (.array(let xs), .array(let element)):
            var elementFrom: SQLType?
            if case .array(let e)? = from { elementFrom = e }
            return .array(try xs.map { try cast($0, from: elementFrom, to: element, explicit: explicit, dt) })
        case (.text(let s), .varchar(let n)), (.text(let s), .bpchar(let n)):
            return .text(try fitLength(s, type, n, explicit: explicit))
        case (.text(let s), _): return try fromText(s, to: type, dt)
        case (_, .text), (_, .varchar), (_, .bpchar), (_, .unknown):
            let s: String
            if case .bool(let b) = v { s = b ? "true" : "false" } else { s = v.pgText ?? "" }
            if case .varchar(let n) = type { return .text(try fitLength(s, type, n, explicit: explicit)) }
            if case .bpchar(let n) = type { return .text(try fitLength(s, type, n, explicit: explicit)) }
            return try fromText(s, to: type, dt)
        case (.int(let i), .int2), (.int(let i), .int4), (.int(let i), .int8):
            return try checkRange(i, type)
        case (.int(let i), .oid), (.int(let i), .reg):
            guard i >= Int64(Int32.min), i <= Int64(UInt32.max) else { throw SQLError(.numericValueOutOfRange, "OID out of range") }
            return .int(i < 0 ? i + (1 << 32) : i)
        case (.array, .vector(let e)):
            return try cast(v, from: from.map { if case .vector(let x) = $0 { return .array(x) }; return $0 }, to: .array(e), explicit: explicit, dt)
        case (.int(let i), .float4), (.int(let i), .float8):
            return .double(type == .float4 ? Double(Float(i)) : Double(i))
        case (.double(let d), .int2), (.double(let d), .int4), (.double(let d), .int8):
            // numeric rounds half away from zero; float4/8 round half to even (rint), as in PostgreSQL.
            let r = d.rounded(from == .numeric ? .toNearestOrAwayFromZero : .toNearestOrEven)
            guard r.isFinite, r >= -9.223372036854775808e18, r < 9.223372036854775808e18 else {
                throw SQLError(.numericValueOutOfRange, "\(type.name) out of range")
            }
            return try checkRange(Int64(r), type)
        case (.double(let d), .float8): return .double(d)
        case (.double(let d), .float4): return .double(Double(Float(d)))
        case (.json(let s), _) where from == .jsonb && (type.isInteger || type.isFloat || type.isNumeric || type == .bool):
            return try fromJSONB(s, to: type)
        case (.int(let i), .bool): return .bool(i != 0)
        case (.bool(let b), .int4), (.bool(let b), .int8), (.bool(let b), .int2): return .int(b ? 1 : 0)
        case (.bool, .bool), (.json, .jsonb), (.json, .json), (.bytes, .bytea), (.date, .date),
             (.timestamp, .timestamp), (.timestamptz, .timestamptz):
            return v
        default:
            throw SQLError(.datatypeMismatch, "cannot cast type \(v.naturalType?.name ?? "unknown") to \(type.name)")
        }
    }

    /// jsonb to a number or boolean: only a jsonb scalar of that kind converts (22023
    /// otherwise, with PostgreSQL's words); numbers go through numeric, so `1.5` to integer is 2.
    static func fromJSONB(_ text: String, to type: SQLType) throws -> Value {
        let j = try JSONParser.parse(text)
        let kind: String
        switch j {
        case .number(let n) where type != .bool:
            let v = try Numeric.parse(n)
            return try cast(.numeric(v), from: .numeric, to: type, explicit: true)
        case .bool(let b) where type == .bool: return .bool(b)
        case .null: kind = "null"
        case .string: kind = "string"
        case .number: kind = "numeric"
        case .bool: kind = "boolean"
        case .array: kind = "array"
        case .object: kind = "object"
        }
        throw SQLError(.invalidParameterValue, "cannot cast jsonb \(kind) to type \(type.name)")
    }

    /// float4/float8 to numeric: PostgreSQL converts through `%.15g` (`%.6g` for float4).
    public static func numericFromDouble(_ d: Double, _ from: SQLType?) throws -> Numeric {
        if d.isNaN { return .nan }
        if d.isInfinite { return d < 0 ? .negativeInfinity : .infinity }
        var buf = [CChar](repeating: 0, count: 64)
        _ = withVaList([d]) { vsnprintf(&buf, buf.count, from == .float4 ? "%.6g" : "%.15g", $0) }
        return try Numeric.parse(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
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
        case (.number(let n), _) where type.isInteger || type.isFloat || type.isNumeric:
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
