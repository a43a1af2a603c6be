// DriftBench: core figures for this machine. Run by hand, in release:
//
//     swift run -c release DriftBench [--dir DIR] [--keys N] [--versions N] [--skip-commits]
//
// Prints durable commits/s (1 and 8 writers, group commit), point lookups/s current and
// AS OF, full-scan rows/s, recovery time for the loaded events with and without a
// snapshot, and bytes on disk per event.
import DriftCore
import DriftStorage
#if canImport(Glibc)
import Glibc
#endif

let args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ fallback: String) -> String {
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return fallback
}
let root = option("--dir", "./.bench-data")
let keys = Int(option("--keys", "100000"))!
let versionsPerKey = Int(option("--versions", "10"))!
let fs = PosixFileSystem()

func seconds(_ start: UInt64) -> Double { Double(monotonicNanos() - start) / 1e9 }
func fresh(_ name: String) -> String {
    let dir = Path.join(root, name)
    _ = system("rm -rf '\(dir)'")
    return dir
}
func report(_ label: String, _ value: Double, _ unit: String) {
    let v = value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 100)) / 100)
    print("\(label.padding(42)) \(v) \(unit)")
}
extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

func config(_ durability: Durability) -> EngineConfig {
    var c = EngineConfig()
    c.durability = durability
    c.snapshotEveryEvents = 0
    c.snapshotEveryBytes = 0
    return c
}

func makeTable(_ e: Engine, _ name: String) throws -> TableDef {
    try e.transaction { t in
        let def = TableDef(id: t.allocateTableId(), name: name,
                           columns: [ColumnDef(name: "id", type: .int8, notNull: true), ColumnDef(name: "v", type: .text),
                                     ColumnDef(name: "n", type: .int8)],
                           primaryKey: [0], origin: .sql)
        try t.applyDDL { _ in .createTable(def) }
        return def
    }.0
}

final class Counter: @unchecked Sendable {
    let lock = Lock()
    var value = 0
    func add(_ n: Int) { lock.withLock { value += n } }
}

// MARK: Durable commits

func commitRate(writers: Int, duration: Double) throws -> (rate: Double, perSync: Double) {
    let dir = fresh("commits-\(writers)")
    let e = try Engine.open(at: dir, config: config(.fsync), create: true)
    let def = try makeTable(e, "t")
    let (groups0, syncs0, _) = e.writerStats
    let count = Counter()
    let start = monotonicNanos()
    let threads = try (0..<writers).map { w in
        try OSThread {
            var i = 0
            while seconds(start) < duration {
                _ = try! e.transaction { t in try t.insert(def, [.int(Int64(w * 10_000_000 + i)), .text("row \(i)"), .int(Int64(i))]) }
                i += 1
            }
            count.add(i)
        }
    }
    for t in threads { t.join() }
    let elapsed = seconds(start)
    let (_, syncs1, _) = e.writerStats
    _ = groups0
    e.close()
    return (Double(count.value) / elapsed, Double(count.value) / Double(max(1, syncs1 - syncs0)))
}

print("DriftBench — \(keys) keys × \(versionsPerKey) versions; data under \(root)")
_ = system("mkdir -p '\(root)'")
// Median of three 3-second runs each, to damp scheduler noise on small machines.
func median(_ writers: Int) throws -> (rate: Double, perSync: Double) {
    let runs = try (0..<3).map { _ in try commitRate(writers: writers, duration: 3) }.sorted { $0.rate < $1.rate }
    return runs[1]
}
if !args.contains("--skip-commits") {
let single = try median(1)
report("durable commits/s, 1 writer", single.rate, "commits/s")
let eight = try median(8)
report("durable commits/s, 8 writers", eight.rate, "commits/s")
report("  group commit: commits per fdatasync", eight.perSync, "")
report("  8-writer speed-up over 1 writer", eight.rate / single.rate, "×  (target ≥ 5)")
}
if args.contains("--commits-only") { exit(0) }

// MARK: Load

let dir = fresh("history")
var loadConfig = config(.batch(milliseconds: 50))
loadConfig.segmentBytesMax = 8 << 20
var e = try Engine.open(at: dir, config: loadConfig, create: true)
let def = try makeTable(e, "t")
let loadStart = monotonicNanos()
let batch = 500
var seqs: [UInt64] = []
for round in 0..<versionsPerKey {
    var k = 0
    while k < keys {
        let end = min(keys, k + batch)
        let (_, seq) = try e.transaction { t in
            for id in k..<end {
                let row: [Value] = [.int(Int64(id)), .text("value \(id) round \(round)"), .int(Int64(round))]
                if round == 0 { try t.insert(def, row) } else { try t.update(def, key: KeyCodec.encode([.int(Int64(id))]), row) }
            }
        }
        seqs.append(seq!)
        k = end
    }
}
let events = keys * versionsPerKey
report("load (batch durability, 500 rows/commit)", Double(events) / seconds(loadStart), "events/s")

