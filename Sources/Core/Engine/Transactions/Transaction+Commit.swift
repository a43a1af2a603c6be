import DriftStorage

/// What the applier needs of a committed transaction, in log order.
final class CommitContext: @unchecked Sendable {
    enum Event {
        case ddl(CatalogEvent)
        case row(RowOp, table: UInt32, key: [UInt8], image: [UInt8]?)
    }
    let events: [Event]
    init(events: [Event]) { self.events = events }
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
        let events = pendingEvents()
        if events.isEmpty {
            finish(committed: nil)
            return nil
        }
        if isolation == .serializable {
            do {
                try engine.ssi.preCommit(id)
            } catch {
                finish(committed: nil)
                throw error
            }
        }
        let logEvents = events.map { e -> LogEvent in
            switch e {
            case .ddl(let d):
                return LogEvent(type: .ddl, payload: d.encode())
            case let .row(op, table, key, image):
                return LogEvent(type: op.frameType, payload: RowEventCodec.encode(tableId: table, key: key, image: image))
            }
        }
        let request = CommitRequest(events: logEvents, context: CommitContext(events: events))
        do {
            try engine.logWriter().commit(request)
        } catch {
            finish(committed: nil)
            if let e = error as? StorageError { throw SQLError(storageError: e) }
            throw error
        }
        finish(committed: request.seq)
        return request.seq
    }

    /// Ends the transaction, discarding its writes.
    public func rollback() {
        guard state != .finished else { return }
        finish(committed: nil)
    }

    func finish(committed seq: UInt64?) {
        if isolation == .serializable {
            if let seq { engine.ssi.committed(id, seq: seq) } else { engine.ssi.aborted(id) }
        }
        engine.locks.release(txn: id, acquired.map(\.0))
        acquired = []
        tableLocks = [:]
        state = .finished
    }

    /// DDL and row writes merged by the order in which they first happened, with each
    /// key's final image: insert, update or delete relative to the committed state.
    func pendingEvents() -> [CommitContext.Event] {
        var ordered: [(Int, CommitContext.Event)] = ddl.map { ($0.order, .ddl($0.event)) }
        for w in writes.writes {
            let op: RowOp
            if w.image == nil {
                guard w.existedBefore else { continue }
                op = .delete
            } else {
                op = w.existedBefore ? .update : .insert
            }
            ordered.append((w.order, .row(op, table: w.tableId, key: w.key, image: w.image)))
        }
        return ordered.sorted { $0.0 < $1.0 }.map(\.1)
    }

    // MARK: Savepoints

    public func savepoint(_ name: String) throws {
        guard state == .active else {
            throw SQLError(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        savepoints.append(Savepoint(name: name, undoMark: writes.undo.count, ddlCount: ddl.count, overlay: overlay,
                                    acquiredCount: acquired.count, orderCounter: orderCounter))
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
        let newLocks = acquired[sp.acquiredCount...].filter { $0.1 }.map(\.0)
        engine.locks.release(txn: id, newLocks)
        acquired.removeSubrange(sp.acquiredCount...)
        tableLocks = tableLocks.filter { id, _ in !newLocks.contains(.table(id)) }
        state = .active
    }

    public func release(savepoint name: String) throws {
        guard state == .active else {
            throw SQLError(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        guard let i = savepoints.lastIndex(where: { $0.name == name }) else {
            throw SQLError(.invalidSavepointSpecification, "savepoint \"\(name)\" does not exist")
        }
        savepoints.removeSubrange(i...)
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
        overlay = current
        guard let event = try make(current) else { return nil }
        if case .createTable = event {} else if let t = current.table(id: event.tableId) {
            try lockTable(t, .update)
        }
        var next = current
        do {
            try next.apply(event)
        } catch let e as SQLError {
            throw e
        } catch {
            throw SQLError.bug("invalid schema change: \(error)")
        }
        overlay = next
        ddl.append((orderCounter, event))
        orderCounter += 1
        return event
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
