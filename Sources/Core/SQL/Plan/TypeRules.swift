import DriftCore

/// PostgreSQL's type rules, as far as the types here go: names, categories, implicit casts
/// and the common type of a set of expressions (CASE, COALESCE, UNION, VALUES, IN).
enum TypeRules {
    /// Maps a type name as written to a type.
    /// A type by name; `userTypes` finds types made by CREATE TYPE (schema if given, name).
    static func resolve(_ t: TypeName, userTypes: ((String?, String) -> SQLType?)? = nil) throws -> SQLType {
        let name = (t.names.last ?? "").lowercased()
        let mods = t.modifiers.map { Int($0) }
        let base: SQLType
        switch name {
        case "bool", "boolean": base = .bool
        case "int2", "smallint": base = .int2
        case "int4", "int", "integer", "serial", "serial4": base = .int4
        case "int8", "bigint", "bigserial", "serial8": base = .int8
        case "smallserial", "serial2": base = .int2
        case "float4", "real": base = .float4
        case "float8", "double precision": base = .float8
        case "float":
            // float(p): p ≤ 24 is real, up to 53 double precision.
            if let p = mods.first {
                guard p >= 1 else { throw SQLError(.invalidParameterValue, "precision for type float must be at least 1 bit", position: sqlPosition(t.location)) }
                guard p <= 53 else { throw SQLError(.invalidParameterValue, "precision for type float must be less than 54 bits", position: sqlPosition(t.location)) }
                base = p <= 24 ? .float4 : .float8
            } else {
                base = .float8
            }
        case "numeric", "decimal":
            if let p = mods.first {
                guard (1...1000).contains(p) else {
                    throw SQLError(.invalidParameterValue, "NUMERIC precision \(p) must be between 1 and 1000", position: sqlPosition(t.location))
                }
                let s = mods.count > 1 ? mods[1] : 0
                guard (-1000...1000).contains(s) else {
                    throw SQLError(.invalidParameterValue, "NUMERIC scale \(s) must be between -1000 and 1000", position: sqlPosition(t.location))
                }
                guard mods.count <= 2 else {
                    throw SQLError(.invalidParameterValue, "invalid NUMERIC type modifier", position: sqlPosition(t.location))
                }
                base = .decimal(precision: p, scale: s)
            } else {
                base = .numeric
            }
        case "text", "name": base = .text
        case "oid": base = .oid
        case "regclass", "regtype", "regproc", "regnamespace", "regrole": base = .reg(RegKind(rawValue: name) ?? .regclass)
        case "int2vector": base = .vector(.int2)
        case "oidvector": base = .vector(.oid)
        case "varchar", "character varying":
            if let n = mods.first, n < 1 {
                throw SQLError(.invalidParameterValue, "length for type varchar must be at least 1", position: sqlPosition(t.location))
            }
            base = .varchar(mods.first)
        case "bpchar", "char", "character":
            if let n = mods.first, n < 1 {
                throw SQLError(.invalidParameterValue, "length for type char must be at least 1", position: sqlPosition(t.location))
            }
            base = .bpchar(mods.first ?? (t.names.first == "pg_catalog" || name != "bpchar" ? 1 : nil))
        case "bytea": base = .bytea
        case "date": base = .date
        case "timestamp", "timestamptz", "time":
            let plain: SQLType = name == "timestamp" ? .timestamp : name == "timestamptz" ? .timestamptz : .time
            if let p = mods.first {
                guard p >= 0 else {
                    throw SQLError(.invalidParameterValue, "\(name == "time" ? "TIME" : "TIMESTAMP")(\(p))\(name == "timestamptz" ? " WITH TIME ZONE" : "") precision must not be negative",
                                   position: sqlPosition(t.location))
                }
                base = .modified(plain, typmod: Int32(min(p, 6)))
            } else {
                base = plain
            }
        case "interval":
            if mods.isEmpty {
                base = .interval
            } else {
                base = .modified(.interval, typmod: try Interval.typmod(modifiers: mods.map { Int32(clamping: $0) }))
            }
        case "json": base = .json
        case "jsonb": base = .jsonb
        case "uuid": base = .uuid
        case "timetz", "money", "inet", "cidr", "macaddr", "bit", "varbit", "xml", "point",
             "line", "lseg", "box", "path", "polygon", "circle", "tsvector", "tsquery":
            throw SQLError(.featureNotSupported, "type \(name) is not supported yet", position: sqlPosition(t.location))
        default:
            let schema = t.names.count > 1 ? t.names[t.names.count - 2] : nil
            guard let user = userTypes?(schema, t.names.last ?? name) else {
                throw SQLError(.undefinedObject, "type \"\(t.names.last ?? name)\" does not exist", position: sqlPosition(t.location))
            }
            base = user
        }
        return t.arrayDimensions > 0 ? .array(base) : base
    }

    enum Category { case numeric, string, datetime, timespan, bool, bytes, json, array, unknown, other }

