import DriftCore
import DriftStorage

extension Binder {
    static let aggregateNames: Set<String> = [
        "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "string_agg", "array_agg", "json_agg", "jsonb_agg",
        "json_object_agg", "jsonb_object_agg", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop",
        "bit_and", "bit_or",
    ]
    static let windowNames: Set<String> = [
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
    ]

    func bindFunctionByName(_ name: String, _ args: [BoundExpr], location: Int?) throws -> BoundExpr {
        let (f, coerced, type) = try FunctionCatalog.resolve(name, args, location: location) {
            try self.coerce($0, to: $1, context: .implicit, location: location)
        }
        return .function(f, coerced, type)
    }

    func bindFunctionCall(_ f: FunctionCall, _ scope: BlockScope) throws -> BoundExpr {
        let name = (f.name.last ?? "").lowercased()
        if f.name.count > 1, let schema = f.name.first, !["pg_catalog", "public"].contains(schema) {
            throw SQLError(.undefinedFunction, "function \(f.name.joined(separator: ".")) does not exist", position: sqlPosition(f.location))
        }
        if let over = f.over { return try bindWindowCall(f, name: name, over: over, scope) }
        if Self.aggregateNames.contains(name) { return try bindAggregate(f, name: name, scope) }
        if Self.windowNames.contains(name) {
            throw SQLError(.wrongObjectType, "window function \(name) requires an OVER clause", position: sqlPosition(f.location))
        }
        if f.star { throw SQLError(.wrongObjectType, "\(name)(*) specified, but \(name) is not an aggregate function", position: sqlPosition(f.location)) }
        if f.distinct || f.filter != nil || !f.orderBy.isEmpty {
            throw SQLError(.wrongObjectType, "DISTINCT, FILTER or ORDER BY specified, but \(name) is not an aggregate function",
                           position: sqlPosition(f.location))
        }
        var args = try f.args.map { try bindExpr($0, scope) }
        if !f.argNames.isEmpty || name == "make_interval" {
            args = try namedArguments(name, args, f.argNames, location: f.location)
        }
        switch name {
        case "coalesce", "nullif", "greatest", "least":
            break
        case "pg_typeof":
            guard args.count == 1 else { break }
            let t = args[0].isUntypedLiteral ? "unknown" : args[0].type.name
            return .constant(.text(t), .text)
        default:
            break
        }
        if FunctionCatalog.setFunctions[name] != nil && !FunctionCatalog.exists(name) {
            throw SQLError.notSupported("set-returning function \(name)() outside FROM", position: sqlPosition(f.location))
        }
        guard FunctionCatalog.exists(name) else {
            throw FunctionCatalog.noFunction(name, args, location: f.location)
        }
        if f.variadic { throw SQLError.notSupported("VARIADIC arguments", position: sqlPosition(f.location)) }
        let (fn, coerced, type) = try FunctionCatalog.resolve(name, args, location: f.location) {
            try self.coerce($0, to: $1, context: .implicit, location: f.location)
        }
        args = coerced
        return .function(fn, args, type)
    }

    /// Named and defaulted arguments: the functions that have them, in parameter order.
    func namedArguments(_ name: String, _ args: [BoundExpr], _ names: [String?], location: Int) throws -> [BoundExpr] {
        let params: [(String, BoundExpr)]
        switch name {
        case "make_interval":
            params = [("years", .constant(.int(0), .int4)), ("months", .constant(.int(0), .int4)), ("weeks", .constant(.int(0), .int4)),
                      ("days", .constant(.int(0), .int4)), ("hours", .constant(.int(0), .int4)), ("mins", .constant(.int(0), .int4)),
                      ("secs", .constant(.double(0), .float8))]
        default:
            throw SQLError.notSupported("named arguments to \(name)()", position: sqlPosition(location))
        }
        var out = params.map { Optional($0.1) }
        var given = Array(repeating: false, count: params.count)
        for (i, a) in args.enumerated() {
            let n = i < names.count ? names[i] : nil
            let index: Int
            if let n {
                guard let k = params.firstIndex(where: { $0.0 == n }) else {
                    throw FunctionCatalog.noFunction(name, args, location: location)
                }
                index = k
            } else {
                guard i < params.count else { throw FunctionCatalog.noFunction(name, args, location: location) }
                index = i
            }
            guard !given[index] else {
                throw SQLError(SQLState("42601"), "argument name \"\(params[index].0)\" used more than once", position: sqlPosition(location))
            }
            given[index] = true
            out[index] = a
        }
        return out.compactMap { $0 }
    }

    // MARK: Aggregates

