import DriftCore
import DriftStorage

/// The simple-query plan cache (DESIGN §2.4): a repeated `SELECT` that differs only in its
/// literals skips parsing, binding and planning.
///
/// The key is the statement's token stream with some numeric literals replaced by typed
/// placeholders (`?int4`, `?int8`, `?numeric`: `1/2` and `1.0/2` stay different). Only
/// literals whose replacement by a parameter of the same type cannot change the answer are
/// replaced: a literal compared with a column (`id = 5`, `a.price >= 9.5`) and the items of
/// `column IN (1, 2, 3)`. Every other literal stays part of the key, so whatever PostgreSQL
/// folds while planning (`1/0`, `CASE WHEN 1 = 1 ...`, `ORDER BY 2`, `LIMIT 10`) is still
/// folded, exactly as it would be without the cache.
///
/// A cached plan is used again only while what it was bound against holds: the schema version
/// the reader sees, the session's temporary tables, search_path and TimeZone, the planner
/// statistics, and each table's size within a factor of two. Statements whose binding reads
/// other state (sequences, the past, date/time constants, the system catalogs) are never cached.
final class PlanCache {
    struct Entry {
        let bound: BoundQuery
        let parameterTypes: [SQLType]
        let stamp: Stamp
        let tableSizes: [UInt32: Double]
    }

    static let entriesMax = 512
    private(set) var entries: [String: Entry] = [:]
    /// Keys found not to be cacheable (their statements bind state-dependent values).
    private var refused = Set<String>()
    private(set) var hits = 0
    private(set) var misses = 0

    /// INSERT, UPDATE and DELETE statements' parse trees (of their parameterized text): they
    /// are bound anew each time, so nothing but the text decides them.
    private var parsedEntries: [String: Session.ParsedStatement] = [:]

    /// What a cached plan was bound under: the schema version the reader sees, the
    /// session's temporary tables, the planner statistics, search_path and TimeZone.
    struct Stamp: Equatable {
        var catalogSeq: UInt64
        var temporaryGeneration: Int
        var statisticsGeneration: Int
        var settings: String
    }

    /// A repeated simple UPDATE (no FROM, no WHERE CURRENT OF), bound and planned.
    struct UpdateEntry {
        let bound: BoundUpdate
        let stamp: Stamp
        let tableSizes: [UInt32: Double]
    }
    private var updates: [String: UpdateEntry] = [:]

    func update(_ key: String) -> UpdateEntry? { updates[key] }

    func storeUpdate(_ key: String, _ e: UpdateEntry) {
        if updates.count >= Self.entriesMax { updates.removeAll(keepingCapacity: true) }
        updates[key] = e
    }

    func entry(_ key: String) -> Entry? { entries[key] }
    func parsed(_ key: String) -> Session.ParsedStatement? { parsedEntries[key] }

    func storeParsed(_ key: String, _ p: Session.ParsedStatement) {
        if parsedEntries.count >= Self.entriesMax { parsedEntries.removeAll(keepingCapacity: true) }
        parsedEntries[key] = p
    }
    func isRefused(_ key: String) -> Bool { refused.contains(key) }

    func store(_ key: String, _ e: Entry) {
        if entries.count >= Self.entriesMax { entries.removeAll(keepingCapacity: true) }
        entries[key] = e
    }

    func refuse(_ key: String) {
        if refused.count >= Self.entriesMax * 4 { refused.removeAll(keepingCapacity: true) }
        refused.insert(key)
    }

    func noteHit() { hits += 1 }
    func noteMiss() { misses += 1 }

    func removeAll() {
        entries.removeAll()
        parsedEntries.removeAll()
        updates.removeAll()
        refused.removeAll()
    }
}

/// A statement's plan-cache key, its text with `$n` in place of the replaced literals, and
/// those literals' values.
struct NormalizedStatement {
    var key: String
    /// The client's text.
    var sql: String
    var literals: [(text: String, type: SQLType)]
    /// Where each replaced literal stands in `sql` (byte offsets).
    var literalRanges: [Range<Int>] = []
    /// The statement is a SELECT (its bound plan is cached), not an INSERT, UPDATE or DELETE
    /// (its parse tree is).
    var isSelect = true

    /// The text with `$n` in place of each replaced literal (needed on a cache miss only, so
    /// built on demand).
    var parameterized: String { parameterize().text }

    /// Where each replaced literal stood in the statement, and where its `$n` stands in
    /// `parameterized` (byte offsets), to report error positions in the client's text.
    var replacements: [(original: Range<Int>, parameter: Range<Int>)] { parameterize().replacements }

