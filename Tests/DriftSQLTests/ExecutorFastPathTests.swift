import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// The executor's fast paths (one integer group key, one integer join key, one-argument
/// aggregates, scans that decode only the columns read) answer as the general paths do.
@Suite struct ExecutorFastPathTests {
    /// The integer join table against a dictionary model: dense runs (kept by low bits),
    /// keys clustered on a power of two (rebuilt scrambled), negative and extreme keys,
    /// duplicates chained in insertion order, and missing keys inside a dense run.
    @Test func integerKeyTableAgreesWithADictionary() {
        let patterns: [[Int64]] = [
            Array(0..<5000),
            (0..<5000).map { $0 * 1024 },
            (0..<3000).map { -$0 * 7 } + [Int64.min, Int64.max, 0, 0, 0],
            (0..<4000).map { Int64($0 % 100) },
            (0..<2000).map { Int64($0) * 65536 + Int64($0 % 3) },
        ]
        for keys in patterns {
            let table = IntKeyTable(rows: keys.count)
            var model: [Int64: [Int32]] = [:]
            for (i, k) in keys.enumerated() {
                table.insert(k, row: Int32(i))
                model[k, default: []].append(Int32(i))
            }
            var probes = Set(keys)
            for k in keys.prefix(500) { probes.insert(k + 1_000_003); probes.insert(k &+ (1 << 40)); probes.insert(k + 8192) }
            for k in probes {
                var rows: [Int32] = []
                var j = table.first(k)
                while j >= 0 {
                    rows.append(j)
                    j = table.next(j)
                }
                #expect(rows == (model[k] ?? []), "key \(k)")
            }
            #expect(table.keys == model.count)
        }
    }

