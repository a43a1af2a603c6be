extension LogWriter {
    /// Writes one group: frames for as many requests as fit the active segment go out in
    /// one write, then one sync; a full segment rotates between requests (a transaction
    /// never spans segments). Durable requests are applied in seq order, then acknowledged.
    func process(_ batch: [CommitRequest]) {
        groupCount += 1
        var outcomes: [(CommitRequest, Result<Void, StorageError>)] = []
        if let reason = failure {
            finish(batch.map { ($0, .failure(.failed(reason: reason))) })
            return
        }
        var succeeded: [CommitRequest] = []
        var i = 0
        func failRest(from index: Int, _ error: StorageError) {
            for r in batch[index...] { outcomes.append((r, .failure(error))) }
            i = batch.count
        }
        while i < batch.count {
            buffer.bytes.removeAll(keepingCapacity: true)
            var chunk: [CommitRequest] = []
            var ends: [Int] = []
            let seqBefore = nextSeq, timestampBefore = lastTimestamp
            while i < batch.count {
                let r = batch[i]
                let size = r.encodedSize(seq: nextSeq)
                let end = active.end + buffer.count + size
                let full = end > config.segmentBytesMax && active.end + buffer.count > SegmentHeader.size
                if full || end > active.capacity {
                    if !chunk.isEmpty { break }
                    do {
                        try rotate(minCapacity: size)
                    } catch {
                        let e = error as? StorageError ?? .failed(reason: "\(error)")
                        if case .syncFailed = e { enterFailed("\(e)") }
                        failRest(from: i, e)
                        break
                    }
                    continue
                }
                encode(r, size: size)
                chunk.append(r)
                ends.append(buffer.count)
                i += 1
            }
            guard !chunk.isEmpty else { break }
            let start = active.end
            var kept = chunk.count
            var chunkError: StorageError?
            do {
                try buffer.bytes.withUnsafeBytes { try active.file.write($0, at: UInt64(start)) }
            } catch let StorageError.noSpace(path, written) {
                kept = ends.firstIndex { $0 > written } ?? chunk.count
                chunkError = .noSpace(path: path, written: written)
                do {
                    try active.file.truncate(to: UInt64(start + (kept == 0 ? 0 : ends[kept - 1])))
                } catch {
                    enterFailed("could not cut back a short write: \(error)")
                    kept = 0
                    chunkError = .failed(reason: "\(error)")
                }
            } catch {
                enterFailed("write failed: \(error)")
                try? active.file.truncate(to: UInt64(start))
                kept = 0
                chunkError = error as? StorageError ?? .failed(reason: "\(error)")
            }
            if kept > 0 {
                dirty = true
                if config.durability == .fsync {
                    do {
                        try syncActive()
                    } catch {
                        // The failed state is entered; cut the unsynced frames so a restart does not
                        // resurrect commits whose callers were told they failed.
                        try? active.file.truncate(to: UInt64(start))
                        kept = 0
                        chunkError = error as? StorageError ?? .failed(reason: "\(error)")
                    }
                }
            }
            let keptBytes = kept == 0 ? 0 : ends[kept - 1]
            active.end = start + keptBytes
            bytesWritten += UInt64(keptBytes)
            succeeded.append(contentsOf: chunk[0..<kept])
            if let e = chunkError {
                nextSeq = kept == 0 ? seqBefore : chunk[kept - 1].seq + 1
                lastTimestamp = kept == 0 ? timestampBefore : chunk[kept - 1].timestamp
                for r in chunk[kept...] { outcomes.append((r, .failure(e))) }
                failRest(from: i, e)
            }
        }
        if !succeeded.isEmpty {
            let result = applier?.apply(succeeded) ?? CommitApplication(applied: succeeded.count, failure: nil)
            let applied = min(max(result.applied, 0), succeeded.count)
            if applied > 0 {
                let last = succeeded[applied - 1].seq
                lock.withLock { nextSeqCommitted = last }
            }
            outcomes.append(contentsOf: succeeded[..<applied].map { ($0, .success(())) })
            if let reason = result.failure {
                enterFailed(reason)
                let e = StorageError.failed(reason: "\(reason); the commit is durable in the log and becomes visible after a restart")
                outcomes.append(contentsOf: succeeded[applied...].map { ($0, .failure(e)) })
            }
        }
        finish(outcomes)
    }

    /// Encodes `r`'s frames (`size` bytes in all) at the end of the buffer.
    private func encode(_ r: CommitRequest, size: Int) {
        let seq = nextSeq
        var ts = clock.nowMicros()
        if ts <= lastTimestamp { ts = lastTimestamp + 1 }
        r.seq = seq
        r.timestamp = ts
        r.locations.removeAll(keepingCapacity: true)
        r.locations.reserveCapacity(r.events.count)
        let start = buffer.count
        buffer.appendZeros(size)
        let last = r.events.count - 1
        let offset = active.end + start
        let written = buffer.bytes.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            var at = start
            for (k, e) in r.events.enumerated() {
                r.locations.append(Location(segment: active.number, offset: offset + at - start))
                at += Frame.encode(at: base + at, seq: seq, timestamp: ts, commit: k == last, event: e)
            }
            return at - start
        }
        precondition(written == size, "frames of seq \(seq) took \(written) bytes, \(size) expected")
        nextSeq = seq + 1
        lastTimestamp = ts
    }

    private func finish(_ outcomes: [(CommitRequest, Result<Void, StorageError>)]) {
        lock.withLock {
            for (r, o) in outcomes {
                r.outcome = o
                r.completed.signal()
            }
        }
    }
}
