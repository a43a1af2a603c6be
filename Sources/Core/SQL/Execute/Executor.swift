import DriftCore
import DriftStorage

/// Turns a plan into operator instances for one execution.
enum Executor {
    static func instantiate(_ plan: Plan, _ ctx: ExecContext) throws -> any PlanNode {
        instrumented(try make(plan, ctx), plan, ctx)
    }

    /// EXPLAIN ANALYZE: every node counted and timed, under the plan node it runs.
    static func instrumented(_ node: any PlanNode, _ plan: Plan, _ ctx: ExecContext) -> any PlanNode {
        guard ctx.instrumentation != nil else { return node }
        let counted = CountingNode(node)
        ctx.instrumentation?[ObjectIdentifier(plan), default: []].append(counted)
        return counted
    }

    static func make(_ plan: Plan, _ ctx: ExecContext) throws -> any PlanNode {
        switch plan.op {
        case .table(let access):
            return try TableScanNode(access, ctx, expectedRows: plan.rows)
        case .values(let rows):
            return try ValuesNode(rows, width: plan.width, ctx)
        case .oneRow:
            return OneRowNode()
        case .empty:
            return EmptyNode(width: plan.width)
        case .setFunction(let call):
            return try SetFunctionNode(call, width: plan.width, ctx)
        case .cteScan(let binding):
            return CTEScanNode(binding, ctx)
        case .workTable(let binding):
            return WorkTableNode(binding, ctx)
        case let .recursiveUnion(binding, base, step, all):
            return try RecursiveUnionNode(binding, base: base, step: step, all: all, ctx)
        case let .place(input, offset):
            if case .table(let access) = input.op {
                // The scan fills its slots of the wide row itself.
                return instrumented(try TableScanNode(access, ctx, offset: offset, width: plan.width, expectedRows: input.rows), input, ctx)
            }
            return PlaceNode(try instantiate(input, ctx), offset: offset, width: plan.width)
        case let .filter(input, predicate):
            return FilterNode(try instantiate(input, ctx), try ExprCompiler.compile(predicate, ctx))
        case let .project(input, exprs):
            var slots: [Int]? = []
            for e in exprs {
                guard case .slot(let i, _) = e else { slots = nil; break }
                slots?.append(i)
            }
            let compiled = try exprs.map { try ExprCompiler.compile($0, ctx) }
            // Every column of one table in order (SELECT *): the scan's rows hold just the
            // columns, without the pseudo-column and row-key slots nothing here reads, so its
            // batches pass through the projection instead of being copied row by row.
            if let s = slots, case .table(let access) = input.op, access.pseudo.isEmpty, !access.needsKey,
               s.count == access.table.columns.count, s.elementsEqual(0..<s.count) {
                let scan = try TableScanNode(access, ctx, width: s.count, expectedRows: input.rows)
                return ProjectNode(instrumented(scan, input, ctx), compiled, slots: s)
            }
            return ProjectNode(try instantiate(input, ctx), compiled, slots: slots)
        case .join(let spec):
            return try JoinNodes.make(spec, width: plan.width, ctx)
        case .aggregate(let spec):
            return try AggregateNode(spec, width: plan.width, ctx)
        case let .window(input, calls):
            return try WindowNode(try instantiate(input, ctx), calls, ctx)
        case let .distinct(input, columns):
            return DistinctNode(try instantiate(input, ctx), columns: columns, ctx)
        case let .distinctOn(input, keys):
            return DistinctOnNode(try instantiate(input, ctx), keys: keys)
        case let .sort(input, keys, _):
            return try SortNode(try instantiate(input, ctx), keys, ctx)
        case let .limit(input, limit, offset):
            let limitEval = try limit.map { try ExprCompiler.compile($0, ctx) }
            let offsetEval = try offset.map { try ExprCompiler.compile($0, ctx) }
            // ORDER BY ... LIMIT n: a top-n sort keeps n + offset rows, never the whole input.
            if case let .sort(sortInput, keys, _) = input.op, let limitEval,
               let n = SortNode.constantCount(limitEval), let skip = offsetEval.map(SortNode.constantCount) ?? 0,
               n + skip <= 100_000 {
                let sort = try SortNode(try instantiate(sortInput, ctx), keys, ctx)
                sort.topN = n + skip
                var node: any PlanNode = sort
                if ctx.instrumentation != nil {
                    let counted = CountingNode(sort)
                    ctx.instrumentation?[ObjectIdentifier(input), default: []].append(counted)
                    node = counted
                }
                return LimitNode(node, limit: limitEval, offset: offsetEval)
            }
            return LimitNode(try instantiate(input, ctx), limit: limitEval, offset: offsetEval)
        case let .setOp(kind, all, l, r):
            return SetOpNode(kind, all: all, try instantiate(l, ctx), try instantiate(r, ctx), ctx)
        case let .lockRows(input, specs):
            return try LockRowsNode(try instantiate(input, ctx), specs, ctx)
        }
    }

