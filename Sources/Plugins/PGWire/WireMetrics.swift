import CoreMetrics
import DriftStorage
import NIOCore

/// The frontend's connections and traffic, through swift-metrics.
final class WireMetrics: Sendable {
    static let shared = WireMetrics()

    let open = Gauge(label: "driftdb_connections_open")
    let accepted = Counter(label: "driftdb_connections_total")
    /// Refused at the connection limit (53300).
    let refused = Counter(label: "driftdb_connections_refused_total")
    let bytesIn = Counter(label: "driftdb_bytes_received_total")
    let bytesOut = Counter(label: "driftdb_bytes_sent_total")
    /// Open connections of every pgwire listener of the process.
    private let lock = Lock()
    nonisolated(unsafe) private var openNow = 0

    private init() {}

    /// The gauge is recorded under the lock, so concurrent opens and closes leave the last count.
    func opened() {
        accepted.increment()
        lock.withLock {
            openNow += 1
            open.record(openNow)
        }
    }

    func closed() {
        lock.withLock {
            openNow -= 1
            open.record(openNow)
        }
    }
}

/// First in every connection's pipeline: counts the bytes that cross it, both ways.
final class ByteCounter: ChannelDuplexHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        WireMetrics.shared.bytesIn.increment(by: Int64(unwrapInboundIn(data).readableBytes))
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        WireMetrics.shared.bytesOut.increment(by: Int64(unwrapOutboundIn(data).readableBytes))
        context.write(data, promise: promise)
    }
}
