/// The content of a packed (compacted) block: the frames of a few KiB of raw log, stored by
/// column so zstd finds the redundancy that raw frames hide, then compressed.
///
///     [varint frames]
///     frames × ([varint body length][u8 event type][varint key-prefix length])
///     [varint runs] runs × ([varint frames in run][varint seq delta][zig-zag timestamp delta])
///     [key prefixes: each row event's table id, key length and key, concatenated]
///     [the rest of each payload (row images, DDL events), concatenated]
///
/// A run is a sequence of frames of one transaction (one seq and timestamp); deltas count
/// from the previous run (the first from zero). Frame checksums are not stored: the block
/// has one over its compressed bytes, and the raw frames, checksums included, are rebuilt
/// byte for byte when needed (compaction verifies exactly that before it replaces a
/// segment; `doctor --repair` unpacks with it). Blocks end on frame boundaries; a
/// transaction may continue into the next block.
enum PackedBlockCodec {
    /// Encodes whole, verified frames of `raw` (their offsets index `raw`).
    static func encode(_ raw: UnsafeRawBufferPointer, _ frames: ArraySlice<Frame>, into w: inout ByteWriter) {
        w.varint(UInt64(frames.count))
        var prefixLengths: [Int] = []
        prefixLengths.reserveCapacity(frames.count)
        for f in frames {
            let prefix = keyPrefixLength(f.payload(in: raw), type: f.type)
            prefixLengths.append(prefix)
            w.varint(UInt64(f.totalLength - Frame.headerBytes))
            w.u8(f.rawType)
            w.varint(UInt64(prefix))
        }
        var runs: [(count: Int, seq: UInt64, timestamp: Int64)] = []
        for f in frames {
            if let last = runs.last, last.seq == f.seq, last.timestamp == f.timestamp {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((1, f.seq, f.timestamp))
            }
        }
        w.varint(UInt64(runs.count))
        var seq: UInt64 = 0
        var ts: Int64 = 0
        for r in runs {
            w.varint(UInt64(r.count))
            w.varint(r.seq &- seq)
            w.zigzag(r.timestamp &- ts)
            seq = r.seq
            ts = r.timestamp
        }
        for (f, p) in zip(frames, prefixLengths) { w.append(UnsafeRawBufferPointer(rebasing: f.payload(in: raw)[0..<p])) }
        for (f, p) in zip(frames, prefixLengths) { w.append(UnsafeRawBufferPointer(rebasing: f.payload(in: raw)[p...])) }
    }

    /// The bytes of a row event's payload up to its image (table id, key length, key); 0 for DDL.
    static func keyPrefixLength(_ payload: UnsafeRawBufferPointer, type: FrameType?) -> Int {
        guard let type, type != .ddl else { return 0 }
        var r = ByteReader(payload)
        guard (try? r.varint()) != nil, let key = try? r.count(max: r.remaining), (try? r.bytes(key)) != nil else { return 0 }
        return r.position
    }

    static func varintSize(_ v: UInt64) -> Int {
        var n = 1
        var x = v
        while x >= 0x80 { x >>= 7; n += 1 }
        return n
    }

