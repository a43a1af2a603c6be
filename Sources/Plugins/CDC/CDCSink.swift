#if canImport(Glibc)
import Glibc
#endif
import CoreMetrics
import DriftCore
import DriftStorage
import Logging

/// One sink: follows the change feed from its checkpoint on a thread of its own, turns each
/// committed transaction into records, and hands them to the producer. Commits never wait
/// for it: the feed is read from the log at the sink's own pace, and a broker outage only
/// grows the lag. The checkpoint is the highest seq whose every record the broker has
/// acknowledged; it is kept durably (a synced temporary file renamed over the last), so
/// after any crash the sink resumes after it: no gap, duplicates only for later seqs.
final class CDCSink: @unchecked Sendable {
    enum State: String { case starting, streaming, failed, stopped }

    let name: String
    let engine: Engine
    let encoder: DebeziumEncoder
    /// Which tables (views, sequences) are captured, by `schema.name`.
    let includeName: @Sendable (String) -> Bool
    let logger: Logger
    let checkpointPath: String
    let startAfter: UInt64
    /// `snapshot_mode: initial` on a first start: every row as of `startAfter` goes out as a
    /// read (`op: r`) before the stream continues after it; no checkpoint exists until the
    /// broker has them all (a crash before that takes the snapshot again).
    let snapshot: Bool
    /// Where records the broker refuses for good go, with the reason in a header.
    let deadLetterTopic: String
    /// Heartbeats: a record every `heartbeatNanos` (0: none) on `heartbeatTopic`, so that
    /// consumers see the sink alive while nothing they capture changes.
    let heartbeatTopic: String
    let heartbeatNanos: UInt64

    private let lock = Lock()
    /// Seqs handed to the producer whose records are not all acknowledged, in seq order
    /// (from `head`), with the count of records still unacknowledged.
    private var order: [UInt64] = []
    private var head = 0
    private var remaining: [UInt64: Int] = [:]
    private(set) var checkpoint: UInt64
    private var persisted: UInt64
    /// The snapshot's records are not all acknowledged yet: nothing to persist.
    private var snapshotPending: Bool
    private var persistedOnce = false
    private var state: State = .starting
    private var lastError: String?
    private var running = true
    private var thread: OSThread?
    private var producer: KafkaProducer?
    private(set) var recordsSent = 0
    private(set) var errors = 0
    private(set) var rebuilds = 0
    private var bytesSent = 0
    /// Records the broker refused, waiting to go to the dead-letter topic (from the sink's thread).
    private var deadLetters: [DeadLetter] = []
    /// Set when the producer cannot go on: the sink's thread rebuilds it.
    private var rewindReason: String?
    /// When the producer last acknowledged a record (or was built).
    private var lastProgress = monotonicNanos()
    /// How long records may wait with no acknowledgement at all before the producer is
    /// rebuilt (a broker that restarted without its state leaves an idempotent producer
    /// waiting for ever).
    let stallNanos: UInt64
    /// Where the producer connects, and its settings (kept to rebuild it).
    private var brokers = ""
    private var producerSettings: [(String, String)] = []

    struct DeadLetter {
        var topic: String
        var key: [UInt8]?
        var value: [UInt8]?
        var token: Int
        var reason: String
        /// The dead-letter topic refused the record too: it goes again without its value.
        var omitValue: Bool
    }

    /// Heartbeats are not part of any seq: their token is this.
    static let heartbeatToken = -1

    /// Per-sink series (label `sink`): lag in seqs and seconds, the checkpoint, records,
    /// bytes and refused records.
    private let lagSeqsGauge: Gauge
    private let lagSecondsGauge: Gauge
    private let checkpointGauge: Gauge
    private let recordsCounter: Counter
    private let bytesCounter: Counter
    private let errorsCounter: Counter
    private var reportedRecords = 0, reportedBytes = 0, reportedErrors = 0

