#if canImport(Glibc)
import Glibc
#endif
import DriftStorage
import Testing
@testable import DriftCore

@Suite struct RecoveryTests {
    static let segment = "/db/segments/00000001.seg"

    /// Commits `count` two-row transactions; returns the segment size and contents after each.
    func history(_ e: Engine, _ fs: MemoryFileSystem, count: Int) throws -> [(end: Int, seq: UInt64, rows: [Int64: String])] {
        try createTable(e, "t")
        var model: [Int64: String] = [:]
        var out: [(Int, UInt64, [Int64: String])] = [(fs.contents(of: Self.segment)!.count, e.visibleSeq, model)]
        for i in 0..<count {
            let def = table(e, "t")
            let (_, seq) = try e.transaction { t in
                try t.insert(def, [.int(Int64(i)), .text("a\(i)")])
                try t.insert(def, [.int(Int64(100 + i)), .text("b\(i)")])
                if i > 0 {
                    _ = try t.lockRow(def, key: key(Int64(i - 1)), mode: .update)
                    try t.delete(def, key: key(Int64(i - 1)))
                }
            }
            model[Int64(i)] = "a\(i)"
            model[Int64(100 + i)] = "b\(i)"
            if i > 0 { model[Int64(i - 1)] = nil }
            out.append((fs.contents(of: Self.segment)!.count, seq!, model))
        }
        return out
    }

