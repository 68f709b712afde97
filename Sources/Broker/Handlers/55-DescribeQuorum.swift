// DescribeQuorum (key 55), versions 0-2 (always flexible). Served on the controller listener
// (Kafka's ControllerApis) and on the broker listeners (`kafka-metadata-quorum.sh
// --bootstrap-server`), where Kafka's broker forwards it to the active controller.
//
// Behaviour:
// * Anything but exactly `__cluster_metadata` partition 0: every requested partition gets
//   UNKNOWN_TOPIC_OR_PARTITION (Kafka's DescribeQuorumRequest.getPartitionLevelErrorResponse).
// * The quorum leader answers from its replica (LeaderState.describeQuorum): leader id and
//   epoch, high watermark (-1 until established in the epoch), every voter and the observers
//   that fetched in the last 5 minutes, each with log end offset and last fetch / last
//   caught-up timestamps (the leader itself: now).
// * Another controller answers NOT_LEADER_OR_FOLLOWER at the partition level, as Kafka's raft
//   client does (Samsa also fills in the leader id and epoch it knows).
// * On a broker listener a node that is not the leader forwards the request to the leader it
//   knows (Kafka forwards to the active controller, which is the quorum leader) over the quorum
//   connections; with no known leader, or no answer, it is NOT_CONTROLLER at the top level, which
//   the admin client retries.
// Version notes: v1 adds LastFetchTimestamp / LastCaughtUpTimestamp; v2 (KIP-853) adds the
// error messages, ReplicaDirectoryId (zero: static quorum) and Nodes (the voters' controller
// endpoints), which are cleared below v2.
import KafkaProtocol
import Quorum

public struct DescribeQuorumHandler: RequestHandler {
    public typealias Request = DescribeQuorumRequest
    public static let versions: ClosedRange<Int16> = 0...2

    let quorum: ControllerQuorum
    /// True on a broker listener: a non-leader forwards to the leader instead of refusing.
    let forwardToLeader: Bool

    public init(quorum: ControllerQuorum, forwardToLeader: Bool) {
        self.quorum = quorum; self.forwardToLeader = forwardToLeader
    }

    public func handle(_ request: DescribeQuorumRequest, context: RequestContext) async throws -> DescribeQuorumResponse? {
        var response = DescribeQuorumResponse()
        guard request.topics.count == 1, request.topics[0].topicName == MetadataPartition.topicName,
              request.topics[0].partitions.count == 1,
              request.topics[0].partitions[0].partitionIndex == MetadataPartition.partition else {
            response.topics = request.topics.map { topic in
                DescribeQuorumResponse.TopicData(topicName: topic.topicName, partitions: topic.partitions.map { p in
                    var partition = DescribeQuorumResponse.PartitionData()
                    partition.partitionIndex = p.partitionIndex
                    partition.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    partition.errorMessage = ErrorCode.unknownTopicOrPartition.message
                    return partition
                })
            }
            return Self.fitted(response, version: context.apiVersion)
        }
        let local = await quorum.host.describeQuorum()
        if local.errorCode != 0, forwardToLeader {
            return Self.fitted(await forwarded(request), version: context.apiVersion)
        }
        response.errorMessage = nil
        response.topics = [DescribeQuorumResponse.TopicData(topicName: MetadataPartition.topicName, partitions: [local])]
        response.nodes = quorum.voterNodes()
        return Self.fitted(response, version: context.apiVersion)
    }

    /// The leader's answer to the same question, or NOT_CONTROLLER.
    private func forwarded(_ request: DescribeQuorumRequest) async -> DescribeQuorumResponse {
        if let leader = quorum.host.leadership.leaderId, leader != quorum.nodeId,
           let answer = await quorum.transport.forward(request, version: Self.versions.upperBound, to: leader) {
            return answer
        }
        var response = DescribeQuorumResponse()
        response.errorCode = ErrorCode.notController.rawValue
        response.errorMessage = "No quorum leader is known to node \(quorum.nodeId) or it did not answer"
        return response
    }

    /// Clears what the version cannot carry (Nodes and ReplicaDirectoryId are v2+ and not
    /// ignorable).
    static func fitted(_ response: DescribeQuorumResponse, version: Int16) -> DescribeQuorumResponse {
        guard version < 2 else { return response }
        var r = response
        r.nodes = []
        for t in r.topics.indices {
            for p in r.topics[t].partitions.indices {
                for v in r.topics[t].partitions[p].currentVoters.indices { r.topics[t].partitions[p].currentVoters[v].replicaDirectoryId = .zero }
                for o in r.topics[t].partitions[p].observers.indices { r.topics[t].partitions[p].observers[o].replicaDirectoryId = .zero }
            }
        }
        return r
    }
}
