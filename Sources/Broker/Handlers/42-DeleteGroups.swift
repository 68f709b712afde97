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

    public init(coordinator: GroupCoordinator) { self.coordinator = coordinator }

    public func handle(_ request: DeleteGroupsRequest, context: RequestContext) async throws -> DeleteGroupsResponse? {
        var response = DeleteGroupsResponse()
        response.results = await coordinator.deleteGroups(request.groupsNames).map { result in
            var r = DeleteGroupsResponse.DeletableGroupResult()
            r.groupId = result.groupId
            r.errorCode = result.error.rawValue
            return r
        }
        return response
    }
}
