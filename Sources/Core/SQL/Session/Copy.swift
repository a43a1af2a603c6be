import DriftCore
import DriftStorage

/// COPY's options, checked as PostgreSQL 15 checks them.
public struct CopyOptions: Sendable {
    public enum Format: Sendable { case text, csv }
    public var format = Format.text
    public var delimiter = UInt8(ascii: "\t")
    public var null = "\\N"
    public var header = false
    /// HEADER MATCH: on input, the header's names must be the columns'.
    public var headerMatch = false
    public var quote = UInt8(ascii: "\"")
    public var escape = UInt8(ascii: "\"")
    /// FORCE_QUOTE: every column (`*`) or these.
    public var forceQuoteAll = false
    public var forceQuote: Set<String> = []
    public var forceNotNull: Set<String> = []
    public var forceNull: Set<String> = []

    init(_ options: [(name: String, value: String?, location: Int)], isFrom: Bool) throws {
        var seen: Set<String> = []
        var delimiter: String?, quote: String?, escape: String?, null: String?
        func bool(_ name: String, _ v: String?) throws -> Bool {
            guard let v else { return true }
            guard let b = Coercion.parseBool(v) else { throw SQLError(.syntaxError, "\(name) requires a Boolean value") }
            return b
        }
        for (name, value, _) in options {
            guard seen.insert(name).inserted else { throw SQLError(.syntaxError, "conflicting or redundant options") }
            switch name {
            case "format":
                switch value?.lowercased() {
                case "text": format = .text
                case "csv": format = .csv
                case "binary": throw SQLError(.featureNotSupported, "COPY format \"binary\" is not supported")
                default: throw SQLError(.invalidParameterValue, "COPY format \"\(value ?? "")\" not recognized")
                }
            case "delimiter": delimiter = value ?? ""
            case "null": null = value ?? ""
            case "header":
                if value?.lowercased() == "match" {
                    guard isFrom else { throw SQLError(.featureNotSupported, "cannot use \"match\" with HEADER in COPY TO") }
                    header = true
                    headerMatch = true
                } else {
                    header = try bool("header", value)
                }
            case "quote": quote = value ?? ""
            case "escape": escape = value ?? ""
            case "force_quote":
                if value == "*" { forceQuoteAll = true } else { forceQuote = Set((value ?? "").split(separator: ",").map(String.init)) }
            case "force_not_null": forceNotNull = Set((value ?? "").split(separator: ",").map(String.init))
            case "force_null": forceNull = Set((value ?? "").split(separator: ",").map(String.init))
            case "freeze":
                // Meaningless here (every row is visible once its commit is), so accepted.
                _ = try bool("freeze", value)
            case "encoding":
                guard ["utf8", "utf-8", "unicode"].contains(value?.lowercased() ?? "") else {
                    throw SQLError(.featureNotSupported, "COPY encoding \"\(value ?? "")\" is not supported: only UTF8 is")
                }
            default:
                throw SQLError(.syntaxError, "option \"\(name)\" not recognized")
            }
        }
        let csv = format == .csv
        if csv { self.delimiter = UInt8(ascii: ",") }
        if csv { self.null = "" }
        if let d = delimiter {
            guard d.utf8.count == 1, let b = d.utf8.first else {
                throw SQLError(.featureNotSupported, "COPY delimiter must be a single one-byte character")
            }
            guard b != UInt8(ascii: "\n") && b != UInt8(ascii: "\r") else {
                throw SQLError(.invalidParameterValue, "COPY delimiter cannot be newline or carriage return")
            }
            self.delimiter = b
        }
        if let null {
            guard !null.utf8.contains(UInt8(ascii: "\n")) && !null.utf8.contains(UInt8(ascii: "\r")) else {
                throw SQLError(.invalidParameterValue, "COPY null representation cannot use newline or carriage return")
            }
            self.null = null
        }
        if !csv && (quote != nil || escape != nil || forceQuoteAll || !forceQuote.isEmpty || !forceNotNull.isEmpty || !forceNull.isEmpty) {
            let what = quote != nil ? "quote" : escape != nil ? "escape" : "force"
            throw SQLError(.featureNotSupported, "COPY \(what) available only in CSV mode")
        }
        if let q = quote {
            guard q.utf8.count == 1, let b = q.utf8.first else { throw SQLError(.featureNotSupported, "COPY quote must be a single one-byte character") }
            self.quote = b
        }
        self.escape = self.quote
        if let e = escape {
            guard e.utf8.count == 1, let b = e.utf8.first else { throw SQLError(.featureNotSupported, "COPY escape must be a single one-byte character") }
            self.escape = b
        }
        if csv && self.delimiter == self.quote {
            throw SQLError(.invalidParameterValue, "COPY delimiter and quote must be different")
        }
        if !csv && self.null.utf8.contains(self.delimiter) {
            throw SQLError(.invalidParameterValue, "COPY delimiter must not appear in the NULL specification")
        }
    }
}

