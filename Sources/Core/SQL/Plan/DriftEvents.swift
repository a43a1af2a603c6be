import DriftCore
import DriftStorage

/// `drift_events`: the change log itself as rows, in seq order, read from the log (never
/// from the tables), up to the point the reading statement sees.
///
/// Columns: drift_seq bigint (the commit's seq), committed_at timestamptz, txid bigint (a
/// transaction is identified by its commit seq in the log, so txid equals drift_seq and
/// groups a transaction's rows), table_name text, op text (insert, update, delete,
/// truncate, ddl),
/// key jsonb (the primary key, or `{"drift_row_id": n}` for a table without one), row jsonb
/// (the row after an insert or update, the row removed by a delete, null for a truncate, and for ddl the kind of
/// schema change as `{"ddl": "..."}`).
enum DriftEvents {
    static let columns: [ResultColumn] = [
        ResultColumn(name: "drift_seq", type: .int8), ResultColumn(name: "committed_at", type: .timestamptz),
        ResultColumn(name: "txid", type: .int8), ResultColumn(name: "table_name", type: .text),
        ResultColumn(name: "op", type: .text), ResultColumn(name: "key", type: .jsonb), ResultColumn(name: "row", type: .jsonb),
    ]

    /// `drift_cdc_status`: one row per change-data sink running on this database.
    static let cdcStatusColumns: [ResultColumn] = [
        ResultColumn(name: "sink", type: .text), ResultColumn(name: "state", type: .text),
        ResultColumn(name: "checkpoint_seq", type: .int8), ResultColumn(name: "lag_seqs", type: .int8),
        ResultColumn(name: "lag_seconds", type: .float8), ResultColumn(name: "last_error", type: .text),
    ]

    static let cdcStatus = SetFunction("drift_cdc_status", columns: { _ in cdcStatusColumns }, rows: { ctx, _ in
        let rows: [[Value]] = ctx.engine.sinks.all().map { s in
            [.text(s.sink), .text(s.state), .int(Int64(clamping: s.checkpointSeq)), .int(Int64(clamping: s.lagSeqs)),
             .double(s.lagSeconds), s.lastError.map { .text($0) } ?? .null]
        }
        return AnyIterator(rows.makeIterator())
    })

    /// The rows after seq `args[0]` up to `upTo` (nil: the reading transaction's snapshot).
    static func function(upTo: UInt64?) -> SetFunction {
        SetFunction("drift_events", columns: { _ in columns }, rows: { ctx, args in
            let floor = UInt64(max(0, (try? args[0].int()) ?? 0))
            let last = upTo ?? ctx.txn.readSeq
            let reader = ctx.engine.changeReader(after: floor)
            // Only the tables the reader may SELECT now, and of those only the row images its
            // SELECT policies allow (a superuser, or a trusted user that is no role: all).
            let catalog = ctx.txn.rightsCatalog
            let readable: EventFilter? = try ctx.session?.actingRole(in: catalog).flatMap { role in
                role.superuser ? nil : try EventFilter(role: role, catalog: catalog, ctx: ctx)
            }
            var pending: [[Value]] = []
            var index = 0
            return AnyIterator {
                while index >= pending.count {
                    guard reader.nextSeq <= last else { return nil }
                    let next: CommittedTransaction?
                    do {
                        next = try reader.nextIfAvailable()
                    } catch {
                        // The log could not be read: the statement fails (never a silently short answer).
                        ctx.deferredError = error
                        return nil
                    }
                    guard let t = next else { return nil }
                    do {
                        pending = try rows(of: t, readable: readable)
                    } catch {
                        // A policy failed to evaluate: the statement fails (no fail-open).
                        ctx.deferredError = error
                        return nil
                    }
                    index = 0
                }
                defer { index += 1 }
                return pending[index]
            }
        })
    }

    /// What a reader that is bound by privileges and policies may see of the log.
    final class EventFilter {
        let role: RoleDef
        let catalog: Catalog
        let binder: Binder
        let ctx: ExecContext
        /// Each table's policy predicate, per version of its definition (by column count).
        var policies: [UInt32: (columns: Int, allows: (([Value]) throws -> Bool)?)] = [:]

        init(role: RoleDef, catalog: Catalog, ctx: ExecContext) throws {
            self.role = role
            self.catalog = catalog
            self.ctx = ctx
            binder = Binder(engine: ctx.engine, txn: ctx.txn, session: ctx.session)
        }

