import DriftCore

/// Expressions back to SQL text that parses to the same tree: how defaults, checks and index
/// expressions are stored in the catalog (and shown by `pg_get_expr`).
enum Deparser {
    static func ident(_ s: String) -> String { SQLQuoting.ident(s) }

    static func literal(_ s: String) -> String { SQLQuoting.literal(s) }

    static func typeName(_ t: TypeName) -> String {
        var name = t.names.count == 2 && t.names[0] == "pg_catalog" ? t.names[1] : t.names.map(ident).joined(separator: ".")
        if !t.modifiers.isEmpty { name += "(" + t.modifiers.map(String.init).joined(separator: ",") + ")" }
        return name + String(repeating: "[]", count: t.arrayDimensions)
    }

    static func expr(_ e: Expr) -> String {
        switch e {
        case .column(let parts, _): return parts.map(ident).joined(separator: ".")
        case .star(let q, _): return q.map { ident($0) + ".*" } ?? "*"
        case .constant(let l, _):
            switch l {
            case .integer(let i): return i < 0 ? "(\(i))" : String(i)
            case .numeric(let n): return n.hasPrefix("-") ? "(\(n))" : n
            case .string(let s): return literal(s)
            case .bitString(let b): return b.hasPrefix("x") ? "X'\(b.dropFirst())'" : "B'\(b.dropFirst())'"
            case .bool(let b): return b ? "true" : "false"
            case .null: return "NULL"
            }
        case .parameter(let n, _): return "$\(n)"
        case let .op(name, left, right, _):
            if let left { return "(\(expr(left)) \(name) \(expr(right)))" }
            return "(\(name) \(expr(right)))"
        case .and(let xs): return "(" + xs.map(expr).joined(separator: " AND ") + ")"
        case .or(let xs): return "(" + xs.map(expr).joined(separator: " OR ") + ")"
        case .not(let x): return "(NOT \(expr(x)))"
        case let .isNull(x, negated): return "(\(expr(x)) IS \(negated ? "NOT " : "")NULL)"
        case let .boolTest(x, t):
            let test: String
            switch t {
            case .isTrue: test = "IS TRUE"
            case .isNotTrue: test = "IS NOT TRUE"
            case .isFalse: test = "IS FALSE"
            case .isNotFalse: test = "IS NOT FALSE"
            case .isUnknown: test = "IS UNKNOWN"
            case .isNotUnknown: test = "IS NOT UNKNOWN"
            }
            return "(\(expr(x)) \(test))"
        case let .cast(x, t, _): return "(\(expr(x)))::\(typeName(t))"
        case let .inList(x, items, negated, _):
            return "(\(expr(x)) \(negated ? "NOT " : "")IN (\(items.map(expr).joined(separator: ", "))))"
        case let .between(x, low, high, negated, symmetric, _):
            return "(\(expr(x)) \(negated ? "NOT " : "")BETWEEN \(symmetric ? "SYMMETRIC " : "")\(expr(low)) AND \(expr(high)))"
        case let .like(x, p, esc, ci, negated, _):
            return "(\(expr(x)) \(negated ? "NOT " : "")\(ci ? "ILIKE" : "LIKE") \(expr(p))\(esc.map { " ESCAPE " + expr($0) } ?? ""))"
        case let .similar(x, p, esc, negated, _):
            return "(\(expr(x)) \(negated ? "NOT " : "")SIMILAR TO \(expr(p))\(esc.map { " ESCAPE " + expr($0) } ?? ""))"
        case .function(let f): return function(f)
        case .subquery: return "(SELECT NULL)"
        case let .caseWhen(operand, whens, otherwise, _):
            var s = "CASE"
            if let operand { s += " " + expr(operand) }
            for (w, r) in whens { s += " WHEN \(expr(w)) THEN \(expr(r))" }
            if let otherwise { s += " ELSE \(expr(otherwise))" }
            return s + " END"
        case .coalesce(let xs, _): return "COALESCE(" + xs.map(expr).joined(separator: ", ") + ")"
        case let .nullIf(a, b, _): return "NULLIF(\(expr(a)), \(expr(b)))"
        case .greatest(let xs, _): return "GREATEST(" + xs.map(expr).joined(separator: ", ") + ")"
        case .least(let xs, _): return "LEAST(" + xs.map(expr).joined(separator: ", ") + ")"
        case let .distinctFrom(a, b, negated, _): return "(\(expr(a)) IS \(negated ? "NOT " : "")DISTINCT FROM \(expr(b)))"
        case let .anyArray(a, op, b, all, _): return "(\(expr(a)) \(op) \(all ? "ALL" : "ANY") (\(expr(b))))"
        case .row(let xs, _): return "ROW(" + xs.map(expr).joined(separator: ", ") + ")"
        case .array(let xs, _): return "ARRAY[" + xs.map(expr).joined(separator: ", ") + "]"
        case let .subscripted(x, index, upper, slice, _):
            if slice { return "(\(expr(x)))[\(index.map(expr) ?? ""):\(upper.map(expr) ?? "")]" }
            return "(\(expr(x)))[\(index.map(expr) ?? "")]"
        case let .field(x, name, _): return "(\(expr(x))).\(ident(name))"
        case let .collate(x, names, _): return "(\(expr(x)) COLLATE \(names.map(ident).joined(separator: ".")))"
        case let .sqlValue(op, typmod, _):
            let name = op.hasPrefix("SVFOP_") ? String(op.dropFirst(6)) : op
            return name + (typmod.map { "(\($0))" } ?? "")
        case .defaultValue: return "DEFAULT"
        case let .groupingSet(kind, xs, _):
            let inner = xs.map(expr).joined(separator: ", ")
            switch kind {
            case "GROUPING_SET_ROLLUP": return "ROLLUP(\(inner))"
            case "GROUPING_SET_CUBE": return "CUBE(\(inner))"
            case "GROUPING_SET_EMPTY": return "()"
            default: return "GROUPING SETS (\(inner))"
            }
        case .groupingFunc(let xs, _): return "GROUPING(" + xs.map(expr).joined(separator: ", ") + ")"
        }
    }

    static func function(_ f: FunctionCall) -> String {
        var s = f.name.map(ident).joined(separator: ".") + "("
        if f.star { s += "*" } else {
            if f.distinct { s += "DISTINCT " }
            s += f.args.map(expr).joined(separator: ", ")
            if !f.orderBy.isEmpty { s += " ORDER BY " + f.orderBy.map(sortItem).joined(separator: ", ") }
        }
        s += ")"
        if let filter = f.filter { s += " FILTER (WHERE \(expr(filter)))" }
        if f.over != nil { s += " OVER (...)" }
        return s
    }

    static func sortItem(_ i: SortItem) -> String {
        var s = expr(i.expr)
        if i.descending { s += " DESC" }
        if let nf = i.nullsFirst { s += nf ? " NULLS FIRST" : " NULLS LAST" }
        return s
    }
}
