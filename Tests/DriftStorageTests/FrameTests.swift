import Testing
@testable import DriftStorage

@Suite struct FrameTests {
    @Test func crc32cKnownVector() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // Incremental updates equal one pass, across the 8-byte fast path.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32C.checksum(data)
        let split = data.withUnsafeBytes { b in
            CRC32C.update(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<333])), UnsafeRawBufferPointer(rebasing: b[333...]))
        }
        #expect(whole == split)
    }

    @Test func varintsRoundTrip() throws {
        let values: [UInt64] = [0, 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), UInt64.max]
        var w = ByteWriter()
        for v in values { w.varint(v) }
        for v in [Int64.min, -1, 0, 1, Int64.max] { w.zigzag(v) }
        try w.bytes.withUnsafeBytes { b throws in
            var r = ByteReader(b)
            for v in values {
                let got = try r.varint()
                #expect(got == v)
            }
            for v in [Int64.min, -1, 0, 1, Int64.max] {
                let got = try r.zigzag()
                #expect(got == v)
            }
            #expect(r.isAtEnd)
        }
    }

    /// Each width read alone at the buffer's end (the one- and two-byte fast path must not
    /// read past it), every truncation refused, and overlong or overflowing encodings refused.
    @Test func varintsAtTheEndOfTheBuffer() throws {
        for v: UInt64 in [0, 5, 127, 128, 200, 16_383, 16_384, 1 << 21, UInt64.max] {
            var w = ByteWriter()
            w.varint(v)
            let bytes = w.bytes
            try bytes.withUnsafeBytes { b throws in
                var r = ByteReader(b)
                #expect(try r.varint() == v)
                #expect(r.isAtEnd)
            }
            for cut in 0..<bytes.count {
                Array(bytes[..<cut]).withUnsafeBytes { b in
                    var r = ByteReader(b)
                    #expect(throws: DecodeError.self) { _ = try r.varint() }
                }
            }
        }
        for bad: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],
                             [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]] {
            bad.withUnsafeBytes { b in
                var r = ByteReader(b)
                #expect(throws: DecodeError.self) { _ = try r.varint() }
            }
        }
    }

    @Test func frameRoundTrip() throws {
        var w = ByteWriter()
        let payload: [UInt8] = [1, 2, 3, 4, 5]
        payload.withUnsafeBytes { Frame.encode(into: &w, seq: 300, timestamp: 1_700_000_000_000_000, type: .update, commit: true, payload: $0) }
        #expect(w.count == Frame.encodedSize(seq: 300, payloadLength: 5))
        w.bytes.withUnsafeBytes { b in
            guard case let .frame(f) = Frame.parse(b, at: 0) else {
                Issue.record("frame did not parse")
                return
            }
            #expect(f.seq == 300 && f.timestamp == 1_700_000_000_000_000 && f.type == .update && f.isCommit)
            #expect(Array(f.payload(in: b)) == payload)
            #expect(f.end == b.count)
        }
    }

    /// The log writer encodes frames from a payload's parts (two varints, a body, a tail) in
    /// place: byte for byte the frame of the assembled payload, across varint widths.
    @Test func framesFromPartsEqualFramesFromPayloads() {
        for (a, b, bodyCount, tailCount) in [(0, 0, 0, 0), (1, 9, 9, 60), (127, 128, 128, 0), (16_384, 300, 300, 5000),
                                              (UInt64(UInt32.max), 2, 2, 1)] as [(UInt64, UInt64, Int, Int)] {
            let body = (0..<bodyCount).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let tail = (0..<tailCount).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
            let event = LogEvent(type: .insert, varints: a, b, body: body, tail: tail)
            var assembled = ByteWriter()
            assembled.varint(a)
            assembled.varint(b)
            assembled.append(body)
            assembled.append(tail)
            #expect(event.payload == assembled.bytes && event.payloadCount == assembled.count)
            #expect(event.leadingVarints.map { [$0.0, $0.1] } == [a, b])
            for seq: UInt64 in [1, 300, 1 << 40] {
                var expected = ByteWriter()
                assembled.bytes.withUnsafeBytes {
                    Frame.encode(into: &expected, seq: seq, timestamp: -5, type: .insert, commit: seq == 300, payload: $0)
                }
                let size = Frame.encodedSize(seq: seq, payloadLength: event.payloadCount)
                var out = [UInt8](repeating: 0xAA, count: size + 3)
                let n = out.withUnsafeMutableBytes { Frame.encode(at: $0.baseAddress!, seq: seq, timestamp: -5, commit: seq == 300, event: event) }
                #expect(n == size && Array(out[0..<n]) == expected.bytes && out[n...].allSatisfy { $0 == 0xAA })
            }
        }
        let plain = LogEvent(type: .ddl, payload: [9, 8, 7])
        #expect(plain.payload == [9, 8, 7] && plain.payloadCount == 3 && plain.leadingVarints == nil)
    }

    @Test func checksumMismatchAndIncompleteFrames() {
        var w = ByteWriter()
        [UInt8](repeating: 7, count: 40).withUnsafeBytes {
            Frame.encode(into: &w, seq: 1, timestamp: 5, type: .insert, commit: true, payload: $0)
        }
        for i in Frame.headerBytes..<w.count {
            var damaged = w.bytes
            damaged[i] ^= 0x10
            damaged.withUnsafeBytes { b in
                guard case .checksumMismatch = Frame.parse(b, at: 0) else {
                    Issue.record("flip at \(i) not detected")
                    return
                }
            }
        }
        for cut in 0..<w.count {
            w.bytes[0..<cut].withUnsafeBytes { b in
                guard case .incomplete = Frame.parse(UnsafeRawBufferPointer(b), at: 0) else {
                    Issue.record("cut at \(cut) not reported incomplete")
                    return
                }
            }
        }
    }

    @Test func segmentHeaderRefusesUnknownVersion() throws {
        var h = SegmentHeader(kind: .raw, firstSeq: 9, number: 3).encode()
        let parsed = try h.withUnsafeBytes { try SegmentHeader.parse($0, file: "x") }
        #expect(parsed == SegmentHeader(kind: .raw, firstSeq: 9, number: 3))
        h[8] = 1
        let crc = CRC32C.checksum(Array(h[0..<32]))
        withUnsafeBytes(of: crc.littleEndian) { for k in 0..<4 { h[32 + k] = $0[k] } }
        #expect(throws: StorageError.unsupportedFormat(file: "x", version: 1, supported: SegmentHeader.formatVersion)) {
            try h.withUnsafeBytes { _ = try SegmentHeader.parse($0, file: "x") }
        }
    }

    @Test func aValidFrameAfterDamageIsFoundAndNothingElseIs() {
        var w = ByteWriter()
        for seq in UInt64(5)...7 {
            [UInt8](repeating: UInt8(seq), count: 30).withUnsafeBytes {
                Frame.encode(into: &w, seq: seq, timestamp: 100 + Int64(seq), type: .insert, commit: true, payload: $0)
            }
        }
        let frames = w.bytes
        let size = frames.count / 3
        let state = LogScanner.SeqState(expectedSeq: 5, lastTimestamp: 100)
        // A flipped byte in the first frame: the second and third still verify after it.
        var damaged = frames
        damaged[12] ^= 1
        #expect(damaged.withUnsafeBytes { LogScanner.validFrame($0, after: 0, state: state, pending: []) } == size)
        // A damaged length field hides where the next frame starts; the search finds it anyway.
        damaged = frames
        damaged[2] = 0x7F
        #expect(damaged.withUnsafeBytes { LogScanner.validFrame($0, after: 0, state: state, pending: []) } == size)
        // A torn first frame, zeros, or random bytes: nothing valid follows.
        for cut in 1..<size {
            #expect(frames[0..<cut].withUnsafeBytes { LogScanner.validFrame($0, after: 0, state: state, pending: []) } == nil)
        }
        var zeros = Array(frames[0..<size]) + [UInt8](repeating: 0, count: 4096)
        zeros[3] = 9
        #expect(zeros.withUnsafeBytes { LogScanner.validFrame($0, after: 0, state: state, pending: []) } == nil)
        var random = SystemRandomNumberGenerator()
        let garbage = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
        #expect(garbage.withUnsafeBytes { LogScanner.validFrame($0, after: 0, state: state, pending: []) } == nil)
        // Frames older than what the log already holds do not count.
        let later = LogScanner.SeqState(expectedSeq: 9, lastTimestamp: 200)
        #expect(frames.withUnsafeBytes { LogScanner.validFrame($0, after: 0, state: later, pending: []) } == nil)
    }
}
