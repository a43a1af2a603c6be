import DriftStorage

/// The row a writer works from once it holds the row's lock.
public enum LockedRow {
    /// SKIP LOCKED passed over it.
    case skipped
    /// The newest row the write must build on (nil if the key has no live row), and whether it
    /// changed after the statement's snapshot (READ COMMITTED then re-checks its condition).
    case row([Value]?, changedSinceSnapshot: Bool)
}

/// A row seen by a scan: committed rows carry their version, the transaction's own
/// uncommitted writes carry none. Buffers are valid only inside the callback.
public struct ScannedRow {
    public let key: UnsafeRawBufferPointer
    public let image: UnsafeRawBufferPointer
    public let version: Version?
    /// The key's position in its table (nil for a row the transaction inserted).
    public let entry: Int?
    /// The seq of the version that replaced this one (nil while it is current).
    public var nextSeq: UInt64? = nil
}

/// One transaction: an MVCC snapshot for reads, buffered writes under row locks,
/// savepoints, and a commit through the single sequencer.
public final class Transaction: @unchecked Sendable {
    public enum State: Sendable, Equatable {
        case active
        /// An error happened inside a transaction block: everything but ROLLBACK fails with 25P02.
        case failed
        case finished
    }

    struct Savepoint {
        var name: String
        var undoMark: Int
        var ddlCount: Int
        var overlay: Catalog?
        var acquiredCount: Int
        var orderCounter: Int
    }

    public let id: UInt64
    public let isolation: IsolationLevel
    public let readOnly: Bool
    /// Set for a read-only transaction in the past (`BEGIN ... AS OF`): every read uses it.
    public let historicalSeq: UInt64?
    public private(set) var snapshotSeq: UInt64 = 0
    public internal(set) var state: State = .active
    /// PostgreSQL's `lock_timeout`; nil waits forever.
    public var lockTimeoutNanos: UInt64?
    /// The running statement's cancel request and `statement_timeout`, checked by scans and lock waits.
    public var interrupt: StatementInterrupt? {
        didSet { interrupt?.locks = engine.locks }
    }

    let engine: Engine
    var writes = WriteSet()
    var ddl: [(order: Int, event: CatalogEvent)] = []
    var overlay: Catalog?
    var orderCounter = 0
    /// The running statement's command id: a statement sees own writes of lower ones only.
    var command = 0
    var snapshotTaken = false
    /// Locks taken, in order, with whether each was new (released on ROLLBACK TO).
    var acquired: [(LockTarget, Bool)] = []
    var tableLocks: [UInt32: RowLockMode] = [:]
    var savepoints: [Savepoint] = []

    init(engine: Engine, id: UInt64, isolation: IsolationLevel, readOnly: Bool, historicalSeq: UInt64?) {
        self.engine = engine
        self.id = id
        self.isolation = isolation
        self.readOnly = readOnly || historicalSeq != nil
        self.historicalSeq = historicalSeq
        lockTimeoutNanos = engine.config.lockTimeoutMillis.map { UInt64($0) * 1_000_000 }
    }

    /// A transaction dropped without COMMIT or ROLLBACK rolls back, releasing its locks.
    deinit {
        if state != .finished { finish(committed: nil) }
    }

    /// Whether a statement has run (the snapshot is taken).
    public var hasStarted: Bool { snapshotTaken }

    /// The seq reads see.
    public var readSeq: UInt64 { historicalSeq ?? snapshotSeq }

    /// Starts a statement (a new command: it sees the writes of the transaction's earlier
    /// statements, not its own). READ COMMITTED takes a fresh snapshot; REPEATABLE READ and
    /// SERIALIZABLE take theirs at the first statement, as PostgreSQL does.
    public func beginStatement() {
        command += 1
        if historicalSeq != nil { return }
        if isolation == .readCommitted || !snapshotTaken { takeSnapshot() }
    }

    /// Takes the snapshot for a read that comes before any statement began.
    @inline(__always)
    func ensureSnapshot() {
        if !snapshotTaken && historicalSeq == nil { takeSnapshot() }
    }

    private func takeSnapshot() {
        if !snapshotTaken && isolation == .serializable {
            // Read under the SSI lock: no commit can become visible between the snapshot and
            // the registration without the manager knowing of both.
            snapshotSeq = engine.ssi.register(id) { engine.visibleSeq }
        } else {
            snapshotSeq = engine.visibleSeq
        }
        snapshotTaken = true
    }

    /// Records a SERIALIZABLE read of a key (present, absent or only locked).
    @inline(__always)
    func noteRead(_ table: TableDef, _ key: [UInt8]) {
        if isolation == .serializable && historicalSeq == nil { engine.ssi.onRead(id, LockTarget(table: table.id, key: key)) }
    }

