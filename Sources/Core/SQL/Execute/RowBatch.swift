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
        values = [Value](repeating: .null, count: max(width, 1) * RowBatch.capacity)
    }

    public var isFull: Bool { count == RowBatch.capacity }

    public func reset() { count = 0 }

    /// Appends a row and returns a buffer for its values (valid until the next append).
    @inline(__always)
    public func appendRow(_ fill: (UnsafeMutableBufferPointer<Value>) throws -> Void) rethrows {
        let base = count * width
        try values.withUnsafeMutableBufferPointer { buf in
            try fill(UnsafeMutableBufferPointer(rebasing: buf[base..<(base + width)]))
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
}