// MARK: Lookups and scans

var rng = SystemRandomNumberGenerator()
let lookups = 300_000
// Independent random keys and past seqs (65,536 of each, drawn afresh): lookups spread over
// the whole history, as random AS OF reads do.
let pool = 1 << 16
let keyBytes = (0..<pool).map { _ in KeyCodec.encode([.int(Int64.random(in: 0..<Int64(keys), using: &rng))]) }
let pastSeqs = (0..<pool).map { _ in seqs[Int.random(in: 0..<seqs.count, using: &rng)] }
func keyAt(_ i: Int) -> [UInt8] { keyBytes[i & (pool - 1)] }
func seqAt(_ i: Int) -> UInt64 { pastSeqs[(i &* 7919) & (pool - 1)] }
let reader = e.begin()
reader.beginStatement()
var found = 0
var t0 = monotonicNanos()
for i in 0..<lookups {
    try reader.lookup(def, key: keyAt(i), at: e.visibleSeq) { row in
        found += try RowCodec.decode(row.image, missing: def.missingValues).count
    }
}
let current = Double(lookups) / seconds(t0)
t0 = monotonicNanos()
for i in 0..<lookups {
    try reader.lookup(def, key: keyAt(i), at: seqAt(i)) { row in
        found += try RowCodec.decode(row.image, missing: def.missingValues).count
    }
}
let past = Double(lookups) / seconds(t0)
report("point lookups/s, current", current, "lookups/s")
report("point lookups/s, AS OF a random past seq", past, "lookups/s")
report("  AS OF cost relative to current", current / past, "×  (target ≤ 1.5)")

func scan(at seq: UInt64) throws -> Double {
    let cursor = try reader.cursor(def, at: seq)
    var buffer = [Value](repeating: .null, count: def.columns.count)
    var rows = 0
    let start = monotonicNanos()
    while true {
        let n = try cursor.next(limit: 1024) { row in
            try buffer.withUnsafeMutableBufferPointer { try RowCodec.decode(row.image, into: $0, missing: def.missingValues) }
        }
        if n == 0 { break }
        rows += n
    }
    precondition(rows == keys, "scan saw \(rows) rows")
    return Double(rows) / seconds(start)
}
report("full scan rows/s, current", try scan(at: e.visibleSeq), "rows/s")
report("full scan rows/s, AS OF mid-history", try scan(at: seqs[seqs.count / 2]), "rows/s")
reader.rollback()

// MARK: Recovery and size

let analysis = try e.analyze()
e.close()
report("bytes on disk per event (log)", Double(analysis.segmentBytes) / Double(events), "bytes")
t0 = monotonicNanos()
e = try Engine.open(at: dir, config: config(.fsync))
report("recovery of \(events) events, no snapshot", seconds(t0), "s")
_ = try e.snapshot()
e.close()
t0 = monotonicNanos()
e = try Engine.open(at: dir, config: config(.fsync))
report("recovery of \(events) events, with snapshot", seconds(t0), "s  (target < 3)")
let snap = try e.analyze()
report("snapshot bytes per event", Double(snap.snapshotBytes) / Double(events), "bytes")
let compactStart = monotonicNanos()
let packed = try e.compact()
report("COMPACT (\(packed.segmentsPacked) sealed segments)", seconds(compactStart), "s")
report("  log bytes per event after COMPACT", Double(try e.analyze().segmentBytes) / Double(events), "bytes")
let afterReader = e.begin()
afterReader.beginStatement()
t0 = monotonicNanos()
for i in 0..<lookups {
    try afterReader.lookup(def, key: keyAt(i), at: seqAt(i)) { row in
        found += try RowCodec.decode(row.image, missing: def.missingValues).count
    }
}
report("point lookups/s, AS OF, packed segments", Double(lookups) / seconds(t0), "lookups/s")
afterReader.rollback()
e.close()
t0 = monotonicNanos()
e = try Engine.open(at: dir, config: config(.fsync))
report("recovery with snapshot, packed segments", seconds(t0), "s")
e.close()
if found == 0 { print("(no rows found)") }
