import ArgumentParser
import DriftCore
import DriftSQL
import DriftStorage
import Logging

@main
struct DriftDBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "driftdb",
        abstract: "DriftDB: an append-only, time-travel database with PostgreSQL's SQL.",
        version: DriftDBVersion.description,
        subcommands: [Serve.self, Init.self, SQLCommand.self, Select.self, Drift.self, SnapshotCommand.self,
                      CompactCommand.self, Doctor.self, Analyze.self, CDCCommand.self, SLTCommand.self],
        defaultSubcommand: Serve.self)
}

/// The release and the on-disk formats it reads and writes.
enum DriftDBVersion {
    static let current = Engine.productVersion
    static var description: String {
        "driftdb \(current) (log format \(SegmentHeader.formatVersion), snapshot format \(SnapshotFile.formatVersion))"
    }
}

/// An error the CLI reports as one line and exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct DataOption: ParsableArguments {
    @Option(name: [.short, .customLong("data")], help: "The data directory.")
    var data: String
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print results as CSV.") var csv = false
    @Flag(help: "Print results as one JSON array of objects per result.") var json = false

    var format: OutputFormat { json ? .json : csv ? .csv : .table }

    func validate() throws {
        if csv && json { throw ValidationError("--csv and --json exclude each other") }
    }
}

enum CLI {
    nonisolated(unsafe) static var loggingReady = false

    static func bootstrapLogging(_ level: Logger.Level) {
        guard !loggingReady else { return }
        loggingReady = true
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    /// Opens an existing database for a one-shot command (no automatic snapshots: a
    /// short-lived command writes nothing it was not asked to).
    static func open(_ dir: String) throws -> Engine {
        bootstrapLogging(.warning)
        guard Engine.exists(at: dir) else {
            throw CLIError("no DriftDB database in \(dir) (create one with `driftdb init \(dir)`)")
        }
        var c = EngineConfig()
        c.snapshotEveryEvents = 0
        c.snapshotEveryBytes = 0
        return try Engine.open(at: dir, config: c, logger: Logger(label: "driftdb"))
    }

    /// Runs `body`, printing any error as one line and exiting with status 1.
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as ExitCode {
            throw e
        } catch {
            printError("driftdb: " + describe(error))
            throw ExitCode(1)
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as SQLError:
            var s = "ERROR \(e.code.rawValue): \(e.message)"
            if let d = e.detail { s += " (\(d))" }
            if let p = e.position { s += " at character \(p)" }
            return s
        default:
            return "\(error)"
        }
    }
}
