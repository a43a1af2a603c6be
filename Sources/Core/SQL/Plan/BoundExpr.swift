import DriftCore

public enum CompareOp: String, Sendable {
    case eq = "=", ne = "<>", lt = "<", le = "<=", gt = ">", ge = ">="

    @inline(__always)
    func holds(_ c: Int) -> Bool {
        switch self {
        case .eq: return c == 0
        case .ne: return c != 0
        case .lt: return c < 0
        case .le: return c <= 0
        case .gt: return c > 0
        case .ge: return c >= 0
        }
    }

    /// The operator with its operands swapped (`5 < a` is `a > 5`).
    var flipped: CompareOp {
        switch self {
        case .lt: return .gt
        case .le: return .ge
        case .gt: return .lt
        case .ge: return .le
        default: return self
        }
    }

    /// The operator that holds exactly when this one does not (for NOT over a comparison).
    var negated: CompareOp {
        switch self {
        case .eq: return .ne
        case .ne: return .eq
        case .lt: return .ge
        case .le: return .gt
        case .gt: return .le
        case .ge: return .lt
        }
    }
}

public enum ArithOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%"
}

/// How a subquery is used.
enum SubqueryUse {
    case exists
    case scalar
    case array
    /// `test op ANY/ALL (subquery)`; `IN` is `= ANY`. The test values are compared with the
    /// subquery's columns in order.
    case quantified(CompareOp, all: Bool, test: [BoundExpr])
}

/// The current row of a query block, as subqueries inside it read it (their `.outer` columns).
/// Set by the block before a correlated subquery runs.
final class OuterRows {
    var current: [Value] = []
    init() {}
}

/// A subquery bound inside an expression. Uncorrelated subqueries run once per execution of
/// the enclosing plan and keep their result; correlated ones run again for each row.
final class SubqueryPlan {
    let query: BoundQuery
    let use: SubqueryUse
    /// Whether it reads columns of an enclosing block.
    let correlated: Bool
    /// The enclosing block's row holder, set from the row the subquery is evaluated on.
    let outer: OuterRows
    /// When evaluated after aggregation: where each enclosing-block slot the subquery reads
    /// sits in the aggregated row (a grouped column).
    var postAggregateMap: [(from: Int, to: Int)]?
    /// The slots of the enclosing block it reads: a join condition holding it can be
    /// placed only where those columns are filled.
    var blockSlots = Set<Int>()

    init(query: BoundQuery, use: SubqueryUse, correlated: Bool, outer: OuterRows) {
        self.query = query
        self.use = use
        self.correlated = correlated
        self.outer = outer
    }
}

/// A column of an enclosing query block.
struct OuterRef {
    let rows: OuterRows
    let slot: Int
    let type: SQLType
    /// How many blocks out (1: the block around this one).
    let depth: Int
}

