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
        // Never cached: row locks, AS OF, WITH, parameters, several statements, non-SELECTs.
        for sql in ["SELECT * FROM t WHERE id = 1 FOR UPDATE", "SELECT * FROM t AS OF @seq:3 WHERE id = 1",
                    "WITH a AS (SELECT 1) SELECT * FROM a", "SELECT * FROM t WHERE id = $1", "SELECT 1; SELECT 2",
                    "UPDATE t SET x = 1 WHERE id = 2", "SELECT nextval('s')"] {
            #expect(NormalizedStatement.make(sql) == nil, "\(sql)")
        }
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
