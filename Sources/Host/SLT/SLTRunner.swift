import DriftCore
import DriftSQL
import DriftStorage
#if canImport(Glibc)
import Glibc
#endif

/// Runs sqllogictest files (SQLite's SQL correctness corpus) against an in-process engine as
/// the engine `postgresql`: records marked `onlyif` another engine or `skipif postgresql` are
/// skipped; results are formatted and compared as the reference runner does.
struct SLTRunner {
    struct Record {
        enum Kind {
            case statement(expectError: Bool)
            case query(types: [Character], sort: Sort, expected: [String])
        }
        enum Sort { case none, rows, values }
        var kind: Kind
        var sql: String
        var line: Int
    }

    struct Failure {
        var line: Int
        var sql: String
        var reason: String
    }

    struct FileResult {
        var path: String
        var passed = 0
        var failed = 0
        var skipped = 0
        var seconds = 0.0
        var failures: [Failure] = []
        /// Records slower than asked: line, milliseconds, SQL.
        var slow: [(Int, Double, String)] = []
    }

    static let engineName = "postgresql"

    /// Parses a file into records, dropping those the conditions skip. Returns the records
    /// to run and how many were skipped.
    static func parse(_ text: String) -> (records: [Record], skipped: Int, hashThreshold: Int) {
        // Lines end with LF or CRLF (CRLF is one Character in Swift).
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if lines.last == "" { lines.removeLast() }
        var records: [Record] = []
        var skipped = 0
        var hashThreshold = 0
        var i = 0
        var skipNext = false
        while i < lines.count {
            let line = lines[i]
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let head = words.first, !head.hasPrefix("#") else {
                i += 1
                continue
            }
            switch head {
            case "skipif":
                if words.count > 1 && words[1] == engineName { skipNext = true }
                i += 1
                continue
            case "onlyif":
                if words.count > 1 && words[1] != engineName { skipNext = true }
                i += 1
                continue
            case "halt":
                if skipNext {
                    skipNext = false
                    i += 1
                    continue
                }
                return (records, skipped, hashThreshold)
            case "hash-threshold":
                hashThreshold = words.count > 1 ? Int(words[1]) ?? 0 : 0
                i += 1
                continue
            case "statement", "query":
                let start = i + 1
                i += 1
                var sql: [Substring] = []
                while i < lines.count && !lines[i].isEmpty && lines[i] != "----" {
                    sql.append(lines[i])
                    i += 1
                }
                var expected: [String] = []
                if i < lines.count && lines[i] == "----" {
                    i += 1
                    while i < lines.count && !lines[i].isEmpty {
                        expected.append(String(lines[i]))
                        i += 1
                    }
                }
                let kind: Record.Kind
                if head == "statement" {
                    kind = .statement(expectError: words.count > 1 && words[1] == "error")
                } else {
                    let types = words.count > 1 ? Array(words[1]) : []
                    var sort = Record.Sort.none
                    if words.count > 2 {
                        if words[2] == "rowsort" { sort = .rows } else if words[2] == "valuesort" { sort = .values }
                    }
                    kind = .query(types: types, sort: sort, expected: expected)
                }
                if skipNext {
                    skipped += 1
                    skipNext = false
                } else {
                    records.append(Record(kind: kind, sql: sql.joined(separator: "\n"), line: start))
                }
            default:
                i += 1
            }
        }
        return (records, skipped, hashThreshold)
    }

    /// One value as the reference runner prints it for a column type.
    static func format(_ v: Value, _ type: Character) -> String {
        if v.isNull { return "NULL" }
        switch type {
        case "I":
            switch v {
            case .int(let i): return String(i)
            case .double(let d):
                guard d.isFinite else { return "0" }
                return String(Int64(max(min(d, 9.2e18), -9.2e18)))
            case .numeric(let n):
                let d = n.doubleValue
                guard d.isFinite else { return "0" }
                return String(Int64(max(min(d, 9.2e18), -9.2e18)))
            case .bool(let b): return b ? "1" : "0"
            default: return String(leadingInteger(v.pgText ?? ""))
            }
        case "R":
            let d: Double
            switch v {
            case .int(let i): d = Double(i)
            case .double(let x): d = x
            case .numeric(let n): d = n.doubleValue
            default: d = Double(v.pgText ?? "") ?? 0
            }
            return cFormat3(d)
        default:
            let s: String
            if case .bool(let b) = v { s = b ? "true" : "false" } else { s = v.pgText ?? "" }
            if s.isEmpty { return "(empty)" }
            var out = ""
            for u in s.unicodeScalars { out.unicodeScalars.append(u.value < 0x20 || u.value > 0x7E ? "@" : u) }
            return out
        }
    }

