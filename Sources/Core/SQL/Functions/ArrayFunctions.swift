import DriftCore
#if canImport(Glibc)
import Glibc
#endif

/// One-dimensional arrays' functions, PostgreSQL's answers included for the edges: an empty
/// array has no dimensions (array_length, array_upper, array_lower give NULL, cardinality 0),
/// and searching compares with IS NOT DISTINCT FROM (NULL finds NULL).
enum ArrayFunctions {
    static func items(_ v: Value) throws -> [Value] {
        if case .array(let xs) = v { return xs }
        throw SQLError.bug("expected an array, got \(v)")
    }

    /// `text` cut at every occurrence of a non-empty `delimiter`.
    static func splitText(_ text: String, _ delimiter: String) -> [String] {
        let t = Array(text.utf8), d = Array(delimiter.utf8)
        var parts: [String] = []
        var start = 0, i = 0
        while i + d.count <= t.count {
            if t[i..<(i + d.count)].elementsEqual(d) {
                parts.append(String(decoding: t[start..<i], as: UTF8.self))
                i += d.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(String(decoding: t[start...], as: UTF8.self))
        return parts
    }

    static func same(_ a: Value, _ b: Value) -> Bool {
        if a.isNull || b.isNull { return a.isNull && b.isNull }
        return compareValues(ExprCompiler.normalized(a), ExprCompiler.normalized(b)) == 0
    }

    static func dimension(_ d: Value) throws -> Int64? {
        guard case .int(let n) = d else { return nil }
        return n
    }

    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        var out: [(String, Overload)] = []
        out.append(F.fn("array_length", params: [.anyArray, .type(.int4)], result: .type(.int4), .binary { a, d in
            let xs = try items(a)
            return try dimension(d) == 1 && !xs.isEmpty ? .int(Int64(xs.count)) : .null
        }))
        out.append(F.fn("array_upper", params: [.anyArray, .type(.int4)], result: .type(.int4), .binary { a, d in
            let xs = try items(a)
            return try dimension(d) == 1 && !xs.isEmpty ? .int(Int64(xs.count)) : .null
        }))
        out.append(F.fn("array_lower", params: [.anyArray, .type(.int4)], result: .type(.int4), .binary { a, d in
            let xs = try items(a)
            return try dimension(d) == 1 && !xs.isEmpty ? .int(1) : .null
        }))
        out.append(F.fn("array_ndims", params: [.anyArray], result: .type(.int4), .unary { a in
            try items(a).isEmpty ? .null : .int(1)
        }))
        out.append(F.fn("array_dims", params: [.anyArray], result: .type(.text), .unary { a in
            let xs = try items(a)
            return xs.isEmpty ? .null : .text("[1:\(xs.count)]")
        }))
        out.append(F.fn("cardinality", params: [.anyArray], result: .type(.int4), .unary { a in .int(Int64(try items(a).count)) }))
        // Searching: not strict in the element (NULL finds NULL), strict in the array.
        out.append(F.fn("array_position", params: [.anyArray, .anyElement], result: .type(.int4), strict: false, .binary { a, x in
            guard !a.isNull else { return .null }
            return try items(a).firstIndex { same($0, x) }.map { .int(Int64($0 + 1)) } ?? .null
        }))
        out.append(F.fn("array_position", params: [.anyArray, .anyElement, .type(.int4)], result: .type(.int4), strict: false, .ternary { a, x, s in
            guard !a.isNull else { return .null }
            guard case .int(let start) = s else {
                throw SQLError(SQLState("22004"), "initial position must not be null")
            }
            let xs = try items(a)
            let from = max(0, Int(clamping: start) - 1)
            guard from < xs.count else { return .null }
            return xs[from...].firstIndex { same($0, x) }.map { .int(Int64($0 + 1)) } ?? .null
        }))
        out.append(F.fn("array_positions", params: [.anyArray, .anyElement], result: .type(.array(.int4)), strict: false, .binary { a, x in
            guard !a.isNull else { return .null }
            return .array(try items(a).enumerated().filter { same($0.element, x) }.map { .int(Int64($0.offset + 1)) })
        }))
        // Building: NULL arrays count as empty (array_append(NULL, 1) is {1}).
        out.append(F.fn("array_append", params: [.anyArray, .anyElement], result: .arrayOfElement, strict: false, .binary { a, x in
            .array((a.isNull ? [] : try items(a)) + [x])
        }))
        out.append(F.fn("array_prepend", params: [.anyElement, .anyArray], result: .arrayOfElement, strict: false, .binary { x, a in
            .array([x] + (a.isNull ? [] : try items(a)))
        }))
        out.append(F.fn("array_cat", params: [.anyArray, .anyArray], result: .arrayOfElement, strict: false, .binary { a, b in
            if a.isNull && b.isNull { return .null }
            return .array((a.isNull ? [] : try items(a)) + (b.isNull ? [] : try items(b)))
        }))
        out.append(F.fn("array_remove", params: [.anyArray, .anyElement], result: .arrayOfElement, strict: false, .binary { a, x in
            guard !a.isNull else { return .null }
            return .array(try items(a).filter { !same($0, x) })
        }))
        out.append(F.fn("array_replace", params: [.anyArray, .anyElement, .anyElement], result: .arrayOfElement, strict: false,
                        .ternary { a, x, y in
            guard !a.isNull else { return .null }
            return .array(try items(a).map { same($0, x) ? y : $0 })
        }))
        func joined(_ a: Value, _ d: Value, _ nullText: String?) throws -> Value {
            let delimiter = try d.text()
            var parts: [String] = []
            for x in try items(a) {
                if x.isNull {
                    if let nullText { parts.append(nullText) }
                } else {
                    parts.append(x.pgText ?? "")
                }
            }
            return .text(parts.joined(separator: delimiter))
        }
        out.append(F.fn("array_to_string", params: [.anyArray, .type(.text)], result: .type(.text), .binary { a, d in
            try joined(a, d, nil)
        }))
        out.append(F.fn("array_to_string", params: [.anyArray, .type(.text), .type(.text)], result: .type(.text), strict: false,
                        .ternary { a, d, n in
            guard !a.isNull, !d.isNull else { return .null }
            return try joined(a, d, n.isNull ? nil : try n.text())
        }))
        func split(_ s: Value, _ d: Value, _ n: Value) throws -> Value {
            guard case .text(let text) = s else { return .null }
            let nullText: String? = n.isNull ? nil : try n.text()
            var parts: [String]
            if d.isNull {
                parts = text.map { String($0) }
            } else {
                let delimiter = try d.text()
                if text.isEmpty { return .array([]) }
                parts = delimiter.isEmpty ? [text] : splitText(text, delimiter)
            }
            return .array(parts.map { p in p == nullText ? .null : .text(p) })
        }
        out.append(F.fn("string_to_array", [.text, .text], .array(.text), strict: false, .binary { s, d in try split(s, d, .null) }))
        out.append(F.fn("string_to_array", [.text, .text, .text], .array(.text), strict: false, .ternary { s, d, n in try split(s, d, n) }))
        // Regular expressions returning arrays.
        out.append(F.fn("regexp_match", [.text, .text], .array(.text), .binary { s, p in
            try PatternRegex.firstMatch(try s.text(), try p.text(), flags: "").map { .array($0) } ?? .null
        }))
        out.append(F.fn("regexp_match", [.text, .text, .text], .array(.text), .ternary { s, p, f in
            try PatternRegex.firstMatch(try s.text(), try p.text(), flags: try f.text()).map { .array($0) } ?? .null
        }))
        out.append(F.fn("regexp_split_to_array", [.text, .text], .array(.text), .binary { s, p in
            .array(try PatternRegex.split(try s.text(), try p.text(), flags: "").map { .text($0) })
        }))
        out.append(F.fn("regexp_split_to_array", [.text, .text, .text], .array(.text), .ternary { s, p, f in
            .array(try PatternRegex.split(try s.text(), try p.text(), flags: try f.text()).map { .text($0) })
        }))
        // uuid
        out.append(F.fn("gen_random_uuid", [], .uuid, volatile: true, .nullary { _ in .text(UUIDText.random()) }))
        return out
    }()

    static let setFunctions: [SetFunction] = [
        SetFunction("unnest", columns: { types in
            var element = SQLType.text
            if case .array(let e)? = types.first { element = e }
            return [ResultColumn(name: "unnest", type: element)]
        }, rows: { _, args in
            guard args.count == 1 else { throw SQLError.notSupported("unnest() of several arrays") }
            var it = try items(args[0]).makeIterator()
            return AnyIterator { it.next().map { [$0] } }
        }),
        SetFunction("regexp_split_to_table", columns: { _ in [ResultColumn(name: "regexp_split_to_table", type: .text)] },
                    rows: { _, args in
            let parts = try PatternRegex.split(try args[0].text(), try args[1].text(), flags: args.count > 2 ? try args[2].text() : "")
            var it = parts.makeIterator()
            return AnyIterator { it.next().map { [.text($0)] } }
        }),
        SetFunction("regexp_matches", columns: { _ in [ResultColumn(name: "regexp_matches", type: .array(.text))] }, rows: { _, args in
            let flags = args.count > 2 ? try args[2].text() : ""
            let all = try PatternRegex.allMatches(try args[0].text(), try args[1].text(), flags: flags)
            var it = (flags.contains("g") ? all : Array(all.prefix(1))).makeIterator()
            return AnyIterator { it.next().map { [.array($0)] } }
        }),
        SetFunction("string_to_table", strict: false, columns: { _ in [ResultColumn(name: "string_to_table", type: .text)] }, rows: { _, args in
            guard case .text(let text) = args[0] else { return AnyIterator { nil } }
            let parts: [String]
            if args.count < 2 || args[1].isNull {
                parts = text.map { String($0) }
            } else {
                let d = try args[1].text()
                parts = text.isEmpty ? [] : d.isEmpty ? [text] : splitText(text, d)
            }
            let nullText: String? = args.count > 2 && !args[2].isNull ? try args[2].text() : nil
            var it = parts.makeIterator()
            return AnyIterator { it.next().map { [$0 == nullText ? .null : .text($0)] } }
        }),
    ]
}

