import CZstd

/// zstd compression for snapshots and packed segments.
public enum Zstd {
    public static func compress(_ src: UnsafeRawBufferPointer, level: Int32 = 3) -> [UInt8] {
        let bound = ZSTD_compressBound(src.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, bound, src.baseAddress, src.count, level)
        }
        precondition(ZSTD_isError(n) == 0, "ZSTD_compress: \(String(cString: ZSTD_getErrorName(n)))")
        out.removeSubrange(n...)
        return out
    }

    /// Decompresses into exactly `rawLength` bytes, or throws.
    public static func decompress(_ src: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rawLength)
        let n = out.withUnsafeMutableBytes { dst in
            ZSTD_decompress(dst.baseAddress, rawLength, src.baseAddress, src.count)
        }
        if ZSTD_isError(n) != 0 {
            throw DecodeError("zstd: \(String(cString: ZSTD_getErrorName(n)))", offset: 0)
        }
        guard n == rawLength else { throw DecodeError("zstd: \(n) bytes instead of \(rawLength)", offset: 0) }
        return out
    }
}
