import DriftCore
import DriftStorage

/// The `pg_catalog` relations clients read (psql's `\d` family, pgJDBC's DatabaseMetaData,
/// SQLAlchemy's reflection, psycopg's type lookups), with PostgreSQL 15's columns. Relations
/// for features DriftDB does not have (inheritance, policies until the auth plugin, triggers,
/// publications, partitioning, extended statistics, rules) exist and are empty, as they
/// are in a PostgreSQL database that uses none of them.
enum PGCatalogTables {
    static let c = "pg_catalog"

    static let all: [SystemTable] = [
        SystemTable(c, "pg_namespace", oid: PGOid.pgNamespace, "oid oid, nspname name, nspowner oid, nspacl text[]") { v, r in
            for s in v.schemas where s != TemporaryTables.schema || v.catalog.schemas.contains(s) {
                r.add {
                    $0["oid"] = .oid(PGOid.namespace(s))
                    $0["nspname"] = .name(s)
                    $0["nspowner"] = .oid(v.ownerOid(s == TemporaryTables.schema || s == "pg_catalog" || s == "information_schema" ? nil : .schema(s)))
                    $0["nspacl"] = v.aclValue(s == TemporaryTables.schema ? nil : .schema(s))
                }
            }
        },
        SystemTable(c, "pg_class", oid: PGOid.pgClass, """
            oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid, relam oid, relfilenode oid, \
            reltablespace oid, relpages int4, reltuples float4, relallvisible int4, reltoastrelid oid, relhasindex bool, \
            relisshared bool, relpersistence char, relkind char, relnatts int2, relchecks int2, relhasrules bool, \
            relhastriggers bool, relhassubclass bool, relrowsecurity bool, relforcerowsecurity bool, relispopulated bool, \
            relreplident char, relispartition bool, relrewrite oid, relfrozenxid xid, relminmxid xid, relacl text[], \
            reloptions text[], relpartbound node
            """) { v, r in
            let referenced = Set(v.catalog.tables.values.flatMap { t in
                t.constraints.compactMap { c -> UInt32? in if case .foreignKey(let f) = c { return f.refTable }; return nil }
            })
            for rel in v.relations {
                r.add {
                    $0["oid"] = .oid(rel.oid)
                    $0["relname"] = .name(rel.name)
                    $0["relnamespace"] = .oid(PGOid.namespace(rel.schema))
                    let object = v.privilegeObject(rel)
                    $0["relowner"] = .oid(v.ownerOid(object))
                    if case .index = rel.object {} else { $0["relacl"] = v.aclValue(object) }
                    $0["relfilenode"] = .oid(rel.oid)
                    $0["relpersistence"] = .text(rel.schema == TemporaryTables.schema ? "t" : "p")
                    $0["relkind"] = .text(rel.kind)
                    $0["relispopulated"] = .bool(true)
                    $0["relreplident"] = .text(rel.kind == "r" ? "d" : "n")
                    $0["reltuples"] = .double(-1)
                    switch rel.object {
                    case .table(let t):
                        $0["relam"] = .oid(PGOid.heapAM)
                        $0["relhasindex"] = .bool(!t.indexes.isEmpty)
                        $0["relnatts"] = .int(Int64(t.columns.count))
                        $0["relchecks"] = .int(Int64(t.constraints.filter { if case .check = $0 { return true }; return false }.count))
                        let fk = t.constraints.contains { if case .foreignKey = $0 { return true }; return false }
                        $0["relhastriggers"] = .bool(fk || referenced.contains(t.id))
                        $0["relrowsecurity"] = .bool(t.options[Catalog.rowSecurityOption] == "on")
                        $0["relforcerowsecurity"] = .bool(t.options[Catalog.forceRowSecurityOption] == "on")
                        if let s = v.engine.store(t.id) { $0["reltuples"] = .double(Double(s.stats.liveRows)) }
                    case .index(let i, _):
                        $0["relam"] = .oid(PGOid.btreeAM)
                        $0["relnatts"] = .int(Int64(i.columns.count))
                    case .view(let view):
                        $0["relnatts"] = .int(Int64(view.columnNames.count))
                    case .sequence:
                        $0["relnatts"] = .int(3)
                    case .system(let s):
                        $0["relnatts"] = .int(Int64(s.columns.count))
                        if !s.isView { $0["relam"] = .oid(PGOid.heapAM) }
                    }
                }
            }
        },
        SystemTable(c, "pg_attribute", oid: 1249, """
            attrelid oid, attname name, atttypid oid, attstattarget int4, attlen int2, attnum int2, attndims int4, \
            attcacheoff int4, atttypmod int4, attbyval bool, attalign char, attstorage char, attcompression char, \
            attnotnull bool, atthasdef bool, atthasmissing bool, attidentity char, attgenerated char, attisdropped bool, \
            attislocal bool, attinhcount int4, attcollation oid, attacl text[], attoptions text[], attfdwoptions text[], \
            attmissingval text
            """) { v, r in
            func add(_ rel: Int64, _ name: String, _ type: SQLType, _ num: Int, set: (inout SystemRow) -> Void = { _ in }) {
                let f = ColumnFacts(type)
                r.add {
                    $0["attrelid"] = .oid(rel)
                    $0["attname"] = .name(name)
                    $0["atttypid"] = .oid(f.typeOid)
                    $0["attstattarget"] = .int(-1)
                    $0["attlen"] = .int(Int64(f.length))
                    $0["attnum"] = .int(Int64(num))
                    if case .array = type.base { $0["attndims"] = .int(1) }
                    $0["attcacheoff"] = .int(-1)
                    $0["atttypmod"] = .int(Int64(f.typmod))
                    $0["attbyval"] = .bool(f.length > 0 && f.length <= 8)
                    $0["attalign"] = .text(f.length == 8 ? "d" : f.length == 2 ? "s" : f.length == 1 ? "c" : "i")
                    $0["attstorage"] = .text(f.length == -1 ? "x" : "p")
                    $0["attislocal"] = .bool(true)
                    $0["attcollation"] = .oid(f.collation)
                    set(&$0)
                }
            }
            for rel in v.relations {
                switch rel.object {
                case .table(let t):
                    for (p, col) in t.columns.enumerated() {
                        if col.isDropped {
                            add(rel.oid, "........pg.dropped.\(p + 1)........", .int4, p + 1) { $0["attisdropped"] = .bool(true); $0["atttypid"] = .oid(0) }
                            continue
                        }
                        let identity = t.options["drift.identity.\(p)"]
                        add(rel.oid, col.name, col.type, p + 1) {
                            $0["attnotnull"] = .bool(col.notNull)
                            $0["atthasdef"] = .bool(col.defaultSQL != nil && identity == nil)
                            if let identity { $0["attidentity"] = .text(identity) }
                            if !col.missingValue.isNull { $0["atthasmissing"] = .bool(true) }
                            $0["attacl"] = v.aclValue(.column(t.id, p))
                        }
                    }
                case .index(let i, let t):
                    for (k, p) in i.columns.enumerated() where p < t.columns.count {
                        add(rel.oid, t.columns[p].name, t.columns[p].type, k + 1)
                    }
                case .view(let view):
                    // A view's column types are its query's; the names are what the catalog keeps.
                    for (k, n) in view.columnNames.enumerated() {
                        add(rel.oid, n, v.viewColumnType(view, k), k + 1) { $0["attacl"] = v.aclValue(.column(view.id, k)) }
                    }
                case .sequence:
                    add(rel.oid, "last_value", .int8, 1) { $0["attnotnull"] = .bool(true) }
                    add(rel.oid, "log_cnt", .int8, 2) { $0["attnotnull"] = .bool(true) }
                    add(rel.oid, "is_called", .bool, 3) { $0["attnotnull"] = .bool(true) }
                case .system(let s):
                    for (k, col) in s.columns.enumerated() { add(rel.oid, col.name, col.type, k + 1) }
                }
            }
        },
        SystemTable(c, "pg_type", oid: PGOid.pgType, """
            oid oid, typname name, typnamespace oid, typowner oid, typlen int2, typbyval bool, typtype char, \
            typcategory char, typispreferred bool, typisdefined bool, typdelim char, typrelid oid, typsubscript regproc, \
            typelem oid, typarray oid, typinput regproc, typoutput regproc, typreceive regproc, typsend regproc, \
            typmodin regproc, typmodout regproc, typanalyze regproc, typalign char, typstorage char, typnotnull bool, \
            typbasetype oid, typtypmod int4, typndims int4, typcollation oid, typdefaultbin node, typdefault text, typacl text[]
            """) { v, r in
            func common(_ row: inout SystemRow) {
                row["typowner"] = .oid(PGOid.bootstrapRole)
                row["typisdefined"] = .bool(true)
                row["typdelim"] = .text(",")
                row["typtypmod"] = .int(-1)
            }
            for t in BuiltinType.all {
                r.add {
                    common(&$0)
                    $0["oid"] = .oid(t.oid)
                    $0["typname"] = .name(t.name)
                    $0["typnamespace"] = .oid(PGOid.pgCatalogNamespace)
                    $0["typlen"] = .int(Int64(t.length))
                    $0["typbyval"] = .bool(t.byValue)
                    $0["typtype"] = .text(t.kind)
                    $0["typcategory"] = .text(t.category)
                    $0["typispreferred"] = .bool(t.preferred)
                    $0["typelem"] = .oid(t.elementOid)
                    $0["typarray"] = .oid(t.arrayOid)
                    let isArray = t.category == "A" && t.name.hasPrefix("_")
                    if isArray {
                        $0["typinput"] = .oid(750)
                        $0["typoutput"] = .oid(751)
                        $0["typreceive"] = .oid(2400)
                        $0["typsend"] = .oid(2401)
                    }
                    $0["typalign"] = .text(t.length == 8 ? "d" : t.length == 2 ? "s" : t.length == 1 ? "c" : "i")
                    $0["typstorage"] = .text(t.length == -1 ? "x" : "p")
                    if ["text", "varchar", "bpchar", "name", "_text", "_varchar", "_bpchar", "_name"].contains(t.name) {
                        $0["typcollation"] = .oid(t.name.hasSuffix("name") ? 950 : PGOid.defaultCollation)
                    }
                }
            }
            for e in v.catalog.enums.values.sorted(by: { $0.id < $1.id }) {
                let oid = Int64(EnumType.oidBase) + Int64(e.id), arrayOid = Int64(EnumType.arrayOidBase) + Int64(e.id)
                r.add {
                    common(&$0)
                    $0["oid"] = .oid(oid)
                    $0["typname"] = .name(e.name)
                    $0["typnamespace"] = .oid(PGOid.namespace(e.schema))
                    $0["typlen"] = .int(4)
                    $0["typbyval"] = .bool(true)
                    $0["typtype"] = .text("e")
                    $0["typcategory"] = .text("E")
                    $0["typarray"] = .oid(arrayOid)
                    $0["typalign"] = .text("i")
                    $0["typstorage"] = .text("p")
                }
                r.add {
                    common(&$0)
                    $0["oid"] = .oid(arrayOid)
                    $0["typname"] = .name("_" + e.name)
                    $0["typnamespace"] = .oid(PGOid.namespace(e.schema))
                    $0["typlen"] = .int(-1)
                    $0["typtype"] = .text("b")
                    $0["typcategory"] = .text("A")
                    $0["typelem"] = .oid(oid)
                    $0["typinput"] = .oid(750)
                    $0["typoutput"] = .oid(751)
                    $0["typreceive"] = .oid(2400)
                    $0["typsend"] = .oid(2401)
                    $0["typalign"] = .text("i")
                    $0["typstorage"] = .text("x")
                }
            }
        },
        SystemTable(c, "pg_index", oid: 2610, """
            indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool, indnullsnotdistinct bool, \
            indisprimary bool, indisexclusion bool, indimmediate bool, indisclustered bool, indisvalid bool, \
            indcheckxmin bool, indisready bool, indislive bool, indisreplident bool, indkey int2vector, \
            indcollation oidvector, indclass oidvector, indoption int2vector, indexprs node, indpred node
            """) { v, r in
            for t in v.catalog.tables.values.sorted(by: { $0.id < $1.id }) {
                for i in t.indexes {
                    let primary = t.isPrimaryKeyIndex(i)
                    let facts = i.columns.map { ColumnFacts($0 < t.columns.count ? t.columns[$0].type : .int4) }
                    r.add {
                        $0["indexrelid"] = .oid(PGOid.index(i.id))
                        $0["indrelid"] = .oid(PGOid.relation(t.id))
                        $0["indnatts"] = .int(Int64(i.columns.count))
                        $0["indnkeyatts"] = .int(Int64(i.columns.count))
                        $0["indisunique"] = .bool(i.unique || primary)
                        $0["indisprimary"] = .bool(primary)
                        $0["indimmediate"] = .bool(true)
                        $0["indisvalid"] = .bool(true)
                        $0["indisready"] = .bool(true)
                        $0["indislive"] = .bool(true)
                        $0["indkey"] = .ints(i.columns.map { $0 + 1 })
                        $0["indcollation"] = .array(facts.map { .int($0.collation) })
                        $0["indclass"] = .array(facts.map { .int(PGCatalogTables.opclassOid($0.typeOid)) })
                        $0["indoption"] = .ints(i.columns.map { _ in 0 })
                    }
                }
            }
        },
        SystemTable(c, "pg_constraint", oid: PGOid.pgConstraint, """
            oid oid, conname name, connamespace oid, contype char, condeferrable bool, condeferred bool, convalidated bool, \
            conrelid oid, contypid oid, conindid oid, conparentid oid, confrelid oid, confupdtype char, confdeltype char, \
            confmatchtype char, conislocal bool, coninhcount int4, connoinherit bool, conkey int2[], confkey int2[], \
            conpfeqop oid[], conppeqop oid[], conffeqop oid[], confdelsetcols int2[], conexclop oid[], conbin node
            """) { v, r in
            for con in v.allConstraints {
                r.add {
                    $0["oid"] = .oid(con.oid)
                    $0["conname"] = .name(con.name)
                    $0["connamespace"] = .oid(PGOid.namespace(con.table.schema))
                    $0["contype"] = .text(con.type)
                    $0["convalidated"] = .bool(true)
                    $0["conrelid"] = .oid(PGOid.relation(con.table.id))
                    $0["conindid"] = .oid(con.indexOid)
                    $0["conislocal"] = .bool(true)
                    $0["connoinherit"] = .bool(con.type == "p" || con.type == "u")
                    $0["conkey"] = .ints(con.columns.map { $0 + 1 })
                    $0["confupdtype"] = .text(" ")
                    $0["confdeltype"] = .text(" ")
                    $0["confmatchtype"] = .text(" ")
                    if let fk = con.foreignKey {
                        $0["confrelid"] = .oid(PGOid.relation(fk.refTable))
                        $0["confkey"] = .ints(fk.refColumns.map { $0 + 1 })
                        $0["confupdtype"] = .text(PGCatalogTables.actionCode(fk.onUpdate))
                        $0["confdeltype"] = .text(PGCatalogTables.actionCode(fk.onDelete))
                        $0["confmatchtype"] = .text(fk.matchFull ? "f" : "s")
                    }
                    if let check = con.check { $0["conbin"] = .text(check) }
                }
            }
        },
        SystemTable(c, "pg_attrdef", oid: 2604, "oid oid, adrelid oid, adnum int2, adbin node") { v, r in
            for t in v.catalog.tables.values.sorted(by: { $0.id < $1.id }) {
                for (p, col) in t.columns.enumerated() where !col.isDropped && col.defaultSQL != nil && t.options["drift.identity.\(p)"] == nil {
                    r.add {
                        $0["oid"] = .oid(PGOid.constraint(table: t.id, slot: 768 + p % 256))
                        $0["adrelid"] = .oid(PGOid.relation(t.id))
                        $0["adnum"] = .int(Int64(p + 1))
                        $0["adbin"] = .text(col.defaultSQL ?? "")
                    }
                }
            }
        },
        SystemTable(c, "pg_description", oid: 2609, "objoid oid, classoid oid, objsubid int4, description text") { v, r in
            for t in v.catalog.tables.values.sorted(by: { $0.id < $1.id }) {
                for (key, text) in t.options.sorted(by: { $0.key < $1.key }) where key == "drift.comment" || key.hasPrefix("drift.comment.") {
                    let sub = key == "drift.comment" ? 0 : (Int(key.dropFirst("drift.comment.".count)) ?? -1) + 1
                    guard sub >= 0 else { continue }
                    r.add {
                        $0["objoid"] = .oid(PGOid.relation(t.id))
                        $0["classoid"] = .oid(PGOid.pgClass)
                        $0["objsubid"] = .int(Int64(sub))
                        $0["description"] = .text(text)
                    }
                }
            }
        },
        SystemTable(c, "pg_database", oid: 1262, """
            oid oid, datname name, datdba oid, encoding int4, datlocprovider char, datistemplate bool, datallowconn bool, \
            datconnlimit int4, datfrozenxid xid, datminmxid xid, dattablespace oid, datcollate text, datctype text, \
            daticulocale text, datcollversion text, datacl text[]
            """) { v, r in
            r.add {
                $0["oid"] = .oid(PGOid.database)
                $0["datname"] = .name(v.databaseName)
                $0["datdba"] = .oid(PGOid.bootstrapRole)
                $0["encoding"] = .int(6)
                $0["datlocprovider"] = .text("c")
                $0["datallowconn"] = .bool(true)
                $0["datconnlimit"] = .int(-1)
                $0["dattablespace"] = .oid(1663)
                $0["datcollate"] = .text("C")
                $0["datctype"] = .text("C")
            }
        },
        SystemTable(c, "pg_roles", oid: 12001, view: true, """
            rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool, rolcanlogin bool, \
            rolreplication bool, rolconnlimit int4, rolpassword text, rolvaliduntil timestamptz, rolbypassrls bool, \
            rolconfig text[], oid oid
            """) { v, r in
            for role in v.roles {
                r.add {
                    $0["rolname"] = .name(role.name)
                    $0["rolsuper"] = .bool(role.superuser)
                    $0["rolinherit"] = .bool(role.inherit)
                    $0["rolcreaterole"] = .bool(role.createRole)
                    $0["rolcreatedb"] = .bool(role.createDB)
                    $0["rolcanlogin"] = .bool(role.login)
                    $0["rolreplication"] = .bool(role.replication)
                    $0["rolbypassrls"] = .bool(role.bypassRLS)
                    $0["rolconnlimit"] = .int(role.connectionLimit)
                    $0["rolpassword"] = .text("********")
                    $0["rolvaliduntil"] = role.validUntil.map { .timestamptz($0) } ?? .null
                    $0["rolconfig"] = role.config.isEmpty ? .null : .array(role.config.map { .text($0) })
                    $0["oid"] = .oid(v.roleOid(role))
                }
            }
        },
        SystemTable(c, "pg_user", oid: 12002, view: true, """
            usename name, usesysid oid, usecreatedb bool, usesuper bool, userepl bool, usebypassrls bool, passwd text, \
            valuntil timestamptz, useconfig text[]
            """) { v, r in
            for role in v.roles where role.login {
                r.add {
                    $0["usename"] = .name(role.name)
                    $0["usesysid"] = .oid(v.roleOid(role))
                    $0["usecreatedb"] = .bool(role.createDB)
                    $0["usesuper"] = .bool(role.superuser)
                    $0["userepl"] = .bool(role.replication)
                    $0["usebypassrls"] = .bool(role.bypassRLS)
                    $0["passwd"] = .text("********")
                    $0["valuntil"] = role.validUntil.map { .timestamptz($0) } ?? .null
                }
            }
        },
        SystemTable(c, "pg_settings", oid: 12003, view: true, """
            name text, setting text, unit text, category text, short_desc text, extra_desc text, context text, vartype text, \
            source text, min_val text, max_val text, enumvals text[], boot_val text, reset_val text, sourcefile text, \
            sourceline int4, pending_restart bool
            """) { v, r in
            let current = Dictionary(v.settings, uniquingKeysWith: { a, _ in a })
            for d in SettingDefinition.all {
                r.add {
                    $0["name"] = .text(d.name)
                    $0["setting"] = .text(current[d.name] ?? d.defaultValue)
                    $0["context"] = .text(d.kind.isReadOnly ? "internal" : "user")
                    $0["vartype"] = .text(d.kind.pgType)
                    $0["source"] = .text((current[d.name] ?? d.defaultValue) == d.defaultValue ? "default" : "session")
                    $0["boot_val"] = .text(d.defaultValue)
                    $0["reset_val"] = .text(d.defaultValue)
                    if case .millis = d.kind { $0["unit"] = .text("ms") }
                    if case .choice(let xs) = d.kind { $0["enumvals"] = .array(xs.map { .text($0) }) }
                    $0["sourceline"] = .null
                }
            }
            for (name, value) in CatalogFunctions.fixedSettings.sorted(by: { $0.key < $1.key }) where SettingDefinition.byName[name] == nil {
                r.add {
                    $0["name"] = .text(name)
                    $0["setting"] = .text(value)
                    $0["context"] = .text("internal")
                    $0["vartype"] = .text(name == "default_table_access_method" ? "string" : "integer")
                    $0["source"] = .text("default")
                    $0["boot_val"] = .text(value)
                    $0["reset_val"] = .text(value)
                    $0["sourceline"] = .null
                }
            }
        },
        SystemTable(c, "pg_am", oid: 2601, "oid oid, amname name, amhandler regproc, amtype char") { _, r in
            for (oid, name, type) in [(PGOid.heapAM, "heap", "t"), (PGOid.btreeAM, "btree", "i")] {
                r.add {
                    $0["oid"] = .oid(oid)
                    $0["amname"] = .name(name)
                    $0["amtype"] = .text(type)
                }
            }
        },
        SystemTable(c, "pg_opclass", oid: 2616, """
            oid oid, opcmethod oid, opcname name, opcnamespace oid, opcowner oid, opcfamily oid, opcintype oid, \
            opcdefault bool, opckeytype oid
            """) { _, r in
            for t in BuiltinType.all where t.kind == "b" && t.category != "A" && t.type != nil {
                r.add {
                    $0["oid"] = .oid(PGCatalogTables.opclassOid(t.oid))
                    $0["opcmethod"] = .oid(PGOid.btreeAM)
                    $0["opcname"] = .name(t.name + "_ops")
                    $0["opcnamespace"] = .oid(PGOid.pgCatalogNamespace)
                    $0["opcowner"] = .oid(PGOid.bootstrapRole)
                    $0["opcfamily"] = .oid(PGCatalogTables.opclassOid(t.oid))
                    $0["opcintype"] = .oid(t.oid)
                    $0["opcdefault"] = .bool(true)
                }
            }
        },
        SystemTable(c, "pg_proc", oid: 1255, """
            oid oid, proname name, pronamespace oid, proowner oid, prolang oid, procost float4, prorows float4, \
            provariadic oid, prosupport regproc, prokind char, prosecdef bool, proleakproof bool, proisstrict bool, \
            proretset bool, provolatile char, proparallel char, pronargs int2, pronargdefaults int2, prorettype oid, \
            proargtypes oidvector, proallargtypes oid[], proargmodes char[], proargnames text[], proargdefaults node, \
            protrftypes oid[], prosrc text, probin text, prosqlbody node, proconfig text[], proacl text[]
            """) { _, r in
            for p in CatalogView.procedures {
                r.add {
                    $0["oid"] = .oid(p.oid)
                    $0["proname"] = .name(p.name)
                    $0["pronamespace"] = .oid(PGOid.pgCatalogNamespace)
                    $0["proowner"] = .oid(PGOid.bootstrapRole)
                    $0["prolang"] = .oid(12)
                    $0["procost"] = .double(1)
                    $0["prokind"] = .text("f")
                    $0["proisstrict"] = .bool(true)
                    $0["provolatile"] = .text("s")
                    $0["proparallel"] = .text("s")
                    $0["pronargs"] = .int(1)
                    $0["prosrc"] = .text(p.name)
                }
            }
        },
        SystemTable(c, "pg_collation", oid: 3456, """
            oid oid, collname name, collnamespace oid, collowner oid, collprovider char, collisdeterministic bool, \
            collencoding int4, collcollate text, collctype text, colliculocale text, collversion text
            """) { _, r in
            for (oid, name, provider, collate) in [(PGOid.defaultCollation, "default", "d", nil), (950, "C", "c", "C"),
                                                   (951, "POSIX", "c", "POSIX"), (12546, "ucs_basic", "c", "C")] as [(Int64, String, String, String?)] {
                r.add {
                    $0["oid"] = .oid(oid)
                    $0["collname"] = .name(name)
                    $0["collnamespace"] = .oid(PGOid.pgCatalogNamespace)
                    $0["collowner"] = .oid(PGOid.bootstrapRole)
                    $0["collprovider"] = .text(provider)
                    $0["collisdeterministic"] = .bool(true)
                    $0["collencoding"] = .int(oid == PGOid.defaultCollation ? -1 : 6)
                    if let collate {
                        $0["collcollate"] = .text(collate)
                        $0["collctype"] = .text(collate)
                    }
                }
            }
        },
        SystemTable(c, "pg_enum", oid: 3501, "oid oid, enumtypid oid, enumsortorder float4, enumlabel name") { v, r in
            for e in v.catalog.enums.values.sorted(by: { $0.id < $1.id }) {
                for (k, label) in e.labels.enumerated() {
                    r.add {
                        $0["oid"] = .oid(PGOid.enumLabelBase + Int64(e.id) * 1024 + Int64(k))
                        $0["enumtypid"] = .oid(Int64(EnumType.oidBase) + Int64(e.id))
                        $0["enumsortorder"] = .double(Double(k + 1))
                        $0["enumlabel"] = .name(label)
                    }
                }
            }
        },
        SystemTable(c, "pg_sequence", oid: 2224, """
            seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8, seqmin int8, seqcache int8, seqcycle bool
            """) { v, r in
            for s in v.catalog.sequences.values.sorted(by: { $0.id < $1.id }) {
                r.add {
                    $0["seqrelid"] = .oid(PGOid.relation(s.id))
                    $0["seqtypid"] = .oid(Int64(s.type.oid))
                    $0["seqstart"] = .int(s.start)
                    $0["seqincrement"] = .int(s.increment)
                    $0["seqmax"] = .int(s.maxValue)
                    $0["seqmin"] = .int(s.minValue)
                    $0["seqcache"] = .int(s.cache)
                    $0["seqcycle"] = .bool(s.cycle)
                }
            }
        },
        SystemTable(c, "pg_depend", oid: 2608, """
            classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, refobjsubid int4, deptype char
            """) { v, r in
            // A sequence owned by a column (SERIAL: 'a', identity: 'i'), and an index on its table.
            for s in v.catalog.sequences.values.sorted(by: { $0.id < $1.id }) {
                guard let owner = s.ownedBy, let t = v.catalog.table(id: owner.table) else { continue }
                r.add {
                    $0["classid"] = .oid(PGOid.pgClass)
                    $0["objid"] = .oid(PGOid.relation(s.id))
                    $0["refclassid"] = .oid(PGOid.pgClass)
                    $0["refobjid"] = .oid(PGOid.relation(owner.table))
                    $0["refobjsubid"] = .int(Int64(owner.column + 1))
                    $0["deptype"] = .text(t.options["drift.identity.\(owner.column)"] != nil ? "i" : "a")
                }
            }
            for t in v.catalog.tables.values.sorted(by: { $0.id < $1.id }) {
                for i in t.indexes {
                    let backsConstraint = t.isPrimaryKeyIndex(i) || CatalogView.isConstraintIndex(t, i)
                    for p in i.columns {
                        r.add {
                            $0["classid"] = .oid(PGOid.pgClass)
                            $0["objid"] = .oid(PGOid.index(i.id))
                            $0["refclassid"] = .oid(PGOid.pgClass)
                            $0["refobjid"] = .oid(PGOid.relation(t.id))
                            $0["refobjsubid"] = .int(Int64(p + 1))
                            $0["deptype"] = .text(backsConstraint ? "i" : "a")
                        }
                    }
                }
            }
        },
        SystemTable(c, "pg_tablespace", oid: 1213, "oid oid, spcname name, spcowner oid, spcacl text[], spcoptions text[]") { _, r in
            for (oid, name) in [(Int64(1663), "pg_default"), (1664, "pg_global")] {
                r.add {
                    $0["oid"] = .oid(oid)
                    $0["spcname"] = .name(name)
                    $0["spcowner"] = .oid(PGOid.bootstrapRole)
                }
            }
        },
        SystemTable(c, "pg_tables", oid: 12004, view: true, """
            schemaname name, tablename name, tableowner name, tablespace name, hasindexes bool, hasrules bool, \
            hastriggers bool, rowsecurity bool
            """) { v, r in
            for t in v.catalog.tables.values.sorted(by: { ($0.schema, $0.name) < ($1.schema, $1.name) }) {
                r.add {
                    $0["schemaname"] = .name(t.schema)
                    $0["tablename"] = .name(t.name)
                    $0["tableowner"] = .name(v.ownerName(.relation(t.id)))
                    $0["hasindexes"] = .bool(!t.indexes.isEmpty)
                    $0["rowsecurity"] = .bool(t.options[Catalog.rowSecurityOption] == "on")
                    $0["hastriggers"] = .bool(t.constraints.contains { if case .foreignKey = $0 { return true }; return false })
                }
            }
        },
        SystemTable(c, "pg_views", oid: 12005, view: true, "schemaname name, viewname name, viewowner name, definition text") { v, r in
            for view in v.catalog.views.values.sorted(by: { ($0.schema, $0.name) < ($1.schema, $1.name) }) {
                r.add {
                    $0["schemaname"] = .name(view.schema)
                    $0["viewname"] = .name(view.name)
                    $0["viewowner"] = .name(v.ownerName(.relation(view.id)))
                    $0["definition"] = .text(view.sql)
                }
            }
        },
        SystemTable(c, "pg_indexes", oid: 12006, view: true, """
            schemaname name, tablename name, indexname name, tablespace name, indexdef text
            """) { v, r in
            for t in v.catalog.tables.values.sorted(by: { ($0.schema, $0.name) < ($1.schema, $1.name) }) {
                for i in t.indexes {
                    r.add {
                        $0["schemaname"] = .name(t.schema)
                        $0["tablename"] = .name(t.name)
                        $0["indexname"] = .name(i.name)
                        $0["indexdef"] = v.indexDefinition(i, of: t, column: 0).map { .text($0) } ?? .null
                    }
                }
            }
        },
        SystemTable(c, "pg_sequences", oid: 12007, view: true, """
            schemaname name, sequencename name, sequenceowner name, data_type text, start_value int8, min_value int8, \
            max_value int8, increment_by int8, cycle bool, cache_size int8, last_value int8
            """) { v, r in
            let reader = v.session?.actingRole(in: v.catalog)
            for s in v.catalog.sequences.values.sorted(by: { ($0.schema, $0.name) < ($1.schema, $1.name) }) {
                var (last, called) = v.engine.sequenceCurrent(s)
                // The value only for a reader with SELECT or USAGE on it (PostgreSQL shows NULL).
                if let reader, !reader.superuser, s.schema != TemporaryTables.schema,
                   v.catalog.privileges(of: reader, on: .relation(s.id)).isDisjoint(with: [.select, .usage]) {
                    called = false
                }
                r.add {
                    $0["schemaname"] = .name(s.schema)
                    $0["sequencename"] = .name(s.name)
                    $0["sequenceowner"] = .name(v.ownerName(.relation(s.id)))
                    $0["data_type"] = .text(s.type.name)
                    $0["start_value"] = .int(s.start)
                    $0["min_value"] = .int(s.minValue)
                    $0["max_value"] = .int(s.maxValue)
                    $0["increment_by"] = .int(s.increment)
                    $0["cycle"] = .bool(s.cycle)
                    $0["cache_size"] = .int(s.cache)
                    $0["last_value"] = called ? .int(last) : .null
                }
            }
        },
        // Empty: DriftDB has no inheritance, partitioning, triggers, rules, publications,
        // extended statistics, extensions or prepared transactions; row-level security
        // policies arrive with the auth plugin.
        SystemTable(c, "pg_auth_members", oid: 1261, "oid oid, roleid oid, member oid, grantor oid, admin_option bool") { v, r in
            for member in v.catalog.roles.values.sorted(by: { $0.id < $1.id }) {
                for m in member.memberOf {
                    r.add {
                        // Stable for the pair (a membership read FOR SYSTEM_TIME keeps its OID).
                        $0["oid"] = .oid(0x4000_0000 | Int64(member.id & 0x7FFF) << 15 | Int64(m.role & 0x7FFF))
                        $0["roleid"] = .oid(v.roleOid(id: m.role))
                        $0["member"] = .oid(v.roleOid(id: member.id))
                        $0["grantor"] = .oid(v.roleOid(id: m.grantor))
                        $0["admin_option"] = .bool(m.admin)
                    }
                }
            }
        },
        SystemTable(c, "pg_default_acl", oid: 826, "oid oid, defaclrole oid, defaclnamespace oid, defaclobjtype char, defaclacl text[]") { v, r in
            let entries = v.catalog.acls.keys.compactMap { object -> (UInt32, String?, DefaultPrivilegeKind)? in
                if case let .defaults(role, schema, kind) = object { return (role, schema, kind) }
                return nil
            }.sorted { ($0.0, $0.1 ?? "", $0.2.rawValue) < ($1.0, $1.1 ?? "", $1.2.rawValue) }
            for (role, schema, kind) in entries {
                r.add {
                    // Stable for the entry (read FOR SYSTEM_TIME, a row keeps its OID).
                    var h: UInt32 = 2_166_136_261
                    for b in "\(role)\u{1}\(schema ?? "")\u{1}\(kind.rawValue)".utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
                    $0["oid"] = .oid(0x5000_0000 | Int64(h & 0x0FFF_FFFF))
                    $0["defaclrole"] = .oid(v.roleOid(id: role))
                    $0["defaclnamespace"] = .oid(schema.map(PGOid.namespace) ?? 0)
                    $0["defaclobjtype"] = .text(kind.rawValue)
                    $0["defaclacl"] = v.aclValue(.defaults(role: role, schema: schema, kind: kind))
                }
            }
        },
        SystemTable(c, "pg_inherits", oid: 2611, "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool") { _, _ in },
        SystemTable(c, "pg_policy", oid: 3256, """
            oid oid, polname name, polrelid oid, polcmd char, polpermissive bool, polroles oid[], polqual node, polwithcheck node
            """) { v, r in
            for p in v.catalog.policies.values.sorted(by: { $0.id < $1.id }) where v.catalog.tables[p.table] != nil {
                r.add {
                    $0["oid"] = .oid(PGOid.relation(p.id))
                    $0["polname"] = .name(p.name)
                    $0["polrelid"] = .oid(PGOid.relation(p.table))
                    $0["polcmd"] = .text(p.command.letter)
                    $0["polpermissive"] = .bool(p.permissive)
                    // 0 stands for PUBLIC, as in PostgreSQL.
                    $0["polroles"] = .array(p.roles.isEmpty ? [.oid(0)] : p.roles.map { .oid(v.roleOid(id: $0)) })
                    $0["polqual"] = p.using.map { .text($0) } ?? .null
                    $0["polwithcheck"] = p.check.map { .text($0) } ?? .null
                }
            }
        },
        SystemTable(c, "pg_policies", oid: 12010, view: true, """
            schemaname name, tablename name, policyname name, permissive text, roles name[], cmd text, qual text, with_check text
            """) { v, r in
            for p in v.catalog.policies.values.sorted(by: { $0.name < $1.name }) {
                guard let t = v.catalog.tables[p.table] else { continue }
                r.add {
                    $0["schemaname"] = .name(t.schema)
                    $0["tablename"] = .name(t.name)
                    $0["policyname"] = .name(p.name)
                    $0["permissive"] = .text(p.permissive ? "PERMISSIVE" : "RESTRICTIVE")
                    $0["roles"] = .array(p.roles.isEmpty ? [.name("public")] : p.roles.map { .name(v.roleName(id: $0)) })
                    $0["cmd"] = .text(["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"][Int(p.command.rawValue)])
                    $0["qual"] = p.using.map { .text($0) } ?? .null
                    $0["with_check"] = p.check.map { .text($0) } ?? .null
                }
            }
        },
        SystemTable(c, "pg_trigger", oid: 2620, """
            oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2, tgenabled char, tgisinternal bool, \
            tgconstrrelid oid, tgconstrindid oid, tgconstraint oid, tgdeferrable bool, tginitdeferred bool, tgnargs int2, \
            tgattr int2vector, tgargs text, tgqual node, tgoldtable name, tgnewtable name
            """) { _, _ in },
        SystemTable(c, "pg_rewrite", oid: 2618, """
            oid oid, rulename name, ev_class oid, ev_type char, ev_enabled char, is_instead bool, ev_qual node, ev_action node
            """) { _, _ in },
        SystemTable(c, "pg_statistic_ext", oid: 3381, """
            oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, stxstattarget int4, stxkeys int2vector, \
            stxkind char[], stxexprs node
            """) { _, _ in },
        SystemTable(c, "pg_publication", oid: 6104, """
            oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool, pubupdate bool, pubdelete bool, \
            pubtruncate bool, pubviaroot bool
            """) { _, _ in },
        SystemTable(c, "pg_publication_namespace", oid: 6237, "oid oid, pnpubid oid, pnnspid oid") { _, _ in },
        SystemTable(c, "pg_publication_rel", oid: 6106, "oid oid, prpubid oid, prrelid oid, prqual node, prattrs int2vector") { _, _ in },
        SystemTable(c, "pg_partitioned_table", oid: 3350, """
            partrelid oid, partstrat char, partnatts int2, partdefid oid, partattrs int2vector, partclass oidvector, \
            partcollation oidvector, partexprs node
            """) { _, _ in },
        SystemTable(c, "pg_extension", oid: 3079, """
            oid oid, extname name, extowner oid, extnamespace oid, extrelocatable bool, extversion text, extconfig oid[], \
            extcondition text[]
            """) { _, _ in },
        SystemTable(c, "pg_prepared_xacts", oid: 12008, view: true, """
            transaction xid, gid text, prepared timestamptz, owner name, database name
            """) { _, _ in },
    ]

    /// The default btree operator class of a type (one per type here).
    static func opclassOid(_ typeOid: Int64) -> Int64 { 20000 + typeOid }

    static func actionCode(_ a: ForeignKeyAction) -> String {
        switch a {
        case .noAction: return "a"
        case .restrict: return "r"
        case .cascade: return "c"
        case .setNull: return "n"
        case .setDefault: return "d"
        }
    }
}

extension SettingDefinition.Kind {
    /// Shown, never set (pg_settings.context "internal").
    var isReadOnly: Bool {
        if case .readOnly = self { return true }
        return false
    }

    /// pg_settings.vartype.
    var pgType: String {
        switch self {
        case .bool: return "bool"
        case .millis, .integer: return "integer"
        case .choice: return "enum"
        case .text, .timeZone, .readOnly: return "string"
        }
    }
}

extension CatalogView {
    /// The session's settings as SHOW ALL lists them.
    var settings: [(String, String)] { session?.settings.all ?? [] }

    /// A view's k-th column type (text when its query no longer binds).
    func viewColumnType(_ v: ViewDef, _ k: Int) -> SQLType {
        viewTypes?(v)?[safe: k] ?? .text
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { i >= 0 && i < count ? self[i] : nil }
}
