// DeleteRecords (key 21), versions 0-2.
//
// Behaviour: moves each partition's log start offset up to `offset` (-1 = the high
// watermark); records below it are no longer readable (Fetch gets OFFSET_OUT_OF_RANGE,
// ListOffsets EARLIEST returns the new start) and whole segments below it are deleted. The
// answer's low_watermark is the new log start offset. An offset beyond the HW gets
// OFFSET_OUT_OF_RANGE; unknown partitions UNKNOWN_TOPIC_OR_PARTITION; an internal topic
// (__consumer_offsets...) INVALID_TOPIC_EXCEPTION, as Kafka's ReplicaManager refuses it.
// Version notes: v1 same as v0; v2 flexible.
import KafkaProtocol

public struct DeleteRecordsHandler: RequestHandler {
    public typealias Request = DeleteRecordsRequest
    public static let versions: ClosedRange<Int16> = 0...2

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: DeleteRecordsRequest, context: RequestContext) async throws -> DeleteRecordsResponse? {
        let image = services.metadata.image
        var response = DeleteRecordsResponse()
        for t in request.topics {
            var tr = DeleteRecordsResponse.DeleteRecordsTopicResult()
            tr.name = t.name
            let allowed = services.authorize(context, .delete, .topic, t.name)
            for p in t.partitions {
                var pr = DeleteRecordsResponse.DeleteRecordsPartitionResult()
                pr.partitionIndex = p.partitionIndex
                pr.lowWatermark = -1
                do throws(PartitionError) {
                    guard allowed else { throw PartitionError(ErrorCode.topicAuthorizationFailed.rawValue, "Topic authorization failed.") }
                    guard image.partition(t.name, p.partitionIndex) != nil else {
                        throw PartitionError(ErrorCode.unknownTopicOrPartition.rawValue, "unknown topic-partition")
                    }
                    guard !TopicName.internalTopics.contains(t.name) else {
                        throw PartitionError(ErrorCode.invalidTopicException.rawValue, "Cannot delete records of internal topic \(t.name)")
                    }
                    guard let partition = services.replicas.partition(t.name, p.partitionIndex) else { throw .notLeader }
                    pr.lowWatermark = try partition.deleteRecords(before: p.offset)
                } catch {
                    pr.errorCode = error.code
                }
                tr.partitions.append(pr)
            }
            response.topics.append(tr)
        }
        return response
    }
}
