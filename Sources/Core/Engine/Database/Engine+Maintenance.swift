import DriftStorage

/// What `COMPACT` did.
public struct CompactionInfo: Sendable {
    public var segmentsPacked: Int
    public var bytesBefore: Int
    public var bytesAfter: Int
}

/// Per-table figures for `driftdb analyze`.
public struct TableAnalysis: Sendable {
    public var id: UInt32
    public var name: String
    public var dropped: Bool
    public var rows: Int
    public var keys: Int
    public var versions: Int
    public var logBytes: UInt64
    public var segments: Int
}

public struct DatabaseAnalysis: Sendable {
    public var tables: [TableAnalysis]
    public var segments: Int
    public var packedSegments: Int
    public var segmentBytes: UInt64
    public var snapshotFiles: Int
    public var snapshotBytes: UInt64
    public var lastSeq: UInt64
}

extension Engine {
    /// Packs sealed raw segments into zstd blocks (all of them, or those holding events of
    /// `table`). No version is dropped and no location changes: every `AS OF` answer is the
    /// same before and after.
    public func compact(table: UInt32? = nil) throws -> CompactionInfo {
        try snapshots.writeLock.withLock {
            var info = CompactionInfo(segmentsPacked: 0, bytesBefore: 0, bytesAfter: 0)
            for s in try logWriter().sealedSegments() where !s.isPacked {
                if let table, !(try segment(s, holds: table)) { continue }
                let r = try Compactor(log: log).pack(s)
                info.segmentsPacked += 1
                info.bytesBefore += r.bytesBefore
                info.bytesAfter += r.bytesAfter
            }
            logger.info("compacted", metadata: ["segments": "\(info.segmentsPacked)", "before": "\(info.bytesBefore)",
                                                "after": "\(info.bytesAfter)"])
            return info
        }
    }

    private func segment(_ s: Segment, holds table: UInt32) throws -> Bool {
        var found = false
        try s.forEachFrame(end: Int(try fileSize(s.path)), active: isActive(s)) { f, buf in
            let p = f.payload(in: buf)
            if f.type == .ddl {
                found = (try? CatalogEvent.decode(p))?.tableId == table
            } else {
                found = (try? RowEventCodec.decode(p))?.tableId == table
            }
            return !found
        }
        return found
    }

    /// Whether `s` is the segment commits are appended to (its file may hold preallocated
    /// zeros after its frames); without a writer, the newest segment.
    func isActive(_ s: Segment) -> Bool {
        s.number >= (writer?.activeSegmentNumber ?? log.segments.last?.number ?? 0)
    }

    func fileSize(_ path: String) throws -> UInt64 {
        let f = try fs.open(path, create: false)
        defer { f.close() }
        return try f.size()
    }

    /// Rows, versions and log bytes per table, segments and snapshots on disk.
    public func analyze() throws -> DatabaseAnalysis {
        var bytesByTable: [UInt32: UInt64] = [:]
        var segmentsByTable: [UInt32: Set<UInt32>] = [:]
        var segmentBytes: UInt64 = 0
        var packed = 0
        let segments = log.segments
        for s in segments {
            let size = try fileSize(s.path)
            segmentBytes += size
            if s.isPacked { packed += 1 }
            try s.forEachFrame(end: Int(size), active: isActive(s)) { f, buf in
                let p = f.payload(in: buf)
                let table = f.type == .ddl ? (try? CatalogEvent.decode(p))?.tableId : (try? RowEventCodec.decode(p))?.tableId
                if let table {
                    bytesByTable[table, default: 0] += UInt64(f.totalLength)
                    segmentsByTable[table, default: []].insert(s.number)
                }
                return true
            }
        }
        let latest = latestCatalog
        var tables: [TableAnalysis] = []
        for (id, store) in stateLock.withReadLock({ stores }).sorted(by: { $0.key < $1.key }) {
            let def = definition(of: id, at: visibleSeq)
            let st = store.stats
            tables.append(TableAnalysis(id: id, name: def?.name ?? "?", dropped: latest.table(id: id) == nil,
                                        rows: st.liveRows, keys: st.keys, versions: st.versions,
                                        logBytes: bytesByTable[id] ?? 0, segments: segmentsByTable[id]?.count ?? 0))
        }
        let snapDir = Path.join(directory, Engine.snapshotsDirectory)
        var snapBytes: UInt64 = 0
        var snapFiles = 0
        for name in try fs.listDirectory(snapDir) where name.hasSuffix(".snap") {
            snapBytes += try fileSize(Path.join(snapDir, name))
            snapFiles += 1
        }
        return DatabaseAnalysis(tables: tables, segments: segments.count, packedSegments: packed, segmentBytes: segmentBytes,
                                snapshotFiles: snapFiles, snapshotBytes: snapBytes, lastSeq: visibleSeq)
    }
}
