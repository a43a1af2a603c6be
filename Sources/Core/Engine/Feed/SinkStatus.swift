import DriftStorage

/// What a change-data sink reports about itself (`drift_cdc_status`, metrics).
public struct SinkStatus: Sendable, Equatable {
    public var sink: String
    /// starting, streaming, failed, stopped.
    public var state: String
    /// The highest seq whose every record the broker acknowledged.
    public var checkpointSeq: UInt64
    /// Seqs committed after the checkpoint.
    public var lagSeqs: UInt64
    /// How long ago the oldest seq after the checkpoint committed (0 when caught up).
    public var lagSeconds: Double
    public var lastError: String?

    public init(sink: String, state: String, checkpointSeq: UInt64, lagSeqs: UInt64, lagSeconds: Double, lastError: String?) {
        self.sink = sink
        self.state = state
        self.checkpointSeq = checkpointSeq
        self.lagSeqs = lagSeqs
        self.lagSeconds = lagSeconds
        self.lastError = lastError
    }
}

/// Where running sinks report their status, so SQL can show it without importing them.
public final class SinkStatusBoard: @unchecked Sendable {
    private let lock = Lock()
    private var providers: [(String, @Sendable () -> SinkStatus)] = []

    public init() {}

    public func register(_ sink: String, _ status: @escaping @Sendable () -> SinkStatus) {
        lock.withLock {
            providers.removeAll { $0.0 == sink }
            providers.append((sink, status))
        }
    }

    public func unregister(_ sink: String) {
        lock.withLock { providers.removeAll { $0.0 == sink } }
    }

    /// Every registered sink's status, by name.
    public func all() -> [SinkStatus] {
        let list = lock.withLock { providers }
        return list.map { $0.1() }.sorted { $0.sink < $1.sink }
    }
}
