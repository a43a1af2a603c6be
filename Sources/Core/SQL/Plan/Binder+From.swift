import DriftCore
import DriftStorage

/// A bound FROM item: relations of the block's scope, joined.
final class FromNode {
    enum Kind {
        case relation(Int)
        /// Inner joins keep their condition here too; the join planner flattens them.
        case join(JoinType, FromNode, FromNode, condition: BoundExpr?)
    }

    let kind: Kind
    /// What `*` expands to for this item.
    let star: [(String, BoundExpr)]

    init(_ kind: Kind, star: [(String, BoundExpr)]) {
        self.kind = kind
        self.star = star
    }

    /// The scope relations this item covers.
    var relations: [Int] {
        switch kind {
        case .relation(let i): return [i]
        case let .join(_, l, r, _): return l.relations + r.relations
        }
    }
}

extension Binder {
    func bindFromList(_ items: [FromItem], _ scope: BlockScope) throws -> [FromNode] {
        var out: [FromNode] = []
        for item in items { out.append(try bindFromItem(item, scope)) }
        return out
    }

    func bindFromItem(_ item: FromItem, _ scope: BlockScope) throws -> FromNode {
        switch item {
        case .table(let ref):
            return try bindTableRef(ref, scope)
        case let .subquery(q, alias, columnAliases, lateral, location):
            guard let alias else {
                throw SQLError(.syntaxError, "subquery in FROM must have an alias",
                               hint: "For example, FROM (SELECT ...) [AS] foo.", position: sqlPosition(location))
            }
            let bound = try withVisibility(scope, lateral: lateral) { try bindQuery(q, parent: scope) }
            return try addDerived(bound.query, name: alias, columnAliases: columnAliases, scope: scope, location: location,
                                  lateral: bound.lateral)
        case let .function(call, alias, columnAliases, withOrdinality, lateral, location):
            return try bindFunctionItem(call, alias: alias, columnAliases: columnAliases, withOrdinality: withOrdinality,
                                        lateral: lateral, scope: scope, location: location)
        case let .join(kind, l, r, on, using, natural, alias, location):
            if alias != nil { throw SQLError.notSupported("an alias on a JOIN", position: sqlPosition(location)) }
            let left = try bindFromItem(l, scope)
            let right = try bindFromItem(r, scope)
            let type: JoinType
            switch kind {
            case .inner: type = .inner
            case .left: type = .left
            case .right: type = .right
            case .full: type = .full
            case .semi: type = .semi
            case .anti: type = .anti
            }
            var condition: BoundExpr?
            var star: [(String, BoundExpr)]
            var usingColumns = using
            if natural {
                let rightNames = Set(right.star.map(\.0))
                usingColumns = left.star.map(\.0).filter { rightNames.contains($0) }
            }
            if natural || !using.isEmpty {
                var conds: [BoundExpr] = []
                var mergedStar: [(String, BoundExpr)] = []
                for name in usingColumns {
                    let ls = left.star.filter { $0.0 == name }, rs = right.star.filter { $0.0 == name }
                    guard ls.count <= 1 else {
                        throw SQLError(.ambiguousColumn, "common column name \"\(name)\" appears more than once in left table", position: sqlPosition(location))
                    }
                    guard rs.count <= 1 else {
                        throw SQLError(.ambiguousColumn, "common column name \"\(name)\" appears more than once in right table", position: sqlPosition(location))
                    }
                    guard let a = ls.first?.1 else {
                        throw SQLError(.undefinedColumn, "column \"\(name)\" specified in USING clause does not exist in left table", position: sqlPosition(location))
                    }
                    guard let b = rs.first?.1 else {
                        throw SQLError(.undefinedColumn, "column \"\(name)\" specified in USING clause does not exist in right table", position: sqlPosition(location))
                    }
                    let (ca, cb) = try comparedOperands(.eq, a, b, location: location)
                    scope.noteRead(a.slotSet.union(b.slotSet))
                    conds.append(.compare(.eq, ca, cb))
                    let mergedExpr: BoundExpr
                    switch type {
                    case .inner, .left, .semi, .anti: mergedExpr = ca
                    case .right: mergedExpr = cb
                    case .full: mergedExpr = .coalesce([ca, cb], ca.type)
                    }
                    mergedStar.append((name, mergedExpr))
                    scope.merged[name] = mergedExpr
                }
                condition = conds.isEmpty ? nil : (conds.count == 1 ? conds[0] : .and(conds))
                star = mergedStar + left.star.filter { !usingColumns.contains($0.0) } + right.star.filter { !usingColumns.contains($0.0) }
            } else {
                if let on {
                    scope.aggregateBan = "JOIN conditions"
                    scope.windowBan = "JOIN conditions"
                    condition = try bindCondition(on, scope, context: "JOIN/ON")
                }
                star = left.star + right.star
            }
            if type == .semi || type == .anti {
                // The subquery's tables were never visible outside it.
                for i in right.relations { scope.relations[i].visible = false }
                star = left.star
            }
            return FromNode(.join(type, left, right, condition: condition), star: star)
        }
    }

