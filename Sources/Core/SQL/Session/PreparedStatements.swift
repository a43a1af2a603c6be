import DriftCore
import DriftStorage

/// A statement parsed once and run many times with `$n` parameters: what the wire protocol's
/// Parse / Describe / Bind / Execute and SQL's PREPARE / EXECUTE use. Its parameter types are
/// inferred as PostgreSQL infers them (from the context each `$n` appears in; a parameter
/// nothing decides is text), and its result description is known before it runs.
public struct PreparedStatement: Sendable {
    public let name: String
    public let text: String
    /// One type per parameter, `$1` first.
    public let parameterTypes: [SQLType]
    /// The columns of the rows it returns; nil when it returns none (DDL, DML without RETURNING).
    public let columns: [ResultColumn]?
    /// The command it is for the four that read or write rows (`SELECT`, `INSERT`, `UPDATE`,
    /// `DELETE`); empty for any other statement.
    public let command: String
    let parsed: Session.ParsedStatement?

    /// An empty query string (EmptyQueryResponse): no statement at all.
    public var isEmpty: Bool { parsed == nil }
}

/// What describing a statement found (filled by the binder hooks, see `describeHook`).
final class DescribeCapture {
    var parameterTypes: [SQLType?] = []
    var columns: [ResultColumn]?
}

/// What EXPLAIN of a data-changing statement found (see `explainHook`).
final class ExplainCapture {
    var title = ""
    var plan: Plan?
    /// EXPLAIN ANALYZE: the statement runs, its execution contexts count rows and time.
    var analyze = false
    var contexts: [ExecContext] = []
}

/// Thrown by a describe hook once the statement is bound: nothing runs, and the transaction
/// it was bound in is rolled back.
struct DescribeDone: Error {}

extension Session {
    /// Parses and describes `sql` (one statement). `parameterTypes` fixes the types of the
    /// first parameters (nil or `.unknown` entries are inferred). A non-empty `name` stores
    /// it for `EXECUTE name` and `preparedStatement(named:)` (42P05 if taken).
    public func prepare(_ sql: String, name: String = "", parameterTypes given: [SQLType?] = []) throws -> PreparedStatement {
        try guarded(sql) {
            if !name.isEmpty, prepared[name] != nil {
                throw SQLError(SQLState("42P05"), "prepared statement \"\(name)\" already exists")
            }
            let dt = DateTimeContext(timeZone: timeZone, now: blockStartTime ?? PGTime.fromUnix(wallClockMicros()))
            let parsed = try Session.parse(sql, dt: dt)
            guard parsed.count <= 1 else {
                throw SQLError(.syntaxError, "cannot insert multiple commands into a prepared statement")
            }
            let p: PreparedStatement
            if let first = parsed.first {
                p = try describe(first, name: name, text: sql, given: given)
            } else {
                p = PreparedStatement(name: name, text: sql, parameterTypes: given.map { $0 ?? .text }, columns: nil, command: "",
                                      parsed: nil)
            }
            if !name.isEmpty { prepared[name] = p }
            return p
        }
    }

    /// A statement stored by `prepare(name:)` or SQL's PREPARE.
    public func preparedStatement(named name: String) -> PreparedStatement? { prepared[name] }

    /// Forgets a stored statement (DEALLOCATE, the wire protocol's Close); nil forgets them all.
    public func deallocate(_ name: String?) {
        if let name { prepared[name] = nil } else { prepared.removeAll() }
    }

    /// Runs a prepared statement with one value per parameter, each of its parameter's type.
    public func execute(_ p: PreparedStatement, parameters: [Value]) throws -> StatementResult {
        try measured(p.text) { try guarded(p.text) {
            guard parameters.count == p.parameterTypes.count else {
                throw SQLError(SQLState("08P01"), "bind message supplies \(parameters.count) parameters, but prepared statement \"\(p.name)\" requires \(p.parameterTypes.count)")
            }
            guard let parsed = p.parsed else { return StatementResult(tag: "") }
            return try runPrepared(parsed, types: p.parameterTypes, parameters: parameters)
        } }
    }

