import DriftCore
import DriftStorage
#if canImport(Glibc)
import Glibc
#endif

/// String functions with PostgreSQL's rules in the C locale: lengths and positions count code
/// points, case mapping touches ASCII letters only.
enum StringFunctions {
    static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }
    static func string(_ xs: some Sequence<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: xs)
        return String(v)
    }

    static func trim(_ s: String, _ chars: String, leading: Bool, trailing: Bool) -> String {
        let set = Set(chars.unicodeScalars)
        var xs = Substring(s).unicodeScalars[...]
        if leading { while let f = xs.first, set.contains(f) { xs.removeFirst() } }
        if trailing { while let l = xs.last, set.contains(l) { xs.removeLast() } }
        return String(String.UnicodeScalarView(xs))
    }

    static func pad(_ s: String, _ n: Int64, _ fill: String, left: Bool) throws -> String {
        let xs = scalars(s)
        // At most four UTF-8 bytes a character: past what a row can hold, refused (it was
        // cut at ten million characters without a word).
        guard n <= Int64(Limits.frameBytesMax / 4) else { throw SQLError(.programLimitExceeded, "requested length too large") }
        let target = Int(max(0, n))
        if xs.count >= target { return string(xs.prefix(target)) }
        let f = scalars(fill)
        guard !f.isEmpty else { return s }
        var padding: [Unicode.Scalar] = []
        padding.reserveCapacity(target - xs.count)
        while padding.count < target - xs.count { padding.append(f[padding.count % f.count]) }
        return left ? string(padding + xs) : string(xs + padding)
    }

    static func initcap(_ s: String) -> String {
        var out = [UInt8]()
        var inWord = false
        for b in s.utf8 {
            let isAlnum = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b >= 128
            if isAlnum {
                if !inWord, b >= 97 && b <= 122 { out.append(b - 32) } else if inWord, b >= 65 && b <= 90 { out.append(b + 32) } else { out.append(b) }
                inWord = true
            } else {
                out.append(b)
                inWord = false
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func repeatString(_ s: String, _ n: Int64) throws -> String {
        guard n > 0 else { return "" }
        let (total, overflow) = Int64(s.utf8.count).multipliedReportingOverflow(by: n)
        guard !overflow, total <= Int64(Limits.frameBytesMax) else {
            throw SQLError(.programLimitExceeded, "requested length too large")
        }
        return String(repeating: s, count: Int(n))
    }

    /// The text of any value as concat() and format() show it (booleans as t/f).
    static func display(_ v: Value) -> String? { v.pgText }

    static func md5Hex(_ s: String) -> String { hexString(MD5.digest(Array(s.utf8))) }

    static func toHex(_ i: Int64, bits: Int) -> String {
        let u = bits == 32 ? UInt64(UInt32(truncatingIfNeeded: i)) : UInt64(bitPattern: i)
        return String(u, radix: 16)
    }

    static func splitPart(_ s: String, _ sep: String, _ n: Int64) throws -> String {
        guard n != 0 else { throw SQLError(.invalidParameterValue, "field position must not be zero") }
        let parts: [String] = sep.isEmpty ? [s] : splitString(s, sep)
        let i = n > 0 ? Int(n) - 1 : parts.count + Int(n)
        return i >= 0 && i < parts.count ? parts[i] : ""
    }

    static func strpos(_ s: String, _ sub: String) -> Int64 {
        if sub.isEmpty { return 1 }
        let a = Array(s.utf8), b = Array(sub.utf8)
        guard b.count <= a.count else { return 0 }
        var i = 0
        while i + b.count <= a.count {
            if a[i] == b[0] && Array(a[i..<(i + b.count)]) == b {
                return Int64(String(decoding: a[0..<i], as: UTF8.self).unicodeScalars.count + 1)
            }
            i += 1
        }
        return 0
    }

    static func translate(_ s: String, _ from: String, _ to: String) -> String {
        let f = scalars(from), t = scalars(to)
        var out: [Unicode.Scalar] = []
        for c in s.unicodeScalars {
            if let i = f.firstIndex(of: c) {
                if i < t.count { out.append(t[i]) }
            } else {
                out.append(c)
            }
        }
        return string(out)
    }

    static func octal3(_ c: UInt8) -> String {
        String(c >> 6) + String((c >> 3) & 7) + String(c & 7)
    }

    /// Every occurrence of `sep` splits (byte-wise).
    static func splitString(_ s: String, _ sep: String) -> [String] {
        let a = Array(s.utf8), b = Array(sep.utf8)
        var parts: [String] = []
        var start = 0, i = 0
        while i + b.count <= a.count {
            if a[i] == b[0] && a[i..<(i + b.count)].elementsEqual(b) {
                parts.append(String(decoding: a[start..<i], as: UTF8.self))
                i += b.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(String(decoding: a[start...], as: UTF8.self))
        return parts
    }

    static func replaceAll(_ s: String, _ from: String, _ to: String) -> String {
        splitString(s, from).joined(separator: to)
    }

    static func quoteIdent(_ s: String) -> String { Deparser.ident(s) }

    static func quoteLiteral(_ s: String) -> String {
        if s.contains("\\") {
            var out = "E'"
            for c in s.unicodeScalars {
                if c == "'" { out += "''" } else if c == "\\" { out += "\\\\" } else { out.unicodeScalars.append(c) }
            }
            return out + "'"
        }
        return Deparser.literal(s)
    }

    /// format(): %s, %I, %L, %%, with optional position (`%2$s`) and width (`%-10s`, `%*s`).
    static func format(_ args: [Value]) throws -> Value {
        guard case .text(let f) = args[0] else { return .null }
        let rest = Array(args.dropFirst())
        var out = ""
        var next = 0
        var chars = Array(f.unicodeScalars)[...]
        while let c = chars.popFirst() {
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            guard !chars.isEmpty else { throw SQLError(.invalidParameterValue, "unterminated format() type specifier") }
            if chars.first == "%" { chars.removeFirst(); out += "%"; continue }
            var spec = ""
            while let d = chars.first, d != "s" && d != "I" && d != "L" { spec.unicodeScalars.append(d); chars.removeFirst() }
            guard let kind = chars.popFirst() else { throw SQLError(.invalidParameterValue, "unterminated format() type specifier") }
            var index = next
            var explicitIndex = false
            var widthSpec = Substring(spec)
            // A position first: digits and '$' (`%2$s`).
            if let dollar = widthSpec.firstIndex(of: "$"), !widthSpec[..<dollar].isEmpty,
               widthSpec[..<dollar].allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let n = Int32(widthSpec[..<dollar]) else { throw SQLError(.numericValueOutOfRange, "number is out of range") }
                guard n >= 1 else { throw SQLError(.invalidParameterValue, "format specifies argument 0, but arguments are numbered from 1") }
                index = Int(n) - 1
                explicitIndex = true
                widthSpec = widthSpec[widthSpec.index(after: dollar)...]
            }
            // Then the width: a '-' flag (left-justify), digits or '*' (the next argument's
            // value, or argument n's with `*n$`; a negative one left-justifies, NULL none).
            var leftJustify = false
            if widthSpec.first == "-" {
                leftJustify = true
                widthSpec = widthSpec.dropFirst()
            }
            var width = 0
            if widthSpec.first == "*" {
                widthSpec = widthSpec.dropFirst()
                var widthIndex = next
                if !widthSpec.isEmpty {
                    guard widthSpec.last == "$", let n = Int32(widthSpec.dropLast()), n >= 1 else {
                        throw SQLError(.invalidParameterValue, "unrecognized format() type specifier \"\(spec)\"")
                    }
                    widthIndex = Int(n) - 1
                }
                guard widthIndex < rest.count else { throw SQLError(.invalidParameterValue, "too few arguments for format()") }
                if !explicitIndex { index = widthIndex + 1 }
                if case .int(let w) = try Coercion.cast(rest[widthIndex], to: .int4, explicit: true) {
                    if w < 0 { leftJustify = true }
                    width = Int(w.magnitude)
                }
            } else if !widthSpec.isEmpty {
                // An int4 (PostgreSQL: 22003 past it).
                guard let magnitude = Int32(widthSpec), magnitude >= 0 else {
                    if widthSpec.allSatisfy({ $0.isASCII && $0.isNumber }) {
                        throw SQLError(.numericValueOutOfRange, "number is out of range")
                    }
                    throw SQLError(.invalidParameterValue, "unrecognized format() type specifier \"\(spec)\"")
                }
                width = Int(magnitude)
            }
            guard index < rest.count else { throw SQLError(.invalidParameterValue, "too few arguments for format()") }
            next = index + 1
            let v = rest[index]
            var piece: String
            switch kind {
            case "s": piece = display(v) ?? ""
            case "I":
                guard let s = display(v) else { throw SQLError(SQLState("22004"), "null values cannot be formatted as an SQL identifier") }
                piece = quoteIdent(s)
            default: piece = display(v).map(quoteLiteral) ?? "NULL"
            }
            let n = piece.unicodeScalars.count
            if width > n {
                guard width <= Limits.frameBytesMax / 4 else { throw SQLError(.programLimitExceeded, "requested length too large") }
                let padding = String(repeating: " ", count: width - n)
                piece = leftJustify ? piece + padding : padding + piece
            }
            out += piece
        }
        return .text(out)
    }

    static func encode(_ b: [UInt8], _ format: String) throws -> String {
        switch format.lowercased() {
        case "hex": return hexString(b)
        case "base64": return Base64.encode(b)
        case "escape":
            var out = ""
            for c in b {
                if c == 0 || c >= 0x80 { out += "\\" + octal3(c) } else if c == 92 { out += "\\\\" } else { out.unicodeScalars.append(Unicode.Scalar(c)) }
            }
            return out
        default: throw SQLError(.invalidParameterValue, "unrecognized encoding: \"\(format)\"")
        }
    }

    static func decode(_ s: String, _ format: String) throws -> [UInt8] {
        switch format.lowercased() {
        case "hex":
            guard case .bytes(let b) = try Coercion.fromText("\\x" + s, to: .bytea) else { return [] }
            return b
        case "base64":
            return try Base64.decode(s)
        case "escape":
            guard case .bytes(let b) = try Coercion.fromText(s, to: .bytea) else { return [] }
            return b
        default: throw SQLError(.invalidParameterValue, "unrecognized encoding: \"\(format)\"")
        }
    }

    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        var out: [(String, Overload)] = []
        for name in ["length", "char_length", "character_length"] {
            out.append(F.fn(name, [.text], .int4, .unary { .int(Int64(try $0.text().unicodeScalars.count)) }))
        }
        out.append(F.fn("length", [.bytea], .int4, .unary { if case .bytes(let b) = $0 { return .int(Int64(b.count)) }; return .null }))
        out.append(F.fn("octet_length", [.text], .int4, .unary { .int(Int64(try $0.text().utf8.count)) }))
        out.append(F.fn("octet_length", [.bytea], .int4, .unary { if case .bytes(let b) = $0 { return .int(Int64(b.count)) }; return .null }))
        out.append(F.fn("bit_length", [.text], .int4, .unary { .int(Int64(try $0.text().utf8.count * 8)) }))
        out.append(F.fn("lower", [.text], .text, .unary { .text(asciiCase(try $0.text(), upper: false)) }))
        out.append(F.fn("upper", [.text], .text, .unary { .text(asciiCase(try $0.text(), upper: true)) }))
        out.append(F.fn("initcap", [.text], .text, .unary { .text(initcap(try $0.text())) }))
        for name in ["substring", "substr"] {
            out.append(F.fn(name, [.text, .int4], .text, .binary { s, f in .text(substring(try s.text(), from: try f.int(), count: nil)) }))
            out.append(F.fn(name, [.text, .int4, .int4], .text, .ternary { s, f, n in
                let count = try n.int()
                guard count >= 0 else { throw SQLError(SQLState("22011"), "negative substring length not allowed") }
                return .text(substring(try s.text(), from: try f.int(), count: count))
            }))
        }
        out.append(F.fn("left", [.text, .int4], .text, .binary { s, n in
            let xs = scalars(try s.text()), k = try n.int()
            return .text(string(k >= 0 ? xs.prefix(Int(min(k, Int64(xs.count)))) : xs.dropLast(Int(min(-k, Int64(xs.count))))))
        }))
        out.append(F.fn("right", [.text, .int4], .text, .binary { s, n in
            let xs = scalars(try s.text()), k = try n.int()
            return .text(string(k >= 0 ? xs.suffix(Int(min(k, Int64(xs.count)))) : xs.dropFirst(Int(min(-k, Int64(xs.count))))))
        }))
        out.append(F.fn("repeat", [.text, .int4], .text, .binary { s, n in .text(try repeatString(try s.text(), try n.int())) }))
        out.append(F.fn("reverse", [.text], .text, .unary { .text(string(scalars(try $0.text()).reversed())) }))
        out.append(F.fn("replace", [.text, .text, .text], .text, .ternary { s, a, b in
            let from = try a.text()
            return .text(from.isEmpty ? try s.text() : replaceAll(try s.text(), from, try b.text()))
        }))
        out.append(F.fn("translate", [.text, .text, .text], .text, .ternary { .text(translate(try $0.text(), try $1.text(), try $2.text())) }))
        out.append(F.fn("strpos", [.text, .text], .int4, .binary { .int(strpos(try $0.text(), try $1.text())) }))
        // POSITION(a IN b) arrives as position(b, a).
        out.append(F.fn("position", [.text, .text], .int4, .binary { .int(strpos(try $0.text(), try $1.text())) }))
        for (name, l, t) in [("btrim", true, true), ("ltrim", true, false), ("rtrim", false, true)] {
            out.append(F.fn(name, [.text], .text, .unary { .text(trim(try $0.text(), " ", leading: l, trailing: t)) }))
            out.append(F.fn(name, [.text, .text], .text, .binary { .text(trim(try $0.text(), try $1.text(), leading: l, trailing: t)) }))
        }
        out.append(F.fn("lpad", [.text, .int4], .text, .binary { .text(try pad(try $0.text(), try $1.int(), " ", left: true)) }))
        out.append(F.fn("lpad", [.text, .int4, .text], .text, .ternary { .text(try pad(try $0.text(), try $1.int(), try $2.text(), left: true)) }))
        out.append(F.fn("rpad", [.text, .int4], .text, .binary { .text(try pad(try $0.text(), try $1.int(), " ", left: false)) }))
        out.append(F.fn("rpad", [.text, .int4, .text], .text, .ternary { .text(try pad(try $0.text(), try $1.int(), try $2.text(), left: false)) }))
        out.append(F.fn("concat", params: [], variadic: .any, result: .type(.text), strict: false, .nary { args in
            .text(args.compactMap(display).joined())
        }))
        out.append(F.fn("concat_ws", params: [.type(.text)], variadic: .any, result: .type(.text), strict: false, .nary { args in
            guard case .text(let sep) = args[0] else { return .null }
            return .text(args.dropFirst().compactMap(display).joined(separator: sep))
        }))
        out.append(F.fn("split_part", [.text, .text, .int4], .text, .ternary { .text(try splitPart(try $0.text(), try $1.text(), try $2.int())) }))
        out.append(F.fn("starts_with", [.text, .text], .bool, .binary { .bool((try $0.text()).utf8.starts(with: (try $1.text()).utf8)) }))
        out.append(F.fn("ascii", [.text], .int4, .unary { .int(Int64((try $0.text()).unicodeScalars.first?.value ?? 0)) }))
        out.append(F.fn("chr", [.int4], .text, .unary { v in
            let i = try v.int()
            guard i != 0 else { throw SQLError(.programLimitExceeded, "null character not permitted") }
            guard i > 0, i <= 0x10FFFF, let u = Unicode.Scalar(UInt32(i)) else {
                throw SQLError(.programLimitExceeded, "requested character too large for encoding: \(i)")
            }
            return .text(String(Character(u)))
        }))
        out.append(F.fn("md5", [.text], .text, .unary { .text(md5Hex(try $0.text())) }))
        out.append(F.fn("md5", [.bytea], .text, .unary { if case .bytes(let b) = $0 { return .text(hexString(MD5.digest(b))) }; return .null }))
        out.append(F.fn("to_hex", [.int4], .text, .unary { .text(toHex(try $0.int(), bits: 32)) }))
        out.append(F.fn("to_hex", [.int8], .text, .unary { .text(toHex(try $0.int(), bits: 64)) }))
        out.append(F.fn("format", params: [.type(.text)], variadic: .any, result: .type(.text), strict: false, .nary(format)))
        out.append(F.fn("quote_ident", [.text], .text, .unary { .text(quoteIdent(try $0.text())) }))
        out.append(F.fn("quote_literal", [.text], .text, .unary { .text(quoteLiteral(try $0.text())) }))
        out.append(F.fn("quote_nullable", [.text], .text, strict: false, .unary { v in .text(v.isNull ? "NULL" : quoteLiteral(try v.text())) }))
        out.append(F.fn("encode", [.bytea, .text], .text, .binary { b, f in
            guard case .bytes(let bytes) = b else { return .null }
            return .text(try encode(bytes, try f.text()))
        }))
        out.append(F.fn("decode", [.text, .text], .bytea, .binary { .bytes(try decode(try $0.text(), try $1.text())) }))
        out.append(F.fn("regexp_replace", [.text, .text, .text], .text, .ternary { s, p, r in
            .text(try PatternRegex.replace(try s.text(), try p.text(), try r.text(), flags: ""))
        }))
        out.append(F.fn("regexp_replace", [.text, .text, .text, .text], .text, .nary { a in
            .text(try PatternRegex.replace(try a[0].text(), try a[1].text(), try a[2].text(), flags: try a[3].text()))
        }))
        out.append(F.fn("regexp_like", [.text, .text], .bool, .binary { s, p in .bool(try PatternRegex.matches(try s.text(), try p.text(), caseInsensitive: false)) }))
        out.append(F.fn("regexp_count", [.text, .text], .int4, .binary { s, p in .int(Int64(try PatternRegex.count(try s.text(), try p.text()))) }))
        out.append(F.fn("textcat", [.text, .text], .text, .binary { .text(try $0.text() + $1.text()) }))
        out.append(F.fn("bytea_concat", [.bytea, .bytea], .bytea, .binary { a, b in
            guard case .bytes(let x) = a, case .bytes(let y) = b else { throw SQLError.bug("bytea_concat of \(a), \(b)") }
            return .bytes(x + y)
        }))
        return out
    }()
}

/// POSIX-style regular expressions as PostgreSQL's `~`, `~*`, `SIMILAR TO` and regexp_* use
/// them, through the standard library's regex engine.
enum PatternRegex {
    /// How deeply bracket expressions may nest: the regex parser recurses once per level and
    /// a pattern of thousands of '[' overflowed the stack.
    static let bracketDepthMax = 100

    static func compile(_ pattern: String, caseInsensitive: Bool) throws -> Regex<AnyRegexOutput> {
        var depth = 0, escaped = false
        for c in pattern.utf8 {
            if escaped { escaped = false; continue }
            switch c {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "["):
                depth += 1
                if depth > bracketDepthMax {
                    throw SQLError(.invalidRegularExpression, "invalid regular expression: brackets [] nested too deeply")
                }
            case UInt8(ascii: "]"): depth = max(0, depth - 1)
            default: break
            }
        }
        do {
            let r = try Regex(pattern)
            return caseInsensitive ? r.ignoresCase() : r
        } catch {
            throw SQLError(.invalidRegularExpression, "invalid regular expression: \(error)")
        }
    }

    static func matches(_ s: String, _ pattern: String, caseInsensitive: Bool) throws -> Bool {
        let r = try compile(pattern, caseInsensitive: caseInsensitive)
        return try r.firstMatch(in: s) != nil
    }

    /// The groups of a match (the whole match when the pattern has none), NULL for a group
    /// that took no part.
    static func groups(_ m: Regex<AnyRegexOutput>.Match) -> [Value] {
        let out = m.output
        if out.count <= 1 { return [.text(String(out[0].substring ?? ""))] }
        return (1..<out.count).map { i in out[i].substring.map { .text(String($0)) } ?? .null }
    }

    static func firstMatch(_ s: String, _ pattern: String, flags: String) throws -> [Value]? {
        let r = try compile(pattern, caseInsensitive: flags.contains("i"))
        return try r.firstMatch(in: s).map(groups)
    }

    static func allMatches(_ s: String, _ pattern: String, flags: String) throws -> [[Value]] {
        let r = try compile(pattern, caseInsensitive: flags.contains("i"))
        return s.matches(of: r).map(groups)
    }

    /// regexp_split_to_array / _table: the text between matches (empty matches split between
    /// characters, as in PostgreSQL).
    static func split(_ s: String, _ pattern: String, flags: String) throws -> [String] {
        let r = try compile(pattern, caseInsensitive: flags.contains("i"))
        var parts: [String] = []
        var last = s.startIndex
        for m in s.matches(of: r) {
            if m.range.isEmpty {
                if m.range.lowerBound == s.startIndex || m.range.lowerBound == s.endIndex || m.range.lowerBound == last { continue }
            }
            parts.append(String(s[last..<m.range.lowerBound]))
            last = m.range.upperBound
        }
        parts.append(String(s[last...]))
        return parts
    }

    static func count(_ s: String, _ pattern: String) throws -> Int {
        let r = try compile(pattern, caseInsensitive: false)
        return s.matches(of: r).count
    }

    /// regexp_replace: `g` replaces every match, `i` ignores case; `\1`..`\9` and `\&` in the
    /// replacement insert groups.
    static func replace(_ s: String, _ pattern: String, _ replacement: String, flags: String) throws -> String {
        let r = try compile(pattern, caseInsensitive: flags.contains("i"))
        let global = flags.contains("g")
        var out = ""
        var last = s.startIndex
        for m in s.matches(of: r) {
            out += s[last..<m.range.lowerBound]
            var chars = replacement.makeIterator()
            while let c = chars.next() {
                if c == "\\" {
                    guard let d = chars.next() else { out.append("\\"); break }
                    if let n = d.wholeNumberValue, n < m.output.count {
                        if let sub = m.output[n].substring { out += sub }
                    } else if d == "&" {
                        out += s[m.range]
                    } else {
                        out.append(d)
                    }
                } else {
                    out.append(c)
                }
            }
            last = m.range.upperBound
            if !global { break }
        }
        out += s[last...]
        return out
    }

    /// SQL's SIMILAR TO pattern as a regular expression anchored at both ends.
    static func fromSimilar(_ p: String, escape: Character?) throws -> String {
        var out = "^(?:"
        var chars = Array(p)[...]
        var inBracket = false
        while let c = chars.popFirst() {
            if let e = escape, c == e {
                guard let n = chars.popFirst() else { throw SQLError(SQLState("2201B"), "invalid escape string") }
                out += NSRegularExpressionEscape(n)
                continue
            }
            if inBracket {
                if c == "]" { inBracket = false }
                out.append(c)
                continue
            }
            switch c {
            case "%": out += ".*"
            case "_": out += "."
            case "[": inBracket = true; out.append(c)
            case ".", "^", "$", "\\": out += "\\" + String(c)
            default: out.append(c)
            }
        }
        return out + ")$"
    }

    static func NSRegularExpressionEscape(_ c: Character) -> String {
        "\\^$.|?*+()[]{}".contains(c) ? "\\" + String(c) : String(c)
    }
}

/// Base64 (RFC 4648) for encode()/decode(); decoding skips whitespace as PostgreSQL does.
enum Base64 {
    static let alphabet = DriftCore.Base64.alphabet

    static func encode(_ b: [UInt8]) -> String { DriftCore.Base64.encode(b, lineBreaks: true) }

    static func decode(_ s: String) throws -> [UInt8] {
        var v: UInt32 = 0, bits = 0
        var out: [UInt8] = []
        var ended = false
        for c in s.utf8 {
            if c == 32 || c == 9 || c == 10 || c == 13 { continue }
            if c == UInt8(ascii: "=") { ended = true; continue }
            guard !ended, let d = alphabet.firstIndex(of: c) else {
                throw SQLError(.invalidParameterValue, "invalid symbol \"\(String(UnicodeScalar(c)))\" found while decoding base64 sequence")
            }
            v = v << 6 | UInt32(d)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: v >> UInt32(bits)))
            }
        }
        return out
    }
}

