import DriftStorage

/// One session's temporary tables (CREATE TEMP TABLE): defined and stored in memory only,
/// never logged, never in a snapshot, gone when the session ends.
///
/// Their schema changes and rows go through the session's transactions like any other (so
/// a rollback undoes them and the executor reads them as it reads every table); at commit
/// the transaction applies them here instead of to the log. With nothing logged there is no
/// past to read: a temporary table keeps only its newest versions and is invisible AS OF a seq.
public final class TemporaryTables: @unchecked Sendable {
    /// The schema temporary objects live in (PostgreSQL's alias for a session's own pg_temp_N).
    public static let schema = "pg_temp"

    let engine: Engine
    let lock = Lock()
    private var committed: Catalog

    public init(engine: Engine) {
        self.engine = engine
        var c = Catalog()
        c.schemas = [Self.schema]
        committed = c
    }

    /// The committed temporary tables and sequences.
    public var catalog: Catalog { lock.withLock { committed } }

    /// Changes with every committed change to the temporary tables' definitions.
    public var generation: Int { lock.withLock { changes } }
    private var changes = 0

    public var isEmpty: Bool { lock.withLock { committed.tables.isEmpty && committed.sequences.isEmpty } }

    /// Whether a schema change concerns a temporary object of `temp` (or creates one).
    static func owns(_ event: CatalogEvent, in temp: Catalog) -> Bool {
        switch event {
        case .createTable(let t): return t.schema == schema
        case .createSequence(let s): return s.schema == schema
        case .alterSequence(let s): return temp.sequences[s.id] != nil
        case .dropSequence(let id), .sequenceState(let id, _, _): return temp.sequences[id] != nil
        case .createSchema, .dropSchema, .createEnum, .dropEnum, .createView, .dropView, .createRole, .dropRole,
             .setACL(.schema, _), .dropPolicy: return false
        default: return temp.tables[event.tableId] != nil
        }
    }

    /// Applies a committed transaction's temporary schema changes and rows, in order, at `seq`.
    func apply(_ events: [CommitContext.Event], seq: UInt64) throws {
        try lock.withLock {
            var catalog = committed
            for event in events {
                switch event {
                case .ddl(let e):
                    try catalog.apply(e)
                    try effect(e, catalog: catalog, seq: seq)
                case let .row(op, table, key, image):
                    guard let s = engine.stateLock.withReadLock({ engine.temporaryStores[table] }) else {
                        throw SQLError.bug("temporary table \(table) has no storage")
                    }
                    try key.withUnsafeBytes { k in
                        try (image ?? []).withUnsafeBytes { img in
                            try s.lock.withWriteLock {
                                try s.apply(op: op, key: k, image: img, seq: seq, location: Location(raw: 0), frameBytes: 0,
                                            missing: s.missing)
                            }
                        }
                    }
                }
            }
            if events.contains(where: { if case .ddl = $0 { return true } else { return false } }) { changes += 1 }
            committed = catalog
        }
    }

    private func effect(_ event: CatalogEvent, catalog: Catalog, seq: UInt64) throws {
        switch event {
        case .createTable(let t):
            let s = TableStore(id: t.id)
            s.temporary = true
            s.missing = t.missingValues
            for i in t.indexes { try s.addIndex(i, missing: s.missing) }
            engine.stateLock.withWriteLock { engine.temporaryStores[t.id] = s }
        case .dropTable(let id):
            engine.stateLock.withWriteLock { engine.temporaryStores[id] = nil }
        case .createIndex(let id, let def):
            guard let s = engine.store(id) else { return }
            try s.lock.withWriteLock { try s.addIndex(def, missing: s.missing) }
        case .truncateTable(let id):
            guard let s = engine.store(id) else { return }
            s.lock.withWriteLock { s.truncate(seq: seq, location: Location(raw: 0)) }
        case .dropSequence(let id):
            engine.forgetSequence(id)
        case .createSequence, .alterSequence, .sequenceState:
            return
        default:
            guard let s = engine.store(event.tableId), let t = catalog.table(id: event.tableId) else { return }
            s.lock.withWriteLock {
                s.missing = t.missingValues
                for indexId in s.indexDefs.keys where !t.indexes.contains(where: { $0.id == indexId }) { s.dropIndex(indexId) }
            }
        }
    }

    /// Drops every temporary table and sequence (the session ended, or DISCARD TEMP).
    public func dropAll() {
        lock.withLock {
            engine.stateLock.withWriteLock {
                for id in committed.tables.keys { engine.temporaryStores[id] = nil }
            }
            for id in committed.sequences.keys { engine.forgetSequence(id) }
            var c = Catalog()
            c.schemas = [Self.schema]
            committed = c
            changes += 1
        }
    }
}
