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

    static func build(_ config: HostConfig, source: String, engine: Engine, logger: Logger) throws -> [any Service] {
        try config.plugins.map { p in
            guard let make = kinds[p.kind] else {
                let why = upcoming.contains(p.kind)
                    ? "plugin kind \"\(p.kind)\" is not available in this build yet"
                    : "unknown plugin kind \"\(p.kind)\" (this build has: \(kinds.keys.sorted().joined(separator: ", ")))"
                throw ConfigError(file: source, line: p.line, key: "plugins[].kind", message: why)
            }
            return try make(p, engine, logger)
        }
    }
}
