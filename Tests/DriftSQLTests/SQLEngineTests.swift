import DriftStorage
import Testing
@testable import DriftCore
@testable import DriftSQL
import DriftTestSupport

/// The SQL engine through a session: answers and SQLSTATEs as PostgreSQL 15 gives them
/// (each expected value was checked against a PostgreSQL 15 server).
@Suite struct SQLEngineTests {
    func session(_ setup: String = "") throws -> (Session, Engine) {
        let (s, e, _) = try memorySession()
        if !setup.isEmpty { _ = try s.execute(setup) }
        return (s, e)
    }

    static let shop = """
        CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, city text);
        CREATE TABLE orders (id int PRIMARY KEY, customer int, amount numeric, placed date);
        INSERT INTO customers VALUES (1, 'Ada', 'London'), (2, 'Bo', 'Oslo'), (3, 'Cy', NULL);
        INSERT INTO orders VALUES (10, 1, 5.5, '2026-01-01'), (11, 1, 4.5, '2026-01-02'), (12, 2, 10, '2026-01-03'),
                                  (13, NULL, 1, '2026-01-04');
        """

    @Test func joinsOfEveryKind() throws {
        let (s, e) = try session(Self.shop)
        defer { e.close() }
        #expect(try s.rows("SELECT c.name, o.id FROM customers c JOIN orders o ON o.customer = c.id ORDER BY o.id")
                == [["Ada", "10"], ["Ada", "11"], ["Bo", "12"]])
        #expect(try s.rows("SELECT c.name, count(o.id) FROM customers c LEFT JOIN orders o ON o.customer = c.id GROUP BY c.name ORDER BY 1")
                == [["Ada", "2"], ["Bo", "1"], ["Cy", "0"]])
        #expect(try s.rows("SELECT c.name, o.id FROM customers c RIGHT JOIN orders o ON o.customer = c.id ORDER BY o.id")
                == [["Ada", "10"], ["Ada", "11"], ["Bo", "12"], ["NULL", "13"]])
        #expect(try s.rows("SELECT c.id, o.id FROM customers c FULL JOIN orders o ON o.customer = c.id ORDER BY c.id, o.id")
                == [["1", "10"], ["1", "11"], ["2", "12"], ["3", "NULL"], ["NULL", "13"]])
        #expect(try s.rows("SELECT count(*) FROM customers CROSS JOIN orders") == [["12"]])
        #expect(try s.rows("SELECT id, name FROM customers JOIN (SELECT customer AS id, sum(amount) AS total FROM orders GROUP BY 1) t USING (id) ORDER BY id")
                == [["1", "Ada"], ["2", "Bo"]])
        #expect(try s.rows("SELECT a.id, b.id FROM customers a JOIN customers b ON a.id < b.id ORDER BY 1, 2")
                == [["1", "2"], ["1", "3"], ["2", "3"]])
        #expect(try s.rows("SELECT c.name, x.m FROM customers c, LATERAL (SELECT max(id) AS m FROM orders WHERE customer = c.id) x ORDER BY 1")
                == [["Ada", "11"], ["Bo", "12"], ["Cy", "NULL"]])
    }

    @Test func subqueriesWithPostgreSQLsNullRules() throws {
        let (s, e) = try session(Self.shop)
        defer { e.close() }
        #expect(try s.rows("SELECT name FROM customers WHERE id IN (SELECT customer FROM orders) ORDER BY 1") == [["Ada"], ["Bo"]])
        // NOT IN over a set holding NULL is never true.
        #expect(try s.rows("SELECT name FROM customers WHERE id NOT IN (SELECT customer FROM orders)") == [])
        #expect(try s.rows("SELECT name FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id)") == [["Cy"]])
        #expect(try s.rows("SELECT name, (SELECT count(*) FROM orders o WHERE o.customer = c.id) FROM customers c ORDER BY 1")
                == [["Ada", "2"], ["Bo", "1"], ["Cy", "0"]])
        #expect(try s.rows("SELECT 5 > ALL (SELECT id FROM customers), 2 = ANY (SELECT id FROM customers)") == [["t", "t"]])
        #expect(sqlError { _ = try s.execute("SELECT (SELECT id FROM customers)") }?.code == SQLState("21000"))
        #expect(try s.rows("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT sum(i) FROM n") == [["15"]])
    }

    @Test func aggregatesWindowsAndSetOperations() throws {
        let (s, e) = try session(Self.shop)
        defer { e.close() }
        #expect(try s.rows("SELECT count(*), count(customer), count(DISTINCT customer), sum(id), min(placed) FROM orders")
                == [["4", "3", "2", "46", "2026-01-01"]])
        #expect(try s.rows("SELECT customer, count(*) FILTER (WHERE amount > 5) FROM orders GROUP BY customer HAVING count(*) > 1")
                == [["1", "1"]])
        #expect(try s.rows("SELECT string_agg(name, ',' ORDER BY name DESC) FROM customers") == [["Cy,Bo,Ada"]])
        #expect(try s.rows("SELECT id, row_number() OVER (ORDER BY id DESC), sum(id) OVER (ORDER BY id) FROM orders ORDER BY id")
                == [["10", "4", "10"], ["11", "3", "21"], ["12", "2", "33"], ["13", "1", "46"]])
        #expect(try s.rows("SELECT id, lag(id) OVER (PARTITION BY customer ORDER BY id) FROM orders WHERE customer = 1 ORDER BY id")
                == [["10", "NULL"], ["11", "10"]])
        #expect(try s.rows("SELECT city FROM customers UNION SELECT 'Paris' ORDER BY 1") == [["London"], ["Oslo"], ["Paris"], ["NULL"]])
        #expect(try s.rows("SELECT 1 UNION ALL SELECT 1 EXCEPT SELECT 2") == [["1"]])
        #expect(try s.rows("SELECT DISTINCT ON (customer) customer, id FROM orders ORDER BY customer, id DESC")
                == [["1", "11"], ["2", "12"], ["NULL", "13"]])
        #expect(sqlError { _ = try s.execute("SELECT name, count(*) FROM customers") }?.code == SQLState("42803"))
        // A grouped primary key makes the table's other columns usable (functional dependency).
        #expect(try s.rows("SELECT c.id, c.name, count(*) FROM customers c JOIN orders o ON o.customer = c.id GROUP BY c.id ORDER BY 1")
                == [["1", "Ada", "2"], ["2", "Bo", "1"]])
    }

    @Test func ddlAndConstraintsAsPostgreSQLChecksThem() throws {
        let (s, e) = try session("""
            CREATE TABLE t (id int PRIMARY KEY, email text UNIQUE, age int CHECK (age >= 0), note varchar(3) DEFAULT 'x');
            """)
        defer { e.close() }
        _ = try s.execute("INSERT INTO t (id, email, age) VALUES (1, 'a@x', 30)")
        #expect(try s.rows("SELECT note FROM t") == [["x"]])
        let dup = sqlError { _ = try s.execute("INSERT INTO t VALUES (1, 'b@x', 1)") }
        #expect(dup?.code == .uniqueViolation)
        #expect(dup?.detail == "Key (id)=(1) already exists.")
        let email = sqlError { _ = try s.execute("INSERT INTO t VALUES (2, 'a@x', 1)") }
        #expect(email?.code == .uniqueViolation)
        #expect(email?.message == "duplicate key value violates unique constraint \"t_email_key\"")
        let check = sqlError { _ = try s.execute("INSERT INTO t VALUES (3, 'c@x', -1)") }
        #expect(check?.code == .checkViolation)
        #expect(check?.message == "new row for relation \"t\" violates check constraint \"t_age_check\"")
        #expect(sqlError { _ = try s.execute("INSERT INTO t (email) VALUES ('d@x')") }?.code == .notNullViolation)
        #expect(sqlError { _ = try s.execute("INSERT INTO t VALUES (4, 'e@x', 1, 'long')") }?.code == .stringDataRightTruncation)
        #expect(sqlError { _ = try s.execute("INSERT INTO t VALUES ('x', 'e@x', 1)") }?.code == .invalidTextRepresentation)
        #expect(sqlError { _ = try s.execute("CREATE TABLE t (a int)") }?.code == .duplicateTable)
        #expect(sqlError { _ = try s.execute("CREATE TABLE u (a int, a int)") }?.code == .duplicateColumn)
        #expect(sqlError { _ = try s.execute("CREATE TABLE u (a int PRIMARY KEY, b int PRIMARY KEY)") }?.code == SQLState("42P16"))
        // A unique value freed in the same transaction can be taken again.
        _ = try s.execute("BEGIN; DELETE FROM t WHERE id = 1; INSERT INTO t VALUES (5, 'a@x', 2); COMMIT")
        #expect(try s.rows("SELECT id FROM t") == [["5"]])
        _ = try s.execute("CREATE UNIQUE INDEX t_age ON t (age)")
        #expect(sqlError { _ = try s.execute("INSERT INTO t VALUES (6, 'f@x', 2)") }?.code == .uniqueViolation)
        _ = try s.execute("DROP INDEX t_age")
        _ = try s.execute("INSERT INTO t VALUES (6, 'f@x', 2)")
        _ = try s.execute("CREATE TABLE plain (a int, b text)")
        _ = try s.execute("INSERT INTO plain VALUES (1, 'x'), (1, 'x')")
        #expect(try s.rows("SELECT count(*) FROM plain") == [["2"]])
        #expect(try s.rows("UPDATE plain SET b = 'y' RETURNING a, b") == [["1", "y"], ["1", "y"]])
        #expect(try s.rows("DELETE FROM plain WHERE a = 1 RETURNING b") == [["y"], ["y"]])
        _ = try s.execute("DROP TABLE plain")
        #expect(sqlError { _ = try s.execute("SELECT * FROM plain") }?.code == .undefinedTable)
        #expect(sqlError { _ = try s.execute("DROP TABLE plain") }?.code == .undefinedTable)
        #expect(try s.execute("DROP TABLE IF EXISTS plain")[0].notices == ["NOTICE: table \"plain\" does not exist, skipping"])
    }

    @Test func upsertAndReturning() throws {
        let (s, e) = try session("CREATE TABLE kv (k text PRIMARY KEY, v int)")
        defer { e.close() }
        #expect(try s.rows("INSERT INTO kv VALUES ('a', 1) RETURNING k, v * 10") == [["a", "10"]])
        #expect(try s.rows("INSERT INTO kv VALUES ('a', 2) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v RETURNING v") == [["3"]])
        #expect(try s.execute("INSERT INTO kv VALUES ('a', 9) ON CONFLICT DO NOTHING")[0].tag == "INSERT 0 0")
        #expect(try s.rows("SELECT v FROM kv") == [["3"]])
        #expect(sqlError { _ = try s.execute("INSERT INTO kv VALUES ('b', 1), ('b', 2) ON CONFLICT (k) DO UPDATE SET v = 0") }?.code == SQLState("21000"))
        #expect(sqlError { _ = try s.execute("INSERT INTO kv VALUES ('c', 1) ON CONFLICT (v) DO NOTHING") }?.code == .invalidColumnReference)
        #expect(try s.rows("UPDATE kv SET v = v + 1 WHERE k = 'a' RETURNING v") == [["4"]])
    }

    @Test func viewsReadAsOfTheirPoint() throws {
        let (s, e) = try session(Self.shop)
        defer { e.close() }
        _ = try s.execute("CREATE VIEW big AS SELECT id, amount FROM orders WHERE amount > 5")
        let before = e.visibleSeq
        _ = try s.execute("INSERT INTO orders VALUES (14, 2, 50, '2026-01-05')")
        #expect(try s.rows("SELECT id FROM big ORDER BY id") == [["10"], ["12"], ["14"]])
        #expect(try s.rows("SELECT id FROM big AS OF @seq:\(before) ORDER BY id") == [["10"], ["12"]])
        #expect(sqlError { _ = try s.execute("DROP TABLE orders") }?.code == SQLState("2BP01"))
        _ = try s.execute("CREATE OR REPLACE VIEW big AS SELECT id, amount FROM orders WHERE amount > 20")
        #expect(try s.rows("SELECT id FROM big") == [["14"]])
        #expect(sqlError { _ = try s.execute("INSERT INTO big VALUES (1, 1)") }?.code == .featureNotSupported)
        _ = try s.execute("DROP TABLE orders CASCADE")
        #expect(sqlError { _ = try s.execute("SELECT * FROM big") }?.code == .undefinedTable)
    }

    /// A view's columns are the ones it was created with, as in PostgreSQL: its query is
    /// stored with each `*` spelled out, so columns its tables gain later are not the view's,
    /// and DROP COLUMN refuses a column a view read through `*`. (A view stored with a `*` —
    /// one made before, or one whose `*` could not be spelled out — leaves out columns gained
    /// after its own, and fails with 55000 rather than show one column's data, and its grants,
    /// under another's name.) CREATE OR REPLACE keeps the columns' names and types.
    @Test func viewsKeepTheColumnsTheyWereCreatedWith() throws {
        let (s, e) = try session("CREATE TABLE t (a int, b int); INSERT INTO t VALUES (1, 2)")
        defer { e.close() }
        _ = try s.execute("CREATE VIEW v AS SELECT * FROM t; CREATE VIEW v2 AS SELECT b AS first, * FROM t")
        _ = try s.execute("CREATE VIEW v3 AS SELECT *, a + 10 AS x FROM t; CREATE VIEW v4 (p, q) AS SELECT t.* FROM t")
        _ = try s.execute("CREATE VIEW v5 AS SELECT * FROM t JOIN t AS u USING (a, b)")
        #expect(try s.rows("SELECT definition FROM pg_views WHERE viewname = 'v'") == [["SELECT t.a, t.b FROM t"]])
        _ = try s.execute("ALTER TABLE t ADD COLUMN c int DEFAULT 3")
        #expect(try s.rows("SELECT * FROM v") == [["1", "2"]])
        #expect(try s.rows("SELECT * FROM v2") == [["2", "1", "2"]])
        #expect(try s.rows("SELECT * FROM v3") == [["1", "2", "11"]])
        #expect(try s.rows("SELECT * FROM v4") == [["1", "2"]])
        #expect(try s.rows("SELECT * FROM v5") == [["1", "2"]])
        #expect(sqlError { _ = try s.execute("ALTER TABLE t DROP COLUMN a") }?.code == SQLState("2BP01"))
        _ = try s.execute("ALTER TABLE t DROP COLUMN c")
        _ = try s.execute("ALTER TABLE t ADD COLUMN c int DEFAULT 4")
        _ = try s.execute("CREATE OR REPLACE VIEW v3 AS SELECT a, b, a + 10 AS x, c FROM t")
        #expect(try s.rows("SELECT * FROM v3") == [["1", "2", "11", "4"]])
        #expect(sqlError { _ = try s.execute("CREATE OR REPLACE VIEW v AS SELECT b, a FROM t") }?.code == SQLState("42P16"))
        _ = try s.execute("CREATE OR REPLACE VIEW v AS SELECT *, 5 AS d FROM t")
        #expect(try s.rows("SELECT * FROM v") == [["1", "2", "4", "5"]])
        _ = try s.execute("ALTER TABLE t DROP COLUMN b CASCADE")
        for view in ["v", "v2", "v3", "v4", "v5"] {
            #expect(sqlError { _ = try s.execute("SELECT * FROM \(view)") }?.code == .undefinedTable, "\(view)")
        }
        #expect(try s.rows("SELECT * FROM t") == [["1", "4"]])
    }

    @Test func thenAndNowInOneQuery() throws {
        let (s, e) = try session("CREATE TABLE acct (id int PRIMARY KEY, bal int); INSERT INTO acct VALUES (1, 100), (2, 50)")
        defer { e.close() }
        let then = e.visibleSeq
        _ = try s.execute("UPDATE acct SET bal = bal - 30 WHERE id = 1")
        #expect(try s.rows("SELECT a.id, a.bal, b.bal FROM acct AS OF @seq:\(then) a JOIN acct b USING (id) ORDER BY id")
                == [["1", "100", "70"], ["2", "50", "50"]])
        // The recovery idiom: rows that existed then and are gone now come back.
        _ = try s.execute("DELETE FROM acct WHERE id = 2")
        _ = try s.execute("INSERT INTO acct SELECT * FROM acct FOR SYSTEM_TIME AS OF @seq:\(then) WHERE id NOT IN (SELECT id FROM acct)")
        #expect(try s.rows("SELECT id, bal FROM acct ORDER BY id") == [["1", "70"], ["2", "50"]])
        #expect(sqlError { _ = try s.execute("UPDATE acct AS OF @seq:\(then) SET bal = 0") }?.code != nil)
    }

    @Test func errorsCarryPostgreSQLsCodesAndPositions() throws {
        let (s, e) = try session(Self.shop)
        defer { e.close() }
        let cases: [(String, SQLState)] = [
            ("SELEC 1", .syntaxError), ("SELECT * FROM nope", .undefinedTable), ("SELECT nope FROM customers", .undefinedColumn),
            ("SELECT id FROM customers, orders", .ambiguousColumn), ("SELECT 1 WHERE 1", .datatypeMismatch),
            ("SELECT 'a' + 1", .invalidTextRepresentation), ("SELECT name + 1 FROM customers", .undefinedFunction),
            ("SELECT nosuch(1)", .undefinedFunction), ("SELECT 1 / 0", .divisionByZero), ("SELECT 2147483647 + 1", .numericValueOutOfRange),
            ("SELECT 'x'::int", .invalidTextRepresentation), ("SELECT sum(sum(id)) FROM orders", SQLState("42803")),
            ("SELECT * FROM customers LIMIT -1", SQLState("2201W")),
        ]
        for (sql, code) in cases {
            #expect(sqlError { _ = try s.execute(sql) }?.code == code, "\(sql)")
        }
        #expect(sqlError { _ = try s.execute("SELECT nope FROM customers") }?.position == 8)
        #expect(sqlError { _ = try s.execute("SELECT 'é', nope FROM customers") }?.position == 13)
    }

    @Test func explainNamesTheAccessPath() throws {
        let (s, e) = try session(Self.shop + "CREATE INDEX orders_customer ON orders (customer);")
        defer { e.close() }
        let byKey = try s.rows("EXPLAIN SELECT * FROM customers WHERE id = 1").map { $0[0] }
        #expect(byKey.first?.hasPrefix("Index Scan using customers_pkey on customers") == true)
        let byIndex = try s.rows("EXPLAIN SELECT * FROM orders WHERE customer = 2").map { $0[0] }
        #expect(byIndex.first?.hasPrefix("Index Scan using orders_customer on orders") == true)
        let analyzed = try s.rows("EXPLAIN ANALYZE SELECT count(*) FROM customers c JOIN orders o ON o.customer = c.id").map { $0[0] }
        #expect(analyzed.contains { $0.contains("Hash Join") && $0.contains("actual time=") })
        #expect(analyzed.last?.hasPrefix("Execution Time:") == true)
    }
}

