import DriftCore
import Testing
@testable import DriftAuth

/// Failed logins: an address is refused for windows that double after its free failures; a
/// role only after many more; others are untouched; a success clears an address.
@Suite struct LoginThrottleTests {
    @Test func anAddressIsBlockedForDoublingWindowsAndOthersAreNot() {
        let t = LoginThrottle(freeFailures: 3, roleFreeFailures: 100, maxBlockNanos: 1_000_000_000)
        var now: UInt64 = 1_000_000_000
        for _ in 0..<3 { t.failed(address: "10.0.0.1", role: "app", now: now) }
        #expect(t.check(address: "10.0.0.1", role: "app", now: now) == nil)
        t.failed(address: "10.0.0.1", role: "app", now: now)
        #expect(t.check(address: "10.0.0.1", role: "app", now: now)?.code == .invalidAuthorizationSpecification)
        #expect(t.check(address: "10.0.0.2", role: "app", now: now) == nil)
        now += 100_000_000
        #expect(t.check(address: "10.0.0.1", role: "app", now: now) == nil)
        t.failed(address: "10.0.0.1", role: "app", now: now)
        #expect(t.check(address: "10.0.0.1", role: "app", now: now + 150_000_000) != nil)
        #expect(t.check(address: "10.0.0.1", role: "app", now: now + 200_000_000) == nil)
        // Capped, and cleared by a success.
        for _ in 0..<30 { t.failed(address: "10.0.0.1", role: "app", now: now) }
        #expect(t.check(address: "10.0.0.1", role: "app", now: now + 999_000_000) != nil)
        #expect(t.check(address: "10.0.0.1", role: "app", now: now + 1_000_000_000) == nil)
        t.succeeded(address: "10.0.0.1", role: "app")
        t.failed(address: "10.0.0.1", role: "app", now: now)
        #expect(t.check(address: "10.0.0.1", role: "app", now: now) == nil)
    }

    @Test func aRoleAttackedFromManyAddressesIsThrottledAfterItsAllowance() {
        let t = LoginThrottle(freeFailures: 3, roleFreeFailures: 10, maxBlockNanos: 1_000_000_000)
        for i in 0..<10 { t.failed(address: "10.0.1.\(i)", role: "admin", now: 5) }
        #expect(t.check(address: "10.0.2.1", role: "admin", now: 5) == nil)
        t.failed(address: "10.0.1.99", role: "admin", now: 5)
        #expect(t.check(address: "10.0.2.1", role: "admin", now: 5)?.message == "too many failed login attempts for role \"admin\"")
        #expect(t.check(address: "10.0.2.1", role: "app", now: 5) == nil)
    }
}
