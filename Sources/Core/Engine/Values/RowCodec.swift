import DriftStorage

/// The on-disk row image: `[varint column count][value]...`, one value per column
/// position (dropped columns keep their position). Each value starts with a tag:
///
///     0 null  1 false  2 true  3 int (zig-zag varint)  4 double (8 bytes)
///     5 text  6 bytea  7 jsonb (varint length + bytes)
///     9 date (zig-zag days)  11 timestamp  12 timestamptz (zig-zag µs)
///
/// An image shorter than the table's column list reads the missing columns as the
/// column's missing value (NULL unless ADD COLUMN gave a default).
public enum RowCodec {
    enum Tag {
        static let null: UInt8 = 0
        static let falseValue: UInt8 = 1
        static let trueValue: UInt8 = 2
        static let int: UInt8 = 3
        static let double: UInt8 = 4
        static let text: UInt8 = 5
        static let bytes: UInt8 = 6
        static let json: UInt8 = 7
        static let date: UInt8 = 9
        static let timestamp: UInt8 = 11
        static let timestamptz: UInt8 = 12
        static let array: UInt8 = 13
        static let numeric: UInt8 = 14
        static let time: UInt8 = 15
        static let interval: UInt8 = 16
    }

    public static func encode(_ values: [Value]) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + values.count * 8)
        encode(values, into: &w)
        return w.bytes
    }

    public static func encode(_ values: [Value], into w: inout ByteWriter) {
        w.varint(UInt64(values.count))
        for v in values { encodeValue(v, into: &w) }
    }

    static func encodeValue(_ v: Value, into w: inout ByteWriter) {
        switch v {
        case .null: w.u8(Tag.null)
        case .bool(let b): w.u8(b ? Tag.trueValue : Tag.falseValue)
        case .int(let i): w.u8(Tag.int); w.zigzag(i)
        case .double(let d): w.u8(Tag.double); w.u64(d.bitPattern)
        case .text(let s): w.u8(Tag.text); w.string(s)
        case .bytes(let b): w.u8(Tag.bytes); w.lengthPrefixed(b)
        case .json(let s): w.u8(Tag.json); w.string(s)
        case .date(let d): w.u8(Tag.date); w.zigzag(Int64(d))
        case .timestamp(let t): w.u8(Tag.timestamp); w.zigzag(t)
        case .timestamptz(let t): w.u8(Tag.timestamptz); w.zigzag(t)
        case .array(let xs):
            w.u8(Tag.array)
            w.varint(UInt64(xs.count))
            for x in xs { encodeValue(x, into: &w) }
        case .numeric(let n):
            var b: [UInt8] = []
            n.encode(into: &b)
            w.u8(Tag.numeric)
            w.lengthPrefixed(b)
        case .time(let t): w.u8(Tag.time); w.zigzag(t)
        case .interval(let i):
            w.u8(Tag.interval)
            w.zigzag(Int64(i.months))
            w.zigzag(Int64(i.days))
            w.zigzag(i.micros)
        }
    }

    /// Number of values stored in an image.
    public static func columnCount(_ image: UnsafeRawBufferPointer) throws -> Int {
        var r = ByteReader(image)
        return try r.count(max: 1 << 20)
    }

    /// Decodes an image into `out[0..<missing.count]`, filling columns past the image's end
    /// from `missing` (one entry per table column).
    public static func decode(_ image: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Value>,
                              missing: [Value]) throws {
        var r = ByteReader(image)
        let stored = try r.count(max: 1 << 20)
        let n = missing.count
        var i = 0
        while i < n {
            out[i] = i < stored ? try decodeCommonValue(&r) : missing[i]
            i += 1
        }
    }

    /// `decodeValue` with integers and text read inline (most columns), the rest by a call.
    @inline(__always)
    static func decodeCommonValue(_ r: inout ByteReader) throws -> Value {
        if r.position < r.buffer.count {
            switch r.buffer[r.position] {
            case Tag.int:
                r.position &+= 1
                return .int(try r.zigzag())
            case Tag.text:
                r.position &+= 1
                return .text(try r.string())
            default:
                break
            }
        }
        return try decodeValue(&r)
    }

    /// Decodes only the columns `needed` marks (the others are set to NULL without being
    /// materialized: no string is built for a text column the query never reads).
    public static func decode(_ image: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Value>,
                              missing: [Value], needed: [Bool], lastNeeded: Int) throws {
        var r = ByteReader(image)
        let stored = try r.count(max: 1 << 20)
        let n = missing.count
        var i = 0
        while i <= lastNeeded && i < n {
            if needed[i] {
                out[i] = i < stored ? try decodeCommonValue(&r) : missing[i]
            } else {
                if i < stored { try skipValue(&r) }
                out[i] = .null
            }
            i += 1
        }
        while i < n {
            out[i] = .null
            i += 1
        }
    }

    /// Decodes an image into a new array of `missing.count` values.
    public static func decode(_ image: UnsafeRawBufferPointer, missing: [Value]) throws -> [Value] {
        try [Value](unsafeUninitializedCapacity: missing.count) { buf, count in
            buf.initialize(repeating: .null)
            count = missing.count
            try decode(image, into: buf, missing: missing)
        }
    }

    /// Decodes the value at one column position (NULL or missing when the image is shorter).
    public static func decodeColumn(_ image: UnsafeRawBufferPointer, _ index: Int, missing: Value) throws -> Value {
        var r = ByteReader(image)
        let stored = try r.count(max: 1 << 20)
        guard index < stored else { return missing }
        for _ in 0..<index { try skipValue(&r) }
        return try decodeValue(&r)
    }

    /// A stored value read in place, without building a `Value`.
    public enum RawValue {
        case null
        case int(Int64)
        /// UTF-8 bytes, valid while the image is.
        case text(UnsafeRawBufferPointer)
        /// Any other type, or an image that does not decode (its full decode reports why).
        case other
    }

    /// The value at column `index` read in place; nil when the image predates the column.
    public static func rawColumn(_ image: UnsafeRawBufferPointer, _ index: Int) -> RawValue? {
        var r = ByteReader(image)
        do {
            let stored = try r.count(max: 1 << 20)
            guard index < stored else { return nil }
            for _ in 0..<index { try skipValue(&r) }
            switch try r.u8() {
            case Tag.null: return .null
            case Tag.int: return .int(try r.zigzag())
            case Tag.text: return .text(try r.lengthPrefixed())
            default: return .other
            }
        } catch {
            return .other
        }
    }

    static func decodeValue(_ r: inout ByteReader) throws -> Value {
        let tag = try r.u8()
        switch tag {
        case Tag.null: return .null
        case Tag.falseValue: return .bool(false)
        case Tag.trueValue: return .bool(true)
        case Tag.int: return .int(try r.zigzag())
        case Tag.double: return .double(Double(bitPattern: try r.u64()))
        case Tag.text: return .text(try r.string())
        case Tag.bytes: return .bytes(try r.byteArray())
        case Tag.json: return .json(try r.string())
        case Tag.date: return .date(Int32(truncatingIfNeeded: try r.zigzag()))
        case Tag.timestamp: return .timestamp(try r.zigzag())
        case Tag.timestamptz: return .timestamptz(try r.zigzag())
        case Tag.time: return .time(try r.zigzag())
        case Tag.interval:
            let m = try r.zigzag(), d = try r.zigzag(), us = try r.zigzag()
            guard let months = Int32(exactly: m), let days = Int32(exactly: d) else {
                throw DecodeError("interval field out of range", offset: r.position)
            }
            return .interval(Interval(months: months, days: days, micros: us))
        case Tag.numeric:
            let b = try r.lengthPrefixed()
            var at = 0
            let n = try Numeric.decode(b, at: &at)
            guard at == b.count else { throw DecodeError("trailing bytes in a numeric value", offset: r.position) }
            return .numeric(n)
        case Tag.array:
            let n = try r.count(max: 1 << 24)
            var xs: [Value] = []
            xs.reserveCapacity(n)
            for _ in 0..<n { xs.append(try decodeValue(&r)) }
            return .array(xs)
        default: throw DecodeError("unknown value tag \(tag)", offset: r.position - 1)
        }
    }

    static func skipValue(_ r: inout ByteReader) throws {
        let tag = try r.u8()
        switch tag {
        case Tag.null, Tag.falseValue, Tag.trueValue: return
        case Tag.int, Tag.date, Tag.timestamp, Tag.timestamptz, Tag.time: _ = try r.varint()
        case Tag.interval: _ = try r.varint(); _ = try r.varint(); _ = try r.varint()
        case Tag.double: _ = try r.u64()
        case Tag.text, Tag.bytes, Tag.json, Tag.numeric: _ = try r.lengthPrefixed()
        case Tag.array:
            let n = try r.count(max: 1 << 24)
            for _ in 0..<n { try skipValue(&r) }
        default: throw DecodeError("unknown value tag \(tag)", offset: r.position - 1)
        }
    }
}

