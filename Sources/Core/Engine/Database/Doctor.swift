import DriftStorage
import Logging

/// What `driftdb doctor` found.
public struct DoctorReport: Sendable {
    public struct Problem: Sendable, CustomStringConvertible {
        public var file: String
        public var offset: UInt64
        public var reason: String
        public var description: String { "\(file) at offset \(offset): \(reason)" }
    }

    public var segments = 0
    public var frames = 0
    public var segmentBytes: UInt64 = 0
    public var lastSeq: UInt64 = 0
    public var snapshotsVerified = 0
    public var indexEntriesVerified = 0
    public var tornCuts: [TornCut] = []
    /// Damaged log tails that recovery cut, kept in `quarantine/`: path and size.
    public var quarantined: [(path: String, bytes: UInt64)] = []
    public var problems: [Problem] = []
    /// Where the log's last complete transaction ends, when the log is damaged.
    var damage: (path: String, packed: Bool, goodEnd: Int, goodBlocks: Int, lastSeq: UInt64)?
    var badSnapshots: [String] = []

    public var isHealthy: Bool { problems.isEmpty }
}

/// Verifies a data directory offline: every segment header, frame and packed block (with
/// dense seqs), every snapshot file against the log, and every secondary index against
/// the rows; and, on explicit request, cuts damage out.
public enum Doctor {
    public static func check(directory: String, fs: any FileSystem = PosixFileSystem(),
                             logger: Logger = Logger(label: "driftdb.doctor")) throws -> DoctorReport {
        guard Engine.exists(at: directory, fs: fs) else {
            throw StorageError.io(operation: "open database", path: directory, errno: 2)
        }
        let dirLock = try fs.lockDirectory(directory)
        defer { dirLock.release() }
        var report = DoctorReport()
        let log = Log(fs: fs, directory: Path.join(directory, Engine.segmentsDirectory), segments: [], cache: BlockCache(bytesMax: 64 << 20))
        var config = EngineConfig()
        config.snapshotEveryEvents = 0
        config.snapshotEveryBytes = 0
        let engine = Engine(directory: directory, fs: fs, config: config, clock: SystemClock(), logger: logger,
                            dirLock: dirLock, log: log)
        // 1. The log, replayed from the start into a scratch engine.
        let progress = ScanProgress()
        let scanner = LogScanner(fs: fs, directory: log.directory, cache: log.cache, mode: .verify, logger: logger,
                                 quarantineDirectory: Path.join(directory, Engine.quarantineDirectory))
        var logHealthy = false
        do {
            let r = try scanner.scan(deliverAfter: 0, progress: progress) { t in
                try engine.replay(t, metaSeq: 0, tableSeqs: [:])
            }
            for s in r.segments { log.add(s) }
            report.segments = r.segments.count
            report.frames = r.frameCount
            report.segmentBytes = r.byteCount
            report.lastSeq = r.lastSeq
            report.tornCuts = r.tornCuts
            engine.visible.store(r.lastSeq, ordering: .releasing)
            logHealthy = true
        } catch let StorageError.corrupt(file, offset, reason) {
            report.problems.append(.init(file: file, offset: offset, reason: reason))
            report.damage = (progress.path ?? file, progress.isPacked, progress.lastCommitEnd, progress.goodBlocks, progress.lastSeq)
            report.segments = progress.segments
            report.frames = progress.frames
            report.segmentBytes = progress.bytes + UInt64(progress.isPacked ? 0 : progress.lastCommitEnd)
            report.lastSeq = progress.lastSeq
        } catch let e as StorageError {
            if case .unsupportedFormat(let file, _, _) = e {
                report.problems.append(.init(file: file, offset: 8, reason: e.description))
            } else {
                throw e
            }
        }
        // 2. Snapshots: each file's checksums, and (with a healthy log) its content against the log.
        let store = SnapshotStore(engine: engine)
        for f in try store.files() {
            let path = Path.join(store.directory, f.name)
            do {
                let (_, content) = try SnapshotFile.read(fs: fs, path: path)
                if logHealthy { try compareSnapshot(content, seq: f.seq, path: path, engine: engine, report: &report) }
                report.snapshotsVerified += 1
            } catch let StorageError.corrupt(file, offset, reason) {
                report.problems.append(.init(file: file, offset: offset, reason: reason))
                report.badSnapshots.append(path)
            }
        }
        // 3. Secondary indexes against the rows.
        if logHealthy { try verifyIndexes(engine, &report) }
        // 4. Tails that recovery cut and kept.
        let quarantine = Path.join(directory, Engine.quarantineDirectory)
        if fs.fileExists(quarantine) {
            for name in try fs.listDirectory(quarantine).sorted() where name.hasSuffix(".bin") {
                let path = Path.join(quarantine, name)
                report.quarantined.append((path, try fileSize(fs, path)))
            }
        }
        return report
    }

