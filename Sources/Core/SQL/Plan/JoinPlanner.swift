import DriftCore
import DriftStorage

/// Plans a block's FROM and WHERE: pushes single-relation conditions into scans (where they
/// choose index paths), orders inner joins greedily by estimated size with hash joins on
/// equalities (index lookups when one side is small and the other has an index on the key),
/// keeps outer joins in place, and applies what is left as filters.
struct JoinPlanner {
    let binder: Binder
    let scope: BlockScope

    /// A piece of the join graph: one relation or an outer join, producing wide rows.
    struct Unit {
        var plan: Plan
        var ranges: [Range<Int>]
        var relations: Set<Int>
        var rows: Double
        /// A base table read through a plain scan (a candidate for index lookups).
        var access: TableAccess?
        var accessOffset = 0
        var lateral = false
        var order: Int

        func covers(_ slots: Set<Int>) -> Bool {
            slots.allSatisfy { s in ranges.contains { $0.contains(s) } }
        }
    }

    var wide: Int { scope.width }

    func plan(_ from: [FromNode], where condition: BoundExpr?) throws -> Plan {
        var preds = condition?.conjuncts ?? []
        if from.isEmpty {
            var p = Plan(.oneRow, width: 0, rows: 1)
            if !preds.isEmpty { p = Plan(.filter(p, conjunction(preds)), width: 0, rows: 1) }
            return p
        }
        var units: [Unit] = []
        for node in from { try flatten(node, into: &units, preds: &preds) }
        return try order(units, preds)
    }

    func conjunction(_ xs: [BoundExpr]) -> BoundExpr { xs.count == 1 ? xs[0] : .and(xs) }

    /// Inner joins dissolve into units and conditions; outer joins stay whole.
    func flatten(_ node: FromNode, into units: inout [Unit], preds: inout [BoundExpr]) throws {
        switch node.kind {
        case .relation(let i):
            units.append(try leaf(i, order: units.count))
        case let .join(.inner, l, r, cond):
            try flatten(l, into: &units, preds: &preds)
            try flatten(r, into: &units, preds: &preds)
            if let cond { preds += cond.conjuncts }
        case let .join(type, l, r, cond):
            units.append(try outerJoin(type, l, r, cond, order: units.count))
        }
    }

    func leaf(_ i: Int, order: Int) throws -> Unit {
        let r = scope.relations[i]
        let source = scope.sources[i]
        let placed = r.offset == 0 && r.width == wide ? source : Plan(.place(source, offset: r.offset), width: wide, rows: source.rows)
        var u = Unit(plan: placed, ranges: [r.range], relations: [i], rows: source.rows, order: order)
        u.access = r.access
        u.accessOffset = r.offset
        u.lateral = r.lateral
        return u
    }

    /// Plans an outer join (each side its own graph) into one unit.
    func outerJoin(_ type: JoinType, _ l: FromNode, _ r: FromNode, _ cond: BoundExpr?, order: Int) throws -> Unit {
        var lp: [BoundExpr] = [], rp: [BoundExpr] = []
        var lu: [Unit] = [], ru: [Unit] = []
        try flatten(l, into: &lu, preds: &lp)
        try flatten(r, into: &ru, preds: &rp)
        var left = try combine(lu, lp)
        var right = try combine(ru, rp)
        var conds = cond?.conjuncts ?? []
        // ON conditions on the side that may be null-extended filter that side before the join.
        if type == .left || type == .right || type == .semi || type == .anti {
            var pushed: [BoundExpr] = []
            conds.removeAll { c in
                let slots = c.slotSet
                guard !slots.isEmpty, !hasCorrelatedSubquery(c) else { return false }
                // The side whose rows the condition only qualifies: the right of LEFT, semi
                // and anti joins, the left of RIGHT joins.
                let inner = type == .right ? left : right
                if inner.covers(slots) { pushed.append(c); return true }
                return false
            }
            if !pushed.isEmpty {
                if type == .right { left = try filtered(left, pushed) } else { right = try filtered(right, pushed) }
            }
        }
        let (keysL, keysR, residual) = equiKeys(conds, left, right)
        let method: JoinMethod = keysL.isEmpty ? .nestedLoop : .hash(left: keysL, right: keysR)
        var spec = JoinSpec(kind: type, left: left.plan, right: right.plan, method: method,
                            condition: residual.isEmpty ? nil : conjunction(residual),
                            rightRanges: right.ranges, leftRanges: left.ranges)
        if right.lateral {
            spec.method = .nestedLoop
            spec.condition = conds.isEmpty ? nil : conjunction(conds)
            spec.lateral = scope.outerRows
        }
        var rows = max(left.rows, right.rows)
        if type == .full { rows = left.rows + right.rows }
        if type == .semi || type == .anti { rows = left.rows }
        let plan = Plan(.join(spec), width: wide, rows: rows)
        return Unit(plan: plan, ranges: left.ranges + right.ranges, relations: left.relations.union(right.relations), rows: rows,
                    order: order)
    }

