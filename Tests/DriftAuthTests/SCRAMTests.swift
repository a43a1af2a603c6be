import DriftCore
import DriftPluginAPI
import Testing
@testable import DriftAuth

/// SCRAM-SHA-256 against RFC 7677's example, a whole exchange as a client runs it, host
/// rule matching, and verifiers that never hold the password.
@Suite struct SCRAMTests {
    let salt = Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==") ?? []

    @Test func theVerifierAndSignaturesMatchRFC7677() throws {
        let verifier = try #require(SCRAMVerifier(PasswordVerifier.scram(password: "pencil", salt: salt, iterations: 4096)))
        let clientFirstBare = "n=user,r=rOprNGfwEbeRWgbNEkqO"
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let withoutProof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        let auth = Array((clientFirstBare + "," + serverFirst + "," + withoutProof).utf8)
        let salted = PasswordVerifier.saltedPassword("pencil", salt: salt, iterations: 4096)
        let clientKey = PasswordVerifier.hmac(salted, "Client Key")
        let proof = zip(clientKey, PasswordVerifier.hmac(verifier.storedKey, auth)).map { $0 ^ $1 }
        #expect(Base64.encode(proof) == "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        #expect(Base64.encode(PasswordVerifier.hmac(verifier.serverKey, auth)) == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    }

    @Test func verifiersAreKeptAsGivenAndNeverHoldThePassword() {
        let v = PasswordVerifier.make(password: "pencil", user: "u")
        #expect(v.hasPrefix("SCRAM-SHA-256$4096:") && !v.contains("pencil"))
        #expect(PasswordVerifier.make(password: v, user: "u") == v)
        #expect(PasswordVerifier.make(password: "pencil", user: "u", encryption: "md5") == PasswordVerifier.md5(password: "pencil", user: "u"))
        #expect(PasswordVerifier.md5(password: "pencil", user: "u").count == 35)
        #expect(SCRAMVerifier("SCRAM-SHA-256$4096:abc$x:y") == nil)
        #expect(Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ=") == nil)
        #expect(Base64.encode(Array("any carnal pleas".utf8)) == "YW55IGNhcm5hbCBwbGVhcw==")
    }

    /// A whole exchange as a client runs it; `serverBinding`: the connection's TLS end point
    /// (SCRAM-SHA-256-PLUS offered), `flag`/`clientBinding`: what the client sends.
    func exchange(_ password: String, verifier: String?, user: String = "alice", serverBinding: [UInt8]? = nil,
                  flag: String = "n", clientBinding: [UInt8] = []) -> AuthStep {
        var role = RoleDef(id: 1, name: "alice")
        role.login = true
        role.password = verifier
        let request = AuthRequest(user: user, database: "driftdb", remoteAddress: "127.0.0.1", tls: serverBinding != nil,
                                  tlsServerEndPoint: serverBinding)
        let x = SCRAMExchange(request: request, role: verifier == nil ? nil : role, secret: Array(repeating: 7, count: 32))
        #expect(x.start() == .askSASL(mechanisms: serverBinding == nil ? ["SCRAM-SHA-256"] : ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]))
        let clientFirstBare = "n=,r=fyko+d2lbbFgONRv9qkxdawL"
        let gs2 = flag + ",,"
        let mechanism = flag.hasPrefix("p=") ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256"
        let message = Array((gs2 + clientFirstBare).utf8)
        let first = Array(mechanism.utf8) + [0] + [0, 0, 0, UInt8(message.count)] + message
        let sf: [UInt8]
        switch x.respond(first) {
        case .saslContinue(let m): sf = m
        case let other: return other
        }
        let serverFirst = String(decoding: sf, as: UTF8.self)
        let parts = Dictionary(uniqueKeysWithValues: serverFirst.split(separator: ",").map { ($0.prefix(1), String($0.dropFirst(2))) })
        let salt = Base64.decode(parts["s"] ?? "") ?? []
        let salted = PasswordVerifier.saltedPassword(password, salt: salt, iterations: Int(parts["i"] ?? "") ?? 0)
        let clientKey = PasswordVerifier.hmac(salted, "Client Key")
        let withoutProof = "c=" + Base64.encode(Array(gs2.utf8) + clientBinding) + ",r=" + (parts["r"] ?? "")
        let auth = Array((clientFirstBare + "," + serverFirst + "," + withoutProof).utf8)
        let proof = zip(clientKey, PasswordVerifier.hmac(PasswordVerifier.sha256(clientKey), auth)).map { $0 ^ $1 }
        return x.respond(Array((withoutProof + ",p=" + Base64.encode(proof)).utf8))
    }

    @Test func aWholeExchangeAcceptsTheRightPasswordOnly() {
        let v = PasswordVerifier.make(password: "s3cret", user: "alice")
        guard case .saslFinal(let final, then: .accept(role: "alice")) = exchange("s3cret", verifier: v) else {
            Issue.record("the right password was refused")
            return
        }
        #expect(String(decoding: final, as: UTF8.self).hasPrefix("v="))
        let wrong = exchange("nope", verifier: v)
        #expect(wrong == .reject(SQLError(.invalidPassword, "password authentication failed for user \"alice\"")))
        // An unknown role runs the same exchange and fails with the same error.
        #expect(exchange("s3cret", verifier: nil, user: "ghost")
            == .reject(SQLError(.invalidPassword, "password authentication failed for user \"ghost\"")))
    }

