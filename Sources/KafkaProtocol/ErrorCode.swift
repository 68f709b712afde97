/// A Kafka error code: the int16 every response carries per topic, partition or request.
///
/// A struct rather than an enum so that codes newer than this table survive a decode/encode
/// round trip and can still be compared; `name`, `message` and `isRetriable` fall back to
/// "UNKNOWN_<code>" for them. The static members are Kafka's `Errors` names in lowerCamelCase
/// (`UNKNOWN_TOPIC_OR_PARTITION` -> `.unknownTopicOrPartition`). A value type; `Sendable`.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16

    @inlinable
    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    @inlinable
    public init(_ rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// Kafka's name for the error (`UNKNOWN_TOPIC_OR_PARTITION`), or `UNKNOWN_<code>`.
    public var name: String { ErrorCode.table[rawValue]?.name ?? "UNKNOWN_\(rawValue)" }

    /// Kafka's default message for the error (empty for `.none`).
    public var message: String { ErrorCode.table[rawValue]?.message ?? "Unknown error code \(rawValue)." }

    /// Whether Kafka's client treats the error as retriable (its exception extends
    /// `RetriableException`): the same request may succeed later without any change.
    public var isRetriable: Bool { ErrorCode.table[rawValue]?.retriable ?? false }

    /// Whether this is an error at all (anything but `.none`).
    public var isError: Bool { rawValue != 0 }

    public var description: String { "\(name)(\(rawValue))" }

    /// Every code this table knows, in numeric order.
    public static var allKnown: [ErrorCode] { table.keys.sorted().map(ErrorCode.init(rawValue:)) }
}

