import DriftCore
import DriftStorage

/// The catalog as PostgreSQL clients read it: OIDs for the objects of a `Catalog`, names
/// for OIDs, and the texts clients parse (`format_type`, `pg_get_constraintdef`,
/// `pg_get_indexdef`). The `pg_catalog` and `information_schema` relations
/// (`SystemTables`) and the catalog functions (`CatalogFunctions`) are built on it.
///
/// OIDs are derived from catalog ids, so the same object keeps its OID in every statement
/// and as of every seq: tables, views, sequences (one id space) at 16384 + id, indexes at
/// `indexBase` + id, a table's constraints at `constraintBase` + 1024 × table id + a slot,
/// schemas at a hash of the name (PostgreSQL's own numbers for pg_catalog, public and
/// information_schema), enum types at `EnumType.oidBase` + id.
enum PGOid {
    static let firstUser: Int64 = 16384
    static let indexBase: Int64 = 0x2000_0000
    static let constraintBase: Int64 = 0x3000_0000
    static let enumLabelBase: Int64 = 0x0800_0000
    static let pgCatalogNamespace: Int64 = 11
    static let publicNamespace: Int64 = 2200
    static let informationSchemaNamespace: Int64 = 13000
    static let toastNamespace: Int64 = 99
    static let bootstrapRole: Int64 = 10
    static let database: Int64 = 16383
    static let heapAM: Int64 = 2
    static let btreeAM: Int64 = 403
    static let defaultCollation: Int64 = 100
    static let pgClass: Int64 = 1259
    static let pgConstraint: Int64 = 2606
    static let pgNamespace: Int64 = 2615
    static let pgType: Int64 = 1247

    static func relation(_ id: UInt32) -> Int64 { firstUser + Int64(id) }
    static func index(_ id: UInt32) -> Int64 { indexBase + Int64(id) }
    static func constraint(table: UInt32, slot: Int) -> Int64 { constraintBase + Int64(table) * 1024 + Int64(slot) }

    /// A schema's OID: PostgreSQL's for its own three, otherwise a stable hash of the name.
    static func namespace(_ name: String) -> Int64 {
        switch name {
        case "pg_catalog": return pgCatalogNamespace
        case "public": return publicNamespace
        case "information_schema": return informationSchemaNamespace
        case "pg_toast": return toastNamespace
        default:
            var h: UInt32 = 2_166_136_261
            for b in name.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
            return 0x1000_0000 + Int64(h & 0x0FFF_FFFF)
        }
    }
}

/// A built-in type as pg_type lists it.
struct BuiltinType {
    let oid: Int64
    let name: String
    let length: Int16
    let byValue: Bool
    let category: String
    let preferred: Bool
    let arrayOid: Int64
    let elementOid: Int64
    /// 'b' base, 'p' pseudo.
    let kind: String
    let type: SQLType?

