import DriftCore
import DriftStorage

/// What writing rows of one table checks: NOT NULL, CHECK constraints (compiled over the
/// table's row), and each column's DEFAULT.
final class TableWriter {
    let table: TableDef
    let width: Int
    let checks: [(name: String, eval: Eval)]
    /// Row-level security's WITH CHECK for the command writing (nil: no policy binds).
    let rowSecurityCheck: Eval?
    /// Column defaults, bound and compiled when a write first needs one (as PostgreSQL plans
    /// only the defaults of the columns a statement leaves out).
    private var defaults: [Int: Eval] = [:]
    private let binder: Binder
    private let ctx: ExecContext
    /// The NOT NULL columns' positions.
    let notNull: [Int]
    var scratch: [Value]

    init(_ table: TableDef, binder: Binder, ctx: ExecContext, rowSecurity: PolicyDef.Command? = nil) throws {
        self.table = table
        self.binder = binder
        self.ctx = ctx
        notNull = table.visibleColumns.filter { table.columns[$0].notNull }
        let access = TableAccess(table: table, alias: table.name, mode: .transaction)
        width = access.width
        scratch = [Value](repeating: .null, count: access.width)
        var checks: [(String, Eval)] = []
        for c in table.constraints {
            guard case let .check(name, sql) = c else { continue }
            let scope = BlockScope(parent: nil)
            _ = try binder.addTable(table, ref: TableRef(name: table.name), mode: .transaction, scope: scope, need: [])
            let e = try binder.bindCondition(try Self.storedExpression(sql, binder), scope, context: "CHECK")
            checks.append((name, try ExprCompiler.compile(e, ctx)))
        }
        self.checks = checks
        rowSecurityCheck = try rowSecurity.flatMap { try binder.rowSecurityCondition(table, $0, check: true, access: nil) }
            .map { try ExprCompiler.compile($0, ctx) }
    }

    /// A stored expression's tree (a default's or a CHECK's text), parsed once per session.
    static func storedExpression(_ sql: String, _ binder: Binder) throws -> Expr {
        guard let session = binder.session else { return try Session.parseExpression(sql) }
        return try session.storedExpression(sql)
    }

    /// The value a column gets when a write does not give one.
    func defaultValue(_ position: Int) throws -> Value {
        let c = table.columns[position]
        guard !c.isDropped, let sql = c.defaultSQL else { return .null }
        if let d = defaults[position] { return try d(UnsafeBufferPointer(start: nil, count: 0)) }
        let e: BoundExpr
        if let session = binder.session {
            e = try session.boundDefault(table, position, sql: sql, binder: binder)
        } else {
            e = try binder.coerce(try binder.bindExpr(try Self.storedExpression(sql, binder), BlockScope(parent: nil)),
                                  to: c.type, context: .assignment, location: nil)
        }
        let d = try ExprCompiler.compile(e, ctx)
        defaults[position] = d
        return try d(UnsafeBufferPointer(start: nil, count: 0))
    }

    /// A full row of defaults.
    func defaultRow() throws -> [Value] {
        try table.columns.indices.map { try defaultValue($0) }
    }

    func failingRow(_ values: [Value]) -> String {
        "Failing row contains (" + table.visibleColumns.map { values[$0].pgText ?? "null" }.joined(separator: ", ") + ")."
    }

    /// NOT NULL and CHECK, with PostgreSQL's messages.
    /// `rowSecurity`: also the writer's WITH CHECK (ON CONFLICT's update checks its own).
    func validate(_ values: [Value], rowSecurity: Bool = true) throws {
        if rowSecurity, let rowSecurityCheck {
            // Before the constraints, as PostgreSQL checks them.
            for (i, v) in values.enumerated() { scratch[i] = v }
            guard case .bool(true) = try scratch.withUnsafeBufferPointer({ try rowSecurityCheck($0) }) else {
                throw SQLError(.insufficientPrivilege, "new row violates row-level security policy for table \"\(table.name)\"")
            }
        }
        for p in notNull where values[p].isNull {
            throw SQLError(.notNullViolation, "null value in column \"\(table.columns[p].name)\" of relation \"\(table.name)\" violates not-null constraint",
                           detail: failingRow(values))
        }
        guard !checks.isEmpty else { return }
        for (i, v) in values.enumerated() { scratch[i] = v }
        for (name, eval) in checks {
            let r = try scratch.withUnsafeBufferPointer { try eval($0) }
            if case .bool(false) = r {
                throw SQLError(.checkViolation, "new row for relation \"\(table.name)\" violates check constraint \"\(name)\"",
                               detail: failingRow(values))
            }
        }
    }
}

/// An UPDATE bound and planned (what the plan cache keeps of a repeated one).
struct BoundUpdate {
    let table: TableDef
    let plan: Plan
    let whereExpr: BoundExpr?
    let sets: [(Int, BoundExpr?)]
    let returning: [(BoundExpr, String)]
    let keySlot: Int
}