    private func parameterize() -> (text: String, replacements: [(original: Range<Int>, parameter: Range<Int>)]) {
        guard !literalRanges.isEmpty else { return (sql, []) }
        var text: [UInt8] = []
        text.reserveCapacity(sql.utf8.count + 4 * literalRanges.count)
        var replacements: [(original: Range<Int>, parameter: Range<Int>)] = []
        let bytes = Array(sql.utf8)
        var copied = 0
        for (n, r) in literalRanges.enumerated() {
            text.append(contentsOf: bytes[copied..<r.lowerBound])
            let placeholder = Array("$\(n + 1)".utf8)
            replacements.append((r, text.count..<(text.count + placeholder.count)))
            text.append(contentsOf: placeholder)
            copied = r.upperBound
        }
        text.append(contentsOf: bytes[copied...])
        return (String(decoding: text, as: UTF8.self), replacements)
    }

    /// Keywords that name no column (a literal compared with one of them stays a literal).
    static let reserved: Set<String> = [
        "select", "from", "where", "and", "or", "not", "null", "true", "false", "case", "when", "then", "else", "end",
        "in", "is", "like", "ilike", "between", "on", "using", "join", "by", "having", "limit", "offset", "as", "distinct",
        "all", "any", "some", "exists", "union", "intersect", "except", "order", "group", "array", "row", "values",
    ]
    /// Words whose statements are never cached: row locks and AS OF / FOR SYSTEM_TIME (`for`,
    /// `of`, `system_time`), WITH queries, SELECT INTO, the change log, and sequence functions.
    static let refusedWords: Set<String> = [
        "for", "of", "system_time", "with", "into", "drift_events", "nextval", "currval", "setval", "lastval",
    ]
    static let comparisons: Set<String> = ["=", "<>", "!=", "<", "<=", ">", ">="]

    /// nil when the statement is not a cacheable single SELECT, INSERT, UPDATE or DELETE.
    static func make(_ sql: String) -> NormalizedStatement? {
        guard let tokens = try? Lexer.tokenize(sql), let first = tokens.first,
              first.isKeyword("select") || first.isKeyword("insert") || first.isKeyword("update") || first.isKeyword("delete") else { return nil }
        let isInsert = first.isKeyword("insert")
        let dml = !first.isKeyword("select")
        // A DML statement's parse tree is cached, and its binding errors cannot fall back to
        // the ordinary path: one with a query inside (INSERT ... SELECT, subqueries, where
        // GROUP BY or DISTINCT match expressions by their literals) is not cached.
        if dml, tokens.contains(where: { $0.isKeyword("select") }) { return nil }
        // The depth of the parentheses VALUES's rows open (an INSERT's only).
        var valuesDepth: Int?
        var end = tokens.count
        if tokens[end - 1].isPunct(";") { end -= 1 }
        var key = ""
        key.reserveCapacity(sql.utf8.count + 16)
        var literals: [(text: String, type: SQLType)] = []
        var literalRanges: [Range<Int>] = []
        // For each open parenthesis: whether it opens `column IN (`.
        var parens: [Bool] = []
        func isColumn(_ i: Int) -> Bool {
            guard i >= 0 else { return false }
            let t = tokens[i]
            return t.kind == .quotedIdentifier || (t.kind == .identifier && !reserved.contains(t.text))
        }
        for i in 0..<end {
            let t = tokens[i]
            switch t.kind {
            case .parameter:
                return nil
            case .punct where t.text == ";":
                return nil  // more than one statement
            case .identifier where refusedWords.contains(t.text) && !(isInsert && t.text == "into" && i == 1):
                return nil
            case .identifier where isInsert && t.text == "values" && valuesDepth == nil:
                valuesDepth = parens.count
            case .punct where t.text == "(":
                // A row of INSERT ... VALUES: `VALUES (` or `), (` at the depth VALUES stood at.
                let row = valuesDepth == parens.count && i >= 1
                    && (tokens[i - 1].isKeyword("values") || (tokens[i - 1].isPunct(",") && i >= 2 && tokens[i - 2].isPunct(")")))
                parens.append(row || (i >= 1 && tokens[i - 1].isKeyword("in") && (isColumn(i - 2) || (i >= 2 && tokens[i - 2].isPunct(")")))))
            case .punct where t.text == ")":
                if !parens.isEmpty { parens.removeLast() }
            default:
                break
            }
            if t.kind == .integer || t.kind == .decimal, let type = replaceable(tokens, i, end: end, inList: parens.last ?? false, dml: dml) {
                literals.append((t.text, type))
                literalRanges.append(t.start..<t.end)
                key += "\u{1}?"
                key += type.name
                continue
            }
            key += "\u{1}"
            switch t.kind {
            case .identifier: key += "i"
            case .quotedIdentifier: key += "q"
            case .string: key += "s"
            case .integer: key += "n"
            case .decimal: key += "d"
            case .parameter: key += "p"
            case .op: key += "o"
            case .punct: key += "."
            }
            key += t.text
        }
        return NormalizedStatement(key: key, sql: sql, literals: literals, literalRanges: literalRanges, isSelect: !dml)
    }

