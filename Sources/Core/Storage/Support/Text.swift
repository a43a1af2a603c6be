extension StringProtocol {
    /// The text without leading and trailing characters from `characters` (whitespace by default).
    public func trimming(_ characters: String = " \t\n\r\u{0C}") -> String {
        var s = Substring(self)
        while let f = s.first, characters.contains(f) { s.removeFirst() }
        while let l = s.last, characters.contains(l) { s.removeLast() }
        return String(s)
    }
}
