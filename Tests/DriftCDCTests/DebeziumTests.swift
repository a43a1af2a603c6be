import DriftCore
import Testing
@testable import DriftCDC

/// The records a Debezium consumer reads: value encodings, keys, envelopes and the
/// transaction topic, byte for byte (keys decide partitions, so they must be exact).
@Suite struct DebeziumTests {
    func json(_ value: Value, _ type: SQLType) -> String {
        var w = JSONWriter()
        DebeziumValues.write(value, type, to: &w)
        return w.text
    }

    @Test func stringsAreEscapedAsJacksonEscapesThem() {
        #expect(json(.text("a\"b\\c\nd\te\u{1}f\u{8}\u{c}\r/é"), .text) == #""a\"b\\c\nd\te\u0001f\b\f\r/é""#)
    }

    @Test func valuesAreEncodedAsDebeziumsPostgresConnectorWithNumericAsText() throws {
        #expect(json(.bool(true), .bool) == "true")
        #expect(json(.int(-42), .int8) == "-42")
        #expect(json(.null, .int4) == "null")
        #expect(json(.double(1.5), .float8) == "1.5")
        #expect(json(.double(Double(Float(1.1))), .float4) == "1.1")
        #expect(json(.double(.nan), .float8) == #""NaN""#)
        #expect(json(.double(-.infinity), .float8) == #""-Infinity""#)
        let n = try #require(Numeric("1234.50"))
        #expect(json(.numeric(n), .decimal(precision: 10, scale: 2)) == #""1234.50""#)
        #expect(json(.numeric(.infinity), .numeric) == #""POSITIVE_INFINITY""#)
        #expect(json(.bytes([0xDE, 0xAD, 0xBE, 0xEF]), .bytea) == #""3q2+7w==""#)
        #expect(json(.bytes([1]), .bytea) == #""AQ==""#)
        #expect(json(.json(#"{"gift": true}"#), .jsonb) == #""{\"gift\": true}""#)
        // 2026-11-30: 9830 days after 2000-01-01, 20787 after 1970-01-01.
        #expect(json(.date(9830), .date) == "20787")
        #expect(json(.time(49_510_500_000), .time) == "49510500000")
        #expect(json(.time(49_510_500_000), .modified(.time, typmod: 3)) == "49510500")
        // 2026-11-30 04:21:00.123456 (UTC for timestamptz).
        let t: Int64 = 849_327_660_123_456
        #expect(json(.timestamp(t), .timestamp) == "1796012460123456")
        #expect(json(.timestamp(t), .modified(.timestamp, typmod: 3)) == "1796012460123")
        #expect(json(.timestamptz(t), .timestamptz) == #""2026-11-30T04:21:00.123456Z""#)
        #expect(json(.timestamptz(t), .modified(.timestamptz, typmod: 0)) == #""2026-11-30T04:21:00Z""#)
        #expect(json(.timestamptz(t - 123_456), .modified(.timestamptz, typmod: 3)) == #""2026-11-30T04:21:00.000Z""#)
        #expect(json(.timestamptz(Int64.max), .timestamptz) == #""infinity""#)
        // Julian day 0 (4714-11-24 BC, PostgreSQL's day -2451545) is the astronomical year
        // -4713; 8000 years after 2000-01-01 (2921940 days) the year gets a +.
        #expect(DebeziumValues.isoTimestamp(-2_451_545 * 86_400_000_000 - 1, digits: 6) == "-4713-11-23T23:59:59.999999Z")
        #expect(DebeziumValues.isoTimestamp(2_921_940 * 86_400_000_000, digits: 0) == "+10000-01-01T00:00:00Z")
        #expect(json(.interval(Interval(months: 1)), .interval) == "2629800000000")
        #expect(json(.interval(Interval(months: 14, days: 3, micros: 14_706_780_000)), .interval) == "37091106780000")
        #expect(json(.array([.int(1), .null, .int(3)]), .array(.int4)) == "[1,null,3]")
        #expect(json(.array([.timestamptz(t)]), .array(.timestamptz)) == #"["2026-11-30T04:21:00.123456Z"]"#)
    }

    let orders = TableDef(id: 7, name: "orders", columns: [
        ColumnDef(name: "id", type: .int4, notNull: true),
        ColumnDef(name: "gone", type: .text, isDropped: true),
        ColumnDef(name: "customer", type: .text, notNull: true),
        ColumnDef(name: "total", type: .decimal(precision: 10, scale: 2)),
    ], primaryKey: [0], origin: .sql)

    func encoder(transactions: Bool = true) -> DebeziumEncoder {
        DebeziumEncoder(prefix: "shop", database: "driftdb", version: "0.4.0", transactionTopic: transactions ? "shop.transaction" : nil)
    }

    func text(_ b: [UInt8]?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }

    @Test func keysAreThePrimaryKeyInKeyOrderOrTheHiddenRowId() {
        let e = encoder()
        #expect(text(e.key(orders, [.int(1)])) == #"{"id":1}"#)
        let composite = TableDef(id: 8, name: "lines", columns: [ColumnDef(name: "a", type: .text), ColumnDef(name: "b", type: .int8)],
                                 primaryKey: [1, 0], origin: .sql)
        #expect(text(e.key(composite, [.int(2), .text("x")])) == #"{"b":2,"a":"x"}"#)
        let heap = TableDef(id: 9, name: "log", columns: [ColumnDef(name: "v", type: .text)], primaryKey: [], origin: .sql)
        #expect(text(e.key(heap, [.int(17)])) == #"{"drift_row_id":17}"#)
    }

