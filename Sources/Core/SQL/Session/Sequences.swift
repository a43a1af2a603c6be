import DriftCore
import DriftStorage

/// Sequences through SQL: CREATE/ALTER/DROP SEQUENCE, nextval/currval/setval/lastval, and the
/// sequences SERIAL and identity columns own.
extension Session {
    /// The bounds PostgreSQL gives a sequence of each type.
    static func sequenceBounds(_ type: SQLType) -> (Int64, Int64) {
        switch type {
        case .int2: return (Int64(Int16.min), Int64(Int16.max))
        case .int4: return (Int64(Int32.min), Int64(Int32.max))
        default: return (Int64.min, Int64.max)
        }
    }

    /// A sequence definition from CREATE/ALTER SEQUENCE options (PostgreSQL's init_params).
    func sequenceDefinition(_ base: SequenceDef, _ options: [(String, Expr?)], creating: Bool, in t: Transaction)
        throws -> (SequenceDef, restart: Int64?) {
        var d = base
        var minGiven: Int64??, maxGiven: Int64??, startGiven: Int64?, restart: Int64?
        var typeGiven = false
        func integer(_ e: Expr?, _ name: String) throws -> Int64 {
            switch e {
            case .constant(.integer(let i), _)?: return i
            case .constant(.numeric(let n), _)?:
                guard let i = Int64(n) else { throw SQLError(.numericValueOutOfRange, "\(name) \(n) is out of range") }
                return i
            default: throw SQLError(.syntaxError, "\(name) requires a numeric value")
            }
        }
        var seen = Set<String>()
        for (name, value) in options {
            guard seen.insert(name).inserted || name == "restart" else {
                throw SQLError(.syntaxError, "conflicting or redundant options")
            }
            switch name {
            case "as":
                guard case .cast(_, let tn, _)? = value else { throw SQLError(.syntaxError, "AS requires a type") }
                let type = try TypeRules.resolve(tn)
                guard [SQLType.int2, .int4, .int8].contains(type) else {
                    throw SQLError(.invalidParameterValue, "sequence type must be smallint, integer, or bigint")
                }
                d.type = type
                typeGiven = true
            case "increment":
                d.increment = try integer(value, "INCREMENT")
                guard d.increment != 0 else { throw SQLError(.invalidParameterValue, "INCREMENT must not be zero") }
            case "minvalue": minGiven = .some(try value.map { try integer($0, "MINVALUE") })
            case "maxvalue": maxGiven = .some(try value.map { try integer($0, "MAXVALUE") })
            case "start": startGiven = try integer(value, "START")
            case "restart": restart = value == nil ? (startGiven ?? d.start) : try integer(value, "RESTART")
            case "cache":
                d.cache = try integer(value, "CACHE")
                guard d.cache > 0 else { throw SQLError(.invalidParameterValue, "CACHE (\(d.cache)) must be greater than zero") }
            case "cycle":
                if case .constant(.bool(let b), _)? = value { d.cycle = b } else if case .constant(.integer(let i), _)? = value { d.cycle = i != 0 } else { d.cycle = true }
            case "owned_by":
                guard case .column(let parts, _)? = value else { throw SQLError(.syntaxError, "invalid OWNED BY option") }
                if parts.count == 1 && parts[0].lowercased() == "none" {
                    d.ownedBy = nil
                } else {
                    guard parts.count >= 2 else { throw SQLError(.syntaxError, "invalid OWNED BY option") }
                    guard let table = t.catalog.table(parts[parts.count - 2]) else {
                        throw SQLError(.undefinedTable, "relation \"\(parts[parts.count - 2])\" does not exist")
                    }
                    guard let col = table.columnPosition(parts[parts.count - 1]) else {
                        throw SQLError(.undefinedColumn, "column \"\(parts[parts.count - 1])\" of relation \"\(table.name)\" does not exist")
                    }
                    d.ownedBy = (table.id, col)
                }
            default:
                throw SQLError(.syntaxError, "option \"\(name)\" not recognized")
            }
        }
        let (lo, hi) = Self.sequenceBounds(d.type)
        let ascending = d.increment > 0
        switch maxGiven {
        case .some(.some(let v)): d.maxValue = v
        case .some(.none): d.maxValue = ascending ? hi : -1
        case .none: if creating || typeGiven { d.maxValue = ascending ? hi : -1 }
        }
        switch minGiven {
        case .some(.some(let v)): d.minValue = v
        case .some(.none): d.minValue = ascending ? 1 : lo
        case .none: if creating || typeGiven { d.minValue = ascending ? 1 : lo }
        }
        guard d.maxValue >= lo, d.maxValue <= hi else {
            throw SQLError(.numericValueOutOfRange, "MAXVALUE (\(d.maxValue)) is out of range for sequence data type \(d.type.name)")
        }
        guard d.minValue >= lo, d.minValue <= hi else {
            throw SQLError(.numericValueOutOfRange, "MINVALUE (\(d.minValue)) is out of range for sequence data type \(d.type.name)")
        }
        guard d.minValue < d.maxValue else {
            throw SQLError(.invalidParameterValue, "MINVALUE (\(d.minValue)) must be less than MAXVALUE (\(d.maxValue))")
        }
        if let s = startGiven { d.start = s } else if creating { d.start = ascending ? d.minValue : d.maxValue }
        guard d.start >= d.minValue else {
            throw SQLError(.invalidParameterValue, "START value (\(d.start)) cannot be less than MINVALUE (\(d.minValue))")
        }
        guard d.start <= d.maxValue else {
            throw SQLError(.invalidParameterValue, "START value (\(d.start)) cannot be greater than MAXVALUE (\(d.maxValue))")
        }
        if let r = restart {
            guard r >= d.minValue else { throw SQLError(.invalidParameterValue, "RESTART value (\(r)) cannot be less than MINVALUE (\(d.minValue))") }
            guard r <= d.maxValue else { throw SQLError(.invalidParameterValue, "RESTART value (\(r)) cannot be greater than MAXVALUE (\(d.maxValue))") }
        }
        return (d, restart)
    }

