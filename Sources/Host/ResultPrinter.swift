import DriftCore
import DriftSQL

/// How results are printed.
enum OutputFormat {
    case table, csv, json
}

/// Prints statement results as an aligned table (psql's layout), CSV, or JSON.
struct ResultPrinter {
    var format: OutputFormat
    /// Values as text: the session's (timestamptz in its time zone).
    var text: (Value, SQLType) -> String? = { SQLText.format($0, $1) }

    func print(_ r: StatementResult) {
        for n in r.notices { printError(n) }
        guard let columns = r.columns else {
            if format == .table && !r.tag.isEmpty { Swift.print(r.tag) }
            return
        }
        switch format {
        case .table:
            Swift.print(table(columns, r.rows), terminator: "")
            // psql also prints the status of INSERT/UPDATE/DELETE ... RETURNING.
            if ["INSERT", "UPDATE", "DELETE", "MERGE"].contains(where: { r.tag.hasPrefix($0) }) { Swift.print(r.tag) }
        case .csv: Swift.print(csv(columns, r.rows), terminator: "")
        case .json: Swift.print(json(columns, r.rows))
        }
    }

    /// psql's aligned format: headers centred, numbers right-aligned, widths in terminal
    /// columns (wide CJK and emoji count two, combining marks none), a value with newlines
    /// continued on the next lines with `+` at the end of each line but its last.
    func table(_ columns: [ResultColumn], _ rows: [[Value]]) -> String {
        let cells = rows.map { row in
            row.enumerated().map { i, v in
                (text(v, i < columns.count ? columns[i].type : .text) ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            }
        }
        var widths = columns.map { displayWidth($0.name) }
        for row in cells {
            for (i, lines) in row.enumerated() where i < widths.count {
                for l in lines { widths[i] = max(widths[i], displayWidth(l)) }
            }
        }
        let numeric = columns.map { $0.type.isInteger || $0.type.isFloat || $0.type == .numeric }
        let last = columns.count - 1
        var out = ""
        out += columns.enumerated().map { i, c in
            let total = widths[i] - displayWidth(c.name)
            return " " + String(repeating: " ", count: total / 2) + c.name + String(repeating: " ", count: total - total / 2) + " "
        }.joined(separator: "|") + "\n"
        out += widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "\n"
        for row in cells {
            let height = row.map(\.count).max() ?? 1
            for line in 0..<height {
                var parts: [String] = []
                for (i, lines) in row.enumerated() {
                    let text = line < lines.count ? lines[line] : ""
                    let fill = String(repeating: " ", count: max(0, widths[i] - displayWidth(text)))
                    let continues = line < lines.count - 1
                    let padded = numeric[i] ? fill + text : (i == last && !continues ? text : text + fill)
                    parts.append(" " + padded + (continues ? "+" : (i == last ? "" : " ")))
                }
                out += parts.joined(separator: "|") + "\n"
            }
        }
        out += "(\(rows.count) row\(rows.count == 1 ? "" : "s"))\n\n"
        return out
    }

    /// RFC 4180: a field with a comma, quote, CR or LF (or an empty string, to tell it from
    /// NULL) is quoted. Bytes are checked: Swift's `Character` joins "\r\n" into one.
    func csv(_ columns: [ResultColumn], _ rows: [[Value]]) -> String {
        func field(_ s: String?) -> String {
            guard let s else { return "" }
            if s.isEmpty || s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
                return "\"" + s.replacingAll("\"", with: "\"\"") + "\""
            }
            return s
        }
        var out = columns.map { field($0.name) }.joined(separator: ",") + "\n"
        for row in rows {
            out += row.enumerated().map { i, v in field(text(v, i < columns.count ? columns[i].type : .text)) }.joined(separator: ",") + "\n"
        }
        return out
    }

    /// One JSON array of objects. A column name that repeats (`SELECT 1, 2` names both
    /// `?column?`) gets `_2`, `_3`, ... so every key is unique.
    func json(_ columns: [ResultColumn], _ rows: [[Value]]) -> String {
        let keys = Self.uniqueKeys(columns.map(\.name))
        var out = "["
        for (r, row) in rows.enumerated() {
            out += r == 0 ? "\n  {" : ",\n  {"
            for (i, key) in keys.enumerated() where i < row.count {
                if i > 0 { out += ", " }
                writeJSONString(key, into: &out)
                out += ": "
                out += Self.jsonValue(row[i])
            }
            out += "}"
        }
        out += rows.isEmpty ? "]" : "\n]"
        return out
    }