    func bindAggregate(_ f: FunctionCall, name: String, _ scope: BlockScope) throws -> BoundExpr {
        if let ban = scope.aggregateBan {
            throw SQLError(.groupingError, ban == "nested" ? "aggregate function calls cannot be nested"
                           : "aggregate functions are not allowed in \(ban)", position: sqlPosition(f.location))
        }
        let saved = (scope.aggregateBan, scope.windowBan)
        scope.aggregateBan = "nested"
        scope.windowBan = "aggregate function calls"
        defer { (scope.aggregateBan, scope.windowBan) = saved }
        let call = try aggregateCall(f, name: name, scope)
        scope.aggregates.append(call)
        return .aggRef(scope.aggregates.count - 1, call.type)
    }

    func aggregateCall(_ f: FunctionCall, name: String, _ scope: BlockScope) throws -> AggregateCall {
        var args = try f.args.map { try bindExpr($0, scope) }
        let loc = f.location
        let filter = try f.filter.map { try bindCondition($0, scope, context: "FILTER") }
        let order = try f.orderBy.map { item -> SortKey in
            SortKey(expr: try comparable(try bindExpr(item.expr, scope)), descending: item.descending, nullsFirst: item.nullsFirst ?? item.descending)
        }
        func arity(_ n: Int) throws {
            guard args.count == n else { throw FunctionCatalog.noFunction(name, args, location: loc) }
        }
        func numeric(_ e: BoundExpr) throws -> BoundExpr {
            if e.isUntypedLiteral {
                throw SQLError(SQLState("42725"), "function \(name)(unknown) is not unique",
                               hint: "Could not choose a best candidate function. You might need to add explicit type casts.",
                               position: sqlPosition(loc))
            }
            guard TypeRules.numericRank(e.type) != nil || (e.type == .interval && (name == "sum" || name == "avg")) else {
                throw FunctionCatalog.noFunction(name, [e], location: loc)
            }
            return e
        }
        var kind: AggregateKind
        var type: SQLType
        switch name {
        case "count":
            if f.star {
                kind = .countStar
                args = []
            } else {
                try arity(1)
                kind = .count
                if args[0].isUntypedLiteral { args[0] = try coerce(args[0], to: .text, context: .implicit, location: loc) }
            }
            type = .int8
        case "sum":
            try arity(1)
            args[0] = try numeric(args[0])
            kind = .sum
            switch args[0].type {
            case .int2, .int4: type = .int8
            case .int8: type = .numeric
            default: type = args[0].type
            }
        case "avg":
            try arity(1)
            args[0] = try numeric(args[0])
            kind = .avg
            type = args[0].type.isFloat ? .float8 : (args[0].type == .interval ? .interval : .numeric)
        case "min", "max":
            try arity(1)
            if args[0].isUntypedLiteral { args[0] = try coerce(args[0], to: .text, context: .implicit, location: loc) }
            // PostgreSQL has min/max for numbers, strings, dates, times, intervals, arrays
            // and enums only: not for boolean, bytea, json, jsonb or uuid.
            switch args[0].type.base {
            case .int2, .int4, .int8, .float4, .float8, .numeric, .text, .varchar, .bpchar, .date, .time,
                 .timestamp, .timestamptz, .interval, .array, .unknown, .oid:
                break
            case .enumeration:
                throw SQLError.notSupported("\(name)() of enum values", position: sqlPosition(loc))
            default:
                throw FunctionCatalog.noFunction(name, args, location: loc)
            }
            args[0] = try comparable(args[0])
            kind = name == "min" ? .min : .max
            type = args[0].type
        case "bool_and", "every", "bool_or":
            try arity(1)
            args[0] = try coerce(args[0], to: .bool, context: .implicit, location: loc)
            guard args[0].type == .bool else { throw FunctionCatalog.noFunction(name, args, location: loc) }
            kind = name == "bool_or" ? .boolOr : .boolAnd
            type = .bool
        case "string_agg":
            try arity(2)
            if args[0].type == .bytea {
                args[1] = try coerce(args[1], to: .bytea, context: .implicit, location: loc)
                type = .bytea
            } else {
                args[0] = try textOperand(args[0], "string_agg", nil, location: loc)
                args[1] = try textOperand(args[1], "string_agg", nil, location: loc)
                type = .text
            }
            kind = .stringAgg
        case "array_agg":
            try arity(1)
            if args[0].isUntypedLiteral { args[0] = try coerce(args[0], to: .text, context: .implicit, location: loc) }
            kind = .arrayAgg
            type = .array(args[0].type)
        case "json_agg", "jsonb_agg":
            try arity(1)
            if args[0].isUntypedLiteral { args[0] = try coerce(args[0], to: .text, context: .implicit, location: loc) }
            kind = name == "json_agg" ? .jsonAgg : .jsonbAgg
            type = name == "json_agg" ? .json : .jsonb
        case "json_object_agg", "jsonb_object_agg":
            try arity(2)
            for i in 0..<2 where args[i].isUntypedLiteral { args[i] = try coerce(args[i], to: .text, context: .implicit, location: loc) }
            kind = name == "json_object_agg" ? .jsonObjectAgg : .jsonbObjectAgg
            type = name == "json_object_agg" ? .json : .jsonb
        case "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop":
            try arity(1)
            args[0] = try numeric(args[0])
            switch name {
            case "stddev", "stddev_samp": kind = .stddevSamp
            case "stddev_pop": kind = .stddevPop
            case "var_pop": kind = .varPop
            default: kind = .varSamp
            }
            type = args[0].type.isFloat ? .float8 : .numeric
        case "bit_and", "bit_or":
            try arity(1)
            guard args[0].type.isInteger else { throw FunctionCatalog.noFunction(name, args, location: loc) }
            kind = name == "bit_and" ? .bitAnd : .bitOr
            type = args[0].type
        default:
            throw FunctionCatalog.noFunction(name, args, location: loc)
        }
        if f.distinct && kind != .countStar {
            args = try args.map { try comparable($0) }
        }
        return AggregateCall(kind: kind, args: args, distinct: f.distinct, filter: filter, orderBy: order, type: type,
                             argType: args.first?.type ?? .int8)
    }

