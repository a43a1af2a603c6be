import DriftStorage

/// A column or expression type, with PostgreSQL's names and OIDs.
public indirect enum SQLType: Sendable, Hashable, CustomStringConvertible {
    case bool
    case int2, int4, int8
    case float4, float8
    case numeric
    /// numeric(precision, scale): numeric with a typmod (values rounded to the scale, the
    /// precision checked on assignment).
    case decimal(precision: Int, scale: Int)
    case text
    case varchar(Int?)
    case bpchar(Int?)
    case bytea
    case date, time, timestamp, timestamptz, interval
    case uuid
    case json, jsonb
    case array(SQLType)
    /// A DriftQL column declared before any value fixed its type (shown as text).
    case unknown
    /// A type with PostgreSQL's type modifier where it changes values: timestamp(p),
    /// timestamptz(p), time(p), interval fields and precision. Expressions see the base type;
    /// casts and column assignments apply the modifier.
    case modified(SQLType, typmod: Int32)
    /// A type made by CREATE TYPE ... AS ENUM: values are held as their labels and order by
    /// their position in the list.
    case enumeration(EnumType)
    /// oid: an unsigned 32-bit object identifier (held as `.int`).
    case oid
    /// regclass, regtype, regproc, regnamespace, regrole: an OID that reads and prints as the
    /// object's name (held as `.int`; the SQL layer converts names, which needs the catalog).
    case reg(RegKind)
    /// int2vector and oidvector: the catalog's arrays, subscripted from 0 and printed with
    /// spaces between the elements (held as `.array`).
    case vector(SQLType)
    /// An anonymous composite value (what information_schema._pg_expandarray returns): its
    /// fields by name, held as `.array` in field order.
    case record([RecordField])

    /// The type without its modifier.
    public var base: SQLType {
        if case .modified(let b, _) = self { return b.base }
        if case .decimal = self { return .numeric }
        return self
    }

    public var description: String { name }

    /// The name `format_type` prints.
    public var name: String {
        switch self {
        case .bool: return "boolean"
        case .int2: return "smallint"
        case .int4: return "integer"
        case .int8: return "bigint"
        case .float4: return "real"
        case .float8: return "double precision"
        case .numeric: return "numeric"
        case let .decimal(p, s): return "numeric(\(p),\(s))"
        case .text, .unknown: return "text"
        case .varchar(let n): return n.map { "character varying(\($0))" } ?? "character varying"
        case .bpchar(let n): return "character(\(n ?? 1))"
        case .bytea: return "bytea"
        case .date: return "date"
        case .time: return "time without time zone"
        case .timestamp: return "timestamp without time zone"
        case .timestamptz: return "timestamp with time zone"
        case .interval: return "interval"
        case .uuid: return "uuid"
        case .enumeration(let e): return e.schema == "public" ? e.name : e.schema + "." + e.name
        case .json: return "json"
        case .jsonb: return "jsonb"
        case .oid: return "oid"
        case .reg(let k): return k.rawValue
        case .vector(let e): return e == .oid ? "oidvector" : "int2vector"
        case .record: return "record"
        case .array(let e): return e.name + "[]"
        case let .modified(b, typmod):
            switch b {
            case .timestamp: return "timestamp(\(typmod)) without time zone"
            case .timestamptz: return "timestamp(\(typmod)) with time zone"
            case .time: return "time(\(typmod)) without time zone"
            case .interval: return "interval" + Interval.typmodText(typmod)
            default: return b.name
            }
        }
    }

    public var oid: UInt32 {
        switch self {
        case .bool: return 16
        case .bytea: return 17
        case .int8: return 20
        case .int2: return 21
        case .int4: return 23
        case .text, .unknown: return 25
        case .json: return 114
        case .float4: return 700
        case .float8: return 701
        case .bpchar: return 1042
        case .varchar: return 1043
        case .date: return 1082
        case .time: return 1083
        case .timestamp: return 1114
        case .timestamptz: return 1184
        case .interval: return 1186
        case .numeric, .decimal: return 1700
        case .uuid: return 2950
        case .enumeration(let e): return EnumType.oidBase + e.id
        case .jsonb: return 3802
        case .modified(let b, _): return b.oid
        case .oid: return 26
        case .reg(let k): return k.oid
        case .vector(let e): return e == .oid ? 30 : 22
        case .record: return 2249
        case .array(let e):
            switch e {
            case .oid: return 1028
            case .reg(let k): return k.arrayOid
            case .vector(let v): return v == .oid ? 1013 : 1006
            case .bytea: return 1001
            case .date: return 1182
            case .time: return 1183
            case .timestamp: return 1115
            case .timestamptz: return 1185
            case .interval: return 1187
            case .uuid: return 2951
            case .json: return 199
            case .bpchar: return 1014
            case .enumeration(let en): return EnumType.arrayOidBase + en.id
            case .bool: return 1000
            case .int2: return 1005
            case .int4: return 1007
            case .int8: return 1016
            case .text, .unknown: return 1009
            case .float4: return 1021
            case .float8: return 1022
            case .varchar: return 1015
            case .numeric, .decimal: return 1231
            case .jsonb: return 3807
            default: return 0
            }
        }
    }

    public var isInteger: Bool {
        switch self {
        case .int2, .int4, .int8: return true
        default: return false
        }
    }

    public var isFloat: Bool { self == .float4 || self == .float8 }

    /// numeric, with or without a typmod.
    public var isNumeric: Bool {
        switch self {
        case .numeric, .decimal: return true
        default: return false
        }
    }

    public var isText: Bool {
        switch self {
        case .text, .varchar, .bpchar, .unknown: return true
        default: return false
        }
    }

    // Catalog encoding: a tag byte and parameters.
    func encode(into w: inout ByteWriter) {
        switch self {
        case .bool: w.u8(1)
        case .int2: w.u8(2)
        case .int4: w.u8(3)
        case .int8: w.u8(4)
        case .float4: w.u8(5)
        case .float8: w.u8(6)
        case .numeric: w.u8(7)
        case let .decimal(p, s): w.u8(22); w.varint(UInt64(p)); w.zigzag(Int64(s))
        case .text: w.u8(8)
        case .varchar(let n): w.u8(9); w.varint(UInt64(n ?? 0))
        case .bpchar(let n): w.u8(10); w.varint(UInt64(n ?? 0))
        case .bytea: w.u8(11)
        case .date: w.u8(12)
        case .time: w.u8(13)
        case .timestamp: w.u8(14)
        case .timestamptz: w.u8(15)
        case .interval: w.u8(16)
        case .uuid: w.u8(17)
        case .enumeration(let e):
            w.u8(24)
            w.varint(UInt64(e.id))
            w.string(e.schema)
            w.string(e.name)
            w.varint(UInt64(e.labels.count))
            for l in e.labels { w.string(l) }
        case .json: w.u8(18)
        case .jsonb: w.u8(19)
        case .array(let e): w.u8(20); e.encode(into: &w)
        case .oid: w.u8(25)
        case .reg(let k): w.u8(26); w.u8(k.tag)
        case .vector(let e): w.u8(27); e.encode(into: &w)
        case .record(let fields):
            w.u8(28)
            w.varint(UInt64(fields.count))
            for f in fields { w.string(f.name); f.type.encode(into: &w) }
        case .unknown: w.u8(21)
        case let .modified(b, typmod): w.u8(23); b.encode(into: &w); w.zigzag(Int64(typmod))
        }
    }

    static func decode(_ r: inout ByteReader) throws -> SQLType {
        let tag = try r.u8()
        switch tag {
        case 1: return .bool
        case 2: return .int2
        case 3: return .int4
        case 4: return .int8
        case 5: return .float4
        case 6: return .float8
        case 7: return .numeric
        case 8: return .text
        case 9: let n = try r.varint(); return .varchar(n == 0 ? nil : Int(n))
        case 10: let n = try r.varint(); return .bpchar(n == 0 ? nil : Int(n))
        case 11: return .bytea
        case 12: return .date
        case 13: return .time
        case 14: return .timestamp
        case 15: return .timestamptz
        case 16: return .interval
        case 17: return .uuid
        case 24:
            let id = UInt32(truncatingIfNeeded: try r.varint())
            let schema = try r.string()
            let name = try r.string()
            let n = try r.count(max: 100_000)
            var labels: [String] = []
            for _ in 0..<n { labels.append(try r.string()) }
            return .enumeration(EnumType(id: id, schema: schema, name: name, labels: labels))
        case 18: return .json
        case 19: return .jsonb
        case 20: return .array(try decode(&r))
        case 21: return .unknown
        case 25: return .oid
        case 26:
            let k = try r.u8()
            guard let kind = RegKind.allCases.first(where: { $0.tag == k }) else { throw DecodeError("unknown reg type \(k)", offset: r.position - 1) }
            return .reg(kind)
        case 27: return .vector(try decode(&r))
        case 28:
            let n = try r.count(max: 1600)
            var fields: [RecordField] = []
            for _ in 0..<n { fields.append(RecordField(name: try r.string(), type: try decode(&r))) }
            return .record(fields)
        case 23:
            let b = try decode(&r)
            let t = try r.zigzag()
            guard let typmod = Int32(exactly: t) else { throw DecodeError("bad type modifier \(t)", offset: r.position) }
            return .modified(b, typmod: typmod)
        case 22:
            let p = try r.count(max: 1000)
            let s = try r.zigzag()
            guard s >= -1000, s <= 1000 else { throw DecodeError("bad numeric scale \(s)", offset: r.position) }
            return .decimal(precision: p, scale: Int(s))
        default: throw DecodeError("unknown type tag \(tag)", offset: r.position - 1)
        }
    }
}

