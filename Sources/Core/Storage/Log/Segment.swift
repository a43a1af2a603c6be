#if canImport(Glibc)
import Glibc
#endif

/// One segment file as the reader sees it: raw segments are memory-mapped, packed
/// (compacted) segments are read block by block through the shared block cache.
public final class Segment: @unchecked Sendable {
    public let number: UInt32
    public let path: String
    public let header: SegmentHeader
    /// Raw segments: the mapping (its length may exceed the bytes written so far).
    let region: MappedRegion?
    /// Packed segments: the block index and the file.
    let packed: PackedSegment?

    init(path: String, header: SegmentHeader, region: MappedRegion) {
        number = header.number
        self.path = path
        self.header = header
        self.region = region
        packed = nil
    }

    init(path: String, header: SegmentHeader, packed: PackedSegment) {
        number = header.number
        self.path = path
        self.header = header
        region = nil
        self.packed = packed
    }

    public var isPacked: Bool { packed != nil }

    /// A packed segment's blocks (none for a raw one).
    public var packedBlocks: [PackedBlockInfo] { packed?.blocks ?? [] }

    /// Calls `body` with the frame at `offset` and the buffer its payload offsets refer to.
    /// The frame must be one the log has written (its location was published).
    public func withFrame<T>(at offset: Int, _ body: (Frame, UnsafeRawBufferPointer) throws -> T) throws -> T {
        if let region {
            let bytes = UnsafeRawBufferPointer(start: region.base, count: region.length)
            guard case let .frame(frame) = Frame.parse(bytes, at: offset, verify: false) else {
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "no frame at a published location")
            }
            return try body(frame, bytes)
        }
        guard let p = packed else {
            throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "segment is neither raw nor packed")
        }
        let block = try p.block(containing: offset)
        guard let i = block.index(ofRawOffset: offset) else {
            throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "no frame at a published location")
        }
        return try block.payloads.withUnsafeBytes { try body(block.frame(i), $0) }
    }
}

/// The block layout of a packed segment. After the segment header, blocks follow:
///
///     [u32 compressed length][u32 crc32c][u64 raw start][u32 raw length][u64 first seq][u64 last seq][zstd bytes]
///
/// The CRC covers the 28 bytes after it and the compressed bytes. A block holds the frames
/// at raw offsets [raw start, raw start + raw length), in `PackedBlockCodec`'s columns.
public struct PackedBlockInfo: Sendable {
    public var fileOffset: Int
    public var compressedLength: Int
    public var rawStart: Int
    public var rawLength: Int
    public var firstSeq: UInt64
    public var lastSeq: UInt64

    public static let headerBytes = 36
    /// The largest raw span a block may cover: the compactor's target plus one frame.
    public static let rawBytesMax = Limits.packedBlockBytes + Frame.headerBytes + Limits.frameBytesMax

    /// Reads a block header at `fileOffset`. Its fields are not yet verified (the block's CRC
    /// covers them), so a damaged value is refused here rather than converted blindly.
    static func parse(_ b: UnsafeRawBufferPointer, fileOffset: Int, path: String) throws -> PackedBlockInfo {
        var r = ByteReader(b)
        let clen = try r.u32()
        _ = try r.u32()
        let rawStart = try r.u64()
        let rawLength = try r.u32()
        let firstSeq = try r.u64()
        let lastSeq = try r.u64()
        guard let start = Int(exactly: rawStart), start <= 1 << 40, Int(rawLength) <= rawBytesMax, firstSeq <= lastSeq else {
            throw StorageError.corrupt(file: path, offset: UInt64(fileOffset),
                                       reason: "packed block header is inconsistent (raw start \(rawStart), raw length \(rawLength))")
        }
        return PackedBlockInfo(fileOffset: fileOffset, compressedLength: Int(clen), rawStart: start, rawLength: Int(rawLength),
                               firstSeq: firstSeq, lastSeq: lastSeq)
    }

    /// The header's bytes with their CRC over `compressed`.
    func encodeHeader(compressed: UnsafeRawBufferPointer) -> [UInt8] {
        var h = ByteWriter(capacity: Self.headerBytes)
        h.u32(UInt32(compressed.count))
        h.u32(0)
        h.u64(UInt64(rawStart))
        h.u32(UInt32(rawLength))
        h.u64(firstSeq)
        h.u64(lastSeq)
        var crc = h.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        crc = CRC32C.update(crc, compressed)
        h.patchU32(crc, at: 4)
        return h.bytes
    }
}

