#if canImport(Glibc)
import Glibc
#endif
import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore

/// Automatic snapshots: every `snapshotEveryEvents` row events, but never more often than
/// the database's size in keys (a snapshot writes every key).
@Suite struct SnapshotSchedulingTests {
    /// The seq of the newest snapshot (older ones are removed as newer ones land); 0: none.
    func newestSnapshot(_ fs: MemoryFileSystem) -> UInt64 {
        let names = (try? fs.listDirectory("/db/snapshots")) ?? []
        return names.filter { $0.hasSuffix(".snap") }.compactMap { UInt64($0.prefix(while: \.isNumber)) }.max() ?? 0
    }

    /// Waits for the snapshot thread (it runs beside the committers) to pass `seq`.
    func waitForSnapshot(after seq: UInt64, _ fs: MemoryFileSystem) -> UInt64 {
        for _ in 0..<1000 {
            let n = newestSnapshot(fs)
            if n > seq { return n }
            usleep(2_000)
        }
        return newestSnapshot(fs)
    }

    @Test func aLargeDatabaseIsSnapshottedOnlyAfterAsManyEventsAsItHasKeys() throws {
        let (e, fs) = try memoryEngine(testConfig(snapshotEvery: 10))
        defer { e.close() }
        let t = try createTable(e, "t")
        // 200 keys in one transaction: past 10 events, so a snapshot follows.
        try e.transaction { tx in
            for i in 0..<200 { _ = try tx.insert(t, [.int(Int64(i)), .text("v")]) }
        }
        let first = waitForSnapshot(after: 0, fs)
        #expect(first > 0)
        // 150 more one-row commits: past 10, short of the 200 keys the snapshot held.
        for i in 200..<350 {
            try e.transaction { tx in _ = try tx.insert(t, [.int(Int64(i)), .text("v")]) }
        }
        usleep(50_000)
        #expect(newestSnapshot(fs) == first)
        for i in 350..<410 {
            try e.transaction { tx in _ = try tx.insert(t, [.int(Int64(i)), .text("v")]) }
        }
        #expect(waitForSnapshot(after: first, fs) > first)
    }

    @Test func aSmallDatabaseKeepsTheConfiguredInterval() throws {
        let (e, fs) = try memoryEngine(testConfig(snapshotEvery: 10))
        defer { e.close() }
        let t = try createTable(e, "t")
        try e.transaction { tx in _ = try tx.insert(t, [.int(0), .text("v")]) }
        var last: UInt64 = 0
        for round in 1...3 {
            for i in 0..<10 {
                try e.transaction { tx in try tx.update(t, key: KeyCodec.encode([.int(0)]), [.int(0), .text("v\(round)\(i)")]) }
            }
            let now = waitForSnapshot(after: last, fs)
            #expect(now > last)
            last = now
        }
    }
}
