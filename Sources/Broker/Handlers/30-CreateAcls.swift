import KafkaProtocol

/// CreateAcls (api key 30), versions 0-3.
///
/// Behaviour: each creation is validated as Kafka's `AclControlManager` does and committed as
/// an AccessControlEntryRecord by the controller (forwarded there on a multi-node cluster,
/// ``ForwardingDispatcher``); a binding that already exists succeeds without a new record.
/// Every broker's authorizer sees it once it applies the record. v0 has no pattern type
/// (LITERAL). Needs ALTER on the cluster.
/// Errors per creation: SECURITY_DISABLED (no authorizer configured), INVALID_REQUEST (an
/// ANY/UNKNOWN code, an empty name or host, a principal without `Type:`),
/// CLUSTER_AUTHORIZATION_FAILED, or the controller's error when the commit fails.
public struct CreateAclsHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...3

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: CreateAclsRequest, context: RequestContext) async throws -> CreateAclsResponse? {
        var response = CreateAclsResponse()
        func all(_ code: ErrorCode, _ message: String) -> CreateAclsResponse {
            response.results = request.creations.map { _ in .init(errorCode: code.rawValue, errorMessage: message) }
            return response
        }
        guard services.config.authorizer != nil else { return all(.securityDisabled, "No Authorizer is configured.") }
        guard services.authorize(context, .alter, .cluster, AclResources.clusterName) else {
            return all(.clusterAuthorizationFailed, "Cluster authorization failed.")
        }
        let bindings = request.creations.map {
            AclBinding(id: "", resourceType: AclResourceType(rawValue: $0.resourceType) ?? .unknown, resourceName: $0.resourceName,
                       patternType: context.apiVersion >= 1 ? (AclPatternType(rawValue: $0.resourcePatternType) ?? .unknown) : .literal,
                       principal: $0.principal, host: $0.host, operation: AclOperation(rawValue: $0.operation) ?? .unknown,
                       permission: AclPermission(rawValue: $0.permissionType) ?? .unknown)
        }
        do {
            let results = try await services.controller.createAcls(bindings)
            response.results = results.map { .init(errorCode: $0.error.rawValue, errorMessage: $0.message) }
            for (b, r) in zip(bindings, results) where r.error == .none {
                services.logger.info("ACL added by \(context.principal): \(b.permission) \(b.principal) \(b.operation) on \(b.resourceType) \(b.patternType) \(b.resourceName) from host \(b.host)")
            }
        } catch let error as ControllerError {
            response.results = request.creations.map { _ in .init(errorCode: error.code, errorMessage: error.message) }
        }
        return response
    }

    public static func countErrors(_ response: CreateAclsResponse, into timing: RequestTiming) {
        for r in response.results { timing.countError(r.errorCode) }
    }
}
