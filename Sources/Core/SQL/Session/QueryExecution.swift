import DriftCore
import DriftStorage
#if canImport(Glibc)
import Glibc
#endif

extension Session {
    /// A binder for one statement in `t`.
    func binder(_ t: Transaction, parameters: [Value], temporal: TemporalSpec? = nil) -> Binder {
        Binder(engine: engine, txn: t, session: self, parameterTypes: parameterTypes ?? parameters.map { _ in nil }, temporal: temporal)
    }

    func execContext(_ t: Transaction, parameters: [Value]) -> ExecContext {
        let now = PGTime.fromUnix(wallClockMicros())
        let ctx = ExecContext(engine: engine, txn: t, session: self, parameters: parameters,
                              transactionTime: blockStartTime ?? now, statementTime: now, memoryLimit: statementMemoryLimit)
        if let capture = explaining, capture.analyze {
            ctx.instrumentation = [:]
            capture.contexts.append(ctx)
        }
        return ctx
    }

    var statementMemoryLimit: Int {
        if let v = settings["drift.statement_memory"], let mb = Int(v) { return mb << 20 }
        return 1 << 30
    }

    func runQuery(_ q: Query, in t: Transaction, parameters: [Value], capture: Binder.CursorCapture? = nil) throws -> StatementResult {
        let b = binder(t, parameters: parameters)
        b.cursorCapture = capture
        let bound = try b.bindQuery(q, parent: nil)
        try describeHook(b, columns: bound.columns)
        let ctx = execContext(t, parameters: parameters)
        let rows = try Executor.collect(bound.plan, columns: bound.columns.count, ctx)
        return StatementResult(tag: "SELECT \(rows.count)", columns: bound.columns, rows: rows)
    }

    // MARK: EXPLAIN

    func explain(_ s: Statement, analyze: Bool, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        switch s {
        case .insert, .update, .delete:
            let capture = ExplainCapture()
            explaining = capture
            defer {
                explaining = nil
                // The counting wrappers hold the nodes, which hold their context: drop them.
                for ctx in capture.contexts { ctx.instrumentation = nil }
            }
            if analyze {
                // As in PostgreSQL, EXPLAIN ANALYZE runs the statement: its changes stand.
                capture.analyze = true
                let started = monotonicNanos()
                switch s {
                case .insert(let i): _ = try insert(i, in: t, parameters: parameters)
                case .update(let u): _ = try update(u, in: t, parameters: parameters)
                case .delete(let d): _ = try delete(d, in: t, parameters: parameters)
                default: break
                }
                let ms = Double(monotonicNanos() - started) / 1e6
                guard let plan = capture.plan else { throw SQLError.bug("EXPLAIN ANALYZE found no plan") }
                var stats: [ObjectIdentifier: [CountingNode]] = [:]
                for ctx in capture.contexts {
                    for (k, v) in ctx.instrumentation ?? [:] { stats[k, default: []] += v }
                }
                var lines = ["\(capture.title)  (actual time=\(format3(ms)) rows=0 loops=1)"]
                // A VALUES list or DEFAULT VALUES is not run as a plan: shown without counts.
                ExplainText.render(plan, depth: 1, stats: stats[ObjectIdentifier(plan)] == nil ? nil : stats, into: &lines)
                lines.append("Execution Time: \(format3(ms)) ms")
                return StatementResult(tag: "EXPLAIN", columns: [ResultColumn(name: "QUERY PLAN", type: .text)], rows: lines.map { [.text($0)] })
            }
            do {
                switch s {
                case .insert(let i): _ = try insert(i, in: t, parameters: parameters)
                case .update(let u): _ = try update(u, in: t, parameters: parameters)
                case .delete(let d): _ = try delete(d, in: t, parameters: parameters)
                default: break
                }
                throw SQLError.bug("statement ran while being explained")
            } catch is DescribeDone {}
            guard let plan = capture.plan else { throw SQLError.bug("EXPLAIN found no plan") }
            var lines = [capture.title]
            ExplainText.render(plan, depth: 1, stats: nil, into: &lines)
            return StatementResult(tag: "EXPLAIN", columns: [ResultColumn(name: "QUERY PLAN", type: .text)], rows: lines.map { [.text($0)] })
        case .select:
            break
        default:
            throw SQLError.notSupported("EXPLAIN of statements other than SELECT, INSERT, UPDATE and DELETE")
        }
        guard case .select(let q) = s else { throw SQLError.bug("EXPLAIN of a non-query") }
        let b = binder(t, parameters: parameters)
        let bound = try b.bindQuery(q, parent: nil)
        try b.verifyColumnGrants()
        var lines: [String] = []
        if analyze {
            let ctx = execContext(t, parameters: parameters)
            ctx.instrumentation = [:]
            // The counting wrappers hold the nodes, which hold this context: drop them.
            defer { ctx.instrumentation = nil }
            let started = monotonicNanos()
            let root = try Executor.instantiate(bound.plan, ctx)
            while try root.next() != nil {}
            let ms = Double(monotonicNanos() - started) / 1e6
            ExplainText.render(bound.plan, depth: 0, stats: ctx.instrumentation, into: &lines)
            lines.append("Execution Time: \(format3(ms)) ms")
        } else {
            ExplainText.render(bound.plan, depth: 0, stats: nil, into: &lines)
        }
        return StatementResult(tag: "EXPLAIN", columns: [ResultColumn(name: "QUERY PLAN", type: .text)], rows: lines.map { [.text($0)] })
    }
}

