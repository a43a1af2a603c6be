import DriftCore

/// Rows flowing between operators: `count` rows of `width` values, row-major in one
/// buffer that an operator reuses from batch to batch (no allocation per row).
public final class RowBatch {
    public let width: Int
    public private(set) var count = 0
    public var values: [Value]
    public static let capacity = 256

    public init(width: Int) {
        self.width = width
        // Start with room for a few rows and double on demand up to `capacity`: a point
        // lookup or a one-row result must not fill and free kilobytes of values per query,
        // and a plan of many wide joins must not zero megabytes.
        values = [Value](repeating: .null, count: max(width, 1) * 4)
    }

    public var isFull: Bool { count >= RowBatch.capacity }

    public func reset() { count = 0 }

    /// Makes room for one more row. A batch holds `capacity` rows normally; an operator whose
    /// input batch was larger (a join row with many matches) grows it rather than overrun it.
    @inline(__always)
    func ensureRoom() {
        if (count + 1) * width > values.count { grow() }
    }

    @inline(never)
    func grow() {
        values.append(contentsOf: repeatElement(Value.null, count: max(values.count, max(width, 1) * 4)))
    }

    /// Appends a row and returns a buffer for its values (valid until the next append).
    @inline(__always)
    public func appendRow(_ fill: (UnsafeMutableBufferPointer<Value>) throws -> Void) rethrows {
        ensureRoom()
        let base = count * width
        try values.withUnsafeMutableBufferPointer { buf in
            try fill(UnsafeMutableBufferPointer(rebasing: buf[base..<(base + width)]))
        }
        count += 1
    }

    /// Appends a copy of `row` (its first `width` values).
    @inline(__always)
    public func append(_ row: UnsafeBufferPointer<Value>) {
        ensureRoom()
        let base = count * width
        let w = width
        values.withUnsafeMutableBufferPointer { buf in
            for k in 0..<w { buf[base + k] = row[k] }
        }
        count += 1
    }

    /// Appends a row of nulls, then lets `fill` set some of it.
    @inline(__always)
    public func appendNulls(_ fill: (UnsafeMutableBufferPointer<Value>) throws -> Void) rethrows {
        ensureRoom()
        let base = count * width
        let w = width
        try values.withUnsafeMutableBufferPointer { buf in
            for k in 0..<w { buf[base + k] = .null }
            try fill(UnsafeMutableBufferPointer(rebasing: buf[base..<(base + w)]))
        }
        count += 1
    }

    /// Drops the last row (a filter that rejected it).
    public func removeLast() { count -= 1 }

    @inline(__always)
    public func withRow<T>(_ i: Int, _ body: (UnsafeBufferPointer<Value>) throws -> T) rethrows -> T {
        try values.withUnsafeBufferPointer { buf in
            try body(UnsafeBufferPointer(rebasing: buf[(i * width)..<(i * width + width)]))
        }
    }

    public func row(_ i: Int) -> [Value] { Array(values[(i * width)..<(i * width + width)]) }
}

/// A pull-based physical operator.
public protocol PlanNode: AnyObject {
    var width: Int { get }
    /// The next batch, or nil when exhausted. The batch is reused by the next call.
    func next() throws -> RowBatch?
    /// Starts over (a correlated subquery or the inner side of a nested loop runs again).
    func rewind() throws
}
