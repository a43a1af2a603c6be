import DriftStorage
import DriftTestSupport
import Testing
@testable import DriftCore
@testable import DriftSQL

/// SQLSTATEs with PostgreSQL 15's exact messages. Every expected code, message, detail, hint
/// and position below is what a PostgreSQL 15.18 server gives for the same statement on the
/// same schema. Where DriftDB's text differs from PostgreSQL's, only the code is asserted and
/// the difference is named in a comment.
@Suite struct ErrorCodesTests {
    static let schema = """
        CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, city text);
        CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES customers, amount numeric,
                             note varchar(3), qty int CHECK (qty > 0));
        INSERT INTO customers VALUES (1, 'Ada', 'London'), (2, 'Bo', 'Oslo');
        INSERT INTO orders VALUES (10, 1, 5.5, 'x', 1);
        """

    static let accounts = "CREATE TABLE acct (id int PRIMARY KEY, bal int); INSERT INTO acct VALUES (1, 100), (2, 100)"

    static let aborted = "current transaction is aborted, commands ignored until end of transaction block"

    func session(_ setup: String) throws -> (Session, Engine) {
        let (s, e, _) = try memorySession()
        _ = try s.execute(setup)
        return (s, e)
    }

    // MARK: Parsing and binding: 42601, 42P01, 42703, 42702, 42804, 42883

    @Test func syntaxAndNameErrorsPointAtTheirToken() throws {
        let (s, e) = try session(Self.schema)
        defer { e.close() }
        expectError(s, "SELEC 1", .syntaxError, "syntax error at or near \"SELEC\"", position: 1)
        expectError(s, "SELECT * FROM customers WHERE id = = 1", .syntaxError, "syntax error at or near \"=\"", position: 36)
        // Positions count characters, not bytes.
        expectError(s, "SELECT 'é', * FROM customers WHERE id = = 1", .syntaxError, "syntax error at or near \"=\"", position: 41)
        expectError(s, "SELECT * FROM customers WHERE", .syntaxError, "syntax error at end of input", position: 30)
        // (PostgreSQL says `syntax error at or near ";"` for "SELECT * FROM customers WHERE;";
        // DriftDB splits the statement off its semicolon and says "at end of input".)

        expectError(s, "SELECT * FROM nope", .undefinedTable, "relation \"nope\" does not exist", position: 15)

        // (PostgreSQL adds the hint `Perhaps you meant to reference the column "customers.name".`;
        // DriftDB gives no hint.)
        expectError(s, "SELECT nope FROM customers", .undefinedColumn, "column \"nope\" does not exist", position: 8)
        expectError(s, "SELECT c.nope FROM customers c", .undefinedColumn, "column c.nope does not exist", position: 8)
        expectError(s, "INSERT INTO customers (id, name, nope) VALUES (7, 'x', 1)", .undefinedColumn,
                    "column \"nope\" of relation \"customers\" does not exist", position: 34)

        expectError(s, "SELECT id FROM customers, orders", .ambiguousColumn, "column reference \"id\" is ambiguous", position: 8)
        expectError(s, "SELECT * FROM customers c JOIN orders o ON id = 1", .ambiguousColumn,
                    "column reference \"id\" is ambiguous", position: 44)

        expectError(s, "SELECT 1 WHERE 1", .datatypeMismatch, "argument of WHERE must be type boolean, not type integer", position: 16)

        let noOperator = "No operator matches the given name and argument types. You might need to add explicit type casts."
        let noFunction = "No function matches the given name and argument types. You might need to add explicit type casts."
        expectError(s, "SELECT name + 1 FROM customers", .undefinedFunction, "operator does not exist: text + integer",
                    hint: noOperator, position: 13)
        expectError(s, "SELECT count(*) FROM customers WHERE name = 1", .undefinedFunction, "operator does not exist: text = integer",
                    hint: noOperator, position: 43)
        expectError(s, "SELECT nosuch(1)", .undefinedFunction, "function nosuch(integer) does not exist", hint: noFunction, position: 8)
        expectError(s, "SELECT length(1, 2, 3)", .undefinedFunction, "function length(integer, integer, integer) does not exist",
                    hint: noFunction, position: 8)
        // (PostgreSQL: 42883 "operator does not exist: text ~~ integer" at 36 for
        // "SELECT * FROM customers WHERE name LIKE 1"; DriftDB: 42804 "expression is of type
        // integer, which cannot be used as text".)
    }

