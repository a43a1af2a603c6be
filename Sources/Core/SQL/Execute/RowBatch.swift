import DriftCore

/// Rows flowing between operators: `count` rows of `width` values, row-major in one
/// buffer that an operator reuses from batch to batch (no allocation per row).
public final class RowBatch {
    public let width: Int
    public private(set) var count = 0
    /// Row-major values, room for `allocated` of them. Kept by hand rather than in an array:
    /// the per-row appends and reads touch it without the array's uniqueness and exclusivity
    /// checks.
    private var storage: UnsafeMutablePointer<Value>
    private var allocated: Int
    /// Rows whose values are initialized (NULL until written); the memory after them is raw.
    /// A row is initialized when an append first reaches it, so a batch sized for many rows
    /// costs nothing, to set up or to free, for the rows it never holds.
    private var initializedRows = 0
    public static let capacity = 256

    public init(width: Int, rows: Int = 4) {
        self.width = width
        // Start with room for a few rows and grow on demand up to `capacity`: a point
        // lookup or a one-row result must not fill and free kilobytes of values per query,
        // and a plan of many wide joins must not zero megabytes. A scan expected to fill its
        // batches says so (`rows`) and skips the growing.
        allocated = max(width, 1) * max(0, min(rows, RowBatch.capacity))
        storage = .allocate(capacity: allocated)
    }

    deinit {
        storage.deinitialize(count: initializedRows * width)
        storage.deallocate()
    }

    public var isFull: Bool { count >= RowBatch.capacity }

    public func reset() { count = 0 }

    /// Makes room for one more row. A batch holds `capacity` rows normally; an operator whose
    /// input batch was larger (a join row with many matches) grows it rather than overrun it.
    @inline(__always)
    func ensureRoom() {
        if (count + 1) * width > allocated { grow() }
        if count == initializedRows {
            (storage + count * width).initialize(repeating: .null, count: width)
            initializedRows += 1
        }
    }

    /// Makes room for `rows` rows at once (an operator that copies its input batch by batch
    /// sizes its own to the input's instead of growing it step by step).
    @inline(__always)
    public func reserve(rows: Int) {
        let want = max(width, 1) * min(rows, RowBatch.capacity)
        if want > allocated { grow(by: want - allocated) }
    }

    @inline(never)
    func grow(by more: Int) {
        let fresh = UnsafeMutablePointer<Value>.allocate(capacity: allocated + more)
        fresh.moveInitialize(from: storage, count: initializedRows * width)
        storage.deallocate()
        storage = fresh
        allocated += more
    }

    @inline(never)
    func grow() {
        // Quadruple: a batch that fills to `capacity` grows three times, not six.
        grow(by: max(allocated * 3, max(width, 1) * 4))
    }

    /// Appends a row and returns a buffer for its values (valid until the next append).
    @inline(__always)
    public func appendRow(_ fill: (UnsafeMutableBufferPointer<Value>) throws -> Void) rethrows {
        ensureRoom()
        try fill(UnsafeMutableBufferPointer(start: storage + count * width, count: width))
        count += 1
    }

    /// Appends a copy of `row` (its first `width` values).
    @inline(__always)
    public func append(_ row: UnsafeBufferPointer<Value>) {
        ensureRoom()
        let base = storage + count * width
        for k in 0..<width { base[k] = row[k] }
        count += 1
    }

    /// Appends a row of nulls, then lets `fill` set some of it.
    @inline(__always)
    public func appendNulls(_ fill: (UnsafeMutableBufferPointer<Value>) throws -> Void) rethrows {
        ensureRoom()
        let base = storage + count * width
        for k in 0..<width { base[k] = .null }
        try fill(UnsafeMutableBufferPointer(start: base, count: width))
        count += 1
    }

    /// Keeps only the rows `keep` accepts, in their order (rejected rows' values are moved
    /// past `count`, not released).
    @inline(__always)
    public func filter(_ keep: (UnsafeBufferPointer<Value>) throws -> Bool) rethrows {
        var kept = 0
        for i in 0..<count {
            let row = storage + i * width
            guard try keep(UnsafeBufferPointer(start: row, count: width)) else { continue }
            if kept != i {
                let to = storage + kept * width
                for k in 0..<width { swap(&to[k], &row[k]) }
            }
            kept += 1
        }
        count = kept
    }

    /// Exchanges the values at `slots` of row `i` with `out`'s (a projection that takes its
    /// input's values, leaving it what `out` held, moves them without a copy).
    @inline(__always)
    func swapValues(row i: Int, slots: [Int], with out: UnsafeMutableBufferPointer<Value>) {
        let base = storage + i * width
        for k in 0..<slots.count { swap(&out[k], &base[slots[k]]) }
    }

    /// Drops the last row (a filter that rejected it).
    public func removeLast() { count -= 1 }

    @inline(__always)
    public func withRow<T>(_ i: Int, _ body: (UnsafeBufferPointer<Value>) throws -> T) rethrows -> T {
        try body(UnsafeBufferPointer(start: storage + i * width, count: width))
    }

    public func row(_ i: Int) -> [Value] { Array(UnsafeBufferPointer(start: storage + i * width, count: width)) }
}

/// A pull-based physical operator.
public protocol PlanNode: AnyObject {
    var width: Int { get }
    /// The next batch, or nil when exhausted. The batch is reused by the next call.
    func next() throws -> RowBatch?
    /// Starts over (a correlated subquery or the inner side of a nested loop runs again).
    func rewind() throws
}
