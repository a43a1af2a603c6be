import DriftCore

/// Kafka Connect schemas of the records `DebeziumEncoder` writes, as Kafka Connect's
/// JsonConverter writes them with `schemas.enable=true` for Debezium's PostgreSQL connector
/// (its default settings, `decimal.handling.mode=string`).
///
/// JsonConverter writes a schema's members in this order: `type`, `fields` (a struct) or
/// `items` (an array), `optional`, `name`, `version`, `doc`, `parameters`, `default`, and,
/// for a member of a struct, `field` last. A struct's fields come in the order the payload
/// writes them:
///
/// - key: `<prefix>.<schema>.<table>.Key`, the primary-key columns in key order (or
///   `drift_row_id`, int64), required;
/// - value: the envelope `<prefix>.<schema>.<table>.Envelope` (version 2) of `before` and
///   `after` (both the optional struct `<prefix>.<schema>.<table>.Value` of the live
///   columns), `source` (`io.debezium.connector.postgresql.Source`, version 1, with
///   DriftDB's `seq` last), `transaction` (`event.block`), `op`, `ts_ms`, `ts_us`, `ts_ns`;
///   for the row envelope, the `Value` struct alone;
/// - the transaction topic: `io.debezium.connector.common.TransactionMetadataKey` and
///   `io.debezium.connector.common.TransactionMetadataValue`.
///
/// A column is optional unless it is NOT NULL or part of the primary key.
enum DebeziumSchemas {
    /// The values `source.snapshot` may take (Debezium's `SnapshotRecord`, lowercased).
    static let snapshotValues = "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"

    /// The key schema of `table` (for a table keyed by its hidden row id: one int64 field
    /// "drift_row_id").
    static func key(_ table: TableDef, prefix: String, to w: inout JSONWriter) {
        structure(recordName(table, prefix: prefix) + ".Key", to: &w) { w in
            if table.hasRowId {
                field(.int8, name: DebeziumEncoder.rowIdKey, optional: false, to: &w)
            } else {
                for p in table.primaryKey where p < table.columns.count {
                    field(table.columns[p].type, name: table.columns[p].name, optional: false, to: &w)
                }
            }
        }
    }

    /// The value schema: the envelope struct (before, after, source, transaction, op, ts_ms,
    /// ts_us, ts_ns) for the debezium envelope; for the row envelope, the `Value` struct
    /// alone (optional).
    static func value(_ table: TableDef, prefix: String, rowEnvelope: Bool, to w: inout JSONWriter) {
        let name = recordName(table, prefix: prefix)
        if rowEnvelope {
            row(table, name: name + ".Value", field: nil, to: &w)
            return
        }
        structure(name + ".Envelope", version: 2, to: &w) { w in
            row(table, name: name + ".Value", field: "before", to: &w)
            row(table, name: name + ".Value", field: "after", to: &w)
            source(to: &w)
            transactionBlock(to: &w)
            simple("string", "op", optional: false, to: &w)
            simple("int64", "ts_ms", optional: true, to: &w)
            simple("int64", "ts_us", optional: true, to: &w)
            simple("int64", "ts_ns", optional: true, to: &w)
        }
    }

    /// The schema of one column's values (field name given), as used inside `Value`; with
    /// no name, an array's `items`. Matches what `DebeziumValues.write` writes for `type`.
    static func field(_ type: SQLType, name: String?, optional: Bool, to w: inout JSONWriter) {
        w.beginObject()
        let kind = connectType(type)
        w.key("type"); w.string(kind.type)
        if let element = kind.items {
            // DebeziumValues writes an array's elements as of `type.base`'s element type.
            // Debezium's enum arrays alone have required elements.
            var elementOptional = true
            if case .enumeration = element.base { elementOptional = false }
            w.key("items")
            field(element, name: nil, optional: elementOptional, to: &w)
        }
        w.key("optional"); w.bool(optional)
        if let logical = kind.logical {
            w.key("name"); w.string(logical)
            w.key("version"); w.int(1)
        }
        if let allowed = kind.allowed {
            w.key("parameters")
            w.beginObject()
            w.key("allowed"); w.string(allowed)
            w.endObject()
        }
        if let name {
            w.key("field"); w.string(name)
        }
        w.endObject()
    }

    /// Transaction topic key schema: `{id}`.
    static func transactionKey(to w: inout JSONWriter) {
        structure("io.debezium.connector.common.TransactionMetadataKey", version: 1, to: &w) {
            simple("string", "id", optional: false, to: &$0)
        }
    }

    /// Transaction topic value schema: `{status, id, event_count, data_collections
    /// [{data_collection, event_count}], ts_ms}` (event_count and data_collections are null
    /// in BEGIN).
    static func transactionValue(to w: inout JSONWriter) {
        structure("io.debezium.connector.common.TransactionMetadataValue", version: 1, to: &w) { w in
            simple("string", "status", optional: false, to: &w)
            simple("string", "id", optional: false, to: &w)
            simple("int64", "event_count", optional: true, to: &w)
            array("data_collections", optional: true, to: &w) { w in
                structure("event.collection", optional: true, version: 1, to: &w) { w in
                    simple("string", "data_collection", optional: false, to: &w)
                    simple("int64", "event_count", optional: false, to: &w)
                }
            }
            simple("int64", "ts_ms", optional: false, to: &w)
        }
    }

