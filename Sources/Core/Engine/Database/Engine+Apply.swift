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
    public func apply(_ committed: [CommitRequest]) -> CommitApplication {
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
                logger.critical("apply failed; writes refused until restart, which rebuilds memory from the log",
                                metadata: ["seq": "\(r.seq)", "error": "\(error)"])
                break
            }
            applied += 1
            visible.store(r.seq, ordering: .releasing)
        }
        feed.published(upTo: visibleSeq)
        if failure == nil { snapshots.note(events: events, bytes: bytes) }
        return CommitApplication(applied: applied, failure: failure)
    }

    /// Applies one commit; returns its event count and frame bytes.
    private func apply(_ r: CommitRequest, _ ctx: CommitContext) throws -> (Int, Int) {
        var catalog = latestCatalog
        var ddl: [CatalogEvent] = []
        var bytes = 0
        guard ctx.events.count == r.events.count, r.locations.count == r.events.count else {
            throw SQLError.bug("commit \(r.seq) has \(ctx.events.count) events, \(r.events.count) frames, \(r.locations.count) locations")
        }
        for (i, event) in ctx.events.enumerated() {
            let frameBytes = Frame.encodedSize(seq: r.seq, payloadLength: r.events[i].payload.count)
            bytes += frameBytes
            switch event {
            case .ddl(let e):
                if case let .sequenceState(id, last, called) = e {
                    noteSequenceState(id, last: last, called: called, seq: r.seq)
                    continue
                }
                try catalog.apply(e)
                ddl.append(e)
                try storeEffect(e, catalog: catalog, seq: r.seq, location: r.locations[i])
            case let .row(op, table, key, image):
                guard let s = store(table) else {
                    throw SQLError.bug("commit names table \(table), which has no storage")
                }
                try key.withUnsafeBytes { k in
                    try (image ?? []).withUnsafeBytes { img in
                        try s.lock.withWriteLock {
                            try s.apply(op: op, key: k, image: img, seq: r.seq, location: r.locations[i],
                                        frameBytes: frameBytes, missing: s.missing)
                        }
                    }
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
        return (ctx.events.count, bytes)
    }
}
