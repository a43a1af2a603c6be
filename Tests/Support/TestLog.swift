import Logging
import Synchronization

/// Where test engines log: nothing reaches the terminal, so a failing test's own output
/// is readable; warnings and worse are kept, for tests that check what was logged.
public enum TestLog {
    static let kept = Mutex<[String]>([])

    /// A logger for engines under test.
    public static let logger = Logger(label: "driftdb.test") { _ in Handler() }

    /// Messages at warning or above logged so far (most recent last; at most 1,000 kept).
    public static var messages: [String] { kept.withLock { $0 } }

    struct Handler: LogHandler {
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            guard event.level >= .warning else { return }
            let text = "\(event.level): \(event.message) \(event.metadata ?? [:])"
            TestLog.kept.withLock {
                $0.append(text)
                if $0.count > 1000 { $0.removeFirst($0.count - 1000) }
            }
        }
    }
}
