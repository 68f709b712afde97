// EndQuorumEpoch (key 54), versions 0-1, controller listener only (Kafka's ControllerApis).
//
// Behaviour: handed to the Raft replica, answered on this connection (see 52-Vote.swift).
// The replica (KafkaRaftClient.handleEndQuorumEpochRequest): a resigning leader's successors
// stand after a backoff by their position in its preferred list (the first at once).
import KafkaProtocol
import Quorum

public struct EndQuorumEpochHandler: RequestHandler {
    public typealias Request = EndQuorumEpochRequest
    public static let versions: ClosedRange<Int16> = 0...1

    let quorum: ControllerQuorum

    public init(quorum: ControllerQuorum) { self.quorum = quorum }

    public func handle(_ request: EndQuorumEpochRequest, context: RequestContext) async throws -> EndQuorumEpochResponse? {
        guard case .endQuorumEpoch(let response) = try await quorum.serve(.endQuorumEpoch(request), context: context) else {
            throw CloseConnection("the quorum answered EndQuorumEpoch with another API")
        }
        return response
    }
}
