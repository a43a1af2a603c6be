import Foundation
import Testing

/// The directory holding the built products (the test bundle sits beside them).
func productsDirectory() -> URL {
    if let override = ProcessInfo.processInfo.environment["DRIFTDB_PRODUCTS"] { return URL(fileURLWithPath: override) }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.pathComponents.count > 1 {
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("driftdb").path) { return url }
        url.deleteLastPathComponent()
    }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
}

func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "driftdb-\(name)-\(UInt64.random(in: 1...UInt64.max))"
    try? FileManager.default.removeItem(atPath: path)
    return path
}

/// A child process with its output collected line by line.
final class Child: @unchecked Sendable {
    let process = Process()
    private let out = Pipe(), err = Pipe()
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = Data()
    private var errData = Data()

    init(_ executable: String, _ arguments: [String], stdin: String? = nil) throws {
        process.executableURL = productsDirectory().appendingPathComponent(executable)
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let input = Pipe()
            process.standardInput = input
            try process.run()
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        // Each handler reads and appends under the lock, so `drain` (which reads what is left
        // under the same lock) can never append its part before a chunk a handler had read:
        // that race once split an error line in two.
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            guard let self else { return }
            self.lock.lock()
            let d = h.availableData
            guard !d.isEmpty else { self.lock.unlock(); return }
            self.partial.append(d)
            while let nl = self.partial.firstIndex(of: 10) {
                self.lines.append(String(decoding: self.partial[self.partial.startIndex..<nl], as: UTF8.self))
                self.partial.removeSubrange(self.partial.startIndex...nl)
            }
            self.lock.unlock()
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            guard let self else { return }
            self.lock.lock()
            defer { self.lock.unlock() }
            self.errData.append(h.availableData)
        }
    }

    var output: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    var errorOutput: String { lock.lock(); defer { lock.unlock() }; return String(decoding: errData, as: UTF8.self) }

    /// Waits until a line satisfies `match`, up to `seconds`.
    func waitFor(_ seconds: Double, _ match: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(where: match) { return true }
            if !process.isRunning && !output.contains(where: match) {
                Thread.sleep(forTimeInterval: 0.05)
                return output.contains(where: match)
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return false
    }

    func kill(_ signal: Int32 = SIGKILL) {
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
        drain()
    }

    func wait() -> Int32 {
        process.waitUntilExit()
        drain()
        return process.terminationStatus
    }

    /// Reads what the pipes still hold after the process ended.
    private func drain() {
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        lock.lock()
        let rest = out.fileHandleForReading.readDataToEndOfFile()
        let errRest = err.fileHandleForReading.readDataToEndOfFile()
        partial.append(rest)
        while let nl = partial.firstIndex(of: 10) {
            lines.append(String(decoding: partial[partial.startIndex..<nl], as: UTF8.self))
            partial.removeSubrange(partial.startIndex...nl)
        }
        errData.append(errRest)
        lock.unlock()
    }
}

/// Runs `driftdb` with arguments to completion.
func driftdb(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let c = try Child("driftdb", arguments, stdin: stdin)
    let status = c.wait()
    return (status, c.output.joined(separator: "\n"), c.errorOutput)
}