    @Test func scramPlusBindsTheExchangeToTheTLSConnection() {
        let v = PasswordVerifier.make(password: "s3cret", user: "alice")
        let endPoint = PasswordVerifier.sha256(Array("certificate".utf8))
        guard case .saslFinal(_, then: .accept(role: "alice")) = exchange("s3cret", verifier: v, serverBinding: endPoint,
                                                                         flag: "p=tls-server-end-point", clientBinding: endPoint) else {
            Issue.record("a bound exchange was refused")
            return
        }
        // Another certificate's hash (a man in the middle's): refused.
        #expect(exchange("s3cret", verifier: v, serverBinding: endPoint, flag: "p=tls-server-end-point",
                         clientBinding: PasswordVerifier.sha256(Array("other".utf8)))
            == .reject(SQLError(.protocolViolation, "SCRAM channel binding check failed")))
        // "y": the client could bind but thinks the server cannot, while -PLUS was offered.
        guard case .reject(let e) = exchange("s3cret", verifier: v, serverBinding: endPoint, flag: "y") else {
            Issue.record("a downgraded exchange was accepted")
            return
        }
        #expect(e.message == "SCRAM channel binding negotiation error")
        // Without TLS, "y" is fine and -PLUS is not offered.
        guard case .saslFinal(_, then: .accept) = exchange("s3cret", verifier: v, flag: "y") else {
            Issue.record("flag y without TLS was refused")
            return
        }
    }

    @Test func hostRulesMatchConnectionDatabaseUserAndAddress() throws {
        let net = try #require(AddressRange("10.1.0.0/16"))
        #expect(net.contains("10.1.200.3") && !net.contains("10.2.0.1") && !net.contains("::1"))
        #expect(AddressRange("::ffff:0:0/96") != nil)
        let v6 = try #require(AddressRange("fe80::/10"))
        #expect(v6.contains("fe80::1%eth0") && !v6.contains("fec0::1"))
        #expect(try #require(AddressRange("127.0.0.1")).contains("::ffff:127.0.0.1"))
        #expect(AddressRange("300.1.1.1/8") == nil && AddressRange("10.0.0.0/33") == nil && AddressRange("1::2::3") == nil)
        let rule = HostRule(connection: .hostssl, databases: ["driftdb"], users: ["app"], address: net, method: .scram)
        #expect(rule.matches(AuthRequest(user: "app", database: "driftdb", remoteAddress: "10.1.0.9", tls: true)))
        #expect(!rule.matches(AuthRequest(user: "app", database: "driftdb", remoteAddress: "10.1.0.9", tls: false)))
        #expect(!rule.matches(AuthRequest(user: "bob", database: "driftdb", remoteAddress: "10.1.0.9", tls: true)))
        #expect(!rule.matches(AuthRequest(user: "app", database: "driftdb", remoteAddress: nil, tls: false)))
    }
}
