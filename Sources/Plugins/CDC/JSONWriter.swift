/// Compact JSON written straight into bytes, as Kafka's JSON converter (Jackson) writes it:
/// no whitespace, `"` and `\` escaped, control characters as `\b \t \n \f \r` or `\u00XX`,
/// everything else as raw UTF-8. Record keys must match Jackson byte for byte: the bytes
/// decide the partition (murmur2), and a consumer written for Debezium expects the same one.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Per open object or array: whether a member was written (a comma precedes the next).
    private var needsComma: [Bool] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    mutating func endObject() {
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    mutating func endArray() {
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// A member's name; its value follows.
    mutating func key(_ name: String) {
        separate()
        string(name, separated: false)
        bytes.append(UInt8(ascii: ":"))
        if !needsComma.isEmpty { needsComma[needsComma.count - 1] = false }
    }

    mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    mutating func bool(_ b: Bool) {
        separate()
        bytes.append(contentsOf: (b ? "true" : "false").utf8)
    }

    mutating func int(_ i: Int64) {
        separate()
        bytes.append(contentsOf: String(i).utf8)
    }

    /// A complete JSON value already written.
    mutating func raw(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
    }

    /// A number already in JSON's syntax.
    mutating func number(_ text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
    }

    mutating func string(_ s: String) { string(s, separated: true) }

    private mutating func string(_ s: String, separated: Bool) {
        if separated { separate() }
        bytes.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
            case 0x08: bytes.append(contentsOf: [92, UInt8(ascii: "b")])
            case 0x09: bytes.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0x0A: bytes.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0C: bytes.append(contentsOf: [92, UInt8(ascii: "f")])
            case 0x0D: bytes.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0..<0x20:
                let hex = Array("0123456789ABCDEF".utf8)
                bytes.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: bytes.append(c)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The comma before a value or member, where one is due; marks the container non-empty.
    private mutating func separate() {
        guard !needsComma.isEmpty else { return }
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}
