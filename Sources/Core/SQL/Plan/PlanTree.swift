import DriftCore

/// How a table reference is read.
enum ReadMode {
    /// The transaction's own view (its snapshot and writes).
    case transaction
    /// A past seq.
    case asOf(UInt64)
    /// Versions whose validity overlaps [lower, upper) or [lower, upper] in commit time (unix µs).
    case history(lower: Int64, upper: Int64, upperInclusive: Bool)

    var isHistory: Bool {
        if case .history = self { return true }
        return false
    }
}

/// The history pseudo-columns of a table reference: found by name, not part of `*`.
enum Pseudo: Int, CaseIterable {
    case driftSeq = 0, driftOp, systemTimeStart, systemTimeEnd

    var name: String {
        switch self {
        case .driftSeq: return "drift_seq"
        case .driftOp: return "drift_op"
        case .systemTimeStart: return "system_time_start"
        case .systemTimeEnd: return "system_time_end"
        }
    }

    var type: SQLType {
        switch self {
        case .driftSeq: return .int8
        case .driftOp: return .text
        case .systemTimeStart, .systemTimeEnd: return .timestamptz
        }
    }
}

/// One bound of an index range: an expression and whether the bound itself is included.
struct RangeBound {
    var expr: BoundExpr
    var inclusive: Bool
}

/// Which rows of a base table a scan visits.
enum AccessPath {
    case scan
    /// Equality on every primary-key column; several alternatives for `IN` lists.
    case primaryKey([[BoundExpr]])
    /// An index: equality on a prefix of its columns (several alternatives for `IN`), then an
    /// optional range on the next column. With no bounds at all it reads the index in order.
    case index(IndexDef, eq: [[BoundExpr]], lower: RangeBound?, upper: RangeBound?)
}

/// A base table read by a query: its definition as the read sees it, the read's point in
/// time, filters over its own columns, and the access path chosen.
final class TableAccess {
    let table: TableDef
    let alias: String
    let mode: ReadMode
    /// Conjuncts over the relation's own slots, applied while scanning.
    var filters: [BoundExpr] = []
    var path: AccessPath = .scan
    /// Positions in `filters` that the chosen index range enforces exactly: rows read through
    /// the index skip them (a scan of the same table, and re-checks of locked rows, do not).
    var indexConditions = Set<Int>()
    var pseudo = Set<Pseudo>()
    /// Whether the scan fills the row-key slot (UPDATE, DELETE, FOR UPDATE need it).
    var needsKey = false
    /// The columns the query reads (by position): the scan decodes only these, the others
    /// stay NULL in its rows. Filled as names resolve (see `BlockScope.noteRead`).
    var usedColumns = Set<Int>()
    /// Every column is decoded (writes, row locks: the whole row is the statement's).
    var readsAllColumns = false
    /// The slots of the table's row the statement's own expressions read (row security's
    /// do not count): what column privileges must cover.
    var userColumns = Set<Int>()
    /// Set when the reader holds SELECT on some of the table's columns, not on the table.
    var columnGrantCheck: ColumnGrantCheck?
    /// Rows per the table's statistics when planned.
    var tableRows: Double = 1000
    /// What ANALYZE found, if it ran.
    var statistics: TableStatistics?

    /// A column's statistics, while they still describe it.
    func columnStatistics(_ c: Int) -> ColumnStatistics? {
        guard c < table.columns.count else { return nil }
        return statistics?.column(c, type: table.columns[c].type)
    }

    init(table: TableDef, alias: String, mode: ReadMode) {
        self.table = table
        self.alias = alias
        self.mode = mode
    }

    /// Column values, then the pseudo-columns, then the row key (as bytea).
    var width: Int { table.columns.count + Pseudo.allCases.count + 1 }
    var keySlot: Int { table.columns.count + Pseudo.allCases.count }
    func pseudoSlot(_ p: Pseudo) -> Int { table.columns.count + p.rawValue }
}

/// SELECT through column privileges: every column a statement reads of the table must carry
/// it (any one column when it reads none, as `count(*)` does). Run by each scan before it reads.
struct ColumnGrantCheck {
    let role: RoleDef
    let catalog: Catalog

