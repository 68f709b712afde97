import KafkaProtocol
import Logging

/// AllocateProducerIds (67), version 0, on the controller listener only: a broker asks the
/// active controller for its next block of producer ids (Kafka's `RPCProducerIdManager` ->
/// `ControllerApis.handleAllocateProducerIdsRequest` -> `ProducerIdControlManager`).
///
/// Behaviour: NOT_CONTROLLER unless this node is the active controller; STALE_BROKER_EPOCH
/// for a broker that is not registered or whose epoch is not its registration's (Kafka's
/// `checkBrokerEpoch`); otherwise the block [nextProducerId, nextProducerId + 1000) is
/// reserved by committing a ProducerIdsRecord (next block start) to the metadata log before
/// the reply, so no id is handed out twice, across brokers, controller failovers and
/// restarts. Running out of the int64 range is UNKNOWN_SERVER_ERROR, as in Kafka.
///
/// Version notes: v0 is the only version (flexible).
public struct AllocateProducerIdsHandler: RequestHandler {
    public typealias Request = AllocateProducerIdsRequest
    public static let versions: ClosedRange<Int16> = 0...0

    let log: any ControllerMetadataLog
    let isActiveController: @Sendable () -> Bool
    let logger: Logger

    public init(log: any ControllerMetadataLog, isActiveController: @escaping @Sendable () -> Bool, logger: Logger) {
        self.log = log; self.isActiveController = isActiveController; self.logger = logger
    }

    public func handle(_ request: AllocateProducerIdsRequest, context: RequestContext) async throws -> AllocateProducerIdsResponse? {
        guard isActiveController() else { return AllocateProducerIdsResponse(errorCode: ErrorCode.notController.rawValue) }
        do {
            let reply = try await log.appendComputed { image, _ in Self.plan(request, image: image) }
            if reply.errorCode == 0 {
                logger.info("Producer ids \(reply.producerIdStart)..<\(reply.producerIdStart + Int64(reply.producerIdLen)) allocated to broker \(request.brokerId)")
            }
            return reply
        } catch let error as ControllerError {
            return AllocateProducerIdsResponse(errorCode: error.code)
        } catch {
            // The metadata log refused the write (this node lost the quorum meanwhile): the
            // broker retries at the new controller.
            logger.warning("AllocateProducerIds of broker \(request.brokerId) failed: \(error)")
            return AllocateProducerIdsResponse(errorCode: ErrorCode.notController.rawValue)
        }
    }

    /// The records and reply for one request on `image` (Kafka's
    /// `ProducerIdControlManager.generateNextProducerId`). Pure.
    public static func plan(_ request: AllocateProducerIdsRequest, image: MetadataImage)
        -> (records: [MetadataRecord], reply: AllocateProducerIdsResponse) {
        guard let broker = image.brokers[request.brokerId], broker.epoch == request.brokerEpoch else {
            return ([], AllocateProducerIdsResponse(errorCode: ErrorCode.staleBrokerEpoch.rawValue))
        }
        let size = LocalController.producerIdBlockSize
        let start = image.nextProducerId
        guard start >= 0, start <= Int64.max - size else {
            return ([], AllocateProducerIdsResponse(errorCode: ErrorCode.unknownServerError.rawValue))
        }
        return ([.producerIds(nextProducerId: start + size)],
                AllocateProducerIdsResponse(errorCode: 0, producerIdStart: start, producerIdLen: Int32(size)))
    }
}