/// numeric, date/time and sequences (answers checked against PostgreSQL 15).
@Suite struct SQLTypesTests {
    @Test func numericIsExact() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT 0.1 + 0.2, 1::numeric / 3, 10 / 3.0, 2.5 * 2, round(2.5), round(-2.5), 123.456::numeric(5,2)")
                == [["0.3", "0.33333333333333333333", "3.3333333333333333", "5.0", "3", "-3", "123.46"]])
        #expect(try s.rows("SELECT sum(x), avg(x), sum(x::int8) FROM (VALUES (1), (2), (4)) v(x)") == [["7", "2.3333333333333333", "7"]])
        #expect(try s.rows("SELECT sqrt(2::numeric), power(2::numeric, 0.5), 0.1::float8::numeric") == [["1.414213562373095", "1.4142135623730950", "0.1"]])
        #expect(sqlError { _ = try s.execute("SELECT 99999.999::numeric(5,2)") }?.code == .numericValueOutOfRange)
        _ = try s.execute("CREATE TABLE m (a numeric(6,2)); INSERT INTO m VALUES (1.005), (2)")
        #expect(try s.rows("SELECT a FROM m ORDER BY a") == [["1.01"], ["2.00"]])
    }

    @Test func dateTimeArithmeticAndZones() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("SET TimeZone = 'Europe/Berlin'")
        #expect(try s.rows("SHOW TimeZone") == [["Europe/Berlin"]])
        #expect(try s.rows("SELECT timestamptz '2026-11-30 04:21 UTC', '2026-11-30 04:21'::timestamptz")
                == [["2026-11-30 05:21:00+01", "2026-11-30 04:21:00+01"]])
        #expect(try s.rows("SELECT date '2026-01-31' + interval '1 month', timestamp '2026-03-08 01:30' + interval '1 hour', interval '1 day 2 hours' * 2.5")
                == [["2026-02-28 00:00:00", "2026-03-08 02:30:00", "2 days 17:00:00"]])
        #expect(try s.rows("SELECT extract(epoch from timestamptz '2026-01-01 00:00+01'), date_trunc('month', timestamp '2026-11-30 12:34'), age(timestamp '2026-11-30', timestamp '2000-02-29')")
                == [["1767222000.000000", "2026-11-01 00:00:00", "26 years 9 mons 1 day"]])
        #expect(try s.rows("SELECT timestamptz '2026-03-29 01:30+01' + interval '1 hour'") == [["2026-03-29 03:30:00+02"]])
        #expect(try s.rows("SELECT to_char(timestamp '2026-11-30 04:21', 'YYYY-MM-DD HH24:MI'), make_interval(days => 3, hours => 1)")
                == [["2026-11-30 04:21", "3 days 01:00:00"]])
        #expect(sqlError { _ = try s.execute("SET TimeZone = 'Mars/Olympus'") }?.code == .invalidParameterValue)
        // AS OF takes a time in the session's zone.
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
        #expect(try s.rows("SELECT count(*) FROM t AS OF '2100-01-01 00:00'") == [["1"]])
        #expect(sqlError { _ = try s.execute("SELECT count(*) FROM t AS OF '2000-01-01 00:00'") }?.code == .undefinedTable)
    }

    @Test func sequencesSerialAndIdentity() throws {
        let (s, e, fs) = try memorySession()
        _ = try s.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")
        #expect(try s.rows("INSERT INTO items (name) VALUES ('a'), ('b') RETURNING id") == [["1"], ["2"]])
        #expect(try s.rows("SELECT currval('items_id_seq'), lastval()") == [["2", "2"]])
        // nextval is not transactional.
        _ = try s.execute("BEGIN; INSERT INTO items (name) VALUES ('c'); ROLLBACK")
        #expect(try s.rows("INSERT INTO items (name) VALUES ('d') RETURNING id") == [["4"]])
        #expect(sqlError { _ = try s.execute("CREATE SEQUENCE s START 10 INCREMENT -2") }?.code == .invalidParameterValue)
        _ = try s.execute("CREATE SEQUENCE s START 10 INCREMENT -2 MINVALUE -100 MAXVALUE 100")
        #expect(try s.rows("SELECT nextval('s'), nextval('s')") == [["10", "8"]])
        #expect(try s.rows("SELECT setval('s', 3), nextval('s')") == [["3", "1"]])
        #expect(sqlError { _ = try s.execute("SELECT currval('nope')") }?.code == .undefinedTable)
        _ = try s.execute("CREATE TABLE g (id int GENERATED ALWAYS AS IDENTITY, v text)")
        #expect(sqlError { _ = try s.execute("INSERT INTO g VALUES (5, 'y')") }?.code == SQLState("428C9"))
        _ = try s.execute("INSERT INTO g OVERRIDING SYSTEM VALUE VALUES (5, 'y')")
        #expect(try s.rows("INSERT INTO g (v) VALUES ('x') RETURNING id") == [["1"]])
        _ = try s.execute("CREATE SEQUENCE capped MAXVALUE 2")
        _ = try s.execute("SELECT nextval('capped'), nextval('capped')")
        #expect(sqlError { _ = try s.execute("SELECT nextval('capped')") }?.code == SQLState("2200H"))
        // Durable: after a clean restart numbering continues where it was.
        e.close()
        let e2 = try Engine.open(at: "/db", config: EngineConfig(), fs: fs, logger: TestLog.logger)
        defer { e2.close() }
        let s2 = Session(engine: e2)
        #expect(try s2.rows("INSERT INTO items (name) VALUES ('e') RETURNING id") == [["5"]])
        _ = try s2.execute("DROP TABLE items")
        #expect(sqlError { _ = try s2.execute("SELECT nextval('items_id_seq')") }?.code == .undefinedTable)
    }
}