    /// Runs `body` with the scope's relations hidden unless the item is LATERAL; returns whether
    /// the item ended up reading the block's row (it then runs once per row to its left).
    func withVisibility<T>(_ scope: BlockScope, lateral: Bool, _ body: () throws -> T) throws -> (query: T, lateral: Bool) {
        let saved = scope.relations.map(\.visible)
        let readBefore = scope.slotsReadByChildren
        if !lateral { for i in scope.relations.indices { scope.relations[i].visible = false } }
        defer { for i in scope.relations.indices { scope.relations[i].visible = saved[i] } }
        let r = try body()
        let read = scope.slotsReadByChildren != readBefore
        // A FROM item reads the block's row before any grouping: its reads are not those of
        // a select-list or HAVING subquery (which must read grouped columns only).
        scope.slotsReadByChildren = readBefore
        return (r, read)
    }

    /// A subquery (or expanded view) as a relation of the block.
    /// `hiddenTail`: trailing columns found by name only, not part of `*`.
    func addDerived(_ q: BoundQuery, name: String, columnAliases: [String], scope: BlockScope, location: Int,
                    lateral: Bool, schema: String? = nil, hiddenTail: Int = 0) throws -> FromNode {
        guard columnAliases.count <= q.columns.count else {
            throw SQLError(.invalidColumnReference, "table \"\(name)\" has \(q.columns.count) columns available but \(columnAliases.count) columns specified",
                           position: sqlPosition(location))
        }
        var plan = q.plan
        if plan.width != q.columns.count {
            plan = Plan(.project(plan, q.columns.enumerated().map { .slot($0.offset, $0.element.type) }), width: q.columns.count, rows: plan.rows)
        }
        let offset = scope.width
        let columns = q.columns.enumerated().map { i, c in
            ScopeRelation.Column(name: i < columnAliases.count ? columnAliases[i] : c.name, slot: offset + i, type: c.type)
        }
        var r = ScopeRelation(name: name, schema: schema, columns: columns, access: nil, offset: offset, width: q.columns.count)
        r.lateral = lateral
        let index = scope.add(r, source: plan)
        return FromNode(.relation(index), star: columns.dropLast(hiddenTail).map { ($0.name, .slot($0.slot, $0.type)) })
    }

