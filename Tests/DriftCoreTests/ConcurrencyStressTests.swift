#if canImport(Glibc)
import Glibc
#endif
import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore

/// Transfers between accounts from several threads while readers check, at random past
/// seqs, that money is neither created nor lost, and while snapshots and compactions run:
/// commits must become visible atomically, and history must read the same throughout.
@Suite struct ConcurrencyStressTests {
    @Test func transfersKeepTheTotalAtEverySeq() throws {
        let dir = "/tmp/driftdb-stress-\(UInt64.random(in: 1...UInt64.max))"
        defer { _ = system("rm -rf '\(dir)'") }
        var config = testConfig(segmentBytes: 16 << 10)
        config.durability = .none
        let e = try Engine.open(at: dir, config: config, create: true, logger: TestLog.logger)
        defer { e.close() }
        let accounts = 20
        let def = try e.transaction { t in
            let d = TableDef(id: t.allocateTableId(), name: "acct",
                             columns: [ColumnDef(name: "id", type: .int8, notNull: true), ColumnDef(name: "balance", type: .int8)],
                             primaryKey: [0], origin: .sql)
            try t.applyDDL { _ in .createTable(d) }
            return d
        }.0
        try e.transaction { t in for i in 0..<accounts { try t.insert(def, [.int(Int64(i)), .int(100)]) } }
        let firstSeq = e.visibleSeq
        let deadline = monotonicNanos() + 1_500_000_000
        let failures = Counter()
        let checks = Counter()

        @Sendable func total(at seq: UInt64) throws -> Int64 {
            let t = e.begin(asOf: seq)
            defer { t.rollback() }
            var sum: Int64 = 0
            try t.scan(def) { row in
                if case .int(let b) = try RowCodec.decode(row.image, missing: def.missingValues)[1] { sum += b }
                return true
            }
            return sum
        }

        let writers = (0..<3).map { w in
            Background {
                var rng = SeededRandom(seed: UInt64(w) + 1)
                while monotonicNanos() < deadline {
                    let a = Int64.random(in: 0..<Int64(accounts), using: &rng)
                    let b = (a + Int64.random(in: 1..<Int64(accounts), using: &rng)) % Int64(accounts)
                    let amount = Int64.random(in: 1...10, using: &rng)
                    do {
                        try e.transaction { t in
                            for (id, delta) in [(a, -amount), (b, amount)] {
                                guard case .row(let r?, _) = try t.lockRow(def, key: key(id), mode: .noKeyUpdate),
                                      case .int(let bal) = r[1] else { throw SQLError(.internalError, "account \(id) vanished") }
                                try t.update(def, key: key(id), [.int(id), .int(bal + delta)])
                            }
                        }
                    } catch let err as SQLError where err.code == .deadlockDetected {
                        continue
                    }
                }
            }
        }
        let readers = (0..<2).map { r in
            Background {
                var rng = SeededRandom(seed: UInt64(r) + 100)
                while monotonicNanos() < deadline {
                    let seq = UInt64.random(in: firstSeq...e.visibleSeq, using: &rng)
                    if try total(at: seq) != Int64(accounts * 100) { failures.add(1) }
                    checks.add(1)
                }
            }
        }
        let maintenance = Background {
            while monotonicNanos() < deadline {
                _ = try e.snapshot()
                _ = try e.compact()
                sleepMillis(100)
            }
        }
        for w in writers { try w.join() }
        for r in readers { try r.join() }
        try maintenance.join()
        #expect(failures.value == 0)
        #expect(checks.value > 50)
        #expect(e.log.segments.contains { $0.isPacked })
        for seq in firstSeq...e.visibleSeq where seq % 7 == 0 { #expect(try total(at: seq) == Int64(accounts * 100)) }
    }
}

final class Counter: @unchecked Sendable {
    let lock = Lock()
    var value = 0
    func add(_ n: Int) { lock.withLock { value += n } }
}
