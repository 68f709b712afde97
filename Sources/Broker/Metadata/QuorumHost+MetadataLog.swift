import NIOCore
import Quorum

/// The quorum's replica of `__cluster_metadata-0` is the broker's metadata log: `propose`,
/// `waitForCommit`, `readCommitted` and `addCommitListener` are the host's own (actor-isolated
/// calls satisfy the async requirements). Its `QuorumHostError.notLeader` is mapped to
/// NOT_CONTROLLER by ``MetadataLogFollower/commit(_:)``.
extension QuorumHost: MetadataLog {
    public nonisolated var committedOffset: Int64 { leadership.highWatermark }
}
