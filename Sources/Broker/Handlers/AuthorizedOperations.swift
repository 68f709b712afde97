/// The `*AuthorizedOperations` bit sets of Metadata (v8+), DescribeCluster and DescribeGroups
/// (v3+), computed as Kafka computes them (`AuthHelper.authorizedOperations`): bit n is set for
/// AclOperation code n. With no authorizer (Samsa has none) Kafka reports every operation
/// `AclEntry.supportedOperations` lists for the resource type, so these are those sets.
/// A response field left at `notRequested` (INT32_MIN, the schema default) tells the client
/// the operations were not asked for.
public enum AuthorizedOperations {
    /// Kafka's `AclOperation` codes (`org.apache.kafka.common.acl.AclOperation`).
    public enum Operation: Int8, CaseIterable, Sendable {
        case read = 3, write = 4, create = 5, delete = 6, alter = 7, describe = 8, clusterAction = 9,
             describeConfigs = 10, alterConfigs = 11, idempotentWrite = 12, createTokens = 13, describeTokens = 14
    }

    /// The schema default: operations were not requested.
    public static let notRequested = Int32.min

    /// TOPIC: READ, WRITE, CREATE, DESCRIBE, DELETE, ALTER, DESCRIBE_CONFIGS, ALTER_CONFIGS.
    public static let topic = bits([.read, .write, .create, .describe, .delete, .alter, .describeConfigs, .alterConfigs])
    /// CLUSTER: CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE.
    public static let cluster = bits([.create, .clusterAction, .describeConfigs, .alterConfigs, .idempotentWrite, .alter, .describe])
    /// GROUP (Kafka 4.x, which added the group configs of KIP-848): READ, DESCRIBE, DELETE,
    /// DESCRIBE_CONFIGS, ALTER_CONFIGS.
    public static let group = bits([.read, .describe, .delete, .describeConfigs, .alterConfigs])

    /// Kafka's `Utils.to32BitField`.
    public static func bits(_ operations: [Operation]) -> Int32 {
        operations.reduce(0) { $0 | (Int32(1) << Int32($1.rawValue)) }
    }

    /// The operations set in `field`, for logs and tests (Kafka's `Utils.from32BitField`).
    public static func operations(in field: Int32) -> [Operation] {
        field == notRequested ? [] : Operation.allCases.filter { field & (Int32(1) << Int32($0.rawValue)) != 0 }
    }
}
