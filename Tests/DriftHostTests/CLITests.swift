import DriftCore
import DriftPluginAPI
import DriftSQL
import DriftStorage
import DriftTestSupport
import Foundation
import Testing
@testable import DriftHost

@Suite(.serialized) struct CLITests {
    @Test func quickStartFromTheReadme() throws {
        let dir = temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try driftdb(["init", dir]).status == 0)
        let setup = try driftdb(["sql", "-d", dir, "-e", """
            CREATE TABLE users (pk=id, INDEX(status));
            INSERT INTO users {"id": "u1", "name": "Ada", "status": "paid"};
            INSERT INTO users {"id": "u2", "name": "Bob", "status": "trial"};
            PATCH users KEY "u1" SET {"status": "churned"};
            SOFT DELETE FROM users KEY "u2";
            """])
        #expect(setup.status == 0, "\(setup.err)")
        #expect(setup.out.contains("PATCH 1") && setup.out.contains("SOFT DELETE 1"))
        let json = try driftdb(["select", "-d", dir, "--table", "users", "--where", #"status="paid""#, "--as-of", "@seq:3", "--json"])
        #expect(json.status == 0)
        let rows = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as! [[String: Any]]
        #expect(rows.count == 1 && rows[0]["id"] as? String == "u1" && rows[0]["status"] as? String == "paid")
        let now = try driftdb(["sql", "-d", dir, "--csv", "-e", "SELECT id, status FROM users"])
        #expect(now.out == "id,status\nu1,churned")
        let drift = try driftdb(["drift", "-d", dir, "--table", "users", "--key", "u2", "--csv"])
        #expect(drift.out.split(separator: "\n").map { $0.split(separator: ",")[2] } == ["drift_op", "insert", "delete"])
        let table = try driftdb(["sql", "-d", dir, "-e", "SELECT id FROM users AS OF '@seq:3' ORDER BY id"])
        #expect(table.out.contains(" u1\n u2\n(2 rows)"))
        // Piped statements run one by one, BEGIN ... COMMIT as one transaction.
        let piped = try driftdb(["sql", "-d", dir], stdin: "BEGIN;\nINSERT INTO users {\"id\": \"u3\"};\nCOMMIT;\nSELECT count_me FROM users;\n")
        #expect(piped.status == 1 && piped.err.contains("42703"))
        #expect(try driftdb(["sql", "-d", dir, "--csv", "-e", "SELECT id FROM users WHERE id = 'u3'"]).out == "id\nu3")
        let analyze = try driftdb(["analyze", "-d", dir, "--csv"])
        #expect(analyze.out.contains("users,2,3,"))
        #expect(try driftdb(["snapshot", "-d", dir]).status == 0)
        #expect(try driftdb(["compact", "-d", dir]).status == 0)
        let doctor = try driftdb(["doctor", "-d", dir])
        #expect(doctor.status == 0 && doctor.out.contains("ok"))
    }

    @Test func badInputIsOneErrorLineAndChangesNothing() throws {
        let dir = temporaryDirectory("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try driftdb(["init", dir])
        _ = try driftdb(["sql", "-d", dir, "-e", #"CREATE TABLE t (pk=id); INSERT INTO t {"id": 1}"#])
        let before = try snapshotOfFiles(dir)
        let cases: [[String]] = [
            ["sql", "-d", dir, "-e", "SELECT * FROM nope"],
            ["sql", "-d", dir, "-e", #"INSERT INTO t {"id": 2, "x": }"#],
            ["select", "-d", dir, "--table", "t", "--as-of", "last tuesday"],
            ["select", "-d", dir, "--table", "nope"],
            ["select", "-d", dir, "--table", "t", "--where", "id=="],
            ["drift", "-d", dir, "--table", "t", "--key", "not-a-number"],
            ["sql", "-d", dir + "-missing", "-e", "SELECT 1"],
        ]
        for args in cases {
            let r = try driftdb(args)
            #expect(r.status != 0, "\(args) succeeded")
            let lines = r.err.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("driftdb: "), "\(args): \(r.err)")
        }
        #expect(try snapshotOfFiles(dir) == before)
    }

    @Test func aSecondProcessOnTheDirectoryIsRefused() throws {
        let dir = temporaryDirectory("owner")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let owner = try Child("DriftCrashWriter", [dir])
        defer { owner.kill() }
        #expect(owner.waitFor(30) { $0.hasPrefix("ready") })
        let r = try driftdb(["sql", "-d", dir, "-e", "SELECT 1"])
        #expect(r.status == 1)
        #expect(r.err.contains("in use by pid \(owner.process.processIdentifier)"), "\(r.err)")
    }

    @Test func pipedInputGoesOnAfterAnErrorAsPsqlDoes() throws {
        let dir = temporaryDirectory("script")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try driftdb(["init", dir])
        let script = "SELECT 1;\nSELECT nosuch;\nSELECT 2;\n"
        let goOn = try driftdb(["sql", "-d", dir, "--csv"], stdin: script)
        #expect(goOn.status == 1)
        #expect(goOn.out.contains("?column?\n1") && goOn.out.contains("?column?\n2"), "\(goOn.out)")
        #expect(goOn.err.contains(":2: ERROR 42703"), "\(goOn.err)")
        let stop = try driftdb(["sql", "-d", dir, "--csv", "--on-error-stop"], stdin: script)
        #expect(stop.status == 3)
        #expect(stop.out.contains("?column?\n1") && !stop.out.contains("?column?\n2"), "\(stop.out)")
        let clean = try driftdb(["sql", "-d", dir, "--csv"], stdin: "SELECT 1;")
        #expect(clean.status == 0)
    }

    @Test func versionNamesTheFormats() throws {
        let v = try driftdb(["--version"])
        #expect(v.status == 0 && v.out.contains(DriftDBVersion.current) && v.out.contains("log format 2"), "\(v.out)")
    }

    @Test func promptShowsTheTransactionState() throws {
        let e = try Engine.open(at: "/db", fs: MemoryFileSystem(), create: true, logger: TestLog.logger)
        defer { e.close() }
        let s = Session(engine: e)
        #expect(SQLCommand.prompt(s, continuing: false) == "driftdb=> ")
        _ = try s.execute("BEGIN")
        #expect(SQLCommand.prompt(s, continuing: false) == "driftdb=*> ")
        _ = try? s.execute("SELECT nosuch")
        #expect(SQLCommand.prompt(s, continuing: false) == "driftdb=!> ")
        #expect(SQLCommand.prompt(s, continuing: true) == "driftdb-> ")
        _ = try s.execute("ROLLBACK")
        #expect(SQLCommand.prompt(s, continuing: false) == "driftdb=> ")
    }

    @Test func printedTablesMatchPsqlsLayout() {
        let p = ResultPrinter(format: .table)
        let cols = [ResultColumn(name: "a", type: .text), ResultColumn(name: "b", type: .int4), ResultColumn(name: "c", type: .text),
                    ResultColumn(name: "d", type: .text), ResultColumn(name: "e", type: .text)]
        let out = p.table(cols, [[.text("x\nyy"), .int(1), .text("long line\nz"), .text("日本"), .text("é")]])
        // Byte for byte what psql 15 prints for the same row.
        #expect(out == " a  | b |     c     |  d   | e \n----+---+-----------+------+---\n x +| 1 | long line+| 日本 | é\n"
                + " yy |   | z         |      | \n(1 row)\n\n")
        #expect(displayWidth("e\u{301}") == 1 && displayWidth("🎉") == 2 && displayWidth("ｱ") == 1 && displayWidth("ア") == 2)
        // The ASCII fast path: NUL takes no column, control characters one, as in the general path.
        #expect(displayWidth("") == 0 && displayWidth("abc") == 3 && displayWidth("a\u{0}b") == 2 && displayWidth("a\tb") == 3)
        #expect(displayWidth("ab\u{AD}") == 2 && displayWidth("abé") == 3)
        let csv = ResultPrinter(format: .csv).csv([ResultColumn(name: "x", type: .text)], [[.text("a\r\nb")], [.text("")], [.null]])
        #expect(csv == "x\n\"a\r\nb\"\n\"\"\n\n")
        let json = ResultPrinter(format: .json).json([ResultColumn(name: "?column?", type: .int4), ResultColumn(name: "?column?", type: .int4),
                                                      ResultColumn(name: "?column?_2", type: .int4)], [[.int(1), .int(2), .int(3)]])
        #expect(json == "[\n  {\"?column?\": 1, \"?column?_3\": 2, \"?column?_2\": 3}\n]")
    }

    @Test func aKeyGivenTwiceInTheConfigNamesBothLines() throws {
        #expect(throws: ConfigError.self) { _ = try HostConfig.parse("data_path: a\nlog_level: info\ndata_path: b\n", file: "f.yaml") }
        do {
            _ = try HostConfig.parse("storage:\n  durability: fsync\n  batch_ms: 5\n  durability: none\n", file: "f.yaml")
        } catch let e as ConfigError {
            #expect(e.description == "f.yaml:2: durability: given twice (lines 2 and 4)")
        }
        do {
            _ = try HostConfig.parse("storage:\n  lock_timeout_ms: 99999999999999\n", file: "f.yaml")
            Issue.record("an out-of-range lock_timeout_ms was accepted")
        } catch let e as ConfigError {
            #expect(e.key == "storage.lock_timeout_ms")
        }
    }

    @Test func doctorNamesFileAndOffsetOfAFlippedByte() throws {
        let dir = temporaryDirectory("doctor")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try driftdb(["init", dir])
        _ = try driftdb(["sql", "-d", dir, "-e",
                         #"CREATE TABLE t (pk=id); INSERT INTO t {"id": 1, "v": "a"}; INSERT INTO t {"id": 2, "v": "hello"}; INSERT INTO t {"id": 3}"#])
        let segment = dir + "/segments/00000001.seg"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        // Damage inside row 2, with row 3's valid frame after it: corruption, not a torn tail.
        let hello = try #require(bytes.firstRange(of: Data("hello".utf8)))
        bytes[hello.lowerBound + 1] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: segment))
        let doctor = try driftdb(["doctor", "-d", dir])
        #expect(doctor.status == 1)
        #expect(doctor.err.contains(segment + " at offset "), "\(doctor.err)")
        let open = try driftdb(["sql", "-d", dir, "-e", "SELECT * FROM t"])
        #expect(open.status == 1 && open.err.contains(segment) && open.err.contains("offset"), "\(open.err)")
        let repair = try driftdb(["doctor", "-d", dir, "--repair"])
        #expect(repair.status == 0 && repair.out.contains("cut "), "\(repair.out) \(repair.err)")
        #expect(try driftdb(["sql", "-d", dir, "--csv", "-e", "SELECT id FROM t"]).out == "id\n1")
    }

    @Test func cdcStatusAndResetMoveASinksCheckpointOnAStoppedServer() throws {
        let dir = temporaryDirectory("cdc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try driftdb(["init", dir])
        _ = try driftdb(["sql", "-d", dir, "-e", "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"])
        #expect(try driftdb(["cdc", "status", "-d", dir, "--csv"]).out == "sink,checkpoint_seq,lag_seqs")
        try FileManager.default.createDirectory(atPath: dir + "/cdc", withIntermediateDirectories: true)
        try "2\n".write(toFile: dir + "/cdc/main.checkpoint", atomically: true, encoding: .utf8)
        #expect(try driftdb(["cdc", "status", "-d", dir, "--csv"]).out == "sink,checkpoint_seq,lag_seqs\nmain,2,1")
        let reset = try driftdb(["cdc", "reset", "-d", dir, "--sink", "main", "--to-seq", "1"])
        #expect(reset.status == 0 && reset.out.contains("re-emits from seq 1"), "\(reset.out) \(reset.err)")
        #expect(try String(contentsOfFile: dir + "/cdc/main.checkpoint", encoding: .utf8) == "0\n")
        let unknown = try driftdb(["cdc", "reset", "-d", dir, "--sink", "other", "--to-seq", "1"])
        #expect(unknown.status == 1 && unknown.err.contains("no cdc sink \"other\" has run on this database (sinks: main)"), "\(unknown.err)")
        let beyond = try driftdb(["cdc", "reset", "-d", dir, "--sink", "main", "--to-seq", "9"])
        #expect(beyond.status == 1 && beyond.err.contains("--to-seq must be from 1 to 4"), "\(beyond.err)")
    }

    @Test func aDamagedLastFrameIsCutKeptAndReportedNotRefused() throws {
        let dir = temporaryDirectory("tail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try driftdb(["init", dir])
        _ = try driftdb(["sql", "-d", dir, "-e", #"CREATE TABLE t (pk=id); INSERT INTO t {"id": 1}; INSERT INTO t {"id": 2, "v": "tail"}"#])
        let segment = dir + "/segments/00000001.seg"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[bytes.count - 3] ^= 0x01
        bytes.append(contentsOf: [UInt8](repeating: 0, count: 4096))
        try bytes.write(to: URL(fileURLWithPath: segment))
        let before = try driftdb(["doctor", "-d", dir])
        #expect(before.status == 0 && before.out.contains("damaged tail"), "\(before.out) \(before.err)")
        let open = try driftdb(["sql", "-d", dir, "--csv", "-e", "SELECT id FROM t"])
        #expect(open.status == 0 && open.out == "id\n1", "\(open.out) \(open.err)")
        let after = try driftdb(["doctor", "-d", dir])
        #expect(after.status == 0 && after.out.contains("quarantined tail") && after.out.contains("/quarantine/00000001.seg-"),
                "\(after.out)")
    }

    @Test func embeddedDefaultMatchesPluginsYaml() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try String(contentsOf: repo.appendingPathComponent("plugins.yaml"), encoding: .utf8)
        #expect(file == HostConfig.embeddedDefault)
        let config = try HostConfig.parse(file, file: "plugins.yaml")
        #expect(config.dataPath == "./data" && config.engine.durability == .fsync && config.database == "driftdb")
        #expect(config.plugins.map(\.kind) == ["pgwire", "metrics"])
        #expect(try PluginRegistry.validate(config, source: "plugins.yaml").count == 2)
    }

    @Test func configErrorsNameFileLineAndKey() throws {
        do {
            _ = try HostConfig.parse("data_path: ./x\nstorage:\n  durability: sometimes\n", file: "p.yaml")
            Issue.record("bad durability accepted")
        } catch let e as ConfigError {
            #expect(e.description.hasPrefix("p.yaml:3: storage.durability:"))
        }
        func refused(_ yaml: String) -> String {
            do {
                _ = try PluginRegistry.validate(try HostConfig.parse(yaml, file: "p.yaml"), source: "p.yaml")
                Issue.record("accepted: \(yaml)")
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(refused("plugins:\n  - kind: auth\n    rules:\n      - {connection: local, method: scram}\n")
            .hasPrefix("p.yaml:4: plugins[0].rules.method: expected scram-sha-256, md5, password, trust or reject"))
        #expect(refused("plugins:\n  - kind: auth\n    rules:\n      - {connection: host, address: 10.0.0.0/40, method: md5}\n")
            .hasPrefix("p.yaml:4: plugins[0].rules.address: expected an address range"))
        #expect(refused("plugins:\n  - kind: auth\n    superuser: pg_admin\n").hasPrefix("p.yaml:3: plugins[0].superuser:"))
        #expect(refused("plugins:\n  - kind: cdc\n").hasPrefix("p.yaml:2: plugins[0].brokers: required"))
        #expect(refused("plugins:\n  - kind: cdc\n    brokers: 127.0.0.1:9092\n    producer:\n      acks: \"1\"\n")
            .hasPrefix("p.yaml:5: plugins[0].producer.acks: the sink needs all"))
        #expect(refused("plugins:\n  - kind: cdc\n    brokers: 127.0.0.1:9092\n    producer:\n      linger.mss: 5\n")
            .hasPrefix("p.yaml:5: plugins[0].producer.linger.mss: No such configuration property"))
        #expect(refused("plugins:\n  - kind: cdc\n    brokers: 127.0.0.1:9092\n    snapshot_mode: from_seq\n")
            .hasPrefix("p.yaml:2: plugins[0].from_seq: required with snapshot_mode: from_seq"))
        #expect(refused("plugins:\n  - kind: metrics\n").hasPrefix("p.yaml:2: plugins[0].listen: required"))
        #expect(refused("plugins:\n  - kind: metrics\n    listen: 127.0.0.1:9187\n    path: /m\n") == "p.yaml:4: plugins[0].path: unknown setting")
        #expect(refused("plugins:\n  - kind: nosuch\n").hasPrefix("p.yaml:2: plugins[0].kind: unknown plugin kind"))
        #expect(refused("plugins:\n  - kind: pgwire\n").hasPrefix("p.yaml:2: plugins[0].listen: required"))
        #expect(refused("plugins:\n  - kind: pgwire\n    listen: 127.0.0.1:5433\n    lisen: 1\n")
            == "p.yaml:4: plugins[0].lisen: unknown setting")
        #expect(refused("plugins:\n  - kind: pgwire\n    listen: 127.0.0.1:99999\n").hasPrefix("p.yaml:3: plugins[0].listen: expected host:port"))
        #expect(refused("plugins:\n  - kind: pgwire\n    listen: example.com:5433\n").hasPrefix("p.yaml:3: plugins[0].listen:"))
        #expect(refused("plugins:\n  - kind: pgwire\n    listen: 127.0.0.1:5433\n    max_connections: lots\n")
            .hasPrefix("p.yaml:4: plugins[0].max_connections: expected an integer"))
        #expect(refused("database: \"\"\n").hasPrefix("p.yaml:1: database:"))
        #expect(refused("plugins:\n  - kind: pgwire\n    listen: 127.0.0.1:5433\n    tls_cert: /x.crt\n")
            == "p.yaml:4: plugins[0].tls_cert: tls_cert and tls_key go together")
    }

