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

/// A damaged tail of the newest segment that recovery cut (or, in verify mode, would cut).
public struct TornCut: Sendable, CustomStringConvertible {
    public var file: String
    public var offset: UInt64
    public var bytes: UInt64
    public var reason: String
    /// Where the cut bytes were kept (`data/quarantine/...`); nil in verify mode.
    public var quarantine: String?
    public var description: String {
        "\(file): \(bytes) bytes from offset \(offset) (\(reason))" + (quarantine.map { "; kept in \($0)" } ?? "")
    }
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

/// How far a scan got: where the last complete transaction ended (doctor's repair cuts there),
/// and what it verified up to there (doctor reports it even when the log is damaged).
public final class ScanProgress: @unchecked Sendable {
    public var path: String?
    public var isPacked = false
    /// Raw offset just after the last committed transaction in `path`.
    public var lastCommitEnd = SegmentHeader.size
    /// Index of the packed block after the last complete one.
    public var goodBlocks = 0
    public var lastSeq: UInt64 = 0
    /// Segments, frames and bytes verified so far.
    public var segments = 0
    public var frames = 0
    public var bytes: UInt64 = 0
    public init() {}
}

/// What recovery does with damage at the end of the newest segment.
public enum RecoveryPolicy: String, Sendable {
    /// Damage with no valid frame after it is where the log ends, as a power loss leaves it:
    /// cut, the bytes kept in `quarantine/`, the database opens.
    case tail
    /// Any damage refuses the open; `driftdb doctor --repair` cuts it on request.
    case strict
}

/// Reads every segment in order, verifying each header, frame and packed block, checking
/// that seqs are dense, and handing each committed transaction after `deliverAfter` to the
/// caller. Damage at the end of the newest segment with no valid frame after it (missing,
/// torn, zeroed or garbage bytes after the last synced write) ends the log: it is cut, its
/// bytes moved to the quarantine directory (mode `.open`), or only reported (mode
/// `.verify`). Damage followed by a valid frame, in a sealed segment, or a seq gap is
/// corruption and throws, naming file and offset; with `.strict` all damage is. Zeros after
/// the newest segment's last commit are no damage: the writer preallocates the file ahead
/// of its writes, so that is where the log normally ends (cut from the file on open).
public struct LogScanner {
    public enum Mode: Sendable { case open, verify }

    let fs: any FileSystem
    let directory: String
    let cache: BlockCache
    let mode: Mode
    let logger: Logger
    let policy: RecoveryPolicy
    /// Where cut bytes are kept (`data/quarantine`).
    let quarantineDirectory: String

    public init(fs: any FileSystem, directory: String, cache: BlockCache, mode: Mode, logger: Logger,
                policy: RecoveryPolicy = .tail, quarantineDirectory: String) {
        self.fs = fs
        self.directory = directory
        self.cache = cache
        self.mode = mode
        self.logger = logger
        self.policy = policy
        self.quarantineDirectory = quarantineDirectory
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
                guard isNewest, policy == .tail else {
                    throw StorageError.corrupt(file: path, offset: 0, reason: "segment shorter than its header")
                }
                try cutTornSegment(path: path, file: file, size: size, reason: "segment header incomplete", report: &report)
                continue
            }
            var headerBytes = [UInt8](repeating: 0, count: SegmentHeader.size)
            _ = try headerBytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
            let header: SegmentHeader
            do {
                header = try headerBytes.withUnsafeBytes { try SegmentHeader.parse($0, file: path) }
            } catch let e as StorageError {
                // A segment is created header first, synced before any frame: a damaged header
                // with no frame after it is a creation the power loss interrupted.
                guard isNewest, policy == .tail, case .corrupt = e,
                      try !hasValidFrame(file: file, size: size, from: 0, state: state) else { throw e }
                try cutTornSegment(path: path, file: file, size: size, reason: "segment header damaged", report: &report)
                continue
            }
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
                let end = try scanRaw(path: path, number: number, file: file, region: region, isNewest: isNewest,
                                      state: &state, deliverAfter: deliverAfter, progress: progress, deliver: deliver, report: &report)
                if end < size && mode == .open {
                    try file.truncate(to: UInt64(end))
                    try file.sync()
                }
                report.segments.append(Segment(path: path, header: header, region: region))
                progress?.segments += 1
                progress?.bytes += UInt64(end)
            case .packed:
                progress?.isPacked = true
                let packed = try scanPacked(path: path, file: file, number: number, size: size, state: &state,
                                            deliverAfter: deliverAfter, progress: progress, deliver: deliver, report: &report)
                report.segments.append(Segment(path: path, header: header, packed: packed))
                progress?.segments += 1
                progress?.bytes += UInt64(size)
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

