import CZstd

/// zstd compression for snapshots and packed segments.
///
/// Contexts are pooled and reused: creating a decompression context costs several
/// microseconds, more than decompressing a small packed block.
public enum Zstd {
    public static func compress(_ src: UnsafeRawBufferPointer, level: Int32 = 3) throws -> [UInt8] {
        var out: [UInt8] = []
        try compress(src, level: level, into: &out)
        return out
    }

    /// Appends the compressed form of `src` to `out`.
    public static func compress(_ src: UnsafeRawBufferPointer, level: Int32, into out: inout [UInt8]) throws {
        let bound = ZSTD_compressBound(src.count)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        guard let cctx = compressors.take() else { throw DecodeError("zstd: no memory for a compression context", offset: 0) }
        defer { compressors.give(cctx) }
        let n = out.withUnsafeMutableBytes { dst in
            ZSTD_compressCCtx(cctx, dst.baseAddress.map { $0 + start }, bound, src.baseAddress, src.count, level)
        }
        guard ZSTD_isError(n) == 0 else {
            out.removeSubrange(start...)
            throw DecodeError("zstd: \(String(cString: ZSTD_getErrorName(n)))", offset: 0)
        }
        out.removeSubrange((start + n)...)
    }

    /// The decompressed size a zstd frame declares, refused when unknown or above `max`.
    public static func contentSize(_ src: UnsafeRawBufferPointer, max: Int) throws -> Int {
        let n = ZSTD_getFrameContentSize(src.baseAddress, src.count)
        guard n != ZSTD_CONTENTSIZE_ERROR, n != ZSTD_CONTENTSIZE_UNKNOWN, n <= UInt64(max) else {
            throw DecodeError("zstd frame declares no usable content size", offset: 0)
        }
        return Int(n)
    }

    /// Decompresses into exactly `rawLength` bytes, or throws.
    public static func decompress(_ src: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rawLength)
        try out.withUnsafeMutableBytes { try decompress(src, into: $0) }
        return out
    }

    /// Decompresses into all of `dst`, or throws.
    public static func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws {
        guard let dctx = decompressors.take() else { throw DecodeError("zstd: no memory for a decompression context", offset: 0) }
        defer { decompressors.give(dctx) }
        let n = ZSTD_decompressDCtx(dctx, dst.baseAddress, dst.count, src.baseAddress, src.count)
        if ZSTD_isError(n) != 0 {
            throw DecodeError("zstd: \(String(cString: ZSTD_getErrorName(n)))", offset: 0)
        }
        guard n == dst.count else { throw DecodeError("zstd: \(n) bytes instead of \(dst.count)", offset: 0) }
    }

    static let compressors = ContextPool(create: { ZSTD_createCCtx() }, destroy: { _ = ZSTD_freeCCtx($0) })
    static let decompressors = ContextPool(create: { ZSTD_createDCtx() }, destroy: { _ = ZSTD_freeDCtx($0) })
}

/// A few reusable C contexts behind a lock (as many as threads use at once, up to a bound).
final class ContextPool: @unchecked Sendable {
    let lock = Lock()
    var free: [OpaquePointer] = []
    let create: () -> OpaquePointer?
    let destroy: (OpaquePointer) -> Void
    static let kept = 16

    init(create: @escaping () -> OpaquePointer?, destroy: @escaping (OpaquePointer) -> Void) {
        self.create = create
        self.destroy = destroy
    }

    func take() -> OpaquePointer? {
        if let t = lock.withLock({ free.popLast() }) { return t }
        return create()
    }

    func give(_ t: OpaquePointer) {
        let kept: Bool = lock.withLock {
            guard free.count < Self.kept else { return false }
            free.append(t)
            return true
        }
        if !kept { destroy(t) }
    }
}