    func bindTableRef(_ ref: TableRef, _ scope: BlockScope) throws -> FromNode {
        // A CTE of that name hides tables.
        if ref.schema == nil, let cte = scope.cte(ref.name) {
            if ref.temporal != nil || temporalMap[ref.location] != nil {
                throw SQLError(.featureNotSupported, "AS OF / FOR SYSTEM_TIME on a WITH query is not supported",
                               hint: "Put the clause on the tables inside the WITH query.", position: sqlPosition(ref.location))
            }
            let plan: Plan
            if cte.recursive && cte.plan == nil {
                plan = Plan(.workTable(cte), width: cte.columns.count, rows: 10)
            } else {
                plan = Plan(.cteScan(cte), width: cte.columns.count, rows: cte.plan?.rows ?? 100)
            }
            let q = BoundQuery(plan: plan, columns: cte.columns, outerDepthMax: 0)
            return try addDerived(q, name: ref.alias ?? ref.name, columnAliases: ref.columnAliases, scope: scope,
                                  location: ref.location, lateral: false)
        }
        let spec = ref.temporal ?? temporalMap[ref.location] ?? statementTemporal
        let mode = try readMode(spec)
        let catalog: Catalog
        switch mode {
        case .asOf(let seq): catalog = engine.catalog(at: seq)
        default: catalog = catalogOverride ?? txn.catalog
        }
        let schemas = ref.schema.map { [$0] } ?? session?.searchPath(in: catalog) ?? ["public"]
        for schema in schemas {
            if let t = catalog.table(schema: schema, ref.name) {
                if t.schema == TemporaryTables.schema, case .history = mode {
                    throw SQLError.notSupported("FOR SYSTEM_TIME on a temporary table (temporary tables keep no history)",
                                                position: sqlPosition(ref.location))
                }
                return try addTable(t, ref: ref, mode: mode, scope: scope)
            }
            if let v = catalog.view(schema: schema, ref.name) {
                return try addView(v, ref: ref, mode: mode, scope: scope)
            }
            if let seq = catalog.sequence(schema: schema, ref.name) {
                // A sequence reads as one row: last_value, log_cnt, is_called.
                try requirePrivileges(.select, relation: seq.id, kind: "sequence", name: seq.name, schema: seq.schema)
                cacheable = false
                let (last, called) = engine.sequenceCurrent(seq)
                let row: [BoundExpr] = [.constant(.int(last), .int8), .constant(.int(0), .int8), .constant(.bool(called), .bool)]
                let q = BoundQuery(plan: Plan(.values([row]), width: 3, rows: 1),
                                   columns: [ResultColumn(name: "last_value", type: .int8), ResultColumn(name: "log_cnt", type: .int8),
                                             ResultColumn(name: "is_called", type: .bool)], outerDepthMax: 0)
                return try addDerived(q, name: ref.alias ?? seq.name, columnAliases: ref.columnAliases, scope: scope,
                                      location: ref.location, lateral: false)
            }
        }
        // drift_audit by its name alone, like drift_events (it lives in schema drift).
        if ref.schema == nil, ref.name == Audit.table, let audit = Audit.table(in: catalog) {
            return try addTable(audit, ref: ref, mode: mode, scope: scope)
        }
        if ref.schema == nil || ref.schema == "pg_catalog" || ref.schema == "drift", let system = try systemRelation(ref, mode: mode, scope: scope) {
            return system
        }
        if let catalogTable = SystemTables.byName[(ref.schema ?? "pg_catalog") + "." + ref.name],
           ref.schema != nil || searchPath.contains(catalogTable.schema) || catalogTable.schema == "pg_catalog" {
            return try addSystemTable(catalogTable, ref: ref, mode: mode, scope: scope)
        }
        var detail: String?
        if case .asOf(let seq) = mode { detail = "The relation does not exist as of seq \(seq)." }
        throw SQLError(.undefinedTable, "relation \"\(ref.schema.map { $0 + "." } ?? "")\(ref.name)\" does not exist", detail: detail,
                       position: sqlPosition(ref.location))
    }