    @Test func writeTornAtEveryByteOfTheLastFramesRecoversTheLastCompleteCommit() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        let states = try history(e, fs, count: 6)
        e.close()
        let full = fs.contents(of: Self.segment)!
        let from = states[states.count - 4].end
        #expect(full.count - from > 150)
        for cut in from...full.count {
            let crashed = fs.crashed()
            crashed.setContents(of: Self.segment, Array(full[0..<cut]))
            let expected = states.last { $0.end <= cut }!
            let e2 = try Engine.open(at: "/db", config: testConfig(), fs: crashed)
            #expect(e2.visibleSeq == expected.seq, "cut at \(cut)")
            #expect(try contents(e2, "t") == expected.rows, "cut at \(cut)")
            if cut > expected.end {
                #expect(e2.recovery.tornCuts.count == 1 && e2.recovery.tornCuts[0].offset == UInt64(expected.end), "cut at \(cut)")
            }
            // The database takes new commits right after the cut.
            #expect(try put(e2, "t", 999, "after") == expected.seq + 1)
            e2.close()
            #expect(crashed.contents(of: Self.segment)!.count > expected.end)
        }
    }

    @Test func aFlippedByteAnywhereIsCorruptionNeverATornWrite() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        _ = try history(e, fs, count: 4)
        e.close()
        let full = fs.contents(of: Self.segment)!
        #expect(full.count > 400)
        for offset in 0..<full.count {
            let crashed = fs.crashed()
            var damaged = full
            damaged[offset] ^= 0x04
            crashed.setContents(of: Self.segment, damaged)
            expectRefusedOpen(crashed, file: Self.segment, damagedAt: offset)
            let report = try Doctor.check(directory: "/db", fs: crashed)
            #expect(!report.isHealthy && report.problems[0].file == Self.segment, "doctor missed the flip at \(offset)")
        }
    }

    @Test func aFlippedSnapshotByteRefusesTheOpen() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        _ = try history(e, fs, count: 4)
        let info = try e.snapshot()
        e.close()
        let good = fs.crashed()
        let e0 = try Engine.open(at: "/db", config: testConfig(), fs: good)
        #expect(e0.recovery.snapshotSeq == info.seq && e0.recovery.replayedTransactions == 0)
        e0.close()
        let bytes = fs.contents(of: info.path)!
        for offset in 0..<bytes.count {
            let crashed = fs.crashed()
            var damaged = bytes
            damaged[offset] ^= 0x40
            crashed.setContents(of: info.path, damaged)
            expectRefusedOpen(crashed, file: info.path, damagedAt: offset)
            let report = try Doctor.check(directory: "/db", fs: crashed)
            #expect(report.problems.first?.file == info.path, "doctor missed the snapshot flip at \(offset)")
        }
    }

    @Test func doctorRepairCutsDamageOnRequest() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        let states = try history(e, fs, count: 4)
        e.close()
        var damaged = fs.contents(of: Self.segment)!
        let victim = states[2].end + 12
        damaged[victim] ^= 1
        fs.setContents(of: Self.segment, damaged)
        let report = try Doctor.check(directory: "/db", fs: fs)
        #expect(!report.isHealthy)
        let plan = try Doctor.plan(report, directory: "/db", fs: fs)
        #expect(plan.count == 1)
        try Doctor.repair(plan, directory: "/db", fs: fs)
        #expect(try Doctor.check(directory: "/db", fs: fs).isHealthy)
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: fs)
        defer { e2.close() }
        #expect(e2.visibleSeq == states[2].seq)
        #expect(try contents(e2, "t") == states[2].rows)
    }

    @Test func failedFsyncFailsTheCommitAndStopsWrites() throws {
        let mem = MemoryFileSystem()
        let fault = FaultInjectingFileSystem(wrapping: mem)
        let e = try Engine.open(at: "/db", config: testConfig(), fs: fault, create: true)
        try createTable(e, "t")
        _ = try put(e, "t", 1, "a")
        fault.failNextSyncs(1)
        #expect(throws: SQLError.self) { _ = try put(e, "t", 2, "b") }
        #expect(e.writerFailure != nil)
        // Writes stay refused (never retried); reads go on.
        fault.failNextSyncs(0)
        do {
            _ = try put(e, "t", 3, "c")
            Issue.record("a write succeeded after a failed fsync")
        } catch let err as SQLError {
            #expect(err.code == .ioError)
        }
        #expect(try get(e, "t", 1) == "a")
        #expect(try get(e, "t", 2) == nil)
        e.close()
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: mem.crashed())
        defer { e2.close() }
        #expect(try contents(e2, "t") == [1: "a"])
        #expect(try put(e2, "t", 4, "d") == e2.visibleSeq)
    }

    @Test func fullDiskFailsOnlyThatCommit() throws {
        let mem = MemoryFileSystem()
        let fault = FaultInjectingFileSystem(wrapping: mem)
        let e = try Engine.open(at: "/db", config: testConfig(), fs: fault, create: true)
        try createTable(e, "t")
        let s1 = try put(e, "t", 1, "a")
        fault.setFreeSpace(10)
        do {
            _ = try put(e, "t", 2, String(repeating: "x", count: 100))
            Issue.record("commit succeeded on a full disk")
        } catch let err as SQLError {
            #expect(err.code == .diskFull)
        }
        #expect(try get(e, "t", 2) == nil)
        #expect(e.visibleSeq == s1 && e.writerFailure == nil)
        fault.setFreeSpace(nil)
        let s2 = try put(e, "t", 3, "c")
        #expect(s2 == s1 + 1)
        e.close()
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: mem.crashed())
        defer { e2.close() }
        #expect(try contents(e2, "t") == [1: "a", 3: "c"])
    }

    @Test func commitTimestampsStrictlyIncreaseWhenTheClockStepsBack() throws {
        let clock = TestClock(1_000_000)
        let (e, _) = try memoryEngine(clock: clock)
        defer { e.close() }
        try createTable(e, "t")
        let s1 = try put(e, "t", 1, "a")
        clock.set(500)
        let s2 = try put(e, "t", 1, "b")
        let s3 = try put(e, "t", 1, "c")
        #expect(e.timestamp(of: s2)! == e.timestamp(of: s1)! + 1)
        #expect(e.timestamp(of: s3)! == e.timestamp(of: s2)! + 1)
        #expect(e.seq(atOrBefore: e.timestamp(of: s2)!) == s2)
        #expect(e.seq(atOrBefore: 0) == 0)
    }

    @Test func segmentsRotateAndRecoverAcrossThem() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(testConfig(segmentBytes: 4096), fs: fs)
        try createTable(e, "t")
        for i in 0..<300 { _ = try put(e, "t", Int64(i % 37), String(repeating: "v", count: i % 50)) }
        let expected = try contents(e, "t")
        let segments = e.log.segments.count
        #expect(segments > 3)
        e.close()
        let e2 = try Engine.open(at: "/db", config: testConfig(segmentBytes: 4096), fs: fs.crashed())
        defer { e2.close() }
        #expect(try contents(e2, "t") == expected)
        #expect(e2.log.segments.count == segments)
    }

    @Test func aSecondOpenOfTheDirectoryFails() throws {
        let (e, fs) = try memoryEngine()
        defer { e.close() }
        #expect(throws: StorageError.self) { _ = try Engine.open(at: "/db", fs: fs) }
        let dir = "/tmp/driftdb-lock-\(UInt64.random(in: 1...UInt64.max))"
        let disk = try Engine.open(at: dir, config: testConfig(), create: true)
        defer { disk.close() }
        do {
            _ = try Engine.open(at: dir, config: testConfig())
            Issue.record("second open succeeded")
        } catch let StorageError.inUse(d, pid) {
            #expect(d == dir && pid == getpid())
        }
    }
}