    func snapshotOfFiles(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: dir)!
        while let p = e.nextObject() as? String {
            let full = dir + "/" + p
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue, p != "LOCK" {
                out[p] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return out
    }
}

@Suite(.serialized) struct ServeTests {
    @Test func serveInitialisesTheDataDirectoryAndStopsOnSigterm() throws {
        let dir = temporaryDirectory("serve")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + ".yaml"
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "data_path: \(dir)\nstorage:\n  durability: batch\n  batch_ms: 5\nplugins: []\n".write(toFile: config, atomically: true, encoding: .utf8)
        let server = try Child("driftdb", ["serve", "--config", config])
        let deadline = Date().addingTimeInterval(30)
        while !server.errorOutput.contains("database open") && Date() < deadline && server.process.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(server.errorOutput.contains("database open"), "\(server.errorOutput)")
        #expect(FileManager.default.fileExists(atPath: dir + "/segments/00000001.seg"))
        // The running server owns the directory.
        let second = try driftdb(["sql", "-d", dir, "-e", "SELECT 1"])
        #expect(second.status == 1 && second.err.contains("in use by pid \(server.process.processIdentifier)"))
        server.kill(SIGTERM)
        #expect(server.process.terminationStatus == 0, "\(server.errorOutput)")
        #expect(try driftdb(["sql", "-d", dir, "-e", "SELECT 1"]).status == 0)
    }

