extension StringProtocol {
    /// The text without leading and trailing characters from `characters` (whitespace by
    /// default), per code point as PostgreSQL trims. ASCII sets are trimmed on the UTF-8
    /// bytes (no grapheme breaking: this runs on every integer, date and bpchar input).
    public func trimming(_ characters: String = " \t\n\r\u{0C}") -> String {
        let set = Array(characters.utf8)
        if set.allSatisfy({ $0 < 0x80 }) {
            let sub = Substring(self)
            let u = sub.utf8
            var start = u.startIndex, end = u.endIndex
            while start < end, set.contains(u[start]) { start = u.index(after: start) }
            while start < end {
                let p = u.index(before: end)
                guard set.contains(u[p]) else { break }
                end = p
            }
            return String(sub[start..<end])
        }
        var s = Substring(self).unicodeScalars[...]
        let trimmed = Set(characters.unicodeScalars)
        while let f = s.first, trimmed.contains(f) { s.removeFirst() }
        while let l = s.last, trimmed.contains(l) { s.removeLast() }
        return String(String.UnicodeScalarView(s))
    }
}
