import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// ANALYZE gathers statistics the planner's estimates then follow (EXPLAIN's rows=).
@Suite struct AnalyzeTests {
    func estimate(_ s: Session, _ sql: String) throws -> Int {
        let plan = try s.rows("EXPLAIN " + sql).map { $0[0] }
        guard let line = plan.first, let r = line.range(of: "rows="),
              let n = Int(line[r.upperBound...].prefix { $0.isNumber }) else {
            Issue.record("no estimate in \(plan)")
            return -1
        }
        return n
    }

    @Test func estimatesFollowTheData() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        // k: 90% of rows hold 1, the rest distinct; v: 0..9999 uniformly; n: half NULL.
        _ = try s.execute("""
            CREATE TABLE t (id int PRIMARY KEY, k int, v int, n text);
            INSERT INTO t SELECT g, CASE WHEN g % 10 = 0 THEN g ELSE 1 END, g - 1, CASE WHEN g % 2 = 0 THEN 'x' END
            FROM generate_series(1, 10000) g
            """)
        // Fixed guesses before ANALYZE.
        #expect(try estimate(s, "SELECT * FROM t WHERE k = 1") == 500)
        _ = try s.execute("ANALYZE t")
        let common = try estimate(s, "SELECT * FROM t WHERE k = 1")
        #expect(common > 8500 && common < 9500, "k = 1: \(common)")
        let rare = try estimate(s, "SELECT * FROM t WHERE k = 20")
        #expect(rare >= 1 && rare <= 5, "k = 20: \(rare)")
        let range = try estimate(s, "SELECT * FROM t WHERE v < 1000")
        #expect(range > 800 && range < 1200, "v < 1000: \(range)")
        let above = try estimate(s, "SELECT * FROM t WHERE 9000 <= v")
        #expect(above > 800 && above < 1200, "9000 <= v: \(above)")
        let nulls = try estimate(s, "SELECT * FROM t WHERE n IS NULL")
        #expect(nulls > 4500 && nulls < 5500, "n IS NULL: \(nulls)")
        let list = try estimate(s, "SELECT * FROM t WHERE k IN (1, 30)")
        #expect(list > 8500 && list < 9500, "k IN (1, 30): \(list)")
        // Joins: a key against a column with 10 distinct values.
        _ = try s.execute("CREATE TABLE d (g int, w int); INSERT INTO d SELECT x % 10, x FROM generate_series(1, 1000) x; ANALYZE")
        let join = try estimate(s, "SELECT * FROM d JOIN t ON t.id = d.g")
        #expect(join >= 500 && join <= 1500, "join: \(join)")
        let many = try estimate(s, "SELECT * FROM d a JOIN d b ON a.g = b.g")
        #expect(many > 80_000 && many < 120_000, "many to many: \(many)")
        #expect(sqlError { _ = try s.execute("ANALYZE nope") }?.code == .undefinedTable)
        // A column whose type changed has no statistics until the next ANALYZE.
        _ = try s.execute("ALTER TABLE t ALTER COLUMN k TYPE bigint")
        #expect(try estimate(s, "SELECT * FROM t WHERE k = 1") == 500)
    }

    @Test func distinctEstimates() {
        // Every value distinct in a sample of a larger table: distinct scales with the table.
        let unique = TableStatistics.column((0..<1000).map { .int(Int64($0)) }, totalRows: 100_000)
        #expect(unique.distinct == 100_000)
        // Few values, each seen many times: the sample saw them all.
        let few = TableStatistics.column((0..<1000).map { .int(Int64($0 % 7)) }, totalRows: 100_000)
        #expect(few.distinct == 7)
        #expect(few.mostCommon.count == 7)
        #expect(abs(few.equalSelectivity(.int(3)) - 1.0 / 7) < 0.01)
        let empty = TableStatistics.column([], totalRows: 0)
        #expect(empty.distinct == 0)
        let allNull = TableStatistics.column([.null, .null], totalRows: 2)
        #expect(allNull.nullFraction == 1)
        #expect(allNull.equalSelectivity(.int(1)) == 0)
    }
}
