/// The start-up rules of a node with `process.roles` (issue 11), before anything touches its
/// log directories beyond the lock: storage formatted by `samsa storage format` for this node
/// (``KRaftStorage/verifyFormatted(config:configPath:)``), and a topology this build can run.
extension KafkaBroker {
    /// Throws one line (what is wrong and what to run) when a KRaft node may not start.
    ///
    /// Until the controller quorum (Sources/Quorum) is wired into `samsa broker`, the only KRaft
    /// node that can run is a combined node that is the whole quorum (itself the only voter, or
    /// one bootstrap server: Kafka's stock single-node config): it then behaves exactly as the
    /// single node, with storage formatted by hand as Kafka requires. Every other topology is
    /// refused with a message naming process.roles, instead of silently running alone.
    static func checkKRaftStartup(config: BrokerConfig) throws(KRaftStorage.Failure) {
        guard config.isKRaftMode else { return }
        _ = try KRaftStorage.verifyFormatted(config: config, configPath: config.sourcePath)
        let k = config.kraft
        let soleVoter = k.voters.map(\.id) == [k.nodeId] || (k.voters.isEmpty && k.bootstrapServers.count == 1)
        guard k.roles == [.broker, .controller], soleVoter else {
            let roles = k.roles.map(\.rawValue).sorted().joined(separator: ",")
            let quorum = k.voters.isEmpty ? "controller.quorum.bootstrap.servers=\(k.bootstrapServers.joined(separator: ","))"
                                          : "controller.quorum.voters=\(k.voters.map { "\($0.id)@\($0.host):\($0.port)" }.joined(separator: ","))"
            throw KRaftStorage.Failure("process.roles=\(roles) with \(quorum): this build runs a KRaft node only as a single combined node "
                + "that is the whole quorum (process.roles=broker,controller and itself the only voter); multi-node clusters need the controller quorum, "
                + "which samsa broker does not run yet (issue 11)")
        }
    }
}
