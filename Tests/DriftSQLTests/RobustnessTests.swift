import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// What a statement must do: answer these rows (as PostgreSQL 15 does), or fail with this
/// SQLSTATE. Never trap.
enum Outcome: Equatable, CustomStringConvertible {
    case rows([[String]])
    case error(String)

    var description: String {
        switch self {
        case .rows(let r): return "rows \(r)"
        case .error(let c): return "error \(c)"
        }
    }
}

extension Session {
    func outcome(_ sql: String) -> Outcome {
        do {
            let r = try execute(sql).last
            return .rows((r?.rows ?? []).map { $0.map { $0.pgText ?? "NULL" } })
        } catch let e as SQLError {
            return .error(e.code.rawValue)
        } catch {
            return .error("not a SQLError: \(error)")
        }
    }
}

/// Each statement the review found killing or hanging the process, or answering wrong: one
/// test each, against PostgreSQL 15's answer (or its SQLSTATE).
@Suite struct StatementsThatTrappedTests {
    static let cases: [(String, Outcome)] = [
        ("SELECT 'a'::char", .rows([["a"]])),
        ("SELECT 'abc'::char(2), 'abc'::varchar(2), 'ab'::char(4) || '|'", .rows([["ab", "ab", "ab|"]])),
        ("SELECT 1 FETCH FIRST ROW ONLY", .rows([["1"]])),
        ("SELECT substring('abcdef' for 3), substring('abcdef' from -1 for 3)", .rows([["abc", "a"]])),
        ("SELECT substring('abc' from 1 for -1)", .error("22011")),
        ("SELECT interval(2) '1 day 01:23:45.6789'", .rows([["1 day 01:23:45.68"]])),
        ("SELECT 1 FETCH FIRST ROWS WITH TIES", .error("42601")),
        ("SELECT 1 AS x ORDER BY x FETCH FIRST ROWS WITH TIES", .error("0A000")),
        ("SELECT '300000-01-01'::timestamptz", .error("22008")),
        ("SELECT '294277-01-01'::timestamp", .error("22008")),
        ("SELECT '294276-12-31 23:59:59.999999'::timestamptz", .rows([["294276-12-31 23:59:59.999999+00"]])),
        ("SELECT '4714-11-24 BC'::date, '4714-11-23 BC'::date", .error("22008")),
        ("SELECT '4714-11-24 BC'::date, '5874897-12-31'::date", .rows([["4714-11-24 BC", "5874897-12-31"]])),
        ("SELECT '5874898-01-01'::date", .error("22008")),
        ("SELECT '2020-02-30'::date", .error("22008")),
        ("SELECT 'x2020-01-01'::date", .error("22007")),
        ("SET drift.as_of = '300000-01-01'", .error("22008")),
        ("SELECT '-infinity'::date, 'infinity'::date, '-infinity'::timestamptz", .rows([["-infinity", "infinity", "-infinity"]])),
        ("SELECT EXTRACT(EPOCH FROM DATE '-infinity')", .rows([["-Infinity"]])),
        ("SELECT to_json(date '-Infinity')", .rows([["\"-infinity\""]])),
        ("SELECT -'-9223372036854775808'::bigint", .error("22003")),
        ("SELECT -(-2147483648)::int4", .error("22003")),
        ("SELECT 9223372036854775807 + 1", .error("22003")),
        ("SET lock_timeout = 99999999999999", .error("22023")),
        ("SET lock_timeout = 3000000000", .error("22023")),
        ("SET statement_timeout = '1 fortnight'", .error("22023")),
        ("SET lock_timeout = '5s'; SHOW lock_timeout", .rows([["5s"]])),
        ("SELECT 1e400::float8", .error("22003")),
        ("SELECT '1e400'::float8", .error("22003")),
        ("SELECT '1e-400'::float8", .error("22003")),
        ("SELECT 'a' LIKE 'a\\', '' LIKE '%\\'", .rows([["f", "f"]])),
        ("SELECT 'a\\' LIKE 'a\\'", .error("22025")),
        ("SELECT 'abc' LIKE '%\\'", .error("22025")),
        ("SELECT '" + String(repeating: "a", count: 100) + "' LIKE '%a%a%a%a%a%a%a%a%a%a%a%a%b'", .rows([["f"]])),
        ("SELECT '" + String(repeating: "ab", count: 5000) + "' LIKE '%a%b%a%b%a%b%a%b%a%b%a%b%a%b%a%b%c%'", .rows([["f"]])),
        ("SELECT 'héllo' LIKE 'h_llo', 'héllo' LIKE 'h__llo', 'ABC' ILIKE 'a_c'", .rows([["t", "f", "t"]])),
        // Items of the review's third list.
        ("BEGIN READ ONLY; SHOW transaction_read_only", .rows([["on"]])),
        ("START TRANSACTION READ ONLY; SHOW transaction_read_only", .rows([["on"]])),
        ("BEGIN; SET TRANSACTION READ WRITE; SHOW transaction_read_only", .rows([["off"]])),
        ("BEGIN DEFERRABLE; SHOW transaction_isolation", .rows([["read committed"]])),
        ("BEGIN READ WRITE; SHOW transaction_read_only", .rows([["off"]])),
        ("SHOW drift.as_of", .rows([[""]])),
        ("SET default_transaction_read_only = true; SHOW default_transaction_read_only", .rows([["on"]])),
        ("SET default_transaction_read_only = 'maybe'", .error("22023")),
        ("SET LOCAL lock_timeout = '1s'; SHOW lock_timeout", .rows([["0"]])),
        ("SELECT U&'\\00E9' = U&'e\\0301', U&'\\00E9' < U&'e\\0301'", .rows([["f", "f"]])),
        ("SELECT 2.5::int, 3.5::int, -2.5::int, 2.5::float8::int, 3.5::float8::int", .rows([["3", "4", "-3", "2", "4"]])),
        ("SELECT length(U&'e\\0301'), length('日本'), U&'e\\0301' LIKE '__'", .rows([["2", "2", "t"]])),
        ("SELECT date '2020-01-01' < timestamp '2020-01-01 00:00:01', date '2020-01-02' = timestamptz '2020-01-02 00:00'",
         .rows([["t", "t"]])),
        ("SELECT 1 -- a comment with a \u{0} in it\n", .error("22021")),
        ("SELECT lower('ÀB'), upper('àb')", .rows([["Àb", "àB"]])),
    ]