/// ALTER TABLE and foreign keys, each answer and SQLSTATE as PostgreSQL 15 gives it.
@Suite struct SchemaChangeTests {
    @Test func alterTableChangesShapeAndKeepsHistory() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, 'yy'), (NULL, 'z')")
        let before = e.visibleSeq
        _ = try s.execute("ALTER TABLE t ADD COLUMN c int DEFAULT 7")
        _ = try s.execute("ALTER TABLE t ADD COLUMN d serial")
        #expect(try s.rows("SELECT a, b, c, d FROM t ORDER BY b") == [["1", "x", "7", "1"], ["2", "yy", "7", "2"], ["NULL", "z", "7", "3"]])
        #expect(sqlError { _ = try s.execute("ALTER TABLE t ADD COLUMN e int NOT NULL") }?.code == .notNullViolation)
        #expect(sqlError { _ = try s.execute("ALTER TABLE t ADD PRIMARY KEY (a)") }?.code == .notNullViolation)
        _ = try s.execute("DELETE FROM t WHERE a IS NULL; ALTER TABLE t ADD PRIMARY KEY (a)")
        #expect(sqlError { _ = try s.execute("INSERT INTO t (a, b) VALUES (1, 'dup')") }?.code == .uniqueViolation)
        _ = try s.execute("ALTER TABLE t RENAME COLUMN b TO bee")
        #expect(sqlError { _ = try s.execute("ALTER TABLE t ALTER COLUMN bee TYPE varchar(1)") }?.code == SQLState("22001"))
        #expect(sqlError { _ = try s.execute("ALTER TABLE t ALTER COLUMN bee TYPE int") }?.code == .datatypeMismatch)
        _ = try s.execute("ALTER TABLE t ALTER COLUMN bee TYPE int USING length(bee), ALTER COLUMN a TYPE bigint")
        #expect(try s.rows("SELECT a, bee FROM t ORDER BY a") == [["1", "1"], ["2", "2"]])
        #expect(sqlError { _ = try s.execute("ALTER TABLE t ADD CONSTRAINT pos CHECK (a > 1)") }?.code == .checkViolation)
        _ = try s.execute("ALTER TABLE t ADD CONSTRAINT pos CHECK (a > 0)")
        #expect(sqlError { _ = try s.execute("INSERT INTO t (a, bee) VALUES (-5, 9)") }?.code == .checkViolation)
        _ = try s.execute("ALTER TABLE t DROP CONSTRAINT pos, DROP COLUMN d")
        _ = try s.execute("ALTER TABLE t RENAME TO t2")
        #expect(try s.rows("SELECT * FROM t2 ORDER BY a") == [["1", "1", "7"], ["2", "2", "7"]])
        // The past reads with the shape it had.
        #expect(try s.rows("SELECT * FROM t AS OF @seq:\(before) ORDER BY b") == [["1", "x"], ["2", "yy"], ["NULL", "z"]])
        _ = try s.execute("ALTER TABLE t2 DROP CONSTRAINT t_pkey")
        _ = try s.execute("INSERT INTO t2 (a, bee) VALUES (1, 1)")
        #expect(sqlError { _ = try s.execute("ALTER TABLE t2 ADD UNIQUE (a)") }?.code == .uniqueViolation)
        #expect(sqlError { _ = try s.execute("ALTER TABLE t2 DROP COLUMN nope") }?.code == .undefinedColumn)
        #expect(sqlError { _ = try s.execute("ALTER TABLE nope ADD COLUMN x int") }?.code == .undefinedTable)
    }

    @Test func foreignKeysCheckAndAct() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("""
            CREATE TABLE p (id int PRIMARY KEY, name text UNIQUE);
            CREATE TABLE c (id serial PRIMARY KEY, pid int REFERENCES p, pname text REFERENCES p(name) ON UPDATE CASCADE ON DELETE SET NULL);
            CREATE TABLE d (id int PRIMARY KEY, cid int REFERENCES c ON DELETE CASCADE);
            INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c');
            INSERT INTO c (pid, pname) VALUES (1, 'a'), (2, 'b'), (NULL, 'c');
            INSERT INTO d VALUES (1, 1), (2, 3);
            """)
        let missing = sqlError { _ = try s.execute("INSERT INTO c (pid) VALUES (9)") }
        #expect(missing?.code == .foreignKeyViolation)
        #expect(missing?.detail == "Key (pid)=(9) is not present in table \"p\".")
        let referenced = sqlError { _ = try s.execute("DELETE FROM p WHERE id = 1") }
        #expect(referenced?.message == "update or delete on table \"p\" violates foreign key constraint \"c_pid_fkey\" on table \"c\"")
        _ = try s.execute("UPDATE p SET name = 'bb' WHERE id = 2")
        _ = try s.execute("DELETE FROM p WHERE id = 3")
        #expect(try s.rows("SELECT id, pid, pname FROM c ORDER BY id") == [["1", "1", "a"], ["2", "2", "bb"], ["3", "NULL", "NULL"]])
        _ = try s.execute("DELETE FROM c WHERE id = 3")
        #expect(try s.rows("SELECT * FROM d") == [["1", "1"]])
        // NO ACTION is checked when the statement ends: keys may move together.
        #expect(sqlError { _ = try s.execute("UPDATE p SET id = id + 10") }?.code == .foreignKeyViolation)
        _ = try s.execute("DELETE FROM c; UPDATE p SET id = id + 10")
        #expect(sqlError { _ = try s.execute("TRUNCATE p") }?.code == .featureNotSupported)
        #expect(sqlError { _ = try s.execute("DROP TABLE p") }?.code == SQLState("2BP01"))
        _ = try s.execute("CREATE TABLE self (id int PRIMARY KEY, parent int REFERENCES self ON DELETE CASCADE)")
        _ = try s.execute("INSERT INTO self VALUES (1, NULL), (2, 1), (3, 2); DELETE FROM self WHERE id = 1")
        #expect(try s.rows("SELECT count(*) FROM self") == [["0"]])
        #expect(sqlError { _ = try s.execute("CREATE TABLE m (a text REFERENCES self)") }?.code == .datatypeMismatch)
        #expect(sqlError { _ = try s.execute("CREATE TABLE m (a int REFERENCES p (name))") }?.code == .datatypeMismatch)
        #expect(sqlError { _ = try s.execute("CREATE TABLE m (a int REFERENCES c (pid))") }?.code == SQLState("42830"))
    }
}

