import KafkaProtocol

/// DescribeGroups (api key 15), versions 0-5.
///
/// Behaviour: state, protocol type, and members with client id, host, and (while the group
/// is Stable) the chosen protocol, each member's metadata and assignment. An unknown group
/// is reported as state "Dead" with no error, as Kafka does before v6.
///
/// Version notes: v1 adds throttle time; v3 adds AuthorizedOperations (there are no ACLs,
/// so, as Kafka without an authorizer, every GROUP operation: see AuthorizedOperations);
/// v4 adds GroupInstanceId; v5
/// is flexible. v6 (GROUP_ID_NOT_FOUND for unknown groups) is not advertised.
public struct DescribeGroupsHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...5
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: DescribeGroupsRequest, context: RequestContext) async throws -> DescribeGroupsResponse? {
        let version = context.apiVersion
        var response = DescribeGroupsResponse()
        let allowed = request.groups.filter { authorize(context, .describe, .group, $0) }
        let described = await coordinator.describeGroups(allowed)
        var byId: [String: GroupDescription] = [:]
        for d in described { byId[d.groupId] = d }
        response.groups = request.groups.map { id in
            guard let d = byId[id] else {
                var g = DescribeGroupsResponse.DescribedGroup()
                g.groupId = id
                g.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                return g
            }
            var g = DescribeGroupsResponse.DescribedGroup()
            g.errorCode = d.error.rawValue
            g.groupId = d.groupId
            g.groupState = d.state
            g.protocolType = d.protocolType
            g.protocolData = d.protocolData
            if version >= 3 && request.includeAuthorizedOperations { g.authorizedOperations = authorizedGroupOperations(context, d.groupId) }
            g.members = d.members.map { m in
                var member = DescribeGroupsResponse.DescribedGroupMember()
                member.memberId = m.memberId
                member.groupInstanceId = version >= 4 ? m.groupInstanceId : nil
                member.clientId = m.clientId
                member.clientHost = m.clientHost
                member.memberMetadata = m.metadata
                member.memberAssignment = m.assignment
                return member
            }
            return g
        }
        return response
    }

    /// DESCRIBE's bit set for a group: what the principal may do with it.
    private func authorizedGroupOperations(_ context: RequestContext, _ groupId: String) -> Int32 {
        AuthorizedOperations.bits(AuthorizedOperations.operations(in: AuthorizedOperations.group).filter { op in
            AclOperation(rawValue: op.rawValue).map { authorize(context, $0, .group, groupId) } ?? false
        })
    }
}
