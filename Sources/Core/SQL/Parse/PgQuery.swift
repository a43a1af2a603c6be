import CPgQuery
#if canImport(Glibc)
import Glibc
#endif
import DriftCore

/// PostgreSQL 15's own grammar, through libpg_query.
enum PgQuery {
    /// Parses `sql` and hands the JSON parse tree to `body`. Syntax errors become 42601
    /// with PostgreSQL's message and position.
    static func parse<T>(_ sql: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let result = pg_query_parse(sql)
        defer { pg_query_free_parse_result(result) }
        if let err = result.error {
            let message = err.pointee.message.map { String(cString: $0) } ?? "syntax error"
            let pos = Int(err.pointee.cursorpos)
            throw SQLError(.syntaxError, message, position: pos > 0 ? bytePosition(pos, in: sql) : nil)
        }
        guard let tree = result.parse_tree else { throw SQLError(.internalError, "parser returned no tree") }
        let n = strlen(tree)
        return try body(UnsafeRawBufferPointer(start: tree, count: n))
    }
}

/// The 1-based byte position of a 0-based parse-tree location; nil for -1 (the grammar made
/// the node up). Session turns byte positions into the character positions clients expect.
func sqlPosition(_ location: Int?) -> Int? {
    guard let location, location >= 0 else { return nil }
    return location + 1
}

/// A 1-based byte position in `text` as a 1-based character (code point) position.
func characterPosition(_ bytePosition: Int, in text: String) -> Int {
    var chars = 0
    var bytes = 0
    for scalar in text.unicodeScalars {
        if bytes >= bytePosition - 1 { break }
        bytes += UTF8.width(scalar)
        chars += 1
    }
    return chars + 1
}

/// A 1-based character position in `text` as a 1-based byte position.
func bytePosition(_ characterPosition: Int, in text: String) -> Int {
    var bytes = 0
    for (i, scalar) in text.unicodeScalars.enumerated() {
        if i >= characterPosition - 1 { break }
        bytes += UTF8.width(scalar)
    }
    return bytes + 1
}
