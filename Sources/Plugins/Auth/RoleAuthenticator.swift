import CoreMetrics
import DriftCore
import DriftPluginAPI
import DriftStorage

/// Core's authenticator as the auth plugin provides it: the first matching host rule picks
/// the method; passwords are checked against the role's verifier in the catalog as it
/// stands. Failures never tell whether the role exists: an unknown role goes through the
/// same exchange (SCRAM with a salt derived from a server secret) and fails the same way.
final class RoleAuthenticator: Authenticator, @unchecked Sendable {
    let engine: Engine
    let rules: [HostRule]
    /// Seeds the mock salts of unknown roles (stable for a server's life).
    let secret: [UInt8]
    let throttle: LoginThrottle
    /// Where login outcomes are recorded (nil in unit tests).
    let audit: AuditLog?

    init(engine: Engine, rules: [HostRule], throttle: LoginThrottle = LoginThrottle(), audit: AuditLog? = nil) {
        self.engine = engine
        self.rules = rules
        self.throttle = throttle
        self.audit = audit
        var rng = SystemRandomNumberGenerator()
        secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    func begin(_ request: AuthRequest) -> any AuthExchange {
        if let wait = throttle.check(address: request.remoteAddress, role: request.user) {
            AuthMetrics.shared.throttled.increment()
            audit?.record(role: request.user, address: request.remoteAddress ?? "local", event: "login_failed", detail: "throttled")
            return Decided(.reject(wait))
        }
        return Throttled(exchange(request), throttle: throttle, request: request, audit: audit)
    }

    func exchange(_ request: AuthRequest) -> any AuthExchange {
        guard let rule = rules.first(where: { $0.matches(request) }) else {
            let host = request.remoteAddress.map { "host \"\($0)\"" } ?? "local connection"
            return Decided(.reject(SQLError(.invalidAuthorizationSpecification,
                                            "no authentication rule for \(host), user \"\(request.user)\", database \"\(request.database)\", \(request.tls ? "SSL encryption" : "no encryption")")))
        }
        let role = engine.latestCatalog.role(named: request.user)
        switch rule.method {
        case .reject:
            return Decided(.reject(SQLError(.invalidAuthorizationSpecification, "authentication rule rejects user \"\(request.user)\"")))
        case .trust:
            return Decided(Self.admit(role, request.user))
        case .password:
            return PasswordExchange(request: request, role: role)
        case .md5:
            // PostgreSQL's rule: a role with a SCRAM verifier is asked for SCRAM under md5.
            if let p = role?.password, p.hasPrefix("md5") { return MD5Exchange(request: request, role: role) }
            return SCRAMExchange(request: request, role: role, secret: secret)
        case .scram:
            return SCRAMExchange(request: request, role: role, secret: secret)
        }
    }

    /// After the password checked out (or under trust): the role must exist and may log in.
    static func admit(_ role: RoleDef?, _ user: String) -> AuthStep {
        guard let role else { return .reject(SQLError(.invalidAuthorizationSpecification, "role \"\(user)\" does not exist")) }
        guard role.login else { return .reject(SQLError(.invalidAuthorizationSpecification, "role \"\(user)\" is not permitted to log in")) }
        return .accept(role: role.name)
    }

    static func failed(_ user: String) -> SQLError {
        SQLError(.invalidPassword, "password authentication failed for user \"\(user)\"")
    }

    /// Whether the role's password may be used now (VALID UNTIL).
    static func current(_ role: RoleDef) -> Bool {
        guard let until = role.validUntil else { return true }
        return PGTime.fromUnix(wallClockMicros()) < until
    }
}

/// Reports each exchange's outcome to the throttle: a wrong password counts against the
/// address and the role, a login clears them.
final class Throttled: AuthExchange {
    let inner: any AuthExchange
    let throttle: LoginThrottle
    let request: AuthRequest
    let audit: AuditLog?

    init(_ inner: any AuthExchange, throttle: LoginThrottle, request: AuthRequest, audit: AuditLog?) {
        self.inner = inner
        self.throttle = throttle
        self.request = request
        self.audit = audit
    }

