import KafkaProtocol
import Logging
import NIOCore
import XCTest
@testable import Broker

/// The controller side of forwarding (Envelope, 58) with an authorizer: the sender (the
/// forwarding broker's principal on the controller listener) needs CLUSTER_ACTION on the
/// cluster, as Kafka's `ControllerApis.handleEnvelopeRequest`; the inner request then runs as
/// the client's principal. And the BROKER config resource rules on each side of forwarding.
final class EnvelopeAuthorizationTests: XCTestCase {
    private static let secured = """
        authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
        super.users=User:admin;User:broker
        """

    private func handler(_ h: BrokerHarness, active: Bool = true) -> EnvelopeHandler {
        let services = h.services
        return EnvelopeHandler(target: h.registry, isActiveController: { active },
                               authorize: { services.authorize($0, $1, $2, $3) })
    }

    /// The controller listener's connection from the forwarding broker, as `sender`.
    private func context(sender: String) -> RequestContext {
        RequestContext(apiVersion: 0, correlationId: 1, clientId: "broker-2-to-controller", clientHost: "127.0.0.1",
                       connectionId: 9, listenerName: "CONTROLLER", principal: sender)
    }

    private func envelope<R: KafkaRequest>(_ inner: R, version: Int16, client: String) throws -> EnvelopeRequest {
        var data = ByteBuffer()
        try inner.encode(into: &data, version: version, correlationId: 77, clientId: "client")
        var e = EnvelopeRequest()
        e.requestData = data
        e.requestPrincipal = ByteBuffer(string: client)
        e.clientHostAddress = ByteBuffer(bytes: [10, 0, 0, 5])
        return e
    }

    private func createTopics(_ name: String) -> CreateTopicsRequest {
        var request = CreateTopicsRequest()
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = name; topic.numPartitions = 1; topic.replicationFactor = 1
        request.topics = [topic]
        request.timeoutMs = 5000
        return request
    }

    private func inner<R: KafkaResponse>(_ response: EnvelopeResponse?, _: R.Type, version: Int16) throws -> R {
        var data = try XCTUnwrap(response?.responseData, "no inner response")
        let (header, body) = try R.decode(from: &data, version: version)
        XCTAssertEqual(header.correlationId, 77)
        return body
    }

    private func clusterAcl(_ principal: String, _ operation: AclOperation) -> AclBinding {
        AclBinding(id: KafkaUUID.random().description, resourceType: .cluster, resourceName: AclResources.clusterName,
                   patternType: .literal, principal: principal, host: "*", operation: operation, permission: .allow)
    }

    func testASenderWithoutClusterActionIsRefusedAndTheInnerRequestIsNotRun() async throws {
        let h = try BrokerHarness(properties: Self.secured)
        defer { h.cleanup() }
        // User:other may alter and describe the cluster, which does not imply CLUSTER_ACTION.
        _ = try await h.services.controller.createAcls([clusterAcl("User:other", .alter), clusterAcl("User:other", .describe)])
        let envelopeHandler = handler(h)
        // The client (a super user) could create the topic; the envelope's sender decides.
        let request = try envelope(createTopics("orders"), version: 7, client: "User:admin")
        for sender in [ConnectionInfo.anonymous, "User:other", "User:alice"] {
            let response = try await envelopeHandler.handle(request, context: context(sender: sender))
            XCTAssertEqual(response?.errorCode, ErrorCode.clusterAuthorizationFailed.rawValue, sender)
            XCTAssertNil(response?.responseData, "\(sender): no inner response")
        }
        XCTAssertNil(h.services.metadata.image.topics["orders"], "the inner request never ran")

        // Checked before the controller state, as Kafka: an unauthorized sender is told so even
        // by a node that is not the active controller.
        let inactive = try await handler(h, active: false).handle(request, context: context(sender: "User:other"))
        XCTAssertEqual(inactive?.errorCode, ErrorCode.clusterAuthorizationFailed.rawValue)
        let inactiveAllowed = try await handler(h, active: false).handle(request, context: context(sender: "User:broker"))
        XCTAssertEqual(inactiveAllowed?.errorCode, ErrorCode.notController.rawValue)
        XCTAssertNil(h.services.metadata.image.topics["orders"])
    }