    init(name: String, engine: Engine, encoder: DebeziumEncoder, include: @escaping @Sendable (String) -> Bool,
         startAfter: UInt64, snapshot: Bool = false, deadLetterTopic: String? = nil, heartbeatMillis: Int = 0,
         stallMillis: Int = 60_000, logger: Logger) {
        self.name = name
        stallNanos = UInt64(max(1, stallMillis)) * 1_000_000
        self.deadLetterTopic = deadLetterTopic ?? encoder.prefix + ".dead_letter"
        heartbeatTopic = "__debezium-heartbeat." + encoder.prefix
        heartbeatNanos = UInt64(max(0, heartbeatMillis)) * 1_000_000
        self.engine = engine
        self.encoder = encoder
        includeName = include
        self.logger = logger
        self.startAfter = startAfter
        checkpointPath = CDCCheckpoints.path(directory: engine.directory, sink: name)
        checkpoint = startAfter
        persisted = startAfter
        self.snapshot = snapshot
        snapshotPending = snapshot
        let dims = [("sink", name)]
        lagSeqsGauge = Gauge(label: "driftdb_cdc_lag_seqs", dimensions: dims)
        lagSecondsGauge = Gauge(label: "driftdb_cdc_lag_seconds", dimensions: dims)
        checkpointGauge = Gauge(label: "driftdb_cdc_checkpoint_seq", dimensions: dims)
        recordsCounter = Counter(label: "driftdb_cdc_records_total", dimensions: dims)
        bytesCounter = Counter(label: "driftdb_cdc_bytes_total", dimensions: dims)
        errorsCounter = Counter(label: "driftdb_cdc_errors_total", dimensions: dims)
    }

    func include(_ t: TableDef) -> Bool { includeName(t.schema + "." + t.name) }

    /// Starts the producer and the thread that follows the feed.
    func start(brokers: String, producerSettings: [(String, String)]) throws {
        self.brokers = brokers
        self.producerSettings = producerSettings
        let p = try makeProducer()
        lock.withLock { producer = p }
        engine.sinks.register(name) { [weak self] in
            self?.currentStatus() ?? SinkStatus(sink: "", state: "stopped", checkpointSeq: 0, lagSeqs: 0, lagSeconds: 0, lastError: nil)
        }
        thread = try OSThread(name: "cdc-" + name) { [self] in follow(p) }
    }

    private func makeProducer() throws -> KafkaProducer {
        let p = try KafkaProducer(brokers: brokers, clientId: "driftdb-cdc-" + name, settings: producerSettings, logger: logger,
                                  onDelivery: { [weak self] d in self?.delivered(d) },
                                  onError: { [weak self] text, fatal in self?.brokerError(text, fatal: fatal) })
        lock.withLock { lastProgress = monotonicNanos() }
        return p
    }

    /// Throws `Rewind` when the producer must be rebuilt: it said it cannot go on, or it
    /// holds records and has acknowledged nothing for `stallNanos`.
    private func checkStall(_ producer: KafkaProducer) throws {
        let (reason, since) = lock.withLock { (rewindReason, lastProgress) }
        if let reason { throw Rewind(why: reason) }
        // Nothing waiting: the stall clock starts again, so the first record after an idle
        // spell is not already overdue (the loop comes here at least every 100 ms).
        guard producer.outstanding > 0 else {
            lock.withLock { lastProgress = monotonicNanos() }
            return
        }
        if monotonicNanos() - since >= stallNanos {
            throw Rewind(why: "no record acknowledged for \(stallNanos / 1_000_000) ms")
        }
    }

    /// Drops everything the producer holds, replaces it, and resets the sink's bookkeeping
    /// to its checkpoint.
    private func rebuild(_ old: KafkaProducer, why: String) throws -> KafkaProducer {
        logger.warning("cdc: rebuilding the producer; the sink resumes after its checkpoint",
                       metadata: ["sink": "\(name)", "reason": "\(why)", "checkpoint": "\(lock.withLock { checkpoint })"])
        old.purge(waitMillis: 2000)
        old.close()
        lock.withLock {
            order = []
            head = 0
            remaining = [:]
            deadLetters = []
            rewindReason = nil
            rebuilds += 1
            lastError = "producer rebuilt: " + why
        }
        let p = try makeProducer()
        lock.withLock { producer = p }
        return p
    }

