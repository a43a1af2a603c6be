import DriftCore
import DriftStorage

/// Failed-login throttling. After `freeFailures` failures in a row from one address, that
/// address is refused for a window that doubles with each further failure (from 100 ms up
/// to `maxBlockNanos`), whatever it sends; a success clears it. A role under attack from many
/// addresses is throttled the same way with a larger allowance, so one address cannot lock
/// a user out. Refusing costs nothing (no sleep on a frontend thread), and other addresses
/// are untouched.
final class LoginThrottle: @unchecked Sendable {
    struct Entry {
        var failures = 0
        var blockedUntil: UInt64 = 0
        var lastSeen: UInt64 = 0
    }

    let freeFailures: Int
    let roleFreeFailures: Int
    let maxBlockNanos: UInt64
    private let lock = Lock()
    private var addresses: [String: Entry] = [:]
    private var roles: [String: Entry] = [:]

    init(freeFailures: Int = 5, roleFreeFailures: Int = 50, maxBlockNanos: UInt64 = 30_000_000_000) {
        self.freeFailures = freeFailures
        self.roleFreeFailures = roleFreeFailures
        self.maxBlockNanos = maxBlockNanos
    }

    /// The error for a connection that must wait, nil if it may try.
    func check(address: String?, role: String, now: UInt64 = monotonicNanos()) -> SQLError? {
        lock.withLock {
            if let a = address, let e = addresses[a], e.blockedUntil > now {
                return SQLError(.invalidAuthorizationSpecification, "too many failed login attempts from this address",
                                hint: "Retry in \(Self.seconds(e.blockedUntil - now)) s.")
            }
            if let e = roles[role], e.blockedUntil > now {
                return SQLError(.invalidAuthorizationSpecification, "too many failed login attempts for role \"\(role)\"",
                                hint: "Retry in \(Self.seconds(e.blockedUntil - now)) s.")
            }
            return nil
        }
    }

    static func seconds(_ nanos: UInt64) -> String {
        let tenths = (nanos + 99_999_999) / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    func failed(address: String?, role: String, now: UInt64 = monotonicNanos()) {
        lock.withLock {
            if let a = address { bump(&addresses, a, free: freeFailures, now: now) }
            bump(&roles, role, free: roleFreeFailures, now: now)
            if addresses.count > 100_000 { prune(now) }
        }
    }

    func succeeded(address: String?, role: String) {
        lock.withLock {
            if let a = address { addresses[a] = nil }
            roles[role] = nil
        }
    }

    private func bump(_ table: inout [String: Entry], _ key: String, free: Int, now: UInt64) {
        var e = table[key] ?? Entry()
        e.failures += 1
        e.lastSeen = now
        let over = e.failures - free
        if over > 0 {
            let window = min(maxBlockNanos, 100_000_000 << UInt64(min(over - 1, 20)))
            e.blockedUntil = now + window
        }
        table[key] = e
    }

    /// Forgets entries idle longer than the longest block (bounded memory under a spray of
    /// addresses).
    private func prune(_ now: UInt64) {
        addresses = addresses.filter { now - $0.value.lastSeen < maxBlockNanos }
        roles = roles.filter { now - $0.value.lastSeen < maxBlockNanos }
    }
}
