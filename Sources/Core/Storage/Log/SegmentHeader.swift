/// The 36-byte header that starts every segment:
///
///     "DRIFTSEG" [u32 format version][u32 kind][u64 first seq][u64 segment number][u32 crc32c]
///
/// The CRC covers the 32 bytes before it.
public struct SegmentHeader: Sendable, Equatable {
    public enum Kind: UInt32, Sendable {
        /// Frames appended one after another; the active segment is always raw.
        case raw = 0
        /// A compacted segment: the same frames in zstd blocks, addressed by their raw offsets.
        case packed = 1
    }

    public static let magic: [UInt8] = Array("DRIFTSEG".utf8)
    /// 2: dates and timestamps in row images count from 2000-01-01, as PostgreSQL's do.
    public static let formatVersion: UInt32 = 2
    public static let size = 36

    public var kind: Kind
    public var firstSeq: UInt64
    public var number: UInt32

    public init(kind: Kind, firstSeq: UInt64, number: UInt32) {
        self.kind = kind
        self.firstSeq = firstSeq
        self.number = number
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.append(Self.magic)
        w.u32(Self.formatVersion)
        w.u32(kind.rawValue)
        w.u64(firstSeq)
        w.u64(UInt64(number))
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Parses a complete header (the caller checks there are `size` bytes).
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> SegmentHeader {
        precondition(bytes.count >= size)
        guard Array(bytes[0..<8]) == magic else {
            throw StorageError.corrupt(file: file, offset: 0, reason: "not a DriftDB segment (bad magic)")
        }
        var r = ByteReader(bytes, position: 8)
        let version = try r.u32()
        let kindRaw = try r.u32()
        let firstSeq = try r.u64()
        let number = try r.u64()
        let stored = try r.u32()
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<32]))
        guard stored == computed else {
            throw StorageError.corrupt(file: file, offset: 0, reason: "segment header checksum mismatch")
        }
        guard version == formatVersion else {
            throw StorageError.unsupportedFormat(file: file, version: version, supported: formatVersion)
        }
        guard let kind = Kind(rawValue: kindRaw), number <= UInt64(UInt32.max) else {
            throw StorageError.corrupt(file: file, offset: 8, reason: "unknown segment kind \(kindRaw)")
        }
        return SegmentHeader(kind: kind, firstSeq: firstSeq, number: UInt32(number))
    }

    public static func fileName(_ number: UInt32) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".seg"
    }

    /// The segment number a file name denotes, or nil for other files.
    public static func number(fromFileName name: String) -> UInt32? {
        guard name.hasSuffix(".seg"), name.count == 12 else { return nil }
        return UInt32(name.dropLast(4))
    }
}

/// Where a frame lives: segment number and byte offset in the segment's raw form.
/// Compaction keeps raw offsets as addresses, so locations never change.
public struct Location: Hashable, Sendable, Comparable {
    public var raw: UInt64

    @inlinable public init(raw: UInt64) { self.raw = raw }
    @inlinable public init(segment: UInt32, offset: Int) {
        raw = UInt64(segment) << 40 | UInt64(offset)
    }

    @inlinable public var segment: UInt32 { UInt32(truncatingIfNeeded: raw >> 40) }
    @inlinable public var offset: Int { Int(raw & (1 << 40 - 1)) }

    public static func < (a: Location, b: Location) -> Bool { a.raw < b.raw }
}
