import DriftStorage

extension Engine {
    /// Applies durable commits on the writer thread, in seq order: stores first, then the
    /// catalog and the commit time, then the visible seq. A reader that sees seq N sees all
    /// of N's events and none of N+1's.
    public func apply(_ committed: [CommitRequest]) {
        var events = 0
        var bytes = 0
        for r in committed {
            let ctx = r.context as! CommitContext
            do {
                var catalog: Catalog?
                var ddl: [CatalogEvent] = []
                for (i, event) in ctx.events.enumerated() {
                    let frameBytes = Frame.encodedSize(seq: r.seq, payloadLength: r.events[i].payload.count)
                    bytes += frameBytes
                    switch event {
                    case .ddl(let e):
                        if catalog == nil { catalog = latestCatalog }
                        try catalog!.apply(e)
                        ddl.append(e)
                        try storeEffect(e, catalog: catalog!)
                    case let .row(op, table, key, image):
                        guard let s = store(table) else {
                            throw SQLError(.internalError, "commit names table \(table), which has no storage")
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
            } catch {
                // The commit is durable but memory no longer matches the log: refuse writes;
                // a restart rebuilds memory from the log.
                applyFailure.withLock { if $0 == nil { $0 = "applying seq \(r.seq) failed: \(error)" } }
                logger.critical("apply failed; restart to recover", metadata: ["seq": "\(r.seq)", "error": "\(error)"])
            }
            events += ctx.events.count
            visible.store(r.seq, ordering: .releasing)
        }
        feed.published(upTo: visibleSeq)
        snapshots.note(events: events, bytes: bytes)
    }
}
