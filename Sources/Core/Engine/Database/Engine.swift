import DriftStorage
import Logging
import Synchronization

/// The core: one data directory's temporal store, catalog, transactions and sequencer.
///
/// Layout of a data directory:
///
///     LOCK                 owner lock (flock), holds the owner's pid
///     segments/NNNNNNNN.seg  the log
///     snapshots/*.snap     zstd snapshots
public final class Engine: CommitApplier, @unchecked Sendable {
    public let directory: String
    public let fs: any FileSystem
    public let config: EngineConfig
    public let logger: Logger
    let clock: any WallClock
    let dirLock: any DirectoryLock
    public let log: Log
    /// The sequencer; nil only in the doctor's scratch engine, which never writes.
    var writer: LogWriter?

    /// Guards `catalogHistory`, `stores` and `timestamps`.
    let stateLock = RWLock()
    var catalogHistory = CatalogHistory()
    var stores: [UInt32: TableStore] = [:]
    /// Sessions' temporary tables (never logged, never in snapshots), by table id.
    var temporaryStores: [UInt32: TableStore] = [:]
    /// Planner statistics by table (ANALYZE), in memory.
    var tableStatistics: [UInt32: TableStatistics] = [:]
    /// Counts ANALYZE runs (cached plans made before one are planned again).
    var statisticsChanges = 0
    let statisticsLock = Lock()
    /// `timestamps[i]` is the commit time (unix µs) of seq `i + 1`.
    var timestamps: [Int64] = []
    let visible = Atomic<UInt64>(0)

    let locks = LockManager()
    /// pg_advisory_lock and friends.
    public let advisoryLocks = AdvisoryLocks()
    private let sessionCounter = Atomic<UInt64>(0)
    /// A number no other session of this engine has.
    public func newSessionId() -> UInt64 { sessionCounter.add(1, ordering: .relaxed).newValue }
    let ssi = SSIManager()
    let txnIds = Atomic<UInt64>(1)
    let idLock = Lock()
    /// Sequences (see Engine+Sequences): `sequenceLock` serialises nextval/setval (held while a
    /// reservation commits); `sequenceStateLock` guards the states, which the applier updates.
    let sequenceLock = Lock()
    let sequenceStateLock = Lock()
    var sequenceStates: [UInt32: SequenceState] = [:]
    var nextTableId: UInt32 = 1
    var nextIndexId: UInt32 = 1

    let feed = ChangeFeedHub()
    /// Change-data sinks running on this database report here (`drift_cdc_status`).
    public let sinks = SinkStatusBoard()
    let snapshots: SnapshotScheduler
    public internal(set) var recovery = RecoveryInfo()
    /// Set when applying a durable commit failed (a bug): writes are refused.
    let applyFailure = Mutex<String?>(nil)
    /// Set once `applyFailure` is (checked per written row without the mutex).
    let applyFailed = Atomic<Bool>(false)
    /// Events and frame bytes applied but not yet visible (a large commit whose fsync runs),
    /// counted toward the next snapshot when they are published.
    let unpublished = Mutex<(events: Int, bytes: Int)>((0, 0))

    /// The release.
    public static let productVersion = "0.4.0"
    public static let segmentsDirectory = "segments"
    public static let snapshotsDirectory = "snapshots"
    /// Bytes recovery cut from a damaged log tail, kept rather than destroyed.
    public static let quarantineDirectory = "quarantine"

    init(directory: String, fs: any FileSystem, config: EngineConfig, clock: any WallClock, logger: Logger,
         dirLock: any DirectoryLock, log: Log) {
        self.directory = directory
        self.fs = fs
        self.config = config
        self.clock = clock
        self.logger = logger
        self.dirLock = dirLock
        self.log = log
        snapshots = SnapshotScheduler(everyEvents: config.snapshotEveryEvents, everyBytes: config.snapshotEveryBytes)
    }

    /// Whether `directory` holds a database.
    public static func exists(at directory: String, fs: any FileSystem = PosixFileSystem()) -> Bool {
        fs.fileExists(Path.join(directory, segmentsDirectory))
    }

    /// Creates an empty database (the directories and the first segment).
    public static func initialize(at directory: String, fs: any FileSystem = PosixFileSystem(),
                                  config: EngineConfig = EngineConfig(), logger: Logger = Logger(label: "driftdb")) throws {
        if exists(at: directory, fs: fs) {
            throw StorageError.io(operation: "init", path: directory, errno: 17)
        }
        let engine = try open(at: directory, config: config, fs: fs, create: true, logger: logger)
        engine.close()
    }

