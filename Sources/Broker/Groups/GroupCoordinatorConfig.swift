/// The group coordinator's settings, named after Kafka's broker config keys.
///
/// A value type, `Sendable`; broker-core fills it from server.properties.
public struct GroupCoordinatorConfig: Sendable, Equatable {
    /// `group.min.session.timeout.ms`: a JoinGroup below it gets INVALID_SESSION_TIMEOUT.
    public var groupMinSessionTimeoutMs: Int32 = 6_000
    /// `group.max.session.timeout.ms`: a JoinGroup above it gets INVALID_SESSION_TIMEOUT.
    public var groupMaxSessionTimeoutMs: Int32 = 1_800_000
    /// `group.initial.rebalance.delay.ms`: how long a new group waits for more members before
    /// the first generation, extended (up to the rebalance timeout) while members keep arriving.
    public var groupInitialRebalanceDelayMs: Int32 = 3_000
    /// `group.max.size`: members beyond this get GROUP_MAX_SIZE_REACHED.
    public var groupMaxSize: Int32 = Int32.max
    /// Kafka's `CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS`: a member that joined but never got
    /// its first JoinGroup response is dropped after this long.
    public var newMemberJoinTimeoutMs: Int32 = 300_000
    /// `offset.metadata.max.bytes`: a commit whose metadata string is longer (in UTF-8 bytes)
    /// gets OFFSET_METADATA_TOO_LARGE.
    public var offsetMetadataMaxBytes: Int = 4_096
    /// `offsets.retention.minutes`, in milliseconds: how long the offsets of a group stay after
    /// the group became empty (or, for a commit with an explicit retention time, after that).
    public var offsetsRetentionMs: Int64 = 7 * 24 * 60 * 60 * 1_000
    /// `offsets.retention.check.interval.ms`: how often expired offsets are removed.
    public var offsetsRetentionCheckIntervalMs: Int64 = 600_000

    public init() {}

    public init(groupMinSessionTimeoutMs: Int32 = 6_000, groupMaxSessionTimeoutMs: Int32 = 1_800_000,
                groupInitialRebalanceDelayMs: Int32 = 3_000, groupMaxSize: Int32 = Int32.max,
                newMemberJoinTimeoutMs: Int32 = 300_000, offsetMetadataMaxBytes: Int = 4_096,
                offsetsRetentionMs: Int64 = 7 * 24 * 60 * 60 * 1_000,
                offsetsRetentionCheckIntervalMs: Int64 = 600_000) {
        self.groupMinSessionTimeoutMs = groupMinSessionTimeoutMs
        self.groupMaxSessionTimeoutMs = groupMaxSessionTimeoutMs
        self.groupInitialRebalanceDelayMs = groupInitialRebalanceDelayMs
        self.groupMaxSize = groupMaxSize
        self.newMemberJoinTimeoutMs = newMemberJoinTimeoutMs
        self.offsetMetadataMaxBytes = offsetMetadataMaxBytes
        self.offsetsRetentionMs = offsetsRetentionMs
        self.offsetsRetentionCheckIntervalMs = offsetsRetentionCheckIntervalMs
    }
}
