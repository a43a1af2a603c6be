import DriftCore
import DriftStorage

/// A point in the database's history.
public enum TimeTarget: Sendable, Equatable {
    case seq(UInt64)
    /// A timestamptz: microseconds since 2000-01-01 UTC (PostgreSQL's representation).
    case timestamp(Int64)
    /// The newest committed state when the statement runs.
    case now
}

/// A temporal qualifier of a table reference or a statement.
public enum TemporalSpec: Sendable, Equatable {
    case asOf(TimeTarget)
    /// `FOR SYSTEM_TIME BETWEEN a AND b`: versions valid at some point in [a, b].
    case between(TimeTarget, TimeTarget)
    /// `FOR SYSTEM_TIME FROM a TO b`: versions valid at some point in [a, b).
    case fromTo(TimeTarget, TimeTarget)
    /// `FOR SYSTEM_TIME ALL`: every version.
    case all
}

public struct TemporalClause: Sendable, Equatable {
    public var spec: TemporalSpec
    /// Byte offset of the table reference the clause follows, or nil for the whole statement.
    public var tableLocation: Int?
    /// Byte offset of the clause itself (which statement of a string it belongs to).
    public var position: Int
}

/// Takes the temporal extensions out of a statement before PostgreSQL's parser sees it:
/// `FROM t FOR SYSTEM_TIME AS OF x [AS a]`, `... BETWEEN a AND b`, `... FROM a TO b`,
/// `... ALL`, and the short `AS OF x` after a table or at the end of a statement, where x is
/// `@seq:N`, `'@seq:N'`, `"@seq:N"` or a timestamptz constant. The clauses are blanked with
/// spaces, so every other byte keeps its offset (error positions stay right).
public struct TemporalPrepass {
    public var sql: String
    public var clauses: [TemporalClause]

    public var statementSpec: TemporalSpec? { clauses.first { $0.tableLocation == nil }?.spec }

    public init(_ text: String, tokens: [Token], dt: DateTimeContext = DateTimeContext()) throws {
        var bytes = Array(text.utf8)
        var clauses: [TemporalClause] = []
        var k = 0
        while k < tokens.count {
            let t = tokens[k]
            var parsed: (TemporalSpec, Int)?
            // `WITH SYSTEM VERSIONING` (SQL:2011 CREATE TABLE): every table is versioned; accepted and dropped.
            if t.isKeyword("with"), k + 2 < tokens.count, tokens[k + 1].isKeyword("system"), tokens[k + 2].isKeyword("versioning") {
                for p in t.start..<tokens[k + 2].end { bytes[p] = 32 }
                k += 3
                continue
            }
            if t.isKeyword("for"), k + 1 < tokens.count, tokens[k + 1].isKeyword("system_time") {
                parsed = try Self.systemTime(tokens, at: k + 2, dt)
                guard parsed != nil else {
                    throw SQLError(.syntaxError, "syntax error in FOR SYSTEM_TIME", position: t.start + 1)
                }
            } else if t.isKeyword("as"), k + 1 < tokens.count, tokens[k + 1].isKeyword("of"),
                      let (target, next) = try Self.target(tokens, at: k + 2, dt) {
                parsed = (.asOf(target), next)
            }
            guard let (spec, next) = parsed else {
                k += 1
                continue
            }
            for p in t.start..<tokens[next - 1].end { bytes[p] = 32 }
            clauses.append(TemporalClause(spec: spec, tableLocation: Self.tableReference(before: k, tokens), position: t.start))
            k = next
        }
        sql = String(decoding: bytes, as: UTF8.self)
        self.clauses = clauses
    }

    static func systemTime(_ tokens: [Token], at k: Int, _ dt: DateTimeContext) throws -> (TemporalSpec, Int)? {
        guard k < tokens.count else { return nil }
        let t = tokens[k]
        if t.isKeyword("all") { return (.all, k + 1) }
        if t.isKeyword("as"), k + 1 < tokens.count, tokens[k + 1].isKeyword("of"),
           let (x, n) = try target(tokens, at: k + 2, dt) {
            return (.asOf(x), n)
        }
        if t.isKeyword("between") || t.isKeyword("from"), let (a, n) = try target(tokens, at: k + 1, dt), n < tokens.count,
           tokens[n].isKeyword(t.isKeyword("between") ? "and" : "to"), let (b, m) = try target(tokens, at: n + 1, dt) {
            return (t.isKeyword("between") ? .between(a, b) : .fromTo(a, b), m)
        }
        return nil
    }

