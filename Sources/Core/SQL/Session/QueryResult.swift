import DriftCore

public struct ResultColumn: Sendable, Equatable {
    public var name: String
    public var type: SQLType
    /// The table a column of a SELECT's output reads as it is (its pg_class OID and attribute
    /// number, as RowDescription reports them); 0 for anything computed.
    public var tableOid: UInt32 = 0
    public var attnum: Int16 = 0
    public init(name: String, type: SQLType) {
        self.name = name
        self.type = type
    }
}

/// The outcome of one statement: a command tag (PostgreSQL's, e.g. `SELECT 3`), and for
/// statements that return rows, their columns and values.
public struct StatementResult: Sendable {
    public var tag: String
    public var columns: [ResultColumn]?
    public var rows: [[Value]]
    /// Warnings and notices (PostgreSQL's NoticeResponse), e.g. BEGIN inside a transaction.
    public var notices: [String]
    /// COPY FROM STDIN: the data to ask the client for (then `Session.copyIn`).
    public var copyIn: CopyIn?
    /// COPY TO STDOUT: the rows are sent as COPY data in this format.
    public var copyOut: CopyOptions?

    public init(tag: String, columns: [ResultColumn]? = nil, rows: [[Value]] = [], notices: [String] = []) {
        self.tag = tag
        self.columns = columns
        self.rows = rows
        self.notices = notices
    }
}
