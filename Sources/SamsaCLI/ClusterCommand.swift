import ArgumentParser
import KafkaClient

/// `samsa cluster describe`: cluster id, controller and brokers (like `kcat -L`'s header).
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Inspect a Kafka-compatible cluster.",
        subcommands: [Describe.self]
    )

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the cluster id, controller and brokers.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let cluster = try await withAdmin(global) { try await $0.describeCluster() }
            if output.output == .json { return try printJSON(cluster) }
            print("Cluster id: \(cluster.clusterId ?? "-")")
            print("Controller: \(cluster.controllerId)")
            printTable(["BROKER", "HOST", "PORT", "RACK"],
                       cluster.brokers.map { [String($0.nodeId), $0.host, String($0.port), $0.rack ?? "-"] })
        }
    }
}
