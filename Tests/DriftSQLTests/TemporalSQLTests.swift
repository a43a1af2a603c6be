import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

@Suite struct TemporalSQLTests {
    @Test func schemaAsOfASeqIsTheSchemaThen() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE t (pk=id); INSERT INTO t {"id": 1, "a": "x"}"#)
        let before = e.visibleSeq
        _ = try s.execute(#"INSERT INTO t {"id": 2, "a": "y", "b": true}"#)
        #expect(try s.execute("SELECT * FROM t AS OF @seq:\(before)")[0].columns!.map(\.name) == ["id", "a"])
        #expect(try s.execute("SELECT * FROM t")[0].columns!.map(\.name) == ["id", "a", "b"])
        #expect(sqlError { _ = try s.execute("SELECT b FROM t AS OF @seq:\(before)") }?.code == .undefinedColumn)
        #expect(try s.rows("SELECT id, b FROM t ORDER BY id") == [["1", "NULL"], ["2", "t"]])
        #expect(sqlError { _ = try s.execute("SELECT * FROM t AS OF @seq:\(e.visibleSeq + 5)") }?.code == .invalidParameterValue)
    }

    @Test func timestampsPeriodsAndSessionDefaults() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE t (pk=id); INSERT INTO t {"id": 1, "v": "one"}"#)
        let s1 = e.visibleSeq
        _ = try s.execute(#"PATCH t KEY 1 SET {"v": "uno"}"#)
        let s2 = e.visibleSeq
        _ = try s.execute(#"SOFT DELETE FROM t KEY 1"#)
        let ts1 = formatTimestampISO(e.timestamp(of: s1)!)
        #expect(try s.rows("SELECT v FROM t AS OF '\(ts1)'") == [["one"]])
        #expect(try s.rows("SELECT v FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '\(ts1)'") == [["one"]])
        #expect(try s.rows("SELECT v FROM t") == [])
        #expect(try s.rows("SELECT v, drift_seq FROM t FOR SYSTEM_TIME ALL ORDER BY drift_seq")
                == [["one", "\(s1)"], ["uno", "\(s2)"]])
        #expect(try s.rows("SELECT v FROM t FOR SYSTEM_TIME BETWEEN @seq:\(s2) AND @seq:\(s2)") == [["uno"]])
        #expect(try s.rows("SELECT v FROM t FOR SYSTEM_TIME FROM @seq:\(s1) TO @seq:\(s2) ORDER BY v") == [["one"]])
        #expect(try s.rows("SELECT v, system_time_end FROM t FOR SYSTEM_TIME ALL WHERE v = 'uno'")[0][1] != "infinity")
        // A session reading the past: reads see it, writes fail with 25006.
        _ = try s.execute("SET drift.as_of = '@seq:\(s1)'")
        #expect(try s.rows("SELECT v FROM t") == [["one"]])
        #expect(sqlError { _ = try s.execute(#"INSERT INTO t {"id": 9}"#) }?.code == .readOnlySQLTransaction)
        _ = try s.execute("RESET drift.as_of")
        #expect(try s.rows("SELECT v FROM t") == [])
        _ = try s.execute("BEGIN AS OF @seq:\(s2)")
        #expect(try s.rows("SELECT v FROM t") == [["uno"]])
        #expect(sqlError { _ = try s.execute(#"PATCH t KEY 1 SET {"v": "x"}"#) }?.code == .readOnlySQLTransaction)
        _ = try s.execute("ROLLBACK")
    }

