import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// A seeded random history of a few hundred SQL statements over three tables (two with a
/// primary key, one without): inserts, updates (primary-key changes too), deletes, TRUNCATE,
/// ALTER TABLE ADD/RENAME/DROP COLUMN, transaction blocks that commit, roll back or fail.
/// A plain Swift model follows every statement; then the engine's past must equal the
/// model's: `AS OF` every seq (all its spellings, the schema of that seq), the history
/// pseudo-columns, point and index reads in the past, `FOR SYSTEM_TIME ALL / BETWEEN / FROM
/// .. TO` (SQL:2011 periods: BETWEEN a AND b is [a, b], FROM a TO b is [a, b); an empty or
/// reversed period has no versions), a join of two tables as of one seq, then-vs-now
/// self-joins, and `drift_events` ranges.
///
/// Seeds: `SEED=n` replays a run; without it the seed is random and printed.
@Suite struct TemporalSQLModelTests {
    @Test func randomHistoryMatchesTheModelAtEverySeq() throws {
        let seed = ProcessInfoLite.environment("SEED").flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("TemporalSQLModelTests SEED=\(seed) (SEED=\(seed) replays this run)")
        let model = TemporalHistoryModel(seed: seed)
        let steps = model.generate(steps: 300)
        let (s, e, _) = try memorySession()
        defer { e.close() }

        var readFailures = 0
        for (i, step) in steps.enumerated() {
            let out = runModelStatement(s, step.sql)
            if let problem = model.verify(step.expect, out) {
                let recent = steps[max(0, i - 12)..<i].map(\.sql).joined(separator: "\n  ")
                Issue.record("SEED=\(seed) statement \(i): \(step.sql)\n\(problem)\nafter:\n  \(recent)")
                if case .rows = step.expect {
                    readFailures += 1
                    if readFailures < 10 { continue }
                }
                return  // the engine and the model went separate ways: nothing after this compares
            }
            if e.visibleSeq != step.seqAfter {
                Issue.record("SEED=\(seed) statement \(i): \(step.sql)\nthe newest committed seq is \(e.visibleSeq), the model's \(step.seqAfter)")
                return
            }
        }

        let checks = model.checks(commitMicros: { e.timestamp(of: $0) ?? 0 },
                                  format: { s.text(.timestamptz(PGTime.fromUnix($0)), .timestamptz) ?? "?" })
        var failures = 0
        var failedLabels: [String: Int] = [:]
        for c in checks {
            let out = runModelStatement(s, c.sql)
            if let problem = model.verify(c.expect, out) {
                failures += 1
                failedLabels[c.label, default: 0] += 1
                if failedLabels[c.label]! <= 3 && failures <= 30 {
                    Issue.record("SEED=\(seed) \(c.label): \(c.sql)\n\(problem)")
                }
            }
        }
        if failures > 0 {
            let summary = failedLabels.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            Issue.record("SEED=\(seed): \(failures) of \(checks.count) checks failed (\(summary))")
        }
        print("TemporalSQLModelTests SEED=\(seed): \(steps.count) statements, \(model.lastSeq) seqs, \(checks.count) checks")
        #expect(model.lastSeq > 100, "SEED=\(seed): the history is too short to mean much")
    }
}

/// Runs one statement; values as PostgreSQL's text output (NULL as "NULL").
private func runModelStatement(_ s: Session, _ sql: String) -> ModelOutcome {
    do {
        let r = try s.executeOne(sql)
        let types = r.columns?.map(\.type) ?? []
        let rows = r.rows.map { row in
            row.enumerated().map { i, v in s.text(v, i < types.count ? types[i] : .text) ?? "NULL" }
        }
        return .ok(tag: r.tag, columns: r.columns?.map(\.name), rows: rows)
    } catch let err as SQLError {
        return .error(code: err.code.rawValue, message: err.message)
    } catch {
        return .error(code: "not a SQLError", message: "\(error)")
    }
}

// MARK: - Model
// Plain Swift from here on: no engine type, so the same model can drive another client.

/// SplitMix64: the whole run follows from the seed, on any platform and toolchain.
private struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + below(r.count) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
}

/// A value of the model: the tables hold int and text columns only.
private enum MV: Hashable {
    case null
    case int(Int64)
    case text(String)

    /// PostgreSQL's text output (NULL as the test helpers print it).
    var pg: String {
        switch self {
        case .null: return "NULL"
        case .int(let i): return String(i)
        case .text(let s): return s
        }
    }

    /// jsonb's text of the value.
    var json: String {
        switch self {
        case .null: return "null"
        case .int(let i): return String(i)
        case .text(let s): return jsonQuote(s)
        }
    }

    /// A SQL literal.
    var sql: String {
        switch self {
        case .null: return "NULL"
        case .int(let i): return String(i)
        case .text(let s):
            var out = "'"
            for c in s { if c == "'" { out += "''" } else { out.append(c) } }
            return out + "'"
        }
    }
}