        func shows(_ table: TableDef, _ image: [Value]?) throws -> Bool {
            guard catalog.privileges(of: role, on: .relation(table.id)).contains(.select) else { return false }
            guard let image else { return true }
            if policies[table.id]?.columns != table.columns.count {
                policies[table.id] = (table.columns.count, try binder.compiledRowSecurity(table, .select, check: false, ctx: ctx))
            }
            guard let allows = policies[table.id]?.allows else { return true }
            return try allows(image)
        }
    }

    static func rows(of t: CommittedTransaction, readable: EventFilter? = nil) throws -> [[Value]] {
        var out: [[Value]] = []
        let seq = Value.int(Int64(t.seq))
        let at = Value.timestamptz(PGTime.fromUnix(t.timestamp))
        for e in t.events {
            if let d = e.ddl, d.isSequenceState { continue }
            if let readable, let table = e.table {
                let image = e.kind == .delete ? e.before : e.kind == .insert || e.kind == .update ? e.after : nil
                guard try readable.shows(table, image) else { continue }
            }
            let table: Value = e.table.map { .text($0.name) } ?? .null
            switch e.kind {
            case .ddl:
                let name = e.ddl.map { String(describing: $0).prefix { $0 != "(" } } ?? ""
                out.append([seq, at, seq, table, .text("ddl"), .null, .json("{\"ddl\": \(JSONText.quote(String(name)))}")])
            case .truncate:
                out.append([seq, at, seq, table, .text("truncate"), .null, .null])
            case .insert, .update, .delete:
                guard let def = e.table else { continue }
                let image = e.kind == .delete ? e.before : e.after
                out.append([seq, at, seq, table, .text(e.kind.rawValue), .json(keyJSON(def, e.key)),
                            image.map { .json(rowJSON(def, $0)) } ?? .null])
            }
        }
        return out
    }

    static func keyJSON(_ def: TableDef, _ key: [Value]) -> String {
        if def.hasRowId { return "{\"drift_row_id\": \(key.first.map { JSONText.encode($0, type: .int8, jsonb: true) } ?? "null")}" }
        let pairs = zip(def.primaryKey, key).map { (def.columns[$0].name, JSONText.encode($1, type: def.columns[$0].type, jsonb: true)) }
        return canonical(pairs)
    }

    static func rowJSON(_ def: TableDef, _ values: [Value]) -> String {
        canonical(def.visibleColumns.map { p in
            (def.columns[p].name, JSONText.encode(p < values.count ? values[p] : .null, type: def.columns[p].type, jsonb: true))
        })
    }

    /// jsonb's key order: by length, then bytes.
    static func canonical(_ pairs: [(String, String)]) -> String {
        let sorted = pairs.sorted { a, b in
            a.0.utf8.count != b.0.utf8.count ? a.0.utf8.count < b.0.utf8.count : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
        }
        return "{" + sorted.map { JSONText.quote($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    /// The seq below which a query's WHERE keeps no row (`drift_seq > N`, `>= N`, `= N`,
    /// `BETWEEN N AND M`): the reader starts there instead of at the log's beginning. Only
    /// for a FROM list of drift_events alone, so the column is surely its own.
    static func floor(_ core: SelectCore) -> Int64 {
        guard core.from.count == 1, case .table(let ref) = core.from[0], ref.name == "drift_events", let w = core.whereClause else { return 0 }
        let alias = ref.alias ?? ref.name
        func isSeq(_ e: Expr) -> Bool {
            guard case .column(let parts, _) = e, parts.last == "drift_seq" else { return false }
            return parts.count == 1 || parts.count == 2 && parts[0] == alias
        }
        func constant(_ e: Expr) -> Int64? {
            if case .constant(.integer(let n), _) = e { return n }
            return nil
        }
        var best: Int64 = 0
        func visit(_ e: Expr) {
            switch e {
            case .and(let xs): xs.forEach(visit)
            case let .op(op, l?, r, _):
                if isSeq(l), let n = constant(r) {
                    if op == ">" { best = max(best, n) } else if op == ">=" || op == "=" { best = max(best, n - 1) }
                } else if isSeq(r), let n = constant(l) {
                    if op == "<" { best = max(best, n) } else if op == "<=" || op == "=" { best = max(best, n - 1) }
                }
            case let .between(x, low, _, negated, symmetric, _):
                if !negated, !symmetric, isSeq(x), let n = constant(low) { best = max(best, n - 1) }
            default: break
            }
        }
        visit(w)
        return max(0, best)
    }
}