    /// The system views: `drift_events`, the change log as rows.
    func systemRelation(_ ref: TableRef, mode: ReadMode, scope: BlockScope) throws -> FromNode? {
        cacheable = false
        if ref.name == "drift_cdc_status" {
            guard case .transaction = mode else {
                throw SQLError(.featureNotSupported, "AS OF and FOR SYSTEM_TIME on drift_cdc_status",
                               detail: "drift_cdc_status shows the sinks as they are now.", position: sqlPosition(ref.location))
            }
            let call = SetFunctionCall(function: DriftEvents.cdcStatus, args: [], withOrdinality: false)
            let plan = Plan(.setFunction(call), width: DriftEvents.cdcStatusColumns.count, rows: 4)
            let q = BoundQuery(plan: plan, columns: DriftEvents.cdcStatusColumns, outerDepthMax: 0)
            return try addDerived(q, name: ref.alias ?? ref.name, columnAliases: ref.columnAliases, scope: scope, location: ref.location,
                                  lateral: false)
        }
        guard ref.name == "drift_events" else { return nil }
        let upTo: UInt64?
        switch mode {
        case .asOf(let seq): upTo = seq
        case .transaction: upTo = nil
        case .history:
            throw SQLError(.featureNotSupported, "FOR SYSTEM_TIME on drift_events", detail: "drift_events is the history itself.",
                           position: sqlPosition(ref.location))
        }
        let call = SetFunctionCall(function: DriftEvents.function(upTo: upTo), args: [.constant(.int(driftEventsFloor), .int8)],
                                   withOrdinality: false)
        let plan = Plan(.setFunction(call), width: DriftEvents.columns.count, rows: 1000)
        let q = BoundQuery(plan: plan, columns: DriftEvents.columns, outerDepthMax: 0)
        return try addDerived(q, name: ref.alias ?? ref.name, columnAliases: ref.columnAliases, scope: scope, location: ref.location,
                              lateral: false)
    }

    /// A pg_catalog or information_schema relation, built from the catalog the reader reads.
    func addSystemTable(_ table: SystemTable, ref: TableRef, mode: ReadMode, scope: BlockScope) throws -> FromNode {
        cacheable = false
        let function: SetFunction
        var columns = table.columns
        switch mode {
        case .asOf(let seq): function = SystemTables.function(table, asOf: seq)
        case .transaction: function = SystemTables.function(table, asOf: nil)
        case let .history(lower, upper, inclusive):
            // Who had which rights when: every version of the rows, with the history columns
            // (found by name, not part of `*`, as on a table).
            function = SystemTables.history(table, lower: lower, upper: upper, upperInclusive: inclusive)
            columns += SystemTables.historyColumns
        }
        let call = SetFunctionCall(function: function, args: [], withOrdinality: false)
        let plan = Plan(.setFunction(call), width: columns.count, rows: 100)
        let q = BoundQuery(plan: plan, columns: columns, outerDepthMax: 0)
        return try addDerived(q, name: ref.alias ?? ref.name, columnAliases: ref.columnAliases, scope: scope, location: ref.location,
                              lateral: false, schema: ref.alias == nil ? table.schema : nil,
                              hiddenTail: columns.count - table.columns.count)
    }

    /// Schemas searched for an unqualified name.
    var searchPath: [String] { session?.searchPath(in: catalogOverride ?? txn.catalog) ?? ["public"] }

    /// 42501 unless the reading role holds `needed` on the relation (and USAGE on its schema).
    /// Checked against the catalog as it is now, also for reads of the past.
    func requirePrivileges(_ needed: Privileges, relation id: UInt32, kind: String, name: String, schema: String) throws {
        guard !needed.isEmpty, schema != TemporaryTables.schema else { return }
        let catalog = rightsCatalog
        guard let role = readingRole(catalog),
              let denied = catalog.denial(of: role, needed, relation: id, kind: kind, name: name, schema: schema) else { return }
        throw SQLError(.insufficientPrivilege, denied)
    }

    /// The column privilege checks of every scan bound so far (EXPLAIN runs no scan).
    func verifyColumnGrants() throws {
        for access in columnChecked { try access.columnGrantCheck?.verify(access) }
    }

    /// 42501 unless the reading role holds `need` on the table; a role with SELECT on some of
    /// its columns only gets a check of the columns the statement reads, run once they are
    /// all known (before the scan reads a row).
    func tableReadCheck(_ need: Privileges, _ t: TableDef) throws -> ColumnGrantCheck? {
        guard !need.isEmpty, t.schema != TemporaryTables.schema else { return nil }
        let catalog = rightsCatalog
        guard let role = readingRole(catalog),
              let denied = catalog.denial(of: role, need, relation: t.id, kind: "table", name: t.name, schema: t.schema) else { return nil }
        guard need == .select,
              catalog.denial(of: role, need, relation: t.id, kind: "table", name: t.name, schema: t.schema, columns: []) == nil else {
            throw SQLError(.insufficientPrivilege, denied)
        }
        return ColumnGrantCheck(role: role, catalog: catalog)
    }

