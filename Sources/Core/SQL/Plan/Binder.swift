import DriftCore
import DriftStorage

/// Binds a statement's queries: resolves names against the catalog the read sees, types every
/// expression by PostgreSQL's rules, and plans each query block (join order, access paths,
/// aggregation, windows, sorting) into a `Plan`.
final class Binder {
    let engine: Engine
    let txn: Transaction
    weak var session: Session?
    /// Types of `$n` parameters: given by the client, or inferred from where they are used.
    var parameterTypes: [SQLType?]
    /// A temporal clause at the end of the statement: for every table without its own.
    var statementTemporal: TemporalSpec?
    /// Views being expanded (a view that reads itself fails instead of recursing).
    var viewStack: [String] = []
    /// CREATE VIEW: each `*` of the statement's own query (not of the views it reads) with the
    /// column references it stands for, to store the query with its columns spelled out.
    var starExpansions: [(location: Int, columns: [String])]?
    /// Whose privileges a relation is read with: the session's acting role when empty, a
    /// view's owner inside the view (nil there: the bootstrap superuser, no checks).
    var privilegeRoles: [RoleDef?] = []
    /// False when binding only to learn what a statement or view reads (DDL's dependency
    /// probes, a view's column types): structure, not rights, decides those, as PostgreSQL's
    /// recorded dependencies do.
    var checksRights = true
    /// Scans whose SELECT rests on column privileges: checked when the scan starts, and by
    /// EXPLAIN (which starts none) once the statement is bound, as PostgreSQL checks both.
    var columnChecked: [TableAccess] = []
    /// Tables whose policies are being bound (a policy reading its own table recursively is 42P17).
    var rowSecurityStack: [UInt32] = []
    /// Nesting depth of queries and expressions bound so far (54001 past the limit).
    var depth = 0
    /// Above zero while binding the arms of a CASE or COALESCE: constants there are folded
    /// afterwards, top-down, as PostgreSQL folds them (see `simplifyConditional`).
    var deferFolding = 0
    /// A catalog to bind against instead of the transaction's (DDL probing a change).
    var catalogOverride: Catalog?
    /// The seq drift_events starts reading after, from the WHERE of the block it is read in.
    var driftEventsFloor: Int64 = 0
    /// DECLARE CURSOR: set to learn whether the query is a simply updatable scan of one table
    /// (then its row keys are added as a last output column, for WHERE CURRENT OF).
    var cursorCapture: CursorCapture?
    /// Whether the plan may be cached and run again (see `PlanCache`): false once binding
    /// read state a later run could find changed (a sequence's value, the past, a date or
    /// time constant read in the session's time zone and clock, the system catalogs).
    var cacheable = true
    /// The live rows of each table when planned (a cached plan is planned again when they
    /// change much).
    var tableSizes: [UInt32: Double] = [:]
    /// Ids of the tables and views the statement reads (view dependencies).
    var referenced = Set<UInt32>()
    /// Temporal clauses of the text being bound, by the byte offset of their table reference
    /// (-1: the statement's own).
    var temporalMap: [Int: TemporalSpec] = [:]
    /// The session's zone and the transaction's start: constants are read and folded in it.
    let dateTime: DateTimeContext

    init(engine: Engine, txn: Transaction, session: Session?, parameterTypes: [SQLType?] = [], temporal: TemporalSpec? = nil) {
        self.engine = engine
        self.txn = txn
        self.session = session
        self.parameterTypes = parameterTypes
        temporalMap = session?.temporalClauses ?? [:]
        dateTime = DateTimeContext(timeZone: session?.timeZone ?? .utc,
                                   now: session?.blockStartTime ?? PGTime.fromUnix(wallClockMicros()))
        self.statementTemporal = temporal ?? temporalMap[-1]
    }

    func enter() throws {
        depth += 1
        if depth > Limits.expressionDepthMax {
            throw SQLError(.statementTooComplex, "stack depth limit exceeded",
                           hint: "The statement nests expressions or subqueries more than \(Limits.expressionDepthMax) deep.")
        }
    }

    // MARK: Queries

    /// What DECLARE CURSOR learns of its query: the table of a simply updatable scan.
    final class CursorCapture {
        var table: TableDef?
    }

    func bindQuery(_ q: Query, parent: BlockScope?) throws -> BoundQuery {
        try enter()
        // A subquery in a CASE arm folds its own constants as it binds.
        let deferred = deferFolding
        deferFolding = 0
        defer { depth -= 1; deferFolding = deferred }
        var scope = parent
        if !q.with.isEmpty {
            let holder = BlockScope(parent: parent, transparent: true)
            for c in q.with {
                guard holder.ctes[c.name] == nil else {
                    throw SQLError(SQLState("42712"), "WITH query name \"\(c.name)\" specified more than once", position: sqlPosition(c.location))
                }
                holder.ctes[c.name] = try bindCTE(c, recursive: q.recursive, holder: holder)
            }
            scope = holder
        }
        let savedTemporal = statementTemporal
        if let t = q.temporal { statementTemporal = t }
        defer { statementTemporal = savedTemporal }
        return try bindBody(q.body, orderBy: q.orderBy, limit: q.limit, offset: q.offset, withTies: q.withTies,
                            locking: q.locking, parent: scope)
    }

    func bindBody(_ body: QueryBody, orderBy: [SortItem], limit: Expr?, offset: Expr?, withTies: Bool,
                  locking: [LockingClause], parent: BlockScope?) throws -> BoundQuery {
        if withTies { throw SQLError.notSupported("FETCH FIRST ... WITH TIES") }
        switch body {
        case .select(let core):
            return try bindSelect(core, orderBy: orderBy, limit: limit, offset: offset, locking: locking, parent: parent)
        case let .values(rows, location):
            guard locking.isEmpty else { throw SQLError.notSupported("FOR UPDATE on VALUES") }
            let q = try bindValues(rows, location: location, parent: parent, forInsert: nil)
            return try finishOutputQuery(q, orderBy: orderBy, limit: limit, offset: offset, parent: parent)
        case let .setOp(kind, all, l, r):
            guard locking.isEmpty else {
                throw SQLError.notSupported("FOR UPDATE is not allowed with UNION/INTERSECT/EXCEPT")
            }
            let q = try bindSetOp(kind, all: all, l, r, parent: parent)
            return try finishOutputQuery(q, orderBy: orderBy, limit: limit, offset: offset, parent: parent)
        }
    }

