import DriftCore
import DriftStorage
#if canImport(Glibc)
import Glibc
#endif

/// One aggregate's running state for one group.
struct Accumulator {
    let call: AggregateCall
    var count: Int64 = 0
    var intSum: Int64 = 0
    var intOverflow = false
    var sum: Double = 0
    var sumSquares: Double = 0
    /// Exact sums (numeric arguments, and integer sums past Int64).
    var numSum = Numeric.zero
    var numSumSquares = Numeric.zero
    var intervalSum = Interval.zero
    var value: Value = .null
    var flag: Bool?
    var items: [Value] = []
    var delimiters: [Value] = []
    var sortRows: [[Value]] = []
    var seen: Set<RowKey>?

    init(_ call: AggregateCall) {
        self.call = call
        if call.distinct { seen = [] }
    }

    /// Adds one input row's arguments (already evaluated), and its ORDER BY values.
    mutating func add(_ args: [Value], order: [Value]) throws {
        if call.kind == .countStar {
            count += 1
            return
        }
        if seen != nil {
            guard seen?.insert(RowKey(args)).inserted == true else { return }
        }
        let v = args.first ?? .null
        switch call.kind {
        case .stringAgg:
            guard !v.isNull else { return }
            items.append(v)
            delimiters.append(args.count > 1 ? args[1] : .null)
            if !call.orderBy.isEmpty { sortRows.append(order) }
        case .arrayAgg, .jsonAgg, .jsonbAgg:
            items.append(v)
            if !call.orderBy.isEmpty { sortRows.append(order) }
        case .jsonObjectAgg, .jsonbObjectAgg:
            guard !v.isNull else {
                throw SQLError(SQLState("22004"), "field name must not be null")
            }
            items.append(v)
            delimiters.append(args.count > 1 ? args[1] : .null)
            if !call.orderBy.isEmpty { sortRows.append(order) }
        default:
            try addSimple(v)
        }
    }

    /// Whether the aggregate reads only its first argument (no second argument, no ORDER BY
    /// of its own): `addSimple` takes the value without an argument array.
    var isSimple: Bool {
        switch call.kind {
        case .stringAgg, .arrayAgg, .jsonAgg, .jsonbAgg, .jsonObjectAgg, .jsonbObjectAgg: return false
        default: return seen == nil
        }
    }

    /// Adds one row's value for an aggregate of one argument (see `isSimple`).
    @inline(__always)
    mutating func addSimple(_ v: Value) throws {
        switch call.kind {
        case .countStar:
            count += 1
        case .stringAgg, .arrayAgg, .jsonAgg, .jsonbAgg, .jsonObjectAgg, .jsonbObjectAgg:
            throw SQLError.bug("\(call.kind) takes its arguments as a list")
        case .count:
            if !v.isNull { count += 1 }
        case .sum, .avg:
            guard !v.isNull else { return }
            count += 1
            if case .int(let i) = v, call.argType.isInteger {
                if intOverflow {
                    numSum = numSum + Numeric(i)
                } else {
                    let (r, o) = intSum.addingReportingOverflow(i)
                    if o {
                        intOverflow = true
                        numSum = Numeric(intSum) + Numeric(i)
                    } else {
                        intSum = r
                    }
                }
            } else if case .numeric(let n) = v {
                numSum = numSum + n
            } else if case .interval(let iv) = v {
                intervalSum = try intervalSum + iv
            } else {
                // PostgreSQL adds float4 sums in float4 and fails when a sum of finite
                // values overflows (float4pl / float8pl), as it does for float8.
                let d = try v.double()
                if call.kind == .sum && call.argType == .float4 {
                    let r = Float(sum) + Float(d)
                    if r.isInfinite && Float(sum).isFinite && Float(d).isFinite {
                        throw SQLError(.numericValueOutOfRange, "value out of range: overflow")
                    }
                    sum = Double(r)
                } else {
                    let r = sum + d
                    if r.isInfinite && sum.isFinite && d.isFinite {
                        throw SQLError(.numericValueOutOfRange, "value out of range: overflow")
                    }
                    sum = r
                }
            }
        case .min, .max:
            guard !v.isNull else { return }
            // Of equal values the later one wins, as PostgreSQL's larger/smaller functions
            // answer (numeric 0.00 and 0, interval '1 day' and '24 hours' print differently).
            if value.isNull {
                value = v
            } else if let c = compareValues(v, value), call.kind == .min ? c <= 0 : c >= 0 {
                value = v
            }
        case .boolAnd, .boolOr:
            guard case .bool(let b) = v else { return }
            flag = call.kind == .boolAnd ? (flag ?? true) && b : (flag ?? false) || b
        case .stddevSamp, .stddevPop, .varSamp, .varPop:
            guard !v.isNull else { return }
            count += 1
            if call.argType.isFloat {
                let d = try v.double()
                sum += d
                sumSquares += d * d
            } else {
                let n = try v.numeric()
                numSum = numSum + n
                numSumSquares = numSumSquares + n * n
            }
        case .bitAnd, .bitOr:
            guard case .int(let i) = v else { return }
            if value.isNull { value = .int(i) } else if case .int(let cur) = value {
                value = .int(call.kind == .bitAnd ? cur & i : cur | i)
            }
        }
    }