/// A COPY FROM STDIN waiting for its data: the client sends it (CopyData) and the frontend
/// hands it to `Session.copyIn`.
public struct CopyIn: Sendable {
    let table: TableRef
    /// The columns in input order (the table's, when the statement lists none).
    public let columnNames: [String]
    let options: CopyOptions
    let text: String
}

extension Session {
    func copy(_ c: CopyStatement, text: String) throws -> StatementResult {
        if c.filename != nil {
            throw SQLError(.featureNotSupported, "COPY \(c.isFrom ? "from" : "to") a \(c.isProgram ? "program" : "server file") is not supported",
                           hint: "COPY \(c.isFrom ? "FROM STDIN" : "TO STDOUT") (psql's \\copy) sends the data over the connection.")
        }
        let options = try CopyOptions(c.options, isFrom: c.isFrom)
        if c.isFrom {
            guard let table = c.table else { throw SQLError(.syntaxError, "COPY FROM needs a table") }
            var names = c.columns
            _ = try withTransaction(readOnly: true) { t in
                let def = try targetTable(table, in: t, verb: "copy to", need: .insert)
                if names.isEmpty { names = def.visibleColumns.map { def.columns[$0].name } }
                for n in names where def.columnPosition(n) == nil {
                    throw SQLError(.undefinedColumn, "column \"\(n)\" of relation \"\(def.name)\" does not exist")
                }
                return StatementResult(tag: "")
            }
            for n in options.forceNotNull.union(options.forceNull) where !names.contains(n) {
                throw SQLError(.invalidColumnReference, "FORCE_NOT_NULL column \"\(n)\" not referenced by COPY")
            }
            var r = StatementResult(tag: "")
            r.copyIn = CopyIn(table: table, columnNames: names, options: options, text: text)
            return r
        }
        var query: Query
        if let q = c.query {
            query = q
        } else if let table = c.table {
            let columns: [SelectTarget] = c.columns.isEmpty
                ? [SelectTarget(expr: .star(qualifier: nil, location: -1), alias: nil)]
                : c.columns.map { SelectTarget(expr: .column([$0], location: -1), alias: nil) }
            var core = SelectCore()
            core.targets = columns
            core.from = [.table(table)]
            query = Query(body: .select(core))
        } else {
            throw SQLError(.syntaxError, "COPY TO needs a table or a query")
        }
        if !options.forceQuoteAll, c.table != nil, !c.columns.isEmpty {
            for n in options.forceQuote where !c.columns.contains(n) {
                throw SQLError(.invalidColumnReference, "FORCE_QUOTE column \"\(n)\" not referenced by COPY")
            }
        }
        var r = try withTransaction(readOnly: true) { try self.runQuery(query, in: $0, parameters: []) }
        r.tag = "COPY \(r.rows.count)"
        r.copyOut = options
        return r
    }

    /// Loads the data a client sent for a COPY FROM STDIN: every row or none (one statement).
    public func copyIn(_ c: CopyIn, data: [UInt8]) throws -> StatementResult {
        try guarded(c.text) {
            let rows = try CopyParser(options: c.options, columns: c.columnNames).rows(data)
            var insert = InsertStatement(table: c.table)
            insert.columns = c.columnNames.map { ($0, -1) }
            insert.copyRows = rows
            let r = try run(ParsedStatement(statement: .insert(insert), text: c.text, offset: 0, temporal: [:]), parameters: [])
            let count = r.tag.split(separator: " ").last.map(String.init) ?? "0"
            return StatementResult(tag: "COPY \(count)")
        }
    }

