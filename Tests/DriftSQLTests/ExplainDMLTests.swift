import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// EXPLAIN of INSERT, UPDATE and DELETE shows the plan that finds their rows and changes nothing.
@Suite struct ExplainDMLTests {
    /// EXPLAIN ANALYZE frees its plan: the counting wrappers it keeps per node (which hold the
    /// nodes, which hold the statement's context) must not outlive the statement. Other tests
    /// run alongside, so the bound is loose; a leak holds one context per run at least.
    @Test func explainAnalyzeFreesItsPlan() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 300) g")
        let before = ExecContext.live.load(ordering: .relaxed)
        for i in 0..<100 {
            _ = try s.execute("EXPLAIN ANALYZE SELECT * FROM t WHERE id BETWEEN 10 AND 60")
            _ = try s.execute("EXPLAIN ANALYZE SELECT v, count(*) FROM t GROUP BY v ORDER BY 2 LIMIT 3")
            _ = try s.execute("EXPLAIN ANALYZE UPDATE t SET v = v || 'x' WHERE id = \(i + 1)")
            _ = try s.execute("EXPLAIN ANALYZE INSERT INTO t SELECT id + 1000 * \(i + 1), v FROM t WHERE id <= 2")
        }
        #expect(ExecContext.live.load(ordering: .relaxed) - before < 100)
    }

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
        #expect(sqlError { _ = try s.execute("EXPLAIN UPDATE nope SET v = 1") }?.code == .undefinedTable)
    }

    /// EXPLAIN ANALYZE of a write runs it, as PostgreSQL does, and shows each node's rows.
    @Test func analyzeRunsTheStatementAndCountsRows() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 50) g")
        let update = try s.rows("EXPLAIN ANALYZE UPDATE t SET v = 'x' WHERE id <= 10").map { $0[0] }
        #expect(update.first?.hasPrefix("Update on t  (actual time=") == true, "\(update)")
        #expect(update.contains { $0.contains("Index Scan using t_pkey on t") && $0.contains("rows=10 loops=1") }, "\(update)")
        #expect(update.last?.hasPrefix("Execution Time: ") == true)
        #expect(try s.rows("SELECT count(*) FROM t WHERE v = 'x'") == [["10"]])
        let delete = try s.rows("EXPLAIN ANALYZE DELETE FROM t WHERE v = 'x'").map { $0[0] }
        #expect(delete.contains { $0.contains("Seq Scan on t") && $0.contains("rows=10 loops=1") }, "\(delete)")
        #expect(try s.rows("SELECT count(*) FROM t") == [["40"]])
        let insert = try s.rows("EXPLAIN ANALYZE INSERT INTO t SELECT id + 100, v FROM t").map { $0[0] }
        #expect(insert.contains { $0.contains("Seq Scan on t") && $0.contains("rows=40 loops=1") }, "\(insert)")
        let values = try s.rows("EXPLAIN ANALYZE INSERT INTO t VALUES (1000, 'a'), (1001, 'b')").map { $0[0] }
        #expect(values.first?.hasPrefix("Insert on t  (actual time=") == true && !values.contains { $0.contains("never executed") }, "\(values)")
        #expect(try s.rows("SELECT count(*) FROM t") == [["82"]])
        // Rolled back with its transaction like any write; errors are the statement's own.
        _ = try s.execute("BEGIN; EXPLAIN ANALYZE DELETE FROM t; ROLLBACK")
        #expect(try s.rows("SELECT count(*) FROM t") == [["82"]])
        #expect(sqlError { _ = try s.execute("EXPLAIN ANALYZE INSERT INTO t VALUES (20, 'dup')") }?.code == .uniqueViolation)
        _ = try s.execute("BEGIN READ ONLY")
        #expect(sqlError { _ = try s.execute("EXPLAIN ANALYZE DELETE FROM t") }?.code == .readOnlySQLTransaction)
        _ = try s.execute("ROLLBACK")
    }
}
