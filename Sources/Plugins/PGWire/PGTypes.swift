import DriftCore

/// What RowDescription says of a type beside its OID (pg_type.typlen, the column's typmod).
enum PGTypes {
    static func typeLength(_ t: SQLType) -> Int16 {
        switch t.base {
        case .bool: return 1
        case .int2: return 2
        case .int4, .float4, .date, .oid, .reg: return 4
        case .int8, .float8, .time, .timestamp, .timestamptz: return 8
        case .interval, .uuid: return 16
        case .enumeration: return 4
        default: return -1
        }
    }

    static func typeModifier(_ t: SQLType) -> Int32 {
        switch t {
        case .varchar(let n?), .bpchar(let n?): return Int32(n) + 4
        case .decimal(let p, let s): return Int32((p << 16) | (s & 0x7FF)) + 4  // PostgreSQL 15's numeric typmod (scale in 11 bits)
        case .modified(_, let typmod): return typmod
        default: return -1
        }
    }

    /// The type a client names by OID in Parse (0 and 705, unknown, leave it to inference).
    static func sqlType(oid: UInt32) -> SQLType? {
        known[oid]
    }

    private static let known: [UInt32: SQLType] = {
        var m: [UInt32: SQLType] = [:]
        let scalars: [SQLType] = [.bool, .bytea, .int8, .int2, .int4, .text, .json, .float4, .float8, .bpchar(nil),
                                  .varchar(nil), .date, .time, .timestamp, .timestamptz, .interval, .numeric, .uuid, .jsonb, .oid,
                                  .reg(.regclass), .reg(.regtype), .reg(.regproc), .reg(.regnamespace), .reg(.regrole)]
        for t in scalars {
            m[t.oid] = t
            let a = SQLType.array(t)
            if a.oid != 0 { m[a.oid] = a }
        }
        return m
    }()
}
