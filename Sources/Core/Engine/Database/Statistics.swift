import DriftStorage

/// Planner statistics of one column, from a sample of the table's live rows (ANALYZE), with
/// PostgreSQL's meanings: the fraction of NULLs, the estimated number of distinct non-null
/// values in the whole table, the most common values with their frequencies (fractions of
/// all rows), and equal-depth histogram bounds over the other values.
public struct ColumnStatistics: Sendable {
    public var nullFraction: Double
    public var distinct: Double
    public var mostCommon: [(value: Value, frequency: Double)]
    public var histogram: [Value]
}

/// A table's statistics, as of the seq they were gathered at.
public struct TableStatistics: Sendable {
    public var seq: UInt64
    public var rows: Int
    /// By column position; a column added since has none.
    public var columns: [ColumnStatistics?]
    /// The column types they were gathered for (a later type change voids a column's).
    public var types: [SQLType]

    /// A column's statistics, if they still describe it.
    public func column(_ position: Int, type: SQLType) -> ColumnStatistics? {
        guard position < columns.count, types[position] == type else { return nil }
        return columns[position]
    }
}

extension TableStatistics {
    /// Rows sampled per table, as PostgreSQL samples (300 × its default statistics target).
    public static let sampleRows = 30_000
    static let mostCommonMax = 100
    static let histogramBuckets = 100

    /// Gathers statistics from a reservoir sample of `table`'s rows as `t` sees them.
    public static func gather(_ table: TableDef, in t: Transaction) throws -> TableStatistics {
        var sample: [[Value]] = []
        var seen = 0
        var rng = SystemRandomNumberGenerator()
        let missing = table.missingValues
        try t.scan(table) { row in
            seen += 1
            if sample.count < sampleRows {
                sample.append(try RowCodec.decode(row.image, missing: missing))
            } else {
                let j = Int.random(in: 0..<seen, using: &rng)
                if j < sampleRows { sample[j] = try RowCodec.decode(row.image, missing: missing) }
            }
            if seen % 65_536 == 0 { try t.interrupt?.check() }
            return true
        }
        var columns: [ColumnStatistics?] = []
        for (p, c) in table.columns.enumerated() {
            columns.append(c.isDropped ? nil : column(sample.map { p < $0.count ? $0[p] : .null }, totalRows: seen))
        }
        return TableStatistics(seq: t.readSeq, rows: seen, columns: columns, types: table.columns.map(\.type))
    }

    static func column(_ values: [Value], totalRows: Int) -> ColumnStatistics {
        let n = values.count
        guard n > 0 else { return ColumnStatistics(nullFraction: 0, distinct: 0, mostCommon: [], histogram: []) }
        // Values counted by their key encoding (equal values encode alike).
        var counts: [[UInt8]: (Value, Int)] = [:]
        var nulls = 0
        for v in values {
            if v.isNull { nulls += 1; continue }
            let k = KeyCodec.encode(v)
            if let c = counts[k] { counts[k] = (c.0, c.1 + 1) } else { counts[k] = (v, 1) }
        }
        let nonNull = n - nulls
        let d = counts.count
        let f1 = counts.values.filter { $0.1 == 1 }.count
        // Haas and Stokes' Duj1 estimator, as PostgreSQL uses: n·d / (n − f1 + f1·n/N).
        var distinct: Double
        if n >= totalRows || f1 == 0 {
            distinct = Double(d)
        } else if f1 == nonNull {
            distinct = Double(totalRows) * Double(nonNull) / Double(n)  // all unique: scales with the table
        } else {
            let nn = Double(nonNull), N = Double(totalRows) * Double(nonNull) / Double(n)
            distinct = nn * Double(d) / (nn - Double(f1) + Double(f1) * nn / N)
        }
        distinct = max(Double(d), min(distinct, Double(totalRows)))
        // Most common values: those seen more than once and more often than average.
        let average = Double(nonNull) / Double(max(d, 1))
        let common = counts.values.filter { $0.1 > 1 && (Double($0.1) > average * 1.25 || d <= mostCommonMax) }
            .sorted { $0.1 > $1.1 }.prefix(mostCommonMax)
        let mostCommon = common.map { (value: $0.0, frequency: Double($0.1) / Double(n)) }
        // Histogram over the rest, sorted.
        let commonKeys = Set(common.map { KeyCodec.encode($0.0) })
        var rest = values.filter { !$0.isNull && !commonKeys.contains(KeyCodec.encode($0)) }
        rest.sort { (compareValues($0, $1) ?? 0) < 0 }
        var histogram: [Value] = []
        if rest.count >= 2 {
            let buckets = min(histogramBuckets, rest.count - 1)
            for i in 0...buckets { histogram.append(rest[i * (rest.count - 1) / buckets]) }
        }
        return ColumnStatistics(nullFraction: Double(nulls) / Double(n), distinct: distinct, mostCommon: mostCommon,
                                histogram: histogram)
    }
}

extension ColumnStatistics {
    /// The fraction of rows equal to `value` (nil: a value not known when planning).
    public func equalSelectivity(_ value: Value?) -> Double {
        let commonTotal = mostCommon.reduce(0) { $0 + $1.frequency }
        if let value {
            if value.isNull { return 0 }
            if let m = mostCommon.first(where: { compareValues($0.value, value) == 0 }) { return m.frequency }
            let others = max(distinct - Double(mostCommon.count), 1)
            return max(0, 1 - nullFraction - commonTotal) / others
        }
        return max(0, 1 - nullFraction) / max(distinct, 1)
    }

    /// The fraction of rows below `value` (or at most `value` when `inclusive`).
    public func belowSelectivity(_ value: Value, inclusive: Bool) -> Double {
        var s = 0.0
        for m in mostCommon {
            guard let c = compareValues(m.value, value) else { continue }
            if c < 0 || (inclusive && c == 0) { s += m.frequency }
        }
        let commonTotal = mostCommon.reduce(0) { $0 + $1.frequency }
        let histogramShare = max(0, 1 - nullFraction - commonTotal)
        if histogram.count >= 2 {
            // Buckets wholly below, plus half of the one the value falls in.
            var lo = 0, hi = histogram.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if (compareValues(histogram[mid], value) ?? 0) < 0 { lo = mid + 1 } else { hi = mid }
            }
            let buckets = Double(histogram.count - 1)
            let fraction: Double
            if lo == 0 { fraction = 0 } else if lo >= histogram.count { fraction = 1 } else { fraction = (Double(lo) - 0.5) / buckets }
            s += histogramShare * fraction
        } else if histogramShare > 0 {
            s += histogramShare / 2
        }
        return min(max(s, 0), 1)
    }
}

extension Engine {
    /// The statistics ANALYZE gathered for a table, if any.
    public func statistics(of tableId: UInt32) -> TableStatistics? {
        statisticsLock.withLock { tableStatistics[tableId] }
    }

    /// Changes with every ANALYZE.
    public var statisticsGeneration: Int { statisticsLock.withLock { statisticsChanges } }

    public func setStatistics(_ s: TableStatistics, of tableId: UInt32) {
        statisticsLock.withLock {
            tableStatistics[tableId] = s
            statisticsChanges += 1
        }
    }
}