/// Prepared statements (the API the wire protocol uses, and SQL's PREPARE/EXECUTE) and cursors.
@Suite struct PreparedAndCursorTests {
    @Test func parameterTypesAreInferredAndResultsDescribed() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE acct (id int PRIMARY KEY, bal numeric(10,2), name text); INSERT INTO acct VALUES (1, 10, 'a'), (2, 20, 'b')")
        let q = try s.prepare("SELECT id, bal, $2::text AS tag FROM acct WHERE id > $1 AND name <> $3", name: "q")
        #expect(q.parameterTypes == [.int4, .text, .text])
        #expect(q.columns?.map(\.name) == ["id", "bal", "tag"])
        #expect(q.columns?.map(\.type) == [.int4, .decimal(precision: 10, scale: 2), .text])
        let r = try s.execute(q, parameters: try s.parameterValues(q, text: ["1", "x", "a"]))
        #expect(r.rows.map { $0.map { s.text($0, .text) ?? "NULL" } } == [["2", "20.00", "x"]])
        let u = try s.prepare("UPDATE acct SET bal = bal + $1 WHERE id = $2 RETURNING bal")
        #expect(u.parameterTypes == [.decimal(precision: 10, scale: 2), .int4])
        #expect(u.columns?.count == 1)
        let i = try s.prepare("INSERT INTO acct (id, name) VALUES ($1, $2)")
        #expect(i.parameterTypes == [.int4, .text] && i.columns == nil)
        #expect(try s.prepare("SELECT $1").parameterTypes == [.text])
        #expect(try s.prepare("SELECT $1", parameterTypes: [.int8]).columns?.first?.type == .int8)
        #expect(sqlError { _ = try s.prepare("SELECT 1; SELECT 2") }?.code == .syntaxError)
        #expect(sqlError { _ = try s.prepare("SELECT 1", name: "q") }?.code == SQLState("42P05"))
        // Describing ran nothing.
        #expect(try s.rows("SELECT bal FROM acct WHERE id = 1") == [["10.00"]])
        #expect(try s.rows("PREPARE p2 (int) AS SELECT name FROM acct WHERE id = $1; EXECUTE p2(2)") == [["b"]])
        #expect(sqlError { _ = try s.execute("EXECUTE p2(1, 2)") }?.code == .syntaxError)
        #expect(sqlError { _ = try s.execute("EXECUTE nope") }?.code == SQLState("26000"))
        _ = try s.execute("DEALLOCATE ALL")
        #expect(s.preparedStatement(named: "q") == nil)
    }

    @Test func cursorsFetchAndMove() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE n (i int); INSERT INTO n SELECT generate_series(1, 5)")
        #expect(sqlError { _ = try s.execute("DECLARE c CURSOR FOR SELECT 1") }?.code == SQLState("25P01"))
        _ = try s.execute("BEGIN; DECLARE c SCROLL CURSOR FOR SELECT i FROM n ORDER BY i")
        #expect(try s.rows("FETCH 2 FROM c") == [["1"], ["2"]])
        #expect(try s.rows("FETCH PRIOR FROM c") == [["1"]])
        #expect(try s.rows("FETCH LAST FROM c") == [["5"]])
        #expect(try s.rows("FETCH ABSOLUTE 3 FROM c") == [["3"]])
        #expect(try s.executeOne("MOVE BACKWARD ALL IN c").tag == "MOVE 2")
        #expect(try s.rows("FETCH ALL FROM c") == [["1"], ["2"], ["3"], ["4"], ["5"]])
        _ = try s.execute("DECLARE h CURSOR WITH HOLD FOR SELECT i FROM n ORDER BY i DESC; COMMIT")
        #expect(sqlError { _ = try s.execute("FETCH c") }?.code == SQLState("34000"))
        #expect(try s.rows("FETCH 1 FROM h") == [["5"]])
        _ = try s.execute("CLOSE h")
        #expect(sqlError { _ = try s.execute("CLOSE h") }?.code == SQLState("34000"))
    }
}