struct BoundDefaultKey: Hashable {
    var table: UInt32
    var position: Int
}

extension Session {
    /// A column default bound for `binder`'s transaction, kept per session under the stamp a
    /// cached plan gets (every INSERT of a serial key binds `nextval('t_id_seq'::regclass)`).
    /// A default whose binding depends on more (the time, a schema change in the transaction,
    /// a catalog of the past) is bound anew each time.
    func boundDefault(_ table: TableDef, _ position: Int, sql: String, binder: Binder) throws -> BoundExpr {
        let t = binder.txn
        let stamp = binder.catalogOverride == nil && binder.statementTemporal == nil ? planStamp(t) : nil
        let key = BoundDefaultKey(table: table.id, position: position)
        if let stamp, let hit = boundDefaults[key], hit.sql == sql, hit.stamp == stamp { return hit.expr }
        let fresh = Binder(engine: engine, txn: t, session: self)
        let e = try fresh.coerce(try fresh.bindExpr(try storedExpression(sql), BlockScope(parent: nil)),
                                 to: table.columns[position].type, context: .assignment, location: nil)
        if let stamp, fresh.cacheable {
            if boundDefaults.count >= 256 { boundDefaults.removeAll(keepingCapacity: true) }
            boundDefaults[key] = (sql, stamp, e)
        }
        return e
    }

    /// The table INSERT, UPDATE or DELETE writes (views and missing tables refused), once the
    /// acting role is found to hold `need` on it.
    func targetTable(_ ref: TableRef, in t: Transaction, verb: String, need: Privileges) throws -> TableDef {
        if ref.temporal != nil || temporalClauses[ref.location] != nil {
            throw SQLError(.readOnlySQLTransaction, "cannot \(verb) a table as of a past point (AS OF)", position: sqlPosition(ref.location))
        }
        if ref.schema == nil, ref.name == Audit.table, findTable(nil, ref.name, in: t.catalog) == nil, let audit = Audit.table(in: t.catalog) {
            if !need.isEmpty { throw Self.auditIsAppendOnly() }
            return audit
        }
        if let table = findTable(ref.schema, ref.name, in: t.catalog) {
            if Audit.isAuditTable(table) && !need.isEmpty { throw Self.auditIsAppendOnly() }
            // INSERT and UPDATE may hold on columns instead: the statement checks which, once bound.
            try requireTablePrivileges(need, table, in: t.catalog, columns: [])
            return table
        }
        if findView(ref.schema, ref.name, in: t.catalog) != nil {
            throw SQLError(.featureNotSupported, "cannot \(verb) view \"\(ref.name)\"",
                           detail: "Views are not updatable here.", hint: "Write to the view's table instead.")
        }
        throw SQLError(.undefinedTable, "relation \"\(ref.schema.map { $0 + "." } ?? "")\(ref.name)\" does not exist", position: sqlPosition(ref.location))
    }

    /// A column of the target by name, for INSERT column lists and SET.
    func targetColumn(_ table: TableDef, _ name: String, location: Int) throws -> Int {
        guard let p = table.columnPosition(name) else {
            throw SQLError(.undefinedColumn, "column \"\(name)\" of relation \"\(table.name)\" does not exist", position: sqlPosition(location))
        }
        return p
    }

    /// Coerces a value expression to its column's type (an assignment), with PostgreSQL's message.
    func assign(_ e: BoundExpr, to column: ColumnDef, _ b: Binder, location: Int?) throws -> BoundExpr {
        do {
            return try b.coerce(e, to: column.type, context: .assignment, location: location)
        } catch let err as SQLError where err.code == .datatypeMismatch || err.code == SQLState("42846") {
            throw SQLError(.datatypeMismatch, "column \"\(column.name)\" is of type \(column.type.name) but expression is of type \(e.type.name)",
                           hint: "You will need to rewrite or cast the expression.", position: sqlPosition(location))
        }
    }

    /// The result columns of RETURNING (nil without it: the statement returns no rows).
    func returningColumns(_ returning: [(BoundExpr, String)]) -> [ResultColumn]? {
        returning.isEmpty ? nil : returning.map { ResultColumn(name: $0.1, type: $0.0.type == .unknown ? .text : $0.0.type) }
    }

