#if canImport(Glibc)
import Glibc
#endif
import DriftStorage
import DriftTestSupport
import Synchronization
import Testing
@testable import DriftCore

@Suite struct RecoveryTests {
    static let segment = "/db/segments/00000001.seg"

    /// Commits `count` two-row transactions; returns the segment size and contents after each.
    func history(_ e: Engine, _ fs: MemoryFileSystem, count: Int) throws -> [(end: Int, seq: UInt64, rows: [Int64: String])] {
        try createTable(e, "t")
        var model: [Int64: String] = [:]
        var out: [(Int, UInt64, [Int64: String])] = [(Self.framesEnd(fs.contents(of: Self.segment)!), e.visibleSeq, model)]
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
            out.append((Self.framesEnd(fs.contents(of: Self.segment)!), seq!, model))
        }
        return out
    }

    /// The segment as a power loss leaves it when every byte from `x` on was written but not
    /// synced: missing (or torn: the same, at every offset), zero-filled, or garbage.
    static func damagedTail(_ full: [UInt8], at x: Int, _ shape: CrashShape) -> [UInt8] {
        switch shape {
        case .missing, .torn: return Array(full[0..<x])
        case .zeroed: return Array(full[0..<x]) + [UInt8](repeating: 0, count: full.count - x)
        case .garbage(let seed):
            var r = SeededRandom(seed: seed &+ UInt64(x))
            return Array(full[0..<x]) + (x..<full.count).map { _ in UInt8.random(in: 0...255, using: &r) }
        }
    }

    @Test func everyCrashShapeAtEveryOffsetOfTheLastGroupOpensWithoutHelp() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        let states = try history(e, fs, count: 6)
        e.close()
        let full = fs.contents(of: Self.segment)!
        // The last three commits are the unsynced group; everything before was acknowledged.
        let from = states[states.count - 4].end
        #expect(full.count - from > 150)
        for shape in CrashShape.all {
            for x in from...full.count {
                let crashed = fs.crashed()
                let bytes = Self.damagedTail(full, at: x, shape)
                crashed.setContents(of: Self.segment, bytes)
                let expected = states.last { $0.end <= x }!
                let e2 = try Engine.open(at: "/db", config: testConfig(), fs: crashed, logger: TestLog.logger)
                #expect(e2.visibleSeq == expected.seq, "\(shape) at \(x)")
                #expect(try contents(e2, "t") == expected.rows, "\(shape) at \(x)")
                if bytes[expected.end...].contains(where: { $0 != 0 }) {
                    // The cut bytes are kept in quarantine/, up to the last one not zero.
                    let cuts = e2.recovery.tornCuts
                    #expect(cuts.count == 1 && cuts.first?.offset == UInt64(expected.end), "\(shape) at \(x)")
                    let kept = cuts.first?.quarantine.flatMap { crashed.contents(of: $0) }
                    #expect(kept == Self.withoutTrailingZeros(bytes[expected.end...]), "\(shape) at \(x): quarantined bytes differ")
                } else {
                    // Zeros after the last commit are where the log ends (as after preallocation).
                    #expect(e2.recovery.tornCuts.isEmpty, "\(shape) at \(x)")
                }
                #expect(try put(e2, "t", 999, "after") == expected.seq + 1)
                e2.close()
            }
        }
    }

    @Test func strictRecoveryRefusesEveryDamagedTail() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        let states = try history(e, fs, count: 4)
        e.close()
        let full = fs.contents(of: Self.segment)!
        var strict = testConfig()
        strict.recovery = .strict
        for shape in CrashShape.all {
            for x in states[1].end...full.count {
                let bytes = Self.damagedTail(full, at: x, shape)
                let crashed = fs.crashed()
                crashed.setContents(of: Self.segment, bytes)
                // The last commit whose frames survived whole (zeros over zero bytes change nothing).
                let end = states.last { bytes.count >= $0.end && bytes[0..<$0.end].elementsEqual(full[0..<$0.end]) }!.end
                if !bytes[end...].contains(where: { $0 != 0 }) {
                    // A clean end at a commit boundary, or zeros after it, is no damage.
                    let e2 = try Engine.open(at: "/db", config: strict, fs: crashed, logger: TestLog.logger)
                    e2.close()
                } else {
                    expectRefusedOpen(crashed, file: Self.segment, damagedAt: bytes.count, config: strict, "\(shape) at \(x)")
                }
            }
        }
    }

    static func withoutTrailingZeros(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var last = bytes.endIndex
        while last > bytes.startIndex && bytes[last - 1] == 0 { last -= 1 }
        return Array(bytes[bytes.startIndex..<last])
    }

    /// Where the frames of a raw segment end (a preallocated file has zeros after them).
    static func framesEnd(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { b in
            var at = SegmentHeader.size
            while case let .frame(f) = Frame.parse(b, at: at) { at = f.end }
            return at
        }
    }

    /// A preallocated segment: the last group's frames went into zeros the file already had.
    /// Whatever the crash left of them (nothing, a prefix, garbage), at every offset, the log
    /// opens at the last whole commit, quarantines only bytes that are not zero, and the file
    /// is cut back to its frames.
    @Test func aPreallocatedSegmentOpensAtItsLastCommitWhateverTheCrashLeftInIt() throws {
        let fs = MemoryFileSystem()
        fs.preallocates = true
        var config = testConfig()
        config.preallocateBytes = 1024
        let (e, _) = try memoryEngine(config, fs: fs)
        let states = try history(e, fs, count: 6)
        _ = try e.analyze()
        let full = fs.contents(of: Self.segment)!
        let lastEnd = states.last!.end
        #expect(full.count > lastEnd, "the file is preallocated ahead of its frames")
        #expect(!full[lastEnd...].contains { $0 != 0 })
        e.close()
        #expect(fs.contents(of: Self.segment)!.count == lastEnd, "a clean close cuts the preallocated zeros")
        let from = states[states.count - 4].end
        for garbage in [false, true] {
            var r = SeededRandom(seed: 7)
            for x in from...lastEnd {
                let lost = (x..<lastEnd).map { _ in garbage ? UInt8.random(in: 0...255, using: &r) : 0 }
                let bytes = Array(full[0..<x]) + lost + Array(full[lastEnd...])
                let crashed = fs.crashed()
                crashed.setContents(of: Self.segment, bytes)
                let expected = states.last { $0.end <= x }!
                let e2 = try Engine.open(at: "/db", config: config, fs: crashed, logger: TestLog.logger)
                #expect(e2.visibleSeq == expected.seq, "garbage \(garbage) at \(x)")
                #expect(try contents(e2, "t") == expected.rows, "garbage \(garbage) at \(x)")
                let cuts = e2.recovery.tornCuts
                if bytes[expected.end...].contains(where: { $0 != 0 }) {
                    #expect(cuts.count == 1 && cuts.first?.offset == UInt64(expected.end), "garbage \(garbage) at \(x)")
                    let kept = cuts.first?.quarantine.flatMap { crashed.contents(of: $0) }
                    #expect(kept == Self.withoutTrailingZeros(bytes[expected.end...]), "garbage \(garbage) at \(x)")
                } else {
                    #expect(cuts.isEmpty, "garbage \(garbage) at \(x)")
                }
                #expect(try put(e2, "t", 999, "after") == expected.seq + 1)
                e2.close()
                let reopened = try Engine.open(at: "/db", config: config, fs: crashed.crashed(), logger: TestLog.logger)
                #expect(reopened.visibleSeq == expected.seq + 1, "the commit after recovery is durable (\(x))")
                reopened.close()
            }
        }
    }

    /// Preallocated zeros in a sealed segment would be damage: a rotation cuts them first.
    @Test func aSealedSegmentEndsAtItsLastFrame() throws {
        let fs = MemoryFileSystem()
        fs.preallocates = true
        var config = testConfig(segmentBytes: 4096)
        config.preallocateBytes = 1024
        let (e, _) = try memoryEngine(config, fs: fs)
        try createTable(e, "t")
        let def = table(e, "t")
        for i in 0..<200 { _ = try e.transaction { t in try t.insert(def, [.int(Int64(i)), .text(String(repeating: "x", count: 40))]) } }
        let names = try fs.listDirectory("/db/segments").filter { $0.hasSuffix(".seg") }.sorted()
        #expect(names.count > 2)
        for name in names.dropLast() {
            let bytes = fs.contents(of: "/db/segments/" + name)!
            #expect(Self.framesEnd(bytes) == bytes.count, "\(name) is sealed with \(bytes.count - Self.framesEnd(bytes)) bytes after its frames")
        }
        let active = fs.contents(of: "/db/segments/" + names.last!)!
        #expect(active.count > Self.framesEnd(active))
        _ = try e.analyze()
        let crashed = fs.crashed()
        e.close()
        let e2 = try Engine.open(at: "/db", config: config, fs: crashed, logger: TestLog.logger)
        #expect(try contents(e2, "t")?.count == 200)
        #expect(e2.recovery.tornCuts.isEmpty)
        e2.close()
    }

    @Test func aFlippedByteIsCorruptionUnlessNothingValidFollowsIt() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        let states = try history(e, fs, count: 4)
        e.close()
        let full = fs.contents(of: Self.segment)!
        #expect(full.count > 400)
        // Where the last frame starts: damage there has nothing valid after it.
        var lastStart = SegmentHeader.size
        full.withUnsafeBytes { b in
            var at = SegmentHeader.size
            while case let .frame(f) = Frame.parse(b, at: at) {
                lastStart = at
                at = f.end
            }
        }
        var strict = testConfig()
        strict.recovery = .strict
        for offset in 0..<full.count {
            var damaged = full
            damaged[offset] ^= 0x04
            let crashed = fs.crashed()
            crashed.setContents(of: Self.segment, damaged)
            if offset >= lastStart {
                // Damage in the newest segment's last transaction with nothing valid after it: the
                // log ends before that transaction, whose bytes are kept.
                let e2 = try Engine.open(at: "/db", config: testConfig(), fs: crashed, logger: TestLog.logger)
                #expect(e2.visibleSeq == states[states.count - 2].seq, "flip at \(offset)")
                #expect(e2.recovery.tornCuts.first?.quarantine != nil, "flip at \(offset)")
                e2.close()
            } else {
                expectRefusedOpen(crashed, file: Self.segment, damagedAt: offset)
                let report = try Doctor.check(directory: "/db", fs: crashed, logger: TestLog.logger)
                #expect(!report.isHealthy && report.problems[0].file == Self.segment, "doctor missed the flip at \(offset)")
            }
            let again = fs.crashed()
            again.setContents(of: Self.segment, damaged)
            expectRefusedOpen(again, file: Self.segment, damagedAt: offset, config: strict)
        }
    }

    @Test func aNewestSegmentWhoseHeaderNeverReachedTheDiskIsSetAside() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(testConfig(segmentBytes: 4096), fs: fs)
        try createTable(e, "t")
        for i in 0..<60 { _ = try put(e, "t", Int64(i), String(repeating: "v", count: 40)) }
        let expected = try contents(e, "t")
        let seq = e.visibleSeq
        e.close()
        let names = try fs.listDirectory("/db/segments").sorted()
        let next = "/db/segments/" + SegmentHeader.fileName(SegmentHeader.number(fromFileName: names.last!)! + 1)
        for header in [[UInt8](repeating: 0, count: 36), [UInt8](repeating: 0xA5, count: 20), [UInt8](repeating: 7, count: 500)] {
            let crashed = fs.crashed()
            crashed.setContents(of: next, header)
            let e2 = try Engine.open(at: "/db", config: testConfig(segmentBytes: 4096), fs: crashed, logger: TestLog.logger)
            #expect(try e2.visibleSeq == seq && contents(e2, "t") == expected)
            #expect(crashed.contents(of: "/db/quarantine/\(Path.name(next))-0.bin") == header)
            #expect(try put(e2, "t", 1000, "after") == seq + 1)
            e2.close()
        }
    }

    @Test func acknowledgedCommitsSurviveCrashesOfEveryShapeAtRandomWrites() throws {
        let (seedRandom, seed) = SeededRandom.fromEnvironment()
        print("acknowledgedCommitsSurviveCrashesOfEveryShapeAtRandomWrites SEED=\(seed)")
        var random = seedRandom
        for round in 0..<24 {
            let shape: CrashShape = [.missing, .torn(keep: Int.random(in: 0...400, using: &random)), .zeroed,
                                     .garbage(seed: random.next())][round % 4]
            let fs = MemoryFileSystem()
            let (e, _) = try memoryEngine(testConfig(segmentBytes: 8192), fs: fs)
            try createTable(e, "t")
            let capture = CrashCapture(atWrite: Int.random(in: 5...200, using: &random), shape: shape)
            fs.onWrite = { capture.written($0) }
            let def = table(e, "t")
            var i: Int64 = 0
            while capture.result == nil && i < 2000 {
                // Two rows per transaction: a crash must never leave one without the other.
                try e.transaction { t in
                    try t.insert(def, [.int(2 * i), .text("a\(i)")])
                    try t.insert(def, [.int(2 * i + 1), .text("b\(i)")])
                }
                capture.acknowledged(i)
                i += 1
            }
            fs.onWrite = nil
            e.close()
            guard let (image, acked) = capture.result else { continue }
            let e2 = try Engine.open(at: "/db", config: testConfig(segmentBytes: 8192), fs: image, logger: TestLog.logger)
            let rows = try contents(e2, "t") ?? [:]
            if acked >= 0 {
                for k in 0...acked {
                    #expect(rows[2 * k] == "a\(k)" && rows[2 * k + 1] == "b\(k)", "SEED=\(seed) round \(round): commit \(k) lost")
                }
            }
            for k in 0..<i {
                #expect((rows[2 * k] == nil) == (rows[2 * k + 1] == nil), "SEED=\(seed) round \(round): half of commit \(k)")
            }
            e2.close()
            #expect(try Doctor.check(directory: "/db", fs: image, logger: TestLog.logger).isHealthy, "SEED=\(seed) round \(round)")
        }
    }

    @Test func aFlippedSnapshotByteRefusesTheOpen() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        _ = try history(e, fs, count: 4)
        let info = try e.snapshot()
        e.close()
        let good = fs.crashed()
        let e0 = try Engine.open(at: "/db", config: testConfig(), fs: good, logger: TestLog.logger)
        #expect(e0.recovery.snapshotSeq == info.seq && e0.recovery.replayedTransactions == 0)
        e0.close()
        let bytes = fs.contents(of: info.path)!
        for offset in 0..<bytes.count {
            let crashed = fs.crashed()
            var damaged = bytes
            damaged[offset] ^= 0x40
            crashed.setContents(of: info.path, damaged)
            expectRefusedOpen(crashed, file: info.path, damagedAt: offset)
            let report = try Doctor.check(directory: "/db", fs: crashed, logger: TestLog.logger)
            #expect(report.problems.first?.file == info.path, "doctor missed the snapshot flip at \(offset)")
        }
    }

    @Test func doctorOnADamagedLogReportsWhatItVerifiedBeforeTheDamage() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        let states = try history(e, fs, count: 4)
        e.close()
        var damaged = fs.contents(of: Self.segment)!
        damaged[states[2].end + 12] ^= 1
        fs.setContents(of: Self.segment, damaged)
        let report = try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger)
        #expect(!report.isHealthy)
        // Complete segments before the damaged one (none here), and the damaged one's good prefix.
        #expect(report.segments == 0 && report.segmentBytes == UInt64(states[2].end))
        #expect(report.lastSeq == states[2].seq, "last good seq \(report.lastSeq), expected \(states[2].seq)")
        #expect(report.frames >= 1 + 2 * 2, "frames verified: \(report.frames)")
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
        let report = try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger)
        #expect(!report.isHealthy)
        let plan = try Doctor.plan(report, directory: "/db", fs: fs)
        #expect(plan.count == 1)
        try Doctor.repair(plan, directory: "/db", fs: fs)
        #expect(try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger).isHealthy)
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: fs, logger: TestLog.logger)
        defer { e2.close() }
        #expect(e2.visibleSeq == states[2].seq)
        #expect(try contents(e2, "t") == states[2].rows)
    }

    @Test func failedFsyncFailsTheCommitAndStopsWrites() throws {
        let mem = MemoryFileSystem()
        let fault = FaultInjectingFileSystem(wrapping: mem)
        let e = try Engine.open(at: "/db", config: testConfig(), fs: fault, create: true, logger: TestLog.logger)
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
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: mem.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        #expect(try contents(e2, "t") == [1: "a"])
        #expect(try put(e2, "t", 4, "d") == e2.visibleSeq)
    }

    @Test func loneAndGroupedCommittersLoseNothingAndKeepSeqOrder() throws {
        // A lone committer writes its own commit; several are grouped by the writer thread;
        // the writer switches between the two as committers come and go.
        let mem = MemoryFileSystem()
        let e = try Engine.open(at: "/db", config: testConfig(), fs: mem, create: true, logger: TestLog.logger)
        try createTable(e, "t")
        var seqs: [UInt64] = []
        for id in Int64(0)..<20 { seqs.append(try put(e, "t", id, "alone")) }
        let grouped = Mutex<[UInt64]>([])
        let workers = (0..<4).map { w in
            Background {
                for i in Int64(0)..<50 {
                    let seq = try put(e, "t", 1000 + Int64(w) * 100 + i, "grouped")
                    grouped.withLock { $0.append(seq) }
                }
            }
        }
        for w in workers { try w.join() }
        seqs += grouped.withLock { $0 }
        for id in Int64(20)..<40 { seqs.append(try put(e, "t", id, "alone again")) }
        #expect(Set(seqs).count == 240)
        #expect(seqs.max() == e.visibleSeq)
        e.close()
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: mem.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        #expect(try contents(e2, "t")?.count == 240)
    }

    /// Inserts rows `ids` with value `v` in one transaction; returns its seq.
    private func putMany(_ e: Engine, _ name: String, _ ids: Range<Int64>, _ v: String) throws -> UInt64? {
        try e.transaction { t in
            let def = try t.table(name)
            for id in ids { try t.insert(def, [.int(id), .text(v)]) }
        }.1
    }

    /// An engine on a fault-injecting file system that applies every commit of three or more
    /// rows while its frames are written and synced (the large-commit path).
    private func largeCommitEngine() throws -> (Engine, MemoryFileSystem, FaultInjectingFileSystem, EngineConfig) {
        let mem = MemoryFileSystem()
        let fault = FaultInjectingFileSystem(wrapping: mem)
        var config = testConfig()
        config.applyDuringSyncEventsMin = 3
        return (try Engine.open(at: "/db", config: config, fs: fault, create: true, logger: TestLog.logger), mem, fault, config)
    }

    private func appliedKeys(_ e: Engine, _ name: String) -> Int {
        guard let s = e.store(table(e, name).id) else { return -1 }
        return s.lock.withReadLock { s.entries.count }
    }

    @Test func largeCommitAppliedDuringItsSyncStaysInvisibleUntilDurable() throws {
        let (e, _, fault, _) = try largeCommitEngine()
        defer { e.close() }
        try createTable(e, "t")
        let before = try put(e, "t", 1, "a")
        fault.holdSyncs()
        let committed = Mutex<Result<UInt64?, any Error>?>(nil)
        let writer = try OSThread {
            let r = Result { try self.putMany(e, "t", 10..<20, "b") }
            committed.withLock { $0 = r }
        }
        // The rows reach the store while the fsync is held (the helper thread encodes and
        // writes the frames first, so either may come first); no reader sees them.
        let deadline = monotonicNanos() + 10_000_000_000
        while (appliedKeys(e, "t") < 11 || fault.heldSyncs < 1) && monotonicNanos() < deadline { usleep(1000) }
        #expect(appliedKeys(e, "t") == 11)
        #expect(fault.heldSyncs == 1)
        #expect(e.visibleSeq == before)
        #expect(try contents(e, "t") == [1: "a"])
        #expect(try get(e, "t", 15) == nil)
        #expect(committed.withLock { $0 } == nil)
        fault.releaseSyncs()
        writer.join()
        let seq = try #require(try committed.withLock { $0 }?.get())
        #expect(seq == before + 1 && e.visibleSeq == seq)
        #expect(try contents(e, "t")?.count == 11)
        #expect(try get(e, "t", 15) == "b")
    }

    @Test func failedSyncOfALargeCommitAppliedDuringItLeavesNoTrace() throws {
        let (e, mem, fault, config) = try largeCommitEngine()
        try createTable(e, "t")
        let before = try put(e, "t", 1, "a")
        fault.failNextSyncs(1)
        #expect(throws: SQLError.self) { _ = try putMany(e, "t", 10..<20, "b") }
        #expect(appliedKeys(e, "t") == 11)
        #expect(e.writerFailure != nil)
        #expect(e.visibleSeq == before)
        #expect(try contents(e, "t") == [1: "a"])
        #expect(try get(e, "t", 15) == nil)
        fault.failNextSyncs(0)
        #expect(throws: SQLError.self) { _ = try put(e, "t", 2, "c") }
        e.close()
        let e2 = try Engine.open(at: "/db", config: config, fs: mem.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        #expect(try contents(e2, "t") == [1: "a"])
        #expect(try putMany(e2, "t", 10..<20, "d") == before + 1)
        #expect(try contents(e2, "t")?.count == 11)
    }

    @Test func fullDiskFailsOnlyThatLargeCommit() throws {
        let (e, mem, fault, config) = try largeCommitEngine()
        try createTable(e, "t")
        let s1 = try put(e, "t", 1, "a")
        fault.setFreeSpace(100)
        do {
            _ = try putMany(e, "t", 10..<20, String(repeating: "x", count: 20))
            Issue.record("commit succeeded on a full disk")
        } catch let err as SQLError {
            #expect(err.code == .diskFull)
        }
        // Refused before anything was applied or written; the writer goes on.
        #expect(appliedKeys(e, "t") == 1)
        #expect(e.visibleSeq == s1 && e.writerFailure == nil)
        fault.setFreeSpace(nil)
        #expect(try putMany(e, "t", 10..<20, "b") == s1 + 1)
        e.close()
        let e2 = try Engine.open(at: "/db", config: config, fs: mem.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        #expect(try contents(e2, "t")?.count == 11)
        #expect(try get(e2, "t", 12) == "b")
    }

    @Test func fullDiskFailsOnlyThatCommit() throws {
        let mem = MemoryFileSystem()
        let fault = FaultInjectingFileSystem(wrapping: mem)
        let e = try Engine.open(at: "/db", config: testConfig(), fs: fault, create: true, logger: TestLog.logger)
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
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: mem.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        #expect(try contents(e2, "t") == [1: "a", 3: "c"])
    }

    /// Preallocation is an optimization: a device (or a file-size limit) with room for the
    /// write but not for a whole preallocation step still takes the commit; only a write
    /// that itself does not fit fails, as without preallocation.
    @Test func aPreallocationStepThatDoesNotFitFallsBackToTheWrite() throws {
        let mem = MemoryFileSystem()
        mem.preallocates = true
        let fault = FaultInjectingFileSystem(wrapping: mem)
        var config = testConfig(segmentBytes: 8 << 20)
        config.preallocateBytes = 1 << 20
        let e = try Engine.open(at: "/db", config: config, fs: fault, create: true, logger: TestLog.logger)
        try createTable(e, "t")
        let s1 = try put(e, "t", 1, "a")
        // The first commit preallocated a step; the next steps find 4 KiB left.
        let allocated = try mem.open(Self.segment, create: false).size()
        fault.setFreeSpace(4096)
        var n: Int64 = 2
        while try mem.open(Self.segment, create: false).size() <= allocated {
            _ = try put(e, "t", n, String(repeating: "x", count: 1000))
            n += 1
        }
        #expect(e.writerFailure == nil)
        do {
            for i in 0..<10 { _ = try put(e, "t", 10_000 + Int64(i), String(repeating: "y", count: 1000)) }
            Issue.record("commits beyond the free space succeeded")
        } catch let err as SQLError {
            #expect(err.code == .diskFull)
        }
        #expect(e.writerFailure == nil && e.visibleSeq > s1)
        e.close()
        let e2 = try Engine.open(at: "/db", config: config, fs: mem.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        let keys = Set(try contents(e2, "t")?.keys.map { $0 } ?? [])
        #expect((1..<n).allSatisfy { keys.contains($0) }, "every acknowledged commit survives")
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
        let e2 = try Engine.open(at: "/db", config: testConfig(segmentBytes: 4096), fs: fs.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        #expect(try contents(e2, "t") == expected)
        #expect(e2.log.segments.count == segments)
    }

    @Test func aSecondOpenOfTheDirectoryFails() throws {
        let (e, fs) = try memoryEngine()
        defer { e.close() }
        #expect(throws: StorageError.self) { _ = try Engine.open(at: "/db", fs: fs, logger: TestLog.logger) }
        let dir = "/tmp/driftdb-lock-\(UInt64.random(in: 1...UInt64.max))"
        let disk = try Engine.open(at: dir, config: testConfig(), create: true, logger: TestLog.logger)
        defer {
            disk.close()
            removeTree(dir)
        }
        do {
            _ = try Engine.open(at: dir, config: testConfig(), logger: TestLog.logger)
            Issue.record("second open succeeded")
        } catch let StorageError.inUse(d, pid) {
            #expect(d == dir && pid == getpid())
        }
    }

    /// On a real file system the active segment is grown ahead of its writes; a clean close
    /// cuts it back, a crash leaves the zeros, and either way the log opens at its last commit.
    @Test func aSegmentOnDiskIsPreallocatedAndCutBack() throws {
        let dir = "/tmp/driftdb-prealloc-\(UInt64.random(in: 1...UInt64.max))"
        defer { removeTree(dir) }
        var config = testConfig()
        config.preallocateBytes = 1 << 20
        let path = dir + "/segments/00000001.seg"
        let e = try Engine.open(at: dir, config: config, create: true, logger: TestLog.logger)
        try createTable(e, "t")
        #expect(try put(e, "t", 1, "one") > 0)
        let fs = PosixFileSystem()
        let grown = try fs.open(path, create: false).readAll()
        let end = Self.framesEnd(grown)
        #expect(grown.count >= 1 << 20 && !grown[end...].contains { $0 != 0 }, "size \(grown.count), frames end at \(end)")
        _ = try e.analyze()
        e.close()
        #expect(try fs.open(path, create: false).size() == UInt64(end))
        // A crash leaves the preallocated zeros: the next open ends the log at its last commit.
        let f = try fs.open(path, create: false)
        #expect(try f.preallocate(to: 1 << 20))
        f.close()
        let e2 = try Engine.open(at: dir, config: config, logger: TestLog.logger)
        #expect(e2.recovery.tornCuts.isEmpty)
        #expect(try contents(e2, "t") == [1: "one"])
        #expect(try put(e2, "t", 2, "two") > 0)
        e2.close()
        let e3 = try Engine.open(at: dir, config: config, logger: TestLog.logger)
        #expect(try contents(e3, "t") == [1: "one", 2: "two"])
        e3.close()
    }
}

/// Removes a directory and everything in it (a test's own directory on disk).
func removeTree(_ path: String) {
    let fs = PosixFileSystem()
    if let names = try? fs.listDirectory(path) {
        for n in names { removeTree(Path.join(path, n)) }
        rmdir(path)
    } else {
        try? fs.remove(path)
    }
}

/// Takes a crash image of a file system at its Nth write (before that write is synced),
/// with the number of the newest commit acknowledged by then.
final class CrashCapture: @unchecked Sendable {
    let lock = Lock()
    let atWrite: Int
    let shape: CrashShape
    var writes = 0
    var newestAcknowledged: Int64 = -1
    var image: MemoryFileSystem?
    var imageAcknowledged: Int64 = -1

    init(atWrite: Int, shape: CrashShape) {
        self.atWrite = atWrite
        self.shape = shape
    }

    func written(_ fs: MemoryFileSystem) {
        lock.withLock {
            writes += 1
            guard writes == atWrite, image == nil else { return }
            image = fs.crashed(shape)
            imageAcknowledged = newestAcknowledged
        }
    }

    func acknowledged(_ i: Int64) { lock.withLock { newestAcknowledged = i } }

    var result: (MemoryFileSystem, Int64)? { lock.withLock { image.map { ($0, imageAcknowledged) } } }
}
