import DriftCore
import DriftStorage

/// Window functions: the input is read into memory; for each window the rows are ordered by
/// partition and ORDER BY keys, and each row gets its value from its partition and frame.
/// Rows come out in the order of the last window's sort, as in PostgreSQL.
final class WindowNode: PlanNode {
    let input: any PlanNode
    let calls: [WindowCall]
    let ctx: ExecContext
    struct Compiled {
        var args: [Eval]
        var partition: [Eval]
        var order: [Eval]
        var start: Eval?
        var end: Eval?
        var filter: Eval?
        var aggregateOrder: [Eval]
    }
    let compiled: [Compiled]
    var output: StoredRowsNode?

    init(_ input: any PlanNode, _ calls: [WindowCall], _ ctx: ExecContext) throws {
        self.input = input
        self.calls = calls
        self.ctx = ctx
        compiled = try calls.map { c in
            func bound(_ b: WindowFrame.Bound) throws -> Eval? {
                switch b {
                case .preceding(let e), .following(let e): return try ExprCompiler.compile(e, ctx)
                default: return nil
                }
            }
            var filter: Eval?
            var aggOrder: [Eval] = []
            if case .aggregate(let a) = c.kind {
                filter = try a.filter.map { try ExprCompiler.compile($0, ctx) }
                aggOrder = try a.orderBy.map { try ExprCompiler.compile($0.expr, ctx) }
            }
            return Compiled(args: try c.args.map { try ExprCompiler.compile($0, ctx) },
                            partition: try c.partition.map { try ExprCompiler.compile($0, ctx) },
                            order: try c.order.map { try ExprCompiler.compile($0.expr, ctx) },
                            start: try bound(c.frame.start), end: try bound(c.frame.end), filter: filter, aggregateOrder: aggOrder)
        }
    }

    var width: Int { input.width + calls.count }

    func next() throws -> RowBatch? {
        if output == nil { output = StoredRowsNode(try compute()) }
        return try output?.next()
    }

    func compute() throws -> RowStore {
        let rows = try materialize(input, ctx, what: "window")
        let n = rows.count
        var results = [[Value]](repeating: [Value](repeating: .null, count: n), count: calls.count)
        var finalOrder = Array(0..<n)
        for (ci, call) in calls.enumerated() {
            try ctx.interrupt?.check()
            let c = compiled[ci]
            var part = [[Value]](), ord = [[Value]]()
            part.reserveCapacity(n)
            ord.reserveCapacity(n)
            for i in 0..<n {
                try rows.withRow(i) { r in
                    part.append(try c.partition.map { try $0(r) })
                    ord.append(try c.order.map { try $0(r) })
                }
            }
            let keys = call.order
            var order = Array(0..<n)
            order.sort { a, b in
                for (x, y) in zip(part[a], part[b]) {
                    let cmp = compareSortValues(x, y, descending: false, nullsFirst: false)
                    if cmp != 0 { return cmp < 0 }
                }
                for (k, key) in keys.enumerated() {
                    let cmp = compareSortValues(ord[a][k], ord[b][k], descending: key.descending, nullsFirst: key.nullsFirst)
                    if cmp != 0 { return cmp < 0 }
                }
                return a < b
            }
            func samePartition(_ a: Int, _ b: Int) -> Bool {
                zip(part[a], part[b]).allSatisfy { compareSortValues($0, $1, descending: false, nullsFirst: false) == 0 }
            }
            func peers(_ a: Int, _ b: Int) -> Bool {
                zip(ord[a], ord[b]).allSatisfy { compareSortValues($0, $1, descending: false, nullsFirst: false) == 0 }
            }
            var start = 0
            while start < n {
                var end = start + 1
                while end < n && samePartition(order[start], order[end]) { end += 1 }
                let members = Array(order[start..<end])
                try evaluate(ci, call, members, rows, ord, peers, &results[ci])
                start = end
            }
            finalOrder = order
        }
        var out = RowStore(width: width)
        var row = [Value](repeating: .null, count: width)
        for i in finalOrder {
            rows.withRow(i) { r in for k in 0..<r.count { row[k] = r[k] } }
            for ci in calls.indices { row[rows.width + ci] = results[ci][i] }
            out.append(row)
        }
        return out
    }

