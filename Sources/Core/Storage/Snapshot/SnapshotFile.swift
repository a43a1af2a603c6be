/// The container of a snapshot: a header, zstd blocks each with its own CRC, a trailer.
///
///     header:  "DRIFTSNP" [u32 format version][u32 0][u64 seq][u64 created unix_us][u32 crc32c of the 32 bytes before]
///     block:   [u32 compressed length][u32 raw length][u32 crc32c of raw length + compressed bytes][zstd bytes]
///     trailer: [u32 0xFFFFFFFF][u32 block count][u64 raw bytes][u32 crc32c of the 16 bytes before]
///
/// Written to a temporary name, synced, renamed into place, and the directory synced,
/// so a snapshot is either whole or absent; any flipped byte fails a CRC with its offset.
public enum SnapshotFile {
    public static let magic: [UInt8] = Array("DRIFTSNP".utf8)
    /// 2: dates and timestamps count from 2000-01-01 (as in segment format 2).
    public static let formatVersion: UInt32 = 2
    public static let headerBytes = 36
    static let blockHeaderBytes = 12
    static let trailerBytes = 20

    public struct Header: Sendable {
        public var seq: UInt64
        public var createdMicros: Int64
    }

    /// Reads and verifies a whole snapshot file, returning its header and uncompressed content.
    public static func read(fs: any FileSystem, path: String) throws -> (Header, [UInt8]) {
        let file = try fs.open(path, create: false)
        defer { file.close() }
        let all = try file.readAll()
        return try all.withUnsafeBytes { try parse($0, path: path) }
    }

    static func parse(_ b: UnsafeRawBufferPointer, path: String) throws -> (Header, [UInt8]) {
        func corrupt(_ offset: Int, _ why: String) -> StorageError {
            .corrupt(file: path, offset: UInt64(offset), reason: why)
        }
        guard b.count >= headerBytes + trailerBytes else { throw corrupt(0, "snapshot file is too short") }
        guard Array(b[0..<8]) == magic else { throw corrupt(0, "not a DriftDB snapshot (bad magic)") }
        var r = ByteReader(b, position: 8)
        let version = try r.u32()
        _ = try r.u32()
        let seq = try r.u64()
        let created = try r.i64()
        let stored = try r.u32()
        guard stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<32])) else {
            throw corrupt(0, "snapshot header checksum mismatch")
        }
        guard version == formatVersion else {
            throw StorageError.unsupportedFormat(file: path, version: version, supported: formatVersion)
        }
        var content: [UInt8] = []
        var blocks = 0
        while true {
            let at = r.position
            guard r.remaining >= 4 else { throw corrupt(at, "snapshot ends without its trailer") }
            let first = try r.u32()
            if first == 0xFFFF_FFFF {
                guard r.remaining == trailerBytes - 4 else { throw corrupt(at, "snapshot trailer is misplaced") }
                let count = try r.u32()
                let rawTotal = try r.u64()
                let crc = try r.u32()
                guard crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[at..<(at + 16)])) else {
                    throw corrupt(at, "snapshot trailer checksum mismatch")
                }
                guard count == blocks, rawTotal == UInt64(content.count) else {
                    throw corrupt(at, "snapshot trailer does not match its blocks")
                }
                return (Header(seq: seq, createdMicros: created), content)
            }
            let compressed = Int(first)
            guard r.remaining >= 8 + compressed else { throw corrupt(at, "snapshot block runs past the end of the file") }
            let rawLength = Int(try r.u32())
            let crc = try r.u32()
            let body = try r.bytes(compressed)
            var check = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[(at + 4)..<(at + 8)]))
            check = CRC32C.update(check, body)
            guard check == crc, rawLength <= Limits.snapshotBlockBytes * 2 else {
                throw corrupt(at, "snapshot block checksum mismatch")
            }
            do {
                content.append(contentsOf: try Zstd.decompress(body, rawLength: rawLength))
            } catch {
                throw corrupt(at, "snapshot block does not decompress")
            }
            blocks += 1
        }
    }
}

/// Streams a snapshot to `<path>.tmp` and renames it into place on `finish()`.
public final class SnapshotFileWriter {
    let fs: any FileSystem
    let path: String
    let tmpPath: String
    let file: any FileHandle
    var offset = 0
    var pending = ByteWriter(capacity: Limits.snapshotBlockBytes + 4096)
    var blocks: UInt32 = 0
    var rawTotal: UInt64 = 0

    public init(fs: any FileSystem, path: String, seq: UInt64, createdMicros: Int64) throws {
        self.fs = fs
        self.path = path
        tmpPath = path + ".tmp"
        file = try fs.open(tmpPath, create: true)
        try file.truncate(to: 0)
        var h = ByteWriter(capacity: SnapshotFile.headerBytes)
        h.append(SnapshotFile.magic)
        h.u32(SnapshotFile.formatVersion)
        h.u32(0)
        h.u64(seq)
        h.i64(createdMicros)
        h.u32(CRC32C.checksum(h.bytes))
        try write(h.bytes)
    }

    private func write(_ bytes: [UInt8]) throws {
        try file.write(bytes, at: UInt64(offset))
        offset += bytes.count
    }

    /// Adds content; full blocks are compressed and written as they fill.
    public func append(_ w: inout ByteWriter) throws {
        pending.append(w.bytes)
        w.bytes.removeAll(keepingCapacity: true)
        while pending.count >= Limits.snapshotBlockBytes { try flushBlock(limit: Limits.snapshotBlockBytes) }
    }

    private func flushBlock(limit: Int) throws {
        let n = min(limit, pending.count)
        guard n > 0 else { return }
        let compressed = try pending.bytes.withUnsafeBytes { try Zstd.compress(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        var h = ByteWriter(capacity: 12 + compressed.count)
        h.u32(UInt32(compressed.count))
        h.u32(UInt32(n))
        let crc = h.bytes.withUnsafeBytes { head in
            compressed.withUnsafeBytes { CRC32C.update(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: head[4..<8])), $0) }
        }
        h.u32(crc)
        h.append(compressed)
        try write(h.bytes)
        pending.bytes.removeFirst(n)
        blocks += 1
        rawTotal += UInt64(n)
    }

    /// Writes the last block and the trailer, syncs, renames into place and syncs the directory.
    /// Returns the file's size.
    @discardableResult
    public func finish() throws -> Int {
        while pending.count > 0 { try flushBlock(limit: Limits.snapshotBlockBytes) }
        var t = ByteWriter(capacity: SnapshotFile.trailerBytes)
        t.u32(0xFFFF_FFFF)
        t.u32(blocks)
        t.u64(rawTotal)
        t.u32(CRC32C.checksum(t.bytes))
        try write(t.bytes)
        try file.sync()
        file.close()
        try fs.rename(tmpPath, to: path)
        try fs.syncDirectory(Path.parent(path))
        return offset
    }

    public func abort() {
        file.close()
        try? fs.remove(tmpPath)
    }
}