    static let all: [BuiltinType] = {
        func b(_ oid: Int64, _ name: String, _ len: Int16, _ cat: String, _ arr: Int64, _ type: SQLType?, preferred: Bool = false,
               elem: Int64 = 0) -> BuiltinType {
            BuiltinType(oid: oid, name: name, length: len, byValue: len > 0 && len <= 8, category: cat, preferred: preferred,
                        arrayOid: arr, elementOid: elem, kind: "b", type: type)
        }
        func p(_ oid: Int64, _ name: String, _ arr: Int64 = 0) -> BuiltinType {
            BuiltinType(oid: oid, name: name, length: name == "void" ? 4 : -1, byValue: name == "void", category: "P", preferred: false,
                        arrayOid: arr, elementOid: 0, kind: "p", type: nil)
        }
        var base: [BuiltinType] = [
            b(16, "bool", 1, "B", 1000, .bool, preferred: true), b(17, "bytea", -1, "U", 1001, .bytea),
            b(18, "char", 1, "Z", 1002, nil), b(19, "name", 64, "S", 1003, nil, elem: 18),
            b(20, "int8", 8, "N", 1016, .int8), b(21, "int2", 2, "N", 1005, .int2),
            b(22, "int2vector", -1, "A", 1006, .vector(.int2), elem: 21), b(23, "int4", 4, "N", 1007, .int4),
            b(24, "regproc", 4, "N", 1008, .reg(.regproc)), b(25, "text", -1, "S", 1009, .text, preferred: true),
            b(26, "oid", 4, "N", 1028, .oid, preferred: true), b(30, "oidvector", -1, "A", 1013, .vector(.oid), elem: 26),
            b(114, "json", -1, "U", 199, .json), b(700, "float4", 4, "N", 1021, .float4),
            b(701, "float8", 8, "N", 1022, .float8, preferred: true),
            BuiltinType(oid: 705, name: "unknown", length: -2, byValue: false, category: "X", preferred: false, arrayOid: 0,
                        elementOid: 0, kind: "p", type: nil),
            b(1042, "bpchar", -1, "S", 1014, .bpchar(nil)), b(1043, "varchar", -1, "S", 1015, .varchar(nil)),
            b(1082, "date", 4, "D", 1182, .date), b(1083, "time", 8, "D", 1183, .time),
            b(1114, "timestamp", 8, "D", 1115, .timestamp), b(1184, "timestamptz", 8, "D", 1185, .timestamptz, preferred: true),
            b(1186, "interval", 16, "T", 1187, .interval, preferred: true), b(1700, "numeric", -1, "N", 1231, .numeric),
            b(2205, "regclass", 4, "N", 2210, .reg(.regclass)), b(2206, "regtype", 4, "N", 2211, .reg(.regtype)),
            b(2950, "uuid", 16, "U", 2951, .uuid), b(3802, "jsonb", -1, "U", 3807, .jsonb),
            b(4089, "regnamespace", 4, "N", 4090, .reg(.regnamespace)), b(4096, "regrole", 4, "N", 4097, .reg(.regrole)),
            p(2249, "record", 2287), p(2275, "cstring", 1263), p(2276, "any"), p(2277, "anyarray"), p(2278, "void"),
            p(2279, "trigger"), p(2281, "internal"), p(2283, "anyelement"),
        ]
        // The 16-byte values: by reference in PostgreSQL.
        base = base.map { t in
            t.length == 16 ? BuiltinType(oid: t.oid, name: t.name, length: t.length, byValue: false, category: t.category,
                                         preferred: t.preferred, arrayOid: t.arrayOid, elementOid: t.elementOid, kind: t.kind, type: t.type) : t
        }
        var arrays: [BuiltinType] = []
        for t in base where t.arrayOid != 0 {
            arrays.append(BuiltinType(oid: t.arrayOid, name: "_" + t.name, length: -1, byValue: false, category: "A", preferred: false,
                                      arrayOid: 0, elementOid: t.oid, kind: t.kind, type: t.type.map { .array($0) }))
        }
        return base + arrays
    }()

    static let byOid: [Int64: BuiltinType] = Dictionary(all.map { ($0.oid, $0) }, uniquingKeysWith: { a, _ in a })
    static let byName: [String: BuiltinType] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

    /// SQL-standard names format_type prints (without a type modifier).
    static let sqlNames: [String: String] = [
        "bool": "boolean", "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
        "float8": "double precision", "varchar": "character varying", "bpchar": "character", "time": "time without time zone",
        "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone", "char": "\"char\"",
    ]
}

/// A relation as pg_class lists it.
struct PGRelation {
    enum Object {
        case table(TableDef)
        case view(ViewDef)
        case sequence(SequenceDef)
        case index(IndexDef, of: TableDef)
        case system(SystemTable)
    }

    let oid: Int64
    let schema: String
    let name: String
    let object: Object

    var kind: String {
        switch object {
        case .table: return "r"
        case .view: return "v"
        case .sequence: return "S"
        case .index: return "i"
        case .system(let s): return s.isView ? "v" : "r"
        }
    }
}