    /// Computes one window function over one partition (`members`: row indices in window order).
    func evaluate(_ ci: Int, _ call: WindowCall, _ members: [Int], _ rows: RowStore, _ ord: [[Value]],
                  _ peers: (Int, Int) -> Bool, _ out: inout [Value]) throws {
        let c = compiled[ci]
        let m = members.count
        // Peer groups: first and last position of each row's peers.
        var groupStart = [Int](repeating: 0, count: m), groupEnd = [Int](repeating: 0, count: m)
        var groupNumber = [Int](repeating: 0, count: m)
        var g = 0, i = 0
        while i < m {
            var j = i + 1
            while j < m && peers(members[i], members[j]) { j += 1 }
            for k in i..<j {
                groupStart[k] = i
                groupEnd[k] = j - 1
                groupNumber[k] = g
            }
            g += 1
            i = j
        }
        func arg(_ k: Int, _ a: Int) throws -> Value { try rows.withRow(members[k]) { try c.args[a]($0) } }
        switch call.kind {
        case .rowNumber:
            for k in 0..<m { out[members[k]] = .int(Int64(k + 1)) }
        case .rank:
            for k in 0..<m { out[members[k]] = .int(Int64(groupStart[k] + 1)) }
        case .denseRank:
            for k in 0..<m { out[members[k]] = .int(Int64(groupNumber[k] + 1)) }
        case .percentRank:
            for k in 0..<m { out[members[k]] = .double(m > 1 ? Double(groupStart[k]) / Double(m - 1) : 0) }
        case .cumeDist:
            for k in 0..<m { out[members[k]] = .double(Double(groupEnd[k] + 1) / Double(m)) }
        case .ntile:
            for k in 0..<m {
                guard case .int(let buckets) = try arg(k, 0) else { out[members[k]] = .null; continue }
                guard buckets > 0 else { throw SQLError(SQLState("22014"), "argument of ntile must be greater than zero") }
                let b = Int(buckets)
                let per = m / b, extra = m % b
                // The first `extra` buckets get one more row.
                let big = extra * (per + 1)
                let bucket = k < big ? k / (per + 1) : extra + (per == 0 ? 0 : (k - big) / per)
                out[members[k]] = .int(Int64(bucket + 1))
            }
        case .lag, .lead:
            for k in 0..<m {
                var offset: Int64 = 1
                if c.args.count > 1 {
                    guard case .int(let o) = try arg(k, 1) else { out[members[k]] = .null; continue }
                    offset = o
                }
                let target = call.kindIsLag ? k - Int(offset) : k + Int(offset)
                if target >= 0 && target < m {
                    out[members[k]] = try arg(target, 0)
                } else {
                    out[members[k]] = c.args.count > 2 ? try arg(k, 2) : .null
                }
            }
        case .firstValue, .lastValue, .nthValue:
            for k in 0..<m {
                let (lo, hi) = try frame(call, c, k, m, members, rows, ord, groupStart, groupEnd, groupNumber)
                guard lo <= hi else { out[members[k]] = .null; continue }
                switch call.kind {
                case .firstValue: out[members[k]] = try arg(lo, 0)
                case .lastValue: out[members[k]] = try arg(hi, 0)
                default:
                    guard case .int(let nth) = try arg(k, 1) else { out[members[k]] = .null; continue }
                    guard nth > 0 else { throw SQLError(SQLState("22016"), "argument of nth_value must be greater than zero") }
                    let t = lo + Int(nth) - 1
                    out[members[k]] = t <= hi ? try arg(t, 0) : .null
                }
            }
        case .aggregate(let agg):
            let running = call.frame.isDefault || (call.frame.unit != .rows && isRunning(call.frame))
            if running && agg.orderBy.isEmpty && !agg.distinct {
                // Default frame: the aggregate so far, through the current row's peers.
                var acc = Accumulator(agg)
                var k = 0
                while k < m {
                    let end = call.order.isEmpty ? m - 1 : groupEnd[k]
                    while k <= end {
                        try addRow(&acc, c, members[k], rows)
                        k += 1
                    }
                    let v = try acc.result()
                    for j in (call.order.isEmpty ? 0 : groupStart[end])...end { out[members[j]] = v }
                }
            } else {
                for k in 0..<m {
                    let (lo, hi) = try frame(call, c, k, m, members, rows, ord, groupStart, groupEnd, groupNumber)
                    var acc = Accumulator(agg)
                    if lo <= hi {
                        for j in lo...hi where !excluded(call.frame.exclude, j, k, groupStart, groupEnd) {
                            try addRow(&acc, c, members[j], rows)
                        }
                    }
                    out[members[k]] = try acc.result()
                }
            }
        }
    }

    func isRunning(_ f: WindowFrame) -> Bool {
        if case .unboundedPreceding = f.start, case .currentRow = f.end, f.exclude == 0 { return true }
        return false
    }

    func excluded(_ exclude: Int, _ j: Int, _ k: Int, _ gs: [Int], _ ge: [Int]) -> Bool {
        switch exclude {
        case 1: return j == k                             // EXCLUDE CURRENT ROW
        case 2: return j >= gs[k] && j <= ge[k]           // EXCLUDE GROUP
        case 4: return j != k && j >= gs[k] && j <= ge[k] // EXCLUDE TIES
        default: return false
        }
    }

