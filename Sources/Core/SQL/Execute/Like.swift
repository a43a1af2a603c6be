import DriftCore

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

    /// `escape` is the escape character's bytes (backslash by default; empty for none).
    init(_ pattern: String, caseInsensitive: Bool, escape: [UInt8] = [UInt8(ascii: "\\")]) throws {
        guard escape.count <= 1 else {
            // A multi-byte escape character: rewrite it to a backslash escape.
            let e = String(decoding: escape, as: UTF8.self)
            var rewritten = ""
            var pending = false
            for c in pattern {
                if pending { rewritten += (c == "\\" ? "\\\\" : "\\" + String(c)); pending = false; continue }
                if String(c) == e { pending = true; continue }
                rewritten += c == "\\" ? "\\\\" : String(c)
            }
            if pending { rewritten += "\\" }
            self = try LikePattern(rewritten, caseInsensitive: caseInsensitive)
            return
        }
        self.caseInsensitive = caseInsensitive
        let esc = escape.first
        var body = pattern
        var trailing = 0
        if let esc {
            for c in pattern.utf8.reversed() {
                guard c == esc else { break }
                trailing += 1
            }
        }
        if trailing % 2 == 1 {
            body.removeLast()
            danglingEscape = Box(try LikePattern(body + "_%", caseInsensitive: caseInsensitive, escape: escape))
            segments = [[]]
            return
        }
        danglingEscape = nil
        var segments: [[Atom]] = [[]]
        var escaping = false
        for b in pattern.utf8 {
            if escaping {
                segments[segments.count - 1].append(.byte(Self.fold(b, caseInsensitive)))
                escaping = false
            } else if let esc, b == esc {
                escaping = true
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