    private func audit(_ event: String, _ detail: String?) {
        audit?.record(role: request.user, address: request.remoteAddress ?? "local", event: event, detail: detail)
    }

    func start() -> AuthStep { note(inner.start()) }
    func respond(_ message: [UInt8]) -> AuthStep { note(inner.respond(message)) }

    private func note(_ step: AuthStep) -> AuthStep {
        switch step {
        case .reject(let e) where e.code == .invalidPassword:
            throttle.failed(address: request.remoteAddress, role: request.user)
            AuthMetrics.shared.wrongPassword.increment()
            audit("login_failed", "wrong password")
        case .reject(let e):
            AuthMetrics.shared.refused.increment()
            audit("login_failed", e.message)
        case .accept, .saslFinal(_, then: .accept):
            throttle.succeeded(address: request.remoteAddress, role: request.user)
            AuthMetrics.shared.ok.increment()
            audit("login", request.tls ? "tls" : nil)
        case .saslFinal(_, then: .reject(let e)):
            AuthMetrics.shared.refused.increment()
            audit("login_failed", e.message)
        default:
            break
        }
        return step
    }
}

/// `driftdb_auth_attempts_total{result}`: `ok`, `wrong_password` (28P01), `refused` (28000
/// and protocol errors), `throttled` (refused by the login throttle before any check).
final class AuthMetrics: Sendable {
    static let shared = AuthMetrics()
    let ok = Counter(label: "driftdb_auth_attempts_total", dimensions: [("result", "ok")])
    let wrongPassword = Counter(label: "driftdb_auth_attempts_total", dimensions: [("result", "wrong_password")])
    let refused = Counter(label: "driftdb_auth_attempts_total", dimensions: [("result", "refused")])
    let throttled = Counter(label: "driftdb_auth_attempts_total", dimensions: [("result", "throttled")])
}

/// An exchange decided before it starts (trust, reject, no rule).
final class Decided: AuthExchange {
    let step: AuthStep
    init(_ step: AuthStep) { self.step = step }
    func start() -> AuthStep { step }
    func respond(_ message: [UInt8]) -> AuthStep { step }
}

/// `password`: the password in clear (the rules allow it over TLS only where they say so).
final class PasswordExchange: AuthExchange {
    let request: AuthRequest
    let role: RoleDef?
    init(request: AuthRequest, role: RoleDef?) {
        self.request = request
        self.role = role
    }

    func start() -> AuthStep { .askCleartextPassword }

