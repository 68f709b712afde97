// OffsetForLeaderEpoch (key 23), versions 2-4.
//
// Behaviour (KIP-101/KIP-320): for each partition, the end offset of the requested leader
// epoch from the leader-epoch cache: the start offset of the next higher epoch, or the LEO
// for the current epoch, with the largest epoch <= the requested one. An epoch older than the
// whole cache gets epoch -1 / offset -1 (UNDEFINED). current_leader_epoch is checked
// (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH), which is how consumers detect truncation.
// Version notes: v0/v1 are deprecated and not advertised; v2 adds current_leader_epoch;
// v3 replica id; v4 flexible.
import KafkaProtocol

public struct OffsetForLeaderEpochHandler: RequestHandler {
    public typealias Request = OffsetForLeaderEpochRequest
    public static let versions: ClosedRange<Int16> = 2...4

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: OffsetForLeaderEpochRequest, context: RequestContext) async throws -> OffsetForLeaderEpochResponse? {
        let image = services.metadata.image
        var response = OffsetForLeaderEpochResponse()
        for t in request.topics {
            var tr = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult()
            tr.topic = t.topic
            // Kafka: a follower (replica id >= 0) needs CLUSTER_ACTION, a client DESCRIBE on the topic.
            let allowed = request.replicaId >= 0
                ? services.authorize(context, .clusterAction, .cluster, AclResources.clusterName)
                : services.authorize(context, .describe, .topic, t.topic)
            for p in t.partitions {
                var e = OffsetForLeaderEpochResponse.EpochEndOffset()
                e.partition = p.partition
                do throws(PartitionError) {
                    guard allowed else { throw PartitionError(ErrorCode.topicAuthorizationFailed.rawValue, "Topic authorization failed.") }
                    guard image.partition(t.topic, p.partition) != nil else {
                        throw PartitionError(ErrorCode.unknownTopicOrPartition.rawValue, "unknown topic-partition")
                    }
                    guard let partition = services.replicas.partition(t.topic, p.partition), partition.isLeader else {
                        throw .notLeader
                    }
                    try partition.checkLeaderEpoch(p.currentLeaderEpoch)
                    let (epoch, end) = partition.log.endOffset(forEpoch: p.leaderEpoch)
                    e.leaderEpoch = epoch
                    e.endOffset = end
                } catch {
                    e.errorCode = error.code
                }
                tr.partitions.append(e)
            }
            response.topics.append(tr)
        }
        return response
    }
}
