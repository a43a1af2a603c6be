import DriftCore
import Foundation
import DriftTestSupport
import Testing

/// A child process commits in a loop and prints each acknowledged seq; the test kills it
/// with SIGKILL at random moments. After every restart each acknowledged transaction is
/// present and no partial transaction is visible.
@Suite(.serialized) struct CrashTests {
    @Test func acknowledgedCommitsSurviveKillNine() throws {
        let dir = temporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seed = ProcessInfo.processInfo.environment["SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("CrashTests seed \(seed)")
        var rng = SeededRandom(seed: seed)
        var acknowledged: [Int64: UInt64] = [:]
        var cycles = 0
        while cycles < 24 {
            // Every other writer applies each commit while its frames are written and synced.
            let child = try Child("DriftCrashWriter", cycles % 2 == 0 ? [dir] : [dir, "overlap"])
            #expect(child.waitFor(30) { $0.hasPrefix("ready") }, "writer did not start: \(child.errorOutput)")
            let pause = 20 + Int(rng.next() % 250)
            Thread.sleep(forTimeInterval: Double(pause) / 1000)
            child.kill()
            for line in child.output where line.hasPrefix("ack ") {
                let parts = line.split(separator: " ")
                acknowledged[Int64(parts[2])!] = UInt64(parts[1])!
            }
            try verify(dir, acknowledged)
            cycles += 1
        }
        #expect(acknowledged.count > 100, "too few commits to mean much: \(acknowledged.count)")
    }

    func verify(_ dir: String, _ acknowledged: [Int64: UInt64]) throws {
        var config = EngineConfig()
        config.snapshotEveryEvents = 0
        config.snapshotEveryBytes = 0
        let e = try Engine.open(at: dir, config: config, logger: TestLog.logger)
        defer { e.close() }
        guard e.latestCatalog.table("total") != nil else {
            #expect(acknowledged.isEmpty)
            return
        }
        #expect(e.visibleSeq >= (acknowledged.values.max() ?? 0))
        let t = e.begin()
        defer { t.rollback() }
        t.beginStatement()
        func ids(_ name: String) throws -> [Int64: Int64] {
            let def = try t.table(name)
            var out: [Int64: Int64] = [:]
            try t.scan(def) { row in
                let v = try RowCodec.decode(row.image, missing: def.missingValues)
                if case .int(let id) = v[0], case .int(let x) = v[1] { out[id] = x }
                return true
            }
            return out
        }
        let a = try ids("a"), b = try ids("b"), total = try ids("total")
        for n in acknowledged.keys {
            #expect(a[n] == n * 2 && b[n] == n * 3, "acknowledged transaction \(n) is missing")
        }
        // No partial transaction: both tables hold the same rows and the total matches them.
        #expect(Set(a.keys) == Set(b.keys))
        #expect((total[0] ?? 0) == a.keys.reduce(0, +))
    }
}