    @Test(arguments: cases.indices)
    func statement(_ i: Int) throws {
        let (sql, expected) = Self.cases[i]
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(s.outcome(sql) == expected, "\(sql)")
    }

    @Test func temporalTargetsOutOfRangeAreErrors() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE t (pk=id); INSERT INTO t {"id": 1}"#)
        #expect(s.outcome("SELECT * FROM t AS OF '300000-01-01'") == .error("22008"))
        #expect(s.outcome("SELECT * FROM t AS OF @seq:18446744073709551615") == .error("22023"))
        #expect(s.outcome("SELECT * FROM t FOR SYSTEM_TIME BETWEEN '4714-11-24 BC' AND 'infinity'") == .rows([["1"]]))
        #expect(s.outcome("SELECT * FROM t AS OF '1970-01-01'") == .error("42P01"))
    }

    @Test func historyOfAKeyWithMoreVersionsThanABatch() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE h (pk=id); INSERT INTO h {"id": 1, "n": 0}"#)
        for i in 1...300 { _ = try s.execute(#"PATCH h KEY 1 SET {"n": \#(i)}"#) }
        _ = try s.execute(#"INSERT INTO h {"id": 2, "n": 0}"#)
        let all = try s.rows("SELECT id, n FROM h FOR SYSTEM_TIME ALL")
        #expect(all.count == 302)
        #expect(all.filter { $0[0] == "1" }.map { Int($0[1])! } == Array(0...300))
        let drift = try s.execute(#"SHOW DRIFT h KEY 1"#)[0]
        #expect(drift.rows.count == 301)
    }

    @Test func setLocalAndSetFollowTheTransaction() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("BEGIN; SET LOCAL lock_timeout = '2s'")
        #expect(try s.rows("SHOW lock_timeout") == [["2s"]])
        _ = try s.execute("COMMIT")
        #expect(try s.rows("SHOW lock_timeout") == [["0"]])
        // A plain SET in a block that rolls back is undone; one that commits stays.
        _ = try s.execute("BEGIN; SET lock_timeout = '3s'; ROLLBACK")
        #expect(try s.rows("SHOW lock_timeout") == [["0"]])
        _ = try s.execute("BEGIN; SET lock_timeout = '3s'; COMMIT")
        #expect(try s.rows("SHOW lock_timeout") == [["3s"]])
        // SET then SET LOCAL: the block ends with the SET's value.
        _ = try s.execute("BEGIN; SET lock_timeout = '4s'; SET LOCAL lock_timeout = '9s'; COMMIT")
        #expect(try s.rows("SHOW lock_timeout") == [["4s"]])
        // ROLLBACK TO a savepoint undoes the SETs after it.
        _ = try s.execute("BEGIN; SET application_name = 'a'; SAVEPOINT p; SET application_name = 'b'; ROLLBACK TO p")
        #expect(try s.rows("SHOW application_name") == [["a"]])
        _ = try s.execute("COMMIT")
        #expect(try s.rows("SHOW application_name") == [["a"]])
        _ = try s.execute("RESET ALL")
        #expect(try s.rows("SHOW lock_timeout") == [["0"]])
        #expect(s.outcome("SET server_version = '1'") == .error("55P02"))
        #expect(s.outcome("SET no_such_setting = 1") == .error("42704"))
    }

    @Test func isSuperuserFollowsTheActingRole() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE ROLE plain")
        _ = s.takeChangedParameters()
        func step(_ sql: String) throws -> (String?, String) {
            _ = try s.execute(sql)
            let reported = s.takeChangedParameters().first { $0.0 == "is_superuser" }?.1
            return (reported, try s.rows("SHOW is_superuser")[0][0])
        }
        #expect(try step("SET ROLE plain") == ("off", "off"))
        #expect(try step("RESET ROLE") == ("on", "on"))
        #expect(try step("BEGIN") == (nil, "on"))
        #expect(try step("SET LOCAL ROLE plain") == ("off", "off"))
        #expect(try step("COMMIT") == ("on", "on"))
        #expect(try step("BEGIN; SET ROLE plain") == ("off", "off"))
        #expect(try step("ROLLBACK") == ("on", "on"))
    }

    /// A plan cached for one session user is not used for another: SET SESSION
    /// AUTHORIZATION changes whose rights a statement is bound with, and is_superuser.
    @Test func sessionAuthorizationIsPartOfThePlanCacheKey() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE ROLE plain; CREATE TABLE secret (id int PRIMARY KEY, v text); INSERT INTO secret VALUES (1, 'x')")
        for _ in 0..<3 { #expect(try s.rows("SELECT v FROM secret WHERE id = 1") == [["x"]]) }
        _ = s.takeChangedParameters()
        _ = try s.execute("SET SESSION AUTHORIZATION plain")
        #expect(s.takeChangedParameters().filter { ["is_superuser", "session_authorization"].contains($0.0) }.map(\.1) == ["off", "plain"])
        #expect(s.outcome("SELECT v FROM secret WHERE id = 1") == .error("42501"))
        #expect(try s.rows("SELECT session_user, current_user") == [["plain", "plain"]])
        _ = try s.execute("RESET SESSION AUTHORIZATION")
        #expect(try s.rows("SELECT v FROM secret WHERE id = 1") == [["x"]])
        #expect(try s.rows("SELECT session_user, current_setting('is_superuser')") == [["driftdb", "on"]])
    }

    @Test func defaultReadOnlyRefusesWrites() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE t (pk=id)"#)
        _ = try s.execute("SET default_transaction_read_only = true")
        #expect(s.outcome(#"INSERT INTO t {"id": 1}"#) == .error("25006"))
        _ = try s.execute("SET default_transaction_read_only = off")
        #expect(s.outcome(#"INSERT INTO t {"id": 1}"#) == .rows([]))
    }

    @Test func statementTimeoutStopsAScanAndALockWait() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE big (pk=id, INDEX(v)); INSERT INTO big {"id": 0, "v": "x"}"#)
        let def = e.latestCatalog.table("big")!
        try e.transaction { t in
            for i in 1..<300_000 { try t.insert(def, [.int(Int64(i)), .text("v\(i)")]) }
        }
        _ = try s.execute("SET statement_timeout = 1")
        #expect(s.outcome("SELECT count_me FROM big") == .error("42703"))
        #expect(s.outcome("SELECT id FROM big WHERE v LIKE '%zz%' ORDER BY v") == .error("57014"))
        _ = try s.execute("SET statement_timeout = 0")
        #expect(s.outcome("SELECT id FROM big WHERE v = 'v7'") == .rows([["7"]]))
        // A statement waiting for a row lock stops at its timeout too.
        let holder = Session(engine: e)
        _ = try holder.execute(#"BEGIN; PATCH big KEY 1 SET {"v": "held"}"#)
        _ = try s.execute("SET statement_timeout = 100")
        #expect(s.outcome(#"PATCH big KEY 1 SET {"v": "waiting"}"#) == .error("57014"))
        _ = try holder.execute("ROLLBACK")
        #expect(s.outcome(#"PATCH big KEY 1 SET {"v": "free"}"#) == .rows([]))
    }

    @Test func aCancelFromAnotherThreadStopsTheStatement() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE t (pk=id); INSERT INTO t {"id": 1}"#)
        let holder = Session(engine: e)
        _ = try holder.execute(#"BEGIN; PATCH t KEY 1 SET {"v": "held"}"#)
        let interrupt = s.interrupt
        let canceller = try OSThread {
            let deadline = monotonicNanos() + 50_000_000
            while monotonicNanos() < deadline {}
            interrupt.cancel()
        }
        #expect(s.outcome(#"PATCH t KEY 1 SET {"v": "waiting"}"#) == .error("57014"))
        canceller.join()
        _ = try holder.execute("ROLLBACK")
        // The next statement runs normally: a cancel ends with its statement.
        #expect(s.outcome("SELECT id FROM t") == .rows([["1"]]))
    }
}