    /// Removes the newest segment whose header never became durable, keeping its bytes.
    private func cutTornSegment(path: String, file: any FileHandle, size: Int, reason: String, report: inout ScanReport) throws {
        var cut = TornCut(file: path, offset: 0, bytes: UInt64(size), reason: reason)
        if mode == .open {
            cut.quarantine = try quarantine(file: file, path: path, from: 0, size: size)
            logger.warning("recovery: removing the newest segment, whose header never reached the disk",
                           metadata: ["file": "\(path)", "bytes": "\(size)", "reason": "\(reason)",
                                      "quarantine": "\(cut.quarantine ?? "")"])
            file.close()
            try fs.remove(path)
            try fs.syncDirectory(directory)
        }
        report.tornCuts.append(cut)
    }

    /// Scans a raw segment; returns the offset where valid data ends.
    private func scanRaw(path: String, number: UInt32, file: any FileHandle, region: MappedRegion, isNewest: Bool,
                         state: inout SeqState, deliverAfter: UInt64, progress: ScanProgress?,
                         deliver: (TransactionFrames) throws -> Void, report: inout ScanReport) throws -> Int {
        let bytes = UnsafeRawBufferPointer(start: region.base, count: region.length)
        var offset = SegmentHeader.size
        var pending: [Frame] = []
        var pendingStart = offset
        while offset < bytes.count {
            let damage: String
            switch Frame.parse(bytes, at: offset) {
            case let .frame(frame):
                try checkOrder(frame, pending: pending, state: state, path: path)
                if pending.isEmpty { pendingStart = offset }
                pending.append(frame)
                report.frameCount += 1
                progress?.frames += 1
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
                continue
            case .incomplete:
                damage = Self.isZero(bytes, from: offset) ? "zero-filled tail" : "frame runs past the end of the file"
            case let .checksumMismatch(stored, computed):
                damage = Self.isZero(bytes, from: offset) ? "zero-filled tail"
                    : "frame checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))"
            case let .malformed(why):
                damage = Self.isZero(bytes, from: offset) ? "zero-filled tail" : why
            }
            guard isNewest else {
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: damage + " in a sealed segment")
            }
            if pending.isEmpty && Self.isZero(bytes, from: offset) {
                // Space preallocated ahead of the writes (or grown by a write that never
                // reached the disk, so never acknowledged): the log ends at its last commit.
                return offset
            }
            guard policy == .tail else {
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: damage + " (storage.recovery: strict)")
            }
            if let valid = Self.validFrame(bytes, after: offset, state: state, pending: pending) {
                throw StorageError.corrupt(file: path, offset: UInt64(offset),
                                           reason: damage + "; a valid frame follows at offset \(valid)")
            }
            let start = pending.isEmpty ? offset : pendingStart
            return try cut(path: path, file: file, bytes: bytes, at: start, reason: damage + " at offset \(offset)", report: &report)
        }
        if !pending.isEmpty {
            let why = "transaction without its commit frame"
            guard isNewest else {
                throw StorageError.corrupt(file: path, offset: UInt64(pendingStart), reason: why + " in a sealed segment")
            }
            guard policy == .tail else {
                throw StorageError.corrupt(file: path, offset: UInt64(pendingStart), reason: why + " (storage.recovery: strict)")
            }
            return try cut(path: path, file: file, bytes: bytes, at: pendingStart, reason: why, report: &report)
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

    /// Cuts the newest segment at `start` (mode `.open`), after moving the bytes to quarantine.
    private func cut(path: String, file: any FileHandle, bytes: UnsafeRawBufferPointer, at start: Int, reason: String,
                     report: inout ScanReport) throws -> Int {
        var c = TornCut(file: path, offset: UInt64(start), bytes: UInt64(bytes.count - start), reason: reason)
        if mode == .open {
            // The zeros after the last byte written are preallocated space: not kept.
            var last = bytes.count
            while last > start && bytes[last - 1] == 0 { last -= 1 }
            c.quarantine = try quarantine(UnsafeRawBufferPointer(rebasing: bytes[start..<last]), path: path, offset: start)
            logger.warning("recovery: the log ends in damage after its last synced write; cutting it",
                           metadata: ["file": "\(path)", "offset": "\(start)", "bytes": "\(bytes.count - start)",
                                      "reason": "\(reason)", "quarantine": "\(c.quarantine ?? "")"])
        }
        report.tornCuts.append(c)
        return mode == .open ? start : bytes.count
    }

    /// Writes cut bytes to `quarantine/<segment>-<offset>.bin` (a new name if that exists), durably.
    private func quarantine(_ bytes: UnsafeRawBufferPointer, path: String, offset: Int) throws -> String {
        try fs.createDirectory(quarantineDirectory)
        let base = Path.join(quarantineDirectory, "\(Path.name(path))-\(offset)")
        var target = base + ".bin"
        var n = 1
        while fs.fileExists(target) {
            target = "\(base)-\(n).bin"
            n += 1
        }
        let tmp = target + ".tmp"
        let out = try fs.open(tmp, create: true)
        do {
            try out.truncate(to: 0)
            try out.write(bytes, at: 0)
            try out.sync()
            out.close()
            try fs.rename(tmp, to: target)
            try fs.syncDirectory(quarantineDirectory)
            try fs.syncDirectory(Path.parent(quarantineDirectory))
        } catch {
            out.close()
            try? fs.remove(tmp)
            throw error
        }
        return target
    }

    private func quarantine(file: any FileHandle, path: String, from: Int, size: Int) throws -> String {
        var buf = [UInt8](repeating: 0, count: size - from)
        let n = try buf.withUnsafeMutableBytes { try file.read(into: $0, at: UInt64(from)) }
        return try buf.withUnsafeBytes { try quarantine(UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: path, offset: from) }
    }

    /// Whether a complete, checksum-valid frame that could continue the log starts anywhere
    /// after `offset`. Each byte offset is checked in O(1) (length in range, a seq the log
    /// could hold next, a timestamp no older than the last commit, a known event type)
    /// before a checksum is computed, so the scan is linear in the tail's length.
    static func validFrame(_ bytes: UnsafeRawBufferPointer, after offset: Int, state: SeqState, pending: [Frame]) -> Int? {
        let lowSeq = pending.first?.seq ?? state.expectedSeq
        let lowTimestamp = pending.first?.timestamp ?? state.lastTimestamp
        var p = offset + 1
        while p + Frame.headerBytes + Frame.bodyBytesMin <= bytes.count {
            defer { p += 1 }
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: p, as: UInt32.self)))
            guard length >= Frame.bodyBytesMin, length <= Limits.frameBytesMax,
                  length <= bytes.count - p - Frame.headerBytes else { continue }
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[(p + Frame.headerBytes)...]))
            guard let seq = try? r.varint(), seq >= lowSeq, seq - lowSeq < 1 << 32,
                  let ts = try? r.i64(), ts >= lowTimestamp, let type = try? r.u8(),
                  FrameType(rawValue: type & ~FrameType.commitFlag) != nil else { continue }
            if case .frame = Frame.parse(bytes, at: p) { return p }
        }
        return nil
    }

    /// The same question for a segment whose header is damaged (frames start after it).
    func hasValidFrame(file: any FileHandle, size: Int, from: Int, state: SeqState) throws -> Bool {
        let region = try file.map(length: size)
        let bytes = UnsafeRawBufferPointer(start: region.base, count: size)
        return Self.validFrame(bytes, after: SegmentHeader.size - 1, state: state, pending: []) != nil
    }

    static func isZero(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var i = start
        // Eight bytes at a time: a preallocated tail can be megabytes.
        while i + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < bytes.count {
            if bytes[i] != 0 { return false }
            i += 1
        }
        return true
    }

    /// Scans a packed segment. Every block's checksum is verified; a block is decoded when its
    /// transactions must be replayed (seq after `deliverAfter`), when it is the segment's last,
    /// or in verify mode, so an open after a snapshot reads old history without decoding it.
    private func scanPacked(path: String, file: any FileHandle, number: UInt32, size: Int, state: inout SeqState,
                            deliverAfter: UInt64, progress: ScanProgress?, deliver: (TransactionFrames) throws -> Void,
                            report: inout ScanReport) throws -> PackedSegment {
        var blocks: [PackedBlockInfo] = []
        var offset = SegmentHeader.size
        var rawExpected = SegmentHeader.size
        var headerBuf = [UInt8](repeating: 0, count: PackedBlockInfo.headerBytes)
        var carry = Carry()
        while offset < size {
            guard size - offset >= PackedBlockInfo.headerBytes else {
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "packed block header cut short")
            }
            _ = try headerBuf.withUnsafeMutableBytes { try file.read(into: $0, at: UInt64(offset)) }
            let info = try headerBuf.withUnsafeBytes { try PackedBlockInfo.parse($0, fileOffset: offset, path: path) }
            guard info.compressedLength <= size - offset - PackedBlockInfo.headerBytes, info.rawStart == rawExpected else {
                throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "packed block header is inconsistent")
            }
            let compressed = try PackedSegment.readCompressed(file: file, info: info, verify: true)
            let isLast = offset + PackedBlockInfo.headerBytes + info.compressedLength >= size
            if mode == .verify || info.lastSeq > deliverAfter || isLast || carry.isOpen {
                let block = try compressed.withUnsafeBytes {
                    try PackedSegment.decode(UnsafeRawBufferPointer(rebasing: $0[PackedBlockInfo.headerBytes...]), info: info, path: path)
                }
                try scanBlock(block, info: info, path: path, number: number, state: &state, carry: &carry,
                              deliverAfter: deliverAfter, progress: progress, deliver: deliver, report: &report)
            } else {
                // Not decoded: the seqs in its header must continue the log, and it may end inside a transaction.
                guard info.firstSeq == state.expectedSeq || (carry.skippedSeq == info.firstSeq) else {
                    throw StorageError.corrupt(file: path, offset: UInt64(offset),
                                               reason: "packed block starts at seq \(info.firstSeq), expected \(state.expectedSeq)")
                }
                state.expectedSeq = info.lastSeq + 1
                carry.skippedSeq = info.lastSeq
            }
            blocks.append(info)
            rawExpected = info.rawStart + info.rawLength
            progress?.goodBlocks = blocks.count
            progress?.lastCommitEnd = rawExpected
            progress?.lastSeq = info.lastSeq
            offset += PackedBlockInfo.headerBytes + info.compressedLength
        }
        guard !carry.isOpen, carry.skippedSeq == nil || blocks.isEmpty else {
            throw StorageError.corrupt(file: path, offset: UInt64(offset), reason: "packed segment ends inside a transaction")
        }
        return PackedSegment(file: file, number: number, blocks: blocks, cache: cache)
    }

    /// A transaction that continues from one packed block into the next.
    struct Carry {
        /// Its frames so far, their payloads copied into `bytes`.
        var frames: [Frame] = []
        var bytes: [UInt8] = []
        /// The seq a block that was not decoded may have left open (its last).
        var skippedSeq: UInt64?
        var isOpen: Bool { !frames.isEmpty }
    }

    private func scanBlock(_ block: DecodedBlock, info: PackedBlockInfo, path: String, number: UInt32,
                           state: inout SeqState, carry: inout Carry, deliverAfter: UInt64, progress: ScanProgress?,
                           deliver: (TransactionFrames) throws -> Void, report: inout ScanReport) throws {
        try block.payloads.withUnsafeBytes { payloads in
            var pending: [Frame] = []
            for i in 0..<block.count {
                var frame = block.frame(i)
                if let open = carry.skippedSeq {
                    // The rest of a transaction an undecoded block began: checked, never replayed.
                    if frame.seq == open {
                        guard open <= deliverAfter else {
                            throw StorageError.corrupt(file: path, offset: UInt64(info.fileOffset),
                                                       reason: "transaction \(open) spans a block that was not read")
                        }
                        report.frameCount += 1
                        progress?.frames += 1
                        if frame.isCommit {
                            carry.skippedSeq = nil
                            state.lastTimestamp = frame.timestamp
                        }
                        continue
                    }
                    carry.skippedSeq = nil
                }
                try checkOrder(frame, pending: carry.isOpen ? carry.frames : pending, state: state, path: path)
                report.frameCount += 1
                progress?.frames += 1
                if carry.isOpen {
                    // Continuing a transaction from the previous block: its payloads move to the carry buffer.
                    frame.payloadOffset = carry.bytes.count
                    carry.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: payloads[Int(block.payloadStarts[i])..<(Int(block.payloadStarts[i]) + frame.payloadLength)]))
                    carry.frames.append(frame)
                } else {
                    pending.append(frame)
                }
                guard frame.isCommit else { continue }
                if frame.seq > deliverAfter {
                    if carry.isOpen {
                        let frames = carry.frames
                        try carry.bytes.withUnsafeBytes {
                            try deliver(TransactionFrames(seq: frame.seq, timestamp: frame.timestamp, segment: number, frames: frames, bytes: $0))
                        }
                    } else {
                        try deliver(TransactionFrames(seq: frame.seq, timestamp: frame.timestamp, segment: number,
                                                      frames: pending, bytes: payloads))
                    }
                }
                state.expectedSeq = frame.seq + 1
                state.lastTimestamp = frame.timestamp
                pending.removeAll(keepingCapacity: true)
                carry.frames.removeAll()
                carry.bytes.removeAll(keepingCapacity: true)
            }
            // A transaction left open continues in the next block: keep copies of its payloads.
            for var f in pending {
                let start = f.payloadOffset
                f.payloadOffset = carry.bytes.count
                carry.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: payloads[start..<(start + f.payloadLength)]))
                carry.frames.append(f)
            }
        }
    }
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
