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
        var undoMark: WriteSet.Mark
        var ddlCount: Int
        var overlay: Catalog?
        var temporaryOverlay: Catalog?
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
    /// The session's temporary tables (set by the session before the first statement).
    public var temporary: TemporaryTables?
    /// The temporary catalog with this transaction's own changes, once it made any.
    var temporaryOverlay: Catalog?
    /// Empty stores for the tables this transaction created (until its commit makes real ones).
    var ownTableStores: [UInt32: TableStore] = [:]
    /// Ids of the temporary tables and sequences this transaction created or changed.
    var temporaryIds = Set<UInt32>()
    /// The merged catalog last computed, and what it was computed from.
    private var mergedCatalog: (base: UInt64, generation: Int, catalog: Catalog)?
    /// Counts changes of `overlay` and `temporaryOverlay` (DDL, savepoint rollbacks).
    var catalogGeneration = 0
    var orderCounter = 0
    /// The running statement's command id: a statement sees own writes of lower ones only.
    var command = 0
    var snapshotTaken = false
    /// Locks taken, in order, with whether each was new (released on ROLLBACK TO). Once a
    /// transaction holds many locks and no savepoint is open, further ones are only counted
    /// (`uncountedLocks`): nothing but the transaction's end would release them, and that
    /// drops all of its locks in one pass without a list.
    var acquired: [(LockTarget, Bool)] = []
    var uncountedLocks = 0
    var tableLocks: [UInt32: RowLockMode] = [:]
    var savepoints: [Savepoint] = []
    /// Per unique index: value prefix to the keys of own rows written with it (entries may be
    /// stale after later writes or a savepoint rollback; readers check the current image).
    var ownUnique: [UInt32: [[UInt8]: Set<[UInt8]>]] = [:]

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

    /// The catalog rights are decided on: this transaction's, or now's for a transaction that
    /// reads the past (the roles, privileges and policies of now decide every read).
    public var rightsCatalog: Catalog { historicalSeq == nil ? catalog : engine.latestCatalog }

    /// The catalog this transaction sees: its own DDL on top, else the catalog as of its reads.
    public var catalog: Catalog {
        let base: Catalog
        if let overlay {
            base = overlay
        } else {
            ensureSnapshot()
            base = engine.catalog(at: readSeq)
        }
        guard let temp = temporaryCatalog, !temp.tables.isEmpty || !temp.sequences.isEmpty else { return base }
        // Merged once per change (own DDL, the read point), not on every lookup.
        let baseKey = overlay == nil ? readSeq : UInt64.max
        if let m = mergedCatalog, m.base == baseKey, m.generation == catalogGeneration { return m.catalog }
        let merged = base.adding(temporary: temp)
        mergedCatalog = (baseKey, catalogGeneration, merged)
        return merged
    }

    /// Whether the transaction changed any schema (its catalog is its own, not a committed one).
    public var hasSchemaChanges: Bool { !ddl.isEmpty }

    /// The temporary tables this transaction sees (its own changes included).
    var temporaryCatalog: Catalog? { temporaryOverlay ?? temporary?.catalog }

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

    /// The store whose committed versions a history read walks; for a table this transaction
    /// created, an empty one (it has no committed version yet).
    public func committedStore(_ table: TableDef) throws -> TableStore { try store(table) }

    func store(_ table: TableDef) throws -> TableStore {
        if let s = engine.store(table.id) { return s }
        // A table this transaction created has no committed rows yet: an empty store stands in.
        if let s = ownTableStores[table.id] { return s }
        guard ddl.contains(where: { if case .createTable(let t) = $0.event { return t.id == table.id } else { return false } }) else {
            throw SQLError(.internalError, "table \(table.name) has no storage")
        }
        let s = TableStore(id: table.id)
        s.missing = table.missingValues
        return try s.lock.withWriteLock {
            for i in table.indexes { try s.addIndex(i, missing: s.missing) }
            ownTableStores[table.id] = s
            return s
        }
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
            if savepoints.isEmpty && acquired.count >= LockManager.bulkRelease {
                uncountedLocks += 1
            } else {
                acquired.append((target, wasNew))
            }
            return true
        }
    }

    /// Holds `table` against DDL (writers) or against everyone (DDL) until the transaction ends.
    public func lockTable(_ table: TableDef, _ mode: RowLockMode, wait: LockWait = .block) throws {
        if let held = tableLocks[table.id], held >= mode { return }
        _ = try lock(.table(table.id), mode, wait: wait, describe: "relation \"\(table.name)\"")
        tableLocks[table.id] = max(mode, tableLocks[table.id] ?? mode)
    }

    /// Locks a row for a write (or SELECT ... FOR UPDATE/SHARE) and returns the row to build on.
    /// In REPEATABLE READ and SERIALIZABLE a row changed after the snapshot fails with 40001.
    public func lockRow(_ table: TableDef, key: [UInt8], mode: RowLockMode, wait: LockWait = .block) throws -> LockedRow {
        try ensureWritable("SELECT " + mode.sqlName)
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

    /// Inserts a full row (one value per column position). A live row with the same primary key
    /// fails with 23505, as does a row whose values a unique index already holds. A table without
    /// a primary key gives the row a new hidden row id. Returns the row's key.
    @discardableResult
    public func insert(_ table: TableDef, _ values: [Value]) throws -> [UInt8] {
        try ensureWritable("INSERT")
        guard values.count == table.columns.count else {
            throw SQLError.bug("row width \(values.count) for \(table.columns.count) columns of \(table.name)")
        }
        try lockTable(table, .keyShare)
        let store = try store(table)
        let key = table.hasRowId ? KeyCodec.encode(.int(try store.allocateRowId())) : try primaryKey(table, values)
        _ = try lock(LockTarget(table: table.id, key: key), .update, wait: .block, describe: "row in relation \"\(table.name)\"")
        var existedBefore = false
        // Checking the key is free reads it (SSI: an insert conflicts with a reader of its absence).
        noteRead(table, key)
        let written = writes.find(table: table.id, key: key)
        if let i = written {
            let w = writes.write(i)
            if w.image != nil { throw duplicateKey(table, values) }
            existedBefore = w.existedBefore
        } else if let latest = key.withUnsafeBytes({ store.latestVersion(key: $0) }), !latest.isDelete {
            if isolation == .serializable && latest.seq > readSeq {
                throw SQLError(.serializationFailure, "could not serialize access due to concurrent insert",
                               hint: "The transaction might succeed if retried.")
            }
            throw duplicateKey(table, values)
        }
        try checkUnique(table, values, key: key, old: nil)
        // Unwritten a moment ago (checking uniqueness writes nothing): no second search.
        put(table, key: key, image: RowCodec.encode(values), existedBefore: existedBefore, unwritten: written == nil)
        noteUnique(table, values, key: key)
        return key
    }

    /// Replaces the row with `key` (which the caller has locked and found live). `old` is the
    /// row being replaced (unique indexes skip values that did not change).
    public func update(_ table: TableDef, key: [UInt8], _ values: [Value], old: [Value]? = nil) throws {
        try ensureWritable("UPDATE")
        guard values.count == table.columns.count else {
            throw SQLError.bug("row width \(values.count) for \(table.columns.count) columns of \(table.name)")
        }
        if !table.hasRowId {
            let newKey = try primaryKey(table, values)
            guard newKey == key else {
                // A key change is a delete of the old key and an insert of the new one.
                try delete(table, key: key)
                try insert(table, values)
                return
            }
        }
        try checkUnique(table, values, key: key, old: old)
        put(table, key: key, image: RowCodec.encode(values), existedBefore: true)
        noteUnique(table, values, key: key)
    }

    /// Deletes the row with `key` (which the caller has locked and found live).
    public func delete(_ table: TableDef, key: [UInt8]) throws {
        try ensureWritable("DELETE")
        put(table, key: key, image: nil, existedBefore: true)
    }

    // MARK: Unique indexes

    /// The lock that serialises writers of one value of one unique index.
    func uniqueLockTarget(_ table: TableDef, _ index: IndexDef, _ prefix: [UInt8]) -> LockTarget {
        var k: [UInt8] = [0x01]
        withUnsafeBytes(of: index.id.bigEndian) { k.append(contentsOf: $0) }
        return LockTarget(table: table.id, key: k + prefix)
    }

    /// Refuses a row whose values a unique index already holds for another live row: committed
    /// (as of now, not the snapshot: a concurrent writer of the same value is waited for through
    /// the value's lock), or written by this transaction. NULLs never conflict.
    func checkUnique(_ table: TableDef, _ values: [Value], key: [UInt8], old: [Value]?) throws {
        for index in table.indexes where index.unique {
            let vals = index.columns.map { values[$0] }
            if vals.contains(where: \.isNull) { continue }
            if let old, index.columns.allSatisfy({ compareValues(old[$0], values[$0]) == 0 }) { continue }
            var prefix: [UInt8] = []
            for v in vals { KeyCodec.append(v, to: &prefix) }
            _ = try lock(uniqueLockTarget(table, index, prefix), .update, wait: .block,
                         describe: "unique value in relation \"\(table.name)\"")
            // Committed rows holding the value now.
            let now = engine.visibleSeq
            var conflict: (seq: UInt64, other: [UInt8])?
            try store(table).indexScan(index, lower: IndexBound(prefix: prefix, inclusive: true),
                                       upper: IndexBound(prefix: prefix, inclusive: true), at: now, log: engine.log,
                                       missing: table.missingValues) { row in
                let other = Array(row.key)
                if other == key { return true }
                // This transaction may have changed or deleted that row.
                if let w = writes.find(table: table.id, key: other) {
                    guard let image = writes.write(w).image else { return true }
                    let mine = try decode(image, table)
                    if !index.columns.allSatisfy({ compareValues(mine[$0], values[$0]) == 0 }) { return true }
                }
                conflict = (row.version.seq, other)
                return false
            }
            if conflict == nil, let mine = ownUnique[index.id]?[prefix] {
                for other in mine where other != key {
                    guard let w = writes.find(table: table.id, key: other), let image = writes.write(w).image else { continue }
                    let row = try decode(image, table)
                    if index.columns.allSatisfy({ compareValues(row[$0], values[$0]) == 0 }) {
                        conflict = (0, other)
                        break
                    }
                }
            }
            noteRead(table, uniqueLockTarget(table, index, prefix).key)
            if let c = conflict {
                if isolation != .readCommitted && c.seq > readSeq {
                    throw SQLError(.serializationFailure, "could not serialize access due to concurrent insert",
                                   hint: "The transaction might succeed if retried.")
                }
                let cols = index.columns.map { table.columns[$0].name }.joined(separator: ", ")
                let shown = vals.map { $0.pgText ?? "null" }.joined(separator: ", ")
                throw SQLError(.uniqueViolation, "duplicate key value violates unique constraint \"\(index.name)\"",
                               detail: "Key (\(cols))=(\(shown)) already exists.")
            }
        }
    }

    /// Whether `key` has a live row now: this transaction's own write, or the newest committed
    /// version (not the snapshot's: ON CONFLICT sees rows committed since).
    public func latestLive(_ table: TableDef, key: [UInt8]) throws -> Bool {
        if let i = writes.find(table: table.id, key: key) { return writes.write(i).image != nil }
        guard let v = try key.withUnsafeBytes({ try store(table).latestVersion(key: $0) }) else { return false }
        return !v.isDelete
    }

    /// The key of a live row holding `values` in a unique index (own writes first, then the
    /// newest committed rows), if any.
    public func findUnique(_ table: TableDef, _ index: IndexDef, _ values: [Value]) throws -> [UInt8]? {
        var prefix: [UInt8] = []
        for v in values { KeyCodec.append(v, to: &prefix) }
        func holds(_ row: [Value]) -> Bool { zip(index.columns, values).allSatisfy { compareValues(row[$0], $1) == 0 } }
        for other in ownUnique[index.id]?[prefix] ?? [] {
            guard let w = writes.find(table: table.id, key: other), let image = writes.write(w).image else { continue }
            if holds(try decode(image, table)) { return other }
        }
        var found: [UInt8]?
        try store(table).indexScan(index, lower: IndexBound(prefix: prefix, inclusive: true),
                                   upper: IndexBound(prefix: prefix, inclusive: true), at: engine.visibleSeq, log: engine.log,
                                   missing: table.missingValues) { row in
            let other = Array(row.key)
            if let w = writes.find(table: table.id, key: other) {
                guard let image = writes.write(w).image, holds(try decode(image, table)) else { return true }
            }
            found = other
            return false
        }
        return found
    }

    /// Remembers which own row holds a unique value (checked against later own writes).
    func noteUnique(_ table: TableDef, _ values: [Value], key: [UInt8]) {
        for index in table.indexes where index.unique {
            let vals = index.columns.map { values[$0] }
            if vals.contains(where: \.isNull) { continue }
            var prefix: [UInt8] = []
            for v in vals { KeyCodec.append(v, to: &prefix) }
            ownUnique[index.id, default: [:]][prefix, default: []].insert(key)
        }
    }

    /// A hint that the current statement expects to write about `rows` rows (an INSERT ...
    /// SELECT's estimate): the write set makes room for them at once. At most 4M rows are
    /// reserved, whatever the estimate.
    public func expectWrites(_ rows: Double) {
        guard rows >= 1024, rows.isFinite else { return }
        let n = Int(min(rows, Double(1 << 22)))
        writes.reserve(n)
        engine.locks.reserve(n)
    }

    /// Records a write; `unwritten` when the caller has just found the key absent from the
    /// write set (it is not searched again).
    func put(_ table: TableDef, key: [UInt8], image: [UInt8]?, existedBefore: Bool, unwritten: Bool = false) {
        if unwritten {
            writes.putNew(table: table.id, key: key, image: image, existedBefore: existedBefore, order: orderCounter, command: command)
        } else {
            var existed = existedBefore
            if let i = writes.find(table: table.id, key: key) { existed = writes.write(i).existedBefore }
            writes.put(table: table.id, key: key, image: image, existedBefore: existed, order: orderCounter, command: command)
        }
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
