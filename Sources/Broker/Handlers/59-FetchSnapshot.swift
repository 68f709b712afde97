// FetchSnapshot (key 59), versions 0-1, controller listener only (Kafka's ControllerApis).
//
// Behaviour (Kafka's KafkaRaftClient.handleFetchSnapshotRequest, via QuorumHost.fetchSnapshot
// and SnapshotTransfer.answer): INCONSISTENT_CLUSTER_ID and INVALID_REQUEST at the top level;
// UNKNOWN_TOPIC_OR_PARTITION for any partition but `__cluster_metadata-0`; FENCED_LEADER_EPOCH /
// UNKNOWN_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER (with the current leader) unless this node leads
// the epoch named; BROKER_NOT_AVAILABLE while shutting down; SNAPSHOT_NOT_FOUND when no
// `%020d-%010d.checkpoint` file has that id; POSITION_OUT_OF_RANGE unless 0 <= Position < size;
// otherwise up to MaxBytes bytes of the file from Position ("unaligned records") and its size.
// Version notes: v1 (KIP-853) adds ReplicaDirectoryId and the leader's endpoints (tagged);
// a static quorum sends neither.
import KafkaProtocol
import Quorum

public struct FetchSnapshotHandler: RequestHandler {
    public typealias Request = FetchSnapshotRequest
    public static let versions: ClosedRange<Int16> = 0...1

    let quorum: ControllerQuorum

    public init(quorum: ControllerQuorum) { self.quorum = quorum }

    public func handle(_ request: FetchSnapshotRequest, context: RequestContext) async throws -> FetchSnapshotResponse? {
        await quorum.host.fetchSnapshot(request)
    }
}
