#if canImport(Glibc)
import Glibc
#endif
import CRdKafka
import DriftCore
import DriftStorage
import Logging

/// What a delivery report says about one record.
struct Delivery {
    var token: Int
    /// nil: the broker has the record (acks=all).
    var error: String?
    /// The producer cannot go on (an idempotence failure): every record it holds fails.
    var fatal = false
    /// Dropped by `purge` (the producer is being replaced).
    var purged = false
    /// A refused record itself (copied only when `error` is set), for the dead-letter topic.
    var topic = ""
    var key: [UInt8]?
    var value: [UInt8]?
}

/// An idempotent librdkafka producer (`enable.idempotence=true`, `acks=all`, no message
/// timeout: a broker outage means retries, never a dropped record). Delivery reports are
/// served on a thread of its own, which calls `onDelivery`; `produce` may be called from
/// any one other thread.
final class KafkaProducer: @unchecked Sendable {
    /// State reached from librdkafka's C callbacks through their opaque pointer.
    final class Callbacks: @unchecked Sendable {
        let onDelivery: @Sendable (Delivery) -> Void
        let onError: @Sendable (String, Bool) -> Void
        init(onDelivery: @escaping @Sendable (Delivery) -> Void, onError: @escaping @Sendable (String, Bool) -> Void) {
            self.onDelivery = onDelivery
            self.onError = onError
        }
    }

    let handle: OpaquePointer
    let callbacks: Unmanaged<Callbacks>
    private let lock = Lock()
    private var topics: [String: OpaquePointer] = [:]
    private var partitions: [String: Int32] = [:]
    private var polling = true
    private var poller: OSThread?

    /// The settings a sink cannot change: without them a retry could duplicate or reorder
    /// records within a run, or give up on one.
    static let forced: [(String, String)] = [("enable.idempotence", "true"), ("acks", "all"), ("message.timeout.ms", "0")]
    /// Defaults a sink may change: keys partitioned as Java clients partition them.
    static let defaults: [(String, String)] = [("partitioner", "murmur2_random"), ("linger.ms", "5")]

    /// Checks librdkafka settings without connecting: the message of the first one it
    /// refuses, keyed by name.
    static func check(_ settings: [(String, String)]) -> (key: String, message: String)? {
        guard let conf = rd_kafka_conf_new() else { return ("producer", "librdkafka could not allocate a configuration") }
        defer { rd_kafka_conf_destroy(conf) }
        for (k, v) in settings {
            if let why = set(conf, k, v) { return (k, why) }
        }
        return nil
    }

