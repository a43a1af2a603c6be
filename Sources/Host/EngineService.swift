import DriftCore
import Logging
import ServiceLifecycle

/// Keeps the database open for the life of the service group; on graceful shutdown
/// (SIGTERM, SIGINT) it drains commits, syncs and closes the store.
struct EngineService: Service {
    let engine: Engine
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("shutting down: draining commits and closing the store", metadata: ["seq": "\(engine.visibleSeq)"])
        engine.close()
    }
}

/// Plugins compiled into this build, by kind. A config naming any other kind is refused.
enum PluginRegistry {
    typealias Factory = @Sendable (HostConfig.PluginConfig, Engine, Logger) throws -> any Service
    static let kinds: [String: Factory] = [:]

    /// Kinds that exist as modules but whose plugin has not shipped yet.
    static let upcoming = ["pgwire", "auth", "metrics", "cdc"]

    /// Refuses a config naming a plugin kind this build does not have.
    static func validate(_ config: HostConfig, source: String) throws {
        for p in config.plugins where kinds[p.kind] == nil {
            let why = upcoming.contains(p.kind)
                ? "plugin kind \"\(p.kind)\" is not available in this build yet"
                : "unknown plugin kind \"\(p.kind)\" (this build has: \(kinds.isEmpty ? "none" : kinds.keys.sorted().joined(separator: ", ")))"
            throw ConfigError(file: source, line: p.line, key: "plugins[].kind", message: why)
        }
    }

    static func build(_ config: HostConfig, source: String, engine: Engine, logger: Logger) throws -> [any Service] {
        try validate(config, source: source)
        return try config.plugins.map { try kinds[$0.kind]!($0, engine, logger) }
    }
}