    /// ORDER BY / LIMIT over a query whose output columns are all it has (VALUES, set operations):
    /// sort keys name output columns by name or position.
    func finishOutputQuery(_ q: BoundQuery, orderBy: [SortItem], limit: Expr?, offset: Expr?, parent: BlockScope?) throws -> BoundQuery {
        var plan = q.plan
        if !orderBy.isEmpty {
            var keys: [SortKey] = []
            for item in orderBy {
                let index: Int
                switch item.expr {
                case let .constant(.integer(n), loc):
                    guard n >= 1, n <= q.columns.count else {
                        throw SQLError(.invalidColumnReference, "ORDER BY position \(n) is not in select list", position: sqlPosition(loc))
                    }
                    index = Int(n) - 1
                case let .column(parts, loc) where parts.count == 1:
                    guard let i = q.columns.firstIndex(where: { $0.name == parts[0] }) else {
                        throw SQLError(.undefinedColumn, "column \"\(parts[0])\" does not exist", position: sqlPosition(loc))
                    }
                    index = i
                default:
                    throw SQLError(.featureNotSupported, "invalid UNION/INTERSECT/EXCEPT ORDER BY clause",
                                   detail: "Only result column names can be used, not expressions or functions.",
                                   hint: "Add the expression/function to every SELECT, or move the UNION into a FROM clause.",
                                   position: sqlPosition(item.expr.location))
                }
                keys.append(SortKey(expr: .slot(index, q.columns[index].type), descending: item.descending,
                                    nullsFirst: item.nullsFirst ?? item.descending))
            }
            plan = Plan(.sort(plan, keys, limitHint: nil), width: plan.width, rows: plan.rows)
        }
        plan = try applyLimit(plan, limit: limit, offset: offset, scope: parent)
        return BoundQuery(plan: plan, columns: q.columns, outerDepthMax: q.outerDepthMax)
    }

    func applyLimit(_ plan: Plan, limit: Expr?, offset: Expr?, scope: BlockScope?) throws -> Plan {
        guard limit != nil || offset != nil else { return plan }
        let holder = BlockScope(parent: scope)
        holder.aggregateBan = "LIMIT"
        holder.windowBan = "LIMIT"
        func bound(_ e: Expr?, _ what: String) throws -> BoundExpr? {
            guard let e else { return nil }
            if case .constant(.null, _) = e { return nil }
            let b = try coerce(try bindExpr(e, holder), to: .int8, context: .assignment, location: e.location)
            guard b.isRowIndependent else {
                throw SQLError(.invalidColumnReference, "argument of \(what) must not contain variables", position: sqlPosition(e.location))
            }
            guard b.type.isInteger else {
                throw SQLError(.datatypeMismatch, "argument of \(what) must be type bigint, not type \(b.type.name)",
                               position: sqlPosition(e.location))
            }
            return b
        }
        let l = try bound(limit, "LIMIT"), o = try bound(offset, "OFFSET")
        var rows = plan.rows
        if case .constant(.int(let n), _)? = l { rows = min(rows, Double(n)) }
        return Plan(.limit(plan, limit: l, offset: o), width: plan.width, rows: rows)
    }

    // MARK: VALUES

    /// VALUES rows: column types are each column's common type. For INSERT, `forInsert` gives
    /// the target columns' types, and DEFAULT is allowed.
    func bindValues(_ rows: [[Expr]], location: Int, parent: BlockScope?, forInsert: [SQLType?]?) throws -> BoundQuery {
        guard let width = rows.first?.count else { throw SQLError.bug("VALUES without rows") }
        let scope = BlockScope(parent: parent)
        scope.aggregateBan = "VALUES"
        scope.windowBan = "VALUES"
        var bound: [[BoundExpr]] = []
        for row in rows {
            guard row.count == width else {
                throw SQLError(.syntaxError, "VALUES lists must all be the same length", position: sqlPosition(row.first?.location ?? location))
            }
            bound.append(try row.map { e in
                if case .defaultValue(let loc) = e {
                    guard forInsert != nil else {
                        throw SQLError(.syntaxError, "DEFAULT is not allowed in this context", position: sqlPosition(loc))
                    }
                    return .constant(.null, .unknown)
                }
                return try bindExpr(e, scope)
            })
        }
        var types: [SQLType] = []
        for c in 0..<width {
            if let target = forInsert?[c] {
                types.append(target)
                continue
            }
            let column = bound.map { $0[c] }
            types.append(try TypeRules.common(column.map { $0.isUntypedLiteral ? .unknown : $0.type }, context: "VALUES",
                                              location: rows[0][c].location))
        }
        let casted = try bound.enumerated().map { r, row in
            try row.enumerated().map { c, e -> BoundExpr in
                if case .constant(.null, .unknown?) = e, forInsert != nil { return e }  // DEFAULT marker
                return try coerce(e, to: types[c], context: forInsert != nil ? .assignment : .implicit, location: rows[r][c].location)
            }
        }
        let columns = types.enumerated().map { ResultColumn(name: "column\($0.offset + 1)", type: $0.element) }
        let plan = Plan(.values(casted), width: width, rows: Double(rows.count))
        return BoundQuery(plan: plan, columns: columns, outerDepthMax: scope.outerDepthMax)
    }

    // MARK: Set operations

    func bindSetOp(_ kind: String, all: Bool, _ l: QueryBody, _ r: QueryBody, parent: BlockScope?) throws -> BoundQuery {
        try enter()
        defer { depth -= 1 }
        let left = try bindBody(l, orderBy: [], limit: nil, offset: nil, withTies: false, locking: [], parent: parent)
        let right = try bindBody(r, orderBy: [], limit: nil, offset: nil, withTies: false, locking: [], parent: parent)
        guard left.columns.count == right.columns.count else {
            throw SQLError(.syntaxError, "each \(kind) query must have the same number of columns")
        }
        var types: [SQLType] = []
        for (a, b) in zip(left.columns, right.columns) {
            types.append(try TypeRules.common([a.type, b.type], context: kind, location: nil))
        }
        let lp = castOutputs(left, to: types), rp = castOutputs(right, to: types)
        let op: SetOpKind = kind == "UNION" ? .union : kind == "INTERSECT" ? .intersect : .except
        let rows: Double
        switch op {
        case .union: rows = lp.rows + rp.rows
        case .intersect: rows = min(lp.rows, rp.rows)
        case .except: rows = lp.rows
        }
        let plan = Plan(.setOp(op, all: all, lp, rp), width: types.count, rows: rows)
        let columns = zip(left.columns, types).map { ResultColumn(name: $0.name, type: $1) }
        return BoundQuery(plan: plan, columns: columns, outerDepthMax: max(left.outerDepthMax, right.outerDepthMax))
    }

