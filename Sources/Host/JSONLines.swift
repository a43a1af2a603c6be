import DriftCore
import DriftSQL

/// One JSON object per statement (`driftdb sql --jsonl`): values as PostgreSQL's text output,
/// errors with their SQLSTATE, so tools can compare answers with another server's.
enum JSONLines {
    static func quote(_ s: String) -> String {
        var out = ""
        writeJSONString(s, into: &out)
        return out
    }

    static func result(_ r: StatementResult, _ session: Session) -> String {
        var out = "{\"tag\":" + quote(r.tag)
        if let columns = r.columns {
            out += ",\"columns\":[" + columns.map { "{\"name\":\(quote($0.name)),\"type\":\(quote($0.type.name))}" }.joined(separator: ",") + "]"
            out += ",\"rows\":[" + r.rows.map { row in
                "[" + row.enumerated().map { i, v in
                    session.text(v, i < columns.count ? columns[i].type : .text).map(quote) ?? "null"
                }.joined(separator: ",") + "]"
            }.joined(separator: ",") + "]"
        }
        if !r.notices.isEmpty { out += ",\"notices\":[" + r.notices.map(quote).joined(separator: ",") + "]" }
        return out + "}"
    }

    static func error(_ e: any Error) -> String {
        if let s = e as? SQLError {
            return "{\"error\":{\"code\":\(quote(s.code.rawValue)),\"message\":\(quote(s.message))}}"
        }
        return "{\"error\":{\"code\":\"XX000\",\"message\":\(quote("\(e)"))}}"
    }
}
