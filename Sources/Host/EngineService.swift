import DriftAuth
import DriftCDC
import DriftCore
import DriftMetrics
import DriftPGWire
import DriftPluginAPI
import Logging
import ServiceLifecycle

/// Keeps the database open for the life of the service group; on graceful shutdown
/// (SIGTERM, SIGINT) it drains commits, syncs and closes the store. It is the first
/// service of the group, so it stops last: after every plugin has stopped.
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
    /// A plugin built from its settings, before it runs.
    struct Built {
        let kind: String
        let service: any Service
        let prepare: () throws -> Void
        let endpoints: () -> [String]
    }

    struct Factory: Sendable {
        let settings: @Sendable (inout ConfigSection) throws -> any Sendable
        let build: @Sendable (any Sendable, PluginContext) throws -> Built
    }

    static func factory<P: DriftPlugin>(_ type: P.Type) -> Factory {
        Factory(
            settings: { try P.settings(from: &$0) },
            build: { settings, context in
                guard let s = settings as? P.Settings else {
                    throw ConfigError(file: "plugins.yaml", line: nil, key: P.kind, message: "settings of the wrong type")
                }
                let p = try P(settings: s, context: context)
                return Built(kind: P.kind, service: p, prepare: { try p.prepare() }, endpoints: { p.endpoints })
            })
    }

    static let kinds: [String: Factory] = [
        PGWirePlugin.kind: factory(PGWirePlugin.self),
        MetricsPlugin.kind: factory(MetricsPlugin.self),
        CDCPlugin.kind: factory(CDCPlugin.self),
        AuthPlugin.kind: factory(AuthPlugin.self),
    ]

    /// Kinds that exist as modules but whose plugin has not shipped yet.
    static let upcoming: [String] = []

    /// Reads every plugin's settings: an unknown kind, an unknown key or a bad value is a
    /// configuration error (before the database opens).
    static func validate(_ config: HostConfig, source: String) throws -> [(HostConfig.PluginConfig, any Sendable)] {
        try config.plugins.map { p in
            guard let f = kinds[p.kind] else {
                let why = upcoming.contains(p.kind)
                    ? "plugin kind \"\(p.kind)\" is not available in this build yet"
                    : "unknown plugin kind \"\(p.kind)\" (this build has: \(kinds.keys.sorted().joined(separator: ", ")))"
                throw ConfigError(file: source, line: p.line, key: "\(p.section.path).kind", message: why)
            }
            var section = p.section
            return (p, try f.settings(&section))
        }
    }

    /// Builds every plugin, then prepares each (listeners bind) once all are built.
    static func build(_ validated: [(HostConfig.PluginConfig, any Sendable)], context: PluginContext) throws -> [Built] {
        var built: [Built] = []
        for (p, settings) in validated {
            guard let f = kinds[p.kind] else { continue }
            built.append(try f.build(settings, context))
        }
        for b in built { try b.prepare() }
        return built
    }
}
