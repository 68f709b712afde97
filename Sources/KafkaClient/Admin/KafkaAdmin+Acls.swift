import KafkaProtocol

/// ACL administration (CreateAcls 30, DescribeAcls 29, DeleteAcls 31) against any Kafka
/// cluster with an authorizer: the same calls as Kafka's `Admin.createAcls / describeAcls /
/// deleteAcls` and `kafka-acls.sh`. The types use Kafka's names and wire codes.
public enum KafkaAcl {
    public enum ResourceType: Int8, Sendable, CaseIterable {
        case any = 1, topic = 2, group = 3, cluster = 4, transactionalId = 5, delegationToken = 6, user = 7
        /// Kafka's upper-case name (`TOPIC`), as kafka-acls.sh prints it.
        public var name: String {
            switch self {
            case .any: "ANY"; case .topic: "TOPIC"; case .group: "GROUP"; case .cluster: "CLUSTER"
            case .transactionalId: "TRANSACTIONAL_ID"; case .delegationToken: "DELEGATION_TOKEN"; case .user: "USER"
            }
        }
    }

    public enum PatternType: Int8, Sendable, CaseIterable {
        case any = 1, match = 2, literal = 3, prefixed = 4
        public var name: String {
            switch self { case .any: "ANY"; case .match: "MATCH"; case .literal: "LITERAL"; case .prefixed: "PREFIXED" }
        }
        /// Parses kafka-acls.sh's `--resource-pattern-type` values (any case).
        public init?(name: String) {
            guard let p = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
            self = p
        }
    }

    public enum Operation: Int8, Sendable, CaseIterable {
        case any = 1, all = 2, read = 3, write = 4, create = 5, delete = 6, alter = 7, describe = 8, clusterAction = 9,
             describeConfigs = 10, alterConfigs = 11, idempotentWrite = 12, createTokens = 13, describeTokens = 14
        /// Kafka's name as kafka-acls.sh spells `--operation` (`Read`, `DescribeConfigs`, `IdempotentWrite`).
        public var name: String {
            switch self {
            case .any: "Any"; case .all: "All"; case .read: "Read"; case .write: "Write"; case .create: "Create"
            case .delete: "Delete"; case .alter: "Alter"; case .describe: "Describe"; case .clusterAction: "ClusterAction"
            case .describeConfigs: "DescribeConfigs"; case .alterConfigs: "AlterConfigs"; case .idempotentWrite: "IdempotentWrite"
            case .createTokens: "CreateTokens"; case .describeTokens: "DescribeTokens"
            }
        }
        public init?(name: String) {
            let folded = name.replacingOccurrences(of: "_", with: "").lowercased()
            guard let op = Self.allCases.first(where: { $0.name.lowercased() == folded }) else { return nil }
            self = op
        }
    }

    public enum Permission: Int8, Sendable, CaseIterable {
        case any = 1, deny = 2, allow = 3
        public var name: String { switch self { case .any: "ANY"; case .deny: "DENY"; case .allow: "ALLOW" } }
    }

    /// One ACL: `principal` from `host` may (ALLOW) or may not (DENY) perform `operation` on the
    /// resources `resourceType` / `resourceName` / `patternType` name.
    public struct Binding: Sendable, Hashable {
        public var resourceType: ResourceType
        public var resourceName: String
        public var patternType: PatternType
        public var principal: String
        public var host: String
        public var operation: Operation
        public var permission: Permission

        public init(resourceType: ResourceType, resourceName: String, patternType: PatternType = .literal,
                    principal: String, host: String = "*", operation: Operation, permission: Permission = .allow) {
            self.resourceType = resourceType; self.resourceName = resourceName; self.patternType = patternType
            self.principal = principal; self.host = host; self.operation = operation; self.permission = permission
        }
    }
}

extension KafkaAcl.Binding {
    /// A binding from a response's wire codes; nil for a code this client does not know.
    init?(wire type: Int8, _ name: String, _ pattern: Int8, _ principal: String, _ host: String, _ operation: Int8, _ permission: Int8) {
        guard let t = KafkaAcl.ResourceType(rawValue: type), let p = KafkaAcl.PatternType(rawValue: pattern),
              let op = KafkaAcl.Operation(rawValue: operation), let perm = KafkaAcl.Permission(rawValue: permission) else { return nil }
        self.init(resourceType: t, resourceName: name, patternType: p, principal: principal, host: host, operation: op, permission: perm)
    }
}

