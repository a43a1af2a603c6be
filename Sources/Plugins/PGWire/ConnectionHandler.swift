import DriftCore
import DriftPluginAPI
import DriftSQL
import DriftStorage
import Logging
import NIOCore
import NIOSSL

/// One client connection on its event loop: runs the startup state machine, then hands
/// every message to the connection's session (`ConnectionWorker`), on the same loop.
final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = FrontendMessage
    typealias OutboundOut = ByteBuffer

    let server: PGServer
    private var startup: StartupStateMachine
    private var exchange: (any AuthExchange)?
    private var worker: ConnectionWorker?
    private var registered: ConnectionRegistry.Key?
    /// Whether the connection is within the maximum (counted when it was accepted).
    private let counted: Bool
    /// The connection runs over TLS (after an SSLRequest answered 'S').
    private var tls = false

    init(server: PGServer, counted: Bool) {
        self.server = server
        self.counted = counted
        startup = StartupStateMachine(database: server.context.database, tlsAvailable: server.tls != nil)
    }


    /// Drops a client that has not finished connecting within the authentication timeout.
    private var startupTimer: Scheduled<Void>?

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        // A client that connects and stalls (or never finishes authenticating) holds a slot
        // and, within the limit, a thread: dropped after the timeout, as PostgreSQL drops one
        // after authentication_timeout.
        startupTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(server.settings.authenticationTimeoutMillis))) { [weak self] in
            guard let self, self.worker == nil else { return }
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let m = unwrapInboundIn(data)
        guard counted else {
            // Over the limit: answered as PostgreSQL answers it, once the client has said
            // what it wants (TLS negotiation first, then the startup message).
            switch m {
            case .sslRequest, .gssEncRequest: act(.sendByte(UInt8(ascii: "N")), context)
            case let .cancel(pid, key): act(.cancel(processId: pid, secretKey: key), context)
            default:
                var w = BackendWriter()
                w.error(SQLError(.tooManyConnections, "sorry, too many clients already"), severity: "FATAL")
                sendAndClose(w.buffer, context)
            }
            return
        }
        if let worker {
            worker.handle(m)
            return
        }
        if let exchange, case .authResponse(let bytes) = m {
            act(startup.authenticated(exchange.respond(bytes)), context)
            return
        }
        act(startup.received(m, remoteAddress: remoteAddress(context), tls: tls), context)
    }

    private func remoteAddress(_ context: ChannelHandlerContext) -> String? {
        guard let a = context.channel.remoteAddress, a.protocol != .unix else { return nil }
        return a.ipAddress
    }

    private func act(_ action: StartupStateMachine.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .sendByte(let b):
            var buf = context.channel.allocator.buffer(capacity: 1)
            buf.writeInteger(b)
            context.writeAndFlush(wrapOutboundOut(buf), promise: nil)
        case .beginTLS:
            guard let tlsContext = server.tls else { return }
            var buf = context.channel.allocator.buffer(capacity: 1)
            buf.writeInteger(UInt8(ascii: "S"))
            // The 'S' goes out in the clear; everything after it, both ways, through TLS.
            context.writeAndFlush(wrapOutboundOut(buf), promise: nil)
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext), position: .first)
                tls = true
            } catch {
                context.close(promise: nil)
            }
        case let .cancel(pid, key):
            server.registry.cancel(processId: pid, secretKey: key)
            context.close(promise: nil)
        case .authenticate(var request, let negotiation):
            if request.tls { request.tlsServerEndPoint = server.tlsServerEndPoint }
            if let n = negotiation {
                var w = BackendWriter()
                w.message("v") { b in
                    b.writeInteger(Int32(0))
                    b.writeInteger(Int32(n.unrecognizedOptions.count))
                    for o in n.unrecognizedOptions { b.writeCString(o) }
                }
                context.write(wrapOutboundOut(w.buffer), promise: nil)
            }
            guard let authenticator = server.context.extensions.authenticator else {
                act(startup.authenticated(.accept(role: request.user)), context)
                return
            }
            let x = authenticator.begin(request)
            exchange = x
            act(startup.authenticated(x.start()), context)
        case .challenge(let step):
            var w = BackendWriter()
            switch step {
            case .askCleartextPassword: w.authenticationCleartextPassword()
            case .askMD5(let salt): w.authenticationMD5(salt: salt)
            case .askSASL(let mechanisms): w.authenticationSASL(mechanisms)
            case .saslContinue(let data): w.authenticationSASL(step: 11, data)
            case let .saslFinal(data, then):
                w.authenticationSASL(step: 12, data)
                context.write(wrapOutboundOut(w.buffer), promise: nil)
                switch then {
                case .accept(let role): act(startup.authenticated(.accept(role: role)), context)
                case .reject(let e): act(startup.authenticated(.reject(e)), context)
                }
                return
            case .accept, .reject: return
            }
            context.writeAndFlush(wrapOutboundOut(w.buffer), promise: nil)
        case let .start(role, parameters):
            exchange = nil
            start(role: role, parameters: parameters, context)
        case .fail(let e):
            var w = BackendWriter()
            w.error(e, severity: "FATAL")
            sendAndClose(w.buffer, context)
        }
    }

    private func start(role: String, parameters: [(String, String)], _ context: ChannelHandlerContext) {
        let session = Session(engine: server.context.engine)
        session.clientAddress = remoteAddress(context) ?? "local"
        session.setRole(role)
        var w = BackendWriter()
        do {
            try SessionParameters.apply(parameters, to: session)
        } catch {
            w.error(QueryProtocol.sqlError(error), severity: "FATAL")
            sendAndClose(w.buffer, context)
            return
        }
        // CONNECTION LIMIT binds every role but superusers, as in PostgreSQL.
        let def = server.context.engine.latestCatalog.role(named: role)
        guard let key = server.registry.register(session, roleLimit: def?.superuser == false ? def?.connectionLimit : nil) else {
            w.error(SQLError(.tooManyConnections, "too many connections for role \"\(session.userName)\""), severity: "FATAL")
            sendAndClose(w.buffer, context)
            return
        }
        registered = key
        let worker = ConnectionWorker(protocolHandler: QueryProtocol(session: session), channel: context.channel)
        // The connection's event loop is its own: named after the session, as ps shows it.
        nameCurrentThread("conn-\(key.processId)")
        self.worker = worker
        startupTimer?.cancel()
        startupTimer = nil
        server.track(worker)
        w.authenticationOk()
        _ = session.takeChangedParameters()
        for (name, value) in session.reportedParameters { w.parameterStatus(name, value) }
        w.backendKeyData(processId: key.processId, secretKey: key.secretKey)
        w.readyForQuery(UInt8(ascii: "I"))
        context.writeAndFlush(wrapOutboundOut(w.buffer), promise: nil)
    }

    private func sendAndClose(_ buffer: ByteBuffer, _ context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        var w = BackendWriter()
        if let v = error as? ProtocolViolation {
            w.error(SQLError(.protocolViolation, v.message), severity: "FATAL")
        } else if error is ByteToMessageDecoderError {
            w.error(SQLError(.protocolViolation, "invalid message"), severity: "FATAL")
        } else {
            context.close(promise: nil)
            return
        }
        sendAndClose(w.buffer, context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        startupTimer?.cancel()
        startupTimer = nil
        if let worker {
            worker.finish()
            server.untrack(worker)
        }
        if let registered { server.registry.unregister(registered) }
        context.fireChannelInactive()
    }
}