    private static func set(_ conf: OpaquePointer, _ key: String, _ value: String) -> String? {
        var err = [CChar](repeating: 0, count: 512)
        let r = rd_kafka_conf_set(conf, key, value, &err, err.count)
        guard r != RD_KAFKA_CONF_OK else { return nil }
        return String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    init(brokers: String, clientId: String, settings: [(String, String)], logger: Logger,
         onDelivery: @escaping @Sendable (Delivery) -> Void, onError: @escaping @Sendable (String, Bool) -> Void) throws {
        guard let conf = rd_kafka_conf_new() else { throw SQLError(.objectNotInPrerequisiteState, "librdkafka could not allocate a configuration") }
        var all = [("bootstrap.servers", brokers), ("client.id", clientId)] + Self.defaults + settings + Self.forced
        all = all.filter { !$0.0.isEmpty }
        for (k, v) in all {
            if let why = Self.set(conf, k, v) {
                rd_kafka_conf_destroy(conf)
                throw SQLError(.invalidParameterValue, "cdc producer setting \(k): \(why)")
            }
        }
        let cb = Unmanaged.passRetained(Callbacks(onDelivery: onDelivery, onError: onError))
        rd_kafka_conf_set_opaque(conf, cb.toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let m = message?.pointee, let opaque else { return }
            let callbacks = Unmanaged<Callbacks>.fromOpaque(opaque).takeUnretainedValue()
            let token = Int(bitPattern: m._private)
            if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                callbacks.onDelivery(Delivery(token: token, error: nil))
            } else {
                // Idempotence and no message timeout leave only errors a retry cannot fix.
                func copy(_ p: UnsafeMutableRawPointer?, _ n: Int) -> [UInt8]? {
                    p.map { Array(UnsafeRawBufferPointer(start: $0, count: n)) }
                }
                callbacks.onDelivery(Delivery(token: token, error: String(cString: rd_kafka_err2str(m.err)),
                                              fatal: m.err == RD_KAFKA_RESP_ERR__FATAL,
                                              purged: m.err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m.err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
                                              topic: m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
                                              key: copy(m.key, m.key_len), value: copy(m.payload, m.len)))
            }
        }
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
            guard let opaque else { return }
            let callbacks = Unmanaged<Callbacks>.fromOpaque(opaque).takeUnretainedValue()
            let text = reason.map { String(cString: $0) } ?? "error \(err)"
            callbacks.onError(text, err == RD_KAFKA_RESP_ERR__FATAL.rawValue)
        }
        var err = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &err, err.count) else {
            rd_kafka_conf_destroy(conf)
            cb.release()
            let why = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw SQLError(.objectNotInPrerequisiteState, "could not create the Kafka producer: \(why)")
        }
        handle = rk
        callbacks = cb
        poller = try OSThread(name: "cdc-poll") { [unowned self] in
            while self.lock.withLock({ self.polling }) { rd_kafka_poll(self.handle, 100) }
        }
    }

    private func topic(_ name: String) -> OpaquePointer? {
        lock.withLock {
            if let t = topics[name] { return t }
            guard let t = rd_kafka_topic_new(handle, name, nil) else { return nil }
            topics[name] = t
            return t
        }
    }

    enum ProduceResult: Equatable {
        case queued
        /// The local queue is full: try again once deliveries drain it.
        case full
        /// The record can never be sent (larger than `message.max.bytes`).
        case refused(String)
        case failed(String)
    }

    private static func result(_ e: rd_kafka_resp_err_t) -> ProduceResult {
        if e == RD_KAFKA_RESP_ERR_NO_ERROR { return .queued }
        if e == RD_KAFKA_RESP_ERR__QUEUE_FULL { return .full }
        let text = String(cString: rd_kafka_err2str(e))
        return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? .refused(text) : .failed(text)
    }

    /// Queues one record (copied) for `partition` (nil: by its key).
    func produce(topic name: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, token: Int) -> ProduceResult {
        guard let t = topic(name) else { return .failed("librdkafka refused topic \(name)") }
        let opaque = UnsafeMutableRawPointer(bitPattern: token)
        let r: Int32 = withOptionalBytes(value) { v in
            withOptionalBytes(key) { k in
                rd_kafka_produce(t, partition ?? RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                 UnsafeMutableRawPointer(mutating: v?.baseAddress), v?.count ?? 0,
                                 k?.baseAddress, k?.count ?? 0, opaque)
            }
        }
        return r == 0 ? .queued : Self.result(rd_kafka_last_error())
    }

    /// Queues one record (copied) with string headers, partitioned by its key.
    func produce(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [(String, String)], token: Int) -> ProduceResult {
        guard let h = rd_kafka_headers_new(headers.count) else { return .failed("librdkafka could not allocate headers") }
        for (name, v) in headers {
            let bytes = Array(v.utf8)
            _ = bytes.withUnsafeBytes { rd_kafka_header_add(h, name, -1, $0.baseAddress, $0.count) }
        }
        let e = withOptionalBytes(value) { v in
            withOptionalBytes(key) { k in
                drift_rd_kafka_produce_with_headers(handle, topic, RD_KAFKA_PARTITION_UA, k?.baseAddress, k?.count ?? 0,
                                                    v?.baseAddress, v?.count ?? 0, h, UnsafeMutableRawPointer(bitPattern: token))
            }
        }
        if e != RD_KAFKA_RESP_ERR_NO_ERROR { rd_kafka_headers_destroy(h) }
        return Self.result(e)
    }

    /// The number of partitions of `topic` (asks the broker; nil if it cannot say in time).
    func partitionCount(_ name: String, timeoutMillis: Int32 = 5000) -> Int32? {
        if let n = lock.withLock({ partitions[name] }) { return n }
        guard let t = topic(name) else { return nil }
        var md: UnsafePointer<rd_kafka_metadata>?
        guard rd_kafka_metadata(handle, 0, t, &md, timeoutMillis) == RD_KAFKA_RESP_ERR_NO_ERROR, let m = md else { return nil }
        defer { rd_kafka_metadata_destroy(m) }
        guard m.pointee.topic_cnt >= 1, let topics = m.pointee.topics, topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR,
              topics[0].partition_cnt > 0 else { return nil }
        let n = topics[0].partition_cnt
        lock.withLock { partitions[name] = n }
        return n
    }

    /// Records queued or in flight.
    var outstanding: Int { Int(rd_kafka_outq_len(handle)) }

    /// Drops every queued and in-flight record (each reported as purged) and waits up to
    /// `waitMillis` for those reports.
    func purge(waitMillis: Int32) {
        _ = rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        let deadline = monotonicNanos() + UInt64(waitMillis) * 1_000_000
        while outstanding > 0 && monotonicNanos() < deadline { usleep(10_000) }
    }

    /// Waits up to `millis` for every queued record's delivery report.
    func flush(millis: Int32) { _ = rd_kafka_flush(handle, millis) }

    /// Stops the poll thread and destroys the producer (records not yet delivered are
    /// dropped: the checkpoint never covered them).
    func close() {
        lock.withLock { polling = false }
        poller?.join()
        poller = nil
        for (_, t) in lock.withLock({ topics }) { rd_kafka_topic_destroy(t) }
        lock.withLock { topics = [:] }
        rd_kafka_destroy(handle)
        callbacks.release()
    }
}

private func withOptionalBytes<T>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
