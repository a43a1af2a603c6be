import DriftStorage
import Testing
@testable import DriftCore

/// Runs `body` on another thread; `join()` waits for it and rethrows its error.
final class Background: @unchecked Sendable {
    private var thread: OSThread?
    private var error: (any Error)?

    init(_ body: @escaping @Sendable () throws -> Void) {
        do {
            thread = try OSThread { [unowned self] in
                do { try body() } catch { self.error = error }
            }
        } catch {
            self.error = error
        }
    }

    func join() throws {
        thread?.join()
        thread = nil
        if let error { throw error }
    }
}

func sleepMillis(_ ms: Int) {
    let deadline = monotonicNanos() + UInt64(ms) * 1_000_000
    let lock = Lock(), cond = Condition()
    lock.withLock { while monotonicNanos() < deadline { _ = cond.wait(lock, deadlineNanos: deadline) } }
}

func code(_ body: () throws -> Void) -> SQLState? {
    do {
        try body()
        return nil
    } catch let e as SQLError {
        return e.code
    } catch {
        return .internalError
    }
}

func row(_ def: TableDef, _ id: Int64, _ v: String) -> [Value] { [.int(id), .text(v)] }

@Suite struct TransactionTests {
    @Test func noDirtyReadsAndSnapshotReads() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        let writer = e.begin()
        writer.beginStatement()
        try writer.insert(def, row(def, 1, "uncommitted"))
        let rr = e.begin(isolation: .repeatableRead)
        rr.beginStatement()
        let rc = e.begin()
        rc.beginStatement()
        #expect(try rc.get(def, key: key(1)) == nil)
        // A later statement of the writer sees its own row.
        writer.beginStatement()
        #expect(try writer.get(def, key: key(1)) != nil)
        try writer.commit()
        rc.beginStatement()
        #expect(try rc.get(def, key: key(1)) != nil)
        rr.beginStatement()
        #expect(try rr.get(def, key: key(1)) == nil)
        rr.rollback()
        rc.rollback()
    }

    @Test func repeatableReadRejectsLostUpdates() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "0")
        let t1 = e.begin(isolation: .repeatableRead), t2 = e.begin(isolation: .repeatableRead)
        t1.beginStatement()
        t2.beginStatement()
        #expect(try t1.get(def, key: key(1)) == row(def, 1, "0"))
        #expect(try t2.get(def, key: key(1)) == row(def, 1, "0"))
        _ = try t1.lockRow(def, key: key(1), mode: .noKeyUpdate)
        try t1.update(def, key: key(1), row(def, 1, "1"))
        try t1.commit()
        #expect(code { _ = try t2.lockRow(def, key: key(1), mode: .noKeyUpdate) } == .serializationFailure)
        t2.rollback()
        #expect(try get(e, "t", 1) == "1")
    }

    @Test func readCommittedIncrementsNeitherLoseUpdatesNorFail() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "0")
        let workers = (0..<4).map { _ in
            Background {
                for _ in 0..<50 {
                    try e.transaction { t in
                        guard case .row(let current?, _) = try t.lockRow(def, key: key(1), mode: .noKeyUpdate),
                              case .text(let s) = current[1] else { throw SQLError(.internalError, "row vanished") }
                        try t.update(def, key: key(1), row(def, 1, String(Int(s)! + 1)))
                    }
                }
            }
        }
        for w in workers { try w.join() }
        #expect(try get(e, "t", 1) == "200")
    }

    @Test func serializableRejectsWriteSkew() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "doctors")
        _ = try put(e, "doctors", 1, "on")
        _ = try put(e, "doctors", 2, "on")
        func onCall(_ t: Transaction) throws -> Int {
            var n = 0
            try t.scan(def) { r in
                if try RowCodec.decode(r.image, missing: def.missingValues)[1] == .text("on") { n += 1 }
                return true
            }
            return n
        }
        let t1 = e.begin(isolation: .serializable), t2 = e.begin(isolation: .serializable)
        t1.beginStatement()
        t2.beginStatement()
        #expect(try onCall(t1) == 2)
        #expect(try onCall(t2) == 2)
        _ = try t1.lockRow(def, key: key(1), mode: .noKeyUpdate)
        try t1.update(def, key: key(1), row(def, 1, "off"))
        _ = try t2.lockRow(def, key: key(2), mode: .noKeyUpdate)
        try t2.update(def, key: key(2), row(def, 2, "off"))
        let first = code { try t1.commit() }
        let second = code { try t2.commit() }
        #expect([first, second].filter { $0 == .serializationFailure }.count == 1)
        #expect([first, second].contains(nil))
        let after = e.begin()
        after.beginStatement()
        #expect(try onCall(after) == 1)
        after.rollback()
    }

    @Test func serializableAllowsNonConflictingTransactions() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "a")
        let t1 = e.begin(isolation: .serializable), t2 = e.begin(isolation: .serializable)
        t1.beginStatement()
        t2.beginStatement()
        _ = try t1.get(def, key: key(1))
        _ = try t2.lockRow(def, key: key(2), mode: .update)
        try t2.insert(def, row(def, 2, "b"))
        try t1.commit()
        try t2.commit()
        #expect(try contents(e, "t") == [1: "a", 2: "b"])
    }

    @Test func deadlocksAreDetected() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "a")
        _ = try put(e, "t", 2, "b")
        let t1 = e.begin(), t2 = e.begin()
        t1.beginStatement()
        t2.beginStatement()
        _ = try t1.lockRow(def, key: key(1), mode: .update)
        _ = try t2.lockRow(def, key: key(2), mode: .update)
        let waiter = Background {
            _ = try t1.lockRow(def, key: key(2), mode: .update)
            try t1.commit()
        }
        sleepMillis(50)
        #expect(code { _ = try t2.lockRow(def, key: key(1), mode: .update) } == .deadlockDetected)
        t2.rollback()
        try waiter.join()
    }

    @Test func noWaitSkipLockedAndLockTimeout() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "a")
        let holder = e.begin()
        holder.beginStatement()
        _ = try holder.lockRow(def, key: key(1), mode: .update)
        let other = e.begin()
        other.beginStatement()
        #expect(code { _ = try other.lockRow(def, key: key(1), mode: .update, wait: .noWait) } == .lockNotAvailable)
        guard case .skipped = try other.lockRow(def, key: key(1), mode: .update, wait: .skipLocked) else {
            Issue.record("SKIP LOCKED did not skip")
            return
        }
        // FOR KEY SHARE does not conflict with FOR NO KEY UPDATE.
        let sharer = e.begin()
        sharer.beginStatement()
        let weak = e.begin()
        weak.beginStatement()
        other.lockTimeoutNanos = 50_000_000
        let start = monotonicNanos()
        #expect(code { _ = try other.lockRow(def, key: key(1), mode: .share) } == .lockNotAvailable)
        #expect(monotonicNanos() - start >= 50_000_000)
        holder.rollback()
        _ = try weak.lockRow(def, key: key(1), mode: .noKeyUpdate)
        #expect(code { _ = try sharer.lockRow(def, key: key(1), mode: .keyShare, wait: .noWait) } == nil)
        other.rollback()
        sharer.rollback()
        weak.rollback()
    }

    @Test func savepointsUndoWritesAndLocks() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        let t = e.begin()
        t.beginStatement()
        try t.insert(def, row(def, 1, "a"))
        try t.savepoint("s1")
        try t.insert(def, row(def, 2, "b"))
        _ = try t.lockRow(def, key: key(1), mode: .update)
        try t.update(def, key: key(1), row(def, 1, "changed"))
        try t.rollback(toSavepoint: "s1")
        #expect(try t.get(def, key: key(2)) == nil)
        #expect(try t.get(def, key: key(1)) == row(def, 1, "a"))
        #expect(!e.locks.isLocked(LockTarget(table: def.id, key: key(2))))
        #expect(code { try t.rollback(toSavepoint: "nope") } == .invalidSavepointSpecification)
        try t.commit()
        #expect(try contents(e, "t") == [1: "a"])
    }

    @Test func readOnlyAndHistoricalTransactionsRefuseWrites() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        let s = try put(e, "t", 1, "a")
        let past = e.begin(asOf: s)
        #expect(code { try past.insert(def, row(def, 2, "b")) } == .readOnlySQLTransaction)
        let ro = e.begin(readOnly: true)
        #expect(code { try ro.insert(def, row(def, 2, "b")) } == .readOnlySQLTransaction)
    }

    @Test func duplicateKeysAreRejected() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "a")
        #expect(code { try e.transaction { t in try t.insert(def, row(def, 1, "again")) } } == .uniqueViolation)
        #expect(code { try e.transaction { t in try t.insert(def, [.null, .text("x")]) } } == .notNullViolation)
    }
}
