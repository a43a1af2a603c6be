import DriftCore
import DriftPluginAPI

/// The connection before its session starts: TLS and GSSAPI negotiation, cancel requests,
/// the startup message and authentication. Pure: the channel handler feeds it messages and
/// carries out the actions it returns.
struct StartupStateMachine {
    enum State: Equatable {
        case awaitingStartup
        case authenticating
        case ready
        case closed
    }

    enum Action: Equatable {
        /// Answer 'S' to an SSLRequest and run the rest of the connection over TLS.
        case beginTLS
        /// Answer an SSLRequest or GSSENCRequest with one byte ('N': not here).
        case sendByte(UInt8)
        /// Cancel the statement running in the session with this key, then close.
        case cancel(processId: Int32, secretKey: Int32)
        /// Ask the authenticator (none: accept as `user`).
        case authenticate(AuthRequest, negotiate: Negotiation?)
        /// Send an authentication request to the client.
        case challenge(AuthStep)
        /// Authenticated: start the session as `role`.
        case start(role: String, parameters: [(String, String)])
        /// Send the error and close.
        case fail(SQLError)

        static func == (a: Action, b: Action) -> Bool {
            switch (a, b) {
            case let (.sendByte(x), .sendByte(y)): return x == y
            case let (.cancel(p1, k1), .cancel(p2, k2)): return p1 == p2 && k1 == k2
            case let (.authenticate(r1, n1), .authenticate(r2, n2)):
                return r1.user == r2.user && r1.database == r2.database && n1 == n2
            case let (.challenge(x), .challenge(y)): return x == y
            case let (.start(r1, p1), .start(r2, p2)):
                return r1 == r2 && p1.map(\.0) == p2.map(\.0) && p1.map(\.1) == p2.map(\.1)
            case let (.fail(x), .fail(y)): return x == y
            default: return false
            }
        }
    }

    /// A 3.x startup asking for a newer minor version or protocol options: the server
    /// answers NegotiateProtocolVersion with what it speaks (3.0, no options).
    struct Negotiation: Equatable {
        var unrecognizedOptions: [String]
    }

    let database: String
    let tlsAvailable: Bool
    private(set) var state = State.awaitingStartup
    private(set) var parameters: [(String, String)] = []

    init(database: String, tlsAvailable: Bool) {
        self.database = database
        self.tlsAvailable = tlsAvailable
    }

    mutating func received(_ m: FrontendMessage, remoteAddress: String?, tls: Bool) -> Action {
        switch (state, m) {
        case (.awaitingStartup, .sslRequest):
            if tls { return fail(SQLError(.protocolViolation, "SSLRequest on a connection already encrypted")) }
            return tlsAvailable ? .beginTLS : .sendByte(UInt8(ascii: "N"))
        case (.awaitingStartup, .gssEncRequest):
            return .sendByte(UInt8(ascii: "N"))
        case let (.awaitingStartup, .cancel(pid, key)):
            state = .closed
            return .cancel(processId: pid, secretKey: key)
        case let (.awaitingStartup, .startup(s)):
            return startup(s, remoteAddress: remoteAddress, tls: tls)
        case (.authenticating, .authResponse):
            // The handler passes the response to the exchange; reaching here is a bug in it.
            return fail(SQLError(.protocolViolation, "unexpected authentication response"))
        default:
            return fail(SQLError(.protocolViolation, "unexpected message during startup"))
        }
    }

    private mutating func startup(_ s: FrontendMessage.Startup, remoteAddress: String?, tls: Bool) -> Action {
        guard s.major == 3 else {
            return fail(SQLError(.featureNotSupported,
                                 "unsupported frontend protocol \(s.major).\(s.minor): server supports 3.0 to 3.0"))
        }
        let options = s.parameters.map(\.0).filter { $0.hasPrefix("_pq_.") }
        parameters = s.parameters.filter { !$0.0.hasPrefix("_pq_.") }
        guard let user = s.parameter("user"), !user.isEmpty else {
            return fail(SQLError(.invalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet"))
        }
        let db = s.parameter("database").flatMap { $0.isEmpty ? nil : $0 } ?? user
        guard db == database else {
            return fail(SQLError(.invalidCatalogName, "database \"\(db)\" does not exist"))
        }
        if let r = parameters.first(where: { $0.0 == "replication" }), !["false", "off", "no", "0"].contains(r.1.lowercased()) {
            return fail(SQLError(.featureNotSupported, "replication connections are not supported"))
        }
        state = .authenticating
        let negotiation = s.minor > 0 || !options.isEmpty ? Negotiation(unrecognizedOptions: options) : nil
        return .authenticate(AuthRequest(user: user, database: db, remoteAddress: remoteAddress, tls: tls), negotiate: negotiation)
    }

    /// What the authenticator decided, as the next action.
    mutating func authenticated(_ step: AuthStep) -> Action {
        guard state == .authenticating else { return fail(SQLError(.protocolViolation, "authentication out of order")) }
        switch step {
        case .accept(let role):
            state = .ready
            return .start(role: role, parameters: parameters)
        case .reject(let e):
            return fail(e)
        default:
            return .challenge(step)
        }
    }

    private mutating func fail(_ e: SQLError) -> Action {
        state = .closed
        return .fail(e)
    }
}
