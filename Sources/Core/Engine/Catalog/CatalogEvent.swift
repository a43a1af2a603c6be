import DriftStorage

/// A schema change. The catalog is event-sourced: each of these is a DDL frame in
/// the log, so the schema as of any seq is the fold of the events up to it.
public enum CatalogEvent: Sendable, Hashable {
    case createTable(TableDef)
    case dropTable(UInt32)
    case addColumn(UInt32, ColumnDef)
    case dropColumn(UInt32, Int)
    /// Fixes the type of a DriftQL column declared before its first value.
    case setColumnType(UInt32, Int, SQLType)
    case renameColumn(UInt32, Int, String)
    case renameTable(UInt32, String)
    case createIndex(UInt32, IndexDef)
    case dropIndex(UInt32, UInt32)
    case setOption(UInt32, String, String?)
    case setNotNull(UInt32, Int, Bool)
    /// Creates a view, or replaces the view with that id (CREATE OR REPLACE).
    case createView(ViewDef)
    case dropView(UInt32)
    case addConstraint(UInt32, TableConstraint)
    case dropConstraint(UInt32, String)
    /// ALTER COLUMN SET / DROP DEFAULT.
    case setDefault(UInt32, Int, String?)
    case createSequence(SequenceDef)
    case dropSequence(UInt32)
    /// ALTER SEQUENCE: the new definition.
    case alterSequence(SequenceDef)
    /// A sequence's durable state: the last value handed out (or reserved), and whether it was
    /// (nextval's `is_called`). Not a schema change: the catalog history skips it.
    case sequenceState(UInt32, last: Int64, called: Bool)
    /// ALTER TABLE ADD / DROP PRIMARY KEY (empty: keyed by a hidden row id). The rows are
    /// re-keyed by the same transaction.
    case setPrimaryKey(UInt32, [Int])
    /// CREATE SCHEMA / DROP SCHEMA (its objects are dropped by their own events first).
    case createSchema(String)
    case dropSchema(String)
    /// CREATE TYPE ... AS ENUM / DROP TYPE.
    case createEnum(EnumType)
    case dropEnum(UInt32)
    /// TRUNCATE: every row of the table live at this seq is deleted by this one event (the
    /// rows' history before it stays readable).
    case truncateTable(UInt32)
    /// CREATE ROLE, or the role with that id as ALTER ROLE leaves it.
    case createRole(RoleDef)
    case dropRole(UInt32)
    /// An object's owner and access list as GRANT, REVOKE or ALTER ... OWNER TO leave them
    /// (nil: back to no entry, when the object is dropped).
    case setACL(PrivilegeObject, ObjectACL?)
    /// CREATE POLICY, or the policy with that id as ALTER POLICY leaves it.
    case createPolicy(PolicyDef)
    case dropPolicy(UInt32)

    public var tableId: UInt32 {
        switch self {
        case .createTable(let t): return t.id
        case .dropTable(let id), .addColumn(let id, _), .dropColumn(let id, _), .setColumnType(let id, _, _),
             .renameColumn(let id, _, _), .renameTable(let id, _), .createIndex(let id, _), .dropIndex(let id, _),
             .setOption(let id, _, _), .setNotNull(let id, _, _), .dropView(let id), .addConstraint(let id, _),
             .dropConstraint(let id, _), .setDefault(let id, _, _), .dropSequence(let id), .sequenceState(let id, _, _),
             .setPrimaryKey(let id, _), .truncateTable(let id):
            return id
        case .createView(let v): return v.id
        case .createSequence(let s), .alterSequence(let s): return s.id
        case .createSchema, .dropSchema: return 0
        case .createEnum(let e): return e.id
        case .dropEnum(let id): return id
        case .createRole, .dropRole: return 0
        case .setACL(.relation(let id), _), .setACL(.column(let id, _), _): return id
        case .setACL(.schema, _), .setACL(.defaults, _): return 0
        case .createPolicy(let p): return p.table
        case .dropPolicy: return 0
        }
    }

