#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// How commits reach the disk.
public enum Durability: Sendable, Equatable {
    /// `fdatasync` before a commit is acknowledged (the default).
    case fsync
    /// Acknowledge after the write; sync at least every `milliseconds`.
    case batch(milliseconds: Int)
    /// Acknowledge after the write; sync only at segment rotation and close.
    case none
}

/// Source of commit timestamps (a test clock can step backwards).
public protocol WallClock: Sendable {
    func nowMicros() -> Int64
}

public struct SystemClock: WallClock {
    public init() {}
    public func nowMicros() -> Int64 { wallClockMicros() }
}

public struct LogEvent: Sendable {
    public var type: FrameType
    /// The payload is `varints` (each as a varint, none when empty), then `body`, then `tail`:
    /// the writer encodes a row event's frame straight from its key and image, with no
    /// assembled payload per row.
    let varints: (UInt64, UInt64)
    let varintCount: UInt8
    public let body: [UInt8]
    public let tail: [UInt8]
    /// The payload's length (computed once: the writer and the applier both need it).
    public let payloadCount: Int

    public init(type: FrameType, payload: [UInt8]) {
        self.type = type
        varints = (0, 0)
        varintCount = 0
        body = payload
        tail = []
        payloadCount = payload.count
    }

    /// A payload of `a` and `b` as varints, then `body` and `tail`.
    public init(type: FrameType, varints a: UInt64, _ b: UInt64, body: [UInt8], tail: [UInt8]) {
        self.type = type
        varints = (a, b)
        varintCount = 2
        self.body = body
        self.tail = tail
        payloadCount = Self.varintSize(a) + Self.varintSize(b) + body.count + tail.count
    }

    /// The two varints a payload made with `init(type:varints:_:body:tail:)` starts with.
    public var leadingVarints: (UInt64, UInt64)? { varintCount == 2 ? varints : nil }

    /// The payload's bytes, appended to `w`.
    @inline(__always)
    func write(to w: inout ByteWriter) {
        if varintCount > 0 {
            w.varint(varints.0)
            w.varint(varints.1)
        }
        w.append(body)
        w.append(tail)
    }

    /// The payload as one array (tests and diagnostics).
    public var payload: [UInt8] {
        var w = ByteWriter(capacity: payloadCount)
        write(to: &w)
        return w.bytes
    }

    @inline(__always)
    static func varintSize(_ v: UInt64) -> Int {
        var n = 1
        var v = v
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
}

/// One transaction's events on their way to the log. The writer fills in seq,
/// timestamp and locations, hands the request to the applier once it is durable,
/// and then wakes the committing thread.
public final class CommitRequest: @unchecked Sendable {
    public let events: [LogEvent]
    /// The engine's own record of the transaction, handed back to the applier.
    public let context: AnyObject?
    public internal(set) var seq: UInt64 = 0
    public internal(set) var timestamp: Int64 = 0
    public internal(set) var locations: [Location] = []
    var outcome: Result<Void, StorageError>?
    /// Signalled (under the writer's lock) when `outcome` is set: only this committer wakes.
    let completed = Condition()
    /// The committing thread, to estimate how many committers are active.
    let source = UInt(pthread_self())
    /// Whether the applier may apply this commit while its fsync runs (it changes no schema,
    /// so nothing but its rows, which no reader sees before the visible seq passes it, is in
    /// place before it is durable).
    public let appliesBeforeSync: Bool

    public init(events: [LogEvent], context: AnyObject?, appliesBeforeSync: Bool = false) {
        precondition(!events.isEmpty, "a commit request carries at least one event")
        self.events = events
        self.context = context
        self.appliesBeforeSync = appliesBeforeSync
    }

