import ArgumentParser
import Foundation
import KafkaClient

/// `samsa cluster describe`: cluster id, controller and brokers (like `kcat -L`'s header), and
/// the KRaft quorum when the cluster reports one (`kafka-metadata-quorum.sh describe --status
/// --replication` in one view: leader, epoch, high watermark, each voter's and observer's end
/// offset, lag and last caught-up time).
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

        struct Output: Encodable {
            var clusterId: String?
            var controllerId: Int32
            var brokers: [BrokerInfo]
            /// Absent when the cluster does not implement DescribeQuorum.
            var quorum: QuorumDescription?
        }

        func run() async throws {
            let (cluster, quorum) = try await withAdmin(global) { admin in
                (try await admin.describeCluster(), try await admin.describeQuorum())
            }
            if output.output == .json {
                return try printJSON(Output(clusterId: cluster.clusterId, controllerId: cluster.controllerId,
                                            brokers: cluster.brokers, quorum: quorum))
            }
            print("Cluster id: \(cluster.clusterId ?? "-")")
            print("Controller: \(cluster.controllerId)")
            printTable(["BROKER", "HOST", "PORT", "RACK"],
                       cluster.brokers.map { [String($0.nodeId), $0.host, String($0.port), $0.rack ?? "-"] })
            guard let quorum else {
                print("\nQuorum: not reported (the cluster does not answer DescribeQuorum)")
                return
            }
            print("\nQuorum leader: \(quorum.leaderId)   epoch: \(quorum.leaderEpoch)   high watermark: \(quorum.highWatermark)")
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            func ago(_ ms: Int64?) -> String { ms.map { "\(max(0, now - $0)) ms ago" } ?? "-" }
            printTable(["NODE", "STATUS", "LOG END OFFSET", "LAG", "LAST FETCH", "LAST CAUGHT UP"],
                       quorum.replicas.map { r in
                           [String(r.nodeId), r.nodeId == quorum.leaderId ? "Leader" : (r.isVoter ? "Follower" : "Observer"),
                            String(r.logEndOffset), String(r.lag), ago(r.lastFetchTimestamp), ago(r.lastCaughtUpTimestamp)]
                       })
        }
    }
}
