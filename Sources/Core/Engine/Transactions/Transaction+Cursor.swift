import DriftStorage

/// A resumable scan of one table at one seq, merging the transaction's own writes when it
/// reads its own snapshot: those of its earlier statements (the statement that creates the
/// cursor does not see its own, PostgreSQL's command rule, so an UPDATE never revisits the
/// rows it moved and INSERT ... SELECT never reads its own inserts). Rows come out of the
/// store in batches copied under the table lock; the caller's work on a row runs outside it.
public final class TableCursor {
    let txn: Transaction
    public let table: TableDef
    let store: TableStore
    public let seq: UInt64
    let own: Bool
    var position: Int? = 0
    var ownIndices: [Int]?
    var ownNext = 0
    var seenOwn = Set<Int>()
    var batch = ScanBatch()

    init(txn: Transaction, table: TableDef, store: TableStore, seq: UInt64, own: Bool) {
        self.txn = txn
        self.table = table
        self.store = store
        self.seq = seq
        self.own = own
    }

    /// Delivers up to `limit` rows; returns how many (0 when the table is exhausted).
    public func next(limit: Int, _ body: (ScannedRow) throws -> Void) throws -> Int {
        try txn.interrupt?.check()
        var delivered = 0
        while delivered < limit, let p = position {
            position = try store.scan(at: seq, from: p, limit: limit - delivered, log: txn.engine.log, into: &batch)
            let ownWrites = own && txn.writes.hasWrites(to: table.id)
            for i in 0..<batch.count {
                try batch.withRow(i) { row in
                    if try deliver(row, checkingOwn: ownWrites, body) { delivered += 1 }
                }
            }
        }
        return try deliverOwnInserts(limit: limit, delivered: delivered, body)
    }

    /// Like `next`, for a reader that only decodes: `decode` runs under the table's read lock
    /// on the table's own buffers (no copy), so it must not read, lock or write any table.
    /// Visits the rows of up to `keys` key positions; returns how many rows it delivered and
    /// whether the table is exhausted.
    public func nextDecoding(keys: Int, _ decode: (ScannedRow) throws -> Void) throws -> (rows: Int, done: Bool) {
        try txn.interrupt?.check()
        var delivered = 0
        if let p = position {
            let ownWrites = own && txn.writes.hasWrites(to: table.id)
            position = try store.visitLocked(at: seq, from: p, limit: keys, log: txn.engine.log) { row in
                if try deliver(row, checkingOwn: ownWrites, decode) { delivered += 1 }
            }
            if position != nil { return (delivered, false) }
        }
        let before = delivered
        delivered = try deliverOwnInserts(limit: keys, delivered: delivered, decode)
        return (delivered, delivered == before)
    }

    /// Hands a stored row to `body`, or instead the image the transaction's earlier statements
    /// left for its key (nothing when they deleted it). Returns whether a row was handed over.
    @inline(__always)
    private func deliver(_ row: RowVersion, checkingOwn: Bool, _ body: (ScannedRow) throws -> Void) throws -> Bool {
        if checkingOwn, let w = txn.writes.find(table: table.id, key: row.key) {
            seenOwn.insert(w)
            if case .own(let image) = txn.ownVisible(txn.writes.write(w)) {
                guard let image else { return false }
                try image.withUnsafeBytes { try body(ScannedRow(key: row.key, image: $0, version: nil, entry: row.entry)) }
                return true
            }
        }
        try body(ScannedRow(key: row.key, image: row.image, version: row.version, entry: row.entry, nextSeq: row.nextSeq))
        return true
    }

    private func deliverOwnInserts(limit: Int, delivered start: Int, _ body: (ScannedRow) throws -> Void) throws -> Int {
        var delivered = start
        guard own, position == nil else { return delivered }
        // Keys only the transaction has: rows inserted by its earlier statements.
        let pending = ownIndices ?? txn.writes.indices(table: table.id).filter { !seenOwn.contains($0) }
        ownIndices = pending
        while delivered < limit, ownNext < pending.count {
            let w = txn.writes.write(pending[ownNext])
            ownNext += 1
            guard case .own(let visible) = txn.ownVisible(w), let image = visible else { continue }
            try w.key.withUnsafeBytes { k in
                try image.withUnsafeBytes { try body(ScannedRow(key: k, image: $0, version: nil, entry: nil)) }
            }
            delivered += 1
        }
        return delivered
    }
}