/// DriftQL documents of every shape: each statement succeeds or fails with a SQLSTATE, and
/// the database stays consistent.
@Suite struct GeneratedDocumentTests {
    @Test func nullUnderANewKeyIsSkippedNotFatal() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE t (pk=id)"#)
        #expect(s.outcome(#"INSERT INTO t {"id": "x1", "nul": null}"#) == .rows([]))
        #expect(s.outcome(#"INSERT INTO t {"id": "x2"}"#) == .rows([]))
        #expect(s.outcome(#"PATCH t KEY "x2" SET {"brandnew": null}"#) == .rows([]))
        #expect(s.outcome("SELECT * FROM t ORDER BY id") == .rows([["x1"], ["x2"]]))
        // The first non-null value types the column.
        _ = try s.execute(#"INSERT INTO t {"id": "x3", "nul": 5}"#)
        #expect(s.outcome("SELECT id, nul FROM t ORDER BY id") == .rows([["x1", "NULL"], ["x2", "NULL"], ["x3", "5"]]))
        #expect(s.outcome(#"INSERT INTO t {"id": "x4", "": 1}"#) == .error("42602"))
        #expect(s.outcome(#"INSERT INTO t {"id": "x4", "\#(String(repeating: "k", count: 64))": 1}"#) == .error("42622"))
        #expect(s.outcome(#"INSERT INTO t {"id": "x5", "a": 1, "a": "two"}"#) == .rows([]))
        #expect(s.outcome("SELECT a FROM t WHERE id = 'x5'") == .rows([["two"]]))
    }