/// MD5 (RFC 1321), for md5().
enum MD5 {
    static let s: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                              5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    static let k: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4294967296.0)) }

    static func digest(_ message: [UInt8]) -> [UInt8] {
        var m = message
        let bitLength = UInt64(message.count) &* 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in 0..<8 { m.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
        var a0: UInt32 = 0x67452301, b0: UInt32 = 0xefcdab89, c0: UInt32 = 0x98badcfe, d0: UInt32 = 0x10325476
        for chunk in stride(from: 0, to: m.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 16)
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] = UInt32(m[j]) | UInt32(m[j + 1]) << 8 | UInt32(m[j + 2]) << 16 | UInt32(m[j + 3]) << 24
            }
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16: f = (b & c) | (~b & d); g = i
                case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                f = f &+ a &+ k[i] &+ w[g]
                a = d
                d = c
                c = b
                b = b &+ (f << s[i] | f >> (32 - s[i]))
            }
            a0 = a0 &+ a
            b0 = b0 &+ b
            c0 = c0 &+ c
            d0 = d0 &+ d
        }
        var out: [UInt8] = []
        for v in [a0, b0, c0, d0] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        return out
    }
}

/// MD5 as lowercase hex, for tools (the SQL logic test runner's result hashes).
public enum Digest {
    public static func md5Hex(_ bytes: [UInt8]) -> String { hexString(MD5.digest(bytes)) }
}
