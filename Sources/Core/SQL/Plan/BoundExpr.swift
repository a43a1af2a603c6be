import DriftCore

public enum CompareOp: String, Sendable {
    case eq = "=", ne = "<>", lt = "<", le = "<=", gt = ">", ge = ">="

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
}

public enum ArithOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%"
}

/// A name-resolved, typed expression. Slots index the row the expression reads.
public indirect enum BoundExpr: Sendable {
    case slot(Int, SQLType)
    /// A constant; a nil type is an untyped string literal that takes its context's type.
    case constant(Value, SQLType?)
    case compare(CompareOp, BoundExpr, BoundExpr)
    case arith(ArithOp, BoundExpr, BoundExpr, SQLType)
    case negate(BoundExpr)
    case concat(BoundExpr, BoundExpr)
    case and([BoundExpr])
    case or([BoundExpr])
    case not(BoundExpr)
    case isNull(BoundExpr, negated: Bool)
    case boolTest(BoundExpr, BoolTest)
    case cast(BoundExpr, SQLType)
    case inList(BoundExpr, [BoundExpr], negated: Bool)
    case like(BoundExpr, BoundExpr, caseInsensitive: Bool, negated: Bool)
    case function(String, [BoundExpr], SQLType)

    public var type: SQLType {
        switch self {
        case .slot(_, let t), .arith(_, _, _, let t), .cast(_, let t), .function(_, _, let t): return t
        case .constant(_, let t): return t ?? .text
        case .compare, .and, .or, .not, .isNull, .boolTest, .inList, .like: return .bool
        case .negate(let e): return e.type
        case .concat: return .text
        }
    }

    var isUntypedLiteral: Bool {
        if case .constant(_, nil) = self { return true }
        return false
    }
}