    func testTheBrokersPrincipalAsSuperUserOrWithClusterActionForwards() async throws {
        let h = try BrokerHarness(properties: Self.secured)
        defer { h.cleanup() }
        _ = try await h.services.controller.createAcls([clusterAcl("User:broker-3", .clusterAction)])
        let envelopeHandler = handler(h)

        let bySuperUser = try await envelopeHandler.handle(try envelope(createTopics("orders"), version: 7, client: "User:admin"),
                                                           context: context(sender: "User:broker"))
        XCTAssertEqual(bySuperUser?.errorCode, 0)
        XCTAssertEqual(try inner(bySuperUser, CreateTopicsResponse.self, version: 7).topics.map(\.errorCode), [0])
        XCTAssertNotNil(h.services.metadata.image.topics["orders"])

        let byAcl = try await envelopeHandler.handle(try envelope(createTopics("payments"), version: 7, client: "User:admin"),
                                                     context: context(sender: "User:broker-3"))
        XCTAssertEqual(byAcl?.errorCode, 0)
        XCTAssertEqual(try inner(byAcl, CreateTopicsResponse.self, version: 7).topics.map(\.errorCode), [0])
        XCTAssertNotNil(h.services.metadata.image.topics["payments"])

        // The inner request is authorized as the client, not as the broker that forwarded it.
        let byClient = try await envelopeHandler.handle(try envelope(createTopics("secret"), version: 7, client: "User:alice"),
                                                        context: context(sender: "User:broker"))
        XCTAssertEqual(byClient?.errorCode, 0)
        XCTAssertEqual(try inner(byClient, CreateTopicsResponse.self, version: 7).topics.map(\.errorCode),
                       [ErrorCode.topicAuthorizationFailed.rawValue])
        XCTAssertNil(h.services.metadata.image.topics["secret"])
    }

    func testWithoutAnAuthorizerAnySenderForwards() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        let response = try await handler(h).handle(try envelope(createTopics("orders"), version: 7, client: ConnectionInfo.anonymous),
                                                   context: context(sender: ConnectionInfo.anonymous))
        XCTAssertEqual(response?.errorCode, 0)
        XCTAssertNotNil(h.services.metadata.image.topics["orders"])
    }

    // MARK: BROKER config resources: the receiving broker checks the id, the controller does not

    private func incremental(_ name: String, _ key: String = "num.replica.fetchers", _ value: String = "2") -> IncrementalAlterConfigsRequest {
        var request = IncrementalAlterConfigsRequest()
        request.resources = [.init(resourceType: 4, resourceName: name, configs: [.init(name: key, configOperation: 0, value: value)])]
        return request
    }

    func testAnotherBrokersIdIsRefusedDirectlyAndAcceptedWhenForwarded() async throws {
        let h = try BrokerHarness()   // node 1
        defer { h.cleanup() }
        let direct = try await h.send(incremental("2"), version: 1)
        XCTAssertEqual(direct?.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue])
        XCTAssertEqual(direct?.responses.first?.errorMessage, "Unexpected broker id, expected 1, but received 2")
        let notANumber = try await h.send(incremental("two"), version: 0)
        XCTAssertEqual(notANumber?.responses.first?.errorMessage, "Node id must be an integer, but it is: two")
        var legacy = AlterConfigsRequest()
        legacy.resources = [.init(resourceType: 4, resourceName: "2", configs: [.init(name: "num.replica.fetchers", value: "2")])]
        let legacyDirect = try await h.send(legacy, version: 0)
        XCTAssertEqual(legacyDirect?.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue])
        XCTAssertEqual(legacyDirect?.responses.first?.errorMessage, "Unexpected broker id, expected 1, but received 2")
        XCTAssertNil(h.services.metadata.image.brokerConfigs["2"])
        // This broker's own id and the cluster default are fine.
        let own = try await h.send(incremental("1"), version: 1)
        XCTAssertEqual(own?.responses.map(\.errorCode), [0])

        // Forwarded (the broker that received it checked the id): the controller takes any
        // non-negative broker id, as Kafka's ControllerConfigurationValidator.
        let forwarded = try await handler(h).handle(try envelope(incremental("2"), version: 1, client: ConnectionInfo.anonymous),
                                                    context: context(sender: ConnectionInfo.anonymous))
        XCTAssertEqual(try inner(forwarded, IncrementalAlterConfigsResponse.self, version: 1).responses.map(\.errorCode), [0])
        XCTAssertEqual(h.services.metadata.image.brokerConfigs["2"]?["num.replica.fetchers"], "2")
        for (name, message) in [("two", "Unable to parse broker name as a base 10 number."), ("-3", "Invalid negative broker ID.")] {
            let refused = try await handler(h).handle(try envelope(incremental(name), version: 1, client: ConnectionInfo.anonymous),
                                                      context: context(sender: ConnectionInfo.anonymous))
            let result = try inner(refused, IncrementalAlterConfigsResponse.self, version: 1).responses.first
            XCTAssertEqual(result?.errorCode, ErrorCode.invalidRequest.rawValue, name)
            XCTAssertEqual(result?.errorMessage, message)
        }
    }

    /// Kafka's broker checks the id before authorization (`ConfigAdminManager.preprocess` runs
    /// first): a principal without ALTER_CONFIGS naming another broker gets INVALID_REQUEST.
    func testTheIdIsCheckedBeforeAuthorization() async throws {
        let h = try BrokerHarness(properties: Self.secured)
        defer { h.cleanup() }
        let other = try await h.send(incremental("2"), version: 1, principal: "User:alice")
        XCTAssertEqual(other?.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue])
        let own = try await h.send(incremental("1"), version: 1, principal: "User:alice")
        XCTAssertEqual(own?.responses.map(\.errorCode), [ErrorCode.clusterAuthorizationFailed.rawValue])
    }
}