@Suite struct ArrayAndUUIDTests {
    @Test func arrayFunctionsAndSetFunctionsInTheSelectList() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT unnest(ARRAY[1,2,3]) AS x") == [["1"], ["2"], ["3"]])
        #expect(try s.rows("SELECT i, unnest(ARRAY[i, i*10]) FROM (VALUES (1),(2)) v(i) ORDER BY 2") == [["1", "1"], ["2", "2"], ["1", "10"], ["2", "20"]])
        #expect(try s.rows("SELECT array_length(ARRAY[1,2,3], 1), array_length('{}'::int[], 1), cardinality('{}'::int[])") == [["3", "NULL", "0"]])
        #expect(try s.rows("SELECT array_position(ARRAY['a','b','c','b'], 'b', 3), array_position(ARRAY[1,NULL], NULL)") == [["4", "2"]])
        #expect(try s.rows("SELECT array_cat(ARRAY[1], ARRAY[2,3]), array_remove(ARRAY[1,2,1], 1), array_append(NULL, 1)") == [["{1,2,3}", "{2}", "{1}"]])
        #expect(try s.rows("SELECT array_to_string(ARRAY[1,NULL,3], ',', '*'), string_to_array('a,b,x', ',', 'x')") == [["1,*,3", "{a,b,NULL}"]])
        #expect(try s.rows("SELECT regexp_match('foobarbequebaz', '(bar)(beque)')") == [["{bar,beque}"]])
        #expect(sqlError { _ = try s.execute("SELECT count(*), generate_series(1, 2)") }?.code == .featureNotSupported)
    }

    @Test func intervalsSumAndAverage() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT sum(x), avg(x) FROM (VALUES (interval '1 day'), (interval '2 hours'), (NULL)) v(x)")
                == [["1 day 02:00:00", "13:00:00"]])
        #expect(try s.rows("SELECT sum(x) OVER (ORDER BY x) FROM (VALUES (interval '1 hour'), (interval '2 hours')) v(x)")
                == [["01:00:00"], ["03:00:00"]])
    }

    @Test func uuidsParseCompareAndGenerate() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid = '{a0eebc999c0b4ef8bb6d6bb9bd380a11}'::uuid")
                == [["t"]])
        #expect(sqlError { _ = try s.execute("SELECT 'x'::uuid") }?.code == .invalidTextRepresentation)
        _ = try s.execute("CREATE TABLE u (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), n int); INSERT INTO u (n) VALUES (1), (2)")
        #expect(try s.rows("SELECT count(DISTINCT id), min(length(id::text)) FROM u") == [["2", "36"]])
    }
}