    /// A query's output columns cast to `types` (and any hidden columns dropped).
    func castOutputs(_ q: BoundQuery, to types: [SQLType]) -> Plan {
        let same = q.plan.width == types.count && zip(q.columns, types).allSatisfy { $0.type == $1 }
        if same { return q.plan }
        let exprs = q.columns.enumerated().map { i, c -> BoundExpr in
            c.type == types[i] ? .slot(i, c.type) : .cast(.slot(i, c.type), types[i], explicit: false)
        }
        return Plan(.project(q.plan, exprs), width: exprs.count, rows: q.plan.rows)
    }

    // MARK: WITH

    func bindCTE(_ c: CommonTable, recursive: Bool, holder: BlockScope) throws -> CTEBinding {
        func named(_ q: BoundQuery) throws -> [ResultColumn] {
            if c.columns.isEmpty { return q.columns }
            guard c.columns.count <= q.columns.count else {
                throw SQLError(.invalidColumnReference, "WITH query \"\(c.name)\" has \(q.columns.count) columns available but \(c.columns.count) columns specified",
                               position: sqlPosition(c.location))
            }
            return q.columns.enumerated().map { i, col in ResultColumn(name: i < c.columns.count ? c.columns[i] : col.name, type: col.type) }
        }
        if recursive, case let .setOp("UNION", all, l, r) = c.query.body, c.query.orderBy.isEmpty, c.query.limit == nil,
           Self.references(r, c.name) {
            let base = try bindBody(l, orderBy: [], limit: nil, offset: nil, withTies: false, locking: [], parent: holder)
            let binding = CTEBinding(name: c.name, columns: try named(base), plan: nil, recursive: true)
            holder.ctes[c.name] = binding
            let step = try bindBody(r, orderBy: [], limit: nil, offset: nil, withTies: false, locking: [], parent: holder)
            guard step.columns.count == base.columns.count else {
                throw SQLError(.syntaxError, "each UNION query must have the same number of columns", position: sqlPosition(c.location))
            }
            let types = binding.columns.map(\.type)
            for (i, (a, b)) in zip(base.columns, step.columns).enumerated() where a.type != b.type {
                guard TypeRules.implicitlyCastable(b.type, to: a.type) else {
                    throw SQLError(.datatypeMismatch, "recursive query \"\(c.name)\" column \(i + 1) has type \(a.type.name) in non-recursive term but type \(b.type.name) overall",
                                   hint: "Cast the output of the non-recursive term to the correct type.", position: sqlPosition(c.location))
                }
            }
            let basePlan = castOutputs(base, to: types), stepPlan = castOutputs(step, to: types)
            binding.plan = Plan(.recursiveUnion(binding, base: basePlan, step: stepPlan, all: all), width: types.count,
                                rows: basePlan.rows * 10)
            return binding
        }
        let q = try bindQuery(c.query, parent: holder)
        let plan = q.plan.width == q.columns.count ? q.plan
            : Plan(.project(q.plan, q.columns.enumerated().map { .slot($0.offset, $0.element.type) }), width: q.columns.count, rows: q.plan.rows)
        return CTEBinding(name: c.name, columns: try named(q), plan: plan, recursive: false)
    }

    /// Whether a query body reads a relation called `name` (a recursive CTE's self-reference).
    static func references(_ body: QueryBody, _ name: String) -> Bool {
        switch body {
        case .select(let core): return core.from.contains { references($0, name) }
        case .values: return false
        case let .setOp(_, _, l, r): return references(l, name) || references(r, name)
        }
    }

    static func references(_ item: FromItem, _ name: String) -> Bool {
        switch item {
        case .table(let t): return t.schema == nil && t.name == name
        case let .subquery(q, _, _, _, _): return references(q.body, name)
        case .function: return false
        case let .join(_, l, r, _, _, _, _, _): return references(l, name) || references(r, name)
        }
    }

    // MARK: SELECT

    func bindSelect(_ core: SelectCore, orderBy: [SortItem], limit: Expr?, offset: Expr?, locking: [LockingClause],
                    parent: BlockScope?) throws -> BoundQuery {
        // EXISTS / NOT EXISTS / IN (subquery) in WHERE as semi and anti joins, when the
        // rewritten block binds to the same names (otherwise the subqueries stay as they are).
        if locking.isEmpty, let rewritten = Self.semiJoins(core),
           let q = try? bindSelectBlock(rewritten, orderBy: orderBy, limit: limit, offset: offset, locking: locking, parent: parent) {
            return q
        }
        return try bindSelectBlock(core, orderBy: orderBy, limit: limit, offset: offset, locking: locking, parent: parent)
    }