    // MARK: - Parts

    /// `<prefix>.<schema>.<table>`: the topic, and the stem of the record schemas' names.
    static func recordName(_ table: TableDef, prefix: String) -> String {
        prefix + "." + table.schema + "." + table.name
    }

    /// The `Value` struct: the live columns in position order, as `writeRow` writes them.
    static func row(_ table: TableDef, name: String, field: String?, to w: inout JSONWriter) {
        structure(name, field: field, optional: true, to: &w) { w in
            for (i, c) in table.columns.enumerated() where !c.isDropped {
                self.field(c.type, name: c.name, optional: !c.notNull && !table.primaryKey.contains(i), to: &w)
            }
        }
    }

    /// `source`: Debezium's PostgreSQL source block, fields as `writeSource` writes them.
    static func source(to w: inout JSONWriter) {
        structure("io.debezium.connector.postgresql.Source", field: "source", version: 1, to: &w) { w in
            simple("string", "version", optional: false, to: &w)
            simple("string", "connector", optional: false, to: &w)
            simple("string", "name", optional: false, to: &w)
            simple("int64", "ts_ms", optional: false, to: &w)
            w.beginObject()
            w.key("type"); w.string("string")
            w.key("optional"); w.bool(true)
            w.key("name"); w.string("io.debezium.data.Enum")
            w.key("version"); w.int(1)
            w.key("parameters")
            w.beginObject()
            w.key("allowed"); w.string(snapshotValues)
            w.endObject()
            w.key("default"); w.string("false")
            w.key("field"); w.string("snapshot")
            w.endObject()
            simple("string", "db", optional: false, to: &w)
            simple("string", "sequence", optional: true, to: &w)
            simple("int64", "ts_us", optional: true, to: &w)
            simple("int64", "ts_ns", optional: true, to: &w)
            simple("string", "schema", optional: false, to: &w)
            simple("string", "table", optional: false, to: &w)
            simple("int64", "txId", optional: true, to: &w)
            simple("int64", "lsn", optional: true, to: &w)
            simple("int64", "xmin", optional: true, to: &w)
            // DriftDB's own: the commit's seq, always set.
            simple("int64", "seq", optional: false, to: &w)
        }
    }

    /// `transaction`: `{id, total_order, data_collection_order}`, null without a
    /// transaction topic.
    static func transactionBlock(to w: inout JSONWriter) {
        structure("event.block", field: "transaction", optional: true, version: 1, to: &w) { w in
            simple("string", "id", optional: false, to: &w)
            simple("int64", "total_order", optional: false, to: &w)
            simple("int64", "data_collection_order", optional: false, to: &w)
        }
    }

    /// A struct member of a plain Connect type: `{"type":…,"optional":…,"field":…}`.
    static func simple(_ type: String, _ field: String, optional: Bool, to w: inout JSONWriter) {
        w.beginObject()
        w.key("type"); w.string(type)
        w.key("optional"); w.bool(optional)
        w.key("field"); w.string(field)
        w.endObject()
    }

    /// How a column type is described: the Connect type, the element type of an array,
    /// Debezium's logical type (all at version 1), and an enum's allowed labels.
    struct ConnectType {
        var type: String
        var items: SQLType? = nil
        var logical: String? = nil
        var allowed: String? = nil
    }

    static func connectType(_ type: SQLType) -> ConnectType {
        switch type.base {
        case .bool: return ConnectType(type: "boolean")
        case .int2: return ConnectType(type: "int16")
        case .int4: return ConnectType(type: "int32")
        // oid and the reg types are held as integers (Debezium maps oid to int64).
        case .int8, .oid, .reg: return ConnectType(type: "int64")
        case .float4: return ConnectType(type: "float")
        case .float8: return ConnectType(type: "double")
        // decimal.handling.mode=string: the exact text.
        case .numeric, .decimal: return ConnectType(type: "string")
        case .text, .varchar, .bpchar, .unknown: return ConnectType(type: "string")
        case .bytea: return ConnectType(type: "bytes")
        case .uuid: return ConnectType(type: "string", logical: "io.debezium.data.Uuid")
        case .json, .jsonb: return ConnectType(type: "string", logical: "io.debezium.data.Json")
        case .enumeration(let e):
            return ConnectType(type: "string", logical: "io.debezium.data.Enum", allowed: e.labels.joined(separator: ","))
        case .date: return ConnectType(type: "int32", logical: "io.debezium.time.Date")
        case .time:
            return DebeziumValues.precision(type) <= 3 ? ConnectType(type: "int32", logical: "io.debezium.time.Time")
                : ConnectType(type: "int64", logical: "io.debezium.time.MicroTime")
        case .timestamp:
            return DebeziumValues.precision(type) <= 3 ? ConnectType(type: "int64", logical: "io.debezium.time.Timestamp")
                : ConnectType(type: "int64", logical: "io.debezium.time.MicroTimestamp")
        case .timestamptz: return ConnectType(type: "string", logical: "io.debezium.time.ZonedTimestamp")
        case .interval: return ConnectType(type: "int64", logical: "io.debezium.time.MicroDuration")
        case .array(let element): return ConnectType(type: "array", items: element)
        // int2vector and oidvector are held as arrays of integers.
        case .vector(let element): return ConnectType(type: "array", items: element)
        // Not a column type in practice; written as text.
        case .record, .modified: return ConnectType(type: "string")
        }
    }
}

