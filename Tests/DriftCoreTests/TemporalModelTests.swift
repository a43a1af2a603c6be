import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore

/// A seeded random history of inserts, updates and deletes over several tables, with
/// rollbacks, snapshots, compactions and restarts; every `AS OF` read at every seq must
/// equal a simple in-memory model. Replay a failure with `SEED=n`.
@Suite struct TemporalModelTests {
    typealias Model = [String: [Int64: String]]

    struct Run {
        var fs = MemoryFileSystem()
        var engine: Engine
        var models: [UInt64: Model] = [:]
        var rng: SeededRandom

        init(seed: UInt64) throws {
            rng = SeededRandom(seed: seed)
            engine = try Engine.open(at: "/db", config: testConfig(segmentBytes: 4096), fs: fs, create: true, logger: TestLog.logger)
        }

        mutating func reopen() throws {
            engine.close()
            fs = fs.crashed()
            engine = try Engine.open(at: "/db", config: testConfig(segmentBytes: 4096), fs: fs, logger: TestLog.logger)
        }
    }

    static let tables = ["alpha", "beta", "gamma"]

    @Test func everyAsOfReadMatchesTheModel() throws {
        let (_, seed) = SeededRandom.fromEnvironment()
        print("TemporalModelTests seed \(seed) (SEED=\(seed) replays)")
        var run = try Run(seed: seed)
        var model: Model = [:]
        run.models[0] = model
        for name in Self.tables {
            try createTable(run.engine, name)
            model[name] = [:]
            run.models[run.engine.visibleSeq] = model
        }
        for step in 0..<400 {
            try transaction(&run, &model)
            switch step % 97 {
            case 30: _ = try run.engine.snapshot()
            case 60: _ = try run.engine.snapshot(table: table(run.engine, "beta").id)
            case 75: _ = try run.engine.compact()
            case 90: try run.reopen()
            default: break
            }
        }
        try verify(run)
        _ = try run.engine.compact()
        try verify(run)
        try run.reopen()
        try verify(run)
        run.engine.close()
    }

    /// One random transaction of 1–4 writes; a tenth roll back.
    func transaction(_ run: inout Run, _ model: inout Model) throws {
        let t = run.engine.begin()
        t.beginStatement()
        var pending = model
        for _ in 0..<Int.random(in: 1...4, using: &run.rng) {
            let name = Self.tables.randomElement(using: &run.rng)!
            let def = try t.table(name)
            let id = Int64.random(in: 0..<12, using: &run.rng)
            let value = "v\(UInt16.random(in: 0...UInt16.max, using: &run.rng))"
            guard case .row(let current, _) = try t.lockRow(def, key: key(id), mode: .update) else { continue }
            if current == nil {
                try t.insert(def, [.int(id), .text(value)])
                pending[name]![id] = value
            } else if Bool.random(using: &run.rng) {
                try t.update(def, key: key(id), [.int(id), .text(value)])
                pending[name]![id] = value
            } else {
                try t.delete(def, key: key(id))
                pending[name]![id] = nil
            }
        }
        if Int.random(in: 0..<10, using: &run.rng) == 0 {
            t.rollback()
            return
        }
        if let seq = try t.commit() {
            model = pending
            run.models[seq] = model
        }
    }

    func verify(_ run: Run) throws {
        let e = run.engine
        #expect(UInt64(run.models.count) == e.visibleSeq + 1)
        for seq in 0...e.visibleSeq {
            guard let expected = run.models[seq] else {
                Issue.record("no model for seq \(seq)")
                continue
            }
            for name in Self.tables {
                let got = try contents(e, name, asOf: seq)
                #expect(got == expected[name], "table \(name) as of seq \(seq)")
                guard let rows = expected[name] else { continue }
                // Point lookups as of the same seq agree with the scan.
                let t = e.begin(asOf: seq)
                let def = t.catalog.table(name)!
                for id in Int64(0)..<12 {
                    let row = try t.get(def, key: key(id))
                    let v: String? = row.flatMap { if case .text(let s) = $0[1] { return s } else { return nil } }
                    #expect(v == rows[id], "\(name)[\(id)] as of seq \(seq)")
                }
                t.rollback()
            }
        }
    }
}
