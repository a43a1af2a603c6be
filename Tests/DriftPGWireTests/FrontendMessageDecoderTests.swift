import DriftCore
import DriftPluginAPI
import NIOCore
import Testing
@testable import DriftPGWire

@Suite struct FrontendMessageDecoderTests {
    func startupBytes(_ params: [(String, String)], version: Int32 = 196_608) -> [UInt8] {
        var b = ByteBuffer()
        b.writeInteger(Int32(0))
        b.writeInteger(version)
        for (k, v) in params {
            b.writeCString(k)
            b.writeCString(v)
        }
        b.writeInteger(UInt8(0))
        b.setInteger(Int32(b.readableBytes), at: 0)
        return Array(b.readableBytesView)
    }

    func typed(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        var b = ByteBuffer()
        b.writeInteger(UInt8(ascii: type.unicodeScalars.first!))
        b.writeInteger(Int32(4 + body.count))
        b.writeBytes(body)
        return Array(b.readableBytesView)
    }

    /// Feeds `bytes` one at a time, as a slow network would, collecting every message.
    func decodeByteByByte(_ bytes: [UInt8], messageBytesMax: Int = 1 << 20) throws -> [FrontendMessage] {
        var d = FrontendMessageDecoder(messageBytesMax: messageBytesMax)
        var buffer = ByteBuffer()
        var out: [FrontendMessage] = []
        for b in bytes {
            buffer.writeInteger(b)
            while let m = try d.next(&buffer) { out.append(m) }
        }
        #expect(buffer.readableBytes == 0)
        return out
    }

    @Test func messagesSplitAtEveryByteDecodeTheSame() throws {
        var bytes: [UInt8] = []
        var ssl = ByteBuffer()
        ssl.writeInteger(Int32(8))
        ssl.writeInteger(FrontendMessage.sslRequestCode)
        bytes += Array(ssl.readableBytesView)
        bytes += startupBytes([("user", "alice"), ("database", "driftdb"), ("application_name", "t")])
        bytes += typed("Q", Array("SELECT 1".utf8) + [0])
        var bind = ByteBuffer()
        bind.writeCString("p1")
        bind.writeCString("s1")
        bind.writeInteger(Int16(1))
        bind.writeInteger(Int16(0))
        bind.writeInteger(Int16(2))
        bind.writeInteger(Int32(2))
        bind.writeBytes(Array("42".utf8))
        bind.writeInteger(Int32(-1))
        bind.writeInteger(Int16(0))
        bytes += typed("B", Array(bind.readableBytesView))
        bytes += typed("E", Array("p1".utf8) + [0, 0, 0, 0, 5])
        bytes += typed("S", [])
        bytes += typed("X", [])
        let messages = try decodeByteByByte(bytes)
        #expect(messages.count == 7)
        #expect(messages[0] == .sslRequest)
        guard case .startup(let s) = messages[1] else { Issue.record("no startup: \(messages[1])"); return }
        #expect(s.major == 3 && s.minor == 0 && s.parameter("user") == "alice" && s.parameter("application_name") == "t")
        #expect(messages[2] == .query(Array("SELECT 1".utf8)))
        #expect(messages[3] == .bind(.init(portal: Array("p1".utf8), statement: Array("s1".utf8), parameterFormats: [0],
                                           parameters: [Array("42".utf8), nil], resultFormats: [])))
        #expect(messages[4] == .execute(portal: Array("p1".utf8), maxRows: 5))
        #expect(messages[5] == .sync && messages[6] == .terminate)
    }

    @Test func lengthsOutsideTheLimitsAreRefusedBeforeTheBodyArrives() throws {
        var d = FrontendMessageDecoder(messageBytesMax: 1000)
        var b = ByteBuffer()
        b.writeInteger(Int32(20_000))
        #expect(throws: ProtocolViolation.self) { _ = try d.next(&b) }
        var started = FrontendMessageDecoder(messageBytesMax: 1000)
        var s = ByteBuffer(bytes: startupBytes([("user", "u")]))
        _ = try started.next(&s)
        var big = ByteBuffer()
        big.writeInteger(UInt8(ascii: "Q"))
        big.writeInteger(Int32(5000))
        #expect(throws: ProtocolViolation.self) { _ = try started.next(&big) }
        var short = ByteBuffer()
        short.writeInteger(UInt8(ascii: "Q"))
        short.writeInteger(Int32(3))
        #expect(throws: ProtocolViolation.self) { _ = try started.next(&short) }
    }

    @Test func malformedBodiesAreProtocolViolations() throws {
        func refuses(_ type: Character, _ body: [UInt8]) {
            var d = FrontendMessageDecoder(messageBytesMax: 1 << 20)
            var b = ByteBuffer(bytes: startupBytes([("user", "u")]) + typed(type, body))
            #expect(throws: ProtocolViolation.self, "\(type) \(body)") {
                while try d.next(&b) != nil {}
            }
        }
        refuses("Q", Array("no terminator".utf8))
        refuses("S", [1])
        refuses("D", [UInt8(ascii: "Z"), 0])
        refuses("B", [0, 0, 0xFF, 0xFF])
        refuses("E", [0, 1])
        refuses("!", [])
    }
}

