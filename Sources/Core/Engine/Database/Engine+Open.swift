import DriftStorage
import Logging

extension Engine {
    /// Opens (and with `create`, initialises) the database in `directory`: takes the owner
    /// lock, loads the newest snapshots, verifies every segment and replays the log after them.
    public static func open(at directory: String, config: EngineConfig = EngineConfig(),
                            fs: any FileSystem = PosixFileSystem(), clock: any WallClock = SystemClock(),
                            create: Bool = false, logger: Logger = Logger(label: "driftdb")) throws -> Engine {
        let started = monotonicNanos()
        if !exists(at: directory, fs: fs) {
            guard create else {
                throw StorageError.io(operation: "open database", path: directory, errno: 2)
            }
            try fs.createDirectory(directory)
        }
        let dirLock = try fs.lockDirectory(directory)
        do {
            let segDir = Path.join(directory, segmentsDirectory)
            let snapDir = Path.join(directory, snapshotsDirectory)
            if !fs.fileExists(segDir) || !fs.fileExists(snapDir) {
                try fs.createDirectory(segDir)
                try fs.createDirectory(snapDir)
                try fs.syncDirectory(directory)
            }
            let log = Log(fs: fs, directory: segDir, segments: [], cache: BlockCache(bytesMax: config.blockCacheBytes))
            let engine = Engine(directory: directory, fs: fs, config: config, clock: clock, logger: logger,
                                dirLock: dirLock, log: log)
            try engine.recover(started: started)
            return engine
        } catch {
            dirLock.release()
            throw error
        }
    }

    private func recover(started: UInt64) throws {
        let loaded = try SnapshotStore(engine: self).load(mode: .open)
        try install(loaded)
        // Replay from the oldest point some table's state is missing: its snapshot, or its creation.
        var replayFrom = loaded.metaSeq
        for (seq, event) in catalogHistory.events {
            if case .createTable(let t) = event {
                replayFrom = min(replayFrom, loaded.tables[t.id]?.seq ?? seq - 1)
            }
        }
        let tableSeqs = loaded.tables.mapValues(\.seq)
        let scanner = LogScanner(fs: fs, directory: log.directory, cache: log.cache, mode: .open, logger: logger,
                                 policy: config.recovery, quarantineDirectory: Path.join(directory, Engine.quarantineDirectory))
        var replayed = 0, events = 0, bytes = 0
        let report = try scanner.scan(deliverAfter: replayFrom) { t in
            try replay(t, metaSeq: loaded.metaSeq, tableSeqs: tableSeqs)
            replayed += 1
            events += t.frames.count
            bytes += t.frames.reduce(0) { $0 + $1.totalLength }
        }
        guard report.lastSeq >= loaded.metaSeq else {
            throw StorageError.corrupt(file: loaded.files.first ?? "snapshot", offset: 0,
                                       reason: "snapshot at seq \(loaded.metaSeq) is ahead of the log, which ends at seq \(report.lastSeq)")
        }
        for s in report.segments { log.add(s) }
        // A table dropped before its snapshot was taken comes back from it with its rows' images.
        let latest = catalogHistory.latest
        for (id, s) in stores where latest.table(id: id) == nil && !s.retired { s.lock.withWriteLock { s.retire() } }
        visible.store(report.lastSeq, ordering: .releasing)
        writer = try LogWriter(log: log, config: LogWriterConfig(durability: config.durability, segmentBytesMax: config.segmentBytesMax,
                                                                 applyDuringSyncEventsMin: config.applyDuringSyncEventsMin,
                                                                 preallocateBytes: config.preallocateBytes),
                               clock: clock, lastSeq: report.lastSeq, lastTimestamp: report.lastTimestamp,
                               applier: self, logger: logger)
        recovery = RecoveryInfo(snapshotSeq: loaded.metaSeq, snapshotFiles: loaded.files,
                                replayedTransactions: replayed, replayedEvents: events, tornCuts: report.tornCuts,
                                durationMicros: Int64((monotonicNanos() - started) / 1000), lastSeq: report.lastSeq)
        EngineMetrics.shared.recovery.record(Double(recovery.durationMicros) / 1_000_000)
        EngineMetrics.shared.visibleSeq.record(Int64(truncatingIfNeeded: report.lastSeq))
        try snapshots.start(engine: self, eventsSince: events, bytesSince: bytes)
        if !report.tornCuts.isEmpty || replayed > 0 {
            logger.info("recovered", metadata: ["seq": "\(report.lastSeq)", "replayed": "\(replayed)",
                                                "snapshot_seq": "\(loaded.metaSeq)", "torn_cuts": "\(report.tornCuts.count)"])
        }
    }