    /// Whether the event is a sequence's state rather than a schema change.
    public var isSequenceState: Bool {
        if case .sequenceState = self { return true }
        return false
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        encode(into: &w)
        return w.bytes
    }

    public func encode(into w: inout ByteWriter) {
        switch self {
        case .createTable(let t):
            w.u8(1)
            w.varint(UInt64(t.id))
            w.string(t.schema)
            w.string(t.name)
            w.u8(t.origin.rawValue)
            w.varint(UInt64(t.columns.count))
            for c in t.columns { Self.encodeColumn(c, into: &w) }
            w.varint(UInt64(t.primaryKey.count))
            for p in t.primaryKey { w.varint(UInt64(p)) }
            w.varint(UInt64(t.indexes.count))
            for i in t.indexes { Self.encodeIndex(i, into: &w) }
            w.varint(UInt64(t.options.count))
            for (k, v) in t.options.sorted(by: { $0.key < $1.key }) {
                w.string(k)
                w.string(v)
            }
        case .dropTable(let id): w.u8(2); w.varint(UInt64(id))
        case .addColumn(let id, let c): w.u8(3); w.varint(UInt64(id)); Self.encodeColumn(c, into: &w)
        case .dropColumn(let id, let p): w.u8(4); w.varint(UInt64(id)); w.varint(UInt64(p))
        case .setColumnType(let id, let p, let t): w.u8(5); w.varint(UInt64(id)); w.varint(UInt64(p)); t.encode(into: &w)
        case .renameColumn(let id, let p, let n): w.u8(6); w.varint(UInt64(id)); w.varint(UInt64(p)); w.string(n)
        case .renameTable(let id, let n): w.u8(7); w.varint(UInt64(id)); w.string(n)
        case .createIndex(let id, let i): w.u8(8); w.varint(UInt64(id)); Self.encodeIndex(i, into: &w)
        case .dropIndex(let id, let i): w.u8(9); w.varint(UInt64(id)); w.varint(UInt64(i))
        case .setOption(let id, let k, let v):
            w.u8(10)
            w.varint(UInt64(id))
            w.string(k)
            w.u8(v == nil ? 0 : 1)
            if let v { w.string(v) }
        case .setNotNull(let id, let p, let b): w.u8(11); w.varint(UInt64(id)); w.varint(UInt64(p)); w.u8(b ? 1 : 0)
        case .createView(let v):
            w.u8(12)
            w.varint(UInt64(v.id))
            w.string(v.schema)
            w.string(v.name)
            w.string(v.sql)
            w.varint(UInt64(v.columnNames.count))
            for c in v.columnNames { w.string(c) }
        case .dropView(let id): w.u8(13); w.varint(UInt64(id))
        case .addConstraint(let id, let c):
            w.u8(14)
            w.varint(UInt64(id))
            switch c {
            case let .check(name, sql):
                w.u8(1)
                w.string(name)
                w.string(sql)
            case .foreignKey(let f):
                w.u8(2)
                w.string(f.name)
                w.varint(UInt64(f.columns.count))
                for c in f.columns { w.varint(UInt64(c)) }
                w.varint(UInt64(f.refTable))
                w.varint(UInt64(f.refColumns.count))
                for c in f.refColumns { w.varint(UInt64(c)) }
                w.u8(f.onDelete.rawValue)
                w.u8(f.onUpdate.rawValue)
                w.u8(f.matchFull ? 1 : 0)
            }
        case .dropConstraint(let id, let name): w.u8(15); w.varint(UInt64(id)); w.string(name)
        case .setDefault(let id, let p, let sql):
            w.u8(16)
            w.varint(UInt64(id))
            w.varint(UInt64(p))
            w.u8(sql == nil ? 0 : 1)
            if let sql { w.string(sql) }
        case .createSequence(let s): w.u8(17); Self.encodeSequence(s, into: &w)
        case .dropSequence(let id): w.u8(18); w.varint(UInt64(id))
        case .alterSequence(let s): w.u8(19); Self.encodeSequence(s, into: &w)
        case let .sequenceState(id, last, called):
            w.u8(20)
            w.varint(UInt64(id))
            w.zigzag(last)
            w.u8(called ? 1 : 0)
        case let .setPrimaryKey(id, cols):
            w.u8(21)
            w.varint(UInt64(id))
            w.varint(UInt64(cols.count))
            for c in cols { w.varint(UInt64(c)) }
        case .createSchema(let name): w.u8(22); w.string(name)
        case .dropSchema(let name): w.u8(23); w.string(name)
        case .createEnum(let e): w.u8(24); SQLType.enumeration(e).encode(into: &w)
        case .dropEnum(let id): w.u8(25); w.varint(UInt64(id))
        case .truncateTable(let id): w.u8(26); w.varint(UInt64(id))
        case .createRole(let role): w.u8(27); role.encode(into: &w)
        case .dropRole(let id): w.u8(28); w.varint(UInt64(id))
        case let .setACL(object, acl):
            w.u8(29)
            object.encode(into: &w)
            w.u8(acl == nil ? 0 : 1)
            acl?.encode(into: &w)
        case .createPolicy(let p): w.u8(30); p.encode(into: &w)
        case .dropPolicy(let id): w.u8(31); w.varint(UInt64(id))
        }
    }