    /// Runs a plan to the end, collecting its first `columns` columns.
    static func collect(_ plan: Plan, columns: Int, _ ctx: ExecContext) throws -> [[Value]] {
        let node = try instantiate(plan, ctx)
        var rows: [[Value]] = []
        while let b = try node.next() {
            for i in 0..<b.count {
                rows.append(b.withRow(i) { r in Array(r[0..<columns]) })
            }
        }
        return rows
    }
}

/// Runs a subtree to exhaustion into memory, accounting for its size.
func materialize(_ node: any PlanNode, _ ctx: ExecContext, what: String) throws -> RowStore {
    var store = RowStore(width: node.width)
    var accounted = 0
    while let b = try node.next() {
        for i in 0..<b.count { b.withRow(i) { store.append($0) } }
        let bytes = store.bytes
        if bytes - accounted > 1 << 20 {
            try ctx.reserve(bytes - accounted, for: what)
            accounted = bytes
        }
    }
    try ctx.reserve(store.bytes - accounted, for: what)
    return store
}

// MARK: Leaves

final class OneRowNode: PlanNode {
    var done = false
    let batch = RowBatch(width: 0)
    var width: Int { 0 }

    func next() throws -> RowBatch? {
        guard !done else { return nil }
        done = true
        batch.reset()
        batch.appendRow { _ in }
        return batch
    }

    func rewind() throws { done = false }
}

final class EmptyNode: PlanNode {
    let width: Int
    init(width: Int) { self.width = width }
    func next() throws -> RowBatch? { nil }
    func rewind() throws {}
}

final class ValuesNode: PlanNode {
    let rows: [[Eval]]
    let width: Int
    let batch: RowBatch
    var position = 0

    init(_ rows: [[BoundExpr]], width: Int, _ ctx: ExecContext) throws {
        self.rows = try rows.map { try $0.map { try ExprCompiler.compile($0, ctx) } }
        self.width = width
        batch = RowBatch(width: width)
    }

    func next() throws -> RowBatch? {
        guard position < rows.count else { return nil }
        batch.reset()
        let empty = UnsafeBufferPointer<Value>(start: nil, count: 0)
        while position < rows.count && !batch.isFull {
            let r = rows[position]
            try batch.appendRow { out in for (k, e) in r.enumerated() { out[k] = try e(empty) } }
            position += 1
        }
        return batch
    }

    func rewind() throws { position = 0 }
}

/// Rows held in memory, emitted in batches.
final class StoredRowsNode: PlanNode {
    var rows: RowStore
    var position = 0
    let batch: RowBatch
    var width: Int { rows.width }

    init(_ rows: RowStore) {
        self.rows = rows
        batch = RowBatch(width: rows.width)
    }

    func next() throws -> RowBatch? {
        guard position < rows.count else { return nil }
        batch.reset()
        while position < rows.count && !batch.isFull {
            rows.withRow(position) { batch.append($0) }
            position += 1
        }
        return batch
    }

