import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// EXPLAIN of INSERT, UPDATE and DELETE shows the plan that finds their rows and changes nothing.
@Suite struct ExplainDMLTests {
    @Test func plansWithoutRunning() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        let seq = e.visibleSeq
        let update = try s.rows("EXPLAIN UPDATE t SET v = 'x' WHERE id = 1").map { $0[0] }
        #expect(update.first == "Update on t")
        #expect(update.count >= 2 && update[1].contains("Index Scan using t_pkey on t"))
        let delete = try s.rows("EXPLAIN DELETE FROM t WHERE v = 'a'").map { $0[0] }
        #expect(delete.first == "Delete on t")
        #expect(delete.count >= 2 && delete[1].contains("Seq Scan on t"))
        let insert = try s.rows("EXPLAIN INSERT INTO t SELECT id + 10, v FROM t").map { $0[0] }
        #expect(insert.first == "Insert on t")
        #expect(insert.contains { $0.contains("Seq Scan on t") })
        #expect(try s.rows("EXPLAIN INSERT INTO t VALUES (5, 'e'), (6, 'f')").map { $0[0] }.first == "Insert on t")
        // Nothing ran.
        #expect(e.visibleSeq == seq)
        #expect(try s.rows("SELECT id, v FROM t ORDER BY id") == [["1", "a"], ["2", "b"]])
        #expect(sqlError { _ = try s.execute("EXPLAIN ANALYZE DELETE FROM t") }?.code == .featureNotSupported)
        #expect(sqlError { _ = try s.execute("EXPLAIN UPDATE nope SET v = 1") }?.code == .undefinedTable)
    }
}