    /// RETURNING items bound over a scope, `*` expanded.
    func bindReturning(_ items: [SelectTarget], _ b: Binder, _ scope: BlockScope, _ star: [(String, BoundExpr)]) throws -> [(BoundExpr, String)] {
        scope.aggregateBan = "RETURNING"
        scope.windowBan = "RETURNING"
        var out: [(BoundExpr, String)] = []
        for item in items {
            if case let .star(q, loc) = item.expr {
                if let q {
                    guard let r = scope.relation(named: q) else {
                        throw SQLError(.undefinedTable, "missing FROM-clause entry for table \"\(q)\"", position: sqlPosition(loc))
                    }
                    // A star reads every column it names (column privileges; a base table
                    // decodes only the columns read).
                    scope.noteRead(r.columns.map(\.slot))
                    out += r.columns.map { (.slot($0.slot, $0.type), $0.name) }
                } else {
                    for (_, e) in star { scope.noteRead(e.slotSet) }
                    out += star.map { ($0.1, $0.0) }
                }
                continue
            }
            out.append((try b.bindExpr(item.expr, scope), item.alias ?? Binder.columnName(item.expr)))
        }
        return out
    }

    // MARK: INSERT

    func insert(_ s: InsertStatement, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        referential = ReferentialQueue()
        let table = try targetTable(s.table, in: t, verb: "insert into", need: .insert)
        let b = binder(t, parameters: parameters)
        let ctx = execContext(t, parameters: parameters)
        var targets: [Int] = []
        // Without a column list the values fill the table's first columns.
        var implicitTargets = false
        if s.columns.isEmpty {
            targets = table.visibleColumns
            implicitTargets = true
        } else {
            for (name, loc) in s.columns {
                let p = try targetColumn(table, name, location: loc)
                guard !targets.contains(p) else {
                    throw SQLError(.duplicateColumn, "column \"\(name)\" specified more than once", position: sqlPosition(loc))
                }
                targets.append(p)
            }
        }
        let writer = try TableWriter(table, binder: b, ctx: ctx, rowSecurity: .insert)
        // A unique violation names no key a policy hides from the writer (PostgreSQL's rule).
        let hidesKeys = b.rowSecurityHides(table)
        // GENERATED ALWAYS AS IDENTITY refuses given values unless OVERRIDING SYSTEM VALUE.
        func checkIdentity(_ target: Int, given: Bool) throws {
            guard given, !s.overridingSystemValue, table.options["drift.identity.\(target)"] == "a" else { return }
            let name = table.columns[target].name
            throw SQLError(.generatedAlways, "cannot insert a non-DEFAULT value into column \"\(name)\"",
                           detail: "Column \"\(name)\" is an identity column defined as GENERATED ALWAYS.",
                           hint: "Use OVERRIDING SYSTEM VALUE to override.")
        }

        // The rows to insert: VALUES cells (DEFAULT allowed), or a query's rows.
        enum Source { case values([[BoundExpr?]]), query(Plan, Int, readsTarget: Bool), defaults, copy([[String?]]) }
        var source: Source = .defaults
        if let rows = s.copyRows {
            for target in targets { try checkIdentity(target, given: true) }
            source = .copy(rows)
        } else if let q = s.source {
            if case let .values(rows, location) = q.body, q.with.isEmpty, q.orderBy.isEmpty, q.limit == nil, q.offset == nil {
                var bound: [[BoundExpr?]] = []
                let scope = BlockScope(parent: nil)
                scope.aggregateBan = "VALUES"
                scope.windowBan = "VALUES"
                if implicitTargets, let n = rows.map(\.count).max(), n < targets.count { targets = Array(targets.prefix(n)) }
                for row in rows {
                    if row.count > targets.count {
                        throw SQLError(.syntaxError, "INSERT has more expressions than target columns", position: sqlPosition(row[targets.count].location ?? location))
                    }
                    if row.count < targets.count {
                        throw SQLError(.syntaxError, "INSERT has more target columns than expressions",
                                       position: sqlPosition(s.columns.count > row.count ? s.columns[row.count].1 : location))
                    }
                    bound.append(try row.enumerated().map { i, e -> BoundExpr? in
                        if case .defaultValue = e { return nil }
                        try checkIdentity(targets[i], given: true)
                        return try assign(try b.bindExpr(e, scope), to: table.columns[targets[i]], b, location: e.location)
                    })
                }
                source = .values(bound)
            } else {
                let bound = try b.bindQuery(q, parent: nil)
                if implicitTargets && bound.columns.count < targets.count { targets = Array(targets.prefix(bound.columns.count)) }
                if bound.columns.count > targets.count {
                    throw SQLError(.syntaxError, "INSERT has more expressions than target columns")
                }
                if bound.columns.count < targets.count {
                    throw SQLError(.syntaxError, "INSERT has more target columns than expressions")
                }
                for target in targets { try checkIdentity(target, given: true) }
                let exprs = try bound.columns.enumerated().map { i, c in
                    try assign(.slot(i, c.type), to: table.columns[targets[i]], b, location: nil)
                }
                source = .query(Plan(.project(bound.plan, exprs), width: exprs.count, rows: bound.plan.rows), exprs.count,
                                readsTarget: b.referenced.contains(table.id))
            }
        }

        // ON CONFLICT and RETURNING read the table's row (and EXCLUDED, the proposed one).
        let scope = BlockScope(parent: nil)
        let tableNode = try b.addTable(table, ref: TableRef(name: table.name, alias: s.table.alias), mode: .transaction, scope: scope, need: [])
        let returning = try bindReturning(s.returning, b, scope, tableNode.star)
        let returningEvals = try returning.map { try ExprCompiler.compile($0.0, ctx) }
        let conflict = try s.onConflict.map { try OnConflictPlan($0, table: table, binder: b, scope: scope, ctx: ctx, session: self) }
        // RETURNING reads the row; ON CONFLICT reads the existing one (DO UPDATE writes it).
        var reads: Privileges = s.returning.isEmpty ? [] : .select
        if let c = s.onConflict {
            if c.doUpdate != nil { reads.formUnion([.update, .select]) } else if !c.columns.isEmpty || c.constraint != nil { reads.insert(.select) }
        }
        // Column privileges may stand in for the table's: INSERT on each column given a value,
        // SELECT on each the statement reads (the conflict target's too), UPDATE on each DO
        // UPDATE sets.
        if case .defaults = source {
            try requireTablePrivileges(.insert, table, in: t.catalog, columns: [])
        } else {
            try requireTablePrivileges(.insert, table, in: t.catalog, columns: Set(targets))
        }
        if reads.contains(.select) {
            // The row's columns and EXCLUDED's (PostgreSQL checks both as reads of the table).
            var columns = Set(scope.relations.flatMap { $0.access?.userColumns ?? [] })
            for arbiter in conflict?.arbiters ?? [] { columns.formUnion(arbiter?.columns ?? table.primaryKey) }
            try requireTablePrivileges(.select, table, in: t.catalog, columns: columns)
        }
        if reads.contains(.update) {
            try requireTablePrivileges(.update, table, in: t.catalog, columns: Set((conflict?.doUpdate ?? []).map(\.0)))
        }
        try describeHook(b, columns: returningColumns(returning))
        switch source {
        case .values(let rows): try explainHook("Insert on \(table.name)", Plan(.values([]), width: 0, rows: Double(rows.count)), b)
        case .query(let plan, _, _): try explainHook("Insert on \(table.name)", plan, b)
        default: try explainHook("Insert on \(table.name)", Plan(.oneRow, width: 0, rows: 1), b)
        }

        var count = 0
        var out: [[Value]] = []
        let localWidth = writer.width
        // Defaults are evaluated only for the columns the statement does not give (nextval runs
        // once per row that needs it, as in PostgreSQL).
        var given = [Bool](repeating: false, count: table.columns.count)
        for p in targets { given[p] = true }
        let defaulted = table.columns.indices.filter { !given[$0] }
        func defaults() throws -> [Value] {
            var row = [Value](repeating: .null, count: given.count)
            for c in defaulted { row[c] = try writer.defaultValue(c) }
            return row
        }
        func write(_ values: [Value]) throws {
            var full = try defaults()
            for (i, p) in targets.enumerated() { full[p] = values[i] }
            try insertRow(full)
        }
        func insertRow(_ full: [Value]) throws {
            do {
                try insertChecked(full)
            } catch let e as SQLError where hidesKeys && e.code == .uniqueViolation {
                throw SQLError(e.code, e.message)
            }
        }
        func insertChecked(_ full: [Value]) throws {
            try writer.validate(full)
            var final = full
            if let conflict {
                switch try conflict.handle(full, in: t, writer: writer) {
                case .skipped: return
                case let .updated(row, old):
                    final = row
                    noteWrite(table, old: old, new: row, in: t)
                case .proceed:
                    conflict.inserted(try t.insert(table, full))
                    noteWrite(table, old: nil, new: full, in: t)
                }
            } else {
                try t.insert(table, full)
                noteWrite(table, old: nil, new: full, in: t)
            }
            count += 1
            if !returningEvals.isEmpty {
                var local = [Value](repeating: .null, count: localWidth)
                for (i, v) in final.enumerated() { local[i] = v }
                out.append(try local.withUnsafeBufferPointer { r in try returningEvals.map { try $0(r) } })
            }
        }
        let empty = UnsafeBufferPointer<Value>(start: nil, count: 0)
        switch source {
        case .defaults:
            try insertRow(try writer.defaultRow())
        case .copy(let rows):
            let dt = DateTimeContext(timeZone: timeZone, now: blockStartTime ?? PGTime.fromUnix(wallClockMicros()))
            t.expectWrites(Double(rows.count))
            var full = [Value](repeating: .null, count: given.count)
            for (n, row) in rows.enumerated() {
                guard row.count == targets.count else { throw SQLError.bug("COPY row of \(row.count) fields for \(targets.count) columns") }
                for c in defaulted { full[c] = try writer.defaultValue(c) }
                for (k, p) in targets.enumerated() {
                    full[p] = try row[k].map { try Coercion.fromText($0, to: table.columns[p].type, dt) } ?? .null
                }
                try insertRow(full)
                if n % 1024 == 1023 { try t.interrupt?.check() }
            }
        case .values(let rows):
            let compiled = try rows.map { try $0.map { try $0.map { try ExprCompiler.compile($0, ctx) } } }
            for row in compiled {
                var full = try defaults()
                for (i, e) in row.enumerated() {
                    full[targets[i]] = try e.map { try $0(empty) } ?? writer.defaultValue(targets[i])
                }
                try insertRow(full)
            }
        case let .query(plan, width, readsTarget):
            guard width == targets.count else { throw SQLError.bug("INSERT ... SELECT rows of \(width) values for \(targets.count) columns") }
            let node = try Executor.instantiate(plan, ctx)
            t.expectWrites(plan.rows)
            // Each row is built in one reused array (a copy is made only if a row is kept).
            var full = [Value](repeating: .null, count: given.count)
            func insertQueryRow(_ r: UnsafeBufferPointer<Value>) throws {
                for c in defaulted { full[c] = try writer.defaultValue(c) }
                for (k, p) in targets.enumerated() { full[p] = r[k] }
                try insertRow(full)
            }
            if !readsTarget {
                // The query does not read the table: its rows are inserted as they come.
                while let batch = try node.next() {
                    for i in 0..<batch.count { try batch.withRow(i, insertQueryRow) }
                    try t.interrupt?.check()
                }
                break
            }
            // A query reading the table is read to the end first (the statement does not see
            // its own inserts, and its scans do not run over a table they are growing).
            let rows = try materialize(node, ctx, what: "INSERT ... SELECT")
            for i in 0..<rows.count {
                try rows.withRow(i, insertQueryRow)
                if i % 1024 == 1023 { try t.interrupt?.check() }
            }
        }
        try finishForeignKeys(in: t, parameters: parameters)
        let columns = returningColumns(returning)
        return StatementResult(tag: "INSERT 0 \(count)", columns: columns, rows: out)
    }