    /// Puts a loaded snapshot's state in place.
    private func install(_ loaded: LoadedSnapshot) throws {
        var history = CatalogHistory()
        var i = 0
        for (s, e) in loaded.ddl {
            if case let .sequenceState(id, last, called) = e { noteSequenceState(id, last: last, called: called, seq: s) }
        }
        let evs = loaded.ddl.filter { !$0.1.isSequenceState }
        while i < evs.count {
            var j = i
            while j < evs.count && evs[j].0 == evs[i].0 { j += 1 }
            try history.apply(evs[i..<j].map(\.1), seq: evs[i].0)
            i = j
        }
        catalogHistory = history
        timestamps = loaded.timestamps
        for (id, t) in loaded.tables { stores[id] = t.store }
        let latest = history.latest
        for (id, s) in stores { s.missing = (latest.table(id: id) ?? history.lastDefinition(of: id))?.missingValues ?? [] }
        nextTableId = loaded.nextTableId
        nextIndexId = loaded.nextIndexId
    }

    /// Applies one committed transaction read from the log during recovery. Events already in the
    /// snapshot are skipped: DDL up to the meta snapshot's seq, rows up to their table's snapshot seq.
    func replay(_ t: TransactionFrames, metaSeq: UInt64, tableSeqs: [UInt32: UInt64]) throws {
        let seq = t.seq
        let fresh = seq > metaSeq
        var catalog = fresh ? catalogHistory.latest : catalogHistory.at(seq)
        var ddl: [CatalogEvent] = []
        let segmentPath = Path.join(log.directory, SegmentHeader.fileName(t.segment))
        for f in t.frames {
            let payload = f.payload(in: t.bytes)
            let location = Location(segment: t.segment, offset: f.offset)
            do {
                guard let type = f.type else { throw DecodeError("unknown event type \(f.rawType)", offset: 0) }
                switch type {
                case .ddl:
                    let event = try CatalogEvent.decode(payload)
                    if case let .sequenceState(id, last, called) = event {
                        noteSequenceState(id, last: last, called: called, seq: seq)
                        continue
                    }
                    if fresh {
                        try catalog.apply(event)
                        ddl.append(event)
                    }
                    if seq > tableSeqs[event.tableId, default: 0] { try storeEffect(event, catalog: catalog, seq: seq, location: location) }
                case .insert, .update, .delete:
                    let (table, key, image) = try RowEventCodec.decode(payload)
                    guard seq > tableSeqs[table, default: 0] else { continue }
                    guard let store = stores[table] else {
                        throw DecodeError("row event for table \(table), which does not exist", offset: 0)
                    }
                    try store.apply(op: RowOp(type), key: key, image: image, seq: seq, location: location,
                                    frameBytes: f.totalLength, missing: store.missing)
                }
            } catch let e as StorageError {
                throw e
            } catch {
                throw StorageError.corrupt(file: segmentPath, offset: UInt64(f.offset), reason: "event does not decode: \(error)")
            }
        }
        if fresh {
            try catalogHistory.apply(ddl, seq: seq)
            guard timestamps.count == Int(seq - 1) else {
                throw StorageError.corrupt(file: segmentPath, offset: UInt64(t.frames[0].offset),
                                           reason: "seq \(seq) does not follow the snapshot's \(timestamps.count)")
            }
            timestamps.append(t.timestamp)
        }
        noteIds(ddl)
    }

    /// Keeps table and index id counters above every id the log has used.
    func noteIds(_ events: [CatalogEvent]) {
        guard !events.isEmpty else { return }
        idLock.withLock {
            for e in events {
                nextTableId = max(nextTableId, e.tableId + 1)
                if case .createIndex(_, let i) = e { nextIndexId = max(nextIndexId, i.id + 1) }
                if case .createTable(let t) = e { for i in t.indexes { nextIndexId = max(nextIndexId, i.id + 1) } }
            }
        }
    }

    /// What a DDL event does to the stores: creates a table's store and its indexes, builds
    /// a new index from the live rows, drops an index, refreshes missing-column values.
    func storeEffect(_ event: CatalogEvent, catalog: Catalog, seq: UInt64, location: Location) throws {
        let id = event.tableId
        switch event {
        case .truncateTable:
            guard let s = store(id) else { throw SQLError.bug("TRUNCATE names table \(id), which has no storage") }
            s.lock.withWriteLock { s.truncate(seq: seq, location: location) }
        case .createTable(let t):
            let s = TableStore(id: t.id)
            s.missing = t.missingValues
            for i in t.indexes { try s.addIndex(i, missing: s.missing) }
            stateLock.withWriteLock { stores[t.id] = s }
        case .createIndex(_, let def):
            guard let s = store(id) else { return }
            try s.lock.withWriteLock { try s.addIndex(def, missing: s.missing) }
        case .dropTable:
            // History only from here on: the rows' memory goes (reads before the drop use the log).
            guard let s = store(id) else { return }
            s.lock.withWriteLock { s.retire() }
        case .dropSequence(let id):
            forgetSequence(id)
        default:
            guard let s = store(id), let t = catalog.table(id: id) else { return }
            s.lock.withWriteLock {
                s.missing = t.missingValues
                for indexId in s.indexDefs.keys where !t.indexes.contains(where: { $0.id == indexId }) { s.dropIndex(indexId) }
            }
        }
    }
}
