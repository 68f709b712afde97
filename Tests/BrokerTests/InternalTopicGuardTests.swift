import KafkaProtocol
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Issue 9 item 9: internal topics are not deleted (nor their records), and the metadata log
/// is not a topic one can create.
final class InternalTopicGuardTests: XCTestCase {
    func testInternalTopicsAreNotDeletedByNameOrIdAtAnyVersion() async throws {
        let h = try BrokerHarness(properties: "offsets.topic.num.partitions=2")
        defer { h.cleanup() }
        _ = try await ConsumerOffsetsLogStore(services: h.services)   // creates __consumer_offsets as the broker does
        try h.createTopic("__transaction_state")
        try h.createTopic("ordinary")
        let names = ["__consumer_offsets", "__transaction_state", "__cluster_metadata", "__share_group_state"]
        for v in DeleteTopicsHandler.versions {
            var del = DeleteTopicsRequest()
            if v >= 6 { del.topics = names.map { .init(name: $0, topicId: .zero) } } else { del.topicNames = names }
            let results = try XCTUnwrapAsync(try await h.send(del, version: v)).responses
            XCTAssertEqual(results.map(\.errorCode), Array(repeating: ErrorCode.invalidTopicException.rawValue, count: 4), "v\(v)")
            if v >= 5 {
                XCTAssertEqual(results.first?.errorMessage,
                               "Topic __consumer_offsets is a Kafka internal topic and is not allowed to be deleted")
            }
        }
        let offsetsId = try XCTUnwrap(h.services.metadata.image.topics["__consumer_offsets"]?.id)
        var byId = DeleteTopicsRequest()
        byId.topics = [.init(name: nil, topicId: offsetsId)]
        let idResult = try await h.send(byId, version: 6)?.responses.first
        XCTAssertEqual(idResult?.errorCode, ErrorCode.invalidTopicException.rawValue, "by topic id too")
        XCTAssertNotNil(h.services.metadata.image.topics["__consumer_offsets"])
        XCTAssertNotNil(h.services.replicas.partition("__consumer_offsets", 1), "still hosted")
        XCTAssertNotNil(h.services.metadata.image.topics["__transaction_state"])

        var ordinary = DeleteTopicsRequest()
        ordinary.topicNames = ["ordinary"]
        do { let value = try await h.send(ordinary, version: 4)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
    }

    func testDeleteRecordsOfInternalTopicAndCreatingClusterMetadataAreRefusedAsKafkaDoes() async throws {
        let h = try BrokerHarness(properties: "offsets.topic.num.partitions=1")
        defer { h.cleanup() }
        _ = try await ConsumerOffsetsLogStore(services: h.services)
        var req = DeleteRecordsRequest()
        req.topics = [.init(name: "__consumer_offsets", partitions: [.init(partitionIndex: 0, offset: -1)])]
        let p = try await h.send(req, version: 2)?.topics.first?.partitions.first
        XCTAssertEqual(p?.errorCode, ErrorCode.invalidTopicException.rawValue)
        XCTAssertEqual(p?.lowWatermark, -1)

        var create = CreateTopicsRequest()
        create.topics = [.init(name: "__cluster_metadata", numPartitions: 1, replicationFactor: 1)]
        let r = try await h.send(create, version: 5)?.topics.first
        XCTAssertEqual(r?.errorCode, ErrorCode.topicAuthorizationFailed.rawValue, "Kafka's ControllerApis answer")
        XCTAssertNil(h.services.metadata.image.topics["__cluster_metadata"])
    }
}
