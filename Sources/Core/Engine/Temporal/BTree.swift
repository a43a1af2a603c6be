import DriftStorage

/// Byte-wise comparison of two keys (memcmp order; a prefix sorts first): negative, zero or
/// positive. Text compares this way too (the C collation).
@inlinable
public func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0 {
        let c = memoryCompare(a.baseAddress, b.baseAddress, n)
        if c != 0 { return c }
    }
    return a.count - b.count
}

@inlinable
func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareBytes(x, y) } }
}

/// An in-memory B+tree of unique byte-string keys to entry numbers: the secondary
/// index structure. Keys are order-preserving encodings (`KeyCodec`) of the indexed
/// values followed by the primary key, so equal values stay distinct and range
/// scans over a value prefix come out in value order.
final class BTree {
    final class Node {
        var keys: [[UInt8]] = []
        /// Leaves: one value per key.
        var values: [Int32] = []
        /// Internal nodes: `keys.count + 1` children; `keys[i]` is the first key under `children[i + 1]`.
        var children: [Node] = []
        var next: Node?
        let isLeaf: Bool

        init(leaf: Bool) { isLeaf = leaf }
    }

    static let fanout = 64
    private(set) var root: Node
    private(set) var count = 0
    /// The last leaf: a key above every key in the tree (keys arriving in order, as serial
    /// keys and bulk loads do) is appended to it without a descent from the root.
    private var lastLeaf: Node

    init() {
        root = Node(leaf: true)
        lastLeaf = root
    }

    /// Index of the first key in `keys` that is >= `key` (or > when `strict`).
    static func lowerBound(_ keys: [[UInt8]], _ key: [UInt8], strict: Bool) -> Int {
        var lo = 0, hi = keys.count
        key.withUnsafeBytes { k in
            while lo < hi {
                let mid = (lo + hi) / 2
                let c = keys[mid].withUnsafeBytes { compareBytes($0, k) }
                if c < 0 || (strict && c == 0) { lo = mid + 1 } else { hi = mid }
            }
        }
        return lo
    }

    /// Inserts `key`; returns false when it is already present.
    @discardableResult
    func insert(_ key: [UInt8], _ value: Int32) -> Bool {
        let leaf = lastLeaf
        if leaf.keys.count < Self.fanout, leaf.keys.last.map({ compareBytes($0, key) < 0 }) ?? (count == 0) {
            leaf.keys.append(key)
            leaf.values.append(value)
            count += 1
            return true
        }
        defer { while let n = lastLeaf.next { lastLeaf = n } }
        var inserted = false
        if let (sep, right) = insert(key, value, into: root, inserted: &inserted) {
            let newRoot = Node(leaf: false)
            newRoot.keys = [sep]
            newRoot.children = [root, right]
            root = newRoot
        }
        if inserted { count += 1 }
        return inserted
    }

    private func insert(_ key: [UInt8], _ value: Int32, into node: Node, inserted: inout Bool) -> ([UInt8], Node)? {
        if node.isLeaf {
            let i = Self.lowerBound(node.keys, key, strict: false)
            if i < node.keys.count && node.keys[i] == key { return nil }
            node.keys.insert(key, at: i)
            node.values.insert(value, at: i)
            inserted = true
            guard node.keys.count > Self.fanout else { return nil }
            // A key appended past the end of the last leaf (ascending keys) starts a new leaf
            // and leaves this one full; any other split halves the leaf.
            let mid = i == node.keys.count - 1 && node.next == nil ? i : node.keys.count / 2
            let right = Node(leaf: true)
            right.keys = Array(node.keys[mid...])
            right.values = Array(node.values[mid...])
            node.keys.removeSubrange(mid...)
            node.values.removeSubrange(mid...)
            right.next = node.next
            node.next = right
            return (right.keys[0], right)
        }
        let ci = Self.lowerBound(node.keys, key, strict: true)
        guard let (sep, child) = insert(key, value, into: node.children[ci], inserted: &inserted) else { return nil }
        node.keys.insert(sep, at: ci)
        node.children.insert(child, at: ci + 1)
        guard node.keys.count > Self.fanout else { return nil }
        let mid = node.keys.count / 2
        let right = Node(leaf: false)
        let up = node.keys[mid]
        right.keys = Array(node.keys[(mid + 1)...])
        right.children = Array(node.children[(mid + 1)...])
        node.keys.removeSubrange(mid...)
        node.children.removeSubrange((mid + 1)...)
        return (up, right)
    }

    /// Visits keys in order from `lower` (inclusive unless `lowerStrict`) while `body` returns true.
    func scan(from lower: [UInt8]?, strict lowerStrict: Bool = false, _ body: ([UInt8], Int32) -> Bool) {
        var node = root
        while !node.isLeaf {
            let ci = lower.map { Self.lowerBound(node.keys, $0, strict: true) } ?? 0
            node = node.children[ci]
        }
        var i = lower.map { Self.lowerBound(node.keys, $0, strict: lowerStrict) } ?? 0
        var leaf: Node? = node
        while let l = leaf {
            while i < l.keys.count {
                if !body(l.keys[i], l.values[i]) { return }
                i += 1
            }
            leaf = l.next
            i = 0
        }
    }
}
