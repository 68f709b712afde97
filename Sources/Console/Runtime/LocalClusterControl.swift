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

    public func perform(_ op: BrokerOperation, brokerId: Int32) async throws {
        switch op {
        case .stop: try await cluster.stop(brokerId)
        case .start: try await cluster.start(brokerId)
        case .restart: try await cluster.restart(brokerId)
        }
    }
}