extension ErrorCode {
    /// The server experienced an unexpected error when processing the request.
    public static let unknownServerError = ErrorCode(rawValue: -1)
    /// No error.
    public static let none = ErrorCode(rawValue: 0)
    /// The requested offset is not within the range of offsets maintained by the server.
    public static let offsetOutOfRange = ErrorCode(rawValue: 1)
    /// This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.
    public static let corruptMessage = ErrorCode(rawValue: 2)
    /// This server does not host this topic-partition.
    public static let unknownTopicOrPartition = ErrorCode(rawValue: 3)
    /// The requested fetch size is invalid.
    public static let invalidFetchSize = ErrorCode(rawValue: 4)
    /// There is no leader for this topic-partition as we are in the middle of a leadership election.
    public static let leaderNotAvailable = ErrorCode(rawValue: 5)
    /// For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.
    public static let notLeaderOrFollower = ErrorCode(rawValue: 6)
    /// The request timed out.
    public static let requestTimedOut = ErrorCode(rawValue: 7)
    /// The broker is not available.
    public static let brokerNotAvailable = ErrorCode(rawValue: 8)
    /// The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition.
    public static let replicaNotAvailable = ErrorCode(rawValue: 9)
    /// The request included a message larger than the max message size the server will accept.
    public static let messageTooLarge = ErrorCode(rawValue: 10)
    /// The controller moved to another broker.
    public static let staleControllerEpoch = ErrorCode(rawValue: 11)
    /// The metadata field of the offset request was too large.
    public static let offsetMetadataTooLarge = ErrorCode(rawValue: 12)
    /// The server disconnected before a response was received.
    public static let networkException = ErrorCode(rawValue: 13)
    /// The coordinator is loading and hence can't process requests.
    public static let coordinatorLoadInProgress = ErrorCode(rawValue: 14)
    /// The coordinator is not available.
    public static let coordinatorNotAvailable = ErrorCode(rawValue: 15)
    /// This is not the correct coordinator.
    public static let notCoordinator = ErrorCode(rawValue: 16)
    /// The request attempted to perform an operation on an invalid topic.
    public static let invalidTopicException = ErrorCode(rawValue: 17)
    /// The request included message batch larger than the configured segment size on the server.
    public static let recordListTooLarge = ErrorCode(rawValue: 18)
    /// Messages are rejected since there are fewer in-sync replicas than required.
    public static let notEnoughReplicas = ErrorCode(rawValue: 19)
    /// Messages are written to the log, but to fewer in-sync replicas than required.
    public static let notEnoughReplicasAfterAppend = ErrorCode(rawValue: 20)
    /// Produce request specified an invalid value for required acks.
    public static let invalidRequiredAcks = ErrorCode(rawValue: 21)
    /// Specified group generation id is not valid.
    public static let illegalGeneration = ErrorCode(rawValue: 22)
    /// The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.
    public static let inconsistentGroupProtocol = ErrorCode(rawValue: 23)
    /// The configured groupId is invalid.
    public static let invalidGroupId = ErrorCode(rawValue: 24)
    /// The coordinator is not aware of this member.
    public static let unknownMemberId = ErrorCode(rawValue: 25)
    /// The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms).
    public static let invalidSessionTimeout = ErrorCode(rawValue: 26)
    /// The group is rebalancing, so a rejoin is needed.
    public static let rebalanceInProgress = ErrorCode(rawValue: 27)
    /// The committing offset data size is not valid.
    public static let invalidCommitOffsetSize = ErrorCode(rawValue: 28)
    /// Topic authorization failed.
    public static let topicAuthorizationFailed = ErrorCode(rawValue: 29)
    /// Group authorization failed.
    public static let groupAuthorizationFailed = ErrorCode(rawValue: 30)
    /// Cluster authorization failed.
    public static let clusterAuthorizationFailed = ErrorCode(rawValue: 31)
    /// The timestamp of the message is out of acceptable range.
    public static let invalidTimestamp = ErrorCode(rawValue: 32)
    /// The broker does not support the requested SASL mechanism.
    public static let unsupportedSaslMechanism = ErrorCode(rawValue: 33)
    /// Request is not valid given the current SASL state.
    public static let illegalSaslState = ErrorCode(rawValue: 34)
    /// The version of API is not supported.
    public static let unsupportedVersion = ErrorCode(rawValue: 35)
    /// Topic with this name already exists.
    public static let topicAlreadyExists = ErrorCode(rawValue: 36)
    /// Number of partitions is below 1.
    public static let invalidPartitions = ErrorCode(rawValue: 37)
    /// Replication factor is below 1 or larger than the number of available brokers.
    public static let invalidReplicationFactor = ErrorCode(rawValue: 38)
    /// Replica assignment is invalid.
    public static let invalidReplicaAssignment = ErrorCode(rawValue: 39)
    /// Configuration is invalid.
    public static let invalidConfig = ErrorCode(rawValue: 40)
    /// This is not the correct controller for this cluster.
    public static let notController = ErrorCode(rawValue: 41)
    /// This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.
    public static let invalidRequest = ErrorCode(rawValue: 42)
    /// The message format version on the broker does not support the request.
    public static let unsupportedForMessageFormat = ErrorCode(rawValue: 43)
    /// Request parameters do not satisfy the configured policy.
    public static let policyViolation = ErrorCode(rawValue: 44)
    /// The broker received an out of order sequence number.
    public static let outOfOrderSequenceNumber = ErrorCode(rawValue: 45)
    /// The broker received a duplicate sequence number.
    public static let duplicateSequenceNumber = ErrorCode(rawValue: 46)
    /// Producer attempted to produce with an old epoch.
    public static let invalidProducerEpoch = ErrorCode(rawValue: 47)
    /// The producer attempted a transactional operation in an invalid state.
    public static let invalidTxnState = ErrorCode(rawValue: 48)
    /// The producer attempted to use a producer id which is not currently assigned to its transactional id.
    public static let invalidProducerIdMapping = ErrorCode(rawValue: 49)
    /// The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms).
    public static let invalidTransactionTimeout = ErrorCode(rawValue: 50)
    /// The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing.
    public static let concurrentTransactions = ErrorCode(rawValue: 51)
    /// Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer.
    public static let transactionCoordinatorFenced = ErrorCode(rawValue: 52)
    /// Transactional Id authorization failed.
    public static let transactionalIdAuthorizationFailed = ErrorCode(rawValue: 53)
    /// Security features are disabled.
    public static let securityDisabled = ErrorCode(rawValue: 54)
    /// The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest.
    public static let operationNotAttempted = ErrorCode(rawValue: 55)
    /// Disk error when trying to access log file on the disk.
    public static let kafkaStorageError = ErrorCode(rawValue: 56)
    /// The user-specified log directory is not found in the broker config.
    public static let logDirNotFound = ErrorCode(rawValue: 57)
    /// SASL Authentication failed.
    public static let saslAuthenticationFailed = ErrorCode(rawValue: 58)
    /// This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception.
    public static let unknownProducerId = ErrorCode(rawValue: 59)
    /// A partition reassignment is in progress.
    public static let reassignmentInProgress = ErrorCode(rawValue: 60)
    /// Delegation Token feature is not enabled.
    public static let delegationTokenAuthDisabled = ErrorCode(rawValue: 61)
    /// Delegation Token is not found on server.
    public static let delegationTokenNotFound = ErrorCode(rawValue: 62)
    /// Specified Principal is not valid Owner/Renewer.
    public static let delegationTokenOwnerMismatch = ErrorCode(rawValue: 63)
    /// Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels.
    public static let delegationTokenRequestNotAllowed = ErrorCode(rawValue: 64)
    /// Delegation Token authorization failed.
    public static let delegationTokenAuthorizationFailed = ErrorCode(rawValue: 65)
    /// Delegation Token is expired.
    public static let delegationTokenExpired = ErrorCode(rawValue: 66)
    /// Supplied principalType is not supported.
    public static let invalidPrincipalType = ErrorCode(rawValue: 67)
    /// The group is not empty.
    public static let nonEmptyGroup = ErrorCode(rawValue: 68)
    /// The group id does not exist.
    public static let groupIdNotFound = ErrorCode(rawValue: 69)
    /// The fetch session ID was not found.
    public static let fetchSessionIdNotFound = ErrorCode(rawValue: 70)
    /// The fetch session epoch is invalid.
    public static let invalidFetchSessionEpoch = ErrorCode(rawValue: 71)
    /// There is no listener on the leader broker that matches the listener on which metadata request was processed.
    public static let listenerNotFound = ErrorCode(rawValue: 72)
    /// Topic deletion is disabled.
    public static let topicDeletionDisabled = ErrorCode(rawValue: 73)
    /// The leader epoch in the request is older than the epoch on the broker.
    public static let fencedLeaderEpoch = ErrorCode(rawValue: 74)
    /// The leader epoch in the request is newer than the epoch on the broker.
    public static let unknownLeaderEpoch = ErrorCode(rawValue: 75)
    /// The requesting client does not support the compression type of given partition.
    public static let unsupportedCompressionType = ErrorCode(rawValue: 76)
    /// Broker epoch has changed.
    public static let staleBrokerEpoch = ErrorCode(rawValue: 77)
    /// The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing.
    public static let offsetNotAvailable = ErrorCode(rawValue: 78)
    /// The group member needs to have a valid member id before actually entering a consumer group.
    public static let memberIdRequired = ErrorCode(rawValue: 79)
    /// The preferred leader was not available.
    public static let preferredLeaderNotAvailable = ErrorCode(rawValue: 80)
    /// The consumer group has reached its max size.
    public static let groupMaxSizeReached = ErrorCode(rawValue: 81)
    /// The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.
    public static let fencedInstanceId = ErrorCode(rawValue: 82)
    /// Eligible topic partition leaders are not available.
    public static let eligibleLeadersNotAvailable = ErrorCode(rawValue: 83)
    /// Leader election not needed for topic partition.
    public static let electionNotNeeded = ErrorCode(rawValue: 84)
    /// No partition reassignment is in progress.
    public static let noReassignmentInProgress = ErrorCode(rawValue: 85)
    /// Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.
    public static let groupSubscribedToTopic = ErrorCode(rawValue: 86)
    /// This record has failed the validation on broker and hence will be rejected.
    public static let invalidRecord = ErrorCode(rawValue: 87)
    /// There are unstable offsets that need to be cleared.
    public static let unstableOffsetCommit = ErrorCode(rawValue: 88)
    /// The throttling quota has been exceeded.
    public static let throttlingQuotaExceeded = ErrorCode(rawValue: 89)
    /// There is a newer producer with the same transactionalId which fences the current one.
    public static let producerFenced = ErrorCode(rawValue: 90)
    /// A request illegally referred to a resource that does not exist.
    public static let resourceNotFound = ErrorCode(rawValue: 91)
    /// A request illegally referred to the same resource twice.
    public static let duplicateResource = ErrorCode(rawValue: 92)
    /// Requested credential would not meet criteria for acceptability.
    public static let unacceptableCredential = ErrorCode(rawValue: 93)
    /// Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters.
    public static let inconsistentVoterSet = ErrorCode(rawValue: 94)
    /// The given update version was invalid.
    public static let invalidUpdateVersion = ErrorCode(rawValue: 95)
    /// Unable to update finalized features due to an unexpected server error.
    public static let featureUpdateFailed = ErrorCode(rawValue: 96)
    /// Request principal deserialization failed during forwarding. This indicates an internal error on the broker cluster security setup.
    public static let principalDeserializationFailure = ErrorCode(rawValue: 97)
    /// Requested snapshot was not found.
    public static let snapshotNotFound = ErrorCode(rawValue: 98)
    /// Requested position is not greater than or equal to zero, and less than the size of the snapshot.
    public static let positionOutOfRange = ErrorCode(rawValue: 99)
    /// This server does not host this topic ID.
    public static let unknownTopicId = ErrorCode(rawValue: 100)
    /// This broker ID is already in use.
    public static let duplicateBrokerRegistration = ErrorCode(rawValue: 101)
    /// The given broker ID was not registered.
    public static let brokerIdNotRegistered = ErrorCode(rawValue: 102)
    /// The log's topic ID did not match the topic ID in the request.
    public static let inconsistentTopicId = ErrorCode(rawValue: 103)
    /// The clusterId in the request does not match that found on the server.
    public static let inconsistentClusterId = ErrorCode(rawValue: 104)
    /// The transactionalId could not be found.
    public static let transactionalIdNotFound = ErrorCode(rawValue: 105)
    /// The fetch session encountered inconsistent topic ID usage.
    public static let fetchSessionTopicIdError = ErrorCode(rawValue: 106)
    /// The new ISR contains at least one ineligible replica.
    public static let ineligibleReplica = ErrorCode(rawValue: 107)
    /// The AlterPartition request successfully updated the partition state but the leader has changed.
    public static let newLeaderElected = ErrorCode(rawValue: 108)
    /// The requested offset is moved to tiered storage.
    public static let offsetMovedToTieredStorage = ErrorCode(rawValue: 109)
    /// The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin.
    public static let fencedMemberEpoch = ErrorCode(rawValue: 110)
    /// The instance ID is still used by another member in the consumer group. That member must leave first.
    public static let unreleasedInstanceId = ErrorCode(rawValue: 111)
    /// The assignor or its version range is not supported by the consumer group.
    public static let unsupportedAssignor = ErrorCode(rawValue: 112)
    /// The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API.
    public static let staleMemberEpoch = ErrorCode(rawValue: 113)
    /// The request was sent to an endpoint of the wrong type.
    public static let mismatchedEndpointType = ErrorCode(rawValue: 114)
    /// This endpoint type is not supported yet.
    public static let unsupportedEndpointType = ErrorCode(rawValue: 115)
    /// This controller ID is not known.
    public static let unknownControllerId = ErrorCode(rawValue: 116)
    /// Client sent a push telemetry request with an invalid or outdated subscription ID.
    public static let unknownSubscriptionId = ErrorCode(rawValue: 117)
    /// Client sent a push telemetry request larger than the maximum size the broker will accept.
    public static let telemetryTooLarge = ErrorCode(rawValue: 118)
    /// The controller has considered the broker registration to be invalid.
    public static let invalidRegistration = ErrorCode(rawValue: 119)
    /// The server encountered an error with the transaction. The client can abort the transaction to continue using this transactional ID.
    public static let transactionAbortable = ErrorCode(rawValue: 120)
    /// The record state is invalid. The acknowledgement of delivery could not be completed.
    public static let invalidRecordState = ErrorCode(rawValue: 121)
    /// The share session was not found.
    public static let shareSessionNotFound = ErrorCode(rawValue: 122)
    /// The share session epoch is invalid.
    public static let invalidShareSessionEpoch = ErrorCode(rawValue: 123)
    /// The share coordinator rejected the request because the share-group state epoch did not match.
    public static let fencedStateEpoch = ErrorCode(rawValue: 124)
    /// The voter key doesn't match the receiving replica's key.
    public static let invalidVoterKey = ErrorCode(rawValue: 125)
    /// The voter is already part of the set of voters.
    public static let duplicateVoter = ErrorCode(rawValue: 126)
    /// The voter is not part of the set of voters.
    public static let voterNotFound = ErrorCode(rawValue: 127)
    /// The regular expression is not valid.
    public static let invalidRegularExpression = ErrorCode(rawValue: 128)
    /// Client metadata is stale, client should rebootstrap to obtain new metadata.
    public static let rebootstrapRequired = ErrorCode(rawValue: 129)
}

