import KafkaProtocol

/// Heartbeat (api key 12), versions 0-4.
///
/// Behaviour: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin;
/// ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID tell it it is out of the group.
///
/// Version notes: v1 adds throttle time; v3 adds GroupInstanceId; v4 is flexible.
public struct HeartbeatHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...4
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: HeartbeatRequest, context: RequestContext) async throws -> HeartbeatResponse? {
        guard authorize(context, .read, .group, request.groupId) else {
            return HeartbeatResponse(errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
        }
        let error = await coordinator.heartbeat(
            groupId: request.groupId, memberId: request.memberId,
            groupInstanceId: context.apiVersion >= 3 ? request.groupInstanceId : nil,
            generationId: request.generationId)
        var response = HeartbeatResponse()
        response.errorCode = error.rawValue
        return response
    }
}
