import NIOCore

/// A message from the client (protocol 3.0).
enum FrontendMessage: Equatable, Sendable {
    // Untyped, before the session starts.
    case sslRequest
    case gssEncRequest
    case cancel(processId: Int32, secretKey: Int32)
    case startup(Startup)
    // Typed.
    case query([UInt8])
    case parse(Parse)
    case bind(Bind)
    case describe(kind: UInt8, name: [UInt8])
    case execute(portal: [UInt8], maxRows: Int32)
    case close(kind: UInt8, name: [UInt8])
    case sync
    case flush
    case terminate
    /// 'p': a password, or SASL data (its meaning depends on the authentication step).
    case authResponse([UInt8])
    case copyData([UInt8])
    case copyDone
    case copyFail([UInt8])
    /// 'F': the fast-path function call interface (refused).
    case functionCall

    struct Startup: Equatable, Sendable {
        var major: Int
        var minor: Int
        var parameters: [(String, String)]

        static func == (a: Startup, b: Startup) -> Bool {
            a.major == b.major && a.minor == b.minor
                && a.parameters.map(\.0) == b.parameters.map(\.0) && a.parameters.map(\.1) == b.parameters.map(\.1)
        }

        func parameter(_ name: String) -> String? { parameters.first { $0.0 == name }?.1 }
    }

    struct Parse: Equatable, Sendable {
        var name: [UInt8]
        var query: [UInt8]
        var parameterTypes: [UInt32]
    }

    struct Bind: Equatable, Sendable {
        var portal: [UInt8]
        var statement: [UInt8]
        /// Empty: all text; one: all that one; else one per parameter (0 text, 1 binary).
        var parameterFormats: [Int16]
        var parameters: [[UInt8]?]
        var resultFormats: [Int16]
    }
}

extension FrontendMessage {
    /// The message's name, for errors.
    var typeName: String {
        switch self {
        case .sslRequest: return "SSLRequest"
        case .gssEncRequest: return "GSSENCRequest"
        case .cancel: return "CancelRequest"
        case .startup: return "StartupMessage"
        case .query: return "Query"
        case .parse: return "Parse"
        case .bind: return "Bind"
        case .describe: return "Describe"
        case .execute: return "Execute"
        case .close: return "Close"
        case .sync: return "Sync"
        case .flush: return "Flush"
        case .terminate: return "Terminate"
        case .authResponse: return "PasswordMessage"
        case .copyData: return "CopyData"
        case .copyDone: return "CopyDone"
        case .copyFail: return "CopyFail"
        case .functionCall: return "FunctionCall"
        }
    }
}

/// A message the server cannot accept: the connection gets 08P01 and is closed.
struct ProtocolViolation: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Reads the fields of one message body.
struct MessageReader {
    var buffer: ByteBuffer

    mutating func int32() throws -> Int32 {
        guard let v = buffer.readInteger(as: Int32.self) else { throw ProtocolViolation("message ends inside an Int32") }
        return v
    }

    mutating func int16() throws -> Int16 {
        guard let v = buffer.readInteger(as: Int16.self) else { throw ProtocolViolation("message ends inside an Int16") }
        return v
    }

    mutating func byte() throws -> UInt8 {
        guard let v = buffer.readInteger(as: UInt8.self) else { throw ProtocolViolation("message ends inside a byte") }
        return v
    }

    /// A NUL-terminated string's bytes (without the NUL).
    mutating func cString() throws -> [UInt8] {
        guard let end = buffer.readableBytesView.firstIndex(of: 0) else {
            throw ProtocolViolation("invalid string in message")
        }
        let n = end - buffer.readerIndex
        let bytes = buffer.readBytes(length: n) ?? []
        buffer.moveReaderIndex(forwardBy: 1)
        return bytes
    }

    mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard n >= 0, let b = buffer.readBytes(length: n) else { throw ProtocolViolation("message ends inside a value") }
        return b
    }

    mutating func rest() -> [UInt8] { buffer.readBytes(length: buffer.readableBytes) ?? [] }

    func expectEnd() throws {
        guard buffer.readableBytes == 0 else { throw ProtocolViolation("invalid message format") }
    }
}

extension FrontendMessage {
    /// The request codes of untyped messages (PostgreSQL's pqcomm.h).
    static let sslRequestCode: Int32 = 80_877_103
    static let gssEncRequestCode: Int32 = 80_877_104
    static let cancelRequestCode: Int32 = 80_877_102