    // MARK: Constraints: 23505, 23503, 23502, 23514

    @Test func constraintViolationsNameTheConstraintAndTheRow() throws {
        let (s, e) = try session(Self.schema)
        defer { e.close() }
        expectError(s, "INSERT INTO customers VALUES (1, 'Dup', NULL)", .uniqueViolation,
                    "duplicate key value violates unique constraint \"customers_pkey\"", detail: "Key (id)=(1) already exists.")
        expectError(s, "INSERT INTO customers (id, name) VALUES (1, 'x')", .uniqueViolation,
                    "duplicate key value violates unique constraint \"customers_pkey\"", detail: "Key (id)=(1) already exists.")

        expectError(s, "INSERT INTO orders VALUES (11, 9, 1, 'x', 1)", .foreignKeyViolation,
                    "insert or update on table \"orders\" violates foreign key constraint \"orders_customer_fkey\"",
                    detail: "Key (customer)=(9) is not present in table \"customers\".")
        expectError(s, "DELETE FROM customers WHERE id = 1", .foreignKeyViolation,
                    "update or delete on table \"customers\" violates foreign key constraint \"orders_customer_fkey\" on table \"orders\"",
                    detail: "Key (id)=(1) is still referenced from table \"orders\".")

        expectError(s, "INSERT INTO customers (id) VALUES (3)", .notNullViolation,
                    "null value in column \"name\" of relation \"customers\" violates not-null constraint",
                    detail: "Failing row contains (3, null, null).")
        expectError(s, "UPDATE customers SET name = NULL WHERE id = 1", .notNullViolation,
                    "null value in column \"name\" of relation \"customers\" violates not-null constraint",
                    detail: "Failing row contains (1, null, London).")

        expectError(s, "INSERT INTO orders VALUES (12, 1, 1, 'x', 0)", .checkViolation,
                    "new row for relation \"orders\" violates check constraint \"orders_qty_check\"",
                    detail: "Failing row contains (12, 1, 1, x, 0).")

        // Nothing of the failed statements was kept.
        #expect(try s.rows("SELECT count(*) FROM customers") == [["2"]])
        #expect(try s.rows("SELECT count(*) FROM orders") == [["1"]])
    }

    // MARK: Data: 22001, 22003, 22012, 22P02

    @Test func dataExceptions() throws {
        let (s, e) = try session(Self.schema)
        defer { e.close() }
        // (PostgreSQL gives 22001 and the 22003s of a cast or an INSERT value without a position;
        // DriftDB adds one: 38 here, 8 for "SELECT 99999999999::int", 31 for the INSERT below.)
        expectError(s, "INSERT INTO orders VALUES (13, 1, 1, 'long', 1)", .stringDataRightTruncation,
                    "value too long for type character varying(3)")
        #expect(try s.rows("SELECT 'xyz'::varchar(2)") == [["xy"]])

        #expect(expectError(s, "SELECT 2147483647 + 1", .numericValueOutOfRange, "integer out of range")?.position == nil)
        #expect(expectError(s, "SELECT 9223372036854775807::bigint + 1", .numericValueOutOfRange, "bigint out of range")?.position == nil)
        expectError(s, "SELECT 99999999999::int", .numericValueOutOfRange, "integer out of range")
        expectError(s, "INSERT INTO customers VALUES (70000000000, 'n', NULL)", .numericValueOutOfRange, "integer out of range")

        for sql in ["SELECT 1 / 0", "SELECT 1.0 / 0", "SELECT 5 % 0"] {
            #expect(expectError(s, sql, .divisionByZero, "division by zero")?.position == nil)
        }

        expectError(s, "SELECT 'x'::int", .invalidTextRepresentation, "invalid input syntax for type integer: \"x\"", position: 8)
        expectError(s, "INSERT INTO customers VALUES ('x', 'n', NULL)", .invalidTextRepresentation,
                    "invalid input syntax for type integer: \"x\"", position: 31)
        expectError(s, "UPDATE customers SET id = 'abc'", .invalidTextRepresentation,
                    "invalid input syntax for type integer: \"abc\"", position: 27)
        expectError(s, "SELECT 'abc'::numeric", .invalidTextRepresentation, "invalid input syntax for type numeric: \"abc\"", position: 8)
        expectError(s, "SELECT 'maybe'::boolean", .invalidTextRepresentation, "invalid input syntax for type boolean: \"maybe\"", position: 8)
        // (PostgreSQL points at the literal, position 8, for "SELECT 'a' + 1"; DriftDB at the operator, 12.)
        expectError(s, "SELECT 'a' + 1", .invalidTextRepresentation, "invalid input syntax for type integer: \"a\"")
    }

