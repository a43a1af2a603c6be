/// A fast non-cryptographic hash of key bytes for the engine's open-addressed tables (the
/// primary-key table, the write set, the lock table): 64-bit multiply-xorshift over 8-byte
/// words.
///
/// Keys that differ only in the low four bits of their last byte hash to distinct slots of
/// one aligned block of 16 (the block and a rotation inside it come from the rest of the
/// key). Integer keys are encoded big-endian, so consecutive keys, which bulk writes of
/// serial ids produce, fill a block in turn instead of one random slot each: a million-row
/// insert then probes each table about once per block rather than once per row in cache
/// misses. Any other pattern spreads as a plain hash does, since keys in one block never
/// share a slot and blocks are placed at random.
@inlinable
func hashKey(_ key: UnsafeRawBufferPointer) -> UInt64 {
    let n = key.count
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
    guard n > 0 else { return h }
    var i = 0
    while i + 8 < n {
        let w = key.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        i += 8
    }
    // The last one to eight bytes, without the last byte's low nibble.
    var w: UInt64 = 0
    var s: UInt64 = 0
    while i < n {
        w |= UInt64(key[i]) << s
        s += 8
        i += 1
    }
    w &= ~(UInt64(0x0F) << (s - 8))
    h = (h ^ w) &* 0x94D0_49BB_1331_11EB
    h ^= h >> 29
    h = h &* 0xBF58_476D_1CE4_E5B9
    h ^= h >> 32
    let low = UInt64(key[n - 1] & 0x0F)
    return (h & ~15) | ((h &+ low) & 15)
}
