// ElectLeaders (key 43), versions 0-2 (kafka-leader-election.sh, Admin.electLeaders).
//
// Behaviour: the controller elects leaders for the named partitions (TopicPartitions null: every
// partition, answering only those that needed an election). PREFERRED moves leadership to the
// first replica when it is active and in the ISR; UNCLEAN elects a leader for a leaderless
// partition, out of the ISR if need be (whatever the topic's unclean.leader.election.enable: the
// operator asked). On a multi-node cluster this runs on the active controller (the request is
// forwarded in an Envelope, ForwardingDispatcher); the records are committed before the answer.
// Errors (per partition): ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
// ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION; top level (v1+): INVALID_REQUEST for
// an unknown election type, NOT_CONTROLLER while the controller starts.
// Version notes: v0 has no ElectionType (PREFERRED) and no top-level error code; v1 adds both;
// v2 is flexible.
import KafkaProtocol

public struct ElectLeadersHandler: RequestHandler {
    public typealias Request = ElectLeadersRequest
    public static let versions: ClosedRange<Int16> = 0...2

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: ElectLeadersRequest, context: RequestContext) async throws -> ElectLeadersResponse? {
        var response = ElectLeadersResponse()
        let typeValue = context.apiVersion >= 1 ? request.electionType : 0
        guard let type = ReplicationControl.ElectionType(rawValue: typeValue) else {
            // Kafka's ElectLeadersRequest refuses an unknown type for every partition.
            return Self.everyPartition(request, error: .invalidRequest, message: "Unknown election type \(typeValue)",
                                       topLevel: context.apiVersion >= 1)
        }
        guard services.authorize(context, .alter, .cluster, AclResources.clusterName) else {
            return Self.everyPartition(request, error: .clusterAuthorizationFailed, message: "Cluster authorization failed.",
                                       topLevel: context.apiVersion >= 1)
        }
        let partitions = request.topicPartitions.map { $0.map { (topic: $0.topic, partitions: $0.partitions) } }
        let results: [ReplicationControl.PartitionResult]
        do {
            results = try await services.controller.electLeaders(type: type, partitions: partitions)
        } catch let error as ControllerError {
            return Self.everyPartition(request, error: ErrorCode(rawValue: error.code), message: error.message,
                                       topLevel: context.apiVersion >= 1)
        }
        var byTopic: [String: Int] = [:]
        for r in results {
            var pr = ElectLeadersResponse.PartitionResult()
            pr.partitionId = r.partition
            pr.errorCode = r.error.rawValue
            pr.errorMessage = r.error == .none ? nil : r.message
            if let i = byTopic[r.topic] {
                response.replicaElectionResults[i].partitionResult.append(pr)
            } else {
                byTopic[r.topic] = response.replicaElectionResults.count
                response.replicaElectionResults.append(.init(topic: r.topic, partitionResult: [pr]))
            }
        }
        let elected = results.filter { $0.error == .none }.count
        if elected > 0 { services.logger.info("ElectLeaders (\(type)): elected leaders for \(elected) partition(s)") }
        return response
    }

    static func everyPartition(_ request: ElectLeadersRequest, error: ErrorCode, message: String?, topLevel: Bool) -> ElectLeadersResponse {
        var response = ElectLeadersResponse()
        if topLevel { response.errorCode = error.rawValue }
        for t in request.topicPartitions ?? [] {
            response.replicaElectionResults.append(.init(topic: t.topic, partitionResult: t.partitions.map {
                .init(partitionId: $0, errorCode: error.rawValue, errorMessage: message)
            }))
        }
        return response
    }
}
