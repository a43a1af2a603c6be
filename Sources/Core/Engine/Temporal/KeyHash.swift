/// A fast non-cryptographic hash of key bytes for the primary-key table
/// (64-bit multiply-xorshift over 8-byte words).
@inlinable
func hashKey(_ key: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
    var i = 0
    let n = key.count
    while i + 8 <= n {
        let w = key.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        i += 8
    }
    if i < n {
        var w: UInt64 = 0
        var s: UInt64 = 0
        while i < n {
            w |= UInt64(key[i]) << s
            s += 8
            i += 1
        }
        h = (h ^ w) &* 0x94D0_49BB_1331_11EB
    }
    h ^= h >> 29
    h = h &* 0xBF58_476D_1CE4_E5B9
    h ^= h >> 32
    return h
}
