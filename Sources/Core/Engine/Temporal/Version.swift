import DriftStorage

public enum RowOp: UInt8, Sendable {
    case insert = 0
    case update = 1
    case delete = 2

    public var name: String {
        switch self {
        case .insert: return "insert"
        case .update: return "update"
        case .delete: return "delete"
        }
    }

    init(_ frameType: FrameType) {
        switch frameType {
        case .insert: self = .insert
        case .update: self = .update
        default: self = .delete
        }
    }

    /// The row op of a row frame's type; nil for a schema change.
    init?(frameType: FrameType) {
        switch frameType {
        case .insert: self = .insert
        case .update: self = .update
        case .delete: self = .delete
        case .ddl: return nil
        }
    }

    var frameType: FrameType {
        switch self {
        case .insert: return .insert
        case .update: return .update
        case .delete: return .delete
        }
    }
}

/// One version of one row: the seq that wrote it, what it did, and where its frame is.
public struct Version: Sendable, Equatable {
    @usableFromInline var seqOp: UInt64
    public var location: Location

    @inlinable public init(seq: UInt64, op: RowOp, location: Location) {
        seqOp = seq << 2 | UInt64(op.rawValue)
        self.location = location
    }

    @inlinable public var seq: UInt64 { seqOp >> 2 }
    @inlinable public var op: RowOp {
        switch seqOp & 3 {
        case 0: return .insert
        case 1: return .update
        default: return .delete
        }
    }
    @inlinable public var isDelete: Bool { seqOp & 3 == UInt64(RowOp.delete.rawValue) }
}

/// Row event payloads: `[varint table id][varint key length][key][row image]`
/// (no image for a delete).
public enum RowEventCodec {
    public static func encode(tableId: UInt32, key: [UInt8], image: [UInt8]?) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + key.count + (image?.count ?? 0))
        w.varint(UInt64(tableId))
        w.lengthPrefixed(key)
        if let image { w.append(image) }
        return w.bytes
    }

    /// The log event of a row write: the same payload as `encode`, kept in parts (the log
    /// writer encodes the frame from the key and image directly).
    static func logEvent(_ type: FrameType, tableId: UInt32, key: [UInt8], image: [UInt8]?) -> LogEvent {
        LogEvent(type: type, varints: UInt64(tableId), UInt64(key.count), body: key, tail: image ?? [])
    }

    /// Splits a payload into table id, key and image (empty for a delete).
    public static func decode(_ payload: UnsafeRawBufferPointer) throws
        -> (tableId: UInt32, key: UnsafeRawBufferPointer, image: UnsafeRawBufferPointer) {
        var r = ByteReader(payload)
        let t = try r.varint()
        guard t <= UInt64(UInt32.max) else { throw DecodeError("table id out of range", offset: 0) }
        let key = try r.lengthPrefixed()
        let image = try r.bytes(r.remaining)
        return (UInt32(t), key, image)
    }
}