@Suite struct StartupStateMachineTests {
    func startup(_ params: [(String, String)], major: Int = 3, minor: Int = 0) -> FrontendMessage {
        .startup(.init(major: major, minor: minor, parameters: params))
    }

    @Test func startupAuthenticatesThenStarts() {
        var m = StartupStateMachine(database: "driftdb", tlsAvailable: false)
        #expect(m.received(.sslRequest, remoteAddress: nil, tls: false) == .sendByte(UInt8(ascii: "N")))
        #expect(m.received(.gssEncRequest, remoteAddress: nil, tls: false) == .sendByte(UInt8(ascii: "N")))
        let a = m.received(startup([("user", "bob"), ("database", "driftdb"), ("TimeZone", "UTC")]), remoteAddress: "127.0.0.1", tls: false)
        #expect(a == .authenticate(AuthRequest(user: "bob", database: "driftdb", remoteAddress: "127.0.0.1", tls: false), negotiate: nil))
        #expect(m.authenticated(.accept(role: "bob")) == .start(role: "bob", parameters: [("user", "bob"), ("database", "driftdb"), ("TimeZone", "UTC")]))
        #expect(m.state == .ready)
    }

    @Test func refusals() {
        func outcome(_ msg: FrontendMessage) -> StartupStateMachine.Action {
            var m = StartupStateMachine(database: "driftdb", tlsAvailable: false)
            return m.received(msg, remoteAddress: nil, tls: false)
        }
        #expect(outcome(startup([("user", "u"), ("database", "other")]))
            == .fail(SQLError(.invalidCatalogName, "database \"other\" does not exist")))
        // Without a database the user name is the database name, as in PostgreSQL.
        #expect(outcome(startup([("user", "someone")])) == .fail(SQLError(.invalidCatalogName, "database \"someone\" does not exist")))
        #expect(outcome(startup([("database", "driftdb")]))
            == .fail(SQLError(.invalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet")))
        #expect(outcome(startup([("user", "u")], major: 2))
            == .fail(SQLError(.featureNotSupported, "unsupported frontend protocol 2.0: server supports 3.0 to 3.0")))
        #expect(outcome(startup([("user", "driftdb"), ("replication", "database")]))
            == .fail(SQLError(.featureNotSupported, "replication connections are not supported")))
        #expect(outcome(.query([0])) == .fail(SQLError(.protocolViolation, "unexpected message during startup")))
        #expect(outcome(.cancel(processId: 7, secretKey: 9)) == .cancel(processId: 7, secretKey: 9))
    }

    @Test func newerMinorVersionsAndOptionsAreNegotiatedDown() {
        var m = StartupStateMachine(database: "driftdb", tlsAvailable: false)
        let a = m.received(startup([("user", "driftdb"), ("_pq_.compression", "on")], minor: 2), remoteAddress: nil, tls: false)
        #expect(a == .authenticate(AuthRequest(user: "driftdb", database: "driftdb", remoteAddress: nil, tls: false),
                                   negotiate: .init(unrecognizedOptions: ["_pq_.compression"])))
        #expect(m.authenticated(.accept(role: "driftdb")) == .start(role: "driftdb", parameters: [("user", "driftdb")]))
    }

    @Test func challengesComeFromTheAuthenticator() {
        var m = StartupStateMachine(database: "driftdb", tlsAvailable: false)
        _ = m.received(startup([("user", "u"), ("database", "driftdb")]), remoteAddress: nil, tls: false)
        #expect(m.authenticated(.askSASL(mechanisms: ["SCRAM-SHA-256"])) == .challenge(.askSASL(mechanisms: ["SCRAM-SHA-256"])))
        let e = SQLError(.invalidPassword, "password authentication failed for user \"u\"")
        #expect(m.authenticated(.reject(e)) == .fail(e))
        #expect(m.state == .closed)
    }

    @Test func optionsSwitchesBecomeSettings() throws {
        let o = try SessionParameters.options(#"-c search_path=a,b --statement-timeout=5s -cTimeZone=UTC -c application_name=x\ y"#)
        #expect(o.map(\.0) == ["search_path", "statement_timeout", "TimeZone", "application_name"])
        #expect(o.map(\.1) == ["a,b", "5s", "UTC", "x y"])
        #expect(throws: SQLError.self) { _ = try SessionParameters.options("-x") }
        #expect(throws: SQLError.self) { _ = try SessionParameters.options("-c novalue") }
    }
}

@Suite struct ListenAddressTests {
    @Test func addresses() {
        #expect(ListenAddress(parsing: "127.0.0.1:5433") == ListenAddress(host: "127.0.0.1", port: 5433))
        #expect(ListenAddress(parsing: "localhost:1") == ListenAddress(host: "127.0.0.1", port: 1))
        #expect(ListenAddress(parsing: "[::1]:5433") == ListenAddress(host: "::1", port: 5433))
        #expect(ListenAddress(parsing: "[::1]:5433")?.description == "[::1]:5433")
        #expect(ListenAddress(parsing: "0.0.0.0:5433")?.isLoopback == false)
        #expect(ListenAddress(parsing: "127.0.0.1:5433")?.isLoopback == true)
        for bad in ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":5433", "example.com:5433", "::1:5433", "[::1]5433", "1.2.3:4"] {
            #expect(ListenAddress(parsing: bad) == nil, "\(bad)")
        }
    }
}
