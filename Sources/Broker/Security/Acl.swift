import KafkaProtocol

// ACLs as Kafka models them (`org.apache.kafka.common.acl` / `.resource`): the wire codes are
// the enums' raw values, so requests, responses and AccessControlEntryRecords carry them as is.

/// Kafka's `ResourceType` codes.
public enum AclResourceType: Int8, Sendable, Codable, CaseIterable {
    case unknown = 0, any = 1, topic = 2, group = 3, cluster = 4, transactionalId = 5, delegationToken = 6, user = 7
}

/// Kafka's `PatternType` codes. ANY and MATCH exist only in filters.
public enum AclPatternType: Int8, Sendable, Codable, CaseIterable {
    case unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4
}

/// Kafka's `AclOperation` codes. ANY exists only in filters; ALL grants every operation.
public enum AclOperation: Int8, Sendable, Codable, CaseIterable {
    case unknown = 0, any = 1, all = 2, read = 3, write = 4, create = 5, delete = 6, alter = 7, describe = 8,
         clusterAction = 9, describeConfigs = 10, alterConfigs = 11, idempotentWrite = 12, createTokens = 13,
         describeTokens = 14
}

/// Kafka's `AclPermissionType` codes. ANY exists only in filters.
public enum AclPermission: Int8, Sendable, Codable, CaseIterable {
    case unknown = 0, any = 1, deny = 2, allow = 3
}

/// One stored ACL (Kafka's `StandardAcl` with its id, an AccessControlEntryRecord).
public struct AclBinding: Hashable, Sendable, Codable {
    /// The record's id (a Kafka UUID in its base64 form), unique per binding.
    public var id: String
    public var resourceType: AclResourceType
    public var resourceName: String
    public var patternType: AclPatternType
    /// `Type:name`, e.g. `User:alice`; `User:*` matches every user.
    public var principal: String
    /// A host address, or `*` for any.
    public var host: String
    public var operation: AclOperation
    public var permission: AclPermission

    public init(id: String, resourceType: AclResourceType, resourceName: String, patternType: AclPatternType,
                principal: String, host: String, operation: AclOperation, permission: AclPermission) {
        self.id = id; self.resourceType = resourceType; self.resourceName = resourceName; self.patternType = patternType
        self.principal = principal; self.host = host; self.operation = operation; self.permission = permission
    }

    /// The same binding with another id: two bindings that differ only in id are one ACL.
    var content: AclBinding { var c = self; c.id = ""; return c }
}

/// A DescribeAcls / DeleteAcls filter (Kafka's `AclBindingFilter`): nil strings and ANY codes
/// match everything; pattern MATCH matches the literal name, the `*` wildcard and every
/// prefixed pattern the name starts with.
public struct AclBindingFilter: Sendable, Equatable {
    public var resourceType: AclResourceType
    public var resourceName: String?
    public var patternType: AclPatternType
    public var principal: String?
    public var host: String?
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: AclResourceType = .any, resourceName: String? = nil, patternType: AclPatternType = .any,
                principal: String? = nil, host: String? = nil, operation: AclOperation = .any, permission: AclPermission = .any) {
        self.resourceType = resourceType; self.resourceName = resourceName; self.patternType = patternType
        self.principal = principal; self.host = host; self.operation = operation; self.permission = permission
    }

    /// A filter from a DescribeAcls / DeleteAcls request's wire codes; before v1 there is no
    /// pattern type and the filter is LITERAL, as Kafka reads it. Unknown codes become UNKNOWN
    /// (``invalidReason`` then refuses the filter).
    public init(wire type: Int8, _ name: String?, _ pattern: Int8, _ principal: String?, _ host: String?,
                _ operation: Int8, _ permission: Int8, version: Int16) {
        self.init(resourceType: AclResourceType(rawValue: type) ?? .unknown, resourceName: name,
                  patternType: version >= 1 ? (AclPatternType(rawValue: pattern) ?? .unknown) : .literal,
                  principal: principal, host: host, operation: AclOperation(rawValue: operation) ?? .unknown,
                  permission: AclPermission(rawValue: permission) ?? .unknown)
    }

    /// Why Kafka refuses the filter (`AclBindingFilter.findIndefiniteField` is allowed, but
    /// UNKNOWN codes are not), or nil.
    public var invalidReason: String? {
        if resourceType == .unknown { return "unknown resource type" }
        if patternType == .unknown { return "unknown pattern type" }
        if operation == .unknown { return "unknown operation" }
        if permission == .unknown { return "unknown permission type" }
        return nil
    }

    public func matches(_ b: AclBinding) -> Bool {
        if resourceType != .any && resourceType != b.resourceType { return false }
        if let principal, principal != b.principal { return false }
        if let host, host != b.host { return false }
        if operation != .any && operation != b.operation { return false }
        if permission != .any && permission != b.permission { return false }
        switch patternType {
        case .any:
            if let resourceName, resourceName != b.resourceName { return false }
        case .match:
            guard let resourceName else { return true }
            switch b.patternType {
            case .literal: return b.resourceName == resourceName || b.resourceName == "*"
            case .prefixed: return resourceName.hasPrefix(b.resourceName)
            default: return false
            }
        case .literal, .prefixed:
            if b.patternType != patternType { return false }
            if let resourceName, resourceName != b.resourceName { return false }
        case .unknown:
            return false
        }
        return true
    }
}

