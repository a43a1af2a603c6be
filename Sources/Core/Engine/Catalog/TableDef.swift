import DriftStorage

public struct ColumnDef: Sendable, Hashable {
    public var name: String
    public var type: SQLType
    public var notNull: Bool
    /// The DEFAULT expression's SQL text, evaluated by the SQL layer on insert.
    public var defaultSQL: String?
    /// What rows written before this column existed read as (NULL, or ADD COLUMN's constant default).
    public var missingValue: Value
    public var isDropped: Bool

    public init(name: String, type: SQLType, notNull: Bool = false, defaultSQL: String? = nil,
                missingValue: Value = .null, isDropped: Bool = false) {
        self.name = name
        self.type = type
        self.notNull = notNull
        self.defaultSQL = defaultSQL
        self.missingValue = missingValue
        self.isDropped = isDropped
    }
}

public struct IndexDef: Sendable, Hashable {
    public var id: UInt32
    public var name: String
    /// Column positions, in key order.
    public var columns: [Int]
    public var unique: Bool

    public init(id: UInt32, name: String, columns: [Int], unique: Bool) {
        self.id = id
        self.name = name
        self.columns = columns
        self.unique = unique
    }
}

/// A referential action of a foreign key.
public enum ForeignKeyAction: UInt8, Sendable, Hashable {
    case noAction = 0, restrict, cascade, setNull, setDefault

    public var sql: String {
        switch self {
        case .noAction: return "NO ACTION"
        case .restrict: return "RESTRICT"
        case .cascade: return "CASCADE"
        case .setNull: return "SET NULL"
        case .setDefault: return "SET DEFAULT"
        }
    }
}

public struct ForeignKeyDef: Sendable, Hashable {
    public var name: String
    /// Referencing column positions (in this table).
    public var columns: [Int]
    public var refTable: UInt32
    /// Referenced column positions (a primary key or unique index of `refTable`).
    public var refColumns: [Int]
    public var onDelete: ForeignKeyAction
    public var onUpdate: ForeignKeyAction
    public var matchFull: Bool

    public init(name: String, columns: [Int], refTable: UInt32, refColumns: [Int], onDelete: ForeignKeyAction,
                onUpdate: ForeignKeyAction, matchFull: Bool) {
        self.name = name
        self.columns = columns
        self.refTable = refTable
        self.refColumns = refColumns
        self.onDelete = onDelete
        self.onUpdate = onUpdate
        self.matchFull = matchFull
    }
}

/// A constraint beyond NOT NULL, the primary key and unique indexes.
public enum TableConstraint: Sendable, Hashable {
    /// CHECK: the expression's SQL text, evaluated by the SQL layer on every write.
    case check(name: String, sql: String)
    case foreignKey(ForeignKeyDef)

    public var name: String {
        switch self {
        case .check(let n, _): return n
        case .foreignKey(let f): return f.name
        }
    }
}

/// A view: its query's SQL text, read (and bound) as of whatever point the reader reads.
public struct ViewDef: Sendable, Hashable {
    public var id: UInt32
    public var schema: String
    public var name: String
    public var sql: String
    /// Output column names (the view's column list, or its query's names when defined).
    public var columnNames: [String]

    public init(id: UInt32, schema: String = "public", name: String, sql: String, columnNames: [String]) {
        self.id = id
        self.schema = schema
        self.name = name
        self.sql = sql
        self.columnNames = columnNames
    }

    public var qualifiedName: String { schema + "." + name }
}

/// A sequence: its definition (values live outside the catalog, in `.sequenceState` events).
public struct SequenceDef: Sendable, Hashable {
    public var id: UInt32
    public var schema: String
    public var name: String
    /// int2, int4 or int8.
    public var type: SQLType
    public var start: Int64
    public var increment: Int64
    public var minValue: Int64
    public var maxValue: Int64
    public var cache: Int64
    public var cycle: Bool
    /// The column that owns it (SERIAL and identity columns): dropped with its table.
    public var ownedBy: (table: UInt32, column: Int)?

