import Dispatch
import DriftCore
import DriftStorage
import Logging

/// Login outcomes into drift_audit. Logins must not wait for the log, so records queue here
/// and a serial queue commits them in batches (one transaction per batch): a burst of failed
/// logins costs a few commits, not one each. A record is durable once its batch commits;
/// `drain` commits what is left at shutdown.
final class AuditLog: @unchecked Sendable {
    struct Entry {
        let micros: Int64
        let role: String?
        let address: String?
        let event: String
        let detail: String?
    }

    let engine: Engine
    let logger: Logger
    private let lock = Lock()
    private var pending: [Entry] = []
    private var scheduled = false
    private let queue = DispatchQueue(label: "driftdb.auth.audit")

    init(engine: Engine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    func record(role: String?, address: String?, event: String, detail: String?) {
        let entry = Entry(micros: wallClockMicros(), role: role, address: address, event: event, detail: detail)
        let schedule = lock.withLock {
            pending.append(entry)
            defer { scheduled = true }
            return !scheduled
        }
        if schedule { queue.async { self.flush() } }
    }

    /// Commits what is queued now (and waits for it).
    func drain() { queue.sync { flush() } }

    private func flush() {
        let batch = lock.withLock {
            scheduled = false
            defer { pending = [] }
            return pending
        }
        guard !batch.isEmpty else { return }
        let t = engine.begin()
        do {
            for e in batch {
                try Audit.record(in: t, role: e.role, address: e.address, event: e.event, detail: e.detail, micros: e.micros)
            }
            _ = try t.commit()
        } catch {
            t.rollback()
            logger.error("auth: \(batch.count) audit record(s) could not be written: \(error)")
        }
    }
}
