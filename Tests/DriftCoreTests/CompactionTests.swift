import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore

@Suite struct CompactionTests {
    @Test func compactionKeepsEveryAsOfAnswer() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(testConfig(segmentBytes: 4096), fs: fs)
        try createTable(e, "t", index: ["v"])
        for i in 0..<600 { _ = try put(e, "t", Int64(i % 41), "value-\(i % 13)-\(i)") }
        let last = e.visibleSeq
        let before = try (0...last).map { try contents(e, "t", asOf: $0) }
        let bytesBefore = try e.analyze().segmentBytes
        let info = try e.compact()
        #expect(info.segmentsPacked >= 3)
        #expect(info.bytesAfter < info.bytesBefore)
        #expect(try e.analyze().segmentBytes < bytesBefore)
        #expect(e.log.segments.filter(\.isPacked).count == info.segmentsPacked)
        for s in 0...last { #expect(try contents(e, "t", asOf: s) == before[Int(s)], "seq \(s)") }
        // History through the index agrees too.
        let t = e.begin(asOf: last / 2)
        let def = t.catalog.table("t")!
        var viaIndex = 0
        try t.indexScan(def, index: def.indexes[0].id, lower: nil, upper: nil) { _ in
            viaIndex += 1
            return true
        }
        #expect(viaIndex == before[Int(last / 2)]!.count)
        t.rollback()
        // Writes continue, and a restart reads packed segments back.
        _ = try put(e, "t", 1000, "after")
        e.close()
        let e2 = try Engine.open(at: "/db", config: testConfig(segmentBytes: 4096), fs: fs.crashed(), logger: TestLog.logger)
        defer { e2.close() }
        for s in 0...last { #expect(try contents(e2, "t", asOf: s) == before[Int(s)], "seq \(s) after restart") }
        #expect(try get(e2, "t", 1000) == "after")
        #expect(try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger).isHealthy)
    }

    @Test func compactOneTablePacksOnlyItsSegments() throws {
        let (e, _) = try memoryEngine(testConfig(segmentBytes: 4096))
        defer { e.close() }
        try createTable(e, "a")
        for i in 0..<200 { _ = try put(e, "a", Int64(i), String(repeating: "a", count: 40)) }
        try createTable(e, "b")
        for i in 0..<200 { _ = try put(e, "b", Int64(i), String(repeating: "b", count: 40)) }
        let info = try e.compact(table: table(e, "b").id)
        let all = e.log.segments.count
        #expect(info.segmentsPacked > 0 && info.segmentsPacked < all - 1)
        #expect(try contents(e, "a")!.count == 200 && contents(e, "b")!.count == 200)
    }

    /// Transactions larger than a packed block (a bulk load) span several blocks: the block
    /// size stays bounded (a reader never meets a block larger than it accepts), a restart
    /// that replays from inside packed history reassembles them, and the change feed reads
    /// them across block boundaries.
    @Test func transactionsSpanningPackedBlocksReplayAndFeed() throws {
        let fs = MemoryFileSystem()
        let config = testConfig(segmentBytes: 64 << 10)
        let (e, _) = try memoryEngine(config, fs: fs)
        let def = try createTable(e, "t")
        var model: [Int64: String] = [:]
        var snapshotSeq: UInt64 = 0
        for round in 0..<12 {
            try e.transaction { t in
                for i in Int64(0)..<150 {
                    let v = "r\(round)-\(i)-" + String(repeating: "z", count: Int(i % 90))
                    if round == 0 { try t.insert(def, [.int(i), .text(v)]) } else { try t.update(def, key: key(i), [.int(i), .text(v)]) }
                    model[i] = v
                }
            }
            if round == 5 { snapshotSeq = try e.snapshot().seq }
        }
        // One row of almost a megabyte: a block of its own.
        let big = String(repeating: "b", count: 900_000)
        try e.transaction { t in try t.update(def, key: key(7), [.int(7), .text(big)]) }
        model[7] = big
        _ = try put(e, "t", 9999, "tail")
        model[9999] = "tail"
        let past = e.visibleSeq - 3
        let asOfPast = try contents(e, "t", asOf: past)
        let info = try e.compact()
        #expect(info.segmentsPacked >= 2)
        for s in e.log.segments where s.isPacked {
            for b in s.packedBlocks { #expect(b.rawLength <= PackedBlockInfo.rawBytesMax) }
            #expect(s.packedBlocks.count > 1 || (s.packedBlocks.first?.rawLength ?? 0) > 800_000)
        }
        #expect(try contents(e, "t", asOf: past) == asOfPast)
        // The change feed crosses block boundaries inside transactions.
        let reader = e.changeReader(after: 1)
        var events = 0
        while let t = try reader.nextIfAvailable() { events += t.events.count }
        #expect(events == 12 * 150 + 2)
        e.close()
        // Recovery starts from the snapshot inside packed history: earlier blocks are only verified.
        let e2 = try Engine.open(at: "/db", config: config, fs: fs.crashed(), logger: TestLog.logger)
        #expect(e2.recovery.snapshotSeq == snapshotSeq)
        #expect(try contents(e2, "t") == model)
        #expect(try contents(e2, "t", asOf: past) == asOfPast)
        e2.close()
        let report = try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger)
        #expect(report.isHealthy, "\(report.problems)")
    }
}

@Suite struct ChangeFeedTests {
    @Test func changesArriveInSeqOrderWithBeforeAndAfter() async throws {
        let (e, _) = try memoryEngine(testConfig(segmentBytes: 4096))
        defer { e.close() }
        try createTable(e, "t")
        let start = e.visibleSeq
        for i in 0..<100 { _ = try put(e, "t", Int64(i % 10), "v\(i)") }
        var seen: [CommittedTransaction] = []
        for try await t in e.changes(after: start) {
            seen.append(t)
            if seen.count == 100 { break }
        }
        #expect(seen.map(\.seq) == Array((start + 1)...(start + 100)))
        let tenth = seen[10].events[0]
        #expect(tenth.kind == .update && tenth.before?[1] == .text("v0") && tenth.after?[1] == .text("v10"))
        #expect(seen[0].events[0].kind == .insert && seen[0].events[0].before == nil)
        // A reader waiting at the head receives a live commit.
        let reader = e.changeReader(after: e.visibleSeq)
        let waiter = Background {
            guard let t = try reader.next(timeoutNanos: 5_000_000_000) else { throw SQLError(.internalError, "no change") }
            guard t.events.first?.key == [.int(42)] else { throw SQLError(.internalError, "wrong change \(t)") }
        }
        sleepMillis(20)
        _ = try put(e, "t", 42, "live")
        try waiter.join()
    }
}

@Suite struct PackedDamageTests {
    @Test func aFlippedByteInAPackedSegmentRefusesTheOpen() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(testConfig(segmentBytes: 4096), fs: fs)
        try createTable(e, "t")
        for i in 0..<150 { _ = try put(e, "t", Int64(i % 17), "value-\(i)") }
        _ = try e.compact()
        let packed = e.log.segments.first { $0.isPacked }!.path
        e.close()
        let bytes = fs.contents(of: packed)!
        for offset in stride(from: 0, to: bytes.count, by: 3) {
            let crashed = fs.crashed()
            var damaged = bytes
            damaged[offset] ^= 0x20
            crashed.setContents(of: packed, damaged)
            expectRefusedOpen(crashed, file: packed, damagedAt: offset, config: testConfig(segmentBytes: 4096))
        }
    }

    @Test func aFlippedHighBitInEveryBlockHeaderFieldRefusesTheOpenAndDoctorNamesIt() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(testConfig(segmentBytes: 4096), fs: fs)
        try createTable(e, "t")
        for i in 0..<150 { _ = try put(e, "t", Int64(i % 17), "value-\(i)") }
        _ = try e.compact()
        let packed = e.log.segments.first { $0.isPacked }!.path
        e.close()
        let bytes = fs.contents(of: packed)!
        // The first block header follows the segment header: the top byte of each field.
        let first = SegmentHeader.size
        for offset in [first + 3, first + 7, first + 15, first + 19, first + 27, first + 35] {
            for bit in [UInt8(0x80), 0x40, 0xFF] {
                let crashed = fs.crashed()
                var damaged = bytes
                damaged[offset] ^= bit
                crashed.setContents(of: packed, damaged)
                expectRefusedOpen(crashed, file: packed, damagedAt: offset, config: testConfig(segmentBytes: 4096))
                let report = try Doctor.check(directory: "/db", fs: crashed, logger: TestLog.logger)
                #expect(!report.isHealthy && report.problems.first?.file == packed, "doctor missed \(bit) at \(offset)")
            }
        }
    }
}
