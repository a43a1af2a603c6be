import ArgumentParser
import DriftCDC
import DriftCore
import DriftSQL

/// `driftdb cdc`: the change-data sinks' checkpoints, read or moved on a stopped server
/// (the database is opened, so a running server refuses it: the directory is in use).
struct CDCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdc", abstract: "Change-data sinks' checkpoints (on a stopped server).",
        subcommands: [CDCStatus.self, CDCReset.self])
}

struct CDCStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Each sink's checkpoint and how many seqs it has still to send.")

    @OptionGroup var data: DataOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        try CLI.run {
            let engine = try CLI.open(data.data)
            defer { engine.close() }
            let visible = engine.visibleSeq
            let columns = [ResultColumn(name: "sink", type: .text), ResultColumn(name: "checkpoint_seq", type: .int8),
                           ResultColumn(name: "lag_seqs", type: .int8)]
            let rows: [[Value]] = try CDCCheckpoints.all(directory: engine.directory, fs: engine.fs).map { sink, seq in
                [.text(sink), .int(Int64(clamping: seq)), .int(Int64(clamping: visible > seq ? visible - seq : 0))]
            }
            ResultPrinter(format: output.format).print(StatementResult(tag: "CDC STATUS", columns: columns, rows: rows))
        }
    }
}

struct CDCReset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset", abstract: "Make a sink re-emit the log from a seq on, at its next start.")

    @OptionGroup var data: DataOption
    @Option(help: "The sink (its name in plugins.yaml).") var sink: String
    @Option(name: .customLong("to-seq"), help: "The first seq to send again (1 re-emits the whole log).") var toSeq: UInt64

    func run() throws {
        try CLI.run {
            let engine = try CLI.open(data.data)
            defer { engine.close() }
            let path = CDCCheckpoints.path(directory: engine.directory, sink: sink)
            guard let old = try CDCCheckpoints.read(engine.fs, path) else {
                let known = try CDCCheckpoints.all(directory: engine.directory, fs: engine.fs).map(\.sink)
                throw CLIError("no cdc sink \"\(sink)\" has run on this database"
                               + (known.isEmpty ? "" : " (sinks: \(known.joined(separator: ", ")))"))
            }
            guard toSeq >= 1, toSeq <= engine.visibleSeq + 1 else {
                throw CLIError("--to-seq must be from 1 to \(engine.visibleSeq + 1) (the next seq to commit)")
            }
            try CDCCheckpoints.write(engine.fs, path, toSeq - 1)
            print("cdc sink \(sink): was at seq \(old); re-emits from seq \(toSeq) at its next start")
        }
    }
}
