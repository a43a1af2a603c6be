import DriftCore
import DriftStorage

/// Fills a relation row from a stored row: the image's values at their column positions, the
/// history pseudo-columns the query names, and the row key when DML or locking needs it.
struct RowFiller {
    let access: TableAccess
    let missing: [Value]
    let pseudo: [Pseudo]
    let engine: Engine
    let needsKey: Bool
    /// The columns to decode, when the query reads only some (nil: all).
    let needed: [Bool]?
    let lastNeeded: Int

    init(_ access: TableAccess, engine: Engine) {
        self.access = access
        missing = access.table.missingValues
        pseudo = Array(access.pseudo)
        self.engine = engine
        needsKey = access.needsKey
        if access.readsAllColumns || access.usedColumns.count >= missing.count {
            needed = nil
            lastNeeded = missing.count - 1
        } else {
            var mask = [Bool](repeating: false, count: missing.count)
            for c in access.usedColumns where c < mask.count { mask[c] = true }
            needed = mask
            lastNeeded = access.usedColumns.max() ?? -1
        }
    }

    @inline(__always)
    func fill(_ out: UnsafeMutableBufferPointer<Value>, _ row: ScannedRow) throws {
        try fill(out, key: row.key, image: row.image, version: row.version, nextSeq: row.nextSeq)
    }

    @inline(__always)
    func fill(_ out: UnsafeMutableBufferPointer<Value>, key: UnsafeRawBufferPointer, image: UnsafeRawBufferPointer,
              version: Version?, nextSeq: UInt64?) throws {
        if let needed {
            try RowCodec.decode(image, into: out, missing: missing, needed: needed, lastNeeded: lastNeeded)
        } else {
            try RowCodec.decode(image, into: out, missing: missing)
        }
        let base = missing.count
        for p in pseudo {
            let v: Value
            switch p {
            case .driftSeq: v = version.map { .int(Int64($0.seq)) } ?? .null
            case .driftOp: v = version.map { .text($0.op.name) } ?? .null
            case .systemTimeStart: v = version.map { .timestamptz(PGTime.fromUnix(engine.systemTime($0.seq))) } ?? .null
            case .systemTimeEnd: v = version == nil ? .null : .timestamptz(PGTime.fromUnix(engine.systemTime(nextSeq)))
            }
            out[base + p.rawValue] = v
        }
        if needsKey { out[base + Pseudo.allCases.count] = .bytes(Array(key)) }
    }
}

/// One key range of an index read.
struct IndexRange {
    var lower: IndexBound?
    var upper: IndexBound?
}

/// Reads a base table: a scan, primary-key lookups or an index range, as of the transaction's
/// snapshot (its own earlier writes included), a past seq, or every version in a period;
/// applies the conditions pushed into it. Placed in a block's wide row (`offset`), it fills
/// its slots of that row directly (the other slots stay NULL) instead of a narrow row that a
/// PlaceNode would copy.
final class TableScanNode: PlanNode {
    let access: TableAccess
    let ctx: ExecContext
    let filler: RowFiller
    let filters: [Eval]
    /// The filters rows read through the chosen index range still need (the others are the
    /// range's own bounds, which it enforces exactly).
    let indexFilters: [Eval]
    let batch: RowBatch
    let seq: UInt64?
    // State of the running read.
    var cursor: TableCursor?
    var history: TableStore.VersionCursor? = .start
    var pending: RowStore?
    var pendingPosition = 0
    var started = false
    var done = false
    var scanFinished = false
    var indexDef: IndexDef?
    var indexRanges: [IndexRange] = []
    var rangeAt = 0
    var rangeState = IndexRangeState()
    /// Set by a top-n sort right above: rows it rejects are passed over undecoded.
    var gate: TopNGate?

    /// Whether a top-n gate may judge this scan's rows: nothing between the stored row and
    /// the sort (no condition that could fail on a passed-over row, no placement, no history).
    var acceptsGate: Bool {
        if case .history = access.mode { return false }
        return offset == 0 && filters.isEmpty && filler.pseudo.isEmpty
    }

    let width: Int
    let offset: Int
    /// The plan's row estimate (sizes the first batch).
    let expectedRows: Int