/// A constraint as pg_constraint lists it.
struct PGConstraint {
    let oid: Int64
    let name: String
    /// p, u, f or c.
    let type: String
    let table: TableDef
    /// Column positions in `table`.
    let columns: [Int]
    /// The index it is (p, u) or the referenced key's index (f).
    let indexOid: Int64
    let foreignKey: ForeignKeyDef?
    let check: String?
}

/// One catalog, seen from one session: the search path decides what is visible and how
/// names print.
struct CatalogView {
    let catalog: Catalog
    /// The session's schemas in search order, pg_catalog included where PostgreSQL puts it.
    let path: [String]
    let userName: String
    let databaseName: String
    let engine: Engine
    weak var session: Session?
    /// A view's column types (its query bound in the reading transaction).
    var viewTypes: ((ViewDef) -> [SQLType]?)?

    init(catalog: Catalog, session: Session?, engine: Engine) {
        self.catalog = catalog
        self.engine = engine
        self.session = session
        userName = session?.userName ?? "driftdb"
        databaseName = session?.databaseName ?? "driftdb"
        var p = session?.searchPath(in: catalog) ?? ["public"]
        if !p.contains("pg_catalog") {
            // pg_catalog is searched first unless the path names it (after pg_temp).
            let at = p.first == TemporaryTables.schema ? 1 : 0
            p.insert("pg_catalog", at: at)
        }
        path = p
    }

    /// Every role by name; a session user that is no role (trusted without the auth plugin)
    /// shows as the bootstrap superuser it acts as.
    var roles: [RoleDef] {
        var all = catalog.roles.values.sorted { $0.name < $1.name }
        if catalog.role(named: userName) == nil && catalog.roles[Catalog.bootstrapRoleId] == nil {
            var me = RoleDef(id: 0, name: userName)
            (me.superuser, me.createRole, me.createDB, me.login, me.replication, me.bypassRLS) = (true, true, true, true, true, true)
            all.insert(me, at: 0)
        }
        return all
    }

    /// A role's OID: the bootstrap role's for the trusted session user.
    func roleOid(_ role: RoleDef) -> Int64 { roleOid(id: role.id) }

    func roleOid(id: UInt32) -> Int64 { id == Catalog.bootstrapRoleId ? PGOid.bootstrapRole : Int64(RoleDef.oidBase &+ id) }

    /// The bootstrap superuser's name: its role's, or the trusted session user's when no role
    /// has its id (a server without the auth plugin).
    var bootstrapName: String { catalog.roles[Catalog.bootstrapRoleId]?.name ?? userName }

    func roleName(id: UInt32) -> String {
        id == Catalog.bootstrapRoleId ? bootstrapName : catalog.roles[id]?.name ?? "unknown (OID=\(roleOid(id: id)))"
    }

    /// The role an OID names, if any.
    func role(oid: Int64) -> RoleDef? {
        if oid == PGOid.bootstrapRole { return roles.first { $0.id == Catalog.bootstrapRoleId } }
        guard oid > Int64(RoleDef.oidBase), oid <= Int64(RoleDef.oidBase) + Int64(UInt32.max - RoleDef.oidBase) else { return nil }
        return catalog.roles[UInt32(oid - Int64(RoleDef.oidBase))]
    }

    /// The privilege object a pg_class row stands for (an index: its table's).
    func privilegeObject(_ rel: PGRelation) -> PrivilegeObject? {
        switch rel.object {
        case .table(let t), .index(_, of: let t): return .relation(t.id)
        case .view(let v): return .relation(v.id)
        case .sequence(let s): return .relation(s.id)
        case .system: return nil
        }
    }

    func ownerOid(_ object: PrivilegeObject?) -> Int64 {
        object.map { roleOid(id: catalog.objectACL($0).owner) } ?? PGOid.bootstrapRole
    }

    func ownerName(_ object: PrivilegeObject) -> String { roleName(id: catalog.objectACL(object).owner) }

    /// An object's access list as `aclitem[]` text (NULL: the default).
    func aclValue(_ object: PrivilegeObject?) -> Value {
        guard let object, let items = catalog.aclText(object, roleName: roleName(id:)) else { return .null }
        return .array(items.map { .text($0) })
    }