    func respond(_ message: [UInt8]) -> AuthStep {
        let password = String(decoding: message.prefix { $0 != 0 }, as: UTF8.self)
        guard let role, let verifier = role.password, RoleAuthenticator.current(role), !password.isEmpty else {
            return .reject(RoleAuthenticator.failed(request.user))
        }
        let ok: Bool
        if let s = SCRAMVerifier(verifier) {
            let salted = PasswordVerifier.saltedPassword(password, salt: s.salt, iterations: s.iterations)
            ok = constantTimeEqual(PasswordVerifier.sha256(PasswordVerifier.hmac(salted, "Client Key")), s.storedKey)
        } else {
            ok = constantTimeEqual(Array(PasswordVerifier.md5(password: password, user: role.name).utf8), Array(verifier.utf8))
        }
        return ok ? RoleAuthenticator.admit(role, request.user) : .reject(RoleAuthenticator.failed(request.user))
    }
}

/// `md5`: the client answers `md5` + md5(md5(password + user) + salt) in hex.
final class MD5Exchange: AuthExchange {
    let request: AuthRequest
    let role: RoleDef?
    let salt: [UInt8]
    init(request: AuthRequest, role: RoleDef?) {
        self.request = request
        self.role = role
        var rng = SystemRandomNumberGenerator()
        salt = (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    func start() -> AuthStep { .askMD5(salt: salt) }

    func respond(_ message: [UInt8]) -> AuthStep {
        let answer = Array(message.prefix { $0 != 0 })
        guard let role, let verifier = role.password, verifier.hasPrefix("md5"), RoleAuthenticator.current(role) else {
            return .reject(RoleAuthenticator.failed(request.user))
        }
        let expected = "md5" + PasswordVerifier.md5Hex(Array(verifier.utf8.dropFirst(3)) + salt)
        return constantTimeEqual(answer, Array(expected.utf8)) ? RoleAuthenticator.admit(role, request.user)
            : .reject(RoleAuthenticator.failed(request.user))
    }
}

/// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL runs it: the user name in the SCRAM
/// messages is ignored (the startup packet's counts); over TLS SCRAM-SHA-256-PLUS is offered
/// too, bound to the connection by `tls-server-end-point`.
final class SCRAMExchange: AuthExchange {
    static let mechanism = "SCRAM-SHA-256"
    static let plus = "SCRAM-SHA-256-PLUS"

    let request: AuthRequest
    let role: RoleDef?
    /// The role's verifier, or for an unknown role (or one without a SCRAM password) a mock
    /// one whose salt is derived from the server secret: the exchange runs and fails alike.
    let verifier: SCRAMVerifier
    let real: Bool
    private var clientFirstBare = ""
    private var serverFirst = ""
    private var nonce = ""
    private var gs2Header = ""
    /// What `c=` must carry: the gs2 header, then the binding data under -PLUS.
    private var expectedBinding: [UInt8] = []
    private var stage = 0

    init(request: AuthRequest, role: RoleDef?, secret: [UInt8]) {
        self.request = request
        self.role = role
        if let p = role?.password, let v = SCRAMVerifier(p), RoleAuthenticator.current(role ?? RoleDef(id: 0, name: "")) {
            verifier = v
            real = true
        } else {
            let salt = Array(PasswordVerifier.hmac(secret, Array(request.user.utf8)).prefix(16))
            // Keys no proof can match: the exchange fails at its end, as a wrong password does.
            verifier = SCRAMVerifier(iterations: PasswordVerifier.scramIterations, salt: salt,
                                     storedKey: PasswordVerifier.hmac(secret, "stored"), serverKey: PasswordVerifier.hmac(secret, "server"))
            real = false
        }
    }

    func start() -> AuthStep {
        .askSASL(mechanisms: request.tlsServerEndPoint == nil ? [Self.mechanism] : [Self.plus, Self.mechanism])
    }

    func respond(_ message: [UInt8]) -> AuthStep {
        stage += 1
        switch stage {
        case 1: return first(message)
        case 2: return final(message)
        default: return .reject(SQLError(.protocolViolation, "unexpected SASL message"))
        }
    }

    private func malformed(_ why: String) -> AuthStep {
        .reject(SQLError(.protocolViolation, "malformed SCRAM message", detail: why))
    }

    /// SASLInitialResponse: mechanism, length, client-first-message.
    private func first(_ m: [UInt8]) -> AuthStep {
        guard let zero = m.firstIndex(of: 0) else { return malformed("no mechanism") }
        let mechanism = String(decoding: m[..<zero], as: UTF8.self)
        let binding = request.tlsServerEndPoint
        guard mechanism == Self.mechanism || (mechanism == Self.plus && binding != nil) else {
            return .reject(SQLError(.protocolViolation, "client selected an invalid SASL authentication mechanism"))
        }
        let rest = m[(zero + 1)...]
        guard rest.count >= 4 else { return malformed("no client-first-message length") }
        let n = rest.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        let body = rest.dropFirst(4)
        guard n == body.count else { return malformed("client-first-message length \(n), \(body.count) bytes sent") }
        let text = String(decoding: body, as: UTF8.self)
        // gs2-header: "n,," (no binding), "y,," (client could bind, thinks we cannot), or
        // "p=..." (binding we did not offer); an authzid is not supported.
        let parts = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return malformed("no gs2 header") }
        switch parts[0] {
        case "n" where mechanism == Self.mechanism:
            break
        case "y" where mechanism == Self.mechanism:
            // The client could bind and believes the server cannot: with -PLUS offered, a
            // man in the middle removed it.
            if binding != nil {
                return .reject(SQLError(.protocolViolation, "SCRAM channel binding negotiation error",
                                        detail: "The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding."))
            }
        case "p=tls-server-end-point" where mechanism == Self.plus:
            break
        default:
            if mechanism == Self.plus {
                return .reject(SQLError(.protocolViolation, "unsupported SCRAM channel-binding type \"\(parts[0])\""))
            }
            if parts[0].hasPrefix("p=") {
                return .reject(SQLError(.protocolViolation, "channel binding was requested, but the client did not select SCRAM-SHA-256-PLUS"))
            }
            return malformed("unexpected channel-binding flag \"\(parts[0])\"")
        }
        guard parts[1].isEmpty else { return .reject(SQLError(.featureNotSupported, "client uses authorization identity, but it is not supported")) }
        gs2Header = String(parts[0]) + ",,"
        expectedBinding = Array(gs2Header.utf8) + (mechanism == Self.plus ? (binding ?? []) : [])
        clientFirstBare = String(parts[2])
        let attrs = attributes(clientFirstBare)
        guard attrs.first?.0 == "n", let clientNonce = attrs.first(where: { $0.0 == "r" })?.1, !clientNonce.isEmpty,
              clientNonce.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E && $0 != 0x2C }) else {
            return malformed("client-first-message needs n= and r=")
        }
        if attrs.contains(where: { $0.0 == "m" }) { return .reject(SQLError(.featureNotSupported, "SCRAM extensions are not supported")) }
        var rng = SystemRandomNumberGenerator()
        nonce = clientNonce + Base64.encode((0..<18).map { _ in UInt8.random(in: 0...255, using: &rng) })
        serverFirst = "r=\(nonce),s=\(Base64.encode(verifier.salt)),i=\(verifier.iterations)"
        return .saslContinue(Array(serverFirst.utf8))
    }

