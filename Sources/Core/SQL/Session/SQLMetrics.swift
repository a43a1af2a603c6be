import CoreMetrics
import DriftCore
import DriftStorage

/// Statements as swift-metrics counts them: `driftdb_statements_total{kind,outcome}`,
/// `driftdb_statement_duration_seconds{kind}` and `driftdb_errors_total{class}` (the
/// SQLSTATE's class, its first two characters). The handles are made once per process, on
/// first use (after the metrics plugin bootstrapped its backend), so a statement only
/// increments.
final class SQLMetrics: @unchecked Sendable {
    static let shared = SQLMetrics()

    enum Kind: Int, CaseIterable {
        case select, insert, update, delete, copy, ddl, transaction, other

        var label: String { String(describing: self) }

        /// The kind of a statement from its command tag (`SELECT 3`, `CREATE TABLE`).
        init(tag: String) {
            let word = tag.prefix { $0 != " " }
            switch word {
            case "SELECT", "SHOW", "FETCH", "EXPLAIN", "VALUES", "TABLE": self = .select
            case "INSERT", "MERGE": self = .insert
            case "UPDATE": self = .update
            case "DELETE": self = .delete
            case "COPY": self = .copy
            case "CREATE", "ALTER", "DROP", "TRUNCATE", "COMMENT": self = .ddl
            case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE": self = .transaction
            default: self = .other
            }
        }

        /// The kind of a statement that failed, from its first word.
        init(sql: String) {
            let word = sql.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" || $0 == "\r" }.prefix { $0.isLetter }.uppercased()
            self.init(tag: word == "WITH" ? "SELECT" : word)
        }
    }

    private let ok: [Counter]
    private let failed: [Counter]
    private let durations: [Timer]
    private let lock = Lock()
    private var errors: [String: Counter] = [:]

    private init() {
        ok = Kind.allCases.map { Counter(label: "driftdb_statements_total", dimensions: [("kind", $0.label), ("outcome", "ok")]) }
        failed = Kind.allCases.map { Counter(label: "driftdb_statements_total", dimensions: [("kind", $0.label), ("outcome", "error")]) }
        durations = Kind.allCases.map { Timer(label: "driftdb_statement_duration_seconds", dimensions: [("kind", $0.label)]) }
    }

    func succeeded(_ kind: Kind, nanos: UInt64) {
        ok[kind.rawValue].increment()
        durations[kind.rawValue].recordNanoseconds(Int64(truncatingIfNeeded: nanos))
    }

    func failed(_ kind: Kind, nanos: UInt64, error: any Error) {
        failed[kind.rawValue].increment()
        durations[kind.rawValue].recordNanoseconds(Int64(truncatingIfNeeded: nanos))
        let code = (error as? SQLError)?.code.rawValue ?? "XX000"
        let cls = String(code.prefix(2))
        let counter = lock.withLock {
            if let c = errors[cls] { return c }
            let c = Counter(label: "driftdb_errors_total", dimensions: [("class", cls)])
            errors[cls] = c
            return c
        }
        counter.increment()
    }
}

extension Session {
    /// Runs a client's statement, counting it (kind and outcome) and timing it.
    func measured(_ sql: String, _ body: () throws -> StatementResult) throws -> StatementResult {
        let started = monotonicNanos()
        do {
            let r = try body()
            SQLMetrics.shared.succeeded(SQLMetrics.Kind(tag: r.tag), nanos: monotonicNanos() - started)
            return r
        } catch {
            SQLMetrics.shared.failed(SQLMetrics.Kind(sql: sql), nanos: monotonicNanos() - started, error: error)
            throw error
        }
    }
}
