import DriftCore

/// A scalar function's implementation. The compiler evaluates the arguments; a strict
/// function is not called when one of them is NULL (its result is NULL).
final class ScalarFunction: @unchecked Sendable {
    enum Body {
        case nullary((ExecContext) throws -> Value)
        case unary((Value) throws -> Value)
        case binary((Value, Value) throws -> Value)
        case ternary((Value, Value, Value) throws -> Value)
        case nary(([Value]) throws -> Value)
        /// Needs the execution (session settings, sequences, locks, the clock).
        case context((ExecContext, [Value]) throws -> Value)
    }

    let name: String
    /// Gives a different answer for the same arguments (random(), nextval(), clock_timestamp()):
    /// never folded, never matched as a GROUP BY expression.
    let volatile: Bool
    let strict: Bool
    let body: Body

    init(_ name: String, volatile: Bool = false, strict: Bool = true, _ body: Body) {
        self.name = name
        self.volatile = volatile
        self.strict = strict
        self.body = body
    }
}

/// A set-returning function in FROM: its output columns given the argument types, and its rows.
final class SetFunction: @unchecked Sendable {
    let name: String
    let columns: ([SQLType]) -> [ResultColumn]
    /// Produces the rows for one call (arguments already evaluated; not called when a strict
    /// argument is NULL).
    let rows: (ExecContext, [Value]) throws -> AnyIterator<[Value]>
    let strict: Bool

    init(_ name: String, strict: Bool = true, columns: @escaping ([SQLType]) -> [ResultColumn],
         rows: @escaping (ExecContext, [Value]) throws -> AnyIterator<[Value]>) {
        self.name = name
        self.columns = columns
        self.rows = rows
        self.strict = strict
    }
}

/// A parameter of a function signature.
enum ParamType: Equatable {
    case type(SQLType)
    /// PostgreSQL's anyelement: every such argument takes one common type.
    case anyElement
    /// anyarray: an array whose element type is the anyelement type.
    case anyArray
    /// "any": taken as it is, no coercion (concat, format, pg_typeof).
    case any
}

enum ResultType {
    case type(SQLType)
    case element
    case arrayOfElement
    /// The first argument's type (after coercion).
    case firstArgument
}

struct Overload {
    var params: [ParamType]
    /// Extra arguments of this kind may follow.
    var variadic: ParamType?
    var result: ResultType
    var function: ScalarFunction
}

/// Every scalar function by name, with PostgreSQL's overload resolution (exact matches first,
/// then unknown literals, then implicit casts).
enum FunctionCatalog {
    nonisolated(unsafe) static var overloads: [String: [Overload]] = {
        var m: [String: [Overload]] = [:]
        func add(_ list: [(String, Overload)]) {
            for (n, o) in list { m[n, default: []].append(o) }
        }
        add(MathFunctions.all)
        add(StringFunctions.all)
        add(SystemFunctions.all)
        add(JSONFunctions.all)
        add(DateTimeSQLFunctions.all)
        add(SequenceFunctions.all)
        add(ArrayFunctions.all)
        add(AdvisoryFunctions.all)
        add(CatalogFunctions.all)
        return m
    }()

    nonisolated(unsafe) static var setFunctions: [String: SetFunction] = {
        var m: [String: SetFunction] = [:]
        for f in SetFunctions.all + JSONFunctions.setFunctions + ArrayFunctions.setFunctions + [CatalogFunctions.generateSubscripts, CatalogFunctions.partitionAncestors,
                                                                                     CatalogFunctions.expandArray] {
            m[f.name] = f
        }
        return m
    }()

    static func exists(_ name: String) -> Bool { overloads[name] != nil }

    /// Picks the overload for `args` and coerces them to its parameter types.
    static func resolve(_ name: String, _ args: [BoundExpr], location: Int?,
                        coerce: (BoundExpr, SQLType) throws -> BoundExpr) throws -> (ScalarFunction, [BoundExpr], SQLType) {
        guard let candidates = overloads[name] else {
            throw noFunction(name, args, location: location)
        }
        var best: (cost: Int, overload: Overload, element: SQLType?)?
        var ambiguous = false
        for o in candidates {
            guard let (cost, element) = match(o, args) else { continue }
            if let b = best, cost >= b.cost {
                if cost == b.cost { ambiguous = true }
                continue
            }
            best = (cost, o, element)
            ambiguous = false
        }
        guard var chosen = best else { throw noFunction(name, args, location: location) }
        if ambiguous && args.allSatisfy(\.isUntypedLiteral) && !args.isEmpty {
            // PostgreSQL resolves all-unknown arguments to the text candidate when there is one.
            if let textual = candidates.first(where: { o in o.params.allSatisfy { $0 == .type(.text) } && o.params.count == args.count }) {
                chosen = (chosen.cost, textual, nil)
            }
        }
        let o = chosen.overload
        let element = chosen.element
        var coerced: [BoundExpr] = []
        for (i, a) in args.enumerated() {
            let p = i < o.params.count ? o.params[i] : (o.variadic ?? .any)
            switch p {
            case .type(let t): coerced.append(try coerce(a, t))
            case .anyElement: coerced.append(try coerce(a, element ?? .text))
            case .anyArray: coerced.append(try coerce(a, .array(element ?? .text)))
            case .any: coerced.append(a.isUntypedLiteral ? try coerce(a, .text) : a)
            }
        }
        let result: SQLType
        switch o.result {
        case .type(let t): result = t
        case .element: result = element ?? .text
        case .arrayOfElement: result = .array(element ?? .text)
        case .firstArgument: result = coerced.first?.type ?? .text
        }
        return (o.function, coerced, result)
    }