    /// The items in the aggregate's ORDER BY order.
    func ordered(_ xs: [Value]) -> [Int] {
        guard !call.orderBy.isEmpty else { return Array(xs.indices) }
        let keys = call.orderBy
        return xs.indices.sorted { a, b in
            for (k, key) in keys.enumerated() {
                let c = compareSortValues(sortRows[a][k], sortRows[b][k], descending: key.descending, nullsFirst: key.nullsFirst)
                if c != 0 { return c < 0 }
            }
            return a < b
        }
    }

    func result() throws -> Value {
        switch call.kind {
        case .count, .countStar: return .int(count)
        case .sum:
            guard count > 0 else { return .null }
            if call.argType.isInteger {
                let exact = intOverflow ? numSum : Numeric(intSum)
                if call.type.isNumeric { return .numeric(try exact.validated()) }
                guard !intOverflow else { throw SQLError(.numericValueOutOfRange, "bigint out of range") }
                return .int(intSum)
            }
            if call.argType.isNumeric { return .numeric(try numSum.validated()) }
            if call.argType.base == .interval { return .interval(intervalSum) }
            if call.type == .float4 { return .double(Double(Float(sum))) }
            return .double(sum)
        case .avg:
            guard count > 0 else { return .null }
            if call.argType.isInteger {
                return .numeric(try Numeric.average(sum: intOverflow ? numSum : Numeric(intSum), count: count))
            }
            if call.argType.isNumeric { return .numeric(try Numeric.average(sum: numSum, count: count)) }
            if call.argType.base == .interval { return .interval(try intervalSum / Double(count)) }
            return .double(sum / Double(count))
        case .min, .max, .bitAnd, .bitOr: return value
        case .boolAnd, .boolOr: return flag.map { .bool($0) } ?? .null
        case .stringAgg:
            guard !items.isEmpty else { return .null }
            let order = ordered(items)
            if call.type == .bytea {
                var out: [UInt8] = []
                for (n, i) in order.enumerated() {
                    if n > 0, case .bytes(let d) = delimiters[i] { out += d }
                    if case .bytes(let b) = items[i] { out += b }
                }
                return .bytes(out)
            }
            var out = ""
            for (n, i) in order.enumerated() {
                if n > 0, case .text(let d) = delimiters[i] { out += d }
                if case .text(let s) = items[i] { out += s }
            }
            return .text(out)
        case .arrayAgg:
            guard !items.isEmpty else { return .null }
            return .array(ordered(items).map { items[$0] })
        case .jsonAgg, .jsonbAgg:
            guard !items.isEmpty else { return .null }
            let elementType: SQLType
            if case .array = call.type { elementType = .text } else { elementType = call.argType }
            var out = "["
            for (n, i) in ordered(items).enumerated() {
                if n > 0 { out += call.kind == .jsonAgg ? ", " : ", " }
                out += JSONText.encode(items[i], type: elementType, jsonb: call.kind == .jsonbAgg)
            }
            return .json(out + "]")
        case .jsonObjectAgg, .jsonbObjectAgg:
            guard !items.isEmpty else { return .null }
            var pairs: [(String, String)] = []
            for i in ordered(items) {
                let k = items[i].pgText ?? ""
                pairs.append((k, JSONText.encode(delimiters[i], type: call.args.count > 1 ? call.args[1].type : .text,
                                                 jsonb: call.kind == .jsonbObjectAgg)))
            }
            if call.kind == .jsonbObjectAgg {
                // jsonb keeps the last value of a key, keys sorted by length then bytes.
                var last: [String: String] = [:]
                for (k, v) in pairs { last[k] = v }
                let keys = last.keys.sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count < $1.utf8.count : compareStrings($0, $1) < 0 }
                return .json("{" + keys.map { JSONText.quote($0) + ": " + (last[$0] ?? "null") }.joined(separator: ", ") + "}")
            }
            return .json("{ " + pairs.map { JSONText.quote($0.0) + " : " + $0.1 }.joined(separator: ", ") + " }")
        case .stddevSamp, .stddevPop, .varSamp, .varPop:
            let sample = call.kind == .stddevSamp || call.kind == .varSamp
            guard count > (sample ? 1 : 0) else { return .null }
            if !call.argType.isFloat {
                // PostgreSQL's numeric_stddev_internal: (N·Σx² − (Σx)²) / (N·(N−1)) or / N².
                let n = Numeric(count)
                let numerator = n * numSumSquares - numSum * numSum
                if numerator.sign <= 0 { return .numeric(Numeric.zero.rounded(scale: max(numSum.scale * 2, numSumSquares.scale))) }
                let denominator = sample ? n * Numeric(count - 1) : n * n
                let variance = try numerator.divided(by: denominator)
                let stddev = call.kind == .stddevSamp || call.kind == .stddevPop
                return .numeric(stddev ? try variance.squareRoot() : variance)
            }
            let n = Double(count)
            var variance = (sumSquares - sum * sum / n) / (sample ? n - 1 : n)
            if variance < 0 { variance = 0 }
            let r = call.kind == .stddevSamp || call.kind == .stddevPop ? variance.squareRoot() : variance
            return .double(r)
        }
    }
}

