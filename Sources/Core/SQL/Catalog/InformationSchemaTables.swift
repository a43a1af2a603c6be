import DriftCore
import DriftStorage

/// The SQL-standard `information_schema` views PostgreSQL 15 has, over the same catalog as
/// `pg_catalog` (read only when named with their schema, as PostgreSQL's search path does).
enum InformationSchemaTables {
    static let s = "information_schema"

    static let all: [SystemTable] = [
        SystemTable(s, "schemata", oid: 13001, view: true, """
            catalog_name name, schema_name name, schema_owner name, default_character_set_catalog name, \
            default_character_set_schema name, default_character_set_name name, sql_path text
            """) { v, r in
            for schema in v.schemas {
                r.add {
                    $0["catalog_name"] = .name(v.databaseName)
                    $0["schema_name"] = .name(schema)
                    $0["schema_owner"] = .name(v.userName)
                }
            }
        },
        SystemTable(s, "tables", oid: 13002, view: true, """
            table_catalog name, table_schema name, table_name name, table_type text, self_referencing_column_name name, \
            reference_generation text, user_defined_type_catalog name, user_defined_type_schema name, \
            user_defined_type_name name, is_insertable_into text, is_typed text, commit_action text
            """) { v, r in
            for rel in v.relations {
                let type: String
                switch rel.object {
                case .table: type = rel.schema == TemporaryTables.schema ? "LOCAL TEMPORARY" : "BASE TABLE"
                case .view: type = "VIEW"
                case .system(let t): type = t.isView ? "VIEW" : "BASE TABLE"
                default: continue
                }
                r.add {
                    $0["table_catalog"] = .name(v.databaseName)
                    $0["table_schema"] = .name(rel.schema)
                    $0["table_name"] = .name(rel.name)
                    $0["table_type"] = .text(type)
                    $0["is_insertable_into"] = .text(type == "VIEW" ? "NO" : "YES")
                    $0["is_typed"] = .text("NO")
                    if type == "LOCAL TEMPORARY" { $0["commit_action"] = .text("PRESERVE") }
                }
            }
        },
        SystemTable(s, "columns", oid: 13003, view: true, """
            table_catalog name, table_schema name, table_name name, column_name name, ordinal_position card, \
            column_default text, is_nullable text, data_type text, character_maximum_length card, \
            character_octet_length card, numeric_precision card, numeric_precision_radix card, numeric_scale card, \
            datetime_precision card, interval_type text, interval_precision card, character_set_catalog name, \
            character_set_schema name, character_set_name name, collation_catalog name, collation_schema name, \
            collation_name name, domain_catalog name, domain_schema name, domain_name name, udt_catalog name, \
            udt_schema name, udt_name name, scope_catalog name, scope_schema name, scope_name name, \
            maximum_cardinality card, dtd_identifier name, is_self_referencing text, is_identity text, \
            identity_generation text, identity_start text, identity_increment text, identity_maximum text, \
            identity_minimum text, identity_cycle text, is_generated text, generation_expression text, is_updatable text
            """) { v, r in
            func add(_ schema: String, _ table: String, _ name: String, _ type: SQLType, _ ordinal: Int, updatable: Bool,
                     set: (inout SystemRow) -> Void) {
                r.add {
                    $0["table_catalog"] = .name(v.databaseName)
                    $0["table_schema"] = .name(schema)
                    $0["table_name"] = .name(table)
                    $0["column_name"] = .name(name)
                    $0["ordinal_position"] = .int(Int64(ordinal))
                    $0["is_nullable"] = .text("YES")
                    InformationSchemaTables.describe(type, v, into: &$0)
                    $0["udt_catalog"] = .name(v.databaseName)
                    $0["dtd_identifier"] = .name(String(ordinal))
                    $0["is_self_referencing"] = .text("NO")
                    $0["is_identity"] = .text("NO")
                    $0["identity_cycle"] = .text("NO")
                    $0["is_generated"] = .text("NEVER")
                    $0["is_updatable"] = .text(updatable ? "YES" : "NO")
                    set(&$0)
                }
            }
            for rel in v.relations {
                switch rel.object {
                case .table(let t):
                    // ordinal_position is the attribute number: a dropped column leaves its gap.
                    for p in t.visibleColumns {
                        let col = t.columns[p]
                        let identity = t.options["drift.identity.\(p)"]
                        add(t.schema, t.name, col.name, col.type, p + 1, updatable: true) {
                            $0["is_nullable"] = .text(col.notNull ? "NO" : "YES")
                            if identity == nil, let d = col.defaultSQL { $0["column_default"] = .text(d) }
                            if let identity {
                                $0["is_identity"] = .text("YES")
                                $0["identity_generation"] = .text(identity == "a" ? "ALWAYS" : "BY DEFAULT")
                                if let seq = v.ownedSequence(t, column: p) {
                                    $0["identity_start"] = .text(String(seq.start))
                                    $0["identity_increment"] = .text(String(seq.increment))
                                    $0["identity_maximum"] = .text(String(seq.maxValue))
                                    $0["identity_minimum"] = .text(String(seq.minValue))
                                    $0["identity_cycle"] = .text(seq.cycle ? "YES" : "NO")
                                }
                            }
                        }
                    }
                case .view(let view):
                    for (k, n) in view.columnNames.enumerated() {
                        add(view.schema, view.name, n, v.viewColumnType(view, k), k + 1, updatable: false) { _ in }
                    }
                case .system(let t):
                    for (k, col) in t.columns.enumerated() {
                        add(t.schema, t.name, col.name, col.type, k + 1, updatable: false) { _ in }
                    }
                default:
                    continue
                }
            }
        },
        SystemTable(s, "views", oid: 13004, view: true, """
            table_catalog name, table_schema name, table_name name, view_definition text, check_option text, \
            is_updatable text, is_insertable_into text, is_trigger_updatable text, is_trigger_deletable text, \
            is_trigger_insertable_into text
            """) { v, r in
            for view in v.catalog.views.values.sorted(by: { ($0.schema, $0.name) < ($1.schema, $1.name) }) {
                r.add {
                    $0["table_catalog"] = .name(v.databaseName)
                    $0["table_schema"] = .name(view.schema)
                    $0["table_name"] = .name(view.name)
                    $0["view_definition"] = .text(view.sql)
                    $0["check_option"] = .text("NONE")
                    for k in ["is_updatable", "is_insertable_into", "is_trigger_updatable", "is_trigger_deletable",
                              "is_trigger_insertable_into"] { $0[k] = .text("NO") }
                }
            }
        },
        SystemTable(s, "table_constraints", oid: 13005, view: true, """
            constraint_catalog name, constraint_schema name, constraint_name name, table_catalog name, table_schema name, \
            table_name name, constraint_type text, is_deferrable text, initially_deferred text, enforced text, nulls_distinct text
            """) { v, r in
            for c in v.allConstraints {
                r.add {
                    InformationSchemaTables.name(c, v, into: &$0)
                    $0["constraint_type"] = .text(["p": "PRIMARY KEY", "u": "UNIQUE", "f": "FOREIGN KEY", "c": "CHECK"][c.type] ?? "CHECK")
                    $0["is_deferrable"] = .text("NO")
                    $0["initially_deferred"] = .text("NO")
                    $0["enforced"] = .text("YES")
                    if c.type == "p" || c.type == "u" { $0["nulls_distinct"] = .text("YES") }
                }
            }
        },
        SystemTable(s, "key_column_usage", oid: 13006, view: true, """
            constraint_catalog name, constraint_schema name, constraint_name name, table_catalog name, table_schema name, \
            table_name name, column_name name, ordinal_position card, position_in_unique_constraint card
            """) { v, r in
            for c in v.allConstraints where c.type != "c" {
                for (k, p) in c.columns.enumerated() where p < c.table.columns.count {
                    r.add {
                        InformationSchemaTables.name(c, v, into: &$0)
                        $0["column_name"] = .name(c.table.columns[p].name)
                        $0["ordinal_position"] = .int(Int64(k + 1))
                        $0["position_in_unique_constraint"] = c.type == "f" ? .int(Int64(k + 1)) : .null
                    }
                }
            }
        },
        SystemTable(s, "referential_constraints", oid: 13007, view: true, """
            constraint_catalog name, constraint_schema name, constraint_name name, unique_constraint_catalog name, \
            unique_constraint_schema name, unique_constraint_name name, match_option text, update_rule text, delete_rule text
            """) { v, r in
            for c in v.allConstraints where c.type == "f" {
                guard let fk = c.foreignKey else { continue }
                let ref = v.catalog.table(id: fk.refTable)
                let key = ref.flatMap { t in v.constraints(of: t).first { ($0.type == "p" || $0.type == "u") && $0.columns == fk.refColumns } }
                r.add {
                    $0["constraint_catalog"] = .name(v.databaseName)
                    $0["constraint_schema"] = .name(c.table.schema)
                    $0["constraint_name"] = .name(c.name)
                    $0["unique_constraint_catalog"] = .name(v.databaseName)
                    $0["unique_constraint_schema"] = ref.map { .name($0.schema) } ?? .null
                    $0["unique_constraint_name"] = key.map { .name($0.name) } ?? .null
                    $0["match_option"] = .text(fk.matchFull ? "FULL" : "NONE")
                    $0["update_rule"] = .text(fk.onUpdate.sql)
                    $0["delete_rule"] = .text(fk.onDelete.sql)
                }
            }
        },
        SystemTable(s, "sequences", oid: 13008, view: true, """
            sequence_catalog name, sequence_schema name, sequence_name name, data_type text, numeric_precision card, \
            numeric_precision_radix card, numeric_scale card, start_value text, minimum_value text, maximum_value text, \
            increment text, cycle_option text
            """) { v, r in
            for seq in v.catalog.sequences.values.sorted(by: { ($0.schema, $0.name) < ($1.schema, $1.name) }) {
                r.add {
                    $0["sequence_catalog"] = .name(v.databaseName)
                    $0["sequence_schema"] = .name(seq.schema)
                    $0["sequence_name"] = .name(seq.name)
                    $0["data_type"] = .text(seq.type.name)
                    $0["numeric_precision"] = .int(seq.type == .int2 ? 16 : seq.type == .int4 ? 32 : 64)
                    $0["numeric_precision_radix"] = .int(2)
                    $0["numeric_scale"] = .int(0)
                    $0["start_value"] = .text(String(seq.start))
                    $0["minimum_value"] = .text(String(seq.minValue))
                    $0["maximum_value"] = .text(String(seq.maxValue))
                    $0["increment"] = .text(String(seq.increment))
                    $0["cycle_option"] = .text(seq.cycle ? "YES" : "NO")
                }
            }
        },
    ]