    /// SASLResponse: client-final-message `c=...,r=...,p=...`.
    private func final(_ m: [UInt8]) -> AuthStep {
        // The proof is the last attribute.
        var at: Int?
        if m.count >= 3 {
            for i in stride(from: m.count - 3, through: 0, by: -1) where m[i] == 0x2C && m[i + 1] == 0x70 && m[i + 2] == 0x3D {
                at = i
                break
            }
        }
        guard let at else { return malformed("client-final-message has no proof") }
        let withoutProof = String(decoding: m[..<at], as: UTF8.self)
        let attrs = attributes(withoutProof)
        guard attrs.count >= 2, attrs[0].0 == "c", attrs[1].0 == "r" else { return malformed("client-final-message needs c= and r=") }
        guard let sent = Base64.decode(attrs[0].1), constantTimeEqual(sent, expectedBinding) else {
            return .reject(SQLError(.protocolViolation, "SCRAM channel binding check failed"))
        }
        guard attrs[1].1 == nonce else { return malformed("nonce mismatch") }
        guard let proof = Base64.decode(String(decoding: m[(at + 3)...], as: UTF8.self)), proof.count == 32 else { return malformed("bad proof") }
        let authMessage = Array((clientFirstBare + "," + serverFirst + "," + withoutProof).utf8)
        let signature = PasswordVerifier.hmac(verifier.storedKey, authMessage)
        let clientKey = zip(proof, signature).map { $0 ^ $1 }
        guard real, let role, constantTimeEqual(PasswordVerifier.sha256(clientKey), verifier.storedKey) else {
            return .reject(RoleAuthenticator.failed(request.user))
        }
        let serverSignature = PasswordVerifier.hmac(verifier.serverKey, authMessage)
        let then: AuthOutcome
        switch RoleAuthenticator.admit(role, request.user) {
        case .accept(let name): then = .accept(role: name)
        case .reject(let e): return .reject(e)
        default: return .reject(RoleAuthenticator.failed(request.user))
        }
        return .saslFinal(Array("v=\(Base64.encode(serverSignature))".utf8), then: then)
    }

    /// `a=value` pairs of a SCRAM message.
    private func attributes(_ s: String) -> [(String, String)] {
        s.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard part.count >= 2, part.dropFirst().first == "=" else { return ("", String(part)) }
            return (String(part.prefix(1)), String(part.dropFirst(2)))
        }
    }
}

/// Equal length and bytes, in time that does not depend on where they differ.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var d: UInt8 = 0
    for i in a.indices { d |= a[i] ^ b[i] }
    return d == 0
}