    func rewind() throws { position = 0 }
}

// MARK: Row-at-a-time operators

/// A narrow row placed at `offset` of the block's wide row (other slots NULL).
final class PlaceNode: PlanNode {
    let input: any PlanNode
    let offset: Int
    let width: Int
    let batch: RowBatch

    init(_ input: any PlanNode, offset: Int, width: Int) {
        self.input = input
        self.offset = offset
        self.width = width
        batch = RowBatch(width: width)
    }

    func next() throws -> RowBatch? {
        guard let b = try input.next() else { return nil }
        batch.reset()
        let w = b.width, o = offset
        for i in 0..<b.count {
            b.withRow(i) { r in
                batch.appendNulls { out in for k in 0..<w { out[o + k] = r[k] } }
            }
        }
        return batch
    }

    func rewind() throws { try input.rewind() }
}

final class FilterNode: PlanNode {
    let input: any PlanNode
    let predicate: Eval
    let batch: RowBatch

    init(_ input: any PlanNode, _ predicate: @escaping Eval) {
        self.input = input
        self.predicate = predicate
        batch = RowBatch(width: input.width)
    }

    var width: Int { input.width }

    func next() throws -> RowBatch? {
        while let b = try input.next() {
            batch.reset()
            for i in 0..<b.count {
                try b.withRow(i) { row in
                    if case .bool(true) = try predicate(row) { batch.append(row) }
                }
            }
            if batch.count > 0 { return batch }
        }
        return nil
    }

    func rewind() throws { try input.rewind() }
}

final class ProjectNode: PlanNode {
    let input: any PlanNode
    let exprs: [Eval]
    let batch: RowBatch
    /// When every expression reads a slot: those slots (copied without calling an expression).
    let slots: [Int]?
    /// The slots are the input row itself: its batches pass through.
    let identity: Bool
    /// The slots are distinct and the input is a table scan, which refills every slot it
    /// owns for each batch: values are moved out of its batch (no copy to retain and release).
    let movesSlots: Bool

    init(_ input: any PlanNode, _ exprs: [Eval], slots: [Int]? = nil) {
        self.input = input
        self.exprs = exprs
        self.slots = slots
        identity = slots.map { $0 == Array(0..<input.width) } ?? false
        let scan = input is TableScanNode || (input as? CountingNode)?.input is TableScanNode
        movesSlots = scan && slots.map { Set($0).count == $0.count } ?? false
        // Sized to the input's first batch (`next`).
        batch = RowBatch(width: exprs.count, rows: 0)
    }

    var width: Int { exprs.count }

    func next() throws -> RowBatch? {
        guard let b = try input.next() else { return nil }
        if identity { return b }
        batch.reset()
        batch.reserve(rows: b.count)
        if let slots, movesSlots {
            for i in 0..<b.count {
                batch.appendRow { out in b.swapValues(row: i, slots: slots, with: out) }
            }
            return batch
        }
        if let slots {
            for i in 0..<b.count {
                b.withRow(i) { row in
                    batch.appendRow { out in
                        for k in 0..<slots.count { out[k] = row[slots[k]] }
                    }
                }
            }
            return batch
        }
        let exprs = self.exprs
        for i in 0..<b.count {
            try b.withRow(i) { row in
                try batch.appendRow { out in
                    for k in 0..<exprs.count { out[k] = try exprs[k](row) }
                }
            }
        }
        return batch
    }

    func rewind() throws { try input.rewind() }
}

final class LimitNode: PlanNode {
    let input: any PlanNode
    let limitEval: Eval?
    let offsetEval: Eval?
    var remaining: Int64 = 0
    var skip: Int64 = 0
    var started = false
    let batch: RowBatch

    init(_ input: any PlanNode, limit: Eval?, offset: Eval?) {
        self.input = input
        limitEval = limit
        offsetEval = offset
        batch = RowBatch(width: input.width)
    }