final class PackedSegment: @unchecked Sendable {
    let file: any FileHandle
    let blocks: [PackedBlockInfo]
    let cache: BlockCache
    let number: UInt32

    init(file: any FileHandle, number: UInt32, blocks: [PackedBlockInfo], cache: BlockCache) {
        self.file = file
        self.number = number
        self.blocks = blocks
        self.cache = cache
    }

    /// Raw end offset: the size the segment had before it was packed.
    var rawEnd: Int { blocks.last.map { $0.rawStart + $0.rawLength } ?? SegmentHeader.size }

    func blockIndex(containing offset: Int) -> Int? {
        var lo = 0, hi = blocks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if blocks[mid].rawStart + blocks[mid].rawLength <= offset { lo = mid + 1 } else { hi = mid }
        }
        return lo < blocks.count && blocks[lo].rawStart <= offset ? lo : nil
    }

    func block(containing offset: Int) throws -> DecodedBlock {
        guard let i = blockIndex(containing: offset) else {
            throw StorageError.corrupt(file: file.path, offset: UInt64(offset), reason: "offset outside every packed block")
        }
        return try block(at: i)
    }

    func block(at i: Int) throws -> DecodedBlock {
        if let b = cache.get(segment: number, block: i) { return b }
        let b = try Self.readBlock(file: file, info: blocks[i], verify: false)
        cache.put(segment: number, block: i, b)
        return b
    }

    /// Reads, optionally verifies, decompresses and decodes one block.
    static func readBlock(file: any FileHandle, info: PackedBlockInfo, verify: Bool) throws -> DecodedBlock {
        let compressed = try readCompressed(file: file, info: info, verify: verify)
        return try compressed.withUnsafeBytes { try decode(UnsafeRawBufferPointer(rebasing: $0[PackedBlockInfo.headerBytes...]),
                                                            info: info, path: file.path) }
    }

    /// The block's bytes, header included, its CRC checked when `verify`.
    static func readCompressed(file: any FileHandle, info: PackedBlockInfo, verify: Bool) throws -> [UInt8] {
        var compressed = [UInt8](repeating: 0, count: info.compressedLength + PackedBlockInfo.headerBytes)
        let n = try compressed.withUnsafeMutableBytes { try file.read(into: $0, at: UInt64(info.fileOffset)) }
        guard n == compressed.count else {
            throw StorageError.corrupt(file: file.path, offset: UInt64(info.fileOffset), reason: "packed block is cut short")
        }
        if verify {
            let ok = compressed.withUnsafeBytes { all in
                all.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[8...]))
            }
            guard ok else {
                throw StorageError.corrupt(file: file.path, offset: UInt64(info.fileOffset), reason: "packed block checksum mismatch")
            }
        }
        return compressed
    }

    /// Decompresses and decodes a block's zstd bytes.
    static func decode(_ body: UnsafeRawBufferPointer, info: PackedBlockInfo, path: String) throws -> DecodedBlock {
        do {
            let size = try Zstd.contentSize(body, max: info.rawLength + 64)
            var columns = [UInt8](repeating: 0, count: size)
            try columns.withUnsafeMutableBytes { try Zstd.decompress(body, into: $0) }
            return try columns.withUnsafeBytes {
                try PackedBlockCodec.decode($0, rawStart: info.rawStart, rawLength: info.rawLength)
            }
        } catch {
            throw StorageError.corrupt(file: path, offset: UInt64(info.fileOffset), reason: "packed block does not decode: \(error)")
        }
    }
}

/// Decoded packed blocks kept for history reads, bounded in bytes, evicted by CLOCK (a
/// second chance for blocks read since the hand last passed) in shards with their own locks.
public final class BlockCache: @unchecked Sendable {
    struct Key: Hashable {
        var segment: UInt32
        var block: Int
    }

    final class Shard {
        let lock = Lock()
        var slots: [(key: Key, block: DecodedBlock, referenced: Bool)?] = []
        var index: [Key: Int] = [:]
        var free: [Int] = []
        var hand = 0
        var bytes = 0
    }

    let shards: [Shard]
    let bytesMaxPerShard: Int
    public let bytesMax: Int

