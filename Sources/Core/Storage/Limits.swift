/// Every bound of the storage layer in one place, units last.
public enum Limits {
    /// A frame body larger than this is refused on write and treated as damage on read.
    public static let frameBytesMax = 256 << 20
    /// Segments rotate when the next commit would pass this size (configurable down to `segmentBytesMin`).
    public static let segmentBytesDefault = 64 << 20
    public static let segmentBytesMin = 4 << 10
    /// Uncompressed bytes per block of a packed (compacted) segment.
    public static let packedBlockBytes = 64 << 10
    /// Uncompressed bytes per block of a snapshot file.
    public static let snapshotBlockBytes = 1 << 20
    /// Decompressed packed blocks kept in memory for history reads.
    public static let blockCacheBytesMax = 64 << 20
    /// Commits taken by the log writer in one group.
    public static let groupCommitRequestsMax = 4096

    // Engine and SQL bounds (PostgreSQL's where it has one).

    /// Identifier length (PostgreSQL's NAMEDATALEN - 1).
    public static let identifierBytesMax = 63
    /// Columns per table, dropped ones included (PostgreSQL's MaxHeapAttributeNumber).
    public static let tableColumnsMax = 1600
    /// `lock_timeout`, `statement_timeout` (PostgreSQL's INT_MAX milliseconds).
    public static let timeoutMillisMax = Int(Int32.max)
    /// `storage.batch_ms`: the longest a batch-durability commit may stay unsynced.
    public static let batchMillisMax = 60_000
}
