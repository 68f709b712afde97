import ClusterManager

/// Lets the console's broker keys (stop, start, restart) act on a `LocalCluster`.
public struct LocalClusterControl: BrokerControl {
    public let cluster: LocalCluster
    public init(cluster: LocalCluster) { self.cluster = cluster }

    public func expectedBrokers() async -> [BrokerEndpoint] {
        await cluster.status().map { BrokerEndpoint(id: $0.id, host: $0.host, port: Int32($0.port)) }
    }

    public func runningBrokers() async -> Set<Int32> {
        Set(await cluster.status().filter(\.isRunning).map(\.id))
    }

    /// A broker that died by itself (kill -9, crash) says so, with its log; one stopped
    /// from the console is just "process stopped".
    public func stoppedReasons() async -> [Int32: String] {
        var out: [Int32: String] = [:]
        for b in await cluster.status() {
            guard case .exited(let st) = b.state else { continue }
            let how = st > 128 ? "killed by signal \(st - 128)" : "exited with status \(st)"
            // Why, from its log (errno 24, address in use...), not only where to look.
            let why = st > 128 ? nil : await cluster.exitReason(b.id)
            out[b.id] = "process \(how)" + (why.map { ": \($0)" } ?? "") + "; log: \(b.logPath)"
        }
        return out
    }

    public func perform(_ op: BrokerOperation, brokerId: Int32) async throws {
        switch op {
        case .stop: try await cluster.stop(brokerId)
        case .start: try await cluster.start(brokerId)
        case .restart: try await cluster.restart(brokerId)
        case .kill: try await cluster.kill9(brokerId)
        }
    }
}
