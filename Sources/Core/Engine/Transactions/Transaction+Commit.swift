import DriftStorage

/// What the applier needs of a committed transaction besides its log events: the schema
/// changes (by event index; every other event is a row write, read from its log event).
final class CommitContext: @unchecked Sendable {
    /// A transaction's change before it is logged (temporary tables apply these directly).
    enum Event {
        case ddl(CatalogEvent)
        case row(RowOp, table: UInt32, key: [UInt8], image: [UInt8]?)
    }
    /// Schema changes with the index of their log event, ascending.
    let ddl: [(index: Int, event: CatalogEvent)]
    /// The SERIALIZABLE transaction committing, which the applier marks committed before its
    /// seq becomes visible.
    let serializableTxn: UInt64?
    init(ddl: [(index: Int, event: CatalogEvent)], serializableTxn: UInt64?) {
        self.ddl = ddl
        self.serializableTxn = serializableTxn
    }
}

/// A transaction's logged events: what the log writer encodes, and the schema changes among
/// them for the applier.
struct PendingLog {
    var events: [LogEvent] = []
    var ddl: [(index: Int, event: CatalogEvent)] = []

    mutating func append(_ e: CommitContext.Event) {
        switch e {
        case .ddl(let d): appendDDL(d)
        case let .row(op, table, key, image): appendRow(op, table: table, key: key, image: image)
        }
    }

    mutating func appendDDL(_ d: CatalogEvent) {
        ddl.append((events.count, d))
        events.append(LogEvent(type: .ddl, payload: d.encode()))
    }

    @inline(__always)
    mutating func appendRow(_ op: RowOp, table: UInt32, key: [UInt8], image: [UInt8]?) {
        events.append(RowEventCodec.logEvent(op.frameType, tableId: table, key: key, image: image))
    }
}

extension Transaction {
    /// Commits: returns the seq once the transaction is durable and visible, nil for a
    /// transaction that wrote nothing (read-only transactions take no seq).
    @discardableResult
    public func commit() throws -> UInt64? {
        switch state {
        case .finished:
            throw SQLError(.noActiveSQLTransaction, "there is no transaction in progress")
        case .failed:
            finish(committed: nil)
            throw SQLError(.inFailedSQLTransaction, "current transaction is aborted; it was rolled back")
        case .active:
            break
        }
        var pending = PendingLog()
        var temporaryEvents: [CommitContext.Event] = []
        var ids: Set<UInt32> = []
        if let temp = temporary {
            // A session's temporary tables are applied in memory, never logged.
            let committedTemp = temp.catalog
            ids = temporaryIds.union(committedTemp.tables.keys).union(committedTemp.sequences.keys)
        }
        if ids.isEmpty && !ddl.contains(where: { if case .truncateTable = $0.event { return true } else { return false } }) {
            pending = pendingLog()
        } else {
            for e in pendingEvents() {
                switch e {
                case .ddl(let d) where ids.contains(d.tableId): temporaryEvents.append(e)
                case let .row(_, table, _, _) where ids.contains(table): temporaryEvents.append(e)
                default: pending.append(e)
                }
            }
        }
        let events = pending.events
        if events.isEmpty {
            if !temporaryEvents.isEmpty {
                do {
                    try temporary?.apply(temporaryEvents, seq: engine.visibleSeq)
                } catch {
                    finish(committed: nil)
                    throw error
                }
            }
            // A read-only SERIALIZABLE transaction is checked too, and its reads stay known
            // while transactions that overlap it run (the read-only anomaly needs them).
            if isolation == .serializable && historicalSeq == nil && snapshotTaken {
                do {
                    try engine.ssi.commitReadOnly(id) { engine.visibleSeq }
                } catch {
                    finish(committed: nil)
                    throw error
                }
            }
            finish(committed: nil)
            return nil
        }
        try checkFrameLimits(events)
        if isolation == .serializable {
            do {
                try engine.ssi.preCommit(id)
            } catch {
                finish(committed: nil)
                throw error
            }
        }
        let request = CommitRequest(events: events,
                                    context: CommitContext(ddl: pending.ddl, serializableTxn: isolation == .serializable ? id : nil),
                                    appliesBeforeSync: pending.ddl.isEmpty)
        do {
            try engine.logWriter().commit(request)
        } catch {
            finish(committed: nil)
            if let e = error as? StorageError { throw SQLError(storageError: e) }
            throw error
        }
        finish(committed: request.seq)
        if !temporaryEvents.isEmpty { try temporary?.apply(temporaryEvents, seq: request.seq) }
        return request.seq
    }