    func encodedSize(seq: UInt64) -> Int {
        events.reduce(0) { $0 + Frame.encodedSize(seq: seq, payloadLength: $1.payloadCount) }
    }
}

/// Receives durable commits on the writer thread, in seq order, before they are acknowledged.
public protocol CommitApplier: AnyObject, Sendable {
    /// Applies the commits in order, stopping at the first that fails, and with `publish`
    /// makes them visible. Without it they stay invisible until `publish(through:)`.
    func apply(_ committed: [CommitRequest], publish: Bool) -> CommitApplication
    /// Makes visible the commits applied without `publish`, through `seq`, once durable.
    func publish(through seq: UInt64)
}

/// How many of a group's durable commits the applier made visible; a failure stops the
/// writer, as a failed fsync does.
public struct CommitApplication: Sendable {
    public var applied: Int
    public var failure: String?
    public init(applied: Int, failure: String?) {
        self.applied = applied
        self.failure = failure
    }
}

public struct LogWriterConfig: Sendable {
    public var durability: Durability
    public var segmentBytesMax: Int
    /// A group of at least this many events (all `appliesBeforeSync`) is applied while its
    /// fsync runs on a helper thread, rather than after it.
    public var applyDuringSyncEventsMin: Int
    /// The step in which the active segment's file is grown ahead of its writes (0: never;
    /// each write then grows the file, and each fdatasync writes the new size).
    public var preallocateBytes: Int
    public init(durability: Durability = .fsync, segmentBytesMax: Int = Limits.segmentBytesDefault,
                applyDuringSyncEventsMin: Int = Limits.applyDuringSyncEventsMin,
                preallocateBytes: Int = Limits.segmentPreallocateBytes) {
        self.durability = durability
        self.segmentBytesMax = max(segmentBytesMax, Limits.segmentBytesMin)
        self.applyDuringSyncEventsMin = max(applyDuringSyncEventsMin, 1)
        self.preallocateBytes = max(preallocateBytes, 0)
    }
}

/// The single sequencer: assigns dense seqs and strictly increasing timestamps,
/// writes each group of concurrent commits with one write and one `fdatasync`
/// (group commit), applies them, then acknowledges them.
public final class LogWriter: @unchecked Sendable {
    let log: Log
    let config: LogWriterConfig
    let clock: any WallClock
    weak var applier: (any CommitApplier)?
    let logger: Logger

    let lock = Lock()
    let wake = Condition()
    let done = Condition()
    var queue: [CommitRequest] = []
    var closing = false
    var stopped = false
    /// A group is being written, by the writer thread or by a lone committer leading its own
    /// commit: the state "owned by the writer" below is theirs until it is false (under `lock`).
    var writing = false
    var failedReason: String?
    /// Set once `failedReason` is: writers check it per row without taking the lock.
    let hasFailed = Atomic<Bool>(false)
    var thread: OSThread?

    /// The segment commits are appended to.
    struct Active {
        var file: any FileHandle
        var number: UInt32
        /// Bytes written (the offset of the next frame).
        var end: Int
        /// Bytes mapped for readers; a commit never writes past it.
        var capacity: Int
        /// The file's size: `end`, plus the zeros preallocated after it.
        var allocated: Int
    }

    // Owned by the writer thread, or by the committer leading its own commit (`writing`).
    var active: Active
    var nextSeq: UInt64
    var lastTimestamp: Int64
    var dirty = false
    var lastSyncNanos = monotonicNanos()
    var buffer = ByteWriter(capacity: 1 << 16)
    /// False once the file system has said it cannot preallocate.
    var preallocating = true

    /// Statistics for metrics and benchmarks.
    public internal(set) var syncCount: UInt64 = 0
    public internal(set) var groupCount: UInt64 = 0
    public internal(set) var bytesWritten: UInt64 = 0

    public init(log: Log, config: LogWriterConfig, clock: any WallClock, lastSeq: UInt64, lastTimestamp: Int64,
                applier: any CommitApplier, logger: Logger) throws {
        self.log = log
        self.config = config
        self.clock = clock
        self.applier = applier
        self.logger = logger
        nextSeq = lastSeq + 1
        nextSeqCommitted = lastSeq
        self.lastTimestamp = lastTimestamp
        if let last = log.segments.last, !last.isPacked {
            active = try Self.continueSegment(last, log: log, capacity: config.segmentBytesMax)
        } else {
            let (segment, file) = try Self.createSegment(number: (log.segments.last?.number ?? 0) + 1, firstSeq: lastSeq + 1,
                                                         log: log, capacity: config.segmentBytesMax)
            log.add(segment)
            active = Active(file: file, number: segment.number, end: SegmentHeader.size, capacity: config.segmentBytesMax,
                            allocated: SegmentHeader.size)
        }
        publishedActive = active.number
        thread = try OSThread(name: "drift-log") { [unowned self] in self.run() }
    }

