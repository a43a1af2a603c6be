import DriftCore
import Testing
@testable import DriftCDC

/// The schema-change topic's statements and table changes, written from catalog events.
@Suite struct SchemaChangesTests {
    let orders = TableDef(id: 7, name: "orders", columns: [
        ColumnDef(name: "id", type: .int8, notNull: true, defaultSQL: "nextval('orders_id_seq'::regclass)"),
        ColumnDef(name: "Note", type: .varchar(20)),
        ColumnDef(name: "total", type: .decimal(precision: 10, scale: 2), notNull: true, defaultSQL: "0"),
    ], primaryKey: [0], origin: .sql)

    /// The change `event` makes to a catalog holding `start`.
    func describe(_ event: CatalogEvent, on start: [CatalogEvent] = []) throws -> SchemaChange? {
        var before = Catalog()
        for e in start { try before.apply(e) }
        var after = before
        try after.apply(event)
        return SchemaChange.describe(event, before: before, after: after)
    }

    @Test func tableEventsBecomeStatementsQuotedAsPostgreSQLQuotes() throws {
        let created = try #require(try describe(.createTable(orders)))
        #expect(created.ddl == #"CREATE TABLE public.orders (id bigint NOT NULL DEFAULT nextval('orders_id_seq'::regclass), "Note" character varying(20), total numeric(10,2) NOT NULL DEFAULT 0, CONSTRAINT orders_pkey PRIMARY KEY (id))"#)
        #expect(created.tableChange?.type == "CREATE")
        #expect(created.object == "public.orders")
        let renamed = try #require(try describe(.renameColumn(7, 1, "memo"), on: [.createTable(orders)]))
        #expect(renamed.ddl == #"ALTER TABLE public.orders RENAME COLUMN "Note" TO memo"#)
        #expect(renamed.tableChange?.table.columns[1].name == "memo")
        let dropped = try #require(try describe(.dropColumn(7, 2), on: [.createTable(orders)]))
        #expect(dropped.ddl == "ALTER TABLE public.orders DROP COLUMN total")
        let gone = try #require(try describe(.dropTable(7), on: [.createTable(orders)]))
        #expect(gone.ddl == "DROP TABLE public.orders")
        #expect(gone.tableChange?.type == "DROP")
        #expect(gone.tableChange?.table.name == "orders")
        let index = IndexDef(id: 20, name: "orders_total_idx", columns: [2], unique: true)
        #expect(try describe(.createIndex(7, index), on: [.createTable(orders)])?.ddl
            == "CREATE UNIQUE INDEX orders_total_idx ON public.orders (total)")
        #expect(try describe(.dropIndex(7, 20), on: [.createTable(orders), .createIndex(7, index)])?.ddl
            == "DROP INDEX public.orders_total_idx")
        #expect(try describe(.setNotNull(7, 1, true), on: [.createTable(orders)])?.ddl
            == #"ALTER TABLE public.orders ALTER COLUMN "Note" SET NOT NULL"#)
    }

    @Test func typesSchemasAndSequenceStateAreNotTableChanges() throws {
        let mood = EnumType(id: 30, name: "mood", labels: ["sad", "it's ok"])
        let created = try #require(try describe(.createEnum(mood)))
        #expect(created.ddl == "CREATE TYPE public.mood AS ENUM ('sad', 'it''s ok')")
        #expect(created.tableChange == nil && created.object == nil)
        #expect(try describe(.createSchema("Sales"))?.ddl == #"CREATE SCHEMA "Sales""#)
        let seq = SequenceDef(id: 40, name: "n", type: .int8, start: 1, increment: 1, minValue: 1, maxValue: Int64.max, cache: 1, cycle: false)
        #expect(try describe(.sequenceState(40, last: 5, called: true), on: [.createSequence(seq)]) == nil)
        #expect(try describe(.truncateTable(7), on: [.createTable(orders)]) == nil)
    }

    @Test func aRecordIsKeyedByTheDatabaseAndCarriesTheTableChange() throws {
        var before = Catalog()
        try before.apply(.createTable(orders))
        var after = before
        try after.apply(.addColumn(7, ColumnDef(name: "paid", type: .bool)))
        let t = CommittedTransaction(seq: 12, timestamp: 0, events: [
            ChangeEvent(kind: .ddl, table: after.tables[7], key: [], before: nil, after: nil, ddl: .addColumn(7, ColumnDef(name: "paid", type: .bool))),
        ])
        let e = DebeziumEncoder(prefix: "shop", database: "driftdb", version: "0.4.0")
        let records = e.schemaChangeRecords(t, topic: "shop.schema", before: before, after: after, nowMicros: 1_000, include: { _ in true })
        #expect(records.count == 1)
        #expect(String(decoding: records[0].key ?? [], as: UTF8.self) == #"{"databaseName":"driftdb"}"#)
        let value = String(decoding: records[0].value ?? [], as: UTF8.self)
        #expect(value.contains(#""ddl":"ALTER TABLE public.orders ADD COLUMN paid boolean""#))
        #expect(value.contains(#""tableChanges":[{"type":"ALTER","id":"\"driftdb\".\"public\".\"orders\"""#))
        #expect(value.contains(#"{"name":"paid","jdbcType":-7,"typeName":"boolean","typeExpression":"boolean","charsetName":null,"length":null,"scale":null,"position":4,"optional":true"#))
        #expect(value.contains(#""autoIncremented":true"#))
        #expect(e.schemaChangeRecords(t, topic: "shop.schema", before: before, after: after, nowMicros: 1_000, include: { _ in false }).isEmpty)
    }
}