    var width: Int { input.width }

    func start() throws {
        let empty = UnsafeBufferPointer<Value>(start: nil, count: 0)
        remaining = Int64.max
        skip = 0
        if let l = limitEval {
            switch try l(empty) {
            case .int(let n):
                guard n >= 0 else { throw SQLError(SQLState("2201W"), "LIMIT must not be negative") }
                remaining = n
            default: break
            }
        }
        if let o = offsetEval {
            switch try o(empty) {
            case .int(let n):
                guard n >= 0 else { throw SQLError(SQLState("2201X"), "OFFSET must not be negative") }
                skip = n
            default: break
            }
        }
        started = true
    }

    func next() throws -> RowBatch? {
        if !started { try start() }
        while remaining > 0, let b = try input.next() {
            batch.reset()
            for i in 0..<b.count where remaining > 0 {
                if skip > 0 {
                    skip -= 1
                    continue
                }
                b.withRow(i) { batch.append($0) }
                remaining -= 1
            }
            if batch.count > 0 { return batch }
        }
        return nil
    }

    func rewind() throws {
        started = false
        try input.rewind()
    }
}

// MARK: Sorting and distinct

/// PostgreSQL's ordering of one key: NULLs last ascending and first descending by default.
@inline(__always)
func compareSortValues(_ x: Value, _ y: Value, descending: Bool, nullsFirst: Bool) -> Int {
    if x.isNull || y.isNull {
        if x.isNull && y.isNull { return 0 }
        return x.isNull == nullsFirst ? -1 : 1
    }
    let c = compareValues(x, y) ?? 0
    return descending ? -c : c
}

/// Lets a scan under ORDER BY ... LIMIT pass over rows that cannot enter the top-n heap,
/// judged on the first sort key read in place from the stored row: no value is built for a
/// row the heap would reject, which after the first few thousand rows is nearly every row.
/// `bound` is the first key of the heap's worst row once the heap is full.
final class TopNGate {
    enum Bound {
        case int(Int64)
        case text([UInt8])
    }

    let column: Int
    let descending: Bool
    let nullsFirst: Bool
    /// Only one sort key: a row equal to the bound cannot enter (it comes later in input
    /// order, and ties keep input order).
    let single: Bool
    private(set) var bound: Bound?

    init(column: Int, descending: Bool, nullsFirst: Bool, single: Bool) {
        self.column = column
        self.descending = descending
        self.nullsFirst = nullsFirst
        self.single = single
    }

    /// The heap's worst first key changed.
    func tighten(_ key: Value) {
        switch key {
        case .int(let x): bound = .int(x)
        case .text(let s): bound = .text(Array(s.utf8))
        default: bound = nil
        }
    }

    /// Whether a stored row may enter the heap (true whenever it cannot tell).
    @inline(__always)
    func admits(_ image: UnsafeRawBufferPointer) -> Bool {
        guard let bound, let raw = RowCodec.rawColumn(image, column) else { return true }
        let c: Int
        switch (raw, bound) {
        case (.int(let x), .int(let b)):
            c = x < b ? -1 : (x > b ? 1 : 0)
        case (.text(let x), .text(let b)):
            // Text orders by its bytes (the C collation).
            c = b.withUnsafeBytes { compareBytes(x, $0) }
        case (.null, _):
            // The bound is never NULL: a NULL comes before it exactly when NULLs sort first.
            return nullsFirst
        default:
            return true
        }
        let before = descending ? c > 0 : c < 0
        return before || (c == 0 && !single)
    }
}

final class SortNode: PlanNode {
    let input: any PlanNode
    let keys: [SortKey]
    let evals: [Eval]
    let ctx: ExecContext
    var output: StoredRowsNode?

