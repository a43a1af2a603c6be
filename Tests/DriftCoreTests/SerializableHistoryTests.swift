import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore

/// Many short SERIALIZABLE transactions over a few keys, interleaved step by step at random
/// (reads, absent-key reads, lock-only reads, scans, writes, deletes, commits, rollbacks).
/// The committed history's serialization graph (wr, ww and rw edges over the versions each
/// read saw) must have no cycle. `SEED=` replays a run.
@Suite struct SerializableHistoryTests {
    final class Run {
        let txn: Transaction
        let id: Int
        var reads: [Int64: Int] = [:]      // key → the writer whose version it saw (0: the initial state)
        var writes: Set<Int64> = []
        var commitSeq: UInt64?
        init(_ txn: Transaction, _ id: Int) {
            self.txn = txn
            self.id = id
        }
    }

    @Test func randomSerializableHistoriesHaveNoCycle() throws {
        let (seedRandom, seed) = SeededRandom.fromEnvironment()
        print("randomSerializableHistoriesHaveNoCycle SEED=\(seed)")
        var random = seedRandom
        let (e, _) = try memoryEngine()
        defer { e.close() }
        let def = try createTable(e, "t")
        let keys: [Int64] = [1, 2, 3, 4, 5]
        // Committed writes per key: (commit seq, writer).
        var versions: [Int64: [(UInt64, Int)]] = [:]
        var open: [Run] = []
        var done: [Run] = []
        var nextId = 1
        var commits = 0, failures = 0

        func seen(_ r: Run, _ k: Int64) -> Int {
            if r.writes.contains(k) { return r.id }
            return versions[k, default: []].last { $0.0 <= r.txn.readSeq }?.1 ?? 0
        }

        for _ in 0..<6000 {
            if open.isEmpty || (open.count < 5 && Int.random(in: 0..<4, using: &random) == 0) {
                let t = e.begin(isolation: .serializable)
                t.beginStatement()
                open.append(Run(t, nextId))
                nextId += 1
                continue
            }
            let i = Int.random(in: 0..<open.count, using: &random)
            let r = open[i]
            let k = keys[Int.random(in: 0..<keys.count, using: &random)]
            do {
                switch Int.random(in: 0..<10, using: &random) {
                case 0, 1:
                    _ = try r.txn.get(def, key: key(k))
                    r.reads[k] = r.reads[k] ?? seen(r, k)
                case 2:
                    try r.txn.scan(def) { _ in true }
                    for k in keys where r.reads[k] == nil { r.reads[k] = seen(r, k) }
                case 3:
                    _ = try r.txn.lockRow(def, key: key(k), mode: .share, wait: .noWait)
                    r.reads[k] = r.reads[k] ?? seen(r, k)
                case 4, 5, 6:
                    r.reads[k] = r.reads[k] ?? seen(r, k)
                    guard case .row(let existing, _) = try r.txn.lockRow(def, key: key(k), mode: .noKeyUpdate, wait: .noWait) else { break }
                    if Int.random(in: 0..<5, using: &random) == 0 {
                        // Deleting an absent row writes nothing.
                        guard existing != nil else { break }
                        try r.txn.delete(def, key: key(k))
                    } else if existing != nil {
                        try r.txn.update(def, key: key(k), [.int(k), .text("t\(r.id)")])
                    } else {
                        try r.txn.insert(def, [.int(k), .text("t\(r.id)")])
                    }
                    r.writes.insert(k)
                case 7, 8:
                    open.remove(at: i)
                    let seq = try r.txn.commit()
                    r.commitSeq = seq ?? UInt64.max
                    if let seq { for w in r.writes { versions[w, default: []].append((seq, r.id)) } }
                    done.append(r)
                    commits += 1
                default:
                    open.remove(at: i)
                    r.txn.rollback()
                }
            } catch let err as SQLError where [.serializationFailure, .lockNotAvailable].contains(err.code) {
                r.txn.rollback()
                open.removeAll { $0 === r }
                failures += 1
            }
        }
        for r in open { r.txn.rollback() }
        // The serialization graph over committed transactions.
        var edges: [Int: Set<Int>] = [:]
        var why: [String: String] = [:]
        func add(_ a: Int, _ b: Int, _ reason: String) {
            edges[a, default: []].insert(b)
            why["\(a)>\(b)"] = reason
        }
        let committed = Set(done.map(\.id))
        for (k, list) in versions {
            for j in 1..<max(list.count, 1) where list.count > 1 { add(list[j - 1].1, list[j].1, "ww on \(k)") }
            for r in done {
                guard let v = r.reads[k] else { continue }
                if v != 0 && v != r.id { add(v, r.id, "wr on \(k)") }
                // rw: the reader saw version v; the next committed writer after v overwrote it.
                let after = v == 0 ? list.first : list.firstIndex { $0.1 == v }.flatMap { $0 + 1 < list.count ? list[$0 + 1] : nil }
                if let w = after?.1, w != r.id { add(r.id, w, "rw on \(k) (read the version of \(v))") }
            }
        }
        var state: [Int: Int] = [:]
        var cycle: [Int] = []
        func visit(_ n: Int, _ path: [Int]) -> Bool {
            state[n] = 1
            for m in edges[n, default: []] where committed.contains(m) {
                if state[m] == 1 { cycle = path + [n, m]; return true }
                if state[m] == nil && visit(m, path + [n]) { return true }
            }
            state[n] = 2
            return false
        }
        for n in committed.sorted() where state[n] == nil {
            if visit(n, []) { break }
        }
        if let start = cycle.last, let from = cycle.firstIndex(of: start) {
            let loop = Array(cycle[from...])
            let detail = zip(loop, loop.dropFirst()).map { a, b in
                let ra = done.first { $0.id == a }, rb = done.first { $0.id == b }
                return "\(a)(snap \(ra?.txn.readSeq ?? 0), commit \(ra?.commitSeq ?? 0)) → \(b)(snap \(rb?.txn.readSeq ?? 0), commit \(rb?.commitSeq ?? 0)): \(why["\(a)>\(b)"] ?? "?")"
            }
            Issue.record("SEED=\(seed): a cycle among committed transactions: \(detail.joined(separator: "; "))")
        }
        #expect(commits > 200, "SEED=\(seed): only \(commits) commits (\(failures) failures)")
    }
}

