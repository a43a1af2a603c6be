import DriftCore
import DriftSQL
import DriftStorage
import NIOCore

/// Runs one connection's session on the connection's own event loop.
///
/// Statements block (row locks, a commit's fsync), which is why a connection never shares
/// its event loop (`PGServer.adopt` gives each one a loop of its own, as PostgreSQL gives each
/// a backend process): one client's lock wait cannot stall another's statement, and a
/// message costs one thread wake-up. Messages are handled as they are decoded; each response
/// (the handler coalesces one up to ReadyForQuery, a Flush, or a large result) is written
/// and flushed at once.
final class ConnectionWorker: @unchecked Sendable {
    let protocolHandler: QueryProtocol
    let channel: any Channel
    private let lock = Lock()
    private var stopping = false
    private var done = false
    /// Closes the connection when it idles inside a transaction block for longer than the
    /// session allows (event loop only).
    private var idleTimer: Scheduled<Void>?

    init(protocolHandler: QueryProtocol, channel: any Channel) {
        self.protocolHandler = protocolHandler
        self.channel = channel
    }

    /// Handles one message (on the connection's event loop).
    func handle(_ m: FrontendMessage) {
        idleTimer?.cancel()
        idleTimer = nil
        // A stop (shutdown) lets the running message finish and handles no more.
        if lock.withLock({ stopping || done }) { return }
        let response = protocolHandler.handle(m)
        if let bytes = response.bytes, bytes.readableBytes > 0 {
            channel.writeAndFlush(bytes, promise: nil)
        }
        if response.close {
            finish()
            channel.close(promise: nil)
            return
        }
        armIdleTimer()
    }

    /// Idle inside a transaction block for longer than the session allows: the connection
    /// ends (its transaction rolls back), as in PostgreSQL.
    private func armIdleTimer() {
        guard protocolHandler.session.block != nil else { return }
        let millis = protocolHandler.session.idleInTransactionTimeoutMillis
        guard millis > 0 else { return }
        idleTimer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(millis))) { [self] in
            idleTimer = nil
            guard !lock.withLock({ stopping || done }) else { return }
            finish()
            var w = BackendWriter()
            w.error(SQLError(.idleInTransactionSessionTimeout, "terminating connection due to idle-in-transaction timeout"),
                    severity: "FATAL")
            channel.writeAndFlush(w.buffer).whenComplete { [channel] _ in channel.close(promise: nil) }
        }
    }

    /// Stops after the message being handled (any thread); the session's open transaction
    /// is rolled back.
    func stop() {
        lock.withLock {
            stopping = true
            // A finished session's loop may already be shutting down; an unfinished one's is
            // not (the server shuts a loop down only after its session finished).
            if !done { channel.eventLoop.execute { [self] in finish() } }
        }
    }

    /// The session ends (event loop): its open transaction is rolled back, once.
    func finish() {
        idleTimer?.cancel()
        idleTimer = nil
        guard !lock.withLock({ done }) else { return }
        protocolHandler.end()
        lock.withLock { done = true }
    }

    /// Whether the session has ended (its transaction rolled back).
    var finished: Bool { lock.withLock { done } }
}