    /// Decodes a block's columns; every length is checked against the block's raw span.
    static func decode(_ columns: UnsafeRawBufferPointer, rawStart: Int, rawLength: Int) throws -> DecodedBlock {
        var r = ByteReader(columns)
        let n = try r.count(max: rawLength / (Frame.headerBytes + Frame.bodyBytesMin) + 1)
        var bodyLengths = [Int](repeating: 0, count: n)
        var types = [UInt8](repeating: 0, count: n)
        var prefixes = [Int](repeating: 0, count: n)
        for i in 0..<n {
            bodyLengths[i] = try r.count(max: Limits.frameBytesMax)
            types[i] = try r.u8()
            guard FrameType(rawValue: types[i] & ~FrameType.commitFlag) != nil else {
                throw DecodeError("unknown event type \(types[i])", offset: r.position - 1)
            }
            prefixes[i] = try r.count(max: Limits.frameBytesMax)
        }
        let runCount = try r.count(max: n)
        var seqs = [UInt64](repeating: 0, count: n)
        var timestamps = [Int64](repeating: 0, count: n)
        var at = 0
        var seq: UInt64 = 0
        var ts: Int64 = 0
        for _ in 0..<runCount {
            let count = try r.count(max: n - at)
            seq &+= try r.varint()
            ts &+= try r.zigzag()
            for k in at..<(at + count) {
                seqs[k] = seq
                timestamps[k] = ts
            }
            at += count
        }
        guard at == n else { throw DecodeError("runs cover \(at) of \(n) frames", offset: r.position) }
        // Payload lengths follow from body lengths: body = varint seq + timestamp + type + payload.
        var payloadLengths = [Int](repeating: 0, count: n)
        var prefixTotal = 0, imageTotal = 0, rawTotal = 0
        for i in 0..<n {
            let p = bodyLengths[i] - varintSize(seqs[i]) - 9
            guard p >= 0, prefixes[i] <= p else { throw DecodeError("frame \(i) has inconsistent lengths", offset: r.position) }
            payloadLengths[i] = p
            prefixTotal += prefixes[i]
            imageTotal += p - prefixes[i]
            rawTotal += Frame.headerBytes + bodyLengths[i]
        }
        guard rawTotal == rawLength, r.remaining == prefixTotal + imageTotal else {
            throw DecodeError("block columns cover \(rawTotal) raw bytes, the header says \(rawLength)", offset: r.position)
        }
        let prefixStream = try r.bytes(prefixTotal)
        let imageStream = try r.bytes(imageTotal)
        var payloads = [UInt8]()
        payloads.reserveCapacity(prefixTotal + imageTotal)
        var offsets = [Int32](repeating: 0, count: n)
        var payloadStarts = [Int32](repeating: 0, count: n)
        var pAt = 0, iAt = 0, rawAt = 0
        for i in 0..<n {
            offsets[i] = Int32(rawAt)
            payloadStarts[i] = Int32(payloads.count)
            payloads.append(contentsOf: UnsafeRawBufferPointer(rebasing: prefixStream[pAt..<(pAt + prefixes[i])]))
            let image = payloadLengths[i] - prefixes[i]
            payloads.append(contentsOf: UnsafeRawBufferPointer(rebasing: imageStream[iAt..<(iAt + image)]))
            pAt += prefixes[i]
            iAt += image
            rawAt += Frame.headerBytes + bodyLengths[i]
        }
        return DecodedBlock(rawStart: rawStart, offsets: offsets, payloadStarts: payloadStarts, seqs: seqs,
                            timestamps: timestamps, types: types, payloads: payloads)
    }
}

/// A decoded packed block: its frames by raw offset, and one buffer holding their payloads.
final class DecodedBlock: @unchecked Sendable {
    let rawStart: Int
    /// Raw offset of each frame, relative to `rawStart`.
    let offsets: [Int32]
    let payloadStarts: [Int32]
    let seqs: [UInt64]
    let timestamps: [Int64]
    let types: [UInt8]
    let payloads: [UInt8]

    init(rawStart: Int, offsets: [Int32], payloadStarts: [Int32], seqs: [UInt64], timestamps: [Int64], types: [UInt8],
         payloads: [UInt8]) {
        self.rawStart = rawStart
        self.offsets = offsets
        self.payloadStarts = payloadStarts
        self.seqs = seqs
        self.timestamps = timestamps
        self.types = types
        self.payloads = payloads
    }

    var count: Int { offsets.count }

    /// Memory held, for the block cache's accounting.
    var byteSize: Int { payloads.count + count * 29 + 96 }

    func payloadLength(_ i: Int) -> Int {
        (i + 1 < count ? Int(payloadStarts[i + 1]) : payloads.count) - Int(payloadStarts[i])
    }

    /// Frame `i`, its payload offsets indexing `payloads`.
    func frame(_ i: Int) -> Frame {
        let payloadLength = payloadLength(i)
        let body = PackedBlockCodec.varintSize(seqs[i]) + 9 + payloadLength
        return Frame(offset: rawStart + Int(offsets[i]), totalLength: Frame.headerBytes + body, seq: seqs[i],
                     timestamp: timestamps[i], rawType: types[i], payloadOffset: Int(payloadStarts[i]), payloadLength: payloadLength)
    }

    /// The frame starting at raw offset `offset`, if one does.
    func index(ofRawOffset offset: Int) -> Int? {
        let local = offset - rawStart
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(offsets[mid]) < local { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && Int(offsets[lo]) == local ? lo : nil
    }

    /// The first frame at or after raw offset `offset`.
    func firstIndex(atOrAfter offset: Int) -> Int {
        let local = offset - rawStart
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(offsets[mid]) < local { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The raw frames, byte for byte as the log first wrote them (checksums recomputed).
    func rawFrames() -> [UInt8] {
        var w = ByteWriter(capacity: payloads.count + count * 24)
        payloads.withUnsafeBytes { p in
            for i in 0..<count {
                let start = Int(payloadStarts[i])
                let payload = UnsafeRawBufferPointer(rebasing: p[start..<(start + payloadLength(i))])
                let type = types[i]
                guard let ft = FrameType(rawValue: type & ~FrameType.commitFlag) else { continue }
                Frame.encode(into: &w, seq: seqs[i], timestamp: timestamps[i], type: ft,
                             commit: type & FrameType.commitFlag != 0, payload: payload)
            }
        }
        return w.bytes
    }
}
