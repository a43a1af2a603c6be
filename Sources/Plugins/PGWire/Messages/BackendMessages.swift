import DriftCore
import DriftSQL
import NIOCore

/// Messages to the client, appended to one buffer (a whole response is written at once).
struct BackendWriter {
    var buffer: ByteBuffer

    init(allocator: ByteBufferAllocator = ByteBufferAllocator(), capacity: Int = 256) {
        buffer = allocator.buffer(capacity: capacity)
    }

    /// A message: type byte, then the length (patched after `body`), then the body.
    @inline(__always)
    mutating func message(_ type: Character, _ body: (inout ByteBuffer) -> Void) {
        buffer.writeInteger(UInt8(ascii: type.unicodeScalars.first ?? "?"))
        let at = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        body(&buffer)
        buffer.setInteger(Int32(buffer.writerIndex - at), at: at)
    }

    mutating func authenticationOk() { message("R") { $0.writeInteger(Int32(0)) } }
    mutating func authenticationCleartextPassword() { message("R") { $0.writeInteger(Int32(3)) } }
    mutating func authenticationMD5(salt: [UInt8]) {
        message("R") {
            $0.writeInteger(Int32(5))
            $0.writeBytes(salt)
        }
    }
    mutating func authenticationSASL(_ mechanisms: [String]) {
        message("R") {
            $0.writeInteger(Int32(10))
            for m in mechanisms { $0.writeCString(m) }
            $0.writeInteger(UInt8(0))
        }
    }
    /// AuthenticationSASLContinue (11) or AuthenticationSASLFinal (12) with its data.
    mutating func authenticationSASL(step: Int32, _ data: [UInt8]) {
        message("R") {
            $0.writeInteger(step)
            $0.writeBytes(data)
        }
    }

    mutating func parameterStatus(_ name: String, _ value: String) {
        message("S") {
            $0.writeCString(name)
            $0.writeCString(value)
        }
    }

    mutating func backendKeyData(processId: Int32, secretKey: Int32) {
        message("K") {
            $0.writeInteger(processId)
            $0.writeInteger(secretKey)
        }
    }

    /// 'I' idle, 'T' in a transaction block, 'E' in a failed one.
    mutating func readyForQuery(_ status: UInt8) { message("Z") { $0.writeInteger(status) } }

    mutating func rowDescription(_ columns: [ResultColumn], formats: [Int16] = []) {
        message("T") {
            $0.writeInteger(Int16(columns.count))
            for (i, c) in columns.enumerated() {
                $0.writeCString(c.name)
                $0.writeInteger(c.tableOid)
                $0.writeInteger(c.attnum)
                $0.writeInteger(c.type.oid)
                $0.writeInteger(PGTypes.typeLength(c.type))
                $0.writeInteger(PGTypes.typeModifier(c.type))
                $0.writeInteger(formats.isEmpty ? 0 : formats.count == 1 ? formats[0] : formats[i])
            }
        }
    }

    mutating func noData() { message("n") { _ in } }

    mutating func parameterDescription(_ types: [SQLType]) {
        message("t") {
            $0.writeInteger(Int16(types.count))
            for t in types { $0.writeInteger(t.oid) }
        }
    }

    mutating func commandComplete(_ tag: String) { message("C") { $0.writeCString(tag) } }
    mutating func emptyQueryResponse() { message("I") { _ in } }
    mutating func parseComplete() { message("1") { _ in } }
    mutating func bindComplete() { message("2") { _ in } }
    mutating func closeComplete() { message("3") { _ in } }
    mutating func portalSuspended() { message("s") { _ in } }

    /// ErrorResponse ('E') or NoticeResponse ('N') fields: severity (localized and not),
    /// SQLSTATE, message, detail, hint, position.
    mutating func error(_ e: SQLError, severity: String = "ERROR") {
        report("E", severity: severity, code: e.code.rawValue, message: e.message, detail: e.detail, hint: e.hint, position: e.position)
    }

    mutating func notice(_ text: String, code: String = "00000", severity: String = "NOTICE") {
        report("N", severity: severity, code: code, message: text, detail: nil, hint: nil, position: nil)
    }

    private mutating func report(_ type: Character, severity: String, code: String, message text: String,
                                 detail: String?, hint: String?, position: Int?) {
        var fields: [(UInt8, String)] = [(UInt8(ascii: "S"), severity), (UInt8(ascii: "V"), severity),
                                         (UInt8(ascii: "C"), code), (UInt8(ascii: "M"), text)]
        if let detail { fields.append((UInt8(ascii: "D"), detail)) }
        if let hint { fields.append((UInt8(ascii: "H"), hint)) }
        if let position { fields.append((UInt8(ascii: "P"), String(position))) }
        message(type) { b in
            for (f, v) in fields {
                b.writeInteger(f)
                b.writeCString(v)
            }
            b.writeInteger(UInt8(0))
        }
    }
}

extension ByteBuffer {
    @inline(__always)
    mutating func writeCString(_ s: String) {
        writeString(s)
        writeInteger(UInt8(0))
    }
}