    // MARK: Transaction states: 25P02, 25006

    @Test func anErrorAbortsTheBlockUntilItsEnd() throws {
        let (s, e) = try session(Self.accounts)
        defer { e.close() }
        _ = try s.execute("BEGIN; UPDATE acct SET bal = 0 WHERE id = 1")
        expectError(s, "SELECT 1 / 0", .divisionByZero, "division by zero")
        expectError(s, "SELECT 1", .inFailedSQLTransaction, Self.aborted)
        expectError(s, "UPDATE acct SET bal = 1 WHERE id = 2", .inFailedSQLTransaction, Self.aborted)
        // COMMIT of a failed block rolls it back, as in PostgreSQL.
        #expect(try s.executeOne("COMMIT").tag == "ROLLBACK")
        #expect(try s.rows("SELECT bal FROM acct ORDER BY id") == [["100"], ["100"]])

        _ = try s.execute("BEGIN")
        expectError(s, "SELECT * FROM nope", .undefinedTable, "relation \"nope\" does not exist", position: 15)
        expectError(s, "SELECT 1", .inFailedSQLTransaction, Self.aborted)
        #expect(try s.executeOne("ROLLBACK").tag == "ROLLBACK")
        #expect(try s.rows("SELECT 1") == [["1"]])
    }

    @Test func writesInAReadOnlyTransactionFail() throws {
        let (s, e) = try session(Self.accounts + "; CREATE SEQUENCE sq")
        defer { e.close() }
        _ = try s.execute("BEGIN READ ONLY")
        expectError(s, "INSERT INTO acct VALUES (3, 0)", .readOnlySQLTransaction, "cannot execute INSERT in a read-only transaction")
        _ = try s.execute("ROLLBACK; BEGIN READ ONLY")
        expectError(s, "SELECT nextval('sq')", .readOnlySQLTransaction, "cannot execute nextval() in a read-only transaction")
        _ = try s.execute("ROLLBACK")
        // The message names the statement, as PostgreSQL's does.
        for (sql, postgres) in [
            ("UPDATE acct SET bal = 0", "cannot execute UPDATE in a read-only transaction"),
            ("DELETE FROM acct", "cannot execute DELETE in a read-only transaction"),
            ("SELECT * FROM acct FOR UPDATE", "cannot execute SELECT FOR UPDATE in a read-only transaction"),
            ("CREATE TABLE z (a int)", "cannot execute CREATE TABLE in a read-only transaction"),
        ] {
            _ = try s.execute("BEGIN READ ONLY")
            let err = sqlError { _ = try s.execute(sql) }
            #expect(err?.code == .readOnlySQLTransaction, "\(sql)")
            #expect(err?.message == postgres)
            _ = try s.execute("ROLLBACK")
        }
        _ = try s.execute("SET default_transaction_read_only = on")
        expectError(s, "INSERT INTO acct VALUES (3, 0)", .readOnlySQLTransaction, "cannot execute INSERT in a read-only transaction")
        _ = try s.execute("SET default_transaction_read_only = off")
        _ = try s.execute("INSERT INTO acct VALUES (3, 0)")
        #expect(try s.rows("SELECT count(*) FROM acct") == [["3"]])
    }

