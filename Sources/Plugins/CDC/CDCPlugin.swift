import DriftCore
import DriftPluginAPI
import DriftStorage
import Logging
import ServiceLifecycle

/// Change data capture to Kafka: every committed transaction, in seq order, as
/// Debezium-compatible records (see `DebeziumEncoder`), from a durable per-sink checkpoint.
/// Several may run (`name` tells them apart).
public final class CDCPlugin: DriftPlugin, @unchecked Sendable {
    public static let kind = "cdc"

    public enum SnapshotMode: Sendable, Equatable {
        /// On the first start, every current row as a read (`op: r`), then the stream after it.
        case initial
        /// On the first start, stream from the current seq on.
        case never
        /// On the first start, re-emit the log from this seq on.
        case fromSeq(UInt64)
    }

    public struct Settings: Sendable {
        public var name: String
        public var brokers: String
        public var topicPrefix: String?
        public var include: [String]
        public var exclude: [String]
        public var envelope: String
        public var tombstones: Bool
        public var transactionsTopic: String?
        public var schemaChangesTopic: String?
        public var deadLetterTopic: String?
        public var heartbeatMillis: Int
        public var schemas: Bool
        public var stallMillis: Int
        public var snapshot: SnapshotMode
        public var producer: [(String, String)]
    }

