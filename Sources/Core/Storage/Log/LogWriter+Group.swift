extension LogWriter {
    /// Writes one group: frames for as many requests as fit the active segment go out in
    /// one write, then one sync; a full segment rotates between requests (a transaction
    /// never spans segments). Durable requests are applied in seq order, then acknowledged.
    ///
    /// The last chunk of a large group of row writes (`applyDuringSyncEventsMin` events, no
    /// schema change) is applied while a helper thread encodes, writes and syncs it: its
    /// blocks are reserved first, so the write cannot find the device full, and its commits
    /// become visible only once durable (`CommitApplier.publish(through:)`).
    func process(_ batch: [CommitRequest]) {
        groupCount += 1
        let bytesBefore = bytesWritten
        defer {
            StoreMetrics.shared.groupSize.record(batch.count)
            StoreMetrics.shared.logBytes.increment(by: Int64(truncatingIfNeeded: bytesWritten &- bytesBefore))
        }
        var outcomes: [(CommitRequest, Result<Void, StorageError>)] = []
        if let reason = failure {
            finish(batch.map { ($0, .failure(.failed(reason: reason))) })
            return
        }
        var succeeded: [CommitRequest] = []
        var deferred: DeferredChunk?
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
                assign(r, size: size)
                chunk.append(r)
                ends.append(buffer.count)
                i += 1
            }
            guard !chunk.isEmpty else { break }
            let start = active.end
            if i == batch.count && config.durability == .fsync && applier != nil
                && chunk.allSatisfy(\.appliesBeforeSync)
                && chunk.reduce(0, { $0 + $1.events.count }) >= config.applyDuringSyncEventsMin {
                do {
                    try preallocate(through: start + buffer.count)
                    if try isPreallocated(through: start + buffer.count)
                        || active.file.reserve(at: UInt64(start), length: buffer.count) {
                        deferred = DeferredChunk(start: start, first: succeeded.count, seqBefore: seqBefore,
                                                 timestampBefore: timestampBefore, bytes: buffer.count)
                        active.end = start + buffer.count
                        active.allocated = max(active.allocated, active.end)
                        bytesWritten += UInt64(buffer.count)
                        dirty = true
                        succeeded.append(contentsOf: chunk)
                        break
                    }
                    // This file system cannot reserve: write and sync here, as for any chunk.
                } catch {
                    // A full device fails the chunk, as a short write would (nothing was written).
                    let e = error as? StorageError ?? .failed(reason: "\(error)")
                    if case .noSpace = e {} else { enterFailed("could not reserve log space: \(e)") }
                    nextSeq = seqBefore
                    lastTimestamp = timestampBefore
                    failRest(from: i - chunk.count, e)
                    break
                }
            }
            fill(chunk, ends: ends)
            let chunkError = writeChunk(start: start, ends: ends, sync: config.durability == .fsync)
            let kept = ends.firstIndex { $0 > active.end - start } ?? chunk.count
            bytesWritten += UInt64(active.end - start)
            succeeded.append(contentsOf: chunk[0..<kept])
            if let e = chunkError {
                nextSeq = kept == 0 ? seqBefore : chunk[kept - 1].seq + 1
                lastTimestamp = kept == 0 ? timestampBefore : chunk[kept - 1].timestamp
                for r in chunk[kept...] { outcomes.append((r, .failure(e))) }
                failRest(from: i, e)
            }
        }
        if let d = deferred {
            applyDuringSync(succeeded, d, &outcomes)
        } else if !succeeded.isEmpty {
            let result = applier?.apply(succeeded, publish: true) ?? CommitApplication(applied: succeeded.count, failure: nil)
            acknowledge(succeeded[...], applied: min(max(result.applied, 0), succeeded.count), failure: result.failure,
                        published: true, &outcomes)
        }
        finish(outcomes)
    }

    /// Writes the buffer's frames at `start` and, with `sync`, syncs them; sets `active.end`
    /// past the whole frames that reached the file. Returns the error that stopped it: a full
    /// device keeps the commits written before it; anything else keeps none and fails the
    /// writer.
    private func writeChunk(start: Int, ends: [Int], sync: Bool) -> StorageError? {
        var kept = ends.count
        var chunkError: StorageError?
        do {
            try preallocate(through: start + buffer.count)
        } catch {
            // Nothing was written: a full device fails the chunk's commits, anything else the writer.
            let e = error as? StorageError ?? .failed(reason: "\(error)")
            if case .noSpace = e {} else { enterFailed("could not preallocate log space: \(e)") }
            active.end = start
            return e
        }
        do {
            try buffer.bytes.withUnsafeBytes { try active.file.write($0, at: UInt64(start)) }
            active.allocated = max(active.allocated, start + buffer.count)
        } catch let StorageError.noSpace(path, written) {
            kept = ends.firstIndex { $0 > written } ?? ends.count
            chunkError = .noSpace(path: path, written: written)
            do {
                let cut = start + (kept == 0 ? 0 : ends[kept - 1])
                try active.file.truncate(to: UInt64(cut))
                active.allocated = cut
            } catch {
                enterFailed("could not cut back a short write: \(error)")
                kept = 0
                chunkError = .failed(reason: "\(error)")
            }
        } catch {
            enterFailed("write failed: \(error)")
            cutActive(at: start)
            kept = 0
            chunkError = error as? StorageError ?? .failed(reason: "\(error)")
        }
        if kept > 0 {
            dirty = true
            if sync {
                do {
                    try syncActive()
                } catch {
                    // The failed state is entered; cut the unsynced frames so a restart does not
                    // resurrect commits whose callers were told they failed.
                    cutActive(at: start)
                    kept = 0
                    chunkError = error as? StorageError ?? .failed(reason: "\(error)")
                }
            }
        }
        active.end = start + (kept == 0 ? 0 : ends[kept - 1])
        return chunkError
    }

    /// The last chunk of a group, applied while a helper thread makes it durable.
    struct DeferredChunk {
        /// Where its frames start in the active segment.
        var start: Int
        /// Its first commit's index among the group's written commits.
        var first: Int
        var seqBefore: UInt64
        var timestampBefore: Int64
        var bytes: Int
    }

    final class SyncOutcome: @unchecked Sendable {
        var error: StorageError?
        var nanos: UInt64 = 0
    }

    /// Applies `succeeded` while a helper thread encodes, writes and syncs the deferred
    /// chunk `d` (the commits before it are durable), then makes visible what is durable and
    /// applied. A failed write or sync fails the chunk's commits and the writer (as any failed
    /// fsync does), cutting their frames; their rows, applied but never visible, go with the
    /// restart that the failed state requires.
    private func applyDuringSync(_ succeeded: [CommitRequest], _ d: DeferredChunk,
                                 _ outcomes: inout [(CommitRequest, Result<Void, StorageError>)]) {
        let outcome = SyncOutcome()
        let chunk = Array(succeeded[d.first...])
        let body: @Sendable () -> Void = { [self] in
            do {
                fill(chunk, ends: nil)
                try buffer.bytes.withUnsafeBytes { try active.file.write($0, at: UInt64(d.start)) }
                let started = monotonicNanos()
                try active.file.sync()
                outcome.nanos = monotonicNanos() - started
            } catch {
                outcome.error = error as? StorageError ?? .failed(reason: "\(error)")
            }
        }
        let helper = try? OSThread(name: "drift-log-sync", body)
        // No thread to spare: make the chunk durable first, and apply what is durable.
        if helper == nil { body() }
        let toApply = helper == nil && outcome.error != nil ? Array(succeeded[..<d.first]) : succeeded
        let result = toApply.isEmpty
            ? CommitApplication(applied: 0, failure: nil)
            : applier?.apply(toApply, publish: false) ?? CommitApplication(applied: toApply.count, failure: nil)
        helper?.join()
        if outcome.error == nil {
            lock.withLock { lastSyncDurationNanos = outcome.nanos }
            StoreMetrics.shared.fsync.recordNanoseconds(Int64(truncatingIfNeeded: outcome.nanos))
        }
        var applied = min(max(result.applied, 0), toApply.count)
        var durable = succeeded.count
        if let e = outcome.error {
            enterFailed("\(e)")
            cutActive(at: d.start)
            active.end = d.start
            bytesWritten -= UInt64(d.bytes)
            nextSeq = d.seqBefore
            lastTimestamp = d.timestampBefore
            durable = d.first
            applied = min(applied, durable)
        } else {
            syncCount += 1
            dirty = false
            lastSyncNanos = monotonicNanos()
        }
        acknowledge(succeeded[..<durable], applied: applied, failure: result.failure, published: false, &outcomes)
        if let e = outcome.error {
            outcomes.append(contentsOf: succeeded[durable...].map { ($0, .failure(e)) })
        }
    }

    /// The outcomes of durable commits: the first `applied` succeed (made visible here unless
    /// `published` already), the rest fail with the applier's `failure`, which stops the writer.
    private func acknowledge(_ durable: ArraySlice<CommitRequest>, applied: Int, failure: String?, published: Bool,
                             _ outcomes: inout [(CommitRequest, Result<Void, StorageError>)]) {
        let done = durable.prefix(applied)
        if let last = done.last?.seq {
            if !published { applier?.publish(through: last) }
            lock.withLock { nextSeqCommitted = last }
        }
        outcomes.append(contentsOf: done.map { ($0, .success(())) })
        if let reason = failure {
            enterFailed(reason)
            let e = StorageError.failed(reason: "\(reason); the commit is durable in the log and becomes visible after a restart")
            outcomes.append(contentsOf: durable.dropFirst(applied).map { ($0, .failure(e)) })
        }
    }

    /// Gives `r` its seq, timestamp and frame locations, and room for its frames (`size`
    /// bytes in all) at the end of the buffer; `fill` encodes them there.
    private func assign(_ r: CommitRequest, size: Int) {
        let seq = nextSeq
        var ts = clock.nowMicros()
        if ts <= lastTimestamp { ts = lastTimestamp + 1 }
        r.seq = seq
        r.timestamp = ts
        r.locations.removeAll(keepingCapacity: true)
        r.locations.reserveCapacity(r.events.count)
        var at = active.end + buffer.count
        for e in r.events {
            r.locations.append(Location(segment: active.number, offset: at))
            at += Frame.encodedSize(seq: seq, payloadLength: e.payloadCount)
        }
        buffer.appendZeros(size)
        nextSeq = seq + 1
        lastTimestamp = ts
    }

    /// Encodes the frames of `chunk`, assigned one after another from the buffer's start
    /// (`ends`: where each request's frames end, checked when given).
    private func fill(_ chunk: [CommitRequest], ends: [Int]?) {
        buffer.bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            var at = 0
            for (n, r) in chunk.enumerated() {
                let last = r.events.count - 1
                for (k, e) in r.events.enumerated() {
                    at += Frame.encode(at: base + at, seq: r.seq, timestamp: r.timestamp, commit: k == last, event: e)
                }
                if let ends { precondition(at == ends[n], "frames of seq \(r.seq) end at \(at), \(ends[n]) expected") }
            }
            precondition(at == raw.count, "frames take \(at) bytes of a \(raw.count)-byte chunk")
        }
    }

    private func finish(_ outcomes: [(CommitRequest, Result<Void, StorageError>)]) {
        var committed = 0, failed = 0, events = 0
        for (r, o) in outcomes {
            if case .success = o {
                committed += 1
                events += r.events.count
            } else {
                failed += 1
            }
        }
        let m = StoreMetrics.shared
        if committed > 0 {
            m.commits.increment(by: Int64(committed))
            m.events.increment(by: Int64(events))
        }
        if failed > 0 { m.commitFailures.increment(by: Int64(failed)) }
        lock.withLock {
            for (r, o) in outcomes {
                r.outcome = o
                r.completed.signal()
            }
        }
    }
}