    init(_ input: any PlanNode, _ keys: [SortKey], _ ctx: ExecContext) throws {
        self.input = input
        self.keys = keys
        self.ctx = ctx
        // Enums sort by their labels' positions.
        evals = try keys.map { k in
            if case .enumeration(let e) = k.expr.type { return try ExprCompiler.compile(.function(Binder.enumOrdinal(e), [k.expr], .int4), ctx) }
            return try ExprCompiler.compile(k.expr, ctx)
        }
    }

    var width: Int { input.width }

    /// Set under a constant LIMIT (plus OFFSET): only that many first rows are kept.
    var topN: Int?

    func next() throws -> RowBatch? {
        if output == nil { output = StoredRowsNode(try topN.map { try sortTop($0) } ?? sortAll()) }
        return try output?.next()
    }

    /// A constant LIMIT / OFFSET count (nil when not a non-negative integer constant).
    static func constantCount(_ e: Eval) -> Int? {
        guard case .int(let n)? = try? e(UnsafeBufferPointer(start: nil, count: 0)), n >= 0, n <= Int64(Int32.max) else { return nil }
        return Int(n)
    }

    /// The first `n` rows in order, streaming the input through a bounded max-heap (ties keep
    /// input order, as the full sort does): memory for n rows, time n log n per input row at
    /// worst, and only rows that enter the heap are copied.
    func sortTop(_ n: Int) throws -> RowStore {
        let k = keys.count
        var out = RowStore(width: input.width)
        guard n > 0 else {
            while try input.next() != nil {}
            return out
        }
        struct Entry {
            var keys: [Value]
            var row: [Value]
            var seq: Int
        }
        let keys = self.keys
        func less(_ a: [Value], _ aSeq: Int, _ b: [Value], _ bSeq: Int) -> Bool {
            for j in 0..<k {
                let c = compareSortValues(a[j], b[j], descending: keys[j].descending, nullsFirst: keys[j].nullsFirst)
                if c != 0 { return c < 0 }
            }
            return aSeq < bSeq
        }
        var heap: [Entry] = []
        heap.reserveCapacity(n)
        func siftUp(_ i0: Int) {
            var i = i0
            while i > 0 {
                let p = (i - 1) / 2
                guard less(heap[p].keys, heap[p].seq, heap[i].keys, heap[i].seq) else { return }
                heap.swapAt(p, i)
                i = p
            }
        }
        func siftDown(_ i0: Int) {
            var i = i0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && less(heap[m].keys, heap[m].seq, heap[l].keys, heap[l].seq) { m = l }
                if r < heap.count && less(heap[m].keys, heap[m].seq, heap[r].keys, heap[r].seq) { m = r }
                if m == i { return }
                heap.swapAt(m, i)
                i = m
            }
        }
        var scratch = [Value](repeating: .null, count: k)
        var seq = 0
        let gate = makeGate()
        while let b = try input.next() {
            for i in 0..<b.count {
                try b.withRow(i) { r in
                    for j in 0..<k { scratch[j] = try evals[j](r) }
                    if heap.count < n {
                        heap.append(Entry(keys: scratch, row: Array(r), seq: seq))
                        siftUp(heap.count - 1)
                        if heap.count == n { gate?.tighten(heap[0].keys[0]) }
                    } else if less(scratch, seq, heap[0].keys, heap[0].seq) {
                        heap[0] = Entry(keys: scratch, row: Array(r), seq: seq)
                        siftDown(0)
                        gate?.tighten(heap[0].keys[0])
                    }
                }
                seq += 1
            }
            try ctx.interrupt?.check()
        }
        heap.sort { less($0.keys, $0.seq, $1.keys, $1.seq) }
        for e in heap { e.row.withUnsafeBufferPointer { out.append($0) } }
        return out
    }

    /// A gate for the scan below, when it reads a base table with no conditions and the first
    /// sort key is one of its integer or text columns (else nil).
    func makeGate() -> TopNGate? {
        guard let first = keys.first, case .slot(let c, _) = first.expr else { return nil }
        var node: any PlanNode = input
        if let counted = node as? CountingNode { node = counted.input }
        guard let scan = node as? TableScanNode, scan.acceptsGate, c < scan.access.table.columns.count else { return nil }
        switch scan.access.table.columns[c].type.base {
        case .int2, .int4, .int8, .text, .varchar: break
        default: return nil
        }
        let gate = TopNGate(column: c, descending: first.descending, nullsFirst: first.nullsFirst, single: keys.count == 1)
        scan.gate = gate
        return gate
    }

    func sortAll() throws -> RowStore {
        let rows = try materialize(input, ctx, what: "sort")
        let n = rows.count, k = keys.count
        // Sort keys are computed once per row; the permutation is sorted, then rows gathered.
        var sortValues = [Value](repeating: .null, count: n * k)
        for i in 0..<n {
            try rows.withRow(i) { r in for j in 0..<k { sortValues[i * k + j] = try evals[j](r) } }
        }
        try ctx.interrupt?.check()
        var order = Array(0..<n)
        let keys = self.keys
        sortValues.withUnsafeBufferPointer { sv in
            order.sort { a, b in
                for j in 0..<k {
                    let c = compareSortValues(sv[a * k + j], sv[b * k + j], descending: keys[j].descending, nullsFirst: keys[j].nullsFirst)
                    if c != 0 { return c < 0 }
                }
                return a < b
            }
        }
        var out = RowStore(width: rows.width)
        for i in order { rows.withRow(i) { out.append($0) } }
        return out
    }

    func rewind() throws {
        output = nil
        try input.rewind()
    }
}

