import DriftCore
import DriftStorage

/// How a join's output row is put together from a left and a right row. A class: the
/// per-row calls must not copy the join's description.
final class JoinRowBuilder {
    let concatenated: Bool
    let rightRanges: [Range<Int>]
    let leftWidth: Int
    let rightWidth: Int
    let width: Int
    /// Scratch row the condition is evaluated on.
    let scratchRow: UnsafeMutableBufferPointer<Value>

    init(_ spec: JoinSpec, leftWidth: Int, rightWidth: Int, width: Int) {
        concatenated = spec.concatenated
        rightRanges = spec.rightRanges
        self.leftWidth = leftWidth
        self.rightWidth = rightWidth
        self.width = width
        scratchRow = .allocate(capacity: spec.concatenated ? leftWidth + rightWidth : width)
        scratchRow.initialize(repeating: .null)
    }

    deinit {
        scratchRow.baseAddress?.deinitialize(count: scratchRow.count)
        scratchRow.deallocate()
    }

    /// The scratch row (valid until the next combine).
    var scratch: UnsafeBufferPointer<Value> { UnsafeBufferPointer(scratchRow) }

    /// Builds the combined row of `l` and `r` in `scratch` and says whether it passes the join
    /// condition (every row passes when there is none).
    @inline(__always)
    func combine(_ l: UnsafeBufferPointer<Value>, _ r: UnsafeBufferPointer<Value>, passing condition: Eval?) throws -> Bool {
        combine(l, r, into: scratchRow)
        guard let condition else { return true }
        guard case .bool(true) = try condition(scratch) else { return false }
        return true
    }

    /// The wide-row slots the right side fills, in order: a compact right row holds just
    /// these values (a hash join's build side keeps no more).
    var rightSlots: [Int] { rightRanges.flatMap { Array($0) } }

    /// Builds the combined row of `l` and a compact right row `r` (its values in `slots`).
    @inline(__always)
    func combine(_ l: UnsafeBufferPointer<Value>, compact r: UnsafeBufferPointer<Value>, slots: UnsafeBufferPointer<Int>,
                 into s: UnsafeMutableBufferPointer<Value>) {
        for k in 0..<leftWidth { s[k] = l[k] }
        for j in 0..<slots.count { s[slots[j]] = r[j] }
    }

    /// `combine(_:compact:slots:into:)` in the scratch row, tested against the join condition.
    @inline(__always)
    func combine(_ l: UnsafeBufferPointer<Value>, compact r: UnsafeBufferPointer<Value>, slots: UnsafeBufferPointer<Int>,
                 passing condition: Eval?) throws -> Bool {
        combine(l, compact: r, slots: slots, into: scratchRow)
        guard let condition else { return true }
        guard case .bool(true) = try condition(scratch) else { return false }
        return true
    }

    /// Builds the combined row of `l` and `r` in `s` (a row of the joined width).
    @inline(__always)
    func combine(_ l: UnsafeBufferPointer<Value>, _ r: UnsafeBufferPointer<Value>, into s: UnsafeMutableBufferPointer<Value>) {
        let lw = leftWidth, rw = rightWidth
        if concatenated {
            for k in 0..<lw { s[k] = l[k] }
            for k in 0..<rw { s[lw + k] = r[k] }
        } else {
            for k in 0..<lw { s[k] = l[k] }
            for range in rightRanges { for k in range { s[k] = r[k] } }
        }
    }
}

/// The right rows of a hash join on one integer key: open addressing over one flat array of
/// slots (no per-key allocation), each key's rows a chain through `chain` in insertion order.
///
/// Keys are placed by their low bits first: join keys are very often dense runs (serial
/// primary keys), which then sit in consecutive slots, and a probe side that visits them in
/// order walks memory in order instead of missing the cache on every row. Keys whose low bits
/// cluster (multiples of a power of two) would make long probe runs that way, so a build
/// that sees one rebuilds the table with a multiplicative hash. A lookup probes no further
/// than the longest distance a key was placed from its home slot, so a missing key whose home
/// falls inside a long run of dense keys costs a few probes, not the run.
final class IntKeyTable {
    struct Slot {
        var key: Int64
        var first: Int32
        var last: Int32
    }

