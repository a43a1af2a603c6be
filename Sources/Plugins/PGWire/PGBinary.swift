import DriftCore
import NIOCore

/// PostgreSQL's binary format (the typsend / typrecv functions) for every type DriftDB has:
/// parameters a client binds in binary and results it asks for in binary.
enum PGBinary {
    static func badFormat(_ parameter: Int) -> SQLError {
        SQLError(SQLState("22P03"), "incorrect binary data format in bind parameter \(parameter)")
    }

    /// Types whose binary form is their text (UTF-8): their parameters go through the text
    /// input of the type, so length limits and validation apply as for text parameters.
    static func isTextLike(_ type: SQLType) -> Bool {
        switch type.base {
        case .text, .varchar, .bpchar, .unknown, .enumeration, .json: return true
        default: return false
        }
    }

    /// Reads a binary parameter value of `type` (`parameter`: its 1-based number, for errors).
    /// Text-like types (`isTextLike`) and jsonb come back as `.text` for the caller's text input.
    static func decode(_ bytes: [UInt8], as type: SQLType, parameter: Int) throws -> Value {
        var b = ByteBuffer(bytes: bytes)
        let v = try read(&b, type, parameter: parameter, length: bytes.count)
        guard b.readableBytes == 0 else { throw badFormat(parameter) }
        return v
    }

