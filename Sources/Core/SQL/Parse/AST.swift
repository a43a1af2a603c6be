import DriftCore

public enum Literal: Sendable, Equatable {
    case integer(Int64)
    /// A numeric constant, as written.
    case numeric(String)
    case string(String)
    case bool(Bool)
    case null
}

public struct TypeName: Sendable, Equatable {
    /// Name parts, e.g. ["pg_catalog", "int4"].
    public var names: [String]
    public var modifiers: [Int64]
    public var arrayDimensions: Int
}

public enum BoolTest: String, Sendable {
    case isTrue = "IS_TRUE", isNotTrue = "IS_NOT_TRUE", isFalse = "IS_FALSE", isNotFalse = "IS_NOT_FALSE"
    case isUnknown = "IS_UNKNOWN", isNotUnknown = "IS_NOT_UNKNOWN"
}

/// An expression as written. Locations are 0-based byte offsets into the statement.
public indirect enum Expr: Sendable {
    case column([String], location: Int)
    case star(qualifier: String?, location: Int)
    case constant(Literal, location: Int)
    case parameter(Int, location: Int)
    /// A binary operator when `left` is present, a prefix operator otherwise.
    case op(String, left: Expr?, right: Expr, location: Int)
    case and([Expr])
    case or([Expr])
    case not(Expr)
    case isNull(Expr, negated: Bool)
    case boolTest(Expr, BoolTest)
    case cast(Expr, TypeName, location: Int)
    case inList(Expr, [Expr], negated: Bool, location: Int)
    case between(Expr, low: Expr, high: Expr, negated: Bool, location: Int)
    case like(Expr, pattern: Expr, caseInsensitive: Bool, negated: Bool, location: Int)
    case function(name: [String], args: [Expr], star: Bool, distinct: Bool, location: Int)

    public var location: Int? {
        switch self {
        case .column(_, let l), .star(_, let l), .constant(_, let l), .parameter(_, let l), .op(_, _, _, let l),
             .cast(_, _, let l), .inList(_, _, _, let l), .between(_, _, _, _, let l), .like(_, _, _, _, let l),
             .function(_, _, _, _, let l):
            return l
        case .and(let xs), .or(let xs): return xs.first?.location
        case .not(let e), .isNull(let e, _), .boolTest(let e, _): return e.location
        }
    }
}

public struct SelectTarget: Sendable {
    public var expr: Expr
    public var alias: String?
    public var location: Int
    public init(expr: Expr, alias: String? = nil, location: Int = 0) {
        self.expr = expr
        self.alias = alias
        self.location = location
    }
}

public struct TableRef: Sendable {
    public var schema: String?
    public var name: String
    public var alias: String?
    public var location: Int
    public var temporal: TemporalSpec?
    public init(schema: String? = nil, name: String, alias: String? = nil, location: Int = 0, temporal: TemporalSpec? = nil) {
        self.schema = schema
        self.name = name
        self.alias = alias
        self.location = location
        self.temporal = temporal
    }
}

public struct SortItem: Sendable {
    public var expr: Expr
    public var descending: Bool
    /// nil: PostgreSQL's default (NULLS LAST ascending, NULLS FIRST descending).
    public var nullsFirst: Bool?
    public init(expr: Expr, descending: Bool = false, nullsFirst: Bool? = nil) {
        self.expr = expr
        self.descending = descending
        self.nullsFirst = nullsFirst
    }
}

public struct SelectStatement: Sendable {
    public var targets: [SelectTarget] = []
    public var from: [TableRef] = []
    public var whereClause: Expr?
    public var orderBy: [SortItem] = []
    public var limit: Expr?
    public var offset: Expr?
    /// A temporal clause at the end of the statement, for every table without its own.
    public var temporal: TemporalSpec?
    public init() {}
}

public enum TransactionStatement: Sendable, Equatable {
    case begin(isolation: IsolationLevel?, readOnly: Bool?)
    case commit
    case rollback
    case savepoint(String)
    case release(String)
    case rollbackTo(String)
    case setTransaction(isolation: IsolationLevel?, readOnly: Bool?)
}

public enum Statement: Sendable {
    case select(SelectStatement)
    case transaction(TransactionStatement, asOf: TemporalSpec?)
    case set(name: String, value: String?, local: Bool)
    case show(name: String)
    case driftQL(DriftQLStatement)
    case empty
}