    /// Continues the newest raw segment, mapped with room to grow.
    private static func continueSegment(_ last: Segment, log: Log, capacity: Int) throws -> Active {
        let file = try log.fs.open(last.path, create: false)
        let size = Int(try file.size())
        let mapped = max(capacity, size)
        let region = try file.map(length: mapped)
        log.replace(Segment(path: last.path, header: last.header, region: region))
        return Active(file: file, number: last.number, end: size, capacity: mapped, allocated: size)
    }

    /// Creates a segment file with its header, durably (file and directory synced).
    private static func createSegment(number: UInt32, firstSeq: UInt64, log: Log, capacity: Int) throws -> (Segment, any FileHandle) {
        let path = Path.join(log.directory, SegmentHeader.fileName(number))
        let header = SegmentHeader(kind: .raw, firstSeq: firstSeq, number: number)
        let file = try log.fs.open(path, create: true)
        do {
            try file.truncate(to: 0)
            try file.write(header.encode(), at: 0)
            try file.sync()
            try log.fs.syncDirectory(log.directory)
            return (Segment(path: path, header: header, region: try file.map(length: capacity)), file)
        } catch {
            file.close()
            try? log.fs.remove(path)
            throw error
        }
    }

    /// The segment commits are appended to (never compacted).
    public var activeSegmentNumber: UInt32 { lock.withLock { publishedActive } }

    /// The sealed segments: every segment before the active one. Which segments are sealed is
    /// one fact, read under the writer's lock, which a rotation changes atomically (the new
    /// segment joins the log and becomes the active one in one step), so a compaction can
    /// never pack the segment being written.
    public func sealedSegments() -> [Segment] {
        lock.withLock { log.segments.filter { $0.number < publishedActive } }
    }

    /// Seals the active segment and starts the next. A sealed segment ends at its last frame:
    /// its preallocated tail is cut, durably, before the next segment exists.
    func rotate(minCapacity: Int) throws {
        if dirty {
            try syncActive()
        }
        try cutPreallocation()
        let capacity = max(config.segmentBytesMax, SegmentHeader.size + minCapacity)
        let (segment, file) = try Self.createSegment(number: active.number + 1, firstSeq: nextSeq, log: log, capacity: capacity)
        lock.withLock {
            log.add(segment)
            publishedActive = segment.number
        }
        active.file.close()
        active = Active(file: file, number: segment.number, end: SegmentHeader.size, capacity: capacity,
                        allocated: SegmentHeader.size)
    }

    /// Grows the active segment's file to cover `end`, a step at a time (never past the
    /// segment's capacity). A step that does not fit (a nearly full device, a file-size
    /// limit) falls back to just what the write needs; throws `.noSpace` only when that does
    /// not fit either (nothing written). Any other failure turns preallocation off: the
    /// write that follows reports what is wrong, as it would without preallocation.
    func preallocate(through end: Int) throws {
        guard end > active.allocated, preallocating, config.preallocateBytes > 0 else { return }
        let step = max(end, min(active.allocated + config.preallocateBytes, active.capacity))
        for target in step > end ? [step, end] : [end] {
            do {
                if try active.file.preallocate(to: UInt64(target)) {
                    active.allocated = target
                } else {
                    preallocating = false
                }
                return
            } catch StorageError.noSpace(let path, let written) {
                if target == end { throw StorageError.noSpace(path: path, written: written) }
            } catch {
                if target == end {
                    logger.warning("log preallocation failed; writing without it", metadata: ["reason": "\(error)"])
                    preallocating = false
                    return
                }
            }
        }
    }

    /// Whether [start, end) of the active segment lies in preallocated space (its blocks reserved).
    func isPreallocated(through end: Int) -> Bool {
        preallocating && config.preallocateBytes > 0 && end <= active.allocated
    }