/// Schemas of the heartbeat and schema-change records (Debezium's `ServerNameKey`,
/// `Heartbeat`, `SchemaChangeKey` and `SchemaChangeValue` with its `Change`, `Table` and
/// `Column` structs), fields as `CDCSink.sendHeartbeat` and `schemaChangeRecords` write them.
extension DebeziumSchemas {
    /// A struct of `fields` (written by the closure), `name`d; `field` when it is a member.
    static func structure(_ name: String, field: String? = nil, optional: Bool = false, version: Int? = nil,
                          to w: inout JSONWriter, _ fields: (inout JSONWriter) -> Void) {
        w.beginObject()
        w.key("type"); w.string("struct")
        w.key("fields")
        w.beginArray()
        fields(&w)
        w.endArray()
        w.key("optional"); w.bool(optional)
        w.key("name"); w.string(name)
        if let version { w.key("version"); w.int(Int64(version)) }
        if let field { w.key("field"); w.string(field) }
        w.endObject()
    }

    /// An array member: `items` of a plain type, or a struct written by `items`.
    static func array(_ field: String, optional: Bool, to w: inout JSONWriter, _ items: (inout JSONWriter) -> Void) {
        w.beginObject()
        w.key("type"); w.string("array")
        w.key("items"); items(&w)
        w.key("optional"); w.bool(optional)
        w.key("field"); w.string(field)
        w.endObject()
    }

    static func heartbeatKey(to w: inout JSONWriter) {
        structure("io.debezium.connector.common.ServerNameKey", to: &w) { simple("string", "serverName", optional: false, to: &$0) }
    }

    static func heartbeatValue(to w: inout JSONWriter) {
        structure("io.debezium.connector.common.Heartbeat", to: &w) {
            simple("int64", "ts_ms", optional: false, to: &$0)
            simple("int64", "seq", optional: false, to: &$0)
        }
    }

    static func schemaChangeKey(to w: inout JSONWriter) {
        structure("io.debezium.connector.postgresql.SchemaChangeKey", to: &w) { simple("string", "databaseName", optional: false, to: &$0) }
    }

    static func schemaChangeValue(to w: inout JSONWriter) {
        structure("io.debezium.connector.postgresql.SchemaChangeValue", to: &w) { w in
            source(to: &w)
            simple("int64", "ts_ms", optional: false, to: &w)
            simple("string", "databaseName", optional: true, to: &w)
            simple("string", "schemaName", optional: true, to: &w)
            simple("string", "ddl", optional: true, to: &w)
            array("tableChanges", optional: false, to: &w) { w in
                structure("io.debezium.connector.schema.Change", to: &w) { w in
                    simple("string", "type", optional: false, to: &w)
                    simple("string", "id", optional: false, to: &w)
                    structure("io.debezium.connector.schema.Table", field: "table", optional: false, to: &w) { w in
                        simple("string", "defaultCharsetName", optional: true, to: &w)
                        array("primaryKeyColumnNames", optional: true, to: &w) { w in
                            w.beginObject()
                            w.key("type"); w.string("string")
                            w.key("optional"); w.bool(false)
                            w.endObject()
                        }
                        array("columns", optional: false, to: &w) { w in
                            structure("io.debezium.connector.schema.Column", to: &w) { w in
                                simple("string", "name", optional: false, to: &w)
                                simple("int32", "jdbcType", optional: false, to: &w)
                                simple("string", "typeName", optional: false, to: &w)
                                simple("string", "typeExpression", optional: true, to: &w)
                                simple("string", "charsetName", optional: true, to: &w)
                                simple("int32", "length", optional: true, to: &w)
                                simple("int32", "scale", optional: true, to: &w)
                                simple("int32", "position", optional: false, to: &w)
                                simple("boolean", "optional", optional: true, to: &w)
                                simple("boolean", "autoIncremented", optional: true, to: &w)
                                simple("boolean", "generated", optional: true, to: &w)
                                simple("string", "comment", optional: true, to: &w)
                                simple("boolean", "hasDefaultValue", optional: true, to: &w)
                                simple("string", "defaultValueExpression", optional: true, to: &w)
                                array("enumValues", optional: true, to: &w) { w in
                                    w.beginObject()
                                    w.key("type"); w.string("string")
                                    w.key("optional"); w.bool(false)
                                    w.endObject()
                                }
                            }
                        }
                        simple("string", "comment", optional: true, to: &w)
                    }
                }
            }
        }
    }
}