    @Test func pgwireRefusesANonLoopbackAddressWithoutAnAuthPlugin() throws {
        let dir = temporaryDirectory("nonloopback")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + ".yaml"
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "data_path: \(dir)\nplugins:\n  - kind: pgwire\n    listen: 0.0.0.0:5499\n".write(toFile: config, atomically: true, encoding: .utf8)
        let r = try driftdb(["serve", "--config", config])
        #expect(r.status == 1)
        #expect(r.err.contains("pgwire listens on loopback addresses only until an auth plugin is configured"), "\(r.err)")
    }

    @Test func serveRefusesAnAuthRuleThatTrustsTheNetwork() throws {
        let config = temporaryDirectory("cfg") + ".yaml"
        defer { try? FileManager.default.removeItem(atPath: config) }
        let data = temporaryDirectory("never-made")
        try """
            data_path: \(data)
            plugins:
              - kind: auth
                rules:
                  - {connection: host, database: all, user: all, address: 0.0.0.0/0, method: trust}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try driftdb(["serve", "--config", config])
        #expect(r.status == 2)
        #expect(r.err.contains("\(config):5: plugins[0].rules.method: trust is allowed only for local connections and loopback addresses"), "\(r.err)")
        // Refused before anything was created.
        #expect(!FileManager.default.fileExists(atPath: data))
    }
}