/// An order-preserving binary encoding of values: comparing two encodings byte by byte
/// (memcmp) orders them as the values order, NULL last. Primary keys and index keys
/// are stored this way, so one byte comparison serves every type and composite keys
/// are plain concatenations.
public enum KeyCodec {
    static let tagFalse: UInt8 = 0x10
    static let tagTrue: UInt8 = 0x11
    static let tagInt: UInt8 = 0x20
    static let tagDouble: UInt8 = 0x21
    static let tagText: UInt8 = 0x30
    static let tagBytes: UInt8 = 0x31
    static let tagJSON: UInt8 = 0x32
    static let tagDate: UInt8 = 0x40
    static let tagTimestamp: UInt8 = 0x41
    static let tagTimestamptz: UInt8 = 0x42
    static let tagArray: UInt8 = 0x50
    public static let tagNull: UInt8 = 0xF0
    static let tagNumeric: UInt8 = 0x22
    static let tagTime: UInt8 = 0x43
    static let tagInterval: UInt8 = 0x44

    public static func encode(_ values: [Value]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 10)
        for v in values { append(v, to: &out) }
        return out
    }

    public static func encode(_ v: Value) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(10)
        append(v, to: &out)
        return out
    }

    /// The integer a key (or key prefix) ends with, if its last value is an integer; for
    /// estimates only (it does not check what comes before).
    public static func integerBound(_ key: [UInt8]) -> Int64? {
        guard key.count >= 9, key[key.count - 9] == tagInt else { return nil }
        var v: UInt64 = 0
        for b in key[(key.count - 8)...] { v = v << 8 | UInt64(b) }
        return Int64(bitPattern: v ^ (1 << 63))
    }

    public static func append(_ v: Value, to out: inout [UInt8]) {
        switch v {
        case .null: out.append(tagNull)
        case .bool(let b): out.append(b ? tagTrue : tagFalse)
        case .int(let i):
            out.append(tagInt)
            appendBigEndian(UInt64(bitPattern: i) ^ (1 << 63), to: &out)
        case .double(var d):
            if d == 0 { d = 0 }  // -0.0 equals 0.0
            if d.isNaN { d = .nan }
            let bits = d.bitPattern
            out.append(tagDouble)
            appendBigEndian(d.sign == .minus ? ~bits : bits ^ (1 << 63), to: &out)
        case .text(let s): out.append(tagText); appendEscaped(Array(s.utf8), to: &out)
        case .bytes(let b): out.append(tagBytes); appendEscaped(b, to: &out)
        case .json(let s): out.append(tagJSON); appendEscaped(Array(s.utf8), to: &out)
        case .date(let d):
            out.append(tagDate)
            appendBigEndian(UInt64(bitPattern: Int64(d)) ^ (1 << 63), to: &out)
        case .timestamp(let t):
            out.append(tagTimestamp)
            appendBigEndian(UInt64(bitPattern: t) ^ (1 << 63), to: &out)
        case .timestamptz(let t):
            out.append(tagTimestamptz)
            appendBigEndian(UInt64(bitPattern: t) ^ (1 << 63), to: &out)
        case .numeric(let n):
            out.append(tagNumeric)
            n.appendKey(to: &out)
        case .time(let t):
            out.append(tagTime)
            appendBigEndian(UInt64(bitPattern: t) ^ (1 << 63), to: &out)
        case .interval(let i):
            // Ordered by PostgreSQL's span (30-day months, 24-hour days), then the fields, so
            // equal spans with different fields stay distinct keys.
            let span = i.span
            out.append(tagInterval)
            appendBigEndian(UInt64(truncatingIfNeeded: span >> 64) ^ (1 << 63), to: &out)
            appendBigEndian(UInt64(truncatingIfNeeded: span), to: &out)
            appendBigEndian(UInt64(bitPattern: Int64(i.months)) ^ (1 << 63), to: &out)
            appendBigEndian(UInt64(bitPattern: Int64(i.days)) ^ (1 << 63), to: &out)
        case .array(let xs):
            // Each element behind 0x01, then 0x00: a shorter array sorts before its extensions.
            out.append(tagArray)
            for x in xs {
                out.append(1)
                append(x, to: &out)
            }
            out.append(0)
        }
    }

    static func appendBigEndian(_ v: UInt64, to out: inout [UInt8]) {
        var x = v.bigEndian
        withUnsafeBytes(of: &x) { out.append(contentsOf: $0) }
    }

    /// 0x00 becomes 0x00 0xFF; the terminator is 0x00 0x01, so a prefix sorts first.
    static func appendEscaped(_ bytes: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            out.append(b)
            if b == 0 { out.append(0xFF) }
        }
        out.append(0)
        out.append(1)
    }

    /// Decodes a whole key into its values.
    public static func decode(_ key: UnsafeRawBufferPointer) throws -> [Value] {
        var i = 0
        var out: [Value] = []
        func be64() throws -> UInt64 {
            guard i + 8 <= key.count else { throw DecodeError("key ends early", offset: i) }
            var v: UInt64 = 0
            for k in 0..<8 { v = v << 8 | UInt64(key[i + k]) }
            i += 8
            return v
        }
        func escaped() throws -> [UInt8] {
            var b: [UInt8] = []
            while true {
                guard i + 1 < key.count else { throw DecodeError("key string ends early", offset: i) }
                let c = key[i]
                if c == 0 {
                    if key[i + 1] == 1 { i += 2; return b }
                    b.append(0)
                    i += 2
                } else {
                    b.append(c)
                    i += 1
                }
            }
        }
        func one() throws -> Value? {  // nested arrays recurse
            guard i < key.count else { throw DecodeError("key ends early", offset: i) }
            let tag = key[i]
            i += 1
            switch tag {
            case tagNull: return .null
            case tagFalse: return .bool(false)
            case tagTrue: return .bool(true)
            case tagInt: return .int(Int64(bitPattern: try be64() ^ (1 << 63)))
            case tagDouble:
                let u = try be64()
                return .double(Double(bitPattern: u & (1 << 63) != 0 ? u ^ (1 << 63) : ~u))
            case tagNumeric: return .numeric(try Numeric.fromKey(key, at: &i))
            case tagTime: return .time(Int64(bitPattern: try be64() ^ (1 << 63)))
            case tagInterval:
                let hi = Int64(bitPattern: try be64() ^ (1 << 63)), lo = try be64()
                let months = Int64(bitPattern: try be64() ^ (1 << 63)), days = Int64(bitPattern: try be64() ^ (1 << 63))
                let span = Int128(hi) << 64 | Int128(lo)
                guard let m = Int32(exactly: months), let d = Int32(exactly: days) else { throw DecodeError("bad interval key", offset: i) }
                let us = span - Int128(m) * 30 * 86_400_000_000 - Int128(d) * 86_400_000_000
                guard let micros = Int64(exactly: us) else { throw DecodeError("bad interval key", offset: i) }
                return .interval(Interval(months: m, days: d, micros: micros))
            case tagText: return .text(String(decoding: try escaped(), as: UTF8.self))
            case tagBytes: return .bytes(try escaped())
            case tagJSON: return .json(String(decoding: try escaped(), as: UTF8.self))
            case tagDate: return .date(Int32(truncatingIfNeeded: Int64(bitPattern: try be64() ^ (1 << 63))))
            case tagTimestamp: return .timestamp(Int64(bitPattern: try be64() ^ (1 << 63)))
            case tagTimestamptz: return .timestamptz(Int64(bitPattern: try be64() ^ (1 << 63)))
            case tagArray:
                var xs: [Value] = []
                while true {
                    guard i < key.count else { throw DecodeError("key array ends early", offset: i) }
                    let marker = key[i]
                    i += 1
                    if marker == 0 { return .array(xs) }
                    guard marker == 1, let x = try one() else { throw DecodeError("bad key array element", offset: i - 1) }
                    xs.append(x)
                }
            default: throw DecodeError("unknown key tag \(tag)", offset: i - 1)
            }
        }
        while i < key.count {
            if let v = try one() { out.append(v) }
        }
        return out
    }

    public static func decode(_ key: [UInt8]) throws -> [Value] {
        try key.withUnsafeBytes { try decode($0) }
    }
}