    /// `need`: the privileges reading the table takes (SELECT; none for a statement's own
    /// target, which the statement checks for what it does).
    func addTable(_ t: TableDef, ref: TableRef, mode: ReadMode, scope: BlockScope, need: Privileges = .select) throws -> FromNode {
        let columnCheck = try tableReadCheck(need, t)
        referenced.insert(t.id)
        let access = TableAccess(table: t, alias: ref.alias ?? t.name, mode: mode)
        access.columnGrantCheck = columnCheck
        if columnCheck != nil { columnChecked.append(access) }
        // Row-level security: the policies' condition is the scan's first filter, evaluated
        // before any predicate of the reader's (which the planner appends after it).
        if need.contains(.select), let condition = try rowSecurityCondition(t, .select, check: false, access: access) {
            access.filters.append(condition)
        }
        if let s = engine.store(t.id) { access.tableRows = Double(max(s.stats.liveRows, 1)) }
        tableSizes[t.id] = access.tableRows
        if case .transaction = mode {} else { cacheable = false }
        access.statistics = engine.statistics(of: t.id)
        let offset = scope.width
        var columns: [ScopeRelation.Column] = []
        let visible = t.visibleColumns
        guard ref.columnAliases.count <= visible.count else {
            throw SQLError(.invalidColumnReference, "table \"\(access.alias)\" has \(visible.count) columns available but \(ref.columnAliases.count) columns specified",
                           position: sqlPosition(ref.location))
        }
        for (i, p) in visible.enumerated() {
            let c = t.columns[p]
            let type: SQLType
            if case .modified(let b, _) = c.type { type = b } else { type = c.type }
            columns.append(ScopeRelation.Column(name: i < ref.columnAliases.count ? ref.columnAliases[i] : c.name, slot: offset + p, type: type))
        }
        var r = ScopeRelation(name: access.alias, schema: ref.alias == nil ? t.schema : nil, columns: columns, access: access,
                              offset: offset, width: access.width)
        r.pseudo = Pseudo.allCases.map { ($0, offset + access.pseudoSlot($0)) }
        r.keySlots = t.primaryKey.map { offset + $0 }
        if scope.relations.contains(where: { $0.name == r.name && $0.visible }) {
            throw SQLError(SQLState("42712"), "table name \"\(r.name)\" specified more than once", position: sqlPosition(ref.location))
        }
        if case .history = mode { txn.noteHistoryScan(t) }
        let index = scope.add(r, source: Plan(.table(access), width: access.width, rows: access.tableRows))
        return FromNode(.relation(index), star: columns.map { ($0.name, .slot($0.slot, $0.type)) })
    }

    func addView(_ v: ViewDef, ref: TableRef, mode: ReadMode, scope: BlockScope) throws -> FromNode {
        if case .history = mode {
            throw SQLError.notSupported("FOR SYSTEM_TIME ALL/BETWEEN/FROM on a view", position: sqlPosition(ref.location))
        }
        let columnCheck = try viewReadCheck(v)
        var asOf: UInt64?
        if case .asOf(let seq) = mode { asOf = seq }
        let bound = try withVisibility(scope, lateral: false) { try bindView(v, asOf: asOf, parent: scope) }
        let query = try Self.viewColumnsAsDefined(v, bound.query)
        let names = v.columnNames.isEmpty ? query.columns.map(\.name) : v.columnNames
        let aliases = ref.columnAliases + names.dropFirst(ref.columnAliases.count)
        let node = try addDerived(query, name: ref.alias ?? v.name, columnAliases: Array(aliases), scope: scope,
                                  location: ref.location, lateral: false)
        if let columnCheck { scope.relations[scope.relations.count - 1].viewColumns = columnCheck }
        return node
    }

