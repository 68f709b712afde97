// ListPartitionReassignments (key 46), version 0 (kafka-reassign-partitions.sh --verify/--list).
//
// Behaviour: the ongoing reassignments (replicas, adding, removing) of the named partitions, or
// of every partition when Topics is null; partitions not reassigning and unknown topics are left
// out, as Kafka does. Answered from the active controller's image (the request is forwarded
// like the other reassignment API, so a broker's lagging image never hides a reassignment).
// Errors: none per partition.
// Version notes: v0 is flexible (KIP-455).
import KafkaProtocol

public struct ListPartitionReassignmentsHandler: RequestHandler {
    public typealias Request = ListPartitionReassignmentsRequest
    public static let versions: ClosedRange<Int16> = 0...0

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: ListPartitionReassignmentsRequest, context: RequestContext) async throws -> ListPartitionReassignmentsResponse? {
        var response = ListPartitionReassignmentsResponse()
        response.errorMessage = nil
        guard services.authorize(context, .describe, .cluster, AclResources.clusterName) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = "Cluster authorization failed."
            return response
        }
        let ongoing = services.controller.listPartitionReassignments(
            topics: request.topics.map { $0.map { (name: $0.name, partitions: $0.partitionIndexes) } })
        var byTopic: [String: Int] = [:]
        for o in ongoing {
            let p = ListPartitionReassignmentsResponse.OngoingPartitionReassignment(
                partitionIndex: o.partition, replicas: o.replicas, addingReplicas: o.addingReplicas, removingReplicas: o.removingReplicas)
            if let i = byTopic[o.topic] {
                response.topics[i].partitions.append(p)
            } else {
                byTopic[o.topic] = response.topics.count
                response.topics.append(.init(name: o.topic, partitions: [p]))
            }
        }
        return response
    }
}