    /// Records a SERIALIZABLE read of a whole table (scans, index ranges, history).
    @inline(__always)
    func noteTableRead(_ table: TableDef) {
        if isolation == .serializable && historicalSeq == nil { engine.ssi.onTableRead(id, table.id) }
    }

    /// What the transaction's own write `w` shows the current statement: writes of earlier
    /// statements, or for a key this statement wrote, what it held when the statement began.
    func ownVisible(_ w: WriteSet.Write) -> WriteSet.Before {
        w.command < command ? .own(w.image) : w.before
    }

    /// The catalog this transaction sees: its own DDL on top, else the catalog as of its reads.
    public var catalog: Catalog {
        if let overlay { return overlay }
        ensureSnapshot()
        return engine.catalog(at: readSeq)
    }

    public func table(_ name: String, schema: String = "public") throws -> TableDef {
        guard let t = catalog.table(schema: schema, name) else {
            throw SQLError(.undefinedTable, "relation \"\(name)\" does not exist")
        }
        return t
    }

    /// Marks the transaction block failed (25P02 until ROLLBACK).
    public func markFailed() {
        if state == .active { state = .failed }
    }

    func store(_ table: TableDef) throws -> TableStore {
        guard let s = engine.store(table.id) else {
            throw SQLError(.internalError, "table \(table.name) has no storage")
        }
        return s
    }

    // MARK: Reads

    /// The live row with primary key `key` as this transaction sees it.
    public func get(_ table: TableDef, key: [UInt8]) throws -> [Value]? {
        ensureSnapshot()
        if let i = writes.find(table: table.id, key: key), case .own(let image) = ownVisible(writes.write(i)) {
            return try image.map { try decode($0, table) }
        }
        noteRead(table, key)
        let missing = table.missingValues
        return try key.withUnsafeBytes { k in
            try store(table).lookup(key: k, at: readSeq, log: engine.log) { try RowCodec.decode($0.image, missing: missing) }
        }
    }

    func decode(_ image: [UInt8], _ table: TableDef) throws -> [Value] {
        try image.withUnsafeBytes { try RowCodec.decode($0, missing: table.missingValues) }
    }

    /// Visits every live row of `table` as this transaction sees it (its own writes included),
    /// until `body` returns false.
    public func scan(_ table: TableDef, _ body: (ScannedRow) throws -> Bool) throws {
        let c = try cursor(table)
        var stopped = false
        while !stopped {
            let n = try c.next(limit: 512) { row in
                if !stopped, try !body(row) { stopped = true }
            }
            if n == 0 { return }
        }
    }

    /// Every committed version of a key this transaction can see (seq ≤ its read seq), oldest
    /// first, with the seq that ended each.
    public func history(_ table: TableDef, key: [UInt8], _ body: (RowVersion, UInt64?) throws -> Void) throws {
        ensureSnapshot()
        noteRead(table, key)
        try key.withUnsafeBytes { try store(table).history(key: $0, upTo: readSeq, log: engine.log, body) }
    }

    // MARK: Writes

