import Foundation
import Logging
import PostgresNIO
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// postgres-nio (the Swift PostgreSQL client: extended protocol, every result in binary)
/// against a real `driftdb serve` process: queries with bindings, prepared statements,
/// transactions, errors with their SQLSTATE, and a time-travel read.
@Suite(.serialized) struct PostgresNIOTests {
    /// A free TCP port on 127.0.0.1 (bound to 0, read back, closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    struct AccountByID: PostgresPreparedStatement {
        static let sql = "SELECT id, owner, balance, opened FROM accounts WHERE id = $1"
        typealias Row = (Int, String, Double, Date)
        var id: Int
        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings()
            b.append(id)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    @Test func bindingsPreparedStatementsTransactionsAndTimeTravel() async throws {
        let dir = temporaryDirectory("postgres-nio")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = try Self.freePort()
        let config = dir + ".yaml"
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "data_path: \(dir)\nplugins:\n  - kind: pgwire\n    listen: 127.0.0.1:\(port)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let server = try Child("driftdb", ["serve", "--config", config])
        defer { if server.process.isRunning { server.kill() } }
        let deadline = Date().addingTimeInterval(30)
        while !server.errorOutput.contains("database open") && Date() < deadline && server.process.isRunning {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(server.errorOutput.contains("database open"), "\(server.errorOutput)")

        var logger = Logger(label: "postgres-nio-test")
        logger.logLevel = .critical
        let configuration = PostgresConnection.Configuration(host: "127.0.0.1", port: port, username: "driftdb", password: nil,
                                                             database: "driftdb", tls: .disable)
        let conn = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        try await conn.query("CREATE TABLE accounts (id int8 PRIMARY KEY, owner text NOT NULL, balance float8, opened timestamptz)",
                             logger: logger)
        let opened = Date(timeIntervalSince1970: 1_764_476_460)
        for (id, owner) in [(1, "ada"), (2, "bob"), (3, "cy")] {
            let balance = Double(id) * 10.5
            try await conn.query("INSERT INTO accounts VALUES (\(id), \(owner), \(balance), \(opened))", logger: logger)
        }
        // Bindings in a query (binary parameters and results).
        var names: [String] = []
        for try await (owner, balance) in try await conn.query("SELECT owner, balance FROM accounts WHERE balance > \(15.0) ORDER BY id",
                                                               logger: logger).decode((String, Double).self) {
            names.append("\(owner):\(balance)")
        }
        #expect(names == ["bob:21.0", "cy:31.5"])
        // A prepared statement, run more than once (named on the server after the first).
        for id in [1, 3, 1] {
            var rows: [AccountByID.Row] = []
            for try await row in try await conn.execute(AccountByID(id: id), logger: logger) { rows.append(row) }
            #expect(rows.count == 1)
            #expect(rows.first?.0 == id && rows.first?.2 == Double(id) * 10.5 && rows.first?.3 == opened)
        }
        // A transaction rolled back leaves nothing; a unique violation carries 23505.
        try await conn.query("BEGIN", logger: logger)
        try await conn.query("UPDATE accounts SET balance = 0 WHERE id = \(1)", logger: logger)
        try await conn.query("ROLLBACK", logger: logger)
        for try await balance in try await conn.query("SELECT balance FROM accounts WHERE id = \(1)", logger: logger).decode(Double.self) {
            #expect(balance == 10.5)
        }
        do {
            try await conn.query("INSERT INTO accounts VALUES (\(1), \("dup"), \(0.0), \(opened))", logger: logger)
            Issue.record("a duplicate key was accepted")
        } catch let e as PSQLError {
            #expect(e.serverInfo?[.sqlState] == "23505")
        }
        // Time travel: the balance as of the seq before an update.
        var seq = 0
        for try await s in try await conn.query("SELECT max(drift_seq)::int8 FROM drift_events", logger: logger).decode(Int.self) { seq = s }
        try await conn.query("UPDATE accounts SET balance = 99 WHERE id = \(2)", logger: logger)
        var then: [Double] = []
        for try await b in try await conn.query("SELECT balance FROM accounts AS OF @seq:\(unescaped: String(seq)) WHERE id = 2",
                                                logger: logger).decode(Double.self) {
            then.append(b)
        }
        #expect(then == [21.0])
        try await conn.close()
        server.kill(SIGTERM)
        #expect(server.process.terminationStatus == 0, "\(server.errorOutput)")
    }
}
