import KafkaProtocol

/// ListGroups (api key 16), versions 0-5.
///
/// Behaviour: every group this coordinator knows, with its protocol type ("" for groups
/// used only to store offsets).
///
/// Version notes: v1 adds throttle time; v3 is flexible; v4 adds StatesFilter (state names,
/// case-insensitive; empty = all) and GroupState in the answer; v5 adds TypesFilter and
/// GroupType (every group here is "classic").
public struct ListGroupsHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...5
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: ListGroupsRequest, context: RequestContext) async throws -> ListGroupsResponse? {
        let version = context.apiVersion
        let (error, listings) = await coordinator.listGroups(
            states: version >= 4 ? request.statesFilter : [],
            types: version >= 5 ? request.typesFilter : [])
        var response = ListGroupsResponse()
        response.errorCode = error.rawValue
        let all = authorize(context, .describe, .cluster, AclResources.clusterName)
        response.groups = listings.filter { all || authorize(context, .describe, .group, $0.groupId) }.map { l in
            var g = ListGroupsResponse.ListedGroup()
            g.groupId = l.groupId
            g.protocolType = l.protocolType
            if version >= 4 { g.groupState = l.state.kafkaName }
            if version >= 5 { g.groupType = l.groupType }
            return g
        }
        return response
    }
}
