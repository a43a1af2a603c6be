#if canImport(Glibc)
import Glibc
#endif
import DriftStorage
import DriftTestSupport
import Synchronization
import Testing
@testable import DriftCore

/// One test per point of the core review: each scenario as a deterministic interleaving.
@Suite struct ReviewTests {
    /// A serializable transaction that has taken its snapshot.
    func serializable(_ e: Engine) -> Transaction {
        let t = e.begin(isolation: .serializable)
        t.beginStatement()
        return t
    }

    func write(_ t: Transaction, _ def: TableDef, _ id: Int64, _ v: String) throws {
        guard case .row(let existing, _) = try t.lockRow(def, key: key(id), mode: .noKeyUpdate, wait: .noWait) else {
            throw SQLError(.lockNotAvailable, "skipped")
        }
        let row: [Value] = [.int(id), .text(v)]
        if existing != nil { try t.update(def, key: key(id), row) } else { try t.insert(def, row) }
    }

    func value(_ t: Transaction, _ def: TableDef, _ id: Int64) throws -> String? {
        guard let row = try t.get(def, key: key(id)), case .text(let s) = row[1] else { return nil }
        return s
    }

    /// Commits; true when it succeeded, false on 40001.
    func commits(_ t: Transaction) throws -> Bool {
        do {
            try t.commit()
            return true
        } catch let e as SQLError where e.code == .serializationFailure {
            return false
        }
    }

    // MARK: 1. The read-only anomaly

