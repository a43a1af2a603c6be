#if canImport(Glibc)
import Glibc
#endif
import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore

/// An engine on a fresh in-memory file system.
func memoryEngine(_ config: EngineConfig = testConfig(), fs: MemoryFileSystem = MemoryFileSystem(),
                  clock: any WallClock = SystemClock()) throws -> (Engine, MemoryFileSystem) {
    let e = try Engine.open(at: "/db", config: config, fs: fs, clock: clock, create: true, logger: TestLog.logger)
    return (e, fs)
}

func testConfig(snapshotEvery: Int = 0, segmentBytes: Int = 1 << 20) -> EngineConfig {
    var c = EngineConfig()
    c.snapshotEveryEvents = snapshotEvery
    c.snapshotEveryBytes = 0
    c.segmentBytesMax = segmentBytes
    return c
}

/// Creates `name (id bigint primary key, v text)` plus extra text columns.
@discardableResult
func createTable(_ engine: Engine, _ name: String, extra: [String] = [], index: [String] = []) throws -> TableDef {
    try engine.transaction { t in
        let cols = [ColumnDef(name: "id", type: .int8, notNull: true), ColumnDef(name: "v", type: .text)]
            + extra.map { ColumnDef(name: $0, type: .text) }
        var indexes: [IndexDef] = []
        for c in index {
            indexes.append(IndexDef(id: t.allocateIndexId(), name: "\(name)_\(c)_idx",
                                    columns: [cols.firstIndex { $0.name == c }!], unique: false))
        }
        let def = TableDef(id: t.allocateTableId(), name: name, columns: cols, primaryKey: [0], indexes: indexes, origin: .sql)
        try t.applyDDL { _ in .createTable(def) }
        return def
    }.0
}

func key(_ i: Int64) -> [UInt8] { KeyCodec.encode([.int(i)]) }

/// Current table definition.
func table(_ engine: Engine, _ name: String) -> TableDef { engine.latestCatalog.table(name)! }

func put(_ engine: Engine, _ tableName: String, _ id: Int64, _ v: String) throws -> UInt64 {
    try engine.transaction { t in
        let def = try t.table(tableName)
        switch try t.lockRow(def, key: key(id), mode: .noKeyUpdate) {
        case .row(let existing, _):
            var row = [Value](repeating: .null, count: def.columns.count)
            row[0] = .int(id)
            row[1] = .text(v)
            if existing != nil { try t.update(def, key: key(id), row) } else { try t.insert(def, row) }
        case .skipped:
            fatalError("blocked lock in a test helper")
        }
    }.1!
}

func get(_ engine: Engine, _ tableName: String, _ id: Int64, asOf: UInt64? = nil) throws -> String? {
    let t = engine.begin(asOf: asOf)
    defer { t.rollback() }
    t.beginStatement()
    guard let def = t.catalog.table(tableName), let row = try t.get(def, key: key(id)) else { return nil }
    if case .text(let s) = row[1] { return s }
    return nil
}

/// All live rows of a table as of `seq` (nil: the latest), as id → v.
func contents(_ engine: Engine, _ tableName: String, asOf: UInt64? = nil) throws -> [Int64: String]? {
    let t = engine.begin(asOf: asOf ?? engine.visibleSeq)
    defer { t.rollback() }
    guard let def = t.catalog.table(tableName) else { return nil }
    var out: [Int64: String] = [:]
    try t.scan(def) { row in
        let values = try RowCodec.decode(row.image, missing: def.missingValues)
        if case .int(let id) = values[0] {
            if case .text(let s) = values[1] { out[id] = s } else { out[id] = "" }
        }
        return true
    }
    return out
}

/// A wall clock a test moves by hand.
final class TestClock: WallClock, @unchecked Sendable {
    let lock = Lock()
    var now: Int64
    init(_ start: Int64) { now = start }
    func nowMicros() -> Int64 { lock.withLock { now } }
    func set(_ v: Int64) { lock.withLock { now = v } }
}

/// Opens the database on `fs`, which must refuse: corruption in `file` at or before
/// `offset`, or (for a damaged version field) an unsupported format in `file`.
func expectRefusedOpen(_ fs: MemoryFileSystem, file: String, damagedAt offset: Int, config: EngineConfig = testConfig(),
                       _ what: String = "") {
    do {
        let e = try Engine.open(at: "/db", config: config, fs: fs, logger: TestLog.logger)
        e.close()
        Issue.record("a flip at \(offset) of \(file) opened \(what)")
    } catch let StorageError.corrupt(f, at, _) {
        #expect(f == file && at <= UInt64(offset), "flip at \(offset) reported in \(f) at \(at)")
    } catch StorageError.unsupportedFormat(let f, _, _) {
        #expect(f == file)
    } catch {
        Issue.record("flip at \(offset): unexpected \(error)")
    }
}
