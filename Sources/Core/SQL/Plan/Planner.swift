import DriftCore
import DriftStorage

/// How a table reference is read.
enum ReadMode {
    /// The transaction's own view (its snapshot and writes).
    case transaction
    /// A past seq.
    case asOf(UInt64)
    /// Versions whose validity overlaps [lower, upper) or [lower, upper] in commit time.
    case history(lower: Int64, upper: Int64, upperInclusive: Bool)
}

/// Plans a single-block SELECT: access path (primary-key lookup, index range or scan),
/// filter, sort, limit, projection.
struct Planner {
    let engine: Engine
    let txn: Transaction
    let parameters: [Value]
    let statementTime: Int64

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

    /// A time target as a commit time (Unix µs), for history periods.
    func time(_ t: TimeTarget) throws -> Int64 {
        switch t {
        case .timestamp(let us): return PGTime.unix(us)
        case .now: return Int64.max - 1
        case .seq(let n):
            _ = try resolve(.seq(n))
            return n == 0 ? Int64.min + 1 : engine.systemTime(n)
        }
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

    func plan(_ s: SelectStatement) throws -> (any PlanNode, [ResultColumn]) {
        guard s.from.count <= 1 else { throw SQLError.notSupported("reading from more than one table (joins)") }
        guard let ref = s.from.first else { return try planWithoutTable(s) }
        let mode = try readMode(ref.temporal ?? s.temporal)
        let table = try lookupTable(ref, mode: mode)
        let tableScope = Scope(table: table, alias: ref.alias)
        var binder = Binder(scope: tableScope, parameters: parameters)
        let predicate = try s.whereClause.map { try binder.bindBool($0) }
        var targets: [(BoundExpr, String)] = []
        for t in s.targets {
            if case let .star(qualifier, loc) = t.expr {
                if let q = qualifier, q != tableScope.alias {
                    throw SQLError(.undefinedTable, "missing FROM-clause entry for table \"\(q)\"", position: sqlPosition(loc))
                }
                for c in tableScope.columns where !c.hidden { targets.append((.slot(c.slot, c.type), c.name)) }
                continue
            }
            targets.append((try binder.bind(t.expr), t.alias ?? Self.columnName(t.expr)))
        }
        let sortKeys = try s.orderBy.map { item -> (BoundExpr, SortItem) in
            (try bindOrderItem(item, targets: targets, binder: &binder), item)
        }
        let scope = binder.scope ?? tableScope
        let ctx = ExprCompiler.Context(statementTime: statementTime)
        var node = try accessPath(table: table, scope: scope, mode: mode, predicate: predicate)
        if let predicate { node = FilterNode(input: node, predicate: try ExprCompiler.compile(predicate, ctx)) }
        if !sortKeys.isEmpty {
            node = SortNode(input: node, keys: try sortKeys.map { e, item in
                SortNode.Key(eval: try ExprCompiler.compile(e, ctx), descending: item.descending,
                             nullsFirst: item.nullsFirst ?? item.descending)
            })
        }
        node = try limit(s, node)
        let project = ProjectNode(input: node, exprs: try targets.map { try ExprCompiler.compile($0.0, ctx) })
        return (project, targets.map { ResultColumn(name: $0.1, type: $0.0.type) })
    }

    func lookupTable(_ ref: TableRef, mode: ReadMode) throws -> TableDef {
        let schema = ref.schema ?? "public"
        let catalog: Catalog
        switch mode {
        case .asOf(let seq): catalog = engine.catalog(at: seq)
        default: catalog = txn.catalog
        }
        if let t = catalog.table(schema: schema, ref.name) { return t }
        throw SQLError(.undefinedTable, "relation \"\(ref.schema.map { $0 + "." } ?? "")\(ref.name)\" does not exist",
                       detail: { if case .asOf(let seq) = mode { return "The relation does not exist as of seq \(seq)." }; return nil }(),
                       position: sqlPosition(ref.location))
    }

    func planWithoutTable(_ s: SelectStatement) throws -> (any PlanNode, [ResultColumn]) {
        var binder = Binder(scope: nil, parameters: parameters)
        let targets = try s.targets.map { (try binder.bind($0.expr), $0.alias ?? Self.columnName($0.expr)) }
        let ctx = ExprCompiler.Context(statementTime: statementTime)
        var node: any PlanNode = OneRowNode()
        if let w = s.whereClause {
            node = FilterNode(input: node, predicate: try ExprCompiler.compile(try binder.bindBool(w), ctx))
        }
        node = try limit(s, node)
        let project = ProjectNode(input: node, exprs: try targets.map { try ExprCompiler.compile($0.0, ctx) })
        return (project, targets.map { ResultColumn(name: $0.1, type: $0.0.type == .unknown ? .text : $0.0.type) })
    }

    func limit(_ s: SelectStatement, _ node: any PlanNode) throws -> any PlanNode {
        guard s.limit != nil || s.offset != nil else { return node }
        func value(_ e: Expr?, _ what: String) throws -> Int64? {
            guard let e else { return nil }
            var binder = Binder(scope: nil, parameters: parameters)
            let b = try binder.bind(e)
            let v = try ExprCompiler.compile(b, ExprCompiler.Context(statementTime: statementTime))(UnsafeBufferPointer(start: nil, count: 0))
            switch try Coercion.cast(v, from: b.type, to: .int8) {
            case .null: return nil
            case .int(let i):
                guard i >= 0 else {
                    throw SQLError(SQLState("2201W"), "\(what) must not be negative", position: sqlPosition(e.location))
                }
                return i
            default: throw SQLError(.datatypeMismatch, "argument of \(what) must be type bigint")
            }
        }
        return LimitNode(input: node, limit: try value(s.limit, "LIMIT"), offset: try value(s.offset, "OFFSET") ?? 0)
    }

    /// ORDER BY accepts an output column's position or name, or any expression over the table.
    func bindOrderItem(_ item: SortItem, targets: [(BoundExpr, String)], binder: inout Binder) throws -> BoundExpr {
        if case let .constant(.integer(n), loc) = item.expr {
            guard n >= 1, n <= targets.count else {
                throw SQLError(.invalidColumnReference, "ORDER BY position \(n) is not in select list", position: sqlPosition(loc))
            }
            return targets[Int(n) - 1].0
        }
        if case let .column(parts, _) = item.expr, parts.count == 1, let t = targets.first(where: { $0.1 == parts[0] }) {
            return t.0
        }
        return try binder.bind(item.expr)
    }

    static func columnName(_ e: Expr) -> String {
        switch e {
        case .column(let parts, _): return parts.last ?? "?column?"
        case .function(let name, _, _, _, _): return name.last ?? "?column?"
        case .cast(let inner, let t, _):
            if case .column = inner { return columnName(inner) }
            return t.names.last ?? "?column?"
        default: return "?column?"
        }
    }

    // MARK: Access paths

    func accessPath(table: TableDef, scope: Scope, mode: ReadMode, predicate: BoundExpr?) throws -> any PlanNode {
        let filler = RowFiller(scope: scope, engine: engine)
        let seq: UInt64?
        switch mode {
        case let .history(lower, upper, inclusive):
            guard let store = engine.store(table.id) else { throw SQLError(.internalError, "no storage for \(table.name)") }
            txn.noteHistoryScan(table)
            return HistoryNode(store: store, engine: engine, filler: filler, width: scope.width,
                               lower: lower, upper: upper, upperInclusive: inclusive, readSeq: txn.readSeq, interrupt: txn.interrupt)
        case .asOf(let s): seq = s
        case .transaction: seq = nil
        }
        let terms = Self.constantComparisons(predicate)
        let ownWrites = seq == nil && txn.hasWrites(to: table)
        if !ownWrites, let key = Self.primaryKey(table, terms) {
            let rows = try MaterializedNode.collect(width: scope.width, filler: filler) { emit in
                try txn.lookup(table, key: key, at: seq, emit)
            }
            return MaterializedNode(width: scope.width, rows: rows)
        }
        if !ownWrites, let (index, lower, upper) = Self.indexRange(table, terms) {
            let rows = try MaterializedNode.collect(width: scope.width, filler: filler) { emit in
                try txn.indexScan(table, index: index, lower: lower, upper: upper, at: seq) { r in
                    try emit(r)
                    return true
                }
            }
            return MaterializedNode(width: scope.width, rows: rows)
        }
        return ScanNode(cursor: try txn.cursor(table, at: seq), filler: filler, width: scope.width)
    }

    /// `column op constant` terms of a conjunction, normalised to the column on the left.
    static func constantComparisons(_ p: BoundExpr?) -> [(slot: Int, op: CompareOp, value: Value)] {
        guard let p else { return [] }
        var out: [(Int, CompareOp, Value)] = []
        func visit(_ e: BoundExpr) {
            switch e {
            case .and(let xs): xs.forEach(visit)
            case let .compare(op, .slot(i, _), .constant(v, _)) where !v.isNull: out.append((i, op, v))
            case let .compare(op, .constant(v, _), .slot(i, _)) where !v.isNull: out.append((i, op.flipped, v))
            default: break
            }
        }
        visit(p)
        return out
    }

    /// A value usable as a key of a column of `type`: the same representation, so that the
    /// order-preserving encodings compare as the values do.
    static func keyValue(_ v: Value, for type: SQLType) -> Value? {
        switch (v, type) {
        case (.int, _) where type.isInteger: return v
        case (.double(let d), _) where type.isInteger:
            return d.rounded() == d && abs(d) < 9.2e18 ? .int(Int64(d)) : nil
        case (.double, _) where type.isFloat: return v
        case (.int(let i), _) where type.isFloat: return .double(Double(i))
        case (.text, _) where type.isText: return v
        case (.bool, .bool), (.timestamptz, .timestamptz), (.timestamp, .timestamp), (.date, .date): return v
        default: return nil
        }
    }

    static func primaryKey(_ table: TableDef, _ terms: [(slot: Int, op: CompareOp, value: Value)]) -> [UInt8]? {
        guard !table.primaryKey.isEmpty else { return nil }
        var key: [UInt8] = []
        for p in table.primaryKey {
            guard let t = terms.first(where: { $0.slot == p && $0.op == .eq }),
                  let v = keyValue(t.value, for: table.columns[p].type) else { return nil }
            KeyCodec.append(v, to: &key)
        }
        return key
    }

    static func indexRange(_ table: TableDef, _ terms: [(slot: Int, op: CompareOp, value: Value)])
        -> (UInt32, IndexBound?, IndexBound?)? {
        for index in table.indexes {
            let col = index.columns[0]
            let type = table.columns[col].type
            var lower: IndexBound?, upper: IndexBound?
            for t in terms where t.slot == col {
                guard let v = keyValue(t.value, for: type) else { continue }
                let enc = KeyCodec.encode(v)
                switch t.op {
                case .eq:
                    lower = IndexBound(prefix: enc, inclusive: true)
                    upper = IndexBound(prefix: enc, inclusive: true)
                case .gt: lower = IndexBound(prefix: enc, inclusive: false)
                case .ge: lower = IndexBound(prefix: enc, inclusive: true)
                case .lt: upper = IndexBound(prefix: enc, inclusive: false)
                case .le: upper = IndexBound(prefix: enc, inclusive: true)
                case .ne: continue
                }
                if t.op == .eq { break }
            }
            if lower != nil || upper != nil { return (index.id, lower, upper) }
        }
        return nil
    }
}

/// The single empty row a SELECT without FROM reads.
final class OneRowNode: PlanNode {
    var done = false
    let batch = RowBatch(width: 0)
    var width: Int { 0 }

    func next() throws -> RowBatch? {
        guard !done else { return nil }
        done = true
        batch.reset()
        batch.appendRow { _ in }
        return batch
    }
}
