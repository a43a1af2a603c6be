import DriftCore
import DriftStorage

/// jsonb (and json) operators and functions. Values are held as their text; operators parse it.
enum JSONFunctions {
    static func parse(_ v: Value) throws -> JSONValue {
        guard case .json(let s) = v else {
            if case .text(let t) = v { return try parseText(t) }
            throw SQLError.bug("expected json, got \(v)")
        }
        return try parseText(s)
    }

    static func parseText(_ s: String) throws -> JSONValue {
        do {
            return try JSONParser.parse(s)
        } catch let e as JSONParser.Failure {
            throw SQLError(.invalidJSONText, "invalid input syntax for type json", detail: e.description)
        }
    }

    static func json(_ j: JSONValue) -> Value { .json(j.canonicalText) }

    /// `->` by key or index.
    /// `-> key` / `-> index`; jsonb reads a scalar as a one-element array (`'1'::jsonb -> 0`
    /// is 1, as in PostgreSQL), json does not.
    static func field(_ j: JSONValue, _ key: Value, scalarAsArray: Bool = false) -> JSONValue? {
        switch (j, key) {
        case let (.object(pairs), .text(k)): return pairs.last { $0.0 == k }?.1
        case (.number, .int(let i)), (.string, .int(let i)), (.bool, .int(let i)), (.null, .int(let i)):
            return scalarAsArray && (i == 0 || i == -1) ? j : nil
        case let (.array(items), .int(i)):
            let idx = i < 0 ? Int64(items.count) + i : i
            return idx >= 0 && idx < Int64(items.count) ? items[Int(idx)] : nil
        default: return nil
        }
    }

    static func path(_ j: JSONValue, _ steps: [Value]) -> JSONValue? {
        var cur: JSONValue? = j
        for s in steps {
            guard let c = cur, case .text(let t) = s else { return nil }
            switch c {
            case .object: cur = field(c, .text(t))
            case .array: guard let i = Int64(t) else { return nil }; cur = field(c, .int(i))
            default: return nil
            }
        }
        return cur
    }

    /// The text `->>` gives: strings unquoted, null as SQL NULL, the rest as JSON text.
    static func text(_ j: JSONValue?) -> Value {
        guard let j else { return .null }
        switch j {
        case .null: return .null
        case .string(let s): return .text(s)
        default: return .text(j.canonicalText)
        }
    }

