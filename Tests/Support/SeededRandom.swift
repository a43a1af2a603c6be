#if canImport(Glibc)
import Glibc
#endif

/// A reproducible random source (SplitMix64); `SEED=n` replays a failing run.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public static func fromEnvironment() -> (SeededRandom, UInt64) {
        let seed = ProcessInfoLite.environment("SEED").flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        return (SeededRandom(seed: seed), seed)
    }
}

public enum ProcessInfoLite {
    public static func environment(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}

