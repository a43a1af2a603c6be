import DriftCore
import DriftSQL

/// How results are printed.
enum OutputFormat {
    case table, csv, json
}

/// Prints statement results as an aligned table (psql's style), CSV, or JSON.
struct ResultPrinter {
    var format: OutputFormat

    func print(_ r: StatementResult) {
        for n in r.notices { printError(n) }
        guard let columns = r.columns else {
            if format == .table && !r.tag.isEmpty { Swift.print(r.tag) }
            return
        }
        switch format {
        case .table: printTable(columns, r.rows)
        case .csv: printCSV(columns, r.rows)
        case .json: Swift.print(json(columns, r.rows))
        }
    }

    func printTable(_ columns: [ResultColumn], _ rows: [[Value]]) {
        let cells = rows.map { $0.map { $0.pgText ?? "" } }
        var widths = columns.map { $0.name.count }
        for row in cells {
            for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) }
        }
        let numeric = columns.map { $0.type.isInteger || $0.type.isFloat || $0.type == .numeric }
        func pad(_ s: String, _ w: Int, right: Bool) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return right ? fill + s : s + fill
        }
        Swift.print(columns.enumerated().map { i, c in
            let total = widths[i] - c.name.count
            let left = total / 2
            return " " + String(repeating: " ", count: left) + c.name + String(repeating: " ", count: total - left) + " "
        }.joined(separator: "|"))
        Swift.print(widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+"))
        for row in cells {
            Swift.print(row.enumerated().map { i, c in " " + pad(c, widths[i], right: numeric[i]) + " " }.joined(separator: "|"))
        }
        Swift.print("(\(rows.count) row\(rows.count == 1 ? "" : "s"))")
        Swift.print("")
    }

    func printCSV(_ columns: [ResultColumn], _ rows: [[Value]]) {
        func field(_ s: String?) -> String {
            guard let s else { return "" }
            if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || s.isEmpty {
                return "\"" + s.replacingAll("\"", with: "\"\"") + "\""
            }
            return s
        }
        Swift.print(columns.map { field($0.name) }.joined(separator: ","))
        for row in rows { Swift.print(row.map { field($0.pgText) }.joined(separator: ",")) }
    }

    func json(_ columns: [ResultColumn], _ rows: [[Value]]) -> String {
        var out = "["
        for (r, row) in rows.enumerated() {
            out += r == 0 ? "\n  {" : ",\n  {"
            for (i, c) in columns.enumerated() {
                if i > 0 { out += ", " }
                writeJSONString(c.name, into: &out)
                out += ": "
                out += Self.jsonValue(row[i])
            }
            out += "}"
        }
        out += rows.isEmpty ? "]" : "\n]"
        return out
    }

    static func jsonValue(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? formatFloat8(d) : "\"\(formatFloat8(d))\""
        case .json(let s): return s
        default:
            var s = ""
            writeJSONString(v.pgText ?? "", into: &s)
            return s
        }
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    var stderr = StandardError()
    Swift.print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        flushStdout()
        writeStandardError(string)
    }
}
