import KafkaClient
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization
import XCTest
@testable import Broker

/// Who handled what (client hosts, in order).
private final class Calls: Sendable {
    private let list = Mutex<[String]>([])
    func append(_ s: String) { list.withLock { $0.append(s) } }
    var all: [String] { list.withLock { $0 } }
}

/// A CreateTopics handler that answers with its own name in every topic's error message, so a
/// test can tell which node handled a request.
private struct NamedCreateTopics: RequestHandler {
    typealias Request = CreateTopicsRequest
    static let versions: ClosedRange<Int16> = 0...7
    let node: String
    let calls: Calls
    func handle(_ request: CreateTopicsRequest, context: RequestContext) async throws -> CreateTopicsResponse? {
        calls.append(context.clientHost)
        var response = CreateTopicsResponse()
        response.topics = request.topics.map {
            var r = CreateTopicsResponse.CreatableTopicResult()
            r.name = $0.name; r.errorCode = 0; r.errorMessage = "handled by \(node)"
            return r
        }
        return response
    }
}

/// An IncrementalAlterConfigs handler that records the resources it was asked about and
/// accepts them all.
private struct RecordingIncrementalAlterConfigs: RequestHandler {
    typealias Request = IncrementalAlterConfigsRequest
    static let versions: ClosedRange<Int16> = 0...1
    let calls: Calls
    func handle(_ request: IncrementalAlterConfigsRequest, context: RequestContext) async throws -> IncrementalAlterConfigsResponse? {
        var response = IncrementalAlterConfigsResponse()
        response.responses = request.resources.map {
            calls.append("\($0.resourceType):\($0.resourceName)")
            return .init(errorCode: 0, errorMessage: nil, resourceType: $0.resourceType, resourceName: $0.resourceName)
        }
        return response
    }
}

/// A controller's Envelope handler that answers every envelope the same way: an Envelope error
/// code, or (errorCode 0) `responseData` as the inner response.
private struct FixedEnvelope: RequestHandler {
    typealias Request = EnvelopeRequest
    static let versions: ClosedRange<Int16> = 0...0
    let errorCode: ErrorCode
    var responseData: ByteBuffer? = nil
    func handle(_ request: EnvelopeRequest, context: RequestContext) async throws -> EnvelopeResponse? {
        EnvelopeResponse(responseData: responseData, errorCode: errorCode.rawValue)
    }
}

/// Broker -> controller forwarding (KIP-590) over real loopback sockets: a client's CreateTopics
/// sent to a broker that is not the controller is answered by the controller, through an
/// Envelope, and a controller that moved (NOT_CONTROLLER) is looked up again.
final class ForwardingTests: XCTestCase {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    private var servers: [KafkaServer] = []
    private var tasks: [Task<Void, Error>] = []

    override func tearDown() async throws {
        for s in servers { await s.shutdown() }
        for t in tasks { _ = try? await t.value }
        try await group.shutdownGracefully()
    }

    private func serve(_ dispatcher: any RequestDispatcher, listener: String) async throws -> Int {
        let server = KafkaServer(configuration: .init(host: "127.0.0.1", port: 0, listenerName: listener),
                                 dispatcher: dispatcher, group: group, logger: Logger(label: "test"))
        let address = try await server.bind()
        servers.append(server)
        tasks.append(Task { try await server.run() })
        return address.port!
    }

    /// A controller node: its own admin handlers behind an Envelope handler on the controller listener.
    private func controller(_ name: String, active: @escaping @Sendable () -> Bool, calls: Calls) async throws -> Int {
        var admin = HandlerRegistry(logger: Logger(label: "test"))
        admin.register(NamedCreateTopics(node: name, calls: calls))
        admin.registerApiVersions()
        var listener = HandlerRegistry(logger: Logger(label: "test"))
        listener.register(EnvelopeHandler(target: admin, isActiveController: active))
        listener.registerApiVersions()
        return try await serve(listener, listener: "CONTROLLER")
    }

