// AlterPartitionReassignments (key 45), version 0 (kafka-reassign-partitions.sh --execute/--cancel).
//
// Behaviour: per partition, Replicas starts (or replaces) a reassignment to that list: the
// partition's replicas become target ++ (current - target), with adding = target - current and
// removing = current - target. New replicas are ordinary followers (they fetch from the leader);
// once every adding replica is in the ISR the controller completes the reassignment: replicas =
// target, removing replicas leave the ISR and, if one led, leadership moves. Replicas null cancels
// the running reassignment (reverts to the original replicas). Runs on the active controller
// (forwarded); the records are committed before the answer.
// Errors (per partition): UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty list,
// unregistered broker, a broker twice, or a cancel that would need an unclean election while
// unclean.leader.election.enable is off), NO_REASSIGNMENT_IN_PROGRESS (cancel with none running).
// Version notes: v0 is flexible (KIP-455).
import KafkaProtocol

public struct AlterPartitionReassignmentsHandler: RequestHandler {
    public typealias Request = AlterPartitionReassignmentsRequest
    public static let versions: ClosedRange<Int16> = 0...0

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: AlterPartitionReassignmentsRequest, context: RequestContext) async throws -> AlterPartitionReassignmentsResponse? {
        var response = AlterPartitionReassignmentsResponse()
        response.errorMessage = nil
        guard services.authorize(context, .alter, .cluster, AclResources.clusterName) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = "Cluster authorization failed."
            return response
        }
        let requests = request.topics.flatMap { t in t.partitions.map { (topic: t.name, partition: $0.partitionIndex, replicas: $0.replicas) } }
        let unclean = services.config.brokerValue("unclean.leader.election.enable").value?.lowercased() == "true"
        let results: [ReplicationControl.PartitionResult]
        do {
            results = try await services.controller.alterPartitionReassignments(requests, uncleanDefault: unclean)
        } catch let error as ControllerError {
            response.errorCode = error.code
            response.errorMessage = error.message
            return response
        }
        var byTopic: [String: Int] = [:]
        for r in results {
            var pr = AlterPartitionReassignmentsResponse.ReassignablePartitionResponse()
            pr.partitionIndex = r.partition
            pr.errorCode = r.error.rawValue
            pr.errorMessage = r.error == .none ? nil : r.message
            if let i = byTopic[r.topic] {
                response.responses[i].partitions.append(pr)
            } else {
                byTopic[r.topic] = response.responses.count
                response.responses.append(.init(name: r.topic, partitions: [pr]))
            }
        }
        let started = results.filter { $0.error == .none }.count
        if started > 0 { services.logger.info("AlterPartitionReassignments: \(started) partition(s) changed") }
        return response
    }
}
