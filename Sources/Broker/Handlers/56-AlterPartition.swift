import KafkaProtocol
import Logging

/// AlterPartition (56), versions 0-3, on the controller listener only: a partition leader
/// proposes a new ISR (expansion on catch-up, shrink after replica.lag.time.max.ms).
///
/// Behaviour (Kafka's `ControllerApis.handleAlterPartitionRequest` +
/// `ReplicationControlManager.alterPartition`, through ``AlterPartitionService``):
/// NOT_CONTROLLER (top level) when this node is not the active controller, the leader's
/// ``AlterPartitionManager`` then finds the new one; STALE_BROKER_EPOCH (top level) when the
/// sender's broker epoch is not its registered one; per partition the checks of
/// ``AlterPartitionControl/validate(brokerId:partition:data:version:image:)``; otherwise a
/// PartitionChangeRecord with the new ISR, answered with the new ISR, leader epoch and
/// partition epoch once committed. A commit that fails answers the controller's error code
/// at the top level (NOT_CONTROLLER when leadership was lost).
///
/// Version notes: v1 adds LeaderRecoveryState (KIP-704); v2 topic ids instead of names, and
/// INELIGIBLE_REPLICA instead of OPERATION_NOT_ATTEMPTED (KIP-841); v3 NewIsrWithEpochs
/// (KIP-903: a member whose epoch is not its registered one is ineligible). Not registered on
/// client listeners, and not forwardable in an Envelope (INVALID_REQUEST there), as in Kafka.
public struct AlterPartitionHandler: RequestHandler {
    public typealias Request = AlterPartitionRequest
    public static let versions: ClosedRange<Int16> = 0...3

    let service: AlterPartitionService
    let isActiveController: @Sendable () -> Bool
    let logger: Logger

    public init(service: AlterPartitionService, isActiveController: @escaping @Sendable () -> Bool, logger: Logger) {
        self.service = service; self.isActiveController = isActiveController; self.logger = logger
    }

    public func handle(_ request: AlterPartitionRequest, context: RequestContext) async throws -> AlterPartitionResponse? {
        guard isActiveController() else { return AlterPartitionResponse(errorCode: ErrorCode.notController.rawValue) }
        do {
            let response = try await service.alterPartition(request, version: context.apiVersion)
            if response.errorCode != 0 {
                logger.info("AlterPartition from broker \(request.brokerId) refused: \(ErrorCode(rawValue: response.errorCode).name)")
            }
            for topic in response.topics {
                for p in topic.partitions {
                    if p.errorCode != 0 {
                        logger.info("AlterPartition from broker \(request.brokerId) for \(version(topic, context))-\(p.partitionIndex): \(ErrorCode(rawValue: p.errorCode).name)")
                    } else {
                        logger.info("ISR of \(version(topic, context))-\(p.partitionIndex) is now \(p.isr) (partition epoch \(p.partitionEpoch))")
                    }
                }
            }
            return response
        } catch let error as ControllerError {
            return AlterPartitionResponse(errorCode: error.code)
        } catch {
            logger.error("AlterPartition from broker \(request.brokerId) failed: \(error)")
            return AlterPartitionResponse(errorCode: ErrorCode.unknownServerError.rawValue)
        }
    }

    private func version(_ topic: AlterPartitionResponse.TopicData, _ context: RequestContext) -> String {
        context.apiVersion >= 2 ? "\(topic.topicId)" : topic.topicName
    }

    public static func countErrors(_ response: AlterPartitionResponse, into timing: RequestTiming) {
        timing.countError(response.errorCode)
        for t in response.topics { for p in t.partitions { timing.countError(p.errorCode) } }
    }
}
