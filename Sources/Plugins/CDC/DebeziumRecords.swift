import DriftCore
import DriftStorage

/// One record for Kafka: topic, key and value bytes (nil value: a tombstone), and the seq
/// it belongs to (the sink's checkpoint advances over seqs whose every record is acked).
struct CDCRecord: Equatable {
    var topic: String
    var key: [UInt8]?
    var value: [UInt8]?
    var seq: UInt64
    /// TRUNCATE has no key: it goes to every partition of the table's topic, so that each
    /// partition's consumers see it in order with that partition's rows.
    var everyPartition = false
}

/// Builds Debezium-compatible records from committed transactions: the envelope of
/// Debezium's PostgreSQL connector (`before`, `after`, `source`, `transaction`, `op`,
/// `ts_ms`/`ts_us`/`ts_ns`) with values as `DebeziumValues` encodes them, keys as compact
/// JSON of the primary key (`{"id":1}`; a table without one is keyed by its hidden row id,
/// `{"drift_row_id":7}`), a tombstone after each delete when asked, and the transaction
/// topic's BEGIN and END records with per-table event counts.
struct DebeziumEncoder {
    enum Envelope: String { case debezium, row }

    /// The logical name: topic prefix, `source.name`.
    var prefix: String
    var database: String
    /// `source.version`: DriftDB's version.
    var version: String
    var envelope: Envelope = .debezium
    var tombstones = true
    /// The transaction topic (nil: no BEGIN/END records).
    var transactionTopic: String?
    /// The schema-change topic (nil: schema changes are not written).
    var schemaChangeTopic: String?
    /// Each key and value as `{"schema": ..., "payload": ...}`, as Kafka Connect's
    /// JsonConverter writes them with `schemas.enable=true` (tombstones stay null).
    var schemas = false
    let schemaCache = SchemaCache()

    /// Kafka Connect schemas as JSON, built once per table definition.
    final class SchemaCache: @unchecked Sendable {
        private let lock = Lock()
        private var keys: [TableDef: [UInt8]] = [:]
        private var values: [TableDef: [UInt8]] = [:]

        func schema(_ table: TableDef, key: Bool, build: () -> [UInt8]) -> [UInt8] {
            if let s = lock.withLock({ key ? keys[table] : values[table] }) { return s }
            let s = build()
            lock.withLock {
                if key { keys[table] = s } else { values[table] = s }
            }
            return s
        }
    }

    /// `payload` with its schema, when `schemas` asks for them.
    func wrap(_ payload: [UInt8], schema: () -> [UInt8]) -> [UInt8] {
        guard schemas else { return payload }
        var w = JSONWriter(capacity: payload.count + 1024)
        w.beginObject()
        w.key("schema"); w.raw(schema())
        w.key("payload"); w.raw(payload)
        w.endObject()
        return w.bytes
    }

    /// `payload` with the schema `schema` writes, when `schemas` asks for them.
    func wrap(_ payload: [UInt8], _ schema: (inout JSONWriter) -> Void) -> [UInt8] {
        wrap(payload) {
            var w = JSONWriter(capacity: 1024)
            schema(&w)
            return w.bytes
        }
    }

    func keySchema(_ table: TableDef) -> [UInt8] {
        schemaCache.schema(table, key: true) {
            var w = JSONWriter(capacity: 256)
            DebeziumSchemas.key(table, prefix: prefix, to: &w)
            return w.bytes
        }
    }

    func valueSchema(_ table: TableDef) -> [UInt8] {
        schemaCache.schema(table, key: false) {
            var w = JSONWriter(capacity: 2048)
            DebeziumSchemas.value(table, prefix: prefix, rowEnvelope: envelope == .row, to: &w)
            return w.bytes
        }
    }

    static let connector = "driftdb"
    static let rowIdKey = "drift_row_id"

    func topic(_ table: TableDef) -> String { prefix + "." + table.schema + "." + table.name }

    /// The key: the primary-key columns, in key order.
    func key(_ table: TableDef, _ values: [Value]) -> [UInt8] {
        var w = JSONWriter(capacity: 32)
        w.beginObject()
        if table.hasRowId {
            w.key(Self.rowIdKey)
            DebeziumValues.write(values.first ?? .null, .int8, to: &w)
        } else {
            for (n, p) in table.primaryKey.enumerated() {
                w.key(table.columns[p].name)
                DebeziumValues.write(n < values.count ? values[n] : .null, table.columns[p].type, to: &w)
            }
        }
        w.endObject()
        return wrap(w.bytes) { keySchema(table) }
    }

    /// A row as an object of its live columns.
    func writeRow(_ table: TableDef, _ row: [Value]?, to w: inout JSONWriter) {
        guard let row else {
            w.null()
            return
        }
        w.beginObject()
        for (i, c) in table.columns.enumerated() where !c.isDropped {
            w.key(c.name)
            DebeziumValues.write(i < row.count ? row[i] : c.missingValue, c.type, to: &w)
        }
        w.endObject()
    }