    func bindSelectBlock(_ core: SelectCore, orderBy: [SortItem], limit: Expr?, offset: Expr?, locking: [LockingClause],
                         parent: BlockScope?) throws -> BoundQuery {
        try enter()
        defer { depth -= 1 }
        if core.into != nil { throw SQLError.notSupported("SELECT ... INTO (use CREATE TABLE ... AS)") }
        let core = Self.setFunctionsMovedToFrom(core)
        let savedFloor = driftEventsFloor
        driftEventsFloor = DriftEvents.floor(core)
        defer { driftEventsFloor = savedFloor }
        let scope = BlockScope(parent: parent)
        for w in core.windows {
            guard let name = w.name else { continue }
            scope.windowDefinitions[name] = w
        }
        let from = try bindFromList(core.from, scope)

        // WHERE
        scope.aggregateBan = "WHERE"
        scope.windowBan = "WHERE"
        let whereExpr = try core.whereClause.map { try bindCondition($0, scope, context: "WHERE") }

        // Select list
        scope.aggregateBan = nil
        scope.windowBan = nil
        var targets: [(expr: BoundExpr, name: String, location: Int)] = []
        for t in core.targets {
            if case let .star(qualifier, loc) = t.expr {
                let expanded = try expandStar(qualifier, from: from, scope: scope, location: loc)
                if expanded.isEmpty && qualifier == nil && core.from.isEmpty {
                    throw SQLError(.syntaxError, "SELECT * with no tables specified is not valid", position: sqlPosition(loc))
                }
                targets += expanded.map { ($0.1, $0.0, loc) }
                continue
            }
            targets.append((try bindExpr(t.expr, scope), t.alias ?? Self.columnName(t.expr), t.location))
        }
        // A cursor over one table, without grouping, DISTINCT or windows, carries its rows' keys.
        if let cap = cursorCapture, cap.table == nil, depth == 2, parent == nil, core.from.count == 1,
           scope.relations.count == 1, let access = scope.relations[0].access, case .transaction = access.mode,
           core.groupBy.isEmpty, core.having == nil, !core.distinct, core.distinctOn == nil,
           scope.aggregates.isEmpty, scope.windows.isEmpty {
            access.needsKey = true
            targets.append((.slot(scope.relations[0].offset + access.keySlot, .bytea), "?key?", -1))
            cap.table = access.table
        }

        // GROUP BY
        scope.aggregateBan = "GROUP BY"
        scope.windowBan = "GROUP BY"
        var groupKeys: [BoundExpr] = []
        var groupingSets: [[Int]]?
        for g in core.groupBy {
            if case let .groupingSet(kind, items, _) = g {
                let sets = try expandGroupingSet(kind, items, targets: targets, scope: scope, keys: &groupKeys)
                groupingSets = (groupingSets ?? [[]]).flatMap { a in sets.map { a + $0 } }
                continue
            }
            let k = try bindGroupItem(g, targets: targets, scope: scope)
            if !groupKeys.contains(where: { $0.same(as: k) }) { groupKeys.append(k) }
            if let sets = groupingSets, let i = groupKeys.firstIndex(where: { $0.same(as: k) }) {
                groupingSets = sets.map { $0 + [i] }
            }
        }
        if let sets = groupingSets {
            // Plain keys listed beside grouping sets belong to every set.
            let inAll = groupKeys.indices.filter { i in sets.allSatisfy { $0.contains(i) } }
            groupingSets = sets.map { Array(Set($0 + inAll)).sorted() }
        }

        // HAVING
        scope.aggregateBan = nil
        scope.windowBan = "HAVING"
        let having = try core.having.map { try bindCondition($0, scope, context: "HAVING") }

        // ORDER BY and DISTINCT ON
        scope.windowBan = nil
        var hidden: [BoundExpr] = []
        var sortKeys: [SortKey] = []
        for item in orderBy {
            let e = try bindSortItem(item, targets: targets, scope: scope)
            let index: Int
            if let t = targets.firstIndex(where: { $0.expr.same(as: e) && !e.isVolatile }) {
                index = t
            } else {
                if core.distinct {
                    throw SQLError(.invalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                                   position: sqlPosition(item.expr.location))
                }
                if let h = hidden.firstIndex(where: { $0.same(as: e) }) {
                    index = targets.count + h
                } else {
                    hidden.append(e)
                    index = targets.count + hidden.count - 1
                }
            }
            sortKeys.append(SortKey(expr: .slot(index, e.type), descending: item.descending, nullsFirst: item.nullsFirst ?? item.descending))
        }
        var distinctOnKeys: [Int]?
        if let on = core.distinctOn {
            var keys: [Int] = []
            for e in on {
                let b = try bindSortItem(SortItem(expr: e), targets: targets, scope: scope)
                if let i = targets.firstIndex(where: { $0.expr.same(as: b) }) {
                    keys.append(i)
                } else if let h = hidden.firstIndex(where: { $0.same(as: b) }) {
                    keys.append(targets.count + h)
                } else {
                    hidden.append(b)
                    keys.append(targets.count + hidden.count - 1)
                }
            }
            for (i, k) in keys.enumerated() where i < sortKeys.count {
                guard case .slot(let s, _) = sortKeys[i].expr, keys.contains(s) else {
                    throw SQLError(.invalidColumnReference, "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
                                   position: sqlPosition(on.first?.location))
                }
                _ = k
            }
            distinctOnKeys = keys
        }

        // FROM and WHERE into a plan over the block's wide row.
        let aggregating = !scope.aggregates.isEmpty || !groupKeys.isEmpty || having != nil || !core.groupBy.isEmpty
        var lockSpecs: [RowLockSpec] = []
        if !locking.isEmpty {
            // PostgreSQL's words, naming the clause the row lock cannot go with.
            let strength = locking.first.map { Self.lockingName($0.strength) } ?? "FOR UPDATE"
            let clash: String? = core.distinct || distinctOnKeys != nil ? "DISTINCT clause" : !groupKeys.isEmpty ? "GROUP BY clause"
                : having != nil ? "HAVING clause" : !scope.aggregates.isEmpty ? "aggregate functions"
                : !scope.windows.isEmpty ? "window functions" : nil
            if let clash { throw SQLError(.featureNotSupported, "\(strength) is not allowed with \(clash)") }
            lockSpecs = try rowLocks(locking, scope: scope)
        }
        var plan = try JoinPlanner(binder: self, scope: scope).plan(from, where: whereExpr)
        if !lockSpecs.isEmpty {
            // Sort, lock and limit the block's wide rows, then project: a row that changed while
            // its lock was awaited is re-read and re-checked before its values are computed.
            let exprs = targets.map(\.expr) + hidden
            let wideKeys = sortKeys.map { k -> SortKey in
                guard case .slot(let i, _) = k.expr else { return k }
                return SortKey(expr: exprs[i], descending: k.descending, nullsFirst: k.nullsFirst)
            }
            if !wideKeys.isEmpty { plan = Plan(.sort(plan, wideKeys, limitHint: nil), width: plan.width, rows: plan.rows) }
            plan = Plan(.lockRows(plan, lockSpecs), width: plan.width, rows: plan.rows)
            plan = try applyLimit(plan, limit: limit, offset: offset, scope: parent)
            plan = Plan(.project(plan, targets.map(\.expr)), width: targets.count, rows: plan.rows)
            let columns = outputColumns(targets, scope)
            try verifyViewColumns(scope)
            return BoundQuery(plan: plan, columns: columns, outerDepthMax: scope.outerDepthMax)
        }

        // Aggregation
        var outputExprs = targets.map(\.expr) + hidden
        var havingExpr = having
        if aggregating {
            var rewriter = AggregateRewriter(keys: groupKeys, scope: scope)
            let aggs = scope.aggregates
            outputExprs = try outputExprs.map { try rewriter.rewrite($0) }
            havingExpr = try havingExpr.map { try rewriter.rewrite($0) }
            scope.windows = try scope.windows.map { try rewriter.rewrite($0) }
            outputExprs = outputExprs.map { rewriter.finalize($0) }
            havingExpr = havingExpr.map { rewriter.finalize($0) }
            scope.windows = scope.windows.map { rewriter.finalize($0) }
            let keys = rewriter.keys
            // Keys added for functionally dependent columns belong to every grouping set.
            if let sets = groupingSets, keys.count > groupKeys.count {
                groupingSets = sets.map { $0 + Array(groupKeys.count..<keys.count) }
            }
            let rows = keys.isEmpty ? 1 : max(1, plan.rows / 10)
            plan = Plan(.aggregate(AggregateSpec(input: plan, keys: keys, aggregates: aggs, groupingSets: groupingSets)),
                        width: keys.count + aggs.count + (groupingSets == nil ? 0 : 1), rows: rows)
            if let h = havingExpr { plan = Plan(.filter(plan, h), width: plan.width, rows: max(1, plan.rows / 3)) }
        }
        if !scope.windows.isEmpty {
            let base = plan.width
            outputExprs = outputExprs.map { e in
                e.rewritten { x in
                    if case .windowRef(let i, let t) = x { return .slot(base + i, t) }
                    return nil
                }
            }
            plan = Plan(.window(plan, scope.windows), width: base + scope.windows.count, rows: plan.rows)
        }
        try checkNoLeftoverReferences(outputExprs)
        let plainColumns = outputExprs.allSatisfy { e in
            switch e {
            case .slot, .constant, .parameter: return true
            default: return false
            }
        }
        if !aggregating && scope.windows.isEmpty && distinctOnKeys == nil && !core.distinct && !sortKeys.isEmpty && limit != nil,
           plainColumns {
            // ORDER BY ... LIMIT selecting plain columns: sort the block's rows and copy the
            // columns only for the rows the limit keeps. (An expression that can fail is
            // computed for every row first, as PostgreSQL computes it below its sort.)
            let wideKeys = sortKeys.map { k -> SortKey in
                guard case .slot(let i, _) = k.expr, i < outputExprs.count else { return k }
                return SortKey(expr: outputExprs[i], descending: k.descending, nullsFirst: k.nullsFirst)
            }
            plan = Plan(.sort(plan, wideKeys, limitHint: nil), width: plan.width, rows: plan.rows)
            plan = try applyLimit(plan, limit: limit, offset: offset, scope: parent)
            plan = Plan(.project(plan, outputExprs), width: outputExprs.count, rows: plan.rows)
            let columns = outputColumns(targets, scope)
            try verifyViewColumns(scope)
            return BoundQuery(plan: plan, columns: columns, outerDepthMax: scope.outerDepthMax)
        }
        plan = Plan(.project(plan, outputExprs), width: outputExprs.count, rows: plan.rows)

        if let keys = distinctOnKeys {
            let leading = keys.map { SortKey(expr: .slot($0, outputExprs[$0].type), descending: false, nullsFirst: false) }
            var order = sortKeys
            for k in leading where !order.contains(where: { if case .slot(let s, _) = $0.expr, case .slot(let t, _) = k.expr { return s == t }; return false }) {
                order.append(k)
            }
            plan = Plan(.sort(plan, order, limitHint: nil), width: plan.width, rows: plan.rows)
            plan = Plan(.distinctOn(plan, keys: keys), width: plan.width, rows: plan.rows)
        } else {
            if core.distinct {
                plan = Plan(.distinct(plan, columns: targets.count), width: plan.width, rows: plan.rows)
            }
            if !sortKeys.isEmpty {
                plan = Plan(.sort(plan, sortKeys, limitHint: nil), width: plan.width, rows: plan.rows)
            }
        }
        plan = try applyLimit(plan, limit: limit, offset: offset, scope: parent)
        let columns = outputColumns(targets, scope)
        try verifyViewColumns(scope)
        return BoundQuery(plan: plan, columns: columns, outerDepthMax: scope.outerDepthMax)
    }

