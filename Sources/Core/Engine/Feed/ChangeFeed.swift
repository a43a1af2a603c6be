import DriftStorage

/// One change of a committed transaction.
public struct ChangeEvent: Sendable {
    public enum Kind: String, Sendable { case insert, update, delete, truncate, ddl }
    public var kind: Kind
    /// The table as of the transaction (for a dropped table, its last definition).
    public var table: TableDef?
    /// Primary-key values.
    public var key: [Value]
    /// The row before (updates and deletes) and after (inserts and updates), one value per column position.
    public var before: [Value]?
    public var after: [Value]?
    public var ddl: CatalogEvent?

    public init(kind: Kind, table: TableDef?, key: [Value], before: [Value]?, after: [Value]?, ddl: CatalogEvent?) {
        self.kind = kind
        self.table = table
        self.key = key
        self.before = before
        self.after = after
        self.ddl = ddl
    }
}

/// A committed transaction as the change feed publishes it.
public struct CommittedTransaction: Sendable {
    public var seq: UInt64
    /// Commit time, unix µs.
    public var timestamp: Int64
    public var events: [ChangeEvent]

    public init(seq: UInt64, timestamp: Int64, events: [ChangeEvent]) {
        self.seq = seq
        self.timestamp = timestamp
        self.events = events
    }
}

/// Wakes change-feed readers when seqs become visible. Commits only note the new seq;
/// they never wait for a reader.
final class ChangeFeedHub: @unchecked Sendable {
    let lock = Lock()
    let cond = Condition()
    var published: UInt64 = 0
    var closed = false
    var waiters: [(UInt64, CheckedContinuation<Void, Never>)] = []

    func published(upTo seq: UInt64) {
        let ready: [CheckedContinuation<Void, Never>] = lock.withLock {
            published = seq
            cond.broadcast()
            guard !waiters.isEmpty else { return [] }
            let r = waiters.filter { $0.0 <= seq }.map(\.1)
            waiters.removeAll { $0.0 <= seq }
            return r
        }
        for c in ready { c.resume() }
    }

