import DriftCore
import DriftStorage

/// A tokenizer that follows PostgreSQL's lexical rules (scan.l): identifiers folded to
/// lower case, quoted identifiers, standard, escape, Unicode and dollar-quoted strings,
/// numbers, parameters, operators and nested comments. Offsets are bytes.
public struct Lexer {
    let b: [UInt8]
    var i = 0

    public init(_ text: String) { b = Array(text.utf8) }

    /// A lexer over `bytes`, starting at byte `at`.
    init(bytes: [UInt8], at: Int = 0) {
        b = bytes
        i = at
    }

    public static func tokenize(_ text: String) throws -> [Token] {
        var l = Lexer(text)
        var out: [Token] = []
        out.reserveCapacity(l.b.count / 4 + 4)  // grown once for typical SQL, not doubled from one
        while let t = try l.next() { out.append(t) }
        return out
    }

    static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || c >= 0x80
    }

    static func isIdentChar(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) || c == 36 }
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static let opChars: Set<UInt8> = Set("+-*/<>=~!@#%^&|`?".utf8)

    func peek(_ k: Int = 0) -> UInt8? { i + k < b.count ? b[i + k] : nil }

    /// Skips whitespace and comments; returns whether a newline was crossed.
    @discardableResult
    mutating func skipSpace() throws -> Bool {
        var newline = false
        while i < b.count {
            let c = b[i]
            if c == 32 || c == 9 || c == 13 || c == 12 {
                i += 1
            } else if c == 10 {
                newline = true
                i += 1
            } else if c == 45 && peek(1) == 45 {
                while i < b.count && b[i] != 10 { i += 1 }
            } else if c == 47 && peek(1) == 42 {
                let start = i
                var depth = 0
                repeat {
                    if i + 1 < b.count && b[i] == 47 && b[i + 1] == 42 {
                        depth += 1
                        i += 2
                    } else if i + 1 < b.count && b[i] == 42 && b[i + 1] == 47 {
                        depth -= 1
                        i += 2
                    } else if i < b.count {
                        if b[i] == 10 { newline = true }
                        i += 1
                    } else {
                        throw LexError(message: "unterminated /* comment", offset: start)
                    }
                } while depth > 0
            } else {
                break
            }
        }
        return newline
    }

    public mutating func next() throws -> Token? {
        try skipSpace()
        guard i < b.count else { return nil }
        let start = i
        let c = b[i]
        // Prefixed strings: E'', B'', X'', N'', U&'' and U&"".
        if (c == 69 || c == 101), peek(1) == 39 {
            i += 1
            return Token(kind: .string, text: try quoted(escapes: true), start: start, end: i)
        }
        if (c == 66 || c == 98 || c == 88 || c == 120), peek(1) == 39 {
            i += 1
            let body = try quoted(escapes: false)
            return Token(kind: .string, text: body, start: start, end: i)
        }
        if (c == 78 || c == 110), peek(1) == 39 {
            i += 1
            return Token(kind: .string, text: try quoted(escapes: false), start: start, end: i)
        }
        if (c == 85 || c == 117), peek(1) == 38, peek(2) == 39 || peek(2) == 34 {
            i += 2
            if b[i] == 39 {
                return Token(kind: .string, text: try unicodeEscapes(try quoted(escapes: false)), start: start, end: i)
            }
            return Token(kind: .quotedIdentifier, text: try unicodeEscapes(try quotedIdentifier()), start: start, end: i)
        }
        if Self.isIdentStart(c) {
            while i < b.count && Self.isIdentChar(b[i]) { i += 1 }
            return Token(kind: .identifier, text: folded(start, i), start: start, end: i)
        }
        if c == 39 {
            return Token(kind: .string, text: try quoted(escapes: false), start: start, end: i)
        }
        if c == 34 {
            return Token(kind: .quotedIdentifier, text: try quotedIdentifier(), start: start, end: i)
        }
        if c == 36 {
            if let d = peek(1), Self.isDigit(d) {
                i += 1
                while i < b.count && Self.isDigit(b[i]) { i += 1 }
                return Token(kind: .parameter, text: String(decoding: b[(start + 1)..<i], as: UTF8.self), start: start, end: i)
            }
            if let s = try dollarQuoted() { return Token(kind: .string, text: s, start: start, end: i) }
        }
        if Self.isDigit(c) || (c == 46 && peek(1).map(Self.isDigit) == true) {
            return number(start)
        }
        if c == 58 && peek(1) == 58 {
            i += 2
            return Token(kind: .punct, text: "::", start: start, end: i)
        }
        if "()[],;:.{}".utf8.contains(c) {
            i += 1
            return Token(kind: .punct, text: String(UnicodeScalar(c)), start: start, end: i)
        }
        if Self.opChars.contains(c) {
            return op(start)
        }
        throw LexError(message: "syntax error at or near \"\(String(UnicodeScalar(c)))\"", offset: start)
    }

    /// The identifier in bytes [start, end) folded to lower case (ASCII letters only, as
    /// PostgreSQL folds), made into a string once.
    func folded(_ start: Int, _ end: Int) -> String {
        b.withUnsafeBufferPointer { all in
            let raw = UnsafeBufferPointer(rebasing: all[start..<end])
            guard raw.contains(where: { $0 >= 65 && $0 <= 90 }) else { return String(decoding: raw, as: UTF8.self) }
            return String(unsafeUninitializedCapacity: raw.count) { out in
                for (k, c) in raw.enumerated() { out[k] = c >= 65 && c <= 90 ? c + 32 : c }
                return raw.count
            }
        }
    }

    mutating func number(_ start: Int) -> Token {
        var decimal = false
        while i < b.count && Self.isDigit(b[i]) { i += 1 }
        if i < b.count && b[i] == 46 && !(peek(1) == 46) {
            decimal = true
            i += 1
            while i < b.count && Self.isDigit(b[i]) { i += 1 }
        }
        if i < b.count && (b[i] == 101 || b[i] == 69) {
            var j = i + 1
            if j < b.count && (b[j] == 43 || b[j] == 45) { j += 1 }
            if j < b.count && Self.isDigit(b[j]) {
                decimal = true
                i = j
                while i < b.count && Self.isDigit(b[i]) { i += 1 }
            }
        }
        return Token(kind: decimal ? .decimal : .integer, text: String(decoding: b[start..<i], as: UTF8.self), start: start, end: i)
    }

    mutating func op(_ start: Int) -> Token {
        while i < b.count && Self.opChars.contains(b[i]) {
            if i > start && ((b[i] == 45 && peek(1) == 45) || (b[i] == 47 && peek(1) == 42)) { break }
            i += 1
        }
        // PostgreSQL drops a trailing + or - from a multi-character operator unless it
        // contains one of ~ ! @ # % ^ & | ` ?.
        var end = i
        let special = Set("~!@#%^&|`?".utf8)
        while end - start > 1 && (b[end - 1] == 43 || b[end - 1] == 45)
            && !b[start..<end].contains(where: { special.contains($0) }) {
            end -= 1
        }
        i = end
        return Token(kind: .op, text: String(decoding: b[start..<end], as: UTF8.self), start: start, end: end)
    }

    /// A single-quoted string at `i` (the opening quote), with '' doubling, optional backslash
    /// escapes, and continuation across whitespace that contains a newline.
    mutating func quoted(escapes: Bool) throws -> String {
        var out: [UInt8] = []
        let open = i
        while true {
            i += 1
            while true {
                guard i < b.count else { throw LexError(message: "unterminated quoted string", offset: open) }
                let c = b[i]
                if c == 39 {
                    if peek(1) == 39 {
                        out.append(39)
                        i += 2
                        continue
                    }
                    i += 1
                    break
                }
                if escapes && c == 92 && i + 1 < b.count {
                    i += 1
                    try escape(into: &out)
                    continue
                }
                out.append(c)
                i += 1
            }
            // SQL-standard continuation: 'a' <newline> 'b' is 'ab'.
            let save = i
            if (try? skipSpace()) == true, i < b.count, b[i] == 39 { continue }
            i = save
            return String(decoding: out, as: UTF8.self)
        }
    }

    mutating func escape(into out: inout [UInt8]) throws {
        let c = b[i]
        i += 1
        switch c {
        case 98: out.append(8)
        case 102: out.append(12)
        case 110: out.append(10)
        case 114: out.append(13)
        case 116: out.append(9)
        case 120:
            var v: UInt32 = 0
            var n = 0
            while n < 2, i < b.count, let d = hexDigit(b[i]) {
                v = v * 16 + d
                i += 1
                n += 1
            }
            out.append(UInt8(v))
        case 117, 85:
            let width = c == 117 ? 4 : 8
            var v: UInt32 = 0
            for _ in 0..<width {
                guard i < b.count, let d = hexDigit(b[i]) else { throw LexError(message: "invalid Unicode escape", offset: i) }
                v = v * 16 + d
                i += 1
            }
            guard let u = UnicodeScalar(v) else { throw LexError(message: "invalid Unicode escape value", offset: i) }
            out.append(contentsOf: Array(String(Character(u)).utf8))
        case 48...55:
            var v = UInt32(c - 48)
            var n = 1
            while n < 3, i < b.count, b[i] >= 48, b[i] <= 55 {
                v = v * 8 + UInt32(b[i] - 48)
                i += 1
                n += 1
            }
            out.append(UInt8(truncatingIfNeeded: v))
        default:
            out.append(c)
        }
    }

    func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case 48...57: return UInt32(c - 48)
        case 65...70: return UInt32(c - 55)
        case 97...102: return UInt32(c - 87)
        default: return nil
        }
    }

    mutating func quotedIdentifier() throws -> String {
        let open = i
        var out: [UInt8] = []
        i += 1
        while true {
            guard i < b.count else { throw LexError(message: "unterminated quoted identifier", offset: open) }
            if b[i] == 34 {
                if peek(1) == 34 {
                    out.append(34)
                    i += 2
                    continue
                }
                i += 1
                break
            }
            out.append(b[i])
            i += 1
        }
        guard !out.isEmpty else { throw LexError(message: "zero-length delimited identifier", offset: open) }
        return String(decoding: out, as: UTF8.self)
    }

    func unicodeEscapes(_ s: String) throws -> String {
        var out = ""
        var it = Array(s.unicodeScalars)[...]
        while let c = it.popFirst() {
            guard c == "\\" else {
                out.unicodeScalars.append(c)
                continue
            }
            if it.first == "\\" {
                out += "\\"
                it.removeFirst()
                continue
            }
            let plus = it.first == "+"
            if plus { it.removeFirst() }
            let width = plus ? 6 : 4
            guard it.count >= width, let v = UInt32(String(String.UnicodeScalarView(it.prefix(width))), radix: 16),
                  let u = UnicodeScalar(v) else {
                throw LexError(message: "invalid Unicode escape", offset: i)
            }
            it.removeFirst(width)
            out.unicodeScalars.append(u)
        }
        return out
    }

    /// `$tag$ ... $tag$` at `i`, or nil when `$` does not start one.
    mutating func dollarQuoted() throws -> String? {
        var j = i + 1
        while j < b.count && b[j] != 36 {
            guard Self.isIdentChar(b[j]), !(j == i + 1 && Self.isDigit(b[j])) else { return nil }
            j += 1
        }
        guard j < b.count else { return nil }
        let tag = Array(b[i...j])
        let bodyStart = j + 1
        var k = bodyStart
        while k + tag.count <= b.count {
            if b[k] == 36 && Array(b[k..<(k + tag.count)]) == tag {
                i = k + tag.count
                return String(decoding: b[bodyStart..<k], as: UTF8.self)
            }
            k += 1
        }
        throw LexError(message: "unterminated dollar-quoted string", offset: i)
    }
}

