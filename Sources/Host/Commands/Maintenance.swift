import ArgumentParser
import DriftCore
import DriftSQL
import DriftStorage

struct Drift: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show every version of one row, oldest first (SHOW DRIFT).")

    @OptionGroup var data: DataOption
    @Option(help: "The table.") var table: String
    @Option(help: "The row's primary key.") var key: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        try CLI.run {
            let engine = try CLI.open(data.data)
            defer { engine.close() }
            let r = try Session(engine: engine).run(.showDrift(table: table, key: .text(key)))
            ResultPrinter(format: output.format).print(r)
        }
    }
}

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshot", abstract: "Write a snapshot now (of one table, or all).")

    @OptionGroup var data: DataOption
    @Option(help: "Only this table.") var table: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        try CLI.run {
            let engine = try CLI.open(data.data)
            defer { engine.close() }
            ResultPrinter(format: output.format).print(try Session(engine: engine).run(.snapshot(table: table)))
        }
    }
}

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Pack sealed segments into compressed blocks; no version is dropped.")

    @OptionGroup var data: DataOption
    @Option(help: "Only segments holding this table's events.") var table: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        try CLI.run {
            let engine = try CLI.open(data.data)
            defer { engine.close() }
            ResultPrinter(format: output.format).print(try Session(engine: engine).run(.compact(table: table)))
        }
    }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rows, versions, bytes and segments per table.")

    @OptionGroup var data: DataOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        try CLI.run {
            let engine = try CLI.open(data.data)
            defer { engine.close() }
            let a = try engine.analyze()
            let columns = [ResultColumn(name: "table", type: .text), ResultColumn(name: "rows", type: .int8),
                           ResultColumn(name: "keys", type: .int8), ResultColumn(name: "versions", type: .int8),
                           ResultColumn(name: "log_bytes", type: .int8), ResultColumn(name: "segments", type: .int8),
                           ResultColumn(name: "dropped", type: .bool)]
            let rows: [[Value]] = a.tables.map {
                [.text($0.name), .int(Int64($0.rows)), .int(Int64($0.keys)), .int(Int64($0.versions)),
                 .int(Int64($0.logBytes)), .int(Int64($0.segments)), .bool($0.dropped)]
            }
            let printer = ResultPrinter(format: output.format)
            printer.print(StatementResult(tag: "ANALYZE", columns: columns, rows: rows))
            if output.format == .table {
                print("seq \(a.lastSeq); \(a.segments) segments (\(a.packedSegments) packed), \(a.segmentBytes) bytes; "
                      + "\(a.snapshotFiles) snapshot files, \(a.snapshotBytes) bytes")
            }
        }
    }
}

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify every frame, snapshot and index; exit non-zero naming file and offset of any corruption.",
        discussion: "--repair cuts a torn or damaged tail of the log (and what follows it) and removes damaged snapshots, after printing what it will cut.")

    @OptionGroup var data: DataOption
    @Flag(help: "Cut damage out, after saying what will be cut.") var repair = false

    func run() throws {
        try CLI.run {
            CLI.bootstrapLogging(.warning)
            let report = try DriftCore.Doctor.check(directory: data.data)
            print("segments: \(report.segments), frames: \(report.frames), bytes: \(report.segmentBytes), last seq: \(report.lastSeq)")
            print("snapshots verified: \(report.snapshotsVerified); index entries verified: \(report.indexEntriesVerified)")
            for c in report.tornCuts { print("damaged tail (an interrupted write; cut and kept on the next open): \(c)") }
            for q in report.quarantined { print("quarantined tail (cut by an earlier recovery, kept): \(q.path) (\(q.bytes) bytes)") }
            for p in report.problems { printError("corruption: \(p)") }
            guard repair else {
                if !report.isHealthy {
                    printError("driftdb: \(report.problems.count) problem(s) found; `driftdb doctor -d \(data.data) --repair` can cut them out")
                    throw ExitCode(1)
                }
                print("ok")
                return
            }
            let actions = try DriftCore.Doctor.plan(report, directory: data.data)
            if actions.isEmpty {
                print("nothing to repair")
                return
            }
            print("repair will:")
            for a in actions { print("  - \(a)") }
            try DriftCore.Doctor.repair(actions, directory: data.data)
            let after = try DriftCore.Doctor.check(directory: data.data)
            guard after.isHealthy else {
                for p in after.problems { printError("still damaged: \(p)") }
                throw ExitCode(1)
            }
            print("repaired; the database verifies (last seq \(after.lastSeq))")
        }
    }
}