/// Kafka's StandardAuthorizer decision (`StandardAuthorizerData.authorize`), as a pure
/// function of the ACLs in the metadata image and the broker's settings:
/// 1. a super user (`super.users`) may do everything;
/// 2. among the ACLs whose resource pattern matches (LITERAL equal name, LITERAL `*`,
///    PREFIXED a prefix of the name) and whose principal (`User:*` matches every user) and
///    host (`*` any) match: a DENY for the operation (or ALL) wins over everything;
/// 3. then an ALLOW for the operation, ALL, or an operation that implies it (READ, WRITE,
///    DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows;
/// 4. if no ACL at all matches the resource (for any principal), `allow.everyone.if.no.acl.found`
///    decides; otherwise the answer is DENY.
public struct AclAuthorizer: Sendable {
    public var superUsers: Set<String>
    public var allowEveryoneIfNoAclFound: Bool

    public init(superUsers: Set<String> = [], allowEveryoneIfNoAclFound: Bool = false) {
        self.superUsers = superUsers; self.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound
    }

    /// Kafka's accepted `authorizer.class.name` values: the KRaft StandardAuthorizer and the
    /// ZooKeeper-era AclAuthorizer, which an operator's old server.properties may still name.
    public static let acceptedClassNames: Set<String> = [
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "kafka.security.authorizer.AclAuthorizer",
    ]

    public func authorize(principal: String, host: String, operation: AclOperation,
                          resourceType: AclResourceType, resourceName: String, acls: some Sequence<AclBinding>) -> Bool {
        if superUsers.contains(principal) { return true }
        var resourceHasAcls = false
        var allowed = false
        for acl in acls where acl.resourceType == resourceType && Self.patternMatches(acl, resourceName) {
            resourceHasAcls = true
            guard acl.principal == principal || (acl.principal == "User:*" && principal.hasPrefix("User:")),
                  acl.host == "*" || acl.host == host else { continue }
            switch acl.permission {
            case .deny:
                if acl.operation == operation || acl.operation == .all { return false }
            case .allow:
                if acl.operation == operation || acl.operation == .all || Self.implies(acl.operation, operation) { allowed = true }
            default:
                continue
            }
        }
        if allowed { return true }
        return resourceHasAcls ? false : allowEveryoneIfNoAclFound
    }

    static func patternMatches(_ acl: AclBinding, _ name: String) -> Bool {
        switch acl.patternType {
        case .literal: return acl.resourceName == name || acl.resourceName == "*"
        case .prefixed: return name.hasPrefix(acl.resourceName)
        default: return false
        }
    }

    /// Kafka's implied operations (`StandardAuthorizerData`'s IMPLIES_DESCRIBE / IMPLIES_DESCRIBE_CONFIGS).
    static func implies(_ granted: AclOperation, _ wanted: AclOperation) -> Bool {
        switch wanted {
        case .describe: return [.read, .write, .delete, .alter].contains(granted)
        case .describeConfigs: return granted == .alterConfigs
        default: return false
        }
    }
}

/// What CreateAcls / DeleteAcls change in the metadata log (Kafka's `AclControlManager`), as
/// pure planning against the committed image.
public enum AclChanges {
    public struct CreationResult: Sendable, Equatable {
        public var error: ErrorCode
        public var message: String?
    }

    /// Kafka's `AclControlManager.validateNewAcl`: concrete codes only, a non-empty resource
    /// name, a `Type:name` principal, a non-empty host.
    public static func validate(_ b: AclBinding) -> String? {
        if [.unknown, .any].contains(b.resourceType) { return "Invalid resource type \(b.resourceType)" }
        if ![.literal, .prefixed].contains(b.patternType) { return "Invalid pattern type \(b.patternType)" }
        if [.unknown, .any].contains(b.operation) { return "Invalid operation \(b.operation)" }
        if ![.allow, .deny].contains(b.permission) { return "Invalid permission type \(b.permission)" }
        if b.resourceName.isEmpty { return "Resource name should not be empty" }
        if b.host.isEmpty { return "Host should not be empty" }
        let parts = b.principal.split(separator: ":", maxSplits: 1)
        if parts.count != 2 || parts[0].isEmpty || parts[1].isEmpty { return "Could not parse principal from `\(b.principal)` (no colon is present separating the principal type from the principal name)" }
        if b.resourceType == .cluster && b.resourceName != "kafka-cluster" { return "The only valid name for the CLUSTER resource is kafka-cluster" }
        return nil
    }

