import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// The simple-query plan cache: repeated SELECTs skip parse, bind and plan, and never answer
/// differently from an uncached run.
@Suite struct PlanCacheTests {
    @Test func normalization() throws {
        let a = try #require(NormalizedStatement.make("SELECT * FROM t WHERE id = 5"))
        let b = try #require(NormalizedStatement.make("select *  from T where ID = 7;"))
        #expect(a.key == b.key)
        #expect(a.parameterized == "SELECT * FROM t WHERE id = $1")
        #expect(try b.values().map { $0.pgText } == ["7"])
        // Typed placeholders: an int4, an int8 and a numeric literal key differently.
        let big = try #require(NormalizedStatement.make("SELECT * FROM t WHERE id = 5000000000"))
        let dec = try #require(NormalizedStatement.make("SELECT * FROM t WHERE id = 5.0"))
        #expect(Set([a.key, big.key, dec.key]).count == 3)
        // Literals PostgreSQL folds stay in the key.
        for sql in ["SELECT 1/2", "SELECT * FROM t ORDER BY 2", "SELECT * FROM t LIMIT 10", "SELECT * FROM t WHERE id = 5 + 1",
                    "SELECT * FROM t WHERE 1 = 1", "SELECT * FROM t WHERE id = -5", "SELECT round(x, 2) FROM t"] {
            #expect(NormalizedStatement.make(sql)?.literals.isEmpty == true, "\(sql)")
        }
        #expect(NormalizedStatement.make("SELECT 1/2")?.key != NormalizedStatement.make("SELECT 1.0/2")?.key)
        let list = try #require(NormalizedStatement.make("SELECT * FROM t WHERE id IN (1, 2, 3) AND s.x >= 2.5"))
        #expect(list.literals.map(\.text) == ["1", "2", "3", "2.5"])
        // Never cached: row locks, AS OF, WITH, parameters, several statements, DDL, DML with a query inside.
        for sql in ["SELECT * FROM t WHERE id = 1 FOR UPDATE", "SELECT * FROM t AS OF @seq:3 WHERE id = 1",
                    "WITH a AS (SELECT 1) SELECT * FROM a", "SELECT * FROM t WHERE id = $1", "SELECT 1; SELECT 2",
                    "CREATE TABLE t (x int)", "SELECT nextval('s')", "INSERT INTO t SELECT x + 1 FROM s GROUP BY x + 1",
                    "UPDATE t SET x = (SELECT 1) WHERE id = 2", "DELETE FROM t WHERE id IN (SELECT id FROM s)"] {
            #expect(NormalizedStatement.make(sql) == nil, "\(sql)")
        }
    }

    @Test func dmlNormalization() throws {
        // pgbench's TPC-B statements: one key for every literal.
        let a = try #require(NormalizedStatement.make("UPDATE pgbench_accounts SET abalance = abalance + -4321 WHERE aid = 77;"))
        let b = try #require(NormalizedStatement.make("UPDATE pgbench_accounts SET abalance = abalance + -12 WHERE aid = 5"))
        #expect(!a.isSelect && a.key == b.key)
        #expect(a.parameterized == "UPDATE pgbench_accounts SET abalance = abalance + -$1 WHERE aid = $2;")
        #expect(a.literals.map(\.text) == ["4321", "77"])
        let i = try #require(NormalizedStatement.make("INSERT INTO h (tid, bid, delta, mtime) VALUES (1, 2, -300, CURRENT_TIMESTAMP), (3, 4.5, 6, now())"))
        #expect(i.literals.map(\.text) == ["1", "2", "300", "3", "4.5", "6"])
        #expect(i.parameterized == "INSERT INTO h (tid, bid, delta, mtime) VALUES ($1, $2, -$3, CURRENT_TIMESTAMP), ($4, $5, $6, now())")
        // Error positions map back to the client's text.
        #expect(i.originalOffset(0) == 0)
        #expect(i.originalOffset(i.parameterized.utf8.count - 1) == "INSERT INTO h (tid, bid, delta, mtime) VALUES (1, 2, -300, CURRENT_TIMESTAMP), (3, 4.5, 6, now())".utf8.count - 1)
        #expect(i.originalOffset(48) == 47)  // `$1` stands where `1` stood
        // Negation that changes a literal's type in PostgreSQL (-2147483648 is an int4) keeps it.
        let edge = try #require(NormalizedStatement.make("UPDATE t SET n = n + -2147483648, m = m - 2147483648 WHERE id = 1"))
        #expect(edge.literals.map(\.text) == ["2147483648", "1"])
        // Folded arithmetic between literals, and SELECT's arithmetic, stay in the key.
        for sql in ["UPDATE t SET n = 1 + 2 WHERE id = 3", "UPDATE t SET n = n * 2 WHERE id = 3", "UPDATE t SET n = n + 1 * 2 WHERE id = 3"] {
            #expect(NormalizedStatement.make(sql)?.literals.map(\.text) == ["3"], "\(sql)")
        }
        #expect(NormalizedStatement.make("SELECT n + 1 FROM t")?.literals.isEmpty == true)
    }

