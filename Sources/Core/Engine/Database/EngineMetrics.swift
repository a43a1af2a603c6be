import CoreMetrics

/// What the engine reports through swift-metrics (see `StoreMetrics` for the conventions).
final class EngineMetrics: Sendable {
    static let shared = EngineMetrics()

    /// The newest seq readers see.
    let visibleSeq = Gauge(label: "driftdb_visible_seq")
    /// Writing a snapshot of the tables.
    let snapshot = Timer(label: "driftdb_snapshot_duration_seconds")
    /// How long the last opening of the database took to recover (snapshot load and log replay).
    let recovery = Gauge(label: "driftdb_recovery_duration_seconds")

    private init() {}
}