    /// A cache of `bytesMax` bytes (by default a share of the machine's memory; see `Limits`).
    public init(bytesMax: Int = Limits.blockCacheBytesDefault) {
        self.bytesMax = bytesMax
        shards = (0..<16).map { _ in Shard() }
        bytesMaxPerShard = max(bytesMax / 16, 1)
    }

    func shard(_ k: Key) -> Shard { shards[Int(truncatingIfNeeded: UInt(bitPattern: k.hashValue) % 16)] }

    func get(segment: UInt32, block: Int) -> DecodedBlock? {
        let k = Key(segment: segment, block: block)
        let s = shard(k)
        return s.lock.withLock {
            guard let i = s.index[k], let slot = s.slots[i] else { return nil }
            if !slot.referenced { s.slots[i]?.referenced = true }
            return slot.block
        }
    }

    func put(segment: UInt32, block: Int, _ b: DecodedBlock) {
        let k = Key(segment: segment, block: block)
        let s = shard(k)
        s.lock.withLock {
            guard s.index[k] == nil else { return }
            while s.bytes + b.byteSize > bytesMaxPerShard && s.index.count > 0 { evictOne(s) }
            let i: Int
            if let f = s.free.popLast() {
                i = f
                s.slots[i] = (k, b, false)
            } else {
                i = s.slots.count
                s.slots.append((k, b, false))
            }
            s.index[k] = i
            s.bytes += b.byteSize
        }
    }

    /// Moves the hand to the first slot not read since its last pass, and drops that block.
    private func evictOne(_ s: Shard) {
        while true {
            if s.hand >= s.slots.count { s.hand = 0 }
            defer { s.hand += 1 }
            guard let slot = s.slots[s.hand] else { continue }
            if slot.referenced {
                s.slots[s.hand]?.referenced = false
                continue
            }
            s.index[slot.key] = nil
            s.slots[s.hand] = nil
            s.free.append(s.hand)
            s.bytes -= slot.block.byteSize
            return
        }
    }

    /// Drops every block of a segment (after it is replaced).
    func evict(segment: UInt32) {
        for s in shards {
            s.lock.withLock {
                for (k, i) in s.index where k.segment == segment {
                    if let slot = s.slots[i] { s.bytes -= slot.block.byteSize }
                    s.slots[i] = nil
                    s.free.append(i)
                    s.index[k] = nil
                }
            }
        }
    }

    /// Bytes of decoded blocks held.
    public var bytesHeld: Int { shards.reduce(0) { total, s in total + s.lock.withLock { s.bytes } } }
}

extension Segment {
    /// The bytes of a raw segment that hold frames: from the header to `end`.
    public func rawBytes(end: Int) -> UnsafeRawBufferPointer? {
        region.map { UnsafeRawBufferPointer(start: $0.base, count: min(end, $0.length)) }
    }

    /// Visits every frame from `offset` on (frame offsets are raw offsets; payload offsets index
    /// the buffer passed along), until `body` returns false. `end` bounds a raw segment.
    /// `active`: the segment is being written, so the frames end quietly where no whole frame
    /// is (its preallocated zeros, or a frame still being written).
    public func forEachFrame(from offset: Int = SegmentHeader.size, end: Int, active: Bool = false,
                             _ body: (Frame, UnsafeRawBufferPointer) throws -> Bool) throws {
        if let region {
            let bytes = UnsafeRawBufferPointer(start: region.base, count: min(end, region.length))
            var at = offset
            while at < bytes.count {
                guard case let .frame(f) = Frame.parse(bytes, at: at, verify: false) else {
                    if active { return }
                    throw StorageError.corrupt(file: path, offset: UInt64(at), reason: "unreadable frame")
                }
                if try !body(f, bytes) { return }
                at = f.end
            }
            return
        }
        guard let p = packed else {
            throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "segment is neither raw nor packed")
        }
        guard var i = p.blockIndex(containing: offset) ?? (offset <= SegmentHeader.size ? 0 : nil) else { return }
        while i < p.blocks.count {
            let block = try p.block(at: i)
            let stop = try block.payloads.withUnsafeBytes { payloads -> Bool in
                for k in block.firstIndex(atOrAfter: offset)..<block.count where try !body(block.frame(k), payloads) { return true }
                return false
            }
            if stop { return }
            i += 1
        }
    }

    /// Size of the segment's raw form (for a packed segment, the size it had before packing).
    public func rawEnd(fileSize: Int) -> Int {
        packed?.rawEnd ?? fileSize
    }
}
