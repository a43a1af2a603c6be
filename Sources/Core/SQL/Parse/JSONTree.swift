import DriftCore

/// The parser's JSON output as a flat tree over its bytes: one pass, one array of nodes,
/// strings left in place until read. Walking it allocates nothing per node.
struct JSONTree {
    enum Kind: UInt8 { case object, array, string, number, bool, null }

    struct Node {
        var kind: Kind
        /// The key's bytes (without quotes) when the node is an object member.
        var keyStart: Int32 = -1
        var keyLength: Int32 = 0
        /// The value's bytes: a string without quotes, a number or literal as written.
        var start: Int32 = 0
        var length: Int32 = 0
        var firstChild: Int32 = -1
        var next: Int32 = -1
        /// A string holding backslash escapes (decoded when read).
        var escaped = false
    }

    let bytes: UnsafeRawBufferPointer
    var nodes: [Node] = []

    static let depthMax = 1000

    init(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes = bytes
        nodes.reserveCapacity(bytes.count / 8)
        var i = 0
        _ = try parseValue(&i, depth: 0)
    }

    func fail(_ m: String, _ at: Int) -> SQLError { SQLError(.internalError, "parse tree: \(m) at byte \(at)") }

    mutating func skipSpace(_ i: inout Int) {
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 10 || bytes[i] == 9 || bytes[i] == 13 { i += 1 }
    }

    /// Parses the value at `i`; returns its node index.
    mutating func parseValue(_ i: inout Int, depth: Int) throws -> Int32 {
        guard depth <= Self.depthMax else {
            throw SQLError(.statementTooComplex, "stack depth limit exceeded",
                           hint: "The statement nests expressions more than \(Self.depthMax / 2) levels deep.")
        }
        skipSpace(&i)
        guard i < bytes.count else { throw fail("unexpected end", i) }
        let index = Int32(nodes.count)
        switch bytes[i] {
        case 123:
            nodes.append(Node(kind: .object))
            i += 1
            var last: Int32 = -1
            while true {
                skipSpace(&i)
                guard i < bytes.count else { throw fail("unterminated object", i) }
                if bytes[i] == 125 { i += 1; break }
                if bytes[i] == 44 { i += 1; continue }
                let (ks, kl, _) = try stringSpan(&i)
                skipSpace(&i)
                guard i < bytes.count, bytes[i] == 58 else { throw fail("expected ':'", i) }
                i += 1
                let child = try parseValue(&i, depth: depth + 1)
                nodes[Int(child)].keyStart = Int32(ks)
                nodes[Int(child)].keyLength = Int32(kl)
                if last < 0 { nodes[Int(index)].firstChild = child } else { nodes[Int(last)].next = child }
                last = child
            }
        case 91:
            nodes.append(Node(kind: .array))
            i += 1
            var last: Int32 = -1
            while true {
                skipSpace(&i)
                guard i < bytes.count else { throw fail("unterminated array", i) }
                if bytes[i] == 93 { i += 1; break }
                if bytes[i] == 44 { i += 1; continue }
                let child = try parseValue(&i, depth: depth + 1)
                if last < 0 { nodes[Int(index)].firstChild = child } else { nodes[Int(last)].next = child }
                last = child
            }
        case 34:
            let (s, l, escaped) = try stringSpan(&i)
            nodes.append(Node(kind: .string, start: Int32(s), length: Int32(l), escaped: escaped))
        case 116, 102:
            let isTrue = bytes[i] == 116
            nodes.append(Node(kind: .bool, start: Int32(i), length: isTrue ? 4 : 5))
            i += isTrue ? 4 : 5
        case 110:
            nodes.append(Node(kind: .null, start: Int32(i), length: 4))
            i += 4
        default:
            let s = i
            while i < bytes.count, ![44, 125, 93, 32, 10].contains(bytes[i]) { i += 1 }
            nodes.append(Node(kind: .number, start: Int32(s), length: Int32(i - s)))
        }
        return index
    }