    static func leadingInteger(_ s: String) -> Int64 {
        var t = Substring(s.drop { $0 == " " })
        var sign: Int64 = 1
        if t.first == "-" { sign = -1; t = t.dropFirst() } else if t.first == "+" { t = t.dropFirst() }
        var v: Int64 = 0
        for c in t.utf8 {
            guard c >= 48 && c <= 57 else { break }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c - 48))
            if o1 || o2 { break }
            v = a
        }
        return sign * v
    }

    /// C's "%.3f".
    static func cFormat3(_ d: Double) -> String {
        var buf = [CChar](repeating: 0, count: 512)
        _ = withVaList([d]) { vsnprintf(&buf, buf.count, "%.3f", $0) }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Formats a result's values; sorts them as the record asks.
    static func values(_ r: StatementResult, types: [Character], sort: Record.Sort) -> [String] {
        var rows = r.rows.map { row in row.enumerated().map { i, v in format(v, i < types.count ? types[i] : "T") } }
        switch sort {
        case .none: break
        case .rows:
            rows.sort { a, b in
                for (x, y) in zip(a, b) where x != y { return x.utf8.lexicographicallyPrecedes(y.utf8) }
                return a.count < b.count
            }
        case .values:
            var all = rows.flatMap { $0 }
            all.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            return all
        }
        return rows.flatMap { $0 }
    }

    /// Runs one file on a fresh in-memory database.
    static func run(path: String, text: String, verbose: Bool, slowMillis: Int? = nil) -> FileResult {
        var result = FileResult(path: path)
        let started = monotonicNanos()
        let (records, skipped, _) = parse(text)
        result.skipped = skipped
        let engine: Engine
        do {
            var config = EngineConfig()
            config.durability = .none
            config.snapshotEveryEvents = 0
            config.snapshotEveryBytes = 0
            engine = try Engine.open(at: "/slt", config: config, fs: MemoryFileSystem(), create: true, logger: quietLogger())
        } catch {
            result.failed = records.count
            result.failures.append(Failure(line: 0, sql: "", reason: "could not open an engine: \(error)"))
            return result
        }
        defer { engine.close() }
        let session = Session(engine: engine)
        _ = try? session.execute("SET statement_timeout = '120s'")
        for record in records {
            let recordStart = monotonicNanos()
            defer {
                if let slowMillis, monotonicNanos() - recordStart > UInt64(slowMillis) * 1_000_000 {
                    result.slow.append((record.line, Double(monotonicNanos() - recordStart) / 1e6, record.sql))
                }
            }
            switch record.kind {
            case .statement(let expectError):
                var error: (any Error)?
                do { _ = try session.execute(record.sql) } catch let e { error = e }
                if (error != nil) == expectError {
                    result.passed += 1
                } else {
                    result.failed += 1
                    if verbose {
                        result.failures.append(Failure(line: record.line, sql: record.sql,
                                                       reason: expectError ? "statement succeeded, expected an error" : "error: \(error.map { "\($0)" } ?? "")"))
                    }
                }
            case let .query(types, sort, expected):
                do {
                    let results = try session.execute(record.sql)
                    guard let r = results.last else { throw SLTError("no result") }
                    let got = values(r, types: types, sort: sort)
                    if matches(got, expected) {
                        result.passed += 1
                    } else {
                        result.failed += 1
                        if verbose {
                            let shown = got.count > 12 ? got.prefix(12).joined(separator: " ") + " ... (\(got.count) values)" : got.joined(separator: " ")
                            result.failures.append(Failure(line: record.line, sql: record.sql,
                                                           reason: "got \(shown); expected \(expected.prefix(12).joined(separator: " "))"))
                        }
                    }
                } catch {
                    result.failed += 1
                    if verbose { result.failures.append(Failure(line: record.line, sql: record.sql, reason: "error: \(error)")) }
                }
            }
        }
        result.seconds = Double(monotonicNanos() - started) / 1e9
        return result
    }

    /// Values against the expected lines: the values themselves, or `N values hashing to MD5`.
    static func matches(_ got: [String], _ expected: [String]) -> Bool {
        if expected.count == 1, let hashed = parseHash(expected[0]) {
            guard hashed.count == got.count else { return false }
            return md5(got) == hashed.hash
        }
        // Expected output may list one row per line with values separated by spaces.
        if got == expected { return true }
        let flat = expected.flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        return flat == got && expected.count != got.count
    }

    static func parseHash(_ line: String) -> (count: Int, hash: String)? {
        let parts = line.split(separator: " ")
        guard parts.count == 5, parts[1] == "values", parts[2] == "hashing", parts[3] == "to", let n = Int(parts[0]) else { return nil }
        return (n, String(parts[4]))
    }

    static func md5(_ values: [String]) -> String {
        var bytes: [UInt8] = []
        for v in values {
            bytes += Array(v.utf8)
            bytes.append(10)
        }
        return Digest.md5Hex(bytes)
    }
}

struct SLTError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
