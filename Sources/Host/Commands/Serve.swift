import ArgumentParser
import DriftCore
import DriftMetrics
import DriftPluginAPI
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: open the database and the plugins the config names (the default command).")

    @Option(help: "The config file (default: ./plugins.yaml, else the embedded default).")
    var config: String?

    @Option(name: .customLong("data-path"), help: "The data directory (overrides data_path).")
    var dataPath: String?

    func run() async throws {
        let loaded: (HostConfig, String)
        do {
            loaded = try HostConfig.load(path: config)
        } catch {
            printError("driftdb: " + CLI.describe(error))
            throw ExitCode(2)
        }
        var (cfg, source) = loaded
        if let dataPath { cfg.dataPath = dataPath }
        let validated: [(HostConfig.PluginConfig, any Sendable)]
        do {
            validated = try PluginRegistry.validate(cfg, source: source)
        } catch {
            printError("driftdb: " + CLI.describe(error))
            throw ExitCode(2)
        }
        CLI.bootstrapLogging(cfg.logLevel)
        // Before anything makes a metric handle: handles made earlier stay no-ops.
        if cfg.plugins.contains(where: { $0.kind == MetricsPlugin.kind }) { MetricsPlugin.bootstrap() }
        let logger = Logger(label: "driftdb")
        let engine: Engine
        do {
            engine = try Engine.open(at: cfg.dataPath, config: cfg.engine, create: true, logger: logger)
        } catch {
            printError("driftdb: " + CLI.describe(error))
            throw ExitCode(1)
        }
        let plugins: [PluginRegistry.Built]
        do {
            let context = PluginContext(engine: engine, database: cfg.database, logger: logger, extensions: PluginExtensions(),
                                        drainTimeout: .milliseconds(cfg.shutdownTimeoutMillis))
            plugins = try PluginRegistry.build(validated, context: context)
        } catch {
            engine.close()
            printError("driftdb: " + CLI.describe(error))
            throw ExitCode(error is ConfigError ? 2 : 1)
        }
        let endpoints = plugins.flatMap { p in p.endpoints().map { "\(p.kind) \($0)" } }
        logger.info("database open", metadata: [
            "data_path": "\(cfg.dataPath)", "config": "\(source)", "database": "\(cfg.database)", "seq": "\(engine.visibleSeq)",
            "listen": "\(endpoints.isEmpty ? "none" : endpoints.joined(separator: ", "))",
            "plugins": "\(cfg.plugins.isEmpty ? "none" : cfg.plugins.map(\.kind).joined(separator: ","))",
            "recovery_ms": "\(engine.recovery.durationMicros / 1000)",
        ])
        let group = ServiceGroup(services: [EngineService(engine: engine, logger: logger)] + plugins.map(\.service),
                                 gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await group.run()
    }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an empty database in a directory.")

    @Argument(help: "The data directory to create.")
    var directory: String

    func run() throws {
        try CLI.run {
            CLI.bootstrapLogging(.warning)
            guard !Engine.exists(at: directory) else { throw CLIError("\(directory) already holds a DriftDB database") }
            try Engine.initialize(at: directory)
            print("initialised an empty database in \(directory)")
        }
    }
}
