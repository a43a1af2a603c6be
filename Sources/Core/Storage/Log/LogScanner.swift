import Logging

/// The frames of one committed transaction, in one buffer.
public struct TransactionFrames {
    public var seq: UInt64
    public var timestamp: Int64
    public var segment: UInt32
    /// Frame offsets are raw segment offsets (locations); payload offsets index `bytes`.
    public var frames: [Frame]
    public var bytes: UnsafeRawBufferPointer
}

/// A torn tail that recovery cut (or, in verify mode, would cut).
public struct TornCut: Sendable, CustomStringConvertible {
    public var file: String
    public var offset: UInt64
    public var bytes: UInt64
    public var reason: String
    public var description: String { "\(file): \(bytes) bytes from offset \(offset) (\(reason))" }
}

public struct ScanReport: Sendable {
    public var segments: [Segment]
    /// Highest committed seq in the log (0 when empty).
    public var lastSeq: UInt64
    public var lastTimestamp: Int64
    public var tornCuts: [TornCut]
    public var frameCount: Int
    public var byteCount: UInt64
}

/// Reads every segment in order, verifying each header, frame and packed block, checking
/// that seqs are dense, and handing each committed transaction after `deliverAfter` to the
/// caller. An incomplete tail of the newest segment is torn and is cut (mode `.open`) or
/// only reported (mode `.verify`); anything else wrong is corruption and throws.
/// How far a scan got: where the last complete transaction ended. Doctor's repair cuts there.
public final class ScanProgress: @unchecked Sendable {
    public var path: String?
    public var isPacked = false
    /// Raw offset just after the last committed transaction in `path`.
    public var lastCommitEnd = SegmentHeader.size
    /// Index of the packed block after the last complete one.
    public var goodBlocks = 0
    public var lastSeq: UInt64 = 0
    public init() {}
}

public struct LogScanner {
    public enum Mode: Sendable { case open, verify }

    let fs: any FileSystem
    let directory: String
    let cache: BlockCache
    let mode: Mode
    let logger: Logger

    public init(fs: any FileSystem, directory: String, cache: BlockCache, mode: Mode, logger: Logger) {
        self.fs = fs
        self.directory = directory
        self.cache = cache
        self.mode = mode
        self.logger = logger
    }

    /// Segment files in order, after dropping leftovers of an interrupted compaction.
    func segmentFiles() throws -> [(UInt32, String)] {
        var found: [(UInt32, String)] = []
        for name in try fs.listDirectory(directory) {
            if name.hasSuffix(".packing") {
                if mode == .open { try fs.remove(Path.join(directory, name)) }
                continue
            }
            if let n = SegmentHeader.number(fromFileName: name) { found.append((n, Path.join(directory, name))) }
        }
        return found.sorted { $0.0 < $1.0 }
    }

    public func scan(deliverAfter: UInt64, progress: ScanProgress? = nil,
                     deliver: (TransactionFrames) throws -> Void) throws -> ScanReport {
        let files = try segmentFiles()
        var report = ScanReport(segments: [], lastSeq: 0, lastTimestamp: 0, tornCuts: [], frameCount: 0, byteCount: 0)
        var state = SeqState()
        for (index, (number, path)) in files.enumerated() {
            let isNewest = index == files.count - 1
            progress?.path = path
            progress?.isPacked = false
            progress?.lastCommitEnd = SegmentHeader.size
            progress?.goodBlocks = 0
            let file = try fs.open(path, create: false)
            let size = Int(try file.size())
            report.byteCount += UInt64(size)
            if size < SegmentHeader.size {
                guard isNewest else {
                    throw StorageError.corrupt(file: path, offset: 0, reason: "segment shorter than its header")
                }
                try cutTornSegment(path: path, size: size, report: &report)
                continue
            }
            var headerBytes = [UInt8](repeating: 0, count: SegmentHeader.size)
            _ = try headerBytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
            let header = try headerBytes.withUnsafeBytes { try SegmentHeader.parse($0, file: path) }
            guard header.number == number else {
                throw StorageError.corrupt(file: path, offset: 24, reason: "header names segment \(header.number)")
            }
            if state.expectedSeq != 0 && header.firstSeq != state.expectedSeq {
                throw StorageError.corrupt(file: path, offset: 16,
                                           reason: "segment starts at seq \(header.firstSeq), expected \(state.expectedSeq)")
            }
            if state.expectedSeq == 0 { state.expectedSeq = header.firstSeq }
            switch header.kind {
            case .raw:
                let region = try file.map(length: size)
                let end = try scanRaw(path: path, number: number, region: region, isNewest: isNewest,
                                      state: &state, deliverAfter: deliverAfter, progress: progress, deliver: deliver, report: &report)
                if end < size {
                    try file.truncate(to: UInt64(end))
                    try file.sync()
                }
                report.segments.append(Segment(path: path, header: header, region: region))
            case .packed:
                progress?.isPacked = true
                let packed = try scanPacked(path: path, file: file, number: number, size: size, state: &state,
                                            deliverAfter: deliverAfter, progress: progress, deliver: deliver, report: &report)
                report.segments.append(Segment(path: path, header: header, packed: packed))
            }
        }
        report.lastSeq = state.expectedSeq == 0 ? 0 : state.expectedSeq - 1
        report.lastTimestamp = state.lastTimestamp
        return report
    }