    // MARK: Window functions

    func bindWindowCall(_ f: FunctionCall, name: String, over: WindowSpec, _ scope: BlockScope) throws -> BoundExpr {
        if let ban = scope.windowBan {
            throw SQLError(.windowingError, "window functions are not allowed in \(ban)", position: sqlPosition(f.location))
        }
        let saved = (scope.aggregateBan, scope.windowBan)
        scope.windowBan = "window function calls"
        defer { (scope.aggregateBan, scope.windowBan) = saved }
        var spec = over
        if let ref = over.name ?? over.refName, over.partitionBy.isEmpty, over.orderBy.isEmpty {
            guard let named = scope.windowDefinitions[ref] else {
                throw SQLError(.undefinedObject, "window \"\(ref)\" does not exist", position: sqlPosition(over.location))
            }
            let frame = over.frameOptions
            spec = named
            if frame & 1 != 0 && over.refName != nil { spec.frameOptions = frame }
        } else if let ref = over.refName, let named = scope.windowDefinitions[ref] {
            spec.partitionBy = named.partitionBy
            if spec.orderBy.isEmpty { spec.orderBy = named.orderBy }
        }
        let partition = try spec.partitionBy.map { try comparable(try bindExpr($0, scope)) }
        let order = try spec.orderBy.map { item in
            SortKey(expr: try comparable(try bindExpr(item.expr, scope)), descending: item.descending, nullsFirst: item.nullsFirst ?? item.descending)
        }
        let frame = try windowFrame(spec, order: order, scope)
        var args = try f.args.map { try bindExpr($0, scope) }
        let kind: WindowKind
        var type: SQLType
        func arity(_ r: ClosedRange<Int>) throws {
            guard r.contains(args.count) else { throw FunctionCatalog.noFunction(name, args, location: f.location) }
        }
        switch name {
        case "row_number": try arity(0...0); kind = .rowNumber; type = .int8
        case "rank": try arity(0...0); kind = .rank; type = .int8
        case "dense_rank": try arity(0...0); kind = .denseRank; type = .int8
        case "percent_rank": try arity(0...0); kind = .percentRank; type = .float8
        case "cume_dist": try arity(0...0); kind = .cumeDist; type = .float8
        case "ntile":
            try arity(1...1)
            args[0] = try coerce(args[0], to: .int4, context: .implicit, location: f.location)
            kind = .ntile
            type = .int4
        case "lag", "lead":
            try arity(1...3)
            if args[0].isUntypedLiteral { args[0] = try coerce(args[0], to: .text, context: .implicit, location: f.location) }
            type = args[0].type
            if args.count > 1 { args[1] = try coerce(args[1], to: .int4, context: .implicit, location: f.location) }
            if args.count > 2 {
                let t = try commonType([args[0], args[2]], context: name, location: f.location)
                args[0] = try coerce(args[0], to: t, context: .implicit, location: f.location)
                args[2] = try coerce(args[2], to: t, context: .implicit, location: f.location)
                type = t
            }
            kind = name == "lag" ? .lag : .lead
        case "first_value", "last_value":
            try arity(1...1)
            if args[0].isUntypedLiteral { args[0] = try coerce(args[0], to: .text, context: .implicit, location: f.location) }
            kind = name == "first_value" ? .firstValue : .lastValue
            type = args[0].type
        case "nth_value":
            try arity(2...2)
            if args[0].isUntypedLiteral { args[0] = try coerce(args[0], to: .text, context: .implicit, location: f.location) }
            args[1] = try coerce(args[1], to: .int4, context: .implicit, location: f.location)
            kind = .nthValue
            type = args[0].type
        default:
            guard Self.aggregateNames.contains(name) else {
                throw SQLError(.wrongObjectType, "OVER specified, but \(name) is not a window function nor an aggregate function",
                               position: sqlPosition(f.location))
            }
            scope.aggregateBan = "nested"
            var plain = f
            plain.over = nil
            let call = try aggregateCall(plain, name: name, scope)
            scope.windows.append(WindowCall(kind: .aggregate(call), args: call.args, partition: partition, order: order, frame: frame, type: call.type))
            return .windowRef(scope.windows.count - 1, call.type)
        }
        scope.windows.append(WindowCall(kind: kind, args: args, partition: partition, order: order, frame: frame, type: type))
        return .windowRef(scope.windows.count - 1, type)
    }

