import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// COPY's data formats, byte for byte as PostgreSQL 15 reads and writes them.
@Suite struct CopyTests {
    func options(_ o: [(String, String?)], from: Bool = true) throws -> CopyOptions {
        try CopyOptions(o.map { ($0.0, $0.1, 0) }, isFrom: from)
    }

    func rows(_ data: String, _ o: [(String, String?)] = [], columns: [String] = ["a", "b"]) throws -> [[String?]] {
        try CopyParser(options: try options(o), columns: columns).rows(Array(data.utf8))
    }

    @Test func textFormat() throws {
        #expect(try rows("1\tx\n2\t\\N\n") == [["1", "x"], ["2", nil]])
        #expect(try rows("\\t\\n\\\\\\101\\x41\\q\tb\r\n") == [["\t\n\\AAq", "b"]])
        // The end-of-data marker, a custom NULL and delimiter, an escaped delimiter.
        #expect(try rows("1|NUL\n2|a\\|b\n\\.\nignored", [("delimiter", "|"), ("null", "NUL")]) == [["1", nil], ["2", "a|b"]])
        #expect(try rows("a\tb\n1\t2\n", [("header", "true")]) == [["1", "2"]])
        #expect(try rows("a\tb\n1\t2\n", [("header", "match")]) == [["1", "2"]])
        #expect(throws: SQLError.self) { _ = try rows("b\ta\n1\t2\n", [("header", "match")]) }
        #expect(throws: SQLError.self) { _ = try rows("1\t2\t3\n") }
        #expect(throws: SQLError.self) { _ = try rows("1\n") }
        #expect(throws: SQLError.self) { _ = try rows("\\xff\tb\n") }
    }

    @Test func csvFormat() throws {
        let csv: [(String, String?)] = [("format", "csv")]
        #expect(try rows("1,\"a,b\"\n2,\n3,\"\"\n", csv) == [["1", "a,b"], ["2", nil], ["3", ""]])
        #expect(try rows("1,\"multi\nline \"\"quoted\"\"\"\r\n", csv) == [["1", "multi\nline \"quoted\""]])
        #expect(try rows("1,\"x\\\"y\"\n", csv + [("escape", "\\")]) == [["1", "x\"y"]])
        #expect(try rows("1,\n2,\"\"\n", csv + [("force_not_null", "b")]) == [["1", ""], ["2", ""]])
        #expect(try rows("1,\n2,\"\"\n", csv + [("force_null", "b")]) == [["1", nil], ["2", nil]])
        #expect(throws: SQLError.self) { _ = try rows("1,\"open\n", csv) }
    }

    @Test func optionsAreCheckedAsPostgreSQLChecksThem() {
        func code(_ o: [(String, String?)], from: Bool = true) -> String? {
            do {
                _ = try options(o, from: from)
                return nil
            } catch let e as SQLError {
                return e.code.rawValue
            } catch {
                return "?"
            }
        }
        #expect(code([("format", "binary")]) == "0A000")
        #expect(code([("format", "xml")]) == "22023")
        #expect(code([("quote", "'")]) == "0A000")
        #expect(code([("delimiter", "ab")]) == "0A000")
        #expect(code([("format", "csv"), ("delimiter", "\""), ("quote", "\"")]) == "22023")
        #expect(code([("header", "match")], from: false) == "0A000")
        #expect(code([("nonsense", nil)]) == "42601")
        #expect(code([("format", "csv"), ("format", "text")]) == "42601")
        #expect(code([("freeze", nil), ("encoding", "UTF8")]) == nil)
    }

    @Test func writtenValuesReadBack() throws {
        for o: [(String, String?)] in [[], [("format", "csv")], [("format", "csv"), ("null", "N")], [("delimiter", ",")]] {
            let opts = try options(o, from: false)
            let values = ["plain", "tab\there", "new\nline", "back\\slash", "com,ma", "q\"uote", "", "\\.", "N"]
            var data: [UInt8] = []
            for v in values {
                var line: [UInt8] = []
                CopyWriter.field(v, opts, forceQuote: false, into: &line)
                data += line + [opts.delimiter]
                data += Array(opts.null.utf8) + [UInt8(ascii: "\n")]
            }
            let back = try CopyParser(options: try options(o), columns: ["v", "n"]).rows(data)
            #expect(back.map { $0[0] } == values, "\(o)")
            #expect(back.allSatisfy { $0[1] == nil }, "\(o)")
        }
    }
}
