import KafkaProtocol
import Logging

/// BrokerHeartbeat (63), versions 0-1, on the controller listener only: a registered broker's
/// lease, its metadata progress and its wishes (WantFence while it recovers, WantShutDown on
/// SIGTERM).
///
/// Behaviour (Kafka's `ControllerApis.handleBrokerHeartBeatRequest` +
/// `ReplicationControlManager.processBrokerHeartbeat`, through ``ClusterControlService``):
/// NOT_CONTROLLER when this node is not the active controller; STALE_BROKER_EPOCH for an
/// unknown broker or an epoch that is not its registration's; otherwise the state transition
/// records (unfence once CurrentMetadataOffset reached its registration offset, fence on
/// WantFence, controlled shutdown moving its leaders away, shutdown) are committed before the
/// reply: IsCaughtUp, IsFenced, ShouldShutDown. Every heartbeat renews the session that
/// `broker.session.timeout.ms` bounds.
///
/// Version notes: v1 adds OfflineLogDirs (accepted; log-dir failover is not implemented).
/// Not registered on client listeners; wiring to the controller listener comes with the quorum.
public struct BrokerHeartbeatHandler: RequestHandler {
    public typealias Request = BrokerHeartbeatRequest
    public static let versions: ClosedRange<Int16> = 0...1

    let service: ClusterControlService
    let isActiveController: @Sendable () -> Bool
    let logger: Logger

    public init(service: ClusterControlService, isActiveController: @escaping @Sendable () -> Bool, logger: Logger) {
        self.service = service; self.isActiveController = isActiveController; self.logger = logger
    }

    public func handle(_ request: BrokerHeartbeatRequest, context: RequestContext) async throws -> BrokerHeartbeatResponse? {
        guard isActiveController() else { return BrokerHeartbeatResponse(errorCode: ErrorCode.notController.rawValue) }
        do {
            let outcome = try await service.heartbeat(request)
            if let message = outcome.errorMessage { logger.info("Heartbeat of broker \(request.brokerId) refused: \(message)") }
            return outcome.reply
        } catch let error as ControllerError {
            return BrokerHeartbeatResponse(errorCode: error.code)
        } catch {
            logger.error("Heartbeat of broker \(request.brokerId) failed: \(error)")
            return BrokerHeartbeatResponse(errorCode: ErrorCode.unknownServerError.rawValue)
        }
    }
}
