import CoreMetrics

/// What the store reports through swift-metrics (a no-op until a backend is bootstrapped;
/// the metrics plugin bootstraps Prometheus before the database opens). Names follow
/// Prometheus's conventions: the `driftdb_` prefix, `_total` for counters, base units.
/// Created on first use, once per process.
public final class StoreMetrics: Sendable {
    public static let shared = StoreMetrics()

    /// One fdatasync of the active log segment (one per commit group).
    public let fsync = Timer(label: "driftdb_fsync_duration_seconds")
    /// Commits written together by one group commit.
    public let groupSize = Recorder(label: "driftdb_group_commit_size", aggregate: true)
    /// Log bytes written (frames of committed transactions).
    public let logBytes = Counter(label: "driftdb_log_bytes_total")
    /// Transactions made durable.
    public let commits = Counter(label: "driftdb_commits_total")
    /// Commits that failed in the log (a full device, a failed write or sync).
    public let commitFailures = Counter(label: "driftdb_commit_failures_total")
    /// Events (row changes and schema changes) of durable commits.
    public let events = Counter(label: "driftdb_events_total")

    /// The bucket bounds a backend should give these histograms (fsync in seconds, group sizes in commits).
    public static let fsyncBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
    public static let groupSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]

    private init() {}
}
