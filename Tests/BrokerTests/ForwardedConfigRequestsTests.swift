import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// A broker's own part of (Incremental)AlterConfigs before forwarding (Kafka's
/// `ConfigAdminManager.preprocess`): another broker's id is refused here, per resource; the
/// rest is forwarded and the answers are put back in the client's order.
final class ForwardedConfigRequestsTests: XCTestCase {
    private let node1 = ForwardedConfigRequests(nodeId: 1)

    private func frame<R: KafkaRequest>(_ request: R, version: Int16) throws -> ByteBuffer {
        var b = ByteBuffer()
        try request.encode(into: &b, version: version, correlationId: 42, clientId: "admin-client")
        return b
    }

    private func decodeClientFrame<R: KafkaResponse>(_ framed: ByteBuffer, _: R.Type, version: Int16) throws -> R {
        var b = framed
        XCTAssertEqual(Int(b.readInteger(as: Int32.self) ?? -1), b.readableBytes, "size prefix")
        let (header, body) = try R.decode(from: &b, version: version)
        XCTAssertEqual(header.correlationId, 42)
        XCTAssertEqual(b.readableBytes, 0)
        return body
    }

    private func incremental(_ resources: [(Int8, String)]) -> IncrementalAlterConfigsRequest {
        var r = IncrementalAlterConfigsRequest()
        r.validateOnly = true
        r.resources = resources.map { .init(resourceType: $0.0, resourceName: $0.1,
                                            configs: [.init(name: "num.replica.fetchers", configOperation: 0, value: "2")]) }
        return r
    }

    func testOtherBrokersAreAnsweredHereAndTheRestForwardedInOrder() throws {
        for version: Int16 in [0, 1] {
            let request = incremental([(4, "2"), (2, "orders"), (4, "1"), (4, ""), (4, "x")])
            guard case .forward(var remaining, let reassemble) = node1.plan(frame: try frame(request, version: version)) else {
                return XCTFail("v\(version): expected a partial forward")
            }
            let header = try RequestHeader.decode(from: &remaining)
            XCTAssertEqual(header.requestApiKey, ApiKey.incrementalAlterConfigs.rawValue)
            XCTAssertEqual(header.requestApiVersion, version)
            XCTAssertEqual(header.correlationId, 42)
            XCTAssertEqual(header.clientId, "admin-client")
            let forwarded = try IncrementalAlterConfigsRequest(from: &remaining, version: version)
            XCTAssertEqual(forwarded.resources.map(\.resourceName), ["orders", "1", ""])
            XCTAssertEqual(forwarded.resources.first?.configs, request.resources[1].configs)
            XCTAssertTrue(forwarded.validateOnly)

            // The controller answers in its own order and leaves one out.
            var answer = IncrementalAlterConfigsResponse()
            answer.throttleTimeMs = 5
            answer.responses = [.init(errorCode: 0, errorMessage: nil, resourceType: 4, resourceName: ""),
                                .init(errorCode: ErrorCode.invalidConfig.rawValue, errorMessage: "bad", resourceType: 2, resourceName: "orders")]
            var answerFrame = ByteBuffer()
            try answer.encode(into: &answerFrame, version: version, correlationId: 42)
            let merged = try decodeClientFrame(try reassemble(answerFrame), IncrementalAlterConfigsResponse.self, version: version)
            XCTAssertEqual(merged.throttleTimeMs, 5)
            XCTAssertEqual(merged.responses.map(\.resourceName), ["2", "orders", "1", "", "x"])
            XCTAssertEqual(merged.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue, ErrorCode.invalidConfig.rawValue,
                                                               ErrorCode.unknownServerError.rawValue, 0, ErrorCode.invalidRequest.rawValue])
            XCTAssertEqual(merged.responses[0].errorMessage, "Unexpected broker id, expected 1, but received 2")
            XCTAssertEqual(merged.responses[1].errorMessage, "bad")
            XCTAssertEqual(merged.responses[4].errorMessage, "Node id must be an integer, but it is: x")
        }
    }

    func testNothingLeftToForwardIsAnsweredHere() throws {
        for version: Int16 in [0, 1, 2] {
            var request = AlterConfigsRequest()
            request.resources = [.init(resourceType: 4, resourceName: "3", configs: [.init(name: "num.replica.fetchers", value: "2")])]
            guard case .answer(let framed) = node1.plan(frame: try frame(request, version: version)) else {
                return XCTFail("v\(version): expected an answer without forwarding")
            }
            let response = try decodeClientFrame(framed, AlterConfigsResponse.self, version: version)
            XCTAssertEqual(response.responses.map(\.resourceType), [4])
            XCTAssertEqual(response.responses.map(\.resourceName), ["3"])
            XCTAssertEqual(response.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue])
            XCTAssertEqual(response.responses.first?.errorMessage, "Unexpected broker id, expected 1, but received 3")
        }
    }

    /// Every copy of a resource named twice is refused here: the reassembly matches the
    /// controller's answers by resource, so it could not tell the copies apart.
    func testAResourceNamedTwiceIsRefusedHereAndTheRestForwarded() throws {
        let request = incremental([(2, "orders"), (4, ""), (2, "orders")])
        guard case .forward(var remaining, let reassemble) = node1.plan(frame: try frame(request, version: 1)) else {
            return XCTFail("expected a partial forward")
        }
        _ = try RequestHeader.decode(from: &remaining)
        let forwarded = try IncrementalAlterConfigsRequest(from: &remaining, version: 1)
        XCTAssertEqual(forwarded.resources.map(\.resourceName), [""])
        var answer = IncrementalAlterConfigsResponse()
        answer.responses = [.init(errorCode: 0, errorMessage: nil, resourceType: 4, resourceName: "")]
        var answerFrame = ByteBuffer()
        try answer.encode(into: &answerFrame, version: 1, correlationId: 42)
        let merged = try decodeClientFrame(try reassemble(answerFrame), IncrementalAlterConfigsResponse.self, version: 1)
        XCTAssertEqual(merged.responses.map(\.errorCode), [ErrorCode.invalidRequest.rawValue, 0, ErrorCode.invalidRequest.rawValue])
        XCTAssertEqual(merged.responses[2].errorMessage, "Each resource must appear at most once.")
    }

    func testRequestsWithNothingToRefuseAreForwardedAsTheyCame() throws {
        let ok = incremental([(4, "1"), (4, ""), (2, "orders")])
        guard case .forwardUnchanged = node1.plan(frame: try frame(ok, version: 1)) else { return XCTFail("expected unchanged") }
        var create = CreateTopicsRequest()
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = "2"; topic.numPartitions = 1; topic.replicationFactor = 1
        create.topics = [topic]
        guard case .forwardUnchanged = node1.plan(frame: try frame(create, version: 7)) else { return XCTFail("expected unchanged") }
        // Undecodable: the controller answers it.
        var garbage = ByteBuffer()
        garbage.writeInteger(ApiKey.incrementalAlterConfigs.rawValue); garbage.writeInteger(Int16(1)); garbage.writeInteger(Int32(3))
        garbage.writeBytes([0xff, 0xff])
        guard case .forwardUnchanged = node1.plan(frame: garbage) else { return XCTFail("expected unchanged") }
    }
}
