import KafkaProtocol
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Issue 9 item 12: authorized operations, as Kafka reports them without an authorizer.
final class AuthorizedOperationsTests: XCTestCase {
    static let topicOps: Int32 = 0b1101_1111_1000      // READ 3 .. DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11
    static let clusterOps: Int32 = 0b1_1111_1010_0000  // CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE/ALTER_CONFIGS, IDEMPOTENT_WRITE 12

    func testMetadataFillsInTopicAndClusterOperationsWhenAsked() async throws {
        let h = try BrokerHarness(properties: "auto.create.topics.enable=false")
        defer { h.cleanup() }
        try h.createTopic("t")
        for v in MetadataHandler.versions where v >= 8 {
            var req = MetadataRequest()
            req.topics = [.init(name: "t"), .init(name: "missing")]
            req.includeTopicAuthorizedOperations = true
            req.includeClusterAuthorizedOperations = v <= 10
            let resp = try XCTUnwrapAsync(try await h.send(req, version: v))
            XCTAssertEqual(resp.topics.map(\.topicAuthorizedOperations), [Self.topicOps, Self.topicOps], "v\(v): errors included, as Kafka")
            XCTAssertEqual(resp.clusterAuthorizedOperations, v <= 10 ? Self.clusterOps : Int32.min, "v\(v)")
            let plain = try XCTUnwrapAsync(try await h.send(MetadataRequest(topics: [.init(name: "t")]), version: v))
            XCTAssertEqual(plain.topics.first?.topicAuthorizedOperations, Int32.min, "not requested")
            XCTAssertEqual(plain.clusterAuthorizedOperations, Int32.min)
        }
        XCTAssertEqual(AuthorizedOperations.operations(in: Self.clusterOps).map(\.rawValue), [5, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(AuthorizedOperations.group, 0b1101_0100_1000, "READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS")
    }
}