    public init(id: UInt32, schema: String = "public", name: String, type: SQLType = .int8, start: Int64 = 1, increment: Int64 = 1,
                minValue: Int64 = 1, maxValue: Int64 = Int64.max, cache: Int64 = 1, cycle: Bool = false,
                ownedBy: (table: UInt32, column: Int)? = nil) {
        self.id = id
        self.schema = schema
        self.name = name
        self.type = type
        self.start = start
        self.increment = increment
        self.minValue = minValue
        self.maxValue = maxValue
        self.cache = cache
        self.cycle = cycle
        self.ownedBy = ownedBy
    }

    public var qualifiedName: String { schema + "." + name }

    public static func == (a: SequenceDef, b: SequenceDef) -> Bool {
        a.id == b.id && a.schema == b.schema && a.name == b.name && a.type == b.type && a.start == b.start
            && a.increment == b.increment && a.minValue == b.minValue && a.maxValue == b.maxValue && a.cache == b.cache
            && a.cycle == b.cycle && a.ownedBy?.table == b.ownedBy?.table && a.ownedBy?.column == b.ownedBy?.column
    }

    public func hash(into h: inout Hasher) {
        h.combine(id)
        h.combine(name)
    }
}

/// A table as the catalog describes it at one seq.
public struct TableDef: Sendable, Hashable {
    public enum Origin: UInt8, Sendable { case sql = 0, driftQL = 1 }

    public var id: UInt32
    public var schema: String
    public var name: String
    /// Every column ever added, by position; dropped ones stay, flagged.
    public var columns: [ColumnDef]
    /// Positions of the primary-key columns.
    public var primaryKey: [Int]
    public var indexes: [IndexDef]
    public var origin: Origin
    public var options: [String: String]
    /// CHECK and FOREIGN KEY constraints (added by their own events).
    public var constraints: [TableConstraint] = []

    public init(id: UInt32, schema: String = "public", name: String, columns: [ColumnDef], primaryKey: [Int],
                indexes: [IndexDef] = [], origin: Origin, options: [String: String] = [:]) {
        self.id = id
        self.schema = schema
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.indexes = indexes
        self.origin = origin
        self.options = options
    }

    public var qualifiedName: String { schema + "." + name }

    /// Positions of the columns a query sees, in order.
    public var visibleColumns: [Int] { columns.indices.filter { !columns[$0].isDropped } }

    public func columnPosition(_ name: String) -> Int? {
        columns.firstIndex { !$0.isDropped && $0.name == name }
    }

    /// The value each column position reads as when a row image is shorter.
    public var missingValues: [Value] { columns.map { $0.missingValue } }

    /// A table without a declared primary key is keyed by a hidden row id.
    public var hasRowId: Bool { primaryKey.isEmpty }

    /// Whether `index` is the primary key's ordered index (named as the constraint).
    public func isPrimaryKeyIndex(_ index: IndexDef) -> Bool {
        !primaryKey.isEmpty && !index.unique && index.name == primaryKeyName && index.columns == primaryKey
    }

    /// The primary key constraint's name (PostgreSQL's `<table>_pkey` unless one was given).
    public var primaryKeyName: String { options["drift.pkey_name"] ?? name + "_pkey" }
}

/// Every table at one seq.
public struct Catalog: Sendable {
    public var tables: [UInt32: TableDef] = [:]
    var byName: [String: UInt32] = [:]
    public var views: [UInt32: ViewDef] = [:]
    var viewsByName: [String: UInt32] = [:]
    public var sequences: [UInt32: SequenceDef] = [:]
    var sequencesByName: [String: UInt32] = [:]
    /// The schemas (namespaces) that exist; `public` from the start, as in PostgreSQL.
    public var schemas: Set<String> = ["public"]
    public var enums: [UInt32: EnumType] = [:]
    public var roles: [UInt32: RoleDef] = [:]
    /// Owners and access lists that differ from the default (objects made without a role,
    /// never granted on, have none).
    public var acls: [PrivilegeObject: ObjectACL] = [:]
    /// Row-level security policies by id.
    public var policies: [UInt32: PolicyDef] = [:]

