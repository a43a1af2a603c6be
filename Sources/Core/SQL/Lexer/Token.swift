/// A lexical token of PostgreSQL's SQL (plus `{` and `}` for DriftQL documents).
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// An unquoted identifier or keyword; `text` is folded to lower case.
        case identifier
        /// A double-quoted identifier; `text` is its exact name.
        case quotedIdentifier
        /// A string constant of any form ('', E'', $$, U&''); `text` is its value.
        case string
        /// An integer constant; `text` is its digits.
        case integer
        /// A numeric constant with a point or exponent.
        case decimal
        /// `$n`; `text` holds n.
        case parameter
        /// An operator such as `=`, `<>`, `||`, `@`.
        case op
        /// One of `( ) [ ] , ; : . { }` or `::`.
        case punct
    }

    public var kind: Kind
    public var text: String
    /// Byte offsets of the token in the statement text.
    public var start: Int
    public var end: Int

    public func isKeyword(_ k: String) -> Bool { kind == .identifier && text == k }
    public func isPunct(_ p: String) -> Bool { kind == .punct && text == p }
    public func isOp(_ o: String) -> Bool { kind == .op && text == o }
}

public struct LexError: Error, Sendable {
    public var message: String
    public var offset: Int
}
