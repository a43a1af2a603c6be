/// The lock manager's targets and their holders: open addressing with linear probing, placed
/// by each target's precomputed hash. A bulk write takes and releases a lock per row; a
/// dictionary spent most of that time seeding its hasher, rehashing the key bytes and copying
/// entries while probing. Here a probe reads one array of hash tags (0: empty) and touches an
/// entry only when its tag matches. Deletion shifts the rest of a probe run back (no
/// tombstones), and the table shrinks again once a large transaction's locks are gone.
/// Used under the lock manager's mutex only.
final class LockTable<Value> {
    struct Slot {
        var target: LockTarget
        var value: Value
    }

    /// Per slot: the target's tag (its hash shifted up, the low bit set), or 0 when empty.
    private var tags: [UInt64]
    /// Initialized exactly where `tags` is non-zero.
    private var slots: UnsafeMutablePointer<Slot>
    private(set) var count = 0
    static var minimumCapacity: Int { 64 }

    init() {
        tags = [UInt64](repeating: 0, count: Self.minimumCapacity)
        slots = .allocate(capacity: Self.minimumCapacity)
    }

    deinit {
        for i in tags.indices where tags[i] != 0 { (slots + i).deinitialize(count: 1) }
        slots.deallocate()
    }

    var capacity: Int { tags.count }

    @inline(__always)
    private static func tag(_ t: LockTarget) -> UInt64 {
        (t.keyHash ^ (UInt64(t.table) &* 0x9E37_79B9_7F4A_7C15)) << 1 | 1
    }

    @inline(__always)
    private func home(_ tag: UInt64) -> Int {
        Int(truncatingIfNeeded: tag >> 1) & (tags.count - 1)
    }

    /// The slot holding `t`, or nil.
    @inline(__always)
    private func find(_ t: LockTarget, tag: UInt64) -> Int? {
        let mask = tags.count - 1
        var i = home(tag)
        return tags.withUnsafeBufferPointer { tg in
            while true {
                let x = tg[i]
                if x == 0 { return nil }
                if x == tag && slots[i].target.table == t.table && slots[i].target.key == t.key { return i }
                i = (i + 1) & mask
            }
        }
    }

    subscript(_ t: LockTarget) -> Value? {
        get {
            guard let i = find(t, tag: Self.tag(t)) else { return nil }
            return slots[i].value
        }
        set {
            let tag = Self.tag(t)
            guard let newValue else {
                removeValue(forKey: t)
                return
            }
            if let i = find(t, tag: tag) {
                slots[i].value = newValue
                return
            }
            if (count + 1) * 4 > tags.count * 3 { resize(tags.count * 2) }
            place(Slot(target: t, value: newValue), tag: tag)
            count += 1
        }
    }

    /// The value held for `t`; when there is none, `make()`'s value is stored and nil
    /// returned. One probe for the common case of a lock nobody holds.
    func valueOrInsert(_ t: LockTarget, _ make: () -> Value) -> Value? {
        if (count + 1) * 4 > tags.count * 3 { resize(tags.count * 2) }
        let tag = Self.tag(t)
        let mask = tags.count - 1
        var i = home(tag)
        while true {
            let x = tags[i]
            if x == 0 { break }
            if x == tag && slots[i].target.table == t.table && slots[i].target.key == t.key { return slots[i].value }
            i = (i + 1) & mask
        }
        tags[i] = tag
        (slots + i).initialize(to: Slot(target: t, value: make()))
        count += 1
        return nil
    }

    @discardableResult
    func removeValue(forKey t: LockTarget) -> Value? {
        guard let found = find(t, tag: Self.tag(t)) else { return nil }
        let removed = (slots + found).move()
        tags[found] = 0
        // Backward-shift deletion: each later entry of the run whose home is not in the
        // cyclic range (hole, its position] moves into the hole.
        let mask = tags.count - 1
        var hole = found
        var j = found
        while true {
            j = (j + 1) & mask
            let x = tags[j]
            if x == 0 { break }
            let k = home(x)
            let stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j)
            if stays { continue }
            (slots + hole).moveInitialize(from: slots + j, count: 1)
            tags[hole] = x
            tags[j] = 0
            hole = j
        }
        count -= 1
        if tags.count > Self.minimumCapacity && count * 8 < tags.count { resize(tags.count / 2) }
        return removed.value
    }

    /// Updates every entry in one pass: `update` changes an entry's value in place and
    /// answers whether the entry stays. The survivors are placed again in a table sized for
    /// them, so a transaction that held a million row locks releases them in one sequential
    /// pass instead of a probe and a backward shift per lock.
    func updateAll(_ update: (inout Value) -> Bool) {
        var survivors: [(UInt64, Slot)] = []
        for i in tags.indices where tags[i] != 0 {
            let tag = tags[i]
            var slot = (slots + i).move()
            tags[i] = 0
            if update(&slot.value) { survivors.append((tag, slot)) }
        }
        var capacity = Self.minimumCapacity
        while survivors.count * 4 > capacity * 3 { capacity *= 2 }
        if capacity != tags.count {
            slots.deallocate()
            tags = [UInt64](repeating: 0, count: capacity)
            slots = .allocate(capacity: capacity)
        }
        count = survivors.count
        for (tag, slot) in survivors { place(slot, tag: tag) }
    }

    /// Grows the table (never shrinks it) to hold `count` entries without resizing.
    func reserve(_ count: Int) {
        var capacity = tags.count
        while count * 4 > capacity * 3 { capacity *= 2 }
        if capacity > tags.count { resize(capacity) }
    }

    private func place(_ s: Slot, tag: UInt64) {
        let mask = tags.count - 1
        var i = home(tag)
        while tags[i] != 0 { i = (i + 1) & mask }
        tags[i] = tag
        (slots + i).initialize(to: s)
    }

    private func resize(_ newCapacity: Int) {
        let capacity = max(Self.minimumCapacity, newCapacity)
        let oldTags = tags
        let oldSlots = slots
        tags = [UInt64](repeating: 0, count: capacity)
        slots = .allocate(capacity: capacity)
        let mask = capacity - 1
        for (k, tag) in oldTags.enumerated() where tag != 0 {
            var i = home(tag)
            while tags[i] != 0 { i = (i + 1) & mask }
            tags[i] = tag
            (slots + i).moveInitialize(from: oldSlots + k, count: 1)
        }
        oldSlots.deallocate()
    }

    /// Every target and value (for diagnostics and tests).
    var entries: [(LockTarget, Value)] {
        tags.indices.filter { tags[$0] != 0 }.map { (slots[$0].target, slots[$0].value) }
    }
}
