import DriftSQL
import DriftStorage

/// The sessions of open connections by the key their BackendKeyData gave the client, so a
/// CancelRequest on another connection can find the one to cancel. One per process: a
/// client may send its cancel request to any of the server's listeners.
final class ConnectionRegistry: @unchecked Sendable {
    struct Key: Hashable {
        var processId: Int32
        var secretKey: Int32
    }

    static let shared = ConnectionRegistry()

    private let lock = Lock()
    private var sessions: [Int32: (secretKey: Int32, session: Session)] = [:]
    private var nextProcessId: Int32 = 1

    /// A new connection's key: a process id unique among open connections and a random secret;
    /// nil when its role already has `roleLimit` connections (checked and counted at once).
    func register(_ session: Session, roleLimit: Int64? = nil) -> Key? {
        lock.withLock {
            if let limit = roleLimit, limit >= 0,
               sessions.values.lazy.filter({ $0.session.authenticatedUser == session.authenticatedUser }).count >= limit {
                return nil
            }
            while sessions[nextProcessId] != nil || nextProcessId <= 0 {
                nextProcessId = nextProcessId == Int32.max ? 1 : nextProcessId + 1
            }
            let pid = nextProcessId
            nextProcessId = nextProcessId == Int32.max ? 1 : nextProcessId + 1
            let secret = Int32.random(in: Int32.min...Int32.max)
            sessions[pid] = (secret, session)
            session.processId = pid
            return Key(processId: pid, secretKey: secret)
        }
    }

    func unregister(_ key: Key) {
        lock.withLock {
            if sessions[key.processId]?.secretKey == key.secretKey { sessions[key.processId] = nil }
        }
    }

    /// Cancels the running statement of the session with this key; a wrong key does nothing
    /// (as in PostgreSQL, the requester is told nothing either way).
    func cancel(processId: Int32, secretKey: Int32) {
        let session: Session? = lock.withLock {
            guard let s = sessions[processId], s.secretKey == secretKey else { return nil }
            return s.session
        }
        session?.cancel()
    }
}

/// Open connections against the configured maximum.
final class ConnectionCounter: @unchecked Sendable {
    private let lock = Lock()
    private var openCount = 0
    let maximum: Int
    private(set) var refused = 0

    init(maximum: Int) { self.maximum = maximum }

    /// Counts a new connection; false when the maximum is reached (the caller refuses it).
    func open() -> Bool {
        let ok = lock.withLock { () -> Bool in
            guard openCount < maximum else {
                refused += 1
                return false
            }
            openCount += 1
            return true
        }
        if ok { WireMetrics.shared.opened() } else { WireMetrics.shared.refused.increment() }
        return ok
    }

    func close() {
        lock.withLock { openCount -= 1 }
        WireMetrics.shared.closed()
    }

    var count: Int { lock.withLock { openCount } }
}

/// One accepted connection's place in the count: taken when it is accepted (before it gets a
/// thread), given back once, when it closes.
final class ConnectionSlot: @unchecked Sendable {
    private let counter: ConnectionCounter
    /// Within the maximum (a connection over it is refused with 53300, on the shared loop).
    let counted: Bool
    private let lock = Lock()
    private var released = false

    init(_ counter: ConnectionCounter) {
        self.counter = counter
        counted = counter.open()
    }

    func release() {
        guard counted, lock.withLock({ () -> Bool in
            defer { released = true }
            return !released
        }) else { return }
        counter.close()
    }
}
