import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// CREATE TEMP TABLE: session-local, transactional, never logged, gone with the session.
@Suite struct TemporaryTableTests {
    @Test func sessionLocalAndNeverLogged() throws {
        let (s, e, fs) = try memorySession()
        _ = try s.execute("CREATE TABLE perm (id int PRIMARY KEY, v text); INSERT INTO perm VALUES (1, 'p1'), (2, 'p2')")
        let seqBefore = e.visibleSeq
        _ = try s.execute("CREATE TEMP TABLE tmp (id serial PRIMARY KEY, v text UNIQUE)")
        _ = try s.execute("INSERT INTO tmp (v) VALUES ('a'), ('b'); CREATE INDEX ON tmp (v)")
        _ = try s.execute("UPDATE tmp SET v = 'bb' WHERE id = 2; INSERT INTO tmp (v) VALUES ('c'); DELETE FROM tmp WHERE v = 'a'")
        #expect(try s.rows("SELECT id, v FROM tmp ORDER BY id") == [["2", "bb"], ["3", "c"]])
        #expect(try s.rows("SELECT id FROM tmp WHERE v = 'c'") == [["3"]])
        #expect(try s.rows("SELECT p.v, t.v FROM perm p JOIN tmp t ON t.id = p.id + 1 ORDER BY 1") == [["p1", "bb"], ["p2", "c"]])
        #expect(try s.rows("SELECT v FROM pg_temp.tmp WHERE id = 2") == [["bb"]])
        #expect(sqlError { _ = try s.execute("INSERT INTO tmp (v) VALUES ('c')") }?.code == .uniqueViolation)
        // Nothing reached the log: no seq was taken.
        #expect(e.visibleSeq == seqBefore)
        #expect(try s.rows("SELECT count(*) FROM drift_events WHERE drift_seq > \(seqBefore)") == [["0"]])
        #expect(sqlError { _ = try s.execute("SELECT * FROM tmp FOR SYSTEM_TIME ALL") }?.code == .featureNotSupported)

        // Another session does not see it, and may use the name for its own.
        let other = Session(engine: e)
        #expect(sqlError { _ = try other.execute("SELECT * FROM tmp") }?.code == .undefinedTable)
        _ = try other.execute("CREATE TEMP TABLE tmp (x int); INSERT INTO tmp VALUES (42)")
        #expect(try other.rows("SELECT x FROM tmp") == [["42"]])
        #expect(try s.rows("SELECT count(*) FROM tmp") == [["2"]])

        // A temporary table hides a permanent one of the same name; the permanent one stays
        // reachable by its schema.
        _ = try s.execute("CREATE TEMP TABLE perm (z int); INSERT INTO perm VALUES (7)")
        #expect(try s.rows("SELECT * FROM perm") == [["7"]])
        #expect(try s.rows("SELECT count(*) FROM public.perm") == [["2"]])
        _ = try s.execute("DROP TABLE perm")
        #expect(try s.rows("SELECT count(*) FROM perm") == [["2"]])
        // New tables without a schema still go to public.
        _ = try s.execute("CREATE TABLE later (a int)")
        #expect(try s.rows("SELECT count(*) FROM public.later") == [["0"]])
        #expect(e.visibleSeq > seqBefore)

        // After a restart only the permanent tables exist.
        _ = try e.snapshot()
        e.close()
        let e2 = try Engine.open(at: "/db", config: EngineConfig(), fs: fs, logger: TestLog.logger)
        defer { e2.close() }
        let s2 = Session(engine: e2)
        #expect(sqlError { _ = try s2.execute("SELECT * FROM tmp") }?.code == .undefinedTable)
        #expect(try s2.rows("SELECT count(*) FROM perm") == [["2"]])
    }