    /// jsonb containment (`a @> b`).
    static func contains(_ a: JSONValue, _ b: JSONValue, top: Bool = true) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)):
            return y.allSatisfy { k, v in x.last(where: { $0.0 == k }).map { contains($0.1, v, top: false) } ?? false }
        case let (.array(x), .array(y)):
            return y.allSatisfy { v in x.contains { contains($0, v, top: false) } }
        case let (.array(x), _) where top:
            // A top-level array contains a scalar that is one of its elements.
            if case .object = b { return false }
            return x.contains { scalarEqual($0, b) }
        default:
            return scalarEqual(a, b)
        }
    }

    static func scalarEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.number(x), .number(y)): return Double(x) == Double(y)
        case (.object, _), (.array, _): return false
        default: return a == b
        }
    }

    static func keyExists(_ j: JSONValue, _ k: String) -> Bool {
        switch j {
        case .object(let pairs): return pairs.contains { $0.0 == k }
        case .array(let items): return items.contains { $0 == .string(k) }
        case .string(let s): return s == k
        default: return false
        }
    }

    static func typeName(_ j: JSONValue) -> String {
        switch j {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// A SQL value as JSON (to_jsonb and the builders).
    static func from(_ v: Value, type: SQLType) throws -> JSONValue {
        switch v {
        case .null: return .null
        case .json(let s): return try parseText(s)
        default: return try parseText(JSONText.encode(v, type: type))
        }
    }

    static func set(_ j: JSONValue, _ path: ArraySlice<Value>, _ value: JSONValue, create: Bool) -> JSONValue {
        guard let first = path.first, case .text(let step) = first else { return j }
        let rest = path.dropFirst()
        switch j {
        case .object(var pairs):
            if let i = pairs.lastIndex(where: { $0.0 == step }) {
                pairs[i].1 = rest.isEmpty ? value : set(pairs[i].1, rest, value, create: create)
            } else if rest.isEmpty && create {
                pairs.append((step, value))
            }
            return .object(pairs)
        case .array(var items):
            guard var i = Int(step) else { return j }
            if i < 0 { i += items.count }
            if i >= 0 && i < items.count {
                items[i] = rest.isEmpty ? value : set(items[i], rest, value, create: create)
            } else if rest.isEmpty && create {
                if i < 0 { items.insert(value, at: 0) } else { items.append(value) }
            }
            return .array(items)
        default:
            return j
        }
    }

    static func stripNulls(_ j: JSONValue) -> JSONValue {
        switch j {
        case .object(let pairs): return .object(pairs.filter { $0.1 != .null }.map { ($0.0, stripNulls($0.1)) })
        case .array(let items): return .array(items.map(stripNulls))
        default: return j
        }
    }

    static func pretty(_ j: JSONValue, indent: Int = 0) -> String {
        let pad = String(repeating: "    ", count: indent + 1), end = String(repeating: "    ", count: indent)
        switch j {
        case .object(let pairs) where !pairs.isEmpty:
            guard case .object(let sorted) = (try? parseText(j.canonicalText)) ?? j else { return j.canonicalText }
            return "{\n" + sorted.map { pad + JSONText.quote($0.0) + ": " + pretty($0.1, indent: indent + 1) }.joined(separator: ",\n") + "\n" + end + "}"
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { pad + pretty($0, indent: indent + 1) }.joined(separator: ",\n") + "\n" + end + "]"
        default:
            return j.canonicalText
        }
    }

    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        var out: [(String, Overload)] = []
        for (name, t) in [("to_json", SQLType.json), ("to_jsonb", .jsonb)] {
            out.append(F.fn(name, params: [.anyElement], result: .type(t), .unary { v in .json(JSONText.encode(v, type: .text, jsonb: t == .jsonb)) }))
        }
        for (name, t) in [("json_build_object", SQLType.json), ("jsonb_build_object", .jsonb)] {
            out.append(F.fn(name, params: [], variadic: .any, result: .type(t), strict: false, .nary { args in
                guard args.count % 2 == 0 else {
                    throw SQLError(.invalidParameterValue, "argument list must have even number of elements",
                                   hint: "The arguments of \(name)() must consist of alternating keys and values.")
                }
                var pairs: [(String, JSONValue)] = []
                var i = 0
                while i < args.count {
                    guard let k = args[i].pgText else {
                        throw SQLError(SQLState("22004"), "argument \(i + 1): key must not be null")
                    }
                    pairs.append((k, try from(args[i + 1], type: args[i + 1].naturalType ?? .text)))
                    i += 2
                }
                let j = JSONValue.object(pairs)
                return .json(t == .jsonb ? j.canonicalText : "{" + pairs.map { JSONText.quote($0.0) + " : " + $0.1.canonicalText }.joined(separator: ", ") + "}")
            }))
        }
        for (name, t) in [("json_build_array", SQLType.json), ("jsonb_build_array", .jsonb)] {
            out.append(F.fn(name, params: [], variadic: .any, result: .type(t), strict: false, .nary { args in
                .json(JSONValue.array(try args.map { try from($0, type: $0.naturalType ?? .text) }).canonicalText)
            }))
        }
        for t in [SQLType.jsonb, .json] {
            let p = t == .jsonb ? "jsonb" : "json"
            out.append(F.fn("\(p)_typeof", [t], .text, .unary { .text(typeName(try parse($0))) }))
            out.append(F.fn("\(p)_array_length", [t], .int4, .unary { v in
                guard case .array(let items) = try parse(v) else {
                    throw SQLError(.invalidParameterValue, "cannot get array length of a non-array")
                }
                return .int(Int64(items.count))
            }))
            out.append(F.fn("\(p)_extract_path", params: [.type(t)], variadic: .type(.text), result: .type(t), .nary { a in
                path(try parse(a[0]), Array(a.dropFirst())).map(json) ?? .null
            }))
            out.append(F.fn("\(p)_extract_path_text", params: [.type(t)], variadic: .type(.text), result: .type(.text), .nary { a in
                text(path(try parse(a[0]), Array(a.dropFirst())))
            }))
            out.append(F.fn("\(p)_strip_nulls", [t], t, .unary { json(stripNulls(try parse($0))) }))
        }
        out.append(F.fn("jsonb_pretty", [.jsonb], .text, .unary { .text(pretty(try parse($0))) }))
        out.append(F.fn("jsonb_set", [.jsonb, .array(.text), .jsonb], .jsonb, .ternary { j, p, v in
            guard case .array(let steps) = p else { return .null }
            return json(set(try parse(j), steps[...], try parse(v), create: true))
        }))
        out.append(F.fn("jsonb_set", [.jsonb, .array(.text), .jsonb, .bool], .jsonb, .nary { a in
            guard case .array(let steps) = a[1], case .bool(let create) = a[3] else { return .null }
            return json(set(try parse(a[0]), steps[...], try parse(a[2]), create: create))
        }))
        out.append(F.fn("jsonb_concat", [.jsonb, .jsonb], .jsonb, .binary { a, b in
            switch (try parse(a), try parse(b)) {
            case let (.object(x), .object(y)): return json(.object(x + y))
            case let (.array(x), .array(y)): return json(.array(x + y))
            case let (.array(x), y): return json(.array(x + [y]))
            case let (x, .array(y)): return json(.array([x] + y))
            default: throw SQLError(.invalidParameterValue, "invalid concatenation of jsonb objects")
            }
        }))
        out.append(F.fn("jsonb_delete", [.jsonb, .text], .jsonb, .binary { a, k in
            let key = try k.text()
            switch try parse(a) {
            case .object(let pairs): return json(.object(pairs.filter { $0.0 != key }))
            case .array(let items): return json(.array(items.filter { $0 != .string(key) }))
            default: throw SQLError(.invalidParameterValue, "cannot delete from scalar")
            }
        }))
        out.append(F.fn("jsonb_delete", [.jsonb, .int4], .jsonb, .binary { a, i in
            guard case .array(var items) = try parse(a) else {
                throw SQLError(.invalidParameterValue, "cannot delete from object using integer index")
            }
            var idx = Int(try i.int())
            if idx < 0 { idx += items.count }
            if idx >= 0 && idx < items.count { items.remove(at: idx) }
            return json(.array(items))
        }))
        return out
    }()

    static let setFunctions: [SetFunction] = {
        func elements(_ name: String, asText: Bool) -> SetFunction {
            SetFunction(name, columns: { _ in [ResultColumn(name: "value", type: asText ? .text : .jsonb)] }, rows: { _, a in
                guard case .array(let items) = try parse(a[0]) else {
                    throw SQLError(.invalidParameterValue, "cannot extract elements from \(asText ? "a scalar" : "an object")")
                }
                var it = items.makeIterator()
                return AnyIterator { it.next().map { [asText ? text($0) : json($0)] } }
            })
        }
        func each(_ name: String, asText: Bool) -> SetFunction {
            SetFunction(name, columns: { _ in [ResultColumn(name: "key", type: .text), ResultColumn(name: "value", type: asText ? .text : .jsonb)] },
                        rows: { _, a in
                guard case .object(let pairs) = try parse(.json(try parse(a[0]).canonicalText)) else {
                    throw SQLError(.invalidParameterValue, "cannot call \(name) on a non-object")
                }
                var it = pairs.makeIterator()
                return AnyIterator { it.next().map { [.text($0.0), asText ? text($0.1) : json($0.1)] } }
            })
        }
        return [
            elements("jsonb_array_elements", asText: false), elements("jsonb_array_elements_text", asText: true),
            elements("json_array_elements", asText: false), elements("json_array_elements_text", asText: true),
            each("jsonb_each", asText: false), each("jsonb_each_text", asText: true),
            each("json_each", asText: false), each("json_each_text", asText: true),
            SetFunction("jsonb_object_keys", columns: { _ in [ResultColumn(name: "jsonb_object_keys", type: .text)] }, rows: { _, a in
                guard case .object(let pairs) = try parse(.json(try parse(a[0]).canonicalText)) else {
                    throw SQLError(.invalidParameterValue, "cannot call jsonb_object_keys on a non-object")
                }
                var it = pairs.makeIterator()
                return AnyIterator { it.next().map { [.text($0.0)] } }
            }),
        ]
    }()
}

