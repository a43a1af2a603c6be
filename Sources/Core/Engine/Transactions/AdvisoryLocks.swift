import DriftStorage

/// PostgreSQL's advisory locks: application-defined keys locked by a session (until it
/// unlocks them or ends) or by a transaction (until it ends), shared or exclusive, counted
/// (a holder may lock a key several times and unlocks it as often). Waits honour the
/// statement's cancel and timeout and the lock timeout. Deadlocks between advisory locks are
/// not detected: a statement_timeout or lock_timeout ends such a wait.
public final class AdvisoryLocks: @unchecked Sendable {
    /// A holder: a session, or a transaction of a session.
    public struct Holder: Hashable, Sendable {
        public var session: UInt64
        public var transactional: Bool
        public init(session: UInt64, transactional: Bool) {
            self.session = session
            self.transactional = transactional
        }
    }

    /// A lock key: one bigint, or two integers (a key space of its own, as in PostgreSQL).
    public struct Key: Hashable, Sendable {
        public var value: Int64
        public var twoPart: Bool
        public init(_ value: Int64, twoPart: Bool = false) {
            self.value = value
            self.twoPart = twoPart
        }
    }

    struct Entry {
        var exclusive: [Holder: Int] = [:]
        var shared: [Holder: Int] = [:]
        var isEmpty: Bool { exclusive.isEmpty && shared.isEmpty }
    }

    let lock = Lock()
    let cond = Condition()
    var entries: [Key: Entry] = [:]

    public init() {}

    func grantable(_ e: Entry, _ h: Holder, exclusive: Bool) -> Bool {
        // A session's own session and transaction locks never conflict with each other.
        let othersExclusive = e.exclusive.keys.contains { $0.session != h.session }
        if exclusive { return !othersExclusive && !e.shared.keys.contains { $0.session != h.session } }
        return !othersExclusive
    }

    /// Takes the lock, waiting unless `wait` is false (then returns whether it got it).
    public func acquire(_ key: Key, _ h: Holder, exclusive: Bool, wait: Bool, timeoutNanos: UInt64?,
                        interrupt: StatementInterrupt?) throws -> Bool {
        let started = monotonicNanos()
        return try lock.withLock {
            while true {
                let e = entries[key] ?? Entry()
                if grantable(e, h, exclusive: exclusive) {
                    if exclusive { entries[key, default: Entry()].exclusive[h, default: 0] += 1 } else {
                        entries[key, default: Entry()].shared[h, default: 0] += 1
                    }
                    return true
                }
                if !wait { return false }
                try interrupt?.check()
                if let t = timeoutNanos, monotonicNanos() - started >= t {
                    throw SQLError(.lockNotAvailable, "canceling statement due to lock timeout")
                }
                _ = cond.wait(lock, deadlineNanos: monotonicNanos() + 10_000_000)
            }
        }
    }

    /// Releases one hold; false when the holder held no such lock.
    public func release(_ key: Key, _ h: Holder, exclusive: Bool) -> Bool {
        lock.withLock {
            guard var e = entries[key] else { return false }
            if exclusive {
                guard let n = e.exclusive[h] else { return false }
                e.exclusive[h] = n > 1 ? n - 1 : nil
            } else {
                guard let n = e.shared[h] else { return false }
                e.shared[h] = n > 1 ? n - 1 : nil
            }
            entries[key] = e.isEmpty ? nil : e
            cond.broadcast()
            return true
        }
    }

    /// Releases every hold of a holder (a transaction's end, a session's end, unlock_all).
    public func releaseAll(_ h: Holder) {
        lock.withLock {
            for (k, var e) in entries {
                e.exclusive[h] = nil
                e.shared[h] = nil
                entries[k] = e.isEmpty ? nil : e
            }
            cond.broadcast()
        }
    }
}