    func createSequence(_ s: CreateSequenceStatement, in t: Transaction) throws -> StatementResult {
        let schema = try checkSchema(s.sequence.schema, location: s.sequence.location)
        try checkName(s.sequence.name, location: s.sequence.location)
        if t.catalog.relationExists(schema: schema, s.sequence.name) {
            if s.ifNotExists {
                return StatementResult(tag: "CREATE SEQUENCE", notices: ["NOTICE: relation \"\(s.sequence.name)\" already exists, skipping"])
            }
            throw SQLError(.duplicateTable, "relation \"\(s.sequence.name)\" already exists")
        }
        let base = SequenceDef(id: t.allocateTableId(), schema: schema, name: s.sequence.name)
        let (def, _) = try sequenceDefinition(base, s.options, creating: true, in: t)
        if schema != TemporaryTables.schema { try requireCreate(inSchema: schema, in: t.catalog) }
        try t.applyDDL { _ in .createSequence(def) }
        if schema != TemporaryTables.schema { try recordOwner(.relation(def.id), in: t) }
        return StatementResult(tag: "CREATE SEQUENCE")
    }

    func alterSequence(_ ref: TableRef, _ options: [(String, Expr?)], in t: Transaction) throws -> StatementResult {
        guard let old = findSequence(ref.schema, ref.name, in: t.catalog) else {
            throw SQLError(.undefinedTable, "relation \"\(ref.name)\" does not exist")
        }
        try requireOwner(.relation(old.id), kind: "sequence", name: old.name, in: t.catalog)
        let (def, restart) = try sequenceDefinition(old, options, creating: false, in: t)
        if def != old { try t.applyDDL { _ in .alterSequence(def) } }
        if let r = restart { try engine.sequenceSet(def, value: r, called: false) }
        return StatementResult(tag: "ALTER SEQUENCE")
    }