    static func category(_ t: SQLType) -> Category {
        switch t {
        case .int2, .int4, .int8, .float4, .float8, .numeric, .decimal, .oid, .reg: return .numeric
        case .text, .varchar, .bpchar: return .string
        case .date, .timestamp, .timestamptz, .time: return .datetime
        case .interval: return .timespan
        case .bool: return .bool
        case .bytea: return .bytes
        case .json, .jsonb: return .json
        case .array, .vector: return .array
        case .unknown: return .unknown
        case .uuid, .enumeration, .record: return .other
        case .modified(let b, _): return category(b)
        }
    }

    /// Rank of a numeric type in PostgreSQL's implicit-cast order.
    static func numericRank(_ t: SQLType) -> Int? {
        switch t {
        case .int2: return 0
        case .int4: return 1
        case .int8, .oid, .reg: return 2
        case .numeric, .decimal: return 3
        case .float4: return 4
        case .float8: return 5
        default: return nil
        }
    }

    enum CastKind: Int, Comparable {
        case implicit, assignment, explicit

        static func < (a: CastKind, b: CastKind) -> Bool { a.rawValue < b.rawValue }
    }

    /// The context a cast from `from` to `to` is allowed in (PostgreSQL's pg_cast), nil if none.
    static func castKind(_ from: SQLType, to: SQLType) -> CastKind? {
        if case .modified = from { return castKind(from.base, to: to) }
        if case .modified(let b, _) = to { return b == from ? .implicit : castKind(from, to: b) }
        if from == to || from == .unknown { return .implicit }
        if let a = numericRank(from), let b = numericRank(to) {
            if a <= b { return .implicit }
            // numeric → float is implicit; everything else narrower is an assignment cast.
            if from.isNumeric && to.isFloat { return .implicit }
            if from.isNumeric && to.isNumeric { return .implicit }
            return .assignment
        }
        switch (category(from), category(to)) {
        case (.string, .string): return .implicit
        case (_, .string): return .assignment
        case (.string, _): return .explicit
        case (.datetime, .datetime):
            switch (from, to) {
            case (.date, .timestamp), (.date, .timestamptz), (.timestamp, .timestamptz): return .implicit
            case (.timestamptz, .timestamp), (.timestamp, .date), (.timestamptz, .date): return .assignment
            case (.timestamp, .time), (.timestamptz, .time): return .assignment
            default: return nil
            }
        case (.timespan, .datetime): return to == .time ? .assignment : nil
        case (.datetime, .timespan): return from == .time ? .implicit : nil
        case (.json, .json): return .assignment
        case (.json, .numeric), (.json, .bool): return from == .jsonb ? .explicit : nil
        case (.bool, .numeric): return to == .int4 ? .explicit : nil
        case (.numeric, .bool): return from == .int4 ? .explicit : nil
        case (.array, .array):
            if case .vector(let a) = from, case .array(let b) = to, let k = castKind(a, to: b) { return k }
            if case .array(let a) = from, case .vector(let b) = to, let k = castKind(a, to: b) { return max(k, .assignment) }
            guard case .array(let a) = from, case .array(let b) = to, let k = castKind(a, to: b) else { return nil }
            return k
        default:
            return nil
        }
    }

    /// Whether a value of `from` may be used where `to` is expected without an explicit cast.
    static func implicitlyCastable(_ from: SQLType, to: SQLType) -> Bool {
        castKind(from, to: to) == .implicit
    }

    /// The type a set of expressions resolves to (PostgreSQL's select_common_type).
    static func common(_ types: [SQLType], context: String, location: Int?) throws -> SQLType {
        let known = types.filter { $0 != .unknown }
        guard var result = known.first else { return .text }
        for t in known.dropFirst() where t != result {
            if let a = numericRank(result), let b = numericRank(t) {
                result = a >= b ? result : t
                if result.isNumeric && t.isNumeric { result = .numeric }
                continue
            }
            switch (category(result), category(t)) {
            case (.string, .string):
                result = .text
            case (.datetime, .datetime):
                let rank: (SQLType) -> Int = { $0 == .date ? 0 : $0 == .timestamp ? 1 : $0 == .timestamptz ? 2 : 9 }
                guard rank(result) < 9, rank(t) < 9 else { fallthrough }
                result = rank(result) >= rank(t) ? result : t
            case (.json, .json) where result != t:
                fallthrough
            default:
                if case .array(let a) = result, case .array(let b) = t, let c = try? common([a, b], context: context, location: location) {
                    result = .array(c)
                    continue
                }
                throw SQLError(.datatypeMismatch, "\(context) types \(result.name) and \(t.name) cannot be matched",
                               position: sqlPosition(location))
            }
        }
        return result
    }

    /// The result type of `a op b` for arithmetic over numbers (PostgreSQL's numeric tower).
    static func arithmeticResult(_ a: SQLType, _ b: SQLType) -> SQLType? {
        guard let x = numericRank(a), let y = numericRank(b) else { return nil }
        // float4 with float4 stays float4; float4 with anything else is float8 (PostgreSQL has no
        // float4 operators for mixed operands). Otherwise the widest wins; int2 op int2 is int2.
        if a == .float4 || b == .float4 { return a == b ? .float4 : .float8 }
        let r = max(x, y)
        if r == 3 { return .numeric }
        return [SQLType.int2, .int4, .int8, .numeric, .float4, .float8][r]
    }
}
