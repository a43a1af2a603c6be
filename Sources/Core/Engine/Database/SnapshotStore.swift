import DriftStorage

/// The state a set of snapshot files provides.
struct LoadedSnapshot {
    /// Seq of the catalog and commit-time state (the newest file's).
    var metaSeq: UInt64 = 0
    var ddl: [(UInt64, CatalogEvent)] = []
    var timestamps: [Int64] = []
    var nextTableId: UInt32 = 1
    var nextIndexId: UInt32 = 1
    /// Each table's state, from the newest file that holds it.
    var tables: [UInt32: (seq: UInt64, store: TableStore)] = [:]
    var files: [String] = []
}

/// Snapshot files: `snapshots/<seq>-all.snap` holds every table, `<seq>-t<id>.snap` one table
/// (`SNAPSHOT t`). Every file also holds the catalog history and commit times up to its seq.
///
/// Content (inside the `SnapshotFile` container), as sections:
///
///     1 meta:  [varint next table id][varint next index id][varint n][n × (varint seq, bytes event)]
///              [varint m][m × zig-zag commit-time delta]
///     2 table: [varint id][varint keys]
///              keys × ([bytes key][varint versions][versions × (varint seq delta, u8 op, u64 location)]
///                      [varint image length + 1, or 0][image])
///              [varint indexes] indexes × ([varint id][varint n][n × (bytes key, varint key position)])
///     0 end
struct SnapshotStore {
    enum Scope: Equatable {
        case all
        case table(UInt32)
    }

    let engine: Engine
    var directory: String { Path.join(engine.directory, Engine.snapshotsDirectory) }

    static func fileName(seq: UInt64, scope: Scope) -> String {
        let digits = String(seq)
        let padded = String(repeating: "0", count: max(0, 20 - digits.count)) + digits
        switch scope {
        case .all: return padded + "-all.snap"
        case .table(let id): return padded + "-t\(id).snap"
        }
    }

    static func parseName(_ name: String) -> (UInt64, Scope)? {
        guard name.hasSuffix(".snap"), let dash = name.firstIndex(of: "-"),
              let seq = UInt64(name[..<dash]) else { return nil }
        let rest = name[name.index(after: dash)...].dropLast(5)
        if rest == "all" { return (seq, .all) }
        if rest.hasPrefix("t"), let id = UInt32(rest.dropFirst()) { return (seq, .table(id)) }
        return nil
    }

    /// The snapshot files present, newest first.
    func files() throws -> [(name: String, seq: UInt64, scope: Scope)] {
        try engine.fs.listDirectory(directory).compactMap { name in
            Self.parseName(name).map { (name, $0.0, $0.1) }
        }.sorted { $0.seq != $1.seq ? $0.seq > $1.seq : $0.name > $1.name }
    }

    /// Loads the newest full snapshot and any table snapshots newer than it. Every file
    /// present is read and verified; a damaged one refuses the open with its file and offset.
    func load(mode: LogScanner.Mode) throws -> LoadedSnapshot {
        if mode == .open {
            for name in try engine.fs.listDirectory(directory) where name.hasSuffix(".tmp") {
                try engine.fs.remove(Path.join(directory, name))
            }
        }
        let all = try files()
        var result = LoadedSnapshot()
        let newestFull = all.first { $0.scope == .all }?.seq
        var first = true
        for f in all {
            let path = Path.join(directory, f.name)
            let (header, content) = try SnapshotFile.read(fs: engine.fs, path: path)
            guard header.seq == f.seq else {
                throw StorageError.corrupt(file: path, offset: 16, reason: "header seq \(header.seq) differs from the file name")
            }
            if let full = newestFull, f.seq < full { continue }
            try decode(content, path: path, seq: f.seq, withMeta: first, into: &result)
            result.files.append(path)
            first = false
        }
        return result
    }

    private func decode(_ content: [UInt8], path: String, seq: UInt64, withMeta: Bool, into result: inout LoadedSnapshot) throws {
        try content.withUnsafeBytes { buf in
            var r = ByteReader(buf)
            do {
                while true {
                    let section = try r.u8()
                    switch section {
                    case 0:
                        return
                    case 1:
                        let meta = try Self.decodeMeta(&r)
                        if withMeta {
                            result.metaSeq = seq
                            result.ddl = meta.ddl
                            result.timestamps = meta.timestamps
                            result.nextTableId = meta.nextTableId
                            result.nextIndexId = meta.nextIndexId
                        }
                    case 2:
                        var history = CatalogHistory()
                        for (s, e) in result.ddl where s <= seq { try history.apply([e], seq: s) }
                        let store = try Self.decodeTable(&r, catalog: history)
                        if result.tables[store.id] == nil { result.tables[store.id] = (seq, store) }
                    default:
                        throw DecodeError("unknown snapshot section \(section)", offset: r.position - 1)
                    }
                }
            } catch let e as StorageError {
                throw e
            } catch {
                throw StorageError.corrupt(file: path, offset: 0, reason: "snapshot content does not decode: \(error)")
            }
        }
    }