    /// `source`: where the change comes from, as Debezium's PostgreSQL connector fills it
    /// (`txId` and `lsn` are the seq; `seq` is DriftDB's own field).
    func writeSource(schema: String, table: String, seq: UInt64, commitMicros: Int64, snapshot: String, to w: inout JSONWriter) {
        w.beginObject()
        w.key("version"); w.string(version)
        w.key("connector"); w.string(Self.connector)
        w.key("name"); w.string(prefix)
        w.key("ts_ms"); w.int(DebeziumValues.floorDiv(commitMicros, 1000))
        w.key("snapshot"); w.string(snapshot)
        w.key("db"); w.string(database)
        w.key("sequence"); w.string("[\"\(seq &- 1)\",\"\(seq)\"]")
        w.key("ts_us"); w.int(commitMicros)
        w.key("ts_ns"); w.int(commitMicros &* 1000)
        w.key("schema"); w.string(schema)
        w.key("table"); w.string(table)
        w.key("txId"); w.int(Int64(bitPattern: seq))
        w.key("lsn"); w.int(Int64(bitPattern: seq))
        w.key("xmin"); w.null()
        w.key("seq"); w.int(Int64(bitPattern: seq))
        w.endObject()
    }

    /// One change's value: the envelope (or, for `envelope: row`, the row after it).
    func value(_ table: TableDef, op: String, before: [Value]?, after: [Value]?, seq: UInt64, commitMicros: Int64,
               snapshot: String = "false", transaction: (total: Int, perTable: Int)?, nowMicros: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        if envelope == .row {
            writeRow(table, after, to: &w)
            return wrap(w.bytes) { valueSchema(table) }
        }
        w.beginObject()
        w.key("before"); writeRow(table, before, to: &w)
        w.key("after"); writeRow(table, after, to: &w)
        w.key("source"); writeSource(schema: table.schema, table: table.name, seq: seq, commitMicros: commitMicros, snapshot: snapshot, to: &w)
        w.key("transaction")
        if let t = transaction {
            w.beginObject()
            w.key("id"); w.string(String(seq))
            w.key("total_order"); w.int(Int64(t.total))
            w.key("data_collection_order"); w.int(Int64(t.perTable))
            w.endObject()
        } else {
            w.null()
        }
        w.key("op"); w.string(op)
        w.key("ts_ms"); w.int(DebeziumValues.floorDiv(nowMicros, 1000))
        w.key("ts_us"); w.int(nowMicros)
        w.key("ts_ns"); w.int(nowMicros &* 1000)
        w.endObject()
        return wrap(w.bytes) { valueSchema(table) }
    }

    /// The records of one committed transaction, in order: BEGIN, each row change (a
    /// delete followed by its tombstone), each TRUNCATE, END. DDL is not a data event (the
    /// schema-change topic carries it). `include` says which tables are captured.
    func records(_ t: CommittedTransaction, nowMicros: Int64, include: (TableDef) -> Bool = { _ in true }) -> [CDCRecord] {
        var out: [CDCRecord] = []
        var total = 0
        var perTable: [String: Int] = [:]
        var order: [String] = []
        for e in t.events {
            guard let table = e.table, include(table) else { continue }
            let op: String
            switch e.kind {
            case .insert: op = "c"
            case .update: op = "u"
            case .delete: op = "d"
            case .truncate: op = "t"
            case .ddl: continue
            }
            if envelope == .row && e.kind == .truncate { continue }
            total += 1
            let name = table.schema + "." + table.name
            if perTable[name] == nil { order.append(name) }
            perTable[name, default: 0] += 1
            let value = value(table, op: op, before: e.kind == .truncate ? nil : e.before, after: e.after, seq: t.seq,
                              commitMicros: t.timestamp, transaction: (total, perTable[name] ?? 1), nowMicros: nowMicros)
            if e.kind == .truncate {
                out.append(CDCRecord(topic: topic(table), key: nil, value: value, seq: t.seq, everyPartition: true))
                continue
            }
            let key = key(table, e.key)
            // In the row envelope a delete is its tombstone: the row after it is none.
            out.append(CDCRecord(topic: topic(table), key: key, value: envelope == .row && e.kind == .delete ? nil : value, seq: t.seq))
            if e.kind == .delete && tombstones && envelope == .debezium {
                out.append(CDCRecord(topic: topic(table), key: key, value: nil, seq: t.seq))
            }
        }
        guard let topic = transactionTopic, total > 0 else { return out }
        let begin = transactionRecord(topic, status: "BEGIN", seq: t.seq, commitMicros: t.timestamp, counts: nil)
        let end = transactionRecord(topic, status: "END", seq: t.seq, commitMicros: t.timestamp,
                                    counts: (total, order.map { ($0, perTable[$0] ?? 0) }))
        return [begin] + out + [end]
    }

    /// A transaction-topic record: key `{"id":"<seq>"}`, value
    /// `{status, id, event_count, data_collections, ts_ms}` as Debezium's transaction metadata.
    func transactionRecord(_ topic: String, status: String, seq: UInt64, commitMicros: Int64,
                           counts: (total: Int, tables: [(String, Int)])?) -> CDCRecord {
        var k = JSONWriter(capacity: 24)
        k.beginObject()
        k.key("id"); k.string(String(seq))
        k.endObject()
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("status"); w.string(status)
        w.key("id"); w.string(String(seq))
        w.key("event_count")
        if let c = counts { w.int(Int64(c.total)) } else { w.null() }
        w.key("data_collections")
        if let c = counts {
            w.beginArray()
            for (name, n) in c.tables {
                w.beginObject()
                w.key("data_collection"); w.string(name)
                w.key("event_count"); w.int(Int64(n))
                w.endObject()
            }
            w.endArray()
        } else {
            w.null()
        }
        w.key("ts_ms"); w.int(DebeziumValues.floorDiv(commitMicros, 1000))
        w.endObject()
        return CDCRecord(topic: topic, key: wrap(k.bytes, DebeziumSchemas.transactionKey),
                         value: wrap(w.bytes, DebeziumSchemas.transactionValue), seq: seq)
    }
}