    func verify(_ access: TableAccess) throws {
        let t = access.table
        if let denied = catalog.denial(of: role, .select, relation: t.id, kind: "table", name: t.name, schema: t.schema,
                                       columns: access.userColumns) {
            throw SQLError(.insufficientPrivilege, denied)
        }
    }
}

/// The columns a statement reads of a view whose reader holds SELECT on some of its columns
/// only, checked once the block that reads the view is bound (a view has no scan of its own
/// to check them at).
final class ViewColumnUse {
    let view: ViewDef
    let role: RoleDef
    let catalog: Catalog
    /// Positions among the view's output columns.
    var columns = Set<Int>()

    init(view: ViewDef, role: RoleDef, catalog: Catalog) {
        self.view = view
        self.role = role
        self.catalog = catalog
    }

    func verify() throws {
        if let denied = catalog.denial(of: role, .select, relation: view.id, kind: "view", name: view.name, schema: view.schema,
                                       columns: columns) {
            throw SQLError(.insufficientPrivilege, denied)
        }
    }
}

struct SortKey {
    var expr: BoundExpr
    var descending: Bool
    var nullsFirst: Bool
}

enum JoinType: String {
    case inner = "Inner", left = "Left", right = "Right", full = "Full", semi = "Semi", anti = "Anti"
}

enum JoinMethod {
    /// Equal keys, evaluated on each side's rows.
    case hash(left: [BoundExpr], right: [BoundExpr])
    case nestedLoop
    /// For each left row, the right table's rows found by key: `keys` over the left row give
    /// the values of the right access path's equality columns.
    case indexLookup(keys: [BoundExpr])
}

/// A join. Inner and outer joins of one block work on wide rows (every relation of the block
/// at its own slots): the output is the left row with the right side's slot ranges copied in.
/// Semi and anti joins (decorrelated EXISTS / IN) evaluate their condition on the wide row
/// too, and output the left row: once when a right row matches (semi), or when none does
/// (anti).
struct JoinSpec {
    var kind: JoinType
    var left: Plan
    var right: Plan
    var method: JoinMethod
    /// Evaluated on the joined row (wide or concatenated); nil for none.
    var condition: BoundExpr?
    /// Slots of the wide row the right side fills (wide joins only).
    var rightRanges: [Range<Int>]
    /// Slots of the wide row the left side fills (null for the unmatched right rows of right
    /// and full joins).
    var leftRanges: [Range<Int>]
    /// For a LATERAL right side: the block's row holder, set from each left row before the
    /// right side runs again.
    var lateral: OuterRows? = nil
    /// Whether the joined row is the left row followed by the right row rather than one wide
    /// row (no planner makes such joins today; the executor supports them).
    var concatenated = false
}

enum AggregateKind: String {
    case count, countStar = "count(*)", sum, avg, min, max, boolAnd = "bool_and", boolOr = "bool_or"
    case stringAgg = "string_agg", arrayAgg = "array_agg", jsonAgg = "json_agg", jsonbAgg = "jsonb_agg"
    case jsonObjectAgg = "json_object_agg", jsonbObjectAgg = "jsonb_object_agg"
    case stddevSamp = "stddev_samp", stddevPop = "stddev_pop", varSamp = "var_samp", varPop = "var_pop"
    case bitAnd = "bit_and", bitOr = "bit_or"
}

struct AggregateCall {
    var kind: AggregateKind
    var args: [BoundExpr]
    var distinct: Bool
    var filter: BoundExpr?
    var orderBy: [SortKey]
    var type: SQLType
    /// The type of the first argument (sum and avg decide their arithmetic by it).
    var argType: SQLType
}

struct AggregateSpec {
    var input: Plan
    var keys: [BoundExpr]
    var aggregates: [AggregateCall]
    /// GROUPING SETS / ROLLUP / CUBE: for each set, the key positions it groups by (others
    /// are NULL in its rows); nil for a plain GROUP BY.
    var groupingSets: [[Int]]?
}

