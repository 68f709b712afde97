import KafkaProtocol

/// LeaveGroup (api key 13), versions 0-5.
///
/// Behaviour: removes members and rebalances the rest. A static member may be removed by
/// instance id alone (empty member id), which is how admin tools evict static members.
///
/// Version notes: v0-2 name one member by id and return only a top-level error (the
/// member's); v3 takes a batch of identities (member id and/or group instance id) and
/// returns one result per member; v4 is flexible; v5 adds Reason.
public struct LeaveGroupHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...5
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: LeaveGroupRequest, context: RequestContext) async throws -> LeaveGroupResponse? {
        let version = context.apiVersion
        guard authorize(context, .read, .group, request.groupId) else {
            var denied = LeaveGroupResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        let leaving: [LeavingMember] = version >= 3
            ? request.members.map { LeavingMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId,
                                                  reason: version >= 5 ? $0.reason : nil) }
            : [LeavingMember(memberId: request.memberId)]
        let outcome = await coordinator.leaveGroup(groupId: request.groupId, members: leaving)
        var response = LeaveGroupResponse()
        if version >= 3 {
            response.errorCode = outcome.error.rawValue
            response.members = outcome.members.map { result in
                var m = LeaveGroupResponse.MemberResponse()
                m.memberId = result.member.memberId
                m.groupInstanceId = result.member.groupInstanceId
                m.errorCode = result.error.rawValue
                return m
            }
        } else {
            // Kafka's LeaveGroupResponse for v0-2: the top-level error if any, else the member's.
            let memberError = outcome.members.first?.error ?? .none
            response.errorCode = (outcome.error != .none ? outcome.error : memberError).rawValue
        }
        return response
    }
}
