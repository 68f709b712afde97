/// The start-up rules of a node with `process.roles` (issue 11), before anything touches its
/// log directories beyond the lock: storage formatted by `samsa storage format` for this node
/// (``KRaftStorage/verifyFormatted(config:configPath:)``), and a topology this build can run.
extension KafkaBroker {
    /// Throws one line (what is wrong and what to run) when a KRaft node may not start.
    ///
    /// A combined node that is the whole quorum runs as the single node (storage formatted by
    /// hand, as Kafka requires); every other topology runs the network quorum
    /// (``ClusterRuntime``).
    static func checkKRaftStartup(config: BrokerConfig) throws(KRaftStorage.Failure) {
        guard config.isKRaftMode else { return }
        _ = try KRaftStorage.verifyFormatted(config: config, configPath: config.sourcePath)
    }
}