extension ErrorCode {
    @usableFromInline
    struct Entry: Sendable {
        let name: String
        let message: String
        let retriable: Bool
    }

    /// Kafka's `Errors` table: code, name, default message, retriable.
    @usableFromInline
    static let table: [Int16: Entry] = [
        -1: Entry(name: "UNKNOWN_SERVER_ERROR", message: "The server experienced an unexpected error when processing the request.", retriable: false),
        0: Entry(name: "NONE", message: "", retriable: false),
        1: Entry(name: "OFFSET_OUT_OF_RANGE", message: "The requested offset is not within the range of offsets maintained by the server.", retriable: false),
        2: Entry(name: "CORRUPT_MESSAGE", message: "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.", retriable: true),
        3: Entry(name: "UNKNOWN_TOPIC_OR_PARTITION", message: "This server does not host this topic-partition.", retriable: true),
        4: Entry(name: "INVALID_FETCH_SIZE", message: "The requested fetch size is invalid.", retriable: false),
        5: Entry(name: "LEADER_NOT_AVAILABLE", message: "There is no leader for this topic-partition as we are in the middle of a leadership election.", retriable: true),
        6: Entry(name: "NOT_LEADER_OR_FOLLOWER", message: "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.", retriable: true),
        7: Entry(name: "REQUEST_TIMED_OUT", message: "The request timed out.", retriable: true),
        8: Entry(name: "BROKER_NOT_AVAILABLE", message: "The broker is not available.", retriable: false),
        9: Entry(name: "REPLICA_NOT_AVAILABLE", message: "The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition.", retriable: true),
        10: Entry(name: "MESSAGE_TOO_LARGE", message: "The request included a message larger than the max message size the server will accept.", retriable: false),
        11: Entry(name: "STALE_CONTROLLER_EPOCH", message: "The controller moved to another broker.", retriable: false),
        12: Entry(name: "OFFSET_METADATA_TOO_LARGE", message: "The metadata field of the offset request was too large.", retriable: false),
        13: Entry(name: "NETWORK_EXCEPTION", message: "The server disconnected before a response was received.", retriable: true),
        14: Entry(name: "COORDINATOR_LOAD_IN_PROGRESS", message: "The coordinator is loading and hence can't process requests.", retriable: true),
        15: Entry(name: "COORDINATOR_NOT_AVAILABLE", message: "The coordinator is not available.", retriable: true),
        16: Entry(name: "NOT_COORDINATOR", message: "This is not the correct coordinator.", retriable: true),
        17: Entry(name: "INVALID_TOPIC_EXCEPTION", message: "The request attempted to perform an operation on an invalid topic.", retriable: false),
        18: Entry(name: "RECORD_LIST_TOO_LARGE", message: "The request included message batch larger than the configured segment size on the server.", retriable: false),
        19: Entry(name: "NOT_ENOUGH_REPLICAS", message: "Messages are rejected since there are fewer in-sync replicas than required.", retriable: true),
        20: Entry(name: "NOT_ENOUGH_REPLICAS_AFTER_APPEND", message: "Messages are written to the log, but to fewer in-sync replicas than required.", retriable: true),
        21: Entry(name: "INVALID_REQUIRED_ACKS", message: "Produce request specified an invalid value for required acks.", retriable: false),
        22: Entry(name: "ILLEGAL_GENERATION", message: "Specified group generation id is not valid.", retriable: false),
        23: Entry(name: "INCONSISTENT_GROUP_PROTOCOL", message: "The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.", retriable: false),
        24: Entry(name: "INVALID_GROUP_ID", message: "The configured groupId is invalid.", retriable: false),
        25: Entry(name: "UNKNOWN_MEMBER_ID", message: "The coordinator is not aware of this member.", retriable: false),
        26: Entry(name: "INVALID_SESSION_TIMEOUT", message: "The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms).", retriable: false),
        27: Entry(name: "REBALANCE_IN_PROGRESS", message: "The group is rebalancing, so a rejoin is needed.", retriable: false),
        28: Entry(name: "INVALID_COMMIT_OFFSET_SIZE", message: "The committing offset data size is not valid.", retriable: false),
        29: Entry(name: "TOPIC_AUTHORIZATION_FAILED", message: "Topic authorization failed.", retriable: false),
        30: Entry(name: "GROUP_AUTHORIZATION_FAILED", message: "Group authorization failed.", retriable: false),
        31: Entry(name: "CLUSTER_AUTHORIZATION_FAILED", message: "Cluster authorization failed.", retriable: false),
        32: Entry(name: "INVALID_TIMESTAMP", message: "The timestamp of the message is out of acceptable range.", retriable: false),
        33: Entry(name: "UNSUPPORTED_SASL_MECHANISM", message: "The broker does not support the requested SASL mechanism.", retriable: false),
        34: Entry(name: "ILLEGAL_SASL_STATE", message: "Request is not valid given the current SASL state.", retriable: false),
        35: Entry(name: "UNSUPPORTED_VERSION", message: "The version of API is not supported.", retriable: false),
        36: Entry(name: "TOPIC_ALREADY_EXISTS", message: "Topic with this name already exists.", retriable: false),
        37: Entry(name: "INVALID_PARTITIONS", message: "Number of partitions is below 1.", retriable: false),
        38: Entry(name: "INVALID_REPLICATION_FACTOR", message: "Replication factor is below 1 or larger than the number of available brokers.", retriable: false),
        39: Entry(name: "INVALID_REPLICA_ASSIGNMENT", message: "Replica assignment is invalid.", retriable: false),
        40: Entry(name: "INVALID_CONFIG", message: "Configuration is invalid.", retriable: false),
        41: Entry(name: "NOT_CONTROLLER", message: "This is not the correct controller for this cluster.", retriable: true),
        42: Entry(name: "INVALID_REQUEST", message: "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.", retriable: false),
        43: Entry(name: "UNSUPPORTED_FOR_MESSAGE_FORMAT", message: "The message format version on the broker does not support the request.", retriable: false),
        44: Entry(name: "POLICY_VIOLATION", message: "Request parameters do not satisfy the configured policy.", retriable: false),
        45: Entry(name: "OUT_OF_ORDER_SEQUENCE_NUMBER", message: "The broker received an out of order sequence number.", retriable: false),
        46: Entry(name: "DUPLICATE_SEQUENCE_NUMBER", message: "The broker received a duplicate sequence number.", retriable: false),
        47: Entry(name: "INVALID_PRODUCER_EPOCH", message: "Producer attempted to produce with an old epoch.", retriable: false),
        48: Entry(name: "INVALID_TXN_STATE", message: "The producer attempted a transactional operation in an invalid state.", retriable: false),
        49: Entry(name: "INVALID_PRODUCER_ID_MAPPING", message: "The producer attempted to use a producer id which is not currently assigned to its transactional id.", retriable: false),
        50: Entry(name: "INVALID_TRANSACTION_TIMEOUT", message: "The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms).", retriable: false),
        51: Entry(name: "CONCURRENT_TRANSACTIONS", message: "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing.", retriable: true),
        52: Entry(name: "TRANSACTION_COORDINATOR_FENCED", message: "Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer.", retriable: false),
        53: Entry(name: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", message: "Transactional Id authorization failed.", retriable: false),
        54: Entry(name: "SECURITY_DISABLED", message: "Security features are disabled.", retriable: false),
        55: Entry(name: "OPERATION_NOT_ATTEMPTED", message: "The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest.", retriable: false),
        56: Entry(name: "KAFKA_STORAGE_ERROR", message: "Disk error when trying to access log file on the disk.", retriable: true),
        57: Entry(name: "LOG_DIR_NOT_FOUND", message: "The user-specified log directory is not found in the broker config.", retriable: false),
        58: Entry(name: "SASL_AUTHENTICATION_FAILED", message: "SASL Authentication failed.", retriable: false),
        59: Entry(name: "UNKNOWN_PRODUCER_ID", message: "This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception.", retriable: false),
        60: Entry(name: "REASSIGNMENT_IN_PROGRESS", message: "A partition reassignment is in progress.", retriable: false),
        61: Entry(name: "DELEGATION_TOKEN_AUTH_DISABLED", message: "Delegation Token feature is not enabled.", retriable: false),
        62: Entry(name: "DELEGATION_TOKEN_NOT_FOUND", message: "Delegation Token is not found on server.", retriable: false),
        63: Entry(name: "DELEGATION_TOKEN_OWNER_MISMATCH", message: "Specified Principal is not valid Owner/Renewer.", retriable: false),
        64: Entry(name: "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", message: "Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels.", retriable: false),
        65: Entry(name: "DELEGATION_TOKEN_AUTHORIZATION_FAILED", message: "Delegation Token authorization failed.", retriable: false),
        66: Entry(name: "DELEGATION_TOKEN_EXPIRED", message: "Delegation Token is expired.", retriable: false),
        67: Entry(name: "INVALID_PRINCIPAL_TYPE", message: "Supplied principalType is not supported.", retriable: false),
        68: Entry(name: "NON_EMPTY_GROUP", message: "The group is not empty.", retriable: false),
        69: Entry(name: "GROUP_ID_NOT_FOUND", message: "The group id does not exist.", retriable: false),
        70: Entry(name: "FETCH_SESSION_ID_NOT_FOUND", message: "The fetch session ID was not found.", retriable: true),
        71: Entry(name: "INVALID_FETCH_SESSION_EPOCH", message: "The fetch session epoch is invalid.", retriable: true),
        72: Entry(name: "LISTENER_NOT_FOUND", message: "There is no listener on the leader broker that matches the listener on which metadata request was processed.", retriable: true),
        73: Entry(name: "TOPIC_DELETION_DISABLED", message: "Topic deletion is disabled.", retriable: false),
        74: Entry(name: "FENCED_LEADER_EPOCH", message: "The leader epoch in the request is older than the epoch on the broker.", retriable: true),
        75: Entry(name: "UNKNOWN_LEADER_EPOCH", message: "The leader epoch in the request is newer than the epoch on the broker.", retriable: true),
        76: Entry(name: "UNSUPPORTED_COMPRESSION_TYPE", message: "The requesting client does not support the compression type of given partition.", retriable: false),
        77: Entry(name: "STALE_BROKER_EPOCH", message: "Broker epoch has changed.", retriable: false),
        78: Entry(name: "OFFSET_NOT_AVAILABLE", message: "The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing.", retriable: true),
        79: Entry(name: "MEMBER_ID_REQUIRED", message: "The group member needs to have a valid member id before actually entering a consumer group.", retriable: false),
        80: Entry(name: "PREFERRED_LEADER_NOT_AVAILABLE", message: "The preferred leader was not available.", retriable: true),
        81: Entry(name: "GROUP_MAX_SIZE_REACHED", message: "The consumer group has reached its max size.", retriable: false),
        82: Entry(name: "FENCED_INSTANCE_ID", message: "The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.", retriable: false),
        83: Entry(name: "ELIGIBLE_LEADERS_NOT_AVAILABLE", message: "Eligible topic partition leaders are not available.", retriable: true),
        84: Entry(name: "ELECTION_NOT_NEEDED", message: "Leader election not needed for topic partition.", retriable: true),
        85: Entry(name: "NO_REASSIGNMENT_IN_PROGRESS", message: "No partition reassignment is in progress.", retriable: false),
        86: Entry(name: "GROUP_SUBSCRIBED_TO_TOPIC", message: "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.", retriable: false),
        87: Entry(name: "INVALID_RECORD", message: "This record has failed the validation on broker and hence will be rejected.", retriable: false),
        88: Entry(name: "UNSTABLE_OFFSET_COMMIT", message: "There are unstable offsets that need to be cleared.", retriable: true),
        89: Entry(name: "THROTTLING_QUOTA_EXCEEDED", message: "The throttling quota has been exceeded.", retriable: true),
        90: Entry(name: "PRODUCER_FENCED", message: "There is a newer producer with the same transactionalId which fences the current one.", retriable: false),
        91: Entry(name: "RESOURCE_NOT_FOUND", message: "A request illegally referred to a resource that does not exist.", retriable: false),
        92: Entry(name: "DUPLICATE_RESOURCE", message: "A request illegally referred to the same resource twice.", retriable: false),
        93: Entry(name: "UNACCEPTABLE_CREDENTIAL", message: "Requested credential would not meet criteria for acceptability.", retriable: false),
        94: Entry(name: "INCONSISTENT_VOTER_SET", message: "Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters.", retriable: false),
        95: Entry(name: "INVALID_UPDATE_VERSION", message: "The given update version was invalid.", retriable: false),
        96: Entry(name: "FEATURE_UPDATE_FAILED", message: "Unable to update finalized features due to an unexpected server error.", retriable: false),
        97: Entry(name: "PRINCIPAL_DESERIALIZATION_FAILURE", message: "Request principal deserialization failed during forwarding. This indicates an internal error on the broker cluster security setup.", retriable: false),
        98: Entry(name: "SNAPSHOT_NOT_FOUND", message: "Requested snapshot was not found.", retriable: false),
        99: Entry(name: "POSITION_OUT_OF_RANGE", message: "Requested position is not greater than or equal to zero, and less than the size of the snapshot.", retriable: false),
        100: Entry(name: "UNKNOWN_TOPIC_ID", message: "This server does not host this topic ID.", retriable: true),
        101: Entry(name: "DUPLICATE_BROKER_REGISTRATION", message: "This broker ID is already in use.", retriable: false),
        102: Entry(name: "BROKER_ID_NOT_REGISTERED", message: "The given broker ID was not registered.", retriable: false),
        103: Entry(name: "INCONSISTENT_TOPIC_ID", message: "The log's topic ID did not match the topic ID in the request.", retriable: true),
        104: Entry(name: "INCONSISTENT_CLUSTER_ID", message: "The clusterId in the request does not match that found on the server.", retriable: false),
        105: Entry(name: "TRANSACTIONAL_ID_NOT_FOUND", message: "The transactionalId could not be found.", retriable: false),
        106: Entry(name: "FETCH_SESSION_TOPIC_ID_ERROR", message: "The fetch session encountered inconsistent topic ID usage.", retriable: true),
        107: Entry(name: "INELIGIBLE_REPLICA", message: "The new ISR contains at least one ineligible replica.", retriable: false),
        108: Entry(name: "NEW_LEADER_ELECTED", message: "The AlterPartition request successfully updated the partition state but the leader has changed.", retriable: false),
        109: Entry(name: "OFFSET_MOVED_TO_TIERED_STORAGE", message: "The requested offset is moved to tiered storage.", retriable: false),
        110: Entry(name: "FENCED_MEMBER_EPOCH", message: "The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin.", retriable: false),
        111: Entry(name: "UNRELEASED_INSTANCE_ID", message: "The instance ID is still used by another member in the consumer group. That member must leave first.", retriable: false),
        112: Entry(name: "UNSUPPORTED_ASSIGNOR", message: "The assignor or its version range is not supported by the consumer group.", retriable: false),
        113: Entry(name: "STALE_MEMBER_EPOCH", message: "The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API.", retriable: false),
        114: Entry(name: "MISMATCHED_ENDPOINT_TYPE", message: "The request was sent to an endpoint of the wrong type.", retriable: false),
        115: Entry(name: "UNSUPPORTED_ENDPOINT_TYPE", message: "This endpoint type is not supported yet.", retriable: false),
        116: Entry(name: "UNKNOWN_CONTROLLER_ID", message: "This controller ID is not known.", retriable: false),
        117: Entry(name: "UNKNOWN_SUBSCRIPTION_ID", message: "Client sent a push telemetry request with an invalid or outdated subscription ID.", retriable: false),
        118: Entry(name: "TELEMETRY_TOO_LARGE", message: "Client sent a push telemetry request larger than the maximum size the broker will accept.", retriable: false),
        119: Entry(name: "INVALID_REGISTRATION", message: "The controller has considered the broker registration to be invalid.", retriable: false),
        120: Entry(name: "TRANSACTION_ABORTABLE", message: "The server encountered an error with the transaction. The client can abort the transaction to continue using this transactional ID.", retriable: false),
        121: Entry(name: "INVALID_RECORD_STATE", message: "The record state is invalid. The acknowledgement of delivery could not be completed.", retriable: false),
        122: Entry(name: "SHARE_SESSION_NOT_FOUND", message: "The share session was not found.", retriable: true),
        123: Entry(name: "INVALID_SHARE_SESSION_EPOCH", message: "The share session epoch is invalid.", retriable: true),
        124: Entry(name: "FENCED_STATE_EPOCH", message: "The share coordinator rejected the request because the share-group state epoch did not match.", retriable: false),
        125: Entry(name: "INVALID_VOTER_KEY", message: "The voter key doesn't match the receiving replica's key.", retriable: false),
        126: Entry(name: "DUPLICATE_VOTER", message: "The voter is already part of the set of voters.", retriable: false),
        127: Entry(name: "VOTER_NOT_FOUND", message: "The voter is not part of the set of voters.", retriable: false),
        128: Entry(name: "INVALID_REGULAR_EXPRESSION", message: "The regular expression is not valid.", retriable: false),
        129: Entry(name: "REBOOTSTRAP_REQUIRED", message: "Client metadata is stale, client should rebootstrap to obtain new metadata.", retriable: false),
    ]
}