    func wait(for seq: UInt64) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if published >= seq || closed { return true }
                waiters.append((seq, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Blocks until `seq` is visible or the deadline passes; returns whether it is visible.
    func waitBlocking(for seq: UInt64, deadlineNanos: UInt64) -> Bool {
        lock.withLock {
            while published < seq && !closed {
                if !cond.wait(lock, deadlineNanos: deadlineNanos) && monotonicNanos() >= deadlineNanos { break }
            }
            return published >= seq
        }
    }

    var isClosed: Bool { lock.withLock { closed } }

    func close() {
        let all: [CheckedContinuation<Void, Never>] = lock.withLock {
            closed = true
            cond.broadcast()
            defer { waiters = [] }
            return waiters.map(\.1)
        }
        for c in all { c.resume() }
    }
}

/// Reads committed transactions in seq order from a starting point, straight from the log
/// (the newest frames are read through the segment mapping, so a live reader touches no disk).
public final class ChangeReader: @unchecked Sendable {
    let engine: Engine
    public private(set) var nextSeq: UInt64
    var segment: Segment?
    var offset = 0

    init(engine: Engine, after seq: UInt64) {
        self.engine = engine
        nextSeq = seq + 1
    }

    /// The next transaction if it is already visible.
    public func nextIfAvailable() throws -> CommittedTransaction? {
        guard nextSeq <= engine.visibleSeq else { return nil }
        let t = try read()
        nextSeq += 1
        return t
    }

    /// The next transaction, waiting up to `timeoutNanos` for it to commit.
    public func next(timeoutNanos: UInt64) throws -> CommittedTransaction? {
        if let t = try nextIfAvailable() { return t }
        _ = engine.feed.waitBlocking(for: nextSeq, deadlineNanos: monotonicNanos() + timeoutNanos)
        return try nextIfAvailable()
    }

    private func position() throws {
        guard let s = engine.log.segment(holding: nextSeq) else {
            throw SQLError(.dataCorrupted, "no segment holds seq \(nextSeq)")
        }
        segment = s
        offset = SegmentHeader.size
        var found = false
        try s.forEachFrame(from: offset, end: Int.max) { f, _ in
            if f.seq >= nextSeq {
                offset = f.offset
                found = true
                return false
            }
            return true
        }
        if !found { offset = Int.max }
    }

    private func read() throws -> CommittedTransaction {
        if segment == nil { try position() }
        // Follow rotations: frames from a segment's first seq on live in it or later ones.
        while let s = segment, let next = engine.log.segment(s.number + 1), next.header.firstSeq <= nextSeq {
            segment = next
            offset = SegmentHeader.size
        }
        guard let s = segment else { throw SQLError.bug("change reader has no segment for seq \(nextSeq)") }
        var frames: [(FrameType, [UInt8], Location)] = []
        var seq: UInt64 = 0, ts: Int64 = 0
        try s.forEachFrame(from: offset, end: Int.max) { f, buf in
            guard f.seq == nextSeq else {
                throw SQLError(.dataCorrupted, "change feed expected seq \(nextSeq) at \(s.path):\(f.offset), found \(f.seq)")
            }
            guard let type = f.type else {
                throw SQLError(.dataCorrupted, "unknown event type \(f.rawType) at \(s.path):\(f.offset)")
            }
            frames.append((type, Array(f.payload(in: buf)), Location(segment: s.number, offset: f.offset)))
            seq = f.seq
            ts = f.timestamp
            offset = f.end
            return !f.isCommit
        }
        guard !frames.isEmpty else {
            throw SQLError(.dataCorrupted, "change feed found no frame of visible seq \(nextSeq) in \(s.path)")
        }
        return try decode(seq: seq, timestamp: ts, frames: frames)
    }

    private func decode(seq: UInt64, timestamp: Int64, frames: [(FrameType, [UInt8], Location)]) throws -> CommittedTransaction {
        var events: [ChangeEvent] = []
        for (type, payload, _) in frames {
            if type == .ddl {
                let e = try payload.withUnsafeBytes { try CatalogEvent.decode($0) }
                let kind: ChangeEvent.Kind
                if case .truncateTable = e { kind = .truncate } else { kind = .ddl }
                events.append(ChangeEvent(kind: kind, table: engine.definition(of: e.tableId, at: seq),
                                          key: [], before: nil, after: nil, ddl: e))
                continue
            }
            let (tableId, key, image, keyValues) = try payload.withUnsafeBytes { p in
                let (t, k, i) = try RowEventCodec.decode(p)
                return (t, Array(k), Array(i), try KeyCodec.decode(k))
            }
            guard let def = engine.definition(of: tableId, at: seq),
                  let store = engine.store(tableId) else {
                throw SQLError(.dataCorrupted, "change for unknown table \(tableId) at seq \(seq)")
            }
            let missing = def.missingValues
            let before = try key.withUnsafeBytes { k in
                try store.lookup(key: k, at: seq - 1, log: engine.log) { try RowCodec.decode($0.image, missing: missing) }
            }
            let after = type == .delete ? nil : try image.withUnsafeBytes { try RowCodec.decode($0, missing: missing) }
            let kind: ChangeEvent.Kind = type == .insert ? .insert : type == .update ? .update : .delete
            events.append(ChangeEvent(kind: kind, table: def, key: keyValues, before: before, after: after, ddl: nil))
        }
        return CommittedTransaction(seq: seq, timestamp: timestamp, events: events)
    }
}

/// `changes(after:)` as an async sequence.
public struct ChangeStream: AsyncSequence, Sendable {
    public typealias Element = CommittedTransaction
    let engine: Engine
    let after: UInt64

    public func makeAsyncIterator() -> Iterator { Iterator(reader: ChangeReader(engine: engine, after: after)) }

    public struct Iterator: AsyncIteratorProtocol {
        let reader: ChangeReader

        public mutating func next() async throws -> CommittedTransaction? {
            while true {
                if let t = try reader.nextIfAvailable() { return t }
                if reader.engine.feed.isClosed { return nil }
                await reader.engine.feed.wait(for: reader.nextSeq)
            }
        }
    }
}

extension Engine {
    /// Every committed transaction after `seq`, in seq order, live as commits happen; from the
    /// log when the reader is behind. Ends when the engine closes.
    public func changes(after seq: UInt64) -> ChangeStream { ChangeStream(engine: self, after: seq) }

    /// A synchronous reader of the same feed.
    public func changeReader(after seq: UInt64) -> ChangeReader { ChangeReader(engine: self, after: seq) }
}
