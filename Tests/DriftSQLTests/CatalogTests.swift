import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// The catalog clients read (pg_catalog, information_schema, reg* types, the functions on
/// them) and the SQL it needs (subscripts, set functions in lockstep); every expected
/// answer checked on PostgreSQL 15 (tests/compat/test_catalog.py covers the clients).
@Suite struct CatalogTests {
    @Test func formatTypeAndSizes() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("""
            SELECT format_type(1043, 44), format_type(1700, 655366), format_type(1042, NULL), format_type(1184, 3),
                   format_type(1007, -1), format_type(25, NULL), format_type(NULL, 1)
            """) == [["character varying(40)", "numeric(10,2)", "character", "timestamp(3) with time zone", "integer[]", "text", "NULL"]])
        #expect(try s.rows("""
            SELECT pg_size_pretty(10239::bigint), pg_size_pretty(10240::bigint), pg_size_pretty(1048575::bigint),
                   pg_size_pretty(123456789::bigint), pg_size_pretty(-20000::bigint), pg_size_pretty(-10241::bigint),
                   pg_size_pretty(-9223372036854775807 - 1), format_type(0, NULL), format_type(1042, -1)
            """) == [["10239 bytes", "10 kB", "1024 kB", "118 MB", "-20 kB", "-10 kB", "-8192 PB", "-", "bpchar"]])
    }

    @Test func quotingAndNumericTypmods() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT quote_ident('position'), quote_ident('left'), quote_ident('name'), quote_ident('type')")
                == [["\"position\"", "\"left\"", "name", "type"]])
        _ = try s.execute("CREATE TABLE negs (a numeric(5,-2), \"position\" int)")
        #expect(try s.rows("SELECT atttypmod, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'negs'::regclass AND attnum = 1")
                == [["329730", "numeric(5,-2)"]])
    }

    @Test func subscriptsSlicesAndVectors() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT (array[10,20,30])[2], (array[10,20,30])[4], (array[10,20,30])[2:3], (array[10,20,30])[:2], (array[10,20,30])[2:]")
                == [["20", "NULL", "{20,30}", "{10,20}", "{20,30}"]])
        #expect(try s.rows("SELECT '1 2 3'::int2vector, ('1 2 3'::int2vector)[0], array_upper('1 2 3'::int2vector, 1)") == [["1 2 3", "1", "2"]])
        #expect(sqlError { _ = try s.execute("SELECT (1)[1]") }?.code == .datatypeMismatch)
        // Subscripts are int4: a bigint outside its range is 22003 (never wrapped or trapped on).
        #expect(sqlError { _ = try s.execute("SELECT (array[1,2])['-9223372036854775808'::int8]") }?.code == .numericValueOutOfRange)
        #expect(try s.rows("SELECT (array[1,2])[2::int8]") == [["2"]])
        #expect(try s.rows("SELECT (array[1,2])[-2147483648], (array[1,2])[-2147483648:2147483647]") == [["NULL", "{1,2}"]])
    }

    @Test func setFunctionsInASelectListRunInLockstep() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT unnest(array[1,2,3]), unnest(array['a','b'])") == [["1", "a"], ["2", "b"], ["3", "NULL"]])
        #expect(try s.rows("SELECT generate_subscripts(array[5,6], 1), unnest(array[5,6])") == [["1", "5"], ["2", "6"]])
    }

    @Test func expandArrayRecordsAndTheirFields() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT information_schema._pg_expandarray(array[10,20])") == [["(10,1)"], ["(20,2)"]])
        #expect(try s.rows("SELECT information_schema._pg_expandarray(array['a b',''])") == [["(\"a b\",1)"], ["(\"\",2)"]])
        #expect(try s.rows("SELECT (information_schema._pg_expandarray(array['a b','c'])).x, (information_schema._pg_expandarray(array['a b','c'])).n")
                == [["a b", "1"], ["c", "2"]])
        // The record through a derived table, its fields read outside (pgJDBC's getPrimaryKeys).
        #expect(try s.rows("SELECT (r.k).n FROM (SELECT information_schema._pg_expandarray(array[5,6,7]) AS k) r WHERE (r.k).x > 5")
                == [["2"], ["3"]])
        #expect(sqlError { _ = try s.execute("SELECT (information_schema._pg_expandarray(array[1])).nope") }?.code == .undefinedColumn)
    }

    @Test func regclassReadsAndPrintsNames() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE SCHEMA other; CREATE TABLE t (id serial PRIMARY KEY, v text UNIQUE); CREATE TABLE other.u (x int)")
        #expect(try s.rows("SELECT 't'::regclass, 'other.u'::regclass, 'pg_class'::regclass::oid, 't'::regclass::oid > 16384")
                == [["t", "other.u", "1259", "t"]])
        #expect(try s.rows("SELECT nextval('t_id_seq'::regclass), currval('t_id_seq'), pg_get_serial_sequence('t', 'id')")
                == [["1", "1", "public.t_id_seq"]])
        #expect(sqlError { _ = try s.execute("SELECT 'nosuch'::regclass") }?.code == .undefinedTable)
        #expect(try s.rows("SELECT to_regclass('nosuch'), to_regtype('integer')") == [["NULL", "integer"]])
        #expect(try s.rows("SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 't'::regclass ORDER BY 1")
                == [["t_pkey", "p", "PRIMARY KEY (id)"], ["t_v_key", "u", "UNIQUE (v)"]])
        // History pseudo-columns are in no catalog.
        #expect(try s.rows("SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0") == [["2"]])
    }

    @Test func resultColumnsNameTheirTableColumn() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (a int, gone int, b text); ALTER TABLE t DROP COLUMN gone")
        let oid = try s.rows("SELECT 't'::regclass::oid")
        let r = try s.executeOne("SELECT b, a, a + 1, x.b FROM t JOIN (SELECT b FROM t) x USING (b)")
        #expect(r.columns?.map { "\($0.tableOid):\($0.attnum)" } == ["\(oid[0][0]):3", "\(oid[0][0]):1", "0:0", "0:0"])
    }

    @Test func informationSchemaNeedsItsSchema() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (a int)")
        #expect(try s.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'") == [["t"]])
        #expect(sqlError { _ = try s.execute("SELECT * FROM tables") }?.code == .undefinedTable)
    }

    /// A catalog relation FOR SYSTEM_TIME: each row through each catalog version, with when.
    @Test func catalogRelationsReadForSystemTime() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (a int)")
        _ = try s.execute("ALTER TABLE t RENAME TO u")
        func q(_ span: String) -> String {
            "SELECT relname::text, drift_seq::text, drift_op, (system_time_end = 'infinity')::text FROM pg_class FOR SYSTEM_TIME \(span) "
                + "WHERE relname IN ('t', 'u') ORDER BY drift_seq"
        }
        #expect(try s.rows(q("ALL")) == [["t", "1", "insert", "false"], ["u", "2", "update", "true"]])
        #expect(try s.rows(q("BETWEEN @seq:2 AND @seq:2")) == [["u", "2", "update", "true"]])
        // The history columns are not part of `*`.
        #expect(try s.execute("SELECT * FROM pg_roles FOR SYSTEM_TIME ALL").last?.columns?.contains { $0.name == "drift_seq" } == false)
        // Its rows count against the statement's memory bound, as every operator's do.
        _ = try s.execute("SET drift.statement_memory = 0")
        let e53200 = sqlError { _ = try s.execute("SELECT count(*) FROM pg_class FOR SYSTEM_TIME ALL") }
        #expect(e53200?.code == SQLState("53200") && e53200?.detail?.contains("history of pg_catalog.pg_class") == true)
        _ = try s.execute("RESET drift.statement_memory")
        #expect(try s.rows(q("ALL")).count == 2)
    }
}
