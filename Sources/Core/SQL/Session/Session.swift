#if canImport(Glibc)
import Glibc
#endif
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
    var settings = SessionSettings()
    /// Savepoint names with the settings depth each was taken at (mirrors the block's savepoints).
    var savepointDepths: [(name: String, depth: Int)] = []
    /// The running statement's cancel flag and timeout; `cancel()` may be called from any thread.
    public let interrupt = StatementInterrupt()
    /// Temporal clauses of the running statement, by the byte offset of their table reference.
    var temporalClauses: [Int: TemporalSpec] = [:]
    /// The running statement's foreign-key work (see ForeignKeys.swift).
    var referential = ReferentialQueue()
    /// The transaction of the running statement outside a transaction block.
    var implicitTransaction: Transaction?
    /// Set while EXPLAIN plans an INSERT, UPDATE or DELETE (see `explainHook`).
    var explaining: ExplainCapture?
    /// Plans of repeated simple SELECTs (see `PlanCache`).
    let planCache = PlanCache()
    /// Work for after the running transaction commits; dropped when it rolls back.
    var afterCommit: [() throws -> Void] = []
    /// Temporary tables created ON COMMIT DELETE ROWS or ON COMMIT DROP, by table id.
    var onCommitActions: [UInt32: OnCommitAction] = [:]
    /// Statements stored by PREPARE or `prepare(name:)`.
    var prepared: [String: PreparedStatement] = [:]
    /// Set while a statement is being described rather than run.
    var describing: DescribeCapture?
    var cursors: [String: SQLCursor] = [:]
    /// The parameters of the running statement (DECLARE inside EXECUTE reads them).
    var currentParameters: [Value] = []
    /// Types of `$n` parameters a client declared (prepared statements); nil: inferred.
    var parameterTypes: [SQLType?]?
    /// When the open transaction block began (now() inside it).
    var blockStartTime: Int64?
    /// currval: the last value nextval gave this session, per sequence; lastval's sequence.
    var currentValues: [UInt32: Int64] = [:]
    var lastValueSequence: UInt32?
    /// The user authentication established. SET SESSION AUTHORIZATION changes the session
    /// user (`userName`), never this.
    public internal(set) var authenticatedUser = "driftdb"
    /// Whether the authenticated user was a role when it logged in (if it is gone now, the
    /// session keeps no rights; a user that never was one is trusted as before).
    var authenticatedWasRole = false
    /// Whether it was a superuser then (or no role at all, trusted with every right): what
    /// lets SET SESSION AUTHORIZATION take another role, decided at login as PostgreSQL does.
    var authenticatedIsSuperuser = true
    /// Whether the session user is a role that existed when it became the session user
    /// (SET SESSION AUTHORIZATION takes only existing roles).
    var loginWasRole: Bool { userName == authenticatedUser ? authenticatedWasRole : true }
    /// The client's address as the audit records it (`local` for a Unix socket; nil in-process).
    public var clientAddress: String?
    /// The session user: the authenticated user, or SET SESSION AUTHORIZATION's role.
    public var userName: String { derivedSettings.sessionUser }
    /// The database the session is connected to (`database:` in plugins.yaml).
    public var databaseName = "driftdb"
    /// What pg_backend_pid() returns: the process id a frontend gave the client in
    /// BackendKeyData (the server's own pid outside one).
    public var processId = Int32(truncatingIfNeeded: getpid())

    /// The TimeZone setting as a zone.
    public var timeZone: TimeZoneRule { derivedSettings.timeZone }
    var derived = DerivedSettings()
    private var storedExpressions: [String: Expr] = [:]
    private var parsedTexts: [String: [ParsedStatement]] = [:]
    var boundDefaults: [BoundDefaultKey: (sql: String, stamp: PlanCache.Stamp, expr: BoundExpr)] = [:]
    /// The plan-cache key of the DML statement the simple-query path runs from its cached
    /// parse tree (an UPDATE takes it and keeps its bound plan under it).
    var dmlPlanKey: String?

    /// A value as PostgreSQL's text output in this session (timestamptz in its time zone).
    public func text(_ v: Value, _ type: SQLType) -> String? {
        if case .reg(let kind) = type, case .int(let oid) = v {
            // regclass & co. print names, looked up in the catalog the session sees now.
            let catalog = (block ?? implicitTransaction)?.catalog ?? engine.latestCatalog.adding(temporary: temporaryTables.catalog)
            return CatalogView(catalog: catalog, session: self, engine: engine).regText(oid, kind)
        }
        return SQLText.format(v, type, zone: timeZone)
    }

    public init(engine: Engine) {
        self.engine = engine
        sessionId = engine.newSessionId()
        temporaryTables = TemporaryTables(engine: engine)
    }

    /// This session's temporary tables (dropped with the session).
    let temporaryTables: TemporaryTables

    /// A transaction of this session: it sees the session's temporary tables.
    func beginTransaction(isolation: IsolationLevel, readOnly: Bool, asOf: UInt64?) -> Transaction {
        let t = engine.begin(isolation: isolation, readOnly: readOnly, asOf: asOf)
        t.temporary = temporaryTables
        return t
    }

    deinit {
        temporaryTables.dropAll()
        engine.advisoryLocks.releaseAll(AdvisoryLocks.Holder(session: sessionId, transactional: false))
        engine.advisoryLocks.releaseAll(AdvisoryLocks.Holder(session: sessionId, transactional: true))
    }

    /// This session's number (advisory locks are held by it).
    public let sessionId: UInt64
    var holdsTransactionAdvisoryLocks = false

    func noteAdvisory(transactional: Bool) {
        if transactional { holdsTransactionAdvisoryLocks = true }
    }

    /// A transaction ended: its advisory locks go.
    func releaseTransactionAdvisoryLocks() {
        guard holdsTransactionAdvisoryLocks else { return }
        holdsTransactionAdvisoryLocks = false
        engine.advisoryLocks.releaseAll(AdvisoryLocks.Holder(session: sessionId, transactional: true))
    }

    /// Asks the running statement to stop with 57014 (a client's cancel request).
    public func cancel() { interrupt.cancel() }

    /// `SET drift.as_of`: every read of the session sees this point; writes fail with 25006.
    func sessionAsOf() throws -> TimeTarget? {
        guard let v = settings["drift.as_of"], !v.isEmpty else { return nil }
        return try TemporalPrepass.parseTarget(v, position: nil, dt: DateTimeContext(timeZone: timeZone))
    }

    public var inTransactionBlock: Bool { block != nil }

    /// Whether the open block began implicitly: the statements of one multi-statement query
    /// message, or the extended-protocol messages up to a Sync, run as one transaction, as in
    /// PostgreSQL. It commits when the message (or Sync) ends, an error rolls it back, and a
    /// BEGIN inside it makes it an ordinary block.
    public private(set) var blockIsImplicit = false

    /// Opens an implicit block when no block is open.
    public func beginImplicitBlock() throws {
        guard block == nil else { return }
        _ = try guarded("BEGIN") { try transactionControl(.begin(isolation: nil, readOnly: nil), asOf: nil) }
        blockIsImplicit = true
    }

    /// Ends an implicit block: commits it, or rolls it back when a statement in it failed.
    /// An ordinary block (or none) is left as it is.
    public func endImplicitBlock() throws {
        guard blockIsImplicit, let b = block else { return }
        if b.state == .failed {
            endBlock(committed: false)
            b.rollback()
            return
        }
        _ = try guarded("COMMIT") { try transactionControl(.commit, asOf: nil) }
    }

    /// Marks the open block failed (an error outside a statement: a COPY whose data failed).
    public func failBlock() {
        if let b = block, b.state == .active { b.markFailed() }
    }

    /// Rolls back an implicit block (a statement in it failed).
    public func abortImplicitBlock() {
        guard blockIsImplicit, let b = block else { return }
        endBlock(committed: false)
        b.rollback()
    }

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
        try measured(sql) { try guarded(sql) {
            guard !sql.utf8.contains(0) else {
                throw SQLError(.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x00")
            }
            if let drift = try DriftQLParser.parse(sql) {
                return try runDriftQL(drift)
            }
            if parameters.isEmpty, let cached = try runCached(sql) { return cached }
            var last = StatementResult(tag: "")
            for p in try parsedText(sql) {
                last = try run(p, parameters: parameters)
            }
            return last
        } }
    }

    /// Runs one statement's work under the statement timeout, failing the transaction block
    /// on an error and reporting error positions in characters of `sql`.
    func guarded<T>(_ sql: String, _ body: () throws -> T) throws -> T {
        interrupt.begin(timeoutMillis: derivedSettings.statementTimeoutMillis)
        defer { interrupt.end() }
        do {
            return try body()
        } catch {
            if let b = block, b.state == .active { b.markFailed() }
            if let e = error as? StorageError { throw SQLError(storageError: e) }
            // Positions are byte offsets inside the engine; clients count characters.
            if var e = error as? SQLError, let p = e.position {
                e.position = characterPosition(p, in: sql)
                throw e
            }
            throw error
        }
    }

    /// One parsed statement: the tree, its own text, and the temporal clauses the pre-pass took
    /// out (by the byte offset of the table reference they follow).
    struct ParsedStatement {
        var statement: Statement
        var text: String
        /// Byte offset of the statement's text within the string it came from.
        var offset: Int
        var temporal: [Int: TemporalSpec]
    }

    /// Lexes, takes out temporal clauses, and parses with PostgreSQL's grammar.
    static func parse(_ sql: String, dt: DateTimeContext = DateTimeContext()) throws -> [ParsedStatement] {
        let tokens: [Token]
        do {
            tokens = try Lexer.tokenize(sql)
        } catch let e as LexError {
            throw SQLError(.syntaxError, e.message, position: e.offset + 1)
        }
        if tokens.isEmpty { return [] }
        let prepass = try TemporalPrepass(sql, tokens: tokens, dt: dt)
        let original = Array(sql.utf8)
        var out: [ParsedStatement] = []
        for (statement, _, offset, length) in try ASTBuilder.statementsWithLocations(sql: prepass.sql) {
            let end = min(original.count, offset + length)
            let text = String(decoding: original[min(offset, end)..<end], as: UTF8.self)
            var map: [Int: TemporalSpec] = [:]
            var s = statement
            for c in prepass.clauses where c.position >= offset && c.position < end {
                if let loc = c.tableLocation {
                    map[loc] = c.spec
                    continue
                }
                switch s {
                case .select(var q):
                    guard q.temporal == nil else { throw SQLError(.syntaxError, "more than one AS OF clause for the statement") }
                    q.temporal = c.spec
                    s = .select(q)
                case .transaction(.begin(let iso, let ro), _):
                    guard case .asOf = c.spec else { throw SQLError(.syntaxError, "BEGIN accepts one AS OF clause") }
                    s = .transaction(.begin(isolation: iso, readOnly: ro), asOf: c.spec)
                case .createView, .explain, .declareCursor, .insert, .createTable:
                    // For the statement's query: its tables without a clause of their own.
                    guard map[-1] == nil else { throw SQLError(.syntaxError, "more than one AS OF clause for the statement") }
                    map[-1] = c.spec
                default:
                    throw SQLError(.syntaxError, "AS OF applies to queries and BEGIN only")
                }
            }
            out.append(ParsedStatement(statement: s, text: text, offset: offset, temporal: map))
        }
        return out
    }

    /// A stored query (a view's text), parsed as a statement would be.
    static func parseQuery(_ sql: String, what: String, dt: DateTimeContext = DateTimeContext()) throws -> (Query, [Int: TemporalSpec]) {
        let parsed = try parse(sql, dt: dt)
        guard parsed.count == 1, case .select(let q) = parsed[0].statement else {
            throw SQLError(.dataCorrupted, "\(what) has a stored definition that is not a query")
        }
        return (q, parsed[0].temporal)
    }

    /// A stored expression (a DEFAULT or CHECK), parsed.
    static func parseExpression(_ sql: String) throws -> Expr {
        let parsed = try ASTBuilder.statements(sql: "SELECT " + sql)
        guard parsed.count == 1, case .select(let q) = parsed[0], case .select(let core) = q.body, core.targets.count == 1 else {
            throw SQLError(.dataCorrupted, "stored expression \"\(sql)\" does not parse")
        }
        return core.targets[0].expr
    }

    /// `Session.parse` of a text, kept per session by the text when the parse depends on
    /// nothing else: no AS OF or FOR SYSTEM_TIME clause (their times are read at parse time)
    /// can be in it. What a client repeats without literals (BEGIN, COMMIT, a fixed query)
    /// is parsed once.
    func parsedText(_ sql: String) throws -> [ParsedStatement] {
        if planCacheEnabled, let hit = parsedTexts[sql] { return hit }
        let parsed = try Session.parse(sql, dt: DateTimeContext(timeZone: timeZone, now: blockStartTime ?? PGTime.fromUnix(wallClockMicros())))
        if planCacheEnabled, sql.utf8.count <= 4096, !Session.mayHoldTemporalClause(sql) {
            if parsedTexts.count >= 256 { parsedTexts.removeAll(keepingCapacity: true) }
            parsedTexts[sql] = parsed
        }
        return parsed
    }

    /// Whether a text has the word OF or SYSTEM_TIME anywhere (strings and comments too: a
    /// false yes only costs a parse).
    static func mayHoldTemporalClause(_ sql: String) -> Bool {
        func isWordByte(_ c: UInt8) -> Bool {
            (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "_") || c >= 0x80
        }
        let b = Array(sql.utf8)
        var i = 0
        while i < b.count {
            guard isWordByte(b[i]) else {
                i += 1
                continue
            }
            var j = i
            while j < b.count && isWordByte(b[j]) { j += 1 }
            let n = j - i
            if n == 2, b[i] | 0x20 == UInt8(ascii: "o"), b[i + 1] | 0x20 == UInt8(ascii: "f") { return true }
            if n == 11, String(decoding: b[i..<j], as: UTF8.self).lowercased() == "system_time" { return true }
            i = j
        }
        return false
    }

    /// `parseExpression` for the stored expressions every write binds (defaults, CHECKs),
    /// kept per session by their text.
    func storedExpression(_ sql: String) throws -> Expr {
        if let e = storedExpressions[sql] { return e }
        let e = try Session.parseExpression(sql)
        if storedExpressions.count >= 256 { storedExpressions.removeAll(keepingCapacity: true) }
        storedExpressions[sql] = e
        return e
    }

    func run(_ p: ParsedStatement, parameters: [Value]) throws -> StatementResult {
        let s = p.statement
        if let b = block, b.state == .failed {
            switch s {
            case .transaction(.rollback, _), .transaction(.rollbackTo, _), .transaction(.commit, _): break
            default:
                throw SQLError(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
            }
        }
        if let name = Session.writeName(s) {
            if block != nil && blockAsOf != nil {
                throw SQLError(.readOnlySQLTransaction, "cannot execute \(name) while reading the past (AS OF)")
            }
            if block?.readOnly ?? defaultReadOnly {
                throw SQLError(.readOnlySQLTransaction, "cannot execute \(name) in a read-only transaction")
            }
        }
        temporalClauses = p.temporal
        let savedParameters = currentParameters
        currentParameters = parameters
        defer {
            temporalClauses = [:]
            currentParameters = savedParameters
        }
        switch s {
        case .empty: return StatementResult(tag: "")
        case .select(let q): return try withTransaction { try self.runQuery(q, in: $0, parameters: parameters) }
        case .insert(let i): return try withTransaction { try self.insert(i, in: $0, parameters: parameters) }
        case .update(let u): return try withTransaction { try self.update(u, in: $0, parameters: parameters) }
        case .delete(let d): return try withTransaction { try self.delete(d, in: $0, parameters: parameters) }
        case .createTable(let c): return try withTransaction { try self.createTable(c, in: $0, parameters: parameters) }
        case .createIndex(let c): return try withTransaction { try self.createIndex(c, in: $0) }
        case .createView(let v):
            let (text, offset) = try Session.viewQueryText(p.text)
            return try withTransaction { try self.createView(v, text: text, textOffset: offset, in: $0, parameters: parameters) }
        case .drop(let d): return try withTransaction { try self.drop(d, in: $0) }
        case .truncate(let tables, let restart, let cascade):
            return try withTransaction { try self.truncate(tables, restartIdentity: restart, cascade: cascade, in: $0) }
        case let .explain(inner, analyze, _, _):
            return try withTransaction { try self.explain(inner, analyze: analyze, in: $0, parameters: parameters) }
        case let .transaction(t, asOf): return try transactionControl(t, asOf: asOf)
        case let .set(name, value, local): return try set(name, value, local: local)
        case .show(let name): return try show(name)
        case .driftQL(let d): return try runDriftQL(d)
        case .vacuum(let tables, let analyzeToo):
            guard block == nil else { throw SQLError(.activeSQLTransaction, "VACUUM cannot run inside a transaction block") }
            var named: [TableDef] = []
            for t in tables {
                guard let def = findTable(t.schema, t.name, in: engine.latestCatalog) else {
                    throw SQLError(.undefinedTable, "relation \"\(t.name)\" does not exist")
                }
                named.append(def)
            }
            // VACUUM compacts the whole log: a superuser's (a table's owner's when named).
            try requireMaintenance(of: named, all: true, what: "vacuum")
            _ = try engine.compact(table: nil)
            if analyzeToo { try analyze(tables) }
            return StatementResult(tag: "VACUUM")
        case .analyze(let tables):
            try analyze(tables)
            return StatementResult(tag: "ANALYZE")
        case .checkpoint:
            try requireMaintenance(of: [], all: true, what: "checkpoint")
            _ = try engine.snapshot(table: nil)
            return StatementResult(tag: "CHECKPOINT")
        case .copy(let c): return try copy(c, text: p.text)
        case .createSequence(let c): return try withTransaction { try self.createSequence(c, in: $0) }
        case let .alterSequence(ref, options): return try withTransaction { try self.alterSequence(ref, options, in: $0) }
        case let .createEnum(name, labels): return try withTransaction { try self.createEnum(name, labels, in: $0) }
        case let .createSchema(name, ifNotExists): return try withTransaction { try self.createSchema(name, ifNotExists: ifNotExists, in: $0) }
        case .alterTable(let a): return try withTransaction { try self.alterTable(a, in: $0, parameters: parameters) }
        case let .prepare(name, types, statement, _): return try prepareStatement(name: name, types: types, statement: statement, outer: p)
        case let .execute(name, arguments): return try executeStatement(name: name, arguments: arguments)
        case .deallocate(let name):
            if let name, prepared[name] == nil {
                throw SQLError(SQLState("26000"), "prepared statement \"\(name)\" does not exist")
            }
            deallocate(name)
            return StatementResult(tag: name == nil ? "DEALLOCATE ALL" : "DEALLOCATE")
        case let .declareCursor(name, query, hold, scroll): return try declareCursor(name: name, query: query, hold: hold, scroll: scroll)
        case let .fetch(name, direction, move): return try fetchCursor(name, direction, move: move)
        case .closeCursor(let name): return try closeCursor(name)
        case .discard(let what): return try discard(what)
        case let .lockTable(tables, mode, noWait): return try lockTables(tables, mode: mode, noWait: noWait)
        case let .comment(kind, object, text): return try withTransaction { try self.comment(kind, object, text, in: $0) }
        case .role(let r): return try withTransaction { try self.role(r, in: $0) }
        }
    }

    /// The name PostgreSQL's read-only error gives a writing statement (nil: not a write).
    static func writeName(_ s: Statement) -> String? {
        switch s {
        case .insert: return "INSERT"
        case .copy(let c): return c.isFrom ? "COPY FROM" : nil
        case .update: return "UPDATE"
        case .delete: return "DELETE"
        case .createTable(let c): return c.asQuery == nil ? "CREATE TABLE" : "CREATE TABLE AS"
        case .createIndex: return "CREATE INDEX"
        case .createView: return "CREATE VIEW"
        case .createSequence: return "CREATE SEQUENCE"
        case .alterTable: return "ALTER TABLE"
        case .alterSequence: return "ALTER SEQUENCE"
        case .truncate: return "TRUNCATE TABLE"
        case .comment: return "COMMENT"
        case .role(let r):
            switch r {
            case .create: return "CREATE ROLE"
            case .alter, .rename: return "ALTER ROLE"
            case .drop: return "DROP ROLE"
            case .set: return "ALTER ROLE"
            case .membership(_, _, let grant, _): return grant ? "GRANT ROLE" : "REVOKE ROLE"
            case .privileges(let g): return g.grant ? "GRANT" : "REVOKE"
            case .owner: return "ALTER OWNER"
            case .policy(let p):
                switch p.action {
                case .create: return "CREATE POLICY"
                case .alter, .rename: return "ALTER POLICY"
                case .drop: return "DROP POLICY"
                }
            }
        case .drop(let d):
            switch d.kind {
            case .table: return "DROP TABLE"
            case .view: return "DROP VIEW"
            case .index: return "DROP INDEX"
            case .sequence: return "DROP SEQUENCE"
            default: return "DROP"
            }
        default: return nil
        }
    }

    /// The query of `CREATE VIEW name [(columns)] [WITH (...)] AS query`: the text after the first
    /// top-level AS, as written (temporal clauses included).
    /// The query of a CREATE VIEW statement's text, and the byte offset it starts at.
    static func viewQueryText(_ statement: String) throws -> (String, Int) {
        let tokens = try Lexer.tokenize(statement)
        var depth = 0
        var seenView = false
        for (i, t) in tokens.enumerated() {
            if t.isPunct("(") { depth += 1 } else if t.isPunct(")") { depth -= 1 }
            if t.isKeyword("view") { seenView = true }
            if seenView && depth == 0 && t.isKeyword("as") {
                let start = i + 1 < tokens.count ? tokens[i + 1].start : t.end
                let bytes = Array(statement.utf8)
                var text = String(decoding: bytes[start...], as: UTF8.self)
                while let last = text.last, last == ";" || last.isWhitespace { text.removeLast() }
                return (text, start)
            }
        }
        throw SQLError.bug("CREATE VIEW without AS")
    }

    /// TRUNCATE: one logged truncate event per table (history before it stays readable).
    /// RESTART IDENTITY resets the sequences the tables' columns own once the transaction commits.
    func truncate(_ tables: [TableRef], restartIdentity: Bool, cascade: Bool, in t: Transaction) throws -> StatementResult {
        var targets = try tables.map { try targetTable($0, in: t, verb: "truncate", need: .truncate) }
        // A table referenced by a foreign key is truncated only with its referencing tables.
        var i = 0
        while i < targets.count {
            for other in t.catalog.tables.values.sorted(by: { $0.id < $1.id }) where !targets.contains(where: { $0.id == other.id }) {
                for case .foreignKey(let fk) in other.constraints where fk.refTable == targets[i].id {
                    guard cascade else {
                        throw SQLError(.featureNotSupported, "cannot truncate a table referenced in a foreign key constraint",
                                       detail: "Table \"\(other.name)\" references \"\(targets[i].name)\".",
                                       hint: "Truncate table \"\(other.name)\" at the same time, or use TRUNCATE ... CASCADE.")
                    }
                    if !targets.contains(where: { $0.id == other.id }) {
                        // Each table CASCADE reaches needs TRUNCATE as much as the named ones.
                        if Audit.isAuditTable(other) { throw Self.auditIsAppendOnly() }
                        try requireTablePrivileges(.truncate, other, in: t.catalog)
                        targets.append(other)
                    }
                }
            }
            i += 1
        }
        for table in targets {
            try t.truncate(table)
            guard restartIdentity else { continue }
            for seq in t.catalog.sequences.values where seq.ownedBy?.table == table.id {
                afterCommit.append { [engine] in try engine.sequenceSet(seq, value: seq.start, called: false) }
            }
        }
        return StatementResult(tag: "TRUNCATE TABLE")
    }

    /// ANALYZE: planner statistics for the named tables, or every table, from a sample of
    /// each one's rows as this session sees them.
    func analyze(_ refs: [TableRef]) throws {
        _ = try withTransaction(readOnly: true) { t in
            var tables: [TableDef] = []
            for ref in refs {
                guard let table = findTable(ref.schema, ref.name, in: t.catalog) else {
                    throw SQLError(.undefinedTable, "relation \"\(ref.name)\" does not exist", position: sqlPosition(ref.location))
                }
                tables.append(table)
            }
            if refs.isEmpty { tables = t.catalog.tables.values.sorted { $0.id < $1.id } }
            try requireMaintenance(of: tables, all: refs.isEmpty, what: "analyze")
            for table in tables { engine.setStatistics(try TableStatistics.gather(table, in: t), of: table.id) }
            return StatementResult(tag: "ANALYZE")
        }
    }

    /// Runs `body` in the open block, or in a transaction of its own that commits when it succeeds.
    func withTransaction(readOnly: Bool = false, _ body: (Transaction) throws -> StatementResult) throws -> StatementResult {
        if let b = block {
            b.interrupt = interrupt
            b.beginStatement()
            return try body(b)
        }
        let asOf = try sessionAsOf().map { try resolveSessionTarget($0) }
        let t = beginTransaction(isolation: try isolationSetting(), readOnly: readOnly || defaultReadOnly, asOf: asOf)
        try configure(t)
        t.beginStatement()
        implicitTransaction = t
        defer {
            implicitTransaction = nil
            releaseTransactionAdvisoryLocks()
        }
        do {
            let r = try body(t)
            try runOnCommitActions(t)
            try t.commit()
            try runAfterCommit()
            return r
        } catch {
            afterCommit = []
            t.rollback()
            throw error
        }
    }

    var defaultReadOnly: Bool { settings["default_transaction_read_only"] == "on" }

    func resolveSessionTarget(_ t: TimeTarget) throws -> UInt64 {
        switch t {
        case .seq(let n):
            guard n <= engine.visibleSeq else {
                throw SQLError(.invalidParameterValue, "seq \(n) is in the future: the newest committed seq is \(engine.visibleSeq)")
            }
            return n
        case .timestamp(let us): return engine.seq(atOrBefore: PGTime.unix(us))
        case .now: return engine.visibleSeq
        }
    }

    /// Runs a SELECT built without SQL text (the CLI's `select` command).
    public func run(_ s: SelectStatement) throws -> StatementResult {
        try run(ParsedStatement(statement: .select(s.query), text: "", offset: 0, temporal: [:]), parameters: [])
    }

    /// Runs a DriftQL statement built without text (the CLI's `drift` command).
    public func run(_ d: DriftQLStatement) throws -> StatementResult {
        try runDriftQL(d)
    }

    func select(_ s: SelectStatement, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        try runQuery(s.query, in: t, parameters: parameters)
    }

    // MARK: Transaction control

    func transactionControl(_ t: TransactionStatement, asOf: TemporalSpec?) throws -> StatementResult {
        switch t {
        case let .begin(isolation, readOnly):
            if let b = block, blockIsImplicit {
                // BEGIN inside a multi-statement message or a batch: the implicit block it
                // opened becomes an ordinary one (its characteristics apply if nothing ran yet).
                blockIsImplicit = false
                if (isolation != nil || readOnly != nil) && !b.hasStarted {
                    let replaced = beginTransaction(isolation: isolation ?? b.isolation, readOnly: readOnly ?? b.readOnly, asOf: blockAsOf)
                    try configure(replaced)
                    b.rollback()
                    block = replaced
                }
                return StatementResult(tag: "BEGIN")
            }
            if block != nil {
                return StatementResult(tag: "BEGIN", notices: ["WARNING: there is already a transaction in progress"])
            }
            var seq: UInt64?
            if case .asOf(let target)? = asOf { seq = try resolveSessionTarget(target) } else if let s = try sessionAsOf() {
                seq = try resolveSessionTarget(s)
            }
            let b = beginTransaction(isolation: try isolation ?? isolationSetting(), readOnly: readOnly ?? defaultReadOnly, asOf: seq)
            try configure(b)
            block = b
            blockAsOf = seq
            blockStartTime = PGTime.fromUnix(wallClockMicros())
            settings.beginBlock()
            savepointDepths = []
            return StatementResult(tag: "BEGIN")
        case .commit:
            guard let b = block else {
                return StatementResult(tag: "COMMIT", notices: ["WARNING: there is no transaction in progress"])
            }
            if b.state == .failed {
                endBlock(committed: false)
                b.rollback()
                return StatementResult(tag: "ROLLBACK")
            }
            do {
                try runOnCommitActions(b)
                try b.commit()
            } catch {
                endBlock(committed: false)
                b.rollback()
                throw error
            }
            endBlock(committed: true)
            try runAfterCommit()
            return StatementResult(tag: "COMMIT")
        case .rollback:
            guard let b = block else {
                return StatementResult(tag: "ROLLBACK", notices: ["WARNING: there is no transaction in progress"])
            }
            endBlock(committed: false)
            b.rollback()
            return StatementResult(tag: "ROLLBACK")
        case .savepoint(let name):
            guard let b = block else {
                throw SQLError(.noActiveSQLTransaction, "SAVEPOINT can only be used in transaction blocks")
            }
            try b.savepoint(name)
            savepointDepths.append((name, settings.depth))
            settings.savepoint()
            return StatementResult(tag: "SAVEPOINT")
        case .release(let name):
            guard let b = block else {
                throw SQLError(.noActiveSQLTransaction, "RELEASE SAVEPOINT can only be used in transaction blocks")
            }
            try b.release(savepoint: name)
            if let i = savepointDepths.lastIndex(where: { $0.name == name }) {
                settings.release(toSavepointDepth: savepointDepths[i].depth)
                savepointDepths.removeSubrange(i...)
            }
            return StatementResult(tag: "RELEASE")
        case .rollbackTo(let name):
            guard let b = block else {
                throw SQLError(.noActiveSQLTransaction, "ROLLBACK TO SAVEPOINT can only be used in transaction blocks")
            }
            try b.rollback(toSavepoint: name)
            if let i = savepointDepths.lastIndex(where: { $0.name == name }) {
                settings.rollback(toSavepointDepth: savepointDepths[i].depth)
                savepointDepths.removeSubrange((i + 1)...)
            }
            return StatementResult(tag: "ROLLBACK")
        case let .setTransaction(isolation, readOnly):
            guard let b = block else {
                return StatementResult(tag: "SET", notices: ["WARNING: SET TRANSACTION can only be used in transaction blocks"])
            }
            guard !b.hasStarted else {
                throw SQLError(.activeSQLTransaction, "SET TRANSACTION ISOLATION LEVEL must be called before any query")
            }
            let replaced = beginTransaction(isolation: isolation ?? b.isolation, readOnly: readOnly ?? b.readOnly, asOf: blockAsOf)
            try configure(replaced)
            b.rollback()
            block = replaced
            return StatementResult(tag: "SET")
        }
    }

    /// Closes the block: settings keep or undo its changes, SET LOCAL ends either way.
    /// Runs what waits for the transaction's commit (TRUNCATE ... RESTART IDENTITY's resets).
    func runAfterCommit() throws {
        let work = afterCommit
        afterCommit = []
        for w in work { try w() }
    }

    func endBlock(committed: Bool) {
        if !committed { afterCommit = [] }
        if committed { settings.commitBlock() } else { settings.rollbackBlock() }
        endCursors(committed: committed)
        releaseTransactionAdvisoryLocks()
        savepointDepths = []
        block = nil
        blockIsImplicit = false
        blockAsOf = nil
        blockStartTime = nil
    }

    func isolationSetting() throws -> IsolationLevel {
        try ASTBuilder.isolation(settings["default_transaction_isolation"] ?? "read committed")
    }

    /// Gives a new transaction the session's lock timeout and statement interrupt.
    func configure(_ t: Transaction) throws {
        let ms = try derivedSettings.lockTimeoutMillis ?? SettingDefinition.parseMillis(settings["lock_timeout"] ?? "0", name: "lock_timeout")
        t.lockTimeoutNanos = ms > 0 ? UInt64(ms) * 1_000_000 : nil
        t.interrupt = interrupt
    }

    // MARK: Settings

    func set(_ name: String, _ value: String?, local: Bool) throws -> StatementResult {
        let key = name.lowercased()
        if key == "all" && value == nil {
            try settings.resetAll()
            return StatementResult(tag: "RESET")
        }
        if key == "role" { return try setRoleSetting(value, local: local) }
        if key == "session_authorization" { return try setSessionAuthorization(value, local: local) }
        if key == "drift.as_of" {
            if let v = value, !v.isEmpty {
                guard block == nil else {
                    throw SQLError(.activeSQLTransaction, "SET drift.as_of cannot run inside a transaction block")
                }
                _ = try TemporalPrepass.parseTarget(v, position: nil, dt: DateTimeContext(timeZone: timeZone))
            }
        }
        if let warning = try settings.set(name, value, local: local) {
            return StatementResult(tag: "SET", notices: [warning])
        }
        if let b = block, ["lock_timeout"].contains(key) { try configure(b) }
        return StatementResult(tag: value == nil ? "RESET" : "SET")
    }

    func show(_ name: String) throws -> StatementResult {
        let key = name.lowercased()
        let value: String
        var column = SettingDefinition.byName[key]?.name ?? key
        switch key {
        case "transaction_isolation", "transaction isolation level":
            column = "transaction_isolation"
            value = try (block?.isolation ?? isolationSetting()).description
        case "transaction_read_only":
            value = (block?.readOnly ?? defaultReadOnly) ? "on" : "off"
        case "all":
            return StatementResult(tag: "SHOW", columns: [ResultColumn(name: "name", type: .text), ResultColumn(name: "setting", type: .text)],
                                   rows: settings.all.map { [.text($0.0), .text($0.1)] })
        default:
            guard let v = settings[key] else {
                throw SQLError(.undefinedObject, "unrecognized configuration parameter \"\(name)\"")
            }
            value = v
        }
        return StatementResult(tag: "SHOW", columns: [ResultColumn(name: column, type: .text)], rows: [[.text(value)]])
    }
}