    /// Writes against a past point are DriftDB's own case of 25006 (PostgreSQL has no AS OF).
    @Test func writesAgainstThePastAreReadOnly() throws {
        let (s, e) = try session(Self.accounts)
        defer { e.close() }
        let then = e.visibleSeq
        _ = try s.execute("UPDATE acct SET bal = 50 WHERE id = 1")
        for write in ["INSERT INTO acct VALUES (3, 0)", "UPDATE acct SET bal = 0", "DELETE FROM acct",
                      "SELECT * FROM acct FOR UPDATE"] {
            _ = try s.execute("BEGIN AS OF @seq:\(then)")
            #expect(try s.rows("SELECT bal FROM acct WHERE id = 1") == [["100"]])
            let err = sqlError { _ = try s.execute(write) }
            #expect(err?.code == .readOnlySQLTransaction, "\(write)")
            #expect(err?.message.contains("AS OF") == true, "\(write): \(err?.message ?? "no error")")
            _ = try s.execute("ROLLBACK")
        }
        for write in ["UPDATE acct AS OF @seq:\(then) SET bal = 0", "DELETE FROM acct AS OF @seq:\(then)",
                      "INSERT INTO acct AS OF @seq:\(then) VALUES (5, 5)", "SELECT * FROM acct AS OF @seq:\(then) FOR UPDATE"] {
            #expect(sqlError { _ = try s.execute(write) }?.code == .readOnlySQLTransaction, "\(write)")
        }
        _ = try s.execute("SET drift.as_of = '@seq:\(then)'")
        #expect(sqlError { _ = try s.execute("INSERT INTO acct VALUES (3, 0)") }?.code == .readOnlySQLTransaction)
        _ = try s.execute("RESET drift.as_of")
        #expect(try s.rows("SELECT id, bal FROM acct ORDER BY id") == [["1", "50"], ["2", "100"]])
    }

    // MARK: 0A000

    @Test func refusedFeatures() throws {
        let (s, e) = try session("CREATE TABLE fp (id int PRIMARY KEY); CREATE TABLE fc (id int REFERENCES fp)")
        defer { e.close() }
        // PostgreSQL refuses this one too, with the same words.
        expectError(s, "TRUNCATE fp", .featureNotSupported, "cannot truncate a table referenced in a foreign key constraint",
                    detail: "Table \"fc\" references \"fp\".",
                    hint: "Truncate table \"fc\" at the same time, or use TRUNCATE ... CASCADE.")
        expectError(s, "SELECT count(*) FROM fp FOR UPDATE", .featureNotSupported, "FOR UPDATE is not allowed with aggregate functions")
        expectError(s, "SELECT DISTINCT id FROM fp FOR UPDATE", .featureNotSupported, "FOR UPDATE is not allowed with DISTINCT clause")
        // PostgreSQL 15 runs these; DriftDB refuses them (for now).
        for sql in ["CREATE TABLE g (a int GENERATED ALWAYS AS (1) STORED)", "LISTEN x", "CREATE MATERIALIZED VIEW mv AS SELECT 1"] {
            #expect(sqlError { _ = try s.execute(sql) }?.code == .featureNotSupported, "\(sql)")
        }
        _ = try s.execute("TRUNCATE fp, fc")
    }

    // MARK: Concurrency: 40001, 40P01, 55P03, 57014

    @Test func repeatableReadFailsOnAConcurrentChange() throws {
        let (s1, e) = try session(Self.accounts)
        defer { e.close() }
        let s2 = Session(engine: e)

        _ = try s1.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        #expect(try s1.rows("SELECT bal FROM acct WHERE id = 1") == [["100"]])
        _ = try s2.execute("UPDATE acct SET bal = bal + 1 WHERE id = 1")
        #expect(try s1.rows("SELECT bal FROM acct WHERE id = 1") == [["100"]])
        expectError(s1, "UPDATE acct SET bal = bal + 1 WHERE id = 1", .serializationFailure,
                    "could not serialize access due to concurrent update")
        expectError(s1, "SELECT 1", .inFailedSQLTransaction, Self.aborted)
        _ = try s1.execute("ROLLBACK")

        _ = try s1.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        #expect(try s1.rows("SELECT count(*) FROM acct") == [["2"]])
        _ = try s2.execute("DELETE FROM acct WHERE id = 2")
        expectError(s1, "UPDATE acct SET bal = bal + 1 WHERE id = 2", .serializationFailure,
                    "could not serialize access due to concurrent delete")
        _ = try s1.execute("ROLLBACK")

        _ = try s1.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        _ = try s1.execute("SELECT 1")
        _ = try s2.execute("UPDATE acct SET bal = bal + 1 WHERE id = 1")
        expectError(s1, "SELECT * FROM acct WHERE id = 1 FOR UPDATE", .serializationFailure,
                    "could not serialize access due to concurrent update")
        _ = try s1.execute("ROLLBACK")

        // READ COMMITTED builds on the newest version instead.
        _ = try s1.execute("BEGIN")
        #expect(try s1.rows("SELECT bal FROM acct WHERE id = 1") == [["102"]])
        _ = try s2.execute("UPDATE acct SET bal = bal + 1 WHERE id = 1")
        #expect(try s1.rows("UPDATE acct SET bal = bal + 1 WHERE id = 1 RETURNING bal") == [["104"]])
        _ = try s1.execute("COMMIT")
    }

