import DriftCore
import DriftStorage

/// Fills a batch row from a scanned row: the image's values at their column positions,
/// then the history pseudo-columns the query names.
struct RowFiller {
    let table: TableDef
    let missing: [Value]
    let pseudo: Set<Scope.Pseudo>
    let engine: Engine

    init(scope: Scope, engine: Engine) {
        table = scope.table
        missing = scope.table.missingValues
        pseudo = scope.usedPseudo
        self.engine = engine
    }

    @inline(__always)
    func fill(_ out: UnsafeMutableBufferPointer<Value>, image: UnsafeRawBufferPointer, version: Version?, nextSeq: UInt64?) throws {
        try RowCodec.decode(image, into: out, missing: missing)
        guard !pseudo.isEmpty else { return }
        let base = table.columns.count
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
    }
}

/// A full scan of a table as of one seq (the transaction's own writes merged when it reads its own snapshot).
final class ScanNode: PlanNode {
    let cursor: TableCursor
    let filler: RowFiller
    let batch: RowBatch
    var done = false

    init(cursor: TableCursor, filler: RowFiller, width: Int) {
        self.cursor = cursor
        self.filler = filler
        batch = RowBatch(width: width)
    }

    var width: Int { batch.width }

    func next() throws -> RowBatch? {
        guard !done else { return nil }
        batch.reset()
        let n = try cursor.next(limit: RowBatch.capacity) { row in
            try batch.appendRow { out in
                try filler.fill(out, image: row.image, version: row.version, nextSeq: row.nextSeq)
            }
        }
        if n == 0 {
            done = true
            return nil
        }
        return batch
    }
}

/// Rows gathered up front (point lookups and index ranges), emitted in batches.
final class MaterializedNode: PlanNode {
    let width: Int
    var rows: [Value]
    var position = 0
    let batch: RowBatch

    init(width: Int, rows: [Value]) {
        self.width = width
        self.rows = rows
        batch = RowBatch(width: width)
    }

    func next() throws -> RowBatch? {
        let total = rows.count / max(width, 1)
        guard position < total else { return nil }
        batch.reset()
        while position < total && !batch.isFull {
            let start = position * width
            batch.appendRow { out in
                for k in 0..<width { out[k] = rows[start + k] }
            }
            position += 1
        }
        return batch
    }

    /// Decodes rows into a flat value array.
    static func collect(width: Int, filler: RowFiller, _ produce: ((ScannedRow) throws -> Void) throws -> Void) throws -> [Value] {
        var values: [Value] = []
        var row = [Value](repeating: .null, count: width)
        try produce { r in
            try row.withUnsafeMutableBufferPointer { try filler.fill($0, image: r.image, version: r.version, nextSeq: r.nextSeq) }
            values.append(contentsOf: row)
        }
        return values
    }
}

/// Every version of a table's rows whose validity overlaps a period (`FOR SYSTEM_TIME ...`).
/// A version is valid from its commit until the next version of its key (a delete ends it).
final class HistoryNode: PlanNode {
    let store: TableStore
    let engine: Engine
    let filler: RowFiller
    let batch: RowBatch
    /// Validity bounds in commit time (unix µs): keep versions with start < upper (or <= when
    /// `upperInclusive`) and end > lower.
    let lower: Int64
    let upper: Int64
    let upperInclusive: Bool
    /// The reader's seq: newer versions do not exist for it.
    let readSeq: UInt64
    let interrupt: StatementInterrupt?
    var cursor: TableStore.VersionCursor? = .start

    init(store: TableStore, engine: Engine, filler: RowFiller, width: Int, lower: Int64, upper: Int64, upperInclusive: Bool,
         readSeq: UInt64, interrupt: StatementInterrupt?) {
        self.store = store
        self.engine = engine
        self.filler = filler
        batch = RowBatch(width: width)
        self.lower = lower
        self.upper = upper
        self.upperInclusive = upperInclusive
        self.readSeq = readSeq
        self.interrupt = interrupt
    }

    var width: Int { batch.width }