    public func enumType(schema: String = "public", _ name: String) -> EnumType? {
        enums.values.first { $0.schema == schema && $0.name == name }
    }

    public init() {}

    /// This catalog with a session's temporary tables and sequences (schema `pg_temp`) added.
    public func adding(temporary t: Catalog) -> Catalog {
        var c = self
        c.schemas.insert(TemporaryTables.schema)
        for (id, d) in t.tables {
            c.tables[id] = d
            c.byName[d.qualifiedName] = id
        }
        for (id, s) in t.sequences {
            c.sequences[id] = s
            c.sequencesByName[s.qualifiedName] = id
        }
        return c
    }

    public func table(schema: String = "public", _ name: String) -> TableDef? {
        byName[schema + "." + name].flatMap { tables[$0] }
    }

    public func view(schema: String = "public", _ name: String) -> ViewDef? {
        viewsByName[schema + "." + name].flatMap { views[$0] }
    }

    public func sequence(schema: String = "public", _ name: String) -> SequenceDef? {
        sequencesByName[schema + "." + name].flatMap { sequences[$0] }
    }

    /// Whether a table, view or sequence has this name.
    public func relationExists(schema: String = "public", _ name: String) -> Bool {
        byName[schema + "." + name] != nil || viewsByName[schema + "." + name] != nil || sequencesByName[schema + "." + name] != nil
    }

    /// Every index name in a schema (index names share the relation namespace).
    public func index(schema: String = "public", named name: String) -> (TableDef, IndexDef)? {
        for t in tables.values where t.schema == schema {
            if let i = t.indexes.first(where: { $0.name == name }) { return (t, i) }
        }
        return nil
    }

    public func table(id: UInt32) -> TableDef? { tables[id] }

