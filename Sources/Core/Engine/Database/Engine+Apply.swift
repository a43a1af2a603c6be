import DriftStorage

extension Engine {
    /// Applies durable commits on the writer thread, in seq order: stores first, then the
    /// catalog and the commit time, then the visible seq. A reader that sees seq N sees all
    /// of N's events and none of N+1's.
    ///
    /// A failure (a bug: the log and memory disagree) stops at that commit: the visible seq
    /// stays at the last whole commit, the engine refuses writes (the writer enters its failed
    /// state, as after a failed fsync) and takes no more snapshots; a restart rebuilds memory
    /// from the log, where the commit is durable. Readers never see the part that was applied,
    /// because every read is bounded by the visible seq.
    ///
    /// With `publish` false (a large commit applied while its fsync runs) the stores change
    /// but the visible seq does not: `publish(through:)` makes the commits visible once they
    /// are durable. If the fsync fails they never are, and the writer refuses writes until a
    /// restart rebuilds memory from the log.
    public func apply(_ committed: [CommitRequest], publish: Bool) -> CommitApplication {
        var events = 0
        var bytes = 0
        var applied = 0
        var failure: String?
        for r in committed {
            do {
                guard let ctx = r.context as? CommitContext else {
                    throw SQLError.bug("commit request \(r.seq) carries no commit context")
                }
                let (n, b) = try apply(r, ctx)
                events += n
                bytes += b
            } catch {
                failure = "applying seq \(r.seq) failed: \(error)"
                applyFailure.withLock { if $0 == nil { $0 = failure } }
                applyFailed.store(true, ordering: .releasing)
                logger.critical("apply failed; writes refused until restart, which rebuilds memory from the log",
                                metadata: ["seq": "\(r.seq)", "error": "\(error)"])
                break
            }
            applied += 1
            if publish { visible.store(r.seq, ordering: .releasing) }
        }
        if publish {
            feed.published(upTo: visibleSeq)
            EngineMetrics.shared.visibleSeq.record(Int64(truncatingIfNeeded: visibleSeq))
            if failure == nil { snapshots.note(events: events, bytes: bytes) }
        } else {
            unpublished.withLock {
                $0.events += events
                $0.bytes += bytes
            }
        }
        return CommitApplication(applied: applied, failure: failure)
    }

    /// Makes visible, once durable, the commits through `seq` that `apply(_:publish:)` applied
    /// with `publish` false.
    public func publish(through seq: UInt64) {
        visible.store(seq, ordering: .releasing)
        feed.published(upTo: seq)
        EngineMetrics.shared.visibleSeq.record(Int64(truncatingIfNeeded: seq))
        let (events, bytes) = unpublished.withLock { u in
            defer { u = (0, 0) }
            return (u.events, u.bytes)
        }
        if applyFailure.withLock({ $0 }) == nil { snapshots.note(events: events, bytes: bytes) }
    }

    /// Applies one commit; returns its event count and frame bytes.
    private func apply(_ r: CommitRequest, _ ctx: CommitContext) throws -> (Int, Int) {
        var catalog = latestCatalog
        var ddl: [CatalogEvent] = []
        var bytes = 0
        let events = r.events
        guard r.locations.count == events.count, ctx.ddl.allSatisfy({ $0.index < events.count }) else {
            throw SQLError.bug("commit \(r.seq) has \(events.count) frames, \(r.locations.count) locations, schema changes at \(ctx.ddl.map(\.index))")
        }
        // A large commit's new rows are counted per table first, so each table's arrays grow
        // once rather than by doubling as the rows arrive.
        if events.count >= TableStore.reserveThreshold {
            var rows: [UInt32: (count: Int, bytes: Int)] = [:]
            for e in events where e.type == .insert {
                guard let (table, _) = e.leadingVarints else { continue }
                rows[UInt32(truncatingIfNeeded: table), default: (0, 0)].count += 1
                rows[UInt32(truncatingIfNeeded: table), default: (0, 0)].bytes += e.body.count + e.tail.count
            }
            for (table, n) in rows where n.count >= TableStore.reserveThreshold {
                guard let s = store(table) else { continue }
                s.lock.withWriteLock { s.reserve(keys: n.count, bytes: n.bytes) }
            }
        }
        var nextDDL = 0
        var i = 0
        while i < events.count {
            bytes += Frame.encodedSize(seq: r.seq, payloadLength: events[i].payloadCount)
            if nextDDL < ctx.ddl.count && ctx.ddl[nextDDL].index == i {
                let e = ctx.ddl[nextDDL].event
                nextDDL += 1
                i += 1
                if case let .sequenceState(id, last, called) = e {
                    noteSequenceState(id, last: last, called: called, seq: r.seq)
                    continue
                }
                try catalog.apply(e)
                ddl.append(e)
                try storeEffect(e, catalog: catalog, seq: r.seq, location: r.locations[i - 1])
                continue
            }
            guard let (tableId, _) = events[i].leadingVarints, let op = RowOp(frameType: events[i].type) else {
                throw SQLError.bug("event \(i) of commit \(r.seq) is neither a schema change nor a row write")
            }
            let table = UInt32(truncatingIfNeeded: tableId)
            guard let s = store(table) else {
                throw SQLError.bug("commit names table \(table), which has no storage")
            }
            // A run of one table's rows under one hold of its lock (readers of the table get
            // their turn between runs of a few thousand), up to the next schema change.
            let runEnd = min(events.count, i + 4096, nextDDL < ctx.ddl.count ? ctx.ddl[nextDDL].index : events.count)
            let runStart = i
            try s.lock.withWriteLock {
                var op = op
                while true {
                    let e = events[i]
                    let frameBytes = Frame.encodedSize(seq: r.seq, payloadLength: e.payloadCount)
                    if i > runStart { bytes += frameBytes }
                    try e.body.withUnsafeBytes { k in
                        try e.tail.withUnsafeBytes { img in
                            try s.apply(op: op, key: k, image: img, seq: r.seq, location: r.locations[i],
                                        frameBytes: frameBytes, missing: s.missing)
                        }
                    }
                    i += 1
                    guard i < runEnd, let (t, _) = events[i].leadingVarints, UInt32(truncatingIfNeeded: t) == table,
                          let next = RowOp(frameType: events[i].type) else { break }
                    op = next
                }
            }
        }
        try stateLock.withWriteLock {
            try catalogHistory.apply(ddl, seq: r.seq)
            timestamps.append(r.timestamp)
        }
        noteIds(ddl)
        // Before the seq becomes visible: a snapshot that sees it finds the transaction committed.
        if let id = ctx.serializableTxn { ssi.committed(id, seq: r.seq) }
        return (events.count, bytes)
    }
}
