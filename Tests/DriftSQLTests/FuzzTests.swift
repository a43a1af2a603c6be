import DriftStorage
import Foundation
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// Crash freedom: a grammar-based generator writes random statements (every type and cast,
/// extreme literals, far dates, infinities, empty and huge strings, unicode, deep nesting,
/// every temporal clause, transaction control, settings, DriftQL with random JSON) and runs
/// them in one process. A trap would end the run; every statement must answer or fail with a
/// SQLSTATE that is not an internal error, within a second. `SEED=` replays a run;
/// `FUZZ_STATEMENTS=` sets its length (default 100,000).
@Suite struct FuzzTests {
    @Test func randomStatementsNeverTrapNorHang() throws {
        let (random, seed) = SeededRandom.fromEnvironment()
        let count = ProcessInfoLite.environment("FUZZ_STATEMENTS").flatMap(Int.init) ?? 100_000
        print("FuzzTests SEED=\(seed) FUZZ_STATEMENTS=\(count)")
        let fs = MemoryFileSystem()
        var config = EngineConfig()
        config.snapshotEveryEvents = 5000
        config.snapshotEveryBytes = 0
        config.segmentBytesMax = 1 << 20
        let e = try Engine.open(at: "/db", config: config, fs: fs, create: true, logger: TestLog.logger)
        try FuzzSchema.create(e)
        var g = StatementGenerator(random: random, maxSeq: e.visibleSeq)
        let s = Session(engine: e)
        var codes: [String: Int] = [:]
        var slow: [(Int, UInt64, String)] = []
        for i in 0..<count {
            // A failed block only answers 25P02 until it ends: end most of them.
            let sql = s.block?.state == .failed && g.chance(0.7) ? "ROLLBACK" : g.statement()
            let started = monotonicNanos()
            do {
                _ = try s.execute(sql)
                codes["ok", default: 0] += 1
            } catch let err as SQLError {
                codes[err.code.rawValue, default: 0] += 1
                if err.code == .internalError {
                    Issue.record("SEED=\(seed) statement \(i): internal error \(err) for: \(sql.prefix(500))")
                }
            } catch {
                Issue.record("SEED=\(seed) statement \(i): \(error) is not a SQL error, for: \(sql.prefix(500))")
            }
            let took = monotonicNanos() - started
            if took > 1_000_000_000 { slow.append((i, took / 1_000_000, String(sql.prefix(300)))) }
            g.maxSeq = e.visibleSeq
        }
        for (i, ms, sql) in slow { Issue.record("SEED=\(seed) statement \(i) took \(ms) ms: \(sql)") }
        print("FuzzTests outcomes: \(codes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        #expect(codes["ok", default: 0] > count / 10, "SEED=\(seed): too few statements succeed to exercise the executor")
        if let b = s.block { b.rollback() }
        e.close()
        #expect(try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger).isHealthy, "SEED=\(seed)")
        try Engine.open(at: "/db", config: config, fs: fs.crashed(), logger: TestLog.logger).close()
    }
}

/// Tables with a column of every stored type, rows of extreme values, and some history.
enum FuzzSchema {
    static let columns: [(String, SQLType)] = [
        ("id", .int8), ("b", .bool), ("i2", .int2), ("i4", .int4), ("i8", .int8), ("f4", .float4), ("f8", .float8),
        ("num", .numeric), ("t", .text), ("vc", .varchar(5)), ("ch", .bpchar(3)), ("by", .bytea), ("d", .date),
        ("ts", .timestamp), ("tz", .timestamptz), ("j", .jsonb),
    ]

