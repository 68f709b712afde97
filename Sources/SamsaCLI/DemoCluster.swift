import ClusterManager
import Console
import Foundation
import KafkaClient

/// A local demo cluster with its load: the nodes (child processes of this one), the demo
/// topics and the demo producer and consumer groups. What `samsa demo` runs, and what the
/// console's `:cluster up N` starts, so both start the same cluster the same way.
final class DemoCluster: @unchecked Sendable {
    /// Where the nodes' data, configs and logs go (`<base>/cluster`).
    let base: URL
    let brokers: Int
    let cluster: LocalCluster
    /// An existing cluster the load runs against instead of local nodes (`demo --bootstrap-server`).
    let external: String?
    let rate: Double
    /// `samsa demo --secure`: SASL_SSL, SCRAM users, the authorizer; nil for the plaintext demo.
    let security: DemoSecurity?
    private(set) var source: KafkaClusterSource?
    private(set) var workload: DemoWorkload?
    private(set) var bootstrap = ""

    /// - Parameters: `brokers` nodes (1: one broker without a quorum; more: combined
    ///   broker+controller nodes, or brokers only with `controllers` dedicated controllers);
    ///   broker 1 on `firstPort` (0: a free port).
    ///   `secure`: every client listener SASL_SSL with a throw-away CA, SCRAM users and the
    ///   authorizer (``DemoSecurity``); local nodes only, without dedicated controllers.
    init(base: URL, brokers: Int, controllers: Int = 0, firstPort: Int = 0, rate: Double, external: String? = nil, secure: Bool = false) throws {
        self.base = base
        self.brokers = brokers
        self.rate = rate
        self.external = external
        let plans = external == nil ? try Self.plans(brokers: brokers, firstPort: firstPort, controllers: controllers) : []
        if secure {
            let sec = try DemoSecurity.prepare(base: base)
            security = sec
            cluster = LocalCluster(baseDirectory: base.appendingPathComponent("cluster"), brokers: plans,
                                   extraConfig: sec.brokerConfig(controllerListener: plans.contains { $0.controllerPort != nil || $0.controllerOnly }),
                                   clientListener: "SASL_SSL", formatArguments: sec.formatArguments, privateConfig: true)
        } else {
            security = nil
            cluster = LocalCluster(baseDirectory: base.appendingPathComponent("cluster"), brokers: plans)
        }
    }

    /// The client properties of the demo's own clients (the load, the console): the admin over
    /// SASL_SSL with the demo CA when secure; nothing more otherwise.
    var clientSecurity: [String: String] { security?.adminClientProperties ?? [:] }