/// Hashable row prefix for DISTINCT, GROUP BY and set operations: values normalized so that
/// equal values (1 and 1.0) hash alike.
struct RowKey: Hashable {
    var values: [Value]
    init(_ row: UnsafeBufferPointer<Value>, _ n: Int) {
        values = (0..<n).map { ExprCompiler.normalized(row[$0]) }
    }
    init(_ values: [Value]) { self.values = values.map(ExprCompiler.normalized) }
}

final class DistinctNode: PlanNode {
    let input: any PlanNode
    let columns: Int
    let ctx: ExecContext
    var seen = Set<RowKey>()
    let batch: RowBatch

    init(_ input: any PlanNode, columns: Int, _ ctx: ExecContext) {
        self.input = input
        self.columns = columns
        self.ctx = ctx
        batch = RowBatch(width: input.width)
    }

    var width: Int { input.width }

    func next() throws -> RowBatch? {
        while let b = try input.next() {
            batch.reset()
            for i in 0..<b.count {
                b.withRow(i) { r in
                    if seen.insert(RowKey(r, columns)).inserted { batch.append(r) }
                }
            }
            if seen.count % 4096 == 0 { try ctx.reserve(0, for: "DISTINCT") }
            if batch.count > 0 {
                try ctx.reserve(batch.count * columns * MemoryLayout<Value>.stride * 2, for: "DISTINCT")
                return batch
            }
        }
        return nil
    }

    func rewind() throws {
        seen = []
        try input.rewind()
    }
}

final class DistinctOnNode: PlanNode {
    let input: any PlanNode
    let keys: [Int]
    var last: [Value]?
    let batch: RowBatch

    init(_ input: any PlanNode, keys: [Int]) {
        self.input = input
        self.keys = keys
        batch = RowBatch(width: input.width)
    }

    var width: Int { input.width }

    func next() throws -> RowBatch? {
        while let b = try input.next() {
            batch.reset()
            for i in 0..<b.count {
                b.withRow(i) { r in
                    let k = keys.map { r[$0] }
                    if let last, zip(last, k).allSatisfy({ a, b in a.isNull && b.isNull || (!a.isNull && !b.isNull && compareValues(a, b) == 0) }) {
                        return
                    }
                    last = k
                    batch.append(r)
                }
            }
            if batch.count > 0 { return batch }
        }
        return nil
    }

