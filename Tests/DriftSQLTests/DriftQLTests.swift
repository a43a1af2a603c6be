import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

func memorySession() throws -> (Session, Engine, MemoryFileSystem) {
    let fs = MemoryFileSystem()
    var c = EngineConfig()
    c.snapshotEveryEvents = 0
    c.snapshotEveryBytes = 0
    let e = try Engine.open(at: "/db", config: c, fs: fs, create: true, logger: TestLog.logger)
    return (Session(engine: e), e, fs)
}

extension Session {
    /// Runs statements and returns the last result's rows as text (NULL as "NULL").
    func rows(_ sql: String) throws -> [[String]] {
        let r = try execute(sql).last!
        return r.rows.map { row in
            row.enumerated().map { i, v in text(v, r.columns.map { i < $0.count ? $0[i].type : .text } ?? .text) ?? "NULL" }
        }
    }
}

func sqlError(_ body: () throws -> Void) -> SQLError? {
    do {
        try body()
        return nil
    } catch let e as SQLError {
        return e
    } catch {
        return SQLError(.internalError, "\(error)")
    }
}

@Suite struct DriftQLTests {
    @Test func endToEnd() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE users (pk=id, INDEX(status))")
        _ = try s.execute(#"INSERT INTO users {"id": "u1", "name": "Ada", "status": "paid", "age": 36}"#)
        _ = try s.execute(#"INSERT INTO users {"id": "u2", "name": "Bob", "status": "trial"}"#)
        let seqAfterInserts = e.visibleSeq
        #expect(try s.execute(#"PATCH users KEY "u1" SET {"status": "churned", "tags": ["a", "b"]}"#)[0].tag == "PATCH 1")
        #expect(try s.execute(#"SOFT DELETE FROM users KEY "u2""#)[0].tag == "SOFT DELETE 1")
        #expect(try s.rows("SELECT id, name, status FROM users") == [["u1", "Ada", "churned"]])
        #expect(try s.rows("SELECT id, status FROM users WHERE status = 'paid' AS OF '@seq:\(seqAfterInserts)'") == [["u1", "paid"]])
        #expect(try s.rows("SELECT id FROM users AS OF @seq:\(seqAfterInserts) ORDER BY id") == [["u1"], ["u2"]])
        #expect(try s.rows("SELECT id FROM users AS OF \"@seq:\(seqAfterInserts)\" WHERE name = 'Bob'") == [["u2"]])
        let drift = try s.execute(#"SHOW DRIFT users KEY "u1""#)[0]
        #expect(drift.columns!.prefix(3).map(\.name) == ["drift_seq", "committed_at", "drift_op"])
        #expect(drift.rows.map { $0[2].pgText! } == ["insert", "update"])
        let gone = try s.execute(#"SHOW DRIFT users KEY "u2""#)[0]
        #expect(gone.rows.map { $0[2].pgText! } == ["insert", "delete"])
        #expect(try s.rows("SELECT tags FROM users") == [[#"["a", "b"]"#]])
        // Types come from the first value; a value that does not fit fails with 22P02.
        #expect(sqlError { _ = try s.execute(#"INSERT INTO users {"id": "u3", "age": "old"}"#) }?.code == .invalidTextRepresentation)
        #expect(sqlError { _ = try s.execute(#"INSERT INTO users {"id": "u1"}"#) }?.code == .uniqueViolation)
        #expect(sqlError { _ = try s.execute("SELECT * FROM nope") }?.code == .undefinedTable)
        #expect(sqlError { _ = try s.execute("SELECT * FROM users AS OF @seq:0") }?.code == .undefinedTable)
    }

    @Test func integerKeysAndIndexes() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE ev (pk=id, INDEX(kind))")
        for i in 0..<50 {
            _ = try s.execute(#"INSERT INTO ev {"id": \#(i), "kind": "k\#(i % 5)", "n": \#(i * 10)}"#)
        }
        #expect(try s.rows("SELECT id FROM ev WHERE id = 7") == [["7"]])
        #expect(try s.rows("SELECT id FROM ev WHERE kind = 'k3' ORDER BY id DESC LIMIT 2") == [["48"], ["43"]])
        #expect(try s.rows("SELECT n FROM ev WHERE id >= 47 ORDER BY 1") == [["470"], ["480"], ["490"]])
        _ = try s.execute(#"PATCH ev KEY 7 SET {"kind": "moved"}"#)
        #expect(try s.rows("SELECT id FROM ev WHERE kind = 'k2' AND id < 10") == [["2"]])
        #expect(try s.rows("SELECT id FROM ev WHERE kind = 'moved'") == [["7"]])
    }
}