    /// Ends the transaction, discarding its writes.
    public func rollback() {
        guard state != .finished else { return }
        finish(committed: nil)
    }

    func finish(committed seq: UInt64?) {
        // A committed writer was marked committed by the applier; a read-only commit by its
        // check. Anything else ends here (a no-op for those).
        if isolation == .serializable && seq == nil { engine.ssi.aborted(id) }
        engine.locks.releaseAll(txn: id, acquired.map(\.0), more: uncountedLocks)
        acquired = []
        uncountedLocks = 0
        tableLocks = [:]
        state = .finished
    }

    /// Refuses, before anything is written, a transaction the log could not hold: a frame
    /// whose body passes the frame limit (a row too large, 54000), as `Frame.parse` would
    /// treat it as damage.
    func checkFrameLimits(_ events: [LogEvent]) throws {
        for e in events {
            guard let (table, _) = e.leadingVarints else { continue }
            let body = Frame.bodyBytesMin + 10 + e.payloadCount
            guard body <= Limits.frameBytesMax else {
                let name = engine.definition(of: UInt32(truncatingIfNeeded: table), at: engine.visibleSeq)?.name ?? "\(table)"
                finish(committed: nil)
                throw SQLError(.programLimitExceeded, "row is too big: size \(body), maximum size \(Limits.frameBytesMax)",
                               detail: "A row of relation \"\(name)\" does not fit one log frame.")
            }
        }
    }

    /// The log events of `pendingEvents()` when no table was truncated and none is
    /// temporary, built straight from the write set (no event list in between).
    func pendingLog() -> PendingLog {
        var out = PendingLog()
        out.events.reserveCapacity(ddl.count + writes.writes.count)
        var d = 0
        for w in writes.writes {
            while d < ddl.count && ddl[d].order < w.order {
                out.appendDDL(ddl[d].event)
                d += 1
            }
            guard let op = Self.rowOp(w) else { continue }
            out.appendRow(op, table: w.tableId, key: w.key, image: w.image)
        }
        while d < ddl.count {
            out.appendDDL(ddl[d].event)
            d += 1
        }
        return out
    }

    /// DDL and row writes merged by the order in which they first happened, with each
    /// key's final image: insert, update or delete relative to the committed state.
    ///
    /// (The general form, for commits with a TRUNCATE or temporary tables; `pendingLog` is
    /// the common case.) A truncated table's writes are relative to the transaction's last TRUNCATE of it: the
    /// truncate event deletes every row, so deletes are dropped and surviving rows (all
    /// written after that truncate) are inserts placed after it.
    func pendingEvents() -> [CommitContext.Event] {
        var truncatedAt: [UInt32: Int] = [:]
        for d in ddl { if case .truncateTable(let id) = d.event { truncatedAt[id] = d.order } }
        var ordered: [(Int, Int, CommitContext.Event)] = ddl.map { ($0.order, 0, .ddl($0.event)) }
        for w in writes.writes {
            if let at = truncatedAt[w.tableId] {
                guard w.image != nil else { continue }
                ordered.append((max(w.order, at), 1, .row(.insert, table: w.tableId, key: w.key, image: w.image)))
                continue
            }
            guard let op = Self.rowOp(w) else { continue }
            ordered.append((w.order, 0, .row(op, table: w.tableId, key: w.key, image: w.image)))
        }
        return ordered.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }

    /// The logged event of a write: insert, update or delete, or none (a row the transaction
    /// inserted and deleted again).
    static func rowOp(_ w: WriteSet.Write) -> RowOp? {
        if w.image == nil { return w.existedBefore ? .delete : nil }
        return w.existedBefore ? .update : .insert
    }

    /// TRUNCATE: one logged event that deletes every row of `table` live when it commits
    /// (history before it stays readable). Like any DDL it takes the table against all
    /// writers until the transaction ends; the transaction's own later reads find the table
    /// empty (each row it saw is marked deleted in its write set, which the commit folds
    /// into the one event).
    public func truncate(_ table: TableDef) throws {
        try ensureWritable("TRUNCATE")
        try applyDDL { catalog in
            guard catalog.table(id: table.id) != nil else {
                throw SQLError(.undefinedTable, "relation \"\(table.name)\" does not exist")
            }
            return .truncateTable(table.id)
        }
        var keys: [[UInt8]] = []
        try scan(table) { row in
            keys.append(Array(row.key))
            return true
        }
        for k in keys { put(table, key: k, image: nil, existedBefore: true) }
    }