    private static func read(_ b: inout ByteBuffer, _ type: SQLType, parameter: Int, length: Int) throws -> Value {
        func int<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard length == MemoryLayout<T>.size, let v = b.readInteger(as: T.self) else { throw badFormat(parameter) }
            return v
        }
        func rest() -> [UInt8] { b.readBytes(length: length) ?? [] }
        func utf8() throws -> String {
            guard let s = String(validating: rest(), as: UTF8.self) else {
                throw SQLError(.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"")
            }
            return s
        }
        switch type.base {
        case .bool:
            let v = try int(UInt8.self)
            guard v <= 1 else { throw badFormat(parameter) }
            return .bool(v == 1)
        case .int2: return .int(Int64(try int(Int16.self)))
        case .int4: return .int(Int64(try int(Int32.self)))
        case .int8: return .int(try int(Int64.self))
        case .float4: return .double(Double(Float(bitPattern: try int(UInt32.self))))
        case .float8: return .double(Double(bitPattern: try int(UInt64.self)))
        case .numeric: return .numeric(try Numeric(wire: rest()))
        case .text, .varchar, .bpchar, .unknown, .enumeration, .json: return .text(try utf8())
        case .jsonb:
            guard length >= 1, b.readInteger(as: UInt8.self) == 1 else {
                throw SQLError(SQLState("22P03"), "unsupported jsonb version number in bind parameter \(parameter)")
            }
            guard let s = String(validating: b.readBytes(length: length - 1) ?? [], as: UTF8.self) else {
                throw SQLError(.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"")
            }
            return .text(s)
        case .bytea: return .bytes(rest())
        case .date: return .date(try int(Int32.self))
        case .time: return .time(try int(Int64.self))
        case .timestamp: return .timestamp(try int(Int64.self))
        case .timestamptz: return .timestamptz(try int(Int64.self))
        case .interval:
            guard length == 16, let micros = b.readInteger(as: Int64.self), let days = b.readInteger(as: Int32.self),
                  let months = b.readInteger(as: Int32.self) else { throw badFormat(parameter) }
            return .interval(Interval(months: months, days: days, micros: micros))
        case .uuid:
            guard length == 16 else { throw badFormat(parameter) }
            return .text(UUIDText.format(bytes: rest()))
        case .array(let element), .vector(let element):
            return try readArray(&b, element, parameter: parameter)
        case .oid, .reg:
            return .int(Int64(try int(UInt32.self)))
        case .record:
            throw SQLError(.featureNotSupported, "record parameters (bind parameter \(parameter))")
        case .decimal, .modified:
            throw SQLError.bug("base type \(type.base) still carries a modifier")
        }
    }

    private static func readArray(_ b: inout ByteBuffer, _ element: SQLType, parameter: Int) throws -> Value {
        guard let ndim = b.readInteger(as: Int32.self), let _ = b.readInteger(as: Int32.self),
              let _ = b.readInteger(as: UInt32.self) else { throw badFormat(parameter) }
        if ndim == 0 { return .array([]) }
        guard ndim == 1 else {
            throw SQLError(.featureNotSupported, "arrays of \(ndim) dimensions are not supported (bind parameter \(parameter))")
        }
        guard let count = b.readInteger(as: Int32.self), let _ = b.readInteger(as: Int32.self), count >= 0 else {
            throw badFormat(parameter)
        }
        var out: [Value] = []
        out.reserveCapacity(Int(min(count, 1 << 16)))
        for _ in 0..<count {
            guard let len = b.readInteger(as: Int32.self) else { throw badFormat(parameter) }
            if len == -1 {
                out.append(.null)
                continue
            }
            guard len >= 0, b.readableBytes >= Int(len) else { throw badFormat(parameter) }
            var slice = b.readSlice(length: Int(len)) ?? ByteBuffer()
            out.append(try read(&slice, element, parameter: parameter, length: Int(len)))
            guard slice.readableBytes == 0 else { throw badFormat(parameter) }
        }
        return .array(out)
    }

    /// Writes a value's length and binary form (length -1 for NULL).
    static func write(_ v: Value, as type: SQLType, into b: inout ByteBuffer) throws {
        if case .null = v {
            b.writeInteger(Int32(-1))
            return
        }
        let at = b.writerIndex
        b.writeInteger(Int32(0))
        try writeBody(v, type, &b)
        b.setInteger(Int32(b.writerIndex - at - 4), at: at)
    }

    private static func writeBody(_ v: Value, _ type: SQLType, _ b: inout ByteBuffer) throws {
        switch (type.base, v) {
        case (.bool, .bool(let x)): b.writeInteger(UInt8(x ? 1 : 0))
        case (.int2, .int(let i)): b.writeInteger(Int16(truncatingIfNeeded: i))
        case (.int4, .int(let i)): b.writeInteger(Int32(truncatingIfNeeded: i))
        case (.int8, .int(let i)): b.writeInteger(i)
        case (.float4, .double(let d)): b.writeInteger(Float(d).bitPattern)
        case (.float8, .double(let d)): b.writeInteger(d.bitPattern)
        case (.numeric, .numeric(let n)): b.writeBytes(n.wireBytes())
        case (.jsonb, .json(let s)):
            b.writeInteger(UInt8(1))
            b.writeString(s)
        case (.bytea, .bytes(let x)): b.writeBytes(x)
        case (.date, .date(let d)): b.writeInteger(d)
        case (.time, .time(let t)), (.timestamp, .timestamp(let t)), (.timestamptz, .timestamptz(let t)): b.writeInteger(t)
        case (.interval, .interval(let i)):
            b.writeInteger(i.micros)
            b.writeInteger(i.days)
            b.writeInteger(i.months)
        case (.uuid, .text(let s)): b.writeBytes(UUIDText.bytes(s))
        case (.oid, .int(let i)), (.reg, .int(let i)): b.writeInteger(UInt32(truncatingIfNeeded: i))
        case (.record(let fields), .array(let items)):
            b.writeInteger(Int32(items.count))
            for (i, item) in items.enumerated() {
                let t = i < fields.count ? fields[i].type : .text
                b.writeInteger(t.oid)
                try write(item, as: t, into: &b)
            }
        case (.array(let element), .array(let items)), (.vector(let element), .array(let items)):
            var zeroBased = false
            if case .vector = type.base { zeroBased = true }
            b.writeInteger(Int32(items.isEmpty ? 0 : 1))
            b.writeInteger(Int32(items.contains { $0.isNull } ? 1 : 0))
            b.writeInteger(element.oid)
            if !items.isEmpty {
                b.writeInteger(Int32(items.count))
                b.writeInteger(Int32(zeroBased ? 0 : 1))
                for item in items { try write(item, as: element, into: &b) }
            }
        case (.text, .text(let s)), (.varchar, .text(let s)), (.bpchar, .text(let s)), (.unknown, .text(let s)),
             (.enumeration, .text(let s)), (.json, .json(let s)), (.json, .text(let s)):
            b.writeString(s)
        default:
            throw SQLError.bug("a \(v) value in a column of type \(type)")
        }
    }
}
