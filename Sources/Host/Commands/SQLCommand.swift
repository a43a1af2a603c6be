import ArgumentParser
import DriftCore
import DriftSQL
import DriftStorage

struct SQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run SQL and DriftQL statements: from -e, from -f, piped in, or at an interactive prompt.",
        discussion: """
            Statements run one by one as psql runs a script, each in its own transaction unless the input says BEGIN. \
            An error is printed and the run goes on with the next statement (psql's default); --on-error-stop stops at \
            the first error. The exit status is 0 when every statement succeeded, 1 when any failed, and 3 when \
            --on-error-stop stopped the run (psql's code).
            """)

    @OptionGroup var data: DataOption
    @Option(name: .short, help: "Statements to run.") var execute: String?
    @Option(name: .short, help: "A file of statements to run.") var file: String?
    @Flag(name: .customLong("on-error-stop"), help: "Stop at the first failing statement (psql's ON_ERROR_STOP=1).")
    var onErrorStop = false
    @Flag(help: "Print one JSON object per statement on stdout, results and errors alike (for tools): {\"tag\",\"columns\",\"rows\"} or {\"error\":{\"code\",\"message\"}}.")
    var jsonl = false
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
            let printer = ResultPrinter(format: output.format, text: { [session] in session.text($0, $1) })
            var outcome = ScriptOutcome.succeeded
            if let script {
                outcome = runScript(script, source: file.map { "\($0):" }, session, printer)
            } else if isTerminal(0) {
                interactive(session, printer)
            } else {
                var text = ""
                while let line = readLine(strippingNewline: false) { text += line }
                outcome = runScript(text, source: "<stdin>:", session, printer)
            }
            if let open = session.block {
                open.rollback()
                printError("driftdb: the input ended inside a transaction block; it was rolled back")
            }
            switch outcome {
            case .succeeded: break
            case .failed: throw ExitCode(1)
            case .stopped: throw ExitCode(3)
            }
        }
    }

    enum ScriptOutcome { case succeeded, failed, stopped }

    /// Runs a script statement by statement. An error is printed with the statement's line
    /// (psql's `file:line:` prefix; `source` is nil for -e) and the run goes on, or stops
    /// with --on-error-stop.
    func runScript(_ script: String, source: String?, _ session: Session, _ printer: ResultPrinter) -> ScriptOutcome {
        let statements: [(text: String, line: Int)]
        do {
            statements = try Lexer.splitStatementsWithLines(script)
        } catch let e as LexError {
            printError("driftdb: ERROR 42601: \(e.message)")
            return onErrorStop ? .stopped : .failed
        } catch {
            printError("driftdb: \(CLI.describe(error))")
            return .failed
        }
        var failed = false
        for s in statements {
            if jsonl {
                do {
                    print(JSONLines.result(try session.executeOne(s.text), session))
                } catch {
                    print(JSONLines.error(error))
                    failed = true
                    if onErrorStop { return .stopped }
                }
                continue
            }
            do {
                printer.print(try session.executeOne(s.text))
            } catch {
                // psql's prefix: `file:line:` for a script, none for -e.
                printError("driftdb:" + (source.map { "\($0)\(s.line):" } ?? "") + " " + CLI.describe(error))
                if onErrorStop { return .stopped }
                failed = true
            }
        }
        return failed ? .failed : .succeeded
    }

    /// psql's prompt: `=>` idle, `=*>` inside a transaction block, `=!>` in a failed one,
    /// `->` while a statement continues over lines.
    static func prompt(_ session: Session, continuing: Bool) -> String {
        if continuing { return "driftdb-> " }
        guard let b = session.block else { return "driftdb=> " }
        return b.state == .failed ? "driftdb=!> " : "driftdb=*> "
    }

    func interactive(_ session: Session, _ printer: ResultPrinter) {
        print("driftdb \(DriftDBVersion.current) on \(data.data): SQL and DriftQL; end statements with ';', \\q quits.")
        var buffer = ""
        while true {
            print(Self.prompt(session, continuing: !buffer.isEmpty), terminator: "")
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
