import DriftCore
import DriftSQL
import NIOCore

/// The query phase of a connection: simple query and the extended query protocol, driving
/// one `Session`. Called on the connection's worker thread only.
///
/// Output is buffered as PostgreSQL buffers it: a simple query's response goes out whole;
/// extended-protocol responses go out at Sync or Flush (or when the buffer passes
/// `flushBytes`). After an error in the extended protocol every message up to the next
/// Sync is discarded.
final class QueryProtocol {
    struct Response {
        var bytes: ByteBuffer?
        var close = false
    }

    let session: Session
    private var out = BackendWriter(capacity: 1024)
    /// Unnamed and named statements made by Parse (named ones are also the session's
    /// prepared statements, as in PostgreSQL, where PREPARE and Parse share one namespace).
    private var unnamedStatement: PreparedStatement?
    private var portals: [[UInt8]: Portal] = [:]
    private var skippingUntilSync = false
    static let flushBytes = 1 << 16

    struct Portal {
        var statement: PreparedStatement
        var parameters: [Value]
        var resultFormats: [Int16]
        /// Rows produced but not yet sent (a row-limited Execute left them), with the tag.
        var pending: (rows: ArraySlice<[Value]>, tag: String)?
        /// The columns of the rows pending: the description's, else the result's own.
        var columns: [ResultColumn]?
    }

    init(session: Session) {
        self.session = session
    }

    /// The transaction status ReadyForQuery reports: idle, in a block, or in a failed block.
    var transactionStatus: UInt8 {
        guard let block = session.block else { return UInt8(ascii: "I") }
        if case .failed = block.state { return UInt8(ascii: "E") }
        return UInt8(ascii: "T")
    }

    func handle(_ m: FrontendMessage) -> Response {
        if copying != nil { return copyMessage(m) }
        if skippingUntilSync {
            switch m {
            case .sync: skippingUntilSync = false
            case .terminate: return Response(bytes: take(), close: true)
            default: return Response()
            }
            sync()
            return Response(bytes: take())
        }
        switch m {
        case .query(let text):
            simpleQuery(text)
            // A COPY FROM STDIN now waits for its data; ReadyForQuery follows it.
            if copying == nil { out.readyForQuery(transactionStatus) }
            return Response(bytes: take())
        case .parse(let p): extended { try parse(p) }
        case .bind(let b): extended { try bind(b) }
        case let .describe(kind, name): extended { try describe(kind: kind, name: name) }
        case let .execute(portal, maxRows): extended { try execute(portal: portal, maxRows: maxRows) }
        case let .close(kind, name): extended { close(kind: kind, name: name) }
        case .sync:
            sync()
            return Response(bytes: take())
        case .flush:
            return Response(bytes: take())
        case .terminate:
            return Response(bytes: take(), close: true)
        case .functionCall:
            extended { throw SQLError(.featureNotSupported, "the fast-path function call interface is not supported") }
        case .copyData, .copyDone, .copyFail:
            // Outside COPY, as PostgreSQL does: CopyData and CopyDone are ignored, CopyFail too.
            break
        case .authResponse:
            out.error(SQLError(.protocolViolation, "unexpected password message"))
            return Response(bytes: take(), close: true)
        case .sslRequest, .gssEncRequest, .cancel, .startup:
            out.error(SQLError(.protocolViolation, "unexpected startup message"))
            return Response(bytes: take(), close: true)
        }
        return Response(bytes: out.buffer.readableBytes >= Self.flushBytes ? take() : nil)
    }

    /// The session ends: its open transaction is rolled back.
    func end() {
        session.block?.rollback()
    }

    private func take() -> ByteBuffer {
        let b = out.buffer
        out = BackendWriter(capacity: 1024)
        return b
    }

    /// An extended-protocol message: the messages up to Sync run in one implicit transaction.
    private func extended(_ body: () throws -> Void) {
        do {
            try session.beginImplicitBlock()
            try body()
        } catch {
            out.error(Self.sqlError(error))
            skippingUntilSync = true
        }
    }

    /// Sync: the implicit transaction commits (or, after an error, rolls back).
    private func sync() {
        do {
            try session.endImplicitBlock()
        } catch {
            out.error(Self.sqlError(error))
        }
        reportParameters()
        // The implicit transaction ends at Sync, and its portals with it; a block's stay.
        if session.block == nil { portals.removeAll() }
        out.readyForQuery(transactionStatus)
    }