    @Test func aTransactionBecomesBeginItsChangesWithTombstonesAndEnd() throws {
        let items = TableDef(id: 10, schema: "sales", name: "items", columns: [ColumnDef(name: "k", type: .text)], primaryKey: [0], origin: .sql)
        let n = try #require(Numeric("9.50"))
        let row: [Value] = [.int(1), .null, .text("ann"), .numeric(n)]
        var row2 = row
        row2[2] = .text("bob")
        let t = CommittedTransaction(seq: 42, timestamp: 1_796_012_460_123_456, events: [
            ChangeEvent(kind: .insert, table: orders, key: [.int(1)], before: nil, after: row, ddl: nil),
            ChangeEvent(kind: .ddl, table: orders, key: [], before: nil, after: nil, ddl: nil),
            ChangeEvent(kind: .update, table: orders, key: [.int(1)], before: row, after: row2, ddl: nil),
            ChangeEvent(kind: .insert, table: items, key: [.text("x")], before: nil, after: [.text("x")], ddl: nil),
            ChangeEvent(kind: .delete, table: orders, key: [.int(1)], before: row2, after: nil, ddl: nil),
            ChangeEvent(kind: .truncate, table: items, key: [], before: nil, after: nil, ddl: nil),
        ])
        let records = encoder().records(t, nowMicros: 1_796_012_460_200_000)
        #expect(records.map { $0.topic } == ["shop.transaction", "shop.public.orders", "shop.public.orders", "shop.sales.items",
                                         "shop.public.orders", "shop.public.orders", "shop.sales.items", "shop.transaction"])
        #expect(records.allSatisfy { $0.seq == 42 })
        #expect(text(records[0].key) == #"{"id":"42"}"#)
        #expect(text(records[0].value) == #"{"status":"BEGIN","id":"42","event_count":null,"data_collections":null,"ts_ms":1796012460123}"#)
        let source = #"{"version":"0.4.0","connector":"driftdb","name":"shop","ts_ms":1796012460123,"snapshot":"false","db":"driftdb","#
            + #""sequence":"[\"41\",\"42\"]","ts_us":1796012460123456,"ts_ns":1796012460123456000,"schema":"public","table":"orders","#
            + #""txId":42,"lsn":42,"xmin":null,"seq":42}"#
        let now = #""ts_ms":1796012460200,"ts_us":1796012460200000,"ts_ns":1796012460200000000}"#
        #expect(text(records[1].value) == #"{"before":null,"after":{"id":1,"customer":"ann","total":"9.50"},"source":"# + source
            + #","transaction":{"id":"42","total_order":1,"data_collection_order":1},"op":"c","# + now)
        #expect(text(records[2].value) == #"{"before":{"id":1,"customer":"ann","total":"9.50"},"after":{"id":1,"customer":"bob","total":"9.50"},"source":"#
            + source + #","transaction":{"id":"42","total_order":2,"data_collection_order":2},"op":"u","# + now)
        #expect(text(records[3].value)?.contains(#""transaction":{"id":"42","total_order":3,"data_collection_order":1}"#) == true)
        #expect(text(records[4].value)?.contains(#""after":null"#) == true && text(records[4].value)?.contains(#""op":"d""#) == true)
        // The tombstone: the same key, no value.
        #expect(records[5].key == records[4].key && records[5].value == nil)
        #expect(records[6].key == nil && records[6].everyPartition)
        #expect(text(records[6].value)?.hasPrefix(#"{"before":null,"after":null,"source":{"#) == true)
        #expect(text(records[6].value)?.contains(#""op":"t""#) == true)
        #expect(text(records[7].value) == #"{"status":"END","id":"42","event_count":5,"data_collections":["#
            + #"{"data_collection":"public.orders","event_count":3},{"data_collection":"sales.items","event_count":2}],"ts_ms":1796012460123}"#)
    }

    @Test func theRowEnvelopeIsTheRowAfterAndADeleteIsATombstone() {
        var e = encoder(transactions: false)
        e.envelope = .row
        let row: [Value] = [.int(1), .null, .text("ann"), .null]
        let t = CommittedTransaction(seq: 5, timestamp: 0, events: [
            ChangeEvent(kind: .insert, table: orders, key: [.int(1)], before: nil, after: row, ddl: nil),
            ChangeEvent(kind: .delete, table: orders, key: [.int(1)], before: row, after: nil, ddl: nil),
            ChangeEvent(kind: .truncate, table: orders, key: [], before: nil, after: nil, ddl: nil),
        ])
        let records = e.records(t, nowMicros: 0)
        #expect(records.count == 2)
        #expect(text(records[0].value) == #"{"id":1,"customer":"ann","total":null}"#)
        #expect(text(records[1].key) == #"{"id":1}"# && records[1].value == nil)
    }

    @Test func tablesLeftOutAndTransactionsWithoutDataEventsWriteNothing() {
        let t = CommittedTransaction(seq: 9, timestamp: 0, events: [
            ChangeEvent(kind: .insert, table: orders, key: [.int(1)], before: nil, after: [.int(1), .null, .text("a"), .null], ddl: nil),
        ])
        #expect(encoder().records(t, nowMicros: 0, include: { $0.name != "orders" }).isEmpty)
    }
}