    init(_ access: TableAccess, _ ctx: ExecContext, offset: Int = 0, width: Int? = nil, expectedRows: Double = 4) throws {
        try access.columnGrantCheck?.verify(access)
        self.access = access
        self.ctx = ctx
        self.offset = offset
        self.width = width ?? access.width
        self.expectedRows = Int(min(Double(RowBatch.capacity), max(4, expectedRows.isFinite ? expectedRows : 4)))
        filler = RowFiller(access, engine: ctx.engine)
        let compiled = try access.filters.map { try ExprCompiler.compile($0, ctx) }
        filters = compiled
        indexFilters = compiled.indices.filter { !access.indexConditions.contains($0) }.map { compiled[$0] }
        // A scan or index range likely fills whole batches (a key lookup finds few rows).
        let expected: Int
        switch access.path {
        case .primaryKey(let alternatives): expected = alternatives.count
        case .index:
            // Sized once the range's bounds are known (`start`).
            expected = 0
        default: expected = self.expectedRows
        }
        batch = RowBatch(width: self.width, rows: expected)
        switch access.mode {
        case .asOf(let s): seq = s
        default: seq = nil
        }
    }

    /// Whether a table row passes the pushed-down conditions (`conditions`: all of them).
    @inline(__always)
    func passes(_ row: UnsafeBufferPointer<Value>, _ conditions: [Eval]? = nil) throws -> Bool {
        for f in conditions ?? filters {
            guard case .bool(true) = try f(row) else { return false }
        }
        return true
    }

    /// Whether an output row (placed at `offset`) passes the pushed-down conditions.
    @inline(__always)
    func outputPasses(_ row: UnsafeBufferPointer<Value>, _ conditions: [Eval]? = nil) throws -> Bool {
        try passes(offset == 0 ? row : UnsafeBufferPointer(rebasing: row[offset..<(offset + access.width)]), conditions)
    }

    /// Fills the table's slots of an output row from a stored row.
    @inline(__always)
    func fill(_ out: UnsafeMutableBufferPointer<Value>, _ r: ScannedRow) throws {
        try filler.fill(offset == 0 ? out : UnsafeMutableBufferPointer(rebasing: out[offset..<(offset + access.width)]), r)
    }

    /// Appends a table row (of the table's width) to the output batch: placed at `offset`
    /// in a wide row, or cut to the columns when the scan's rows hold no more (`width`).
    @inline(__always)
    func appendTableRow(_ r: UnsafeBufferPointer<Value>) {
        if offset == 0 && width == access.width {
            batch.append(r)
        } else {
            let o = offset
            let n = min(r.count, width - o)
            batch.appendNulls { out in for k in 0..<n { out[o + k] = r[k] } }
        }
    }

    /// Appends a stored row if it passes the filters.
    @inline(__always)
    func take(_ r: ScannedRow, into b: RowBatch) throws {
        try b.appendRow { out in try fill(out, r) }
        let keep = try b.withRow(b.count - 1) { try outputPasses($0) }
        if !keep { b.removeLast() }
    }

    func start() throws {
        started = true
        switch access.mode {
        case .history:
            history = .start
            return
        default:
            break
        }
        switch access.path {
        case .scan:
            cursor = try ctx.txn.cursor(access.table, at: seq)
        case .primaryKey(let alternatives):
            pending = try lookups(alternatives)
        case let .index(def, eq, lower, upper):
            if seq == nil && ctx.txn.hasWrites(to: access.table) {
                // Index trees hold committed rows only: with own writes pending, scan.
                cursor = try ctx.txn.cursor(access.table, at: seq)
            } else if !filler.pseudo.isEmpty {
                pending = try indexRead(def, try indexRanges(def, eq, lower, upper))
            } else {
                indexDef = def
                indexRanges = try indexRanges(def, eq, lower, upper)
                batch.reserve(rows: expectedRows(indexRanges))
            }
        }
    }

