import DriftCore
import Testing
@testable import DriftCDC

/// The Kafka Connect schemas of `schemas: true`, byte for byte as JsonConverter
/// (`schemas.enable=true`) writes Debezium's PostgreSQL connector's schemas.
@Suite struct DebeziumSchemasTests {
    func schema(_ build: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        build(&w)
        return w.text
    }

    func field(_ type: SQLType, _ name: String? = "c", optional: Bool = true) -> String {
        schema { DebeziumSchemas.field(type, name: name, optional: optional, to: &$0) }
    }

    let mood = EnumType(id: 1, name: "mood", labels: ["sad", "ok", "happy"])

    var orders: TableDef {
        TableDef(id: 7, name: "orders", columns: [
            ColumnDef(name: "id", type: .int4),
            ColumnDef(name: "gone", type: .text, isDropped: true),
            ColumnDef(name: "note", type: .text),
            ColumnDef(name: "total", type: .decimal(precision: 10, scale: 2), notNull: true),
            ColumnDef(name: "placed", type: .timestamptz),
            ColumnDef(name: "day", type: .date),
            ColumnDef(name: "tags", type: .array(.int4)),
            ColumnDef(name: "mood", type: .enumeration(mood)),
        ], primaryKey: [0], origin: .sql)
    }

    /// The fields of `shop.public.orders.Value`: the primary key and NOT NULL columns are
    /// required, the dropped column is left out.
    let columns = [
        #"{"type":"int32","optional":false,"field":"id"}"#,
        #"{"type":"string","optional":true,"field":"note"}"#,
        #"{"type":"string","optional":false,"field":"total"}"#,
        #"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"placed"}"#,
        #"{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"day"}"#,
        #"{"type":"array","items":{"type":"int32","optional":true},"optional":true,"field":"tags"}"#,
        #"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"sad,ok,happy"},"field":"mood"}"#,
    ].joined(separator: ",")

    @Test func theValueSchemaIsTheEnvelopeOfBeforeAfterSourceTransactionOpAndTimes() {
        let value = #"{"type":"struct","fields":["# + columns + #"],"optional":true,"name":"shop.public.orders.Value""#
        let sourceFields = [
            #"{"type":"string","optional":false,"field":"version"}"#,
            #"{"type":"string","optional":false,"field":"connector"}"#,
            #"{"type":"string","optional":false,"field":"name"}"#,
            #"{"type":"int64","optional":false,"field":"ts_ms"}"#,
            #"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"#
                + #""parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"#
                + #""default":"false","field":"snapshot"}"#,
            #"{"type":"string","optional":false,"field":"db"}"#,
            #"{"type":"string","optional":true,"field":"sequence"}"#,
            #"{"type":"int64","optional":true,"field":"ts_us"}"#,
            #"{"type":"int64","optional":true,"field":"ts_ns"}"#,
            #"{"type":"string","optional":false,"field":"schema"}"#,
            #"{"type":"string","optional":false,"field":"table"}"#,
            #"{"type":"int64","optional":true,"field":"txId"}"#,
            #"{"type":"int64","optional":true,"field":"lsn"}"#,
            #"{"type":"int64","optional":true,"field":"xmin"}"#,
            #"{"type":"int64","optional":false,"field":"seq"}"#,
        ].joined(separator: ",")
        let source = #"{"type":"struct","fields":["# + sourceFields
            + #"],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}"#
        let transaction = [
            #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},"#,
            #"{"type":"int64","optional":false,"field":"total_order"},"#,
            #"{"type":"int64","optional":false,"field":"data_collection_order"}],"#,
            #""optional":true,"name":"event.block","version":1,"field":"transaction"}"#,
        ].joined()
        let fields = [
            value + #","field":"before"}"#,
            value + #","field":"after"}"#,
            source,
            transaction,
            #"{"type":"string","optional":false,"field":"op"}"#,
            #"{"type":"int64","optional":true,"field":"ts_ms"}"#,
            #"{"type":"int64","optional":true,"field":"ts_us"}"#,
            #"{"type":"int64","optional":true,"field":"ts_ns"}"#,
        ].joined(separator: ",")
        let expected = #"{"type":"struct","fields":["# + fields + #"],"optional":false,"name":"shop.public.orders.Envelope","version":2}"#
        let table = orders
        let written = schema { DebeziumSchemas.value(table, prefix: "shop", rowEnvelope: false, to: &$0) }
        #expect(written == expected)
    }

    @Test func theRowEnvelopesValueSchemaIsTheValueStructAlone() {
        let table = orders
        #expect(schema { DebeziumSchemas.value(table, prefix: "shop", rowEnvelope: true, to: &$0) }
            == #"{"type":"struct","fields":["# + columns + #"],"optional":true,"name":"shop.public.orders.Value"}"#)
    }

