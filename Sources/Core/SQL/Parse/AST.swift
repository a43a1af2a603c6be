import DriftCore

public enum Literal: Sendable, Equatable {
    case integer(Int64)
    /// A numeric constant, as written.
    case numeric(String)
    case string(String)
    /// A bit-string constant (`B'101'`, `X'1F'`), as the parser spells it.
    case bitString(String)
    case bool(Bool)
    case null
}

public struct TypeName: Sendable, Equatable {
    /// Name parts, e.g. ["pg_catalog", "int4"].
    public var names: [String]
    public var modifiers: [Int64]
    public var arrayDimensions: Int
    public var location: Int = -1
}

public enum BoolTest: String, Sendable {
    case isTrue = "IS_TRUE", isNotTrue = "IS_NOT_TRUE", isFalse = "IS_FALSE", isNotFalse = "IS_NOT_FALSE"
    case isUnknown = "IS_UNKNOWN", isNotUnknown = "IS_NOT_UNKNOWN"
}

public enum SubLinkKind: Sendable, Equatable {
    case exists
    /// `x op ANY (subquery)`, `x IN (subquery)` (op `=`).
    case any(op: String)
    case all(op: String)
    /// A scalar subquery.
    case scalar
    /// `ARRAY(subquery)`.
    case array
}

public struct SortItem: Sendable {
    public var expr: Expr
    public var descending: Bool
    /// nil: PostgreSQL's default (NULLS LAST ascending, NULLS FIRST descending).
    public var nullsFirst: Bool?
    public var location: Int = -1
    public init(expr: Expr, descending: Bool = false, nullsFirst: Bool? = nil) {
        self.expr = expr
        self.descending = descending
        self.nullsFirst = nullsFirst
    }
}

/// A window: `OVER (PARTITION BY ... ORDER BY ... frame)` or `OVER name`.
public struct WindowSpec: Sendable {
    public var name: String?
    public var refName: String?
    public var partitionBy: [Expr] = []
    public var orderBy: [SortItem] = []
    /// PostgreSQL's FRAMEOPTION_* bits.
    public var frameOptions: Int = 0
    public var startOffset: Expr?
    public var endOffset: Expr?
    public var location: Int = -1
}

/// A function call as written: aggregates and window functions included.
public struct FunctionCall: Sendable {
    public var name: [String]
    public var args: [Expr]
    public var star: Bool = false
    public var distinct: Bool = false
    public var filter: Expr?
    public var orderBy: [SortItem] = []
    public var over: WindowSpec?
    /// `f(VARIADIC a)`.
    public var variadic: Bool = false
    /// Special SQL syntax (`EXTRACT(x FROM y)`, `TRIM(BOTH ...)`) rather than a plain call.
    public var sqlSyntax: Bool = false
    /// Names of named arguments (`f(a => 1)`), nil for positional ones.
    public var argNames: [String?] = []
    public var location: Int
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
    case between(Expr, low: Expr, high: Expr, negated: Bool, symmetric: Bool, location: Int)
    case like(Expr, pattern: Expr, escape: Expr?, caseInsensitive: Bool, negated: Bool, location: Int)
    case similar(Expr, pattern: Expr, escape: Expr?, negated: Bool, location: Int)
    case function(FunctionCall)
    case subquery(Query, kind: SubLinkKind, test: Expr?, location: Int)
    case caseWhen(operand: Expr?, whens: [(Expr, Expr)], otherwise: Expr?, location: Int)
    case coalesce([Expr], location: Int)
    case nullIf(Expr, Expr, location: Int)
    case greatest([Expr], location: Int)
    case least([Expr], location: Int)
    case distinctFrom(Expr, Expr, negated: Bool, location: Int)
    /// `x op ANY (array)` / `ALL`.
    case anyArray(Expr, op: String, Expr, all: Bool, location: Int)
    case row([Expr], location: Int)
    case array([Expr], location: Int)
    /// `a[i]`, `a[i:j]`, `(x).field`.
    case subscripted(Expr, index: Expr?, upper: Expr?, slice: Bool, location: Int)
    case field(Expr, String, location: Int)
    case collate(Expr, [String], location: Int)
    /// CURRENT_DATE, CURRENT_TIMESTAMP, LOCALTIMESTAMP, CURRENT_USER, ... as PostgreSQL's parser names them.
    case sqlValue(String, typmod: Int?, location: Int)
    /// `DEFAULT` in an INSERT's VALUES or an UPDATE's SET.
    case defaultValue(location: Int)
    /// GROUPING SETS / ROLLUP / CUBE in GROUP BY.
    case groupingSet(kind: String, [Expr], location: Int)
    case groupingFunc([Expr], location: Int)