    private func createTopic(port: Int, name: String) async throws -> CreateTopicsResponse {
        let config = try ClientConfig(properties: ["bootstrap.servers": "127.0.0.1:\(port)"])
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: "127.0.0.1", port: port), nodeId: -1, config: config)
        defer { connection.close() }
        var request = CreateTopicsRequest()
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = name; topic.numPartitions = 1; topic.replicationFactor = 1
        request.topics = [topic]
        request.timeoutMs = 5000
        return try await connection.send(request, version: 7)
    }

    private func broker(locate: @escaping @Sendable () -> ControllerEndpoint?, localController: Bool = false,
                        timeoutMs: Int64 = 30_000) async throws -> (Int, Calls) {
        let localCalls = Calls()
        var local = HandlerRegistry(logger: Logger(label: "test"))
        local.register(NamedCreateTopics(node: "the broker itself", calls: localCalls))
        local.registerApiVersions()
        let channel = try ControllerChannel(clientId: "broker-9-to-controller", logger: Logger(label: "test"), locate: locate)
        var forwarding = ForwardingDispatcher(local: local, channel: channel, logger: Logger(label: "test"),
                                              isLocalController: { localController })
        forwarding.retryBackoffMs = 20
        forwarding.requestTimeoutMs = timeoutMs
        return (try await serve(forwarding, listener: "PLAINTEXT"), localCalls)
    }

    func testAdminRequestIsForwardedToTheActiveControllerWithTheClientAddress() async throws {
        let calls = Calls()
        let controllerPort = try await controller("controller 1", active: { true }, calls: calls)
        let (port, localCalls) = try await broker(locate: { ControllerEndpoint(nodeId: 1, host: "127.0.0.1", port: controllerPort) })
        let response = try await createTopic(port: port, name: "orders")
        XCTAssertEqual(response.topics.map { $0.name }, ["orders"])
        XCTAssertEqual(response.topics.first?.errorMessage, "handled by controller 1")
        XCTAssertEqual(calls.all, ["127.0.0.1"], "the controller sees the client's address, not the broker's")
        XCTAssertEqual(localCalls.all, [])
    }

    func testTheActiveControllerHandlesLocallyWithoutForwarding() async throws {
        let (port, localCalls) = try await broker(locate: { nil }, localController: true)
        let response = try await createTopic(port: port, name: "t")
        XCTAssertEqual(response.topics.first?.errorMessage, "handled by the broker itself")
        XCTAssertEqual(localCalls.all.count, 1)
    }

    func testAControllerThatMovedIsLookedUpAgain() async throws {
        let oldCalls = Calls(), newCalls = Calls()
        let oldPort = try await controller("old controller", active: { false }, calls: oldCalls)
        let newPort = try await controller("new controller", active: { true }, calls: newCalls)
        // The broker first believes the old controller leads; after its NOT_CONTROLLER the
        // quorum has told the broker about the new one.
        let lookups = Calls()
        let (port, _) = try await broker(locate: {
            lookups.append("lookup")
            let n = lookups.all.count
            return ControllerEndpoint(nodeId: n <= 1 ? 1 : 2, host: "127.0.0.1", port: n <= 1 ? oldPort : newPort)
        })
        let response = try await createTopic(port: port, name: "t")
        XCTAssertEqual(response.topics.first?.errorMessage, "handled by new controller")
        XCTAssertEqual(oldCalls.all, [], "a controller that is not active never runs the request")
        XCTAssertEqual(newCalls.all.count, 1)
    }

    /// No controller until request.timeout.ms: the client gets its CreateTopics response with
    /// REQUEST_TIMED_OUT on every topic (Kafka's `ForwardingManager` on timeout), not a closed
    /// connection, and the connection stays usable.
    func testNoControllerUntilTheDeadlineAnswersRequestTimedOutPerTopic() async throws {
        let (port, localCalls) = try await broker(locate: { nil }, timeoutMs: 200)
        let config = try ClientConfig(properties: ["bootstrap.servers": "127.0.0.1:\(port)"])
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: "127.0.0.1", port: port), nodeId: -1, config: config)
        defer { connection.close() }
        for version: Int16 in [0, 7] {
            var request = CreateTopicsRequest()
            request.topics = ["a", "b"].map { CreateTopicsRequest.CreatableTopic(name: $0, numPartitions: 1, replicationFactor: 1) }
            let response = try await connection.send(request, version: version)
            XCTAssertEqual(response.topics.map(\.name), ["a", "b"], "v\(version)")
            XCTAssertEqual(response.topics.map(\.errorCode), [ErrorCode.requestTimedOut.rawValue, ErrorCode.requestTimedOut.rawValue], "v\(version)")
        }
        XCTAssertEqual(localCalls.all, [], "a broker that is not the controller never handles it itself")
    }

    /// A request the controller cannot parse (garbage after a CreateTopics header) is answered
    /// INVALID_REQUEST in the envelope: the broker does not retry it until request.timeout.ms
    /// (the interop suite's garbage frames hung 30 s on a 3-node cluster), and as the body does
    /// not parse here either there is no response to fill in: the connection is closed at once.
    func testARequestTheControllerRefusesClosesAtOnce() async throws {
        let calls = Calls()
        let controllerPort = try await controller("controller 1", active: { true }, calls: calls)
        var local = HandlerRegistry(logger: Logger(label: "test"))
        local.register(NamedCreateTopics(node: "the broker itself", calls: Calls()))
        let channel = try ControllerChannel(clientId: "broker-9-to-controller", logger: Logger(label: "test"),
                                            locate: { ControllerEndpoint(nodeId: 1, host: "127.0.0.1", port: controllerPort) })
        var forwarding = ForwardingDispatcher(local: local, channel: channel, logger: Logger(label: "test"),
                                              isLocalController: { false })
        forwarding.retryBackoffMs = 20
        forwarding.requestTimeoutMs = 30_000
        var frame = ByteBuffer()
        frame.writeInteger(ApiKey.createTopics.rawValue)
        frame.writeInteger(Int16(4))
        frame.writeInteger(Int32(12))
        frame.writeInteger(Int16(7)); frame.writeString("garbage")
        frame.writeBytes([0x53])
        let started = ContinuousClock.now
        let outcome = await forwarding.dispatch(frame: frame, connection: ConnectionInfo(
            connectionId: 1, clientHost: "127.0.0.1", clientPort: 5555, listenerName: "PLAINTEXT"))
        guard case .close(let reason) = outcome else { return XCTFail("expected a close, got \(outcome)") }
        XCTAssertTrue(reason.contains("INVALID_REQUEST"), reason)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5), "closed at once, not after request.timeout.ms")
        XCTAssertEqual(calls.all, [], "the handler never ran")
    }

    /// A broker forwarding to a controller whose Envelope handler is `envelope`.
    private func forwardingTo(_ envelope: some RequestHandler, preprocess: (@Sendable (ByteBuffer) -> ForwardingPlan)? = nil) async throws -> ForwardingDispatcher {
        var listener = HandlerRegistry(logger: Logger(label: "test"))
        listener.register(envelope)
        listener.registerApiVersions()
        let controllerPort = try await serve(listener, listener: "CONTROLLER")
        var local = HandlerRegistry(logger: Logger(label: "test"))
        local.register(NamedCreateTopics(node: "the broker itself", calls: Calls()))
        local.register(RecordingIncrementalAlterConfigs(calls: Calls()))
        let channel = try ControllerChannel(clientId: "broker-1-to-controller", logger: Logger(label: "test"),
                                            locate: { ControllerEndpoint(nodeId: 3, host: "127.0.0.1", port: controllerPort) })
        var forwarding = ForwardingDispatcher(local: local, channel: channel, logger: Logger(label: "test"), isLocalController: { false })
        forwarding.retryBackoffMs = 20
        forwarding.requestTimeoutMs = 30_000
        forwarding.preprocess = preprocess
        return forwarding
    }

    private let client = ConnectionInfo(connectionId: 1, clientHost: "127.0.0.1", clientPort: 5555, listenerName: "PLAINTEXT")

    private func createTopicsFrame(_ names: [String], version: Int16) throws -> ByteBuffer {
        var request = CreateTopicsRequest()
        request.topics = names.map { CreateTopicsRequest.CreatableTopic(name: $0, numPartitions: 1, replicationFactor: 1) }
        var frame = ByteBuffer()
        try request.encode(into: &frame, version: version, correlationId: 77, clientId: "admin")
        return frame
    }

    /// The response frame of a `.respond` outcome, decoded as `R` at `version`.
    private func decoded<R: KafkaResponse>(_ outcome: DispatchOutcome, as _: R.Type, version: Int16,
                                           file: StaticString = #filePath, line: UInt = #line) throws -> R? {
        guard case .respond(var bytes) = outcome else {
            XCTFail("expected a response, got \(outcome)", file: file, line: line)
            return nil
        }
        XCTAssertEqual(bytes.readInteger(as: Int32.self).map(Int.init), bytes.readableBytes, file: file, line: line)
        let (header, body) = try R.decode(from: &bytes, version: version)
        XCTAssertEqual(header.correlationId, 77, file: file, line: line)
        return body
    }

    /// The controller answers a well-formed request's envelope with INVALID_REQUEST (here: it
    /// has no CreateTopics handler) or CLUSTER_AUTHORIZATION_FAILED: the client gets its
    /// CreateTopics response with UNKNOWN_SERVER_ERROR on every topic, at once (Kafka's
    /// `ForwardingManager`: an envelope error is not the client's to see).
    func testAnEnvelopeErrorIsUnknownServerErrorOnEveryEntry() async throws {
        let calls = Calls()
        var admin = HandlerRegistry(logger: Logger(label: "test"))
        admin.register(RecordingIncrementalAlterConfigs(calls: calls))
        admin.registerApiVersions()
        let cannotRun = try await forwardingTo(EnvelopeHandler(target: admin, isActiveController: { true }))
        let refusing = try await forwardingTo(EnvelopeHandler(target: admin, isActiveController: { true },
                                                              authorize: { _, _, _, _ in false }))
        for forwarding in [cannotRun, refusing] {
            for version: Int16 in [0, 5, 7] {
                let started = ContinuousClock.now
                let outcome = await forwarding.dispatch(frame: try createTopicsFrame(["a", "b", "c"], version: version), connection: client)
                let response = try decoded(outcome, as: CreateTopicsResponse.self, version: version)
                XCTAssertEqual(response?.topics.map(\.name), ["a", "b", "c"], "v\(version)")
                XCTAssertEqual(response?.topics.map(\.errorCode), Array(repeating: ErrorCode.unknownServerError.rawValue, count: 3), "v\(version)")
                XCTAssertEqual(response?.topics.compactMap(\.errorMessage), version >= 1 ? [] : ["", "", ""], "no message: the envelope error stays in the log")
                XCTAssertLessThan(ContinuousClock.now - started, .seconds(5), "answered at once, not after request.timeout.ms")
            }
        }
        XCTAssertEqual(calls.all, [])
    }

    /// UNSUPPORTED_VERSION in the envelope: the controller does not know the client's version,
    /// so the connection is closed and the client re-negotiates versions (as Kafka).
    func testUnsupportedVersionInTheEnvelopeClosesTheConnection() async throws {
        let forwarding = try await forwardingTo(FixedEnvelope(errorCode: .unsupportedVersion))
        let outcome = await forwarding.dispatch(frame: try createTopicsFrame(["a", "b"], version: 7), connection: client)
        guard case .close(let reason) = outcome else { return XCTFail("expected a close, got \(outcome)") }
        XCTAssertTrue(reason.contains("UNSUPPORTED_VERSION"), reason)
    }

    /// With part of the request answered by the broker (a BROKER resource naming another
    /// broker), a failed forward puts the error on the forwarded resources only: the broker's
    /// own answers stay, as Kafka reassembles `getErrorResponse` of the forwarded remainder.
    func testAFailedForwardKeepsTheBrokersOwnAnswers() async throws {
        let forwarding = try await forwardingTo(FixedEnvelope(errorCode: .clusterAuthorizationFailed),
                                                preprocess: ForwardedConfigRequests(nodeId: 1).plan)
        var request = IncrementalAlterConfigsRequest()
        request.resources = ["2", "1", ""].map { .init(resourceType: 4, resourceName: $0, configs: [.init(name: "num.replica.fetchers", configOperation: 0, value: "2")]) }
        var frame = ByteBuffer()
        try request.encode(into: &frame, version: 1, correlationId: 77, clientId: "admin")
        let response = try decoded(await forwarding.dispatch(frame: frame, connection: client), as: IncrementalAlterConfigsResponse.self, version: 1)
        XCTAssertEqual(response?.responses.map(\.resourceName), ["2", "1", ""])
        XCTAssertEqual(response?.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue, ErrorCode.unknownServerError.rawValue,
                                                              ErrorCode.unknownServerError.rawValue])
        XCTAssertEqual(response?.responses.first?.errorMessage, "Unexpected broker id, expected 1, but received 2")
    }

    /// A controller answer that cannot be merged with the broker's own part (it does not
    /// decode): UNKNOWN_SERVER_ERROR on the forwarded resources, the broker's answers kept.
    func testAnAnswerThatCannotBeMergedIsUnknownServerError() async throws {
        let forwarding = try await forwardingTo(FixedEnvelope(errorCode: .none, responseData: ByteBuffer(bytes: [0, 0, 0, 77, 1])),
                                                preprocess: ForwardedConfigRequests(nodeId: 1).plan)
        var request = IncrementalAlterConfigsRequest()
        request.resources = ["1", "2"].map { .init(resourceType: 4, resourceName: $0, configs: []) }
        var frame = ByteBuffer()
        try request.encode(into: &frame, version: 0, correlationId: 77, clientId: "admin")
        let response = try decoded(await forwarding.dispatch(frame: frame, connection: client), as: IncrementalAlterConfigsResponse.self, version: 0)
        XCTAssertEqual(response?.responses.map(\.resourceName), ["1", "2"])
        XCTAssertEqual(response?.responses.map(\.errorCode), [ErrorCode.unknownServerError.rawValue, ErrorCode.invalidRequest.rawValue])
    }

    /// A controller answer that does not parse as the request's response (truncated here) is
    /// never passed on: the client gets UNKNOWN_SERVER_ERROR per topic (Kafka's parseResponse).
    func testAnAnswerThatDoesNotParseIsUnknownServerError() async throws {
        var good = ByteBuffer()
        try CreateTopicsResponse(topics: [.init(name: "a", errorCode: 0)]).encode(into: &good, version: 7, correlationId: 77)
        let truncated = good.getSlice(at: good.readerIndex, length: good.readableBytes - 3)!
        let forwarding = try await forwardingTo(FixedEnvelope(errorCode: .none, responseData: truncated))
        let response = try decoded(await forwarding.dispatch(frame: try createTopicsFrame(["a", "b"], version: 7), connection: client),
                                   as: CreateTopicsResponse.self, version: 7)
        XCTAssertEqual(response?.topics.map(\.errorCode), [ErrorCode.unknownServerError.rawValue, ErrorCode.unknownServerError.rawValue])
        // The same answer whole is passed on as it came.
        let passing = try await forwardingTo(FixedEnvelope(errorCode: .none, responseData: good))
        let ok = try decoded(await passing.dispatch(frame: try createTopicsFrame(["a"], version: 7), connection: client),
                             as: CreateTopicsResponse.self, version: 7)
        XCTAssertEqual(ok?.topics.map(\.name), ["a"])
        XCTAssertEqual(ok?.topics.map(\.errorCode), [0])
    }

    /// A BROKER config resource naming another broker is refused by the broker the client sent
    /// it to, as Kafka's `ConfigAdminManager.preprocess`; the controller, which accepts any
    /// broker id on a forwarded request, never sees it. The rest is forwarded.
    func testAnotherBrokersConfigIsRefusedBeforeForwarding() async throws {
        let calls = Calls()
        var admin = HandlerRegistry(logger: Logger(label: "test"))
        admin.register(RecordingIncrementalAlterConfigs(calls: calls))
        admin.registerApiVersions()
        var listener = HandlerRegistry(logger: Logger(label: "test"))
        listener.register(EnvelopeHandler(target: admin, isActiveController: { true }))
        listener.registerApiVersions()
        let controllerPort = try await serve(listener, listener: "CONTROLLER")
        var local = HandlerRegistry(logger: Logger(label: "test"))
        local.register(RecordingIncrementalAlterConfigs(calls: Calls()))
        local.registerApiVersions()
        let channel = try ControllerChannel(clientId: "broker-1-to-controller", logger: Logger(label: "test"),
                                            locate: { ControllerEndpoint(nodeId: 3, host: "127.0.0.1", port: controllerPort) })
        var forwarding = ForwardingDispatcher(local: local, channel: channel, logger: Logger(label: "test"), isLocalController: { false })
        forwarding.preprocess = ForwardedConfigRequests(nodeId: 1).plan
        let port = try await serve(forwarding, listener: "PLAINTEXT")

        let config = try ClientConfig(properties: ["bootstrap.servers": "127.0.0.1:\(port)"])
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: "127.0.0.1", port: port), nodeId: -1, config: config)
        defer { connection.close() }
        func alter(_ names: [String]) async throws -> IncrementalAlterConfigsResponse {
            var request = IncrementalAlterConfigsRequest()
            request.resources = names.map { .init(resourceType: 4, resourceName: $0, configs: [.init(name: "num.replica.fetchers", configOperation: 0, value: "2")]) }
            return try await connection.send(request, version: 1)
        }
        let mixed = try await alter(["2", "1", ""])
        XCTAssertEqual(mixed.responses.map(\.resourceName), ["2", "1", ""])
        XCTAssertEqual(mixed.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue, 0, 0])
        XCTAssertEqual(mixed.responses.first?.errorMessage, "Unexpected broker id, expected 1, but received 2")
        XCTAssertEqual(calls.all, ["4:1", "4:"], "the controller saw only this broker's id and the cluster default")
        let onlyOther = try await alter(["2"])
        XCTAssertEqual(onlyOther.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue])
        XCTAssertEqual(calls.all.count, 2, "nothing left to forward: answered by the broker alone")
    }

    func testEnvelopeWithANonForwardableRequestIsInvalidRequest() async throws {
        let handler = EnvelopeHandler(target: HandlerRegistry(logger: Logger(label: "t")), isActiveController: { true })
        var envelope = EnvelopeRequest()
        var produce = ByteBuffer()
        produce.writeInteger(ApiKey.produce.rawValue); produce.writeInteger(Int16(9)); produce.writeInteger(Int32(1))
        envelope.requestData = produce
        let context = RequestContext(apiVersion: 0, correlationId: 1, clientId: nil, clientHost: "127.0.0.1",
                                     connectionId: 1, listenerName: "CONTROLLER")
        let response = try await handler.handle(envelope, context: context)
        XCTAssertEqual(response?.errorCode, ErrorCode.invalidRequest.rawValue)
        envelope.requestData = ByteBuffer()
        let empty = try await handler.handle(envelope, context: context)
        XCTAssertEqual(empty?.errorCode, ErrorCode.invalidRequest.rawValue)
    }

    func testClientAddressBytesRoundTrip() {
        XCTAssertEqual(ForwardingDispatcher.addressBytes("10.1.2.3"), [10, 1, 2, 3])
        XCTAssertEqual(EnvelopeHandler.host(ByteBuffer(bytes: [10, 1, 2, 3])), "10.1.2.3")
        XCTAssertEqual(ForwardingDispatcher.addressBytes("::1").count, 16)
        XCTAssertEqual(ForwardingDispatcher.addressBytes("not an ip"), [])
        XCTAssertNil(EnvelopeHandler.host(ByteBuffer(bytes: [1, 2])))
    }
}