    private var slots: UnsafeMutablePointer<Slot>
    private let capacity: Int
    private let bits: UInt64
    private var scrambled = false
    private(set) var chain: [Int32]
    private(set) var keys = 0
    /// The farthest any key sits from its home slot.
    private var maxDistance = 0
    /// Longest probe run a build may make before the table switches to the scrambled hash.
    static let longestRun = 32

    init(rows: Int) {
        var c = 16
        var b: UInt64 = 4
        while c < rows * 2 {
            c *= 2
            b += 1
        }
        capacity = c
        bits = b
        slots = .allocate(capacity: c)
        slots.initialize(repeating: Slot(key: 0, first: -1, last: -1), count: c)
        chain = [Int32](repeating: -1, count: rows)
    }

    deinit { slots.deallocate() }

    var memoryBytes: Int { capacity * MemoryLayout<Slot>.stride + chain.count * 4 }

    @inline(__always)
    private func home(_ x: Int64) -> Int {
        let u = UInt64(bitPattern: x)
        if scrambled { return Int(truncatingIfNeeded: (u &* 0x9E37_79B9_7F4A_7C15) >> (64 - bits)) }
        return Int(truncatingIfNeeded: u) & (capacity - 1)
    }

    func insert(_ x: Int64, row: Int32) {
        if !place(x, row: row) {
            rehashScrambled()
            _ = place(x, row: row)
        }
    }

    /// Adds `row` under key `x`; false (adding nothing) when the probe run grew too long
    /// under the unscrambled hash.
    private func place(_ x: Int64, row: Int32) -> Bool {
        let mask = capacity - 1
        var i = home(x)
        var run = 0
        while true {
            let s = slots[i]
            if s.first < 0 {
                if !scrambled && run > Self.longestRun { return false }
                slots[i] = Slot(key: x, first: row, last: row)
                keys += 1
                maxDistance = max(maxDistance, run)
                return true
            }
            if s.key == x {
                chain[Int(s.last)] = row
                slots[i].last = row
                return true
            }
            i = (i + 1) & mask
            run += 1
        }
    }

    private func rehashScrambled() {
        let old = slots
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(key: 0, first: -1, last: -1), count: capacity)
        scrambled = true
        maxDistance = 0
        let mask = capacity - 1
        for k in 0..<capacity where old[k].first >= 0 {
            var i = home(old[k].key)
            var run = 0
            while slots[i].first >= 0 {
                i = (i + 1) & mask
                run += 1
            }
            slots[i] = old[k]
            maxDistance = max(maxDistance, run)
        }
        old.deallocate()
    }

    /// The right row after `j` with the same key, or -1.
    @inline(__always)
    func next(_ j: Int32) -> Int32 { chain[Int(j)] }

    /// The first right row with key `x`, or -1.
    @inline(__always)
    func first(_ x: Int64) -> Int32 {
        let mask = capacity - 1
        var i = home(x)
        for _ in 0...maxDistance {
            let s = slots[i]
            if s.first < 0 { return -1 }
            if s.key == x { return s.first }
            i = (i + 1) & mask
        }
        return -1
    }
}

enum JoinNodes {
    static func make(_ spec: JoinSpec, width: Int, _ ctx: ExecContext) throws -> any PlanNode {
        let left = try Executor.instantiate(spec.left, ctx)
        switch spec.method {
        case let .hash(lk, rk):
            let right = try Executor.instantiate(spec.right, ctx)
            return try HashJoinNode(spec, left: left, right: right, leftKeys: lk, rightKeys: rk, width: width, ctx)
        case .nestedLoop:
            let right = try Executor.instantiate(spec.right, ctx)
            return try NestedLoopJoinNode(spec, left: left, right: right, width: width, ctx)
        case .indexLookup(let keys):
            return try IndexLookupJoinNode(spec, left: left, keys: keys, width: width, ctx)
        }
    }
}

/// Hash join: the right side is read into a hash table on its keys, the left side probes it.
/// Handles inner, left, right, full, semi and anti joins; NULL keys never match.
final class HashJoinNode: PlanNode {
    let spec: JoinSpec
    let left: any PlanNode
    let right: any PlanNode
    let leftKeys: [Eval]
    let rightKeys: [Eval]
    let condition: Eval?
    let ctx: ExecContext
    let width: Int
    let batch: RowBatch
    let builder: JoinRowBuilder

