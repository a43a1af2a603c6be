import DriftStorage

/// Serializable Snapshot Isolation (Cahill et al.; PostgreSQL's SSI): tracks what
/// SERIALIZABLE transactions read and write, records read-write antidependencies
/// (`reader →rw writer`: the reader saw a version older than the writer's) between
/// overlapping ones, and fails a commit with 40001 when it would complete a dangerous
/// structure `T_in →rw T_pivot →rw T_out` in which T_out commits first.
///
/// Every read is recorded (rows, absent keys, lock-only reads, table scans), read-only
/// transactions keep their reads after they commit, and a committed transaction is dropped
/// only when no running one overlaps it; its edges to transactions still kept are folded
/// into their summary flags first, and past a size bound its reads and writes are folded
/// into per-key summaries (PostgreSQL's OldCommittedSxact), so memory stays bounded
/// without losing a conflict.
final class SSIManager: @unchecked Sendable {
    enum State: Equatable {
        case active
        /// Passed the commit check; its writes are on their way to the log.
        case prepared
        case committed(UInt64)
        case aborted
    }

    final class Txn {
        let id: UInt64
        let snapshotSeq: UInt64
        var state: State = .active
        var reads: Set<LockTarget> = []
        var tableReads: Set<UInt32> = []
        var writes: Set<LockTarget> = []
        var writeTables: Set<UInt32> = []
        var inConflicts: Set<UInt64> = []
        var outConflicts: Set<UInt64> = []
        /// An in-conflict from a committed transaction since dropped.
        var summaryIn = false
        /// The earliest commit among out-conflict partners since dropped.
        var summaryOutCommit: UInt64?

        init(id: UInt64, snapshotSeq: UInt64) {
            self.id = id
            self.snapshotSeq = snapshotSeq
        }

        var isRunning: Bool { state == .active || state == .prepared }
        var commitSeq: UInt64? {
            if case .committed(let s) = state { return s }
            return nil
        }
        var isReadOnly: Bool { writes.isEmpty && writeTables.isEmpty }
    }

    let mutex = Lock()
    var txns: [UInt64: Txn] = [:]
    /// Reads and writes of committed transactions folded away while some running transaction
    /// overlaps them: per key or table, the newest commit seq that touched it.
    var oldReads: [LockTarget: UInt64] = [:]
    var oldTableReads: [UInt32: UInt64] = [:]
    var oldWrites: [LockTarget: UInt64] = [:]
    var oldWriteTables: [UInt32: UInt64] = [:]
    /// Committed transactions kept in full before the oldest are folded into summaries.
    let committedKeptMax: Int

    init(committedKeptMax: Int = 10_000) { self.committedKeptMax = committedKeptMax }

    /// Registers a transaction and takes its snapshot under the lock, so that no commit can
    /// become visible between the snapshot and the registration unseen.
    func register(_ id: UInt64, snapshot: () -> UInt64) -> UInt64 {
        mutex.withLock {
            let seq = snapshot()
            txns[id] = Txn(id: id, snapshotSeq: seq)
            return seq
        }
    }

    /// Whether `w`'s writes are invisible to `r`'s snapshot.
    private func invisible(_ w: Txn, to r: Txn) -> Bool {
        switch w.state {
        case .active, .prepared: return true
        case .committed(let c): return c > r.snapshotSeq
        case .aborted: return false
        }
    }

    /// Whether `r` was still running when `w` took its snapshot.
    private func overlaps(_ r: Txn, _ w: Txn) -> Bool {
        switch r.state {
        case .active, .prepared: return true
        case .committed(let c): return c > w.snapshotSeq
        case .aborted: return false
        }
    }

    private func edge(from reader: Txn, to writer: Txn) {
        reader.outConflicts.insert(writer.id)
        writer.inConflicts.insert(reader.id)
    }

    func onRead(_ id: UInt64, _ target: LockTarget) {
        mutex.withLock {
            guard let r = txns[id], r.isRunning, r.reads.insert(target).inserted else { return }
            for w in txns.values where w.id != id && w.writes.contains(target) && invisible(w, to: r) { edge(from: r, to: w) }
            if let c = oldWrites[target], c > r.snapshotSeq { r.summaryOutCommit = min(r.summaryOutCommit ?? c, c) }
        }
    }

    func onTableRead(_ id: UInt64, _ table: UInt32) {
        mutex.withLock {
            guard let r = txns[id], r.isRunning, r.tableReads.insert(table).inserted else { return }
            for w in txns.values where w.id != id && w.writeTables.contains(table) && invisible(w, to: r) { edge(from: r, to: w) }
            if let c = oldWriteTables[table], c > r.snapshotSeq { r.summaryOutCommit = min(r.summaryOutCommit ?? c, c) }
        }
    }

    func onWrite(_ id: UInt64, _ target: LockTarget) {
        mutex.withLock {
            guard let w = txns[id], w.isRunning, w.writes.insert(target).inserted else { return }
            w.writeTables.insert(target.table)
            for r in txns.values where r.id != id
                && (r.reads.contains(target) || r.tableReads.contains(target.table)) && overlaps(r, w) {
                edge(from: r, to: w)
            }
            if let c = oldReads[target] ?? oldTableReads[target.table], c > w.snapshotSeq { w.summaryIn = true }
        }
    }

    static let failure = SQLError(.serializationFailure, "could not serialize access due to read/write dependencies among transactions",
                                  detail: "Reason code: Canceled on identification as a pivot, during commit attempt.",
                                  hint: "The transaction might succeed if retried.")