    /// A byte offset in `parameterized` as the offset in the client's statement (a `$n`
    /// maps to the start of the literal it stands for).
    func originalOffset(_ offset: Int) -> Int {
        var shift = 0
        for r in replacements {
            if offset < r.parameter.lowerBound { break }
            if offset < r.parameter.upperBound { return r.original.lowerBound }
            shift = r.original.upperBound - r.parameter.upperBound
        }
        return offset + shift
    }

    /// The type of the placeholder for literal `i`, or nil to keep it a literal.
    static func replaceable(_ tokens: [Token], _ i: Int, end: Int, inList: Bool, dml: Bool = false) -> SQLType? {
        let next = i + 1 < end ? tokens[i + 1] : nil
        // What follows must end the operand: no `::`, `.`, `[`, operator or function syntax.
        if let n = next {
            switch n.kind {
            case .punct: guard n.text == ")" || n.text == "," else { return nil }
            case .identifier: break  // a keyword (AND, ORDER, LIMIT, AS ...) or an alias
            default: return nil
            }
        }
        guard i >= 1 else { return nil }
        let prev = tokens[i - 1]
        func isColumn(_ j: Int) -> Bool {
            guard j >= 0 else { return false }
            let c = tokens[j]
            return c.kind == .quotedIdentifier || (c.kind == .identifier && !reserved.contains(c.text))
        }
        let text = tokens[i].text
        // A negated literal is a constant of its own in PostgreSQL, typed by its negated value:
        // only where negation keeps the type may `-$n` stand for it.
        let negationKeepsType = text != "2147483648" && text != "9223372036854775808"
        // In DML, the right operand of `+` or `-` whose left operand is a column (UPDATE's
        // SET n = n + 5): nothing folds, and a typed parameter resolves the operator as the
        // literal does; what stands before the column does not matter (`x * n + 5` adds 5).
        if dml, prev.kind == .op, prev.text == "+" || prev.text == "-", isColumn(i - 2) {
            // `column + 5`, `column - 5`.
        } else if dml, prev.isOp("-"), negationKeepsType, i >= 3, tokens[i - 2].kind == .op,
                  tokens[i - 2].text == "+" || tokens[i - 2].text == "-", isColumn(i - 3) {
            // `column + -5`.
        } else if dml, prev.isOp("-"), negationKeepsType, inList, i >= 2, tokens[i - 2].isPunct("(") || tokens[i - 2].isPunct(",") {
            // `VALUES (1, -5)`, `IN (-1, 2)`.
            guard next?.isPunct(",") == true || next?.isPunct(")") == true else { return nil }
        } else if prev.kind == .op, comparisons.contains(prev.text) {
            // `column <op> literal`, the column not itself an operand of something else.
            guard i >= 2 else { return nil }
            let c = tokens[i - 2]
            guard c.kind == .quotedIdentifier || (c.kind == .identifier && !reserved.contains(c.text)) else { return nil }
            if i >= 3, tokens[i - 3].kind == .op { return nil }
        } else if inList, prev.isPunct("(") || prev.isPunct(",") {
            guard next?.isPunct(",") == true || next?.isPunct(")") == true else { return nil }
        } else {
            return nil
        }
        if tokens[i].kind == .decimal { return .numeric }
        if Int32(text) != nil { return .int4 }
        if Int64(text) != nil { return .int8 }
        return .numeric
    }

    /// The literals' values, as the placeholders' types hold them.
    func values() throws -> [Value] {
        try literals.map { text, type in
            switch type {
            case .int4, .int8:
                guard let n = Int64(text) else { throw SQLError.bug("plan cache literal \(text) is not an integer") }
                return .int(n)
            default:
                return try Coercion.fromText(text, to: .numeric, DateTimeContext())
            }
        }
    }
}

extension Session {
    /// Runs a cacheable SELECT from the plan cache (binding and caching it on a miss); nil
    /// when the statement is not for the cache (the caller runs it the ordinary way).
    var planCacheEnabled: Bool { derivedSettings.planCache }

