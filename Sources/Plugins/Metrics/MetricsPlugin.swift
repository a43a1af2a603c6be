import CoreMetrics
import DriftCore
import DriftPluginAPI
import DriftStorage
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Prometheus exposition of what the code reports through swift-metrics, and a health check.
///
/// ```yaml
/// - kind: metrics
///   listen: 127.0.0.1:9187
/// ```
///
/// `GET /metrics`: every series in Prometheus's text format. `GET /health`: 200 `ok` while
/// the database accepts writes, 503 with the reason once it refuses them (a failed fsync or
/// write puts the log in its failed state).
public final class MetricsPlugin: DriftPlugin, @unchecked Sendable {
    public static let kind = "metrics"

    public struct Settings: Sendable {
        public var listen: ListenAddress
    }

    public static func settings(from section: inout ConfigSection) throws -> Settings {
        guard let listen = try section.listenAddress("listen") else {
            throw section.error("listen", "required: the host:port to serve /metrics and /health on")
        }
        try section.finish()
        return Settings(listen: listen)
    }

    /// The one registry every metrics listener serves.
    public static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Lock()
    nonisolated(unsafe) private static var isBootstrapped = false

    /// Makes Prometheus the swift-metrics backend of this process. The host calls it before
    /// the database opens when a metrics plugin is configured (handles made before it would
    /// stay no-ops); later calls do nothing.
    public static func bootstrap() {
        bootstrapped.withLock {
            guard !isBootstrapped else { return }
            isBootstrapped = true
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.durationHistogramBuckets["driftdb_fsync_duration_seconds"] = StoreMetrics.fsyncBuckets.map(Self.duration)
            factory.durationHistogramBuckets["driftdb_statement_duration_seconds"] =
                [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map(Self.duration)
            factory.durationHistogramBuckets["driftdb_snapshot_duration_seconds"] =
                [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120].map(Self.duration)
            factory.valueHistogramBuckets["driftdb_group_commit_size"] = StoreMetrics.groupSizeBuckets
            MetricsSystem.bootstrap(factory)
        }
    }

    static func duration(_ seconds: Double) -> Duration { .nanoseconds(Int64(seconds * 1e9)) }

    let settings: Settings
    let context: PluginContext
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?

    public init(settings: Settings, context: PluginContext) throws {
        self.settings = settings
        self.context = context
    }

    public func prepare() throws {
        let engine = context.engine
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(engine: engine))
                }
            }
        do {
            channel = try bootstrap.bind(host: settings.listen.host, port: settings.listen.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw MetricsError("metrics cannot listen on \(settings.listen): \(error)")
        }
    }

    public var endpoints: [String] {
        guard let a = channel?.localAddress, let port = a.port else { return [settings.listen.description] }
        return ["\(a.ipAddress ?? settings.listen.host):\(port)"]
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }
}

struct MetricsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One HTTP connection: GET /metrics and GET /health.
final class HTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let engine: Engine
    private var head: HTTPRequestHead?

    init(engine: Engine) { self.engine = engine }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            respond(to: h, context)
        }
    }

    /// The response to a request: status, content type and body.
    static func answer(method: HTTPMethod, uri: String, engine: Engine) -> (HTTPResponseStatus, String, [UInt8]) {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        guard method == .GET || method == .HEAD else { return (.methodNotAllowed, "text/plain", Array("GET only\n".utf8)) }
        switch path {
        case "/metrics":
            var body: [UInt8] = []
            body.reserveCapacity(16 << 10)
            MetricsPlugin.registry.emit(into: &body)
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", body)
        case "/health":
            if let reason = engine.writerFailure {
                return (.serviceUnavailable, "text/plain", Array("failed: \(reason)\n".utf8))
            }
            return (.ok, "text/plain", Array("ok\n".utf8))
        default:
            return (.notFound, "text/plain", Array("not found: GET /metrics or /health\n".utf8))
        }
    }

    private func respond(to h: HTTPRequestHead, _ context: ChannelHandlerContext) {
        let (status, type, body) = Self.answer(method: h.method, uri: h.uri, engine: engine)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(body.count))
        let keepAlive = h.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: status, headers: headers))), promise: nil)
        if h.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