@Suite struct DriftEventsTests {
    @Test func theChangeLogReadsAsRows() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("""
            CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');
            UPDATE t SET v = 'c' WHERE id = 1; DELETE FROM t WHERE id = 2; CREATE TABLE n (x int); INSERT INTO n VALUES (5)
            """)
        #expect(try s.rows("SELECT drift_seq, txid, table_name, op, key, row FROM drift_events ORDER BY drift_seq, key::text") == [
            ["1", "1", "t", "ddl", "NULL", "{\"ddl\": \"createTable\"}"],
            ["2", "2", "t", "insert", "{\"id\": 1}", "{\"v\": \"a\", \"id\": 1}"],
            ["2", "2", "t", "insert", "{\"id\": 2}", "{\"v\": \"b\", \"id\": 2}"],
            ["3", "3", "t", "update", "{\"id\": 1}", "{\"v\": \"c\", \"id\": 1}"],
            ["4", "4", "t", "delete", "{\"id\": 2}", "{\"v\": \"b\", \"id\": 2}"],
            ["5", "5", "n", "ddl", "NULL", "{\"ddl\": \"createTable\"}"],
            ["6", "6", "n", "insert", "{\"drift_row_id\": 1}", "{\"x\": 5}"],
        ])
        #expect(try s.rows("SELECT count(*) FROM drift_events WHERE drift_seq > 3") == [["3"]])
        #expect(try s.rows("SELECT count(*) FROM drift_events WHERE drift_seq >= 3 AND op = 'delete'") == [["1"]])
        #expect(try s.rows("SELECT max(drift_seq) FROM drift_events AS OF @seq:3") == [["3"]])
        #expect(sqlError { _ = try s.execute("SELECT * FROM drift_events FOR SYSTEM_TIME ALL") }?.code == .featureNotSupported)
    }

    @Test func drift_cdc_statusShowsTheSinksThatReport() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT * FROM drift_cdc_status") == [])
        e.sinks.register("b") { SinkStatus(sink: "b", state: "failed", checkpointSeq: 3, lagSeqs: 9, lagSeconds: 1.5, lastError: "refused") }
        e.sinks.register("a") { SinkStatus(sink: "a", state: "streaming", checkpointSeq: 12, lagSeqs: 0, lagSeconds: 0, lastError: nil) }
        #expect(try s.rows("SELECT sink, state, checkpoint_seq, lag_seqs, lag_seconds, last_error FROM drift_cdc_status") == [
            ["a", "streaming", "12", "0", "0", "NULL"],
            ["b", "failed", "3", "9", "1.5", "refused"],
        ])
        e.sinks.unregister("b")
        #expect(try s.rows("SELECT sink FROM drift_cdc_status") == [["a"]])
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY)")
        #expect(sqlError { _ = try s.execute("SELECT * FROM drift_cdc_status AS OF @seq:1") }?.code == .featureNotSupported)
    }
}

@Suite struct TopNSortTests {
    @Test func orderByLimitKeepsOnlyTheFirstRowsAndTheirOrder() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, g int); INSERT INTO t SELECT i, i % 7 FROM generate_series(1, 5000) i")
        // Ties keep input order, exactly as the full sort gives them.
        let full = try s.rows("SELECT id FROM (SELECT id, g FROM t ORDER BY g DESC) x")
        #expect(try s.rows("SELECT id FROM t ORDER BY g DESC LIMIT 10 OFFSET 5") == Array(full[5..<15]))
        #expect(try s.rows("SELECT id FROM t ORDER BY g, id DESC LIMIT 3") == [["4998"], ["4991"], ["4984"]])
        #expect(try s.rows("SELECT id FROM t ORDER BY g LIMIT 0") == [])
        #expect(try s.rows("SELECT count(*) FROM (SELECT id FROM t ORDER BY g LIMIT 6000) x") == [["5000"]])
    }
}

@Suite struct PrimaryKeyRangeTests {
    @Test func rangesOnThePrimaryKeyUseItsIndex() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, g int); INSERT INTO t SELECT i, i % 7 FROM generate_series(1, 2000) i")
        #expect(try s.rows("EXPLAIN SELECT * FROM t WHERE id BETWEEN 10 AND 19").first?.first?.hasPrefix("Index Scan using t_pkey on t") == true)
        #expect(try s.rows("SELECT count(*), min(id), max(id) FROM t WHERE id BETWEEN 10 AND 19") == [["10", "10", "19"]])
        #expect(try s.rows("SELECT count(*) FROM t WHERE id > 1990") == [["10"]])
        let before = e.visibleSeq
        _ = try s.execute("DELETE FROM t WHERE id BETWEEN 10 AND 14")
        #expect(try s.rows("SELECT count(*) FROM t WHERE id BETWEEN 10 AND 19") == [["5"]])
        #expect(try s.rows("SELECT count(*) FROM t AS OF @seq:\(before) WHERE id BETWEEN 10 AND 19") == [["10"]])
        #expect(sqlError { _ = try s.execute("DROP INDEX t_pkey") }?.code == SQLState("2BP01"))
        // A primary key added later gets its index; dropped, it goes.
        _ = try s.execute("CREATE TABLE u (a int, b int); INSERT INTO u VALUES (1, 1), (2, 2); ALTER TABLE u ADD PRIMARY KEY (a)")
        #expect(try s.rows("EXPLAIN SELECT * FROM u WHERE a > 1").first?.first?.hasPrefix("Index Scan using u_pkey") == true)
        _ = try s.execute("ALTER TABLE u DROP CONSTRAINT u_pkey")
        #expect(try s.rows("EXPLAIN SELECT * FROM u WHERE a > 1").first?.first?.hasPrefix("Seq Scan") == true)
    }
}

