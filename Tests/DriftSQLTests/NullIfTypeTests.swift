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