/// Hash aggregation (and plain aggregation without GROUP BY: one group, even over no rows).
final class AggregateNode: PlanNode {
    let spec: AggregateSpec
    let input: any PlanNode
    let keys: [Eval]
    let args: [[Eval]]
    let filters: [Eval?]
    let orders: [[Eval]]
    let ctx: ExecContext
    let width: Int
    var output: StoredRowsNode?

    init(_ spec: AggregateSpec, width: Int, _ ctx: ExecContext) throws {
        self.spec = spec
        self.ctx = ctx
        self.width = width
        input = try Executor.instantiate(spec.input, ctx)
        keys = try spec.keys.map { try ExprCompiler.compile($0, ctx) }
        args = try spec.aggregates.map { a in try a.args.map { try ExprCompiler.compile($0, ctx) } }
        filters = try spec.aggregates.map { a in try a.filter.map { try ExprCompiler.compile($0, ctx) } }
        orders = try spec.aggregates.map { a in try a.orderBy.map { try ExprCompiler.compile($0.expr, ctx) } }
    }

    func next() throws -> RowBatch? {
        if output == nil { output = StoredRowsNode(try aggregate()) }
        return try output?.next()
    }

    func aggregate() throws -> RowStore {
        guard let sets = spec.groupingSets else { return try aggregateGroups() }
        var index: [RowKey: Int] = [:]
        var groupKeys: [[Value]] = []
        var groupSet: [Int] = []
        var states: [[Accumulator]] = []
        let fresh = spec.aggregates.map { Accumulator($0) }
        try forEachInputRow { row in
            let keyValues = try keys.map { try $0(row) }
            for (si, set) in sets.enumerated() {
                // The set's own columns, the others NULL, then which set (so equal keys of
                // different sets stay apart).
                var k = keyValues
                for j in k.indices where !set.contains(j) { k[j] = .null }
                k.append(.int(Int64(si)))
                let rk = RowKey(k)
                let g: Int
                if let existing = index[rk] {
                    g = existing
                } else {
                    g = states.count
                    index[rk] = g
                    groupKeys.append(Array(k.dropLast()))
                    groupSet.append(si)
                    states.append(fresh)
                    if g % 1024 == 1023 {
                        try ctx.reserve(1024 * (k.count + fresh.count * 4) * MemoryLayout<Value>.stride, for: "aggregate")
                    }
                }
                for a in states[g].indices {
                    if let f = filters[a] {
                        guard case .bool(true) = try f(row) else { continue }
                    }
                    let vs = try args[a].map { try $0(row) }
                    let os = try orders[a].map { try $0(row) }
                    try states[g][a].add(vs, order: os)
                }
            }
        }
        // Grouping sets with no rows still give the empty set's row (grand total).
        if states.isEmpty {
            for (si, set) in sets.enumerated() where set.isEmpty {
                groupKeys.append([Value](repeating: .null, count: keys.count))
                groupSet.append(si)
                states.append(fresh)
            }
        }
        var out = RowStore(width: width)
        for g in states.indices {
            var row = groupKeys[g]
            for a in states[g] { row.append(try a.result()) }
            // GROUPING() bits: 1 for each key the set does not group by.
            let set = sets[groupSet[g]]
            var bits: Int64 = 0
            for j in 0..<keys.count { bits = bits << 1 | (set.contains(j) ? 0 : 1) }
            row.append(.int(bits))
            out.append(row)
        }
        return out
    }