enum WindowKind {
    case rowNumber, rank, denseRank, percentRank, cumeDist, ntile
    case lag, lead, firstValue, lastValue, nthValue
    case aggregate(AggregateCall)
}

/// PostgreSQL's window frame, as its FRAMEOPTION bits give it.
struct WindowFrame {
    enum Unit { case rows, range, groups }
    enum Bound {
        case unboundedPreceding, preceding(BoundExpr), currentRow, following(BoundExpr), unboundedFollowing
    }
    var unit: Unit = .range
    var start: Bound = .unboundedPreceding
    var end: Bound = .currentRow
    /// EXCLUDE CURRENT ROW / GROUP / TIES.
    var exclude: Int = 0
    /// No frame written: the default (RANGE UNBOUNDED PRECEDING to CURRENT ROW).
    var isDefault = true
}

struct WindowCall {
    var kind: WindowKind
    var args: [BoundExpr]
    var partition: [BoundExpr]
    var order: [SortKey]
    var frame: WindowFrame
    var type: SQLType
}

enum SetOpKind: String {
    case union = "Union", intersect = "Intersect", except = "Except"
}

/// A common table expression, planned once and read by every reference to it.
final class CTEBinding {
    let name: String
    var columns: [ResultColumn]
    var plan: Plan?
    let recursive: Bool
    init(name: String, columns: [ResultColumn], plan: Plan?, recursive: Bool) {
        self.name = name
        self.columns = columns
        self.plan = plan
        self.recursive = recursive
    }
}

/// A set-returning function in FROM (or an unnest of several arrays).
struct SetFunctionCall {
    var function: SetFunction
    var args: [BoundExpr]
    var withOrdinality: Bool
}

/// Rows locked by SELECT ... FOR UPDATE/SHARE: the tables (their key slots) and the strength.
struct RowLockSpec {
    var access: TableAccess
    /// Where the table's row starts in the wide row (its key slot is `offset + access.keySlot`).
    var offset: Int
    var mode: RowLockMode
    var wait: LockWait
}

/// A plan: what the executor instantiates.
final class Plan {
    enum Op {
        case table(TableAccess)
        case values([[BoundExpr]])
        case oneRow
        case empty
        case setFunction(SetFunctionCall)
        case cteScan(CTEBinding)
        case workTable(CTEBinding)
        case recursiveUnion(CTEBinding, base: Plan, step: Plan, all: Bool)
        /// The input's rows placed at `offset` of wider rows (the block's wide row).
        case place(Plan, offset: Int)
        case filter(Plan, BoundExpr)
        case project(Plan, [BoundExpr])
        case join(JoinSpec)
        case aggregate(AggregateSpec)
        case window(Plan, [WindowCall])
        /// Keeps the first row of each distinct value of the first `columns` columns.
        case distinct(Plan, columns: Int)
        /// Keeps the first row of each run of equal values in `keys` (DISTINCT ON over sorted input).
        case distinctOn(Plan, keys: [Int])
        case sort(Plan, [SortKey], limitHint: BoundExpr?)
        case limit(Plan, limit: BoundExpr?, offset: BoundExpr?)
        case setOp(SetOpKind, all: Bool, Plan, Plan)
        case lockRows(Plan, [RowLockSpec])
    }

    let op: Op
    let width: Int
    /// The planner's row estimate (EXPLAIN shows it).
    var rows: Double

    init(_ op: Op, width: Int, rows: Double) {
        self.op = op
        self.width = width
        self.rows = rows
    }
}

/// A bound query: its plan and the columns it returns (the plan may carry hidden columns
/// after them, e.g. ORDER BY keys that are not selected).
final class BoundQuery {
    let plan: Plan
    let columns: [ResultColumn]
    /// How far out the query's deepest reference to an enclosing block reaches (0: none).
    let outerDepthMax: Int

    init(plan: Plan, columns: [ResultColumn], outerDepthMax: Int) {
        self.plan = plan
        self.columns = columns
        self.outerDepthMax = outerDepthMax
    }
}