    /// The sink as `drift_cdc_status` shows it: lag is what is committed after the checkpoint.
    func currentStatus() -> SinkStatus {
        let (state, checkpoint, lastError) = status
        let visible = engine.visibleSeq
        let lag = visible > checkpoint ? visible - checkpoint : 0
        var seconds = 0.0
        if lag > 0, let ts = engine.timestamp(of: checkpoint + 1) {
            seconds = max(0, Double(wallClockMicros() - ts) / 1e6)
        }
        return SinkStatus(sink: name, state: state.rawValue, checkpointSeq: checkpoint, lagSeqs: lag, lagSeconds: seconds,
                          lastError: lastError)
    }

    /// Brings the metrics up to date (every 100 ms from the sink's thread).
    private func reportMetrics() {
        let s = currentStatus()
        lagSeqsGauge.record(Int64(clamping: s.lagSeqs))
        lagSecondsGauge.record(s.lagSeconds)
        checkpointGauge.record(Int64(clamping: s.checkpointSeq))
        let (records, bytes, errors) = lock.withLock { (recordsSent, bytesSent, self.errors) }
        if records > reportedRecords { recordsCounter.increment(by: Int64(records - reportedRecords)) }
        if bytes > reportedBytes { bytesCounter.increment(by: Int64(bytes - reportedBytes)) }
        if errors > reportedErrors { errorsCounter.increment(by: Int64(errors - reportedErrors)) }
        (reportedRecords, reportedBytes, reportedErrors) = (records, bytes, errors)
    }

    /// Status for `drift_cdc_status`, metrics and the log.
    var status: (state: State, checkpoint: UInt64, lastError: String?) {
        lock.withLock { (state, checkpoint, lastError) }
    }

    /// The producer is rebuilt and the sink goes back to its checkpoint.
    struct Rewind: Error { var why: String }

    private func follow(_ first: KafkaProducer) {
        var producer = first
        var reader = engine.changeReader(after: startAfter)
        var lastPersist = monotonicNanos(), lastHeartbeat = monotonicNanos()
        var needSnapshot = snapshot
        while lock.withLock({ running }) {
            do {
                if needSnapshot {
                    try sendSnapshot(producer)
                    needSnapshot = false
                }
                lock.withLock { if state == .starting { state = .streaming } }
                try checkStall(producer)
                if let t = try reader.next(timeoutNanos: heartbeatNanos > 0 ? min(100_000_000, heartbeatNanos) : 100_000_000) {
                    try send(t, producer)
                }
                try sendDeadLetters(producer)
            } catch let r as Rewind {
                // Everything after the checkpoint goes again through a new producer (the
                // broker may hold some of it: duplicates only after the checkpoint).
                do {
                    producer = try rebuild(producer, why: r.why)
                } catch {
                    fail("could not rebuild the producer: \(error)")
                    return
                }
                let (after, pending) = lock.withLock { (checkpoint, snapshotPending) }
                needSnapshot = pending
                reader = engine.changeReader(after: after)
                continue
            } catch {
                fail("reading the change feed: \(error)")
                return
            }
            if heartbeatNanos > 0 && monotonicNanos() - lastHeartbeat >= heartbeatNanos {
                sendHeartbeat(producer)
                lastHeartbeat = monotonicNanos()
            }
            if monotonicNanos() - lastPersist >= 100_000_000 {
                persistCheckpoint()
                reportMetrics()
                lastPersist = monotonicNanos()
            }
        }
    }

