import DriftCore
import DriftStorage

/// Schemas and `search_path`: names without a schema are looked up in the schemas of the
/// path that exist, in order, and new objects go into the first of them (PostgreSQL's rules;
/// `"$user"` is the session's user).
extension Session {
    func searchPath(in catalog: Catalog) -> [String] {
        // Asked for by every name lookup: kept while the setting, the user and the schemas hold.
        refreshDerivedSettings()
        if derived.searchPathSetting == derived.searchPathNow, derived.searchPathUser == currentRoleName,
           derived.searchPathSchemas == catalog.schemas {
            return derived.searchPath
        }
        let setting = derived.searchPathNow
        derived.searchPath = resolveSearchPath(setting, in: catalog)
        derived.searchPathSetting = setting
        derived.searchPathUser = currentRoleName
        derived.searchPathSchemas = catalog.schemas
        return derived.searchPath
    }

    private func resolveSearchPath(_ setting: String, in catalog: Catalog) -> [String] {
        // The session's temporary schema comes first, as PostgreSQL searches pg_temp first for relations.
        var out: [String] = catalog.schemas.contains(TemporaryTables.schema) ? [TemporaryTables.schema] : []
        for part in setting.split(separator: ",") {
            var name = part.trimming()
            if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
                name = String(name.dropFirst().dropLast())
            } else {
                name = name.lowercased()
            }
            if name == "$user" { name = currentRoleName }
            if catalog.schemas.contains(name), !out.contains(name) { out.append(name) }
        }
        return out
    }

    /// The schemas a name is looked up in.
    func lookupSchemas(_ explicit: String?, in catalog: Catalog) -> [String] {
        explicit.map { [$0] } ?? searchPath(in: catalog)
    }

    /// The schema an object without one is created in (3F000 when none of the path exists).
    func creationSchema(_ explicit: String?, in catalog: Catalog, location: Int) throws -> String {
        if let s = explicit {
            if s == "pg_catalog" || s == "information_schema" {
                throw SQLError(.insufficientPrivilege, "permission denied to create \"\(s).\" objects",
                               detail: "System catalog modifications are currently disallowed.")
            }
            guard catalog.schemas.contains(s) else {
                throw SQLError(SQLState("3F000"), "schema \"\(s)\" does not exist", position: sqlPosition(location))
            }
            return s
        }
        guard let first = searchPath(in: catalog).first(where: { $0 != TemporaryTables.schema }) else {
            throw SQLError(SQLState("3F000"), "no schema has been selected to create in", position: sqlPosition(location))
        }
        return first
    }

    /// A table by a possibly unqualified name, through the search path.
    func findTable(_ schema: String?, _ name: String, in catalog: Catalog) -> TableDef? {
        for s in lookupSchemas(schema, in: catalog) {
            if let t = catalog.table(schema: s, name) { return t }
        }
        return nil
    }

    func findView(_ schema: String?, _ name: String, in catalog: Catalog) -> ViewDef? {
        for s in lookupSchemas(schema, in: catalog) {
            if let v = catalog.view(schema: s, name) { return v }
        }
        return nil
    }

    func findSequence(_ schema: String?, _ name: String, in catalog: Catalog) -> SequenceDef? {
        for s in lookupSchemas(schema, in: catalog) {
            if let q = catalog.sequence(schema: s, name) { return q }
        }
        return nil
    }

    /// The first schema of the path that holds any relation of this name (for DROP, ALTER).
    func schemaHolding(_ explicit: String?, _ name: String, in catalog: Catalog) -> String {
        if let explicit { return explicit }
        let path = searchPath(in: catalog)
        return path.first { catalog.relationExists(schema: $0, name) || catalog.index(schema: $0, named: name) != nil } ?? path.first ?? "public"
    }

    func createSchema(_ name: String, ifNotExists: Bool, in t: Transaction) throws -> StatementResult {
        try checkName(name, location: 0)
        if name.hasPrefix("pg_") {
            throw SQLError(SQLState("42939"), "unacceptable schema name \"\(name)\"", detail: "The prefix \"pg_\" is reserved for system schemas.")
        }
        if t.catalog.schemas.contains(name) || name == "information_schema" {
            if ifNotExists { return StatementResult(tag: "CREATE SCHEMA", notices: ["NOTICE: schema \"\(name)\" already exists, skipping"]) }
            throw SQLError(SQLState("42P06"), "schema \"\(name)\" already exists")
        }
        if let actor = actingRole(in: t.catalog), !actor.superuser {
            // CREATE on the database: its owner's, the bootstrap superuser's.
            throw SQLError(.insufficientPrivilege, "permission denied for database \(databaseName)")
        }
        try t.applyDDL { _ in .createSchema(name) }
        try recordOwner(.schema(name), in: t)
        return StatementResult(tag: "CREATE SCHEMA")
    }

    /// DROP SCHEMA: refused while it holds objects (2BP01), unless CASCADE, which drops them.
    func dropSchemas(_ names: [[String]], ifExists: Bool, cascade: Bool, in t: Transaction) throws -> StatementResult {
        var notices: [String] = []
        for parts in names {
            let name = parts.last ?? ""
            guard t.catalog.schemas.contains(name) else {
                if ifExists { notices.append("NOTICE: schema \"\(name)\" does not exist, skipping"); continue }
                throw SQLError(SQLState("3F000"), "schema \"\(name)\" does not exist")
            }
            let catalog = t.catalog
            if name == Audit.schema, Audit.table(in: catalog) != nil { throw Self.auditIsAppendOnly() }
            try requireOwner(.schema(name), kind: "schema", name: name, in: catalog)
            let views = catalog.views.values.filter { $0.schema == name }.sorted { $0.id < $1.id }
            let tables = catalog.tables.values.filter { $0.schema == name }.sorted { $0.id < $1.id }
            let sequences = catalog.sequences.values.filter { $0.schema == name }.sorted { $0.id < $1.id }
            if !cascade, let first = tables.first.map({ "table \($0.name)" }) ?? views.first.map({ "view \($0.name)" })
                ?? sequences.first.map({ "sequence \($0.name)" }) {
                throw SQLError(SQLState("2BP01"), "cannot drop schema \(name) because other objects depend on it",
                               detail: "\(first) depends on schema \(name)", hint: "Use DROP ... CASCADE to drop the dependent objects too.")
            }
            for v in views {
                try checkDependentViews(of: v.id, name: v.name, isView: true, in: t, cascade: true)
                try t.applyDDL { c in c.views[v.id] == nil ? nil : .dropView(v.id) }
            }
            for table in tables {
                try checkDependentViews(of: table.id, name: table.name, isView: false, in: t, cascade: true)
                for other in t.catalog.tables.values where other.schema != name {
                    for case .foreignKey(let fk) in other.constraints where fk.refTable == table.id {
                        try t.applyDDL { _ in .dropConstraint(other.id, fk.name) }
                    }
                }
                try t.applyDDL { _ in .dropTable(table.id) }
            }
            for q in t.catalog.sequences.values where q.schema == name {
                try t.applyDDL { _ in .dropSequence(q.id) }
            }
            // Sequences owned by a dropped table go with it (not counted apart, as in PostgreSQL).
            let count = views.count + tables.count
                + sequences.filter { q in !tables.contains { $0.id == q.ownedBy?.table } }.count
            if count > 0 { notices.append("NOTICE: drop cascades to \(count) other object\(count == 1 ? "" : "s")") }
            try t.applyDDL { _ in .dropSchema(name) }
        }
        return StatementResult(tag: "DROP SCHEMA", notices: notices)
    }

    /// Types made by CREATE TYPE, by (schema, name) through the search path.
    var userTypes: (String?, String) -> SQLType? {
        { [self] schema, name in
            let catalog = (block ?? implicitTransaction)?.catalog ?? engine.latestCatalog
            for s in lookupSchemas(schema, in: catalog) {
                if let e = catalog.enumType(schema: s, name) { return .enumeration(e) }
            }
            return nil
        }
    }

    /// CREATE TYPE name AS ENUM (labels).
    func createEnum(_ name: [String], _ labels: [String], in t: Transaction) throws -> StatementResult {
        let typeName = name.last ?? ""
        let schema = try creationSchema(name.count > 1 ? name[name.count - 2] : nil, in: t.catalog, location: 0)
        try checkName(typeName, location: 0)
        if t.catalog.enumType(schema: schema, typeName) != nil || (try? TypeRules.resolve(TypeName(names: [typeName], modifiers: [], arrayDimensions: 0))) != nil {
            throw SQLError(.duplicateObject, "type \"\(typeName)\" already exists")
        }
        for l in labels where l.utf8.count > Limits.identifierBytesMax {
            throw SQLError(.invalidParameterValue, "invalid enum label \"\(l)\"", detail: "Labels must be \(Limits.identifierBytesMax) bytes or less.")
        }
        if Set(labels).count != labels.count {
            throw SQLError(.uniqueViolation, "enum labels must be unique")
        }
        let e = EnumType(id: t.allocateTableId(), schema: schema, name: typeName, labels: labels)
        try t.applyDDL { _ in .createEnum(e) }
        return StatementResult(tag: "CREATE TYPE")
    }

    /// DROP TYPE: refused while a column has it (2BP01), unless CASCADE drops those columns.
    func dropTypes(_ names: [[String]], ifExists: Bool, cascade: Bool, in t: Transaction) throws -> StatementResult {
        var notices: [String] = []
        for parts in names {
            let name = parts.last ?? ""
            var found: EnumType?
            for s in lookupSchemas(parts.count > 1 ? parts[parts.count - 2] : nil, in: t.catalog) {
                if let e = t.catalog.enumType(schema: s, name) { found = e; break }
            }
            guard let e = found else {
                if ifExists { notices.append("NOTICE: type \"\(name)\" does not exist, skipping"); continue }
                throw SQLError(.undefinedObject, "type \"\(name)\" does not exist")
            }
            func uses(_ type: SQLType) -> Bool {
                switch type {
                case .enumeration(let x): return x.id == e.id
                case .array(let x), .modified(let x, _): return uses(x)
                default: return false
                }
            }
            for table in t.catalog.tables.values.sorted(by: { $0.id < $1.id }) {
                for p in table.visibleColumns where uses(table.columns[p].type) {
                    guard cascade else {
                        throw SQLError(SQLState("2BP01"), "cannot drop type \(e.name) because other objects depend on it",
                                       detail: "column \(table.columns[p].name) of table \(table.name) depends on type \(e.name)",
                                       hint: "Use DROP ... CASCADE to drop the dependent objects too.")
                    }
                    notices.append("NOTICE: drop cascades to column \(table.columns[p].name) of table \(table.name)")
                    try dropColumn(p, of: try current(table.id, t), cascade: true, in: t)
                }
            }
            try t.applyDDL { _ in .dropEnum(e.id) }
        }
        return StatementResult(tag: "DROP TYPE", notices: notices)
    }
}