    // MARK: UPDATE

    func update(_ s: UpdateStatement, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        referential = ReferentialQueue()
        if !s.with.isEmpty { throw SQLError.notSupported("WITH on UPDATE") }
        // The plan-cache key of a repeated UPDATE from the simple-query path (runParsed);
        // taken here so that no statement this one runs (a cascade) sees it.
        let cacheKey = s.from.isEmpty && s.currentOf == nil ? dmlPlanKey : nil
        dmlPlanKey = nil
        if let cacheKey, let hit = planCache.update(cacheKey), let stamp = planStamp(t), hit.stamp == stamp, sizesHold(hit.tableSizes) {
            planCache.noteHit()
            return try runUpdate(hit.bound, in: t, parameters: parameters, cursorKey: nil)
        }
        let table = try targetTable(s.table, in: t, verb: "update", need: .update)
        var parameters = parameters
        var whereClause = s.whereClause
        var cursorKey: [UInt8]?
        if let name = s.currentOf {
            (whereClause, cursorKey) = try currentOfCondition(name, table, alias: s.table.alias, parameters: &parameters)
        }
        let b = binder(t, parameters: parameters)
        let scope = BlockScope(parent: nil)
        let target = try b.addTable(table, ref: TableRef(name: table.name, alias: s.table.alias, location: s.table.location), mode: .transaction, scope: scope, need: [])
        guard let access = scope.relations[0].access else { throw SQLError.bug("UPDATE target has no access") }
        access.needsKey = true
        access.readsAllColumns = true
        let from = try b.bindFromList(s.from, scope)
        scope.aggregateBan = "WHERE"
        scope.windowBan = "WHERE"
        var whereExpr = try whereClause.map { try b.bindCondition($0, scope, context: "WHERE") }
        scope.aggregateBan = "UPDATE"
        scope.windowBan = "UPDATE"
        var sets: [(Int, BoundExpr?)] = []
        for item in s.set {
            let p = try targetColumn(table, item.column, location: item.location)
            guard !sets.contains(where: { $0.0 == p }) else {
                throw SQLError(.syntaxError, "multiple assignments to same column \"\(item.column)\"", position: sqlPosition(item.location))
            }
            if case .defaultValue = item.value {
                sets.append((p, nil))
                continue
            }
            if table.options["drift.identity.\(p)"] == "a" {
                throw SQLError(.generatedAlways, "column \"\(item.column)\" can only be updated to DEFAULT",
                               detail: "Column \"\(item.column)\" is an identity column defined as GENERATED ALWAYS.")
            }
            sets.append((p, try assign(try b.bindExpr(item.value, scope), to: table.columns[p], b, location: item.value.location)))
        }
        let returning = try bindReturning(s.returning, b, scope, from.reduce(target.star) { $0 + $1.star })
        let readsColumns = whereExpr != nil || !returning.isEmpty || sets.contains { _, e in
            switch e {
            case nil, .constant?, .parameter?: return false
            case .cast(.constant, _, _)?, .cast(.parameter, _, _)?: return false
            default: return true
            }
        }
        if readsColumns { try requireTablePrivileges(.select, table, in: t.catalog, columns: access.userColumns) }
        try requireTablePrivileges(.update, table, in: t.catalog, columns: Set(sets.map(\.0)))
        try b.verifyViewColumns(scope)
        // Row-level security: the rows the UPDATE (and, when it reads them, SELECT) policies
        // allow, checked before the statement's own WHERE and again on a concurrently changed row.
        let policyConditions = try [PolicyDef.Command.update, readsColumns ? .select : nil].compactMap { $0 }
            .compactMap { try b.rowSecurityCondition(table, $0, check: false, access: access) }
        if !policyConditions.isEmpty { whereExpr = .and(policyConditions + (whereExpr.map { [$0] } ?? [])) }
        let plan = try JoinPlanner(binder: b, scope: scope).plan([target] + from, where: whereExpr)
        try describeHook(b, columns: returningColumns(returning))
        try explainHook("Update on \(table.name)", plan, b)
        let bound = BoundUpdate(table: table, plan: plan, whereExpr: whereExpr, sets: sets, returning: returning, keySlot: access.keySlot)
        if let cacheKey, b.cacheable, let stamp = planStamp(t) {
            planCache.noteMiss()
            planCache.storeUpdate(cacheKey, PlanCache.UpdateEntry(bound: bound, stamp: stamp, tableSizes: b.tableSizes))
        }
        return try runUpdate(bound, in: t, parameters: parameters, cursorKey: cursorKey)
    }