    var built = false
    /// The build side's rows: for a wide join only the slots the right side fills
    /// (`rightSlots`), not the whole wide row, so the table stays small in the cache.
    var rightRows = RowStore(width: 0)
    let compact: Bool
    let rightSlots: UnsafeMutableBufferPointer<Int>
    var table: [RowKey: [Int32]] = [:]
    /// One integer key on both sides: the right rows by key value, as first/last row of a
    /// chain through `chain` (insertion order), without a key array per row.
    let intKey: Bool
    var intTable = IntKeyTable(rows: 0)
    var matched: [Bool] = []
    // Probe state: the left batch being probed and where in it.
    var leftBatch: RowBatch?
    var leftIndex = 0
    var leftDone = false
    var unmatchedIndex = 0

    init(_ spec: JoinSpec, left: any PlanNode, right: any PlanNode, leftKeys: [BoundExpr], rightKeys: [BoundExpr], width: Int,
         _ ctx: ExecContext) throws {
        self.spec = spec
        self.left = left
        self.right = right
        self.leftKeys = try leftKeys.map { try ExprCompiler.compile($0, ctx) }
        self.rightKeys = try rightKeys.map { try ExprCompiler.compile($0, ctx) }
        intKey = leftKeys.count == 1 && rightKeys.count == 1 && leftKeys[0].type.isInteger && rightKeys[0].type.isInteger
        condition = try spec.condition.map { try ExprCompiler.compile($0, ctx) }
        self.ctx = ctx
        self.width = spec.concatenated ? left.width : width
        batch = RowBatch(width: self.width)
        builder = JoinRowBuilder(spec, leftWidth: left.width, rightWidth: right.width, width: width)
        compact = !spec.concatenated
        let slots = compact ? builder.rightSlots : []
        rightSlots = .allocate(capacity: slots.count)
        _ = rightSlots.initialize(from: slots)
    }

    deinit { rightSlots.deallocate() }

    func build() throws {
        table = [:]
        // The right side is read once: its keys computed on the full row, the row kept compact.
        var intKeys: [Int64?] = []
        var keys: [RowKey?] = []
        func noteKey(_ r: UnsafeBufferPointer<Value>) throws {
            if intKey {
                let v = try rightKeys[0](r)
                switch v {
                case .int(let x): intKeys.append(x)
                case .null: intKeys.append(nil)
                default: throw SQLError.bug("integer join key holds \(v)")
                }
            } else {
                let vs = try rightKeys.map { try $0(r) }
                keys.append(vs.contains(where: \.isNull) ? nil : RowKey(vs))
            }
        }
        if compact {
            rightRows = RowStore(width: rightSlots.count)
            var accounted = 0
            while let b = try right.next() {
                for i in 0..<b.count {
                    try b.withRow(i) { r in
                        try noteKey(r)
                        rightRows.appendRow { out in for j in 0..<rightSlots.count { out[j] = r[rightSlots[j]] } }
                    }
                }
                let bytes = rightRows.bytes + intKeys.count * 9 + keys.count * 16
                if bytes - accounted > 1 << 20 {
                    try ctx.reserve(bytes - accounted, for: "hash join")
                    accounted = bytes
                }
            }
        } else {
            rightRows = try materialize(right, ctx, what: "hash join")
            for i in 0..<rightRows.count { try rightRows.withRow(i) { try noteKey($0) } }
        }
        if intKey {
            intTable = IntKeyTable(rows: rightRows.count)
            try ctx.reserve(intTable.memoryBytes, for: "hash join")
            for (i, x) in intKeys.enumerated() {
                if let x { intTable.insert(x, row: Int32(i)) }
            }
            matched = [Bool](repeating: false, count: spec.kind == .right || spec.kind == .full ? rightRows.count : 0)
            built = true
            return
        }
        table.reserveCapacity(rightRows.count)
        for (i, key) in keys.enumerated() {
            if let key { table[key, default: []].append(Int32(i)) }
        }
        try ctx.reserve(table.count * 64, for: "hash join")
        matched = [Bool](repeating: false, count: spec.kind == .right || spec.kind == .full ? rightRows.count : 0)
        built = true
    }