    /// PostgreSQL's FRAMEOPTION_* bits as a frame.
    func windowFrame(_ spec: WindowSpec, order: [SortKey], _ scope: BlockScope) throws -> WindowFrame {
        let o = spec.frameOptions
        var frame = WindowFrame()
        guard o & 0x1 != 0 else { return frame }   // FRAMEOPTION_NONDEFAULT
        frame.isDefault = false
        if o & 0x4 != 0 { frame.unit = .rows } else if o & 0x8 != 0 { frame.unit = .groups } else { frame.unit = .range }
        func offset(_ e: Expr?) throws -> BoundExpr {
            guard let e else { throw SQLError.bug("frame offset missing") }
            let b = try bindExpr(e, scope)
            if frame.unit == .range {
                guard order.count == 1 else {
                    throw SQLError(.windowingError, "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column",
                                   position: sqlPosition(e.location))
                }
                return try coerce(b, to: order[0].expr.type, context: .implicit, location: e.location)
            }
            return try coerce(b, to: .int8, context: .implicit, location: e.location)
        }
        if o & 0x20 != 0 { frame.start = .unboundedPreceding }
        else if o & 0x200 != 0 { frame.start = .currentRow }
        else if o & 0x800 != 0 { frame.start = .preceding(try offset(spec.startOffset)) }
        else if o & 0x2000 != 0 { frame.start = .following(try offset(spec.startOffset)) }
        else if o & 0x80 != 0 {
            throw SQLError(.windowingError, "frame start cannot be UNBOUNDED FOLLOWING", position: sqlPosition(spec.location))
        }
        if o & 0x100 != 0 { frame.end = .unboundedFollowing }
        else if o & 0x400 != 0 { frame.end = .currentRow }
        else if o & 0x1000 != 0 { frame.end = .preceding(try offset(spec.endOffset)) }
        else if o & 0x4000 != 0 { frame.end = .following(try offset(spec.endOffset)) }
        else if o & 0x40 != 0 {
            throw SQLError(.windowingError, "frame end cannot be UNBOUNDED PRECEDING", position: sqlPosition(spec.location))
        } else {
            frame.end = .currentRow
        }
        frame.exclude = (o >> 15) & 0xF
        return frame
    }
}

/// Rewrites a block's select list, HAVING, ORDER BY and windows to read the aggregated row:
/// GROUP BY expressions become the key slots, aggregate calls the aggregate slots; a column
/// outside both fails with 42803 unless its table's primary key is grouped (PostgreSQL's
/// functional-dependency rule, which adds the column as a key: it cannot split a group).
///
/// Keys can grow while rewriting, so aggregates first get provisional slots past
/// `aggregateBase`; `finalize` moves them behind the final keys.
struct AggregateRewriter {
    private(set) var keys: [BoundExpr]
    let scope: BlockScope
    static let aggregateBase = 1 << 20

    init(keys: [BoundExpr], scope: BlockScope) {
        self.keys = keys
        self.scope = scope
    }

