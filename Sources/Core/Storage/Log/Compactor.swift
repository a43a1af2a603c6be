#if canImport(Glibc)
import Glibc
#endif

/// Rewrites a sealed raw segment into its packed form: the same frames, byte for byte,
/// in zstd blocks that end on transaction boundaries and are addressed by their raw
/// offsets, so every location (and every `AS OF` answer) stays valid. The packed file is
/// written beside the segment, verified against it, synced and renamed over it.
public struct Compactor {
    public struct Result: Sendable {
        public var segment: UInt32
        public var bytesBefore: Int
        public var bytesAfter: Int
    }

    let log: Log

    public init(log: Log) { self.log = log }

    public func pack(_ segment: Segment) throws -> Result {
        precondition(!segment.isPacked, "segment \(segment.number) is already packed")
        let fs = log.fs
        let file = try fs.open(segment.path, create: false)
        defer { file.close() }
        let size = Int(try file.size())
        let region = try file.map(length: size)
        let raw = UnsafeRawBufferPointer(start: region.base, count: size)
        let header = SegmentHeader(kind: .packed, firstSeq: segment.header.firstSeq, number: segment.number)
        var out = ByteWriter(capacity: size / 2 + 4096)
        out.append(header.encode())
        var blocks: [PackedBlockInfo] = []
        var blockStart = SegmentHeader.size
        var firstSeq: UInt64 = 0
        var at = SegmentHeader.size
        func emit(upTo end: Int, lastSeq: UInt64) {
            let body = Zstd.compress(UnsafeRawBufferPointer(rebasing: raw[blockStart..<end]), level: 6)
            var h = ByteWriter(capacity: PackedBlockInfo.headerBytes)
            h.u32(UInt32(body.count))
            h.u32(0)
            h.u64(UInt64(blockStart))
            h.u32(UInt32(end - blockStart))
            h.u64(firstSeq)
            h.u64(lastSeq)
            var crc = h.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
            crc = body.withUnsafeBytes { CRC32C.update(crc, $0) }
            h.patchU32(crc, at: 4)
            blocks.append(PackedBlockInfo(fileOffset: out.count, compressedLength: body.count, rawStart: blockStart,
                                          rawLength: end - blockStart, firstSeq: firstSeq, lastSeq: lastSeq))
            out.append(h.bytes)
            out.append(body)
            blockStart = end
        }
        while at < size {
            guard case let .frame(f) = Frame.parse(raw, at: at) else {
                throw StorageError.corrupt(file: segment.path, offset: UInt64(at), reason: "damaged frame; run `driftdb doctor`")
            }
            if at == blockStart { firstSeq = f.seq }
            at = f.end
            if f.isCommit && at - blockStart >= Limits.packedBlockBytes { emit(upTo: at, lastSeq: f.seq) }
            else if f.isCommit && at == size { emit(upTo: at, lastSeq: f.seq) }
        }
        guard blockStart == size else {
            throw StorageError.corrupt(file: segment.path, offset: UInt64(blockStart), reason: "segment ends inside a transaction")
        }
        let tmp = segment.path + ".packing"
        let packedFile = try fs.open(tmp, create: true)
        do {
            try packedFile.truncate(to: 0)
            try packedFile.write(out.bytes, at: 0)
            try packedFile.sync()
            // Read back and compare before the raw segment is replaced.
            for b in blocks {
                let d = try PackedSegment.readBlock(file: packedFile, info: b, verify: true)
                let same = d.bytes.withUnsafeBytes { compareRange($0, UnsafeRawBufferPointer(rebasing: raw[b.rawStart..<(b.rawStart + b.rawLength)])) }
                guard same else { throw StorageError.corrupt(file: tmp, offset: UInt64(b.fileOffset), reason: "packed block differs from the raw frames") }
            }
            try fs.rename(tmp, to: segment.path)
            try fs.syncDirectory(log.directory)
        } catch {
            packedFile.close()
            try? fs.remove(tmp)
            throw error
        }
        log.replace(Segment(path: segment.path, header: header,
                            packed: PackedSegment(file: packedFile, number: segment.number, blocks: blocks, cache: log.cache)))
        return Result(segment: segment.number, bytesBefore: size, bytesAfter: out.count)
    }
}

extension Compactor {
    /// Rewrites a packed segment as a raw one holding its first `keepBlocks` blocks.
    public static func unpack(_ path: String, keepBlocks: Int, fs: any FileSystem) throws {
        let file = try fs.open(path, create: false)
        defer { file.close() }
        var header = [UInt8](repeating: 0, count: SegmentHeader.size)
        _ = try header.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        let parsed = try header.withUnsafeBytes { try SegmentHeader.parse($0, file: path) }
        var out = ByteWriter(capacity: 1 << 20)
        out.append(SegmentHeader(kind: .raw, firstSeq: parsed.firstSeq, number: parsed.number).encode())
        var offset = SegmentHeader.size
        var hb = [UInt8](repeating: 0, count: PackedBlockInfo.headerBytes)
        for _ in 0..<keepBlocks {
            _ = try hb.withUnsafeMutableBytes { try file.read(into: $0, at: UInt64(offset)) }
            let info = try hb.withUnsafeBytes { try PackedBlockInfo.parse($0, fileOffset: offset, path: path) }
            let block = try PackedSegment.readBlock(file: file, info: info, verify: true)
            out.append(block.bytes)
            offset += PackedBlockInfo.headerBytes + info.compressedLength
        }
        let tmp = path + ".packing"
        let t = try fs.open(tmp, create: true)
        try t.truncate(to: 0)
        try t.write(out.bytes, at: 0)
        try t.sync()
        t.close()
        try fs.rename(tmp, to: path)
    }
}

func compareRange(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && memoryCompare(a.baseAddress, b.baseAddress, a.count) == 0
}
