import DriftStorage

/// PostgreSQL's input functions and casts for the types the engine stores.
public enum Coercion {
    /// Parses text as a value of `type` (PostgreSQL's type input function).
    public static func fromText(_ text: String, to type: SQLType) throws -> Value {
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
            let t = text.trimming()
            guard let d = parseDouble(t), !t.lowercased().contains("inf") else {
                throw SQLError(.invalidTextRepresentation, "invalid input syntax for type numeric: \"\(text)\"")
            }
            guard d.isFinite else { throw SQLError(.numericValueOutOfRange, "value overflows numeric format") }
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
            let us = try timestampInput(text, type)
            return type == .timestamptz ? .timestamptz(us) : .timestamp(us)
        case .date:
            return .date(try dateInput(text))
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
            return .array(try parseArray(text, element))
        default:
            throw SQLError(.featureNotSupported, "type \(type.name) is not supported")
        }
    }

    /// PostgreSQL's one-dimensional array input: `{a,"b c",NULL}` (optionally with `[1:3]=` bounds).
    static func parseArray(_ text: String, _ element: SQLType) throws -> [Value] {
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
            if !quoted && item.uppercased() == "NULL" { out.append(.null) } else { out.append(try fromText(item, to: element)) }
            guard let sep = chars.popFirst() else { throw malformed("Unexpected end of input.") }
            if sep == "}" { break }
            guard sep == "," else { throw malformed("Expected \",\" or \"}\".") }
        }
        guard chars.allSatisfy({ $0 == " " }) else { throw malformed("Junk after closing right brace.") }
        return out
    }

    static func parseDateTime(_ text: String, _ type: SQLType) throws -> DateTimeText {
        do {
            return try DateTimeText.parse(text)
        } catch .syntax {
            throw SQLError(.invalidDatetimeFormat, "invalid input syntax for type \(type.name): \"\(text)\"")
        } catch .fieldOutOfRange {
            throw SQLError(.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"")
        }
    }

    /// PostgreSQL's timestamp[tz] input: microseconds since 2000-01-01, range-checked.
    /// A zone in the text moves a timestamptz to UTC; a timestamp ignores it, as PostgreSQL does.
    public static func timestampInput(_ text: String, _ type: SQLType) throws -> Int64 {
        let t = try parseDateTime(text, type)
        switch t.special {
        case .infinity?: return PGTime.infinity
        case .negativeInfinity?: return PGTime.negativeInfinity
        case .epoch?: return -PGTime.epochUnixMicros
        case nil: break
        }
        let offset = type == .timestamptz ? (t.zoneSeconds ?? 0) * 1_000_000 : 0
        guard let local = PGTime.timestamp(days: t.days, timeMicros: t.timeMicros),
              case let (us, false) = local.subtractingReportingOverflow(offset),
              us >= PGTime.timestampMin, us < PGTime.timestampEnd else {
            throw SQLError(.datetimeFieldOverflow, "timestamp out of range: \"\(text)\"")
        }
        return us
    }

    /// PostgreSQL's date input: days since 2000-01-01, range-checked (a time of day is ignored).
    public static func dateInput(_ text: String) throws -> Int32 {
        let t = try parseDateTime(text, .date)
        switch t.special {
        case .infinity?: return PGTime.dateInfinity
        case .negativeInfinity?: return PGTime.dateNegativeInfinity
        case .epoch?: return Int32(-PGTime.epochUnixDays)
        case nil: break
        }
        guard PGTime.isValidDate(t.days) else { throw SQLError(.datetimeFieldOverflow, "date out of range: \"\(text)\"") }
        return Int32(t.days)
    }

    static func dateToTimestamp(_ d: Int32) throws -> Int64 {
        if d == PGTime.dateInfinity { return PGTime.infinity }
        if d == PGTime.dateNegativeInfinity { return PGTime.negativeInfinity }
        guard let us = PGTime.timestamp(days: Int64(d), timeMicros: 0) else {
            throw SQLError(.datetimeFieldOverflow, "date out of range for timestamp")
        }
        return us
    }

    static func timestampToDate(_ us: Int64) -> Int32 {
        if us == PGTime.infinity { return PGTime.dateInfinity }
        if us == PGTime.negativeInfinity { return PGTime.dateNegativeInfinity }
        let days = us >= 0 ? us / PGTime.microsPerDay : (us + 1) / PGTime.microsPerDay - 1
        return Int32(truncatingIfNeeded: days)
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
            if count < n { out += String(repeating: " ", count: n - count) }
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
    public static func cast(_ v: Value, from: SQLType? = nil, to type: SQLType, explicit: Bool = false) throws -> Value {
        if case .bpchar? = from, case .text(let s) = v, type == .text || { if case .varchar = type { return true }; return false }() {
            // char(n) to text drops its padding, as PostgreSQL's rtrim1 does.
            var t = Substring(s)
            while t.last == " " { t.removeLast() }
            return try cast(.text(String(t)), from: .text, to: type, explicit: explicit)
        }
        switch (v, type) {
        case (.null, _): return .null
        case (.array(let xs), .array(let element)):
            var elementFrom: SQLType?
            if case .array(let e)? = from { elementFrom = e }
            return .array(try xs.map { try cast($0, from: elementFrom, to: element, explicit: explicit) })
        case (.text(let s), .varchar(let n)), (.text(let s), .bpchar(let n)):
            return .text(try fitLength(s, type, n, explicit: explicit))
        case (.text(let s), _): return try fromText(s, to: type)
        case (_, .text), (_, .varchar), (_, .bpchar), (_, .unknown):
            let s: String
            if case .bool(let b) = v { s = b ? "true" : "false" } else { s = v.pgText ?? "" }
            if case .varchar(let n) = type { return .text(try fitLength(s, type, n, explicit: explicit)) }
            if case .bpchar(let n) = type { return .text(try fitLength(s, type, n, explicit: explicit)) }
            return try fromText(s, to: type)
        case (.int(let i), .int2), (.int(let i), .int4), (.int(let i), .int8):
            return try checkRange(i, type)
        case (.int(let i), .float4), (.int(let i), .float8), (.int(let i), .numeric):
            return .double(Double(i))
        case (.double(let d), .int2), (.double(let d), .int4), (.double(let d), .int8):
            // numeric rounds half away from zero; float4/8 round half to even (rint), as in PostgreSQL.
            let r = d.rounded(from == .numeric ? .toNearestOrAwayFromZero : .toNearestOrEven)
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
        case (.date(let d), .timestamp): return .timestamp(try dateToTimestamp(d))
        case (.date(let d), .timestamptz): return .timestamptz(try dateToTimestamp(d))
        case (.timestamp(let t), .date), (.timestamptz(let t), .date): return .date(timestampToDate(t))
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