    /// Every captured table's rows as of `startAfter`, as Debezium's snapshot reads: the
    /// records count toward seq `startAfter`, held open (one extra count) until all are queued.
    private func sendSnapshot(_ producer: KafkaProducer) throws {
        let seq = startAfter
        lock.withLock {
            order.append(seq)
            remaining[seq] = 1
        }
        let t = engine.begin(readOnly: true, asOf: seq)
        defer { t.rollback() }
        let commitMicros = engine.timestamp(of: seq) ?? wallClockMicros()
        let tables = engine.catalog(at: seq).tables.values.filter(include).sorted { ($0.schema, $0.name) < ($1.schema, $1.name) }
        // One record of look-ahead marks the first and last of each table and of the whole snapshot.
        var held: (TableDef, [Value], [Value], Bool)?
        var first = true
        func emit(_ h: (TableDef, [Value], [Value], Bool), lastOfAll: Bool, lastOfTable: Bool) throws {
            let marker = first ? "first" : lastOfAll ? "last" : h.3 ? "first_in_data_collection"
                : lastOfTable ? "last_in_data_collection" : "true"
            first = false
            let value = encoder.value(h.0, op: "r", before: nil, after: h.1, seq: seq, commitMicros: commitMicros,
                                      snapshot: marker, transaction: nil, nowMicros: wallClockMicros())
            try produce(producer, CDCRecord(topic: encoder.topic(h.0), key: encoder.key(h.0, h.2), value: value, seq: seq),
                        partition: nil, seq: seq, counted: false)
        }
        for table in tables {
            var firstOfTable = true
            try t.scan(table) { row in
                let values = try RowCodec.decode(row.image, missing: table.missingValues)
                let key = try KeyCodec.decode(row.key)
                if let h = held { try emit(h, lastOfAll: false, lastOfTable: h.0.id != table.id) }
                held = (table, values, key, firstOfTable)
                firstOfTable = false
                return true
            }
        }
        if let h = held { try emit(h, lastOfAll: true, lastOfTable: true) }
        lock.withLock {
            remaining[seq, default: 1] -= 1
            advance()
        }
    }

    /// Queues one record, waiting while the producer's queue is full; `counted`: the seq's
    /// count already includes it.
    private func produce(_ producer: KafkaProducer, _ r: CDCRecord, partition: Int32?, seq: UInt64, counted: Bool) throws {
        if !counted { lock.withLock { remaining[seq, default: 0] += 1 } }
        while true {
            switch producer.produce(topic: r.topic, partition: partition, key: r.key, value: r.value, token: Int(seq)) {
            case .queued:
                lock.withLock {
                    recordsSent += 1
                    bytesSent += (r.key?.count ?? 0) + (r.value?.count ?? 0)
                }
                return
            case .full:
                // The producer's queue bounds what the sink holds; wait for deliveries.
                guard lock.withLock({ running }) else { return }
                try checkStall(producer)
                usleep(5000)
            case .refused(let why):
                // Larger than the producer takes: straight to the dead-letter topic.
                lock.withLock {
                    errors += 1
                    lastError = "\(r.topic): \(why)"
                    deadLetters.append(DeadLetter(topic: r.topic, key: r.key, value: r.value, token: Int(seq), reason: why, omitValue: false))
                }
                return
            case .failed(let why):
                throw SQLError(.objectNotInPrerequisiteState, "cdc sink \(name) could not queue a record for \(r.topic): \(why)")
            }
        }
    }

    /// Sends the records the broker refused to the dead-letter topic, keyed as before, with
    /// headers `driftdb.error` (the reason), `driftdb.topic`, `driftdb.seq`, and
    /// `driftdb.value_omitted` when the value itself could not go. They still count toward
    /// their seq: the checkpoint passes it once the dead-letter topic has them.
    private func sendDeadLetters(_ producer: KafkaProducer) throws {
        var pending: [DeadLetter] = lock.withLock {
            defer { deadLetters = [] }
            return deadLetters
        }
        while !pending.isEmpty {
            var d = pending.removeFirst()
            var headers = [("driftdb.error", d.reason), ("driftdb.topic", d.topic), ("driftdb.seq", String(d.token))]
            if d.omitValue { headers.append(("driftdb.value_omitted", "true")) }
            switch producer.produce(topic: deadLetterTopic, key: d.key, value: d.omitValue ? nil : d.value, headers: headers, token: d.token) {
            case .queued:
                logger.warning("cdc: a record went to the dead-letter topic", metadata: [
                    "sink": "\(name)", "topic": "\(d.topic)", "seq": "\(d.token)", "reason": "\(d.reason)", "dead_letter_topic": "\(deadLetterTopic)"])
            case .full:
                guard lock.withLock({ running }) else { return }
                try checkStall(producer)
                pending.insert(d, at: 0)
                usleep(5000)
            case .refused where !d.omitValue:
                d.omitValue = true
                pending.insert(d, at: 0)
            case .refused(let why), .failed(let why):
                throw SQLError(.objectNotInPrerequisiteState, "cdc sink \(name) could not queue a record for the dead-letter topic \(deadLetterTopic): \(why)")
            }
        }
    }