    func rewind() throws {
        last = nil
        try input.rewind()
    }
}

/// UNION, INTERSECT, EXCEPT [ALL] by hashing whole rows.
final class SetOpNode: PlanNode {
    let kind: SetOpKind
    let all: Bool
    let left: any PlanNode
    let right: any PlanNode
    let ctx: ExecContext
    var output: StoredRowsNode?

    init(_ kind: SetOpKind, all: Bool, _ left: any PlanNode, _ right: any PlanNode, _ ctx: ExecContext) {
        self.kind = kind
        self.all = all
        self.left = left
        self.right = right
        self.ctx = ctx
    }

    var width: Int { left.width }

    var leftDone = false
    var seen = Set<RowKey>()
    let streamBatch = RowBatch(width: 0)
    lazy var unionBatch = RowBatch(width: left.width)

    func next() throws -> RowBatch? {
        if kind == .union { return try nextUnion() }
        if output == nil { output = StoredRowsNode(try compute()) }
        return try output?.next()
    }

    /// UNION streams: each side's rows, deduplicated unless ALL.
    func nextUnion() throws -> RowBatch? {
        while true {
            let source = leftDone ? right : left
            guard let b = try source.next() else {
                if leftDone { return nil }
                leftDone = true
                continue
            }
            if all { return b }
            unionBatch.reset()
            let w = width
            for i in 0..<b.count {
                b.withRow(i) { r in if seen.insert(RowKey(r, w)).inserted { unionBatch.append(r) } }
            }
            if unionBatch.count > 0 {
                try ctx.reserve(unionBatch.count * w * MemoryLayout<Value>.stride * 2, for: "UNION")
                return unionBatch
            }
        }
    }

    func compute() throws -> RowStore {
        let w = width
        var counts: [RowKey: Int] = [:]
        let r = try materialize(right, ctx, what: kind.rawValue)
        for i in 0..<r.count { r.withRow(i) { counts[RowKey($0, w), default: 0] += 1 } }
        var out = RowStore(width: w)
        var emitted = Set<RowKey>()
        while let b = try left.next() {
            for i in 0..<b.count {
                b.withRow(i) { row in
                    let k = RowKey(row, w)
                    let n = counts[k] ?? 0
                    switch (kind, all) {
                    case (.intersect, true):
                        if n > 0 { counts[k] = n - 1; out.append(row) }
                    case (.intersect, false):
                        if n > 0 && emitted.insert(k).inserted { out.append(row) }
                    case (.except, true):
                        if n > 0 { counts[k] = n - 1 } else { out.append(row) }
                    case (.except, false):
                        if n == 0 && emitted.insert(k).inserted { out.append(row) }
                    default: break
                    }
                }
            }
        }
        return out
    }

    func rewind() throws {
        output = nil
        leftDone = false
        seen = []
        try left.rewind()
        try right.rewind()
    }
}

// MARK: Functions and CTEs

final class SetFunctionNode: PlanNode {
    let call: SetFunctionCall
    let args: [Eval]
    let ctx: ExecContext
    let width: Int
    let batch: RowBatch
    var iterator: AnyIterator<[Value]>?
    var ordinal: Int64 = 0
    var done = false

    init(_ call: SetFunctionCall, width: Int, _ ctx: ExecContext) throws {
        self.call = call
        self.ctx = ctx
        self.width = width
        args = try call.args.map { try ExprCompiler.compile($0, ctx) }
        batch = RowBatch(width: width)
    }

