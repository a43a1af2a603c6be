import DriftCore
import DriftStorage

/// One client's session: runs statements (SQL through PostgreSQL's grammar, or DriftQL),
/// keeps its transaction block, isolation and settings, and turns errors inside a block
/// into the aborted state (25P02 until ROLLBACK), as PostgreSQL does.
public final class Session {
    public let engine: Engine
    /// The open transaction block (after BEGIN), if any.
    public private(set) var block: Transaction?
    var blockAsOf: UInt64?
    var settings: [String: String] = Session.defaultSettings
    /// `SET drift.as_of`: every read of the session sees this point; writes fail with 25006.
    var sessionAsOf: TimeTarget?

    static let defaultSettings: [String: String] = [
        "server_version": "15.0 (DriftDB)", "server_encoding": "UTF8", "client_encoding": "UTF8",
        "datestyle": "ISO, MDY", "timezone": "UTC", "intervalstyle": "postgres", "integer_datetimes": "on",
        "standard_conforming_strings": "on", "application_name": "", "extra_float_digits": "1",
        "search_path": "\"$user\", public", "default_transaction_isolation": "read committed",
        "default_transaction_read_only": "off", "lock_timeout": "0", "statement_timeout": "0", "drift.as_of": "",
    ]

    public init(engine: Engine) { self.engine = engine }

    public var inTransactionBlock: Bool { block != nil }

    /// Runs every statement of `sql` in order (each in its own transaction unless a block is
    /// open) and returns one result per statement. Stops at the first error.
    public func execute(_ sql: String, parameters: [Value] = []) throws -> [StatementResult] {
        var out: [StatementResult] = []
        for statement in try splitOrFail(sql) {
            out.append(try executeOne(statement, parameters: parameters))
        }
        return out
    }

    func splitOrFail(_ sql: String) throws -> [String] {
        do {
            return try Lexer.splitStatements(sql)
        } catch let e as LexError {
            throw SQLError(.syntaxError, e.message, position: e.offset + 1)
        }
    }

    /// Runs one statement.
    public func executeOne(_ sql: String, parameters: [Value] = []) throws -> StatementResult {
        do {
            if let drift = try DriftQLParser.parse(sql) {
                return try runDriftQL(drift)
            }
            let tokens: [Token]
            do {
                tokens = try Lexer.tokenize(sql)
            } catch let e as LexError {
                throw SQLError(.syntaxError, e.message, position: e.offset + 1)
            }
            if tokens.isEmpty { return StatementResult(tag: "") }
            let prepass = try TemporalPrepass(sql, tokens: tokens)
            let statements = try ASTBuilder.statements(sql: prepass.sql)
            var last = StatementResult(tag: "")
            for s in statements { last = try run(attach(prepass.clauses, to: s), parameters: parameters) }
            return last
        } catch {
            if let b = block, b.state == .active { b.markFailed() }
            if let e = error as? StorageError { throw SQLError(storageError: e) }
            throw error
        }
    }

    /// Binds temporal clauses to the table references they follow (by byte offset); the rest
    /// apply to the whole statement.
    func attach(_ clauses: [TemporalClause], to s: Statement) throws -> Statement {
        guard !clauses.isEmpty else { return s }
        switch s {
        case .select(var sel):
            for c in clauses {
                if let loc = c.tableLocation, let i = sel.from.firstIndex(where: { $0.location == loc }) {
                    sel.from[i].temporal = c.spec
                } else {
                    guard sel.temporal == nil else { throw SQLError(.syntaxError, "more than one AS OF clause for the statement") }
                    sel.temporal = c.spec
                }
            }
            return .select(sel)
        case .transaction(.begin(let iso, let ro), _):
            guard clauses.count == 1, case .asOf = clauses[0].spec else {
                throw SQLError(.syntaxError, "BEGIN accepts one AS OF clause")
            }
            return .transaction(.begin(isolation: iso, readOnly: ro), asOf: clauses[0].spec)
        default:
            throw SQLError(.syntaxError, "AS OF applies to SELECT and BEGIN only")
        }
    }

