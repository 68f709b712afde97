import KafkaProtocol

/// FindCoordinator (api key 10), versions 0-4.
///
/// Behaviour: a group key gets the leader of the group's `__consumer_offsets` partition, at its
/// endpoint for the listener the request came in on: on a single node always this broker; on a
/// multi-node cluster whichever broker leads the partition now (COORDINATOR_NOT_AVAILABLE while
/// the topic is being created or the partition has no leader). Key type 1 (transactions) gets COORDINATOR_NOT_AVAILABLE:
/// there is no transaction coordinator; other key types get INVALID_REQUEST.
///
/// Version notes: v0 has only the key (a group id) and no error message; v1 adds KeyType,
/// throttle time and ErrorMessage; v3 is flexible; v4 looks up a batch (`CoordinatorKeys`)
/// and answers one `Coordinators` entry per key, with the top-level node fields absent.
/// v5 (TRANSACTION_ABORTABLE) and v6 (share groups) are not advertised.
public struct FindCoordinatorHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...4
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: FindCoordinatorRequest, context: RequestContext) async throws -> FindCoordinatorResponse? {
        var response = FindCoordinatorResponse()
        if context.apiVersion >= 4 {
            response.coordinators = request.coordinatorKeys.map { key in
                var entry = FindCoordinatorResponse.Coordinator()
                entry.key = key
                if request.keyType == 0, !authorize(context, .describe, .group, key) {
                    entry.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                    entry.nodeId = -1
                    entry.port = -1
                    return entry
                }
                let found = coordinator.findCoordinator(key: key, keyType: request.keyType, listenerName: context.listenerName)
                entry.errorCode = found.error.rawValue
                entry.errorMessage = found.message
                entry.nodeId = found.node?.nodeId ?? -1
                entry.host = found.node?.host ?? ""
                entry.port = found.node?.port ?? -1
                return entry
            }
            return response
        }
        let keyType: Int8 = context.apiVersion >= 1 ? request.keyType : 0
        if keyType == 0, !authorize(context, .describe, .group, request.key) {
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            response.nodeId = -1
            response.port = -1
            return response
        }
        let found = coordinator.findCoordinator(key: request.key, keyType: keyType, listenerName: context.listenerName)
        response.errorCode = found.error.rawValue
        if context.apiVersion >= 1 { response.errorMessage = found.message }
        response.nodeId = found.node?.nodeId ?? -1
        response.host = found.node?.host ?? ""
        response.port = found.node?.port ?? -1
        return response
    }
}
