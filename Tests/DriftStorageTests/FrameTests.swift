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

    @Test func tornTailDetection() {
        var w = ByteWriter()
        [UInt8](repeating: 9, count: 30).withUnsafeBytes {
            Frame.encode(into: &w, seq: 1, timestamp: 5, type: .insert, commit: true, payload: $0)
        }
        let one = w.bytes
        // A frame whose bytes end early is torn...
        for cut in 1..<one.count {
            #expect(one[0..<cut].withUnsafeBytes { LogScanner.tailIsTorn(UnsafeRawBufferPointer($0), from: 0) })
        }
        // ...but a complete frame whose length field was damaged to run past the end is not.
        var damaged = one
        damaged[1] = 0x7F
        #expect(!damaged.withUnsafeBytes { LogScanner.tailIsTorn($0, from: 0) })
    }
}