    func next() throws -> RowBatch? {
        if done { return nil }
        if iterator == nil {
            let empty = UnsafeBufferPointer<Value>(start: nil, count: 0)
            let values = try args.map { try $0(empty) }
            if call.function.strict && values.contains(where: \.isNull) {
                done = true
                return nil
            }
            iterator = try call.function.rows(ctx, values)
        }
        batch.reset()
        while !batch.isFull, let row = iterator?.next() {
            ordinal += 1
            batch.appendRow { out in
                for (k, v) in row.enumerated() where k < width { out[k] = v }
                if call.withOrdinality { out[width - 1] = .int(ordinal) }
            }
            if batch.count % 64 == 0 { try ctx.interrupt?.check() }
        }
        if let e = ctx.deferredError {
            ctx.deferredError = nil
            throw e
        }
        if batch.count == 0 {
            done = true
            return nil
        }
        return batch
    }

    func rewind() throws {
        iterator = nil
        ordinal = 0
        done = false
    }
}

/// Reads a WITH query, materialized once per execution and shared by every reference.
final class CTEScanNode: PlanNode {
    let binding: CTEBinding
    let ctx: ExecContext
    var inner: StoredRowsNode?

    init(_ binding: CTEBinding, _ ctx: ExecContext) {
        self.binding = binding
        self.ctx = ctx
    }

    var width: Int { binding.columns.count }

    func next() throws -> RowBatch? {
        if inner == nil {
            let id = ObjectIdentifier(binding)
            if ctx.cteRows[id] == nil {
                guard let plan = binding.plan else { throw SQLError.bug("WITH query \(binding.name) has no plan") }
                ctx.cteRows[id] = try materialize(try Executor.instantiate(plan, ctx), ctx, what: "WITH query")
            }
            guard let rows = ctx.cteRows[id] else { return nil }
            inner = StoredRowsNode(rows)
        }
        return try inner?.next()
    }

    func rewind() throws { try inner?.rewind() }
}

/// A recursive CTE's reference to itself: the rows the previous step produced.
final class WorkTableNode: PlanNode {
    let binding: CTEBinding
    let ctx: ExecContext
    var inner: StoredRowsNode?

    init(_ binding: CTEBinding, _ ctx: ExecContext) {
        self.binding = binding
        self.ctx = ctx
    }

    var width: Int { binding.columns.count }

    func next() throws -> RowBatch? {
        if inner == nil { inner = StoredRowsNode(ctx.workTables[ObjectIdentifier(binding)] ?? RowStore(width: width)) }
        return try inner?.next()
    }

    func rewind() throws { inner = nil }
}

/// WITH RECURSIVE: the base rows, then the step over the previous step's rows until it
/// produces none (UNION drops rows seen before, which also ends cycles).
final class RecursiveUnionNode: PlanNode {
    let binding: CTEBinding
    let base: any PlanNode
    let step: any PlanNode
    let all: Bool
    let ctx: ExecContext
    var output: StoredRowsNode?

    init(_ binding: CTEBinding, base: Plan, step: Plan, all: Bool, _ ctx: ExecContext) throws {
        self.binding = binding
        self.base = try Executor.instantiate(base, ctx)
        self.step = try Executor.instantiate(step, ctx)
        self.all = all
        self.ctx = ctx
    }

    var width: Int { binding.columns.count }

    func next() throws -> RowBatch? {
        if output == nil {
            let w = width
            var result = RowStore(width: w)
            var seen = Set<RowKey>()
            func keep(_ rows: RowStore) -> RowStore {
                var fresh = RowStore(width: w)
                for i in 0..<rows.count {
                    rows.withRow(i) { r in
                        if all || seen.insert(RowKey(r, w)).inserted {
                            fresh.append(r)
                            result.append(r)
                        }
                    }
                }
                return fresh
            }
            var working = keep(try materialize(base, ctx, what: "recursive query"))
            let id = ObjectIdentifier(binding)
            while working.count > 0 {
                try ctx.interrupt?.check()
                ctx.workTables[id] = working
                try step.rewind()
                working = keep(try materialize(step, ctx, what: "recursive query"))
            }
            ctx.workTables[id] = nil
            output = StoredRowsNode(result)
        }
        return try output?.next()
    }

    func rewind() throws {
        output = nil
        try base.rewind()
    }
}
