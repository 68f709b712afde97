// DescribeCluster (key 60), versions 0-1 (always flexible).
//
// Behaviour: cluster id, controller id and the live brokers with the endpoints of the
// listener the request arrived on. With include_cluster_authorized_operations the answer is
// every operation Kafka supports on the CLUSTER resource, as Kafka reports it when no
// authorizer is configured (Samsa has none); otherwise INT32_MIN ("not requested"). v1 adds endpoint_type: 1 (brokers) is served; 2 (controllers) gets
// UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker answers it.
import KafkaProtocol

public struct DescribeClusterHandler: RequestHandler {
    public typealias Request = DescribeClusterRequest
    public static let versions: ClosedRange<Int16> = 0...1

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: DescribeClusterRequest, context: RequestContext) async throws -> DescribeClusterResponse? {
        let image = services.metadata.image
        var response = DescribeClusterResponse()
        response.clusterId = image.clusterId
        response.controllerId = services.reportedControllerId(image)
        if request.includeClusterAuthorizedOperations { response.clusterAuthorizedOperations = services.authorizedOperations(context, .cluster, AclResources.clusterName) }
        if context.apiVersion >= 1 {
            response.endpointType = request.endpointType
            guard request.endpointType == 1 else {
                response.errorCode = ErrorCode.unsupportedEndpointType.rawValue
                response.errorMessage = "Only broker endpoints (type 1) are served by a broker"
                return response
            }
        }
        for b in image.liveBrokers {
            guard let e = b.endpoints.first(where: { $0.listener == context.listenerName }) ?? b.endpoints.first else { continue }
            response.brokers.append(.init(brokerId: b.id, host: e.host, port: e.port, rack: b.rack))
        }
        return response
    }
}