    func run(_ s: Statement, parameters: [Value]) throws -> StatementResult {
        if let b = block, b.state == .failed {
            switch s {
            case .transaction(.rollback, _), .transaction(.rollbackTo, _), .transaction(.commit, _): break
            default:
                throw SQLError(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
            }
        }
        switch s {
        case .empty: return StatementResult(tag: "")
        case .select(let sel): return try withTransaction { try self.select(sel, in: $0, parameters: parameters) }
        case let .transaction(t, asOf): return try transactionControl(t, asOf: asOf)
        case let .set(name, value, _): return try set(name, value)
        case .show(let name): return try show(name)
        case .driftQL(let d): return try runDriftQL(d)
        }
    }

    /// Runs `body` in the open block, or in a transaction of its own that commits when it succeeds.
    func withTransaction(readOnly: Bool = false, _ body: (Transaction) throws -> StatementResult) throws -> StatementResult {
        if let b = block {
            b.beginStatement()
            return try body(b)
        }
        let asOf = try sessionAsOf.map { try resolveSessionTarget($0) }
        let isolation = try isolationSetting("default_transaction_isolation")
        let t = engine.begin(isolation: isolation, readOnly: readOnly || settings["default_transaction_read_only"] == "on", asOf: asOf)
        applyLockTimeout(t)
        t.beginStatement()
        do {
            let r = try body(t)
            try t.commit()
            return r
        } catch {
            t.rollback()
            throw error
        }
    }

    func resolveSessionTarget(_ t: TimeTarget) throws -> UInt64 {
        switch t {
        case .seq(let n):
            guard n <= engine.visibleSeq else {
                throw SQLError(.invalidParameterValue, "seq \(n) is in the future: the newest committed seq is \(engine.visibleSeq)")
            }
            return n
        case .timestamp(let us): return engine.seq(atOrBefore: us)
        case .now: return engine.visibleSeq
        }
    }

    /// Runs a SELECT built without SQL text (the CLI's `select` command).
    public func run(_ s: SelectStatement) throws -> StatementResult {
        try run(.select(s), parameters: [])
    }

    /// Runs a DriftQL statement built without text (the CLI's `drift` command).
    public func run(_ d: DriftQLStatement) throws -> StatementResult {
        try runDriftQL(d)
    }

    func select(_ s: SelectStatement, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        let planner = Planner(engine: engine, txn: t, parameters: parameters, statementTime: wallClockMicros())
        let (root, columns) = try planner.plan(s)
        var rows: [[Value]] = []
        while let b = try root.next() {
            for i in 0..<b.count { rows.append(b.row(i)) }
        }
        return StatementResult(tag: "SELECT \(rows.count)", columns: columns, rows: rows)
    }

    // MARK: Transaction control

    func transactionControl(_ t: TransactionStatement, asOf: TemporalSpec?) throws -> StatementResult {
        switch t {
        case let .begin(isolation, readOnly):
            if block != nil {
                return StatementResult(tag: "BEGIN", notices: ["WARNING: there is already a transaction in progress"])
            }
            var seq: UInt64?
            if case .asOf(let target)? = asOf { seq = try resolveSessionTarget(target) } else if let s = sessionAsOf {
                seq = try resolveSessionTarget(s)
            }
            let iso = try isolation ?? isolationSetting("default_transaction_isolation")
            let b = engine.begin(isolation: iso, readOnly: readOnly ?? (settings["default_transaction_read_only"] == "on"), asOf: seq)
            applyLockTimeout(b)
            block = b
            blockAsOf = seq
            return StatementResult(tag: "BEGIN")
        case .commit:
            guard let b = block else {
                return StatementResult(tag: "COMMIT", notices: ["WARNING: there is no transaction in progress"])
            }
            block = nil
            if b.state == .failed {
                b.rollback()
                return StatementResult(tag: "ROLLBACK")
            }
            try b.commit()
            return StatementResult(tag: "COMMIT")
        case .rollback:
            guard let b = block else {
                return StatementResult(tag: "ROLLBACK", notices: ["WARNING: there is no transaction in progress"])
            }
            block = nil
            b.rollback()
            return StatementResult(tag: "ROLLBACK")
        case .savepoint(let name):
            guard let b = block else {
                throw SQLError(.noActiveSQLTransaction, "SAVEPOINT can only be used in transaction blocks")
            }
            try b.savepoint(name)
            return StatementResult(tag: "SAVEPOINT")
        case .release(let name):
            guard let b = block else {
                throw SQLError(.noActiveSQLTransaction, "RELEASE SAVEPOINT can only be used in transaction blocks")
            }
            try b.release(savepoint: name)
            return StatementResult(tag: "RELEASE")
        case .rollbackTo(let name):
            guard let b = block else {
                throw SQLError(.noActiveSQLTransaction, "ROLLBACK TO SAVEPOINT can only be used in transaction blocks")
            }
            try b.rollback(toSavepoint: name)
            return StatementResult(tag: "ROLLBACK")
        case let .setTransaction(isolation, readOnly):
            guard let b = block else {
                return StatementResult(tag: "SET", notices: ["WARNING: SET TRANSACTION can only be used in transaction blocks"])
            }
            guard !b.hasStarted else {
                throw SQLError(.activeSQLTransaction, "SET TRANSACTION ISOLATION LEVEL must be called before any query")
            }
            let replaced = engine.begin(isolation: isolation ?? b.isolation, readOnly: readOnly ?? b.readOnly, asOf: blockAsOf)
            applyLockTimeout(replaced)
            b.rollback()
            block = replaced
            return StatementResult(tag: "SET")
        }
    }

    func isolationSetting(_ name: String) throws -> IsolationLevel {
        try ASTBuilder.isolation(settings[name] ?? "read committed")
    }

    func applyLockTimeout(_ t: Transaction) {
        if let ms = Int(settings["lock_timeout"] ?? "0"), ms > 0 { t.lockTimeoutNanos = UInt64(ms) * 1_000_000 }
    }

    // MARK: Settings

    func set(_ name: String, _ value: String?) throws -> StatementResult {
        let key = name.lowercased()
        if key == "drift.as_of" {
            if let v = value, !v.isEmpty {
                guard block == nil else { throw SQLError(.activeSQLTransaction, "SET drift.as_of cannot run inside a transaction block") }
                sessionAsOf = try TemporalPrepass.parseTarget(v, position: nil)
                settings[key] = v
            } else {
                sessionAsOf = nil
                settings[key] = ""
            }
            return StatementResult(tag: "SET")
        }
        guard Session.defaultSettings[key] != nil || key.contains(".") else {
            throw SQLError(.undefinedObject, "unrecognized configuration parameter \"\(name)\"")
        }
        switch key {
        case "default_transaction_isolation": _ = try ASTBuilder.isolation(value ?? "read committed")
        case "lock_timeout", "statement_timeout":
            if let v = value, Int(v) == nil { throw SQLError(.invalidParameterValue, "invalid value for parameter \"\(name)\": \"\(v)\"") }
        case "timezone":
            if let v = value, !["utc", "gmt", "etc/utc", "z"].contains(v.lowercased()) {
                throw SQLError(.featureNotSupported, "time zone \"\(v)\" is not supported: sessions run in UTC")
            }
        default: break
        }
        settings[key] = value ?? Session.defaultSettings[key] ?? ""
        return StatementResult(tag: "SET")
    }

    func show(_ name: String) throws -> StatementResult {
        let key = name.lowercased()
        let value: String
        switch key {
        case "transaction_isolation", "transaction isolation level":
            let level = try block?.isolation ?? isolationSetting("default_transaction_isolation")
            value = level.description
        case "all":
            return StatementResult(tag: "SHOW", columns: [ResultColumn(name: "name", type: .text), ResultColumn(name: "setting", type: .text)],
                                   rows: settings.sorted { $0.key < $1.key }.map { [.text($0.key), .text($0.value)] })
        default:
            guard let v = settings[key] else {
                throw SQLError(.undefinedObject, "unrecognized configuration parameter \"\(name)\"")
            }
            value = v
        }
        return StatementResult(tag: "SHOW", columns: [ResultColumn(name: key, type: .text)], rows: [[.text(value)]])
    }
}