    /// Aggregate and window placeholders must all have been replaced by now.
    /// A select list's columns; one that is a base table's column as it is names the table
    /// and attribute (RowDescription's table OID and column number, as PostgreSQL sends them).
    func outputColumns(_ targets: [(expr: BoundExpr, name: String, location: Int)], _ scope: BlockScope) -> [ResultColumn] {
        targets.map { t in
            var c = ResultColumn(name: t.name, type: t.expr.type == .unknown ? .text : t.expr.type)
            if case .slot(let k, _) = t.expr,
               let r = scope.relations.first(where: { $0.access != nil && k >= $0.offset && k < $0.offset + $0.width }),
               let table = r.access?.table {
                let p = k - r.offset
                if p < table.columns.count, !table.columns[p].isDropped, p < Int(Int16.max) {
                    c.tableOid = UInt32(truncatingIfNeeded: PGOid.relation(table.id))
                    c.attnum = Int16(p + 1)
                }
            }
            return c
        }
    }

    func checkNoLeftoverReferences(_ exprs: [BoundExpr]) throws {
        for e in exprs where e.hasAggregate || e.hasWindow {
            throw SQLError.bug("aggregate or window reference left in an expression")
        }
    }

    // MARK: Select-list helpers

    /// `*` or `t.*`: the visible columns, in FROM order (merged USING columns first per join).
    func expandStar(_ qualifier: String?, from: [FromNode], scope: BlockScope, location: Int) throws -> [(String, BoundExpr)] {
        if let q = qualifier {
            guard let r = scope.relation(named: q) else {
                throw SQLError(.undefinedTable, "missing FROM-clause entry for table \"\(q)\"", position: sqlPosition(location))
            }
            scope.noteRead(r.columns.map(\.slot))
            if starExpansions != nil && viewStack.isEmpty {
                starExpansions?.append((location, r.columns.map { Self.qualifiedName(r, in: scope) + "." + Deparser.ident($0.name) }))
            }
            return r.columns.map { ($0.name, .slot($0.slot, $0.type)) }
        }
        let all = from.flatMap(\.star)
        for (_, e) in all { scope.noteRead(e.slotSet) }
        if starExpansions != nil && viewStack.isEmpty {
            // A relation's column by its relation's name; a merged USING column by its own.
            starExpansions?.append((location, all.map { name, e in
                guard case .slot(let s, _) = e, let i = scope.relationIndex(ofSlot: s) else { return Deparser.ident(name) }
                return Self.qualifiedName(scope.relations[i], in: scope) + "." + Deparser.ident(name)
            }))
        }
        return all
    }