extension Transaction {
    /// A cursor over `table` as of `seq` (default: this transaction's reads, own writes of its
    /// earlier statements included).
    public func cursor(_ table: TableDef, at seq: UInt64? = nil) throws -> TableCursor {
        ensureSnapshot()
        let s = try store(table)
        let at = seq ?? readSeq
        let own = seq == nil && historicalSeq == nil
        if own { noteTableRead(table) }
        return TableCursor(txn: self, table: table, store: s, seq: at, own: own)
    }

    /// Whether the transaction has uncommitted writes to `table`.
    public func hasWrites(to table: TableDef) -> Bool { writes.hasWrites(to: table.id) }

    /// The row with primary key `key` as of `seq` (default: this transaction's reads, own
    /// writes of its earlier statements first).
    public func lookup(_ table: TableDef, key: [UInt8], at seq: UInt64? = nil, _ body: (ScannedRow) throws -> Void) throws {
        ensureSnapshot()
        if seq == nil && historicalSeq == nil {
            if let i = writes.find(table: table.id, key: key), case .own(let image) = ownVisible(writes.write(i)) {
                if let image {
                    try key.withUnsafeBytes { k in try image.withUnsafeBytes { try body(ScannedRow(key: k, image: $0, version: nil, entry: nil)) } }
                }
                return
            }
            noteRead(table, key)
        }
        _ = try key.withUnsafeBytes { k in
            try store(table).lookup(key: k, at: seq ?? readSeq, log: engine.log) { row in
                try body(ScannedRow(key: row.key, image: row.image, version: row.version, entry: row.entry, nextSeq: row.nextSeq))
            }
        }
    }

    /// Rows of `table` as of `seq` whose index values fall within the bounds (committed rows only:
    /// the planner scans instead when the transaction has written to the table). `table` is the
    /// definition the read sees, so an index dropped since still answers.
    public func indexScan(_ table: TableDef, index: UInt32, lower: IndexBound?, upper: IndexBound?, at seq: UInt64? = nil,
                          _ body: (ScannedRow) throws -> Bool) throws {
        ensureSnapshot()
        guard let def = table.indexes.first(where: { $0.id == index }) else {
            throw SQLError.bug("index \(index) is not an index of \(table.name)")
        }
        if seq == nil { noteTableRead(table) }
        var visited = 0
        try store(table).indexScan(def, lower: lower, upper: upper, at: seq ?? readSeq, log: engine.log,
                                   missing: table.missingValues) { row in
            visited += 1
            if visited % 256 == 0 { try interrupt?.check() }
            return try body(ScannedRow(key: row.key, image: row.image, version: row.version, entry: row.entry, nextSeq: row.nextSeq))
        }
    }

    /// Up to `limit` hits of an index range from where `state` left off, each decoded by
    /// `decode` under the table's read lock (see `TableStore.indexVisitLocked`); committed rows
    /// only, as `indexScan`. Returns false when the table's store no longer holds the index
    /// (dropped after `seq`): `indexScan` answers that case.
    public func indexVisit(_ table: TableDef, index def: IndexDef, lower: IndexBound?, upper: IndexBound?,
                           at seq: UInt64? = nil, state: inout IndexRangeState, limit: Int,
                           _ decode: (ScannedRow) throws -> Void) throws -> Bool {
        ensureSnapshot()
        try interrupt?.check()
        if seq == nil { noteTableRead(table) }
        return try store(table).indexVisitLocked(def, lower: lower, upper: upper, at: seq ?? readSeq, log: engine.log,
                                                 missing: table.missingValues, verify: !table.isPrimaryKeyIndex(def),
                                                 state: &state, limit: limit) { row in
            try decode(ScannedRow(key: row.key, image: row.image, version: row.version, entry: row.entry, nextSeq: row.nextSeq))
        }
    }

    /// Records a read of every version of `table` (a `FOR SYSTEM_TIME` scan) for SSI.
    public func noteHistoryScan(_ table: TableDef) {
        ensureSnapshot()
        noteTableRead(table)
    }
}

extension Engine {
    /// Commit time of `seq` for `system_time_*` columns: `Int64.max` (infinity) when nil.
    public func systemTime(_ seq: UInt64?) -> Int64 {
        guard let seq else { return Int64.max }
        return timestamp(of: seq) ?? Int64.max
    }
}