    /// Converts parameters given as text (the wire protocol's text format) to their types.
    public func parameterValues(_ p: PreparedStatement, text: [String?]) throws -> [Value] {
        try zip(p.parameterTypes, text).map { type, s in
            guard let s else { return .null }
            return try Coercion.fromText(s, to: type, DateTimeContext(timeZone: timeZone, now: blockStartTime ?? PGTime.fromUnix(wallClockMicros())))
        }
    }

    /// One parameter given as text, converted to `type`.
    public func parameterValue(_ text: String?, as type: SQLType) throws -> Value {
        guard let text else { return .null }
        return try Coercion.fromText(text, to: type, DateTimeContext(timeZone: timeZone, now: blockStartTime ?? PGTime.fromUnix(wallClockMicros())))
    }

    func runPrepared(_ parsed: ParsedStatement, types: [SQLType], parameters: [Value]) throws -> StatementResult {
        let saved = parameterTypes
        parameterTypes = types.map { $0 }
        defer { parameterTypes = saved }
        return try run(parsed, parameters: parameters)
    }

    /// Binds the statement without running it, for its parameter types and result columns.
    func describe(_ parsed: ParsedStatement, name: String, text: String, given: [SQLType?]) throws -> PreparedStatement {
        var columns: [ResultColumn]?
        var types = given.map { $0 == .unknown ? nil : $0 }
        switch parsed.statement {
        case .select, .insert, .update, .delete:
            let capture = DescribeCapture()
            let savedTypes = parameterTypes
            describing = capture
            parameterTypes = types
            defer {
                describing = nil
                parameterTypes = savedTypes
            }
            do {
                _ = try run(parsed, parameters: [])
                throw SQLError.bug("statement ran while being described")
            } catch is DescribeDone {}
            types = capture.parameterTypes
            for (i, g) in given.enumerated() where i < types.count && g != nil && g != .unknown { types[i] = g }
            columns = capture.columns
        case .show(let n):
            if n.lowercased() == "all" {
                columns = [ResultColumn(name: "name", type: .text), ResultColumn(name: "setting", type: .text)]
            } else {
                columns = [ResultColumn(name: SettingDefinition.byName[n.lowercased()]?.name ?? n.lowercased(), type: .text)]
            }
        case .explain:
            columns = [ResultColumn(name: "QUERY PLAN", type: .text)]
        case .execute(let inner, _):
            guard let p = prepared[inner] else {
                throw SQLError(SQLState("26000"), "prepared statement \"\(inner)\" does not exist")
            }
            columns = p.columns
        case let .fetch(cursor, _, move):
            // FETCH returns the cursor's rows (MOVE none); an unknown cursor is 34000 when it runs.
            columns = move ? nil : cursors[cursor]?.columns
        default:
            if !types.isEmpty || parsed.text.contains("$") {
                // Utility statements take no parameters (PostgreSQL binds none for them).
                for (i, t) in types.enumerated() where t == nil { types[i] = .text }
            }
        }
        return PreparedStatement(name: name, text: text, parameterTypes: types.map { $0 ?? .text }, columns: columns,
                                 command: Session.commandName(parsed.statement), parsed: parsed)
    }

    /// Called by every statement that binds a query once it is bound: when describing, stops
    /// there with what the binder found.
    /// EXPLAIN of INSERT/UPDATE/DELETE: once the statement is planned, its plan is taken
    /// and nothing runs.
    func explainHook(_ title: String, _ plan: Plan, _ b: Binder) throws {
        guard let capture = explaining else { return }
        try b.verifyColumnGrants()
        if capture.plan == nil {
            capture.title = title
            capture.plan = plan
        }
        if !capture.analyze { throw DescribeDone() }
    }