    /// A set of units and their conditions as one unit (for a side of an outer join).
    func combine(_ units: [Unit], _ preds: [BoundExpr]) throws -> Unit {
        if units.count == 1 && preds.isEmpty { return units[0] }
        let plan = try order(units, preds)
        var u = Unit(plan: plan, ranges: units.flatMap(\.ranges), relations: units.reduce(into: Set<Int>()) { $0.formUnion($1.relations) },
                     rows: plan.rows, order: units.first?.order ?? 0)
        u.lateral = units.contains(where: \.lateral)
        return u
    }

    func filtered(_ u: Unit, _ preds: [BoundExpr]) throws -> Unit {
        var v = u
        if let access = u.access, u.relations.count == 1, case .place = u.plan.op {
            // Into the scan itself.
            try push(preds, into: access, offset: u.accessOffset, unit: &v)
            return v
        }
        if let access = u.access, u.relations.count == 1, u.accessOffset == 0, u.plan.width == wide, case .table = u.plan.op {
            try push(preds, into: access, offset: 0, unit: &v)
            return v
        }
        v.plan = Plan(.filter(u.plan, conjunction(preds)), width: u.plan.width, rows: u.rows * selectivity(preds))
        v.rows = v.plan.rows
        return v
    }

    func push(_ preds: [BoundExpr], into access: TableAccess, offset: Int, unit: inout Unit) throws {
        access.filters += preds.map { $0.remapped { $0 - offset } }
        AccessPaths.choose(access)
        unit.rows = max(1, access.tableRows * selectivity(access.filters, access: access))
        unit.plan.rows = unit.rows
        if case .place(let inner, _) = unit.plan.op { inner.rows = unit.rows }
    }

    func hasCorrelatedSubquery(_ e: BoundExpr) -> Bool {
        e.contains { x in
            if case .subquery(let s, _) = x { return s.correlated }
            return false
        }
    }

    /// Equalities between the two sides (hash keys, left and right expressions), and the rest.
    func equiKeys(_ conds: [BoundExpr], _ left: Unit, _ right: Unit) -> ([BoundExpr], [BoundExpr], [BoundExpr]) {
        var kl: [BoundExpr] = [], kr: [BoundExpr] = [], rest: [BoundExpr] = []
        for c in conds {
            if case let .compare(.eq, a, b) = c, !a.isVolatile, !b.isVolatile, !hasCorrelatedSubquery(c) {
                let sa = a.slotSet, sb = b.slotSet
                if !sa.isEmpty, !sb.isEmpty {
                    if left.covers(sa) && right.covers(sb) { kl.append(a); kr.append(b); continue }
                    if left.covers(sb) && right.covers(sa) { kl.append(b); kr.append(a); continue }
                }
            }
            rest.append(c)
        }
        return (kl, kr, rest)
    }