    /// SELECT * of one table: the scan's rows hold only the columns and pass through the
    /// projection. Every read path answers as the same query through a general projection
    /// (the columns listed in another order, then put back): key lookups and IN lists, index
    /// ranges, an index dropped after the seq read, the block's own writes, AS OF and history.
    @Test func selectStarPassesScanBatchesThrough() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE w (id int PRIMARY KEY, a text, b int); CREATE INDEX w_b ON w (b)")
        _ = try s.execute("INSERT INTO w SELECT g, 'a' || g, g % 10 FROM generate_series(1, 600) g")
        let before = e.visibleSeq
        _ = try s.execute("UPDATE w SET a = upper(a) WHERE id % 7 = 0; DROP INDEX w_b")
        let wheres = ["", "WHERE id = 14", "WHERE id IN (3, 14, 999)", "WHERE id BETWEEN 10 AND 30", "WHERE b = 3 AND id < 100",
                      "WHERE a LIKE 'A%' AND b > 5"]
        func check(_ from: String) throws {
            for w in wheres {
                let star = try s.rows("SELECT * FROM \(from) \(w) ORDER BY 1")
                let general = try s.rows("SELECT id, a, b FROM (SELECT b, a, id FROM \(from) \(w)) x ORDER BY 1")
                #expect(star == general, "\(from) \(w)")
            }
        }
        try check("w")
        try check("w AS OF @seq:\(before)")
        _ = try s.execute("BEGIN; INSERT INTO w VALUES (1000, 'new', 3); UPDATE w SET b = 3 WHERE id = 21; DELETE FROM w WHERE id = 14")
        try check("w")
        _ = try s.execute("ROLLBACK")
        #expect(try s.rows("SELECT * FROM w FOR SYSTEM_TIME ALL WHERE id = 14 ORDER BY a") == [["14", "A14", "4"], ["14", "a14", "4"]])
        // EXPLAIN ANALYZE still counts the scan's rows.
        let explain = try s.rows("EXPLAIN ANALYZE SELECT * FROM w WHERE id BETWEEN 1 AND 5").map { $0[0] }
        #expect(explain.contains { $0.contains("rows=5 loops=1") }, "\(explain)")
    }

    /// INSERT ... SELECT inserts a query's rows as they come unless the query reads the
    /// target (then it reads to the end first); neither sees the statement's own rows. A
    /// savepoint rolled back inside a bulk insert restores the write set, and the locks of a
    /// large transaction are all released at its end (another session takes them at once).
    @Test func insertSelectStreamsOrReadsFirstAndReleasesItsLocks() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("""
            CREATE TABLE src (id int);
            INSERT INTO src SELECT g % 5000 + 1 FROM generate_series(0, 9999) g;
            CREATE TABLE bag (id int);
            CREATE TABLE keyed (id int PRIMARY KEY)
            """)
        #expect(try s.rows("INSERT INTO bag SELECT id FROM src; SELECT count(*) FROM bag") == [["10000"]])
        // Reads its own target: 2,000 rows in, no loop over the rows it adds.
        #expect(try s.rows("INSERT INTO bag SELECT id FROM bag WHERE id <= 1000; SELECT count(*) FROM bag") == [["12000"]])
        // A subquery on the target sees the table as the statement began: every duplicate passes.
        #expect(throws: SQLError.self) { try s.execute("INSERT INTO keyed SELECT id FROM src WHERE id NOT IN (SELECT id FROM keyed)") }
        #expect(try s.rows("SELECT count(*) FROM keyed") == [["0"]])
        // Past 4,096 locks a transaction stops listing them until a savepoint opens; the
        // locks taken after the savepoint are listed and released by ROLLBACK TO.
        let other = Session(engine: e)
        _ = try s.execute("BEGIN; INSERT INTO keyed SELECT DISTINCT id FROM src; SAVEPOINT a")
        #expect(throws: SQLError.self) { try s.execute("INSERT INTO keyed SELECT id + 10000 FROM src WHERE id % 2 = 0") }
        _ = try s.execute("ROLLBACK TO a; INSERT INTO keyed VALUES (20000)")
        #expect(try other.rows("SET lock_timeout = 50; BEGIN; INSERT INTO keyed VALUES (10002); SELECT 1") == [["1"]])
        _ = try other.execute("ROLLBACK")
        #expect(sqlError { _ = try other.execute("INSERT INTO keyed VALUES (4999)") }?.code == .lockNotAvailable)
        #expect(try s.rows("SELECT count(*), min(id), max(id) FROM keyed") == [["5001", "1", "20000"]])
        _ = try s.execute("COMMIT")
        #expect(try other.rows("SET lock_timeout = 50; BEGIN; DELETE FROM keyed WHERE id <= 4000; SELECT count(*) FROM keyed")
                == [["1001"]])
        _ = try other.execute("ROLLBACK")
        #expect(try s.rows("SELECT count(*), sum(id) FROM keyed") == [["5001", "\(5000 * 5001 / 2 + 20000)"]])
        // Rows built in one reused row: defaults run once per row, and rows kept for the
        // statement's foreign-key checks keep their own values.
        _ = try s.execute("CREATE TABLE ser (id serial PRIMARY KEY, v int, d text DEFAULT 'x')")
        #expect(try s.rows("INSERT INTO ser (v) SELECT id FROM src WHERE id <= 3; SELECT min(id), max(id), count(DISTINCT id), min(d), max(d) FROM ser")
                == [["1", "6", "6", "x", "x"]])
        _ = try s.execute("CREATE TABLE child (k int REFERENCES keyed (id))")
        let fk = sqlError { _ = try s.execute("INSERT INTO child SELECT DISTINCT id + 4999 FROM src WHERE id <= 2") }
        #expect(fk?.code == .foreignKeyViolation && fk?.detail == "Key (k)=(5001) is not present in table \"keyed\".", "\(String(describing: fk))")
    }

    /// Index ranges read in several visits of the tree (more hits than one visit takes),
    /// exclusive and inclusive bounds, IN alternatives, own writes, a past seq and an index
    /// dropped since: each answers as the same condition evaluated on a full scan.
    @Test func indexRangesAcrossVisitsAnswerAsAScan() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("""
            CREATE TABLE r (id int PRIMARY KEY, v int, note text);
            INSERT INTO r SELECT g, g % 50, 'n' || g FROM generate_series(1, 3000) g;
            CREATE INDEX r_v_idx ON r (v);
            CREATE INDEX r_note_idx ON r (note)
            """)
        // Bounds the range enforces itself are not evaluated again; the others still are.
        let plan = try s.rows("EXPLAIN SELECT * FROM r WHERE id BETWEEN 5 AND 10 AND v > 3").map { $0[0] }
        #expect(plan.count == 3 && plan[0].hasPrefix("Index Scan using r_pkey on r") && plan[1].hasSuffix("Index Cond: (2 conditions)")
                && plan[2].hasSuffix("Filter: (condition)"), "\(plan)")
        let past = try s.rows("SELECT max(drift_seq) FROM drift_events")[0][0]
        _ = try s.execute("UPDATE r SET v = v + 1 WHERE id % 7 = 0; DELETE FROM r WHERE id % 11 = 0")
        let conditions = ["v > 10", "v >= 10 AND v < 20", "v IN (3, 7, 49)", "v = 0", "v < 2",
                          "id > 300 AND id <= 1700", "id >= 2990", "id BETWEEN 1 AND 600",
                          "v = 7 AND id > 100", "v > 40 AND id < 500 AND note > 'n3'",
                          "note >= 'n1' AND note < 'n2'", "note > 'n299' AND note <= 'n3'", "note = 'n42'"]
        for c in conditions {
            // `+ 0` keeps the planner off the index.
            let scanned = c.replacingOccurrences(of: "v ", with: "v + 0 ").replacingOccurrences(of: "id ", with: "id + 0 ")
                .replacingOccurrences(of: "note ", with: "note || '' ")
            for asOf in ["", " AS OF @seq:\(past)"] {
                let q = "SELECT id, v, note FROM r\(asOf) WHERE "
                #expect(try s.rows(q + c + " ORDER BY id") == s.rows(q + scanned + " ORDER BY id"), "\(c)\(asOf)")
                #expect(try s.rows("SELECT count(*) FROM r\(asOf) WHERE " + c) == s.rows("SELECT count(*) FROM r\(asOf) WHERE " + scanned))
            }
        }
        #expect(try s.rows("SELECT count(*) FROM r WHERE v > 10")[0][0] != "0")
        // Own writes in an open transaction, then the index dropped: the past still answers.
        _ = try s.execute("BEGIN; INSERT INTO r VALUES (5000, 12, 'x')")
        #expect(try s.rows("SELECT count(*) FROM r WHERE v = 12") == s.rows("SELECT count(*) FROM r WHERE v + 0 = 12"))
        _ = try s.execute("ROLLBACK; DROP INDEX r_v_idx")
        #expect(try s.rows("SELECT id FROM r AS OF @seq:\(past) WHERE v > 40 ORDER BY id")
                == s.rows("SELECT id FROM r AS OF @seq:\(past) WHERE v + 0 > 40 ORDER BY id"))
    }

    /// ORDER BY ... LIMIT over a table scan passes over rows the heap cannot take, judged on
    /// the stored first key: every direction, NULL placement, ties, a second key, a column
    /// added later and own writes give the first rows of the full sort.
    @Test func topNSkipsRowsAsTheFullSortOrdersThem() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("""
            CREATE TABLE o (id int PRIMARY KEY, k int, t text, v varchar(20));
            INSERT INTO o SELECT g, CASE WHEN g % 13 = 0 THEN NULL ELSE (g * 7919) % 1000 END,
                CASE WHEN g % 17 = 0 THEN NULL ELSE md5((g % 600)::text) END, 'v' || (g % 97)
              FROM generate_series(1, 4000) g;
            ALTER TABLE o ADD COLUMN late int DEFAULT 5;
            INSERT INTO o VALUES (4001, -5, '', 'é', 1), (4002, 2000, 'zzz', '~', 9)
            """)
        let orders = ["k", "k DESC", "k NULLS FIRST", "k DESC NULLS LAST", "t", "t DESC", "t NULLS FIRST",
                      "v", "v DESC", "k, id DESC", "t DESC, k", "late, id", "late DESC, id"]
        for order in orders {
            for limit in [1, 10, 250] {
                let full = try s.rows("SELECT id, k, t, v FROM o ORDER BY \(order)")
                #expect(try s.rows("SELECT id, k, t, v FROM o ORDER BY \(order) LIMIT \(limit)") == Array(full.prefix(limit)), "\(order) \(limit)")
                #expect(try s.rows("SELECT * FROM o ORDER BY \(order) LIMIT \(limit) OFFSET 3").count == limit)
            }
        }
        _ = try s.execute("BEGIN; UPDATE o SET k = -100 WHERE id = 3999; INSERT INTO o VALUES (5000, -200, 'a', 'a', 0)")
        #expect(try s.rows("SELECT id FROM o ORDER BY k LIMIT 2") == [["5000"], ["3999"]])
        _ = try s.execute("ROLLBACK")
    }

    @Test func integerKeysJoinAndGroupLikeTheGeneralPath() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("""
            CREATE TABLE l (id int PRIMARY KEY, k int, note text);
            CREATE TABLE r (id int PRIMARY KEY, k bigint, tag text);
            INSERT INTO l VALUES (1, 1, 'a'), (2, 2, 'b'), (3, NULL, 'c'), (4, 9, 'd'), (5, 1, 'e');
            INSERT INTO r VALUES (10, 1, 'x'), (11, 1, 'y'), (12, 2, 'z'), (13, NULL, 'n'), (14, 7, 'w')
            """)
        // Duplicates in insertion order, NULL keys never match.
        #expect(try s.rows("SELECT l.id, r.tag FROM l JOIN r ON l.k = r.k ORDER BY l.id, r.id")
                == [["1", "x"], ["1", "y"], ["2", "z"], ["5", "x"], ["5", "y"]])
        #expect(try s.rows("SELECT l.id, r.tag FROM l LEFT JOIN r ON l.k = r.k WHERE r.tag IS NULL ORDER BY l.id")
                == [["3", "NULL"], ["4", "NULL"]])
        #expect(try s.rows("SELECT r.tag FROM l RIGHT JOIN r ON l.k = r.k WHERE l.id IS NULL ORDER BY r.tag") == [["n"], ["w"]])
        #expect(try s.rows("SELECT count(*) FROM l FULL JOIN r ON l.k = r.k") == [["9"]])
        #expect(try s.rows("SELECT id FROM l WHERE k IN (SELECT k FROM r) ORDER BY id") == [["1"], ["2"], ["5"]])
        #expect(try s.rows("SELECT id FROM l WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.k = l.k) ORDER BY id") == [["3"], ["4"]])
        // Integer GROUP BY with a NULL group, one-argument aggregates, FILTER and DISTINCT.
        #expect(try s.rows("SELECT k, count(*), count(note), sum(id), min(note), max(id) FROM l GROUP BY k ORDER BY k NULLS FIRST")
                == [["NULL", "1", "1", "3", "c", "3"], ["1", "2", "2", "6", "a", "5"], ["2", "1", "1", "2", "b", "2"], ["9", "1", "1", "4", "d", "4"]])
        #expect(try s.rows("SELECT count(*) FILTER (WHERE id > 2), count(DISTINCT k), string_agg(note, ',' ORDER BY id DESC) FROM l")
                == [["3", "3", "e,d,c,b,a"]])
        #expect(try s.rows("SELECT count(*), sum(k) FROM l WHERE false") == [["0", "NULL"]])
        #expect(try s.rows("SELECT k, count(*) FROM l WHERE false GROUP BY k") == [])
    }

    @Test func orderByLimitComputesTheSelectListAfterTheLimit() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE o (id int PRIMARY KEY, a int, b text); INSERT INTO o SELECT g, g % 7, 'b' || (100 - g) FROM generate_series(1, 50) g")
        #expect(try s.rows("SELECT id, a * 10 AS x FROM o ORDER BY x DESC, id LIMIT 3") == [["6", "60"], ["13", "60"], ["20", "60"]])
        #expect(try s.rows("SELECT id FROM o ORDER BY b LIMIT 2 OFFSET 1") == [["49"], ["48"]])
        #expect(try s.rows("SELECT b FROM o ORDER BY a, id DESC LIMIT 2") == [["b51"], ["b58"]])
        #expect(try s.rows("SELECT id, 10 / (a - 1) FROM o WHERE a > 1 ORDER BY id LIMIT 1") == [["2", "10"]])
        // A select-list expression runs for every row before the sort, as in PostgreSQL: its
        // error on a row the limit drops is still raised.
        #expect(sqlError { _ = try s.execute("SELECT id, 10 / (a - 1) FROM o ORDER BY id DESC LIMIT 1") }?.code == .divisionByZero)
    }

    @Test func sumsOverflowAsPostgreSQLs() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        // float4 sums add in float4 and fail on overflow; float8 sums likewise (22003).
        let f4 = sqlError { _ = try s.execute("SELECT sum(x) FROM (VALUES (3.4e38::float4), (3.4e38::float4), (-3.4e38::float4)) v(x)") }
        #expect(f4?.code == .numericValueOutOfRange)
        #expect(f4?.message == "value out of range: overflow")
        #expect(sqlError { _ = try s.execute("SELECT sum(x) FROM (VALUES (1e308::float8), (1e308::float8)) v(x)") }?.code == .numericValueOutOfRange)
        #expect(try s.rows("SELECT sum(x) FROM (VALUES ('Infinity'::float8), (1::float8)) v(x)") == [["Infinity"]])
        #expect(try s.rows("SELECT sum(x) FROM (VALUES (1.5::float4), (2.25::float4)) v(x)") == [["3.75"]])
    }

    @Test func scansDecodeWhatIsRead() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE w (id int PRIMARY KEY, a text, b int, c text); INSERT INTO w VALUES (1, 'x', 10, 'p'), (2, 'y', 20, 'q')")
        _ = try s.execute("ALTER TABLE w ADD COLUMN d int DEFAULT 5")
        #expect(try s.rows("SELECT b FROM w ORDER BY b") == [["10"], ["20"]])
        #expect(try s.rows("SELECT c, d FROM w WHERE b > 15") == [["q", "5"]])
        #expect(try s.rows("SELECT w.* FROM w WHERE id = 1") == [["1", "x", "10", "p", "5"]])
        #expect(try s.rows("SELECT x.a FROM w x JOIN w y USING (id) WHERE y.c = 'p'") == [["x"]])
        #expect(try s.rows("SELECT (SELECT max(c) FROM w i WHERE i.b < o.b) FROM w o ORDER BY id") == [["NULL"], ["p"]])
        _ = try s.execute("UPDATE w SET b = b + 1 WHERE a = 'x'")
        #expect(try s.rows("SELECT * FROM w ORDER BY id") == [["1", "x", "11", "p", "5"], ["2", "y", "20", "q", "5"]])
    }
}
