import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One broker process of a local cluster, as the manager sees it.
public struct LocalBrokerStatus: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case running(pid: Int32)
        case stopped
        /// Exited by itself (crash, bad config) with this status.
        case exited(status: Int32)
    }
    public var id: Int32
    public var host: String
    public var port: Int
    public var dataDir: String
    public var configPath: String
    public var logPath: String
    public var state: State
    public var isRunning: Bool { if case .running = state { return true } else { return false } }
}

/// Errors of the local cluster manager; each names what failed and where to look.
public enum LocalClusterError: Error, CustomStringConvertible, Sendable {
    case noSuchBroker(Int32)
    case launchFailed(id: Int32, reason: String)
    case notReady(id: Int32, port: Int, logPath: String, seconds: Int)
    case exitedEarly(id: Int32, status: Int32, logPath: String, lastLines: String)
    case noFreePort
    case portInUse(id: Int32, port: Int)
    public var description: String {
        switch self {
        case .noSuchBroker(let id): return "no local broker \(id)"
        case .launchFailed(let id, let r): return "cannot start broker \(id): \(r)"
        case .notReady(let id, let port, let log, let s): return "broker \(id) did not accept connections on port \(port) within \(s) s (log: \(log))"
        case .exitedEarly(let id, let st, let log, let lines):
            // The reason first: after "(log: /long/path)" it was cut off the console's one
            // line, so "errno 24" or "address in use" was only in the log file.
            let reason = LocalCluster.failureReason(lines).map { ": \($0)" } ?? ""
            return "broker \(id) exited at start-up\(reason) (exit status \(st); log: \(log))\n\(lines)"
        case .noFreePort: return "no free TCP port on 127.0.0.1"
        case .portInUse(let id, let port): return "cannot start broker \(id): something already listens on 127.0.0.1:\(port) (choose another port, or 0 for a free one)"
        }
    }
}

