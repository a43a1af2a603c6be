import DriftStorage
import Synchronization

/// Stops a running statement: a client's cancel request (from another thread) or the
/// session's `statement_timeout`. Scans, sorts and lock waits check it, so a cancelled or
/// timed-out statement ends within one batch with 57014, as in PostgreSQL.
public final class StatementInterrupt: @unchecked Sendable {
    private let cancelled = Atomic<Bool>(false)
    /// Monotonic deadline of the running statement (0: none). Set and read by the session's thread.
    private var deadlineNanos: UInt64 = 0
    /// Woken on cancel, so a statement waiting for a lock stops at once.
    weak var locks: LockManager?

    public init() {}

    /// Starts a statement: clears an earlier cancel and arms the timeout (0 disables it).
    public func begin(timeoutMillis: Int) {
        cancelled.store(false, ordering: .relaxed)
        deadlineNanos = timeoutMillis > 0 ? monotonicNanos() + UInt64(timeoutMillis) * 1_000_000 : 0
    }

    /// Ends the statement: a cancel that arrives between statements cancels nothing.
    public func end() {
        deadlineNanos = 0
        cancelled.store(false, ordering: .relaxed)
    }

    /// Asks the running statement to stop (any thread).
    public func cancel() {
        cancelled.store(true, ordering: .releasing)
        locks?.wakeAll()
    }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// The statement's deadline, if it has one.
    var deadline: UInt64? { deadlineNanos == 0 ? nil : deadlineNanos }

    /// Throws 57014 when the statement was cancelled or its time is up.
    @inline(__always)
    public func check() throws {
        if cancelled.load(ordering: .relaxed) { throw Self.userRequest }
        if deadlineNanos != 0 && monotonicNanos() >= deadlineNanos { throw Self.timeout }
    }

    static let userRequest = SQLError(.queryCanceled, "canceling statement due to user request")
    static let timeout = SQLError(.queryCanceled, "canceling statement due to statement timeout")
}
