import XCTest
@testable import ClusterManager

/// The manager's process handling, with a stand-in broker executable: a script that reads
/// `listeners` from the config it is given and listens there (python's http.server), so
/// start/stop/restart, readiness and start-up failure are exercised on real processes.
final class LocalClusterTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("python3 not available") }
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("samsa-lc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func script(_ body: String) throws -> URL {
        let url = dir.appendingPathComponent("fake-samsa")
        try ("#!/bin/sh\n" + body).write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }

    func testStartStopRestartAndConfig() async throws {
        let exe = try script("""
        [ "$1" = broker ] && [ "$2" = --config ] || exit 64
        port=$(sed -n 's/^listeners=PLAINTEXT:\\/\\/127.0.0.1://p' "$3")
        exec python3 -m http.server --bind 127.0.0.1 "$port"
        """)
        let port = try LocalCluster.freePort()
        let cluster = LocalCluster(baseDirectory: dir.appendingPathComponent("c"), brokers: [.init(id: 1, port: port)], executable: exe,
                                   extraConfig: ["log.retention.ms": "60000"])
        try await cluster.startAll()
        XCTAssertTrue(LocalCluster.isListening(port: port))
        var st = await cluster.status()
        XCTAssertTrue(st[0].isRunning)
        let config = try String(contentsOfFile: st[0].configPath, encoding: .utf8)
        XCTAssertTrue(config.contains("node.id=1\n"))
        XCTAssertTrue(config.contains("log.dirs=\(st[0].dataDir)\n"))
        XCTAssertTrue(config.contains("log.retention.ms=60000\n"))
        guard case .running(let pid1) = st[0].state else { return XCTFail() }
        try await cluster.restart(1)
        st = await cluster.status()
        guard case .running(let pid2) = st[0].state else { return XCTFail() }
        XCTAssertNotEqual(pid1, pid2)
        XCTAssertTrue(LocalCluster.isListening(port: port))
        try await cluster.stop(1)
        st = await cluster.status()
        XCTAssertEqual(st[0].state, .stopped)
        XCTAssertFalse(LocalCluster.isListening(port: port))
        XCTAssertEqual(kill(pid2, 0), -1, "process is gone")
        await XCTAssertThrowsErrorAsync { try await cluster.stop(9) }
        try await cluster.deleteData()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("c").path))
    }

    /// After the console was SIGKILLed (or crashed), its broker kept running, and the next
    /// `samsa demo --keep` started a second broker on the same data directory.
    func testStartStopsABrokerLeftRunningByAnEarlierRun() async throws {
        let exe = try script("""
        port=$(sed -n 's/^listeners=PLAINTEXT:\\/\\/127.0.0.1://p' "$3")
        exec python3 -m http.server --bind 127.0.0.1 "$port"
        """)
        let base = dir.appendingPathComponent("c")
        let first = LocalCluster(baseDirectory: base, brokers: [.init(id: 1, port: try LocalCluster.freePort())], executable: exe)
        try await first.startAll()
        guard case .running(let orphan) = await first.status()[0].state else { return XCTFail() }
        // A new run on the same directory (the first manager is gone without stopping).
        let second = LocalCluster(baseDirectory: base, brokers: [.init(id: 1, port: try LocalCluster.freePort())], executable: exe)
        try await second.startAll()
        XCTAssertNil(LocalCluster.processStartTime(orphan), "the leftover broker was stopped")
        guard case .running(let fresh) = await second.status()[0].state else { return XCTFail() }
        XCTAssertNotEqual(fresh, orphan)
        let pidFile = try String(contentsOf: base.appendingPathComponent("broker-1/broker.pid"), encoding: .utf8)
        XCTAssertTrue(pidFile.hasPrefix("\(fresh) "))
        try await second.stop(1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: base.appendingPathComponent("broker-1/broker.pid").path))
        _ = await first.status()  // reaps the orphan's zombie
    }

    /// KRaft nodes (issue 13): storage formatted once with one cluster id before the first
    /// start, every node launched, `kill9` leaves "killed by signal 9", a restart reformats nothing.
    func testKRaftNodesAreFormattedOnceAndKill9IsReported() async throws {
        let exe = try script("""
        if [ "$1" = storage ] && [ "$2" = format ] && [ "$3" = -t ] && [ "$5" = -c ]; then
          d=$(sed -n 's/^log.dirs=//p' "$6"); mkdir -p "$d"
          printf 'cluster.id=%s\\n' "$4" > "$d/meta.properties"; echo "$4" >> "$(dirname "$d")/formats"; exit 0
        fi
        [ "$1" = broker ] || exit 64
        grep -q '^process.roles=broker,controller$' "$3" || exit 65
        port=$(sed -n 's/^listeners=PLAINTEXT:\\/\\/127.0.0.1:\\([0-9]*\\),CONTROLLER.*/\\1/p' "$3")
        exec python3 -m http.server --bind 127.0.0.1 "$port"
        """)
        let base = dir.appendingPathComponent("k")
        let plans = try (1...2).map { LocalCluster.BrokerPlan(id: Int32($0), port: try LocalCluster.freePort(), controllerPort: try LocalCluster.freePort()) }
        let cluster = LocalCluster(baseDirectory: base, brokers: plans, executable: exe)
        let lines = LockedLines()
        try await cluster.startAll(progress: { lines.append($0) })
        let st = await cluster.status()
        XCTAssertTrue(st.allSatisfy(\.isRunning))
        let cid = try String(contentsOf: base.appendingPathComponent("cluster.id"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(cid.count, 22)
        for id in 1...2 {
            let meta = try String(contentsOf: base.appendingPathComponent("broker-\(id)/data/meta.properties"), encoding: .utf8)
            XCTAssertEqual(meta, "cluster.id=\(cid)\n")
        }
        XCTAssertTrue(lines.all.contains { $0.hasPrefix("formatting node 1's storage") }, "\(lines.all)")
        XCTAssertTrue(lines.all.contains { $0.hasPrefix("node 2 accepts connections") }, "\(lines.all)")
        try await cluster.kill9(1)
        var after = await cluster.status()
        XCTAssertEqual(after[0].state, .exited(status: 128 + SIGKILL))
        XCTAssertTrue(after[1].isRunning)
        try await cluster.start(1)
        after = await cluster.status()
        XCTAssertTrue(after[0].isRunning)
        let formats = try String(contentsOf: base.appendingPathComponent("broker-1/formats"), encoding: .utf8)
        XCTAssertEqual(formats, "\(cid)\n", "formatted once")
        await cluster.stopAll()
        after = await cluster.status()
        XCTAssertTrue(after.allSatisfy { $0.state == .stopped })
    }

    /// `samsa demo --secure`'s cluster: the client listener by the given name (SASL_SSL, also
    /// the KRaft nodes' inter-broker listener), the extra storage format arguments (a single
    /// node is then formatted too, without a cluster id; once), server.properties mode 0600.
    func testSecureListenerFormatArgumentsAndPrivateConfig() async throws {
        let exe = try script("""
        if [ "$1" = storage ] && [ "$2" = format ] && [ "$3" = -c ]; then
          d=$(sed -n 's/^log.dirs=//p' "$4"); mkdir -p "$d"
          shift 4; echo "$*" >> "$(dirname "$d")/formats"; : > "$d/bootstrap.checkpoint"; exit 0
        fi
        [ "$1" = broker ] || exit 64
        port=$(sed -n 's/^listeners=SASL_SSL:\\/\\/127.0.0.1:\\([0-9]*\\)$/\\1/p' "$3")
        exec python3 -m http.server --bind 127.0.0.1 "$port"
        """)
        let base = dir.appendingPathComponent("s")
        let cluster = LocalCluster(baseDirectory: base, brokers: [.init(id: 1, port: try LocalCluster.freePort())], executable: exe,
                                   extraConfig: ["sasl.enabled.mechanisms": "SCRAM-SHA-512"], clientListener: "SASL_SSL",
                                   formatArguments: ["--add-scram", "SCRAM-SHA-512=[name=admin,password=pw]"], privateConfig: true)
        try await cluster.startAll()
        let running = await cluster.status()[0].isRunning
        XCTAssertTrue(running)
        try await cluster.restart(1)
        let formats = try String(contentsOf: base.appendingPathComponent("broker-1/formats"), encoding: .utf8)
        XCTAssertEqual(formats, "--add-scram SCRAM-SHA-512=[name=admin,password=pw]\n", "formatted once, with the arguments")
        let config = base.appendingPathComponent("broker-1/server.properties").path
        let mode = try (FileManager.default.attributesOfItem(atPath: config)[.posixPermissions] as! NSNumber).intValue
        XCTAssertEqual(mode, 0o600)
        let text = try String(contentsOfFile: config, encoding: .utf8)
        XCTAssertTrue(text.contains("\nadvertised.listeners=SASL_SSL://127.0.0.1:"), text)
        XCTAssertTrue(text.contains("\nsasl.enabled.mechanisms=SCRAM-SHA-512\n"), text)
        await cluster.stopAll()

        // KRaft nodes: SASL_SSL is the inter-broker listener; CONTROLLER stays PLAINTEXT.
        let kraft = LocalCluster(baseDirectory: dir.appendingPathComponent("k"), brokers: [.init(id: 1, port: 9092, controllerPort: 9093),
                                                                                         .init(id: 2, port: 9094, controllerPort: 9095)],
                                 clientListener: "SASL_SSL")
        let k = await kraft.config(for: .init(id: 1, port: 9092, controllerPort: 9093))
        XCTAssertTrue(k.contains("\nlisteners=SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n"), k)
        XCTAssertTrue(k.contains("\nlistener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT\n"), k)
        XCTAssertTrue(k.contains("\ninter.broker.listener.name=SASL_SSL\n"), k)
    }

    /// `samsa demo --controllers N`: dedicated controllers get only their CONTROLLER listener
    /// and `process.roles=controller`, brokers only PLAINTEXT and `process.roles=broker`; the
    /// voters are the controllers; replication defaults count the brokers; the bootstrap
    /// servers are the brokers'; controllers start first and stop last.
    func testDedicatedControllers() async throws {
        let exe = try script("""
        if [ "$1" = storage ]; then d=$(sed -n 's/^log.dirs=//p' "$6"); mkdir -p "$d"; echo x > "$d/meta.properties"; exit 0; fi
        [ "$1" = broker ] || exit 64
        echo "$(date +%s%N) start $(sed -n 's/^node.id=//p' "$3")" >> "$(dirname "$(dirname "$3")")/events"
        port=$(sed -n 's/^listeners=[A-Z]*:\\/\\/127.0.0.1:\\([0-9]*\\).*/\\1/p' "$3")
        exec python3 -m http.server --bind 127.0.0.1 "$port"
        """)
        let base = dir.appendingPathComponent("dc")
        let plans = [LocalCluster.BrokerPlan(id: 1, port: try LocalCluster.freePort()), LocalCluster.BrokerPlan(id: 2, port: try LocalCluster.freePort()),
                     LocalCluster.BrokerPlan.controller(id: 3, port: try LocalCluster.freePort())]
        let cluster = LocalCluster(baseDirectory: base, brokers: plans, executable: exe)
        let isKRaft = await cluster.isKRaft
        XCTAssertTrue(isKRaft)
        let controller = await cluster.config(for: plans[2])
        XCTAssertTrue(controller.contains("\nprocess.roles=controller\n"), controller)
        XCTAssertTrue(controller.contains("\nlisteners=CONTROLLER://127.0.0.1:\(plans[2].port)\n"), controller)
        XCTAssertFalse(controller.contains("advertised.listeners"), controller)
        XCTAssertTrue(controller.contains("\ncontroller.quorum.voters=3@127.0.0.1:\(plans[2].port)\n"), controller)
        XCTAssertTrue(controller.contains("\ndefault.replication.factor=2\n"), "two brokers: \(controller)")
        let broker = await cluster.config(for: plans[0])
        XCTAssertTrue(broker.contains("\nprocess.roles=broker\n"), broker)
        XCTAssertTrue(broker.contains("\nlisteners=PLAINTEXT://127.0.0.1:\(plans[0].port)\n"), broker)
        XCTAssertTrue(broker.contains("\ncontroller.quorum.voters=3@127.0.0.1:\(plans[2].port)\n"), broker)
        let bootstrap = await cluster.bootstrapServers
        XCTAssertEqual(bootstrap, "127.0.0.1:\(plans[0].port),127.0.0.1:\(plans[1].port)")
        try await cluster.startAll()
        let events = try String(contentsOf: base.appendingPathComponent("events"), encoding: .utf8)
        XCTAssertEqual(events.split(separator: "\n").first.map { String($0.split(separator: " ").last!) }, "3", "the controller first: \(events)")
        await cluster.stopAll()
        let after = await cluster.status()
        XCTAssertTrue(after.allSatisfy { $0.state == .stopped })
    }

    /// KRaft nodes that ignore SIGTERM (a controlled shutdown waiting for a quorum that is
    /// stopping too) are SIGKILLed after the one shared grace period, and end up stopped.
    func testStopAllKillsKRaftNodesThatIgnoreSIGTERM() async throws {
        let exe = try script("""
        if [ "$1" = storage ]; then d=$(sed -n 's/^log.dirs=//p' "$6"); mkdir -p "$d"; touch "$d/meta.properties"; exit 0; fi
        trap '' TERM
        port=$(sed -n 's/^listeners=PLAINTEXT:\\/\\/127.0.0.1:\\([0-9]*\\),CONTROLLER.*/\\1/p' "$3")
        exec python3 -m http.server --bind 127.0.0.1 "$port"
        """)
        let plans = try (1...2).map { LocalCluster.BrokerPlan(id: Int32($0), port: try LocalCluster.freePort(), controllerPort: try LocalCluster.freePort()) }
        let cluster = LocalCluster(baseDirectory: dir.appendingPathComponent("t"), brokers: plans, executable: exe)
        await cluster.setStopTimeout(.milliseconds(300))
        try await cluster.startAll()
        let pids = await cluster.status().compactMap { if case .running(let p) = $0.state { return p } else { return nil } }
        XCTAssertEqual(pids.count, 2)
        await cluster.stopAll()
        let st = await cluster.status()
        XCTAssertTrue(st.allSatisfy { $0.state == .stopped }, "\(st.map(\.state))")
        for p in pids { XCTAssertEqual(kill(p, 0), -1, "pid \(p) is gone") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("t/broker-1/broker.pid").path))
    }

    /// A pid file naming a live process that is not our broker (pid reused) is ignored.
    func testStalePidFileOfAnotherProcessIsIgnored() async throws {
        let exe = try script("exec python3 -m http.server --bind 127.0.0.1 $(sed -n 's/^listeners=PLAINTEXT:\\/\\/127.0.0.1://p' \"$3\")\n")
        let base = dir.appendingPathComponent("c")
        try FileManager.default.createDirectory(at: base.appendingPathComponent("broker-1"), withIntermediateDirectories: true)
        try "\(getpid()) 1\n".write(to: base.appendingPathComponent("broker-1/broker.pid"), atomically: true, encoding: .utf8)
        let cluster = LocalCluster(baseDirectory: base, brokers: [.init(id: 1, port: try LocalCluster.freePort())], executable: exe)
        try await cluster.startAll()  // would have SIGTERMed this test process
        let running = await cluster.status()[0].isRunning
        XCTAssertTrue(running)
        try await cluster.stop(1)
    }

    /// `samsa demo --port P` with another broker on P: ours failed to bind, but the port
    /// answered, so the demo ran against the other broker. Now it is an error.
    func testPortAlreadyInUseIsAnError() async throws {
        let exe = try script("exit 0\n")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        XCTAssertTrue(LocalCluster.isListening(port: port))
        let cluster = LocalCluster(baseDirectory: dir.appendingPathComponent("c"), brokers: [.init(id: 1, port: port)], executable: exe)
        do {
            try await cluster.start(1)
            XCTFail("start should fail")
        } catch let e as LocalClusterError {
            guard case .portInUse(1, port) = e else { return XCTFail("\(e)") }
        }
    }

    func testBrokerThatExitsDuringStartupReportsItsLog() async throws {
        let exe = try script("echo 'invalid value for log.dirs' >&2\nexit 3\n")
        let cluster = LocalCluster(baseDirectory: dir.appendingPathComponent("c"), brokers: [.init(id: 1, port: try LocalCluster.freePort())], executable: exe)
        do {
            try await cluster.start(1)
            XCTFail("start should fail")
        } catch let e as LocalClusterError {
            guard case .exitedEarly(_, let status, _, let lines) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(status, 3)
            XCTAssertTrue(lines.contains("invalid value for log.dirs"))
        }
    }

    /// The reason (errno 24, address in use...) came after "(log: /long/path)\n", so the
    /// console's one line never showed it: it was only in the log file.
    func testStartFailureReasonComesFirstAndAfterAnExitToo() async throws {
        let exe = try script("""
        echo '2026-12-02T06:00:00+0000 info samsa.broker : [Broker] starting' >&2
        echo '2026-12-02T06:00:00+0000 critical samsa.broker : [SamsaCLI] Broker failed to start: socket(): Too many open files (errno: 24)' >&2
        exit 1
        """)
        let cluster = LocalCluster(baseDirectory: dir.appendingPathComponent("c"), brokers: [.init(id: 1, port: try LocalCluster.freePort())], executable: exe)
        do {
            try await cluster.start(1)
            XCTFail("start should fail")
        } catch let e as LocalClusterError {
            let first = "\(e)".split(separator: "\n").first.map(String.init) ?? ""
            XCTAssertTrue(first.hasPrefix("broker 1 exited at start-up: socket(): Too many open files (errno: 24) (exit status 1; log: "), first)
        }
        let reason = await cluster.exitReason(1)
        XCTAssertEqual(reason, "socket(): Too many open files (errno: 24)")
        XCTAssertEqual(LocalCluster.failureReason("a\nbind failed: Address already in use\nbye"), "bind failed: Address already in use")
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ l: String) { lock.withLock { lines.append(l) } }
    var all: [String] { lock.withLock { lines } }
}

func XCTAssertThrowsErrorAsync(_ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line) async {
    do { try await body(); XCTFail("expected an error", file: file, line: line) } catch {}
}

