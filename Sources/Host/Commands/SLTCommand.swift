import ArgumentParser
import Dispatch
import DriftCore
import DriftSQL
import DriftStorage
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `driftdb slt`: runs sqllogictest files in-process and prints per-file counts.
struct SLTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slt",
        abstract: "Run sqllogictest files (SQLite's SQL correctness corpus) as the engine postgresql.",
        discussion: "Each file runs on a fresh in-memory database. With --baseline, exits 1 when a file passes fewer records than the baseline lists for it.")

    @Argument(help: "Test files or directories (searched for *.test).") var paths: [String]
    @Option(help: "A baseline file: lines of `path passed failed skipped`, paths relative to --root.") var baseline: String?
    @Option(help: "Directory the baseline's paths are relative to (default: the first directory argument).") var root: String?
    @Option(help: "Files run at once.") var jobs: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    @Flag(help: "Print failing records.") var verbose = false
    @Option(help: "Failing records printed per file with --verbose.") var maxFailures = 20
    @Option(help: "Print records that take longer than this many milliseconds.") var slow: Int?

    func run() throws {
        CLI.bootstrapLogging(.critical)
        var found: [String] = []
        for p in paths { found += try SLTFiles.collect(p) }
        let files = found.sorted()
        guard !files.isEmpty else { throw CLIError("no .test files in \(paths.joined(separator: ", "))") }
        let base = root ?? paths.first { SLTFiles.isDirectory($0) } ?? ""
        final class Results: @unchecked Sendable {
            var items: [SLTRunner.FileResult?]
            init(_ n: Int) { items = [SLTRunner.FileResult?](repeating: nil, count: n) }
        }
        let results = Results(files.count)
        let lock = Lock()
        let jobs = self.jobs, maxFailures = self.maxFailures
        let started = monotonicNanos()
        let verbose = self.verbose, slow = self.slow
        DispatchQueue.concurrentPerform(iterations: min(jobs, files.count)) { worker in
            var i = worker
            while i < files.count {
                let path = files[i]
                let r: SLTRunner.FileResult
                if let text = try? SLTFiles.read(path) {
                    r = SLTRunner.run(path: path, text: text, verbose: verbose, slowMillis: slow)
                } else {
                    var f = SLTRunner.FileResult(path: path)
                    f.failed = 1
                    f.failures = [SLTRunner.Failure(line: 0, sql: "", reason: "could not read the file")]
                    r = f
                }
                lock.withLock {
                    results.items[i] = r
                    print("\(SLTFiles.relative(path, to: base)): \(r.passed) passed, \(r.failed) failed, \(r.skipped) skipped (\(SLTRunner.cFormat3(r.seconds)) s)")
                    for (line, ms, sql) in r.slow {
                        print("  slow: line \(line): \(SLTRunner.cFormat3(ms)) ms: \(sql.replacingNewlines())")
                    }
                    if verbose {
                        for f in r.failures.prefix(maxFailures) {
                            print("  line \(f.line): \(f.reason)\n    \(f.sql.replacingNewlines())")
                        }
                    }
                    fflush(nil)
                }
                i += jobs
            }
        }
        let all = results.items.compactMap { $0 }
        let passed = all.reduce(0) { $0 + $1.passed }, failed = all.reduce(0) { $0 + $1.failed }
        print("\(passed) passed, \(failed) failed (\(SLTRunner.cFormat3(Double(monotonicNanos() - started) / 1e9)) s)")
        if let baseline {
            let expected = try SLTFiles.baseline(baseline)
            var below: [String] = []
            for r in all {
                let rel = SLTFiles.relative(r.path, to: base)
                guard let b = expected[rel] else { continue }
                if r.passed < b { below.append("\(rel): \(r.passed) passed, baseline \(b)") }
            }
            if !below.isEmpty {
                print("below the baseline:\n" + below.map { "  " + $0 }.joined(separator: "\n"))
                throw ExitCode(1)
            }
            print("every file passes at least as many records as the baseline")
        }
    }
}

extension String {
    func replacingNewlines() -> String { split(separator: "\n").joined(separator: " ") }
}

enum SLTFiles {
    static func isDirectory(_ p: String) -> Bool {
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func collect(_ p: String) throws -> [String] {
        guard isDirectory(p) else { return [p] }
        guard let dir = opendir(p) else { throw CLIError("cannot read directory \(p)") }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let full = p.hasSuffix("/") ? p + name : p + "/" + name
            if isDirectory(full) { out += try collect(full) } else if name.hasSuffix(".test") { out.append(full) }
        }
        return out
    }

    static func read(_ path: String) throws -> String {
        let h = try PosixFileSystem().open(path, create: false)
        defer { h.close() }
        return String(decoding: try h.readAll(), as: UTF8.self)
    }

    static func relative(_ path: String, to base: String) -> String {
        guard !base.isEmpty else { return path }
        let b = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(b) ? String(path.dropFirst(b.count)) : path
    }

    /// `path passed failed skipped` lines (comments with #).
    static func baseline(_ path: String) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for line in try read(path).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let n = Int(parts[1]) else { continue }
            out[String(parts[0])] = n
        }
        return out
    }
}


/// A logger that drops everything (engines the SLT runner opens).
func quietLogger() -> Logger {
    Logger(label: "slt", factory: { _ in SwiftLogNoOpLogHandler() })
}