    struct Meta {
        var nextTableId: UInt32
        var nextIndexId: UInt32
        var ddl: [(UInt64, CatalogEvent)]
        var timestamps: [Int64]
    }

    static func decodeMeta(_ r: inout ByteReader) throws -> Meta {
        let nt = UInt32(truncatingIfNeeded: try r.varint())
        let ni = UInt32(truncatingIfNeeded: try r.varint())
        let n = try r.count(max: r.remaining)
        var ddl: [(UInt64, CatalogEvent)] = []
        ddl.reserveCapacity(n)
        for _ in 0..<n {
            let s = try r.varint()
            ddl.append((s, try CatalogEvent.decode(try r.lengthPrefixed())))
        }
        let m = try r.count(max: r.remaining)
        var ts: [Int64] = []
        ts.reserveCapacity(m)
        var prev: Int64 = 0
        for _ in 0..<m {
            prev += try r.zigzag()
            ts.append(prev)
        }
        return Meta(nextTableId: nt, nextIndexId: ni, ddl: ddl, timestamps: ts)
    }

    static func decodeTable(_ r: inout ByteReader, catalog: CatalogHistory) throws -> TableStore {
        let id = UInt32(truncatingIfNeeded: try r.varint())
        let store = TableStore(id: id)
        let n = try r.count(max: r.remaining)
        try store.loadEntries(count: n, from: &r)
        let def = catalog.lastDefinition(of: id)
        store.missing = def?.missingValues ?? []
        let indexCount = try r.count(max: 10_000)
        for _ in 0..<indexCount {
            let indexId = UInt32(truncatingIfNeeded: try r.varint())
            let entries = try r.count(max: r.remaining)
            let tree = BTree()
            for _ in 0..<entries {
                let key = try r.byteArray()
                let entry = try r.varint()
                guard entry < UInt64(n) else { throw DecodeError("index entry names key \(entry) of \(n)", offset: r.position) }
                tree.insert(key, Int32(entry))
            }
            guard let indexDef = def?.indexes.first(where: { $0.id == indexId }) else { continue }
            store.indexes[indexId] = tree
            store.indexDefs[indexId] = indexDef
        }
        return store
    }

    // MARK: Writing

    /// Writes a snapshot of every table (`.all`) or one table as of the visible seq, after making
    /// the log durable up to it. Returns the file path and its size.
    func write(scope: Scope) throws -> (path: String, seq: UInt64, bytes: Int) {
        // Everything visible has been written; sync it so the snapshot is never ahead of the
        // durable log (batch and none durability acknowledge before syncing).
        let seq = engine.visibleSeq
        try engine.logWriter().syncNow()
        let path = Path.join(directory, Self.fileName(seq: seq, scope: scope))
        let out = try SnapshotFileWriter(fs: engine.fs, path: path, seq: seq, createdMicros: wallClockMicros())
        do {
            var w = ByteWriter(capacity: 1 << 20)
            try writeMeta(seq: seq, into: &w)
            try out.append(&w)
            let ids: [UInt32]
            switch scope {
            case .all: ids = engine.stateLock.withReadLock { engine.stores.keys.sorted() }
            case .table(let id): ids = [id]
            }
            for id in ids {
                guard let store = engine.store(id) else { continue }
                w.u8(2)
                try store.writeSnapshot(at: seq, log: engine.log, into: &w) { try out.append(&$0) }
            }
            w.u8(0)
            try out.append(&w)
            let size = try out.finish()
            try removeSuperseded(by: seq, scope: scope)
            return (path, seq, size)
        } catch {
            out.abort()
            throw error
        }
    }

    private func writeMeta(seq: UInt64, into w: inout ByteWriter) throws {
        var (events, times) = engine.stateLock.withReadLock {
            (engine.catalogHistory.events.filter { $0.seq <= seq }, Array(engine.timestamps.prefix(Int(clamping: seq))))
        }
        // Sequences' states, each with the seq of the event it comes from (possibly past the
        // snapshot's: replay then skips older events for it).
        events += engine.sequenceStateEvents
        let (nt, ni) = engine.idLock.withLock { (engine.nextTableId, engine.nextIndexId) }
        w.u8(1)
        w.varint(UInt64(nt))
        w.varint(UInt64(ni))
        w.varint(UInt64(events.count))
        for (s, e) in events {
            w.varint(s)
            w.lengthPrefixed(e.encode())
        }
        w.varint(UInt64(times.count))
        var prev: Int64 = 0
        for t in times {
            w.zigzag(t - prev)
            prev = t
        }
    }