/// An enum type's definition (CREATE TYPE name AS ENUM (labels)).
public struct EnumType: Sendable, Hashable {
    public var id: UInt32
    public var schema: String
    public var name: String
    public var labels: [String]
    /// Enum types' OIDs: this base plus the type's catalog id (above every built-in OID).
    public static let oidBase: UInt32 = 100_000
    /// Their array types' OIDs.
    public static let arrayOidBase: UInt32 = 1_100_000

    public init(id: UInt32, schema: String = "public", name: String, labels: [String]) {
        self.id = id
        self.schema = schema
        self.name = name
        self.labels = labels
    }

    public var qualifiedName: String { schema + "." + name }

    /// A label's position (its sort order), nil for a value not in the type.
    public func ordinal(_ label: String) -> Int? { labels.firstIndex(of: label) }
}


/// The OID types that print as names.
public enum RegKind: String, Sendable, Hashable, CaseIterable {
    case regclass, regtype, regproc, regnamespace, regrole

    public var oid: UInt32 {
        switch self {
        case .regclass: return 2205
        case .regtype: return 2206
        case .regproc: return 24
        case .regnamespace: return 4089
        case .regrole: return 4096
        }
    }

    public var arrayOid: UInt32 {
        switch self {
        case .regclass: return 2210
        case .regtype: return 2211
        case .regproc: return 1008
        case .regnamespace: return 4090
        case .regrole: return 4097
        }
    }

    var tag: UInt8 {
        switch self {
        case .regclass: return 1
        case .regtype: return 2
        case .regproc: return 3
        case .regnamespace: return 4
        case .regrole: return 5
        }
    }
}

/// A field of a record type.
public struct RecordField: Sendable, Hashable {
    public var name: String
    public var type: SQLType
    public init(name: String, type: SQLType) {
        self.name = name
        self.type = type
    }
}