    // MARK: Savepoints

    public func savepoint(_ name: String) throws {
        guard state == .active else {
            throw SQLError(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        savepoints.append(Savepoint(name: name, undoMark: writes.mark, ddlCount: ddl.count, overlay: overlay,
                                    temporaryOverlay: temporaryOverlay,
                                    acquiredCount: acquired.count, orderCounter: orderCounter))
        // SAVEPOINT, ROLLBACK TO and RELEASE are statements: later ones see what came before.
        command += 1
    }

    /// Undoes everything since the newest savepoint of that name, which stays defined.
    public func rollback(toSavepoint name: String) throws {
        guard state != .finished else { throw SQLError(.noActiveSQLTransaction, "there is no transaction in progress") }
        guard let i = savepoints.lastIndex(where: { $0.name == name }) else {
            throw SQLError(.invalidSavepointSpecification, "savepoint \"\(name)\" does not exist")
        }
        let sp = savepoints[i]
        savepoints.removeSubrange((i + 1)...)
        writes.rollback(to: sp.undoMark)
        ddl.removeSubrange(sp.ddlCount...)
        overlay = sp.overlay
        temporaryOverlay = sp.temporaryOverlay
        catalogGeneration += 1
        let newLocks = acquired[sp.acquiredCount...].filter { $0.1 }.map(\.0)
        engine.locks.release(txn: id, newLocks)
        acquired.removeSubrange(sp.acquiredCount...)
        tableLocks = tableLocks.filter { id, _ in !newLocks.contains(.table(id)) }
        state = .active
        command += 1
    }

    public func release(savepoint name: String) throws {
        guard state == .active else {
            throw SQLError(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        guard let i = savepoints.lastIndex(where: { $0.name == name }) else {
            throw SQLError(.invalidSavepointSpecification, "savepoint \"\(name)\" does not exist")
        }
        savepoints.removeSubrange(i...)
        command += 1
    }

    // MARK: DDL

    /// Runs a schema change inside the transaction: serialises with other DDL (the catalog
    /// lock), locks the table it changes, validates the event against the transaction's
    /// catalog and buffers it for the commit.
    /// `make` sees the newest catalog (with this transaction's own changes) and returns the
    /// event, or nil when there is nothing to change after all.
    @discardableResult
    public func applyDDL(_ make: (Catalog) throws -> CatalogEvent?) throws -> CatalogEvent? {
        try ensureWritable("DDL")
        _ = try lock(.catalog, .update, wait: .block, describe: "the catalog")
        let current = overlay ?? engine.latestCatalog
        let temp = temporaryCatalog
        let seen = temp.map { current.adding(temporary: $0) } ?? current
        guard let event = try make(seen) else { return nil }
        if let temp, TemporaryTables.owns(event, in: temp) {
            // A temporary object's change stays in the session: applied at commit, never logged.
            if let t = temp.table(id: event.tableId) { try lockTable(t, .update) }
            temporaryOverlay = try Self.applying(event, to: temp)
            temporaryIds.insert(event.tableId)
        } else {
            overlay = current
            if case .createTable = event {} else if let t = current.table(id: event.tableId) {
                try lockTable(t, .update)
            }
            overlay = try Self.applying(event, to: current)
        }
        catalogGeneration += 1
        ddl.append((orderCounter, event))
        orderCounter += 1
        return event
    }

    /// `catalog` with `event` applied; a change the catalog refuses is a bug of the caller
    /// (SQL errors it raises itself pass through).
    static func applying(_ event: CatalogEvent, to catalog: Catalog) throws -> Catalog {
        var next = catalog
        do {
            try next.apply(event)
        } catch let e as SQLError {
            throw e
        } catch {
            throw SQLError.bug("invalid schema change: \(error)")
        }
        return next
    }

    public func allocateTableId() -> UInt32 { engine.allocateTableId() }
    public func allocateIndexId() -> UInt32 { engine.allocateIndexId() }
}

extension SQLError {
    /// The error a client sees for a storage failure.
    public init(storageError e: StorageError) {
        switch e {
        case .noSpace:
            self.init(.diskFull, "could not write to the log: No space left on device",
                      detail: e.description, hint: "Free some disk space; writes resume once space is available.")
        case .closed:
            self.init(.adminShutdown, "terminating transaction because the database is shutting down")
        case .corrupt:
            self.init(.dataCorrupted, e.description)
        default:
            self.init(.ioError, e.description)
        }
    }
}