    /// The view a statement reads: its transaction's catalog, or the catalog as of `seq`.
    static func reading(_ ctx: ExecContext, asOf seq: UInt64?) -> CatalogView {
        var v = CatalogView(catalog: seq.map { ctx.engine.catalog(at: $0) } ?? ctx.txn.catalog, session: ctx.session, engine: ctx.engine)
        v.viewTypes = { [weak ctx] view in
            guard let ctx else { return nil }
            let b = Binder(engine: ctx.engine, txn: ctx.txn, session: ctx.session)
            // A view's column types are the same whoever asks.
            b.checksRights = false
            return (try? b.bindView(view, asOf: seq))?.columns.map(\.type)
        }
        return v
    }

    // MARK: Schemas

    var schemas: [String] {
        var s = catalog.schemas
        s.insert("pg_catalog")
        s.insert("information_schema")
        s.insert("pg_toast")
        return s.sorted()
    }

    func schema(oid: Int64) -> String? { schemas.first { PGOid.namespace($0) == oid } }

    // MARK: Relations

    /// Every relation, user and system, in OID order.
    var relations: [PGRelation] {
        var out: [PGRelation] = []
        for s in SystemTables.all { out.append(PGRelation(oid: s.oid, schema: s.schema, name: s.name, object: .system(s))) }
        for t in catalog.tables.values {
            out.append(PGRelation(oid: PGOid.relation(t.id), schema: t.schema, name: t.name, object: .table(t)))
            for i in t.indexes {
                out.append(PGRelation(oid: PGOid.index(i.id), schema: t.schema, name: i.name, object: .index(i, of: t)))
            }
        }
        for v in catalog.views.values { out.append(PGRelation(oid: PGOid.relation(v.id), schema: v.schema, name: v.name, object: .view(v))) }
        for s in catalog.sequences.values {
            out.append(PGRelation(oid: PGOid.relation(s.id), schema: s.schema, name: s.name, object: .sequence(s)))
        }
        return out.sorted { $0.oid < $1.oid }
    }

    func relation(oid: Int64) -> PGRelation? {
        if oid >= PGOid.indexBase && oid < PGOid.constraintBase {
            let id = UInt32(truncatingIfNeeded: oid - PGOid.indexBase)
            for t in catalog.tables.values {
                if let i = t.indexes.first(where: { $0.id == id }) { return PGRelation(oid: oid, schema: t.schema, name: i.name, object: .index(i, of: t)) }
            }
            return nil
        }
        if oid >= PGOid.firstUser && oid < PGOid.indexBase {
            let id = UInt32(truncatingIfNeeded: oid - PGOid.firstUser)
            if let t = catalog.tables[id] { return PGRelation(oid: oid, schema: t.schema, name: t.name, object: .table(t)) }
            if let v = catalog.views[id] { return PGRelation(oid: oid, schema: v.schema, name: v.name, object: .view(v)) }
            if let s = catalog.sequences[id] { return PGRelation(oid: oid, schema: s.schema, name: s.name, object: .sequence(s)) }
            return nil
        }
        return SystemTables.byOid[oid].map { PGRelation(oid: oid, schema: $0.schema, name: $0.name, object: .system($0)) }
    }

    /// A relation by schema and name (indexes included: they share the namespace).
    func relation(schema: String, name: String) -> PGRelation? {
        if let t = catalog.table(schema: schema, name) { return PGRelation(oid: PGOid.relation(t.id), schema: schema, name: name, object: .table(t)) }
        if let v = catalog.view(schema: schema, name) { return PGRelation(oid: PGOid.relation(v.id), schema: schema, name: name, object: .view(v)) }
        if let s = catalog.sequence(schema: schema, name) {
            return PGRelation(oid: PGOid.relation(s.id), schema: schema, name: name, object: .sequence(s))
        }
        if let (t, i) = catalog.index(schema: schema, named: name) {
            return PGRelation(oid: PGOid.index(i.id), schema: schema, name: name, object: .index(i, of: t))
        }
        if let s = SystemTables.byName[schema + "." + name] { return PGRelation(oid: s.oid, schema: schema, name: name, object: .system(s)) }
        return nil
    }