    /// A view's columns are the ones it was created with (PostgreSQL fixes the list at CREATE
    /// VIEW); its stored query is bound again at each read, so a `*` in it also yields the
    /// columns its table gained since. Those come after the view's own when the `*` ends the
    /// list and are left out; any other change (a gained column landing among the view's own,
    /// a column gone) would put a column's data and its grants under another column's name,
    /// and fails instead (DROP COLUMN refuses the change while such a view exists).
    static func viewColumnsAsDefined(_ v: ViewDef, _ q: BoundQuery) throws -> BoundQuery {
        let n = v.columnNames.count
        guard n > 0, q.columns.count != n else { return q }
        let names = q.columns.map(\.name)
        // Column names of a view are distinct: a gained column that pushed one of the view's
        // own past the prefix would repeat that column's name. (A view whose columns were
        // renamed by a column list cannot be checked this way, and fails.)
        guard names.count > n, Set(names).count == names.count,
              zip(names.prefix(n), v.columnNames).allSatisfy({ $0 == $1 }) else {
            throw SQLError(SQLState("55000"), "view \"\(v.name)\" no longer matches the columns it was created with",
                           detail: "A table it reads with * has gained columns ahead of the view's own since the view was created.",
                           hint: "Recreate the view (CREATE OR REPLACE VIEW) with its columns listed.")
        }
        return BoundQuery(plan: q.plan, columns: Array(q.columns.prefix(n)), outerDepthMax: q.outerDepthMax)
    }

    /// 42501 unless the reading role holds SELECT on the view; a role with SELECT on some of
    /// its columns gets a check of the columns the statement reads (`verifyViewColumns`).
    func viewReadCheck(_ v: ViewDef) throws -> ViewColumnUse? {
        let catalog = rightsCatalog
        guard v.schema != TemporaryTables.schema, let role = readingRole(catalog),
              let denied = catalog.denial(of: role, .select, relation: v.id, kind: "view", name: v.name, schema: v.schema) else { return nil }
        guard catalog.denial(of: role, .select, relation: v.id, kind: "view", name: v.name, schema: v.schema, columns: []) == nil else {
            throw SQLError(.insufficientPrivilege, denied)
        }
        return ViewColumnUse(view: v, role: role, catalog: catalog)
    }

    /// Checks the column privileges of the views read on them in `scope`, once the block
    /// is bound (every column it reads of them is known then).
    func verifyViewColumns(_ scope: BlockScope) throws {
        for r in scope.relations { try r.viewColumns?.verify() }
    }

    /// A view's stored query, bound (as of `asOf`: its tables read as of that point too).
    func bindView(_ v: ViewDef, asOf: UInt64? = nil, parent: BlockScope? = nil) throws -> BoundQuery {
        referenced.insert(v.id)
        guard !viewStack.contains(v.qualifiedName), viewStack.count < 32 else {
            throw SQLError(SQLState("42P17"), "infinite recursion detected in rules for relation \"\(v.name)\"")
        }
        viewStack.append(v.qualifiedName)
        defer { viewStack.removeLast() }
        // The view's tables are read with its owner's privileges (PostgreSQL's default).
        let current = rightsCatalog
        let owner = current.objectACL(.relation(v.id)).owner
        privilegeRoles.append(owner == Catalog.bootstrapRoleId ? nil : current.roles[owner])
        defer { privilegeRoles.removeLast() }
        var (q, map) = try Session.parseQuery(v.sql, what: "view \"\(v.name)\"", dt: dateTime)
        if let asOf {
            // Read as of a point: every table of the view reads as of it, whatever the view says.
            q.temporal = .asOf(.seq(asOf))
            map = [:]
        }
        let saved = (statementTemporal, temporalMap)
        statementTemporal = q.temporal
        temporalMap = map
        defer { (statementTemporal, temporalMap) = saved }
        q.temporal = nil
        return try bindQuery(q, parent: parent)
    }

    func readMode(_ spec: TemporalSpec?) throws -> ReadMode {
        switch spec {
        case nil: return .transaction
        case .asOf(let t)?: return .asOf(try resolve(t))
        case .all?: return .history(lower: Int64.min, upper: Int64.max, upperInclusive: true)
        case let .between(a, b)?: return .history(lower: try time(a), upper: try time(b), upperInclusive: true)
        case let .fromTo(a, b)?: return .history(lower: try time(a), upper: try time(b), upperInclusive: false)
        }
    }