    /// One result per creation, in order, and the records of the new bindings. A binding equal
    /// to an existing one (or to an earlier one in the request) succeeds without a record, as
    /// in Kafka.
    public static func planCreate(_ creations: [AclBinding], existing: some Collection<AclBinding>) -> (records: [MetadataRecord], results: [CreationResult]) {
        var present = Set(existing.map(\.content))
        var records: [MetadataRecord] = []
        var results: [CreationResult] = []
        for b in creations {
            if let reason = validate(b) {
                results.append(CreationResult(error: .invalidRequest, message: reason))
                continue
            }
            if present.insert(b.content).inserted { records.append(.acl(b)) }
            results.append(CreationResult(error: .none, message: nil))
        }
        return (records, results)
    }

    /// The bindings each filter matches (a binding matched by two filters is removed once,
    /// listed under both) and the records removing them.
    public static func planDelete(_ filters: [AclBindingFilter], existing: [AclBinding]) -> (records: [MetadataRecord], matches: [Result<[AclBinding], InvalidFilter>]) {
        var removed = Set<String>()
        var records: [MetadataRecord] = []
        var out: [Result<[AclBinding], InvalidFilter>] = []
        let sorted = existing.sorted { $0.id < $1.id }
        for f in filters {
            if let reason = f.invalidReason { out.append(.failure(InvalidFilter(message: reason))); continue }
            let hits = sorted.filter { f.matches($0) }
            for h in hits where removed.insert(h.id).inserted { records.append(.removeAcl(id: h.id)) }
            out.append(.success(hits))
        }
        return (records, out)
    }

    public struct InvalidFilter: Error, Sendable, Equatable { public var message: String }
}

/// An authorization question: may the request's principal perform the operation on the
/// resource? Handlers that do not hold ``BrokerServices`` (the group coordinator's) get it as
/// a closure.
public typealias AuthorizeCheck = @Sendable (RequestContext, AclOperation, AclResourceType, String) -> Bool

/// The check without an authorizer: everything is allowed.
public let allowEverything: AuthorizeCheck = { _, _, _, _ in true }

/// Resource names Kafka fixes.
public enum AclResources {
    /// The one CLUSTER resource's name.
    public static let clusterName = "kafka-cluster"
}

extension BrokerServices {
    /// Whether the request's principal may perform `operation` on the resource, by the
    /// configured authorizer and the ACLs in this broker's metadata image; always true when
    /// no authorizer is configured (Kafka without `authorizer.class.name`).
    public func authorize(_ context: RequestContext, _ operation: AclOperation, _ type: AclResourceType, _ name: String) -> Bool {
        guard let authorizer = config.authorizer else { return true }
        return authorizer.authorize(principal: context.principal, host: context.clientHost, operation: operation,
                                    resourceType: type, resourceName: name, acls: metadata.image.acls.values)
    }

    /// DescribeConfigs / AlterConfigs / IncrementalAlterConfigs: `operation` on the topic
    /// (resource type 2) or the cluster (a broker, 4, or broker loggers, 8); the error to
    /// answer when refused, nil when allowed.
    public func configAuthorizationError(_ context: RequestContext, _ resourceType: Int8, _ name: String,
                                         _ operation: AclOperation) -> ErrorCode? {
        if resourceType == 2 {
            return authorize(context, operation, .topic, name) ? nil : .topicAuthorizationFailed
        }
        return authorize(context, operation, .cluster, AclResources.clusterName) ? nil : .clusterAuthorizationFailed
    }

    /// The `*AuthorizedOperations` bit set of a resource (Kafka's `AuthHelper.authorizedOperations`):
    /// every supported operation without an authorizer, else those the principal is allowed.
    public func authorizedOperations(_ context: RequestContext, _ type: AclResourceType, _ name: String) -> Int32 {
        let supported: Int32
        switch type {
        case .topic: supported = AuthorizedOperations.topic
        case .group: supported = AuthorizedOperations.group
        case .cluster: supported = AuthorizedOperations.cluster
        default: return 0
        }
        guard config.authorizer != nil else { return supported }
        let allowed = AuthorizedOperations.operations(in: supported).filter { op in
            AclOperation(rawValue: op.rawValue).map { authorize(context, $0, type, name) } ?? false
        }
        return AuthorizedOperations.bits(allowed)
    }
}