    static func create(_ e: Engine) throws {
        try e.transaction { t in
            let cols = columns.map { ColumnDef(name: $0.0, type: $0.1, notNull: $0.0 == "id") }
            let index = IndexDef(id: t.allocateIndexId(), name: "ty_t_idx", columns: [8], unique: false)
            let def = TableDef(id: t.allocateTableId(), name: "ty", columns: cols, primaryKey: [0], indexes: [index], origin: .sql)
            try t.applyDDL { _ in .createTable(def) }
        }
        let def = try #require(e.latestCatalog.table("ty"))
        let rows: [[Value]] = [
            [.bool(true), .int(Int64(Int16.max)), .int(Int64(Int32.min)), .int(Int64.max), .double(Double(Float.greatestFiniteMagnitude)),
             .double(.infinity), .double(1e300), .text(""), .text("abcde"), .text("a  "), .bytes([0, 255]), .date(PGTime.dateInfinity),
             .timestamp(PGTime.negativeInfinity), .timestamptz(0), .json(#"{"a": [1, null]}"#)],
            [.bool(false), .int(Int64(Int16.min)), .int(Int64(Int32.max)), .int(Int64.min), .double(-0.0), .double(.nan),
             .double(-1e-300), .text(String(repeating: "é", count: 3000)), .text("日本"), .text("xyz"), .bytes([]),
             .date(Int32(PGTime.dateMin)), .timestamp(PGTime.timestampEnd - 1), .timestamptz(PGTime.timestampMin), .json("null")],
            [.null, .null, .null, .null, .null, .null, .null, .null, .null, .null, .null, .null, .null, .null, .null],
            [.bool(true), .int(0), .int(0), .int(0), .double(1.5), .double(-.infinity), .double(0.1), .text("%_\\"),
             .text("'"), .text(""), .bytes(Array("\\x".utf8)), .date(0), .timestamp(1), .timestamptz(-1), .json("[]")],
        ]
        for (k, values) in rows.enumerated() {
            try e.transaction { t in try t.insert(def, [.int(Int64(k))] + values) }
        }
        let s = Session(engine: e)
        _ = try s.execute(#"CREATE TABLE d (pk=id, INDEX(k)); INSERT INTO d {"id": "a", "k": 1, "v": "x"}"#)
        for i in 0..<20 { _ = try s.execute(#"PATCH d KEY "a" SET {"k": \#(i), "v": "v\#(i)"}"#) }
        _ = try s.execute(#"INSERT INTO d {"id": "b", "k": -1, "w": [1, {"x": null}]}; SOFT DELETE FROM d KEY "b""#)
    }
}

/// Random statements from a small grammar of PostgreSQL's SQL and DriftQL.
struct StatementGenerator {
    var random: SeededRandom
    var maxSeq: UInt64

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &random) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(0...(xs.count - 1))] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

    static let columnNames = FuzzSchema.columns.map(\.0) + ["drift_seq", "drift_op", "system_time_start", "system_time_end", "nosuch"]
    static let typeNames = ["bool", "boolean", "int2", "smallint", "int", "integer", "int4", "int8", "bigint", "float4", "real",
                            "float8", "double precision", "numeric", "decimal", "text", "varchar", "varchar(3)", "char", "char(4)",
                            "bytea", "date", "timestamp", "timestamptz", "timestamp with time zone", "json", "jsonb", "interval",
                            "uuid", "time", "int[]", "text[]", "nosuchtype", "\"char\"", "name", "oid", "regclass"]
    static let strings = ["", "x", "abc", "  padded  ", "ünïcödé", "日本語", "🎉🎉", "e\u{301}", "O''Brien", "back\\slash", "%", "_",
                          "a%b_c", "\\%", "100", "-7", "1.5e3", "NaN", "Infinity", "-infinity", "infinity", "epoch", "true", "off",
                          "null", "2020-01-01", "2020-02-30", "0001-01-01 BC", "4714-11-24 BC", "294276-12-31 23:59:59.999999",
                          "5874897-12-31", "300000-01-01", "2026-11-30 04:21 UTC", "2026-11-30T04:21:00+05:30", "12:34",
                          "{\"a\": 1}", "[1, 2", "\\x00ff", "\\xZZ", "@seq:1", "@seq:99999999999999999999"]
    static let numbers = ["0", "1", "-1", "2", "10", "2147483647", "-2147483648", "2147483648", "32767", "-32769",
                          "9223372036854775807", "-9223372036854775808", "9223372036854775808", "99999999999999999999999",
                          "1.5", "-0.0", "0.1", ".5", "1e308", "1e309", "1e400", "1e-400", "5e-324", "2.5", "-2.5",
                          "123456789.123456789"]

    mutating func stringLiteral() -> String {
        var s = chance(0.01) ? String(repeating: pick(["x", "é", "%", "ab"]), count: int(1000...20000)) : pick(Self.strings)
        if chance(0.1) { s = String(s.prefix(int(0...max(0, s.count)))) }
        let quoted = s.replacingOccurrences(of: "'", with: "''")
        return pick(["'\(quoted)'", "E'\(quoted.replacingOccurrences(of: "\\", with: "\\\\"))'", "$$\(s.replacingOccurrences(of: "$", with: ""))$$",
                     "U&'\\00e9\(quoted.replacingOccurrences(of: "\\", with: ""))'"])
    }

    mutating func literal() -> String {
        switch int(0...9) {
        case 0...2: return pick(Self.numbers)
        case 3...5: return stringLiteral()
        case 6: return pick(["true", "false", "NULL", "TRUE", "null"])
        case 7: return "\(pick(["date", "timestamp", "timestamptz", "int", "bigint", "float8", "numeric", "bool", "text", "jsonb", "interval"])) \(stringLiteral())"
        case 8: return "\(stringLiteral())::\(pick(Self.typeNames))"
        default: return "\(int(-3_000_000_000...3_000_000_000))"
        }
    }

    mutating func column() -> String {
        let c = pick(Self.columnNames)
        return chance(0.2) ? pick(["ty", "x", "d", "nosuch"]) + "." + c : c
    }

    mutating func expression(_ depth: Int) -> String {
        if depth > int(2...10) { return chance(0.5) ? literal() : column() }
        switch int(0...17) {
        case 0, 1: return literal()
        case 2, 3: return column()
        case 4: return "(\(expression(depth + 1)) \(pick(["+", "-", "*", "/", "%", "||"])) \(expression(depth + 1)))"
        case 5: return "(\(expression(depth + 1)) \(pick(["=", "<>", "!=", "<", "<=", ">", ">="])) \(expression(depth + 1)))"
        case 6: return "(\(expression(depth + 1)) \(pick(["AND", "OR"])) \(expression(depth + 1)))"
        case 7: return "\(pick(["-", "+", "NOT "]))\(expression(depth + 1))"
        case 8: return "\(expression(depth + 1)) IS \(pick(["NULL", "NOT NULL", "TRUE", "NOT TRUE", "FALSE", "UNKNOWN", "NOT UNKNOWN"]))"
        case 9: return "\(expression(depth + 1)) \(pick(["", "NOT "]))BETWEEN \(expression(depth + 1)) AND \(expression(depth + 1))"
        case 10: return "\(expression(depth + 1)) \(pick(["", "NOT "]))IN (\((0..<int(1...4)).map { _ in expression(depth + 1) }.joined(separator: ", ")))"
        case 11:
            let pattern = pick(["'%'", "'_'", "'%a%'", "'a\\'", "'\\%'", "'%é_'", "'" + String(repeating: "%a", count: int(1...40)) + "%b'", stringLiteral()])
            return "\(expression(depth + 1)) \(pick(["LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"])) \(pattern)"
        case 12: return "CAST(\(expression(depth + 1)) AS \(pick(Self.typeNames)))"
        case 13: return "\(expression(depth + 1))::\(pick(Self.typeNames))"
        case 14:
            let f = pick(["lower", "upper", "length", "abs", "now", "substring", "substr", "coalesce", "extract", "nosuchfunc", "count", "sum"])
            return "\(f)(\((0..<int(0...3)).map { _ in expression(depth + 1) }.joined(separator: ", ")))"
        case 15: return "substring(\(expression(depth + 1)) from \(expression(depth + 1))\(chance(0.5) ? " for \(expression(depth + 1))" : ""))"
        case 16:
            // Now and then nesting past every limit.
            let n = chance(0.02) ? int(400...3000) : int(1...30)
            return String(repeating: "(", count: n) + expression(depth + 1) + String(repeating: ")", count: n)
        default:
            let n = chance(0.01) ? int(200...2000) : int(1...10)
            return (0..<n).map { _ in pick(["1", "x", "-1", "i4"]) }.joined(separator: pick([" + ", " * ", " || ", " AND "]))
        }
    }

    mutating func timeTarget() -> String {
        switch int(0...5) {
        case 0, 1: return "@seq:\(chance(0.8) ? UInt64(int(0...Int(maxSeq + 2))) : UInt64.random(in: 0...UInt64.max, using: &random))"
        case 2: return "'@seq:\(int(0...Int(maxSeq)))'"
        case 3: return "TIMESTAMP " + pick(["'2020-01-01'", "'infinity'", "'-infinity'", "'300000-01-01'", "'4714-11-24 BC'"])
        case 4: return pick(["now()", "CURRENT_TIMESTAMP", "'now'", "'2026-11-30 04:21 UTC'"])
        default: return stringLiteral()
        }
    }

    mutating func temporal() -> String {
        switch int(0...9) {
        case 0...3: return ""
        case 4, 5: return " AS OF \(timeTarget())"
        case 6: return " FOR SYSTEM_TIME AS OF \(timeTarget())"
        case 7: return " FOR SYSTEM_TIME BETWEEN \(timeTarget()) AND \(timeTarget())"
        case 8: return " FOR SYSTEM_TIME FROM \(timeTarget()) TO \(timeTarget())"
        default: return " FOR SYSTEM_TIME ALL"
        }
    }

    mutating func select() -> String {
        let targets = chance(0.2) ? "*" : (0..<int(1...4)).map { _ in expression(0) + (chance(0.2) ? " AS a\(int(0...3))" : "") }
            .joined(separator: ", ")
        var sql = "SELECT \(targets)"
        if chance(0.85) {
            sql += " FROM \(pick(["ty", "d", "public.ty", "nosuch"]))\(temporal())\(chance(0.2) ? " x" : "")"
        }
        if chance(0.5) { sql += " WHERE \(expression(0))" }
        if chance(0.3) {
            sql += " ORDER BY " + (0..<int(1...2)).map { _ in
                (chance(0.3) ? "\(int(0...5))" : expression(1)) + pick(["", " DESC", " ASC", " NULLS FIRST", " DESC NULLS LAST"])
            }.joined(separator: ", ")
        }
        if chance(0.2) { sql += " LIMIT \(pick(["0", "1", "5", "-1", "NULL", "ALL", "2.5", "9223372036854775807", "'x'"]))" }
        if chance(0.1) { sql += " OFFSET \(pick(["0", "1", "-5", "99999999999"]))" }
        if chance(0.05) { sql += pick([" FETCH FIRST ROW ONLY", " FETCH FIRST 3 ROWS ONLY", " FETCH FIRST ROWS WITH TIES"]) }
        if chance(0.05) { sql += " AS OF \(timeTarget())" }
        return sql
    }

    mutating func json(_ depth: Int) -> String {
        switch int(0...(depth > 6 ? 3 : 6)) {
        case 0: return pick(["null", "true", "false"])
        case 1: return pick(Self.numbers)
        case 2, 3:
            let s = pick(Self.strings).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(s)\""
        case 4: return "[" + (0..<int(0...3)).map { _ in json(depth + 1) }.joined(separator: ", ") + "]"
        default:
            return "{" + (0..<int(0...4)).map { _ in "\"\(pick(["k", "v", "w", "id", "x\(int(0...5))", "ü"]))\": \(json(depth + 1))" }
                .joined(separator: ", ") + "}"
        }
    }

    mutating func key() -> String { pick(["\"a\"", "\"b\"", "\"c\(int(0...30))\"", "'a'", "1", "-1", "\"\"", "99999999999999999999"]) }

    mutating func driftQL() -> String {
        switch int(0...9) {
        case 0...3: return "INSERT INTO d {\"id\": \(key().replacingOccurrences(of: "'", with: "\"")), \"k\": \(int(-5...5)), \"v\": \(json(1))}"
        case 4: return "INSERT INTO d \(json(0))"
        case 5, 6: return "PATCH d KEY \(key()) SET \(json(0))"
        case 7: return "SOFT DELETE FROM d KEY \(key())"
        case 8: return "SHOW DRIFT \(pick(["d", "ty", "nosuch"])) KEY \(key())"
        default: return chance(0.02) ? pick(["SNAPSHOT", "COMPACT", "SNAPSHOT d"]) : "SHOW DRIFT d KEY \"a\""
        }
    }

    mutating func control() -> String {
        switch int(0...12) {
        case 0: return "BEGIN" + pick(["", " ISOLATION LEVEL SERIALIZABLE", " ISOLATION LEVEL REPEATABLE READ", " READ ONLY",
                                       " READ WRITE", " DEFERRABLE", " AS OF \(timeTarget())"])
        case 1: return pick(["START TRANSACTION", "START TRANSACTION READ ONLY", "BEGIN ISOLATION LEVEL READ COMMITTED, READ ONLY"])
        case 2, 3: return pick(["COMMIT", "ROLLBACK", "END", "ABORT"])
        case 4: return "SAVEPOINT sp\(int(0...2))"
        case 5: return "ROLLBACK TO SAVEPOINT sp\(int(0...2))"
        case 6: return "RELEASE SAVEPOINT sp\(int(0...2))"
        case 7: return "SET TRANSACTION " + pick(["READ ONLY", "READ WRITE", "ISOLATION LEVEL SERIALIZABLE"])
        case 8, 9:
            let name = pick(["lock_timeout", "statement_timeout", "default_transaction_read_only", "default_transaction_isolation",
                             "application_name", "timezone", "datestyle", "extra_float_digits", "drift.as_of", "search_path",
                             "client_encoding", "server_version", "my.custom", "nosuch"])
            let value = pick(["0", "'5s'", "100", "99999999999999", "true", "'off'", "'serializable'", "'x'", "DEFAULT",
                              "'UTC'", "'Europe/Berlin'", "-1", "'@seq:1'", "''", "'300000-01-01'", "3"])
            return "SET \(chance(0.2) ? "LOCAL " : "")\(name) \(chance(0.5) ? "=" : "TO") \(value)"
        case 10: return "SHOW \(pick(["lock_timeout", "ALL", "transaction_isolation", "drift.as_of", "server_version", "nosuch", "TimeZone"]))"
        case 11: return "RESET \(pick(["ALL", "lock_timeout", "drift.as_of", "nosuch"]))"
        default: return pick(["", ";", ";;", "SELECT", "SELECT (", "SELECT 'unterminated", "SELECT \"", "/* open comment",
                              "SELECT 1 /* nested /* comment */ */", "{}", "INSERT INTO", "PATCH d KEY", "FOR SYSTEM_TIME",
                              "SELECT * FROM ty FOR SYSTEM_TIME", "SELECT * FROM ty AS OF", "SELECT @seq:1", "SELECT $1",
                              "SELECT 1 -- comment", "CREATE TABLE ty (pk=id)", "DROP TABLE ty", "VACUUM"])
        }
    }

    mutating func statement() -> String {
        switch int(0...9) {
        case 0...4: return select()
        case 5, 6: return driftQL()
        case 7, 8: return control()
        default:
            // Several statements in one string, as a simple-protocol query sends them.
            return (0..<int(2...3)).map { _ in chance(0.5) ? select() : control() }.joined(separator: "; ")
        }
    }
}