    static func encodeSequence(_ s: SequenceDef, into w: inout ByteWriter) {
        w.varint(UInt64(s.id))
        w.string(s.schema)
        w.string(s.name)
        s.type.encode(into: &w)
        w.zigzag(s.start)
        w.zigzag(s.increment)
        w.zigzag(s.minValue)
        w.zigzag(s.maxValue)
        w.zigzag(s.cache)
        w.u8(s.cycle ? 1 : 0)
        if let o = s.ownedBy {
            w.u8(1)
            w.varint(UInt64(o.table))
            w.varint(UInt64(o.column))
        } else {
            w.u8(0)
        }
    }

    static func decodeSequence(_ r: inout ByteReader) throws -> SequenceDef {
        let id = UInt32(truncatingIfNeeded: try r.varint())
        let schema = try r.string()
        let name = try r.string()
        let type = try SQLType.decode(&r)
        let start = try r.zigzag(), inc = try r.zigzag(), min = try r.zigzag(), max = try r.zigzag(), cache = try r.zigzag()
        let cycle = try r.u8() == 1
        var owned: (table: UInt32, column: Int)?
        if try r.u8() == 1 { owned = (UInt32(truncatingIfNeeded: try r.varint()), try r.count(max: 1 << 20)) }
        return SequenceDef(id: id, schema: schema, name: name, type: type, start: start, increment: inc, minValue: min,
                           maxValue: max, cache: cache, cycle: cycle, ownedBy: owned)
    }

    static func encodeColumn(_ c: ColumnDef, into w: inout ByteWriter) {
        w.string(c.name)
        c.type.encode(into: &w)
        w.u8((c.notNull ? 1 : 0) | (c.isDropped ? 2 : 0) | (c.defaultSQL != nil ? 4 : 0))
        if let d = c.defaultSQL { w.string(d) }
        RowCodec.encodeValue(c.missingValue, into: &w)
    }

