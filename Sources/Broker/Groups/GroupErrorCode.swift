/// The Kafka error codes the group coordinator produces, with Kafka's numeric values.
///
/// The coordinator's value types speak in this closed set instead of the protocol module's
/// open `ErrorCode` so that a `switch` over a coordinator result is exhaustive; handlers
/// convert with `ErrorCode(rawValue:)` at the wire boundary.
public enum GroupErrorCode: Int16, Sendable, Equatable, CaseIterable {
    case none = 0
    case unknownServerError = -1
    case offsetMetadataTooLarge = 12
    case coordinatorLoadInProgress = 14
    case coordinatorNotAvailable = 15
    case notCoordinator = 16
    case unknownTopicOrPartition = 3
    case illegalGeneration = 22
    case inconsistentGroupProtocol = 23
    case invalidGroupId = 24
    case unknownMemberId = 25
    case invalidSessionTimeout = 26
    case rebalanceInProgress = 27
    case invalidCommitOffsetSize = 28
    case invalidRequest = 42
    case nonEmptyGroup = 68
    case groupIdNotFound = 69
    case memberIdRequired = 79
    case fencedInstanceId = 82
    case groupSubscribedToTopic = 86
    case groupMaxSizeReached = 81
    case unstableOffsetCommit = 88
    case topicAuthorizationFailed = 29

    /// Kafka's upper-case name, for logs.
    public var name: String {
        switch self {
        case .none: "NONE"
        case .unknownServerError: "UNKNOWN_SERVER_ERROR"
        case .offsetMetadataTooLarge: "OFFSET_METADATA_TOO_LARGE"
        case .coordinatorLoadInProgress: "COORDINATOR_LOAD_IN_PROGRESS"
        case .coordinatorNotAvailable: "COORDINATOR_NOT_AVAILABLE"
        case .notCoordinator: "NOT_COORDINATOR"
        case .unknownTopicOrPartition: "UNKNOWN_TOPIC_OR_PARTITION"
        case .illegalGeneration: "ILLEGAL_GENERATION"
        case .inconsistentGroupProtocol: "INCONSISTENT_GROUP_PROTOCOL"
        case .invalidGroupId: "INVALID_GROUP_ID"
        case .unknownMemberId: "UNKNOWN_MEMBER_ID"
        case .invalidSessionTimeout: "INVALID_SESSION_TIMEOUT"
        case .rebalanceInProgress: "REBALANCE_IN_PROGRESS"
        case .invalidCommitOffsetSize: "INVALID_COMMIT_OFFSET_SIZE"
        case .invalidRequest: "INVALID_REQUEST"
        case .nonEmptyGroup: "NON_EMPTY_GROUP"
        case .groupIdNotFound: "GROUP_ID_NOT_FOUND"
        case .memberIdRequired: "MEMBER_ID_REQUIRED"
        case .fencedInstanceId: "FENCED_INSTANCE_ID"
        case .groupSubscribedToTopic: "GROUP_SUBSCRIBED_TO_TOPIC"
        case .groupMaxSizeReached: "GROUP_MAX_SIZE_REACHED"
        case .unstableOffsetCommit: "UNSTABLE_OFFSET_COMMIT"
        case .topicAuthorizationFailed: "TOPIC_AUTHORIZATION_FAILED"
        }
    }
}
