import KafkaProtocol

/// SyncGroup (api key 14), versions 0-5.
///
/// Behaviour: the leader sends every member's assignment, which is written to
/// `__consumer_offsets` before anyone receives it; followers' requests are parked until
/// then. In a Stable group the member's current assignment is returned at once.
///
/// Version notes: v1 adds throttle time; v3 adds GroupInstanceId; v4 is flexible; v5 adds
/// ProtocolType/ProtocolName in both directions (checked for consistency when sent).
public struct SyncGroupHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...5
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: SyncGroupRequest, context: RequestContext) async throws -> SyncGroupResponse? {
        let version = context.apiVersion
        guard authorize(context, .read, .group, request.groupId) else {
            var denied = SyncGroupResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        let input = SyncGroupInput(
            memberId: request.memberId,
            groupInstanceId: version >= 3 ? request.groupInstanceId : nil,
            generationId: request.generationId,
            protocolType: version >= 5 ? request.protocolType : nil,
            protocolName: version >= 5 ? request.protocolName : nil,
            assignments: request.assignments.map { (memberId: $0.memberId, assignment: $0.assignment) })
        let outcome = await coordinator.syncGroup(groupId: request.groupId, input)
        var response = SyncGroupResponse()
        response.errorCode = outcome.error.rawValue
        if version >= 5 {
            response.protocolType = outcome.protocolType
            response.protocolName = outcome.protocolName
        }
        response.assignment = outcome.assignment
        return response
    }
}