    static func encodeIndex(_ i: IndexDef, into w: inout ByteWriter) {
        w.varint(UInt64(i.id))
        w.string(i.name)
        w.u8(i.unique ? 1 : 0)
        w.varint(UInt64(i.columns.count))
        for c in i.columns { w.varint(UInt64(c)) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> CatalogEvent {
        var r = ByteReader(bytes)
        let e = try decode(&r)
        guard r.isAtEnd else { throw DecodeError("trailing bytes after a DDL event", offset: r.position) }
        return e
    }

    public static func decode(_ r: inout ByteReader) throws -> CatalogEvent {
        let tag = try r.u8()
        func id() throws -> UInt32 { UInt32(truncatingIfNeeded: try r.varint()) }
        func int() throws -> Int { try r.count(max: 1 << 20) }
        switch tag {
        case 1:
            let tid = try id()
            let schema = try r.string()
            let name = try r.string()
            guard let origin = TableDef.Origin(rawValue: try r.u8()) else { throw DecodeError("bad table origin", offset: r.position) }
            let nc = try r.count(max: 100_000)
            var cols: [ColumnDef] = []
            for _ in 0..<nc { cols.append(try decodeColumn(&r)) }
            let npk = try r.count(max: 1000)
            var pk: [Int] = []
            for _ in 0..<npk { pk.append(try int()) }
            let ni = try r.count(max: 100_000)
            var idx: [IndexDef] = []
            for _ in 0..<ni { idx.append(try decodeIndex(&r)) }
            let no = try r.count(max: 100_000)
            var opts: [String: String] = [:]
            for _ in 0..<no { opts[try r.string()] = try r.string() }
            return .createTable(TableDef(id: tid, schema: schema, name: name, columns: cols, primaryKey: pk,
                                         indexes: idx, origin: origin, options: opts))
        case 2: return .dropTable(try id())
        case 3: return .addColumn(try id(), try decodeColumn(&r))
        case 4: return .dropColumn(try id(), try int())
        case 5: return .setColumnType(try id(), try int(), try SQLType.decode(&r))
        case 6: return .renameColumn(try id(), try int(), try r.string())
        case 7: return .renameTable(try id(), try r.string())
        case 8: return .createIndex(try id(), try decodeIndex(&r))
        case 9: return .dropIndex(try id(), try id())
        case 10:
            let t = try id()
            let k = try r.string()
            let has = try r.u8()
            return .setOption(t, k, has == 1 ? try r.string() : nil)
        case 11: return .setNotNull(try id(), try int(), try r.u8() == 1)
        case 12:
            let vid = try id()
            let schema = try r.string()
            let name = try r.string()
            let sql = try r.string()
            let n = try r.count(max: 100_000)
            var cols: [String] = []
            for _ in 0..<n { cols.append(try r.string()) }
            return .createView(ViewDef(id: vid, schema: schema, name: name, sql: sql, columnNames: cols))
        case 13: return .dropView(try id())
        case 14:
            let tid = try id()
            switch try r.u8() {
            case 1: return .addConstraint(tid, .check(name: try r.string(), sql: try r.string()))
            case 2:
                let name = try r.string()
                let n = try r.count(max: 1000)
                var cols: [Int] = []
                for _ in 0..<n { cols.append(try int()) }
                let ref = try id()
                let m = try r.count(max: 1000)
                var refCols: [Int] = []
                for _ in 0..<m { refCols.append(try int()) }
                guard let del = ForeignKeyAction(rawValue: try r.u8()), let upd = ForeignKeyAction(rawValue: try r.u8()) else {
                    throw DecodeError("bad foreign key action", offset: r.position)
                }
                let full = try r.u8() == 1
                return .addConstraint(tid, .foreignKey(ForeignKeyDef(name: name, columns: cols, refTable: ref, refColumns: refCols,
                                                                     onDelete: del, onUpdate: upd, matchFull: full)))
            case let k: throw DecodeError("unknown constraint kind \(k)", offset: r.position - 1)
            }
        case 15: return .dropConstraint(try id(), try r.string())
        case 16:
            let tid = try id()
            let pos = try int()
            return .setDefault(tid, pos, try r.u8() == 1 ? try r.string() : nil)
        case 17: return .createSequence(try decodeSequence(&r))
        case 18: return .dropSequence(try id())
        case 19: return .alterSequence(try decodeSequence(&r))
        case 20: return .sequenceState(try id(), last: try r.zigzag(), called: try r.u8() == 1)
        case 21:
            let tid = try id()
            let n = try r.count(max: 1000)
            var cols: [Int] = []
            for _ in 0..<n { cols.append(try int()) }
            return .setPrimaryKey(tid, cols)
        case 22: return .createSchema(try r.string())
        case 23: return .dropSchema(try r.string())
        case 24:
            guard case .enumeration(let e) = try SQLType.decode(&r) else { throw DecodeError("bad enum type", offset: r.position) }
            return .createEnum(e)
        case 25: return .dropEnum(try id())
        case 26: return .truncateTable(try id())
        case 27: return .createRole(try RoleDef.decode(&r))
        case 28: return .dropRole(try id())
        case 29:
            let object = try PrivilegeObject.decode(&r)
            return .setACL(object, try r.u8() == 1 ? try ObjectACL.decode(&r) : nil)
        case 30: return .createPolicy(try PolicyDef.decode(&r))
        case 31: return .dropPolicy(try id())
        default: throw DecodeError("unknown DDL event \(tag)", offset: r.position - 1)
        }
    }

    static func decodeColumn(_ r: inout ByteReader) throws -> ColumnDef {
        let name = try r.string()
        let type = try SQLType.decode(&r)
        let flags = try r.u8()
        let def = flags & 4 != 0 ? try r.string() : nil
        let missing = try RowCodec.decodeValue(&r)
        return ColumnDef(name: name, type: type, notNull: flags & 1 != 0, defaultSQL: def,
                         missingValue: missing, isDropped: flags & 2 != 0)
    }

    static func decodeIndex(_ r: inout ByteReader) throws -> IndexDef {
        let id = UInt32(truncatingIfNeeded: try r.varint())
        let name = try r.string()
        let unique = try r.u8() == 1
        let n = try r.count(max: 1000)
        var cols: [Int] = []
        for _ in 0..<n { cols.append(try r.count(max: 1 << 20)) }
        return IndexDef(id: id, name: name, columns: cols, unique: unique)
    }
}

/// The catalog at every seq where it changed; `at(seq)` is a binary search.
public struct CatalogHistory: Sendable {
    /// (seq, catalog after that seq's DDL), ascending. The first entry is the empty catalog at seq 0.
    public private(set) var versions: [(seq: UInt64, catalog: Catalog)] = [(0, Catalog())]
    /// Every DDL event with its seq, for snapshots.
    public private(set) var events: [(seq: UInt64, event: CatalogEvent)] = []

    public init() {}

    public var latest: Catalog { versions[versions.count - 1].catalog }

    /// The position in `versions` of the version in force at `seq`.
    private func versionIndex(at seq: UInt64) -> Int {
        var lo = 0, hi = versions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if versions[mid].seq <= seq { lo = mid + 1 } else { hi = mid }
        }
        return max(lo - 1, 0)
    }

    /// The seq of the catalog version in force at `seq` (0 before any DDL).
    public func versionSeq(at seq: UInt64) -> UInt64 { versions[versionIndex(at: seq)].seq }

    public func at(_ seq: UInt64) -> Catalog { versions[versionIndex(at: seq)].catalog }

    /// The newest definition of a table, dropped or not.
    public func lastDefinition(of id: UInt32) -> TableDef? {
        versions.last { $0.catalog.table(id: id) != nil }?.catalog.table(id: id)
    }

    /// Applies a transaction's DDL events, all at `seq`.
    public mutating func apply(_ all: [CatalogEvent], seq: UInt64) throws {
        let evs = all.filter { !$0.isSequenceState }
        guard !evs.isEmpty else { return }
        var c = latest
        for e in evs {
            try c.apply(e)
            events.append((seq, e))
        }
        // A TRUNCATE leaves the catalog as it was: no new version for it.
        if evs.allSatisfy({ if case .truncateTable = $0 { return true } else { return false } }) { return }
        if versions[versions.count - 1].seq == seq {
            versions[versions.count - 1].catalog = c
        } else {
            versions.append((seq, c))
        }
    }
}
