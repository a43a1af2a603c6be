import DriftCore
import DriftPluginAPI
import DriftStorage
import Logging
import Yams

/// The host's configuration (`plugins.yaml`).
struct HostConfig {
    var dataPath = "./data"
    var database = "driftdb"
    var engine = EngineConfig()
    var logLevel: Logger.Level = .info
    /// How long a graceful stop lets running statements finish before cancelling them.
    var shutdownTimeoutMillis = 10_000
    var plugins: [PluginConfig] = []

    struct PluginConfig {
        var kind: String
        var line: Int
        /// The plugin's settings (every key of its list item but `kind`).
        var section: ConfigSection
    }
}

extension HostConfig {
    /// The text of the repository's `plugins.yaml`, built into the binary.
    static let embeddedDefault = #"""
# DriftDB host configuration: the embedded default.
#
# `driftdb serve` reads this file (or --config FILE); a built binary carries
# this same text and uses it when no file is given and none is in the
# working directory.

# Where the database lives; a missing directory is initialised on start.
data_path: ./data

# The database name clients connect to (another name is refused with 3D000).
database: driftdb

storage:
  # fsync: a commit is acknowledged after fdatasync (the default).
  # batch: acknowledged after the write, synced at least every batch_ms.
  # none:  synced only at segment rotation and shutdown.
  durability: fsync
  batch_ms: 10
  # Segments rotate when the next commit would pass this size.
  segment_size_bytes: 67108864
  # Automatic snapshots: after this many row events (and no fewer than the keys the last
  # snapshot held: a snapshot writes every key) or log bytes (0 disables either).
  snapshot_every_events: 100000
  snapshot_every_bytes: 268435456
  # lock_timeout for transactions, in milliseconds (0 waits forever).
  lock_timeout_ms: 0
  # tail:   damage at the end of the newest segment with no valid frame after it (what a
  #         power loss leaves after the last synced write) ends the log: it is cut, its
  #         bytes kept in <data_path>/quarantine/, and the database opens.
  # strict: any damage refuses the open; `driftdb doctor --repair` cuts it on request.
  recovery: tail

# trace | debug | info | notice | warning | error | critical
log_level: info

# On SIGTERM or SIGINT: stop accepting connections, let running statements
# finish for up to this long (then cancel them), roll back open transactions,
# sync and exit 0.
shutdown_timeout_ms: 10000

# Plugins to run, by kind, each with its own settings; one kind may run more
# than once. Naming a kind this build does not have is an error, never ignored.
plugins:
  # The PostgreSQL wire protocol: psql -h 127.0.0.1 -p 5433 -U driftdb driftdb
  - kind: pgwire
    listen: 127.0.0.1:5433
    # unix_socket_dir: /tmp       # also .s.PGSQL.5433 there, as libpq expects
    # max_connections: 100
    # authentication_timeout_ms: 60000  # a client not connected by then is dropped
    # tls_cert: server.crt        # with tls_key: TLS for clients that ask (sslmode=require)
    # tls_key: server.key
  # Prometheus metrics at http://127.0.0.1:9187/metrics, health at /health.
  - kind: metrics
    listen: 127.0.0.1:9187

"""#

    static func parse(_ text: String, file: String) throws -> HostConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            let key = duplicates.first ?? "?"
            let lines = duplicateKeyLines(key, in: text)
            throw ConfigError(file: file, line: lines.first ?? context.mark.line, key: key,
                              message: "given twice (lines \(lines.map(String.init).joined(separator: " and ")))")
        } catch let e as YamlError {
            throw ConfigError(file: file, line: nil, key: "(document)", message: "\(e)")
        }
        var config = HostConfig()
        guard let root else { return config }
        guard let top = root.mapping else {
            throw ConfigError(file: file, line: root.mark?.line, key: "(document)", message: "expected a mapping of settings")
        }
        try refuseDuplicateKeys(root, file: file, path: "")
        for (k, v) in top {
            let key = k.string ?? "?"
            func err(_ m: String, _ n: Node = v, _ name: String? = nil) -> ConfigError {
                ConfigError(file: file, line: n.mark?.line, key: name ?? key, message: m)
            }
            switch key {
            case "data_path":
                guard let s = v.string, !s.isEmpty else { throw err("expected a path") }
                config.dataPath = s
            case "database":
                guard let s = v.string, !s.isEmpty, s.utf8.count <= Limits.identifierBytesMax else {
                    throw err("expected a database name of 1 to \(Limits.identifierBytesMax) bytes")
                }
                config.database = s
            case "shutdown_timeout_ms":
                guard let s = v.string, let ms = Int(s), ms >= 0, ms <= Limits.timeoutMillisMax else {
                    throw err("expected an integer from 0 to \(Limits.timeoutMillisMax)")
                }
                config.shutdownTimeoutMillis = ms
            case "log_level":
                guard let s = v.string, let level = Logger.Level(rawValue: s) else {
                    throw err("expected one of trace, debug, info, notice, warning, error, critical")
                }
                config.logLevel = level
            case "storage":
                try parseStorage(v, into: &config.engine, file: file)
            case "plugins":
                guard let seq = v.sequence else { throw err("expected a list of plugins") }
                for (i, item) in seq.enumerated() {
                    guard let m = item.mapping, let kind = m["kind"]?.string else {
                        throw err("each plugin needs a `kind`", item, "plugins[\(i)]")
                    }
                    let entries = m.compactMap { k, v -> ConfigEntry? in
                        guard let key = k.string, key != "kind" else { return nil }
                        return ConfigEntry(key: key, line: k.mark?.line ?? 0, value: configValue(v))
                    }
                    let section = ConfigSection(file: file, path: "plugins[\(i)]", line: item.mark?.line ?? 0, entries: entries)
                    config.plugins.append(PluginConfig(kind: kind, line: m["kind"]?.mark?.line ?? item.mark?.line ?? 0, section: section))
                }
            default:
                throw err("unknown setting")
            }
        }
        return config
    }

    /// A YAML node as the parser-neutral tree plugins read.
    static func configValue(_ n: Node) -> ConfigValue {
        let line = n.mark?.line ?? 0
        if let m = n.mapping {
            return .mapping(m.map { k, v in ConfigEntry(key: k.string ?? "?", line: k.mark?.line ?? line, value: configValue(v)) }, line: line)
        }
        if let s = n.sequence { return .sequence(s.map(configValue), line: line) }
        return .scalar(n.string ?? "", line: line)
    }

    /// The lines where `key` is written as a mapping key at one indentation within one block
    /// (the parser reports the duplicate's name only; this finds where it is).
    static func duplicateKeyLines(_ key: String, in text: String) -> [Int] {
        var groups: [Int: [Int]] = [:]
        var best: [Int] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            var body = Substring(line)
            while body.first == " " { body.removeFirst() }
            let indent = line.count - body.count
            if body.hasPrefix("- ") { body.removeFirst(2) }
            let isKey = body.hasPrefix(key) && body.dropFirst(key.count).trimming(" ").hasPrefix(":")
            let isContent = !body.isEmpty && !body.hasPrefix("#")
            // A line less indented than a group ends that group's block.
            if isContent { groups = groups.filter { $0.key <= indent } }
            if isKey {
                groups[indent, default: []].append(number + 1)
                if let g = groups[indent], g.count >= 2, best.isEmpty { best = Array(g.prefix(2)) }
            }
            if body.contains("{") && occurrences(key + ":", in: body) >= 2 && best.isEmpty { best = [number + 1, number + 1] }
        }
        return best
    }

    static func occurrences(_ needle: String, in hay: Substring) -> Int {
        let n = Array(needle.utf8), h = Array(hay.utf8)
        guard !n.isEmpty, h.count >= n.count else { return 0 }
        return (0...(h.count - n.count)).filter { h[$0..<($0 + n.count)].elementsEqual(n) }.count
    }

    /// A key given twice in one mapping is an error naming both lines (YAML parsers would
    /// silently keep the last one).
    static func refuseDuplicateKeys(_ node: Node, file: String, path: String) throws {
        if let m = node.mapping {
            var seen: [String: Int] = [:]
            for (k, v) in m {
                let name = k.string ?? "?"
                let full = path.isEmpty ? name : path + "." + name
                let line = k.mark?.line ?? 0
                if let first = seen[name] {
                    throw ConfigError(file: file, line: line, key: full, message: "given twice (lines \(first) and \(line))")
                }
                seen[name] = line
                try refuseDuplicateKeys(v, file: file, path: full)
            }
        } else if let s = node.sequence {
            for item in s { try refuseDuplicateKeys(item, file: file, path: path + "[]") }
        }
    }

    static func parseStorage(_ node: Node, into e: inout EngineConfig, file: String) throws {
        guard let m = node.mapping else {
            throw ConfigError(file: file, line: node.mark?.line, key: "storage", message: "expected a mapping")
        }
        var batchMs = 10
        var mode = "fsync"
        var modeNode: Node?
        for (k, v) in m {
            let key = "storage." + (k.string ?? "?")
            func int(_ min: Int, max: Int = Int(Int32.max)) throws -> Int {
                guard let s = v.string, let i = Int(s), i >= min, i <= max else {
                    throw ConfigError(file: file, line: v.mark?.line, key: key, message: "expected an integer from \(min) to \(max)")
                }
                return i
            }
            switch k.string ?? "" {
            case "durability":
                mode = v.string ?? ""
                modeNode = v
            case "batch_ms": batchMs = try int(1, max: Limits.batchMillisMax)
            case "segment_size_bytes": e.segmentBytesMax = try int(Limits.segmentBytesMin, max: 1 << 34)
            case "snapshot_every_events": e.snapshotEveryEvents = try int(0, max: Int.max)
            case "snapshot_every_bytes": e.snapshotEveryBytes = try int(0, max: Int.max)
            case "lock_timeout_ms":
                let ms = try int(0, max: Limits.timeoutMillisMax)
                e.lockTimeoutMillis = ms == 0 ? nil : ms
            case "block_cache_bytes": e.blockCacheBytes = try int(1 << 20, max: Int.max)
            case "recovery":
                guard let s = v.string, let policy = RecoveryPolicy(rawValue: s) else {
                    throw ConfigError(file: file, line: v.mark?.line, key: key, message: "expected one of tail, strict")
                }
                e.recovery = policy
            default:
                throw ConfigError(file: file, line: k.mark?.line, key: key, message: "unknown setting")
            }
        }
        switch mode {
        case "fsync": e.durability = .fsync
        case "batch": e.durability = .batch(milliseconds: batchMs)
        case "none": e.durability = .none
        default:
            throw ConfigError(file: file, line: modeNode?.mark?.line, key: "storage.durability",
                              message: "expected one of fsync, batch, none (got \"\(mode)\")")
        }
    }

    /// Reads `path`, or `./plugins.yaml`, or the embedded default.
    static func load(path: String?) throws -> (HostConfig, String) {
        let fs = PosixFileSystem()
        let chosen = path ?? (fs.fileExists("plugins.yaml") ? "plugins.yaml" : nil)
        guard let chosen else { return (try parse(embeddedDefault, file: "(embedded plugins.yaml)"), "(embedded plugins.yaml)") }
        guard fs.fileExists(chosen) else {
            throw ConfigError(file: chosen, line: nil, key: "(file)", message: "no such file")
        }
        let bytes = try fs.open(chosen, create: false).readAll()
        return (try parse(String(decoding: bytes, as: UTF8.self), file: chosen), chosen)
    }
}
