import ArgumentParser
import DriftCore
import DriftSQL
import DriftStorage

struct SQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run SQL and DriftQL statements: from -e, from -f, or at an interactive prompt.",
        discussion: "Statements run one by one as psql runs them, each in its own transaction unless the input says BEGIN. The first error stops the run.")

    @OptionGroup var data: DataOption
    @Option(name: .short, help: "Statements to run.") var execute: String?
    @Option(name: .short, help: "A file of statements to run.") var file: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if execute != nil && file != nil { throw ValidationError("-e and -f exclude each other") }
    }

    func run() throws {
        try CLI.run {
            var script: String?
            if let execute { script = execute }
            if let file {
                guard PosixFileSystem().fileExists(file) else { throw CLIError("\(file): no such file") }
                script = String(decoding: try PosixFileSystem().open(file, create: false).readAll(), as: UTF8.self)
            }
            let engine = try CLI.open(data.data)
            defer { engine.close() }
            let session = Session(engine: engine)
            let printer = ResultPrinter(format: output.format)
            if let script {
                try runScript(script, session, printer)
            } else if isTerminal(0) {
                interactive(session, printer)
            } else {
                var text = ""
                while let line = readLine(strippingNewline: false) { text += line }
                try runScript(text, session, printer)
            }
            if let open = session.block {
                open.rollback()
                printError("driftdb: the input ended inside a transaction block; it was rolled back")
            }
        }
    }

    func runScript(_ script: String, _ session: Session, _ printer: ResultPrinter) throws {
        let statements: [String]
        do {
            statements = try Lexer.splitStatements(script)
        } catch let e as LexError {
            throw SQLError(.syntaxError, e.message, position: e.offset + 1)
        }
        for s in statements {
            printer.print(try session.executeOne(s))
        }
    }

    func interactive(_ session: Session, _ printer: ResultPrinter) {
        print("driftdb \(data.data) — SQL and DriftQL; end statements with ';', \\q quits.")
        var buffer = ""
        while true {
            print(buffer.isEmpty ? "driftdb=> " : "driftdb-> ", terminator: "")
            flushStdout()
            guard let line = readLine() else { break }
            if buffer.isEmpty && line.trimming() == "\\q" { break }
            buffer += line + "\n"
            guard let statements = try? Lexer.splitStatements(buffer), !statements.isEmpty,
                  buffer.trimming().hasSuffix(";") else { continue }
            for s in statements {
                do {
                    printer.print(try session.executeOne(s))
                } catch {
                    printError(CLI.describe(error))
                }
            }
            buffer = ""
        }
    }
}
