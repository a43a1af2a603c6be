import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore

@Suite struct EngineBasicsTests {
    /// A row write's log event, kept in parts for the writer, is the row event payload that
    /// recovery decodes.
    @Test func rowLogEventsCarryTheRowEventPayload() throws {
        for (table, keyCount, image) in [(UInt32(1), 9, [UInt8]?([1, 2, 3])), (300, 0, nil), (UInt32.max, 200, [UInt8](repeating: 7, count: 70_000))] {
            let key = (0..<keyCount).map { UInt8(truncatingIfNeeded: $0) }
            let event = RowEventCodec.logEvent(.update, tableId: table, key: key, image: image)
            #expect(event.payload == RowEventCodec.encode(tableId: table, key: key, image: image))
            try event.payload.withUnsafeBytes { p in
                let (t, k, i) = try RowEventCodec.decode(p)
                #expect(t == table && Array(k) == key && Array(i) == (image ?? []))
            }
        }
    }

    @Test func insertUpdateDeleteAndTimeTravel() throws {
        let (e, _) = try memoryEngine()
        defer { e.close() }
        try createTable(e, "t")
        let s1 = try put(e, "t", 1, "a")
        let s2 = try put(e, "t", 1, "b")
        let s3 = try e.transaction { t in
            let def = try t.table("t")
            _ = try t.lockRow(def, key: key(1), mode: .update)
            try t.delete(def, key: key(1))
        }.1!
        #expect(s2 == s1 + 1 && s3 == s2 + 1)
        #expect(try get(e, "t", 1) == nil)
        #expect(try get(e, "t", 1, asOf: s1) == "a")
        #expect(try get(e, "t", 1, asOf: s2) == "b")
        #expect(try get(e, "t", 1, asOf: s3) == nil)
        // Before the table existed it is absent from the catalog.
        #expect(e.catalog(at: 0).table("t") == nil)
    }

    @Test func reopenRecoversState() throws {
        let fs = MemoryFileSystem()
        let (e, _) = try memoryEngine(fs: fs)
        try createTable(e, "t")
        for i in 0..<50 { _ = try put(e, "t", Int64(i % 7), "v\(i)") }
        let last = e.visibleSeq
        e.close()
        let e2 = try Engine.open(at: "/db", config: testConfig(), fs: fs, logger: TestLog.logger)
        defer { e2.close() }
        #expect(e2.visibleSeq == last)
        #expect(try get(e2, "t", 0) == "v49")
        #expect(try get(e2, "t", 6) == "v48")
    }
}
