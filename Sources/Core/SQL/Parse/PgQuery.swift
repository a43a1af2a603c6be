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
            throw SQLError(.syntaxError, message, position: pos > 0 ? pos : nil)
        }
        guard let tree = result.parse_tree else { throw SQLError(.internalError, "parser returned no tree") }
        let n = strlen(tree)
        return try body(UnsafeRawBufferPointer(start: tree, count: n))
    }
}
