import NIOCore

/// Splits the client's bytes into messages: untyped (length, then body) until the startup
/// message, typed (a type byte, length, body) after it. A length outside the limits is a
/// protocol violation: the connection is answered with 08P01 and closed before the body is
/// buffered.
struct FrontendMessageDecoder: ByteToMessageDecoder {
    typealias InboundOut = FrontendMessage

    /// PostgreSQL's limit on a startup packet.
    static let startupBytesMax = 10_000
    let messageBytesMax: Int
    private(set) var started = false

    init(messageBytesMax: Int) {
        self.messageBytesMax = messageBytesMax
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let m = try next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(m))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// The next whole message in `buffer`, consumed; nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws -> FrontendMessage? {
        if !started {
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
            guard length >= 8, length <= Self.startupBytesMax else {
                throw ProtocolViolation("invalid length of startup packet")
            }
            guard buffer.readableBytes >= Int(length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            guard let body = buffer.readSlice(length: Int(length) - 4) else { return nil }
            let m = try FrontendMessage.decodeStartup(body)
            if case .startup = m { started = true }
            if case .sslRequest = m, buffer.readableBytes > 0 {
                // A client waits for the one-byte answer; bytes already behind the request would
                // be read as if they had come through TLS (PostgreSQL refuses them the same way).
                throw ProtocolViolation("received unencrypted data after SSL request")
            }
            return m
        }
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self) else { return nil }
        guard length >= 4 else { throw ProtocolViolation("invalid message length \(length)") }
        guard Int(length) <= messageBytesMax else {
            throw ProtocolViolation("message of \(length) bytes is larger than the limit of \(messageBytesMax)")
        }
        guard buffer.readableBytes >= 1 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        guard let body = buffer.readSlice(length: Int(length) - 4) else { return nil }
        return try FrontendMessage.decode(type: type, body)
    }
}