    /// A heartbeat, `{"ts_ms": now, "seq": checkpoint}` keyed `{"serverName": prefix}`;
    /// counted toward no seq, and a refused one is only counted as an error.
    private func sendHeartbeat(_ producer: KafkaProducer) {
        let now = wallClockMicros()
        var k = JSONWriter(capacity: 32)
        k.beginObject()
        k.key("serverName"); k.string(encoder.prefix)
        k.endObject()
        var v = JSONWriter(capacity: 48)
        v.beginObject()
        v.key("ts_ms"); v.int(DebeziumValues.floorDiv(now, 1000))
        v.key("seq"); v.int(Int64(clamping: lock.withLock { checkpoint }))
        v.endObject()
        let r = producer.produce(topic: heartbeatTopic, key: encoder.wrap(k.bytes, DebeziumSchemas.heartbeatKey),
                                 value: encoder.wrap(v.bytes, DebeziumSchemas.heartbeatValue), token: Self.heartbeatToken)
        if case .queued = r {} else {
            logger.warning("cdc: could not queue a heartbeat", metadata: ["sink": "\(name)", "result": "\(r)"])
        }
    }

    private func send(_ t: CommittedTransaction, _ producer: KafkaProducer) throws {
        var expanded: [(CDCRecord, Int32?)] = []
        let now = wallClockMicros()
        if let topic = encoder.schemaChangeTopic, t.events.contains(where: { $0.kind == .ddl }) {
            // A view or sequence is captured by the same globs as a table.
            let changes = encoder.schemaChangeRecords(t, topic: topic, before: engine.catalog(at: t.seq - 1), after: engine.catalog(at: t.seq),
                                                      nowMicros: now, include: includeName)
            expanded += changes.map { ($0, nil) }
        }
        for r in encoder.records(t, nowMicros: now, include: include) {
            if r.everyPartition {
                let n = producer.partitionCount(r.topic) ?? 1
                for p in 0..<n { expanded.append((r, p)) }
            } else {
                expanded.append((r, nil))
            }
        }
        lock.withLock {
            order.append(t.seq)
            remaining[t.seq] = expanded.count
            advance()
        }
        for (r, partition) in expanded {
            try produce(producer, r, partition: partition, seq: t.seq, counted: true)
        }
    }

    private func delivered(_ d: Delivery) {
        lock.withLock {
            // A rebuild purged it: the sink sends it again from its checkpoint.
            if d.purged { return }
            if d.fatal {
                rewindReason = rewindReason ?? "fatal producer error: \(d.error ?? "")"
                return
            }
            if let e = d.error {
                errors += 1
                lastError = d.topic.isEmpty ? e : d.topic + ": " + e
                if d.token == Self.heartbeatToken {
                    logger.warning("cdc: the broker refused a heartbeat", metadata: ["sink": "\(name)", "error": "\(e)"])
                    return
                }
                if !(d.topic == deadLetterTopic && d.value == nil) {
                    // Refused for good: to the dead-letter topic (again without its value if
                    // that topic refused it too); the seq waits for it.
                    deadLetters.append(DeadLetter(topic: d.topic, key: d.key, value: d.value, token: d.token, reason: e,
                                                  omitValue: d.topic == deadLetterTopic))
                    return
                }
                // The record is not in Kafka: the checkpoint stays before its seq.
                if state != .failed {
                    state = .failed
                    logger.error("cdc: a record could not be delivered; the sink stops advancing", metadata: ["sink": "\(name)", "seq": "\(d.token)", "error": "\(e)"])
                }
                return
            }
            lastProgress = monotonicNanos()
            guard d.token >= 0 else { return }
            let seq = UInt64(d.token)
            if let left = remaining[seq] { remaining[seq] = left - 1 }
            advance()
        }
    }