    /// How a column reference names a relation of the FROM list: by its name, with its schema
    /// when another relation there has the same name.
    static func qualifiedName(_ r: ScopeRelation, in scope: BlockScope) -> String {
        let shared = scope.relations.filter { $0.name == r.name }.count > 1
        return (shared ? r.schema.map { Deparser.ident($0) + "." } ?? "" : "") + Deparser.ident(r.name)
    }

    /// PostgreSQL's name for an unnamed select-list item (FigureColname).
    static func columnName(_ e: Expr) -> String {
        figure(e)?.name ?? "?column?"
    }

    /// A name and how strongly it names the expression (2: a column, function or the like;
    /// 1: a type cast or CASE; nil: nothing), as PostgreSQL chooses them.
    static func figure(_ e: Expr) -> (name: String, strength: Int)? {
        switch e {
        case .column(let parts, _): return parts.last.map { ($0, 2) }
        case .star(let q, _): return q.map { ($0, 2) }
        case .subscripted(let inner, _, _, _, _): return figure(inner)
        case .field(_, let name, _): return (name, 2)
        case .function(let f): return (f.name.last ?? "?column?", 2)
        case .nullIf: return ("nullif", 2)
        case .cast(let inner, let t, _):
            if let f = figure(inner), f.strength > 1 { return f }
            return (t.names.last ?? "?column?", 1)
        case .collate(let inner, _, _): return figure(inner)
        case .groupingFunc: return ("grouping", 2)
        case .subquery(let q, let kind, _, _):
            switch kind {
            case .exists: return ("exists", 2)
            case .array: return ("array", 2)
            case .scalar:
                if case .select(let core) = q.body, let t = core.targets.first {
                    if case .star = t.expr { return nil }
                    return (t.alias ?? columnName(t.expr), 2)
                }
                return nil
            default: return nil
            }
        case let .caseWhen(_, _, otherwise, _):
            if let o = otherwise, let f = figure(o), f.strength > 1 { return f }
            return ("case", 1)
        case .array: return ("array", 2)
        case .row: return ("row", 2)
        case .coalesce: return ("coalesce", 2)
        case .greatest: return ("greatest", 2)
        case .least: return ("least", 2)
        case .sqlValue(let op, _, _):
            let names = ["SVFOP_CURRENT_DATE": "current_date", "SVFOP_CURRENT_TIME": "current_time", "SVFOP_CURRENT_TIME_N": "current_time",
                         "SVFOP_CURRENT_TIMESTAMP": "current_timestamp", "SVFOP_CURRENT_TIMESTAMP_N": "current_timestamp",
                         "SVFOP_LOCALTIME": "localtime", "SVFOP_LOCALTIME_N": "localtime", "SVFOP_LOCALTIMESTAMP": "localtimestamp",
                         "SVFOP_LOCALTIMESTAMP_N": "localtimestamp", "SVFOP_CURRENT_ROLE": "current_role", "SVFOP_CURRENT_USER": "current_user",
                         "SVFOP_USER": "user", "SVFOP_SESSION_USER": "session_user", "SVFOP_CURRENT_CATALOG": "current_catalog",
                         "SVFOP_CURRENT_SCHEMA": "current_schema"]
            return names[op].map { ($0, 2) }
        default: return nil
        }
    }

    /// A GROUP BY item: a position in the select list, an input column, an output column
    /// name, or an expression (PostgreSQL prefers the input column for a bare name).
    func bindGroupItem(_ g: Expr, targets: [(expr: BoundExpr, name: String, location: Int)], scope: BlockScope) throws -> BoundExpr {
        if case let .constant(.integer(n), loc) = g {
            guard n >= 1, n <= targets.count else {
                throw SQLError(.invalidColumnReference, "GROUP BY position \(n) is not in select list", position: sqlPosition(loc))
            }
            let e = targets[Int(n) - 1].expr
            if e.hasAggregate {
                throw SQLError(SQLState("42803"), "aggregate functions are not allowed in GROUP BY", position: sqlPosition(loc))
            }
            return e
        }
        if case let .column(parts, loc) = g, parts.count == 1 {
            if case .found(let e) = try scope.resolveHere(parts, location: loc) { return e }
            let matches = targets.filter { $0.name == parts[0] }
            if let m = matches.first {
                if matches.count > 1 && !matches.allSatisfy({ $0.expr.same(as: m.expr) }) {
                    throw SQLError(.ambiguousColumn, "GROUP BY \"\(parts[0])\" is ambiguous", position: sqlPosition(loc))
                }
                if m.expr.hasAggregate {
                    throw SQLError(SQLState("42803"), "aggregate functions are not allowed in GROUP BY", position: sqlPosition(loc))
                }
                return m.expr
            }
        }
        return try bindExpr(g, scope)
    }

    func expandGroupingSet(_ kind: String, _ items: [Expr], targets: [(expr: BoundExpr, name: String, location: Int)],
                           scope: BlockScope, keys: inout [BoundExpr]) throws -> [[Int]] {
        func keyIndex(_ e: Expr) throws -> [Int] {
            if case let .row(xs, _) = e { return try xs.flatMap { try keyIndex($0) } }
            if case let .groupingSet(k, xs, _) = e, k == "GROUPING_SET_EMPTY" || xs.isEmpty { return [] }
            let b = try bindGroupItem(e, targets: targets, scope: scope)
            if let i = keys.firstIndex(where: { $0.same(as: b) }) { return [i] }
            keys.append(b)
            return [keys.count - 1]
        }
        switch kind {
        case "GROUPING_SET_EMPTY": return [[]]
        case "GROUPING_SET_ROLLUP":
            let parts = try items.map { try keyIndex($0) }
            return (0...parts.count).reversed().map { n in parts.prefix(n).flatMap { $0 } }
        case "GROUPING_SET_CUBE":
            let parts = try items.map { try keyIndex($0) }
            guard parts.count <= 12 else { throw SQLError(.programLimitExceeded, "CUBE is limited to 12 elements") }
            var out: [[Int]] = []
            for mask in (0..<(1 << parts.count)).reversed() {
                out.append(parts.indices.filter { mask & (1 << (parts.count - 1 - $0)) != 0 }.flatMap { parts[$0] })
            }
            return out
        case "GROUPING_SET_SIMPLE":
            return [try items.flatMap { try keyIndex($0) }]
        default:
            var out: [[Int]] = []
            for item in items {
                if case let .groupingSet(k, xs, _) = item {
                    out += try expandGroupingSet(k, xs, targets: targets, scope: scope, keys: &keys)
                } else {
                    out.append(try keyIndex(item))
                }
            }
            return out
        }
    }