    func next() throws -> RowBatch? {
        if done { return nil }
        if !started { try start() }
        batch.reset()
        if case .history(let lower, let upper, let inclusive) = access.mode {
            return try nextHistory(lower: lower, upper: upper, upperInclusive: inclusive)
        }
        if let cursor, filler.pseudo.isEmpty {
            // Rows are decoded straight from the table's buffers under its read lock, then
            // filtered once it is released (a filter may read this table again).
            while batch.count == 0 && !scanFinished {
                scanFinished = try cursor.nextDecoding(keys: RowBatch.capacity) { r in
                    if let gate, !gate.admits(r.image) { return }
                    try batch.appendRow { out in try fill(out, r) }
                }.done
                if !filters.isEmpty { try batch.filter { try outputPasses($0) } }
            }
        } else if let cursor {
            while batch.count == 0 {
                let n = try cursor.next(limit: RowBatch.capacity) { r in try take(r, into: batch) }
                if n == 0 { break }
            }
        } else if let def = indexDef {
            try nextFromIndex(def)
            if batch.count == 0, let p = pending {
                while pendingPosition < p.count && !batch.isFull {
                    p.withRow(pendingPosition) { appendTableRow($0) }
                    pendingPosition += 1
                }
            }
        } else if let p = pending {
            while pendingPosition < p.count && !batch.isFull {
                p.withRow(pendingPosition) { appendTableRow($0) }
                pendingPosition += 1
            }
        }
        if batch.count == 0 {
            done = true
            return nil
        }
        return batch
    }

    /// The value of a key expression in the column's key encoding; nil when it cannot equal
    /// any stored value (NULL, or a fraction for an integer column).
    func keyValue(_ e: Eval, column: Int) throws -> Value? {
        let v = try e(UnsafeBufferPointer(start: nil, count: 0))
        return TableScanNode.keyValue(v, for: access.table.columns[column].type)
    }

    static func keyValue(_ v: Value, for type: SQLType) -> Value? {
        switch (v, type) {
        case (.null, _): return nil
        case (.int, _) where type.isInteger: return v
        case (.double(let d), _) where type.isInteger:
            return d.rounded() == d && abs(d) < 9.2e18 ? .int(Int64(d)) : nil
        case (.double, _) where type.isFloat: return v
        case (.int(let i), _) where type.isFloat: return .double(Double(i))
        case (.int(let i), _) where type.isNumeric: return .numeric(Numeric(i))
        case (.numeric(let n), _) where type.isInteger:
            guard n.isFinite, n.minimumScale == 0, let i = try? n.int64(bits: 64) else { return nil }
            return .int(i)
        case (.text, _) where type.isText: return v
        default:
            return v
        }
    }

    func lookups(_ alternatives: [[BoundExpr]]) throws -> RowStore {
        var out = RowStore(width: access.width)
        var seen = Set<[UInt8]>()
        var row = [Value](repeating: .null, count: access.width)
        for alt in alternatives {
            var key: [UInt8] = []
            var valid = true
            for (i, e) in alt.enumerated() {
                guard let v = try keyValue(try ExprCompiler.compile(e, ctx), column: access.table.primaryKey[i]) else { valid = false; break }
                KeyCodec.append(v, to: &key)
            }
            guard valid, seen.insert(key).inserted else { continue }
            try ctx.txn.lookup(access.table, key: key, at: seq) { r in
                try row.withUnsafeMutableBufferPointer { try filler.fill($0, r) }
                if try row.withUnsafeBufferPointer({ try passes($0) }) { out.append(row) }
            }
        }
        return out
    }