    /// Runs a bound UPDATE: reads the rows its plan finds, locks each (READ COMMITTED checks
    /// WHERE again on a row another transaction changed), and writes the new versions.
    func runUpdate(_ u: BoundUpdate, in t: Transaction, parameters: [Value], cursorKey: [UInt8]?) throws -> StatementResult {
        let table = u.table
        let ctx = execContext(t, parameters: parameters)
        let writer = try TableWriter(table, binder: binder(t, parameters: parameters), ctx: ctx, rowSecurity: .update)
        let rows = try materialize(try Executor.instantiate(u.plan, ctx), ctx, what: "UPDATE")

        let whereEval = try u.whereExpr.map { try ExprCompiler.compile($0, ctx) }
        let setEvals = try u.sets.map { ($0.0, try $0.1.map { try ExprCompiler.compile($0, ctx) }) }
        let returningEvals = try u.returning.map { try ExprCompiler.compile($0.0, ctx) }
        let keyColumns = Set(table.primaryKey)
        let mode: RowLockMode = u.sets.contains { keyColumns.contains($0.0) } ? .update : .noKeyUpdate
        let keySlot = u.keySlot
        var done = Set<[UInt8]>()
        var count = 0
        var out: [[Value]] = []
        for i in 0..<rows.count {
            var wide = rows.row(i)
            guard case .bytes(let key) = wide[keySlot] else { continue }
            guard !done.contains(key), cursorKey == nil || cursorKey == key else { continue }
            guard case .row(let found, let changed) = try t.lockRow(table, key: key, mode: mode), let current = found else { continue }
            if changed {
                // READ COMMITTED: the newest version replaces the row, and WHERE is checked again.
                for (p, v) in current.enumerated() { wide[p] = v }
                if let whereEval {
                    guard case .bool(true) = try wide.withUnsafeBufferPointer({ try whereEval($0) }) else { continue }
                }
            }
            var next = current
            try wide.withUnsafeBufferPointer { r in
                for (p, e) in setEvals { next[p] = try e.map { try $0(r) } ?? writer.defaultValue(p) }
            }
            try writer.validate(next)
            try t.update(table, key: key, next, old: current)
            noteWrite(table, old: current, new: next, in: t)
            done.insert(key)
            count += 1
            if !returningEvals.isEmpty {
                for (p, v) in next.enumerated() { wide[p] = v }
                out.append(try wide.withUnsafeBufferPointer { r in try returningEvals.map { try $0(r) } })
            }
            if count % 1024 == 0 { try t.interrupt?.check() }
        }
        try finishForeignKeys(in: t, parameters: parameters)
        let columns = returningColumns(u.returning)
        return StatementResult(tag: "UPDATE \(count)", columns: columns, rows: out)
    }