    /// Tracks the dense seq order across segments.
    struct SeqState {
        /// The seq the next transaction must carry (0 before the first segment is seen).
        var expectedSeq: UInt64 = 0
        var lastTimestamp: Int64 = 0
    }

    private func cutTornSegment(path: String, size: Int, report: inout ScanReport) throws {
        let cut = TornCut(file: path, offset: 0, bytes: UInt64(size), reason: "segment header incomplete")
        report.tornCuts.append(cut)
        if mode == .open {
            logger.warning("recovery: removing torn segment", metadata: ["cut": "\(cut)"])
            try fs.remove(path)
            try fs.syncDirectory(directory)
        }
    }

    /// Scans a raw segment; returns the offset where valid data ends.
    private func scanRaw(path: String, number: UInt32, region: MappedRegion, isNewest: Bool, state: inout SeqState,
                         deliverAfter: UInt64, progress: ScanProgress?, deliver: (TransactionFrames) throws -> Void,
                         report: inout ScanReport) throws -> Int {
        let bytes = UnsafeRawBufferPointer(start: region.base, count: region.length)
        var offset = SegmentHeader.size
        var pending: [Frame] = []
        var pendingStart = offset
        while offset < bytes.count {
            switch Frame.parse(bytes, at: offset) {
            case let .frame(frame):
                try checkOrder(frame, pending: pending, state: state, path: path)
                if pending.isEmpty { pendingStart = offset }
                pending.append(frame)
                report.frameCount += 1
                offset = frame.end
                if frame.isCommit {
                    if frame.seq > deliverAfter {
                        try deliver(TransactionFrames(seq: frame.seq, timestamp: frame.timestamp, segment: number,
                                                      frames: pending, bytes: bytes))
                    }
                    state.expectedSeq = frame.seq + 1
                    state.lastTimestamp = frame.timestamp
                    pending.removeAll(keepingCapacity: true)
                    progress?.lastCommitEnd = offset
                    progress?.lastSeq = frame.seq
                }
            case .incomplete:
                guard isNewest, Self.tailIsTorn(bytes, from: offset) else {
                    throw StorageError.corrupt(file: path, offset: UInt64(offset),
                                               reason: isNewest ? "damaged frame length (complete frames follow it)"
                                                                : "frame runs past the end of a sealed segment")
                }
                let start = pending.isEmpty ? offset : pendingStart
                return try cut(path: path, at: start, size: bytes.count, reason: "incomplete frame at offset \(offset)", report: &report)
            case let .checksumMismatch(stored, computed):
                if isNewest && Self.isZero(bytes, from: offset) {
                    let start = pending.isEmpty ? offset : pendingStart
                    return try cut(path: path, at: start, size: bytes.count, reason: "zero-filled tail", report: &report)
                }
                throw StorageError.corrupt(file: path, offset: UInt64(offset),
                                           reason: "frame checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))")
            case let .malformed(why):
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: why)
            }
        }
        if !pending.isEmpty {
            guard isNewest else {
                throw StorageError.corrupt(file: path, offset: UInt64(pendingStart), reason: "transaction without its commit frame in a sealed segment")
            }
            return try cut(path: path, at: pendingStart, size: bytes.count, reason: "transaction without its commit frame", report: &report)
        }
        return offset
    }

    private func checkOrder(_ frame: Frame, pending: [Frame], state: SeqState, path: String) throws {
        if let first = pending.first {
            guard frame.seq == first.seq else {
                throw StorageError.corrupt(file: path, offset: UInt64(frame.offset),
                                           reason: "frame has seq \(frame.seq) inside transaction \(first.seq)")
            }
        } else if frame.seq != state.expectedSeq {
            throw StorageError.corrupt(file: path, offset: UInt64(frame.offset),
                                       reason: "frame has seq \(frame.seq), expected \(state.expectedSeq)")
        }
    }

    private func cut(path: String, at start: Int, size: Int, reason: String, report: inout ScanReport) throws -> Int {
        let c = TornCut(file: path, offset: UInt64(start), bytes: UInt64(size - start), reason: reason)
        report.tornCuts.append(c)
        if mode == .open {
            logger.warning("recovery: cutting torn tail", metadata: ["file": "\(path)", "offset": "\(start)",
                                                                     "bytes": "\(size - start)", "reason": "\(reason)"])
        }
        return mode == .open ? start : size
    }

    /// True when the bytes from `start` cannot be a damaged complete frame: no complete,
    /// checksum-valid frame starts after it, and no prefix of what follows the header matches
    /// the stored checksum (which would mean the length field itself was damaged).
    static func tailIsTorn(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        if isZero(bytes, from: start) { return true }
        var p = start + 1
        while p + Frame.headerBytes + Frame.bodyBytesMin <= bytes.count {
            if case .frame = Frame.parse(bytes, at: p) { return false }
            p += 1
        }
        guard bytes.count - start >= Frame.headerBytes else { return true }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: start + 4, as: UInt32.self))
        let bodyStart = start + Frame.headerBytes
        var crc: UInt32 = 0
        var e = bodyStart
        while e < bytes.count {
            crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: bytes[e..<(e + 1)]))
            e += 1
            if e - bodyStart >= Frame.bodyBytesMin && crc == stored { return false }
        }
        return true
    }

    static func isZero(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var i = start
        while i < bytes.count {
            if bytes[i] != 0 { return false }
            i += 1
        }
        return true
    }

    private func scanPacked(path: String, file: any FileHandle, number: UInt32, size: Int, state: inout SeqState,
                            deliverAfter: UInt64, progress: ScanProgress?, deliver: (TransactionFrames) throws -> Void,
                            report: inout ScanReport) throws -> PackedSegment {
        var blocks: [PackedBlockInfo] = []
        var offset = SegmentHeader.size
        var rawExpected = SegmentHeader.size
        var headerBuf = [UInt8](repeating: 0, count: PackedBlockInfo.headerBytes)
        while offset < size {
            guard size - offset >= PackedBlockInfo.headerBytes else {
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "packed block header cut short")
            }
            _ = try headerBuf.withUnsafeMutableBytes { try file.read(into: $0, at: UInt64(offset)) }
            let info = try headerBuf.withUnsafeBytes { try PackedBlockInfo.parse($0, fileOffset: offset, path: path) }
            guard info.compressedLength <= size - offset - PackedBlockInfo.headerBytes,
                  info.rawStart == rawExpected, info.rawLength <= Limits.frameBytesMax * 2 else {
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "packed block header is inconsistent")
            }
            let block = try PackedSegment.readBlock(file: file, info: info, verify: true)
            try block.bytes.withUnsafeBytes { raw in
                try scanBlock(raw, info: info, path: path, number: number, state: &state,
                              deliverAfter: deliverAfter, deliver: deliver, report: &report)
            }
            blocks.append(info)
            rawExpected = info.rawStart + info.rawLength
            progress?.goodBlocks = blocks.count
            progress?.lastCommitEnd = rawExpected
            progress?.lastSeq = info.lastSeq
            offset += PackedBlockInfo.headerBytes + info.compressedLength
        }
        return PackedSegment(file: file, number: number, blocks: blocks, cache: cache)
    }

    private func scanBlock(_ raw: UnsafeRawBufferPointer, info: PackedBlockInfo, path: String, number: UInt32,
                           state: inout SeqState, deliverAfter: UInt64, deliver: (TransactionFrames) throws -> Void,
                           report: inout ScanReport) throws {
        var local = 0
        var pending: [Frame] = []
        while local < raw.count {
            let at = UInt64(info.rawStart + local)
            guard case var .frame(frame) = Frame.parse(raw, at: local) else {
                throw StorageError.corrupt(file: path, offset: UInt64(info.fileOffset),
                                           reason: "packed block holds a damaged frame at raw offset \(at)")
            }
            frame.offset = info.rawStart + local
            try checkOrder(frame, pending: pending, state: state, path: path)
            pending.append(frame)
            report.frameCount += 1
            local += frame.totalLength
            if frame.isCommit {
                if frame.seq > deliverAfter {
                    try deliver(TransactionFrames(seq: frame.seq, timestamp: frame.timestamp, segment: number,
                                                  frames: pending, bytes: raw))
                }
                state.expectedSeq = frame.seq + 1
                state.lastTimestamp = frame.timestamp
                pending.removeAll(keepingCapacity: true)
            }
        }
        guard pending.isEmpty else {
            throw StorageError.corrupt(file: path, offset: UInt64(info.fileOffset), reason: "packed block ends inside a transaction")
        }
    }
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