    @Test func fekete_readOnlyAnomalyIsRefused() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "x0")
        _ = try put(e, "t", 2, "y0")
        let p = serializable(e)
        _ = try value(p, def, 1)
        _ = try value(p, def, 2)
        let c = serializable(e)
        try write(c, def, 2, "y1")
        #expect(try commits(c))
        let x = serializable(e)
        #expect(try value(x, def, 2) == "y1")
        #expect(try value(x, def, 1) == "x0")
        let xCommitted = try commits(x)
        try write(p, def, 1, "x1")
        let pCommitted = try commits(p)
        #expect(!(xCommitted && pCommitted), "the read-only transaction and the pivot both committed")
    }

    // MARK: 2. Pruning

    @Test func pruneA_aTransactionBetweenItsCheckAndItsCommitIsNotForgotten() throws {
        let mem = MemoryFileSystem()
        let fault = FaultInjectingFileSystem(wrapping: mem)
        let e = try Engine.open(at: "/db", config: testConfig(), fs: fault, create: true, logger: TestLog.logger)
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "a0")
        _ = try put(e, "t", 2, "b0")
        // T1 reads a and writes b; its commit passes the check and waits for a slow disk.
        let t1 = serializable(e)
        _ = try value(t1, def, 1)
        try write(t1, def, 2, "b1")
        fault.holdSyncs()
        let first = Background { _ = try t1.commit() }
        while fault.heldSyncs == 0 { sleepMillis(1) }
        // Meanwhile a transaction ends (the manager prunes), and T2 runs the write skew.
        let other = serializable(e)
        other.rollback()
        let t2 = serializable(e)
        #expect(try value(t2, def, 2) == "b0")
        try write(t2, def, 1, "a2")
        let second = Background { _ = try t2.commit() }
        sleepMillis(50)
        fault.releaseSyncs()
        var committed = 0
        for b in [first, second] {
            do {
                try b.join()
                committed += 1
            } catch let err as SQLError where err.code == .serializationFailure {}
        }
        #expect(committed == 1, "a write skew committed on both sides")
    }

    @Test func pruneB_aCommittedOutPartnerIsSummarisedNotForgotten() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        for id in Int64(1)...3 { _ = try put(e, "t", id, "v0") }
        // A reads y; C writes y and commits (A →rw C).
        let a = serializable(e)
        _ = try value(a, def, 2)
        let c = serializable(e)
        try write(c, def, 2, "y1")
        #expect(try commits(c))
        // T starts after C, before A commits. A writes x and commits: C now precedes every
        // running snapshot, so it may be dropped, but A still lists it.
        let t = serializable(e)
        try write(a, def, 1, "x1")
        #expect(try commits(a))
        // T reads x (A's write is invisible to it) and y (C's is not): T → A → C → T.
        #expect(try value(t, def, 1) == "v0")
        #expect(try value(t, def, 2) == "y1")
        try write(t, def, 3, "z1")
        #expect(try !commits(t), "T completed the cycle T → A → C → T")
    }

    @Test func pruneC_aSnapshotTakenWhileACommitLandsNeverMissesIt() throws {
        // The race: R takes its snapshot while W's commit becomes visible. If R's snapshot
        // misses W and the manager has already let go of W, the write skew goes unseen.
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        for round in 0..<300 {
            _ = try put(e, "t", 1, "a0")
            _ = try put(e, "t", 2, "b0")
            let w = serializable(e)
            _ = try value(w, def, 1)
            try write(w, def, 2, "b\(round)")
            let r = e.begin(isolation: .serializable)
            let wSeq = Mutex<UInt64?>(nil)
            let committer = Background { let s = try w.commit(); wSeq.withLock { $0 = s } }
            r.beginStatement()
            let rSeq = r.readSeq
            _ = try value(r, def, 2)
            var rOK = false
            do {
                try write(r, def, 1, "a\(round)")
                rOK = try commits(r)
            } catch let err as SQLError where err.code == .lockNotAvailable || err.code == .serializationFailure {}
            let wOK: Bool
            do { try committer.join(); wOK = true } catch { wOK = false }
            if rOK && wOK, let ws = wSeq.withLock({ $0 }) {
                #expect(rSeq >= ws, "round \(round): a write skew committed on both sides (R's snapshot \(rSeq) missed W's \(ws))")
            }
        }
    }

    // MARK: 3. Lock-only and absent-key reads

    @Test func lockRowOfAnAbsentKeyIsARead() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "y0")
        // T1 patches k (absent: nothing to do, but it looked) and updates y.
        let t1 = serializable(e)
        _ = try t1.lockRow(def, key: key(99), mode: .noKeyUpdate)
        try write(t1, def, 1, "y1")
        // T2 reads y (the old one), then inserts k once T1 has committed.
        let t2 = serializable(e)
        #expect(try value(t2, def, 1) == "y0")
        let one = try commits(t1)
        var two = false
        do {
            try write(t2, def, 99, "k")
            two = try commits(t2)
        } catch let err as SQLError where err.code == .serializationFailure {}
        #expect(one && !two, "T1 saw k absent and T2 saw y old: they cannot both commit")
    }

    @Test func forShareWithoutAWriteIsARead() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "a0")
        _ = try put(e, "t", 2, "b0")
        let t1 = serializable(e)
        _ = try t1.lockRow(def, key: key(1), mode: .share)
        try write(t1, def, 2, "b1")
        let t2 = serializable(e)
        _ = try t2.lockRow(def, key: key(2), mode: .keyShare)
        try t1.commit()
        // T2 read b (lock only) before T1's write, and now writes a, which T1 read.
        do {
            try write(t2, def, 1, "a2")
            #expect(try !commits(t2), "a lock-only read took no part in the check")
        } catch let err as SQLError {
            #expect(err.code == .serializationFailure || err.code == .lockNotAvailable)
        }
    }

    // MARK: 4. History reads and the snapshot

    @Test func historyReadsSeeOnlyTheReadersSnapshot() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "v1")
        let rr = e.begin(isolation: .repeatableRead)
        rr.beginStatement()
        var before = 0
        try rr.history(def, key: key(1)) { _, _ in before += 1 }
        _ = try put(e, "t", 1, "v2")
        _ = try put(e, "t", 1, "v3")
        var after = 0
        var current = 0
        try rr.history(def, key: key(1)) { _, next in
            after += 1
            if next == nil { current += 1 }
        }
        #expect(before == 1 && after == 1 && current == 1, "history grew under a REPEATABLE READ snapshot: \(before) → \(after)")
        rr.rollback()
    }

    // MARK: 6. Limits enforced where bytes are written

    @Test func aRowTooLargeForAFrameIsRefusedAtCommit() throws {
        let (e, fs) = try memoryEngine()
        let def = try createTable(e, "t")
        let big = String(repeating: "x", count: Limits.frameBytesMax + 1)
        do {
            try e.transaction { t in try t.insert(def, [.int(1), .text(big)]) }
            Issue.record("a row over the frame limit was committed")
        } catch let err as SQLError {
            #expect(err.code == .programLimitExceeded)
        }
        _ = try put(e, "t", 2, "small")
        e.close()
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: fs.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        #expect(try contents(e2, "t") == [2: "small"])
    }

    // MARK: 7. Dropped indexes and the past

    @Test func anIndexDroppedLaterStillServesReadsAsOfBefore() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t", extra: ["tag"], index: ["tag"])
        for i in Int64(1)...20 {
            try e.transaction { t in try t.insert(def, [.int(i), .text("v\(i)"), .text(i % 2 == 0 ? "even" : "odd")]) }
        }
        let before = e.visibleSeq
        let old = e.begin(isolation: .repeatableRead)
        old.beginStatement()
        try e.transaction { t in
            try t.applyDDL { c in .dropIndex(def.id, c.table(id: def.id)!.indexes[0].id) }
        }
        let past = e.catalog(at: before).table(id: def.id)!
        for reader in [e.begin(asOf: before), old] {
            var rows = 0
            let bound = IndexBound(prefix: KeyCodec.encode(.text("even")), inclusive: true)
            try reader.indexScan(past, index: past.indexes[0].id, lower: bound, upper: bound, at: before) { _ in
                rows += 1
                return true
            }
            #expect(rows == 10)
            reader.rollback()
        }
    }

    // MARK: 8. A failed apply

    @Test func aFailedApplyFailsTheEngineAndPublishesNothing() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        let def = try createTable(e, "t")
        let s1 = try put(e, "t", 1, "a")
        let t = e.begin()
        t.beginStatement()
        try t.insert(def, [.int(2), .text("b")])
        // The commit's table loses its storage behind the engine's back: applying it fails.
        let store = e.stateLock.withWriteLock { e.stores.removeValue(forKey: def.id) }
        #expect(throws: SQLError.self) { try t.commit() }
        e.stateLock.withWriteLock { e.stores[def.id] = store }
        #expect(e.visibleSeq == s1, "a partial commit became visible")
        #expect(e.timestamp(of: s1 + 1) == nil)
        #expect(e.writerFailure != nil)
        #expect(throws: SQLError.self) { _ = try put(e, "t", 3, "c") }
        #expect(throws: (any Error).self) { _ = try e.snapshot() }
        e.close()
        // The commit is durable: a restart rebuilds memory from the log, and it is there.
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: fs.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        #expect(try contents(e2, "t") == [1: "a", 2: "b"])
        #expect(e2.timestamp(of: s1 + 1) != nil && e2.visibleSeq == s1 + 1)
    }

    // MARK: 9. Scan bodies and the table lock

    @Test func aScanBodyCanReadAndLockRowsWhileACommitWaits() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        for i in Int64(1)...10 { _ = try put(e, "t", i, "v\(i)") }
        let t = e.begin()
        t.beginStatement()
        // A deadlock here hangs the process: the watchdog turns it into a failure.
        let done = Atomic<Bool>(false)
        let watchdog = try OSThread {
            let deadline = monotonicNanos() + 20_000_000_000
            while !done.load(ordering: .acquiring) {
                if monotonicNanos() > deadline {
                    print("aScanBodyCanReadAndLockRowsWhileACommitWaits: deadlocked (a scan body waited on its own table lock)")
                    exit(3)
                }
                sleepMillis(10)
            }
        }
        var writer: Background?
        var seen = 0
        try t.scan(def) { row in
            seen += 1
            if seen == 1 {
                // A commit to the same table now waits for the table's write lock...
                writer = Background { _ = try put(e, "t", 100, "new") }
                sleepMillis(50)
            }
            // ...while the body reads and locks rows of that table.
            let k = Array(row.key)
            _ = try t.get(def, key: k)
            _ = try t.lockRow(def, key: k, mode: .share)
            return true
        }
        try writer?.join()
        done.store(true, ordering: .releasing)
        watchdog.join()
        #expect(seen == 10)
        t.rollback()
    }

    // MARK: 10. A statement does not see its own writes

    @Test func aScanDoesNotSeeRowsItsStatementWrites() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        for i in Int64(1)...50 { _ = try put(e, "t", i, "v") }
        let t = e.begin()
        t.beginStatement()
        try t.insert(def, [.int(1000), .text("from an earlier statement")])
        t.beginStatement()
        // INSERT ... SELECT from the same table, and an UPDATE that moves rows forward.
        var visited = 0
        try t.scan(def) { row in
            visited += 1
            let id = try RowCodec.decode(row.image, missing: def.missingValues)[0]
            guard case .int(let i) = id, visited < 10_000 else { return false }
            try t.insert(def, [.int(i + 2000), .text("copy")])
            return true
        }
        #expect(visited == 51, "the scan saw \(visited) rows; 50 committed and 1 from an earlier statement")
        t.rollback()
    }

    // MARK: 11. Waiters see a holder that joins

    @Test func aDeadlockThroughAJoiningSharerIsDetectedAtOnce() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        _ = try put(e, "t", 1, "r")
        _ = try put(e, "t", 2, "q")
        let t1 = e.begin(); t1.beginStatement()
        let t2 = e.begin(); t2.beginStatement()
        let t3 = e.begin(); t3.beginStatement()
        // Nothing may hang the suite: every wait ends after a few seconds at most.
        t2.lockTimeoutNanos = 3_000_000_000
        t3.lockTimeoutNanos = 3_000_000_000
        _ = try t1.lockRow(def, key: key(1), mode: .share)
        _ = try t2.lockRow(def, key: key(2), mode: .update)
        let outcomes = Mutex<[String]>([])
        @Sendable func note(_ who: String, _ body: () throws -> Void) throws {
            do {
                try body()
                outcomes.withLock { $0.append("\(who) ok") }
            } catch let err as SQLError {
                outcomes.withLock { $0.append("\(who) \(err.code.rawValue)") }
                throw err
            }
        }
        // T2 waits for an update lock on r, behind T1's share.
        let t2Waits = Background { try note("t2") { _ = try t2.lockRow(def, key: key(1), mode: .update) } }
        sleepMillis(50)
        // T3 joins T1 on r, then waits for q, which T2 holds: T3 → T2 → T3.
        _ = try t3.lockRow(def, key: key(1), mode: .share)
        let t3Waits = Background { try note("t3") { _ = try t3.lockRow(def, key: key(2), mode: .share) } }
        let deadline = monotonicNanos() + 1_000_000_000
        while outcomes.withLock({ $0.isEmpty }) && monotonicNanos() < deadline { sleepMillis(5) }
        let early = outcomes.withLock { $0 }
        // Let go of everything so all waits end.
        t1.rollback()
        if early.contains(where: { $0.hasPrefix("t3") }) { t3.rollback() }
        _ = try? t2Waits.join()
        t2.rollback()
        _ = try? t3Waits.join()
        t3.rollback()
        #expect(early.contains { $0.hasSuffix("40P01") }, "no deadlock reported while T1 still held r: \(early)")
    }
}

