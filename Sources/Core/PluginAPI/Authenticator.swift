import DriftCore

/// Who is connecting, as a frontend saw it.
public struct AuthRequest: Sendable {
    public var user: String
    public var database: String
    /// The peer's address (nil over a Unix-domain socket).
    public var remoteAddress: String?
    public var tls: Bool
    /// Over TLS: the `tls-server-end-point` channel-binding data (RFC 5929: the hash of the
    /// server's certificate) for SCRAM-SHA-256-PLUS.
    public var tlsServerEndPoint: [UInt8]?

    public init(user: String, database: String, remoteAddress: String?, tls: Bool, tlsServerEndPoint: [UInt8]? = nil) {
        self.user = user
        self.database = database
        self.remoteAddress = remoteAddress
        self.tls = tls
        self.tlsServerEndPoint = tlsServerEndPoint
    }
}

/// One step of an authentication exchange: what the frontend tells the client next.
public enum AuthStep: Sendable, Equatable {
    /// Authenticated: the session runs as `role`.
    case accept(role: String)
    /// Refused, with the error the client sees (28P01, 28000).
    case reject(SQLError)
    /// Ask for the password in clear (over TLS only, by the authenticator's rules).
    case askCleartextPassword
    /// Ask for an MD5-hashed password with this 4-byte salt.
    case askMD5(salt: [UInt8])
    /// Offer SASL mechanisms (SCRAM-SHA-256).
    case askSASL(mechanisms: [String])
    /// SASL server-first message; the client answers with its final message.
    case saslContinue([UInt8])
    /// SASL server-final message; `accept` or `reject` follows.
    case saslFinal([UInt8], then: AuthOutcome)
}

public enum AuthOutcome: Sendable, Equatable {
    case accept(role: String)
    case reject(SQLError)
}

/// One connection's authentication conversation. The frontend calls `start` once, then
/// `respond` with each client message (password or SASL data) until a step accepts or
/// rejects.
public protocol AuthExchange: AnyObject {
    func start() -> AuthStep
    func respond(_ message: [UInt8]) -> AuthStep
}

/// Decides who may connect (the Auth plugin provides it; without one every frontend trusts
/// its loopback clients).
public protocol Authenticator: Sendable {
    func begin(_ request: AuthRequest) -> any AuthExchange
}