    // MARK: Ordering

    func order(_ input: [Unit], _ predicates: [BoundExpr]) throws -> Plan {
        var units = input
        var preds: [BoundExpr] = []
        var topFilters: [BoundExpr] = []
        // Single-unit conditions go into their unit.
        var perUnit = [[BoundExpr]](repeating: [], count: units.count)
        for p in predicates {
            let slots = p.slotSet
            if slots.isEmpty {
                topFilters.append(p)
            } else if let i = units.firstIndex(where: { $0.covers(slots) }), !hasCorrelatedSubquery(p) {
                perUnit[i].append(p)
            } else {
                preds.append(p)
            }
        }
        for i in units.indices where !perUnit[i].isEmpty { units[i] = try filtered(units[i], perUnit[i]) }
        for i in units.indices where perUnit[i].isEmpty { if let a = units[i].access { AccessPaths.choose(a) } }

        let lateral = units.contains(where: \.lateral)
        var remaining = units
        let firstIndex: Int
        if lateral {
            firstIndex = 0
        } else {
            firstIndex = remaining.indices.min { a, b in
                (remaining[a].rows, remaining[a].order) < (remaining[b].rows, remaining[b].order)
            } ?? 0
        }
        var current = remaining.remove(at: firstIndex)
        while !remaining.isEmpty {
            var pick: Int?
            if lateral {
                pick = remaining.indices.min { remaining[$0].order < remaining[$1].order }
            } else {
                // Prefer units joined by an equality, then by any condition, smallest first.
                let connected = remaining.indices.filter { i in !equiKeys(preds.filter { c in coversBoth(c, current, remaining[i]) }, current, remaining[i]).0.isEmpty }
                let related = remaining.indices.filter { i in preds.contains { coversBoth($0, current, remaining[i]) } }
                let pool = !connected.isEmpty ? connected : (!related.isEmpty ? related : Array(remaining.indices))
                pick = pool.min { (remaining[$0].rows, remaining[$0].order) < (remaining[$1].rows, remaining[$1].order) }
            }
            guard let pi = pick else { break }
            let next = remaining.remove(at: pi)
            let applicable = preds.filter { coversBoth($0, current, next) }
            preds.removeAll { coversBoth($0, current, next) }
            current = join(current, next, applicable)
        }
        var plan = current.plan
        let rest = preds + topFilters
        if !rest.isEmpty { plan = Plan(.filter(plan, conjunction(rest)), width: plan.width, rows: max(1, plan.rows * selectivity(rest))) }
        return plan
    }

    /// Whether condition `c` reads only the two units (and reads the second).
    func coversBoth(_ c: BoundExpr, _ a: Unit, _ b: Unit) -> Bool {
        let slots = c.slotSet
        guard !slots.isEmpty else { return false }
        return slots.allSatisfy { s in a.ranges.contains { $0.contains(s) } || b.ranges.contains { $0.contains(s) } }
    }

