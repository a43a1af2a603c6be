import DriftStorage

/// uuid values are held as their canonical text (lowercase, hyphenated): its order is the
/// order of the 16 bytes, as PostgreSQL compares uuids.
public enum UUIDText {
    /// PostgreSQL's uuid input: 32 hex digits, optionally in braces, with a hyphen allowed
    /// after any group of four digits.
    public static func parse(_ s: String) throws -> String {
        var digits: [UInt8] = []
        var bytes = Array(s.utf8)
        let braced = bytes.first == UInt8(ascii: "{")
        if braced {
            guard bytes.last == UInt8(ascii: "}") else { throw bad(s) }
            bytes = Array(bytes.dropFirst().dropLast())
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "-") {
                guard !digits.isEmpty, digits.count % 4 == 0, digits.count < 32, i + 1 < bytes.count,
                      bytes[i + 1] != UInt8(ascii: "-") else { throw bad(s) }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(c)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digits.append(c + 32)
            default: throw bad(s)
            }
            i += 1
        }
        guard digits.count == 32 else { throw bad(s) }
        return format(digits)
    }

    static func bad(_ s: String) -> SQLError {
        SQLError(.invalidTextRepresentation, "invalid input syntax for type uuid: \"\(s)\"")
    }

    static func format(_ hex: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, d) in hex.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append(UInt8(ascii: "-")) }
            out.append(d)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical text of 16 bytes (uuid_recv).
    public static func format(bytes b: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        return format(b.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0x0F)]] })
    }

    /// The 16 bytes of a canonical uuid text (uuid_send).
    public static func bytes(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8?
        for c in s.utf8 {
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            default: continue
            }
            if let h = high {
                out.append(h << 4 | d)
                high = nil
            } else {
                high = d
            }
        }
        return out
    }

    /// A version 4 (random) uuid.
    public static func random() -> String {
        var g = SystemRandomNumberGenerator()
        var b = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        let hex = Array("0123456789abcdef".utf8)
        return format(b.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0x0F)]] })
    }
}