    /// The key ranges of an index read: one per distinct equality prefix, each bounded by the
    /// range column's bounds when there are any. A prefix or bound that can equal no stored
    /// value (NULL, a fraction for an integer column) gives no range.
    func indexRanges(_ def: IndexDef, _ eq: [[BoundExpr]], _ lower: RangeBound?, _ upper: RangeBound?) throws -> [IndexRange] {
        var ranges: [IndexRange] = []
        let alternatives = eq.isEmpty ? [[]] : eq
        var seen = Set<[UInt8]>()
        let rangeColumn = alternatives[0].count < def.columns.count ? def.columns[alternatives[0].count] : nil
        for alt in alternatives {
            var prefix: [UInt8] = []
            var valid = true
            for (i, e) in alt.enumerated() {
                guard let v = try keyValue(try ExprCompiler.compile(e, ctx), column: def.columns[i]) else { valid = false; break }
                KeyCodec.append(v, to: &prefix)
            }
            guard valid, seen.insert(prefix).inserted else { continue }
            var lo: IndexBound? = alt.isEmpty ? nil : IndexBound(prefix: prefix, inclusive: true)
            var hi: IndexBound? = alt.isEmpty ? nil : IndexBound(prefix: prefix, inclusive: true)
            if let rangeColumn {
                // Without a lower bound the range starts at the prefix itself (NULLs sort last).
                if let lower {
                    guard let v = try keyValue(try ExprCompiler.compile(lower.expr, ctx), column: rangeColumn) else { continue }
                    lo = IndexBound(prefix: prefix + KeyCodec.encode(v), inclusive: lower.inclusive)
                }
                if let upper {
                    guard let v = try keyValue(try ExprCompiler.compile(upper.expr, ctx), column: rangeColumn) else { continue }
                    hi = IndexBound(prefix: prefix + KeyCodec.encode(v), inclusive: upper.inclusive)
                } else if lower != nil {
                    // A lower bound alone must stop before NULLs (they sort after every value).
                    hi = IndexBound(prefix: prefix + [KeyCodec.tagNull], inclusive: false)
                }
            }
            ranges.append(IndexRange(lower: lo, upper: hi))
        }
        return ranges
    }

    /// Rows an index read may give, for sizing its batch: the width of an integer key range
    /// when the plan's estimate is all there is (without statistics it can be far too high).
    func expectedRows(_ ranges: [IndexRange]) -> Int {
        var total = 0
        for r in ranges {
            guard let lo = r.lower, let hi = r.upper,
                  let a = KeyCodec.integerBound(lo.prefix), let b = KeyCodec.integerBound(hi.prefix), b >= a,
                  lo.prefix.count == hi.prefix.count else { return expectedRows }
            let (width, overflow) = b.subtractingReportingOverflow(a)
            if overflow || width >= Int64(RowBatch.capacity) { return RowBatch.capacity }
            total += Int(width) + 1
        }
        return max(4, total)
    }

    /// Reads index ranges into a row store (rows with history pseudo-columns, whose filling
    /// must not run under the table's lock, and an index the store no longer holds).
    func indexRead(_ def: IndexDef, _ ranges: [IndexRange]) throws -> RowStore {
        var out = RowStore(width: access.width)
        var row = [Value](repeating: .null, count: access.width)
        for r in ranges {
            try ctx.txn.indexScan(access.table, index: def.id, lower: r.lower, upper: r.upper, at: seq) { r in
                try row.withUnsafeMutableBufferPointer { try filler.fill($0, r) }
                if try row.withUnsafeBufferPointer({ try passes($0) }) {
                    out.append(row)
                    if out.count % 4096 == 0 { try ctx.reserve(4096 * access.width * MemoryLayout<Value>.stride, for: "index scan") }
                }
                return true
            }
        }
        return out
    }

    /// Fills the batch from the index ranges, decoding under the table's read lock and
    /// filtering after it.
    func nextFromIndex(_ def: IndexDef) throws {
        while batch.count == 0 && rangeAt < indexRanges.count {
            let r = indexRanges[rangeAt]
            let held = try ctx.txn.indexVisit(access.table, index: def, lower: r.lower, upper: r.upper, at: seq,
                                              state: &rangeState, limit: RowBatch.capacity) { row in
                if let gate, !gate.admits(row.image) { return }
                try batch.appendRow { out in try fill(out, row) }
            }
            if !held {
                guard pending == nil else { break }
                // The store no longer holds the index (dropped after the read's seq, or
                // while this statement ran, as a dropped table's trees are released): the
                // rest comes from a scan that computes each row's index key, from the first
                // key this read has not visited.
                var rest = Array(indexRanges[rangeAt...])
                if let resume = rangeState.resumeKey { rest[0].lower = IndexBound(prefix: resume, inclusive: true) }
                pending = try indexRead(def, rest)
                rangeAt = indexRanges.count
                break
            }
            if rangeState.finished {
                rangeAt += 1
                rangeState = IndexRangeState()
            }
            if !indexFilters.isEmpty { try batch.filter { try outputPasses($0, indexFilters) } }
        }
    }

