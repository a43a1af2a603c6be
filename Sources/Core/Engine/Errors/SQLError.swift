/// A PostgreSQL SQLSTATE code.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ code: String) { rawValue = code }
    public var description: String { rawValue }

    public static let successfulCompletion = SQLState("00000")
    public static let noData = SQLState("02000")
    public static let featureNotSupported = SQLState("0A000")
    public static let invalidDatetimeFormat = SQLState("22007")
    public static let datetimeFieldOverflow = SQLState("22008")
    public static let numericValueOutOfRange = SQLState("22003")
    public static let divisionByZero = SQLState("22012")
    public static let invalidParameterValue = SQLState("22023")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let invalidJSONText = SQLState("22P02")
    public static let stringDataRightTruncation = SQLState("22001")
    public static let dataException = SQLState("22000")
    public static let integrityConstraintViolation = SQLState("23000")
    public static let notNullViolation = SQLState("23502")
    public static let foreignKeyViolation = SQLState("23503")
    public static let uniqueViolation = SQLState("23505")
    public static let checkViolation = SQLState("23514")
    public static let invalidTransactionState = SQLState("25000")
    public static let activeSQLTransaction = SQLState("25001")
    public static let noActiveSQLTransaction = SQLState("25P01")
    public static let inFailedSQLTransaction = SQLState("25P02")
    public static let readOnlySQLTransaction = SQLState("25006")
    public static let invalidSavepointSpecification = SQLState("3B001")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let syntaxError = SQLState("42601")
    public static let invalidName = SQLState("42602")
    public static let nameTooLong = SQLState("42622")
    public static let tooManyColumns = SQLState("54011")
    public static let statementTooComplex = SQLState("54001")
    public static let characterNotInRepertoire = SQLState("22021")
    public static let invalidRegularExpression = SQLState("2201B")
    public static let insufficientPrivilege = SQLState("42501")
    public static let undefinedColumn = SQLState("42703")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedObject = SQLState("42704")
    public static let undefinedFunction = SQLState("42883")
    public static let undefinedParameter = SQLState("42P02")
    public static let wrongObjectType = SQLState("42809")
    public static let groupingError = SQLState("42803")
    public static let windowingError = SQLState("42P20")
    public static let cardinalityViolation = SQLState("21000")
    public static let objectNotInPrerequisiteState = SQLState("55000")
    public static let generatedAlways = SQLState("428C9")
    public static let duplicateTable = SQLState("42P07")
    public static let duplicateColumn = SQLState("42701")
    public static let duplicateObject = SQLState("42710")
    public static let ambiguousColumn = SQLState("42702")
    public static let datatypeMismatch = SQLState("42804")
    public static let invalidColumnDefinition = SQLState("42611")
    public static let invalidColumnReference = SQLState("42P10")
    public static let invalidTableDefinition = SQLState("42P16")
    public static let lockNotAvailable = SQLState("55P03")
    public static let objectInUse = SQLState("55006")
    public static let diskFull = SQLState("53100")
    public static let programLimitExceeded = SQLState("54000")
    public static let ioError = SQLState("58030")
    public static let dataCorrupted = SQLState("XX001")
    public static let internalError = SQLState("XX000")
    public static let adminShutdown = SQLState("57P01")
    public static let queryCanceled = SQLState("57014")
    public static let protocolViolation = SQLState("08P01")
    public static let invalidAuthorizationSpecification = SQLState("28000")
    public static let invalidPassword = SQLState("28P01")
    public static let invalidCatalogName = SQLState("3D000")
    public static let tooManyConnections = SQLState("53300")
    public static let idleInTransactionSessionTimeout = SQLState("25P03")
}

/// An error a client sees: maps one-to-one onto a PostgreSQL ErrorResponse.
public struct SQLError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: SQLState
    public var message: String
    public var detail: String?
    public var hint: String?
    /// 1-based character position in the statement text, when known.
    public var position: Int?

    public init(_ code: SQLState, _ message: String, detail: String? = nil, hint: String? = nil, position: Int? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
    }

    public var description: String {
        var s = "ERROR \(code.rawValue): \(message)"
        if let detail { s += "\nDETAIL: \(detail)" }
        if let hint { s += "\nHINT: \(hint)" }
        return s
    }

    public static func notSupported(_ what: String) -> SQLError {
        SQLError(.featureNotSupported, "\(what) is not supported")
    }
}

extension SQLError {
    /// A broken internal invariant: SQLSTATE XX000 naming the source line in DETAIL. Code that
    /// "cannot" fail throws this instead of trapping, so one bad statement never takes the
    /// server (and every other client) down.
    public static func bug(_ message: String, file: String = #fileID, line: Int = #line) -> SQLError {
        SQLError(.internalError, message, detail: "internal error at \(file):\(line)")
    }
}
