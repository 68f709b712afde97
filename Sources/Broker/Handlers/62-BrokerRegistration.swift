import KafkaProtocol
import Logging

/// BrokerRegistration (62), versions 0-4, on the controller listener only: a broker process
/// announces itself (id, cluster id, a random incarnation id, listeners, rack, supported
/// features) and gets its broker epoch.
///
/// Behaviour (Kafka's `ControllerApis.handleBrokerRegistration` + `ClusterControlManager`,
/// through ``ClusterControlService``): NOT_CONTROLLER when this node is not the active
/// controller (the broker finds the leader and retries); INCONSISTENT_CLUSTER_ID,
/// DUPLICATE_BROKER_REGISTRATION (another incarnation of that id has a live session),
/// UNSUPPORTED_VERSION (a finalized feature outside the broker's range); otherwise a
/// RegisterBrokerRecord (the broker starts fenced) whose offset is the epoch returned, sent
/// only once the record is committed. A commit that fails answers the controller's error code
/// (NOT_CONTROLLER if leadership was lost, KAFKA_STORAGE_ERROR ...), never a broken epoch.
///
/// Version notes: v1 adds IsMigratingZkBroker (ignored: no ZooKeeper), v2 LogDirs, v3
/// PreviousBrokerEpoch (KIP-966; not used without ELR), v4 omits features with min version 0.
/// Not registered on client listeners (Kafka's broker answers this API nowhere but the
/// controller); wiring to the controller listener comes with the quorum in `samsa broker`.
public struct BrokerRegistrationHandler: RequestHandler {
    public typealias Request = BrokerRegistrationRequest
    public static let versions: ClosedRange<Int16> = 0...4

    let service: ClusterControlService
    let isActiveController: @Sendable () -> Bool
    let logger: Logger

    public init(service: ClusterControlService, isActiveController: @escaping @Sendable () -> Bool, logger: Logger) {
        self.service = service; self.isActiveController = isActiveController; self.logger = logger
    }

    public func handle(_ request: BrokerRegistrationRequest, context: RequestContext) async throws -> BrokerRegistrationResponse? {
        guard isActiveController() else { return BrokerRegistrationResponse(errorCode: ErrorCode.notController.rawValue) }
        do {
            let outcome = try await service.register(request)
            if let message = outcome.errorMessage {
                logger.info("Refused registration of broker \(request.brokerId): \(message)")
            } else {
                logger.info("Registered broker \(request.brokerId) (incarnation \(request.incarnationId)) at epoch \(outcome.reply.brokerEpoch)")
            }
            return outcome.reply
        } catch let error as ControllerError {
            return BrokerRegistrationResponse(errorCode: error.code)
        } catch {
            logger.error("Registration of broker \(request.brokerId) failed: \(error)")
            return BrokerRegistrationResponse(errorCode: ErrorCode.unknownServerError.rawValue)
        }
    }
}
