import DriftCore
import DriftStorage

/// A `pg_catalog` or `information_schema` relation: its columns, as PostgreSQL 15 names and
/// types them, and its rows, built from a `CatalogView` when a statement reads it (as of a
/// past seq like any table: the view is then that seq's catalog).
final class SystemTable: @unchecked Sendable {
    let schema: String
    let name: String
    let oid: Int64
    let isView: Bool
    let columns: [ResultColumn]
    let index: [String: Int]
    let defaults: [Value]
    let build: (CatalogView, inout SystemRows) -> Void

    init(_ schema: String, _ name: String, oid: Int64, view: Bool = false, _ spec: String,
         _ build: @escaping (CatalogView, inout SystemRows) -> Void) {
        self.schema = schema
        self.name = name
        self.oid = oid
        isView = view
        var columns: [ResultColumn] = []
        var defaults: [Value] = []
        for item in spec.split(separator: ",") {
            let parts = item.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            let (type, d) = SystemTable.type(parts.count > 1 ? parts[1] : "text")
            columns.append(ResultColumn(name: parts.first ?? "", type: type))
            defaults.append(d)
        }
        self.columns = columns
        self.defaults = defaults
        index = Dictionary(columns.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.build = build
    }

    /// A column type by its catalog name, with the value a row leaves unset reads as.
    static func type(_ t: String) -> (SQLType, Value) {
        switch t {
        case "oid": return (.oid, .int(0))
        case "name", "text", "node": return (.text, .null)
        case "char": return (.text, .text(""))
        case "bool": return (.bool, .bool(false))
        case "int2": return (.int2, .int(0))
        case "int4": return (.int4, .int(0))
        case "card": return (.int4, .null)
        case "int8", "xid": return (.int8, .int(0))
        case "float4": return (.float4, .double(0))
        case "regproc": return (.reg(.regproc), .int(0))
        case "regclass": return (.reg(.regclass), .int(0))
        case "int2vector": return (.vector(.int2), .array([]))
        case "oidvector": return (.vector(.oid), .array([]))
        case "int2[]": return (.array(.int2), .null)
        case "oid[]": return (.array(.oid), .null)
        case "char[]", "text[]", "name[]": return (.array(.text), .null)
        case "timestamptz": return (.timestamptz, .null)
        default: return (.text, .null)
        }
    }

    func rows(_ view: CatalogView) -> [[Value]] {
        var r = SystemRows(table: self)
        build(view, &r)
        return r.rows
    }
}

/// The rows a system table's builder adds; columns it leaves unset keep their defaults.
struct SystemRows {
    let table: SystemTable
    var rows: [[Value]] = []

    init(table: SystemTable) { self.table = table }

    mutating func add(_ set: (inout SystemRow) -> Void) {
        var row = SystemRow(values: table.defaults, index: table.index)
        set(&row)
        rows.append(row.values)
    }
}

struct SystemRow {
    var values: [Value]
    let index: [String: Int]

    subscript(_ name: String) -> Value {
        get { index[name].map { values[$0] } ?? .null }
        set {
            guard let i = index[name] else {
                assertionFailure("system table has no column \(name)")
                return
            }
            values[i] = newValue
        }
    }
}

extension Value {
    static func oid(_ v: Int64) -> Value { .int(v) }
    static func name(_ s: String) -> Value { .text(s) }
    static func ints(_ xs: [Int]) -> Value { .array(xs.map { .int(Int64($0)) }) }
}

enum SystemTables {
    static let all: [SystemTable] = PGCatalogTables.all + InformationSchemaTables.all
    static let byName: [String: SystemTable] = Dictionary(all.map { ($0.schema + "." + $0.name, $0) }, uniquingKeysWith: { a, _ in a })
    static let byOid: [Int64: SystemTable] = Dictionary(all.map { ($0.oid, $0) }, uniquingKeysWith: { a, _ in a })