    /// Calls `body` with every input row, checking for cancellation every 8,192 rows.
    @inline(__always)
    func forEachInputRow(_ body: (UnsafeBufferPointer<Value>) throws -> Void) throws {
        var rowsSeen = 0
        while let b = try input.next() {
            rowsSeen += b.count
            if rowsSeen % 8192 < b.count { try ctx.interrupt?.check() }
            for i in 0..<b.count { try b.withRow(i, body) }
        }
    }

    /// Plain GROUP BY (or none): one flat array of accumulators, `aggregates` per group; no
    /// hashing without keys, and no argument array for one-argument aggregates.
    func aggregateGroups() throws -> RowStore {
        let fresh = spec.aggregates.map { Accumulator($0) }
        let n = fresh.count
        let simple = fresh.indices.map { a in fresh[a].isSimple && filters[a] == nil && orders[a].isEmpty && args[a].count <= 1 }
        // The commonest aggregates, decided once: count(*), and an argument that is a plain
        // column read from the row without calling its expression; integer sums add in place.
        enum Step { case countStar, sumInt, simple, general }
        let steps: [Step] = spec.aggregates.indices.map { a in
            guard simple[a] else { return .general }
            let call = spec.aggregates[a]
            if call.kind == .countStar { return .countStar }
            if (call.kind == .sum || call.kind == .avg) && call.argType.isInteger { return .sumInt }
            return .simple
        }
        let argSlots: [Int] = spec.aggregates.map { call in
            if call.args.count == 1, case .slot(let i, _) = call.args[0] { return i }
            return -1
        }
        var index: [RowKey: Int] = [:]
        let intKey = spec.keys.count == 1 && spec.keys[0].type.isInteger
        var intIndex: [Int64: Int] = [:]
        var nullGroup: Int?
        var groupKeys: [[Value]] = []
        var acc: [Accumulator] = []
        if keys.isEmpty {
            groupKeys.append([])
            acc += fresh
        }
        try forEachInputRow { row in
            var g = 0
            if intKey {
                // One integer key: its groups by the value itself, no key array per row.
                let v = try keys[0](row)
                let found: Int?
                switch v {
                case .int(let x): found = intIndex[x]
                default: found = v.isNull ? nullGroup : nil
                }
                if let found {
                    g = found
                } else {
                    g = groupKeys.count
                    if case .int(let x) = v { intIndex[x] = g } else if v.isNull { nullGroup = g } else {
                        throw SQLError.bug("integer group key holds \(v)")
                    }
                    groupKeys.append([v])
                    acc += fresh
                    if g % 1024 == 1023 {
                        try ctx.reserve(1024 * (1 + n * 4) * MemoryLayout<Value>.stride, for: "aggregate")
                    }
                }
            } else if !keys.isEmpty {
                let k = try keys.map { try $0(row) }
                let rk = RowKey(k)
                if let existing = index[rk] {
                    g = existing
                } else {
                    g = groupKeys.count
                    index[rk] = g
                    groupKeys.append(k)
                    acc += fresh
                    if g % 1024 == 1023 {
                        try ctx.reserve(1024 * (k.count + n * 4) * MemoryLayout<Value>.stride, for: "aggregate")
                    }
                }
            }
            let base = g * n
            try acc.withUnsafeMutableBufferPointer { p in
                for a in 0..<n {
                    switch steps[a] {
                    case .countStar:
                        p[base + a].count += 1
                    case .sumInt, .simple:
                        let v = argSlots[a] >= 0 ? row[argSlots[a]] : (args[a].isEmpty ? .null : try args[a][0](row))
                        if steps[a] == .sumInt, case .int(let x) = v, !p[base + a].intOverflow {
                            let (r, o) = p[base + a].intSum.addingReportingOverflow(x)
                            if !o {
                                p[base + a].intSum = r
                                p[base + a].count += 1
                                continue
                            }
                        }
                        try p[base + a].addSimple(v)
                    case .general:
                        if let f = filters[a] {
                            guard case .bool(true) = try f(row) else { continue }
                        }
                        let vs = try args[a].map { try $0(row) }
                        let os = try orders[a].map { try $0(row) }
                        try p[base + a].add(vs, order: os)
                    }
                }
            }
        }
        var out = RowStore(width: width)
        for g in groupKeys.indices {
            var row = groupKeys[g]
            for a in 0..<n { row.append(try acc[g * n + a].result()) }
            out.append(row)
        }
        return out
    }