    @Test func repeatedWritesHitAndStayCorrect() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE acc (id int PRIMARY KEY, bal int NOT NULL, small int2, note text DEFAULT 'n', CHECK (bal > -1000))")
        for i in 1...20 {
            _ = try s.execute("INSERT INTO acc (id, bal) VALUES (\(i), \(i * 10))")
        }
        for i in 1...20 {
            _ = try s.execute("UPDATE acc SET bal = bal + -\(i) WHERE id = \(i);")
        }
        _ = try s.execute("DELETE FROM acc WHERE id = 20")
        #expect(s.planCache.hits >= 36)
        #expect(try s.rows("SELECT sum(bal), count(*), min(note) FROM acc") == [["1710", "19", "n"]])
        // Errors are the statement's own: constraint, overflow, a missing column at its position.
        #expect(sqlError { _ = try s.execute("INSERT INTO acc (id, bal) VALUES (1, 5)") }?.code == .uniqueViolation)
        #expect(sqlError { _ = try s.execute("UPDATE acc SET bal = bal - 2000 WHERE id = 2") }?.code == .checkViolation)
        #expect(sqlError { _ = try s.execute("UPDATE acc SET small = 40000 WHERE id = 2") }?.code == .numericValueOutOfRange)
        #expect(sqlError { _ = try s.execute("UPDATE acc SET bal = bal + 1 WHERE nope = 2") }?.code == .undefinedColumn)
        let bad = sqlError { _ = try s.execute("UPDATE acc SET bal = bal + 123456 WHERE nope = 2") }
        #expect(bad?.position == 41)
        // Types as the literals have them: an int8 literal into an int4 column is out of range.
        #expect(sqlError { _ = try s.execute("UPDATE acc SET bal = 5000000000 WHERE id = 3") }?.code == .numericValueOutOfRange)
        _ = try s.execute("UPDATE acc SET bal = bal + -2147483648 WHERE id = 99")
        #expect(try s.rows("SELECT bal FROM acc WHERE id = 3") == [["27"]])
    }

    @Test func repeatedQueriesHitAndStayCorrect() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id bigint PRIMARY KEY, g int, v text); INSERT INTO t SELECT x, x % 10, 'v' || x FROM generate_series(1, 100) x")
        for i in 1...20 {
            #expect(try s.rows("SELECT v FROM t WHERE id = \(i)") == [["v\(i)"]])
        }
        #expect(s.planCache.hits >= 19)
        #expect(try s.rows("SELECT count(*) FROM t WHERE g IN (1, 2)") == [["20"]])
        #expect(try s.rows("SELECT count(*) FROM t WHERE g IN (3, 4)") == [["20"]])
        #expect(try s.rows("SELECT 1/2, 1.0/2") == [["0", "0.50000000000000000000"]])
        #expect(try s.rows("SELECT CASE WHEN 1 = 1 THEN 1 ELSE 1/0 END FROM t WHERE id = 1") == [["1"]])
        #expect(try s.rows("SELECT id, v FROM t WHERE id <= 3 ORDER BY 2 DESC LIMIT 1") == [["3", "v3"]])
        // Runtime errors are the statement's own, every time.
        #expect(sqlError { _ = try s.execute("SELECT 10 / (g - 1) FROM t WHERE id = 1") }?.code == .divisionByZero)
        #expect(sqlError { _ = try s.execute("SELECT 10 / (g - 1) FROM t WHERE id = 11") }?.code == .divisionByZero)
        #expect(try s.rows("SELECT 10 / (g - 1) FROM t WHERE id = 3") == [["5"]])
        // Bind errors come from the ordinary path, position included.
        let bad = sqlError { _ = try s.execute("SELECT nope FROM t WHERE id = 1") }
        #expect(bad?.code == .undefinedColumn)
        #expect(bad?.position == 8)
    }

    @Test func repeatedUpdatesReuseTheirPlanAndStayCorrect() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE p (id int PRIMARY KEY, n int NOT NULL, CHECK (n < 1000))")
        _ = try s.execute("CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p ON UPDATE CASCADE ON DELETE SET NULL)")
        _ = try s.execute("INSERT INTO p SELECT g, 0 FROM generate_series(1, 20) g")
        _ = try s.execute("INSERT INTO c SELECT g, g FROM generate_series(1, 20) g")
        let before = s.planCache.hits
        for i in 1...20 { _ = try s.execute("UPDATE p SET n = n + \(i) WHERE id = \(i)") }
        #expect(s.planCache.hits - before >= 19)
        #expect(try s.rows("SELECT sum(n) FROM p") == [["210"]])
        // RETURNING, a CHECK, no row found.
        #expect(try s.rows("UPDATE p SET n = n + 1 WHERE id = 3 RETURNING n") == [["4"]])
        #expect(try s.rows("UPDATE p SET n = n + 1 WHERE id = 4 RETURNING n") == [["5"]])
        #expect(sqlError { _ = try s.execute("UPDATE p SET n = n + 2000 WHERE id = 5") }?.code == .checkViolation)
        #expect(try s.execute("UPDATE p SET n = n + 1 WHERE id = 99").last?.tag == "UPDATE 0")
        // A schema change: the plan is bound again.
        _ = try s.execute("ALTER TABLE p ADD COLUMN note text DEFAULT 'x'")
        _ = try s.execute("UPDATE p SET n = n + 1 WHERE id = 6")
        _ = try s.execute("UPDATE p SET n = n + 1 WHERE id = 7")
        #expect(try s.rows("SELECT n, note FROM p WHERE id IN (6, 7) ORDER BY id") == [["7", "x"], ["8", "x"]])
        // Cascades run statements of their own: repeated UPDATEs and DELETEs of parents keep
        // their children right.
        for i in 8...10 { _ = try s.execute("UPDATE p SET id = id + 100 WHERE id = \(i)") }
        #expect(try s.rows("SELECT pid FROM c WHERE id IN (8, 9, 10) ORDER BY id") == [["108"], ["109"], ["110"]])
        for i in 11...13 { _ = try s.execute("DELETE FROM p WHERE id = \(i)") }
        #expect(try s.rows("SELECT count(*) FROM c WHERE pid IS NULL") == [["3"]])
        for i in 14...16 { _ = try s.execute("UPDATE c SET pid = NULL WHERE id = \(i)") }
        #expect(try s.rows("SELECT count(*) FROM c WHERE pid IS NULL") == [["6"]])
    }

    @Test func textsParsedOnceAreBoundAndRunAnew() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE k (id int PRIMARY KEY)")
        _ = try s.execute("INSERT INTO k VALUES (1)")
        let first = try s.execute("BEGIN; SELECT * FROM k; COMMIT")
        _ = try s.execute("ALTER TABLE k ADD COLUMN v text DEFAULT 'x'")
        let again = try s.execute("BEGIN; SELECT * FROM k; COMMIT")
        #expect(first[1].columns?.count == 1 && again[1].columns?.count == 2)
        // Functions run each time; the past is read as of now each time.
        let a = try s.rows("SELECT clock_timestamp()")
        let b = try s.rows("SELECT clock_timestamp()")
        #expect(a != b)
        let seq = e.visibleSeq
        _ = try s.execute("INSERT INTO k VALUES (2)")
        #expect(try s.rows("SELECT count(*) FROM k AS OF @seq:\(seq)") == [["1"]])
        _ = try s.execute("SET drift.as_of = '@seq:\(seq)'")
        #expect(try s.rows("SELECT count(*) FROM k") == [["1"]])
        _ = try s.execute("RESET drift.as_of")
        #expect(try s.rows("SELECT count(*) FROM k") == [["2"]])
        #expect(Session.mayHoldTemporalClause("select * from t FOR system_time all"))
        #expect(Session.mayHoldTemporalClause("SELECT 1 AS\nOF"))
        #expect(!Session.mayHoldTemporalClause("SET drift.as_of = '@seq:3'; SELECT offset_x FROM t OFFSET 1"))
    }

    @Test func columnDefaultsBoundOnceFollowTheSchema() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE d (id serial PRIMARY KEY, v int DEFAULT 7, at timestamptz DEFAULT clock_timestamp())")
        for i in 1...3 { _ = try s.execute("INSERT INTO d (v) VALUES (\(i))") }
        _ = try s.execute("INSERT INTO d DEFAULT VALUES")
        #expect(try s.rows("SELECT id, v FROM d ORDER BY id") == [["1", "1"], ["2", "2"], ["3", "3"], ["4", "7"]])
        _ = try s.execute("ALTER TABLE d ALTER COLUMN v SET DEFAULT 9")
        _ = try s.execute("INSERT INTO d DEFAULT VALUES")
        // Another session's change, and a volatile default evaluated per row.
        let other = Session(engine: e)
        _ = try other.execute("ALTER TABLE d ALTER COLUMN v SET DEFAULT 11")
        _ = try s.execute("INSERT INTO d DEFAULT VALUES")
        #expect(try s.rows("SELECT id, v FROM d WHERE id >= 5 ORDER BY id") == [["5", "9"], ["6", "11"]])
        #expect(try s.rows("SELECT count(DISTINCT at) FROM d") == [["6"]])
        // The sequence replaced: the default names it by OID, bound again.
        _ = try s.execute("CREATE SEQUENCE d2_seq START 100")
        _ = try s.execute("ALTER TABLE d ALTER COLUMN id SET DEFAULT nextval('d2_seq'::regclass)")
        _ = try s.execute("INSERT INTO d (v) VALUES (0)")
        _ = try s.execute("DROP SEQUENCE d2_seq CASCADE; CREATE SEQUENCE d2_seq START 500")
        _ = try s.execute("ALTER TABLE d ALTER COLUMN id SET DEFAULT nextval('d2_seq'::regclass)")
        _ = try s.execute("INSERT INTO d (v) VALUES (0)")
        #expect(try s.rows("SELECT id FROM d WHERE v = 0 ORDER BY id") == [["100"], ["500"]])
        // A temporary table of the same name has defaults of its own.
        _ = try s.execute("CREATE TEMP TABLE d (id int DEFAULT 42, v int)")
        _ = try s.execute("INSERT INTO d (v) VALUES (1)")
        #expect(try s.rows("SELECT id FROM d") == [["42"]])
    }

    @Test func schemaSettingsAndStateInvalidate() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        #expect(try s.rows("SELECT * FROM t WHERE id = 1") == [["1", "a"]])
        _ = try s.execute("ALTER TABLE t ADD COLUMN w int DEFAULT 9")
        #expect(try s.rows("SELECT * FROM t WHERE id = 2") == [["2", "b", "9"]])
        // Another session's schema change.
        let other = Session(engine: e)
        _ = try other.execute("ALTER TABLE t DROP COLUMN v")
        #expect(try s.rows("SELECT * FROM t WHERE id = 1") == [["1", "9"]])
        // A temporary table of the same name hides it from then on.
        _ = try s.execute("CREATE TEMP TABLE t (id int, note text); INSERT INTO t VALUES (1, 'temp')")
        #expect(try s.rows("SELECT * FROM t WHERE id = 1") == [["1", "temp"]])
        _ = try s.execute("DISCARD TEMP")
        #expect(try s.rows("SELECT * FROM t WHERE id = 1") == [["1", "9"]])
        // search_path.
        _ = try s.execute("CREATE SCHEMA x; CREATE TABLE x.t (id int, y text); INSERT INTO x.t VALUES (1, 'in x')")
        _ = try s.execute("SET search_path = x, public")
        #expect(try s.rows("SELECT * FROM t WHERE id = 1") == [["1", "in x"]])
        _ = try s.execute("RESET search_path")
        // Sequences are read when bound: never cached.
        _ = try s.execute("CREATE SEQUENCE q")
        _ = try s.execute("SELECT nextval('q')")
        #expect(try s.rows("SELECT last_value FROM q WHERE is_called = true") == [["1"]])
        _ = try s.execute("SELECT nextval('q')")
        #expect(try s.rows("SELECT last_value FROM q WHERE is_called = true") == [["2"]])
        // Inside a block with its own schema change: bypassed, and right.
        _ = try s.execute("BEGIN; ALTER TABLE t ADD COLUMN z int DEFAULT 7")
        #expect(try s.rows("SELECT * FROM t WHERE id = 1") == [["1", "9", "7"]])
        _ = try s.execute("ROLLBACK")
        #expect(try s.rows("SELECT * FROM t WHERE id = 1") == [["1", "9"]])
        // Turned off, the same answers.
        _ = try s.execute("SET drift.plan_cache = off")
        #expect(try s.rows("SELECT * FROM t WHERE id = 2") == [["2", "9"]])
    }

    @Test func repeatableReadKeepsItsSchema() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        _ = try s.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        #expect(try s.rows("SELECT * FROM t WHERE id = 1") == [["1", "a"]])
        let other = Session(engine: e)
        _ = try other.execute("ALTER TABLE t ADD COLUMN w int DEFAULT 5")
        #expect(try s.rows("SELECT * FROM t WHERE id = 2") == [["2", "b"]])
        _ = try s.execute("COMMIT")
        #expect(try s.rows("SELECT * FROM t WHERE id = 2") == [["2", "b", "5"]])
    }
}