/// A plan's row estimate as PostgreSQL's EXPLAIN prints it: rounded, at least 1, at most
/// 1e100 (its clamp), every digit written out ("%.0f": a cross join of big tables passes Int64).
func formatRows(_ rows: Double) -> String {
    let r = rows.isNaN ? 1 : min(max(1, rows.rounded()), 1e100)
    if r < 9e18 { return String(Int64(r)) }
    var buffer = [CChar](repeating: 0, count: 128)
    let n = buffer.withUnsafeMutableBufferPointer { bp in
        withVaList([r]) { va in vsnprintf(bp.baseAddress, bp.count, "%.0f", va) }
    }
    return String(decoding: buffer.prefix(Int(max(0, n))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func format3(_ d: Double) -> String {
    let scaled = (d * 1000).rounded()
    let whole = Int64(scaled) / 1000, frac = abs(Int64(scaled) % 1000)
    let f = String(frac)
    return "\(whole).\(String(repeating: "0", count: 3 - f.count))\(f)"
}

/// EXPLAIN's text: PostgreSQL's node names, one line per node, details indented below.
enum ExplainText {
    static func name(_ p: Plan) -> (String, [String]) {
        switch p.op {
        case .table(let a):
            let indexed = a.filters.indices.filter { a.indexConditions.contains($0) }.map { a.filters[$0] }
            let rest = a.filters.indices.filter { !a.indexConditions.contains($0) }.map { a.filters[$0] }
            var details = indexed.isEmpty ? [] : ["Index Cond: \(describe(indexed))"]
            if !rest.isEmpty { details.append("Filter: \(describe(rest))") }
            let on = a.alias == a.table.name ? a.table.name : "\(a.table.name) \(a.alias)"
            switch a.mode {
            case .asOf(let seq): details.insert("As Of: seq \(seq)", at: 0)
            case .history: details.insert("History: every version in the period", at: 0)
            case .transaction: break
            }
            switch a.path {
            case .scan: return ("Seq Scan on \(on)", details)
            case .primaryKey: return ("Index Scan using \(a.table.primaryKeyName) on \(on)", details)
            case .index(let def, _, _, _): return ("Index Scan using \(def.name) on \(on)", details)
            }
        case .values: return ("Values Scan", [])
        case .oneRow: return ("Result", [])
        case .empty: return ("Result", ["One-Time Filter: false"])
        case .setFunction(let f): return ("Function Scan on \(f.function.name)", [])
        case .cteScan(let c): return ("CTE Scan on \(c.name)", [])
        case .workTable(let c): return ("WorkTable Scan on \(c.name)", [])
        case .recursiveUnion: return ("Recursive Union", [])
        case .place(let inner, _): return name(inner)
        case .filter(_, let e): return ("Filter", ["Filter: \(describe([e]))"])
        case .project: return ("Result", [])
        case .join(let j):
            let kind = j.kind == .inner ? "" : " \(j.kind.rawValue)"
            switch j.method {
            case .hash: return ("Hash\(kind) Join", j.condition.map { ["Join Filter: \(describe([$0]))"] } ?? [])
            case .nestedLoop: return ("Nested Loop\(kind)", j.condition.map { ["Join Filter: \(describe([$0]))"] } ?? [])
            case .indexLookup: return ("Nested Loop\(kind)", [])
            }
        case .aggregate(let a): return (a.keys.isEmpty ? "Aggregate" : "HashAggregate", [])
        case .window: return ("WindowAgg", [])
        case .distinct: return ("HashAggregate", ["(DISTINCT)"])
        case .distinctOn: return ("Unique", [])
        case .sort: return ("Sort", [])  // a top-n heap sort under a constant LIMIT
        case .limit: return ("Limit", [])
        case .setOp(let k, let all, _, _): return (k == .union ? (all ? "Append" : "HashAggregate") : "HashSetOp \(k.rawValue)\(all ? " All" : "")", [])
        case .lockRows: return ("LockRows", [])
        }
    }

    static func describe(_ es: [BoundExpr]) -> String {
        es.count == 1 ? "(condition)" : "(\(es.count) conditions)"
    }

    static func children(_ p: Plan) -> [Plan] {
        switch p.op {
        case .table, .values, .oneRow, .empty, .setFunction, .cteScan, .workTable: return []
        case let .recursiveUnion(_, base, step, _): return [base, step]
        case let .place(inner, _):
            if case .table = inner.op { return [] }
            return children(inner)
        case .filter(let i, _), .project(let i, _), .window(let i, _), .distinct(let i, _), .distinctOn(let i, _),
             .sort(let i, _, _), .limit(let i, _, _), .lockRows(let i, _):
            return [i]
        case .join(let j):
            if case .indexLookup = j.method { return [j.left, j.right] }
            return [j.left, j.right]
        case .aggregate(let a): return [a.input]
        case let .setOp(_, _, l, r): return [l, r]
        }
    }

    /// Nodes worth showing: projections and placements are folded into their input.
    static func shown(_ p: Plan) -> Bool {
        switch p.op {
        case .project(let i, _): return isLeafLike(i)
        case .place: return false
        default: return true
        }
    }

    static func isLeafLike(_ p: Plan) -> Bool {
        if case .oneRow = p.op { return true }
        return false
    }

    static func render(_ p: Plan, depth: Int, stats: [ObjectIdentifier: [CountingNode]]?, into lines: inout [String]) {
        if !shown(p) {
            if case .place(let inner, _) = p.op { render(inner, depth: depth, stats: stats, into: &lines); return }
            for c in children(p) { render(c, depth: depth, stats: stats, into: &lines) }
            return
        }
        let (title, details) = name(p)
        let pad = depth == 0 ? "" : String(repeating: " ", count: depth * 6 - 6) + "  ->  "
        var line = "\(pad)\(title)  (rows=\(formatRows(p.rows)))"
        if let stats {
            let counters = stats[ObjectIdentifier(p)] ?? []
            if counters.isEmpty {
                line += " (never executed)"
            } else {
                let rows = counters.reduce(0) { $0 + $1.rows }, nanos = counters.reduce(UInt64(0)) { $0 + $1.nanos }
                line += " (actual time=\(format3(Double(nanos) / 1e6)) rows=\(rows) loops=\(counters.count))"
            }
        }
        lines.append(line)
        let detailPad = String(repeating: " ", count: depth == 0 ? 2 : depth * 6 + 2)
        for d in details { lines.append(detailPad + d) }
        for c in children(p) { render(c, depth: depth + 1, stats: stats, into: &lines) }
    }
}

/// Counts rows and time through a node.
final class CountingNode: PlanNode {
    let input: any PlanNode
    var rows = 0
    var nanos: UInt64 = 0
    init(_ input: any PlanNode) { self.input = input }
    var width: Int { input.width }
    func next() throws -> RowBatch? {
        let t = monotonicNanos()
        defer { nanos += monotonicNanos() - t }
        let b = try input.next()
        rows += b?.count ?? 0
        return b
    }
    func rewind() throws { try input.rewind() }
}