    func rewind() throws {
        output = nil
        try input.rewind()
    }
}

/// JSON text of SQL values (to_json, json_agg): numbers and booleans bare, text quoted,
/// json as it is, arrays as JSON arrays.
enum JSONText {
    static func quote(_ s: String) -> String {
        var out = ""
        writeJSONString(s, into: &out)
        return out
    }

    /// `jsonb` holds numbers as numeric (`1e-05` becomes `0.00001`); json keeps float text.
    static func encode(_ v: Value, type: SQLType, jsonb: Bool = false) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .numeric(let n):
            return n.isFinite ? n.description : quote(n.description)
        case .double(let d):
            if d.isNaN || d.isInfinite { return quote(formatFloat8(d)) }
            let text = type == .float4 ? formatFloat4(d) : formatFloat8(d)
            return jsonb ? JSONValue.canonicalNumber(text) : text
        case .json(let s): return s
        case .text(let s): return quote(s)
        case .array(let xs):
            var element = SQLType.text
            if case .array(let e) = type { element = e }
            return "[" + xs.map { encode($0, type: element, jsonb: jsonb) }.joined(separator: jsonb ? ", " : ",") + "]"
        case .timestamp(let us): return quote(PGTime.formatTimestamp(us, withZone: false).replacingFirst(" ", with: "T"))
        case .timestamptz(let us): return quote(PGTime.formatTimestamp(us, withZone: true).replacingFirst(" ", with: "T"))
        default: return quote(v.pgText ?? "")
        }
    }
}

extension String {
    func replacingFirst(_ a: Character, with b: String) -> String {
        guard let i = firstIndex(of: a) else { return self }
        return String(self[..<i]) + b + String(self[index(after: i)...])
    }
}

/// float4 output: the shortest digits that round-trip through a 32-bit float.
func formatFloat4(_ d: Double) -> String {
    let f = Float(d)
    if f.isNaN { return "NaN" }
    if f.isInfinite { return f < 0 ? "-Infinity" : "Infinity" }
    // The float's own shortest digits, laid out as PostgreSQL's float4out does. A shortest
    // decimal lying exactly halfway to the next float (6e10 for 60000002048) is one PostgreSQL
    // never prints: it takes more digits until the decimal is strictly the float's own.
    var shortest = Double("\(f)") ?? d
    if isFloat4Tie(shortest, f) {
        let digits = "\(f)".filter { $0.isNumber }.count
        for p in max(2, digits + 1)...9 {
            if let c = Double(significantDigits(Double(f), p)), Float(c) == f, !isFloat4Tie(c, f) {
                shortest = c
                break
            }
        }
    }
    return formatFloat8(shortest, exponentLimit: 6)
}

/// Whether decimal `c` sits exactly halfway between float `f` and its neighbour.
func isFloat4Tie(_ c: Double, _ f: Float) -> Bool {
    let x = Double(f)
    if c == x { return false }
    let other = c > x ? Double(f.nextUp) : Double(f.nextDown)
    return c == (x + other) / 2
}

/// `x` with `p` significant digits, in exponent form (C's `%.*e`).
func significantDigits(_ x: Double, _ p: Int) -> String {
    var buf = [CChar](repeating: 0, count: 64)
    _ = withVaList([x]) { vsnprintf(&buf, 64, "%.\(p - 1)e", $0) }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