    static func sqlError(_ e: any Error) -> SQLError {
        if let s = e as? SQLError { return s }
        return SQLError(.internalError, "\(e)")
    }

    static func text(_ bytes: [UInt8]) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw SQLError(.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"")
        }
        return s
    }

    // MARK: Simple query

    private func simpleQuery(_ bytes: [UInt8]) {
        let statements: [String]
        do {
            statements = try Lexer.splitStatements(try Self.text(bytes))
        } catch let e as LexError {
            out.error(SQLError(.syntaxError, e.message, position: e.offset + 1))
            return
        } catch {
            out.error(Self.sqlError(error))
            return
        }
        if statements.isEmpty {
            out.emptyQueryResponse()
            return
        }
        // Several statements in one message run as one transaction unless they say otherwise.
        runStatements(statements[...], implicit: statements.count > 1)
    }

    /// Runs a simple query's statements from `rest`; returns false when a COPY FROM STDIN
    /// waits for its data (the rest run once it has arrived).
    @discardableResult
    private func runStatements(_ statements: ArraySlice<String>, implicit: Bool) -> Bool {
        var rest = statements
        while let s = rest.first {
            rest = rest.dropFirst()
            do {
                if implicit { try session.beginImplicitBlock() }
                let r = try session.executeOne(s)
                if let c = r.copyIn {
                    startCopyIn(c, rest: rest, implicit: implicit, extended: false)
                    return false
                }
                if let o = r.copyOut {
                    copyOut(r, o)
                } else {
                    try send(r, formats: [], from: r.rows[...], describe: true)
                }
                out.commandComplete(r.tag)
                reportParameters()
            } catch {
                out.error(Self.sqlError(error))
                session.abortImplicitBlock()
                reportParameters()
                return true
            }
        }
        do {
            try session.endImplicitBlock()
        } catch {
            out.error(Self.sqlError(error))
        }
        reportParameters()
        return true
    }

    // MARK: COPY

    /// A COPY FROM STDIN receiving its data.
    private struct PendingCopy {
        var copy: CopyIn
        var data: [UInt8] = []
        /// The simple query's statements after the COPY.
        var rest: ArraySlice<String>
        var implicit: Bool
        var extended: Bool
        var overflowed = false

        mutating func append(_ bytes: [UInt8]) {
            if data.count + bytes.count > QueryProtocol.copyBytesMax {
                overflowed = true
                data = []
            } else if !overflowed {
                data += bytes
            }
        }
    }

    private var copying: PendingCopy?
    /// COPY data one statement may send (held in memory until CopyDone).
    static let copyBytesMax = 1 << 30

    private func startCopyIn(_ c: CopyIn, rest: ArraySlice<String>, implicit: Bool, extended: Bool) {
        copying = PendingCopy(copy: c, rest: rest, implicit: implicit, extended: extended)
        out.message("G") { b in
            b.writeInteger(UInt8(0))
            b.writeInteger(Int16(c.columnNames.count))
            for _ in c.columnNames { b.writeInteger(Int16(0)) }
        }
    }

    private func copyOut(_ r: StatementResult, _ o: CopyOptions) {
        let columns = r.columns ?? []
        out.message("H") { b in
            b.writeInteger(UInt8(0))
            b.writeInteger(Int16(columns.count))
            for _ in columns { b.writeInteger(Int16(0)) }
        }
        if o.header {
            let line = session.copyHeader(columns, o)
            out.message("d") { $0.writeBytes(line) }
        }
        for row in r.rows {
            let line = session.copyLine(row, columns, o)
            out.message("d") { $0.writeBytes(line) }
        }
        out.message("c") { _ in }
    }

    /// A message while COPY FROM STDIN waits for data.
    private func copyMessage(_ m: FrontendMessage) -> Response {
        guard let c = copying else { return Response() }
        switch m {
        case .copyData(let bytes):
            // Appended in place (a copy of the pending state per message would copy the data).
            copying?.append(bytes)
            return Response()
        case .flush, .sync:
            // Ignored during COPY, as PostgreSQL ignores them.
            return Response()
        case .copyDone:
            copying = nil
            do {
                if c.overflowed {
                    throw SQLError(.programLimitExceeded, "COPY data is larger than \(Self.copyBytesMax) bytes")
                }
                let r = try session.copyIn(c.copy, data: c.data)
                out.commandComplete(r.tag)
                reportParameters()
            } catch {
                return copyFailed(c, Self.sqlError(error))
            }
            if c.extended { return Response(bytes: take()) }
            runStatements(c.rest, implicit: c.implicit)
            out.readyForQuery(transactionStatus)
            return Response(bytes: take())
        case .copyFail(let message):
            copying = nil
            return copyFailed(c, SQLError(.queryCanceled, "COPY from stdin failed: \(String(decoding: message, as: UTF8.self))"))
        case .terminate:
            copying = nil
            return Response(bytes: take(), close: true)
        default:
            copying = nil
            return copyFailed(c, SQLError(.protocolViolation, "unexpected message type \(m.typeName) during COPY from stdin"))
        }
    }

    private func copyFailed(_ c: PendingCopy, _ e: SQLError) -> Response {
        out.error(e)
        session.failBlock()
        if c.extended {
            skippingUntilSync = true
            return Response(bytes: take())
        }
        session.abortImplicitBlock()
        reportParameters()
        out.readyForQuery(transactionStatus)
        return Response(bytes: take())
    }

    /// ParameterStatus for each reported setting the statement changed.
    private func reportParameters() {
        for (name, value) in session.takeChangedParameters() { out.parameterStatus(name, value) }
    }

    /// A statement's notices as NoticeResponse: the session writes each as "SEVERITY: text".
    private func notices(_ r: StatementResult) {
        for n in r.notices {
            if n.hasPrefix("WARNING: ") {
                out.notice(String(n.dropFirst(9)), code: "01000", severity: "WARNING")
            } else if n.hasPrefix("NOTICE: ") {
                out.notice(String(n.dropFirst(8)), code: "00000", severity: "NOTICE")
            } else {
                out.notice(n, code: "00000", severity: "NOTICE")
            }
        }
    }

    /// Notices, the row description (when asked) and the rows of a result.
    private func send(_ r: StatementResult, formats: [Int16], from rows: ArraySlice<[Value]>, describe: Bool) throws {
        notices(r)
        guard let columns = r.columns else { return }
        if describe { out.rowDescription(columns, formats: formats) }
        for row in rows { try dataRow(row, columns) }
    }

    private func dataRow(_ row: [Value], _ columns: [ResultColumn], formats: [Int16] = []) throws {
        var failure: (any Error)?
        out.message("D") { b in
            b.writeInteger(Int16(row.count))
            for (i, (v, c)) in zip(row, columns).enumerated() {
                if !formats.isEmpty && (formats.count == 1 ? formats[0] : formats[i]) == 1 {
                    do {
                        try PGBinary.write(v, as: c.type, into: &b)
                    } catch {
                        failure = error
                        b.writeInteger(Int32(-1))
                    }
                    continue
                }
                guard let s = session.text(v, c.type) else {
                    b.writeInteger(Int32(-1))
                    continue
                }
                let at = b.writerIndex
                b.writeInteger(Int32(0))
                let n = b.writeString(s)
                b.setInteger(Int32(n), at: at)
            }
        }
        if let failure { throw failure }
    }

    // MARK: Extended query

    private func parse(_ p: FrontendMessage.Parse) throws {
        let name = try Self.text(p.name)
        var types: [SQLType?] = []
        for oid in p.parameterTypes {
            guard oid != 0 && oid != 705 else {
                types.append(nil)
                continue
            }
            guard let t = PGTypes.sqlType(oid: oid) else {
                throw SQLError(.featureNotSupported, "parameters of type oid \(oid) are not supported")
            }
            types.append(t)
        }
        if !name.isEmpty, session.preparedStatement(named: name) != nil {
            throw SQLError(SQLState("42P05"), "prepared statement \"\(name)\" already exists")
        }
        let statement = try session.prepare(try Self.text(p.query), name: name, parameterTypes: types)
        if name.isEmpty { unnamedStatement = statement }
        out.parseComplete()
    }

    private func statement(_ name: [UInt8]) throws -> PreparedStatement {
        if name.isEmpty {
            guard let s = unnamedStatement else { throw SQLError(SQLState("26000"), "unnamed prepared statement does not exist") }
            return s
        }
        let n = try Self.text(name)
        guard let s = session.preparedStatement(named: n) else {
            throw SQLError(SQLState("26000"), "prepared statement \"\(n)\" does not exist")
        }
        return s
    }

    private func bind(_ b: FrontendMessage.Bind) throws {
        let s = try statement(b.statement)
        guard b.parameterFormats.count <= 1 || b.parameterFormats.count == b.parameters.count else {
            throw SQLError(.protocolViolation, "bind message has \(b.parameterFormats.count) parameter formats but \(b.parameters.count) parameters")
        }
        guard b.parameters.count == s.parameterTypes.count else {
            throw SQLError(.protocolViolation, "bind message supplies \(b.parameters.count) parameters, but prepared statement \"\(s.name)\" requires \(s.parameterTypes.count)")
        }
        var values: [Value] = []
        for (i, p) in b.parameters.enumerated() {
            let format = b.parameterFormats.isEmpty ? 0 : b.parameterFormats.count == 1 ? b.parameterFormats[0] : b.parameterFormats[i]
            let type = s.parameterTypes[i]
            switch (format, p) {
            case (_, nil):
                values.append(.null)
            case (0, let bytes?):
                values.append(try session.parameterValue(try Self.text(bytes), as: type))
            case (1, let bytes?):
                let v = try PGBinary.decode(bytes, as: type, parameter: i + 1)
                if case .text(let t) = v, PGBinary.isTextLike(type) || type.base == .jsonb {
                    values.append(try session.parameterValue(t, as: type))
                } else {
                    values.append(v)
                }
            default:
                throw SQLError(.protocolViolation, "unsupported format code: \(format)")
            }
        }
        let columnCount = s.columns?.count ?? 0
        guard b.resultFormats.count <= 1 || b.resultFormats.count == columnCount else {
            throw SQLError(.protocolViolation, "bind message has \(b.resultFormats.count) result formats but query has \(columnCount) columns")
        }
        for f in b.resultFormats where f != 0 && f != 1 {
            throw SQLError(.protocolViolation, "unsupported format code: \(f)")
        }
        portals[b.portal] = Portal(statement: s, parameters: values, resultFormats: b.resultFormats)
        out.bindComplete()
    }

    private func describe(kind: UInt8, name: [UInt8]) throws {
        if kind == UInt8(ascii: "S") {
            let s = try statement(name)
            out.parameterDescription(s.parameterTypes)
            if let columns = s.columns { out.rowDescription(columns) } else { out.noData() }
            return
        }
        guard let p = portals[name] else {
            throw SQLError(SQLState("34000"), "portal \"\(String(decoding: name, as: UTF8.self))\" does not exist")
        }
        if let columns = p.statement.columns { out.rowDescription(columns, formats: p.resultFormats) } else { out.noData() }
    }

    private func execute(portal name: [UInt8], maxRows: Int32) throws {
        guard var p = portals[name] else {
            throw SQLError(SQLState("34000"), "portal \"\(String(decoding: name, as: UTF8.self))\" does not exist")
        }
        if p.statement.isEmpty {
            out.emptyQueryResponse()
            return
        }
        if p.pending == nil {
            let r: StatementResult
            do {
                r = try session.execute(p.statement, parameters: p.parameters)
            } catch {
                reportParameters()
                throw error
            }
            reportParameters()
            notices(r)
            if let c = r.copyIn {
                portals[name] = nil
                startCopyIn(c, rest: [], implicit: false, extended: true)
                return
            }
            if let o = r.copyOut {
                portals[name] = nil
                copyOut(r, o)
                out.commandComplete(r.tag)
                return
            }
            guard r.columns != nil else {
                out.commandComplete(r.tag)
                portals[name] = nil
                return
            }
            p.pending = (r.rows[...], r.tag)
            p.columns = p.statement.columns ?? r.columns
        }
        guard let (rows, tag) = p.pending, let columns = p.columns else {
            throw SQLError.bug("portal \"\(String(decoding: name, as: UTF8.self))\" has rows but no columns")
        }
        let limit = maxRows > 0 ? Int(maxRows) : rows.count
        let part = rows.prefix(limit)
        for row in part { try dataRow(row, columns, formats: p.resultFormats) }
        if part.count < rows.count {
            p.pending = (rows.dropFirst(part.count), tag)
            portals[name] = p
            out.portalSuspended()
        } else {
            portals[name] = nil
            out.commandComplete(tag)
        }
    }

    private func close(kind: UInt8, name: [UInt8]) {
        if kind == UInt8(ascii: "S") {
            if name.isEmpty {
                unnamedStatement = nil
            } else if let n = String(validating: name, as: UTF8.self) {
                session.deallocate(n)
            }
        } else {
            portals[name] = nil
        }
        out.closeComplete()
    }
}
