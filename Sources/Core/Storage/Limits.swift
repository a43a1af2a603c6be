#if canImport(Glibc)
import Glibc
#endif

/// Every bound of the storage layer in one place, units last.
public enum Limits {
    /// A frame body larger than this is refused on write and treated as damage on read.
    public static let frameBytesMax = 256 << 20
    /// Segments rotate when the next commit would pass this size (configurable down to `segmentBytesMin`).
    public static let segmentBytesDefault = 64 << 20
    public static let segmentBytesMin = 4 << 10
    /// The active segment's file grows ahead of its writes in steps of this size, so a
    /// commit's `fdatasync` has no new file size to write (35-40% faster on ext4 here).
    public static let segmentPreallocateBytes = 16 << 20
    /// Raw bytes a packed (compacted) block covers, at least (it ends at the next frame
    /// boundary). Small, so a history read decodes little: measured at 4 KiB, 5.7 bytes per
    /// row event and about 3 µs to decode a block.
    public static let packedBlockBytes = 4 << 10
    /// Uncompressed bytes per block of a snapshot file.
    public static let snapshotBlockBytes = 1 << 20
    /// Decoded packed blocks kept in memory for history reads: 1/32 of the machine's memory,
    /// from 64 MiB to 1 GiB (`storage.block_cache_bytes` overrides it).
    public static let blockCacheBytesDefault: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        let memory = pages > 0 && pageSize > 0 ? pages * pageSize : 0
        return min(max(memory / 32, 64 << 20), 1 << 30)
    }()
    /// Commits taken by the log writer in one group.
    public static let groupCommitRequestsMax = 4096
    /// Events in a group from which its fsync overlaps its apply (a thread per such group is
    /// cheap beside applying this many rows).
    public static let applyDuringSyncEventsMin = 16_384

    // Engine and SQL bounds (PostgreSQL's where it has one).

    /// Identifier length (PostgreSQL's NAMEDATALEN - 1).
    public static let identifierBytesMax = 63
    /// Columns per table, dropped ones included (PostgreSQL's MaxHeapAttributeNumber).
    public static let tableColumnsMax = 1600
    /// `lock_timeout`, `statement_timeout` (PostgreSQL's INT_MAX milliseconds).
    public static let timeoutMillisMax = Int(Int32.max)
    /// `storage.batch_ms`: the longest a batch-durability commit may stay unsynced.
    public static let batchMillisMax = 60_000
    /// How deep a statement may nest queries and expressions when bound (54001 past it).
    public static let expressionDepthMax = 1000
}