    func next() throws -> RowBatch? {
        batch.reset()
        while batch.count == 0, let c = cursor {
            try interrupt?.check()
            cursor = try store.scanVersions(from: c, upTo: readSeq, limit: RowBatch.capacity, log: engine.log) { row, next in
                guard !row.version.isDelete else { return true }
                let start = engine.systemTime(row.version.seq)
                let end = engine.systemTime(next)
                guard end > lower, upperInclusive ? start <= upper : start < upper else { return true }
                try batch.appendRow { out in try filler.fill(out, image: row.image, version: row.version, nextSeq: next) }
                return true
            }
        }
        return batch.count == 0 ? nil : batch
    }
}

final class FilterNode: PlanNode {
    let input: any PlanNode
    let predicate: Eval
    let batch: RowBatch

    init(input: any PlanNode, predicate: @escaping Eval) {
        self.input = input
        self.predicate = predicate
        batch = RowBatch(width: input.width)
    }

    var width: Int { input.width }

    func next() throws -> RowBatch? {
        while let b = try input.next() {
            batch.reset()
            for i in 0..<b.count {
                let keep = try b.withRow(i) { row in try predicate(row) == .bool(true) }
                if keep {
                    b.withRow(i) { row in batch.appendRow { out in _ = out.update(fromContentsOf: row) } }
                }
            }
            if batch.count > 0 { return batch }
        }
        return nil
    }
}

final class ProjectNode: PlanNode {
    let input: any PlanNode
    let exprs: [Eval]
    let batch: RowBatch

    init(input: any PlanNode, exprs: [Eval]) {
        self.input = input
        self.exprs = exprs
        batch = RowBatch(width: exprs.count)
    }

    var width: Int { exprs.count }

    func next() throws -> RowBatch? {
        guard let b = try input.next() else { return nil }
        batch.reset()
        for i in 0..<b.count {
            try b.withRow(i) { row in
                try batch.appendRow { out in
                    for (k, e) in exprs.enumerated() { out[k] = try e(row) }
                }
            }
        }
        return batch
    }
}

/// Sorts all input rows with PostgreSQL's ordering (NULLS LAST ascending, FIRST descending by default).
final class SortNode: PlanNode {
    struct Key {
        var eval: Eval
        var descending: Bool
        var nullsFirst: Bool
    }

    let input: any PlanNode
    let keys: [Key]
    var output: MaterializedNode?

    init(input: any PlanNode, keys: [Key]) {
        self.input = input
        self.keys = keys
    }

    var width: Int { input.width }

    func next() throws -> RowBatch? {
        if output == nil {
            var rows: [([Value], [Value])] = []
            while let b = try input.next() {
                for i in 0..<b.count {
                    let row = b.row(i)
                    let sortValues = try row.withUnsafeBufferPointer { r in try keys.map { try $0.eval(r) } }
                    rows.append((sortValues, row))
                }
            }
            rows.sort { a, b in
                for (k, key) in keys.enumerated() {
                    let x = a.0[k], y = b.0[k]
                    if x.isNull || y.isNull {
                        if x.isNull && y.isNull { continue }
                        return x.isNull == key.nullsFirst
                    }
                    let c = compareValues(x, y) ?? 0
                    if c != 0 { return key.descending ? c > 0 : c < 0 }
                }
                return false
            }
            output = MaterializedNode(width: width, rows: rows.flatMap(\.1))
        }
        return try output?.next()
    }
}

final class LimitNode: PlanNode {
    let input: any PlanNode
    var remaining: Int64
    var skip: Int64
    let batch: RowBatch

    init(input: any PlanNode, limit: Int64?, offset: Int64) {
        self.input = input
        remaining = limit ?? Int64.max
        skip = offset
        batch = RowBatch(width: input.width)
    }

    var width: Int { input.width }

    func next() throws -> RowBatch? {
        while remaining > 0, let b = try input.next() {
            batch.reset()
            for i in 0..<b.count where remaining > 0 {
                if skip > 0 {
                    skip -= 1
                    continue
                }
                b.withRow(i) { row in batch.appendRow { out in _ = out.update(fromContentsOf: row) } }
                remaining -= 1
            }
            if batch.count > 0 { return batch }
        }
        return nil
    }
}