    /// Removes files a newer snapshot makes unnecessary: everything older than a full snapshot,
    /// older snapshots of the same table. Removing them drops no history: the log holds it all.
    private func removeSuperseded(by seq: UInt64, scope: Scope) throws {
        var removed = false
        for f in try files() where f.seq < seq && (scope == .all || f.scope == scope) {
            try engine.fs.remove(Path.join(directory, f.name))
            removed = true
        }
        if removed { try engine.fs.syncDirectory(directory) }
    }
}

extension TableStore {
    /// Appends this table's section as of `seq`; `flush` receives the buffer as it grows.
    func writeSnapshot(at seq: UInt64, log: Log, into w: inout ByteWriter,
                       flush: (inout ByteWriter) throws -> Void) throws {
        // Keys are appended in seq order, so those existing at `seq` are a prefix.
        let count: Int = lock.withReadLock {
            var lo = 0, hi = entries.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let e = entries[mid]
                let first = e.history >= 0 ? histories[Int(e.history)][0].seq : e.latest.seq
                if first <= seq { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        w.varint(UInt64(id))
        w.varint(UInt64(count))
        var start = 0
        while start < count {
            let end = min(count, start + 4096)
            try lock.withReadLock {
                try keyArena.withUnsafeBytes { arena in
                    for n in start..<end {
                        let e = entries[n]
                        let versions = allVersions(e).filter { $0.seq <= seq }
                        w.lengthPrefixed(Array(keyBytes(e, arena)))
                        w.varint(UInt64(versions.count))
                        var prev: UInt64 = 0
                        for v in versions {
                            w.varint(v.seq - prev)
                            prev = v.seq
                            w.u8(v.op.rawValue)
                            w.u64(v.location.raw)
                        }
                        let last = versions[versions.count - 1]
                        if last.isDelete {
                            w.varint(0)
                        } else {
                            try withImage(e, last, log: log) { img in
                                w.varint(UInt64(img.count + 1))
                                w.append(img)
                            }
                        }
                    }
                }
            }
            try flush(&w)
            start = end
        }
        let trees: [(UInt32, [([UInt8], Int32)])] = lock.withReadLock {
            indexes.sorted { $0.key < $1.key }.map { id, tree in
                var list: [([UInt8], Int32)] = []
                list.reserveCapacity(tree.count)
                tree.scan(from: nil) { k, v in
                    if Int(v) < count { list.append((Array(k), v)) }
                    return true
                }
                return (id, list)
            }
        }
        w.varint(UInt64(trees.count))
        for (id, list) in trees {
            w.varint(UInt64(id))
            w.varint(UInt64(list.count))
            for (k, v) in list {
                w.lengthPrefixed(k)
                w.varint(UInt64(v))
                if w.count >= 1 << 20 { try flush(&w) }
            }
        }
    }

    /// Rebuilds keys, versions and current images from a snapshot section.
    func loadEntries(count n: Int, from r: inout ByteReader) throws {
        entries.reserveCapacity(n)
        var size = 16
        while size * 3 < n * 4 + 4 { size *= 2 }
        slots = [Int32](repeating: -1, count: size)
        let mask = size - 1
        for i in 0..<n {
            let key = try r.lengthPrefixed()
            let vc = try r.count(max: r.remaining)
            guard vc >= 1 else { throw DecodeError("key without versions", offset: r.position) }
            var versions: [Version] = []
            versions.reserveCapacity(vc)
            var prev: UInt64 = 0
            for _ in 0..<vc {
                prev += try r.varint()
                guard let op = RowOp(rawValue: try r.u8()) else { throw DecodeError("bad row op", offset: r.position - 1) }
                versions.append(Version(seq: prev, op: op, location: Location(raw: try r.u64())))
            }
            let h = hashKey(key)
            var entry = KeyEntry(keyOffset: keyArena.count, keyLength: Int32(key.count), hash: UInt32(truncatingIfNeeded: h),
                                 latest: versions[vc - 1], imageOffset: 0, imageLength: -1, history: -1)
            keyArena.append(contentsOf: key)
            if vc > 1 {
                entry.history = Int32(histories.count)
                histories.append(Array(versions[0..<(vc - 1)]))
            }
            let imageLength = try r.count(max: r.remaining + 1)
            if imageLength > 0 {
                let img = try r.bytes(imageLength - 1)
                entry.imageOffset = images.count
                entry.imageLength = Int32(img.count)
                images.append(contentsOf: img)
                liveRows += 1
            }
            versionCount += vc
            entries.append(entry)
            var s = Int(truncatingIfNeeded: h) & mask
            while slots[s] >= 0 { s = (s + 1) & mask }
            slots[s] = Int32(i)
        }
    }
}

/// Takes automatic snapshots on a background thread every N row events or M log bytes.
final class SnapshotScheduler: @unchecked Sendable {
    let everyEvents: Int
    let everyBytes: Int
    let lock = Lock()
    let wake = Condition()
    var eventsSince = 0
    var bytesSince = 0
    var stopping = false
    var thread: OSThread?
    weak var engine: Engine?
    /// Serialises snapshot writers (automatic and on demand).
    let writeLock = Lock()

    init(everyEvents: Int, everyBytes: Int) {
        self.everyEvents = everyEvents
        self.everyBytes = everyBytes
    }

    var enabled: Bool { everyEvents > 0 || everyBytes > 0 }

    func start(engine: Engine, eventsSince: Int, bytesSince: Int) throws {
        self.engine = engine
        self.eventsSince = eventsSince
        self.bytesSince = bytesSince
        keysInLastSnapshot = engine.snapshotKeys()
        guard enabled else { return }
        thread = try OSThread(name: "drift-snapshot") { [unowned self] in self.run() }
        note(events: 0, bytes: 0)
    }

    /// Keys the newest snapshot of every table held. A snapshot writes every key, so taking
    /// one each `everyEvents` would cost a large database more than its writes do (pgbench's
    /// million accounts: a second of CPU every 25,000 transactions): the automatic interval
    /// is at least this many events, which bounds a snapshot's cost per event and a
    /// recovery's replay by the size of the snapshot it starts from.
    var keysInLastSnapshot = 0

    private var due: Bool {
        (everyEvents > 0 && eventsSince >= max(everyEvents, keysInLastSnapshot)) || (everyBytes > 0 && bytesSince >= everyBytes)
    }

    func note(events: Int, bytes: Int) {
        lock.withLock {
            eventsSince += events
            bytesSince += bytes
            if due { wake.signal() }
        }
    }

    func reset(keys: Int? = nil) {
        lock.withLock {
            eventsSince = 0
            bytesSince = 0
            if let keys { keysInLastSnapshot = keys }
        }
    }

    /// What has been counted toward the next snapshot so far (read as one starts).
    var counted: (events: Int, bytes: Int) { lock.withLock { (eventsSince, bytesSince) } }

    /// A snapshot covered what was counted when it began: only that is taken off, so the
    /// events committed while it was written still count toward the next one (zeroing
    /// the count lost them, and a small database's interval slipped by that many).
    func taken(_ counted: (events: Int, bytes: Int), keys: Int) {
        lock.withLock {
            eventsSince = max(0, eventsSince - counted.events)
            bytesSince = max(0, bytesSince - counted.bytes)
            keysInLastSnapshot = keys
            if due { wake.signal() }
        }
    }

    private func run() {
        while true {
            lock.lock()
            while !stopping && !due { wake.wait(lock) }
            let stop = stopping
            lock.unlock()
            if stop { return }
            guard let engine else { return }
            do {
                _ = try engine.snapshot()
            } catch {
                engine.logger.error("automatic snapshot failed", metadata: ["error": "\(error)"])
                reset()
            }
        }
    }

    func stop() {
        lock.withLock {
            stopping = true
            wake.signal()
        }
        thread?.join()
        thread = nil
    }
}

/// The result of a snapshot.
public struct SnapshotInfo: Sendable {
    public var path: String
    public var seq: UInt64
    public var bytes: Int
}

extension Engine {
    /// Keys in every table's store (what a snapshot of all tables writes).
    func snapshotKeys() -> Int {
        let all = stateLock.withReadLock { Array(stores.values) }
        return all.reduce(0) { $0 + $1.stats.keys }
    }

    /// Writes a snapshot of every table, or of one (`SNAPSHOT t`), as of the visible seq.
    @discardableResult
    public func snapshot(table: UInt32? = nil) throws -> SnapshotInfo {
        // After a failed sync or apply, memory may not match the durable log: never save it.
        if let f = writerFailure { throw StorageError.failed(reason: f) }
        return try snapshots.writeLock.withLock {
            let started = monotonicNanos()
            let counted = snapshots.counted
            let r = try SnapshotStore(engine: self).write(scope: table.map { .table($0) } ?? .all)
            if table == nil { snapshots.taken(counted, keys: snapshotKeys()) }
            EngineMetrics.shared.snapshot.recordNanoseconds(Int64(truncatingIfNeeded: monotonicNanos() - started))
            logger.info("snapshot written", metadata: ["path": "\(r.path)", "seq": "\(r.seq)", "bytes": "\(r.bytes)",
                                                       "ms": "\((monotonicNanos() - started) / 1_000_000)"])
            return SnapshotInfo(path: r.path, seq: r.seq, bytes: r.bytes)
        }
    }
}