    /// The commit check: fails with 40001 (and aborts the transaction) when committing would
    /// complete a dangerous structure; otherwise the transaction is prepared.
    func preCommit(_ id: UInt64) throws {
        try mutex.withLock {
            guard let t = txns[id] else { return }
            if dangerous(t) {
                t.state = .aborted
                prune()
                throw Self.failure
            }
            t.state = .prepared
        }
    }

    /// Commits a transaction that wrote nothing: the same check, then it counts as committed
    /// at the visible seq (read under the lock), its reads kept while others overlap it.
    func commitReadOnly(_ id: UInt64, visibleSeq: () -> UInt64) throws {
        try mutex.withLock {
            guard let t = txns[id] else { return }
            if dangerous(t) {
                t.state = .aborted
                prune()
                throw Self.failure
            }
            t.state = .committed(visibleSeq())
            prune()
        }
    }

    private func partners(_ ids: Set<UInt64>) -> [Txn] {
        ids.compactMap { txns[$0] }.filter { $0.state != .aborted }
    }

    /// Whether committing `t` now completes `T_in → T_pivot → T_out` with T_out first to commit.
    private func dangerous(_ t: Txn) -> Bool {
        let ins = partners(t.inConflicts), outs = partners(t.outConflicts)
        // 1. t is the pivot and one of its out-partners committed before it (a prepared one is
        // committing: it counts as committed after every commit already made).
        let committedOuts = outs.compactMap { $0.state == .prepared ? UInt64.max - 1 : $0.commitSeq }
            + (t.summaryOutCommit.map { [$0] } ?? [])
        if let firstOut = committedOuts.min() {
            // ...and an in-partner that is still running or committed after it; a read-only one
            // only if its snapshot already saw that commit (PostgreSQL's read-only rule).
            let inQualifies = t.summaryIn || ins.contains { r in
                guard let rc = r.commitSeq else { return true }
                return r.isReadOnly ? firstOut <= r.snapshotSeq : firstOut <= rc
            }
            if inQualifies { return true }
        }
        // 2. t is the out-partner committing first, of an active pivot with an active in-partner.
        for r in ins where r.state == .active {
            if r.summaryIn || partners(r.inConflicts).contains(where: { $0.state == .active && $0.id != t.id }) { return true }
        }
        // 3. t is the in-partner of a committed pivot whose out-partner committed before it.
        for w in outs {
            guard let wc = w.state == .prepared ? UInt64.max - 1 : w.commitSeq else { continue }
            let earlier = partners(w.outConflicts).compactMap(\.commitSeq).filter { $0 < wc }
                + (w.summaryOutCommit.map { $0 < wc ? [$0] : [] } ?? [])
            guard let x = earlier.min() else { continue }
            if !t.isReadOnly || x <= t.snapshotSeq { return true }
        }
        return false
    }

    /// Records the commit of a prepared writer (on the log's writer thread, before its seq is
    /// made visible, so every later snapshot sees it committed).
    func committed(_ id: UInt64, seq: UInt64) {
        mutex.withLock {
            guard let t = txns[id], t.isRunning else { return }
            t.state = .committed(seq)
            prune()
        }
    }

    func aborted(_ id: UInt64) {
        mutex.withLock {
            guard let t = txns[id], t.isRunning else { return }
            t.state = .aborted
            prune()
        }
    }

    /// Drops what no running transaction can reach: aborted transactions, and committed ones
    /// that committed before every running snapshot (their reads and writes can conflict with
    /// nothing that runs or will run), folding their edges into the kept partners' summaries.
    private func prune() {
        let running = txns.values.filter(\.isRunning)
        let horizon = running.map(\.snapshotSeq).min() ?? UInt64.max
        var committedKept: [Txn] = []
        for t in Array(txns.values) {
            switch t.state {
            case .aborted:
                drop(t, summarize: false)
            case .committed(let c) where c <= horizon:
                drop(t, summarize: true)
            case .committed:
                committedKept.append(t)
            default:
                break
            }
        }
        if committedKept.count > committedKeptMax {
            // Past the bound: fold the oldest committed ones into per-key summaries.
            committedKept.sort { ($0.commitSeq ?? 0) < ($1.commitSeq ?? 0) }
            for t in committedKept.prefix(committedKept.count - committedKeptMax) {
                guard let c = t.commitSeq else { continue }
                for k in t.reads { oldReads[k] = max(oldReads[k] ?? 0, c) }
                for k in t.tableReads { oldTableReads[k] = max(oldTableReads[k] ?? 0, c) }
                for k in t.writes { oldWrites[k] = max(oldWrites[k] ?? 0, c) }
                for k in t.writeTables { oldWriteTables[k] = max(oldWriteTables[k] ?? 0, c) }
                drop(t, summarize: true)
            }
        }
        if !oldReads.isEmpty || !oldWrites.isEmpty || !oldTableReads.isEmpty || !oldWriteTables.isEmpty {
            oldReads = oldReads.filter { $0.value > horizon }
            oldTableReads = oldTableReads.filter { $0.value > horizon }
            oldWrites = oldWrites.filter { $0.value > horizon }
            oldWriteTables = oldWriteTables.filter { $0.value > horizon }
        }
    }

    private func drop(_ t: Txn, summarize: Bool) {
        for id in t.inConflicts {
            guard let a = txns[id] else { continue }
            a.outConflicts.remove(t.id)
            if summarize, let c = t.commitSeq { a.summaryOutCommit = min(a.summaryOutCommit ?? c, c) }
        }
        for id in t.outConflicts {
            guard let a = txns[id] else { continue }
            a.inConflicts.remove(t.id)
            if summarize { a.summaryIn = true }
        }
        txns[t.id] = nil
    }

    /// How many transactions are tracked (for tests of the memory bound).
    var trackedCount: Int { mutex.withLock { txns.count } }
}