    static func compareSnapshot(_ content: [UInt8], seq: UInt64, path: String, engine: Engine,
                                report: inout DoctorReport) throws {
        guard seq <= engine.visibleSeq else {
            report.problems.append(.init(file: path, offset: 0, reason: "snapshot at seq \(seq) is ahead of the log (seq \(engine.visibleSeq))"))
            report.badSnapshots.append(path)
            return
        }
        var loaded = LoadedSnapshot()
        try content.withUnsafeBytes { buf in
            var r = ByteReader(buf)
            while true {
                let section = try r.u8()
                if section == 0 { break }
                if section == 1 {
                    let meta = try SnapshotStore.decodeMeta(&r)
                    loaded.ddl = meta.ddl
                    let expected = engine.stateLock.withReadLock { Array(engine.timestamps.prefix(Int(clamping: seq))) }
                    if meta.timestamps != expected {
                        report.problems.append(.init(file: path, offset: 0, reason: "commit times differ from the log"))
                        report.badSnapshots.append(path)
                    }
                } else {
                    var history = CatalogHistory()
                    for (s, e) in loaded.ddl where s <= seq { try history.apply([e], seq: s) }
                    let snap = try SnapshotStore.decodeTable(&r, catalog: history)
                    guard let live = engine.store(snap.id), let why = try differences(snap, live, seq: seq, log: engine.log) else {
                        if engine.store(snap.id) == nil {
                            report.problems.append(.init(file: path, offset: 0, reason: "table \(snap.id) is not in the log"))
                            report.badSnapshots.append(path)
                        }
                        continue
                    }
                    report.problems.append(.init(file: path, offset: 0, reason: "table \(snap.id) differs from the log: \(why)"))
                    report.badSnapshots.append(path)
                }
            }
        }
    }

    /// How a table loaded from a snapshot at `seq` differs from the same table replayed from the log.
    static func differences(_ snap: TableStore, _ live: TableStore, seq: UInt64, log: Log) throws -> String? {
        try live.lock.withReadLock {
            guard snap.entries.count <= live.entries.count else { return "more keys than the log has" }
            for (n, e) in snap.entries.enumerated() {
                let l = live.entries[n]
                let sk = snap.keyArena[e.keyOffset..<(e.keyOffset + Int(e.keyLength))]
                let lk = live.keyArena[l.keyOffset..<(l.keyOffset + Int(l.keyLength))]
                guard sk.elementsEqual(lk) else { return "key \(n) differs" }
                let sv = snap.allVersions(e)
                let lv = live.allVersions(l).filter { $0.seq <= seq }
                guard sv == lv else { return "versions of key \(n) differ" }
                guard e.imageLength >= 0 else { continue }
                let simg = Array(snap.images[e.imageOffset..<(e.imageOffset + Int(e.imageLength))])
                guard let newest = lv.last else { return "key \(n) has no version at seq \(seq) in the log" }
                let limg = try live.withImage(l, newest, log: log) { Array($0) }
                guard simg == limg else { return "row image of key \(n) differs" }
            }
            // A dropped table keeps no index trees (its ranges are scans).
            for (id, tree) in snap.indexes where !live.retired {
                guard let liveTree = live.indexes[id] else { return "index \(id) is not in the log" }
                var missing = false
                tree.scan(from: nil) { k, v in
                    var found = false
                    liveTree.scan(from: Array(k)) { k2, v2 in
                        found = compareBytes(k2, k) == 0 && v2 == v
                        return false
                    }
                    missing = !found
                    return found
                }
                if missing { return "index \(id) holds an entry the log does not" }
            }
            return nil
        }
    }

