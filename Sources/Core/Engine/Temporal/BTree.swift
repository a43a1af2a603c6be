import DriftStorage

/// Byte-wise comparison of two keys (memcmp order; a prefix sorts first): negative, zero or
/// positive. Text compares this way too (the C collation).
///
/// Compared inline, eight bytes at a time as big-endian integers (the same order) for the
/// first 16, then byte by byte when at most eight remain; only a longer rest goes to `memcmp`.
/// Keys and the text values sorted or searched mostly differ early, and a call to `memcmp`
/// cost as much as the comparison.
@inlinable
public func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    if let pa = a.baseAddress, let pb = b.baseAddress {
        while i &+ 8 <= n && i < 16 {
            let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
            i &+= 8
        }
        if n &- i <= 8 {
            while i < n {
                let x = pa.load(fromByteOffset: i, as: UInt8.self), y = pb.load(fromByteOffset: i, as: UInt8.self)
                if x != y { return x < y ? -1 : 1 }
                i &+= 1
            }
        } else {
            let c = memoryCompare(pa + i, pb + i, n &- i)
            if c != 0 { return c }
        }
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
///
/// A node keeps its keys packed back to back in one byte buffer with their end offsets, not
/// one heap array per key: a search's probes stay within the node's own memory, a scan hands
/// out views of that buffer (no reference counting per key), and an insert allocates nothing
/// once the node's buffers have grown.
final class BTree {
    final class Node {
        /// The keys, back to back: key `i` is `bytes[start(i)..<ends[i]]`.
        var bytes: [UInt8] = []
        var ends: [Int] = []
        /// Leaves: one value per key.
        var values: [Int32] = []
        /// Internal nodes: `count + 1` children; key `i` is the first key under `children[i + 1]`.
        var children: [Node] = []
        var next: Node?
        let isLeaf: Bool

        init(leaf: Bool) { isLeaf = leaf }

        var count: Int { ends.count }

        @inline(__always)
        func start(_ i: Int) -> Int { i == 0 ? 0 : ends[i - 1] }

        func key(_ i: Int) -> [UInt8] { Array(bytes[start(i)..<ends[i]]) }

        /// Calls `body` with key `i`'s bytes.
        func withKey<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> T) -> T {
            let s = start(i), e = ends[i]
            return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[s..<e])) }
        }

        func insertKey(_ key: UnsafeRawBufferPointer, at i: Int) {
            let s = start(i)
            if i == count {
                bytes.append(contentsOf: key)
            } else {
                bytes.insert(contentsOf: key, at: s)
                let n = key.count
                ends.withUnsafeMutableBufferPointer { e in
                    for j in i..<e.count { e[j] += n }
                }
            }
            ends.insert(s + key.count, at: i)
        }

        /// Moves keys `from...` into `right` (which holds none yet), sizing its buffers for a
        /// full node: a node fills once instead of reallocating as it grows, which left a trail
        /// of freed buffers of every size behind a bulk load.
        func moveKeys(from: Int, to right: Node) {
            let base = start(from)
            let moving = bytes.count - base
            let perKey = max(1, moving / max(1, count - from))
            right.bytes.reserveCapacity(max(moving, perKey * (BTree.fanout + 1)))
            right.bytes.append(contentsOf: bytes[base...])
            right.ends.reserveCapacity(BTree.fanout + 1)
            for e in ends[from...] { right.ends.append(e - base) }
            bytes.removeSubrange(base...)
            ends.removeSubrange(from...)
        }

        /// Index of the first key >= `key` (or > when `strict`).
        func lowerBound(_ key: UnsafeRawBufferPointer, strict: Bool) -> Int {
            bytes.withUnsafeBytes { b in
                ends.withUnsafeBufferPointer { e in
                    var lo = 0, hi = e.count
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        let s = mid == 0 ? 0 : e[mid - 1]
                        let c = compareBytes(UnsafeRawBufferPointer(rebasing: b[s..<e[mid]]), key)
                        if c < 0 || (strict && c == 0) { lo = mid + 1 } else { hi = mid }
                    }
                    return lo
                }
            }
        }
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

    /// Inserts `key`; returns false when it is already present.
    @discardableResult
    func insert(_ key: [UInt8], _ value: Int32) -> Bool {
        key.withUnsafeBytes { insert($0, value) }
    }

    /// Inserts `key` (copied); returns false when it is already present.
    @discardableResult
    func insert(_ key: UnsafeRawBufferPointer, _ value: Int32) -> Bool {
        let leaf = lastLeaf
        let n = leaf.count
        if n < Self.fanout, n == 0 ? count == 0 : leaf.withKey(n - 1, { compareBytes($0, key) < 0 }) {
            leaf.insertKey(key, at: n)
            leaf.values.append(value)
            count += 1
            return true
        }
        defer { while let n = lastLeaf.next { lastLeaf = n } }
        var inserted = false
        if let (sep, right) = insert(key, value, into: root, inserted: &inserted) {
            let newRoot = Node(leaf: false)
            sep.withUnsafeBytes { newRoot.insertKey($0, at: 0) }
            newRoot.children = [root, right]
            root = newRoot
        }
        if inserted { count += 1 }
        return inserted
    }

    private func insert(_ key: UnsafeRawBufferPointer, _ value: Int32, into node: Node, inserted: inout Bool) -> ([UInt8], Node)? {
        if node.isLeaf {
            let i = node.lowerBound(key, strict: false)
            if i < node.count && node.withKey(i, { compareBytes($0, key) == 0 }) { return nil }
            node.insertKey(key, at: i)
            node.values.insert(value, at: i)
            inserted = true
            guard node.count > Self.fanout else { return nil }
            // A key appended past the end of the last leaf (ascending keys) starts a new leaf
            // and leaves this one full; any other split halves the leaf.
            let mid = i == node.count - 1 && node.next == nil ? i : node.count / 2
            let right = Node(leaf: true)
            node.moveKeys(from: mid, to: right)
            right.values.reserveCapacity(Self.fanout + 1)
            right.values.append(contentsOf: node.values[mid...])
            node.values.removeSubrange(mid...)
            right.next = node.next
            node.next = right
            return (right.key(0), right)
        }
        let ci = node.lowerBound(key, strict: true)
        guard let (sep, child) = insert(key, value, into: node.children[ci], inserted: &inserted) else { return nil }
        sep.withUnsafeBytes { node.insertKey($0, at: ci) }
        node.children.insert(child, at: ci + 1)
        guard node.count > Self.fanout else { return nil }
        let mid = node.count / 2
        let right = Node(leaf: false)
        let up = node.key(mid)
        node.moveKeys(from: mid + 1, to: right)
        node.ends.removeLast()
        node.bytes.removeSubrange(node.start(mid)...)
        right.children.reserveCapacity(Self.fanout + 2)
        right.children.append(contentsOf: node.children[(mid + 1)...])
        node.children.removeSubrange((mid + 1)...)
        return (up, right)
    }

    /// Visits keys in order from `lower` (inclusive unless `lowerStrict`) while `body` returns
    /// true. Each key's bytes are valid only during its call, and `body` must not change the tree.
    func scan(from lower: [UInt8]?, strict lowerStrict: Bool = false, _ body: (UnsafeRawBufferPointer, Int32) -> Bool) {
        guard let lower else { return scan(start: nil, strict: lowerStrict, body) }
        lower.withUnsafeBytes { scan(start: $0, strict: lowerStrict, body) }
    }

    private func scan(start lower: UnsafeRawBufferPointer?, strict lowerStrict: Bool, _ body: (UnsafeRawBufferPointer, Int32) -> Bool) {
        var node = root
        while !node.isLeaf {
            let ci = lower.map { node.lowerBound($0, strict: true) } ?? 0
            node = node.children[ci]
        }
        var i = lower.map { node.lowerBound($0, strict: lowerStrict) } ?? 0
        var leaf: Node? = node
        while let l = leaf {
            let more = l.bytes.withUnsafeBytes { b in
                l.ends.withUnsafeBufferPointer { e in
                    l.values.withUnsafeBufferPointer { v in
                        while i < e.count {
                            let s = i == 0 ? 0 : e[i - 1]
                            if !body(UnsafeRawBufferPointer(rebasing: b[s..<e[i]]), v[i]) { return false }
                            i += 1
                        }
                        return true
                    }
                }
            }
            if !more { return }
            leaf = l.next
            i = 0
        }
    }
}
