import Testing
@testable import DriftCore

/// The index B+tree against a sorted model: keys arriving in order (appended to the last leaf
/// without a descent), in reverse, interleaved and at random, with duplicates refused, and
/// range scans from every kind of lower bound.
@Suite struct BTreeTests {
    @Test func insertOrdersAndScansAgreeWithASortedModel() {
        func key(_ n: Int) -> [UInt8] { KeyCodec.encode(.int(Int64(n))) }
        var state: UInt64 = 7
        func random() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33) % 20000
        }
        let orders: [[Int]] = [
            Array(0..<9000),
            Array((0..<9000).reversed()),
            (0..<9000).map { $0 % 2 == 0 ? $0 : 20000 - $0 },
            Array(0..<5000) + (0..<4000).map { _ in random() } + Array(20000..<23000),
            (0..<9000).map { _ in random() },
        ]
        for order in orders {
            let tree = BTree()
            var model = Set<Int>()
            for (i, n) in order.enumerated() {
                #expect(tree.insert(key(n), Int32(i % 1000)) == model.insert(n).inserted)
            }
            #expect(tree.count == model.count)
            let sorted = model.sorted()
            var seen: [[UInt8]] = []
            tree.scan(from: nil) { k, _ in seen.append(k); return true }
            #expect(seen == sorted.map(key))
            for lower in [-1, 0, 17, 4999, 8999, 12345, 25000] {
                for strict in [false, true] {
                    var got: [[UInt8]] = []
                    tree.scan(from: key(lower), strict: strict) { k, _ in got.append(k); return got.count < 50 }
                    let want = sorted.filter { strict ? $0 > lower : $0 >= lower }.prefix(50).map(key)
                    #expect(got == want, "from \(lower) strict \(strict)")
                }
            }
        }
    }
}