/// A local cluster whose broker processes this process owns: it writes each broker's
/// `server.properties` (Kafka's key names), starts `samsa broker --config FILE` as a child
/// process of the same executable, sends its output to a log file, and stops, starts and
/// restarts brokers on request. Ports, data dirs and logs live under `baseDirectory`:
///
/// ```
/// <base>/broker-<id>/server.properties
/// <base>/broker-<id>/data/          log.dirs
/// <base>/broker-<id>/broker.log     stdout + stderr of the process
/// <base>/broker-<id>/broker.pid     "PID STARTTIME" of the running process (see stopLeftover)
/// ```
///
/// Children are stopped with SIGTERM (the broker's graceful shutdown), then SIGKILL after
/// `stopTimeout`. Children run in their own process group with default signal handling
/// (see `ChildProcess`). Concurrency: an actor; every operation is serialised.
public actor LocalCluster {
    public struct BrokerPlan: Sendable {
        public var id: Int32
        public var port: Int
        /// The CONTROLLER listener's port of a combined broker+controller KRaft node; nil for
        /// the single node (no `process.roles`, nothing to format), as `samsa demo --brokers 1`.
        public var controllerPort: Int?
        /// A dedicated controller (`process.roles=controller`, `samsa demo --controllers N`): no
        /// client listener; `port` and `controllerPort` are both its CONTROLLER listener.
        public var controllerOnly: Bool
        public init(id: Int32, port: Int, controllerPort: Int? = nil) {
            self.id = id; self.port = port; self.controllerPort = controllerPort; self.controllerOnly = false
        }
        public static func controller(id: Int32, port: Int) -> BrokerPlan {
            var p = BrokerPlan(id: id, port: port, controllerPort: port)
            p.controllerOnly = true
            return p
        }
    }

    public let baseDirectory: URL
    public let executable: URL
    public let host = "127.0.0.1"
    public var stopTimeout: Duration = .seconds(10)
    public var readyTimeout: Duration = .seconds(30)
    private var plans: [Int32: BrokerPlan] = [:]
    private var processes: [Int32: ChildProcess] = [:]
    private var exitStatus: [Int32: Int32] = [:]
    private let extraConfig: [String: String]
    /// The name (and security protocol) of every broker's client listener: PLAINTEXT, or
    /// SASL_SSL for `samsa demo --secure`. The CONTROLLER listener is PLAINTEXT unless
    /// `extraConfig` gives another `listener.security.protocol.map` (demo --secure: SSL).
    private let clientListener: String
    /// Extra `samsa storage format` arguments (`--add-scram ...`); a single node (no
    /// `process.roles`) is then formatted too, which it otherwise never is.
    private let formatArguments: [String]
    /// Write `server.properties` with mode 0600 (it holds a password: the inter-broker JAAS line).
    private let privateConfig: Bool
    private let logger = Logger(label: "samsa.cluster-manager")

    /// - Parameters:
    ///   - executable: the `samsa` binary to run (default: this process's executable).
    ///   - extraConfig: extra `server.properties` entries for every broker.
    ///   - clientListener: the client listener's name and protocol (PLAINTEXT, SASL_SSL, ...);
    ///     also the inter-broker listener of KRaft nodes.
    ///   - formatArguments: extra `samsa storage format` arguments (`--add-scram`); they may
    ///     hold passwords, so they are never logged.
    ///   - privateConfig: write each `server.properties` readable by its owner only.
    public init(baseDirectory: URL, brokers: [BrokerPlan], executable: URL? = nil, extraConfig: [String: String] = [:],
                clientListener: String = "PLAINTEXT", formatArguments: [String] = [], privateConfig: Bool = false) {
        self.baseDirectory = baseDirectory
        self.executable = executable ?? LocalCluster.currentExecutable()
        self.extraConfig = extraConfig
        self.clientListener = clientListener
        self.formatArguments = formatArguments
        self.privateConfig = privateConfig
        for b in brokers { plans[b.id] = b }
    }

    /// The running binary, resolved through /proc/self/exe (argv[0] may be relative or a symlink).
    public static func currentExecutable() -> URL {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return URL(fileURLWithPath: p) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LocalClusterError.noFreePort }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw LocalClusterError.noFreePort }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    public static func isListening(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    public var bootstrapServers: String {
        plans.values.filter { !$0.controllerOnly }.sorted { $0.id < $1.id }.map { "\(host):\($0.port)" }.joined(separator: ",")
    }

    /// Nodes with a client listener (combined or broker-only).
    var brokerCount: Int { plans.values.filter { !$0.controllerOnly }.count }

    public var brokerIds: [Int32] { plans.keys.sorted() }

    /// True when every node is a combined broker+controller KRaft node (each plan has a
    /// controller port): configs get `process.roles`, the voters and the CONTROLLER listener,
    /// and storage is formatted before the first start.
    public var isKRaft: Bool { plans.values.contains { $0.controllerPort != nil } }

    /// `controller.quorum.voters`: every node, `id@127.0.0.1:controllerPort`.
    var voters: String {
        plans.values.sorted { $0.id < $1.id }.compactMap { p in p.controllerPort.map { "\(p.id)@\(host):\($0)" } }.joined(separator: ",")
    }

    /// The cluster id of a KRaft cluster, kept in `<base>/cluster.id` so a restart (or
    /// `samsa demo --keep`) formats nothing new and reuses the same id.
    func clusterId() throws -> String {
        let url = baseDirectory.appendingPathComponent("cluster.id")
        if let s = try? String(contentsOf: url, encoding: .utf8), !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return s.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let id = Self.randomClusterId()
        try FileManager.default.createDirectory(at: baseDirectory, withIntermediateDirectories: true)
        try (id + "\n").write(to: url, atomically: true, encoding: .utf8)
        return id
    }

    /// Kafka's `Uuid.randomUuid().toString()`: 16 random bytes, URL-safe base64 without
    /// padding; like Kafka, never one that starts with '-' (it reads as a command-line flag).
    static func randomClusterId() -> String {
        while true {
            var g = SystemRandomNumberGenerator()
            let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
            let s = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            if !s.hasPrefix("-"), bytes.contains(where: { $0 != 0 }) { return s }
        }
    }

    func directory(_ id: Int32) -> URL { baseDirectory.appendingPathComponent("broker-\(id)") }

    /// Whether the child still runs; records its exit status when it has ended.
    private func running(_ id: Int32, _ proc: ChildProcess) -> Bool {
        guard let st = proc.exitStatus() else { return true }
        ChildRegistry.shared.remove(proc.pid)
        exitStatus[id] = st
        processes[id] = nil
        return false
    }

    public func status() -> [LocalBrokerStatus] {
        plans.values.sorted { $0.id < $1.id }.map { p in
            let dir = directory(p.id)
            let state: LocalBrokerStatus.State
            if let proc = processes[p.id], running(p.id, proc) { state = .running(pid: proc.pid) }
            else if let s = exitStatus[p.id] { state = .exited(status: s) }
            else { state = .stopped }
            return LocalBrokerStatus(id: p.id, host: host, port: p.port, dataDir: dir.appendingPathComponent("data").path,
                                     configPath: dir.appendingPathComponent("server.properties").path,
                                     logPath: dir.appendingPathComponent("broker.log").path, state: state)
        }
    }

    /// Writes every broker's config and starts every broker that is not running. KRaft nodes
    /// are all launched before any is waited for: a node's listener may wait for a quorum
    /// that needs the others. `progress` hears one line per step.
    public func startAll(progress: (@Sendable (String) -> Void)? = nil) async throws {
        var launched: [(Int32, ChildProcess)] = []
        // Dedicated controllers first: the brokers register with their quorum.
        for id in brokerIds.sorted(by: { (plans[$0]?.controllerOnly == true ? 0 : 1, $0) < (plans[$1]?.controllerOnly == true ? 0 : 1, $1) }) {
            if let proc = try await launch(id, progress: progress) { launched.append((id, proc)) }
        }
        for (id, proc) in launched {
            try await waitReady(id, proc)
            progress?("node \(id) accepts connections on \(host):\(plans[id]!.port)")
        }
    }

    /// The `server.properties` of one broker, in Kafka's key names.
    func config(for p: BrokerPlan) -> String {
        let dir = directory(p.id)
        var entries: [(String, String)] = [
            ("node.id", "\(p.id)"),
            ("listeners", "\(clientListener)://\(host):\(p.port)"),
            ("advertised.listeners", "\(clientListener)://\(host):\(p.port)"),
            ("log.dirs", dir.appendingPathComponent("data").path),
            ("num.partitions", "3"),
            ("default.replication.factor", "\(min(3, brokerCount))"),
            ("offsets.topic.replication.factor", "\(min(3, brokerCount))"),
            ("group.initial.rebalance.delay.ms", "0"),
            ("auto.create.topics.enable", "true"),
        ]
        if isKRaft {
            // A combined broker+controller node (Kafka's config/kraft/server.properties; the same
            // keys as config/cluster/node1.properties and .ci/run's 3-node cluster); with
            // dedicated controllers (`--controllers N`), Kafka's controller.properties and
            // broker.properties: a controller has only its CONTROLLER listener, a broker only
            // PLAINTEXT, and the voters are the controllers.
            let roles: String
            if p.controllerOnly {
                roles = "controller"
                entries[1].1 = "CONTROLLER://\(host):\(p.port)"
                entries.remove(at: 2)  // advertised.listeners: a controller has no client listener
            } else if let cport = p.controllerPort {
                roles = "broker,controller"
                entries[1].1 = "\(clientListener)://\(host):\(p.port),CONTROLLER://\(host):\(cport)"
            } else {
                roles = "broker"
            }
            entries.insert(contentsOf: [
                ("process.roles", roles),
                ("controller.quorum.voters", voters),
                ("controller.listener.names", "CONTROLLER"),
                ("listener.security.protocol.map", "\(clientListener):\(clientListener),CONTROLLER:PLAINTEXT"),
                ("inter.broker.listener.name", clientListener),
            ], at: 1)
            entries += [
                // Quick failover for a demo: elections after 1-2 s without a leader, a silent
                // broker fenced (its leaderships moved, it leaves the ISRs) after 6 s.
                ("controller.quorum.election.timeout.ms", "1000"),
                ("controller.quorum.fetch.timeout.ms", "2000"),
                ("broker.heartbeat.interval.ms", "1000"),
                ("broker.session.timeout.ms", "6000"),
                ("replica.lag.time.max.ms", "10000"),
            ]
            if brokerCount >= 3 { entries.append(("min.insync.replicas", "2")) }
        }
        for (k, v) in extraConfig.sorted(by: { $0.key < $1.key }) {
            if let i = entries.firstIndex(where: { $0.0 == k }) { entries[i].1 = v } else { entries.append((k, v)) }
        }
        return "# Written by samsa's local cluster manager; edits are overwritten on start.\n"
            + entries.map { "\($0.0)=\($0.1)" }.joined(separator: "\n") + "\n"
    }

    public func start(_ id: Int32) async throws {
        if let proc = try await launch(id, progress: nil) { try await waitReady(id, proc) }
    }

    /// Formats a KRaft node's storage (`samsa storage format -t ID -c CONFIG`) unless its log
    /// dir already has `meta.properties`. The output goes to the node's log.
    private func formatIfNeeded(_ id: Int32, progress: (@Sendable (String) -> Void)?) async throws {
        guard isKRaft || !formatArguments.isEmpty else { return }
        let dir = directory(id)
        let data = dir.appendingPathComponent("data")
        guard !FileManager.default.fileExists(atPath: data.appendingPathComponent("meta.properties").path) else { return }
        var arguments = ["storage", "format"]
        if isKRaft {
            let cid: String
            do { cid = try clusterId() } catch { throw LocalClusterError.launchFailed(id: id, reason: "cannot write the cluster id: \(error)") }
            progress?("formatting node \(id)'s storage (cluster id \(cid))")
            arguments += ["-t", cid]
        } else {
            // A single node: its first start reads the bootstrap records (the SCRAM users).
            guard !FileManager.default.fileExists(atPath: data.appendingPathComponent("bootstrap.checkpoint").path) else { return }
            progress?("formatting node \(id)'s storage")
        }
        arguments += ["-c", dir.appendingPathComponent("server.properties").path] + formatArguments
        let logURL = dir.appendingPathComponent("broker.log")
        let proc: ChildProcess
        do {
            proc = try ChildProcess.spawn(executable: executable.path, arguments: arguments, logPath: logURL.path)
        } catch {
            throw LocalClusterError.launchFailed(id: id, reason: "storage format: \(error)")
        }
        let deadline = ContinuousClock.now + readyTimeout
        while ContinuousClock.now < deadline {
            if let st = proc.exitStatus() {
                if st == 0 { return }
                throw LocalClusterError.launchFailed(id: id, reason: "storage format exited with status \(st): "
                    + (Self.failureReason(Self.tail(logURL, lines: 8)) ?? "see \(logURL.path)"))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        proc.signal(SIGKILL)
        _ = proc.waitForExit(timeout: .seconds(5))
        throw LocalClusterError.launchFailed(id: id, reason: "storage format did not finish within \(readyTimeout)")
    }

    /// Writes the node's config, formats its storage if needed and spawns it; nil when it
    /// already runs.
    private func launch(_ id: Int32, progress: (@Sendable (String) -> Void)?) async throws -> ChildProcess? {
        guard let plan = plans[id] else { throw LocalClusterError.noSuchBroker(id) }
        if let p = processes[id], running(id, p) { return nil }
        let dir = directory(id)
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
            if privateConfig {
                try LocalPKI.writeFile(dir.appendingPathComponent("server.properties"), config(for: plan), mode: 0o600)
            } else {
                try config(for: plan).write(to: dir.appendingPathComponent("server.properties"), atomically: true, encoding: .utf8)
            }
        } catch {
            throw LocalClusterError.launchFailed(id: id, reason: "cannot prepare \(dir.path): \(error)")
        }
        let logURL = dir.appendingPathComponent("broker.log")
        let pidURL = dir.appendingPathComponent("broker.pid")
        await stopLeftover(pidFile: pidURL, id: id)
        try await formatIfNeeded(id, progress: progress)
        // Readiness is "the port accepts connections": with another process already on the
        // port, a broker that failed to bind looked ready and the demo ran against a stranger.
        if Self.isListening(port: plan.port) { throw LocalClusterError.portInUse(id: id, port: plan.port) }
        if let c = plan.controllerPort, Self.isListening(port: c) { throw LocalClusterError.portInUse(id: id, port: c) }
        let proc: ChildProcess
        do {
            proc = try ChildProcess.spawn(executable: executable.path,
                                          arguments: ["broker", "--config", dir.appendingPathComponent("server.properties").path],
                                          logPath: logURL.path)
        } catch {
            throw LocalClusterError.launchFailed(id: id, reason: "\(error)")
        }
        processes[id] = proc
        ChildRegistry.shared.add(proc.pid)
        exitStatus[id] = nil
        if let started = Self.processStartTime(proc.pid) {
            try? "\(proc.pid) \(started)\n".write(to: pidURL, atomically: true, encoding: .utf8)
        }
        logger.info("started broker \(id) pid \(proc.pid) port \(plan.port)")
        progress?("started node \(id) (pid \(proc.pid)) on \(host):\(plan.port)" + (plan.controllerPort.map { ", controller port \($0)" } ?? ""))
        return proc
    }

    /// Waits until the node's broker port accepts connections, or it exits, or `readyTimeout`.
    private func waitReady(_ id: Int32, _ proc: ChildProcess) async throws {
        guard let plan = plans[id] else { throw LocalClusterError.noSuchBroker(id) }
        let logURL = directory(id).appendingPathComponent("broker.log")
        let deadline = ContinuousClock.now + readyTimeout
        while ContinuousClock.now < deadline {
            if !running(id, proc) {
                throw LocalClusterError.exitedEarly(id: id, status: exitStatus[id] ?? -1, logPath: logURL.path, lastLines: Self.tail(logURL, lines: 8))
            }
            if Self.isListening(port: plan.port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LocalClusterError.notReady(id: id, port: plan.port, logPath: logURL.path, seconds: Int(readyTimeout.components.seconds))
    }

    /// `kill -9` of a broker, as a crash: no graceful shutdown, its data left as it is. The
    /// exit (killed by signal 9) is kept for `status()` until the broker is started again.
    public func kill9(_ id: Int32) async throws {
        guard plans[id] != nil else { throw LocalClusterError.noSuchBroker(id) }
        guard let proc = processes[id], running(id, proc) else { return }
        proc.signal(SIGKILL)
        let deadline = ContinuousClock.now + .seconds(10)
        while running(id, proc) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        try? FileManager.default.removeItem(at: directory(id).appendingPathComponent("broker.pid"))
        logger.info("killed broker \(id) with SIGKILL")
    }

    /// Stops a broker: SIGTERM, then SIGKILL if it has not exited within `stopTimeout`.
    public func stop(_ id: Int32) async throws {
        guard plans[id] != nil else { throw LocalClusterError.noSuchBroker(id) }
        guard let proc = processes[id] else { return }
        if running(id, proc) {
            proc.signal(SIGTERM)
            let deadline = ContinuousClock.now + stopTimeout
            while running(id, proc) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            if running(id, proc) {
                logger.warning("broker \(id) ignored SIGTERM for \(stopTimeout); sending SIGKILL")
                proc.signal(SIGKILL)
                while running(id, proc) { try? await Task.sleep(for: .milliseconds(20)) }
            }
        }
        processes[id] = nil
        exitStatus[id] = nil
        try? FileManager.default.removeItem(at: directory(id).appendingPathComponent("broker.pid"))
        logger.info("stopped broker \(id)")
    }

    public func restart(_ id: Int32) async throws {
        try await stop(id)
        try await start(id)
    }

    /// SIGKILLs every broker process started by any `LocalCluster` of this process, at once
    /// and without the actor: for a forced exit (second Ctrl-C), where waiting is what the
    /// user refuses. Data directories are left as they are.
    public nonisolated static func killAllNow() {
        for pid in ChildRegistry.shared.all { kill(pid, SIGKILL) }
    }

    /// The SIGTERM-to-SIGKILL grace of `stop`.
    public func setStopTimeout(_ d: Duration) { stopTimeout = d }

    /// Stops every broker. KRaft nodes all get SIGTERM at once and share one `stopTimeout`:
    /// stopped one by one, the last ones waited for a controller quorum that was already gone.
    public func stopAll() async {
        if isKRaft {
            // Dedicated controllers last: the brokers' controlled shutdown needs a quorum
            // leader (stopped together, the brokers waited for one that was gone; 20 s).
            let controllers = brokerIds.filter { plans[$0]?.controllerOnly == true }
            await stopTogether(brokerIds.filter { !controllers.contains($0) })
            await stopTogether(controllers)
        }
        for id in brokerIds { try? await stop(id) }
    }

    /// SIGTERM to every node of `ids` at once, one shared `stopTimeout`, then SIGKILL.
    private func stopTogether(_ ids: [Int32]) async {
        do {
            // One shared grace period, then SIGKILL for every node still running (a node whose
            // controlled shutdown waits for a quorum that is stopping too): waited for one by
            // one, a 3-node demo took up to 3 x stopTimeout to quit.
            let live = ids.compactMap { id in processes[id].flatMap { running(id, $0) ? (id, $0) : nil } }
            for (_, p) in live { p.signal(SIGTERM) }
            let deadline = ContinuousClock.now + stopTimeout
            while live.contains(where: { running($0.0, $0.1) }) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            for (id, p) in live where running(id, p) {
                logger.warning("broker \(id) ignored SIGTERM for \(stopTimeout); sending SIGKILL")
                p.signal(SIGKILL)
            }
            let killDeadline = ContinuousClock.now + .seconds(5)
            while live.contains(where: { running($0.0, $0.1) }) && ContinuousClock.now < killDeadline { try? await Task.sleep(for: .milliseconds(20)) }
            // Stopped on request, as `stop` leaves them: no exit status to report.
            for (id, p) in live where !running(id, p) {
                exitStatus[id] = nil
                try? FileManager.default.removeItem(at: directory(id).appendingPathComponent("broker.pid"))
                logger.info("stopped broker \(id)")
            }
        }
    }

    /// Removes every broker's directory (data, config, log). Brokers must be stopped.
    public func deleteData() throws {
        if FileManager.default.fileExists(atPath: baseDirectory.path) { try FileManager.default.removeItem(at: baseDirectory) }
    }

    /// Stops a broker left running by an earlier run of this manager on the same directory
    /// (the console was SIGKILLed or crashed, so its children survived). Without this a new
    /// `samsa demo --keep` started a second broker on the same log dirs. The pid file holds
    /// the pid and its start time, so a recycled pid is never signalled.
    private func stopLeftover(pidFile: URL, id: Int32) async {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8) else { return }
        defer { try? FileManager.default.removeItem(at: pidFile) }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, let started = UInt64(parts[1]),
              Self.processStartTime(pid) == started else { return }
        logger.warning("broker \(id): stopping pid \(pid) left running by an earlier run on \(directory(id).path)")
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + stopTimeout
        while Self.processStartTime(pid) == started && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if Self.processStartTime(pid) == started {
            kill(pid, SIGKILL)
            while Self.processStartTime(pid) == started { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// Start time of a live process (field 22 of /proc/PID/stat, in clock ticks since boot);
    /// nil when there is no such process or it is a zombie (dead, not yet reaped).
    static func processStartTime(_ pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }

    /// The line of a broker log that says why it stopped: the last critical/error log line
    /// (its message only), else the last line naming an error, else the last line.
    public static func failureReason(_ log: String) -> String? {
        let lines = log.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        func message(_ l: String) -> String {
            // swift-log's stream format: "<time> <level> <label> : [<source>] <message>".
            var m = l
            if let r = l.range(of: "] ") { m = String(l[r.upperBound...]) } else if let r = l.range(of: " : ") { m = String(l[r.upperBound...]) }
            // The caller already says it failed to start.
            for p in ["Broker failed to start: ", "Invalid configuration: "] where m.hasPrefix(p) { m = String(m.dropFirst(p.count)) }
            return m
        }
        if let l = lines.last(where: { $0.contains(" critical ") || $0.contains(" error ") }) { return message(l) }
        let hints = ["error", "errno", "fatal", "failed", "cannot", "denied", "in use"]
        if let l = lines.last(where: { line in hints.contains { line.lowercased().contains($0) } }) { return message(l) }
        return lines.last.map(message)
    }

    /// Why a broker that exited by itself stopped, from the end of its log.
    public func exitReason(_ id: Int32) -> String? {
        Self.failureReason(Self.tail(directory(id).appendingPathComponent("broker.log"), lines: 20))
    }

    static func tail(_ url: URL, lines: Int) -> String {
        guard let data = try? Data(contentsOf: url) else { return "" }
        return String(decoding: data.suffix(8192), as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
