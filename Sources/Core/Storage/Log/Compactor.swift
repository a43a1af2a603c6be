#if canImport(Glibc)
import Glibc
#endif

/// Rewrites a sealed raw segment into its packed form: the same frames in small zstd blocks
/// of columns (`PackedBlockCodec`), addressed by their raw offsets, so every location (and
/// every `AS OF` answer) stays valid. The packed file is written beside the segment, read
/// back and rebuilt into raw frames that must equal the segment byte for byte, synced, and
/// renamed over it.
public struct Compactor {
    public struct Result: Sendable {
        public var segment: UInt32
        public var bytesBefore: Int
        public var bytesAfter: Int
    }

    let log: Log
    /// zstd's level: above 3 buys nothing on blocks this small and compresses far slower.
    static let level: Int32 = 3

    public init(log: Log) { self.log = log }

    public func pack(_ segment: Segment) throws -> Result {
        guard !segment.isPacked else {
            throw StorageError.corrupt(file: segment.path, offset: 0, reason: "segment \(segment.number) is already packed")
        }
        let fs = log.fs
        let file = try fs.open(segment.path, create: false)
        defer { file.close() }
        let size = Int(try file.size())
        let region = try file.map(length: size)
        let raw = UnsafeRawBufferPointer(start: region.base, count: size)
        let header = SegmentHeader(kind: .packed, firstSeq: segment.header.firstSeq, number: segment.number)
        var frames: [Frame] = []
        var at = SegmentHeader.size
        while at < size {
            guard case let .frame(f) = Frame.parse(raw, at: at) else {
                throw StorageError.corrupt(file: segment.path, offset: UInt64(at), reason: "damaged frame; run `driftdb doctor`")
            }
            frames.append(f)
            at = f.end
        }
        if let last = frames.last, !last.isCommit {
            throw StorageError.corrupt(file: segment.path, offset: UInt64(last.offset), reason: "segment ends inside a transaction")
        }
        var out = header.encode()
        var blocks: [PackedBlockInfo] = []
        var columns = ByteWriter(capacity: Limits.packedBlockBytes * 2)
        var compressed: [UInt8] = []
        var first = 0
        while first < frames.count {
            var last = first
            var span = frames[first].totalLength
            while last + 1 < frames.count && span < Limits.packedBlockBytes {
                last += 1
                span += frames[last].totalLength
            }
            columns.bytes.removeAll(keepingCapacity: true)
            PackedBlockCodec.encode(raw, frames[first...last], into: &columns)
            compressed.removeAll(keepingCapacity: true)
            try columns.bytes.withUnsafeBytes { try Zstd.compress($0, level: Self.level, into: &compressed) }
            let info = PackedBlockInfo(fileOffset: out.count, compressedLength: compressed.count, rawStart: frames[first].offset,
                                       rawLength: span, firstSeq: frames[first].seq, lastSeq: frames[last].seq)
            out.append(contentsOf: compressed.withUnsafeBytes { info.encodeHeader(compressed: $0) })
            out.append(contentsOf: compressed)
            blocks.append(info)
            first = last + 1
        }
        let tmp = segment.path + ".packing"
        let packedFile = try fs.open(tmp, create: true)
        do {
            try packedFile.truncate(to: 0)
            try packedFile.write(out, at: 0)
            try packedFile.sync()
            // Read back, rebuild the raw frames and compare before the raw segment is replaced.
            for b in blocks {
                let rebuilt = try PackedSegment.readBlock(file: packedFile, info: b, verify: true).rawFrames()
                let same = rebuilt.withUnsafeBytes { compareRange($0, UnsafeRawBufferPointer(rebasing: raw[b.rawStart..<(b.rawStart + b.rawLength)])) }
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
    /// Rewrites a packed segment as a raw one holding the frames of its first `keepBlocks` blocks.
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
            out.append(try PackedSegment.readBlock(file: file, info: info, verify: true).rawFrames())
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
