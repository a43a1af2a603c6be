import DriftCore

/// A relation of a query block's FROM clause: its name, its columns at their slots in the
/// block's wide row, and (for base tables) the access it is read through.
struct ScopeRelation {
    struct Column {
        var name: String
        /// Slot in the block's wide row.
        var slot: Int
        var type: SQLType
    }

    /// Alias, or the table's own name.
    var name: String
    /// The schema of a base table referenced without an alias (for `schema.table.column`).
    var schema: String?
    var columns: [Column]
    /// History pseudo-columns of a base table: found by name, not part of `*`.
    var pseudo: [(Pseudo, Int)] = []
    var access: TableAccess?
    /// For a view read on column privileges: the columns read are recorded here.
    var viewColumns: ViewColumnUse?
    var offset: Int
    var width: Int
    /// Only relations to the left of a LATERAL item are visible inside it; this marks
    /// relations not yet visible while that item binds.
    var visible = true
    /// A LATERAL item that reads relations to its left: it runs once per row of them.
    var lateral = false
    /// For a base table: slots of its primary-key columns (functional dependency in GROUP BY).
    var keySlots: [Int] = []

    var range: Range<Int> { offset..<(offset + width) }
}

/// The names a query block can use: its FROM relations, the columns USING/NATURAL joins
/// merged, the CTEs in reach; and what binding found (aggregates, windows, correlation).
final class BlockScope {
    let parent: BlockScope?
    /// The block's current row as its correlated subqueries read it.
    let outerRows = OuterRows()
    var relations: [ScopeRelation] = []
    /// Sources of the relations, narrow (each relation's own width), in order.
    var sources: [Plan] = []
    var width = 0
    /// Unqualified names of columns merged by JOIN ... USING / NATURAL JOIN.
    var merged: [String: BoundExpr] = [:]
    var ctes: [String: CTEBinding] = [:]
    /// Whether anything bound in this block reads an enclosing block.
    var referencesOuter = false
    var outerDepthMax = 0
    /// Slots of this block that subqueries inside it read (each subquery notes its own).
    var slotsReadByChildren = Set<Int>()

    // Collected while binding the select list, HAVING and ORDER BY.
    var aggregates: [AggregateCall] = []
    var windows: [WindowCall] = []
    /// Why aggregates are not allowed where the binder is now (nil: they are).
    var aggregateBan: String? = "WHERE"
    var windowBan: String? = "WHERE"
    /// Named windows (`WINDOW w AS (...)`).
    var windowDefinitions: [String: WindowSpec] = [:]

    /// A scope that only holds WITH definitions: it has no row and does not count as a level.
    let transparent: Bool

    init(parent: BlockScope?, transparent: Bool = false) {
        self.parent = parent
        self.transparent = transparent
    }

    /// CTE `name` as seen from here (inner definitions hide outer ones).
    func cte(_ name: String) -> CTEBinding? {
        var s: BlockScope? = self
        while let b = s {
            if let c = b.ctes[name] { return c }
            s = b.parent
        }
        return nil
    }

    /// Adds a relation at the end of the wide row.
    @discardableResult
    func add(_ r: ScopeRelation, source: Plan) -> Int {
        relations.append(r)
        sources.append(source)
        width += r.width
        return relations.count - 1
    }

    /// Records that the block reads these slots: a base table's scan must decode those columns
    /// and its column privileges must cover them, as a view's read on column privileges must.
    func noteRead<S: Sequence>(_ slots: S) where S.Element == Int {
        for slot in slots {
            guard let i = relationIndex(ofSlot: slot) else { continue }
            let col = slot - relations[i].offset
            if let use = relations[i].viewColumns, col >= 0 {
                use.columns.insert(col)
                continue
            }
            guard let access = relations[i].access else { continue }
            if col >= 0 && col < access.table.columns.count { access.usedColumns.insert(col) }
            if col >= 0 && col < access.width { access.userColumns.insert(col) }
        }
    }

    /// The relation whose slots include `slot`.
    func relationIndex(ofSlot slot: Int) -> Int? {
        relations.firstIndex { $0.range.contains(slot) }
    }

    enum Found {
        case here(BoundExpr)
        case outer(BoundExpr)
    }