    func addRow(_ acc: inout Accumulator, _ c: Compiled, _ row: Int, _ rows: RowStore) throws {
        try rows.withRow(row) { r in
            if let f = c.filter {
                guard case .bool(true) = try f(r) else { return }
            }
            try acc.add(try c.args.map { try $0(r) }, order: try c.aggregateOrder.map { try $0(r) })
        }
    }

    /// The frame of position `k` as positions [lo, hi] in the partition.
    func frame(_ call: WindowCall, _ c: Compiled, _ k: Int, _ m: Int, _ members: [Int], _ rows: RowStore, _ ord: [[Value]],
               _ gs: [Int], _ ge: [Int], _ gn: [Int]) throws -> (Int, Int) {
        let f = call.frame
        if f.isDefault { return (0, call.order.isEmpty ? m - 1 : ge[k]) }
        func offset(_ e: Eval?) throws -> Value {
            guard let e else { return .null }
            let v = try rows.withRow(members[k]) { try e($0) }
            if v.isNull { throw SQLError(SQLState("22013"), "frame starting offset must not be null") }
            if case .int(let i) = v, i < 0 { throw SQLError(SQLState("22013"), "frame starting offset must not be negative") }
            if case .double(let d) = v, d < 0 { throw SQLError(SQLState("22013"), "frame starting offset must not be negative") }
            return v
        }
        func position(_ b: WindowFrame.Bound, _ e: Eval?, isStart: Bool) throws -> Int {
            switch b {
            case .unboundedPreceding: return 0
            case .unboundedFollowing: return m - 1
            case .currentRow:
                switch f.unit {
                case .rows: return k
                case .range, .groups: return isStart ? gs[k] : ge[k]
                }
            case .preceding, .following:
                let v = try offset(e)
                let sign = { if case .preceding = b { return -1 }; return 1 }()
                switch f.unit {
                case .rows:
                    guard case .int(let n) = v else { return k }
                    let p = saturatingAdd(k, sign * Int(clamping: n))
                    return isStart ? max(p, sign < 0 ? 0 : p) : p
                case .groups:
                    guard case .int(let n) = v else { return k }
                    let target = saturatingAdd(gn[k], sign * Int(clamping: n))
                    if isStart {
                        return (0..<m).first { gn[$0] >= target } ?? m
                    }
                    return (0..<m).last { gn[$0] <= target } ?? -1
                case .range:
                    // Rows whose key is within the offset of the current row's key.
                    let key = ord[members[k]].first ?? .null
                    let descending = call.order.first?.descending ?? false
                    func shifted() throws -> Value {
                        guard !key.isNull else { return .null }
                        let s = (sign < 0) != descending ? ArithOp.sub : ArithOp.add
                        return try Arithmetic.binary(s, call.order.first?.expr.type ?? .float8)(key, v)
                    }
                    let bound: Value
                    do {
                        bound = try shifted()
                    } catch let e as SQLError where e.code == .numericValueOutOfRange {
                        // Past the type's range (the current key near its end): beyond every
                        // key, as PostgreSQL's in_range functions answer on overflow.
                        func hasKey(_ j: Int) -> Bool { !(ord[members[j]].first ?? .null).isNull }
                        if isStart { return sign < 0 ? (0..<m).first(where: hasKey) ?? m : m }
                        return sign < 0 ? -1 : (0..<m).last(where: hasKey) ?? -1
                    }
                    if isStart {
                        return (0..<m).first { j in
                            let x = ord[members[j]].first ?? .null
                            if bound.isNull || x.isNull { return x.isNull == bound.isNull }
                            return compareSortValues(x, bound, descending: descending, nullsFirst: false) >= 0
                        } ?? m
                    }
                    return (0..<m).last { j in
                        let x = ord[members[j]].first ?? .null
                        if bound.isNull || x.isNull { return x.isNull == bound.isNull }
                        return compareSortValues(x, bound, descending: descending, nullsFirst: false) <= 0
                    } ?? -1
                }
            }
        }
        let lo = max(0, try position(f.start, c.start, isStart: true))
        let hi = min(m - 1, try position(f.end, c.end, isStart: false))
        return (lo, hi)
    }

    func rewind() throws {
        output = nil
        try input.rewind()
    }
}

extension WindowCall {
    var kindIsLag: Bool {
        if case .lag = kind { return true }
        return false
    }
}

/// `a + b`, held at the ends of Int instead of overflowing (a frame offset may be as large
/// as a bigint: `ROWS BETWEEN CURRENT ROW AND 9223372036854775807 FOLLOWING`).
@inline(__always)
func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (r, o) = a.addingReportingOverflow(b)
    return o ? (b > 0 ? Int.max : Int.min) : r
}