    func join(_ left: Unit, _ right: Unit, _ conds: [BoundExpr]) -> Unit {
        var (kl, kr, residual) = equiKeys(conds, left, right)
        var l = left, r = right
        var method: JoinMethod
        if right.lateral {
            method = .nestedLoop
            residual = conds
        } else if !kl.isEmpty {
            if let lookup = indexLookup(left, right, kl, kr) {
                method = lookup
                residual = conds
            } else {
                // Build the hash table on the smaller side.
                if l.rows < r.rows {
                    swap(&l, &r)
                    swap(&kl, &kr)
                }
                method = .hash(left: kl, right: kr)
            }
        } else {
            method = .nestedLoop
        }
        var spec = JoinSpec(kind: .inner, left: l.plan, right: r.plan, method: method,
                            condition: residual.isEmpty ? nil : conjunction(residual), rightRanges: r.ranges, leftRanges: l.ranges)
        if right.lateral { spec.lateral = scope.outerRows }
        var rows: Double
        if !kl.isEmpty {
            // PostgreSQL's estimate for equal keys: |l|·|r| / max(distinct keys of either side),
            // where a side's distinct count is known (a one-column primary key, or ANALYZE).
            var estimate: Double?
            for (a, b) in zip(kl, kr) {
                let da = distinctValues(a), db = distinctValues(b)
                guard da != nil || db != nil else { continue }
                estimate = (estimate ?? l.rows * r.rows) / max(da ?? 1, db ?? 1, 1)
            }
            rows = estimate ?? max(l.rows, r.rows)
        } else {
            rows = l.rows * r.rows
        }
        if !residual.isEmpty && kl.isEmpty { rows *= selectivity(residual) }
        let plan = Plan(.join(spec), width: wide, rows: max(1, rows))
        return Unit(plan: plan, ranges: l.ranges + r.ranges, relations: l.relations.union(r.relations), rows: max(1, rows),
                    order: min(l.order, r.order))
    }

    /// The number of distinct values a base table's column holds, when known.
    func distinctValues(_ e: BoundExpr) -> Double? {
        guard case .slot(let s, _) = e, let r = scope.relations.first(where: { $0.range.contains(s) }), let access = r.access else {
            return nil
        }
        let c = s - r.offset
        if access.table.primaryKey == [c] { return access.tableRows }
        return access.columnStatistics(c)?.distinct
    }

    /// An index (or primary-key) lookup into `right` for each row of a much smaller `left`, when
    /// the right table is scanned anyway and an equality reaches its key's leading column.
    func indexLookup(_ left: Unit, _ right: Unit, _ kl: [BoundExpr], _ kr: [BoundExpr]) -> JoinMethod? {
        guard let access = right.access, right.relations.count == 1, case .scan = access.path, !access.mode.isHistory,
              left.rows * 20 < right.rows else { return nil }
        let offset = right.accessOffset
        var columnKeys: [Int: BoundExpr] = [:]
        for (a, b) in zip(kl, kr) {
            guard case .slot(let s, let t) = b else { continue }
            let col = s - offset
            guard col >= 0, col < access.table.columns.count, AccessPaths.keyCompatible(t, access.table.columns[col].type), a.type == t else { continue }
            columnKeys[col] = a
        }
        let pk = access.table.primaryKey
        let pkKeys = pk.compactMap { columnKeys[$0] }
        if !pk.isEmpty, pkKeys.count == pk.count {
            access.path = .primaryKey([pk.map { .slot($0, access.table.columns[$0].type) }])
            access.indexConditions = []
            return .indexLookup(keys: pkKeys)
        }
        for index in access.table.indexes {
            var prefix: [Int] = []
            var keys: [BoundExpr] = []
            for c in index.columns {
                guard let k = columnKeys[c] else { break }
                prefix.append(c)
                keys.append(k)
            }
            guard !prefix.isEmpty else { continue }
            access.path = .index(index, eq: [prefix.map { .slot($0, access.table.columns[$0].type) }], lower: nil, upper: nil)
            access.indexConditions = []
            return .indexLookup(keys: keys)
        }
        return nil
    }

    // MARK: Estimates

    func selectivity(_ preds: [BoundExpr], access: TableAccess? = nil) -> Double {
        var s = 1.0
        for p in preds { s *= selectivity(of: p, access: access) }
        return s
    }

