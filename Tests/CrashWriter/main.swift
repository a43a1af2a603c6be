// The child process of the crash test: commits transactions in a loop on the data
// directory given as its first argument and prints `ack <seq> <n>` for each acknowledged one,
// until it is killed. Each transaction writes row n into two tables and moves a
// running total, so a partial transaction is visible as a mismatch.
import DriftCore
import DriftStorage

#if canImport(Glibc)
import Glibc
#endif

let args = CommandLine.arguments
guard args.count >= 2 else {
    print("usage: DriftCrashWriter DATA_DIR [overlap]")
    exit(2)
}
var config = EngineConfig()
config.segmentBytesMax = 64 << 10
config.snapshotEveryEvents = 300
config.snapshotEveryBytes = 0
// "overlap": every commit is applied while a helper thread writes and syncs it (the path of
// large commits), so kills land in that window too.
if args.count >= 3 && args[2] == "overlap" { config.applyDuringSyncEventsMin = 3 }
let engine = try Engine.open(at: args[1], config: config, create: true)

func column(_ name: String, _ type: SQLType) -> ColumnDef { ColumnDef(name: name, type: type, notNull: name == "id") }

for name in ["a", "b", "total"] where engine.latestCatalog.table(name) == nil {
    try engine.transaction { t in
        let def = TableDef(id: t.allocateTableId(), name: name, columns: [column("id", .int8), column("v", .int8)],
                           primaryKey: [0], origin: .sql)
        try t.applyDDL { _ in .createTable(def) }
    }
}
let a = engine.latestCatalog.table("a")!, b = engine.latestCatalog.table("b")!, total = engine.latestCatalog.table("total")!

// Continue numbering after the rows already there.
var n: Int64 = try engine.transaction { t -> Int64 in
    var m: Int64 = 0
    try t.scan(a) { row in
        if case .int(let id)? = try? KeyCodec.decode(row.key).first { m = max(m, id) }
        return true
    }
    return m
}.0

print("ready \(engine.visibleSeq) \(n)")
fflush(nil)
while true {
    n += 1
    let i = n
    let (_, seq) = try engine.transaction { t in
        try t.insert(a, [.int(i), .int(i * 2)])
        try t.insert(b, [.int(i), .int(i * 3)])
        let k = KeyCodec.encode([.int(0)])
        guard case .row(let row, _) = try t.lockRow(total, key: k, mode: .noKeyUpdate) else { return }
        if let row, case .int(let sum) = row[1] {
            try t.update(total, key: k, [.int(0), .int(sum + i)])
        } else {
            try t.insert(total, [.int(0), .int(i)])
        }
    }
    print("ack \(seq!) \(i)")
    fflush(nil)
}
