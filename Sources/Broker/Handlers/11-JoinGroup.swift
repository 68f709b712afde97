import KafkaProtocol

/// JoinGroup (api key 11), versions 0-9.
///
/// Behaviour: the classic join (see `Group+StateMachine.swift`). The response is sent when
/// the join phase of the rebalance completes (the request is parked until then), or at once
/// for errors, MEMBER_ID_REQUIRED and repeated joins of a stable member.
///
/// Version notes: v0 has no RebalanceTimeoutMs (the session timeout is used, as Kafka does);
/// v4+ members without an id get MEMBER_ID_REQUIRED with an id to rejoin with (KIP-394);
/// v5 adds GroupInstanceId (static membership, KIP-345); v6 is flexible; v7 returns
/// ProtocolType and makes ProtocolName nullable (before v7 an unknown protocol is ""); v8
/// adds Reason; v9 adds SkipAssignment for a static leader rejoining a stable group (KIP-814).
public struct JoinGroupHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...9
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: JoinGroupRequest, context: RequestContext) async throws -> JoinGroupResponse? {
        let version = context.apiVersion
        guard authorize(context, .read, .group, request.groupId) else {
            var denied = JoinGroupResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            denied.protocolName = version >= 7 ? nil : ""
            return denied
        }
        let input = JoinGroupInput(
            memberId: request.memberId,
            groupInstanceId: version >= 5 ? request.groupInstanceId : nil,
            clientId: context.clientId ?? "",
            clientHost: "/\(context.clientHost)",
            sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: version >= 1 && request.rebalanceTimeoutMs >= 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
            protocolType: request.protocolType,
            protocols: request.protocols.map { GroupProtocolMetadata(name: $0.name, metadata: $0.metadata) },
            requireKnownMemberId: version >= 4,
            supportsSkipAssignment: version >= 9,
            reason: version >= 8 ? request.reason : nil)
        let outcome = await coordinator.joinGroup(groupId: request.groupId, input)
        var response = JoinGroupResponse()
        response.errorCode = outcome.error.rawValue
        response.generationId = outcome.generationId
        response.protocolType = version >= 7 ? outcome.protocolType : nil
        response.protocolName = version >= 7 ? outcome.protocolName : (outcome.protocolName ?? "")
        response.leader = outcome.leader
        response.skipAssignment = version >= 9 && outcome.skipAssignment
        response.memberId = outcome.memberId
        response.members = outcome.members.map { member in
            var m = JoinGroupResponse.JoinGroupResponseMember()
            m.memberId = member.memberId
            m.groupInstanceId = version >= 5 ? member.groupInstanceId : nil
            m.metadata = member.metadata
            return m
        }
        return response
    }
}