    @Test func keySchemasAreThePrimaryKeyInKeyOrderOrTheHiddenRowId() {
        let table = orders
        #expect(schema { DebeziumSchemas.key(table, prefix: "shop", to: &$0) }
            == #"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"shop.public.orders.Key"}"#)
        let composite = TableDef(id: 8, schema: "sales", name: "lines", columns: [ColumnDef(name: "a", type: .text), ColumnDef(name: "b", type: .int8)],
                                 primaryKey: [1, 0], origin: .sql)
        #expect(schema { DebeziumSchemas.key(composite, prefix: "shop", to: &$0) }
            == #"{"type":"struct","fields":[{"type":"int64","optional":false,"field":"b"},{"type":"string","optional":false,"field":"a"}],"#
            + #""optional":false,"name":"shop.sales.lines.Key"}"#)
        let heap = TableDef(id: 9, name: "log", columns: [ColumnDef(name: "v", type: .text)], primaryKey: [], origin: .sql)
        #expect(schema { DebeziumSchemas.key(heap, prefix: "shop", to: &$0) }
            == #"{"type":"struct","fields":[{"type":"int64","optional":false,"field":"drift_row_id"}],"optional":false,"name":"shop.public.log.Key"}"#)
    }

    @Test func columnSchemasFollowTheValueEncodings() {
        #expect(field(.bool) == #"{"type":"boolean","optional":true,"field":"c"}"#)
        #expect(field(.int2) == #"{"type":"int16","optional":true,"field":"c"}"#)
        #expect(field(.int8, optional: false) == #"{"type":"int64","optional":false,"field":"c"}"#)
        #expect(field(.float4) == #"{"type":"float","optional":true,"field":"c"}"#)
        #expect(field(.float8) == #"{"type":"double","optional":true,"field":"c"}"#)
        #expect(field(.numeric) == #"{"type":"string","optional":true,"field":"c"}"#)
        #expect(field(.varchar(10)) == #"{"type":"string","optional":true,"field":"c"}"#)
        #expect(field(.bpchar(3)) == #"{"type":"string","optional":true,"field":"c"}"#)
        #expect(field(.bytea) == #"{"type":"bytes","optional":true,"field":"c"}"#)
        #expect(field(.uuid) == #"{"type":"string","optional":true,"name":"io.debezium.data.Uuid","version":1,"field":"c"}"#)
        #expect(field(.jsonb) == #"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"c"}"#)
        #expect(field(.modified(.time, typmod: 3)) == #"{"type":"int32","optional":true,"name":"io.debezium.time.Time","version":1,"field":"c"}"#)
        #expect(field(.time) == #"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"c"}"#)
        #expect(field(.modified(.timestamp, typmod: 0)) == #"{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1,"field":"c"}"#)
        #expect(field(.modified(.timestamp, typmod: 4)) == #"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"c"}"#)
        #expect(field(.modified(.timestamptz, typmod: 0)) == #"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"c"}"#)
        #expect(field(.interval) == #"{"type":"int64","optional":true,"name":"io.debezium.time.MicroDuration","version":1,"field":"c"}"#)
        #expect(field(.array(.modified(.timestamp, typmod: 3)))
            == #"{"type":"array","items":{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1},"optional":true,"field":"c"}"#)
        // As Debezium builds them, enum arrays' elements are required.
        #expect(field(.array(.enumeration(mood)), nil, optional: false)
            == #"{"type":"array","items":{"type":"string","optional":false,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"sad,ok,happy"}},"optional":false}"#)
    }

    @Test func transactionTopicSchemas() {
        #expect(schema { DebeziumSchemas.transactionKey(to: &$0) }
            == #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],"#
            + #""optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1}"#)
        #expect(schema { DebeziumSchemas.transactionValue(to: &$0) }
            == #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},"#
            + #"{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":true,"field":"event_count"},"#
            + #"{"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"data_collection"},"#
            + #"{"type":"int64","optional":false,"field":"event_count"}],"optional":true,"name":"event.collection","version":1},"#
            + #""optional":true,"field":"data_collections"},{"type":"int64","optional":false,"field":"ts_ms"}],"#
            + #""optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1}"#)
    }

    @Test func withSchemasEachKeyAndValueCarriesItsSchema() {
        var e = DebeziumEncoder(prefix: "shop", database: "driftdb", version: "0.4.0", transactionTopic: "shop.transaction")
        e.schemas = true
        let table = orders
        let keySchema = schema { DebeziumSchemas.key(table, prefix: "shop", to: &$0) }
        let key = String(decoding: e.key(table, [.int(1)]), as: UTF8.self)
        #expect(key == #"{"schema":"# + keySchema + #","payload":{"id":1}}"#)
        let t = CommittedTransaction(seq: 3, timestamp: 0, events: [
            ChangeEvent(kind: .insert, table: table, key: [.int(1)], before: nil,
                        after: [.int(1), .null, .null, .null, .null, .null, .null, .null], ddl: nil),
        ])
        let records = e.records(t, nowMicros: 0)
        #expect(records.count == 3)
        let valueSchema = schema { DebeziumSchemas.value(table, prefix: "shop", rowEnvelope: false, to: &$0) }
        let value = records[1].value.map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(value.hasPrefix(#"{"schema":"# + valueSchema + #","payload":{"before":null,"after":{"id":1,"note":null,"#))
        let transactionKeySchema = schema { DebeziumSchemas.transactionKey(to: &$0) }
        let beginKey = records[0].key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(beginKey == #"{"schema":"# + transactionKeySchema + #","payload":{"id":"3"}}"#)
    }
}
