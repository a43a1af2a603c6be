import DriftTestSupport
import Testing
@testable import DriftCore

/// The lock manager's open-addressed table against a dictionary model: inserts, updates and
/// removals in a seeded random order (removals shift probe runs back), growth and shrinking.
@Suite struct LockTableTests {
    @Test func agreesWithADictionaryThroughGrowthAndShrinking() {
        var rng = SeededRandom(seed: 20261130)
        let table = LockTable<Int>()
        var model: [LockTarget: Int] = [:]
        func target(_ n: UInt64) -> LockTarget {
            // Keys of several lengths and tables, so probe runs mix.
            LockTarget(table: UInt32(n % 3), key: Array(repeating: UInt8(n % 251), count: Int(n % 5)) + withUnsafeBytes(of: n) { Array($0) })
        }
        for round in 0..<3 {
            // Fill up (forcing growth), then remove most (forcing shrinking), with updates mixed in.
            for step in 0..<6000 {
                let t = target(rng.next() % 5000)
                let v = Int(rng.next() % 1000)
                if step % 3 == 0 {
                    // Insert only when absent, answering what is held.
                    #expect(table.valueOrInsert(t, { v }) == model[t])
                    if model[t] == nil { model[t] = v }
                } else {
                    table[t] = v
                    model[t] = v
                }
            }
            #expect(table.count == model.count)
            for _ in 0..<(round == 2 ? 20000 : 4500) {
                let t = target(rng.next() % 5000)
                #expect(table.removeValue(forKey: t) == model.removeValue(forKey: t))
            }
            #expect(table.count == model.count)
            for n in 0..<5000 as Range<UInt64> {
                let t = target(n)
                #expect(table[t] == model[t])
            }
        }
        for t in Array(model.keys) { #expect(table.removeValue(forKey: t) == model.removeValue(forKey: t)) }
        #expect(table.count == 0 && table.entries.isEmpty)
        #expect(table.capacity == LockTable<Int>.minimumCapacity)
    }

    @Test func updateAllKeepsChangesAndDropsTheRest() {
        var rng = SeededRandom(seed: 7)
        let table = LockTable<Int>()
        var model: [LockTarget: Int] = [:]
        for _ in 0..<20000 {
            let n = rng.next() % 50000
            let t = LockTarget(table: UInt32(n % 2), key: withUnsafeBytes(of: n.bigEndian) { Array($0) })
            let v = Int(rng.next() % 100)
            table[t] = v
            model[t] = v
        }
        // Drop the even values, add one to the odd ones.
        table.updateAll { v in
            guard v % 2 == 1 else { return false }
            v += 1
            return true
        }
        model = model.filter { $0.value % 2 == 1 }.mapValues { $0 + 1 }
        #expect(table.count == model.count)
        #expect(table.capacity < 4 * max(model.count, 64))
        for (t, v) in model { #expect(table[t] == v) }
        #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.0, $0.1) }) == model)
        table.updateAll { _ in false }
        #expect(table.count == 0 && table.capacity == LockTable<Int>.minimumCapacity)
    }

    /// A transaction ending with many locks releases them in one pass: another holder of a
    /// shared lock keeps it, and the released rows can be taken at once.
    @Test func releasingManyLocksKeepsOtherHolders() throws {
        let locks = LockManager()
        func target(_ n: Int) -> LockTarget { LockTarget(table: 1, key: withUnsafeBytes(of: n.bigEndian) { Array($0) }) }
        var mine: [LockTarget] = []
        for n in 0..<10000 {
            let mode: RowLockMode = n % 10 == 0 ? .keyShare : .update
            _ = try locks.acquire(txn: 1, target(n), mode: mode, wait: .noWait, timeoutNanos: nil, describe: "row")
            mine.append(target(n))
        }
        for n in stride(from: 0, to: 10000, by: 10) {
            _ = try locks.acquire(txn: 2, target(n), mode: .keyShare, wait: .noWait, timeoutNanos: nil, describe: "row")
        }
        _ = try locks.acquire(txn: 3, target(20000), mode: .update, wait: .noWait, timeoutNanos: nil, describe: "row")
        locks.releaseAll(txn: 1, mine, more: 0)
        #expect(locks.holders.count == 1001)
        for n in stride(from: 0, to: 10000, by: 10) {
            #expect(locks.holders[target(n)]?.all.map(\.txn) == [2])
            #expect(throws: SQLError.self) {
                _ = try locks.acquire(txn: 4, target(n), mode: .update, wait: .noWait, timeoutNanos: nil, describe: "row")
            }
        }
        #expect(try locks.acquire(txn: 4, target(1), mode: .update, wait: .noWait, timeoutNanos: nil, describe: "row")
            .isAcquired)
        #expect(locks.holders[target(20000)]?.all.map(\.txn) == [3])
    }
}

extension LockManager.Outcome {
    var isAcquired: Bool { if case .acquired = self { return true } else { return false } }
}