    // MARK: DELETE

    func delete(_ s: DeleteStatement, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        referential = ReferentialQueue()
        if !s.with.isEmpty { throw SQLError.notSupported("WITH on DELETE") }
        let table = try targetTable(s.table, in: t, verb: "delete from", need: .delete)
        var parameters = parameters
        var whereClause = s.whereClause
        var cursorKey: [UInt8]?
        if let name = s.currentOf {
            (whereClause, cursorKey) = try currentOfCondition(name, table, alias: s.table.alias, parameters: &parameters)
        }
        let b = binder(t, parameters: parameters)
        let ctx = execContext(t, parameters: parameters)
        let scope = BlockScope(parent: nil)
        let target = try b.addTable(table, ref: TableRef(name: table.name, alias: s.table.alias, location: s.table.location), mode: .transaction, scope: scope, need: [])
        guard let access = scope.relations[0].access else { throw SQLError.bug("DELETE target has no access") }
        access.needsKey = true
        access.readsAllColumns = true
        let using = try b.bindFromList(s.using, scope)
        scope.aggregateBan = "WHERE"
        scope.windowBan = "WHERE"
        var whereExpr = try whereClause.map { try b.bindCondition($0, scope, context: "WHERE") }
        let returning = try bindReturning(s.returning, b, scope, using.reduce(target.star) { $0 + $1.star })
        let readsColumns = whereExpr != nil || !returning.isEmpty
        if readsColumns { try requireTablePrivileges(.select, table, in: t.catalog, columns: access.userColumns) }
        try b.verifyViewColumns(scope)
        let policyConditions = try [PolicyDef.Command.delete, readsColumns ? .select : nil].compactMap { $0 }
            .compactMap { try b.rowSecurityCondition(table, $0, check: false, access: access) }
        if !policyConditions.isEmpty { whereExpr = .and(policyConditions + (whereExpr.map { [$0] } ?? [])) }
        let plan = try JoinPlanner(binder: b, scope: scope).plan([target] + using, where: whereExpr)
        try describeHook(b, columns: returningColumns(returning))
        try explainHook("Delete on \(table.name)", plan, b)
        let rows = try materialize(try Executor.instantiate(plan, ctx), ctx, what: "DELETE")
        let whereEval = try whereExpr.map { try ExprCompiler.compile($0, ctx) }
        let returningEvals = try returning.map { try ExprCompiler.compile($0.0, ctx) }
        let keySlot = access.keySlot
        var done = Set<[UInt8]>()
        var count = 0
        var out: [[Value]] = []
        for i in 0..<rows.count {
            var wide = rows.row(i)
            guard case .bytes(let key) = wide[keySlot], !done.contains(key), cursorKey == nil || cursorKey == key else { continue }
            guard case .row(let found, let changed) = try t.lockRow(table, key: key, mode: .update), let current = found else { continue }
            if changed {
                for (p, v) in current.enumerated() { wide[p] = v }
                if let whereEval {
                    guard case .bool(true) = try wide.withUnsafeBufferPointer({ try whereEval($0) }) else { continue }
                }
            }
            try t.delete(table, key: key)
            noteWrite(table, old: current, new: nil, in: t)
            done.insert(key)
            count += 1
            if !returningEvals.isEmpty {
                out.append(try wide.withUnsafeBufferPointer { r in try returningEvals.map { try $0(r) } })
            }
            if count % 1024 == 0 { try t.interrupt?.check() }
        }
        try finishForeignKeys(in: t, parameters: parameters)
        let columns = returningColumns(returning)
        return StatementResult(tag: "DELETE \(count)", columns: columns, rows: out)
    }
}