    func next() throws -> RowBatch? {
        if !built { try build() }
        batch.reset()
        while !batch.isFull {
            if leftIndex >= (leftBatch?.count ?? 0) {
                if leftDone { break }
                guard let b = try left.next() else {
                    leftDone = true
                    break
                }
                leftBatch = b
                leftIndex = 0
                continue
            }
            guard let lb = leftBatch else { break }
            let i = leftIndex
            leftIndex += 1
            try lb.withRow(i) { l in try probe(l) }
        }
        if leftDone && (spec.kind == .right || spec.kind == .full) {
            while unmatchedIndex < rightRows.count && !batch.isFull {
                let j = unmatchedIndex
                unmatchedIndex += 1
                guard !matched[j] else { continue }
                if compact {
                    let slots = rightSlots
                    rightRows.withRow(j) { r in batch.appendNulls { out in for k in 0..<slots.count { out[slots[k]] = r[k] } } }
                } else {
                    rightRows.withRow(j) { r in batch.append(r) }
                }
            }
        }
        return batch.count > 0 ? batch : nil
    }

    /// Emits the matches of one left row (may overfill nothing: one left row yields few rows
    /// in the common case; a batch that fills up is returned and probing resumes after it).
    func probe(_ l: UnsafeBufferPointer<Value>) throws {
        var any = false
        /// One right row with the same key: returns false to stop (semi and anti joins need one).
        func visit(_ j: Int32) throws -> Bool {
            if condition == nil && (spec.kind == .semi || spec.kind == .anti) {
                // A key match is the answer: no row to build.
                any = true
                return false
            }
            if condition == nil {
                // No condition: every row with the key matches; build it in the batch itself.
                any = true
                if !matched.isEmpty { matched[Int(j)] = true }
                if compact {
                    let slots = UnsafeBufferPointer(rightSlots)
                    rightRows.withRow(Int(j)) { r in batch.appendRow { out in builder.combine(l, compact: r, slots: slots, into: out) } }
                } else {
                    rightRows.withRow(Int(j)) { r in batch.appendRow { out in builder.combine(l, r, into: out) } }
                }
                return true
            }
            let ok = try rightRows.withRow(Int(j)) { r in
                compact ? try builder.combine(l, compact: r, slots: UnsafeBufferPointer(rightSlots), passing: condition)
                    : try builder.combine(l, r, passing: condition)
            }
            guard ok else { return true }
            any = true
            switch spec.kind {
            case .semi, .anti: return false
            default:
                if !matched.isEmpty { matched[Int(j)] = true }
                batch.appendGrowing(builder.scratch)
                return true
            }
        }
        if intKey {
            let v = try leftKeys[0](l)
            if case .int(let x) = v {
                var j = intTable.first(x)
                while j >= 0 {
                    guard try visit(j) else { break }
                    j = intTable.next(j)
                }
            } else if !v.isNull {
                throw SQLError.bug("integer join key holds \(v)")
            }
        } else {
            let vs = try leftKeys.map { try $0(l) }
            if !vs.contains(where: \.isNull), let hits = table[RowKey(vs)] {
                for j in hits { guard try visit(j) else { break } }
            }
        }
        switch spec.kind {
        case .semi: if any { batch.appendGrowing(l) }
        case .anti: if !any { batch.appendGrowing(l) }
        case .left, .full: if !any { batch.appendGrowing(l) }
        default: break
        }
    }

    func rewind() throws {
        built = false
        leftBatch = nil
        leftIndex = 0
        leftDone = false
        unmatchedIndex = 0
        try left.rewind()
        try right.rewind()
    }
}

/// Nested loop: each left row against every right row (read once into memory, or run again
/// for each left row when the right side is LATERAL).
final class NestedLoopJoinNode: PlanNode {
    let spec: JoinSpec
    let left: any PlanNode
    let right: any PlanNode
    let condition: Eval?
    let ctx: ExecContext
    let width: Int
    let batch: RowBatch
    let builder: JoinRowBuilder
    var rightRows: RowStore?
    var matched: [Bool] = []
    var leftBatch: RowBatch?
    var leftIndex = 0
    var leftDone = false
    var unmatchedIndex = 0

