import ArgumentParser
import DriftCore
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
        do {
            try PluginRegistry.validate(cfg, source: source)
        } catch {
            printError("driftdb: " + CLI.describe(error))
            throw ExitCode(2)
        }
        CLI.bootstrapLogging(cfg.logLevel)
        let logger = Logger(label: "driftdb")
        let engine: Engine
        let plugins: [any Service]
        do {
            engine = try Engine.open(at: cfg.dataPath, config: cfg.engine, create: true, logger: logger)
        } catch {
            printError("driftdb: " + CLI.describe(error))
            throw ExitCode(1)
        }
        do {
            plugins = try PluginRegistry.build(cfg, source: source, engine: engine, logger: logger)
        } catch {
            engine.close()
            printError("driftdb: " + CLI.describe(error))
            throw ExitCode(2)
        }
        logger.info("database open", metadata: [
            "data_path": "\(cfg.dataPath)", "config": "\(source)", "seq": "\(engine.visibleSeq)",
            "plugins": "\(cfg.plugins.isEmpty ? "none" : cfg.plugins.map(\.kind).joined(separator: ","))",
            "recovery_ms": "\(engine.recovery.durationMicros / 1000)",
        ])
        let group = ServiceGroup(services: [EngineService(engine: engine, logger: logger)] + plugins,
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