    func describeHook(_ b: Binder, columns: [ResultColumn]?) throws {
        guard let capture = describing else { return }
        capture.parameterTypes = b.parameterTypes
        capture.columns = columns
        throw DescribeDone()
    }

    static func commandName(_ s: Statement) -> String {
        switch s {
        case .select: return "SELECT"
        case .insert: return "INSERT"
        case .update: return "UPDATE"
        case .delete: return "DELETE"
        default: return ""
        }
    }

    // MARK: SQL's PREPARE / EXECUTE / DEALLOCATE

    func prepareStatement(name: String, types: [TypeName], statement: Statement, outer: ParsedStatement) throws -> StatementResult {
        if prepared[name] != nil { throw SQLError(SQLState("42P05"), "prepared statement \"\(name)\" already exists") }
        let given = try types.map { try TypeRules.resolve($0) as SQLType? }
        let inner = ParsedStatement(statement: statement, text: outer.text, offset: outer.offset, temporal: outer.temporal)
        prepared[name] = try describe(inner, name: name, text: outer.text, given: given)
        return StatementResult(tag: "PREPARE")
    }

    func executeStatement(name: String, arguments: [Expr]) throws -> StatementResult {
        guard let p = prepared[name] else {
            throw SQLError(SQLState("26000"), "prepared statement \"\(name)\" does not exist")
        }
        guard arguments.count == p.parameterTypes.count else {
            throw SQLError(.syntaxError, "wrong number of parameters for prepared statement \"\(name)\"",
                           detail: "Expected \(p.parameterTypes.count) parameters but got \(arguments.count).")
        }
        // The arguments are expressions without columns, evaluated now, of their parameters' types.
        let values: [Value] = try withTransactionValue { t in
            let b = binder(t, parameters: [])
            let ctx = execContext(t, parameters: [])
            let scope = BlockScope(parent: nil)
            return try zip(arguments, p.parameterTypes).map { e, type in
                let bound = try b.coerce(try b.bindExpr(e, scope), to: type, context: .assignment, location: e.location)
                return try ExprCompiler.compile(bound, ctx)(UnsafeBufferPointer(start: nil, count: 0))
            }
        }
        guard let parsed = p.parsed else { return StatementResult(tag: "") }
        return try runPrepared(parsed, types: p.parameterTypes, parameters: values)
    }

    /// Runs `body` in the block's transaction or a read-only one of its own.
    func withTransactionValue<T>(_ body: (Transaction) throws -> T) throws -> T {
        if let b = block { return try body(b) }
        let t = beginTransaction(isolation: .readCommitted, readOnly: true, asOf: nil)
        defer { t.rollback() }
        return try body(t)
    }

    /// DISCARD ALL: the session as new (prepared statements, cursors, settings, temporary
    /// tables); DISCARD TEMP drops the temporary tables, SEQUENCES forgets currval/lastval,
    /// PLANS has no cached plan of the session's own to drop.
    func discard(_ what: String) throws -> StatementResult {
        switch what {
        case "TEMP":
            guard block == nil else {
                // Their drop would not roll back with the block.
                throw SQLError.notSupported("DISCARD TEMP inside a transaction block")
            }
            temporaryTables.dropAll()
            return StatementResult(tag: "DISCARD TEMP")
        case "SEQUENCES":
            currentValues.removeAll()
            lastValueSequence = nil
            return StatementResult(tag: "DISCARD SEQUENCES")
        case "PLANS":
            return StatementResult(tag: "DISCARD PLANS")
        default:
            return try discardAll()
        }
    }

    func discardAll() throws -> StatementResult {
        guard block == nil else {
            throw SQLError(.activeSQLTransaction, "DISCARD ALL cannot run inside a transaction block")
        }
        prepared.removeAll()
        cursors.removeAll()
        temporaryTables.dropAll()
        _ = try setSessionAuthorization(nil, local: false)
        try settings.resetAll()
        currentValues.removeAll()
        lastValueSequence = nil
        return StatementResult(tag: "DISCARD ALL")
    }
}