    @Test func aLockThatCannotBeHadAtOnce() throws {
        let (s1, e) = try session(Self.accounts)
        defer { e.close() }
        let holder = Session(engine: e)
        _ = try holder.execute("BEGIN; UPDATE acct SET bal = 0 WHERE id = 1")

        expectError(s1, "SELECT * FROM acct WHERE id = 1 FOR UPDATE NOWAIT", .lockNotAvailable,
                    "could not obtain lock on row in relation \"acct\"")
        _ = try s1.execute("BEGIN")
        expectError(s1, "SELECT * FROM acct WHERE id = 1 FOR SHARE NOWAIT", .lockNotAvailable,
                    "could not obtain lock on row in relation \"acct\"")
        _ = try s1.execute("ROLLBACK")
        // The row not held is there to be had.
        #expect(try s1.rows("SELECT id FROM acct WHERE id = 2 FOR UPDATE NOWAIT") == [["2"]])

        // (PostgreSQL gives no DETAIL here, only CONTEXT "while updating tuple (0,1) in relation
        // "acct""; DriftDB adds the detail "while waiting for row in relation "acct"".)
        _ = try s1.execute("SET lock_timeout = 50")
        expectError(s1, "UPDATE acct SET bal = 5 WHERE id = 1", .lockNotAvailable, "canceling statement due to lock timeout")
        _ = try s1.execute("RESET lock_timeout")

        // A statement timeout also ends a lock wait, with 57014.
        _ = try s1.execute("SET statement_timeout = 50")
        expectError(s1, "UPDATE acct SET bal = 5 WHERE id = 1", .queryCanceled, "canceling statement due to statement timeout")
        _ = try s1.execute("RESET statement_timeout")

        _ = try holder.execute("ROLLBACK")
        #expect(try s1.rows("UPDATE acct SET bal = 5 WHERE id = 1 RETURNING bal") == [["5"]])
    }

    @Test func statementTimeoutAndCancelStopALongQuery() throws {
        let (s, e, _) = try memorySession()
        defer { e.close() }
        _ = try s.execute("SET statement_timeout = 50")
        let started = monotonicNanos()
        expectError(s, "SELECT count(*) FROM generate_series(1, 100000000)", .queryCanceled,
                    "canceling statement due to statement timeout")
        #expect(monotonicNanos() - started < 5_000_000_000)
        _ = try s.execute("SET statement_timeout = 0")
        #expect(try s.rows("SELECT count(*) FROM generate_series(1, 1000)") == [["1000"]])

        // A cancel from another thread (what a client's cancel request does). It is repeated until
        // the statement has ended, so one that lands before the statement begins is not lost.
        let interrupt = s.interrupt
        let finished = SharedValue(false)
        let canceller = Worker {
            pause(ms: 20)
            while !finished.get() {
                interrupt.cancel()
                pause(ms: 5)
            }
        }
        let err = sqlError { _ = try s.execute("SELECT count(*) FROM generate_series(1, 100000000)") }
        finished.set(true)
        try canceller.join()
        #expect(err?.code == .queryCanceled)
        #expect(err?.message == "canceling statement due to user request")
        // The next statement runs normally.
        #expect(try s.rows("SELECT 1") == [["1"]])
    }