/// A name-resolved, typed expression. Slots index the row the expression reads.
indirect enum BoundExpr {
    case slot(Int, SQLType)
    case outer(OuterRef)
    /// A constant; a nil type is an untyped literal (PostgreSQL's `unknown`) that takes its context's type.
    case constant(Value, SQLType?)
    /// `$n`, read from the execution's parameters.
    case parameter(Int, SQLType)
    case compare(CompareOp, BoundExpr, BoundExpr)
    case arith(ArithOp, BoundExpr, BoundExpr, SQLType)
    case negate(BoundExpr, SQLType)
    case concat(BoundExpr, BoundExpr)
    case and([BoundExpr])
    case or([BoundExpr])
    case not(BoundExpr)
    case isNull(BoundExpr, negated: Bool)
    case boolTest(BoundExpr, BoolTest)
    case cast(BoundExpr, SQLType, explicit: Bool)
    case inList(BoundExpr, [BoundExpr], negated: Bool)
    case like(BoundExpr, BoundExpr, escape: BoundExpr?, caseInsensitive: Bool, negated: Bool)
    case caseWhen([(BoundExpr, BoundExpr)], otherwise: BoundExpr?, SQLType)
    case coalesce([BoundExpr], SQLType)
    case nullIf(BoundExpr, BoundExpr, SQLType)
    case greatest([BoundExpr], SQLType, least: Bool)
    case distinctFrom(BoundExpr, BoundExpr, negated: Bool)
    case function(ScalarFunction, [BoundExpr], SQLType)
    case subquery(SubqueryPlan, SQLType)
    /// `x op ANY/ALL (array)`.
    case anyArray(BoundExpr, CompareOp, BoundExpr, all: Bool)
    /// `ARRAY[...]`.
    case array([BoundExpr], SQLType)
    /// An aggregate's result, by position in the block's aggregate list (replaced by a slot
    /// of the aggregated row before compiling).
    case aggRef(Int, SQLType)
    /// A window function's result, by position in the block's window list.
    case windowRef(Int, SQLType)

    var type: SQLType {
        switch self {
        case .cast(_, let t, _): return t.base == .numeric ? t : t.base
        case .slot(_, let t), .parameter(_, let t), .arith(_, _, _, let t), .negate(_, let t),
             .caseWhen(_, _, let t), .coalesce(_, let t), .nullIf(_, _, let t), .greatest(_, let t, _),
             .function(_, _, let t), .subquery(_, let t), .array(_, let t), .aggRef(_, let t), .windowRef(_, let t):
            return t
        case .outer(let o): return o.type
        case .constant(_, let t): return t ?? .unknown
        case .compare, .and, .or, .not, .isNull, .boolTest, .inList, .like, .distinctFrom, .anyArray: return .bool
        case .concat: return .text
        }
    }

    var isUntypedLiteral: Bool {
        if case .constant(_, nil) = self { return true }
        return false
    }

    var constantValue: Value? {
        if case .constant(let v, _) = self { return v }
        return nil
    }

    /// The direct sub-expressions.
    var children: [BoundExpr] {
        switch self {
        case .slot, .outer, .constant, .parameter, .aggRef, .windowRef: return []
        case .subquery(let s, _):
            if case .quantified(_, _, let test) = s.use { return test }
            return []
        case .compare(_, let a, let b), .arith(_, let a, let b, _), .concat(let a, let b), .nullIf(let a, let b, _),
             .distinctFrom(let a, let b, _), .anyArray(let a, _, let b, _):
            return [a, b]
        case .negate(let a, _), .not(let a), .isNull(let a, _), .boolTest(let a, _), .cast(let a, _, _): return [a]
        case .and(let xs), .or(let xs), .coalesce(let xs, _), .greatest(let xs, _, _), .function(_, let xs, _), .array(let xs, _):
            return xs
        case .inList(let a, let xs, _): return [a] + xs
        case .like(let a, let b, let e, _, _): return [a, b] + (e.map { [$0] } ?? [])
        case .caseWhen(let ws, let o, _): return ws.flatMap { [$0.0, $0.1] } + (o.map { [$0] } ?? [])
        }
    }

    /// Whether `pred` holds for this expression or any sub-expression.
    func contains(where pred: (BoundExpr) -> Bool) -> Bool {
        if pred(self) { return true }
        return children.contains { $0.contains(where: pred) }
    }

    /// Whether the expression reads no column of the row (constants, parameters, outer columns,
    /// uncorrelated subqueries).
    var isRowIndependent: Bool {
        !contains { e in
            switch e {
            case .slot, .aggRef, .windowRef: return true
            case .subquery(let s, _): return s.correlated
            case .function(let f, _, _): return f.volatile
            default: return false
            }
        }
    }

    /// Whether the expression reads columns of an enclosing block (directly or through a subquery).
    var readsOuter: Bool {
        contains { e in
            switch e {
            case .outer: return true
            case .subquery(let s, _): return s.correlated && s.query.outerDepthMax > 1
            default: return false
            }
        }
    }

    var hasSubquery: Bool { contains { if case .subquery = $0 { return true }; return false } }
    var hasAggregate: Bool { contains { if case .aggRef = $0 { return true }; return false } }
    var hasWindow: Bool { contains { if case .windowRef = $0 { return true }; return false } }
    var isVolatile: Bool { contains { if case .function(let f, _, _) = $0 { return f.volatile }; return false } }

    /// The row slots the expression reads, with those correlated subqueries read.
    func slots(into out: inout Set<Int>) {
        if case .slot(let i, _) = self { out.insert(i); return }
        if case .subquery(let s, _) = self { out.formUnion(s.blockSlots) }
        for c in children { c.slots(into: &out) }
    }

    var slotSet: Set<Int> {
        var s = Set<Int>()
        slots(into: &s)
        return s
    }

    /// The expression with each node replaced where `f` gives a replacement (applied top-down;
    /// a replaced node is not visited further).
    func rewritten(_ f: (BoundExpr) throws -> BoundExpr?) rethrows -> BoundExpr {
        if let r = try f(self) { return r }
        func m(_ e: BoundExpr) throws -> BoundExpr { try e.rewritten(f) }
        switch self {
        case .slot, .outer, .constant, .parameter, .aggRef, .windowRef: return self
        case .subquery(let s, let t):
            if case let .quantified(op, all, test) = s.use {
                let n = SubqueryPlan(query: s.query, use: .quantified(op, all: all, test: try test.map(m)), correlated: s.correlated,
                                     outer: s.outer)
                n.postAggregateMap = s.postAggregateMap
                n.blockSlots = s.blockSlots
                return .subquery(n, t)
            }
            return self
        case let .compare(op, a, b): return .compare(op, try m(a), try m(b))
        case let .arith(op, a, b, t): return .arith(op, try m(a), try m(b), t)
        case let .negate(a, t): return .negate(try m(a), t)
        case let .concat(a, b): return .concat(try m(a), try m(b))
        case .and(let xs): return .and(try xs.map(m))
        case .or(let xs): return .or(try xs.map(m))
        case .not(let a): return .not(try m(a))
        case let .isNull(a, n): return .isNull(try m(a), negated: n)
        case let .boolTest(a, t): return .boolTest(try m(a), t)
        case let .cast(a, t, e): return .cast(try m(a), t, explicit: e)
        case let .inList(a, xs, n): return .inList(try m(a), try xs.map(m), negated: n)
        case let .like(a, b, e, ci, n): return .like(try m(a), try m(b), escape: try e.map(m), caseInsensitive: ci, negated: n)
        case let .caseWhen(ws, o, t): return .caseWhen(try ws.map { (try m($0.0), try m($0.1)) }, otherwise: try o.map(m), t)
        case let .coalesce(xs, t): return .coalesce(try xs.map(m), t)
        case let .nullIf(a, b, t): return .nullIf(try m(a), try m(b), t)
        case let .greatest(xs, t, l): return .greatest(try xs.map(m), t, least: l)
        case let .distinctFrom(a, b, n): return .distinctFrom(try m(a), try m(b), negated: n)
        case let .function(f, xs, t): return .function(f, try xs.map(m), t)
        case let .anyArray(a, op, b, all): return .anyArray(try m(a), op, try m(b), all: all)
        case let .array(xs, t): return .array(try xs.map(m), t)
        }
    }

    /// The expression with every slot moved by `map`.
    func remapped(_ map: (Int) -> Int) -> BoundExpr {
        rewritten { e in
            if case .slot(let i, let t) = e { return .slot(map(i), t) }
            return nil
        }
    }

    /// The conjuncts of an AND tree.
    var conjuncts: [BoundExpr] {
        if case .and(let xs) = self { return xs.flatMap(\.conjuncts) }
        return [self]
    }

    /// Structural equality (GROUP BY matching, DISTINCT ORDER BY checks). Subqueries and
    /// volatile functions are never equal to anything but themselves.
    func same(as o: BoundExpr) -> Bool {
        switch (self, o) {
        case let (.slot(a, _), .slot(b, _)): return a == b
        case let (.outer(a), .outer(b)): return a.rows === b.rows && a.slot == b.slot
        case let (.constant(a, ta), .constant(b, tb)): return a == b && ta == tb
        case let (.parameter(a, _), .parameter(b, _)): return a == b
        case let (.compare(x, a1, b1), .compare(y, a2, b2)): return x == y && a1.same(as: a2) && b1.same(as: b2)
        case let (.arith(x, a1, b1, _), .arith(y, a2, b2, _)): return x == y && a1.same(as: a2) && b1.same(as: b2)
        case let (.negate(a, _), .negate(b, _)), let (.not(a), .not(b)): return a.same(as: b)
        case let (.concat(a1, b1), .concat(a2, b2)), let (.nullIf(a1, b1, _), .nullIf(a2, b2, _)):
            return a1.same(as: a2) && b1.same(as: b2)
        case let (.and(xs), .and(ys)), let (.or(xs), .or(ys)), let (.coalesce(xs, _), .coalesce(ys, _)), let (.array(xs, _), .array(ys, _)):
            return Self.same(xs, ys)
        case let (.isNull(a, n1), .isNull(b, n2)): return n1 == n2 && a.same(as: b)
        case let (.boolTest(a, t1), .boolTest(b, t2)): return t1 == t2 && a.same(as: b)
        case let (.cast(a, t1, _), .cast(b, t2, _)): return t1 == t2 && a.same(as: b)
        case let (.inList(a, xs, n1), .inList(b, ys, n2)): return n1 == n2 && a.same(as: b) && Self.same(xs, ys)
        case let (.like(a1, b1, e1, c1, n1), .like(a2, b2, e2, c2, n2)):
            return c1 == c2 && n1 == n2 && a1.same(as: a2) && b1.same(as: b2) && Self.same(e1.map { [$0] } ?? [], e2.map { [$0] } ?? [])
        case let (.caseWhen(w1, o1, _), .caseWhen(w2, o2, _)):
            return w1.count == w2.count && zip(w1, w2).allSatisfy { $0.0.same(as: $1.0) && $0.1.same(as: $1.1) }
                && Self.same(o1.map { [$0] } ?? [], o2.map { [$0] } ?? [])
        case let (.greatest(xs, _, l1), .greatest(ys, _, l2)): return l1 == l2 && Self.same(xs, ys)
        case let (.distinctFrom(a1, b1, n1), .distinctFrom(a2, b2, n2)): return n1 == n2 && a1.same(as: a2) && b1.same(as: b2)
        case let (.function(f, xs, _), .function(g, ys, _)): return f.name == g.name && !f.volatile && Self.same(xs, ys)
        case let (.subquery(a, _), .subquery(b, _)): return a === b
        case let (.anyArray(a1, o1, b1, l1), .anyArray(a2, o2, b2, l2)): return o1 == o2 && l1 == l2 && a1.same(as: a2) && b1.same(as: b2)
        case let (.aggRef(a, _), .aggRef(b, _)), let (.windowRef(a, _), .windowRef(b, _)): return a == b
        default: return false
        }
    }

    static func same(_ xs: [BoundExpr], _ ys: [BoundExpr]) -> Bool {
        xs.count == ys.count && zip(xs, ys).allSatisfy { $0.same(as: $1) }
    }
}