    init(_ spec: JoinSpec, left: any PlanNode, right: any PlanNode, width: Int, _ ctx: ExecContext) throws {
        self.spec = spec
        self.left = left
        self.right = right
        condition = try spec.condition.map { try ExprCompiler.compile($0, ctx) }
        self.ctx = ctx
        self.width = spec.concatenated ? left.width : width
        batch = RowBatch(width: self.width)
        builder = JoinRowBuilder(spec, leftWidth: left.width, rightWidth: right.width, width: width)
    }

    func next() throws -> RowBatch? {
        if rightRows == nil && spec.lateral == nil {
            let rows = try materialize(right, ctx, what: "nested loop join")
            rightRows = rows
            matched = [Bool](repeating: false, count: spec.kind == .right || spec.kind == .full ? rows.count : 0)
        }
        batch.reset()
        while !batch.isFull {
            if leftIndex >= (leftBatch?.count ?? 0) {
                if leftDone { break }
                guard let b = try left.next() else {
                    leftDone = true
                    break
                }
                leftBatch = b
                leftIndex = 0
                try ctx.interrupt?.check()
                continue
            }
            guard let lb = leftBatch else { break }
            let i = leftIndex
            leftIndex += 1
            try lb.withRow(i) { l in try joinRow(l) }
        }
        if leftDone, let rows = rightRows, spec.kind == .right || spec.kind == .full {
            while unmatchedIndex < rows.count && !batch.isFull {
                let j = unmatchedIndex
                unmatchedIndex += 1
                if !matched[j] { rows.withRow(j) { batch.append($0) } }
            }
        }
        return batch.count > 0 ? batch : nil
    }

    func joinRow(_ l: UnsafeBufferPointer<Value>) throws {
        let rows: RowStore
        if let outer = spec.lateral {
            outer.current = Array(l)
            try right.rewind()
            rows = try materialize(right, ctx, what: "lateral join")
        } else {
            guard let r = rightRows else { return }
            rows = r
        }
        var any = false
        for j in 0..<rows.count {
            let ok = try rows.withRow(j) { r in try builder.combine(l, r, passing: condition) }
            guard ok else { continue }
            any = true
            if spec.kind == .semi || spec.kind == .anti { break }
            if !matched.isEmpty { matched[j] = true }
            batch.appendGrowing(builder.scratch)
        }
        switch spec.kind {
        case .semi: if any { batch.appendGrowing(l) }
        case .anti: if !any { batch.appendGrowing(l) }
        case .left, .full: if !any { batch.appendGrowing(l) }
        default: break
        }
        if spec.lateral != nil { ctx.release(rows.bytes) }
    }

    func rewind() throws {
        if spec.lateral == nil { rightRows = nil }
        leftBatch = nil
        leftIndex = 0
        leftDone = false
        unmatchedIndex = 0
        try left.rewind()
        if spec.lateral == nil { try right.rewind() }
    }
}

/// For each left row, the right table's rows found through its primary key or an index on
/// the join key (inner and left joins).
final class IndexLookupJoinNode: PlanNode {
    let spec: JoinSpec
    let left: any PlanNode
    let keys: [Eval]
    let access: TableAccess
    let offset: Int
    let condition: Eval?
    let filters: [Eval]
    let filler: RowFiller
    let ctx: ExecContext
    let width: Int
    let batch: RowBatch
    let builder: JoinRowBuilder
    var local: [Value]
    var leftBatch: RowBatch?
    var leftIndex = 0
    var leftDone = false

    init(_ spec: JoinSpec, left: any PlanNode, keys: [BoundExpr], width: Int, _ ctx: ExecContext) throws {
        self.spec = spec
        self.left = left
        self.keys = try keys.map { try ExprCompiler.compile($0, ctx) }
        switch spec.right.op {
        case let .place(inner, offset):
            guard case .table(let a) = inner.op else { throw SQLError.bug("index lookup join over a non-table") }
            access = a
            self.offset = offset
        case .table(let a):
            access = a
            offset = 0
        default:
            throw SQLError.bug("index lookup join over a non-table")
        }
        try access.columnGrantCheck?.verify(access)
        condition = try spec.condition.map { try ExprCompiler.compile($0, ctx) }
        filters = try access.filters.map { try ExprCompiler.compile($0, ctx) }
        filler = RowFiller(access, engine: ctx.engine)
        self.ctx = ctx
        self.width = spec.concatenated ? left.width : width
        batch = RowBatch(width: self.width)
        builder = JoinRowBuilder(spec, leftWidth: left.width, rightWidth: width, width: width)
        local = [Value](repeating: .null, count: access.width)
    }

