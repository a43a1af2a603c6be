import DriftStorage

/// PostgreSQL's four row-lock strengths, weakest first.
public enum RowLockMode: Int, Sendable, Comparable {
    case keyShare = 0
    case share = 1
    case noKeyUpdate = 2
    case update = 3

    /// PostgreSQL's conflict table for row locks.
    @inlinable public func conflicts(with other: RowLockMode) -> Bool {
        switch (self, other) {
        case (.update, _), (_, .update): return true
        case (.noKeyUpdate, .share), (.share, .noKeyUpdate), (.noKeyUpdate, .noKeyUpdate): return true
        default: return false
        }
    }

    public static func < (a: RowLockMode, b: RowLockMode) -> Bool { a.rawValue < b.rawValue }

    public var sqlName: String {
        switch self {
        case .keyShare: return "FOR KEY SHARE"
        case .share: return "FOR SHARE"
        case .noKeyUpdate: return "FOR NO KEY UPDATE"
        case .update: return "FOR UPDATE"
        }
    }
}

/// What a writer does when a lock is taken by someone else.
public enum LockWait: Sendable, Equatable {
    /// Wait (up to the transaction's lock timeout, if any).
    case block
    /// Fail at once with 55P03.
    case noWait
    /// Report the row as skipped.
    case skipLocked
}

/// A lockable thing: a row key of a table, or (an empty key) the table itself.
/// Table 0 with an empty key is the catalog lock that serialises DDL.
public struct LockTarget: Hashable, Sendable {
    public let table: UInt32
    public let key: [UInt8]
    /// The key's hash, computed once: a bulk write hashes every target several times (lock,
    /// release, SSI), and hashing the bytes through `Hasher` each time showed in profiles.
    let keyHash: UInt64

    public init(table: UInt32, key: [UInt8]) {
        self.table = table
        self.key = key
        keyHash = key.withUnsafeBytes { hashKey($0) }
    }

    public static func == (a: LockTarget, b: LockTarget) -> Bool {
        a.keyHash == b.keyHash && a.table == b.table && a.key == b.key
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(keyHash ^ (UInt64(table) &* 0x9E37_79B9_7F4A_7C15))
    }
    static let catalog = LockTarget(table: 0, key: [])
    static func table(_ id: UInt32) -> LockTarget { LockTarget(table: id, key: []) }
}

/// Row and table locks held until transaction end, with waiting, NOWAIT, SKIP LOCKED,
/// lock timeouts and deadlock detection over the wait-for graph.
final class LockManager: @unchecked Sendable {
    struct Holder {
        var txn: UInt64
        var mode: RowLockMode
    }

    /// A target's holders: nearly always one, kept inline (no array per lock).
    struct Holders {
        var first: Holder
        var more: [Holder] = []

        init(_ first: Holder) { self.first = first }

        init?(_ all: [Holder]) {
            guard let f = all.first else { return nil }
            first = f
            more = Array(all.dropFirst())
        }

        var all: [Holder] { more.isEmpty ? [first] : [first] + more }
    }

    let mutex = Lock()
    let released = Condition()
    let holders = LockTable<Holders>()
    /// Transactions each waiting transaction waits for.
    var waitsFor: [UInt64: [UInt64]] = [:]
    /// What each waiting transaction waits for, so a holder that joins later is added to its
    /// wait-for entry at once (else a cycle through it stays unseen until the next release).
    var waitingOn: [UInt64: (LockTarget, RowLockMode)] = [:]

    enum Outcome {
        /// Newly taken or strengthened; `wasNew` when the transaction held nothing on it before.
        case acquired(wasNew: Bool)
        case alreadyHeld
        case skipped
    }

    func acquire(txn: UInt64, _ target: LockTarget, mode: RowLockMode, wait: LockWait, timeoutNanos: UInt64?,
                 interrupt: StatementInterrupt? = nil, describe: @autoclosure () -> String) throws -> Outcome {
        mutex.lock()
        defer { mutex.unlock() }
        let lockDeadline = timeoutNanos.map { monotonicNanos() + $0 }
        let statementDeadline = interrupt?.deadline
        while true {
            if let interrupt {
                do {
                    try interrupt.check()
                } catch {
                    waitsFor[txn] = nil
                    waitingOn[txn] = nil
                    throw error
                }
            }
            guard let held = holders.valueOrInsert(target, { Holders(Holder(txn: txn, mode: mode)) }) else {
                // Free, and now held: the common case of a bulk write, one probe.
                if !waitsFor.isEmpty { waitsFor[txn] = nil }
                if !waitingOn.isEmpty { waitingOn[txn] = nil }
                joined(txn, target, mode)
                return .acquired(wasNew: true)
            }
            var list = held.all
            let mine = list.firstIndex { $0.txn == txn }
            if let mine, list[mine].mode >= mode { return .alreadyHeld }
            let blockers = list.filter { $0.txn != txn && $0.mode.conflicts(with: mode) }.map(\.txn)
            if blockers.isEmpty {
                waitsFor[txn] = nil
                waitingOn[txn] = nil
                joined(txn, target, mode)
                if let mine {
                    list[mine].mode = mode
                    holders[target] = Holders(list)
                    return .acquired(wasNew: false)
                }
                list.append(Holder(txn: txn, mode: mode))
                holders[target] = Holders(list)
                return .acquired(wasNew: true)
            }
            switch wait {
            case .noWait:
                throw SQLError(.lockNotAvailable, "could not obtain lock on \(describe())")
            case .skipLocked:
                return .skipped
            case .block:
                break
            }
            waitsFor[txn] = blockers
            waitingOn[txn] = (target, mode)
            if let cycle = findCycle(from: txn) {
                waitsFor[txn] = nil
                waitingOn[txn] = nil
                throw SQLError(.deadlockDetected, "deadlock detected",
                               detail: "Transaction \(txn) waits for \(describe()); the wait-for cycle is "
                                   + cycle.map(String.init).joined(separator: " -> ") + ".",
                               hint: "See server log for query details.")
            }
            let deadline = [lockDeadline, statementDeadline].compactMap { $0 }.min()
            if let deadline {
                if !released.wait(mutex, deadlineNanos: deadline), let lockDeadline, monotonicNanos() >= lockDeadline,
                   statementDeadline.map({ lockDeadline < $0 }) ?? true {
                    waitsFor[txn] = nil
                    waitingOn[txn] = nil
                    throw SQLError(.lockNotAvailable, "canceling statement due to lock timeout",
                                   detail: "while waiting for \(describe())")
                }
            } else {
                released.wait(mutex)
            }
        }
    }