    func runCached(_ sql: String) throws -> StatementResult? {
        guard planCacheEnabled, block?.state != .failed, blockAsOf == nil, derivedSettings.asOfUnset,
              describing == nil, let n = NormalizedStatement.make(sql), !planCache.isRefused(n.key) else { return nil }
        if !n.isSelect { return try runParsed(n) }
        let values = try n.values()
        var result: StatementResult?
        _ = try withTransaction { t in
            result = try runCached(n, values: values, in: t)
            return StatementResult(tag: "")
        }
        return result
    }

    private func runCached(_ n: NormalizedStatement, values: [Value], in t: Transaction) throws -> StatementResult? {
            guard let stamp = planStamp(t) else { return nil }
            if let e = planCache.entry(n.key), e.stamp == stamp, sizesHold(e.tableSizes) {
                planCache.noteHit()
                return try runBound(e.bound, in: t, parameters: values)
            }
            planCache.noteMiss()
            // Bind the parameterized text; anything unexpected leaves the statement to the
            // ordinary path (which then reports its own errors, positions included).
            guard let parsed = try? Session.parse(n.parameterized), parsed.count == 1, parsed[0].temporal.isEmpty,
                  case .select(let q) = parsed[0].statement, q.temporal == nil else {
                planCache.refuse(n.key)
                return nil
            }
            let saved = parameterTypes
            parameterTypes = n.literals.map(\.type)
            defer { parameterTypes = saved }
            let b = binder(t, parameters: values)
            guard let bound = try? b.bindQuery(q, parent: nil), b.cacheable,
                  b.parameterTypes.count == n.literals.count,
                  zip(b.parameterTypes, n.literals).allSatisfy({ $0.0 == $0.1.type }) else {
                planCache.refuse(n.key)
                return nil
            }
            planCache.store(n.key, PlanCache.Entry(bound: bound, parameterTypes: n.literals.map(\.type), stamp: stamp,
                                                   tableSizes: b.tableSizes))
            return try runBound(bound, in: t, parameters: values)
    }

    /// An INSERT, UPDATE or DELETE from its cached parse tree, its literals as typed
    /// parameters (a `$n` of the literal's own type binds as the literal does); nil when the
    /// statement is not for the cache.
    private func runParsed(_ n: NormalizedStatement) throws -> StatementResult? {
        let parsed: ParsedStatement
        if let p = planCache.parsed(n.key) {
            planCache.noteHit()
            parsed = p
        } else {
            planCache.noteMiss()
            guard let p = try? Session.parse(n.parameterized), p.count == 1, p[0].temporal.isEmpty else {
                planCache.refuse(n.key)
                return nil
            }
            switch p[0].statement {
            case .insert, .update, .delete: break
            default:
                planCache.refuse(n.key)
                return nil
            }
            planCache.storeParsed(n.key, p[0])
            parsed = p[0]
        }
        let values = try n.values()
        let saved = parameterTypes
        parameterTypes = n.literals.map(\.type)
        // An UPDATE finds (or leaves) its bound plan under this key (only an UPDATE: a
        // DELETE's or INSERT's cascades must never take it).
        if case .update = parsed.statement { dmlPlanKey = n.key }
        defer {
            parameterTypes = saved
            dmlPlanKey = nil
        }
        do {
            return try run(parsed, parameters: values)
        } catch var e as SQLError {
            // Positions name the client's text, not the parameterized one.
            if let p = e.position, p >= 1 { e.position = n.originalOffset(p - 1) + 1 }
            throw e
        }
    }

    /// The stamp a plan bound in `t` gets; nil when `t` changed the schema itself.
    func planStamp(_ t: Transaction) -> PlanCache.Stamp? {
        guard !t.hasSchemaChanges else { return nil }
        return PlanCache.Stamp(catalogSeq: engine.catalogVersionSeq(at: t.readSeq), temporaryGeneration: temporaryTables.generation,
                               statisticsGeneration: engine.statisticsGeneration, settings: derivedSettings.planSettings)
    }

    func runBound(_ bound: BoundQuery, in t: Transaction, parameters: [Value]) throws -> StatementResult {
        let ctx = execContext(t, parameters: parameters)
        let rows = try Executor.collect(bound.plan, columns: bound.columns.count, ctx)
        return StatementResult(tag: "SELECT \(rows.count)", columns: bound.columns, rows: rows)
    }

    /// Whether every table is still within a factor of two of its size when planned.
    func sizesHold(_ sizes: [UInt32: Double]) -> Bool {
        for (id, planned) in sizes {
            let now = Double(max(engine.store(id)?.stats.liveRows ?? 0, 1))
            if now > planned * 2 + 16 || now * 2 + 16 < planned { return false }
        }
        return true
    }
}