    /// One condition's share of rows: from ANALYZE's statistics for `column op constant`,
    /// IS NULL and IN lists over the table's own columns, fixed guesses otherwise.
    func selectivity(of p: BoundExpr, access: TableAccess?) -> Double {
        func constant(_ e: BoundExpr) -> Value?? {
            if case .constant(let v, _) = e { return .some(v) }
            return e.isRowIndependent && !e.isVolatile ? .some(nil) : nil
        }
        switch p {
        case .compare(let op, .slot(let c, _), let v) where v.isRowIndependent:
            return compareSelectivity(op, column: c, value: constant(v) ?? nil, access: access)
        case .compare(let op, let v, .slot(let c, _)) where v.isRowIndependent:
            return compareSelectivity(op.flipped, column: c, value: constant(v) ?? nil, access: access)
        case .compare(.eq, _, _): return 0.1
        case .compare(.ne, _, _): return 0.9
        case .compare: return 0.33
        case .inList(.slot(let c, _), let xs, false):
            if let st = access?.columnStatistics(c) {
                return min(1, xs.reduce(0) { $0 + st.equalSelectivity(constant($1) ?? nil) })
            }
            return min(1, 0.05 * Double(xs.count))
        case .inList(_, let xs, false): return min(1, 0.05 * Double(xs.count))
        case .isNull(.slot(let c, _), let negated):
            if let st = access?.columnStatistics(c) { return negated ? 1 - st.nullFraction : st.nullFraction }
            return negated ? 0.95 : 0.05
        case .isNull(_, false): return 0.05
        case .like: return 0.2
        default: return 0.5
        }
    }

    func compareSelectivity(_ op: CompareOp, column c: Int, value: Value?, access: TableAccess?) -> Double {
        let stats = access?.columnStatistics(c)
        switch op {
        case .eq:
            if let access, access.table.primaryKey == [c] { return 1 / max(access.tableRows, 1) }
            return stats?.equalSelectivity(value) ?? 0.05
        case .ne:
            guard let stats else { return 0.9 }
            return max(0, 1 - stats.nullFraction - stats.equalSelectivity(value))
        case .lt, .le, .gt, .ge:
            guard let stats, let value, !value.isNull else { return 0.33 }
            let below = stats.belowSelectivity(value, inclusive: op == .le || op == .gt)
            let s = op == .lt || op == .le ? below : max(0, 1 - stats.nullFraction - below)
            return min(max(s, 0.0001), 1)
        }
    }
}

/// Access-path choice for one table from the conditions pushed into its scan.
enum AccessPaths {
    /// Whether values of an expression of type `e` are stored in a column of type `c` in the
    /// same key encoding (so index bounds compare as the values do).
    static func keyCompatible(_ e: SQLType, _ c: SQLType) -> Bool {
        switch (e, c) {
        case _ where e.isInteger && c.isInteger: return true
        case (.float8, .float8), (.float4, .float4), (.float8, .float4): return true
        case _ where e.isNumeric && c.isNumeric: return true
        case (.text, .text), (.text, .varchar), (.varchar, .varchar), (.varchar, .text): return true
        case (.date, .date), (.timestamp, .timestamp), (.timestamptz, .timestamptz), (.bool, .bool), (.bytea, .bytea): return true
        default: return false
        }
    }

    /// `column op value` terms among the filters (value row-independent and not volatile).
    static func terms(_ filters: [BoundExpr], _ table: TableDef) -> [(col: Int, op: CompareOp, value: BoundExpr, filter: Int)] {
        var out: [(Int, CompareOp, BoundExpr, Int)] = []
        func usable(_ v: BoundExpr, _ col: Int) -> Bool {
            v.isRowIndependent && !v.isVolatile && !v.hasSubquery && col < table.columns.count
                && keyCompatible(v.type, table.columns[col].type)
        }
        for (i, f) in filters.enumerated() {
            switch f {
            case let .compare(op, .slot(c, _), v) where usable(v, c): out.append((c, op, v, i))
            case let .compare(op, v, .slot(c, _)) where usable(v, c): out.append((c, op.flipped, v, i))
            default: break
            }
        }
        return out
    }