    /// Parses a time target at token `k`; returns it and the index after it.
    static func target(_ tokens: [Token], at k: Int, _ dt: DateTimeContext) throws -> (TimeTarget, Int)? {
        guard k < tokens.count else { return nil }
        let t = tokens[k]
        switch t.kind {
        case .op where t.text == "@":
            guard k + 3 < tokens.count + 0, k + 2 < tokens.count, tokens[k + 1].isKeyword("seq"), tokens[k + 2].isPunct(":"),
                  k + 3 < tokens.count, tokens[k + 3].kind == .integer, let n = UInt64(tokens[k + 3].text) else {
                throw SQLError(.syntaxError, "expected @seq:N", position: t.start + 1)
            }
            return (.seq(n), k + 4)
        case .string, .quotedIdentifier:
            var next = k + 1
            if next + 1 < tokens.count, tokens[next].isPunct("::"),
               ["timestamptz", "timestamp"].contains(tokens[next + 1].text) {
                next += 2
            }
            return (try parseTarget(t.text, position: t.start, dt: dt), next)
        case .identifier:
            if (t.text == "timestamp" || t.text == "timestamptz"), k + 1 < tokens.count, tokens[k + 1].kind == .string {
                return (try parseTarget(tokens[k + 1].text, position: tokens[k + 1].start, dt: dt), k + 2)
            }
            if t.text == "current_timestamp" || t.text == "localtimestamp" { return (.now, k + 1) }
            if t.text == "now", k + 2 < tokens.count, tokens[k + 1].isPunct("("), tokens[k + 2].isPunct(")") {
                return (.now, k + 3)
            }
            return nil
        default:
            return nil
        }
    }

    /// `@seq:N`, or a timestamptz literal.
    /// `position` is the 0-based byte offset of the text in a statement, when it came from one.
    public static func parseTarget(_ text: String, position: Int?, dt: DateTimeContext = DateTimeContext()) throws -> TimeTarget {
        let s = text.trimming()
        if s.hasPrefix("@seq:") {
            guard let n = UInt64(s.dropFirst(5)) else {
                throw SQLError(.invalidParameterValue, "invalid seq in \"\(s)\"", position: position.map { $0 + 1 })
            }
            return .seq(n)
        }
        if s.lowercased() == "now" { return .now }
        do {
            return .timestamp(try Coercion.timestampInput(s, .timestamptz, dt))
        } catch var e as SQLError {
            e.position = position.map { $0 + 1 }
            if e.code == .invalidDatetimeFormat { e.hint = "Use @seq:N or an ISO-8601 timestamp such as 2026-01-31T12:00:00Z." }
            throw e
        }
    }

    /// The start of the table reference that token `k` follows (`FROM [schema.]name`,
    /// `JOIN name`, `, name`), or nil when the clause belongs to the statement.
    static func tableReference(before k: Int, _ tokens: [Token]) -> Int? {
        guard k >= 2 else { return nil }
        let name = tokens[k - 1]
        guard name.kind == .identifier || name.kind == .quotedIdentifier else { return nil }
        var first = k - 1
        if k >= 3, tokens[k - 2].isPunct("."), tokens[k - 3].kind == .identifier || tokens[k - 3].kind == .quotedIdentifier {
            first = k - 3
        }
        guard first >= 1 else { return nil }
        let before = tokens[first - 1]
        if before.isKeyword("from") || before.isKeyword("join") || before.isKeyword("update") || before.isKeyword("into") {
            return tokens[first].start
        }
        // After a comma only inside a FROM list (`FROM a, b AS OF ...`), not in a select list,
        // ORDER BY or GROUP BY (`ORDER BY x, id AS OF ...` ends the statement).
        if before.isPunct(","), inFromList(before: first - 1, tokens) { return tokens[first].start }
        return nil
    }

    /// Whether the comma at `k` separates FROM items: walking back at its depth, FROM comes
    /// before any other clause keyword.
    static func inFromList(before k: Int, _ tokens: [Token]) -> Bool {
        var depth = 0
        var j = k - 1
        while j >= 0 {
            let t = tokens[j]
            if t.isPunct(")") {
                depth += 1
            } else if t.isPunct("(") {
                if depth == 0 { return false }
                depth -= 1
            } else if depth == 0 {
                if t.isKeyword("from") { return true }
                for stop in ["select", "where", "group", "order", "having", "limit", "offset", "set", "values", "returning", "window",
                             "fetch", "by"] where t.isKeyword(stop) {
                    return false
                }
            }
            j -= 1
        }
        return false
    }
}