/// The SSI manager's memory stays bounded under a long-running transaction, and conflicts
/// with transactions folded into summaries still count.
@Suite struct SSISummaryTests {
    @Test func foldedCommitsStillConflict() throws {
        let ssi = SSIManager(committedKeptMax: 4)
        var seq: UInt64 = 10
        let k = LockTarget(table: 1, key: [1])
        let y = LockTarget(table: 1, key: [2])
        // A long reader R starts; W1 writes k and commits, then many more commit after it.
        let r = ssi.register(1) { seq }
        _ = r
        _ = ssi.register(2) { seq }
        ssi.onWrite(2, k)
        try ssi.preCommit(2)
        seq += 1
        ssi.committed(2, seq: seq)
        for id in UInt64(3)..<200 {
            _ = ssi.register(id) { seq }
            ssi.onWrite(id, LockTarget(table: 1, key: [UInt8(id % 200)]))
            try ssi.preCommit(id)
            seq += 1
            ssi.committed(id, seq: seq)
        }
        #expect(ssi.trackedCount <= 4 + 1, "tracked \(ssi.trackedCount)")
        // R reads k (W1's write, long folded away, is invisible to it): R → W1.
        ssi.onRead(1, k)
        // A new writer V read y and... R writes y, which V read: V → R. V commits first? No:
        // R's own commit now has an in-partner (V, active) and an out-partner that committed
        // first (the folded W1): R is a pivot and must fail.
        _ = ssi.register(500) { seq }
        ssi.onRead(500, y)
        ssi.onWrite(1, y)
        #expect(throws: SQLError.self) { try ssi.preCommit(1) }
    }
}