    /// Resolves a column reference: this block first, then enclosing blocks (a correlated
    /// reference). PostgreSQL's errors: 42703 unknown column, 42702 ambiguous, 42P01 unknown
    /// qualifier.
    func resolve(_ parts: [String], location: Int) throws -> BoundExpr {
        var depth = 0
        var scope: BlockScope? = self
        var qualifierSeen = false
        while let s = scope {
            switch try s.resolveHere(parts, location: location) {
            case .found(let e):
                if depth == 0 { return e }
                guard case .slot(let slot, let type) = e else {
                    // A merged USING column of an enclosing block: read its pieces from there.
                    markOuter(depth: depth, slots: Array(e.slotSet), in: s)
                    return e.rewritten { x in
                        if case .slot(let sl, let t) = x { return .outer(OuterRef(rows: s.outerRows, slot: sl, type: t, depth: depth)) }
                        return nil
                    }
                }
                markOuter(depth: depth, slots: [slot], in: s)
                return .outer(OuterRef(rows: s.outerRows, slot: slot, type: type, depth: depth))
            case .qualifierFoundColumnMissing:
                qualifierSeen = true
                throw SQLError(.undefinedColumn, "column \(parts.joined(separator: ".")) does not exist", position: sqlPosition(location))
            case .notFound:
                break
            }
            if !s.transparent { depth += 1 }
            scope = s.parent
        }
        if parts.count >= 2 && !qualifierSeen {
            let q = parts[parts.count - 2]
            throw SQLError(.undefinedTable, "missing FROM-clause entry for table \"\(q)\"", position: sqlPosition(location))
        }
        throw SQLError(.undefinedColumn, "column \"\(parts.joined(separator: "."))\" does not exist", position: sqlPosition(location))
    }

    /// Records that this block reads `slots` of the block `depth` levels out.
    func markOuter(depth: Int, slots: [Int], in target: BlockScope) {
        var s: BlockScope? = self
        var d = 0
        while let b = s, d < depth {
            if !b.transparent {
                b.referencesOuter = true
                b.outerDepthMax = max(b.outerDepthMax, depth - d)
                d += 1
            }
            s = b.parent
        }
        target.slotsReadByChildren.formUnion(slots)
    }

    enum LocalResult {
        case found(BoundExpr)
        case qualifierFoundColumnMissing
        case notFound
    }

    func resolveHere(_ parts: [String], location: Int) throws -> LocalResult {
        switch parts.count {
        case 1:
            let name = parts[0]
            if let m = merged[name] {
                noteRead(m.slotSet)
                return .found(m)
            }
            var hits: [(Int, ScopeRelation.Column)] = []
            for (i, r) in relations.enumerated() where r.visible {
                if let c = r.columns.first(where: { $0.name == name }) {
                    hits.append((i, c))
                } else if let (p, slot) = r.pseudo.first(where: { $0.0.name == name }) {
                    hits.append((i, ScopeRelation.Column(name: name, slot: slot, type: p.type)))
                }
            }
            if hits.count > 1 {
                throw SQLError(.ambiguousColumn, "column reference \"\(name)\" is ambiguous", position: sqlPosition(location))
            }
            guard let (i, c) = hits.first else { return .notFound }
            notePseudo(i, c.slot)
            noteRead([c.slot])
            return .found(.slot(c.slot, c.type))
        case 2, 3:
            let qualifier = parts[parts.count - 2]
            let schema = parts.count == 3 ? parts[0] : nil
            let name = parts[parts.count - 1]
            let matches = relations.indices.filter { i in
                let r = relations[i]
                return r.visible && r.name == qualifier && (schema == nil || r.schema == schema)
            }
            if matches.count > 1 {
                throw SQLError(.ambiguousColumn, "table reference \"\(qualifier)\" is ambiguous", position: sqlPosition(location))
            }
            guard let i = matches.first else { return .notFound }
            let r = relations[i]
            if let c = r.columns.first(where: { $0.name == name }) {
                notePseudo(i, c.slot)
                noteRead([c.slot])
                return .found(.slot(c.slot, c.type))
            }
            if let (p, slot) = r.pseudo.first(where: { $0.0.name == name }) {
                notePseudo(i, slot)
                return .found(.slot(slot, p.type))
            }
            return .qualifierFoundColumnMissing
        default:
            throw SQLError(.syntaxError, "improper qualified name (too many dotted names): \(parts.joined(separator: "."))",
                           position: sqlPosition(location))
        }
    }

    /// A history pseudo-column was named: its table's scan must fill it.
    private func notePseudo(_ relation: Int, _ slot: Int) {
        let r = relations[relation]
        guard let access = r.access, let p = r.pseudo.first(where: { $0.1 == slot })?.0 else { return }
        access.pseudo.insert(p)
    }

    /// The relation named `qualifier` (for `t.*`), if visible here.
    func relation(named qualifier: String) -> ScopeRelation? {
        relations.first { $0.visible && $0.name == qualifier }
    }
}
