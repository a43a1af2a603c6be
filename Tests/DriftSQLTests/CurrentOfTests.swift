import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// UPDATE / DELETE ... WHERE CURRENT OF, with PostgreSQL 15's answers and errors.
@Suite struct CurrentOfTests {
    @Test func updatesAndDeletesTheCursorsRow() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE co (id int PRIMARY KEY, v text); INSERT INTO co VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        _ = try s.execute("BEGIN; DECLARE c CURSOR FOR SELECT * FROM co WHERE id > 1 ORDER BY id")
        #expect(sqlError { _ = try s.execute("UPDATE co SET v = 'x' WHERE CURRENT OF c") }?.message == "cursor \"c\" is not positioned on a row")
        _ = try s.execute("ROLLBACK; BEGIN; DECLARE c CURSOR FOR SELECT * FROM co WHERE id > 1 ORDER BY id")
        #expect(try s.rows("FETCH 1 FROM c") == [["2", "b"]])
        #expect(try s.rows("UPDATE co SET v = 'x' WHERE CURRENT OF c RETURNING *") == [["2", "x"]])
        #expect(try s.rows("DELETE FROM co WHERE CURRENT OF c RETURNING *") == [["2", "x"]])
        #expect(try s.execute("DELETE FROM co WHERE CURRENT OF c").last?.tag == "DELETE 0")
        #expect(try s.rows("FETCH 1 FROM c") == [["3", "c"]])
        #expect(try s.rows("UPDATE co AS o SET v = o.v || '!' WHERE CURRENT OF c RETURNING v") == [["c!"]])
        _ = try s.execute("FETCH ALL FROM c")
        let past = sqlError { _ = try s.execute("DELETE FROM co WHERE CURRENT OF c") }
        #expect(past?.code == SQLState("24000"))
        #expect(past?.message == "cursor \"c\" is not positioned on a row")
        _ = try s.execute("ROLLBACK; BEGIN; DECLARE c CURSOR FOR SELECT v FROM co ORDER BY id; MOVE 2 IN c; UPDATE co SET v = 'two' WHERE CURRENT OF c; COMMIT")
        #expect(try s.rows("SELECT id, v FROM co ORDER BY id") == [["1", "a"], ["2", "two"], ["3", "c"]])
    }

    @Test func tableWithoutAKey() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE h (v text); INSERT INTO h VALUES ('a'), ('a'), ('b')")
        _ = try s.execute("BEGIN; DECLARE c CURSOR FOR SELECT v FROM h; FETCH 2 FROM c")
        #expect(try s.execute("DELETE FROM h WHERE CURRENT OF c").last?.tag == "DELETE 1")
        _ = try s.execute("COMMIT")
        #expect(try s.rows("SELECT v FROM h ORDER BY v") == [["a"], ["b"]])
    }

    @Test func errors() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE co (id int PRIMARY KEY, v text); CREATE TABLE other (x int); INSERT INTO co VALUES (1, 'a')")
        _ = try s.execute("BEGIN")
        let missing = sqlError { _ = try s.execute("UPDATE co SET v = 'x' WHERE CURRENT OF nope") }
        #expect(missing?.code == SQLState("34000"))
        #expect(missing?.message == "cursor \"nope\" does not exist")
        _ = try s.execute("ROLLBACK; BEGIN; DECLARE c CURSOR FOR SELECT * FROM co; FETCH 1 FROM c")
        let otherTable = sqlError { _ = try s.execute("UPDATE other SET x = 1 WHERE CURRENT OF c") }
        #expect(otherTable?.code == SQLState("24000"))
        #expect(otherTable?.message == "cursor \"c\" is not a simply updatable scan of table \"other\"")
        _ = try s.execute("ROLLBACK; BEGIN; DECLARE c CURSOR FOR SELECT count(*) FROM co; FETCH 1 FROM c")
        #expect(sqlError { _ = try s.execute("UPDATE co SET v = 'x' WHERE CURRENT OF c") }?.message
                == "cursor \"c\" is not a simply updatable scan of table \"co\"")
        _ = try s.execute("ROLLBACK")
    }
}
