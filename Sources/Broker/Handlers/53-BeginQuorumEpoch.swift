// BeginQuorumEpoch (key 53), versions 0-1, controller listener only (Kafka's ControllerApis).
//
// Behaviour: handed to the Raft replica, answered on this connection (see 52-Vote.swift).
// The replica (KafkaRaftClient.handleBeginQuorumEpochRequest): INCONSISTENT_CLUSTER_ID,
// INVALID_REQUEST for another partition, FENCED_LEADER_EPOCH for a stale epoch; otherwise the
// node follows the named leader in that epoch (persisted before the answer).
import KafkaProtocol
import Quorum

public struct BeginQuorumEpochHandler: RequestHandler {
    public typealias Request = BeginQuorumEpochRequest
    public static let versions: ClosedRange<Int16> = 0...1

    let quorum: ControllerQuorum

    public init(quorum: ControllerQuorum) { self.quorum = quorum }

    public func handle(_ request: BeginQuorumEpochRequest, context: RequestContext) async throws -> BeginQuorumEpochResponse? {
        guard case .beginQuorumEpoch(let response) = try await quorum.serve(.beginQuorumEpoch(request), context: context) else {
            throw CloseConnection("the quorum answered BeginQuorumEpoch with another API")
        }
        return response
    }
}