extension Lexer {
    /// Splits a script into statements at top-level semicolons, as psql does: quotes,
    /// comments, parentheses and DriftQL `{...}` documents (JSON strings included) are
    /// kept whole. Statements that are only whitespace or comments are dropped.
    public static func splitStatements(_ script: String) throws -> [String] {
        if let one = plainlySingle(script) { return [one] }
        return try splitStatementsWithLines(script).map(\.text)
    }

    /// The statement of a script that is plainly one (every simple query a driver sends,
    /// split without lexing it): it starts with a letter, holds nothing a `;` could hide in
    /// (quotes, dollar quotes, comments, a DriftQL document) and at most one `;`, at its end.
    static func plainlySingle(_ script: String) -> String? {
        var end = 0
        var semicolon: Int?
        var depth = 0
        var previous: UInt8 = 0
        var i = 0
        for c in script.utf8 {
            switch c {
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "$"), UInt8(ascii: "{"), UInt8(ascii: "\\"):
                return nil
            case UInt8(ascii: "-") where previous == UInt8(ascii: "-"), UInt8(ascii: "*") where previous == UInt8(ascii: "/"):
                return nil
            case UInt8(ascii: ";"):
                // Inside parentheses a `;` splits nothing (the parser reports it).
                if semicolon != nil || depth != 0 { return nil }
                semicolon = i
            case UInt8(ascii: "("), UInt8(ascii: ")"):
                if semicolon != nil { return nil }
                depth += c == UInt8(ascii: "(") ? 1 : -1
                end = i + 1
            case 32, 9, 10, 11, 12, 13:
                break
            default:
                if semicolon != nil || c >= 0x80 { return nil }
                end = i + 1
            }
            previous = c
            i += 1
        }
        guard let first = script.utf8.first, (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z") else { return nil }
        return String(decoding: script.utf8.prefix(end), as: UTF8.self)
    }

