import KafkaProtocol

/// DeleteAcls (api key 31), versions 0-3.
///
/// Behaviour: every binding each filter matches is removed (RemoveAccessControlEntryRecords
/// committed by the controller; forwarded there on a multi-node cluster); each filter's result
/// lists the bindings it matched. v0 filters are LITERAL. Needs ALTER on the cluster.
/// Errors: SECURITY_DISABLED (no authorizer configured), INVALID_REQUEST per filter with an
/// UNKNOWN code, CLUSTER_AUTHORIZATION_FAILED, or the controller's error.
public struct DeleteAclsHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...3

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: DeleteAclsRequest, context: RequestContext) async throws -> DeleteAclsResponse? {
        var response = DeleteAclsResponse()
        func all(_ code: Int16, _ message: String) -> DeleteAclsResponse {
            response.filterResults = request.filters.map { _ in .init(errorCode: code, errorMessage: message, matchingAcls: []) }
            return response
        }
        guard services.config.authorizer != nil else { return all(ErrorCode.securityDisabled.rawValue, "No Authorizer is configured.") }
        guard services.authorize(context, .alter, .cluster, AclResources.clusterName) else {
            return all(ErrorCode.clusterAuthorizationFailed.rawValue, "Cluster authorization failed.")
        }
        let filters = request.filters.map {
            AclBindingFilter(wire: $0.resourceTypeFilter, $0.resourceNameFilter, $0.patternTypeFilter, $0.principalFilter,
                             $0.hostFilter, $0.operation, $0.permissionType, version: context.apiVersion)
        }
        do {
            let results = try await services.controller.deleteAcls(filters)
            response.filterResults = results.map { result in
                switch result {
                case .failure(let invalid):
                    return .init(errorCode: ErrorCode.invalidRequest.rawValue, errorMessage: invalid.message, matchingAcls: [])
                case .success(let hits):
                    return .init(errorCode: 0, errorMessage: nil, matchingAcls: hits.map {
                        .init(errorCode: 0, errorMessage: nil, resourceType: $0.resourceType.rawValue, resourceName: $0.resourceName,
                              patternType: $0.patternType.rawValue, principal: $0.principal, host: $0.host,
                              operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
                    })
                }
            }
            let removed = results.reduce(0) { n, r in n + ((try? r.get().count) ?? 0) }
            if removed > 0 { services.logger.info("ACLs removed by \(context.principal): \(removed) matching binding(s)") }
        } catch let error as ControllerError {
            return all(error.code, error.message)
        }
        return response
    }

    public static func countErrors(_ response: DeleteAclsResponse, into timing: RequestTiming) {
        for r in response.filterResults { timing.countError(r.errorCode) }
    }
}