    public static func settings(from section: inout ConfigSection) throws -> Settings {
        let name = try section.string("name") ?? "cdc"
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 }) else {
            throw section.error("name", "a sink name is lower-case letters, digits, _ and -")
        }
        guard let brokers = try section.string("brokers"), !brokers.isEmpty else {
            throw section.error("brokers", "required: the Kafka bootstrap servers, host:port[,host:port...]")
        }
        let prefix = try section.string("topic_prefix")
        if let p = prefix, p.isEmpty || p.contains(where: { !($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            throw section.error("topic_prefix", "a topic prefix is letters, digits, '.', '_' and '-'")
        }
        var include: [String] = [], exclude: [String] = []
        if let t = section.value("tables") {
            guard case .mapping(let entries, _) = t else { throw section.error("tables", "expected include: and exclude: lists of globs") }
            for e in entries {
                guard e.key == "include" || e.key == "exclude" else { throw section.error("tables", "unknown key \(e.key) (include, exclude)") }
                let globs: [String]
                switch e.value {
                case .scalar(let s, _): globs = [s]
                case .sequence(let items, _):
                    globs = try items.map {
                        guard case .scalar(let s, _) = $0 else { throw section.error("tables", "\(e.key): expected globs such as public.orders or sales.*") }
                        return s
                    }
                case .mapping: throw section.error("tables", "\(e.key): expected globs such as public.orders or sales.*")
                }
                if e.key == "include" { include += globs } else { exclude += globs }
            }
        }
        let envelope = try section.string("envelope") ?? "debezium"
        guard DebeziumEncoder.Envelope(rawValue: envelope) != nil else { throw section.error("envelope", "expected debezium or row") }
        let schemas = try section.bool("schemas") ?? false
        let tombstones = try section.bool("tombstones") ?? true
        func topic(_ key: String) throws -> String? {
            guard let t = try section.string(key) else { return nil }
            guard !t.isEmpty, t.utf8.count <= 249, t != ".", t != "..",
                  t.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || "._-".contains($0) }) else {
                throw section.error(key, "a Kafka topic name is 1 to 249 of letters, digits, '.', '_' and '-'")
            }
            return t
        }
        let transactions = try topic("transactions")
        let schemaChanges = try topic("schema_changes")
        let deadLetter = try topic("dead_letter_topic")
        let heartbeat = try section.int("heartbeat_ms", min: 10, max: 86_400_000) ?? 0
        let stall = try section.int("stall_timeout_ms", min: 1000, max: 86_400_000) ?? 60_000
        let mode = try section.string("snapshot_mode") ?? "initial"
        let fromSeq = try section.int("from_seq", min: 1, max: Int.max)
        let snapshot: SnapshotMode
        switch mode {
        case "never":
            if fromSeq != nil { throw section.error("from_seq", "only with snapshot_mode: from_seq") }
            snapshot = .never
        case "from_seq":
            guard let n = fromSeq else { throw section.error("from_seq", "required with snapshot_mode: from_seq") }
            snapshot = .fromSeq(UInt64(n))
        case "initial":
            if fromSeq != nil { throw section.error("from_seq", "only with snapshot_mode: from_seq") }
            snapshot = .initial
        default:
            throw section.error("snapshot_mode", "expected initial, never or from_seq")
        }
        var producer: [(String, String)] = []
        if let p = section.value("producer") {
            guard case .mapping(let entries, _) = p else { throw section.error("producer", "expected librdkafka settings, key: value") }
            func error(_ e: ConfigEntry, _ message: String) -> ConfigError {
                ConfigError(file: section.file, line: e.line, key: "\(section.path).producer.\(e.key)", message: message)
            }
            for e in entries {
                guard case .scalar(let v, _) = e.value else { throw error(e, "expected a value") }
                if let forced = KafkaProducer.forced.first(where: { $0.0 == e.key }), forced.1 != v {
                    throw error(e, "the sink needs \(forced.1) (no duplicate, lost or reordered record)")
                }
                if e.key == "bootstrap.servers" { throw error(e, "set brokers instead") }
                if let bad = KafkaProducer.check([(e.key, v)]) { throw error(e, bad.message) }
                producer.append((e.key, v))
            }
        }
        try section.finish()
        return Settings(name: name, brokers: brokers, topicPrefix: prefix, include: include, exclude: exclude, envelope: envelope,
                        tombstones: tombstones, transactionsTopic: transactions, schemaChangesTopic: schemaChanges,
                        deadLetterTopic: deadLetter, heartbeatMillis: heartbeat, schemas: schemas, stallMillis: stall, snapshot: snapshot, producer: producer)
    }

    let settings: Settings
    let context: PluginContext
    let sink: CDCSink

    public init(settings: Settings, context: PluginContext) throws {
        self.settings = settings
        self.context = context
        let prefix = settings.topicPrefix ?? context.database
        var encoder = DebeziumEncoder(prefix: prefix, database: context.database, version: Engine.productVersion)
        encoder.envelope = DebeziumEncoder.Envelope(rawValue: settings.envelope) ?? .debezium
        encoder.tombstones = settings.tombstones
        encoder.transactionTopic = settings.transactionsTopic
        encoder.schemaChangeTopic = settings.schemaChangesTopic
        encoder.schemas = settings.schemas
        let engine = context.engine
        let path = CDCCheckpoints.path(directory: engine.directory, sink: settings.name)
        let start: UInt64
        var takeSnapshot = false
        if let saved = try CDCCheckpoints.read(engine.fs, path) {
            start = saved
        } else {
            switch settings.snapshot {
            case .initial:
                // The checkpoint is written once the broker has every snapshot record.
                start = engine.visibleSeq
                takeSnapshot = true
            case .never:
                start = engine.visibleSeq
                try CDCCheckpoints.write(engine.fs, path, start)
            case .fromSeq(let n):
                start = n - 1
                try CDCCheckpoints.write(engine.fs, path, start)
            }
        }
        let include = settings.include, exclude = settings.exclude
        sink = CDCSink(name: settings.name, engine: engine, encoder: encoder, include: { name in
            (include.isEmpty || include.contains { Glob.matches($0, name) }) && !exclude.contains { Glob.matches($0, name) }
        }, startAfter: start, snapshot: takeSnapshot, deadLetterTopic: settings.deadLetterTopic,
           heartbeatMillis: settings.heartbeatMillis, stallMillis: settings.stallMillis, logger: context.logger)
    }

    public var endpoints: [String] { ["\(settings.name) -> \(settings.brokers)"] }

    public func prepare() throws {
        try sink.start(brokers: settings.brokers, producerSettings: settings.producer)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let drain = Int32(clamping: context.drainTimeout.components.seconds * 1000)
        // Stopping joins threads and waits for the broker's acknowledgements: done on a thread
        // of its own, never blocking one of the few threads Swift's tasks run on.
        let sink = self.sink
        let stopper = Box<OSThread?>(nil)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            do {
                stopper.value = try OSThread(name: "cdc-stop") {
                    sink.stop(drainMillis: max(drain, 1000))
                    done.resume()
                }
            } catch {
                sink.stop(drainMillis: max(drain, 1000))
                done.resume()
            }
        }
        stopper.value?.join()
    }
}

final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Shell-style globs over `schema.table`: `*` any run of characters, `?` one.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(text.utf8)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