    /// The rows of `table` as of `seq` (nil: the reading transaction's catalog), as a set function.
    static func function(_ table: SystemTable, asOf seq: UInt64?) -> SetFunction {
        SetFunction(table.schema + "." + table.name, strict: false, columns: { _ in table.columns }, rows: { ctx, _ in
            AnyIterator(table.rows(CatalogView.reading(ctx, asOf: seq)).makeIterator())
        })
    }

    /// The history columns a catalog relation read FOR SYSTEM_TIME gets (after its own).
    static let historyColumns = Pseudo.allCases.map { ResultColumn(name: $0.name, type: $0.type) }

    /// A catalog relation FOR SYSTEM_TIME: each row as it stood through each version of the
    /// catalog, with the seq and commit times it held from and until (`infinity`: still
    /// does), for the versions whose validity overlaps [lower, upper] (commit times, unix µs).
    static func history(_ table: SystemTable, lower: Int64, upper: Int64, upperInclusive: Bool) -> SetFunction {
        SetFunction(table.schema + "." + table.name, strict: false, columns: { _ in table.columns + historyColumns }, rows: { ctx, _ in
            let engine = ctx.engine
            // Seq 0 is the empty catalog, before any commit.
            func time(_ seq: UInt64) -> Int64 { seq == 0 ? Int64.min : engine.systemTime(seq) }
            func identity(_ row: [Value]) -> String { row.map { $0.pgText ?? "\u{0}" }.joined(separator: "\u{1}") }
            // The rows are held until the last version is read: counted against the
            // statement's memory bound (53200), and the walk over every catalog version
            // stops for a cancel or a statement timeout.
            var out: [[Value]] = []
            func emit(_ row: [Value], _ start: UInt64, _ end: UInt64?, _ op: String) throws {
                let from = time(start), until = end.map(time) ?? Int64.max
                guard upperInclusive ? from <= upper : from < upper, until > lower else { return }
                try ctx.reserve((row.count + 5) * MemoryLayout<Value>.stride, for: "history of \(table.schema).\(table.name)")
                out.append(row + [.int(Int64(start)), .text(op), .timestamptz(PGTime.fromUnix(from)), .timestamptz(PGTime.fromUnix(until))])
            }
            // Rows still standing: their identity, the row, since which seq, how it came.
            var standing: [String: (row: [Value], since: UInt64, op: String)] = [:]
            var order: [String] = []
            for version in engine.catalogVersions() {
                try ctx.interrupt?.check()
                let rows = table.rows(CatalogView(catalog: version.catalog, session: ctx.session, engine: engine))
                let keys = rows.map(identity)
                let present = Set(keys)
                // A row whose first column (its OID or name) stood before is an update of it.
                let formerFirst = Set(standing.values.map { $0.row.first?.pgText ?? "" })
                for key in order where !present.contains(key) {
                    if let s = standing.removeValue(forKey: key) { try emit(s.row, s.since, version.seq, s.op) }
                }
                order = order.filter { present.contains($0) }
                for (key, row) in zip(keys, rows) where standing[key] == nil {
                    standing[key] = (row, version.seq, formerFirst.contains(row.first?.pgText ?? "") ? "update" : "insert")
                    order.append(key)
                }
            }
            for key in order { if let s = standing[key] { try emit(s.row, s.since, nil, s.op) } }
            return AnyIterator(out.makeIterator())
        })
    }
}

/// A column's attributes as pg_attribute and information_schema.columns give them.
struct ColumnFacts {
    let type: SQLType
    let typeOid: Int64
    let typmod: Int32
    let length: Int16
    let collation: Int64

    init(_ t: SQLType) {
        type = t
        typeOid = CatalogView.typeOid(t)
        typmod = CatalogView.typmod(t)
        length = BuiltinType.byOid[typeOid]?.length ?? (typeOid >= Int64(EnumType.oidBase) && typeOid < Int64(EnumType.arrayOidBase) ? 4 : -1)
        switch t.base {
        case .text, .varchar, .bpchar: collation = PGOid.defaultCollation
        case .array(let e) where e.isText: collation = PGOid.defaultCollation
        default: collation = 0
        }
    }
}
