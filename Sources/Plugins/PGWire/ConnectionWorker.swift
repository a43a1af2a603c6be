import DriftCore
import DriftSQL
import DriftStorage
import NIOCore

/// Runs one connection's session on a thread of its own. Statements block (row locks, a
/// commit's fsync), so they never run on an event loop; a thread per connection, as
/// PostgreSQL has a process per connection, keeps one client's lock wait from stalling
/// another's statement. The channel handler queues messages; the worker answers them in
/// order and writes each response as one buffer.
final class ConnectionWorker: @unchecked Sendable {
    let protocolHandler: QueryProtocol
    let channel: any Channel
    private let lock = Lock()
    private let wake = Condition()
    private var queue: [FrontendMessage] = []
    /// The batch being handled (swapped with `queue`, so both keep their capacity).
    private var batch: [FrontendMessage] = []
    private var waiting = false
    private var stopping = false
    private var paused = false
    private var done = false
    /// Messages queued before the handler stops reading from the socket.
    static let queuedMessagesMax = 1024

    init(protocolHandler: QueryProtocol, channel: any Channel) {
        self.protocolHandler = protocolHandler
        self.channel = channel
    }

    func start(name: String) throws {
        let t = try OSThread(name: name) { [self] in run() }
        // Nobody joins a connection's thread: it ends with its connection (a shutdown waits
        // for `finished` instead).
        t.detach()
    }

    /// Queues a message (event loop). Returns false when the queue is full: the caller stops
    /// reading until the worker resumes it.
    func enqueue(_ m: FrontendMessage) -> Bool {
        lock.withLock {
            queue.append(m)
            // Only a waiting worker needs waking: a busy one takes every queued message when it
            // looks again (a COPY's thousands of CopyData messages cost one wake-up, not one each).
            if waiting { wake.signal() }
            if queue.count >= Self.queuedMessagesMax {
                paused = true
                return false
            }
            return true
        }
    }

    /// Stops after the message being handled; the session's open transaction is rolled back.
    func stop() {
        lock.withLock {
            stopping = true
            wake.signal()
        }
    }

    /// Whether the worker has stopped (its session's transaction rolled back).
    var finished: Bool { lock.withLock { done } }

    private func run() {
        while true {
            // Idle inside a transaction block for longer than the session allows: the
            // connection ends (its transaction rolls back), as in PostgreSQL.
            let idleMillis = protocolHandler.session.block != nil ? protocolHandler.session.idleInTransactionTimeoutMillis : 0
            let deadline = idleMillis > 0 ? monotonicNanos() + UInt64(idleMillis) * 1_000_000 : 0
            var timedOut = false
            lock.lock()
            while queue.isEmpty && !stopping {
                waiting = true
                defer { waiting = false }
                if deadline == 0 {
                    wake.wait(lock)
                } else if !wake.wait(lock, deadlineNanos: deadline) || monotonicNanos() >= deadline {
                    timedOut = queue.isEmpty && !stopping
                    break
                }
            }
            if timedOut {
                lock.unlock()
                var w = BackendWriter()
                w.error(SQLError(.idleInTransactionSessionTimeout, "terminating connection due to idle-in-transaction timeout"),
                        severity: "FATAL")
                channel.writeAndFlush(w.buffer).whenComplete { [channel] _ in channel.close(promise: nil) }
                break
            }
            if stopping {
                lock.unlock()
                break
            }
            swap(&queue, &batch)
            let resume = paused
            paused = false
            lock.unlock()
            if resume { channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in } }
            var close = false
            for m in batch where !close {
                // A stop (shutdown, or the client gone) ends the batch after the running message.
                if lock.withLock({ stopping }) { break }
                let response = protocolHandler.handle(m)
                if let bytes = response.bytes, bytes.readableBytes > 0 {
                    channel.writeAndFlush(bytes, promise: nil)
                }
                close = response.close
            }
            batch.removeAll(keepingCapacity: true)
            if close {
                channel.close(promise: nil)
                break
            }
        }
        protocolHandler.end()
        lock.withLock { done = true }
    }
}