    /// Cuts the active segment's file back to its frames (sealing it, or closing), durably.
    func cutPreallocation() throws {
        guard active.allocated > active.end else { return }
        do {
            try active.file.truncate(to: UInt64(active.end))
            try active.file.sync()
        } catch let e as StorageError {
            enterFailed("could not cut the preallocated tail of segment \(active.number): \(e)")
            throw e
        }
        active.allocated = active.end
    }

    /// Cuts the active segment at `offset` (frames after it failed): the file and its
    /// preallocation end there.
    func cutActive(at offset: Int) {
        try? active.file.truncate(to: UInt64(offset))
        active.allocated = offset
    }

    func syncActive() throws {
        let started = monotonicNanos()
        defer {
            let took = monotonicNanos() - started
            lock.withLock { lastSyncDurationNanos = took }
            StoreMetrics.shared.fsync.recordNanoseconds(Int64(truncatingIfNeeded: took))
        }
        do {
            try active.file.sync()
        } catch let e as StorageError {
            enterFailed("\(e)")
            throw e
        }
        syncCount += 1
        dirty = false
        lastSyncNanos = monotonicNanos()
    }

    func enterFailed(_ reason: String) {
        lock.withLock { if failedReason == nil { failedReason = reason } }
        hasFailed.store(true, ordering: .releasing)
        logger.critical("storage failed; writes refused until restart", metadata: ["reason": "\(reason)"])
    }

    public var failure: String? { hasFailed.load(ordering: .acquiring) ? lock.withLock { failedReason } : nil }

    /// The highest seq the writer has made durable and applied.
    public var lastSeq: UInt64 { lock.withLock { nextSeqCommitted } }
    var nextSeqCommitted: UInt64
    var publishedActive: UInt32 = 0

    /// Commits `request`: returns once it is durable and applied, or throws.
    public func commit(_ request: CommitRequest) throws {
        lock.lock()
        if let reason = failedReason {
            lock.unlock()
            throw StorageError.failed(reason: reason)
        }
        if closing {
            lock.unlock()
            throw StorageError.closed
        }
        queue.append(request)
        if leads(request) {
            // A lone committer writes and syncs its own commit: the writer thread's two
            // wake-ups (to take the request, to hand back the outcome) are most of what a
            // commit costs beyond its fsync. Anything queued meanwhile goes to the thread.
            writing = true
            queue.removeAll(keepingCapacity: true)
            noteSources([request])
            lock.unlock()
            process([request])
            lock.lock()
            writing = false
            // The writer thread only needs waking for work that arrived meanwhile: waking it
            // for nothing cost each lone commit a futex round trip (and the thread's wait for
            // this lock), about a tenth of a one-row commit on a virtual machine.
            if !queue.isEmpty || !pendingSyncs.isEmpty || closing { wake.signal() }
        } else if queue.count >= wakeAt {
            wake.signal()
        }
        var outcome = request.outcome
        while outcome == nil {
            request.completed.wait(lock)
            outcome = request.outcome
        }
        lock.unlock()
        try outcome?.get()
    }

    /// Whether `request`, just queued, is written by its own committer: with fsync durability,
    /// when nothing else is queued or being written and no other committer has been seen in
    /// the last two groups (several committers are grouped by the writer thread). Called with
    /// `lock` held.
    private func leads(_ request: CommitRequest) -> Bool {
        guard config.durability == .fsync, !writing, queue.count == 1, pendingSyncs.isEmpty, !closing else { return false }
        return recentSources[0].allSatisfy { $0 == request.source } && recentSources[1].allSatisfy { $0 == request.source }
    }

    /// Drains the queue, syncs and stops the writer thread.
    public func close() {
        lock.withLock {
            closing = true
            wake.signal()
        }
        thread?.join()
        thread = nil
        if dirty { try? syncActive() }
        if failure == nil && active.allocated > active.end {
            // A clean shutdown leaves the segment its exact size (recovery would cut the zeros too).
            if (try? active.file.truncate(to: UInt64(active.end))) != nil { try? active.file.sync() }
        }
        active.file.close()
    }

