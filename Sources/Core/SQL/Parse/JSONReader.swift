import DriftCore

/// A pull reader over the parser's JSON output: no intermediate tree, no Codable.
/// Fields the protobuf-style output omits hold their default values (0, false, "").
struct JSONReader {
    let b: UnsafeRawBufferPointer
    var i = 0
    /// Open objects and arrays. The builder and the binder recurse once per level, so the
    /// depth is bounded (PostgreSQL's own limit, max_stack_depth, is of the same order).
    var depth = 0
    static let depthMax = 1000

    init(_ bytes: UnsafeRawBufferPointer) { b = bytes }

    func fail(_ m: String) -> SQLError { SQLError(.internalError, "parse tree: \(m) at byte \(i)") }

    mutating func space() {
        while i < b.count, b[i] == 32 || b[i] == 10 || b[i] == 9 || b[i] == 13 { i += 1 }
    }

    mutating func expect(_ c: UInt8) throws {
        space()
        guard i < b.count, b[i] == c else { throw fail("expected '\(Character(UnicodeScalar(c)))'") }
        i += 1
    }

    mutating func peek() -> UInt8 {
        space()
        return i < b.count ? b[i] : 0
    }

    /// Enters an object.
    mutating func beginObject() throws {
        try expect(123)
        try enter()
    }

    mutating func enter() throws {
        depth += 1
        guard depth <= Self.depthMax else {
            throw SQLError(.statementTooComplex, "stack depth limit exceeded",
                           hint: "The statement nests expressions more than \(Self.depthMax / 2) levels deep.")
        }
    }

    /// The next key of the current object, or nil at its end (consumed).
    mutating func nextKey() throws -> String? {
        space()
        if i < b.count && b[i] == 44 { i += 1; space() }
        if i < b.count && b[i] == 125 { i += 1; depth -= 1; return nil }
        let k = try string()
        try expect(58)
        return k
    }

    mutating func beginArray() throws {
        try expect(91)
        try enter()
    }

    /// Whether another element follows in the current array (the closing bracket is consumed).
    mutating func nextElement() throws -> Bool {
        space()
        if i < b.count && b[i] == 44 { i += 1; space() }
        if i < b.count && b[i] == 93 { i += 1; depth -= 1; return false }
        return true
    }

    mutating func string() throws -> String {
        try expect(34)
        var out: [UInt8] = []
        let start = i
        var plain = true
        while i < b.count && b[i] != 34 {
            if b[i] == 92 {
                if plain { out.append(contentsOf: b[start..<i]); plain = false }
                i += 1
                guard i < b.count else { throw fail("bad escape") }
                switch b[i] {
                case 110: out.append(10)
                case 116: out.append(9)
                case 114: out.append(13)
                case 98: out.append(8)
                case 102: out.append(12)
                case 117:
                    guard i + 4 < b.count, let v = UInt32(String(decoding: b[(i + 1)...(i + 4)], as: UTF8.self), radix: 16) else {
                        throw fail("bad \\u escape")
                    }
                    i += 4
                    var scalar = v
                    if (0xD800..<0xDC00).contains(v), i + 6 < b.count, b[i + 1] == 92, b[i + 2] == 117,
                       let lo = UInt32(String(decoding: b[(i + 3)...(i + 6)], as: UTF8.self), radix: 16) {
                        scalar = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    }
                    out.append(contentsOf: Array(String(Character(UnicodeScalar(scalar) ?? "\u{FFFD}")).utf8))
                default: out.append(b[i])
                }
                i += 1
            } else {
                if !plain { out.append(b[i]) }
                i += 1
            }
        }
        guard i < b.count else { throw fail("unterminated string") }
        let s = plain ? String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
                      : String(decoding: out, as: UTF8.self)
        i += 1
        return s
    }

    mutating func int() throws -> Int64 {
        space()
        let start = i
        if i < b.count && b[i] == 45 { i += 1 }
        while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
        guard let v = Int64(String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)) else {
            throw fail("expected an integer")
        }
        return v
    }

    mutating func bool() throws -> Bool {
        space()
        if b.count - i >= 4 && b[i] == 116 { i += 4; return true }
        if b.count - i >= 5 && b[i] == 102 { i += 5; return false }
        throw fail("expected a boolean")
    }

    /// Skips one value of any kind.
    mutating func skip() throws {
        switch peek() {
        case 123:
            try beginObject()
            while try nextKey() != nil { try skip() }
        case 91:
            try beginArray()
            while try nextElement() { try skip() }
        case 34:
            _ = try string()
        default:
            while i < b.count, ![44, 125, 93].contains(b[i]) { i += 1 }
        }
    }
}