    /// One row as COPY TO writes it, newline included.
    public func copyLine(_ row: [Value], _ columns: [ResultColumn], _ o: CopyOptions) -> [UInt8] {
        var out: [UInt8] = []
        for (i, v) in row.enumerated() {
            if i > 0 { out.append(o.delimiter) }
            guard let s = text(v, columns[i].type) else {
                out.append(contentsOf: o.null.utf8)
                continue
            }
            CopyWriter.field(s, o, forceQuote: o.forceQuoteAll || o.forceQuote.contains(columns[i].name), into: &out)
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// The header line COPY TO writes first with HEADER.
    public func copyHeader(_ columns: [ResultColumn], _ o: CopyOptions) -> [UInt8] {
        var out: [UInt8] = []
        for (i, c) in columns.enumerated() {
            if i > 0 { out.append(o.delimiter) }
            CopyWriter.field(c.name, o, forceQuote: false, into: &out)
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }
}

enum CopyWriter {
    static func field(_ s: String, _ o: CopyOptions, forceQuote: Bool, into out: inout [UInt8]) {
        let bytes = Array(s.utf8)
        if o.format == .text {
            for b in bytes {
                switch b {
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 8: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
                case 12: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
                case 11: out += [UInt8(ascii: "\\"), UInt8(ascii: "v")]
                case o.delimiter: out += [UInt8(ascii: "\\"), b]
                default: out.append(b)
                }
            }
            return
        }
        let needs = forceQuote || s == o.null || bytes.contains { $0 == o.delimiter || $0 == o.quote || $0 == 10 || $0 == 13 }
            || (bytes.first == UInt8(ascii: "\\") && bytes.count == 2 && bytes[1] == UInt8(ascii: "."))
        guard needs else {
            out += bytes
            return
        }
        out.append(o.quote)
        for b in bytes {
            if b == o.quote || b == o.escape { out.append(o.escape) }
            out.append(b)
        }
        out.append(o.quote)
    }
}

/// Splits COPY FROM data (text or CSV) into rows of fields, NULL as nil.
struct CopyParser {
    let options: CopyOptions
    let columns: [String]

    func rows(_ data: [UInt8]) throws -> [[String?]] {
        switch options.format {
        case .text: return try textRows(data)
        case .csv: return try csvRows(data)
        }
    }

    private func badRow(_ line: Int, _ message: String) -> SQLError {
        SQLError(SQLState("22P04"), message, detail: "COPY line \(line).")
    }

    private func string(_ bytes: [UInt8], line: Int) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw SQLError(.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"", detail: "COPY line \(line).")
        }
        return s
    }

    private func check(_ fields: [String?], line: Int) throws {
        if fields.count > columns.count { throw badRow(line, "extra data after last expected column") }
        if fields.count < columns.count { throw badRow(line, "missing data for column \"\(columns[fields.count])\"") }
    }

    private func textRows(_ data: [UInt8]) throws -> [[String?]] {
        var out: [[String?]] = []
        var lineNumber = 0
        var start = 0
        let null = Array(options.null.utf8)
        while start < data.count {
            var end = start
            while end < data.count && data[end] != UInt8(ascii: "\n") { end += 1 }
            var line = Array(data[start..<end])
            start = end + 1
            lineNumber += 1
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line == [UInt8(ascii: "\\"), UInt8(ascii: ".")] { break }
            if lineNumber == 1 && options.header {
                if options.headerMatch {
                    try matchHeader(try split(line).map { try string(try unescape($0, line: lineNumber), line: lineNumber) }, line: lineNumber)
                }
                continue
            }
            var fields: [String?] = []
            for raw in split(line) {
                if raw == null {
                    fields.append(nil)
                } else {
                    fields.append(try string(try unescape(raw, line: lineNumber), line: lineNumber))
                }
            }
            try check(fields, line: lineNumber)
            out.append(fields)
        }
        return out
    }

    /// Text-format fields, split at unescaped delimiters (raw: escapes still in place).
    private func split(_ line: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var field: [UInt8] = []
        var i = 0
        while i < line.count {
            let b = line[i]
            if b == UInt8(ascii: "\\") && i + 1 < line.count {
                field += [b, line[i + 1]]
                i += 2
                continue
            }
            if b == options.delimiter {
                out.append(field)
                field = []
            } else {
                field.append(b)
            }
            i += 1
        }
        out.append(field)
        return out
    }

    private func unescape(_ raw: [UInt8], line: Int) throws -> [UInt8] {
        guard raw.contains(UInt8(ascii: "\\")) else { return raw }
        var out: [UInt8] = []
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\"), i + 1 < raw.count else {
                out.append(b)
                i += 1
                continue
            }
            let c = raw[i + 1]
            i += 2
            switch c {
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "v"): out.append(11)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = Int(c - UInt8(ascii: "0"))
                var n = 1
                while n < 3, i < raw.count, raw[i] >= UInt8(ascii: "0"), raw[i] <= UInt8(ascii: "7") {
                    v = v * 8 + Int(raw[i] - UInt8(ascii: "0"))
                    i += 1
                    n += 1
                }
                out.append(UInt8(truncatingIfNeeded: v))
            case UInt8(ascii: "x"):
                guard i < raw.count, let h = hex(raw[i]) else {
                    out.append(c)
                    continue
                }
                var v = h
                i += 1
                if i < raw.count, let h2 = hex(raw[i]) {
                    v = v << 4 | h2
                    i += 1
                }
                out.append(v)
            default:
                out.append(c)
            }
        }
        return out
    }

    private func matchHeader(_ names: [String?], line: Int) throws {
        guard names.count == columns.count else {
            throw badRow(line, "wrong number of fields in header line: got \(names.count), expected \(columns.count)")
        }
        for (got, want) in zip(names, columns) where got != want {
            throw badRow(line, "column name mismatch in header line field: got \"\(got ?? "null")\", expected \"\(want)\"")
        }
    }

    private func csvRows(_ data: [UInt8]) throws -> [[String?]] {
        var out: [[String?]] = []
        var i = 0
        var lineNumber = 0
        let null = Array(options.null.utf8)
        let q = options.quote, e = options.escape, d = options.delimiter
        while i < data.count {
            lineNumber += 1
            // The end-of-data marker alone on a line.
            if data.count - i >= 2 && data[i] == UInt8(ascii: "\\") && data[i + 1] == UInt8(ascii: "."),
               i + 2 == data.count || data[i + 2] == 10 || data[i + 2] == 13 {
                break
            }
            var fields: [(bytes: [UInt8], quoted: Bool)] = []
            var field: [UInt8] = []
            var quoted = false
            var inQuotes = false
            var ended = false
            while i < data.count && !ended {
                let b = data[i]
                if inQuotes {
                    if b == e && e != q && i + 1 < data.count && (data[i + 1] == q || data[i + 1] == e) {
                        field.append(data[i + 1])
                        i += 2
                    } else if b == q {
                        if e == q && i + 1 < data.count && data[i + 1] == q {
                            field.append(q)
                            i += 2
                        } else {
                            inQuotes = false
                            i += 1
                        }
                    } else {
                        if b == 10 { lineNumber += 1 }
                        field.append(b)
                        i += 1
                    }
                    continue
                }
                switch b {
                case q:
                    inQuotes = true
                    quoted = true
                    i += 1
                case d:
                    fields.append((field, quoted))
                    field = []
                    quoted = false
                    i += 1
                case 10, 13:
                    i += 1
                    if b == 13 && i < data.count && data[i] == 10 { i += 1 }
                    ended = true
                default:
                    field.append(b)
                    i += 1
                }
            }
            if inQuotes { throw badRow(lineNumber, "unterminated CSV quoted field") }
            fields.append((field, quoted))
            if lineNumber == 1 && options.header {
                if options.headerMatch { try matchHeader(try fields.map { try string($0.bytes, line: lineNumber) }, line: lineNumber) }
                continue
            }
            var row: [String?] = []
            for (k, f) in fields.enumerated() {
                let name = k < columns.count ? columns[k] : ""
                if !f.quoted && f.bytes == null && !options.forceNotNull.contains(name) {
                    row.append(nil)
                } else if f.quoted && f.bytes == null && options.forceNull.contains(name) {
                    row.append(nil)
                } else {
                    row.append(try string(f.bytes, line: lineNumber))
                }
            }
            try check(row, line: lineNumber)
            out.append(row)
        }
        return out
    }
}
