import Synchronization
import DriftCore
import DriftStorage

/// Rows kept in memory: `count` rows of `width` values in one flat array.
struct RowStore {
    let width: Int
    private(set) var values: [Value] = []
    var count: Int { width == 0 ? zeroWidthRows : values.count / width }
    private var zeroWidthRows = 0

    init(width: Int) { self.width = width }

    mutating func append(_ row: UnsafeBufferPointer<Value>) {
        if width == 0 { zeroWidthRows += 1; return }
        values.append(contentsOf: row)
    }

    /// Appends a row of NULLs and lets `fill` set its values.
    mutating func appendRow(_ fill: (UnsafeMutableBufferPointer<Value>) throws -> Void) rethrows {
        if width == 0 { zeroWidthRows += 1; return }
        let start = values.count
        values.append(contentsOf: repeatElement(.null, count: width))
        try values.withUnsafeMutableBufferPointer { try fill(UnsafeMutableBufferPointer(rebasing: $0[start..<(start + width)])) }
    }

    mutating func append(_ row: [Value]) {
        if width == 0 { zeroWidthRows += 1; return }
        values.append(contentsOf: row)
    }

    @inline(__always)
    func withRow<T>(_ i: Int, _ body: (UnsafeBufferPointer<Value>) throws -> T) rethrows -> T {
        try values.withUnsafeBufferPointer { buf in
            try body(UnsafeBufferPointer(rebasing: buf[(i * width)..<(i * width + width)]))
        }
    }

    func row(_ i: Int) -> [Value] { Array(values[(i * width)..<(i * width + width)]) }

    mutating func removeAll() {
        values.removeAll(keepingCapacity: true)
        zeroWidthRows = 0
    }

    /// Approximate bytes held (for the statement's memory bound).
    var bytes: Int { values.count * MemoryLayout<Value>.stride }
}

/// What one execution of a statement shares: the transaction, the parameters, the statement's
/// clock, materialized CTEs, and the memory bound of sorts, hash tables and aggregates.
final class ExecContext {
    let engine: Engine
    let txn: Transaction
    weak var session: Session?
    var parameters: [Value]
    /// now() / CURRENT_TIMESTAMP: the transaction's start (PostgreSQL µs).
    let transactionTime: Int64
    /// statement_timestamp().
    let statementTime: Int64
    var cteRows: [ObjectIdentifier: RowStore] = [:]
    /// An error a set function's row iterator met (iterators cannot throw): the node that
    /// drains it throws it.
    var deferredError: (any Error)?
    var workTables: [ObjectIdentifier: RowStore] = [:]
    /// Bytes sorts, hash tables and aggregates may hold before the statement fails with 53200.
    let memoryLimit: Int
    var memoryUsed = 0
    /// EXPLAIN ANALYZE: the counting wrapper of every node instantiated, by plan node.
    var instrumentation: [ObjectIdentifier: [CountingNode]]?
    /// The session's time zone and the transaction's start, for date/time input and casts.
    let dt: DateTimeContext

    init(engine: Engine, txn: Transaction, session: Session?, parameters: [Value], transactionTime: Int64,
         statementTime: Int64, memoryLimit: Int = 1 << 30) {
        self.engine = engine
        self.txn = txn
        self.session = session
        self.parameters = parameters
        self.transactionTime = transactionTime
        self.statementTime = statementTime
        self.memoryLimit = memoryLimit
        dt = DateTimeContext(timeZone: session?.timeZone ?? .utc, now: transactionTime)
        Self.live.add(1, ordering: .relaxed)
    }

    deinit { Self.live.subtract(1, ordering: .relaxed) }

    /// Statement contexts alive now: each is freed with its statement's plan (a context the
    /// plan's nodes still referenced after the statement would hold its batches forever).
    static let live = Atomic<Int>(0)

    var interrupt: StatementInterrupt? { txn.interrupt }

    /// Accounts `bytes` more held by an operator; fails with 53200 past the bound.
    func reserve(_ bytes: Int, for what: String) throws {
        memoryUsed += bytes
        if memoryUsed > memoryLimit {
            throw SQLError(SQLState("53200"), "out of memory",
                           detail: "The \(what) needs more than the \(memoryLimit >> 20) MB a statement may hold in memory.",
                           hint: "Narrow the query, or raise drift.statement_memory.")
        }
    }

    func release(_ bytes: Int) { memoryUsed = max(0, memoryUsed - bytes) }
}