    /// Whether an index bound from `value` selects exactly the rows the condition does, so the
    /// condition need not be evaluated again on the rows the index gives: integers against an
    /// integer column, text against a text column (both compare as their key encodings do).
    static func exactBound(_ value: BoundExpr, _ column: SQLType) -> Bool {
        func plainText(_ t: SQLType) -> Bool {
            switch t.base {
            case .text, .varchar: return true
            default: return false
            }
        }
        return (value.type.base.isInteger && column.base.isInteger) || (plainText(value.type) && plainText(column))
    }

    /// `column IN (values)` among the filters.
    static func inLists(_ filters: [BoundExpr], _ table: TableDef) -> [Int: [BoundExpr]] {
        var out: [Int: [BoundExpr]] = [:]
        for f in filters {
            guard case let .inList(.slot(c, _), items, false) = f, c < table.columns.count, items.count <= 1000,
                  items.allSatisfy({ $0.isRowIndependent && !$0.isVolatile && !$0.hasSubquery && keyCompatible($0.type, table.columns[c].type) })
            else { continue }
            out[c] = items
        }
        return out
    }

    static func choose(_ access: TableAccess) {
        guard !access.mode.isHistory else { access.path = .scan; return }
        if case .primaryKey = access.path { return }
        let table = access.table
        let ts = terms(access.filters, table)
        let ins = inLists(access.filters, table)
        func eq(_ c: Int) -> [BoundExpr]? {
            if let t = ts.first(where: { $0.col == c && $0.op == .eq }) { return [t.value] }
            return ins[c]
        }
        // Primary key: every column fixed (IN lists multiply out, up to 1000 keys).
        let pk = table.primaryKey
        if !pk.isEmpty {
            var alternatives: [[BoundExpr]] = [[]]
            var ok = true
            for c in pk {
                guard let vs = eq(c), alternatives.count * vs.count <= 1000 else { ok = false; break }
                alternatives = alternatives.flatMap { a in vs.map { a + [$0] } }
            }
            if ok {
                access.path = .primaryKey(alternatives)
                return
            }
        }
        var best: (score: Int, path: AccessPath, exact: [Int])?
        for index in table.indexes {
            var alternatives: [[BoundExpr]] = [[]]
            var k = 0
            // The conditions the index range enforces exactly (see `exactBound`).
            var exact: [Int] = []
            for c in index.columns {
                guard let vs = eq(c), alternatives.count * vs.count <= 1000 else { break }
                alternatives = alternatives.flatMap { a in vs.map { a + [$0] } }
                if let t = ts.first(where: { $0.col == c && $0.op == .eq }), exactBound(t.value, table.columns[c].type) {
                    exact.append(t.filter)
                }
                k += 1
            }
            var lower: RangeBound?, upper: RangeBound?
            var lowerFilter: Int?, upperFilter: Int?
            if k < index.columns.count {
                let c = index.columns[k]
                for t in ts where t.col == c {
                    switch t.op {
                    case .gt: lower = RangeBound(expr: t.value, inclusive: false); lowerFilter = t.filter
                    case .ge: lower = RangeBound(expr: t.value, inclusive: true); lowerFilter = t.filter
                    case .lt: upper = RangeBound(expr: t.value, inclusive: false); upperFilter = t.filter
                    case .le: upper = RangeBound(expr: t.value, inclusive: true); upperFilter = t.filter
                    default: break
                    }
                }
                for f in [lowerFilter, upperFilter].compactMap({ $0 }) {
                    if let t = ts.first(where: { $0.filter == f }), exactBound(t.value, table.columns[c].type) { exact.append(f) }
                }
            }
            let score = k * 4 + (lower != nil ? 1 : 0) + (upper != nil ? 1 : 0) + (index.unique && k == index.columns.count ? 8 : 0)
            guard score > 0 else { continue }
            if score > (best?.score ?? 0) {
                best = (score, .index(index, eq: k == 0 ? [] : alternatives, lower: lower, upper: upper), exact)
            }
        }
        if let best {
            access.path = best.path
            access.indexConditions = Set(best.exact)
        }
    }
}