    /// Applies one DDL event. Events are validated before they are logged, so a failure
    /// here means the log disagrees with itself.
    public mutating func apply(_ event: CatalogEvent) throws {
        func existing(_ id: UInt32) throws -> TableDef {
            guard let t = tables[id] else { throw DecodeError("DDL event names unknown table \(id)", offset: 0) }
            return t
        }
        /// The table, checked to have a column at `pos`.
        func existing(_ id: UInt32, column pos: Int) throws -> TableDef {
            let t = try existing(id)
            guard pos >= 0, pos < t.columns.count else {
                throw DecodeError("DDL event names column \(pos) of table \(id), which has \(t.columns.count)", offset: 0)
            }
            return t
        }
        func checkIndex(_ t: TableDef, _ i: IndexDef) throws {
            guard i.columns.allSatisfy({ $0 >= 0 && $0 < t.columns.count }) else {
                throw DecodeError("index \(i.id) names a column table \(t.id) lacks", offset: 0)
            }
        }
        switch event {
        case .createTable(let t):
            guard t.primaryKey.allSatisfy({ $0 >= 0 && $0 < t.columns.count }) else {
                throw DecodeError("table \(t.id)'s primary key names a column it lacks", offset: 0)
            }
            for i in t.indexes { try checkIndex(t, i) }
            tables[t.id] = t
            byName[t.qualifiedName] = t.id
        case .dropTable(let id):
            let t = try existing(id)
            tables[id] = nil
            byName[t.qualifiedName] = nil
            acls[.relation(id)] = nil
            acls = acls.filter { if case .column(id, _) = $0.key { return false } else { return true } }
            policies = policies.filter { $0.value.table != id }
        case .addColumn(let id, let c):
            let t = try existing(id)
            guard t.columns.count < Limits.tableColumnsMax else {
                throw SQLError(.tooManyColumns, "tables can have at most \(Limits.tableColumnsMax) columns")
            }
            tables[id] = t.with { $0.columns.append(c) }
        case .dropColumn(let id, let pos):
            acls[.column(id, pos)] = nil
            tables[id] = try existing(id, column: pos).with {
                $0.columns[pos].isDropped = true
                $0.indexes.removeAll { $0.columns.contains(pos) }
            }
        case .setColumnType(let id, let pos, let type):
            tables[id] = try existing(id, column: pos).with { $0.columns[pos].type = type }
        case .renameColumn(let id, let pos, let name):
            tables[id] = try existing(id, column: pos).with { $0.columns[pos].name = name }
        case .renameTable(let id, let name):
            let t = try existing(id)
            byName[t.qualifiedName] = nil
            let renamed = t.with { $0.name = name }
            tables[id] = renamed
            byName[renamed.qualifiedName] = id
        case .createIndex(let id, let index):
            let t = try existing(id)
            try checkIndex(t, index)
            tables[id] = t.with { $0.indexes.append(index) }
        case .dropIndex(let id, let indexId):
            tables[id] = try existing(id).with { $0.indexes.removeAll { $0.id == indexId } }
        case .setOption(let id, let key, let value):
            tables[id] = try existing(id).with { $0.options[key] = value }
        case .setNotNull(let id, let pos, let notNull):
            tables[id] = try existing(id, column: pos).with { $0.columns[pos].notNull = notNull }
        case .createView(let v):
            if let old = views[v.id] { viewsByName[old.qualifiedName] = nil }
            views[v.id] = v
            viewsByName[v.qualifiedName] = v.id
        case .dropView(let id):
            guard let v = views[id] else { throw DecodeError("DDL event drops unknown view \(id)", offset: 0) }
            views[id] = nil
            viewsByName[v.qualifiedName] = nil
            acls[.relation(id)] = nil
            acls = acls.filter { if case .column(id, _) = $0.key { return false } else { return true } }
        case .addConstraint(let id, let c):
            tables[id] = try existing(id).with { $0.constraints.append(c) }
        case .dropConstraint(let id, let name):
            tables[id] = try existing(id).with { $0.constraints.removeAll { $0.name == name } }
        case .setDefault(let id, let pos, let sql):
            tables[id] = try existing(id, column: pos).with { $0.columns[pos].defaultSQL = sql }
        case .createSequence(let s), .alterSequence(let s):
            if let old = sequences[s.id] { sequencesByName[old.qualifiedName] = nil }
            sequences[s.id] = s
            sequencesByName[s.qualifiedName] = s.id
        case .dropSequence(let id):
            guard let s = sequences[id] else { throw DecodeError("DDL event drops unknown sequence \(id)", offset: 0) }
            sequences[id] = nil
            sequencesByName[s.qualifiedName] = nil
            acls[.relation(id)] = nil
        case .sequenceState:
            break
        case .createEnum(let e):
            enums[e.id] = e
        case .dropEnum(let id):
            enums[id] = nil
        case .truncateTable(let id):
            _ = try existing(id)
        case .createRole(let role):
            roles[role.id] = role
        case .dropRole(let id):
            roles[id] = nil
        case .createSchema(let name):
            schemas.insert(name)
        case .dropSchema(let name):
            schemas.remove(name)
            acls[.schema(name)] = nil
            // Default privileges for the schema go with it.
            acls = acls.filter { if case .defaults(_, name?, _) = $0.key { return false } else { return true } }
        case let .setACL(object, acl):
            acls[object] = acl
        case .createPolicy(let p):
            _ = try existing(p.table)
            policies[p.id] = p
        case .dropPolicy(let id):
            guard policies[id] != nil else { throw DecodeError("DDL event drops unknown policy \(id)", offset: 0) }
            policies[id] = nil
        case let .setPrimaryKey(id, cols):
            let t = try existing(id)
            guard cols.allSatisfy({ $0 >= 0 && $0 < t.columns.count }) else {
                throw DecodeError("table \(id)'s primary key names a column it lacks", offset: 0)
            }
            tables[id] = t.with {
                $0.primaryKey = cols
                for c in cols { $0.columns[c].notNull = true }
            }
        }
    }
}

extension TableDef {
    public func with(_ change: (inout TableDef) -> Void) -> TableDef {
        var copy = self
        change(&copy)
        return copy
    }
}
