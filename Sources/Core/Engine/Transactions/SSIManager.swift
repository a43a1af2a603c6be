import DriftStorage

/// Serializable Snapshot Isolation (Cahill et al.; PostgreSQL's SSI): tracks what
/// SERIALIZABLE transactions read and write, records read-write antidependencies
/// between concurrent ones, and fails a commit with 40001 when it would complete a
/// dangerous structure (a transaction with both an incoming and an outgoing edge).
final class SSIManager: @unchecked Sendable {
    final class Txn {
        let id: UInt64
        let snapshotSeq: UInt64
        /// nil while active; `UInt64.max` between the commit check and the seq being known.
        var commitSeq: UInt64?
        var aborted = false
        var reads: Set<LockTarget> = []
        var tableReads: Set<UInt32> = []
        var writes: Set<LockTarget> = []
        var writeTables: Set<UInt32> = []
        var inConflicts: Set<UInt64> = []
        var outConflicts: Set<UInt64> = []

        init(id: UInt64, snapshotSeq: UInt64) {
            self.id = id
            self.snapshotSeq = snapshotSeq
        }
    }

    let mutex = Lock()
    var txns: [UInt64: Txn] = [:]

    func register(_ id: UInt64, snapshotSeq: UInt64) {
        mutex.withLock { txns[id] = Txn(id: id, snapshotSeq: snapshotSeq) }
    }

    /// True when `other`'s writes are invisible to `t`'s snapshot (they overlap in time).
    private func concurrent(_ other: Txn, with t: Txn) -> Bool {
        guard !other.aborted else { return false }
        guard let c = other.commitSeq else { return true }
        return c > t.snapshotSeq
    }

    private func live(_ ids: Set<UInt64>) -> [Txn] {
        ids.compactMap { txns[$0] }.filter { !$0.aborted }
    }

    private func edge(from reader: Txn, to writer: Txn) {
        reader.outConflicts.insert(writer.id)
        writer.inConflicts.insert(reader.id)
    }

    func onRead(_ id: UInt64, _ target: LockTarget) {
        mutex.withLock {
            guard let t = txns[id], t.reads.insert(target).inserted else { return }
            for u in txns.values where u.id != id && u.writes.contains(target) && concurrent(u, with: t) {
                edge(from: t, to: u)
            }
        }
    }

    func onTableRead(_ id: UInt64, _ table: UInt32) {
        mutex.withLock {
            guard let t = txns[id], t.tableReads.insert(table).inserted else { return }
            for u in txns.values where u.id != id && u.writeTables.contains(table) && concurrent(u, with: t) {
                edge(from: t, to: u)
            }
        }
    }

    func onWrite(_ id: UInt64, _ target: LockTarget) {
        mutex.withLock {
            guard let t = txns[id], t.writes.insert(target).inserted else { return }
            t.writeTables.insert(target.table)
            for u in txns.values where u.id != id
                && (u.reads.contains(target) || u.tableReads.contains(target.table)) && concurrent(u, with: t) {
                edge(from: u, to: t)
            }
        }
    }

    /// Checks for a dangerous structure involving `id`; on success the transaction counts
    /// as committed for everyone else's checks.
    func preCommit(_ id: UInt64) throws {
        try mutex.withLock {
            guard let t = txns[id] else { return }
            let ins = live(t.inConflicts), outs = live(t.outConflicts)
            var pivot: UInt64?
            if !ins.isEmpty && !outs.isEmpty { pivot = id }
            for r in ins where r.commitSeq != nil && !live(r.inConflicts).isEmpty { pivot = r.id }
            for w in outs where w.commitSeq != nil && !live(w.outConflicts).isEmpty { pivot = w.id }
            if let pivot {
                t.aborted = true
                throw SQLError(.serializationFailure, "could not serialize access due to read/write dependencies among transactions",
                               detail: "Reason code: Canceled on identification as a pivot, during commit attempt (pivot transaction \(pivot)).",
                               hint: "The transaction might succeed if retried.")
            }
            t.commitSeq = UInt64.max
        }
    }

    func committed(_ id: UInt64, seq: UInt64) {
        mutex.withLock {
            txns[id]?.commitSeq = seq
            prune()
        }
    }

    func aborted(_ id: UInt64) {
        mutex.withLock {
            txns[id]?.aborted = true
            prune()
        }
    }

    /// Forgets transactions no active one overlaps with.
    private func prune() {
        let active = txns.values.filter { $0.commitSeq == nil && !$0.aborted }
        let horizon = active.map(\.snapshotSeq).min() ?? UInt64.max
        txns = txns.filter { _, t in
            if t.commitSeq == nil && !t.aborted { return true }
            if t.aborted { return false }
            return (t.commitSeq ?? UInt64.max) > horizon
        }
    }
}
