import DriftCore

/// A primary-key value written in DriftQL: `KEY "k"`, `KEY 'k'` or `KEY 42`.
public enum DriftKey: Sendable, Equatable {
    case text(String)
    case integer(Int64)
}

/// The document dialect of the original DriftDB, on the same tables as SQL.
public enum DriftQLStatement: Sendable {
    /// `CREATE TABLE t (pk=id, INDEX(a, b))`: one index per listed column.
    case createTable(name: String, primaryKey: String, indexes: [String])
    /// `INSERT INTO t {json}`
    case insert(table: String, document: JSONValue, documentOffset: Int)
    /// `PATCH t KEY "k" SET {json}`
    case patch(table: String, key: DriftKey, document: JSONValue, documentOffset: Int)
    /// `SOFT DELETE FROM t KEY "k"`
    case softDelete(table: String, key: DriftKey)
    /// `SHOW DRIFT t KEY "k"`
    case showDrift(table: String, key: DriftKey)
    /// `SNAPSHOT [t]`
    case snapshot(table: String?)
    /// `COMPACT [t]`
    case compact(table: String?)
}

/// Recognises and parses DriftQL. A statement is DriftQL only when it has DriftQL-only
/// syntax; everything else goes to PostgreSQL's grammar.
public struct DriftQLParser {
    let text: String
    let bytes: [UInt8]
    var lexer: Lexer
    var tokens: [Token] = []