    static func verifyIndexes(_ engine: Engine, _ report: inout DoctorReport) throws {
        for (id, store) in engine.stateLock.withReadLock({ engine.stores }) {
            try store.lock.withReadLock {
                for (indexId, tree) in store.indexes {
                    guard let def = store.indexDefs[indexId] else {
                        report.problems.append(.init(file: "table \(id)", offset: 0, reason: "index \(indexId) has no definition"))
                        continue
                    }
                    var bad: String?
                    tree.scan(from: nil) { _, v in
                        if Int(v) >= store.entries.count { bad = "entry \(v) out of range" }
                        return bad == nil
                    }
                    for (n, e) in store.entries.enumerated() where e.imageLength >= 0 && bad == nil {
                        let k = try store.keyArena.withUnsafeBytes { arena in
                            try store.images.withUnsafeBytes { img in
                                try store.indexKey(def, image: UnsafeRawBufferPointer(rebasing: img[e.imageOffset..<(e.imageOffset + Int(e.imageLength))]),
                                                   key: store.keyBytes(e, arena), missing: store.missing)
                            }
                        }
                        var found = false
                        tree.scan(from: k) { k2, v2 in
                            found = k.withUnsafeBytes { compareBytes(k2, $0) == 0 } && Int(v2) == n
                            return false
                        }
                        if !found { bad = "live row \(n) is missing from index \(def.name)" }
                        report.indexEntriesVerified += 1
                    }
                    if let bad {
                        report.problems.append(.init(file: "table \(id)", offset: 0, reason: bad))
                    }
                }
            }
        }
    }

    /// One step of a repair.
    public enum RepairAction: Sendable, CustomStringConvertible {
        case truncate(path: String, offset: UInt64, bytes: UInt64, reason: String)
        case unpack(path: String, keepBlocks: Int, reason: String)
        case remove(path: String, bytes: UInt64, reason: String)

        public var description: String {
            switch self {
            case let .truncate(p, o, b, r): return "cut \(b) bytes of \(p) from offset \(o) (\(r))"
            case let .unpack(p, k, r): return "rewrite \(p) as a raw segment keeping its first \(k) blocks (\(r))"
            case let .remove(p, b, r): return "remove \(p) (\(b) bytes; \(r))"
            }
        }
    }

    /// What `--repair` would do for a report.
    public static func plan(_ report: DoctorReport, directory: String, fs: any FileSystem = PosixFileSystem()) throws -> [RepairAction] {
        var actions: [RepairAction] = []
        for c in report.tornCuts {
            actions.append(.truncate(path: c.file, offset: c.offset, bytes: c.bytes, reason: "torn tail: \(c.reason)"))
        }
        if let d = report.damage {
            let segDir = Path.join(directory, Engine.segmentsDirectory)
            let size = try fileSize(fs, d.path)
            let lost = "transactions after seq \(d.lastSeq) are lost"
            if d.packed {
                actions.append(.unpack(path: d.path, keepBlocks: d.goodBlocks, reason: lost))
            } else {
                actions.append(.truncate(path: d.path, offset: UInt64(d.goodEnd), bytes: size - UInt64(d.goodEnd), reason: lost))
            }
            let damagedNumber = SegmentHeader.number(fromFileName: Path.name(d.path)) ?? 0
            for name in try fs.listDirectory(segDir).sorted() {
                guard let n = SegmentHeader.number(fromFileName: name), n > damagedNumber else { continue }
                let p = Path.join(segDir, name)
                actions.append(.remove(path: p, bytes: try fileSize(fs, p), reason: "follows the damage"))
            }
            // Snapshots past the cut no longer match the log.
            let snapDir = Path.join(directory, Engine.snapshotsDirectory)
            for name in try fs.listDirectory(snapDir) {
                if let (seq, _) = SnapshotStore.parseName(name), seq > d.lastSeq {
                    let p = Path.join(snapDir, name)
                    if !report.badSnapshots.contains(p) {
                        actions.append(.remove(path: p, bytes: try fileSize(fs, p), reason: "snapshot past the cut"))
                    }
                }
            }
        }
        for p in Set(report.badSnapshots).sorted() {
            actions.append(.remove(path: p, bytes: try fileSize(fs, p), reason: "damaged snapshot; the log holds its content"))
        }
        return actions
    }

    static func fileSize(_ fs: any FileSystem, _ path: String) throws -> UInt64 {
        let f = try fs.open(path, create: false)
        defer { f.close() }
        return try f.size()
    }

    /// Carries out repair actions (under the directory lock).
    public static func repair(_ actions: [RepairAction], directory: String, fs: any FileSystem = PosixFileSystem()) throws {
        let dirLock = try fs.lockDirectory(directory)
        defer { dirLock.release() }
        var dirs = Set<String>()
        for a in actions {
            switch a {
            case let .truncate(path, offset, _, _):
                let f = try fs.open(path, create: false)
                try f.truncate(to: max(offset, UInt64(SegmentHeader.size)))
                try f.sync()
                f.close()
            case let .unpack(path, keep, _):
                try Compactor.unpack(path, keepBlocks: keep, fs: fs)
                dirs.insert(Path.parent(path))
            case let .remove(path, _, _):
                try fs.remove(path)
                dirs.insert(Path.parent(path))
            }
        }
        for d in dirs { try fs.syncDirectory(d) }
    }
}