    /// An ORDER BY item: a select-list position, an output column name (preferred for a bare
    /// name), or an expression over the input.
    func bindSortItem(_ item: SortItem, targets: [(expr: BoundExpr, name: String, location: Int)], scope: BlockScope) throws -> BoundExpr {
        if case let .constant(.integer(n), loc) = item.expr {
            guard n >= 1, n <= targets.count else {
                throw SQLError(.invalidColumnReference, "ORDER BY position \(n) is not in select list", position: sqlPosition(loc))
            }
            return targets[Int(n) - 1].expr
        }
        if case let .column(parts, loc) = item.expr, parts.count == 1 {
            let matches = targets.filter { $0.name == parts[0] }
            if let m = matches.first {
                if matches.count > 1 && !matches.allSatisfy({ $0.expr.same(as: m.expr) }) {
                    throw SQLError(.ambiguousColumn, "ORDER BY \"\(parts[0])\" is ambiguous", position: sqlPosition(loc))
                }
                return m.expr
            }
        }
        return try bindExpr(item.expr, scope)
    }

    // MARK: FOR UPDATE / SHARE

    /// The base tables a locking clause locks (all of the block's, or those named by OF).
    func rowLocks(_ clauses: [LockingClause], scope: BlockScope) throws -> [RowLockSpec] {
        var specs: [RowLockSpec] = []
        for c in clauses {
            let mode: RowLockMode
            switch c.strength {
            case .update: mode = .update
            case .noKeyUpdate: mode = .noKeyUpdate
            case .share: mode = .share
            case .keyShare: mode = .keyShare
            }
            let named = c.tables
            for n in named where scope.relation(named: n) == nil {
                throw SQLError(.undefinedTable, "relation \"\(n)\" in FOR UPDATE clause not found in FROM clause")
            }
            for r in scope.relations where named.isEmpty || named.contains(r.name) {
                guard let access = r.access else {
                    if named.isEmpty { continue }
                    throw SQLError.notSupported("FOR UPDATE on a subquery, function or CTE in FROM")
                }
                if case .transaction = access.mode {} else {
                    throw SQLError(.readOnlySQLTransaction, "cannot lock rows while reading the past (AS OF)")
                }
                // Locking a row takes UPDATE on the table or on some column of it (PostgreSQL
                // 15's rule): SELECT alone must not let a reader block the writers.
                let t = access.table
                let rights = rightsCatalog
                if t.schema != TemporaryTables.schema, let role = readingRole(rights),
                   let denied = rights.denial(of: role, .update, relation: t.id, kind: "table", name: t.name, schema: t.schema, columns: []) {
                    throw SQLError(.insufficientPrivilege, denied)
                }
                access.needsKey = true
                access.readsAllColumns = true
                if let i = specs.firstIndex(where: { $0.access === access }) {
                    specs[i].mode = max(specs[i].mode, mode)
                } else {
                    specs.append(RowLockSpec(access: access, offset: r.offset, mode: mode, wait: c.wait))
                }
            }
        }
        return specs
    }
}

extension SQLError {
    static func notSupported(_ what: String, position: Int? = nil) -> SQLError {
        SQLError(.featureNotSupported, "\(what) is not supported", position: position)
    }
}

extension Binder {
    /// Set-returning functions of one column in the select list of a query without grouping
    /// (`SELECT generate_series(1, 3)`, `SELECT id, unnest(tags) FROM t`): each row of FROM
    /// repeats once per row of the function, as PostgreSQL's ProjectSet gives it. One such
    /// function is moved into FROM as a LATERAL item, which is exactly that; more than one
    /// (run in lockstep by PostgreSQL) or one under aggregation stays refused.
    static let singleColumnSetFunctions: Set<String> = [
        "generate_series", "unnest", "jsonb_array_elements", "jsonb_array_elements_text", "json_array_elements",
        "json_array_elements_text", "jsonb_object_keys", "json_object_keys", "regexp_split_to_table", "generate_subscripts",
        "string_to_table", "regexp_matches", "pg_partition_ancestors", "_pg_expandarray",
    ]

    /// The FROM item set-returning functions of a select list run in lockstep as.
    static let rowsFromName = "?drift_rows_from?"

    static func setFunctionsMovedToFrom(_ core: SelectCore) -> SelectCore {
        guard core.groupBy.isEmpty, core.having == nil else { return core }
        var hits: [Int] = []
        var aggregate = false
        func scan(_ e: Expr) {
            if case .function(let f) = e, let n = f.name.last?.lowercased() {
                if aggregateNames.contains(n) || f.over != nil { aggregate = true }
            }
            for c in e.children { scan(c) }
        }
        /// The call of a target that is a set function, or a field of one (`(f(x)).n`).
        func setFunctionCall(_ e: Expr) -> FunctionCall? {
            switch e {
            case .field(let inner, _, _): return setFunctionCall(inner)
            case .function(let f):
                guard f.over == nil, f.filter == nil, !f.distinct, f.orderBy.isEmpty, let n = f.name.last?.lowercased(),
                      singleColumnSetFunctions.contains(n), FunctionCatalog.setFunctions[n] != nil, !FunctionCatalog.exists(n) else { return nil }
                return f
            default: return nil
            }
        }
        /// The target with its set function's call replaced by `column`.
        func replacing(_ e: Expr, with column: Expr) -> Expr {
            if case let .field(inner, name, loc) = e { return .field(replacing(inner, with: column), name, location: loc) }
            return column
        }
        for (i, t) in core.targets.enumerated() {
            scan(t.expr)
            if setFunctionCall(t.expr) != nil { hits.append(i) }
        }
        guard !hits.isEmpty, !aggregate else { return core }
        if hits.count > 1 {
            // Several run in lockstep (PostgreSQL's ROWS FROM): one row per step, NULL for the
            // ones that ran out, until all have.
            var out = core
            let alias = "?drift_srf?"
            var calls: [Expr] = []
            for (k, i) in hits.enumerated() {
                guard let f = setFunctionCall(core.targets[i].expr) else { return core }
                calls.append(.function(f))
                let name = core.targets[i].alias ?? figure(core.targets[i].expr)?.name ?? f.name.last?.lowercased() ?? "?column?"
                out.targets[i] = SelectTarget(expr: replacing(core.targets[i].expr, with: .column([alias, "c\(k)"], location: f.location)),
                                              alias: name, location: core.targets[i].location)
            }
            let zip = FunctionCall(name: [rowsFromName], args: calls, location: calls.first?.location ?? 0)
            out.from.append(.function(zip, alias: alias, columnAliases: hits.indices.map { "c\($0)" }, withOrdinality: false,
                                      lateral: true, location: zip.location))
            return out
        }
        guard let i = hits.first, let f = setFunctionCall(core.targets[i].expr) else { return core }
        var out = core
        let alias = "?drift_srf?"
        let name = f.name.last?.lowercased() ?? "?column?"
        out.from.append(.function(f, alias: alias, columnAliases: [name], withOrdinality: false, lateral: true, location: f.location))
        out.targets[i] = SelectTarget(expr: replacing(core.targets[i].expr, with: .column([alias, name], location: f.location)),
                                      alias: core.targets[i].alias ?? figure(core.targets[i].expr)?.name ?? name,
                                      location: core.targets[i].location)
        return out
    }
}