private func jsonQuote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if u.value < 0x20 {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// jsonb's object text: keys by length, then bytes.
private func canonicalJSON(_ pairs: [(String, String)]) -> String {
    let sorted = pairs.sorted { a, b in
        a.0.utf8.count != b.0.utf8.count ? a.0.utf8.count < b.0.utf8.count : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
    }
    return "{" + sorted.map { jsonQuote($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
}

/// A column: `uid` follows it through renames; `dflt` is its DEFAULT, which rows written
/// before it was added also read as (PostgreSQL fills them).
private struct MCol {
    var uid: Int
    var name: String
    var isInt: Bool
    var dflt: MV
}

/// A table: its visible columns in order, and rows by identity (the primary key `id`, or a
/// model row number for a table without one). A row maps column uids to values.
private struct MTable {
    var name: String
    var cols: [MCol]
    var keyUid: Int?
    var rows: [Int64: [Int: MV]] = [:]

    var hasKey: Bool { keyUid != nil }
    var sortedKeys: [Int64] { rows.keys.sorted() }
    var names: [String] { cols.map(\.name) }

    func value(_ row: [Int: MV], _ c: MCol) -> MV { row[c.uid] ?? c.dflt }
    func texts(_ row: [Int: MV]) -> [String] { cols.map { value(row, $0).pg } }
    func json(_ row: [Int: MV]) -> String { canonicalJSON(cols.map { ($0.name, value(row, $0).json) }) }
    func col(uid: Int) -> MCol? { cols.first { $0.uid == uid } }
}

/// One row of `drift_events` (its key: the primary key, or the model row for a table
/// without one; nil for ddl).
private struct MEvent {
    var seq: UInt64
    var table: String
    var op: String
    var key: Int64?
    var row: String
}

/// One version of a row: valid from the commit of `start` until that of `end` (nil: still).
private struct MVersion {
    var table: String
    var key: Int64
    var values: [Int: MV]
    var start: UInt64
    var end: UInt64?
    var op: String

    func live(at n: UInt64) -> Bool { start <= n && (end.map { n < $0 } ?? true) }
}

/// What the engine answered: PostgreSQL text values, NULL as "NULL".
private enum ModelOutcome {
    case ok(tag: String, columns: [String]?, rows: [[String]])
    case error(code: String, message: String)
}

/// What the model says a statement must answer.
private enum ModelExpect {
    case tag(String)
    case error(String)
    case rows(columns: [String], rows: [[String]], ordered: Bool)
    /// `drift_events` rows with after < drift_seq <= upTo (of one table when given).
    case events(after: UInt64, upTo: UInt64, table: String?)
}

private struct ModelStep {
    var sql: String
    var expect: ModelExpect
    /// The newest committed seq once the statement ran.
    var seqAfter: UInt64
}

private struct ModelCheck {
    var label: String
    var sql: String
    var expect: ModelExpect
}

/// A transaction's view while statements run: the tables, the rows it wrote and its DDL.
private struct Work {
    var tables: [String: MTable]
    var touched: [String: Set<Int64>] = [:]
    var ddl: [(table: String, kind: String)] = []
    /// Tables truncated in the transaction, once per TRUNCATE.
    var truncates: [String] = []

    mutating func touch(_ table: String, _ key: Int64) { touched[table, default: []].insert(key) }
}

private typealias Predicate = ([Int: MV]) -> Bool?

private func and3(_ a: Bool?, _ b: Bool?) -> Bool? {
    if a == false || b == false { return false }
    if a == nil || b == nil { return nil }
    return true
}

private func or3(_ a: Bool?, _ b: Bool?) -> Bool? {
    if a == true || b == true { return true }
    if a == nil || b == nil { return nil }
    return false
}

/// SQL comparison: unknown (nil) when a side is NULL.
private func compare(_ x: MV, _ op: String, _ v: MV) -> Bool? {
    switch (x, v) {
    case (.int(let a), .int(let b)):
        switch op {
        case "=": return a == b
        case "<>": return a != b
        case ">": return a > b
        case "<": return a < b
        case ">=": return a >= b
        case "<=": return a <= b
        default: return nil
        }
    case (.text(let a), .text(let b)):
        let equal = a.utf8.elementsEqual(b.utf8)
        switch op {
        case "=": return equal
        case "<>": return !equal
        default: return nil
        }
    default:
        return nil
    }
}

private func sortRows(_ rows: [[String]]) -> [[String]] {
    rows.sorted { $0.lexicographicallyPrecedes($1) }
}

/// nil when equal; else what differs.
private func rowDiff(got: [[String]], model: [[String]], ordered: Bool) -> String? {
    let g = ordered ? got : sortRows(got)
    let m = ordered ? model : sortRows(model)
    if g == m { return nil }
    var counts: [[String]: Int] = [:]
    for r in m { counts[r, default: 0] += 1 }
    var extra: [[String]] = []
    for r in g {
        if let c = counts[r], c > 0 { counts[r] = c - 1 } else { extra.append(r) }
    }
    var missing: [[String]] = []
    for (r, c) in counts where c > 0 { missing += Array(repeating: r, count: c) }
    if extra.isEmpty && missing.isEmpty {
        return "the same rows in another order:\n  engine \(g.prefix(10))\n  model  \(m.prefix(10))"
    }
    return "engine \(g.count) rows, model \(m.count)\n  only from the engine: \(sortRows(extra).prefix(8))\n  only in the model: \(sortRows(missing).prefix(8))"
}

private final class TemporalHistoryModel {
    static let tableNames = ["accounts", "transfers", "ledger"]
    static let words = ["ann", "bob", "cy", "dee", "o'neil", "x y", "", "né"]
    static let columnPool = ["memo", "extra", "flag", "tag", "note", "n", "bal", "owner", "amount", "account", "score", "label"]
    static let pseudoNames = ["drift_seq", "drift_op", "system_time_start", "system_time_end"]

    var rng: SplitMix64
    /// The committed tables after each seq (index: the seq; seq 0 has none).
    var states: [[String: MTable]] = [[:]]
    var events: [MEvent] = []
    var versions: [String: [MVersion]] = [:]
    var openVersion: [String: [Int64: Int]] = [:]
    var steps: [ModelStep] = []
    var nextUid = 0
    var nextRow: Int64 = 1
    /// The columns the index and join checks follow through renames.
    var accountsBal = -1
    var transfersAccount = -1
    /// Commit time of each seq as the engine prints a timestamptz (index: the seq).
    var commitText: [String] = []
    /// A table without a primary key: the engine's drift_row_id of each model row, and back.
    var rowIdOf: [Int64: Int64] = [:]
    var modelRowOf: [Int64: Int64] = [:]
    /// false: no check spells a commit time (for a client that learns the times only after
    /// the checks ran, and then sets `commitText` itself).
    var timestampLiterals = true

    init(seed: UInt64) {
        rng = SplitMix64(state: seed)
    }

    var lastSeq: UInt64 { UInt64(states.count - 1) }
    var current: [String: MTable] { states[states.count - 1] }

    func emit(_ sql: String, _ expect: ModelExpect) {
        steps.append(ModelStep(sql: sql, expect: expect, seqAfter: lastSeq))
    }

    // MARK: History

    func generate(steps count: Int) -> [ModelStep] {
        setup()
        for _ in 0..<count {
            if rng.chance(22) { transaction() } else { autocommit() }
        }
        return steps
    }

    func setup() {
        let defs: [(String, Bool, [(String, Bool)])] = [
            ("accounts", true, [("id", true), ("owner", false), ("bal", true)]),
            ("transfers", true, [("id", true), ("account", true), ("amount", true)]),
            ("ledger", false, [("account", true), ("note", false), ("n", true)]),
        ]
        for (name, keyed, columns) in defs {
            var w = Work(tables: current)
            var t = MTable(name: name, cols: [], keyUid: nil)
            var list: [String] = []
            for (i, c) in columns.enumerated() {
                let col = MCol(uid: nextUid, name: c.0, isInt: c.1, dflt: .null)
                nextUid += 1
                if keyed && i == 0 { t.keyUid = col.uid }
                t.cols.append(col)
                list.append("\(c.0) \(c.1 ? "int" : "text")" + (keyed && i == 0 ? " PRIMARY KEY" : ""))
            }
            w.tables[name] = t
            w.ddl.append((name, "createTable"))
            commit(w)
            emit("CREATE TABLE \(name) (\(list.joined(separator: ", ")))", .tag("CREATE TABLE"))
        }
        accountsBal = current["accounts"]!.cols[2].uid
        transfersAccount = current["transfers"]!.cols[1].uid
        for (index, table, column) in [("accounts_bal", "accounts", "bal"), ("transfers_account", "transfers", "account")] {
            var w = Work(tables: current)
            w.ddl.append((table, "createIndex"))
            commit(w)
            emit("CREATE INDEX \(index) ON \(table) (\(column))", .tag("CREATE INDEX"))
        }
    }

    func autocommit() {
        var w = Work(tables: current)
        let (sql, expect) = statement(&w)
        if case .tag = expect { commit(w) }
        emit(sql, expect)
    }

    /// BEGIN, 1–5 statements (a failed one makes the rest fail with 25P02 and COMMIT roll
    /// back), then COMMIT or ROLLBACK.
    func transaction() {
        emit("BEGIN", .tag("BEGIN"))
        var w = Work(tables: current)
        var failed = false
        for _ in 0..<rng.int(1...5) {
            if failed {
                var scratch = w
                emit(statement(&scratch).0, .error("25P02"))
                continue
            }
            if rng.chance(15) {
                readInsideTransaction(w)
                continue
            }
            var attempt = w
            let (sql, expect) = statement(&attempt)
            emit(sql, expect)
            if case .error = expect { failed = true } else { w = attempt }
        }
        if failed {
            emit(rng.chance(50) ? "COMMIT" : "ROLLBACK", .tag("ROLLBACK"))
        } else if rng.chance(18) {
            emit("ROLLBACK", .tag("ROLLBACK"))
        } else {
            commit(w)
            emit("COMMIT", .tag("COMMIT"))
        }
    }

    /// Inside a block: the block's own writes, or a committed past.
    func readInsideTransaction(_ w: Work) {
        let name = rng.pick(Self.tableNames)
        if rng.chance(60), let t = w.tables[name] {
            emit("SELECT * FROM \(name)" + (t.hasKey ? " ORDER BY id" : ""), rowsExpect(t))
            return
        }
        // (A seq before the table existed would fail, and with it the block.)
        var n = rng.int(0...Int(lastSeq))
        if states[n][name] == nil { n = Int(lastSeq) }
        let t = states[n][name]!
        emit("SELECT * FROM \(name) AS OF @seq:\(n)" + (t.hasKey ? " ORDER BY id" : ""), rowsExpect(t))
    }

    /// A transaction's changes as drift events (net per row, as the change log keeps them):
    /// absent→present is an insert, present→absent a delete, present→present (even unchanged)
    /// an update; a row inserted and deleted in one transaction leaves nothing. A transaction
    /// with no event takes no seq.
    func commit(_ w: Work) {
        let before = current
        let seq = lastSeq + 1
        var evs = w.ddl.map { MEvent(seq: seq, table: $0.table, op: "ddl", key: nil, row: "{\"ddl\": \"\($0.kind)\"}") }
        evs += w.truncates.map { MEvent(seq: seq, table: $0, op: "truncate", key: nil, row: "NULL") }
        let truncated = Set(w.truncates)
        for name in w.touched.keys.sorted() {
            guard let t = w.tables[name] else { continue }
            for k in w.touched[name]!.sorted() {
                switch (truncated.contains(name) ? nil : before[name]?.rows[k], t.rows[k]) {
                case (.none, .none):
                    break
                case (.none, .some(let after)):
                    evs.append(MEvent(seq: seq, table: name, op: "insert", key: k, row: t.json(after)))
                case (.some(let old), .none):
                    evs.append(MEvent(seq: seq, table: name, op: "delete", key: k, row: t.json(old)))
                case (.some, .some(let after)):
                    evs.append(MEvent(seq: seq, table: name, op: "update", key: k, row: t.json(after)))
                }
            }
        }
        guard !evs.isEmpty else { return }
        states.append(w.tables)
        events += evs
        for name in truncated {
            for (_, i) in openVersion[name] ?? [:] { versions[name]![i].end = seq }
            openVersion[name] = [:]
        }
        for ev in evs where ev.op != "ddl" && ev.op != "truncate" {
            let k = ev.key!
            if ev.op != "insert", let i = openVersion[ev.table]?[k] {
                versions[ev.table]![i].end = seq
                openVersion[ev.table]![k] = nil
            }
            if ev.op != "delete" {
                versions[ev.table, default: []].append(MVersion(table: ev.table, key: k, values: w.tables[ev.table]!.rows[k]!,
                                                                start: seq, end: nil, op: ev.op))
                openVersion[ev.table, default: [:]][k] = versions[ev.table]!.count - 1
            }
        }
    }

    // MARK: Statements

    /// One random statement applied to `w` (left alone when the statement must fail).
    func statement(_ w: inout Work) -> (String, ModelExpect) {
        let r = rng.below(200)
        if r == 0 { return truncate(&w, ["transfers", "ledger"]) }
        let name = r < 82 ? "accounts" : r < 146 ? "transfers" : "ledger"
        let k = rng.below(200)
        if w.tables[name]!.hasKey {
            switch k {
            case ..<76: return insert(&w, name)
            case ..<126: return update(&w, name)
            case ..<146: return moveKey(&w, name)
            case ..<184: return delete(&w, name)
            case ..<186: return truncate(&w, [name])
            default: return alter(&w, name)
            }
        }
        switch k {
        case ..<84: return insert(&w, name)
        case ..<134: return update(&w, name)
        case ..<182: return delete(&w, name)
        case ..<185: return truncate(&w, [name])
        default: return alter(&w, name)
        }
    }

    func randomValue(_ c: MCol, in t: MTable? = nil) -> MV {
        if rng.chance(10) { return .null }
        if let t, rng.chance(25) {
            let seen = t.sortedKeys.map { t.value(t.rows[$0]!, c) }.filter { $0 != .null }  // (a fixed order: the run follows from the seed)
            if !seen.isEmpty { return seen[rng.below(seen.count)] }
        }
        return c.isInt ? .int(Int64(rng.int(-20...120))) : .text(rng.pick(Self.words))
    }

    func keyLimit(_ name: String) -> Int { name == "accounts" ? 20 : 30 }

    /// Mostly a free key; now and then one that is taken (the statement must fail with 23505).
    func newKey(_ t: MTable, taken: [Int64]) -> Int64 {
        let limit = keyLimit(t.name)
        if !t.rows.isEmpty && rng.chance(4) { return rng.pick(t.sortedKeys) }
        if rng.chance(92) {
            let free = (1...limit).map { Int64($0) }.filter { t.rows[$0] == nil && !taken.contains($0) }
            if !free.isEmpty { return rng.pick(free) }
        }
        return Int64(rng.int(1...limit))
    }

    func insert(_ w: inout Work, _ name: String) -> (String, ModelExpect) {
        var t = w.tables[name]!
        var cols = t.cols
        if rng.chance(30) {
            cols = cols.filter { $0.uid == t.keyUid || rng.chance(50) }
            if cols.isEmpty { cols = t.cols }
        }
        let n = rng.int(1...3)
        var keys: [Int64] = []
        var tuples: [String] = []
        var newRows: [[Int: MV]] = []
        for _ in 0..<n {
            var row: [Int: MV] = [:]
            for c in t.cols { row[c.uid] = c.dflt }
            var literals: [String] = []
            for c in cols {
                let v: MV
                if c.uid == t.keyUid {
                    let k = newKey(t, taken: keys)
                    keys.append(k)
                    v = .int(k)
                } else {
                    v = randomValue(c, in: t)
                }
                row[c.uid] = v
                literals.append(v.sql)
            }
            newRows.append(row)
            tuples.append("(" + literals.joined(separator: ", ") + ")")
        }
        let sql = "INSERT INTO \(name) (\(cols.map(\.name).joined(separator: ", "))) VALUES \(tuples.joined(separator: ", "))"
        if t.hasKey {
            if Set(keys).count != keys.count || keys.contains(where: { t.rows[$0] != nil }) { return (sql, .error("23505")) }
        } else {
            for _ in newRows {
                keys.append(nextRow)
                nextRow += 1
            }
        }
        for (k, row) in zip(keys, newRows) {
            t.rows[k] = row
            w.touch(name, k)
        }
        w.tables[name] = t
        return (sql, .tag("INSERT 0 \(n)"))
    }

    /// `SET c = literal`, `c + k`, `c - k` or `c || '!'`, and what it does to a value.
    func setExpression(_ c: MCol, _ t: MTable) -> (String, (MV) -> MV) {
        switch rng.below(3) {
        case 0 where c.isInt:
            let d = Int64(rng.int(1...9))
            if rng.chance(50) {
                return ("\(c.name) + \(d)", { if case .int(let x) = $0 { return .int(x + d) }; return .null })
            }
            return ("\(c.name) - \(d)", { if case .int(let x) = $0 { return .int(x - d) }; return .null })
        case 0:
            return ("\(c.name) || '!'", { if case .text(let s) = $0 { return .text(s + "!") }; return .null })
        default:
            let v = randomValue(c, in: t)
            return (v.sql, { _ in v })
        }
    }

    /// A WHERE condition (nil: none) and its three-valued meaning.
    func predicate(_ t: MTable) -> (String?, Predicate) {
        let r = rng.below(100)
        if r < 4 { return (nil, { _ in true }) }
        let (a, p) = atom(t)
        if r < 78 { return (a, p) }
        let (b, q) = atom(t)
        switch rng.below(3) {
        case 0: return ("(\(a) AND \(b))", { row in and3(p(row), q(row)) })
        case 1: return ("(\(a) OR \(b))", { row in or3(p(row), q(row)) })
        default: return ("NOT (\(a))", { row in p(row).map { !$0 } })
        }
    }

    /// A comparison; `narrow`: one that keeps a row or a few (key or column equality).
    func atom(_ t: MTable, narrow: Bool = false) -> (String, Predicate) {
        if let key = t.keyUid, narrow || rng.chance(45) {
            let keys = t.sortedKeys
            let k = !keys.isEmpty && rng.chance(75) ? rng.pick(keys) : Int64(rng.int(1...30))
            switch narrow ? 0 : rng.below(4) {
            case 0, 1:
                return ("id = \(k)", { row in compare(row[key] ?? .null, "=", .int(k)) })
            case 2:
                let hi = k + Int64(rng.int(0...6))
                return ("id BETWEEN \(k) AND \(hi)", { row in
                    and3(compare(row[key] ?? .null, ">=", .int(k)), compare(row[key] ?? .null, "<=", .int(hi)))
                })
            default:
                return ("id > \(k)", { row in compare(row[key] ?? .null, ">", .int(k)) })
            }
        }
        let c = rng.pick(t.cols)
        let ops = c.isInt ? ["=", "<>", ">", "<", "IS NULL", "IS NOT NULL"] : ["=", "<>", "IS NULL", "IS NOT NULL"]
        let op = narrow ? "=" : rng.pick(ops)
        if op == "IS NULL" { return ("\(c.name) IS NULL", { row in (row[c.uid] ?? c.dflt) == .null }) }
        if op == "IS NOT NULL" { return ("\(c.name) IS NOT NULL", { row in (row[c.uid] ?? c.dflt) != .null }) }
        let v = randomValue(c, in: t)
        return ("\(c.name) \(op) \(v.sql)", { row in compare(row[c.uid] ?? c.dflt, op, v) })
    }

    func update(_ w: inout Work, _ name: String) -> (String, ModelExpect) {
        var t = w.tables[name]!
        let settable = t.cols.filter { $0.uid != t.keyUid }
        if settable.isEmpty { return delete(&w, name) }
        var targets = [rng.pick(settable)]
        if settable.count > 1 && rng.chance(35) {
            let other = rng.pick(settable)
            if other.uid != targets[0].uid { targets.append(other) }
        }
        var sets: [String] = []
        var functions: [(MCol, (MV) -> MV)] = []
        for c in targets {
            let (text, f) = setExpression(c, t)
            sets.append("\(c.name) = \(text)")
            functions.append((c, f))
        }
        let (condition, keep) = predicate(t)
        let sql = "UPDATE \(name) SET \(sets.joined(separator: ", "))" + (condition.map { " WHERE \($0)" } ?? "")
        var count = 0
        for k in t.sortedKeys {
            let row = t.rows[k]!
            guard keep(row) == true else { continue }
            var next = row
            for (c, f) in functions { next[c.uid] = f(t.value(row, c)) }
            t.rows[k] = next
            w.touch(name, k)
            count += 1
        }
        w.tables[name] = t
        return (sql, .tag("UPDATE \(count)"))
    }

    /// A primary-key change: one row (`SET id = id + 100`, `id - 100` or a literal), or a
    /// range moved up by 100 (targets never among the rows moved, so the order the rows are
    /// visited in does not matter, as it would in PostgreSQL).
    func moveKey(_ w: inout Work, _ name: String) -> (String, ModelExpect) {
        var t = w.tables[name]!
        let key = t.keyUid!
        let limit = keyLimit(name)
        let keys = t.sortedKeys
        var extra: (MCol, (MV) -> MV)?
        var setSQL = ""
        let settable = t.cols.filter { $0.uid != key }
        if !settable.isEmpty && rng.chance(30) {
            let c = rng.pick(settable)
            let (text, f) = setExpression(c, t)
            extra = (c, f)
            setSQL = ", \(c.name) = \(text)"
        }
        var moves: [(Int64, Int64)] = []
        let sql: String
        if rng.chance(25) {
            let lo = Int64(rng.int(1...limit))
            let hi = min(Int64(limit), lo + Int64(rng.int(0...5)))
            sql = "UPDATE \(name) SET id = id + 100\(setSQL) WHERE id BETWEEN \(lo) AND \(hi)"
            moves = keys.filter { $0 >= lo && $0 <= hi }.map { ($0, $0 + 100) }
        } else {
            let k = !keys.isEmpty && rng.chance(85) ? rng.pick(keys) : Int64(rng.int(1...limit))
            let target: Int64
            let expr: String
            if k > 100 {
                target = k - 100
                expr = "id - 100"
            } else if rng.chance(50) {
                target = k + 100
                expr = "id + 100"
            } else {
                target = Int64(rng.int(1...limit))
                expr = String(target)
            }
            sql = "UPDATE \(name) SET id = \(expr)\(setSQL) WHERE id = \(k)"
            if t.rows[k] != nil { moves = [(k, target)] }
        }
        let sources = Set(moves.map(\.0))
        let targets = moves.map(\.1)
        if Set(targets).count != targets.count || targets.contains(where: { t.rows[$0] != nil && !sources.contains($0) }) {
            return (sql, .error("23505"))
        }
        var moved: [(Int64, [Int: MV])] = []
        for (from, to) in moves {
            let old = t.rows[from]!
            var row = old
            row[key] = .int(to)
            if let extra { row[extra.0.uid] = extra.1(t.value(old, extra.0)) }
            t.rows[from] = nil
            moved.append((to, row))
            w.touch(name, from)
            w.touch(name, to)
        }
        for (k, row) in moved { t.rows[k] = row }
        w.tables[name] = t
        return (sql, .tag("UPDATE \(moves.count)"))
    }

    func delete(_ w: inout Work, _ name: String) -> (String, ModelExpect) {
        var t = w.tables[name]!
        // Mostly one row or a few: a wide condition would empty the tables too soon.
        let (condition, keep) = rng.chance(55) ? atom(t, narrow: true) : predicate(t)
        var count = 0
        for k in t.sortedKeys where keep(t.rows[k]!) == true {
            t.rows[k] = nil
            w.touch(name, k)
            count += 1
        }
        w.tables[name] = t
        return ("DELETE FROM \(name)" + (condition.map { " WHERE \($0)" } ?? ""), .tag("DELETE \(count)"))
    }

    /// TRUNCATE: one truncate event per table in the change log (no per-row deletes); the
    /// rows the transaction writes after it are inserts.
    func truncate(_ w: inout Work, _ names: [String]) -> (String, ModelExpect) {
        for name in names {
            var t = w.tables[name]!
            w.truncates.append(name)
            w.touched[name] = []
            t.rows = [:]
            w.tables[name] = t
        }
        return ("TRUNCATE " + (rng.chance(50) ? "TABLE " : "") + names.joined(separator: ", "), .tag("TRUNCATE TABLE"))
    }

    func freshName(_ t: MTable) -> String {
        let used = Set(t.names)
        let free = Self.columnPool.filter { !used.contains($0) }
        if !free.isEmpty && rng.chance(85) { return rng.pick(free) }
        var i = nextUid
        while used.contains("c\(i)") { i += 1 }
        return "c\(i)"
    }

    /// ADD COLUMN (int or text, some with a DEFAULT), RENAME COLUMN or DROP COLUMN of a column
    /// other than the key (one such column is always kept).
    func alter(_ w: inout Work, _ name: String) -> (String, ModelExpect) {
        var t = w.tables[name]!
        let others = t.cols.filter { $0.uid != t.keyUid }
        let minimum = 1
        let r = rng.below(100)
        let sql: String
        if (r < 45 && others.count < 7) || others.count <= minimum {
            var col = MCol(uid: nextUid, name: freshName(t), isInt: rng.chance(50), dflt: .null)
            nextUid += 1
            var clause = ""
            if rng.chance(40) {
                col.dflt = col.isInt ? .int(Int64(rng.int(-5...50))) : .text(rng.pick(Self.words))
                clause = " DEFAULT \(col.dflt.sql)"
            }
            t.cols.append(col)
            sql = "ALTER TABLE \(name) ADD COLUMN \(col.name) \(col.isInt ? "int" : "text")\(clause)"
            w.ddl.append((name, "addColumn"))
        } else if r < 75 {
            let c = rng.pick(others)
            let newName = freshName(t)
            let i = t.cols.firstIndex(where: { $0.uid == c.uid })!
            t.cols[i].name = newName
            sql = "ALTER TABLE \(name) RENAME COLUMN \(c.name) TO \(newName)"
            w.ddl.append((name, "renameColumn"))
        } else {
            let c = rng.pick(others)
            t.cols.removeAll { $0.uid == c.uid }
            sql = "ALTER TABLE \(name) DROP COLUMN \(c.name)"
            w.ddl.append((name, "dropColumn"))
        }
        w.tables[name] = t
        return (sql, .tag("ALTER TABLE"))
    }

    // MARK: Checks

    /// A table's rows: by primary key (the query says ORDER BY id), else in any order.
    func rowsExpect(_ t: MTable, keep: (Int64, [Int: MV]) -> Bool = { _, _ in true }) -> ModelExpect {
        let rows = t.sortedKeys.compactMap { k -> [String]? in
            let r = t.rows[k]!
            return keep(k, r) ? t.texts(r) : nil
        }
        return .rows(columns: t.names, rows: rows, ordered: t.hasKey)
    }

    /// The pseudo-columns of a version: drift_seq, drift_op, system_time_start/end.
    func pseudo(_ v: MVersion) -> [String] {
        [String(v.start), v.op, commitText[Int(v.start)], v.end.map { commitText[Int($0)] } ?? "infinity"]
    }

    /// The reads that compare the engine's past with the model's. `commitMicros` is a seq's
    /// commit time (unix µs), `format` prints one as the engine prints a timestamptz.
    func checks(commitMicros: (UInt64) -> Int64, format: (Int64) -> String) -> [ModelCheck] {
        let last = lastSeq
        let lastInt = Int(last)
        commitText = [""]
        for n in UInt64(1)...last { commitText.append(format(commitMicros(n))) }
        var out: [ModelCheck] = []
        func add(_ label: String, _ sql: String, _ expect: ModelExpect) {
            out.append(ModelCheck(label: label, sql: sql, expect: expect))
        }

        // The change log first: it teaches the drift_row_id of each row of the table without a key.
        let eventColumns = "drift_seq, committed_at, txid, table_name, op, key, row"
        add("drift_events", "SELECT \(eventColumns) FROM drift_events ORDER BY drift_seq", .events(after: 0, upTo: last, table: nil))

        // Every table as of every seq, in the spellings the engine accepts; the schema of that seq.
        for n in 0...last {
            for name in Self.tableNames {
                guard let t = states[Int(n)][name] else {
                    add("AS OF before the table existed", "SELECT * FROM \(name) AS OF @seq:\(n)", .error("42P01"))
                    continue
                }
                let order = t.hasKey ? " ORDER BY id" : ""
                let sql: String
                switch rng.below(7) {
                case 0: sql = "SELECT * FROM \(name) FOR SYSTEM_TIME AS OF @seq:\(n)\(order)"
                case 1: sql = t.hasKey ? "SELECT * FROM \(name) ORDER BY id AS OF @seq:\(n)" : "SELECT * FROM \(name) WHERE true AS OF @seq:\(n)"
                case 2: sql = "SELECT * FROM \(name) AS OF '@seq:\(n)'\(order)"
                case 3 where n > 0 && timestampLiterals: sql = "SELECT * FROM \(name) AS OF '\(commitText[Int(n)])'\(order)"
                case 4 where n > 0 && n < last && timestampLiterals:
                    // Just before the next commit is still this seq.
                    sql = "SELECT * FROM \(name) FOR SYSTEM_TIME AS OF TIMESTAMP '\(format(commitMicros(n + 1) - 1))'\(order)"
                default: sql = "SELECT * FROM \(name) AS OF @seq:\(n)\(order)"
                }
                add("AS OF", sql, rowsExpect(t))
                // The version each row is, with its period.
                if rng.chance(30) {
                    let live = (versions[name] ?? []).filter { $0.live(at: n) }.sorted { $0.key < $1.key }
                    add("AS OF with history pseudo-columns",
                        "SELECT *, drift_seq, drift_op, system_time_start, system_time_end FROM \(name) AS OF @seq:\(n)\(order)",
                        .rows(columns: t.names + Self.pseudoNames, rows: live.map { t.texts($0.values) + pseudo($0) }, ordered: t.hasKey))
                }
            }
        }
        for name in Self.tableNames {
            let t = current[name]!
            add("current state", "SELECT * FROM \(name)" + (t.hasKey ? " ORDER BY id" : ""), rowsExpect(t))
        }
        add("AS OF a future seq", "SELECT * FROM accounts AS OF @seq:\(last + 1)", .error("22023"))
        // A statement-wide clause after an ORDER BY list (not a table reference).
        for _ in 0..<5 {
            let n = rng.int(1...lastInt)
            guard let then = states[n]["accounts"], case .rows(let columns, let rows, _) = rowsExpect(then) else { continue }
            add("statement-wide AS OF after an ORDER BY list", "SELECT * FROM accounts ORDER BY id DESC, id AS OF @seq:\(n)",
                .rows(columns: columns, rows: rows.reversed(), ordered: true))
        }

        // Primary-key lookups and index reads in the past.
        for _ in 0..<150 {
            let name = rng.chance(50) ? "accounts" : "transfers"
            let n = rng.int(0...lastInt)
            guard let t = states[n][name] else { continue }
            let indexed = t.col(uid: name == "accounts" ? accountsBal : transfersAccount)
            if let c = indexed, rng.chance(60) {
                let v = randomValue(c, in: t)
                switch rng.below(3) {
                case 0:
                    add("index equality as of a seq", "SELECT * FROM \(name) AS OF @seq:\(n) WHERE \(c.name) = \(v.sql) ORDER BY id",
                        rowsExpect(t) { _, r in compare(t.value(r, c), "=", v) == true })
                case 1:
                    add("index range as of a seq", "SELECT * FROM \(name) AS OF @seq:\(n) WHERE \(c.name) > \(v.sql) ORDER BY id",
                        rowsExpect(t) { _, r in compare(t.value(r, c), ">", v) == true })
                default:
                    add("index IS NULL as of a seq", "SELECT * FROM \(name) AS OF @seq:\(n) WHERE \(c.name) IS NULL ORDER BY id",
                        rowsExpect(t) { _, r in t.value(r, c) == .null })
                }
            } else {
                let keys = t.sortedKeys
                let k = !keys.isEmpty && rng.chance(70) ? rng.pick(keys) : Int64(rng.int(1...130))
                add("primary-key lookup as of a seq", "SELECT * FROM \(name) AS OF @seq:\(n) WHERE id = \(k)", rowsExpect(t) { key, _ in key == k })
            }
        }

        // History: every version whose period meets the given one, in today's schema. A bound is
        // a seq or its commit time (the same instant), and `now()` is later than every commit.
        func spell(_ n: UInt64) -> String {
            switch rng.below(6) {
            case 0 where n > 0 && timestampLiterals: return "TIMESTAMP '\(commitText[Int(n)])'"
            case 1 where n > 0 && timestampLiterals: return "'\(commitText[Int(n)])'"
            case 2: return "'@seq:\(n)'"
            default: return "@seq:\(n)"
            }
        }
        for name in Self.tableNames {
            let t = current[name]!
            let all = versions[name] ?? []
            var periods: [(String, String, (MVersion) -> Bool)] = [("FOR SYSTEM_TIME ALL", "ALL", { _ in true })]
            for _ in 0..<20 {
                let a = UInt64(rng.int(0...lastInt))
                let b = UInt64(rng.int(0...lastInt))
                let lo = min(a, b)
                let hi = max(a, b)
                periods.append(("FOR SYSTEM_TIME BETWEEN", "BETWEEN \(spell(lo)) AND \(spell(hi))", { v in v.start <= hi && (v.end ?? .max) > lo }))
                if lo < hi {
                    periods.append(("FOR SYSTEM_TIME FROM TO", "FROM \(spell(lo)) TO \(spell(hi))", { v in v.start < hi && (v.end ?? .max) > lo }))
                }
            }
            for _ in 0..<3 {
                let lo = UInt64(rng.int(0...lastInt))
                let now = rng.pick(["now()", "CURRENT_TIMESTAMP"])
                periods.append(("FOR SYSTEM_TIME FROM TO now", "FROM \(spell(lo)) TO \(now)", { v in (v.end ?? .max) > lo }))
                periods.append(("FOR SYSTEM_TIME BETWEEN AND now", "BETWEEN \(spell(lo)) AND \(now)", { v in (v.end ?? .max) > lo }))
            }
            // An empty period, or bounds the wrong way round: no version is valid in it.
            for _ in 0..<2 {
                let a = UInt64(rng.int(2...lastInt))
                let b = UInt64(rng.int(1...Int(a) - 1))
                periods.append(("FOR SYSTEM_TIME FROM a TO a (empty period)", "FROM \(spell(a)) TO \(spell(a))", { _ in false }))
                periods.append(("FOR SYSTEM_TIME BETWEEN reversed bounds", "BETWEEN \(spell(a)) AND \(spell(b))", { _ in false }))
                periods.append(("FOR SYSTEM_TIME FROM TO reversed bounds", "FROM \(spell(a)) TO \(spell(b))", { _ in false }))
            }
            for (label, clause, inPeriod) in periods {
                var filterSQL = ""
                var filter: (MVersion) -> Bool = { _ in true }
                switch rng.below(4) {
                case 0 where t.hasKey && !all.isEmpty:
                    let k = all[rng.below(all.count)].key
                    filterSQL = " WHERE id = \(k)"
                    filter = { $0.key == k }
                case 1:
                    let s = UInt64(rng.int(0...lastInt))
                    filterSQL = " WHERE drift_seq > \(s)"
                    filter = { $0.start > s }
                default:
                    break
                }
                let rows = all.filter { inPeriod($0) && filter($0) }.map { t.texts($0.values) + pseudo($0) }
                add(label, "SELECT *, drift_seq, drift_op, system_time_start, system_time_end FROM \(name) FOR SYSTEM_TIME \(clause)\(filterSQL)",
                    .rows(columns: t.names + Self.pseudoNames, rows: rows, ordered: false))
            }
        }

        // The two tables joined as of one seq (each spelling of the clause, and a statement-wide one).
        for _ in 0..<60 {
            let n = rng.int(2...lastInt)
            guard let tr = states[n]["transfers"], let ac = states[n]["accounts"] else { continue }
            let accountColumn = tr.col(uid: transfersAccount)
            let on = accountColumn.map { "a.id = t.\($0.name)" } ?? "a.id = t.id"
            let left = rng.chance(40)
            let join = left ? "LEFT JOIN" : "JOIN"
            let sql: String
            switch rng.below(3) {
            case 0: sql = "SELECT t.*, a.* FROM transfers AS OF @seq:\(n) t \(join) accounts AS OF @seq:\(n) a ON \(on) ORDER BY t.id"
            case 1: sql = "SELECT t.*, a.* FROM transfers FOR SYSTEM_TIME AS OF @seq:\(n) AS t \(join) accounts FOR SYSTEM_TIME AS OF @seq:\(n) AS a ON \(on) ORDER BY t.id"
            default: sql = "SELECT t.*, a.* FROM transfers t \(join) accounts a ON \(on) ORDER BY t.id AS OF @seq:\(n)"
            }
            var rows: [[String]] = []
            for k in tr.sortedKeys {
                let row = tr.rows[k]!
                let target = accountColumn.map { tr.value(row, $0) } ?? .int(k)
                if case .int(let id) = target, let match = ac.rows[id] {
                    rows.append(tr.texts(row) + ac.texts(match))
                } else if left {
                    rows.append(tr.texts(row) + Array(repeating: "NULL", count: ac.cols.count))
                }
            }
            add("join of two tables as of one seq", sql, .rows(columns: tr.names + ac.names, rows: rows, ordered: true))
        }

        // Then against now (or against another seq): the same table twice, each side in its own schema.
        for _ in 0..<60 {
            let n = rng.int(1...lastInt)
            let m: Int? = rng.chance(50) ? nil : rng.int(1...lastInt)
            guard let a = states[n]["accounts"], let b = m.map({ states[$0]["accounts"]! }) ?? current["accounts"] else { continue }
            let kind = rng.pick(["JOIN", "LEFT JOIN", "FULL JOIN"])
            let then = rng.chance(50) ? "accounts AS OF @seq:\(n) a" : "accounts FOR SYSTEM_TIME AS OF @seq:\(n) AS a"
            let other = m.map { "accounts AS OF @seq:\($0) b" } ?? "accounts b"
            let aOthers = a.cols.filter { $0.uid != a.keyUid }
            let bOthers = b.cols.filter { $0.uid != b.keyUid }
            var keys = Set(a.rows.keys)
            switch kind {
            case "JOIN": keys.formIntersection(b.rows.keys)
            case "FULL JOIN": keys.formUnion(b.rows.keys)
            default: break
            }
            var rows: [[String]] = []
            for k in keys.sorted() {
                var row = [String(k)]
                if let r = a.rows[k] { row += aOthers.map { a.value(r, $0).pg } } else { row += Array(repeating: "NULL", count: aOthers.count) }
                if let r = b.rows[k] { row += bOthers.map { b.value(r, $0).pg } } else { row += Array(repeating: "NULL", count: bOthers.count) }
                rows.append(row)
            }
            add("then-vs-now self-join", "SELECT * FROM \(then) \(kind) \(other) USING (id) ORDER BY id",
                .rows(columns: ["id"] + aOthers.map(\.name) + bOthers.map(\.name), rows: rows, ordered: true))
        }

        // A name is looked up in the schema of the seq read.
        for _ in 0..<30 {
            let n = rng.int(1...lastInt)
            let name = rng.pick(Self.tableNames)
            guard let then = states[n][name] else { continue }
            let now = current[name]!
            if let gone = then.cols.first(where: { c in !now.cols.contains { $0.name == c.name } }) {
                add("a column of the past is unknown now", "SELECT \(gone.name) FROM \(name)", .error("42703"))
                add("a column of the past reads as of its seq", "SELECT \(gone.name) FROM \(name) AS OF @seq:\(n)" + (then.hasKey ? " ORDER BY id" : ""),
                    .rows(columns: [gone.name], rows: then.sortedKeys.map { [then.value(then.rows[$0]!, gone).pg] }, ordered: then.hasKey))
            }
            if let added = now.cols.first(where: { c in !then.cols.contains { $0.name == c.name } }) {
                add("a later column is unknown in the past", "SELECT \(added.name) FROM \(name) AS OF @seq:\(n)", .error("42703"))
            }
        }

        // Ranges of the change log.
        for _ in 0..<40 {
            let after = UInt64(rng.int(0...lastInt - 1))
            let upTo = UInt64(rng.int(Int(after) + 1...lastInt))
            var table: String?
            var tableSQL = ""
            if rng.chance(25) {
                table = rng.pick(Self.tableNames)
                tableSQL = " AND table_name = '\(table!)'"
            }
            let sql: String
            switch rng.below(5) {
            case 0: sql = "SELECT \(eventColumns) FROM drift_events WHERE drift_seq BETWEEN \(after + 1) AND \(upTo)\(tableSQL) ORDER BY drift_seq"
            case 1: sql = "SELECT \(eventColumns) FROM drift_events WHERE drift_seq >= \(after + 1) AND drift_seq <= \(upTo)\(tableSQL) ORDER BY drift_seq"
            case 2: sql = "SELECT \(eventColumns) FROM drift_events AS OF @seq:\(upTo) WHERE drift_seq > \(after)\(tableSQL) ORDER BY drift_seq"
            case 3: sql = "SELECT \(eventColumns) FROM drift_events e WHERE \(after) < e.drift_seq AND e.drift_seq <= \(upTo)\(tableSQL) ORDER BY drift_seq"
            default: sql = "SELECT \(eventColumns) FROM drift_events WHERE drift_seq > \(after) AND drift_seq <= \(upTo)\(tableSQL) ORDER BY drift_seq"
            }
            add("drift_events range", sql, .events(after: after, upTo: upTo, table: table))
        }
        return out
    }

    // MARK: Comparing

    /// nil when the engine's answer is the model's; else what differs.
    func verify(_ expect: ModelExpect, _ out: ModelOutcome) -> String? {
        switch (expect, out) {
        case (.tag(let want), .ok(let tag, _, _)):
            return tag == want ? nil : "tag \(tag), the model's \(want)"
        case (.error(let want), .error(let code, let message)):
            return code == want ? nil : "error \(code) (\(message)), the model's \(want)"
        case (.rows(let columns, let rows, let ordered), .ok(_, let got, let gotRows)):
            if (got ?? []) != columns { return "columns \(got ?? []), the model's \(columns)" }
            return rowDiff(got: gotRows, model: rows, ordered: ordered)
        case (.events(let after, let upTo, let table), .ok(_, let got, let gotRows)):
            return verifyEvents(after: after, upTo: upTo, table: table, columns: got ?? [], rows: gotRows)
        case (_, .error(let code, let message)):
            return "error \(code): \(message); the model expects \(expect)"
        case (_, .ok(let tag, _, let rows)):
            return "succeeded (\(tag), \(rows.count) rows); the model expects \(expect)"
        }
    }

    func verifyEvents(after: UInt64, upTo: UInt64, table: String?, columns: [String], rows: [[String]]) -> String? {
        let want = ["drift_seq", "committed_at", "txid", "table_name", "op", "key", "row"]
        if columns != want { return "columns \(columns), the model's \(want)" }
        let seqs = rows.map { UInt64($0[0]) ?? 0 }
        if seqs != seqs.sorted() { return "not in drift_seq order: \(seqs.prefix(40))" }
        learnRowIds(rows)
        let model = events.filter { $0.seq > after && $0.seq <= upTo && (table == nil || $0.table == table) }.map { e -> [String] in
            let key: String
            if e.op == "ddl" || e.op == "truncate" {
                key = "NULL"
            } else if current[e.table]?.hasKey == false {
                key = rowIdOf[e.key!].map { "{\"drift_row_id\": \($0)}" } ?? "{\"drift_row_id\": (model row \(e.key!), never seen)}"
            } else {
                key = "{\"id\": \(e.key!)}"
            }
            return [String(e.seq), commitText[Int(e.seq)], String(e.seq), e.table, e.op, key, e.row]
        }
        return rowDiff(got: rows, model: model, ordered: false)
    }

    /// Pairs the engine's drift_row_id of each inserted row of the table without a key with the
    /// model's row: by seq and content. (Rows inserted alike in one transaction stay alike
    /// forever, so which of them pairs with which does not matter.)
    func learnRowIds(_ rows: [[String]]) {
        var inserts: [UInt64: [[String]]] = [:]
        for r in rows where r[4] == "insert" && current[r[3]]?.hasKey == false {
            inserts[UInt64(r[0]) ?? 0, default: []].append(r)
        }
        for (seq, got) in inserts {
            var candidates = events.filter { $0.seq == seq && $0.op == "insert" && current[$0.table]?.hasKey == false && rowIdOf[$0.key!] == nil }
            for r in got {
                guard let id = Int64(r[5].filter(\.isNumber)), modelRowOf[id] == nil else { continue }
                if let i = candidates.firstIndex(where: { $0.table == r[3] && $0.row == r[6] }) {
                    rowIdOf[candidates[i].key!] = id
                    modelRowOf[id] = candidates[i].key!
                    candidates.remove(at: i)
                }
            }
        }
    }
}