/// Point 5: compaction never packs the segment being written. Tiny segments rotate
/// constantly under concurrent commits while a compaction loop runs; afterwards every
/// acknowledged commit is present and the log verifies. `COMPACTION_STRESS_SECONDS` sets
/// the length (default 30).
@Suite struct CompactionRaceTests {
    @Test func compactingWhileSegmentsRotateLosesNoCommit() throws {
        let seconds = ProcessInfoLite.environment("COMPACTION_STRESS_SECONDS").flatMap(Double.init) ?? 30
        let fs = MemoryFileSystem()
        let config = testConfig(segmentBytes: 4096)
        let (e, _) = try memoryEngine(config, fs: fs)
        let def = try createTable(e, "t")
        let deadline = monotonicNanos() + UInt64(seconds * 1e9)
        let acknowledged = Mutex<[Int64: String]>([:])
        let writers = (0..<2).map { w in
            Background {
                var i: Int64 = 0
                while monotonicNanos() < deadline {
                    let id = Int64(w) * 1_000_000 + i % 500
                    let v = "w\(w)-\(i)-" + String(repeating: "x", count: Int(i % 200))
                    try e.transaction { t in
                        if case .row(let old?, _) = try t.lockRow(def, key: key(id), mode: .noKeyUpdate) {
                            _ = old
                            try t.update(def, key: key(id), [.int(id), .text(v)])
                        } else {
                            try t.insert(def, [.int(id), .text(v)])
                        }
                    }
                    acknowledged.withLock { $0[id] = v }
                    i += 1
                }
            }
        }
        var packed = 0
        while monotonicNanos() < deadline {
            packed += try e.compact().segmentsPacked
        }
        for w in writers { try w.join() }
        #expect(packed > 10)
        let expected = acknowledged.withLock { $0 }
        #expect(try contents(e, "t") == expected)
        e.close()
        let e2 = try Engine.open(at: "/db", config: config, fs: fs.crashed(), logger: TestLog.logger)
        #expect(try contents(e2, "t") == expected)
        e2.close()
        #expect(try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger).isHealthy)
    }
}