    func resolve(_ t: TimeTarget) throws -> UInt64 {
        switch t {
        case .seq(let n):
            let newest = engine.visibleSeq
            guard n <= newest else {
                throw SQLError(.invalidParameterValue, "seq \(n) is in the future: the newest committed seq is \(newest)")
            }
            return n
        case .timestamp(let us): return engine.seq(atOrBefore: PGTime.unix(us))
        case .now: return txn.readSeq
        }
    }

    /// A time target as a commit time (unix µs), for history periods.
    func time(_ t: TimeTarget) throws -> Int64 {
        switch t {
        case .timestamp(let us): return PGTime.unix(us)
        case .now: return Int64.max - 1
        case .seq(let n):
            _ = try resolve(.seq(n))
            return n == 0 ? Int64.min + 1 : engine.systemTime(n)
        }
    }

    /// A function in FROM: a set-returning function, or a scalar function as a one-row relation.
    func bindFunctionItem(_ call: FunctionCall, alias: String?, columnAliases: [String], withOrdinality: Bool, lateral: Bool,
                          scope: BlockScope, location: Int) throws -> FromNode {
        let name = call.name.last ?? ""
        let holder = BlockScope(parent: scope)
        holder.aggregateBan = "functions in FROM"
        holder.windowBan = "functions in FROM"
        if name == Binder.rowsFromName {
            return try bindRowsFrom(call, alias: alias, columnAliases: columnAliases, holder: holder, scope: scope, location: location)
        }
        let bound = try withVisibility(scope, lateral: true) { try call.args.map { try bindExpr($0, holder) } }
        let plan: Plan
        var columns: [ResultColumn]
        if let (srf, coerced, cols) = try resolveSetFunction(name, bound.query, location: location) {
            columns = cols
            plan = Plan(.setFunction(SetFunctionCall(function: srf, args: coerced, withOrdinality: withOrdinality)),
                        width: columns.count + (withOrdinality ? 1 : 0), rows: 1000)
        } else {
            let e = try bindFunctionCall(call, holder)
            columns = [ResultColumn(name: name, type: e.type)]
            plan = Plan(.project(Plan(.oneRow, width: 0, rows: 1), [e]), width: 1, rows: 1)
            if withOrdinality {
                throw SQLError.notSupported("WITH ORDINALITY on a function that returns one value", position: sqlPosition(location))
            }
        }
        if withOrdinality { columns.append(ResultColumn(name: "ordinality", type: .int8)) }
        if columns.count == 1, columnAliases.isEmpty, let alias { columns[0].name = alias }
        let q = BoundQuery(plan: plan, columns: columns, outerDepthMax: holder.outerDepthMax)
        return try addDerived(q, name: alias ?? name, columnAliases: columnAliases, scope: scope, location: location,
                              lateral: bound.lateral)
    }

    /// A set-returning function by name with its arguments coerced, and its columns (nil: not one).
    func resolveSetFunction(_ name: String, _ bound: [BoundExpr], location: Int) throws -> (SetFunction, [BoundExpr], [ResultColumn])? {
        let args = bound.map { a -> BoundExpr in
            if case .vector(let e) = a.type, name != "generate_subscripts" { return .cast(a, .array(e), explicit: false) }
            return a
        }
        if name == "generate_subscripts", args.count == 2, case .vector = args[0].type {
            let srf = CatalogFunctions.generateSubscriptsFromZero
            return (srf, [args[0], try coerce(args[1], to: .int4, context: .implicit, location: location)], srf.columns([]))
        }
        guard var srf = FunctionCatalog.setFunctions[name] else { return nil }
        if name == "generate_series", args.count == 3, [SQLType.timestamp, .timestamptz, .date].contains(args[0].type)
            || args.count == 3 && args[2].type == .interval {
            srf = DateTimeSQLFunctions.series
        }
        let coerced = try setFunctionArguments(srf, args, location: location)
        return (srf, coerced, srf.columns(coerced.map(\.type)))
    }

