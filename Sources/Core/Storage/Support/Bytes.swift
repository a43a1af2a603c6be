#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `memcmp` of `count` bytes; 0 when there is nothing to compare (no pointer is unwrapped).
@inlinable
public func memoryCompare(_ a: UnsafeRawPointer?, _ b: UnsafeRawPointer?, _ count: Int) -> Int {
    guard count > 0, let a, let b else { return 0 }
    return Int(memcmp(a, b, count))
}

/// A growable little-endian byte writer used by every encoder (frames, rows, snapshots).
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    /// Appends `n` zero bytes (room that the caller then fills in place).
    public mutating func appendZeros(_ n: Int) {
        guard n > 0 else { return }
        let start = bytes.count
        if start + n > bytes.capacity { bytes.reserveCapacity(max(start + n, bytes.capacity * 2)) }
        bytes.append(contentsOf: repeatElement(0, count: n))
    }

    @inlinable public mutating func u8(_ v: UInt8) { bytes.append(v) }

    @inlinable public mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    /// Unsigned LEB128.
    @inlinable public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Zig-zag signed LEB128.
    @inlinable public mutating func zigzag(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    @inlinable public mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
    @inlinable public mutating func append(_ other: UnsafeRawBufferPointer) { bytes.append(contentsOf: other) }
    @inlinable public mutating func append<S: Sequence>(contentsOf s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }

    /// A length-prefixed byte string.
    @inlinable public mutating func lengthPrefixed(_ other: [UInt8]) {
        varint(UInt64(other.count))
        bytes.append(contentsOf: other)
    }

    @inlinable public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Overwrites four bytes at `offset` (for length and CRC fields filled in after the body).
    @inlinable public mutating func patchU32(_ v: UInt32, at offset: Int) {
        let le = v.littleEndian
        bytes[offset] = UInt8(truncatingIfNeeded: le)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: le >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: le >> 16)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: le >> 24)
    }
}

/// Raised by `ByteReader` when the input ends early or is malformed.
public struct DecodeError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var offset: Int
    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "\(message) at byte \(offset)" }
}

/// A bounds-checked reader over borrowed bytes. The bytes must outlive the reader.
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    public var position: Int

    @inlinable public init(_ buffer: UnsafeRawBufferPointer, position: Int = 0) {
        self.buffer = buffer
        self.position = position
    }

    @inlinable public var remaining: Int { buffer.count - position }
    @inlinable public var isAtEnd: Bool { position >= buffer.count }

    @inlinable public mutating func u8() throws -> UInt8 {
        guard position < buffer.count else { throw DecodeError("unexpected end of data", offset: position) }
        defer { position += 1 }
        return buffer[position]
    }

    @inlinable public mutating func u32() throws -> UInt32 {
        guard remaining >= 4 else { throw DecodeError("unexpected end of data", offset: position) }
        defer { position += 4 }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    @inlinable public mutating func u64() throws -> UInt64 {
        guard remaining >= 8 else { throw DecodeError("unexpected end of data", offset: position) }
        defer { position += 8 }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    @inlinable public mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }

    @inlinable @inline(__always) public mutating func varint() throws -> UInt64 {
        // One or two bytes (lengths, small integers) without a loop or a call.
        if position &+ 1 < buffer.count {
            let b0 = buffer[position]
            if b0 < 0x80 {
                position &+= 1
                return UInt64(b0)
            }
            let b1 = buffer[position &+ 1]
            if b1 < 0x80 {
                position &+= 2
                return UInt64(b0 & 0x7F) | UInt64(b1) << 7
            }
            // Three bytes: keys and values up to 2^21 (a million-row table's ids, zigzagged).
            if position &+ 2 < buffer.count {
                let b2 = buffer[position &+ 2]
                if b2 < 0x80 {
                    position &+= 3
                    return UInt64(b0 & 0x7F) | UInt64(b1 & 0x7F) << 7 | UInt64(b2) << 14
                }
            }
        }
        return try varintLoop()
    }

    @usableFromInline mutating func varintLoop() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < buffer.count else { throw DecodeError("unexpected end of data in varint", offset: position) }
            let b = buffer[position]
            position += 1
            if shift == 63 && b > 1 { throw DecodeError("varint overflows 64 bits", offset: position - 1) }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw DecodeError("varint too long", offset: position - 1) }
        }
    }

    @inlinable public mutating func zigzag() throws -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    @inlinable public mutating func count(max: Int) throws -> Int {
        let n = try varint()
        guard n <= UInt64(max) else { throw DecodeError("length \(n) exceeds \(max)", offset: position) }
        return Int(n)
    }

    /// Borrows `n` bytes without copying.
    @inlinable public mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, remaining >= n else { throw DecodeError("unexpected end of data", offset: position) }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: buffer[position..<(position + n)])
    }

    @inlinable public mutating func lengthPrefixed() throws -> UnsafeRawBufferPointer {
        let n = try count(max: remaining)
        return try bytes(n)
    }

    @inlinable public mutating func byteArray() throws -> [UInt8] { Array(try lengthPrefixed()) }

    @inlinable public mutating func string() throws -> String {
        String(decoding: try lengthPrefixed(), as: UTF8.self)
    }
}