    /// Forces a sync of the active segment (used before a snapshot in non-fsync modes).
    public func syncNow() throws {
        let r = CommitRequestSync()
        try lock.withLock {
            // After close the writer thread is gone (or going): nothing would answer.
            if closing { throw StorageError.closed }
            pendingSyncs.append(r)
            wake.signal()
            while r.error == nil && !r.done { done.wait(lock) }
        }
        if let e = r.error { throw e }
    }

    final class CommitRequestSync {
        var done = false
        var error: StorageError?
    }
    var pendingSyncs: [CommitRequestSync] = []

    // Group-commit pacing (writer thread only, under `lock`).
    var recentSources: [Set<UInt>] = [[], []]
    /// The queue length at which a committer wakes the writer: 1 while it idles, the expected
    /// group while it gathers one, never while it is busy writing (it looks again when done).
    var wakeAt = 1
    var lastSyncDurationNanos: UInt64 = 0

    /// Whether waiting for whole groups pays: +1 for each wait the whole group filled, -1 for
    /// each that ran to its deadline short of it (in -8...8).
    var gatherScore = 0
    /// Groups written without waiting since waiting last stopped paying.
    var groupsSinceGatherProbe = 0

    /// With fsync durability and several committers active (seen in the last two groups),
    /// waits briefly, at most one fsync's duration, for the rest of them to queue, so they
    /// share one sync instead of splitting into alternating half-groups. A lone committer
    /// never waits. Called with `lock` held.
    ///
    /// Waiting pays when committers do little between commits (they queue again at once);
    /// when they spend longer than a sync on each transaction (statements over the wire, more
    /// sessions than cores) the group never fills, the disk idles for the wait and throughput
    /// drops (pgbench's INSERT with 8 clients: 12% fewer commits). Waits that stop filling
    /// their group stop, and one wait in 32 groups probes whether they would fill again.
    func gatherGroup() {
        guard config.durability == .fsync, !queue.isEmpty, !closing else { return }
        let expected = recentSources[0].union(recentSources[1]).count
        guard expected >= 3, queue.count < expected else { return }
        if gatherScore < 0 {
            groupsSinceGatherProbe += 1
            guard groupsSinceGatherProbe >= 32 else { return }
            groupsSinceGatherProbe = 0
        }
        let deadline = monotonicNanos() + min(lastSyncDurationNanos, 1_000_000)
        wakeAt = expected
        while queue.count < expected && !closing {
            if !wake.wait(lock, deadlineNanos: deadline) || monotonicNanos() >= deadline { break }
        }
        wakeAt = 1
        gatherScore = queue.count >= expected ? min(gatherScore + 1, 8) : max(gatherScore - 1, -8)
    }

    func noteSources(_ batch: [CommitRequest]) {
        guard !batch.isEmpty else { return }
        recentSources[1] = recentSources[0]
        recentSources[0] = Set(batch.map(\.source))
    }

    private func run() {
        while true {
            lock.lock()
            wakeAt = 1
            while (queue.isEmpty && pendingSyncs.isEmpty && !closing) || writing {
                if !writing, case let .batch(ms) = config.durability, dirty {
                    let deadline = lastSyncNanos + UInt64(ms) * 1_000_000
                    if monotonicNanos() >= deadline { break }
                    _ = wake.wait(lock, deadlineNanos: deadline)
                } else {
                    wake.wait(lock)
                }
            }
            writing = true
            gatherGroup()
            let batch = Array(queue.prefix(Limits.groupCommitRequestsMax))
            noteSources(batch)
            queue.removeFirst(batch.count)
            let syncs = pendingSyncs
            pendingSyncs = []
            let exit = closing && queue.isEmpty && batch.isEmpty
            wakeAt = Int.max
            lock.unlock()
            if !batch.isEmpty { process(batch) }
            if case let .batch(ms) = config.durability, dirty, failure == nil,
               monotonicNanos() >= lastSyncNanos + UInt64(ms) * 1_000_000 {
                try? syncActive()
            }
            if !syncs.isEmpty {
                var err: StorageError?
                if dirty { do { try syncActive() } catch { err = error as? StorageError } }
                lock.withLock {
                    for s in syncs { s.done = true; s.error = err }
                    done.broadcast()
                }
            }
            lock.withLock { writing = false }
            if exit { return }
        }
    }
}