    /// Decodes an untyped startup-phase message body (after its length).
    static func decodeStartup(_ body: ByteBuffer) throws -> FrontendMessage {
        var r = MessageReader(buffer: body)
        let code = try r.int32()
        switch code {
        case sslRequestCode:
            try r.expectEnd()
            return .sslRequest
        case gssEncRequestCode:
            try r.expectEnd()
            return .gssEncRequest
        case cancelRequestCode:
            let pid = try r.int32(), key = try r.int32()
            try r.expectEnd()
            return .cancel(processId: pid, secretKey: key)
        default:
            let major = Int(code >> 16), minor = Int(code & 0xFFFF)
            var parameters: [(String, String)] = []
            while true {
                let name = try r.cString()
                if name.isEmpty { break }
                let value = try r.cString()
                guard let n = String(validating: name, as: UTF8.self), let v = String(validating: value, as: UTF8.self) else {
                    throw ProtocolViolation("invalid byte sequence in a startup parameter")
                }
                parameters.append((n, v))
            }
            try r.expectEnd()
            return .startup(Startup(major: major, minor: minor, parameters: parameters))
        }
    }

    /// Decodes a typed message body.
    static func decode(type: UInt8, _ body: ByteBuffer) throws -> FrontendMessage {
        var r = MessageReader(buffer: body)
        let m: FrontendMessage
        switch type {
        case UInt8(ascii: "Q"):
            m = .query(try r.cString())
        case UInt8(ascii: "P"):
            let name = try r.cString(), query = try r.cString()
            let n = try r.int16()
            guard n >= 0 else { throw ProtocolViolation("invalid parameter count") }
            var types: [UInt32] = []
            for _ in 0..<n { types.append(UInt32(bitPattern: try r.int32())) }
            m = .parse(Parse(name: name, query: query, parameterTypes: types))
        case UInt8(ascii: "B"):
            let portal = try r.cString(), statement = try r.cString()
            let nf = try r.int16()
            guard nf >= 0 else { throw ProtocolViolation("invalid format count") }
            var formats: [Int16] = []
            for _ in 0..<nf { formats.append(try r.int16()) }
            let np = try r.int16()
            guard np >= 0 else { throw ProtocolViolation("invalid parameter count") }
            var params: [[UInt8]?] = []
            for _ in 0..<np {
                let len = try r.int32()
                if len == -1 {
                    params.append(nil)
                } else {
                    guard len >= 0 else { throw ProtocolViolation("invalid parameter length \(len)") }
                    params.append(try r.bytes(Int(len)))
                }
            }
            let nr = try r.int16()
            guard nr >= 0 else { throw ProtocolViolation("invalid format count") }
            var results: [Int16] = []
            for _ in 0..<nr { results.append(try r.int16()) }
            m = .bind(Bind(portal: portal, statement: statement, parameterFormats: formats, parameters: params, resultFormats: results))
        case UInt8(ascii: "D"):
            let kind = try r.byte()
            guard kind == UInt8(ascii: "S") || kind == UInt8(ascii: "P") else {
                throw ProtocolViolation("invalid DESCRIBE message subtype \(kind)")
            }
            m = .describe(kind: kind, name: try r.cString())
        case UInt8(ascii: "E"):
            let portal = try r.cString()
            m = .execute(portal: portal, maxRows: try r.int32())
        case UInt8(ascii: "C"):
            let kind = try r.byte()
            guard kind == UInt8(ascii: "S") || kind == UInt8(ascii: "P") else {
                throw ProtocolViolation("invalid CLOSE message subtype \(kind)")
            }
            m = .close(kind: kind, name: try r.cString())
        case UInt8(ascii: "S"): m = .sync
        case UInt8(ascii: "H"): m = .flush
        case UInt8(ascii: "X"): m = .terminate
        case UInt8(ascii: "p"): m = .authResponse(r.rest())
        case UInt8(ascii: "d"): m = .copyData(r.rest())
        case UInt8(ascii: "c"): m = .copyDone
        case UInt8(ascii: "f"): m = .copyFail(try r.cString())
        case UInt8(ascii: "F"):
            _ = r.rest()
            m = .functionCall
        default:
            throw ProtocolViolation("invalid frontend message type \(type)")
        }
        try r.expectEnd()
        return m
    }
}
