#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import DriftCore
import DriftPluginAPI
import DriftSQL
import DriftStorage
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// The listeners of one pgwire plugin (TCP, and a Unix-domain socket beside it) and its open
/// connections.
final class PGServer: @unchecked Sendable {
    let settings: PGWirePlugin.Settings
    let context: PluginContext
    let registry = ConnectionRegistry.shared
    let connections: ConnectionCounter
    private let lock = Lock()
    private var listeners: [Listener] = []
    /// The loop connections over the maximum are refused on (they get no thread of their own).
    private let overflow = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var clients: [ObjectIdentifier: any Channel] = [:]
    private var workers: [ObjectIdentifier: ConnectionWorker] = [:]
    private(set) var endpoints: [String] = []
    /// The TLS context when a certificate and key are configured.
    private(set) var tls: NIOSSLContext?
    /// The certificate's `tls-server-end-point` channel-binding data.
    private(set) var tlsServerEndPoint: [UInt8]?

    init(settings: PGWirePlugin.Settings, context: PluginContext) {
        self.settings = settings
        self.context = context
        connections = ConnectionCounter(maximum: settings.maxConnections)
    }

    /// Binds the TCP listener and, when configured, the Unix-domain socket
    /// `<dir>/.s.PGSQL.<port>` that libpq looks for.
    func start() throws {
        if let cert = settings.tlsCertificate, let key = settings.tlsKey {
            do {
                let certificates = try NIOSSLCertificate.fromPEMFile(cert)
                let chain = certificates.map { NIOSSLCertificateSource.certificate($0) }
                tlsServerEndPoint = try certificates.first.map { ChannelBinding.serverEndPoint(derCertificate: try $0.toDERBytes()) }
                let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
                tls = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey)))
            } catch {
                try? overflow.syncShutdownGracefully()
                throw PGWireError("cannot load the TLS certificate \(cert) and key \(key): \(error)")
            }
        }
        do {
            let tcp = try Listener(address: SocketAddress(ipAddress: settings.listen.host, port: settings.listen.port))
            listeners.append(tcp)
            endpoints.append(settings.listen.description)
            if let dir = settings.unixSocketDir {
                let path = dir.hasSuffix("/") ? "\(dir).s.PGSQL.\(settings.listen.port)" : "\(dir)/.s.PGSQL.\(settings.listen.port)"
                if Self.someoneListens(at: path) {
                    throw PGWireError("another server is listening on \(path)")
                }
                listeners.append(try Listener(address: SocketAddress(unixDomainSocketPath: path)))
                endpoints.append(path)
            }
            for l in listeners {
                try l.start(name: "pgwire-accept", logger: context.logger) { [self] fd in adopt(fd) }
            }
        } catch {
            for l in listeners { l.close() }
            listeners = []
            try? overflow.syncShutdownGracefully()
            if let e = error as? PGWireError { throw e }
            throw PGWireError("cannot listen on \(settings.listen): \(error)")
        }
    }

    /// Takes an accepted connection onto an event loop of its own (a thread, as PostgreSQL
    /// forks a backend): the session's statements run there and may block it. The loop ends
    /// with the connection.
    ///
    /// A connection over `max_connections` is counted before it gets a thread and is refused
    /// (53300) on one shared loop, so a flood of connections cannot make a thread each.
    private func adopt(_ fd: Int32) {
        let slot = ConnectionSlot(connections)
        let loop = slot.counted ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : overflow
        @Sendable func release() {
            slot.release()
            if slot.counted { loop.shutdownGracefully(queue: .global()) { _ in } }
        }
        let messageBytesMax = settings.messageBytesMax
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteCounter())
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrontendMessageDecoder(messageBytesMax: messageBytesMax)))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: self, counted: slot.counted))
                    self.add(client: channel)
                    channel.closeFuture.whenComplete { _ in
                        self.remove(client: channel)
                        release()
                    }
                }
            }
            .withConnectedSocket(fd)
            .whenFailure { [context] error in
                // The channel (and with it the descriptor) is closed already.
                context.logger.warning("pgwire: cannot set up a connection", metadata: ["error": "\(error)"])
                release()
            }
    }

    /// Whether a server accepts connections on a Unix-domain socket path (a stale socket
    /// file left by a crash refuses them, and is replaced).
    static func someoneListens(at path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0
    }

    private func add(client: any Channel) {
        lock.withLock { clients[ObjectIdentifier(client)] = client }
    }

    private func remove(client: any Channel) {
        lock.withLock { clients[ObjectIdentifier(client)] = nil }
    }

    func track(_ worker: ConnectionWorker) { lock.withLock { workers[ObjectIdentifier(worker)] = worker } }
    func untrack(_ worker: ConnectionWorker) { lock.withLock { workers[ObjectIdentifier(worker)] = nil } }

    /// Graceful stop: no new connections; each session finishes the statement it runs (up to
    /// `drainTimeout`, then it is cancelled), its open transaction is rolled back, and its
    /// client is told the server is shutting down (57P01).
    func shutdown(drainTimeout: Duration) {
        for l in listeners { l.close() }
        listeners = []
        let running = lock.withLock { Array(workers.values) }
        for w in running { w.stop() }
        let deadline = ContinuousClock.now + drainTimeout
        for w in running {
            while !w.finished && ContinuousClock.now < deadline { usleep(10_000) }
            if !w.finished { w.protocolHandler.session.cancel() }
        }
        // Cancelled statements stop at their next check; a statement that never checks (a
        // commit's fsync) is waited for.
        for w in running {
            while !w.finished { usleep(10_000) }
        }
        var w = BackendWriter()
        w.error(SQLError(.adminShutdown, "terminating connection due to administrator command"), severity: "FATAL")
        let open = lock.withLock { Array(clients.values) }
        for c in open {
            c.writeAndFlush(w.buffer).whenComplete { _ in c.close(promise: nil) }
        }
        // Waited for with a deadline: a client whose connection's event loop has already
        // ended (its session finished as the stop began) runs neither the write nor the
        // close, and its close future never completes (waiting on it hung the shutdown).
        let closed = Box(0)
        for c in open { c.closeFuture.whenComplete { _ in self.lock.withLock { closed.value += 1 } } }
        let closeDeadline = ContinuousClock.now + .seconds(5)
        while lock.withLock({ closed.value }) < open.count && ContinuousClock.now < closeDeadline { usleep(10_000) }
        try? overflow.syncShutdownGracefully()
    }
}

struct PGWireError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A value shared with callbacks (under the server's lock).
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