    /// The six columns naming a constraint and its table.
    static func name(_ c: PGConstraint, _ v: CatalogView, into row: inout SystemRow) {
        row["constraint_catalog"] = .name(v.databaseName)
        row["constraint_schema"] = .name(c.table.schema)
        row["constraint_name"] = .name(c.name)
        row["table_catalog"] = .name(v.databaseName)
        row["table_schema"] = .name(c.table.schema)
        row["table_name"] = .name(c.table.name)
    }

    /// data_type, lengths, precisions and udt_name of a column type.
    static func describe(_ type: SQLType, _ v: CatalogView, into row: inout SystemRow) {
        let oid = CatalogView.typeOid(type)
        let builtin = BuiltinType.byOid[oid]
        row["udt_schema"] = .name("pg_catalog")
        row["udt_name"] = .name(builtin?.name ?? "")
        switch type.base {
        case .array:
            row["data_type"] = .text("ARRAY")
        case .enumeration(let e):
            row["data_type"] = .text("USER-DEFINED")
            row["udt_schema"] = .name(e.schema)
            row["udt_name"] = .name(e.name)
        default:
            row["data_type"] = .text(v.formatType(oid, -1))
        }
        switch type {
        case .varchar(let n), .bpchar(let n):
            if let n { row["character_maximum_length"] = .int(Int64(n)) }
            row["character_octet_length"] = .int(Int64(min((n ?? 262_144) * 4, 1_073_741_824)))
        case .text:
            row["character_octet_length"] = .int(1_073_741_824)
        case .int2, .int4, .int8:
            row["numeric_precision"] = .int(type == .int2 ? 16 : type == .int4 ? 32 : 64)
            row["numeric_precision_radix"] = .int(2)
            row["numeric_scale"] = .int(0)
        case .float4, .float8:
            row["numeric_precision"] = .int(type == .float4 ? 24 : 53)
            row["numeric_precision_radix"] = .int(2)
        case .numeric:
            row["numeric_precision_radix"] = .int(10)
        case let .decimal(p, s):
            row["numeric_precision"] = .int(Int64(p))
            row["numeric_precision_radix"] = .int(10)
            row["numeric_scale"] = .int(Int64(s))
        case .date:
            row["datetime_precision"] = .int(0)
        case .time, .timestamp, .timestamptz, .interval:
            row["datetime_precision"] = .int(6)
        case .modified(let b, let typmod):
            if b == .interval { row["datetime_precision"] = .int(6) } else { row["datetime_precision"] = .int(Int64(typmod)) }
        default:
            break
        }
        if ColumnFacts(type).collation != 0 {
            row["collation_catalog"] = .null
        }
    }
}