    /// Moves the checkpoint over every leading seq whose records are all acknowledged
    /// (under `lock`).
    private func advance() {
        while head < order.count, let left = remaining[order[head]], left <= 0 {
            guard state != .failed else { break }
            checkpoint = order[head]
            snapshotPending = false
            remaining[order[head]] = nil
            head += 1
        }
        if head > 4096 {
            order.removeFirst(head)
            head = 0
        }
    }

    private func brokerError(_ text: String, fatal: Bool) {
        lock.withLock {
            lastError = text
            if fatal { rewindReason = rewindReason ?? "fatal producer error: \(text)" }
        }
        if fatal {
            logger.error("cdc: fatal producer error; the producer is rebuilt", metadata: ["sink": "\(name)", "error": "\(text)"])
        } else {
            logger.warning("cdc: broker error (retrying)", metadata: ["sink": "\(name)", "error": "\(text)"])
        }
    }

    private func fail(_ why: String) {
        lock.withLock {
            state = .failed
            lastError = why
        }
        logger.error("cdc sink failed", metadata: ["sink": "\(name)", "error": "\(why)"])
    }

    /// Writes the checkpoint if it moved since it was last written.
    func persistCheckpoint() {
        let seq: UInt64? = lock.withLock {
            snapshotPending ? nil : snapshot && !persistedOnce ? checkpoint : checkpoint > persisted ? checkpoint : nil
        }
        guard let seq else { return }
        do {
            try CDCCheckpoints.write(engine.fs, checkpointPath, seq)
            lock.withLock {
                persisted = seq
                persistedOnce = true
            }
        } catch {
            logger.error("cdc: could not write the checkpoint", metadata: ["sink": "\(name)", "error": "\(error)"])
        }
    }

    /// Stops following the feed, waits up to `drainMillis` for the broker to acknowledge
    /// what was sent, and keeps the checkpoint.
    func stop(drainMillis: Int32) {
        lock.withLock { running = false }
        thread?.join()
        thread = nil
        let p = lock.withLock { producer }
        p?.flush(millis: drainMillis)
        persistCheckpoint()
        reportMetrics()
        p?.close()
        engine.sinks.unregister(name)
        lock.withLock {
            producer = nil
            if state != .failed { state = .stopped }
        }
    }
}

/// Each sink's checkpoint, `cdc/<sink>.checkpoint` in the data directory: the seq after
/// which it resumes, one line of text, replaced durably.
public enum CDCCheckpoints {
    public static func path(directory: String, sink: String) -> String {
        Path.join(Path.join(directory, "cdc"), sink + ".checkpoint")
    }

    /// Every sink that has a checkpoint, by name.
    public static func all(directory: String, fs: any FileSystem) throws -> [(sink: String, seq: UInt64)] {
        let dir = Path.join(directory, "cdc")
        guard fs.fileExists(dir) else { return [] }
        return try fs.listDirectory(dir).filter { $0.hasSuffix(".checkpoint") }.sorted().compactMap { file in
            let sink = String(file.dropLast(".checkpoint".count))
            return try read(fs, path(directory: directory, sink: sink)).map { (sink, $0) }
        }
    }

    /// The sink's checkpoint, nil before its first start.
    public static func read(_ fs: any FileSystem, _ path: String) throws -> UInt64? {
        guard fs.fileExists(path) else { return nil }
        let f = try fs.open(path, create: false)
        defer { f.close() }
        let text = String(decoding: try f.readAll(), as: UTF8.self)
        guard let line = text.split(separator: "\n").first, let seq = UInt64(line) else {
            throw StorageError.corrupt(file: path, offset: 0, reason: "a cdc checkpoint must hold one seq, found \"\(text.prefix(40))\"")
        }
        return seq
    }

    /// Replaces the checkpoint durably: written to a temporary file, synced, renamed.
    public static func write(_ fs: any FileSystem, _ path: String, _ seq: UInt64) throws {
        let dir = Path.parent(path)
        try fs.createDirectory(dir)
        let tmp = path + ".tmp"
        let f = try fs.open(tmp, create: true)
        do {
            try f.truncate(to: 0)
            try f.write(Array("\(seq)\n".utf8), at: 0)
            try f.sync()
            f.close()
        } catch {
            f.close()
            throw error
        }
        try fs.rename(tmp, to: path)
        try fs.syncDirectory(dir)
    }
}
