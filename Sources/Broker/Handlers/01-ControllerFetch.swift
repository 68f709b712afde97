// Fetch (key 1) on the controller listener, versions 4-17: the pull replication of
// `__cluster_metadata-0` (Kafka's ControllerApis hands FETCH to the raft manager). The
// broker listeners' Fetch is 01-Fetch.swift.
//
// Behaviour: handed to the Raft replica, whose answer (possibly after parking up to MaxWaitMs
// <= 500 ms until the log or the high watermark moves) is returned on this connection. The
// replica: INCONSISTENT_CLUSTER_ID; INVALID_REQUEST (top level) for any partition other than
// `__cluster_metadata-0` (by topic id from v13, by name before); INVALID_REQUEST for negative
// offsets; FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER with the current
// leader; DivergingEpoch when (FetchOffset, LastFetchedEpoch) is not on the leader's log;
// otherwise records (uncommitted included, up to 8 MiB) and the high watermark.
// Version notes: v15+ carry the replica id in ReplicaState, older ones in ReplicaId; both work.
import KafkaProtocol
import Quorum

public struct ControllerFetchHandler: RequestHandler {
    public typealias Request = FetchRequest
    public static let versions: ClosedRange<Int16> = 4...17

    let quorum: ControllerQuorum

    public init(quorum: ControllerQuorum) { self.quorum = quorum }

    public func handle(_ request: FetchRequest, context: RequestContext) async throws -> FetchResponse? {
        guard case .fetch(let response) = try await quorum.serve(.fetch(request), context: context) else {
            throw CloseConnection("the quorum answered Fetch with another API")
        }
        return response
    }
}