extension Binder {
    /// Decorrelation: `FROM a WHERE ... AND EXISTS (SELECT ... FROM b WHERE c)` becomes
    /// `FROM a SEMI JOIN b ON c` (NOT EXISTS an anti join, `x IN (SELECT y ...)` a semi join
    /// on `x = y AND c`), so the planner can hash-join instead of running the subquery per row.
    /// Only for one FROM item outside and a plain subquery inside (no grouping, aggregates,
    /// windows, DISTINCT ON, set operations, CTEs or OFFSET; a LIMIT only for EXISTS and only
    /// above zero). NOT IN is left alone: its NULL rule is not a join's.
    static func semiJoins(_ core: SelectCore) -> SelectCore? {
        guard core.from.count == 1, let w = core.whereClause else { return nil }
        let conjuncts: [Expr]
        if case .and(let xs) = w { conjuncts = xs } else { conjuncts = [w] }
        var rest: [Expr] = []
        var from = core.from[0]
        var changed = false
        for c in conjuncts {
            guard let (kind, inner, on) = semiJoinCandidate(c) else {
                rest.append(c)
                continue
            }
            from = .join(kind, from, inner, on: on, using: [], natural: false, alias: nil, location: c.location ?? 0)
            changed = true
        }
        guard changed else { return nil }
        var out = core
        out.from = [from]
        out.whereClause = rest.isEmpty ? nil : rest.count == 1 ? rest[0] : .and(rest)
        return out
    }

    static func semiJoinCandidate(_ e: Expr) -> (JoinKind, FromItem, Expr?)? {
        var negated = false
        var x = e
        if case .not(let inner) = e {
            negated = true
            x = inner
        }
        guard case let .subquery(q, kind, test, _) = x else { return nil }
        let exists: Bool
        switch kind {
        case .exists: exists = true
        case .any(let op) where op == "=" && !negated && test != nil: exists = false
        default: return nil
        }
        guard q.with.isEmpty, q.offset == nil, q.temporal == nil, q.locking.isEmpty, case .select(let sub) = q.body,
              sub.distinctOn == nil, sub.groupBy.isEmpty, sub.having == nil, sub.windows.isEmpty, sub.into == nil,
              !sub.from.isEmpty else { return nil }
        if let l = q.limit {
            guard exists, case .constant(.integer(let n), _) = l, n > 0 else { return nil }
        }
        var aggregate = false
        func scan(_ e: Expr) {
            if case .function(let f) = e, let n = f.name.last?.lowercased(), aggregateNames.contains(n) || f.over != nil {
                aggregate = true
            }
            if case .subquery = e { return }
            for c in e.children { scan(c) }
        }
        for t in sub.targets { scan(t.expr) }
        guard !aggregate else { return nil }
        // The subquery's FROM becomes the join's right side, where the outer query's columns
        // are out of scope: only plain tables whose join conditions name the subquery's own
        // tables move (a derived table, a function or an ON clause may reference the outer
        // query, and bound there such a reference read NULL).
        guard fromIsSelfContained(sub.from) else { return nil }
        var right = sub.from[0]
        for item in sub.from.dropFirst() {
            right = .join(.inner, right, item, on: nil, using: [], natural: false, alias: nil, location: 0)
        }
        var conditions: [Expr] = []
        if let w = sub.whereClause { conditions.append(w) }
        if !exists {
            guard sub.targets.count == 1, let test else { return nil }
            if case .star = sub.targets[0].expr { return nil }
            if case .row = test { return nil }
            conditions.append(.op("=", left: test, right: sub.targets[0].expr, location: sub.targets[0].location))
            return (.semi, right, conditions.count == 1 ? conditions[0] : .and(conditions))
        }
        guard !conditions.isEmpty else { return nil }
        return (negated ? .anti : .semi, right, conditions.count == 1 ? conditions[0] : .and(conditions))
    }
}

extension Binder {
    /// Whether `items` are plain tables, joined on conditions whose every column is qualified
    /// with one of those tables' names (nothing in them can name an outer query's column).
    static func fromIsSelfContained(_ items: [FromItem]) -> Bool {
        var names = Set<String>()
        var conditions: [Expr] = []
        func collect(_ item: FromItem) -> Bool {
            switch item {
            case .table(let t):
                names.insert(t.alias ?? t.name)
                return true
            case let .join(_, l, r, on, _, _, _, _):
                if let on { conditions.append(on) }
                return collect(l) && collect(r)
            case .subquery, .function:
                return false
            }
        }
        guard items.allSatisfy(collect) else { return false }
        func inner(_ e: Expr) -> Bool {
            if case .column(let parts, _) = e { return parts.count >= 2 && names.contains(parts[parts.count - 2]) }
            if case .subquery = e { return false }
            return e.children.allSatisfy(inner)
        }
        return conditions.allSatisfy(inner)
    }

    static func lockingName(_ s: LockStrength) -> String {
        switch s {
        case .update: return "FOR UPDATE"
        case .noKeyUpdate: return "FOR NO KEY UPDATE"
        case .share: return "FOR SHARE"
        case .keyShare: return "FOR KEY SHARE"
        }
    }
}

extension Binder {
    /// An enum value's position in its type's label list: enums compare and sort by it.
    static func enumOrdinal(_ e: EnumType) -> ScalarFunction {
        ScalarFunction("enum_ordinal", .unary { v in
            guard case .text(let label) = v, let i = e.ordinal(label) else {
                throw SQLError(.invalidTextRepresentation, "invalid input value for enum \(e.name): \"\(v.pgText ?? "")\"")
            }
            return .int(Int64(i))
        })
    }
}