    @Test func thousandsOfGeneratedDocuments() throws {
        let (seedRandom, seed) = SeededRandom.fromEnvironment()
        print("thousandsOfGeneratedDocuments SEED=\(seed)")
        var g = DocumentGenerator(random: seedRandom)
        let (s, e, fs) = try memorySession()
        _ = try s.execute(#"CREATE TABLE d (pk=id, INDEX(k0)); CREATE TABLE n (pk=id)"#)
        var outcomes: [String: Int] = [:]
        for i in 0..<4000 {
            let statement = g.statement(i)
            switch s.outcome(statement) {
            case .rows: outcomes["ok", default: 0] += 1
            case .error(let code):
                #expect(code.count == 5 && !code.hasPrefix("XX") && !code.hasPrefix("not"), "SEED=\(seed) #\(i): \(code) for \(statement)")
                outcomes[code, default: 0] += 1
            }
        }
        print("thousandsOfGeneratedDocuments outcomes: \(outcomes.sorted { $0.key < $1.key })")
        // How many succeed depends on the seed: a column's first value fixes its type, and an
        // unlucky first document makes most later ones 22P02 (SEED=4644145654661605602: 726 of
        // 4000). The bound only says the generator still reaches the engine's happy path.
        #expect(outcomes["ok", default: 0] > 400, "SEED=\(seed): \(outcomes)")
        e.close()
        let report = try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger)
        #expect(report.isHealthy, "SEED=\(seed): \(report.problems)")
        let reopened = try Engine.open(at: "/db", fs: fs, logger: TestLog.logger)
        reopened.close()
    }
}

/// Random JSON documents with the shapes that break parsers and type inference.
struct DocumentGenerator {
    var random: SeededRandom

