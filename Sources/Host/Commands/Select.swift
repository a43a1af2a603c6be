import ArgumentParser
import DriftCore
import DriftSQL

struct Select: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a table, optionally as of a past point (the original DriftDB's select).",
        discussion: #"--where takes column=value terms joined by AND, e.g. 'status="paid" AND age>30'; values are "double-quoted" or 'single-quoted' strings, numbers, true, false or null."#)

    @OptionGroup var data: DataOption
    @Option(help: "The table to read.") var table: String
    @Option(name: .customLong("where"), help: #"Conditions, e.g. 'status="paid"'."#) var condition: String?
    @Option(name: .customLong("as-of"), help: "@seq:N or an ISO-8601 timestamp.") var asOf: String?
    @Option(help: "At most this many rows.") var limit: Int?
    @OptionGroup var output: OutputOptions

    func run() throws {
        try CLI.run {
            var s = SelectStatement()
            s.targets = [SelectTarget(expr: .star(qualifier: nil, location: 0))]
            s.from = [TableRef(name: table)]
            if let asOf { s.temporal = .asOf(try TemporalPrepass.parseTarget(asOf, position: nil)) }
            if let condition { s.whereClause = try WhereSyntax.parse(condition) }
            if let limit {
                guard limit >= 0 else { throw CLIError("--limit must not be negative") }
                s.limit = .constant(.integer(Int64(limit)), location: 0)
            }
            let engine = try CLI.open(data.data)
            defer { engine.close() }
            if let def = engine.latestCatalog.table(table), !def.primaryKey.isEmpty {
                s.orderBy = def.primaryKey.map { SortItem(expr: .column([def.columns[$0].name], location: 0)) }
            }
            ResultPrinter(format: output.format).print(try Session(engine: engine).run(s))
        }
    }
}

/// The original DriftDB's where-syntax: `column<op>value` terms joined by AND.
enum WhereSyntax {
    static func parse(_ text: String) throws -> Expr {
        let tokens: [Token]
        do {
            tokens = try Lexer.tokenize(text)
        } catch let e as LexError {
            throw CLIError("invalid --where: \(e.message) at character \(e.offset + 1)")
        }
        var terms: [Expr] = []
        var i = 0
        while i < tokens.count {
            guard i + 2 < tokens.count, tokens[i].kind == .identifier || tokens[i].kind == .quotedIdentifier,
                  tokens[i + 1].kind == .op, ["=", "!=", "<>", "<", "<=", ">", ">="].contains(tokens[i + 1].text) else {
                throw CLIError(#"invalid --where at character \#((i < tokens.count ? tokens[i].start : text.utf8.count) + 1): expected column=value (e.g. status="paid")"#)
            }
            let column = tokens[i].text
            let op = tokens[i + 1].text
            var k = i + 2
            var negative = false
            if tokens[k].isOp("-"), k + 1 < tokens.count { negative = true; k += 1 }
            let v = tokens[k]
            let literal: Literal
            switch v.kind {
            case .quotedIdentifier, .string: literal = .string(v.text)
            case .integer:
                guard let n = Int64((negative ? "-" : "") + v.text) else { throw CLIError("invalid --where: \(v.text) is out of range") }
                literal = .integer(n)
            case .decimal: literal = .numeric((negative ? "-" : "") + v.text)
            case .identifier where v.text == "true" || v.text == "false": literal = .bool(v.text == "true")
            case .identifier where v.text == "null": literal = .null
            default: throw CLIError("invalid --where at character \(v.start + 1): expected a value after \(column)\(op)")
            }
            if case .null = literal {
                terms.append(.isNull(.column([column], location: 0), negated: op != "="))
            } else {
                terms.append(.op(op, left: .column([column], location: 0), right: .constant(literal, location: 0), location: 0))
            }
            i = k + 1
            if i < tokens.count {
                guard tokens[i].isKeyword("and") else {
                    throw CLIError("invalid --where at character \(tokens[i].start + 1): expected AND")
                }
                i += 1
                guard i < tokens.count else { throw CLIError("invalid --where: a condition must follow AND") }
            }
        }
        guard !terms.isEmpty else { throw CLIError("invalid --where: no condition") }
        return terms.count == 1 ? terms[0] : .and(terms)
    }
}