    /// A relation name as written (`name`, `schema.name`, quoted parts), found on the path.
    func relation(named text: String) throws -> PGRelation? {
        let parts = try CatalogView.nameParts(text)
        if parts.count == 2 { return relation(schema: parts[0], name: parts[1]) }
        if parts.count == 3 {
            guard parts[0] == databaseName else {
                throw SQLError(.featureNotSupported, "cross-database references are not implemented: \(text)")
            }
            return relation(schema: parts[1], name: parts[2])
        }
        for s in path { if let r = relation(schema: s, name: parts[0]) { return r } }
        return nil
    }

    /// Whether `r` is the relation its bare name finds.
    func isVisible(_ r: PGRelation) -> Bool {
        for s in path {
            if let found = relation(schema: s, name: r.name) { return found.oid == r.oid }
        }
        return false
    }

    /// A relation's name as regclass prints it: qualified when its bare name finds another.
    func displayName(_ r: PGRelation) -> String {
        isVisible(r) ? Deparser.ident(r.name) : Deparser.ident(r.schema) + "." + Deparser.ident(r.name)
    }

    func tableName(_ t: TableDef) -> String {
        displayName(PGRelation(oid: PGOid.relation(t.id), schema: t.schema, name: t.name, object: .table(t)))
    }

    /// Splits `a.b`, `"A"."b c"` into its parts (unquoted parts folded to lower case).
    static func nameParts(_ text: String) throws -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var wasQuoted = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { current.unicodeScalars.append(c); chars = chars.dropFirst() } else { quoted = false }
                } else {
                    current.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
                wasQuoted = true
            } else if c == "." {
                parts.append(current)
                current = ""
                wasQuoted = false
            } else {
                current += wasQuoted ? String(c) : String(c).lowercased()
            }
        }
        parts.append(current)
        guard !quoted, !parts.contains(where: \.isEmpty), parts.count <= 3 else {
            throw SQLError(.invalidName, "invalid name syntax")
        }
        return parts
    }

    // MARK: Types

    /// The pg_type OID of a column or expression type.
    static func typeOid(_ t: SQLType) -> Int64 {
        if case .enumeration(let e) = t.base { return Int64(EnumType.oidBase) + Int64(e.id) }
        if case .array(let el) = t.base, case .enumeration(let e) = el.base { return Int64(EnumType.arrayOidBase) + Int64(e.id) }
        return Int64(t.oid)
    }

    /// A type's typmod as pg_attribute keeps it (-1 for none).
    static func typmod(_ t: SQLType) -> Int32 {
        switch t {
        case .varchar(let n?), .bpchar(let n?): return Int32(n) + 4
        case .decimal(let p, let s): return Int32((p << 16) | (s & 0x7FF)) + 4  // PostgreSQL 15's numeric typmod (scale in 11 bits)
        case .modified(_, let typmod): return typmod
        case .array(let e): return typmod(e)
        default: return -1
        }
    }

    func enumType(oid: Int64) -> EnumType? {
        let id = oid - Int64(EnumType.oidBase)
        guard id >= 0, id < Int64(UInt32.max) else { return nil }
        return catalog.enums[UInt32(id)]
    }

    /// format_type: the SQL name of a type OID with a typmod (nil typmod: as format_type(oid, NULL)).
    func formatType(_ oid: Int64, _ typmod: Int32?) -> String {
        if oid == 0 { return "-" }
        if let e = enumType(oid: oid) { return typeDisplayName(e) }
        let arrayEnum = oid - Int64(EnumType.arrayOidBase)
        if arrayEnum >= 0, arrayEnum < Int64(UInt32.max), let e = catalog.enums[UInt32(arrayEnum)] { return typeDisplayName(e) + "[]" }
        guard let b = BuiltinType.byOid[oid] else { return "???" }
        if b.category == "A", b.elementOid != 0, b.name.hasPrefix("_") {
            return formatType(b.elementOid, typmod) + "[]"
        }
        let mod = typmod ?? -1
        switch b.name {
        case "varchar":
            return mod >= 4 ? "character varying(\(mod - 4))" : "character varying"
        case "bpchar":
            // PostgreSQL: "character" without a typmod, "bpchar" with -1, character(n) with one.
            if typmod == nil { return "character" }
            return mod >= 4 ? "character(\(mod - 4))" : "bpchar"
        case "numeric":
            guard mod >= 4 else { return "numeric" }
            let v = mod - 4
            return "numeric(\((v >> 16) & 0xFFFF),\(((v & 0x7FF) ^ 1024) - 1024))"
        case "timestamp", "timestamptz", "time":
            let suffix = b.name == "timestamptz" ? " with time zone" : " without time zone"
            let word = b.name == "time" ? "time" : "timestamp"
            return mod >= 0 ? "\(word)(\(mod))\(suffix)" : word + suffix
        case "interval":
            return mod >= 0 ? "interval" + Interval.typmodText(mod) : "interval"
        default:
            return BuiltinType.sqlNames[b.name] ?? b.name
        }
    }

    /// An enum type's name, qualified unless its bare name finds it on the path.
    func typeDisplayName(_ e: EnumType) -> String {
        let oid = Int64(EnumType.oidBase) + Int64(e.id)
        return typeIsVisible(oid) ? Deparser.ident(e.name) : Deparser.ident(e.schema) + "." + Deparser.ident(e.name)
    }

    /// A type by name as regtype reads it.
    func typeOid(named text: String) throws -> Int64? {
        var t = text.trimming().lowercased()
        var array = false
        if t.hasSuffix("[]") { t.removeLast(2); array = true }
        let aliases: [String: String] = [
            "boolean": "bool", "smallint": "int2", "integer": "int4", "int": "int4", "bigint": "int8", "real": "float4",
            "double precision": "float8", "character varying": "varchar", "character": "bpchar", "char": "bpchar",
            "\"char\"": "char", "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
            "time without time zone": "time", "decimal": "numeric",
        ]
        var name = t
        if name.hasPrefix("pg_catalog.") { name.removeFirst("pg_catalog.".count) }
        name = aliases[name] ?? name
        if let b = BuiltinType.byName[name] { return array ? (b.arrayOid == 0 ? nil : b.arrayOid) : b.oid }
        let parts = try CatalogView.nameParts(text.trimming().hasSuffix("[]") ? String(text.trimming().dropLast(2)) : text.trimming())
        let found: EnumType?
        if parts.count == 2 { found = catalog.enumType(schema: parts[0], parts[1]) } else {
            found = path.lazy.compactMap { catalog.enumType(schema: $0, parts[0]) }.first
        }
        guard let e = found else { return nil }
        return Int64(array ? EnumType.arrayOidBase : EnumType.oidBase) + Int64(e.id)
    }

    func typeIsVisible(_ oid: Int64) -> Bool {
        if let e = enumType(oid: oid) { return path.first(where: { catalog.enumType(schema: $0, e.name) != nil }) == e.schema }
        return BuiltinType.byOid[oid] != nil
    }

    // MARK: Constraints and indexes

    /// Whether a unique index was made by a UNIQUE constraint (not CREATE UNIQUE INDEX).
    static func isConstraintIndex(_ t: TableDef, _ i: IndexDef) -> Bool {
        t.options["drift.unique_constraint.\(i.id)"] != nil
    }

    func primaryKeyIndex(_ t: TableDef) -> IndexDef? { t.indexes.first { t.isPrimaryKeyIndex($0) } }

    /// The index that serves as `t`'s key over `columns` (its primary key's, or a unique one).
    func keyIndex(_ t: TableDef, columns: [Int]) -> IndexDef? {
        if t.primaryKey == columns, let pk = primaryKeyIndex(t) { return pk }
        return t.indexes.first { $0.unique && $0.columns == columns }
    }

    func constraints(of t: TableDef) -> [PGConstraint] {
        var out: [PGConstraint] = []
        if !t.primaryKey.isEmpty {
            out.append(PGConstraint(oid: PGOid.constraint(table: t.id, slot: 0), name: t.primaryKeyName, type: "p", table: t,
                                    columns: t.primaryKey, indexOid: primaryKeyIndex(t).map { PGOid.index($0.id) } ?? 0,
                                    foreignKey: nil, check: nil))
        }
        for (k, i) in t.indexes.enumerated() where i.unique && CatalogView.isConstraintIndex(t, i) {
            out.append(PGConstraint(oid: PGOid.constraint(table: t.id, slot: 1 + k), name: i.name, type: "u", table: t, columns: i.columns,
                                    indexOid: PGOid.index(i.id), foreignKey: nil, check: nil))
        }
        for (k, c) in t.constraints.enumerated() {
            let oid = PGOid.constraint(table: t.id, slot: 512 + k)
            switch c {
            case let .check(name, sql):
                out.append(PGConstraint(oid: oid, name: name, type: "c", table: t, columns: CatalogView.columnsNamed(in: sql, t),
                                        indexOid: 0, foreignKey: nil, check: sql))
            case .foreignKey(let fk):
                let index = catalog.table(id: fk.refTable).flatMap { keyIndex($0, columns: fk.refColumns) }
                out.append(PGConstraint(oid: oid, name: fk.name, type: "f", table: t, columns: fk.columns,
                                        indexOid: index.map { PGOid.index($0.id) } ?? 0, foreignKey: fk, check: nil))
            }
        }
        return out
    }

    /// Every constraint of every table.
    var allConstraints: [PGConstraint] {
        catalog.tables.keys.sorted().compactMap { catalog.tables[$0] }.flatMap { constraints(of: $0) }
    }

    func constraint(oid: Int64) -> PGConstraint? {
        guard oid >= PGOid.constraintBase else { return nil }
        let table = UInt32(truncatingIfNeeded: (oid - PGOid.constraintBase) / 1024)
        guard let t = catalog.tables[table] else { return nil }
        return constraints(of: t).first { $0.oid == oid }
    }

    /// The columns of `t` an expression's text names (a CHECK's conkey).
    static func columnsNamed(in sql: String, _ t: TableDef) -> [Int] {
        var words = Set<String>()
        var current = ""
        var inString = false
        for c in sql {
            if c == "'" { inString.toggle() }
            if !inString, c.isLetter || c.isNumber || c == "_" || c == "\"" {
                if c != "\"" { current.append(c) }
            } else {
                if !current.isEmpty { words.insert(current) }
                current = ""
            }
        }
        if !current.isEmpty { words.insert(current) }
        return t.visibleColumns.filter { words.contains(t.columns[$0].name) }
    }

    func columnList(_ t: TableDef, _ positions: [Int]) -> String {
        positions.map { $0 < t.columns.count ? Deparser.ident(t.columns[$0].name) : "?" }.joined(separator: ", ")
    }

    /// pg_get_constraintdef's text.
    func constraintDefinition(_ c: PGConstraint) -> String {
        switch c.type {
        case "p": return "PRIMARY KEY (\(columnList(c.table, c.columns)))"
        case "u": return "UNIQUE (\(columnList(c.table, c.columns)))"
        case "c": return "CHECK (\(c.check ?? ""))"
        default:
            guard let fk = c.foreignKey else { return "" }
            let ref = catalog.table(id: fk.refTable)
            var s = "FOREIGN KEY (\(columnList(c.table, fk.columns))) REFERENCES "
            s += ref.map { tableName($0) + "(" + columnList($0, fk.refColumns) + ")" } ?? "?"
            if fk.matchFull { s += " MATCH FULL" }
            if fk.onUpdate != .noAction { s += " ON UPDATE " + fk.onUpdate.sql }
            if fk.onDelete != .noAction { s += " ON DELETE " + fk.onDelete.sql }
            return s
        }
    }

    /// pg_get_indexdef's text: the whole statement (column 0) or one column's.
    func indexDefinition(_ i: IndexDef, of t: TableDef, column: Int) -> String? {
        if column > 0 {
            guard column <= i.columns.count else { return nil }
            let p = i.columns[column - 1]
            return p < t.columns.count ? Deparser.ident(t.columns[p].name) : nil
        }
        let unique = i.unique || t.isPrimaryKeyIndex(i)
        return "CREATE \(unique ? "UNIQUE " : "")INDEX \(Deparser.ident(i.name)) ON \(Deparser.ident(t.schema)).\(Deparser.ident(t.name)) USING btree (\(columnList(t, i.columns)))"
    }

    /// The comment on a table (`column` 0) or one of its columns.
    func comment(_ t: TableDef, column: Int) -> String? {
        column == 0 ? t.options["drift.comment"] : t.options["drift.comment.\(column - 1)"]
    }

    /// The sequence a column owns (SERIAL, identity).
    func ownedSequence(_ t: TableDef, column: Int) -> SequenceDef? {
        catalog.sequences.values.first { $0.ownedBy?.table == t.id && $0.ownedBy?.column == column }
    }

    // MARK: regclass and friends

    /// A reg* value's text: the object's name (the number when there is none).
    func regText(_ oid: Int64, _ kind: RegKind) -> String {
        if oid == 0 { return "-" }
        switch kind {
        case .regclass: return relation(oid: oid).map(displayName) ?? String(oid)
        case .regtype: return (BuiltinType.byOid[oid] != nil || enumType(oid: oid) != nil) ? formatType(oid, nil) : String(oid)
        case .regnamespace: return schema(oid: oid).map(Deparser.ident) ?? String(oid)
        case .regrole: return role(oid: oid).map { Deparser.ident($0.name) } ?? String(oid)
        case .regproc: return CatalogView.procedures.first { $0.oid == oid }?.name ?? String(oid)
        }
    }

    /// A name read as a reg* value (regclass: 42P01 when there is no such relation).
    func regValue(_ text: String, _ kind: RegKind) throws -> Int64 {
        if let n = Int64(text.trimming()) {
            // A number is the OID itself (oid's input: 32 bits, a negative one wraps).
            return try Coercion.oidInput(String(n))
        }
        if text.trimming() == "-" { return 0 }
        switch kind {
        case .regclass:
            guard let r = try relation(named: text) else {
                throw SQLError(.undefinedTable, "relation \"\(text)\" does not exist")
            }
            return r.oid
        case .regtype:
            guard let oid = try typeOid(named: text) else { throw SQLError(.undefinedObject, "type \"\(text)\" does not exist") }
            return oid
        case .regnamespace:
            let name = try CatalogView.nameParts(text)
            guard name.count == 1, schemas.contains(name[0]) else { throw SQLError(SQLState("3F000"), "schema \"\(text)\" does not exist") }
            return PGOid.namespace(name[0])
        case .regrole:
            let name = try CatalogView.nameParts(text)
            guard name.count == 1, let r = roles.first(where: { $0.name == name[0] }) else {
                throw SQLError(.undefinedObject, "role \"\(text)\" does not exist")
            }
            return roleOid(r)
        case .regproc:
            var name = try CatalogView.nameParts(text)
            if name.count == 2, name[0] == "pg_catalog" { name.removeFirst() }
            guard name.count == 1, let p = CatalogView.procedures.first(where: { $0.name == name[0] }) else {
                throw SQLError(.undefinedFunction, "function \"\(text)\" does not exist")
            }
            return p.oid
        }
    }

    /// The procedures the catalog names by OID (the array type I/O functions pg_type points at).
    static let procedures: [(oid: Int64, name: String)] = [
        (750, "array_in"), (751, "array_out"), (2400, "array_recv"), (2401, "array_send"),
    ]
}
