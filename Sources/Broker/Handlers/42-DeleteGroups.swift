import KafkaProtocol

/// DeleteGroups (api key 42), versions 0-2.
///
/// Behaviour: deletes groups without members, writing tombstones for their offsets and
/// metadata; GROUP_ID_NOT_FOUND for an unknown group, NON_EMPTY_GROUP for one with members.
///
/// Version notes: v1 is identical to v0; v2 is flexible.
public struct DeleteGroupsHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...2
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: DeleteGroupsRequest, context: RequestContext) async throws -> DeleteGroupsResponse? {
        var response = DeleteGroupsResponse()
        let allowed = request.groupsNames.filter { authorize(context, .delete, .group, $0) }
        var results: [String: Int16] = [:]
        for r in await coordinator.deleteGroups(allowed) { results[r.groupId] = r.error.rawValue }
        response.results = request.groupsNames.map { id in
            var r = DeleteGroupsResponse.DeletableGroupResult()
            r.groupId = id
            r.errorCode = results[id] ?? ErrorCode.groupAuthorizationFailed.rawValue
            return r
        }
        return response
    }
}