extension KafkaAcl {
    /// A describe/delete filter: nil strings and ANY match everything; pattern MATCH finds
    /// every binding that applies to a concrete name (literal, `*`, prefixes).
    public struct Filter: Sendable, Hashable {
        public var resourceType: ResourceType = .any
        public var resourceName: String?
        public var patternType: PatternType = .any
        public var principal: String?
        public var host: String?
        public var operation: Operation = .any
        public var permission: Permission = .any

        public init(resourceType: ResourceType = .any, resourceName: String? = nil, patternType: PatternType = .any,
                    principal: String? = nil, host: String? = nil, operation: Operation = .any, permission: Permission = .any) {
            self.resourceType = resourceType; self.resourceName = resourceName; self.patternType = patternType
            self.principal = principal; self.host = host; self.operation = operation; self.permission = permission
        }

        /// The filter matching exactly `binding` (for removing it).
        public init(exactly b: Binding) {
            self.init(resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType,
                      principal: b.principal, host: b.host, operation: b.operation, permission: b.permission)
        }
    }
}

extension KafkaAdmin {
    /// Creates ACLs (sent to the controller, which a KRaft broker forwards to); one result per
    /// binding, in order. A broker without an authorizer answers SECURITY_DISABLED.
    public func createAcls(_ bindings: [KafkaAcl.Binding]) async throws -> [Result<Void, KafkaClientError>] {
        let connection = try await adminConnection()
        let (response, _) = try await connection.send(supported: 1...3) { _ in
            var request = CreateAclsRequest()
            request.creations = bindings.map {
                .init(resourceType: $0.resourceType.rawValue, resourceName: $0.resourceName, resourcePatternType: $0.patternType.rawValue,
                      principal: $0.principal, host: $0.host, operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
            }
            return request
        }
        guard response.results.count == bindings.count else {
            throw KafkaClientError.protocolViolation("CreateAcls answered \(response.results.count) results for \(bindings.count) ACLs")
        }
        return response.results.map {
            $0.errorCode == 0 ? .success(()) : .failure(.broker($0.errorCode, "create ACL", message: $0.errorMessage))
        }
    }

    /// The ACLs matching `filter`.
    public func describeAcls(_ filter: KafkaAcl.Filter = .init()) async throws -> [KafkaAcl.Binding] {
        let connection = try await adminConnection()
        let (response, _) = try await connection.send(supported: 1...3) { _ in
            DescribeAclsRequest(resourceTypeFilter: filter.resourceType.rawValue, resourceNameFilter: filter.resourceName,
                                patternTypeFilter: filter.patternType.rawValue, principalFilter: filter.principal,
                                hostFilter: filter.host, operation: filter.operation.rawValue, permissionType: filter.permission.rawValue)
        }
        if response.errorCode != 0 {
            throw KafkaClientError.broker(response.errorCode, "describe ACLs", message: response.errorMessage)
        }
        return response.resources.flatMap { r in
            r.acls.compactMap {
                KafkaAcl.Binding(wire: r.resourceType, r.resourceName, r.patternType, $0.principal, $0.host, $0.operation, $0.permissionType)
            }
        }
    }

    /// Deletes every ACL each filter matches; per filter, the ACLs it removed.
    public func deleteAcls(_ filters: [KafkaAcl.Filter]) async throws -> [Result<[KafkaAcl.Binding], KafkaClientError>] {
        let connection = try await adminConnection()
        let (response, _) = try await connection.send(supported: 1...3) { _ in
            var request = DeleteAclsRequest()
            request.filters = filters.map {
                .init(resourceTypeFilter: $0.resourceType.rawValue, resourceNameFilter: $0.resourceName, patternTypeFilter: $0.patternType.rawValue,
                      principalFilter: $0.principal, hostFilter: $0.host, operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
            }
            return request
        }
        guard response.filterResults.count == filters.count else {
            throw KafkaClientError.protocolViolation("DeleteAcls answered \(response.filterResults.count) results for \(filters.count) filters")
        }
        return response.filterResults.map { f in
            guard f.errorCode == 0 else { return .failure(.broker(f.errorCode, "delete ACLs", message: f.errorMessage)) }
            return .success(f.matchingAcls.compactMap {
                KafkaAcl.Binding(wire: $0.resourceType, $0.resourceName, $0.patternType, $0.principal, $0.host, $0.operation, $0.permissionType)
            })
        }
    }
}