    /// `txn` now holds `target` in `mode`: every transaction waiting on it for a conflicting
    /// mode waits for `txn` too.
    private func joined(_ txn: UInt64, _ target: LockTarget, _ mode: RowLockMode) {
        guard !waitingOn.isEmpty else { return }
        for (waiter, (t, wanted)) in waitingOn where waiter != txn && t == target && wanted.conflicts(with: mode) {
            if !(waitsFor[waiter] ?? []).contains(txn) { waitsFor[waiter, default: []].append(txn) }
        }
    }

    /// A cycle through `start` in the wait-for graph, if any.
    private func findCycle(from start: UInt64) -> [UInt64]? {
        var path: [UInt64] = [start]
        var seen: Set<UInt64> = [start]
        func visit(_ t: UInt64) -> Bool {
            for next in waitsFor[t] ?? [] {
                if next == start { return true }
                if seen.insert(next).inserted {
                    path.append(next)
                    if visit(next) { return true }
                    path.removeLast()
                }
            }
            return false
        }
        return visit(start) ? path + [start] : nil
    }

    /// How many locks a transaction holds before its end releases them in one pass over the
    /// table (and it stops listing further ones while no savepoint is open).
    static let bulkRelease = 4096

    /// Releases every lock `txn` holds at its end: `targets` and `more` unlisted ones. Many
    /// are dropped in one pass over the table, a few one by one.
    func releaseAll(txn: UInt64, _ targets: [LockTarget], more: Int) {
        let held = targets.count + more
        guard held > 0 else { return }
        mutex.withLock {
            if more > 0 || (held >= Self.bulkRelease && held * 2 >= holders.count) {
                // O(table size): a transaction that stopped listing its locks has no other way
                // to find them, and with many locks this beats a probe per lock.
                holders.updateAll { h in
                    if h.first.txn == txn {
                        guard let next = h.more.first else { return false }
                        h.first = next
                        h.more.removeFirst()
                    }
                    h.more.removeAll { $0.txn == txn }
                    return true
                }
            } else {
                releaseEach(txn: txn, targets)
            }
            noteReleased(txn)
        }
    }

    /// Releases `txn`'s locks on `targets` (ROLLBACK TO a savepoint).
    func release(txn: UInt64, _ targets: [LockTarget]) {
        guard !targets.isEmpty else { return }
        mutex.withLock {
            releaseEach(txn: txn, targets)
            noteReleased(txn)
        }
    }

    /// Drops `txn` as a holder of each of `targets`. Under `mutex`.
    private func releaseEach(txn: UInt64, _ targets: [LockTarget]) {
        for t in targets {
            guard let held = holders.removeValue(forKey: t) else { continue }
            if held.more.isEmpty && held.first.txn == txn { continue }
            var list = held.all
            list.removeAll { $0.txn == txn }
            holders[t] = Holders(list)
        }
    }

    /// `txn` waits for nothing now that it released locks; the waiters look again. Under `mutex`.
    private func noteReleased(_ txn: UInt64) {
        if !waitsFor.isEmpty { waitsFor[txn] = nil }
        if !waitingOn.isEmpty { waitingOn[txn] = nil }
        released.broadcast()
    }

    /// Makes room for `n` more locks (a statement about to write that many rows).
    func reserve(_ n: Int) {
        mutex.withLock { holders.reserve(holders.count + n) }
    }

    /// Wakes every waiter (a cancelled statement stops waiting).
    func wakeAll() {
        mutex.withLock { released.broadcast() }
    }

    /// Whether any other transaction holds a lock on `target` (for tests and diagnostics).
    func isLocked(_ target: LockTarget) -> Bool {
        mutex.withLock { holders[target] != nil }
    }
}