    func nextHistory(lower: Int64, upper: Int64, upperInclusive: Bool) throws -> RowBatch? {
        // An empty period (FROM a TO a) or a reversed one holds no version (SQL:2011).
        if upperInclusive ? lower > upper : lower >= upper {
            done = true
            return nil
        }
        let store = try ctx.txn.committedStore(access.table)
        let engine = ctx.engine
        let readSeq = ctx.txn.readSeq
        while batch.count == 0, let c = history {
            try ctx.interrupt?.check()
            history = try store.scanVersions(from: c, upTo: readSeq, limit: RowBatch.capacity, log: engine.log) { row, next in
                guard !row.version.isDelete else { return true }
                let start = engine.systemTime(row.version.seq)
                let end = engine.systemTime(next)
                guard end > lower, upperInclusive ? start <= upper : start < upper else { return true }
                try batch.appendRow { out in
                    let o = offset == 0 ? out : UnsafeMutableBufferPointer(rebasing: out[offset..<(offset + access.width)])
                    try filler.fill(o, key: row.key, image: row.image, version: row.version, nextSeq: next)
                }
                if try !batch.withRow(batch.count - 1, { try outputPasses($0) }) { batch.removeLast() }
                return true
            }
        }
        if batch.count == 0 {
            done = true
            return nil
        }
        return batch
    }

    func rewind() throws {
        cursor = nil
        pending = nil
        pendingPosition = 0
        history = .start
        started = false
        done = false
        scanFinished = false
        indexDef = nil
        indexRanges = []
        rangeAt = 0
        rangeState = IndexRangeState()
    }
}

/// SELECT ... FOR UPDATE / SHARE: locks each row's key in its table. In READ COMMITTED a row
/// changed while the lock was awaited is re-read and its table's conditions re-checked
/// (PostgreSQL's EvalPlanQual); a row deleted meanwhile is dropped. SKIP LOCKED passes rows by.
final class LockRowsNode: PlanNode {
    let input: any PlanNode
    let specs: [RowLockSpec]
    let ctx: ExecContext
    let fillers: [RowFiller]
    let filters: [[Eval]]
    let batch: RowBatch

    init(_ input: any PlanNode, _ specs: [RowLockSpec], _ ctx: ExecContext) throws {
        self.input = input
        self.specs = specs
        self.ctx = ctx
        fillers = specs.map { RowFiller($0.access, engine: ctx.engine) }
        filters = try specs.map { s in try s.access.filters.map { try ExprCompiler.compile($0, ctx) } }
        batch = RowBatch(width: input.width)
    }

    var width: Int { input.width }

    func next() throws -> RowBatch? {
        while let b = try input.next() {
            batch.reset()
            for i in 0..<b.count {
                var row = b.row(i)
                var keep = true
                for (k, spec) in specs.enumerated() {
                    let keySlot = spec.offset + spec.access.keySlot
                    guard case .bytes(let key) = row[keySlot] else { continue }  // null-extended side
                    switch try ctx.txn.lockRow(spec.access.table, key: key, mode: spec.mode, wait: spec.wait) {
                    case .skipped:
                        keep = false
                    case .row(nil, _):
                        keep = false
                    case .row(let current?, let changed):
                        guard changed else { continue }
                        // Re-read: the newest version replaces the table's part of the row.
                        var local = [Value](repeating: .null, count: spec.access.width)
                        for (p, v) in current.enumerated() where p < spec.access.table.columns.count { local[p] = v }
                        local[spec.access.keySlot] = .bytes(key)
                        let passes = try local.withUnsafeBufferPointer { r in
                            try filters[k].allSatisfy { f in if case .bool(true) = try f(r) { return true }; return false }
                        }
                        if !passes { keep = false; break }
                        for (p, v) in local.enumerated() where p < spec.access.table.columns.count { row[spec.offset + p] = v }
                    }
                    if !keep { break }
                }
                if keep { row.withUnsafeBufferPointer { batch.append($0) } }
            }
            if batch.count > 0 { return batch }
        }
        return nil
    }

    func rewind() throws { try input.rewind() }
}