    // MARK: Reads of shared state

    /// The highest seq whose effects are visible.
    public var visibleSeq: UInt64 { visible.load(ordering: .acquiring) }

    public func catalog(at seq: UInt64) -> Catalog {
        stateLock.withReadLock { catalogHistory.at(seq) }
    }

    public var latestCatalog: Catalog { stateLock.withReadLock { catalogHistory.latest } }

    /// Every version of the catalog with the seq it took effect at, oldest first (seq 0: the
    /// empty catalog), for the catalog relations read FOR SYSTEM_TIME.
    public func catalogVersions() -> [(seq: UInt64, catalog: Catalog)] { stateLock.withReadLock { catalogHistory.versions } }

    /// The seq of the schema version a reader at `seq` sees (a plan bound against it stays
    /// valid while this does not change).
    public func catalogVersionSeq(at seq: UInt64) -> UInt64 { stateLock.withReadLock { catalogHistory.versionSeq(at: seq) } }

    /// A table's definition as of `seq`, or its last one if it was dropped by then.
    public func definition(of tableId: UInt32, at seq: UInt64) -> TableDef? {
        stateLock.withReadLock {
            catalogHistory.at(seq).table(id: tableId) ?? catalogHistory.lastDefinition(of: tableId)
        }
    }

    public func store(_ tableId: UInt32) -> TableStore? {
        stateLock.withReadLock { stores[tableId] ?? temporaryStores[tableId] }
    }

    /// Commit time (unix µs) of `seq`, or nil when it is not committed.
    public func timestamp(of seq: UInt64) -> Int64? {
        stateLock.withReadLock { seq >= 1 && seq <= UInt64(timestamps.count) ? timestamps[Int(seq - 1)] : nil }
    }

    /// The newest seq committed at or before `micros` (0 when none): a binary search over the
    /// strictly increasing commit timestamps.
    public func seq(atOrBefore micros: Int64) -> UInt64 {
        stateLock.withReadLock {
            var lo = 0, hi = timestamps.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if timestamps[mid] <= micros { lo = mid + 1 } else { hi = mid }
            }
            return UInt64(lo)
        }
    }

    /// Why the engine refuses writes, if it does.
    public var writerFailure: String? {
        if let f = writer?.failure { return f }
        return applyFailed.load(ordering: .acquiring) ? applyFailure.withLock { $0 } : nil
    }

    func allocateTableId() -> UInt32 {
        idLock.withLock {
            defer { nextTableId += 1 }
            return nextTableId
        }
    }

    func allocateIndexId() -> UInt32 {
        idLock.withLock {
            defer { nextIndexId += 1 }
            return nextIndexId
        }
    }

    // MARK: Transactions

    /// Starts a transaction. `asOf` makes it a read-only transaction in the past.
    public func begin(isolation: IsolationLevel = .readCommitted, readOnly: Bool = false, asOf: UInt64? = nil) -> Transaction {
        let id = txnIds.add(1, ordering: .relaxed).oldValue
        return Transaction(engine: self, id: id, isolation: isolation, readOnly: readOnly, historicalSeq: asOf)
    }

    /// Runs `body` in a transaction and commits it; rolls back if `body` throws.
    @discardableResult
    public func transaction<T>(isolation: IsolationLevel = .readCommitted, _ body: (Transaction) throws -> T) throws -> (T, UInt64?) {
        let t = begin(isolation: isolation)
        t.beginStatement()
        do {
            let r = try body(t)
            return (r, try t.commit())
        } catch {
            t.rollback()
            throw error
        }
    }

    // MARK: Lifecycle

    /// Stops the snapshotter and the writer (draining queued commits), syncs, releases the directory.
    public func close() {
        snapshots.stop()
        logExactSequenceStates()
        writer?.close()
        feed.close()
        dirLock.release()
    }

    public var writerStats: (groups: UInt64, syncs: UInt64, bytes: UInt64) {
        guard let writer else { return (0, 0, 0) }
        return (writer.groupCount, writer.syncCount, writer.bytesWritten)
    }

    /// The sequencer, for code paths that write.
    func logWriter() throws -> LogWriter {
        guard let writer else { throw SQLError.bug("this engine was opened without a log writer") }
        return writer
    }
}