    @Test func aDeadlockEndsOneOfItsTransactions() throws {
        let (s1, e) = try session(Self.accounts)
        defer { e.close() }
        // A deadlock the detector missed fails with 55P03 after 10 s instead of hanging the test.
        _ = try s1.execute("SET lock_timeout = '10s'")
        _ = try s1.execute("BEGIN; UPDATE acct SET bal = bal - 1 WHERE id = 1")
        let holdsRow2 = SharedValue(false)
        let theirs = SharedValue<SQLError?>(nil)
        let other = Worker {
            let s2 = Session(engine: e)
            _ = try s2.execute("SET lock_timeout = '10s'")
            _ = try s2.execute("BEGIN; UPDATE acct SET bal = bal - 1 WHERE id = 2")
            holdsRow2.set(true)
            let err = sqlError { _ = try s2.execute("UPDATE acct SET bal = bal + 1 WHERE id = 1") }
            theirs.set(err)
            _ = try s2.execute(err == nil ? "COMMIT" : "ROLLBACK")
        }
        let ready = waitUntil { holdsRow2.get() }
        #expect(ready, "the other session never locked row 2")
        pause(ms: 50) // so that the other session is (most likely) already waiting for row 1
        let mine = sqlError { _ = try s1.execute("UPDATE acct SET bal = bal + 1 WHERE id = 2") }
        _ = try s1.execute(mine == nil ? "COMMIT" : "ROLLBACK")
        try other.join()

        // Exactly one of the two is chosen; the other then gets its lock and commits.
        let errors = [mine, theirs.get()].compactMap { $0 }
        #expect(errors.count == 1, "\(errors)")
        if let err = errors.first {
            #expect(err.code == .deadlockDetected)
            #expect(err.message == "deadlock detected")
            #expect(err.hint == "See server log for query details.")
            // (PostgreSQL's DETAIL names processes: "Process 17639 waits for ShareLock on
            // transaction 23709; blocked by process 17638. ..."; DriftDB's names transactions.)
        }
        #expect(try s1.rows("SELECT sum(bal) FROM acct") == [["200"]])
        let balances = try s1.rows("SELECT bal FROM acct ORDER BY id")
        #expect(balances == [["99"], ["101"]] || balances == [["101"], ["99"]])
    }
}

/// Runs `sql` and checks the error's code and message (and detail, hint and position when given).
@discardableResult
private func expectError(_ s: Session, _ sql: String, _ code: SQLState, _ message: String,
                         detail: String? = nil, hint: String? = nil, position: Int? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) -> SQLError? {
    guard let err = sqlError({ _ = try s.execute(sql) }) else {
        Issue.record("\(sql): succeeded, expected \(code.rawValue) \(message)", sourceLocation: sourceLocation)
        return nil
    }
    #expect(err.code == code, "\(sql): \(err.message)", sourceLocation: sourceLocation)
    #expect(err.message == message, "\(sql)", sourceLocation: sourceLocation)
    if let detail { #expect(err.detail == detail, "\(sql)", sourceLocation: sourceLocation) }
    if let hint { #expect(err.hint == hint, "\(sql)", sourceLocation: sourceLocation) }
    if let position { #expect(err.position == position, "\(sql)", sourceLocation: sourceLocation) }
    return err
}

/// A value shared between threads.
private final class SharedValue<T>: @unchecked Sendable {
    private let lock = Lock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
}

/// Runs `body` on its own thread; `join()` waits for it and rethrows its error.
private final class Worker: @unchecked Sendable {
    private var thread: OSThread?
    private var error: (any Error)?

    init(_ body: @escaping @Sendable () throws -> Void) {
        do {
            thread = try OSThread { [unowned self] in
                do { try body() } catch { self.error = error }
            }
        } catch {
            self.error = error
        }
    }

    func join() throws {
        thread?.join()
        thread = nil
        if let error { throw error }
    }
}

private func pause(ms: Int) {
    let deadline = monotonicNanos() + UInt64(ms) * 1_000_000
    let lock = Lock(), cond = Condition()
    lock.withLock { while monotonicNanos() < deadline { _ = cond.wait(lock, deadlineNanos: deadline) } }
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
private func waitUntil(seconds: Int = 10, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicNanos() + UInt64(seconds) * 1_000_000_000
    while !condition() {
        if monotonicNanos() > deadline { return false }
        pause(ms: 1)
    }
    return true
}