    func ensureWritable(_ what: String) throws {
        guard state == .active else {
            throw SQLError(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        if historicalSeq != nil {
            throw SQLError(.readOnlySQLTransaction, "cannot execute \(what) while reading the past (AS OF)")
        }
        if readOnly { throw SQLError(.readOnlySQLTransaction, "cannot execute \(what) in a read-only transaction") }
        if let f = engine.writerFailure { throw SQLError(.ioError, StorageError.failed(reason: f).description) }
        ensureSnapshot()
    }

    func lock(_ target: LockTarget, _ mode: RowLockMode, wait: LockWait, describe: @autoclosure () -> String) throws -> Bool {
        switch try engine.locks.acquire(txn: id, target, mode: mode, wait: wait, timeoutNanos: lockTimeoutNanos,
                                        interrupt: interrupt, describe: describe()) {
        case .skipped: return false
        case .alreadyHeld: return true
        case .acquired(let wasNew):
            acquired.append((target, wasNew))
            return true
        }
    }

    /// Holds `table` against DDL (writers) or against everyone (DDL) until the transaction ends.
    func lockTable(_ table: TableDef, _ mode: RowLockMode) throws {
        if let held = tableLocks[table.id], held >= mode { return }
        _ = try lock(.table(table.id), mode, wait: .block, describe: "relation \"\(table.name)\"")
        tableLocks[table.id] = max(mode, tableLocks[table.id] ?? mode)
    }

    /// Locks a row for a write (or SELECT ... FOR UPDATE/SHARE) and returns the row to build on.
    /// In REPEATABLE READ and SERIALIZABLE a row changed after the snapshot fails with 40001.
    public func lockRow(_ table: TableDef, key: [UInt8], mode: RowLockMode, wait: LockWait = .block) throws -> LockedRow {
        try ensureWritable(mode.sqlName)
        try lockTable(table, .keyShare)
        guard try lock(LockTarget(table: table.id, key: key), mode, wait: wait,
                       describe: "row in relation \"\(table.name)\"") else { return .skipped }
        // Locking a row reads it, present or absent, and a lock-only read counts (SSI).
        noteRead(table, key)
        if let i = writes.find(table: table.id, key: key) {
            return .row(try writes.write(i).image.map { try decode($0, table) }, changedSinceSnapshot: false)
        }
        let s = try store(table)
        let latest = key.withUnsafeBytes { s.latestVersion(key: $0) }
        let changed = latest.map { $0.seq > readSeq } ?? false
        if let latest, changed && isolation != .readCommitted {
            throw SQLError(.serializationFailure, "could not serialize access due to concurrent "
                           + (latest.isDelete ? "delete" : "update"))
        }
        guard let latest, !latest.isDelete else { return .row(nil, changedSinceSnapshot: changed) }
        let missing = table.missingValues
        let row = try key.withUnsafeBytes { k in
            try s.lookup(key: k, at: latest.seq, log: engine.log) { try RowCodec.decode($0.image, missing: missing) }
        }
        return .row(row, changedSinceSnapshot: changed)
    }

    /// The primary-key encoding of a full row.
    public func primaryKey(_ table: TableDef, _ values: [Value]) throws -> [UInt8] {
        var key: [UInt8] = []
        for p in table.primaryKey {
            if values[p].isNull {
                throw SQLError(.notNullViolation, "null value in column \"\(table.columns[p].name)\" of relation \"\(table.name)\" violates not-null constraint")
            }
            KeyCodec.append(values[p], to: &key)
        }
        return key
    }

    /// Inserts a full row (one value per column position). A live row with the same primary key fails with 23505.
    public func insert(_ table: TableDef, _ values: [Value]) throws {
        try ensureWritable("INSERT")
        guard values.count == table.columns.count else {
            throw SQLError.bug("row width \(values.count) for \(table.columns.count) columns of \(table.name)")
        }
        try lockTable(table, .keyShare)
        let key = try primaryKey(table, values)
        _ = try lock(LockTarget(table: table.id, key: key), .update, wait: .block, describe: "row in relation \"\(table.name)\"")
        var existedBefore = false
        // Checking the key is free reads it (SSI: an insert conflicts with a reader of its absence).
        noteRead(table, key)
        if let i = writes.find(table: table.id, key: key) {
            let w = writes.write(i)
            if w.image != nil { throw duplicateKey(table, values) }
            existedBefore = w.existedBefore
        } else if let latest = try key.withUnsafeBytes({ try store(table).latestVersion(key: $0) }), !latest.isDelete {
            if isolation == .serializable && latest.seq > readSeq {
                throw SQLError(.serializationFailure, "could not serialize access due to concurrent insert",
                               hint: "The transaction might succeed if retried.")
            }
            throw duplicateKey(table, values)
        }
        put(table, key: key, image: RowCodec.encode(values), existedBefore: existedBefore)
    }

    /// Replaces the row with `key` (which the caller has locked and found live).
    public func update(_ table: TableDef, key: [UInt8], _ values: [Value]) throws {
        try ensureWritable("UPDATE")
        guard values.count == table.columns.count else {
            throw SQLError.bug("row width \(values.count) for \(table.columns.count) columns of \(table.name)")
        }
        let newKey = try primaryKey(table, values)
        guard newKey == key else {
            // A key change is a delete of the old key and an insert of the new one.
            try delete(table, key: key)
            try insert(table, values)
            return
        }
        put(table, key: key, image: RowCodec.encode(values), existedBefore: true)
    }

    /// Deletes the row with `key` (which the caller has locked and found live).
    public func delete(_ table: TableDef, key: [UInt8]) throws {
        try ensureWritable("DELETE")
        put(table, key: key, image: nil, existedBefore: true)
    }

    private func put(_ table: TableDef, key: [UInt8], image: [UInt8]?, existedBefore: Bool) {
        var existed = existedBefore
        if let i = writes.find(table: table.id, key: key) { existed = writes.write(i).existedBefore }
        writes.put(table: table.id, key: key, image: image, existedBefore: existed, order: orderCounter, command: command)
        orderCounter += 1
        if isolation == .serializable { engine.ssi.onWrite(id, LockTarget(table: table.id, key: key)) }
    }

    func duplicateKey(_ table: TableDef, _ values: [Value]) -> SQLError {
        let cols = table.primaryKey.map { table.columns[$0].name }.joined(separator: ", ")
        let vals = table.primaryKey.map { values[$0].pgText ?? "null" }.joined(separator: ", ")
        return SQLError(.uniqueViolation, "duplicate key value violates unique constraint \"\(table.name)_pkey\"",
                        detail: "Key (\(cols))=(\(vals)) already exists.")
    }
}
