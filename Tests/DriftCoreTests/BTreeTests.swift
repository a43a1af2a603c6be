import Testing
@testable import DriftCore

/// The index B+tree against a sorted model: keys arriving in order (appended to the last leaf
/// without a descent), in reverse, interleaved and at random, with duplicates refused, and
/// range scans from every kind of lower bound.
@Suite struct BTreeTests {
    @Test(arguments: [false, true])
    func insertOrdersAndScansAgreeWithASortedModel(textKeys: Bool) {
        // Integer keys are all one length; text keys of 1 to 40 bytes move every later key
        // of a node's packed buffer when one lands before them.
        func key(_ n: Int) -> [UInt8] {
            textKeys ? KeyCodec.encode(.text(String(repeating: "k", count: (n % 40 + 40) % 40) + String(n))) : KeyCodec.encode(.int(Int64(n)))
        }
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
            let sorted = model.map(key).sorted { compareBytes($0, $1) < 0 }
            var seen: [[UInt8]] = []
            tree.scan(from: nil) { k, _ in seen.append(Array(k)); return true }
            #expect(seen == sorted)
            for lower in [-1, 0, 17, 4999, 8999, 12345, 25000] + (textKeys ? [39, 40, 20039] : []) {
                for strict in [false, true] {
                    var got: [[UInt8]] = []
                    tree.scan(from: key(lower), strict: strict) { k, _ in got.append(Array(k)); return got.count < 50 }
                    let want = Array(sorted.filter {
                        let c = compareBytes($0, key(lower))
                        return strict ? c > 0 : c >= 0
                    }.prefix(50))
                    #expect(got == want, "from \(lower) strict \(strict)")
                }
            }
        }
    }

    /// Byte comparison (inline for the first 16 bytes, memcmp after) against the
    /// lexicographic order of the arrays, at every length up to 40 and with differences at
    /// every position, including bytes above 0x7F (signed on some platforms' char).
    @Test func compareBytesIsLexicographic() {
        var state: UInt64 = 11
        func random(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33) % n
        }
        for _ in 0..<20_000 {
            let base = (0..<random(41)).map { _ in UInt8(random(256)) }
            var other = base
            switch random(4) {
            case 0: if !other.isEmpty { other[random(other.count)] = UInt8(random(256)) }
            case 1: other = Array(other.prefix(random(other.count + 1)))
            case 2: other.append(UInt8(random(256)))
            default: break
            }
            let want = base == other ? 0 : (base.lexicographicallyPrecedes(other) ? -1 : 1)
            let got = compareBytes(base, other)
            #expect(got.signum() == want, "\(base) vs \(other)")
        }
    }
}