    @Test func transactional() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("BEGIN; CREATE TEMP TABLE t (a int); INSERT INTO t VALUES (1); ROLLBACK")
        #expect(sqlError { _ = try s.execute("SELECT * FROM t") }?.code == .undefinedTable)
        _ = try s.execute("CREATE TEMPORARY TABLE t (a int)")
        _ = try s.execute("BEGIN; INSERT INTO t VALUES (1); SAVEPOINT x; INSERT INTO t VALUES (2); ALTER TABLE t ADD COLUMN b text DEFAULT 'z'")
        #expect(try s.rows("SELECT a, b FROM t ORDER BY a") == [["1", "z"], ["2", "z"]])
        _ = try s.execute("ROLLBACK TO x")
        #expect(try s.rows("SELECT * FROM t") == [["1"]])
        _ = try s.execute("COMMIT")
        #expect(try s.rows("SELECT * FROM t") == [["1"]])
        _ = try s.execute("TRUNCATE t; INSERT INTO t VALUES (5)")
        #expect(try s.rows("SELECT * FROM t") == [["5"]])
        // CREATE TEMP TABLE ... AS, and an explicit non-temporary schema refused.
        _ = try s.execute("CREATE TEMP TABLE c AS SELECT a * 2 AS d FROM t")
        #expect(try s.rows("SELECT d FROM c") == [["10"]])
        #expect(sqlError { _ = try s.execute("CREATE TEMP TABLE public.bad (a int)") }?.code == SQLState("42P16"))
        // DISCARD TEMP drops them and nothing else; DISCARD ALL drops them too.
        _ = try s.execute("PREPARE p AS SELECT 1; DISCARD TEMP")
        #expect(sqlError { _ = try s.execute("SELECT * FROM c") }?.code == .undefinedTable)
        #expect(try s.rows("EXECUTE p") == [["1"]])
        _ = try s.execute("CREATE TEMP TABLE t (a int)")
        _ = try s.execute("DISCARD ALL")
        #expect(sqlError { _ = try s.execute("EXECUTE p") } != nil)
        #expect(sqlError { _ = try s.execute("SELECT * FROM t") }?.code == .undefinedTable)
        #expect(e.visibleSeq == 0)
    }

    /// ON COMMIT DROP and DELETE ROWS act at each commit as in PostgreSQL (each answer checked
    /// on PostgreSQL 15); ON COMMIT on a permanent table is 42P16.
    @Test func onCommitActions() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TEMP TABLE x (a int) ON COMMIT DROP")
        #expect(sqlError { _ = try s.execute("SELECT * FROM x") }?.code == .undefinedTable)
        _ = try s.execute("BEGIN; CREATE TEMP TABLE x (a serial, b int) ON COMMIT DROP; INSERT INTO x (b) VALUES (1)")
        #expect(try s.rows("SELECT count(*) FROM x") == [["1"]])
        _ = try s.execute("COMMIT")
        #expect(sqlError { _ = try s.execute("SELECT * FROM x") }?.code == .undefinedTable)
        #expect(sqlError { _ = try s.execute("SELECT nextval('x_a_seq')") }?.code == .undefinedTable)
        #expect(try s.rows("CREATE TEMP TABLE d (a int) ON COMMIT DELETE ROWS; INSERT INTO d VALUES (1), (2); SELECT count(*) FROM d")
                == [["0"]])
        _ = try s.execute("BEGIN; INSERT INTO d VALUES (3)")
        #expect(try s.rows("SELECT count(*) FROM d") == [["1"]])
        #expect(try s.rows("COMMIT; SELECT count(*) FROM d") == [["0"]])
        #expect(try s.rows("BEGIN READ ONLY; SELECT count(*) FROM d; COMMIT; SELECT count(*) FROM d") == [["0"]])
        #expect(try s.execute("CREATE TEMP TABLE c ON COMMIT DELETE ROWS AS SELECT 1 AS a").last?.tag == "SELECT 1")
        #expect(try s.rows("SELECT count(*) FROM c") == [["0"]])
        #expect(try s.rows("CREATE TEMP TABLE p (a int) ON COMMIT PRESERVE ROWS; INSERT INTO p VALUES (1); SELECT count(*) FROM p")
                == [["1"]])
        for clause in ["DELETE ROWS", "PRESERVE ROWS", "DROP"] {
            let err = sqlError { _ = try s.execute("CREATE TABLE perm (a int) ON COMMIT \(clause)") }
            #expect(err?.code == SQLState("42P16") && err?.message == "ON COMMIT can only be used on temporary tables")
        }
        // A creation rolled back is forgotten; rows a savepoint rolled back stay gone.
        _ = try s.execute("BEGIN; CREATE TEMP TABLE r (a int) ON COMMIT DROP; ROLLBACK")
        _ = try s.execute("BEGIN; CREATE TEMP TABLE r (a int) ON COMMIT DROP; INSERT INTO r VALUES (5); SAVEPOINT s; INSERT INTO d VALUES (9); ROLLBACK TO s")
        #expect(try s.rows("SELECT count(*) FROM d") == [["0"]])
        _ = try s.execute("COMMIT")
        #expect(sqlError { _ = try s.execute("SELECT count(*) FROM r") }?.code == .undefinedTable)
        #expect(e.visibleSeq == 0)
    }
}

@Suite struct SameTransactionTableTests {
    /// A table created in an open transaction is read and written before its commit.
    @Test func createThenUseInOneBlock() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("BEGIN; CREATE TABLE r (a int); CREATE TABLE k (id int PRIMARY KEY, v text UNIQUE)")
        _ = try s.execute("INSERT INTO r VALUES (1), (2); INSERT INTO k VALUES (1, 'x')")
        #expect(try s.rows("SELECT sum(a) FROM r") == [["3"]])
        #expect(try s.rows("SELECT id FROM k WHERE v = 'x'") == [["1"]])
        #expect(sqlError { _ = try s.execute("INSERT INTO k VALUES (2, 'x')") }?.code == .uniqueViolation)
        _ = try s.execute("ROLLBACK; BEGIN; CREATE TABLE r (a int); INSERT INTO r VALUES (5); COMMIT")
        #expect(try s.rows("SELECT a FROM r") == [["5"]])
        _ = try s.execute("INSERT INTO r VALUES (6)")
        #expect(try s.rows("SELECT a FROM r ORDER BY a") == [["5"], ["6"]])
    }
}