    /// Set-returning functions of a select list in lockstep: one row per step, each function's
    /// first column (NULL for a function that has run out), until all have run out.
    func bindRowsFrom(_ call: FunctionCall, alias: String?, columnAliases: [String], holder: BlockScope, scope: BlockScope,
                      location: Int) throws -> FromNode {
        var calls: [SetFunctionCall] = []
        var columns: [ResultColumn] = []
        var lateral = false
        for e in call.args {
            guard case .function(let f) = e else { throw SQLError.bug("ROWS FROM item is not a function call") }
            let name = f.name.last?.lowercased() ?? ""
            let bound = try withVisibility(scope, lateral: true) { try f.args.map { try bindExpr($0, holder) } }
            lateral = lateral || bound.lateral
            guard let (srf, args, cols) = try resolveSetFunction(name, bound.query, location: f.location) else {
                throw SQLError.bug("\(name) is not a set-returning function")
            }
            calls.append(SetFunctionCall(function: srf, args: args, withOrdinality: false))
            columns.append(ResultColumn(name: name, type: cols.first?.type ?? .text))
        }
        let parts = calls
        let zip = SetFunction(Binder.rowsFromName, strict: false, columns: { _ in columns }, rows: { ctx, values in
            var iterators: [AnyIterator<[Value]>?] = []
            var offset = 0
            for c in parts {
                let mine = Array(values[offset..<(offset + c.args.count)])
                offset += c.args.count
                if c.function.strict && mine.contains(where: \.isNull) { iterators.append(nil); continue }
                iterators.append(try c.function.rows(ctx, mine))
            }
            return AnyIterator {
                var row: [Value] = []
                var any = false
                for k in iterators.indices {
                    if let v = iterators[k]?.next() { row.append(v.first ?? .null); any = true } else { iterators[k] = nil; row.append(.null) }
                }
                return any ? row : nil
            }
        })
        let plan = Plan(.setFunction(SetFunctionCall(function: zip, args: parts.flatMap(\.args), withOrdinality: false)),
                        width: columns.count, rows: 1000)
        let q = BoundQuery(plan: plan, columns: columns, outerDepthMax: holder.outerDepthMax)
        return try addDerived(q, name: alias ?? "rows_from", columnAliases: columnAliases, scope: scope, location: location, lateral: lateral)
    }

    func setFunctionArguments(_ f: SetFunction, _ args: [BoundExpr], location: Int) throws -> [BoundExpr] {
        if f === DateTimeSQLFunctions.series {
            let known = args.prefix(2).filter { !$0.isUntypedLiteral }.map(\.type)
            var t = try TypeRules.common(known.isEmpty ? [.timestamptz] : known, context: "generate_series", location: location)
            if t == .date { t = .timestamp }
            return [try coerce(args[0], to: t, context: .implicit, location: location), try coerce(args[1], to: t, context: .implicit, location: location),
                    try coerce(args[2], to: .interval, context: .implicit, location: location)]
        }
        switch f.name {
        case "pg_partition_ancestors":
            guard args.count == 1 else { throw FunctionCatalog.noFunction(f.name, args, location: location) }
            return [try coerce(args[0], to: .reg(.regclass), context: .implicit, location: location)]
        case "generate_series":
            guard args.count == 2 || args.count == 3 else { throw FunctionCatalog.noFunction(f.name, args, location: location) }
            let types = args.map { $0.isUntypedLiteral ? SQLType.unknown : $0.type }
            let common = try TypeRules.common(types.filter { $0 != .unknown }.isEmpty ? [.int4] : types, context: "generate_series", location: location)
            guard common.isInteger else {
                throw SQLError.notSupported("generate_series over \(common.name)", position: sqlPosition(location))
            }
            return try args.map { try coerce($0, to: common, context: .implicit, location: location) }
        default:
            return try args.map { $0.isUntypedLiteral ? try coerce($0, to: .text, context: .implicit, location: location) : $0 }
        }
    }
}