    static func uniqueKeys(_ names: [String]) -> [String] {
        var used = Set(names.map { Array($0.utf8) })
        var seen = Set<[UInt8]>()
        return names.map { name in
            guard !seen.insert(Array(name.utf8)).inserted else { return name }
            var n = 2
            while used.contains(Array("\(name)_\(n)".utf8)) { n += 1 }
            let key = "\(name)_\(n)"
            used.insert(Array(key.utf8))
            return key
        }
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

/// Terminal columns a string takes: East Asian wide and fullwidth characters (CJK, most
/// emoji) take two, combining marks, format characters and variation selectors none.
func displayWidth(_ s: String) -> Int {
    // ASCII (nearly every value printed): one column per character but NUL, without looking
    // up each character's Unicode properties.
    var ascii = 0
    var isASCII = true
    for b in s.utf8 {
        if b >= 0x80 {
            isASCII = false
            break
        }
        if b != 0 { ascii += 1 }
    }
    if isASCII { return ascii }
    var w = 0
    for u in s.unicodeScalars {
        w += scalarWidth(u)
    }
    return w
}

func scalarWidth(_ u: Unicode.Scalar) -> Int {
    let v = u.value
    if v == 0 { return 0 }
    switch u.properties.generalCategory {
    case .nonspacingMark, .enclosingMark, .format: return 0
    default: break
    }
    if (0xFE00...0xFE0F).contains(v) || (0xE0100...0xE01EF).contains(v) { return 0 }
    return wideRanges.contains { $0.contains(v) } ? 2 : 1
}

/// East Asian Width W and F (Unicode 15), merged into ranges.
let wideRanges: [ClosedRange<UInt32>] = [
    0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0...0x23F0, 0x23F3...0x23F3,
    0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F...0x267F, 0x2693...0x2693, 0x26A1...0x26A1,
    0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE...0x26CE, 0x26D4...0x26D4, 0x26EA...0x26EA,
    0x26F2...0x26F3, 0x26F5...0x26F5, 0x26FA...0x26FA, 0x26FD...0x26FD, 0x2705...0x2705, 0x270A...0x270B,
    0x2728...0x2728, 0x274C...0x274C, 0x274E...0x274E, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797,
    0x27B0...0x27B0, 0x27BF...0x27BF, 0x2B1B...0x2B1C, 0x2B50...0x2B50, 0x2B55...0x2B55, 0x2E80...0x303E,
    0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
    0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4,
    0x17000...0x18CFF, 0x1B000...0x1B2FF, 0x1F004...0x1F004, 0x1F0CF...0x1F0CF, 0x1F18E...0x1F18E,
    0x1F191...0x1F19A, 0x1F200...0x1F202, 0x1F210...0x1F23B, 0x1F240...0x1F248, 0x1F250...0x1F251,
    0x1F260...0x1F265, 0x1F300...0x1F320, 0x1F32D...0x1F335, 0x1F337...0x1F37C, 0x1F37E...0x1F393,
    0x1F3A0...0x1F3CA, 0x1F3CF...0x1F3D3, 0x1F3E0...0x1F3F0, 0x1F3F4...0x1F3F4, 0x1F3F8...0x1F43E,
    0x1F440...0x1F440, 0x1F442...0x1F4FC, 0x1F4FF...0x1F53D, 0x1F54B...0x1F54E, 0x1F550...0x1F567,
    0x1F57A...0x1F57A, 0x1F595...0x1F596, 0x1F5A4...0x1F5A4, 0x1F5FB...0x1F64F, 0x1F680...0x1F6C5,
    0x1F6CC...0x1F6CC, 0x1F6D0...0x1F6D2, 0x1F6D5...0x1F6D7, 0x1F6DC...0x1F6DF, 0x1F6EB...0x1F6EC,
    0x1F6F4...0x1F6FC, 0x1F7E0...0x1F7EB, 0x1F7F0...0x1F7F0, 0x1F90C...0x1F93A, 0x1F93C...0x1F945,
    0x1F947...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
]

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