/// INSERT ... ON CONFLICT: finds the row a proposed row conflicts with on the arbiter (the
/// primary key or a unique index), locks it, and skips or updates it.
final class OnConflictPlan {
    enum Outcome {
        case proceed
        case skipped
        case updated([Value], old: [Value])
    }

    let table: TableDef
    /// nil: the primary key; otherwise a unique index. Empty `arbiters` means any of them.
    let arbiters: [IndexDef?]
    let doUpdate: [(Int, Eval?)]?
    let updateWhere: Eval?
    let width: Int
    /// Rows this command inserted or updated: touching one again fails (21000).
    var touched = Set<[UInt8]>()

    func inserted(_ key: [UInt8]) { touched.insert(key) }
    /// Row-level security for the update path: which existing rows, which new ones.
    let rowSecurity: (using: (([Value]) throws -> Bool)?, check: (([Value]) throws -> Bool)?)?

    init(_ c: OnConflict, table: TableDef, binder b: Binder, scope: BlockScope, ctx: ExecContext, session: Session) throws {
        self.table = table
        if c.doUpdate != nil, b.rowSecurityHides(table) {
            // The existing row must pass the UPDATE and the SELECT policies (DO UPDATE reads it).
            let update = try b.compiledRowSecurity(table, .update, check: false, ctx: ctx)
            let select = try b.compiledRowSecurity(table, .select, check: false, ctx: ctx)
            let using: (([Value]) throws -> Bool)? = update == nil && select == nil ? nil : { row in
                try (update?(row) ?? true) && (select?(row) ?? true)
            }
            rowSecurity = (using, try b.compiledRowSecurity(table, .update, check: true, ctx: ctx))
        } else {
            rowSecurity = nil
        }
        // The arbiter: listed columns must match the primary key or a unique index exactly.
        var arbiters: [IndexDef?] = []
        if let name = c.constraint {
            if name == table.primaryKeyName && !table.hasRowId {
                arbiters = [nil]
            } else if let i = table.indexes.first(where: { $0.name == name && $0.unique }) {
                arbiters = [i]
            } else {
                throw SQLError(.undefinedObject, "constraint \"\(name)\" for table \"\(table.name)\" does not exist")
            }
        } else if !c.columns.isEmpty {
            let cols = try c.columns.map { n -> Int in
                guard let p = table.columnPosition(n) else {
                    throw SQLError(.undefinedColumn, "column \"\(n)\" does not exist", position: sqlPosition(c.location))
                }
                return p
            }
            if !table.hasRowId && Set(cols) == Set(table.primaryKey) {
                arbiters = [nil]
            } else if let i = table.indexes.first(where: { $0.unique && Set($0.columns) == Set(cols) }) {
                arbiters = [i]
            } else {
                throw SQLError(.invalidColumnReference, "there is no unique or exclusion constraint matching the ON CONFLICT specification")
            }
        } else {
            if c.doUpdate != nil {
                throw SQLError(.syntaxError, "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                               hint: "For example, ON CONFLICT (column_name).", position: sqlPosition(c.location))
            }
            arbiters = (table.hasRowId ? [] : [nil]) + table.indexes.filter(\.unique).map { Optional($0) }
        }
        self.arbiters = arbiters
        let access = scope.relations[0]
        width = access.width
        if let sets = c.doUpdate {
            // EXCLUDED is the proposed row, after the table's row in the wide row.
            let excludedRef = TableRef(name: table.name, alias: "excluded")
            _ = try b.addTable(table, ref: excludedRef, mode: .transaction, scope: scope, need: [])
            var bound: [(Int, Eval?)] = []
            for (column, value) in sets {
                let p = try session.targetColumn(table, column, location: c.location)
                if case .defaultValue = value {
                    bound.append((p, nil))
                    continue
                }
                let e = try session.assign(try b.bindExpr(value, scope), to: table.columns[p], b, location: value.location)
                bound.append((p, try ExprCompiler.compile(e, ctx)))
            }
            doUpdate = bound
            updateWhere = try c.updateWhere.map { try ExprCompiler.compile(try b.bindCondition($0, scope, context: "WHERE"), ctx) }
        } else {
            doUpdate = nil
            updateWhere = nil
        }
    }

    /// The key of the live row `values` conflicts with on an arbiter, if any.
    func conflictingKey(_ values: [Value], in t: Transaction) throws -> [UInt8]? {
        for arbiter in arbiters {
            if let index = arbiter {
                let vals = index.columns.map { values[$0] }
                if vals.contains(where: \.isNull) { continue }
                if let k = try t.findUnique(table, index, vals) { return k }
            } else {
                let key = try t.primaryKey(table, values)
                if try t.latestLive(table, key: key) { return key }
            }
        }
        return nil
    }

    func handle(_ values: [Value], in t: Transaction, writer: TableWriter) throws -> Outcome {
        guard let key = try conflictingKey(values, in: t) else { return .proceed }
        guard case .row(let found, _) = try t.lockRow(table, key: key, mode: doUpdate == nil ? .keyShare : .update) else { return .skipped }
        guard let existing = found else { return .proceed }
        guard let sets = doUpdate else { return .skipped }
        // A row this command inserted or updated cannot be updated again (PostgreSQL's rule;
        // a row the WHERE below skipped was not touched).
        guard !touched.contains(key) else {
            throw SQLError(.cardinalityViolation, "ON CONFLICT DO UPDATE command cannot affect row a second time",
                           hint: "Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
        }
        var wide = [Value](repeating: .null, count: width * 2)
        for (i, v) in existing.enumerated() { wide[i] = v }
        for (i, v) in values.enumerated() { wide[width + i] = v }
        if let w = updateWhere {
            guard case .bool(true) = try wide.withUnsafeBufferPointer({ try w($0) }) else { return .skipped }
        }
        // The existing row must be one the UPDATE policies let this role change.
        if let using = rowSecurity?.using, try !using(existing) {
            throw SQLError(.insufficientPrivilege, "new row violates row-level security policy (USING expression) for table \"\(table.name)\"")
        }
        var next = existing
        try wide.withUnsafeBufferPointer { r in
            for (p, e) in sets { next[p] = try e.map { try $0(r) } ?? writer.defaultValue(p) }
        }
        if let check = rowSecurity?.check, try !check(next) {
            throw SQLError(.insufficientPrivilege, "new row violates row-level security policy for table \"\(table.name)\"")
        }
        try writer.validate(next, rowSecurity: false)
        try t.update(table, key: key, next, old: existing)
        touched.insert(key)
        return .updated(next, old: existing)
    }
}