@Suite struct DecorrelationTests {
    @Test func existsAndInBecomeSemiAndAntiJoins() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("""
            CREATE TABLE c (id int PRIMARY KEY, name text); CREATE TABLE o (id int PRIMARY KEY, cid int, amt int);
            INSERT INTO c SELECT g, 'n' || g FROM generate_series(1, 200) g;
            INSERT INTO o SELECT g, g % 100, g FROM generate_series(1, 200) g
            """)
        #expect(try s.rows("EXPLAIN SELECT count(*) FROM c WHERE EXISTS (SELECT 1 FROM o WHERE o.cid = c.id)")[1] == ["  ->  Hash Semi Join  (rows=200)"])
        #expect(try s.rows("SELECT count(*) FROM c WHERE EXISTS (SELECT 1 FROM o WHERE o.cid = c.id)") == [["99"]])
        #expect(try s.rows("SELECT count(*) FROM c WHERE NOT EXISTS (SELECT 1 FROM o WHERE o.cid = c.id)") == [["101"]])
        #expect(try s.rows("SELECT count(*) FROM c WHERE id IN (SELECT cid FROM o WHERE amt > 150)") == [["49"]])
        // A condition on the outer row alone inside NOT EXISTS stays inside the anti join.
        #expect(try s.rows("SELECT count(*) FROM c WHERE NOT EXISTS (SELECT 1 FROM o WHERE c.id < 0 AND o.cid = c.id)") == [["200"]])
        #expect(try s.rows("SELECT id, name FROM c WHERE EXISTS (SELECT 1 FROM o WHERE o.cid = c.id AND o.amt = 5)") == [["5", "n5"]])
        // Inner names still shadow outer ones; the inner tables stay invisible outside.
        #expect(try s.rows("SELECT count(*) FROM c WHERE EXISTS (SELECT 1 FROM o WHERE cid = id)") == [["200"]])
        #expect(try s.rows("SELECT id FROM c WHERE EXISTS (SELECT 1 FROM o WHERE o.cid = c.id) ORDER BY id LIMIT 2") == [["1"], ["2"]])
        #expect(sqlError { _ = try s.execute("SELECT amt FROM c WHERE EXISTS (SELECT 1 FROM o WHERE o.cid = c.id)") }?.code == .undefinedColumn)
    }

    @Test func onConflictSkippedByItsWhereLeavesTheRowFree() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (5, 0)")
        #expect(try s.executeOne("INSERT INTO t VALUES (5, 1), (8, 1), (5, 2) ON CONFLICT (id) DO UPDATE SET v = 9 WHERE false").tag == "INSERT 0 1")
        #expect(sqlError { _ = try s.execute("INSERT INTO t VALUES (5, 1), (5, 2) ON CONFLICT (id) DO UPDATE SET v = 9") }?.code == .cardinalityViolation)
    }
}

@Suite struct SchemaTests {
    @Test func schemasAndTheSearchPath() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE SCHEMA app; CREATE TABLE app.items (id serial PRIMARY KEY, name text); INSERT INTO app.items (name) VALUES ('a'), ('b')")
        #expect(sqlError { _ = try s.execute("CREATE SCHEMA app") }?.code == SQLState("42P06"))
        #expect(sqlError { _ = try s.execute("SELECT * FROM items") }?.code == .undefinedTable)
        _ = try s.execute("SET search_path = app, public")
        #expect(try s.rows("SELECT current_schema()") == [["app"]])
        _ = try s.execute("INSERT INTO items (name) VALUES ('c'); CREATE TABLE other (x int)")
        #expect(try s.rows("SELECT id, name FROM items ORDER BY id") == [["1", "a"], ["2", "b"], ["3", "c"]])
        _ = try s.execute("RESET search_path")
        #expect(try s.rows("SELECT count(*) FROM app.other") == [["0"]])
        #expect(sqlError { _ = try s.execute("CREATE TABLE nosuch.t (a int)") }?.code == SQLState("3F000"))
        #expect(sqlError { _ = try s.execute("DROP SCHEMA app") }?.code == SQLState("2BP01"))
        #expect(try s.execute("DROP SCHEMA app CASCADE")[0].notices == ["NOTICE: drop cascades to 2 other objects"])
        #expect(sqlError { _ = try s.execute("SELECT * FROM app.items") }?.code == .undefinedTable)
        _ = try s.execute("SET search_path = nothere")
        #expect(sqlError { _ = try s.execute("CREATE TABLE z (a int)") }?.code == SQLState("3F000"))
        #expect(try s.rows("SELECT current_schema()") == [["NULL"]])
    }
}

@Suite struct EnumTests {
    @Test func enumsValidateAndOrderByTheirLabels() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE p (name text, m mood)")
        #expect(sqlError { _ = try s.execute("CREATE TYPE mood AS ENUM ('x')") }?.code == .duplicateObject)
        _ = try s.execute("INSERT INTO p VALUES ('a', 'happy'), ('b', 'sad'), ('c', 'ok'), ('d', NULL)")
        let bad = sqlError { _ = try s.execute("INSERT INTO p VALUES ('e', 'angry')") }
        #expect(bad?.code == .invalidTextRepresentation && bad?.message == "invalid input value for enum mood: \"angry\"")
        #expect(try s.rows("SELECT name FROM p ORDER BY m") == [["b"], ["c"], ["a"], ["d"]])
        #expect(try s.rows("SELECT name FROM p WHERE m > 'sad' ORDER BY name") == [["a"], ["c"]])
        #expect(try s.rows("SELECT m::text, pg_typeof(m) FROM p WHERE name = 'a'") == [["happy", "mood"]])
        #expect(sqlError { _ = try s.execute("DROP TYPE mood") }?.code == SQLState("2BP01"))
        _ = try s.execute("DROP TYPE mood CASCADE")
        #expect(try s.rows("SELECT * FROM p WHERE name = 'a'") == [["a"]])
    }
}