/// jsonb's operators: `-> ->> #> #>> @> <@ ? ?| ?& -`.
enum JSONOperators {
    typealias Resolved = (Binder, Int) throws -> (ScalarFunction, [BoundExpr], SQLType)

    static func isJSON(_ e: BoundExpr) -> Bool { e.type == .jsonb || e.type == .json }

    static func resolve(_ name: String, _ l: BoundExpr, _ r: BoundExpr) -> Resolved? {
        guard isJSON(l) || (isJSON(r) && (name == "<@" || name == "@>")) else { return nil }
        let resultJSON: SQLType = l.type == .json ? .json : .jsonb
        switch name {
        case "->", "->>":
            return { b, loc in
                let key = r.isUntypedLiteral ? try b.coerce(r, to: .text, context: .implicit, location: loc) : r
                guard key.type.isText || key.type.isInteger else { throw b.noOperator(name, l, r, location: loc) }
                let k = key.type.isInteger ? try b.coerce(key, to: .int4, context: .implicit, location: loc) : key
                let asText = name == "->>"
                let scalarAsArray = resultJSON == .jsonb
                let f = ScalarFunction(asText ? "json_field_text" : "json_field", .binary { j, k in
                    let v = JSONFunctions.field(try JSONFunctions.parse(j), k, scalarAsArray: scalarAsArray)
                    return asText ? JSONFunctions.text(v) : (v.map(JSONFunctions.json) ?? .null)
                })
                return (f, [l, k], asText ? .text : resultJSON)
            }
        case "#>", "#>>":
            return { b, loc in
                let p = try b.coerce(r, to: .array(.text), context: .implicit, location: loc)
                guard p.type == .array(.text) else { throw b.noOperator(name, l, r, location: loc) }
                let asText = name == "#>>"
                let f = ScalarFunction(asText ? "json_path_text" : "json_path", .binary { j, p in
                    guard case .array(let steps) = p else { return .null }
                    let v = JSONFunctions.path(try JSONFunctions.parse(j), steps)
                    return asText ? JSONFunctions.text(v) : (v.map(JSONFunctions.json) ?? .null)
                })
                return (f, [l, p], asText ? .text : resultJSON)
            }
        case "@>", "<@":
            return { b, loc in
                let x = try b.coerce(l, to: .jsonb, context: .implicit, location: loc)
                let y = try b.coerce(r, to: .jsonb, context: .implicit, location: loc)
                guard x.type == .jsonb, y.type == .jsonb else { throw b.noOperator(name, l, r, location: loc) }
                let flip = name == "<@"
                let f = ScalarFunction("jsonb_contains", .binary { a, c in
                    let p = try JSONFunctions.parse(a), q = try JSONFunctions.parse(c)
                    return .bool(flip ? JSONFunctions.contains(q, p) : JSONFunctions.contains(p, q))
                })
                return (f, [x, y], .bool)
            }
        case "?":
            return { b, loc in
                let k = try b.coerce(r, to: .text, context: .implicit, location: loc)
                guard k.type.isText, l.type == .jsonb else { throw b.noOperator(name, l, r, location: loc) }
                let f = ScalarFunction("jsonb_exists", .binary { j, k in .bool(JSONFunctions.keyExists(try JSONFunctions.parse(j), try k.text())) })
                return (f, [l, k], .bool)
            }
        case "?|", "?&":
            return { b, loc in
                let ks = try b.coerce(r, to: .array(.text), context: .implicit, location: loc)
                guard ks.type == .array(.text), l.type == .jsonb else { throw b.noOperator(name, l, r, location: loc) }
                let any = name == "?|"
                let f = ScalarFunction(any ? "jsonb_exists_any" : "jsonb_exists_all", .binary { j, ks in
                    guard case .array(let keys) = ks else { return .null }
                    let doc = try JSONFunctions.parse(j)
                    let hits = keys.compactMap { k -> Bool? in
                        guard case .text(let s) = k else { return nil }
                        return JSONFunctions.keyExists(doc, s)
                    }
                    return .bool(any ? hits.contains(true) : hits.allSatisfy { $0 })
                })
                return (f, [l, ks], .bool)
            }
        case "-":
            return { b, loc in
                if r.type.isInteger { return try resolved(b, "jsonb_delete", [l, r], loc) }
                return try resolved(b, "jsonb_delete", [l, try b.coerce(r, to: .text, context: .implicit, location: loc)], loc)
            }
        default:
            return nil
        }
    }

    static func resolved(_ b: Binder, _ name: String, _ args: [BoundExpr], _ loc: Int) throws -> (ScalarFunction, [BoundExpr], SQLType) {
        try FunctionCatalog.resolve(name, args, location: loc) { try b.coerce($0, to: $1, context: .implicit, location: loc) }
    }
}