    /// `splitStatements` with the 1-based line each statement starts on.
    public static func splitStatementsWithLines(_ script: String) throws -> [(text: String, line: Int)] {
        let b = Array(script.utf8)
        var out: [(text: String, line: Int)] = []
        var firstToken: Int?
        // Lines are counted as statements are found, in order: one pass over the script.
        var counted = 0
        var lines = 1
        func line(at offset: Int) -> Int {
            while counted < min(offset, b.count) {
                if b[counted] == 10 { lines += 1 }
                counted += 1
            }
            return lines
        }
        var l = Lexer(script)
        var start = 0
        var depth = 0
        var sawToken = false
        while true {
            try l.skipSpace()
            guard l.i < b.count else { break }
            if b[l.i] == 123 && depth == 0 {
                if firstToken == nil { firstToken = l.i }
                l.i = try skipJSON(b, from: l.i)
                sawToken = true
                continue
            }
            guard let t = try l.next() else { break }
            if t.isPunct("(") { depth += 1 }
            if t.isPunct(")") { depth = max(0, depth - 1) }
            if t.isPunct(";") && depth == 0 {
                if sawToken { out.append((String(decoding: b[start..<t.start], as: UTF8.self), line(at: firstToken ?? start))) }
                start = t.end
                sawToken = false
                firstToken = nil
                continue
            }
            if firstToken == nil { firstToken = t.start }
            sawToken = true
        }
        if sawToken { out.append((String(decoding: b[start..<b.count], as: UTF8.self), line(at: firstToken ?? start))) }
        return out.map { ($0.text.trimming(), $0.line) }
    }

    /// The offset just past the JSON value that starts with `{` at `from`.
    static func skipJSON(_ b: [UInt8], from: Int) throws -> Int {
        var i = from
        var depth = 0
        while i < b.count {
            switch b[i] {
            case 34:
                i += 1
                while i < b.count && b[i] != 34 {
                    if b[i] == 92 { i += 1 }
                    i += 1
                }
            case 123, 91: depth += 1
            case 125, 93:
                depth -= 1
                if depth == 0 { return i + 1 }
            default: break
            }
            i += 1
        }
        throw LexError(message: "unterminated JSON document", offset: from)
    }
}
