// InitProducerId (key 22), versions 0-4.
//
// Behaviour: for an idempotent (non-transactional) producer, hands out a new producer id
// with epoch 0. Ids come from blocks committed to the metadata image first, so they are never
// reused after a restart: the single node's controller writes the block itself; a broker of a
// multi-node cluster gets it from the active controller (AllocateProducerIds, 67; see
// `ProducerIdManager`), so InitProducerId works on every broker. No block within 10 s is
// COORDINATOR_NOT_AVAILABLE, which clients retry. KIP-360 (v3+): a producer that sends its current id and epoch gets
// the same id with the epoch bumped (a fresh id if the epoch would overflow), which resets
// its sequences without losing its identity.
// Transactional ids are refused with INVALID_REQUEST: this broker has no transaction
// coordinator (and does not advertise the transaction APIs).
// Version notes: v1 same as v0; v2 flexible; v3 producer id/epoch in the request; v4
// PRODUCER_FENCED instead of INVALID_PRODUCER_EPOCH (never produced here).
import KafkaProtocol

public struct InitProducerIdHandler: RequestHandler {
    public typealias Request = InitProducerIdRequest
    public static let versions: ClosedRange<Int16> = 0...4

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: InitProducerIdRequest, context: RequestContext) async throws -> InitProducerIdResponse? {
        var response = InitProducerIdResponse()
        if let txn = request.transactionalId, !txn.isEmpty {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            return response
        }
        // Kafka (KIP-679): IDEMPOTENT_WRITE on the cluster, or an ALLOW for WRITE on some topic.
        if !services.authorize(context, .idempotentWrite, .cluster, AclResources.clusterName),
           !services.metadata.image.acls.values.contains(where: {
               $0.resourceType == .topic && $0.permission == .allow && ($0.operation == .write || $0.operation == .all)
                   && ($0.principal == context.principal || $0.principal == "User:*") && ($0.host == "*" || $0.host == context.clientHost)
           }) {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return response
        }
        if context.apiVersion >= 3, request.producerId >= 0, request.producerEpoch >= 0,
           request.producerEpoch < Int16.max - 1 {
            response.producerId = request.producerId
            response.producerEpoch = request.producerEpoch + 1
            return response
        }
        do {
            response.producerId = try await services.producerIds.next()
            response.producerEpoch = 0
        } catch {
            services.logger.error("Could not allocate a producer id: \(error)")
            response.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
        }
        return response
    }
}
