import KafkaProtocol
import LogStorage
import NIOCore

/// The replica's state in its current epoch, after Kafka's `EpochState` classes
/// (`raft/.../QuorumState.java`). Pre-vote (KIP-996, *Prospective*) is not implemented: the
/// Vote v2 `PreVote` field is not in the protocol specs we generate from (Vote 0-1).
public enum EpochState: Equatable, Sendable {
    /// Epoch known, no leader. With `votedId` this is Kafka's older *Voted* state.
    case unattached(Unattached)
    case candidate(Candidate)
    case leader(Leader)
    case follower(Follower)
    /// A leader that is stepping down (check-quorum failed, graceful shutdown, or restarted
    /// after being leader). Never persisted: the file still names this node as the epoch's leader.
    case resigned(Resigned)

    public struct Unattached: Equatable, Sendable {
        public var epoch: Int32
        public var votedId: RaftNodeId?
        /// nil for an observer (it never stands for election).
        public var electionDeadline: Int64?
    }

    public struct Candidate: Equatable, Sendable {
        public var epoch: Int32
        public var granted: Set<RaftNodeId>
        public var rejected: Set<RaftNodeId>
        /// How many elections in a row this node has stood in (for the exponential backoff).
        public var retries: Int
        public var electionDeadline: Int64
        /// Set once the election is lost or timed out: a new election starts then.
        public var backoffUntil: Int64?
    }

    public struct Leader: Equatable, Sendable {
        public var epoch: Int32
        /// Log end offset when elected: the LeaderChangeMessage sits here, and nothing is
        /// committed until an offset above it is on a majority (Raft §5.4.2).
        public var epochStartOffset: Int64
        /// End offsets the voters reported by fetching in this epoch (the leader's own = its LEO).
        public var voterEndOffsets: [RaftNodeId: Int64]
        /// Voters that acknowledged BeginQuorumEpoch or fetched in this epoch.
        public var acknowledged: Set<RaftNodeId>
        public var beginQuorumEpochResendAt: Int64
        /// Voters heard from (fetched) since the check-quorum timer was last reset.
        public var fetchedSinceCheck: Set<RaftNodeId>
        public var checkQuorumDeadline: Int64
        /// True once the high watermark has moved in this epoch (Kafka sends -1 before that).
        public var highWatermarkEstablished: Bool
    }

    public struct Follower: Equatable, Sendable {
        public var epoch: Int32
        public var leaderId: RaftNodeId
        public var votedId: RaftNodeId?
        public var fetchDeadline: Int64
    }

    public struct Resigned: Equatable, Sendable {
        public var epoch: Int32
        public var electionDeadline: Int64
        public var unacknowledged: Set<RaftNodeId>
        public var preferredSuccessors: [RaftNodeId]
    }

    public var epoch: Int32 {
        switch self {
        case .unattached(let s): s.epoch
        case .candidate(let s): s.epoch
        case .leader(let s): s.epoch
        case .follower(let s): s.epoch
        case .resigned(let s): s.epoch
        }
    }

    /// The leader this node knows for its epoch (itself when leader or resigned).
    func leaderId(local: RaftNodeId) -> RaftNodeId? {
        switch self {
        case .unattached, .candidate: nil
        case .leader, .resigned: local
        case .follower(let s): s.leaderId
        }
    }

    public var role: RaftRole {
        switch self {
        case .unattached(let s): s.votedId == nil ? .unattached : .voted
        case .candidate: .candidate
        case .leader: .leader
        case .follower: .follower
        case .resigned: .resigned
        }
    }
}

/// The state names, as Kafka logs them.
public enum RaftRole: String, Sendable, Equatable {
    case unattached = "Unattached", voted = "Voted", candidate = "Candidate", leader = "Leader"
    case follower = "Follower", resigned = "Resigned"
}

/// What the replica asks its driver to do. The driver executes effects **in order** and before
/// handling the next event; that order carries the durability rules (persist before send,
/// append + flush before the next Fetch, flush before the leader counts its own offset).
public enum RaftEffect: Equatable, Sendable {
    /// Write `quorum-state` durably.
    case persistElectionState(ElectionState)
    /// Append batches the leader built (offsets from `expectedBaseOffset`, epoch stamped).
    case appendAsLeader(ByteBuffer, epoch: Int32, expectedBaseOffset: Int64)
    /// Append batches received from the leader, offsets and epochs as they are.
    case appendAsFollower(ByteBuffer)
    /// Cut the log at `offset` (diverging epoch).
    case truncate(to: Int64)
    /// fsync the log.
    case flush
    case send(to: RaftNodeId, RaftMessage)
    /// Send a Fetch response whose records the driver reads from the log: from `readFrom`
    /// (whole batches, up to `maxBytes`), or none when nil.
    case sendFetchResponse(to: RaftNodeId, correlationId: Int32, FetchResponse, readFrom: Int64?, maxBytes: Int)
    /// The high watermark moved: everything below is committed (feed listeners).
    case highWatermark(Int64)
    /// The replica changed state (informational: logs, metrics, listeners).
    case transitioned(from: RaftRole, to: RaftRole, epoch: Int32)
    /// A rule Raft relies on was broken (e.g. asked to truncate below the high watermark);
    /// Kafka throws here and the process dies. The simulation fails the run.
    case fatal(String)
}