    public var location: Int? {
        switch self {
        case .column(_, let l), .star(_, let l), .constant(_, let l), .parameter(_, let l), .op(_, _, _, let l),
             .cast(_, _, let l), .inList(_, _, _, let l), .between(_, _, _, _, _, let l), .like(_, _, _, _, _, let l),
             .similar(_, _, _, _, let l), .subquery(_, _, _, let l), .caseWhen(_, _, _, let l), .coalesce(_, let l),
             .nullIf(_, _, let l), .greatest(_, let l), .least(_, let l), .distinctFrom(_, _, _, let l),
             .anyArray(_, _, _, _, let l), .row(_, let l), .array(_, let l), .subscripted(_, _, _, _, let l), .field(_, _, let l),
             .collate(_, _, let l), .sqlValue(_, _, let l), .defaultValue(let l), .groupingSet(_, _, let l), .groupingFunc(_, let l):
            return l >= 0 ? l : nil
        case .function(let f): return f.location >= 0 ? f.location : nil
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
    public var columnAliases: [String] = []
    public var location: Int
    public var temporal: TemporalSpec?
    /// `ONLY t`: no difference here (there is no inheritance), but kept for messages.
    public var only = false
    public init(schema: String? = nil, name: String, alias: String? = nil, location: Int = 0, temporal: TemporalSpec? = nil) {
        self.schema = schema
        self.name = name
        self.alias = alias
        self.location = location
        self.temporal = temporal
    }
}

public enum JoinKind: String, Sendable {
    case inner = "JOIN_INNER", left = "JOIN_LEFT", right = "JOIN_RIGHT", full = "JOIN_FULL"
    /// Made by decorrelating EXISTS / IN (never parsed).
    case semi = "JOIN_SEMI", anti = "JOIN_ANTI"
}

/// One item of a FROM clause.
public indirect enum FromItem: Sendable {
    case table(TableRef)
    case subquery(Query, alias: String?, columnAliases: [String], lateral: Bool, location: Int)
    /// A set-returning function: `generate_series(1, 3) AS g(i)`.
    case function(FunctionCall, alias: String?, columnAliases: [String], withOrdinality: Bool, lateral: Bool, location: Int)
    case join(JoinKind, FromItem, FromItem, on: Expr?, using: [String], natural: Bool, alias: String?, location: Int)
}

public struct CommonTable: Sendable {
    public var name: String
    public var columns: [String]
    public var query: Query
    public var location: Int
}

public enum LockStrength: String, Sendable {
    case update = "LCS_FORUPDATE", noKeyUpdate = "LCS_FORNOKEYUPDATE", share = "LCS_FORSHARE", keyShare = "LCS_FORKEYSHARE"
}

public struct LockingClause: Sendable {
    public var strength: LockStrength
    public var tables: [String]
    public var wait: LockWait
}

/// One SELECT block (no set operation).
public struct SelectCore: Sendable {
    public var distinct = false
    /// `DISTINCT ON (exprs)`.
    public var distinctOn: [Expr]?
    public var targets: [SelectTarget] = []
    public var from: [FromItem] = []
    public var whereClause: Expr?
    public var groupBy: [Expr] = []
    public var having: Expr?
    public var windows: [WindowSpec] = []
    /// `SELECT ... INTO t`: not supported (CREATE TABLE AS is).
    public var into: String?
    public init() {}
}

public indirect enum QueryBody: Sendable {
    case select(SelectCore)
    case values([[Expr]], location: Int)
    case setOp(kind: String, all: Bool, QueryBody, QueryBody)
}

/// A whole query: WITH, a body (a select, VALUES, or a set operation), ORDER BY, LIMIT.
public struct Query: Sendable {
    public var with: [CommonTable] = []
    public var recursive = false
    public var body: QueryBody
    public var orderBy: [SortItem] = []
    public var limit: Expr?
    public var offset: Expr?
    public var withTies = false
    public var locking: [LockingClause] = []
    /// A temporal clause at the end of the statement, for every table without its own.
    public var temporal: TemporalSpec?

    public init(body: QueryBody) { self.body = body }
}

/// The single-table SELECT the CLI's `select` command builds.
public struct SelectStatement: Sendable {
    public var targets: [SelectTarget] = []
    public var from: [TableRef] = []
    public var whereClause: Expr?
    public var orderBy: [SortItem] = []
    public var limit: Expr?
    public var offset: Expr?
    public var temporal: TemporalSpec?
    public init() {}

    var query: Query {
        var core = SelectCore()
        core.targets = targets
        core.from = from.map { .table($0) }
        core.whereClause = whereClause
        var q = Query(body: .select(core))
        q.orderBy = orderBy
        q.limit = limit
        q.offset = offset
        q.temporal = temporal
        return q
    }
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

// MARK: DML

public struct InsertStatement: Sendable {
    public var table: TableRef
    public var columns: [(String, Int)] = []
    /// nil: DEFAULT VALUES.
    public var source: Query?
    public var onConflict: OnConflict?
    public var returning: [SelectTarget] = []
    public var overridingSystemValue = false
    /// COPY FROM's rows: one text (nil: NULL) per target column, read by each column's type.
    public var copyRows: [[String?]]?
}

public struct OnConflict: Sendable {
    public var columns: [String] = []
    public var constraint: String?
    public var doUpdate: [(column: String, value: Expr)]?
    public var updateWhere: Expr?
    public var location: Int
}

public struct UpdateStatement: Sendable {
    public var table: TableRef
    public var set: [(column: String, indirection: Expr?, value: Expr, location: Int)] = []
    public var from: [FromItem] = []
    public var whereClause: Expr?
    /// `WHERE CURRENT OF cursor`.
    public var currentOf: String?
    public var returning: [SelectTarget] = []
    public var with: [CommonTable] = []
}

public struct DeleteStatement: Sendable {
    public var table: TableRef
    public var using: [FromItem] = []
    public var whereClause: Expr?
    public var currentOf: String?
    public var returning: [SelectTarget] = []
    public var with: [CommonTable] = []
}

// MARK: DDL

public enum ConstraintKind: Sendable {
    case notNull, null
    case defaultValue(Expr, text: String)
    case primaryKey([String])
    case unique([String], nullsNotDistinct: Bool)
    case check(Expr, text: String)
    case foreignKey(columns: [String], table: TableRef, refColumns: [String], onDelete: String, onUpdate: String, match: String)
    case identity(always: Bool, options: [(String, Expr?)])
    case generated(Expr, text: String)
}

public struct ConstraintDef: Sendable {
    public var name: String?
    public var kind: ConstraintKind
    public var deferrable = false
    public var initiallyDeferred = false
    public var location: Int
}

public struct ColumnDefinition: Sendable {
    public var name: String
    public var type: TypeName
    public var constraints: [ConstraintDef]
    public var location: Int
}

public struct CreateTableStatement: Sendable {
    public var table: TableRef
    public var columns: [ColumnDefinition] = []
    public var constraints: [ConstraintDef] = []
    public var ifNotExists = false
    public var temporary = false
    public var options: [(String, String?)] = []
    /// `CREATE TABLE t AS query`.
    public var asQuery: Query?
    public var withNoData = false
    /// A temporary table's ON COMMIT clause (nil: none given).
    public var onCommit: OnCommitAction?
}

/// What a temporary table's rows or the table itself become when a transaction commits.
public enum OnCommitAction: Sendable {
    case preserveRows
    case deleteRows
    case drop
}

public struct IndexColumn: Sendable {
    public var name: String?
    public var expr: Expr?
    public var descending = false
    public var nullsFirst: Bool?
}

public struct CreateIndexStatement: Sendable {
    public var name: String?
    public var table: TableRef
    public var columns: [IndexColumn]
    public var unique: Bool
    public var ifNotExists: Bool
    public var method: String?
    public var whereClause: Expr?
    public var location: Int
}

public enum ObjectKind: String, Sendable {
    case table = "OBJECT_TABLE", view = "OBJECT_VIEW", index = "OBJECT_INDEX", sequence = "OBJECT_SEQUENCE"
    case type = "OBJECT_TYPE", schema = "OBJECT_SCHEMA", materializedView = "OBJECT_MATVIEW", function = "OBJECT_FUNCTION"
    case column = "OBJECT_COLUMN", constraint = "OBJECT_TABCONSTRAINT", domain = "OBJECT_DOMAIN", extensionObject = "OBJECT_EXTENSION"
}

public struct DropStatement: Sendable {
    public var kind: ObjectKind
    public var names: [[String]]
    public var ifExists: Bool
    public var cascade: Bool
}

public enum AlterTableAction: Sendable {
    case addColumn(ColumnDefinition, ifNotExists: Bool)
    case dropColumn(String, ifExists: Bool, cascade: Bool)
    case renameColumn(String, to: String)
    case renameTable(to: String)
    case alterColumnType(String, TypeName, using: Expr?)
    case setDefault(String, Expr?, text: String?)
    case setNotNull(String, Bool)
    case addConstraint(ConstraintDef)
    case dropConstraint(String, ifExists: Bool, cascade: Bool)
    case setOptions([(String, String?)])
    case rowLevelSecurity(String)
    case owner(String)
    case setSchema(String)
}

public struct AlterTableStatement: Sendable {
    public var table: TableRef
    public var actions: [AlterTableAction]
    public var ifExists: Bool
}

public struct CreateViewStatement: Sendable {
    public var view: TableRef
    public var columns: [String]
    public var query: Query
    /// The query's text, as stored (so the view reads as of a past point as it was defined).
    public var text: String
    public var replace: Bool
    public var temporary: Bool
}

public struct CreateSequenceStatement: Sendable {
    public var sequence: TableRef
    public var options: [(String, Expr?)]
    public var ifNotExists: Bool
}

/// CREATE / ALTER / DROP ROLE (and USER): options as DefElem names (`canlogin`,
/// `superuser`, `password`, `connectionlimit`, `validUntil`, ...).
public enum RoleStatement: Sendable {
    /// CREATE USER is CREATE ROLE with LOGIN.
    case create(name: String, options: [(String, Expr?)], user: Bool)
    /// nil name: CURRENT_USER / SESSION_USER.
    case alter(name: String?, options: [(String, Expr?)])
    case rename(from: String, to: String)
    case drop([String], ifExists: Bool)
    /// ALTER ROLE name SET setting = value / RESET setting (nil value) / RESET ALL ("all").
    case set(role: String?, setting: String, value: String?)
    /// GRANT / REVOKE role, ... TO / FROM member, ... [WITH ADMIN OPTION | ADMIN OPTION FOR].
    case membership(roles: [String], members: [RoleName], grant: Bool, admin: Bool)
    /// GRANT / REVOKE privileges ON objects TO / FROM roles.
    case privileges(GrantStatement)
    /// ALTER TABLE | VIEW | SEQUENCE | SCHEMA ... OWNER TO.
    case owner(kind: ObjectKind, object: [String], to: RoleName)
    /// CREATE / ALTER / DROP POLICY, ALTER POLICY ... RENAME TO.
    case policy(PolicyStatement)
}

/// Row-level security policies.
public struct PolicyStatement: Sendable {
    public enum Action: Sendable {
        case create(permissive: Bool, command: String)
        case alter
        case rename(String)
        case drop(ifExists: Bool)
    }

    public var name: String
    public var table: TableRef
    public var action: Action
    /// TO roles (nil: not given; CREATE then means PUBLIC).
    public var roles: [RoleName]?
    /// USING and WITH CHECK, as trees and as the text stored.
    public var using: (Expr, String)?
    public var check: (Expr, String)?
}

/// A role as a statement names it: by name, PUBLIC, or the session's own.
public enum RoleName: Sendable, Equatable {
    case name(String)
    case `public`
    case currentUser
    case sessionUser
}

/// GRANT / REVOKE on tables, views, sequences and schemas.
public struct GrantStatement: Sendable {
    public enum Target: Sendable {
        /// Tables and views (`sequence`: named as sequences), by name.
        case relations([TableRef], sequence: Bool)
        /// ALL TABLES / ALL SEQUENCES IN SCHEMA.
        case allInSchemas([String], sequence: Bool)
        case schemas([String])
        /// ALTER DEFAULT PRIVILEGES [FOR ROLE roles] [IN SCHEMA schemas] ... ON kind (no
        /// roles: the current one; no schemas: everywhere).
        case defaults(roles: [RoleName], schemas: [String], kind: DefaultPrivilegeKind)
    }

    public var grant: Bool
    public var target: Target
    /// Privilege keywords, upper case; nil: ALL [PRIVILEGES].
    public var privileges: [String]?
    /// Privileges on columns (`SELECT (a, b)`): the keyword (nil: ALL) and the column names.
    public var columnPrivileges: [(privilege: String?, columns: [String])] = []
    public var grantees: [RoleName]
    /// WITH GRANT OPTION; on REVOKE, GRANT OPTION FOR.
    public var grantOption: Bool
    public var cascade: Bool
}

public indirect enum Statement: Sendable {
    case select(Query)
    case insert(InsertStatement)
    case update(UpdateStatement)
    case delete(DeleteStatement)
    case createTable(CreateTableStatement)
    case createIndex(CreateIndexStatement)
    case createView(CreateViewStatement)
    case createSequence(CreateSequenceStatement)
    case createEnum(name: [String], labels: [String])
    case createSchema(String, ifNotExists: Bool)
    case alterTable(AlterTableStatement)
    case alterSequence(TableRef, options: [(String, Expr?)])
    case drop(DropStatement)
    case truncate([TableRef], restartIdentity: Bool, cascade: Bool)
    case comment(kind: ObjectKind, object: [String], text: String?)
    case explain(Statement, analyze: Bool, verbose: Bool, costs: Bool)
    case transaction(TransactionStatement, asOf: TemporalSpec?)
    case set(name: String, value: String?, local: Bool)
    case show(name: String)
    case prepare(name: String, types: [TypeName], statement: Statement, text: String)
    case execute(name: String, parameters: [Expr])
    case deallocate(String?)
    case declareCursor(name: String, query: Query, hold: Bool, scroll: Bool)
    case fetch(cursor: String, direction: FetchDirection, move: Bool)
    case closeCursor(String?)
    case vacuum(tables: [TableRef], analyze: Bool)
    case analyze([TableRef])
    case checkpoint
    /// DISCARD ALL | PLANS | SEQUENCES | TEMP.
    case discard(String)
    case lockTable([TableRef], mode: String, noWait: Bool)
    case copy(CopyStatement)
    case driftQL(DriftQLStatement)
    case role(RoleStatement)
    case empty
}

/// COPY: a table (with a column list) or a query, to or from the client (STDIN / STDOUT),
/// a server file or a program, with its options as written.
public struct CopyStatement: Sendable {
    public var table: TableRef?
    public var columns: [String] = []
    public var query: Query?
    public var isFrom: Bool
    /// A server file's path or a program's command; nil: STDIN / STDOUT.
    public var filename: String?
    public var isProgram: Bool
    /// Each option's name and value (nil: given without one; `*` for FORCE_QUOTE *; a
    /// column list joined by commas for FORCE_QUOTE / FORCE_NOT_NULL / FORCE_NULL).
    public var options: [(name: String, value: String?, location: Int)]
}

public enum FetchDirection: Sendable, Equatable {
    case next, prior, first, last
    case absolute(Int64), relative(Int64)
    case forward(Int64?), backward(Int64?)
}
