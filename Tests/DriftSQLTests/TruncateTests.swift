import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// TRUNCATE is one logged event per table: the log does not grow with the table, history
/// before it stays readable, and recovery and snapshots rebuild the same past.
@Suite struct TruncateTests {
    @Test func oneEventKeepsHistoryAndSurvivesRestart() throws {
        let (s, e, fs) = try memorySession()
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX t_v_idx ON t (v)")
        _ = try s.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 500) g")
        let before = e.visibleSeq
        _ = try s.execute("TRUNCATE t")
        let truncSeq = e.visibleSeq
        #expect(truncSeq == before + 1)
        #expect(try s.rows("SELECT count(*) FROM t") == [["0"]])
        #expect(try s.rows("SELECT count(*) FROM t AS OF @seq:\(before)") == [["500"]])
        #expect(try s.rows("SELECT v FROM t AS OF @seq:\(before) WHERE id = 7") == [["v7"]])
        #expect(try s.rows("SELECT id FROM t AS OF @seq:\(before) WHERE v = 'v9'") == [["9"]])
        #expect(try s.rows("SELECT id FROM t WHERE v = 'v9'") == [])
        #expect(try s.rows("SELECT count(*) FROM t FOR SYSTEM_TIME ALL") == [["500"]])
        #expect(try s.rows("SELECT count(*) FROM t FOR SYSTEM_TIME ALL WHERE system_time_end = (SELECT committed_at FROM drift_events WHERE drift_seq = \(truncSeq) LIMIT 1)") == [["500"]])
        #expect(try s.rows("SELECT op, key, row, table_name FROM drift_events WHERE drift_seq > \(before)")
                == [["truncate", "NULL", "NULL", "t"]])
        // The key is free again; the new row is an insert after the truncate.
        _ = try s.execute("INSERT INTO t VALUES (7, 'again')")
        #expect(try s.rows("SELECT op FROM drift_events WHERE drift_seq > \(truncSeq)") == [["insert"]])

        e.close()
        // Reopened from the log alone, then from a snapshot taken after the truncate.
        for snapshot in [true, false] {
            let e2 = try Engine.open(at: "/db", config: EngineConfig(), fs: fs, logger: TestLog.logger)
            let s2 = Session(engine: e2)
            #expect(try s2.rows("SELECT id, v FROM t") == [["7", "again"]])
            #expect(try s2.rows("SELECT count(*) FROM t AS OF @seq:\(before)") == [["500"]])
            #expect(try s2.rows("SELECT count(*) FROM t AS OF @seq:\(truncSeq)") == [["0"]])
            #expect(try s2.rows("SELECT v FROM t AS OF @seq:\(before) WHERE id = 7") == [["v7"]])
            if snapshot { _ = try e2.snapshot() }
            e2.close()
        }
    }

    @Test func insideATransaction() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        let start = e.visibleSeq
        // Rolled back: nothing happened.
        _ = try s.execute("BEGIN; TRUNCATE t")
        #expect(try s.rows("SELECT count(*) FROM t") == [["0"]])
        _ = try s.execute("ROLLBACK")
        #expect(try s.rows("SELECT count(*) FROM t") == [["3"]])
        #expect(e.visibleSeq == start)
        // Writes before and after a truncate in one transaction: only the later rows remain,
        // and the change log holds the truncate and then inserts (an update of key 1 before
        // it leaves no trace).
        _ = try s.execute("BEGIN; UPDATE t SET v = 'x' WHERE id = 1; INSERT INTO t VALUES (4, 'd'); TRUNCATE t")
        #expect(try s.rows("SELECT count(*) FROM t") == [["0"]])
        _ = try s.execute("INSERT INTO t VALUES (1, 'new'), (5, 'e'); SAVEPOINT s; TRUNCATE t; INSERT INTO t VALUES (6, 'f'); ROLLBACK TO s")
        #expect(try s.rows("SELECT id, v FROM t ORDER BY id") == [["1", "new"], ["5", "e"]])
        _ = try s.execute("COMMIT")
        #expect(try s.rows("SELECT id, v FROM t ORDER BY id") == [["1", "new"], ["5", "e"]])
        #expect(try s.rows("SELECT op, key FROM drift_events WHERE drift_seq > \(start) ORDER BY op, key")
                == [["insert", "{\"id\": 1}"], ["insert", "{\"id\": 5}"], ["truncate", "NULL"]])
        #expect(try s.rows("SELECT id, v FROM t AS OF @seq:\(start) ORDER BY id") == [["1", "a"], ["2", "b"], ["3", "c"]])
        // Truncated twice with a row written in between and rewritten after: the row survives.
        _ = try s.execute("BEGIN; TRUNCATE t; INSERT INTO t VALUES (9, 'one'); TRUNCATE t; INSERT INTO t VALUES (9, 'two'); COMMIT")
        #expect(try s.rows("SELECT id, v FROM t") == [["9", "two"]])
    }

    @Test func restartIdentityAndCascade() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE p (id serial PRIMARY KEY, v text); CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p)")
        _ = try s.execute("INSERT INTO p (v) VALUES ('a'), ('b'); INSERT INTO c VALUES (1, 1)")
        _ = try s.execute("TRUNCATE p CASCADE")
        #expect(try s.rows("SELECT count(*) FROM c") == [["0"]])
        #expect(try s.rows("INSERT INTO p (v) VALUES ('c') RETURNING id") == [["3"]])
        // RESTART IDENTITY waits for the commit: a rolled-back truncate leaves numbering alone.
        _ = try s.execute("BEGIN; TRUNCATE p RESTART IDENTITY CASCADE; ROLLBACK")
        #expect(try s.rows("INSERT INTO p (v) VALUES ('d') RETURNING id") == [["4"]])
        _ = try s.execute("TRUNCATE p RESTART IDENTITY CASCADE")
        #expect(try s.rows("INSERT INTO p (v) VALUES ('e') RETURNING id") == [["1"]])
    }

    @Test func waitsForWritersOfTheTable() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
        let writer = Session(engine: e)
        _ = try writer.execute("BEGIN; INSERT INTO t VALUES (2)")
        _ = try s.execute("SET lock_timeout = '50ms'")
        #expect(sqlError { _ = try s.execute("TRUNCATE t") }?.code == .lockNotAvailable)
        _ = try writer.execute("COMMIT")
        _ = try s.execute("TRUNCATE t")
        #expect(try s.rows("SELECT count(*) FROM t") == [["0"]])
    }
}

@Suite struct ClosedEngineTests {
    /// A statement that arrives while the engine shuts down gets an error, never a hang.
    @Test func snapshotAndWritesAfterCloseFail() throws {
        let (s, e, _) = try memorySession()
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY)")
        e.close()
        #expect(sqlError { _ = try s.execute("INSERT INTO t VALUES (1)") } != nil)
        #expect(sqlError { _ = try s.execute("SNAPSHOT") } != nil)
        #expect(throws: (any Error).self) { _ = try e.snapshot() }
    }
}
