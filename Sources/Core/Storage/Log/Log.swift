/// The set of segments of one data directory, for readers. The writer appends to
/// the newest; compaction swaps a sealed raw segment for its packed form.
public final class Log: @unchecked Sendable {
    public let fs: any FileSystem
    /// The `segments` directory.
    public let directory: String
    public let cache: BlockCache
    let lock = Lock()
    var byNumber: [UInt32: Segment] = [:]
    var ordered: [Segment] = []

    package init(fs: any FileSystem, directory: String, segments: [Segment], cache: BlockCache) {
        self.fs = fs
        self.directory = directory
        self.cache = cache
        for s in segments { byNumber[s.number] = s }
        ordered = segments.sorted { $0.number < $1.number }
    }

    public var segments: [Segment] { lock.withLock { ordered } }

    public func segment(_ number: UInt32) -> Segment? { lock.withLock { byNumber[number] } }

    /// Calls `body` with the frame at `location` and the buffer its payload offsets refer to.
    public func withFrame<T>(at location: Location, _ body: (Frame, UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard let s = segment(location.segment) else {
            throw StorageError.corrupt(file: Path.join(directory, SegmentHeader.fileName(location.segment)),
                                       offset: UInt64(location.offset), reason: "segment missing")
        }
        return try s.withFrame(at: location.offset, body)
    }

    package func add(_ s: Segment) {
        lock.withLock {
            byNumber[s.number] = s
            ordered.append(s)
        }
    }

    func replace(_ s: Segment) {
        lock.withLock {
            byNumber[s.number] = s
            if let i = ordered.firstIndex(where: { $0.number == s.number }) { ordered[i] = s }
        }
        cache.evict(segment: s.number)
    }

    /// The segment whose frames hold `seq` (the newest whose first seq is at most `seq`).
    public func segment(holding seq: UInt64) -> Segment? {
        let all = segments
        var lo = 0, hi = all.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if all[mid].header.firstSeq <= seq { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : all[lo - 1]
    }
}
