// Vote (key 52), versions 0-1, controller listener only (Kafka's ControllerApis).
//
// Behaviour: the request goes to this node's Raft replica (``QuorumHost``) through the
// ``NIORaftTransport``, whose answer is returned on this connection. The replica applies
// Kafka's rules (KafkaRaftClient.handleVoteRequest): INCONSISTENT_CLUSTER_ID for another
// cluster id (top level), INVALID_REQUEST for another partition or bad offsets, FENCED_LEADER_EPOCH
// for a stale epoch, a vote granted at most once per epoch and persisted before the answer.
// No answer (host stopped) closes the connection. Version notes: v1 (KIP-853) adds voter
// directory ids and the leader's endpoints; a static quorum leaves them at their defaults.
import KafkaProtocol
import Quorum

public struct VoteHandler: RequestHandler {
    public typealias Request = VoteRequest
    public static let versions: ClosedRange<Int16> = 0...1

    let quorum: ControllerQuorum

    public init(quorum: ControllerQuorum) { self.quorum = quorum }

    public func handle(_ request: VoteRequest, context: RequestContext) async throws -> VoteResponse? {
        guard case .vote(let response) = try await quorum.serve(.vote(request), context: context) else {
            throw CloseConnection("the quorum answered Vote with another API")
        }
        return response
    }
}
