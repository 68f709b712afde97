import KafkaProtocol

/// DescribeAcls (api key 29), versions 0-3.
///
/// Behaviour: the ACL bindings of this broker's metadata image that match the filter
/// (``AclBindingFilter``), grouped by resource pattern as Kafka groups them. v0 has no pattern
/// type: the filter is LITERAL, as Kafka reads it. Needs DESCRIBE on the cluster.
/// Errors: SECURITY_DISABLED when no authorizer is configured (`authorizer.class.name`), as
/// Kafka; INVALID_REQUEST for an UNKNOWN code in the filter; CLUSTER_AUTHORIZATION_FAILED.
public struct DescribeAclsHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...3

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: DescribeAclsRequest, context: RequestContext) async throws -> DescribeAclsResponse? {
        var response = DescribeAclsResponse()
        response.errorMessage = nil
        guard services.config.authorizer != nil else {
            response.errorCode = ErrorCode.securityDisabled.rawValue
            response.errorMessage = "No Authorizer is configured."
            return response
        }
        guard services.authorize(context, .describe, .cluster, AclResources.clusterName) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = "Cluster authorization failed."
            return response
        }
        let filter = AclBindingFilter(wire: request.resourceTypeFilter, request.resourceNameFilter, request.patternTypeFilter,
                                      request.principalFilter, request.hostFilter, request.operation, request.permissionType,
                                      version: context.apiVersion)
        if let reason = filter.invalidReason {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            response.errorMessage = reason
            return response
        }
        let hits = services.metadata.image.acls.values.filter { filter.matches($0) }
        let grouped = Dictionary(grouping: hits) { ResourceKey(type: $0.resourceType.rawValue, name: $0.resourceName, pattern: $0.patternType.rawValue) }
        response.resources = grouped.keys.sorted().map { key in
            DescribeAclsResponse.DescribeAclsResource(
                resourceType: key.type, resourceName: key.name, patternType: key.pattern,
                acls: grouped[key]!.sorted { ($0.principal, $0.host, $0.operation.rawValue, $0.permission.rawValue) < ($1.principal, $1.host, $1.operation.rawValue, $1.permission.rawValue) }
                    .map { .init(principal: $0.principal, host: $0.host, operation: $0.operation.rawValue, permissionType: $0.permission.rawValue) })
        }
        return response
    }

    private struct ResourceKey: Hashable, Comparable {
        var type: Int8, name: String, pattern: Int8
        static func < (a: Self, b: Self) -> Bool { (a.type, a.name, a.pattern) < (b.type, b.name, b.pattern) }
    }

    public static func countErrors(_ response: DescribeAclsResponse, into timing: RequestTiming) {
        timing.countError(response.errorCode)
    }
}