    mutating func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &random)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

    mutating func key() -> String {
        pick(["k0", "k1", "k2", "n", "s", "b", "obj", "arr", "ünï", "日本", "e\u{301}", "\u{e9}", "a\\\"q", "tab\\t", "x y",
              "", "\\u00e9", "\\ud83d\\ude00", "drift_seq", String(repeating: "w", count: 63), String(repeating: "w", count: 64),
              "k\(Int.random(in: 0..<40, using: &random))"])
    }

    mutating func number() -> String {
        pick(["0", "-0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
              "99999999999999999999999", "1.5", "-2.25e10", "1e308", "1e309", "-1e400", "1e-400", "5e-324", "0.1",
              "123456789.123456789", "1E+2", "\(Int64.random(in: Int64.min...Int64.max, using: &random))"])
    }

    mutating func string() -> String {
        pick(["", "x", "hello", "ünïcödé", "日本語", "🎉", "e\u{301}", "quote\\\"d", "back\\\\slash", "new\\nline", "\\u0041",
              "\\ud83d\\ude00", "'single'", "{\\\"not\\\": 1}", "2020-01-01", "infinity", "NaN", "true", "null",
              String(repeating: "z", count: Int.random(in: 0...3000, using: &random))])
    }

    mutating func value(_ depth: Int) -> String {
        switch Int.random(in: 0..<(depth > 40 ? 5 : 8), using: &random) {
        case 0: return "null"
        case 1: return pick(["true", "false"])
        case 2, 3: return number()
        case 4: return "\"\(string())\""
        case 5: return "[" + (0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth + 1) }.joined(separator: ", ") + "]"
        case 6: return object(depth + 1)
        default:
            // Deep nesting, past the JSON parser's limit now and then.
            let n = Int.random(in: 1...600, using: &random)
            return String(repeating: "[", count: n) + "1" + String(repeating: "]", count: n)
        }
    }

    mutating func object(_ depth: Int) -> String {
        "{" + (0..<Int.random(in: 0...4, using: &random)).map { _ in "\"\(key())\": \(value(depth))" }.joined(separator: ", ") + "}"
    }

    /// A document as an application writes them: each key keeps one type.
    mutating func ordinaryDocument(id: String) -> String {
        var pairs = ["\"id\": \(id)"]
        if chance(0.8) { pairs.append("\"name\": \"\(string())\"") }
        if chance(0.7) { pairs.append("\"count\": \(Int.random(in: -1000...1000, using: &random))") }
        if chance(0.5) { pairs.append("\"ratio\": \(Double.random(in: -1...1, using: &random))") }
        if chance(0.5) { pairs.append("\"flag\": \(pick(["true", "false", "null"]))") }
        if chance(0.4) { pairs.append("\"tags\": [\(value(1)), \(value(1))]") }
        if chance(0.3) { pairs.append("\"meta\": \(object(1))") }
        return "{" + pairs.joined(separator: ", ") + "}"
    }

    mutating func document(id: String) -> String {
        if chance(0.6) { return ordinaryDocument(id: id) }
        var pairs = (0..<Int.random(in: 0...6, using: &random)).map { _ in "\"\(key())\": \(value(1))" }
        if chance(0.9) { pairs.insert("\"id\": \(id)", at: Int.random(in: 0...pairs.count, using: &random)) }
        if chance(0.05) { pairs.append("\"id\": \(value(1))") }
        return "{" + pairs.joined(separator: ", ") + "}"
    }

    mutating func id() -> String {
        if chance(0.8) { return "\"a\(Int.random(in: 0..<300, using: &random))\"" }
        return pick(["\"a\(Int.random(in: 0..<200, using: &random))\"", "\(Int.random(in: -5..<200, using: &random))", "null", "\"\"",
              "1.5", "true", "[1]", "{\"x\": 1}", "\"\(string())\""])
    }

    mutating func statement(_ i: Int) -> String {
        let table = chance(0.7) ? "d" : "n"
        switch Int.random(in: 0..<10, using: &random) {
        case 0...5: return "INSERT INTO \(table) \(document(id: id()))"
        case 6, 7:
            let k = id()
            return "PATCH \(table) KEY \(k) SET \(chance(0.7) ? ordinaryDocument(id: k) : document(id: id()))"
        case 8: return "SOFT DELETE FROM \(table) KEY \(id())"
        default: return "SHOW DRIFT \(table) KEY \(id())"
        }
    }
}