    /// The sequence a nextval/currval/setval argument names (`'name'`, `'schema.name'`).
    func sequenceNamed(_ text: String) throws -> SequenceDef {
        let parts = text.split(separator: ".").map { p -> String in
            let s = String(p)
            if s.hasPrefix("\""), s.hasSuffix("\""), s.count >= 2 { return String(s.dropFirst().dropLast()) }
            return s.lowercased()
        }
        let catalog = (block ?? implicitTransaction)?.catalog ?? engine.latestCatalog
        guard let name = parts.last, let def = findSequence(parts.count > 1 ? parts[0] : nil, name, in: catalog) else {
            if findTable(parts.count > 1 ? parts[0] : nil, parts.last ?? "", in: catalog) != nil
                || findView(parts.count > 1 ? parts[0] : nil, parts.last ?? "", in: catalog) != nil {
                throw SQLError(.wrongObjectType, "\"\(text)\" is not a sequence")
            }
            throw SQLError(.undefinedTable, "relation \"\(text)\" does not exist")
        }
        return def
    }

    func nextval(_ name: String) throws -> Int64 { try nextval(try sequenceNamed(name)) }

    func nextval(_ def: SequenceDef) throws -> Int64 {
        if let b = block, b.readOnly { throw SQLError(.readOnlySQLTransaction, "cannot execute nextval() in a read-only transaction") }
        try requireSequence(def, anyOf: [.usage, .update])
        let v = try engine.sequenceNext(def)
        currentValues[def.id] = v
        lastValueSequence = def.id
        return v
    }

    func currval(_ name: String) throws -> Int64 { try currval(try sequenceNamed(name)) }

    func currval(_ def: SequenceDef) throws -> Int64 {
        try requireSequence(def, anyOf: [.usage, .select])
        guard let v = currentValues[def.id] else {
            throw SQLError(.objectNotInPrerequisiteState, "currval of sequence \"\(def.name)\" is not yet defined in this session")
        }
        return v
    }

    func lastval() throws -> Int64 {
        guard let id = lastValueSequence, let v = currentValues[id] else {
            throw SQLError(.objectNotInPrerequisiteState, "lastval is not yet defined in this session")
        }
        return v
    }

    func setval(_ name: String, _ value: Int64, called: Bool) throws -> Int64 {
        try setval(try sequenceNamed(name), value, called: called)
    }

    func setval(_ def: SequenceDef, _ value: Int64, called: Bool) throws -> Int64 {
        if let b = block, b.readOnly { throw SQLError(.readOnlySQLTransaction, "cannot execute setval() in a read-only transaction") }
        try requireSequence(def, anyOf: .update)
        try engine.sequenceSet(def, value: value, called: called)
        if called {
            currentValues[def.id] = value
            lastValueSequence = def.id
        }
        return value
    }
}

/// nextval & co. as SQL functions (they read and write the session's sequence state).
enum SequenceFunctions {
    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        func session(_ ctx: ExecContext) throws -> Session {
            guard let s = ctx.session else { throw SQLError.notSupported("sequence functions outside a session") }
            return s
        }
        return [
            F.fn("nextval", [.text], .int8, volatile: true, .context { ctx, a in .int(try session(ctx).nextval(try a[0].text())) }),
            F.fn("currval", [.text], .int8, volatile: true, .context { ctx, a in .int(try session(ctx).currval(try a[0].text())) }),
            F.fn("lastval", [], .int8, volatile: true, .context { ctx, _ in .int(try session(ctx).lastval()) }),
            F.fn("setval", [.text, .int8], .int8, volatile: true, .context { ctx, a in
                .int(try session(ctx).setval(try a[0].text(), try a[1].int(), called: true))
            }),
            F.fn("setval", [.text, .int8, .bool], .int8, volatile: true, .context { ctx, a in
                guard case .bool(let called) = a[2] else { return .null }
                return .int(try session(ctx).setval(try a[0].text(), try a[1].int(), called: called))
            }),
        ]
    }()
}
