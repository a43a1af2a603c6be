import DriftCore
import DriftPluginAPI
import Logging
import ServiceLifecycle

/// The PostgreSQL wire-protocol frontend (protocol 3.0) for psql, libpq, JDBC and the rest.
///
/// ```yaml
/// - kind: pgwire
///   listen: 127.0.0.1:5433
///   unix_socket_dir: /tmp        # optional: .s.PGSQL.5433 there, as libpq expects
///   max_connections: 100         # optional; more are refused with 53300
///   max_message_bytes: 67108864  # optional; a larger message closes its connection (08P01)
///   authentication_timeout_ms: 60000  # optional; a client not connected by then is dropped
///   tls_cert: /etc/driftdb/server.crt  # optional, with tls_key: PEM files; clients may then
///   tls_key: /etc/driftdb/server.key   # ask for TLS (sslmode=require); without, SSLRequest gets 'N'
/// ```
public final class PGWirePlugin: DriftPlugin, @unchecked Sendable {
    public static let kind = "pgwire"

    public struct Settings: Sendable {
        public var listen: ListenAddress
        public var unixSocketDir: String?
        public var maxConnections = 100
        public var messageBytesMax = 64 << 20
        /// How long a client may take to finish connecting (startup packet, TLS,
        /// authentication), as PostgreSQL's authentication_timeout (1 min).
        public var authenticationTimeoutMillis = 60_000
        /// PEM certificate chain and private key; TLS is offered only with both.
        public var tlsCertificate: String?
        public var tlsKey: String?
    }

    public static func settings(from section: inout ConfigSection) throws -> Settings {
        guard let listen = try section.listenAddress("listen") else {
            throw section.error("listen", "required: the host:port to listen on")
        }
        var s = Settings(listen: listen)
        if let dir = try section.string("unix_socket_dir") {
            guard dir.hasPrefix("/") else { throw section.error("unix_socket_dir", "expected an absolute directory path") }
            // sockaddr_un holds 107 bytes of path.
            guard dir.utf8.count + 20 < 108 else { throw section.error("unix_socket_dir", "path too long for a Unix-domain socket") }
            s.unixSocketDir = dir
        }
        if let n = try section.int("max_connections", min: 1, max: 10_000) { s.maxConnections = n }
        if let n = try section.int("max_message_bytes", min: 1 << 16, max: 1 << 30) { s.messageBytesMax = n }
        if let n = try section.int("authentication_timeout_ms", min: 100, max: 600_000) { s.authenticationTimeoutMillis = n }
        s.tlsCertificate = try section.string("tls_cert")
        s.tlsKey = try section.string("tls_key")
        if (s.tlsCertificate == nil) != (s.tlsKey == nil) {
            throw section.error(s.tlsCertificate == nil ? "tls_key" : "tls_cert", "tls_cert and tls_key go together")
        }
        try section.finish()
        return s
    }

    let settings: Settings
    let context: PluginContext
    private let server: PGServer

    public init(settings: Settings, context: PluginContext) throws {
        self.settings = settings
        self.context = context
        server = PGServer(settings: settings, context: context)
    }

    public func prepare() throws {
        if context.extensions.authenticator == nil && !settings.listen.isLoopback {
            throw PGWireError("pgwire listens on loopback addresses only until an auth plugin is configured (trust is the only method without one), not on \(settings.listen)")
        }
        try server.start()
    }

    public var endpoints: [String] { server.endpoints }

    public func run() async throws {
        try? await gracefulShutdown()
        context.logger.info("pgwire: stopping", metadata: ["listen": "\(settings.listen)"])
        server.shutdown(drainTimeout: context.drainTimeout)
    }
}