    init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
        lexer = Lexer(text)
    }

    /// Parses `text` if it is DriftQL; returns nil when it is not.
    public static func parse(_ text: String) throws -> DriftQLStatement? {
        var p = DriftQLParser(text)
        return try p.statement()
    }

    /// The next token, or nil at the end; stops before a `{` (a JSON document follows).
    mutating func token() throws -> Token? {
        try lexer.skipSpace()
        if lexer.i < bytes.count && bytes[lexer.i] == 123 { return nil }
        return try lexer.next()
    }

    mutating func peekWord(_ n: Int) throws -> [Token] {
        let save = lexer
        var out: [Token] = []
        for _ in 0..<n {
            guard let t = try token() else { break }
            out.append(t)
        }
        lexer = save
        return out
    }

    func error(_ message: String, at offset: Int) -> SQLError {
        SQLError(.syntaxError, message, position: offset + 1)
    }

    mutating func statement() throws -> DriftQLStatement? {
        // Every statement comes here first: a first word no DriftQL statement starts with ends
        // it after one token.
        do {
            guard let word = try peekWord(1).first, word.kind == .identifier, Self.firstWords.contains(word.text) else { return nil }
        } catch {
            return nil
        }
        let head: [Token]
        do {
            head = try peekWord(6)
        } catch {
            return nil
        }
        guard let first = head.first, first.kind == .identifier else { return nil }
        let second = head.count > 1 ? head[1] : nil
        switch first.text {
        case "patch":
            return try patch()
        case "soft" where second?.isKeyword("delete") == true:
            return try softDelete()
        case "show" where second?.isKeyword("drift") == true && !(head.count > 2 && head[2].isPunct(".")):
            // `SHOW drift.as_of` is SQL's SHOW of a setting.
            return try showDrift()
        case "snapshot", "compact":
            _ = try token()
            let table = try optionalName()
            try end()
            return first.text == "snapshot" ? .snapshot(table: table) : .compact(table: table)
        case "insert" where second?.isKeyword("into") == true && documentFollowsName(head):
            return try insert()
        case "create" where second?.isKeyword("table") == true && head.count >= 6 && head[3].isPunct("(")
            && head[4].isKeyword("pk") && head[5].isOp("="):
            return try createTable()
        default:
            return nil
        }
    }

    /// The words a DriftQL statement starts with (the cases of `statement`).
    static let firstWords: Set<String> = ["patch", "soft", "show", "snapshot", "compact", "insert", "create"]

    /// Whether `INSERT INTO [schema.]name` is followed by a `{` document (else it is SQL's INSERT).
    func documentFollowsName(_ head: [Token]) -> Bool {
        guard head.count >= 3 else { return head.count == 2 }
        var end = head[2].end
        if head.count >= 5, head[3].isPunct(".") { end = head[4].end }
        var l = Lexer(bytes: bytes, at: end)
        guard (try? l.skipSpace()) != nil else { return false }
        return l.i < bytes.count && bytes[l.i] == UInt8(ascii: "{")
    }

    mutating func expect(_ word: String) throws {
        guard let t = try token(), t.isKeyword(word) else {
            throw error("syntax error: expected \(word.uppercased())", at: lexer.i)
        }
    }

    mutating func expectPunct(_ p: String) throws {
        guard let t = try token(), t.isPunct(p) else { throw error("syntax error: expected \"\(p)\"", at: lexer.i) }
    }

    mutating func name() throws -> String {
        guard let t = try token(), t.kind == .identifier || t.kind == .quotedIdentifier else {
            throw error("syntax error: expected a table name", at: lexer.i)
        }
        if let next = try peekWord(1).first, next.isPunct(".") {
            _ = try token()
            guard t.text == "public" else {
                throw SQLError(.undefinedObject, "schema \"\(t.text)\" does not exist", position: t.start + 1)
            }
            return try name()
        }
        return t.text
    }

    mutating func optionalName() throws -> String? {
        guard let t = try peekWord(1).first, !t.isPunct(";") else { return nil }
        return try name()
    }

    mutating func end() throws {
        while let t = try token() {
            guard t.isPunct(";") else { throw error("syntax error at or near \"\(t.text)\"", at: t.start) }
        }
        try lexer.skipSpace()
        if lexer.i < bytes.count { throw error("syntax error at or near \"{\"", at: lexer.i) }
    }

    mutating func key() throws -> DriftKey {
        try expect("key")
        guard let t = try token() else { throw error("syntax error: expected a key after KEY", at: lexer.i) }
        switch t.kind {
        case .quotedIdentifier, .string: return .text(t.text)
        case .integer:
            guard let v = Int64(t.text) else { throw SQLError(.numericValueOutOfRange, "key \(t.text) is out of range for bigint") }
            return .integer(v)
        case .op where t.text == "-":
            guard let n = try token(), n.kind == .integer, let v = Int64("-" + n.text) else {
                throw error("syntax error: expected a key after KEY", at: t.start)
            }
            return .integer(v)
        default:
            throw error("syntax error: expected a quoted key after KEY", at: t.start)
        }
    }

    /// The JSON document at the cursor, and its byte offset.
    mutating func document() throws -> (JSONValue, Int) {
        try lexer.skipSpace()
        let start = lexer.i
        guard start < bytes.count, bytes[start] == 123 else { throw error("syntax error: expected a JSON object", at: start) }
        let end: Int
        do {
            end = try Lexer.skipJSON(bytes, from: start)
        } catch {
            throw SQLError(.invalidJSONText, "invalid input syntax for type json", detail: "The JSON object is not terminated.",
                           position: start + 1)
        }
        let json = String(decoding: bytes[start..<end], as: UTF8.self)
        lexer.i = end
        do {
            return (try JSONParser.parse(json), start)
        } catch let e as JSONParser.Failure {
            throw SQLError(.invalidJSONText, "invalid input syntax for type json", detail: e.description, position: start + e.offset + 1)
        }
    }

    mutating func insert() throws -> DriftQLStatement {
        try expect("insert")
        try expect("into")
        let table = try name()
        let (doc, at) = try document()
        try end()
        return .insert(table: table, document: doc, documentOffset: at)
    }

    mutating func patch() throws -> DriftQLStatement {
        try expect("patch")
        let table = try name()
        let k = try key()
        try expect("set")
        let (doc, at) = try document()
        try end()
        return .patch(table: table, key: k, document: doc, documentOffset: at)
    }

    mutating func softDelete() throws -> DriftQLStatement {
        try expect("soft")
        try expect("delete")
        try expect("from")
        let table = try name()
        let k = try key()
        try end()
        return .softDelete(table: table, key: k)
    }

    mutating func showDrift() throws -> DriftQLStatement {
        try expect("show")
        try expect("drift")
        let table = try name()
        let k = try key()
        try end()
        return .showDrift(table: table, key: k)
    }

    mutating func createTable() throws -> DriftQLStatement {
        try expect("create")
        try expect("table")
        let table = try name()
        try expectPunct("(")
        try expect("pk")
        guard let eq = try token(), eq.isOp("=") else { throw error("syntax error: expected pk=column", at: lexer.i) }
        let pk = try columnName()
        var indexes: [String] = []
        while true {
            guard let t = try token() else { throw error("syntax error: expected \")\"", at: lexer.i) }
            if t.isPunct(")") { break }
            guard t.isPunct(",") else { throw error("syntax error at or near \"\(t.text)\"", at: t.start) }
            try expect("index")
            try expectPunct("(")
            repeat {
                indexes.append(try columnName())
                guard let sep = try token() else { throw error("syntax error: expected \")\"", at: lexer.i) }
                if sep.isPunct(")") { break }
                guard sep.isPunct(",") else { throw error("syntax error at or near \"\(sep.text)\"", at: sep.start) }
            } while true
        }
        try end()
        return .createTable(name: table, primaryKey: pk, indexes: indexes)
    }

    mutating func columnName() throws -> String {
        guard let t = try token(), t.kind == .identifier || t.kind == .quotedIdentifier else {
            throw error("syntax error: expected a column name", at: lexer.i)
        }
        return t.text
    }
}
