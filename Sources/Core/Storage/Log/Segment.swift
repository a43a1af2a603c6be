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

    /// Calls `body` with the frame at `offset` and the buffer its offsets refer to.
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
        let (block, info) = try p.block(containing: offset)
        return try block.bytes.withUnsafeBytes { raw in
            let local = offset - info.rawStart
            guard case var .frame(frame) = Frame.parse(raw, at: local, verify: false) else {
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "no frame at a published location")
            }
            frame.offset = offset
            return try body(frame, raw)
        }
    }
}

/// A decompressed block of a packed segment.
final class DecompressedBlock: @unchecked Sendable {
    let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }
}

/// The block layout of a packed segment. After the segment header, blocks follow:
///
///     [u32 compressed length][u32 crc32c][u64 raw start][u32 raw length][u64 first seq][u64 last seq][zstd bytes]
///
/// The CRC covers the 28 bytes after it and the compressed bytes. A block holds
/// whole transactions, byte-identical to the raw frames at [raw start, raw start + raw length).
public struct PackedBlockInfo: Sendable {
    public var fileOffset: Int
    public var compressedLength: Int
    public var rawStart: Int
    public var rawLength: Int
    public var firstSeq: UInt64
    public var lastSeq: UInt64

    public static let headerBytes = 36

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
        guard let start = Int(exactly: rawStart), start <= Int(UInt32.max) << 8 else {
            throw StorageError.corrupt(file: path, offset: UInt64(fileOffset), reason: "packed block header is inconsistent (raw start \(rawStart))")
        }
        return PackedBlockInfo(fileOffset: fileOffset, compressedLength: Int(clen), rawStart: start, rawLength: Int(rawLength),
                               firstSeq: firstSeq, lastSeq: lastSeq)
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

    func block(containing offset: Int) throws -> (DecompressedBlock, PackedBlockInfo) {
        guard let i = blockIndex(containing: offset) else {
            throw StorageError.corrupt(file: file.path, offset: UInt64(offset), reason: "offset outside every packed block")
        }
        return (try block(at: i), blocks[i])
    }

    func block(at i: Int) throws -> DecompressedBlock {
        if let b = cache.get(segment: number, block: i) { return b }
        let b = try Self.readBlock(file: file, info: blocks[i], verify: false)
        cache.put(segment: number, block: i, b)
        return b
    }

    static func readBlock(file: any FileHandle, info: PackedBlockInfo, verify: Bool) throws -> DecompressedBlock {
        var compressed = [UInt8](repeating: 0, count: info.compressedLength + PackedBlockInfo.headerBytes)
        let n = try compressed.withUnsafeMutableBytes { try file.read(into: $0, at: UInt64(info.fileOffset)) }
        guard n == compressed.count else {
            throw StorageError.corrupt(file: file.path, offset: UInt64(info.fileOffset), reason: "packed block is cut short")
        }
        return try compressed.withUnsafeBytes { all in
            if verify {
                let stored = all.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
                let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[8...]))
                guard stored == computed else {
                    throw StorageError.corrupt(file: file.path, offset: UInt64(info.fileOffset), reason: "packed block checksum mismatch")
                }
            }
            let body = UnsafeRawBufferPointer(rebasing: all[PackedBlockInfo.headerBytes...])
            do {
                return DecompressedBlock(bytes: try Zstd.decompress(body, rawLength: info.rawLength))
            } catch {
                throw StorageError.corrupt(file: file.path, offset: UInt64(info.fileOffset), reason: "packed block does not decompress: \(error)")
            }
        }
    }
}

/// Least-recently-used cache of decompressed packed blocks, bounded in bytes.
public final class BlockCache: @unchecked Sendable {
    struct Key: Hashable { var segment: UInt32; var block: Int }
    struct Entry { var block: DecompressedBlock; var lastUse: UInt64 }

    let lock = Lock()
    var entries: [Key: Entry] = [:]
    var bytes = 0
    var tick: UInt64 = 0
    let bytesMax: Int

    public init(bytesMax: Int = Limits.blockCacheBytesMax) { self.bytesMax = bytesMax }

    func get(segment: UInt32, block: Int) -> DecompressedBlock? {
        lock.withLock {
            tick += 1
            let k = Key(segment: segment, block: block)
            guard var e = entries[k] else { return nil }
            e.lastUse = tick
            entries[k] = e
            return e.block
        }
    }

    func put(segment: UInt32, block: Int, _ b: DecompressedBlock) {
        lock.withLock {
            tick += 1
            let k = Key(segment: segment, block: block)
            if entries[k] != nil { return }
            entries[k] = Entry(block: b, lastUse: tick)
            bytes += b.bytes.count
            while bytes > bytesMax, entries.count > 1 {
                guard let victim = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                bytes -= victim.value.block.bytes.count
                entries.removeValue(forKey: victim.key)
            }
        }
    }

    /// Drops every block of a segment (after it is replaced).
    func evict(segment: UInt32) {
        lock.withLock {
            for k in entries.keys where k.segment == segment {
                if let gone = entries.removeValue(forKey: k) { bytes -= gone.block.bytes.count }
            }
        }
    }
}

extension Segment {
    /// The bytes of a raw segment that hold frames: from the header to `end`.
    public func rawBytes(end: Int) -> UnsafeRawBufferPointer? {
        region.map { UnsafeRawBufferPointer(start: $0.base, count: min(end, $0.length)) }
    }

    /// Visits every frame from `offset` on (frame offsets are raw offsets; payload offsets index
    /// the buffer passed along), until `body` returns false. `end` bounds a raw segment.
    public func forEachFrame(from offset: Int = SegmentHeader.size, end: Int,
                             _ body: (Frame, UnsafeRawBufferPointer) throws -> Bool) throws {
        if let region {
            let bytes = UnsafeRawBufferPointer(start: region.base, count: min(end, region.length))
            var at = offset
            while at < bytes.count {
                guard case let .frame(f) = Frame.parse(bytes, at: at, verify: false) else {
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
        guard var i = p.blockIndex(containing: offset) ?? (offset < SegmentHeader.size + 1 ? 0 : nil) else { return }
        while i < p.blocks.count {
            let info = p.blocks[i]
            let block = try p.block(at: i)
            let stop = try block.bytes.withUnsafeBytes { raw -> Bool in
                var local = max(0, offset - info.rawStart)
                while local < raw.count {
                    guard case var .frame(f) = Frame.parse(raw, at: local, verify: false) else {
                        throw StorageError.corrupt(file: path, offset: UInt64(info.fileOffset), reason: "unreadable frame in packed block")
                    }
                    f.offset = info.rawStart + local
                    if try !body(f, raw) { return true }
                    local += f.totalLength
                }
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
