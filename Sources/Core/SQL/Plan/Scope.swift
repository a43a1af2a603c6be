import DriftCore

/// The columns a query can name: a table's columns at their row-image positions, then
/// the history pseudo-columns, which are found by name but are not part of `*`.
struct Scope {
    struct Column {
        var name: String
        var slot: Int
        var type: SQLType
        var hidden: Bool
    }

    enum Pseudo: Int, CaseIterable {
        case driftSeq = 0, driftOp, systemTimeStart, systemTimeEnd

        var name: String {
            switch self {
            case .driftSeq: return "drift_seq"
            case .driftOp: return "drift_op"
            case .systemTimeStart: return "system_time_start"
            case .systemTimeEnd: return "system_time_end"
            }
        }

        var type: SQLType {
            switch self {
            case .driftSeq: return .int8
            case .driftOp: return .text
            case .systemTimeStart, .systemTimeEnd: return .timestamptz
            }
        }
    }

    let table: TableDef
    let alias: String
    var columns: [Column] = []
    /// Row width: table columns then one slot per pseudo-column.
    let width: Int
    /// Pseudo-columns the query names (the scan fills only these).
    var usedPseudo = Set<Pseudo>()

    init(table: TableDef, alias: String?) {
        self.table = table
        self.alias = alias ?? table.name
        for p in table.visibleColumns {
            columns.append(Column(name: table.columns[p].name, slot: p, type: table.columns[p].type, hidden: false))
        }
        for p in Pseudo.allCases {
            columns.append(Column(name: p.name, slot: table.columns.count + p.rawValue, type: p.type, hidden: true))
        }
        width = table.columns.count + Pseudo.allCases.count
    }

    func pseudo(atSlot slot: Int) -> Pseudo? {
        slot >= table.columns.count ? Pseudo(rawValue: slot - table.columns.count) : nil
    }

    mutating func resolve(_ parts: [String], location: Int) throws -> Column {
        let name: String
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            guard parts[0] == alias else {
                throw SQLError(.undefinedTable, "missing FROM-clause entry for table \"\(parts[0])\"", position: sqlPosition(location))
            }
            name = parts[1]
        case 3:
            guard parts[0] == table.schema, parts[1] == alias else {
                throw SQLError(.undefinedTable, "missing FROM-clause entry for table \"\(parts[1])\"", position: sqlPosition(location))
            }
            name = parts[2]
        default:
            throw SQLError(.syntaxError, "improper qualified name (too many dotted names): \(parts.joined(separator: "."))",
                           position: sqlPosition(location))
        }
        guard let c = columns.first(where: { $0.name == name }) else {
            throw SQLError(.undefinedColumn, "column \(parts.joined(separator: ".")) does not exist", position: sqlPosition(location))
        }
        if let p = pseudo(atSlot: c.slot) { usedPseudo.insert(p) }
        return c
    }
}
