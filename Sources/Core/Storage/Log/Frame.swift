/// A log frame:
///
///     [u32 length][u32 crc32c][varint seq][u64 unix_us][u8 event_type][payload]
///
/// Integers are little-endian. `length` counts the bytes after the CRC field (the
/// body); the CRC covers the whole body. Bit 7 of `event_type` marks the last
/// frame of a transaction (its commit).
public enum FrameType: UInt8, Sendable {
    case insert = 1
    case update = 2
    case delete = 3
    case ddl = 4

    public static let commitFlag: UInt8 = 0x80
}

public struct Frame: Sendable {
    /// Offset of the frame's first byte in its segment (its location).
    public var offset: Int
    /// Header plus body.
    public var totalLength: Int
    public var seq: UInt64
    public var timestamp: Int64
    public var rawType: UInt8
    public var payloadOffset: Int
    public var payloadLength: Int

    public var type: FrameType? { FrameType(rawValue: rawType & ~FrameType.commitFlag) }
    public var isCommit: Bool { rawType & FrameType.commitFlag != 0 }
    public var end: Int { offset + totalLength }

    public static let headerBytes = 8
    /// The smallest body: a one-byte seq, the timestamp and the type.
    public static let bodyBytesMin = 1 + 8 + 1

    /// Appends one encoded frame.
    public static func encode(into w: inout ByteWriter, seq: UInt64, timestamp: Int64, type: FrameType,
                              commit: Bool, payload: UnsafeRawBufferPointer) {
        let start = w.count
        w.appendZeros(encodedSize(seq: seq, payloadLength: payload.count))
        w.bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            _ = encode(at: base + start, seq: seq, timestamp: timestamp, type: type, commit: commit) { $0.copy(payload) }
        }
    }

    /// Encodes the frame of `event` at `p`, which has room for `encodedSize`; returns its size.
    static func encode(at p: UnsafeMutableRawPointer, seq: UInt64, timestamp: Int64, commit: Bool,
                       event e: LogEvent) -> Int {
        encode(at: p, seq: seq, timestamp: timestamp, type: e.type, commit: commit) { c in
            if e.varintCount > 0 {
                c.varint(e.varints.0)
                c.varint(e.varints.1)
            }
            c.copy(e.body)
            c.copy(e.tail)
        }
    }

    /// The one frame encoder: header, then the body (seq, timestamp, type and what
    /// `writePayload` writes), its length and checksum patched in; returns the frame's size.
    @inline(__always)
    static func encode(at p: UnsafeMutableRawPointer, seq: UInt64, timestamp: Int64, type: FrameType, commit: Bool,
                       writePayload: (inout RawCursor) -> Void) -> Int {
        var c = RawCursor(p + headerBytes)
        c.varint(seq)
        c.u64(UInt64(bitPattern: timestamp))
        c.u8(type.rawValue | (commit ? FrameType.commitFlag : 0))
        writePayload(&c)
        let bodyLength = c.p - (p + headerBytes)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p + headerBytes, count: bodyLength))
        p.storeBytes(of: UInt32(bodyLength).littleEndian, toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        return headerBytes + bodyLength
    }

    /// The encoded size of a frame with this payload.
    public static func encodedSize(seq: UInt64, payloadLength: Int) -> Int {
        var n = 1
        var v = seq
        while v >= 0x80 { v >>= 7; n += 1 }
        return headerBytes + n + 8 + 1 + payloadLength
    }
}

/// What lies at an offset of a segment's bytes.
public enum FrameParse: Sendable {
    case frame(Frame)
    /// The bytes end before the frame does.
    case incomplete
    /// The frame is complete but its checksum does not match.
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// The frame is complete and its checksum matches, but its body does not parse.
    case malformed(String)
}

extension Frame {
    /// Parses the frame at `offset` of `bytes` (the valid prefix of a segment), verifying its CRC
    /// when `verify` is true.
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int, verify: Bool = true) -> FrameParse {
        guard bytes.count - offset >= headerBytes else { return .incomplete }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        guard length <= Limits.frameBytesMax else {
            return bytes.count - offset - headerBytes < length ? .incomplete : .malformed("frame length \(length) exceeds the limit")
        }
        guard bytes.count - offset - headerBytes >= length else { return .incomplete }
        let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + headerBytes)..<(offset + headerBytes + length)])
        if verify {
            let computed = CRC32C.checksum(body)
            if computed != stored { return .checksumMismatch(stored: stored, computed: computed) }
        }
        guard length >= bodyBytesMin else { return .malformed("frame body of \(length) bytes is too short") }
        var r = ByteReader(body)
        do {
            let seq = try r.varint()
            let ts = try r.i64()
            let type = try r.u8()
            guard FrameType(rawValue: type & ~FrameType.commitFlag) != nil else { return .malformed("unknown event type \(type)") }
            let payloadStart = offset + headerBytes + r.position
            return .frame(Frame(offset: offset, totalLength: headerBytes + length, seq: seq, timestamp: ts,
                                rawType: type, payloadOffset: payloadStart, payloadLength: length - r.position))
        } catch {
            return .malformed("frame body does not parse: \(error)")
        }
    }

    /// The payload bytes of this frame within `bytes`.
    @inlinable
    public func payload(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[payloadOffset..<(payloadOffset + payloadLength)])
    }
}

/// Writes bytes at a pointer the caller has sized (the log writer's frame encoder).
struct RawCursor {
    var p: UnsafeMutableRawPointer

    init(_ p: UnsafeMutableRawPointer) { self.p = p }

    @inline(__always) mutating func u8(_ v: UInt8) {
        p.storeBytes(of: v, as: UInt8.self)
        p += 1
    }

    @inline(__always) mutating func u64(_ v: UInt64) {
        p.storeBytes(of: v.littleEndian, toByteOffset: 0, as: UInt64.self)
        p += 8
    }

    @inline(__always) mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            u8(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        u8(UInt8(v))
    }

    @inline(__always) mutating func copy(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { copy($0) }
    }

    @inline(__always) mutating func copy(_ b: UnsafeRawBufferPointer) {
        guard let base = b.baseAddress, b.count > 0 else { return }
        p.copyMemory(from: base, byteCount: b.count)
        p += b.count
    }
}