    /// Starts the nodes, waits until every broker is registered, creates the demo topics and
    /// starts the load. `interrupted` is polled while waiting (Ctrl-C); `progress` gets one
    /// line per step.
    func start(progress: @escaping @Sendable (String) -> Void, interrupted: @escaping @Sendable () -> Bool) async throws {
        if let external {
            bootstrap = external
            progress("Using the existing cluster at \(external)")
        } else {
            try await cluster.startAll(progress: progress)
            bootstrap = await cluster.bootstrapServers
        }
        let src = try KafkaClusterSource(properties: ClientProperties(clientSecurity.merging(["bootstrap.servers": bootstrap]) { _, b in b }))
        source = src
        let expected = external == nil ? brokers : 1
        progress(expected == 1 ? "Waiting for the broker to answer metadata" : "Waiting for \(expected) brokers to register with the controller quorum")
        let seen = try await waitForMetadata(src, brokers: expected, interrupted: interrupted)
        let (rf, topicConfigs) = DemoWorkload.topicSettings(brokers: seen)
        progress("Creating demo topics: \(DemoWorkload.topics.map(\.name).joined(separator: ", ")) (replication factor \(rf)"
                 + (topicConfigs.isEmpty ? ")" : ", " + topicConfigs.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", ") + ")"))
        try await createTopics(src, brokers: seen, progress: progress, interrupted: interrupted)
        if security != nil {
            let bindings = DemoSecurity.readerBindings(topics: DemoWorkload.topics.map(\.name))
            for r in try await src.admin.createAcls(bindings) { if case .failure(let e) = r { throw ConsoleCLIError("creating demo-reader's ACLs: \(e)") } }
            progress("ACLs: \(DemoSecurity.readerUser) may Read and Describe the demo topics and the groups \(DemoSecurity.readerGroupPrefix)*")
        }
        let w = DemoWorkload(plan: .init(bootstrap: bootstrap, rate: rate, security: clientSecurity))
        workload = w
        try await w.start()
        progress("Producing \(Int(rate)) msg/s; groups \(DemoWorkload.laggingGroup) (lagging) and \(DemoWorkload.healthyGroup)")
    }

    /// Stops the load (bounded: with the brokers down, the producer's flush alone waited up
    /// to delivery.timeout.ms; unsent demo records are dropped), the client and the nodes.
    func stop(progress: @escaping @Sendable (String) -> Void) async {
        if let workload, !(await Deadline.run(.seconds(3), { await workload.stop() })) {
            progress("The demo load did not stop within 3 s (cluster unreachable?); dropping its unsent records")
        }
        if let source { await Deadline.run(.seconds(2)) { await source.close() } }
        await cluster.setStopTimeout(.seconds(5))
        await cluster.stopAll()
    }

    /// Deletes the nodes' data (`<base>/cluster`); nothing for an external cluster.
    func deleteData() async throws {
        guard external == nil else { return }
        try await cluster.deleteData()
        // The CA, the broker key and the users' passwords go with the data they protect.
        if let security, FileManager.default.fileExists(atPath: security.directory.path) {
            try FileManager.default.removeItem(at: security.directory)
        }
    }

    /// Node ids 1...n; node 1 on `firstPort` (0: free), every other port free. More than one
    /// node: each also gets a controller port (combined broker+controller KRaft nodes).
    /// Brokers 1...n (combined broker+controller nodes when there is more than one and no
    /// dedicated controller), then controllers n+1...n+controllers.
    static func plans(brokers n: Int, firstPort: Int, controllers: Int = 0) throws -> [LocalCluster.BrokerPlan] {
        var used: Set<Int> = firstPort == 0 ? [] : [firstPort]
        func free() throws -> Int {
            while true { let p = try LocalCluster.freePort(); if used.insert(p).inserted { return p } }
        }
        let brokers = try (1...n).map { i in
            let port = i == 1 && firstPort != 0 ? firstPort : try free()
            return LocalCluster.BrokerPlan(id: Int32(i), port: port, controllerPort: n > 1 && controllers == 0 ? try free() : nil)
        }
        return try brokers + (0..<controllers).map { i in LocalCluster.BrokerPlan.controller(id: Int32(n + 1 + i), port: try free()) }
    }

    /// Waits until Metadata lists `brokers` brokers (a KRaft broker is listed once it has
    /// registered and been unfenced); returns how many it lists.
    private func waitForMetadata(_ src: KafkaClusterSource, brokers: Int, interrupted: () -> Bool) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(brokers > 1 ? 60 : 20)
        var last: String?
        while ContinuousClock.now < deadline {
            if interrupted() { throw ConsoleCLIError("interrupted") }
            do {
                let md = try await src.fetchMetadata()
                if md.brokers.count >= brokers { return md.brokers.count }
                last = "\(md.brokers.count) of \(brokers) brokers registered"
            } catch { last = "\(error)" }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ConsoleCLIError("the cluster did not list \(brokers) broker(s) in metadata within \(brokers > 1 ? 60 : 20) s: \(last ?? "?")")
    }

    /// Creates the demo topics, retrying briefly while the controller still refuses (a
    /// quorum that just elected its leader, brokers that just registered).
    private func createTopics(_ src: KafkaClusterSource, brokers: Int, progress: (String) -> Void, interrupted: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            do { return try await DemoWorkload.createTopics(admin: src.admin, brokers: brokers) } catch {
                if ContinuousClock.now >= deadline || interrupted() { throw error }
                progress("creating topics: \(error); retrying")
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