    /// The span of a string at `i` (the opening quote), without its quotes.
    func stringSpan(_ i: inout Int) throws -> (Int, Int, Bool) {
        guard bytes[i] == 34 else { throw fail("expected a string", i) }
        i += 1
        let s = i
        var escaped = false
        while i < bytes.count && bytes[i] != 34 {
            if bytes[i] == 92 {
                escaped = true
                i += 1
            }
            i += 1
        }
        guard i < bytes.count else { throw fail("unterminated string", s) }
        let l = i - s
        i += 1
        return (s, l, escaped)
    }

    var root: TreeRef { TreeRef(tree: self, index: 0) }
}

/// A node of a `JSONTree`, with the reads the AST builder needs.
struct TreeRef {
    let tree: JSONTree
    let index: Int32

    var node: JSONTree.Node { tree.nodes[Int(index)] }
    var kind: JSONTree.Kind { node.kind }

    /// The member named `key` of an object.
    subscript(_ key: String) -> TreeRef? {
        guard kind == .object else { return nil }
        var c = node.firstChild
        var key = key
        return key.withUTF8 { k -> TreeRef? in
            while c >= 0 {
                let n = tree.nodes[Int(c)]
                if Int(n.keyLength) == k.count,
                   bytesEqual(tree.bytes, Int(n.keyStart), k) {
                    return TreeRef(tree: tree, index: c)
                }
                c = n.next
            }
            return nil
        }
    }

    /// Children of an array, or members of an object.
    var children: [TreeRef] {
        var out: [TreeRef] = []
        var c = node.firstChild
        while c >= 0 {
            out.append(TreeRef(tree: tree, index: c))
            c = tree.nodes[Int(c)].next
        }
        return out
    }

    /// For a node wrapper `{"Kind": {...}}`: the kind and its body.
    var wrapped: (String, TreeRef)? {
        guard kind == .object, node.firstChild >= 0 else { return nil }
        let c = TreeRef(tree: tree, index: node.firstChild)
        return (c.key, c)
    }

    var key: String {
        let n = node
        guard n.keyStart >= 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: tree.bytes[Int(n.keyStart)..<Int(n.keyStart + n.keyLength)]), as: UTF8.self)
    }

    var string: String {
        let n = node
        let raw = UnsafeRawBufferPointer(rebasing: tree.bytes[Int(n.start)..<Int(n.start + n.length)])
        guard n.escaped else { return String(decoding: raw, as: UTF8.self) }
        return Self.unescape(raw)
    }

    var int: Int64? {
        guard kind == .number else { return nil }
        let n = node
        return Int64(String(decoding: UnsafeRawBufferPointer(rebasing: tree.bytes[Int(n.start)..<Int(n.start + n.length)]), as: UTF8.self))
    }

    var bool: Bool { kind == .bool && node.length == 4 }

    static func unescape(_ raw: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let c = raw[i]
            guard c == 92, i + 1 < raw.count else {
                out.append(c)
                i += 1
                continue
            }
            i += 1
            switch raw[i] {
            case 110: out.append(10)
            case 116: out.append(9)
            case 114: out.append(13)
            case 98: out.append(8)
            case 102: out.append(12)
            case 117:
                var scalar: UInt32 = 0
                if i + 4 < raw.count, let v = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: raw[(i + 1)...(i + 4)]), as: UTF8.self), radix: 16) {
                    scalar = v
                    i += 4
                    if (0xD800..<0xDC00).contains(v), i + 6 < raw.count, raw[i + 1] == 92, raw[i + 2] == 117,
                       let lo = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: raw[(i + 3)...(i + 6)]), as: UTF8.self), radix: 16),
                       (0xDC00..<0xE000).contains(lo) {
                        scalar = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    }
                }
                out.append(contentsOf: Array(String(Character(UnicodeScalar(scalar) ?? "\u{FFFD}")).utf8))
            default: out.append(raw[i])
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Whether `count` bytes of `buffer` at `offset` equal `key`.
@inline(__always)
func bytesEqual(_ buffer: UnsafeRawBufferPointer, _ offset: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
    guard offset >= 0, offset + key.count <= buffer.count else { return false }
    for i in 0..<key.count where buffer[offset + i] != key[i] { return false }
    return true
}
