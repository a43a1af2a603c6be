import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// NULLIF's result type, as PostgreSQL 15 gives it (found by the differential test).
@Suite struct NullIfTypeTests {
    @Test func firstOperandOfTheImpliedEquals() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        let r = try s.rows("""
            SELECT pg_typeof(NULLIF(1, 1.5)), pg_typeof(NULLIF(1, 2::int8)), pg_typeof(NULLIF(1.5::float4, 2::float8)),
                   pg_typeof(NULLIF(1, 2.5::float8)), pg_typeof(NULLIF(2::int8, 1.5)), pg_typeof(NULLIF('a'::varchar, 'b'::text)),
                   NULLIF(1, 1.0), NULLIF(3, 1.5), pg_typeof(NULLIF('x', 'y'))
            """)
        #expect(r == [["numeric", "integer", "real", "double precision", "numeric", "text", "NULL", "3", "text"]])
        let r2 = try s.rows(
            "SELECT pg_typeof(NULLIF(1, 2.5::float4)), pg_typeof(NULLIF(1.5::numeric, 2::float8)), pg_typeof(NULLIF(1.5::float4, 2)), "
            + "pg_typeof(NULLIF(1.5::float8, 2::float4)), pg_typeof(NULLIF(1.5::numeric, 2::int4)), pg_typeof(NULLIF(1.5::float4, 2.5)), "
            + "pg_typeof(NULLIF(2::int2, 2.5)), pg_typeof(NULLIF('a'::char(3), 'b'::text)), pg_typeof(NULLIF('a'::text, 'b'::varchar))")
        #expect(r2 == [["double precision", "double precision", "real", "double precision", "numeric", "real", "numeric", "text", "text"]])
    }
}

/// A LATERAL item reads its block's row before grouping (differential test, seeds 18 and 22).
@Suite struct LateralGroupingTests {
    @Test func lateralReadsAreNotGroupingReads() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t1 (k int, c int); INSERT INTO t1 VALUES (1, 2), (3, 4)")
        #expect(try s.rows("SELECT s.x, count(*) FROM t1 a1 JOIN LATERAL (SELECT a1.k AS x) s ON true GROUP BY s.x HAVING s.x IN (SELECT s.x FROM t1 a5) ORDER BY 1")
                == [["1", "1"], ["3", "1"]])
        // A select-list subquery reading an ungrouped column is still refused.
        #expect(sqlError { _ = try s.execute("SELECT (SELECT a1.c) FROM t1 a1 GROUP BY a1.k") }?.code == .groupingError)
    }
}
