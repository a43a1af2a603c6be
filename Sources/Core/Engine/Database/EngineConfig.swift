import DriftStorage

/// Settings of the core store (the `storage` section of `plugins.yaml`).
public struct EngineConfig: Sendable {
    public var durability: Durability = .fsync
    public var segmentBytesMax: Int = Limits.segmentBytesDefault
    /// Commits of at least this many row writes are applied while their fsync runs.
    public var applyDuringSyncEventsMin: Int = Limits.applyDuringSyncEventsMin
    /// The step in which the active segment's file is grown ahead of its writes (0: never).
    public var preallocateBytes: Int = Limits.segmentPreallocateBytes
    /// Take a snapshot after this many row events since the last one (0: never automatically).
    public var snapshotEveryEvents: Int = 100_000
    /// Take a snapshot after this many log bytes since the last one (0: never automatically).
    public var snapshotEveryBytes: Int = 256 << 20
    /// Default `lock_timeout` for transactions; nil waits forever.
    public var lockTimeoutMillis: Int?
    /// What recovery does with damage at the end of the log (`storage.recovery`).
    public var recovery: RecoveryPolicy = .tail
    /// Decoded packed blocks kept for history reads (`storage.block_cache_bytes`).
    public var blockCacheBytes: Int = Limits.blockCacheBytesDefault

    public init() {}
}

/// What opening the database found and did.
public struct RecoveryInfo: Sendable {
    /// Seq of the newest snapshot loaded (0 when none).
    public var snapshotSeq: UInt64 = 0
    public var snapshotFiles: [String] = []
    /// Transactions replayed from the log after the snapshot.
    public var replayedTransactions = 0
    public var replayedEvents = 0
    /// Damaged tails cut from the newest segment (their bytes kept in `quarantine/`).
    public var tornCuts: [TornCut] = []
    public var durationMicros: Int64 = 0
    public var lastSeq: UInt64 = 0
}