    /// The cost of calling `o` with `args` (lower is better), and the anyelement type; nil when
    /// it does not apply.
    static func match(_ o: Overload, _ args: [BoundExpr]) -> (Int, SQLType?)? {
        if o.variadic == nil {
            guard args.count == o.params.count else { return nil }
        } else {
            guard args.count >= o.params.count else { return nil }
        }
        var cost = 0
        var polymorphic: [SQLType] = []
        for (i, a) in args.enumerated() {
            let p = i < o.params.count ? o.params[i] : (o.variadic ?? .any)
            switch p {
            case .any: break
            case .anyElement:
                if !a.isUntypedLiteral { polymorphic.append(a.type) }
                cost += 1
            case .anyArray:
                if a.isUntypedLiteral { cost += 1; continue }
                var type = a.type
                if case .vector(let e) = type {
                    type = .array(e)
                    cost += 1
                }
                guard case .array(let e) = type else { return nil }
                polymorphic.append(e)
            case .type(let t):
                if a.isUntypedLiteral {
                    cost += TypeRules.category(t) == .string ? 1 : 2
                } else if a.type == t || (a.type == .unknown && t == .text) {
                    continue
                } else if sameFamily(a.type, t) {
                    cost += 1
                } else if TypeRules.implicitlyCastable(a.type, to: t) {
                    cost += 3 + castDistance(a.type, t)
                } else {
                    return nil
                }
            }
        }
        var element: SQLType?
        if !polymorphic.isEmpty {
            guard let common = try? TypeRules.common(polymorphic, context: "", location: nil) else { return nil }
            element = common
        }
        return (cost, element)
    }

    /// varchar(n) and text, char(n) and text: one family, the cheapest conversion.
    static func sameFamily(_ a: SQLType, _ b: SQLType) -> Bool {
        switch (a, b) {
        case (.varchar, .text), (.text, .varchar), (.varchar, .varchar), (.bpchar, .bpchar): return true
        case (.bpchar, .text): return true
        default: return false
        }
    }

    /// Among numeric casts, nearer types are preferred (int4 → int8 before int4 → float8).
    static func castDistance(_ a: SQLType, _ b: SQLType) -> Int {
        guard let x = TypeRules.numericRank(a), let y = TypeRules.numericRank(b) else { return 0 }
        return abs(y - x)
    }

    static func noFunction(_ name: String, _ args: [BoundExpr], location: Int?) -> SQLError {
        let types = args.map { $0.isUntypedLiteral ? "unknown" : $0.type.name }.joined(separator: ", ")
        return SQLError(.undefinedFunction, "function \(name)(\(types)) does not exist",
                        hint: "No function matches the given name and argument types. You might need to add explicit type casts.",
                        position: sqlPosition(location))
    }

    // MARK: Registration helpers

    static func fn(_ name: String, _ params: [SQLType], _ result: SQLType, volatile: Bool = false, strict: Bool = true,
                   _ body: ScalarFunction.Body) -> (String, Overload) {
        (name, Overload(params: params.map { .type($0) }, variadic: nil, result: .type(result),
                        function: ScalarFunction(name, volatile: volatile, strict: strict, body)))
    }

    static func fn(_ name: String, params: [ParamType], variadic: ParamType? = nil, result: ResultType, volatile: Bool = false,
                   strict: Bool = true, _ body: ScalarFunction.Body) -> (String, Overload) {
        (name, Overload(params: params, variadic: variadic, result: result,
                        function: ScalarFunction(name, volatile: volatile, strict: strict, body)))
    }
}

// MARK: Value accessors for function bodies

extension Value {
    /// The value as text (functions over text receive text; others fail as a bug).
    @inline(__always)
    func text() throws -> String {
        if case .text(let s) = self { return s }
        if case .json(let s) = self { return s }
        throw SQLError.bug("expected text, got \(self)")
    }

    @inline(__always)
    func int() throws -> Int64 {
        if case .int(let i) = self { return i }
        if case .double(let d) = self, d.rounded() == d, abs(d) < 9.2e18 { return Int64(d) }
        throw SQLError.bug("expected an integer, got \(self)")
    }

    @inline(__always)
    func double() throws -> Double {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .numeric(let n): return n.doubleValue
        default: throw SQLError.bug("expected a number, got \(self)")
        }
    }

    /// The value as numeric (integers widen exactly).
    @inline(__always)
    func numeric() throws -> Numeric {
        switch self {
        case .numeric(let n): return n
        case .int(let i): return Numeric(i)
        case .double(let d): return try Coercion.numericFromDouble(d, .float8)
        default: throw SQLError.bug("expected a numeric, got \(self)")
        }
    }
}