    mutating func rewrite(_ e: BoundExpr) throws -> BoundExpr {
        var this = self
        let out = try e.rewritten { x in
            if case .constant = x { return nil }
            if let k = this.keys.firstIndex(where: { $0.same(as: x) }) { return .slot(k, x.type) }
            switch x {
            case .aggRef(let i, let t):
                return .slot(Self.aggregateBase + i, t)
            case .slot(let s, let t):
                if let extra = try this.functionallyDependent(s, t) { return extra }
                throw this.ungrouped(s)
            case .subquery(let sp, let t) where sp.correlated:
                let n: SubqueryPlan
                if case let .quantified(op, all, test) = sp.use {
                    n = SubqueryPlan(query: sp.query, use: .quantified(op, all: all, test: try test.map { try this.rewrite($0) }),
                                     correlated: true, outer: sp.outer)
                } else {
                    n = SubqueryPlan(query: sp.query, use: sp.use, correlated: true, outer: sp.outer)
                }
                n.postAggregateMap = try this.subqueryMap()
                return .subquery(n, t)
            default:
                return nil
            }
        }
        self = this
        return out
    }

    mutating func rewrite(_ w: WindowCall) throws -> WindowCall {
        var c = w
        c.args = try w.args.map { try rewrite($0) }
        c.partition = try w.partition.map { try rewrite($0) }
        c.order = try w.order.map { SortKey(expr: try rewrite($0.expr), descending: $0.descending, nullsFirst: $0.nullsFirst) }
        if case .aggregate(var a) = w.kind {
            a.args = try a.args.map { try rewrite($0) }
            a.filter = try a.filter.map { try rewrite($0) }
            a.orderBy = try a.orderBy.map { SortKey(expr: try rewrite($0.expr), descending: $0.descending, nullsFirst: $0.nullsFirst) }
            c.kind = .aggregate(a)
        }
        return c
    }

    /// Moves provisional aggregate slots behind the final keys.
    func finalize(_ e: BoundExpr) -> BoundExpr {
        let n = keys.count
        return e.rewritten { x in
            if case .slot(let s, let t) = x, s >= Self.aggregateBase { return .slot(n + s - Self.aggregateBase, t) }
            return nil
        }
    }

    func finalize(_ w: WindowCall) -> WindowCall {
        var c = w
        c.args = w.args.map(finalize)
        c.partition = w.partition.map(finalize)
        c.order = w.order.map { SortKey(expr: finalize($0.expr), descending: $0.descending, nullsFirst: $0.nullsFirst) }
        if case .aggregate(var a) = w.kind {
            a.args = a.args.map(finalize)
            a.filter = a.filter.map(finalize)
            a.orderBy = a.orderBy.map { SortKey(expr: finalize($0.expr), descending: $0.descending, nullsFirst: $0.nullsFirst) }
            c.kind = .aggregate(a)
        }
        return c
    }

    mutating func functionallyDependent(_ slot: Int, _ type: SQLType) throws -> BoundExpr? {
        guard let ri = scope.relationIndex(ofSlot: slot) else { return nil }
        let r = scope.relations[ri]
        guard !r.keySlots.isEmpty, r.access != nil else { return nil }
        let grouped = r.keySlots.allSatisfy { k in keys.contains { if case .slot(k, _) = $0 { return true }; return false } }
        guard grouped else { return nil }
        keys.append(.slot(slot, type))
        return .slot(keys.count - 1, type)
    }

    func ungrouped(_ slot: Int) -> SQLError {
        var name = "?"
        if let ri = scope.relationIndex(ofSlot: slot) {
            let r = scope.relations[ri]
            if let c = r.columns.first(where: { $0.slot == slot }) { name = "\(r.name).\(c.name)" }
            else if let p = r.pseudo.first(where: { $0.1 == slot }) { name = "\(r.name).\(p.0.name)" }
        }
        return SQLError(.groupingError, "column \"\(name)\" must appear in the GROUP BY clause or be used in an aggregate function")
    }

    /// Where each block slot correlated subqueries read sits in the aggregated row.
    mutating func subqueryMap() throws -> [(from: Int, to: Int)] {
        var map: [(from: Int, to: Int)] = []
        for s in scope.slotsReadByChildren.sorted() {
            if let k = keys.firstIndex(where: { if case .slot(s, _) = $0 { return true }; return false }) {
                map.append((s, k))
                continue
            }
            var type: SQLType?
            for r in scope.relations { if let c = r.columns.first(where: { $0.slot == s }) { type = c.type } }
            if let t = type, try functionallyDependent(s, t) != nil {
                map.append((s, keys.count - 1))
                continue
            }
            throw SQLError(.groupingError, "subquery uses ungrouped column \"\(ungroupedName(s))\" from outer query")
        }
        return map
    }

    func ungroupedName(_ slot: Int) -> String {
        guard let ri = scope.relationIndex(ofSlot: slot) else { return "?" }
        let r = scope.relations[ri]
        return "\(r.name).\(r.columns.first { $0.slot == slot }?.name ?? "?")"
    }
}