    func next() throws -> RowBatch? {
        batch.reset()
        while !batch.isFull {
            if leftIndex >= (leftBatch?.count ?? 0) {
                if leftDone { break }
                guard let b = try left.next() else {
                    leftDone = true
                    break
                }
                leftBatch = b
                leftIndex = 0
                try ctx.interrupt?.check()
                continue
            }
            guard let lb = leftBatch else { break }
            let i = leftIndex
            leftIndex += 1
            try lb.withRow(i) { l in try lookup(l) }
        }
        return batch.count > 0 ? batch : nil
    }

    func lookup(_ l: UnsafeBufferPointer<Value>) throws {
        var values: [Value] = []
        for (i, k) in keys.enumerated() {
            let column: Int
            switch access.path {
            case .primaryKey: column = access.table.primaryKey[i]
            case .index(let def, _, _, _): column = def.columns[i]
            case .scan: throw SQLError.bug("index lookup without a path")
            }
            guard let v = TableScanNode.keyValue(try k(l), for: access.table.columns[column].type) else { values = []; break }
            values.append(v)
        }
        var any = false
        if values.count == keys.count {
            let seq: UInt64? = { if case .asOf(let s) = access.mode { return s }; return nil }()
            func visit(_ r: ScannedRow) throws -> Bool {
                try local.withUnsafeMutableBufferPointer { try filler.fill($0, r) }
                let keep = try local.withUnsafeBufferPointer { row in
                    try filters.allSatisfy { f in if case .bool(true) = try f(row) { return true }; return false }
                }
                guard keep else { return true }
                // Place the table row into a wide row and join.
                var wide = [Value](repeating: .null, count: builder.width)
                for (k, v) in local.enumerated() { wide[offset + k] = v }
                let ok = try wide.withUnsafeBufferPointer { r in try builder.combine(l, r, passing: condition) }
                guard ok else { return true }
                any = true
                if spec.kind != .semi && spec.kind != .anti {
                    batch.appendGrowing(builder.scratch)
                }
                return spec.kind != .semi && spec.kind != .anti
            }
            switch access.path {
            case .primaryKey:
                let key = KeyCodec.encode(values)
                try ctx.txn.lookup(access.table, key: key, at: seq) { r in _ = try visit(r) }
            case .index(let def, _, _, _):
                if seq == nil && ctx.txn.hasWrites(to: access.table) {
                    let c = try ctx.txn.cursor(access.table)
                    var stop = false
                    while !stop {
                        let n = try c.next(limit: 256) { r in
                            if stop { return }
                            let vs = try RowCodec.decode(r.image, missing: access.table.missingValues)
                            guard zip(def.columns, values).allSatisfy({ compareValues(vs[$0], $1) == 0 }) else { return }
                            if try !visit(r) { stop = true }
                        }
                        if n == 0 { break }
                    }
                } else {
                    let prefix = KeyCodec.encode(values)
                    try ctx.txn.indexScan(access.table, index: def.id, lower: IndexBound(prefix: prefix, inclusive: true),
                                          upper: IndexBound(prefix: prefix, inclusive: true), at: seq) { r in try visit(r) }
                }
            case .scan:
                break
            }
        }
        switch spec.kind {
        case .semi: if any { batch.appendGrowing(l) }
        case .anti: if !any { batch.appendGrowing(l) }
        case .left, .full: if !any { batch.appendGrowing(l) }
        default: break
        }
    }

    func rewind() throws {
        leftBatch = nil
        leftIndex = 0
        leftDone = false
        try left.rewind()
    }
}

extension RowBatch {
    /// Appends a row even past the batch's nominal capacity (a join row whose matches overflow
    /// the batch): the buffer grows.
    @inline(__always)
    func appendGrowing(_ row: UnsafeBufferPointer<Value>) { append(row) }
}
