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
}