    /// A table created in the open transaction has no committed version yet: its history is
    /// empty, as is the history of one dropped and created again under the same name.
    @Test func historyOfATableCreatedInTheOpenTransactionIsEmpty() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("CREATE TABLE old (a int); INSERT INTO old VALUES (1)")
        _ = try s.execute("BEGIN")
        _ = try s.execute("CREATE TABLE n (a int); INSERT INTO n VALUES (1)")
        #expect(try s.rows("SELECT a FROM n FOR SYSTEM_TIME ALL") == [])
        #expect(try s.rows("SELECT a FROM n") == [["1"]])
        _ = try s.execute("DROP TABLE old; CREATE TABLE old (a int)")
        #expect(try s.rows("SELECT a FROM old FOR SYSTEM_TIME ALL") == [])
        _ = try s.execute("COMMIT")
        #expect(try s.rows("SELECT a FROM n FOR SYSTEM_TIME ALL") == [["1"]])
    }

    /// A dropped table's rows stay readable as of seqs before the drop (point reads, scans,
    /// index ranges, older versions) while its store gives up their images and index trees: live,
    /// after a restart that replays the drop, and after one from a snapshot taken before it.
    @Test func droppedTableKeepsItsHistoryButNotItsMemory() throws {
        let (s, e, fs) = try memorySession()
        _ = try s.execute("CREATE TABLE d (id int PRIMARY KEY, v text, n int); CREATE INDEX d_v ON d (v)")
        _ = try s.execute("INSERT INTO d SELECT g, 'v' || g, g % 7 FROM generate_series(1, 300) g")
        _ = try s.execute("UPDATE d SET v = 'w' || id WHERE id % 10 = 0")
        let before = e.visibleSeq
        let queries = [
            ("SELECT v, n FROM d AS OF @seq:\(before) WHERE id = 20", [["w20", "6"]]),
            ("SELECT id FROM d AS OF @seq:\(before) WHERE v = 'v21'", [["21"]]),
            ("SELECT count(*), sum(n) FROM d AS OF @seq:\(before)", [["300", "903"]]),
            ("SELECT id FROM d AS OF @seq:\(before) WHERE v BETWEEN 'w10' AND 'w12' ORDER BY id", [["10"], ["100"], ["110"]]),
            ("SELECT v FROM d AS OF @seq:\(before - 1) WHERE id = 30", [["v30"]]),
        ]
        let expected = try queries.map { try s.rows($0.0) }
        #expect(expected == queries.map(\.1))
        let id = try #require(e.latestCatalog.table("d")).id
        _ = try e.snapshot()
        _ = try s.execute("DROP TABLE d")
        let store = try #require(e.store(id))
        #expect(store.retired && store.images.isEmpty && store.indexes.isEmpty)
        #expect(try queries.map { try s.rows($0.0) } == expected)
        e.close()
        // From the snapshot taken before the drop (the drop replayed), then from one taken after.
        for _ in 0..<2 {
            let e2 = try Engine.open(at: "/db", config: EngineConfig(), fs: fs, logger: TestLog.logger)
            let s2 = Session(engine: e2)
            let store2 = try #require(e2.store(id))
            #expect(store2.retired && store2.images.isEmpty && store2.indexes.isEmpty)
            #expect(try queries.map { try s2.rows($0.0) } == expected)
            _ = try e2.snapshot()
            e2.close()
            #expect(try Doctor.check(directory: "/db", fs: fs, logger: TestLog.logger).isHealthy)
        }
    }

    /// An index range read part-way when the index goes (DROP INDEX, or DROP TABLE, which
    /// releases the table's index trees) finishes from a keyed scan, from the key after the
    /// last one it visited: a REPEATABLE READ reader gets every row once, in index order.
    @Test func anIndexRangeGoneMidScanFinishesFromAKeyedScan() throws {
        for drop in ["DROP INDEX r_v", "DROP TABLE r"] {
            let (s, e, _) = try memorySession()
            defer { e.close() }
            _ = try s.execute("CREATE TABLE r (id int PRIMARY KEY, v int); CREATE INDEX r_v ON r (v)")
            _ = try s.execute("INSERT INTO r SELECT g, 30000 - g FROM generate_series(1, 20000) g")
            let table = try #require(e.latestCatalog.table("r"))
            let index = try #require(table.indexes.first { $0.name == "r_v" })
            let t = e.begin(isolation: .repeatableRead, readOnly: true)
            defer { t.rollback() }
            var ids: [Int64] = []
            let other = Session(engine: e)
            try t.indexScan(table, index: index.id, lower: IndexBound(prefix: KeyCodec.encode(.int(20000)), inclusive: true),
                            upper: IndexBound(prefix: KeyCodec.encode(.int(20599)), inclusive: true)) { row in
                if ids.isEmpty { _ = try other.execute(drop) }
                let values = try RowCodec.decode(row.image, missing: table.missingValues)
                if case .int(let id) = values[0] { ids.append(id) }
                return true
            }
            #expect(e.latestCatalog.table("r")?.indexes.contains { $0.name == "r_v" } != true, "\(drop)")
            #expect(ids == Array((9401...10000).reversed()), "\(drop): \(ids.count) rows")
        }
    }

    @Test func transactionBlocksBehaveAsInPostgreSQL() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute(#"CREATE TABLE t (pk=id)"#)
        _ = try s.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        #expect(try s.rows("SHOW transaction_isolation") == [["repeatable read"]])
        _ = try s.execute(#"INSERT INTO t {"id": 1}"#)
        _ = try s.execute("SAVEPOINT a")
        _ = try s.execute(#"INSERT INTO t {"id": 2}"#)
        #expect(sqlError { _ = try s.execute("SELECT nope FROM t") }?.code == .undefinedColumn)
        #expect(sqlError { _ = try s.execute("SELECT id FROM t") }?.code == .inFailedSQLTransaction)
        _ = try s.execute("ROLLBACK TO SAVEPOINT a")
        #expect(try s.rows("SELECT id FROM t") == [["1"]])
        #expect(try s.execute("COMMIT")[0].tag == "COMMIT")
        #expect(try s.rows("SELECT id FROM t") == [["1"]])
        // An error in a block makes COMMIT roll back.
        _ = try s.execute("BEGIN")
        _ = try s.execute(#"INSERT INTO t {"id": 3}"#)
        #expect(sqlError { _ = try s.execute(#"INSERT INTO t {"id": 1}"#) }?.code == .uniqueViolation)
        #expect(try s.execute("COMMIT")[0].tag == "ROLLBACK")
        #expect(try s.rows("SELECT id FROM t ORDER BY id") == [["1"]])
        #expect(try s.execute("COMMIT")[0].notices == ["WARNING: there is no transaction in progress"])
        #expect(sqlError { _ = try s.execute("SAVEPOINT x") }?.code == .noActiveSQLTransaction)
        #expect(sqlError { _ = try s.execute("SET no_such_setting = 1") }?.code == .undefinedObject)
        #expect(sqlError { _ = try s.execute("LOCK TABLE t") }?.code == SQLState("25P01"))
    }

    @Test func expressionsAndErrorsFollowPostgreSQL() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        #expect(try s.rows("SELECT 7 / 2, 7 % 3, -7 / 2, 2.5 * 2, 'a' || 'b', 1 = 1, NULL IS NULL") ==
                [["3", "1", "-3", "5.0", "ab", "t", "t"]])
        #expect(sqlError { _ = try s.execute("SELECT 1 / 0") }?.code == .divisionByZero)
        #expect(sqlError { _ = try s.execute("SELECT 2147483647 + 1") }?.code == .numericValueOutOfRange)
        #expect(try s.rows("SELECT 2147483647::int8 + 1") == [["2147483648"]])
        #expect(sqlError { _ = try s.execute("SELECT 'abc'::int") }?.code == .invalidTextRepresentation)
        #expect(sqlError { _ = try s.execute("SELEC 1") }?.code == .syntaxError)
        let err = sqlError { _ = try s.execute("SELECT 1 FROM nope") }
        #expect(err?.code == .undefinedTable && err?.position == 15)
        #expect(try s.rows("SELECT 'x' LIKE 'x%', 'abc' NOT LIKE '_b_', 3 BETWEEN 1 AND 5, 4 IN (1, 2)") == [["t", "f", "t", "f"]])
    }
}

/// ISO-8601 text of a unix-µs time, as a client would write it.
func formatTimestampISO(_ micros: Int64) -> String {
    Value.timestamptz(PGTime.fromUnix(micros)).pgText!.replacingOccurrences(of: " ", with: "T")
}

extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }
}