/// Differences the differential test found, each as PostgreSQL 15 answers it.
@Suite struct DifferentialFindingsTests {
    @Test func answersAsPostgreSQLGivesThem() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT sqrt('NaN'::float8), ln('NaN'::float8), log('NaN'::float8)") == [["NaN", "NaN", "NaN"]])
        #expect(try s.rows("SELECT '\\x00'::bytea || '\\x01'::bytea") == [["\\x0001"]])
        #expect(try s.rows("SELECT '1'::jsonb -> 0, '\"a\"'::jsonb ->> 0, '1'::jsonb -> 1, '1'::json -> 0") == [["1", "a", "NULL", "NULL"]])
        #expect(try s.rows("SELECT 1 FROM (VALUES (1), (2)) v(x) GROUP BY ()") == [["1"]])
        #expect(try s.rows("SELECT pg_typeof(-2147483648), pg_typeof(-2147483649), -9223372036854775808") == [["integer", "bigint", "-9223372036854775808"]])
        #expect(sqlError { _ = try s.execute("SELECT -2147483648 * 2") }?.code == .numericValueOutOfRange)
        #expect(try s.rows("SELECT 6e10::float4, 3e10::float4, 0.1::float4") == [["6.0000002e+10", "3.0000001e+10", "0.1"]])
        #expect(try s.rows("SELECT 0.1::float4 = 0.1::numeric, '{\"a\": 1.5e3}'::jsonb") == [["f", "{\"a\": 1500}"]])
        // An IN subquery whose JOIN condition names the outer query is not turned into a
        // semi join (the condition was evaluated on the subquery's side alone, as NULL).
        _ = try s.execute("CREATE TABLE so (id int, flag bool); INSERT INTO so VALUES (1, true), (2, false), (3, true); CREATE TABLE si (k int); INSERT INTO si VALUES (1), (2)")
        #expect(try s.rows("SELECT count(*) FROM so a1 WHERE a1.flag = SOME (SELECT a1.flag FROM si a2 JOIN so a4 ON a1.flag)") == [["2"]])
        #expect(try s.rows("SELECT count(*) FROM so a1 WHERE a1.id IN (SELECT a4.id FROM si a2 JOIN so a4 ON a1.flag AND a4.id = a2.k)") == [["1"]])
        #expect(try s.rows("SELECT count(*) FROM so a1 WHERE a1.id IN (SELECT y FROM (SELECT a1.id AS y) d)") == [["3"]])
        #expect(try s.rows("SELECT count(*) FROM so a1 WHERE a1.id IN (SELECT a4.id FROM si a2 JOIN so a4 ON a4.id = a2.k)") == [["2"]])
        // Inputs that crashed the process, each answered as PostgreSQL 15 answers it.
        #expect(try s.rows("SELECT sum(x) OVER (ROWS BETWEEN CURRENT ROW AND 9223372036854775807 FOLLOWING) FROM generate_series(1, 3) x")
                == [["6"], ["5"], ["3"]])
        #expect(try s.rows("SELECT sum(x) OVER (ROWS BETWEEN 9223372036854775807 PRECEDING AND 9223372036854775807 FOLLOWING) FROM generate_series(1, 3) x")
                == [["6"], ["6"], ["6"]])
        #expect(try s.rows("SELECT sum(x) OVER (ORDER BY x GROUPS BETWEEN CURRENT ROW AND 9223372036854775807 FOLLOWING) FROM generate_series(1, 3) x")
                == [["6"], ["5"], ["3"]])
        #expect(try s.rows("SELECT count(*) OVER (ORDER BY x RANGE BETWEEN CURRENT ROW AND 2147483647 FOLLOWING) FROM (VALUES (2147483647), (0)) v(x)")
                == [["2"], ["1"]])
        #expect(try s.rows("SELECT count(*) OVER (ORDER BY x DESC RANGE BETWEEN 5 PRECEDING AND CURRENT ROW) FROM (VALUES (9223372036854775807::int8), (1::int8)) v(x)")
                == [["1"], ["1"]])
        #expect(try s.rows("SELECT count(*) OVER (ORDER BY x RANGE BETWEEN 2147483647 PRECEDING AND 1 PRECEDING) FROM (VALUES (-2147483647), (-2147483648), (NULL)) v(x) ORDER BY x NULLS LAST")
                == [["0"], ["1"], ["1"]])
        for w in ["%-9223372036854775808s", "%9223372036854775807s", "%-9223372036854775807s", "%1$-9223372036854775808s", "%2147483648s"] {
            #expect(sqlError { _ = try s.execute("SELECT format('\(w)', 'x')") }?.code == .numericValueOutOfRange, "\(w)")
        }
        #expect(try s.rows("SELECT format('%-3s|%3s|%1$s', 'x', 'y')") == [["x  |  y|x"]])
        #expect(try s.rows("SELECT format('%*s|', 5, 'x'), format('%-*s|', 5, 'x'), format('%*s|', -5, 'x'), format('%1$*2$s|', 'x', 4), format('%*s|%s', 3, 'x', 'y'), format('%*s', NULL, 'x')")
                == [["    x|", "x    |", "x    |", "   x|", "  x|y", "x"]])
        #expect(sqlError { _ = try s.execute("SELECT format('%*2$s|', 'x', 3)") }?.message == "too few arguments for format()")
        #expect(sqlError { _ = try s.execute("SELECT format('%*s', 'a', 'x')") }?.code == .invalidTextRepresentation)
        #expect(sqlError { _ = try s.execute("SELECT format('%2147483647s', 'x')") }?.code == .programLimitExceeded)
        #expect(try s.rows("CREATE SEQUENCE big_step INCREMENT 1000000000000000000; SELECT nextval('big_step'), nextval('big_step')")
                == [["1", "1000000000000000001"]])
        #expect(try s.rows("SELECT nextval('big_step')") == [["2000000000000000001"]])
        #expect(sqlError { _ = try s.execute("SELECT 'abc' ~ repeat('[', 3000)") }?.code == .invalidRegularExpression)
        #expect(sqlError { _ = try s.execute("SELECT 'abc' SIMILAR TO repeat('[', 50000)") }?.code == .invalidRegularExpression)
        #expect(try s.rows("SELECT length(lpad('x', 20000000)), length(rpad('ab', 3, 'xyz'))") == [["20000000", "3"]])
        // EXPLAIN of a plan whose row estimate passes Int64 prints it (it trapped).
        _ = try s.execute("CREATE TABLE wide (a int); INSERT INTO wide SELECT g FROM generate_series(1, 2000) g")
        let plan = try s.rows("EXPLAIN SELECT * FROM wide a, wide b, wide c, wide d, wide e, wide f").map { $0[0] }
        #expect(plan.first?.contains("rows=64000000000000000000") == true, "\(plan)")
        // width_bucket: NaN and infinite bounds are errors, not a crash; a range wider than
        // the largest double still lands in a bucket (PostgreSQL 16's answer; 15 overflows).
        for (sql, message) in [("SELECT width_bucket('NaN'::float8, 0, 5, 3)", "operand, lower bound, and upper bound cannot be NaN"),
                               ("SELECT width_bucket(1, 0, 'inf'::float8, 3)", "lower and upper bounds must be finite"),
                               ("SELECT width_bucket(1, 0, 5, 0)", "count must be greater than zero"),
                               ("SELECT width_bucket(1, 1, 1, 3)", "lower bound cannot equal upper bound")] {
            let err = sqlError { _ = try s.execute(sql) }
            #expect(err?.code == SQLState("2201G") && err?.message == message, "\(sql)")
        }
        #expect(sqlError { _ = try s.execute("SELECT width_bucket(10, 0, 5, 2147483647)") }?.code == .numericValueOutOfRange)
        #expect(try s.rows("SELECT width_bucket('inf'::float8, 0, 5, 3), width_bucket('-inf'::float8, 0, 5, 3), width_bucket(4.9999999999999999::float8, 0, 5, 3)")
                == [["4", "0", "4"]])
        #expect(try s.rows("SELECT width_bucket(5, 5, 0, 3), width_bucket(0, 5, 0, 3), width_bucket(2.5, 5, 0, 4), width_bucket(-1e308::float8, 1.5e308, -1e308, 3)")
                == [["1", "4", "3", "4"]])
        #expect(try s.rows("SELECT width_bucket(1e308::float8, -1e308, 1.5e308, 3)") == [["3"]])
        // Of equal values, max and min keep the later one and LEAST/GREATEST the first (their
        // text differs: numeric scale, interval units).
        #expect(try s.rows("SELECT max(x), min(x) FROM (VALUES (1.50 - 1.50), (0::numeric), (2.0 - 2)) v(x)") == [["0.0", "0.0"]])
        #expect(try s.rows("SELECT max(x), min(x) FROM (VALUES (interval '1 day'), (interval '24 hours')) v(x)") == [["24:00:00", "24:00:00"]])
        #expect(try s.rows("SELECT LEAST(0.00, 0, 0.0), GREATEST(0.0, 0.00)") == [["0.00", "0.0"]])
        #expect(try s.rows("SELECT max(x) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM (VALUES (1, 0.00), (2, 0::numeric), (3, 0.0)) v(n, x)")
                == [["0.00"], ["0"], ["0.0"]])
    }
}
