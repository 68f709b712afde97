import KafkaProtocol
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Issue 9 item 11: a compacted topic rejects records without a key, as Kafka's LogValidator.
final class CompactedTopicKeyTests: XCTestCase {
    /// A batch whose records have the given keys (nil = no key).
    static func batch(keys: [String?], compression: CompressionCodec = .none) throws -> ByteBuffer {
        let records = keys.enumerated().map { i, k in
            Record(offsetDelta: Int32(i), timestampDelta: 0, key: k.map { ByteBuffer(string: $0) }, value: ByteBuffer(string: "v\(i)"))
        }
        return try RecordBatch(compression: compression, baseTimestamp: 1_700_000_000_000, records: records).encoded()
    }

    func testKeylessRecordsAreRejectedWithKafkasRecordErrors() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("c", configs: ["cleanup.policy": "compact,delete"])
        for codec in [CompressionCodec.none, .gzip, .lz4, .snappy, .zstd] {
            let p = try XCTUnwrapAsync(try await h.produce("c", try Self.batch(keys: ["a", nil, "b", nil], compression: codec)))
            XCTAssertEqual(p.errorCode, ErrorCode.invalidRecord.rawValue, "\(codec)")
            XCTAssertEqual(p.baseOffset, -1)
            XCTAssertEqual(p.recordErrors.map(\.batchIndex), [1, 3])
            XCTAssertEqual(p.recordErrors.first?.batchIndexErrorMessage,
                           "Compacted topic cannot accept message without key in topic partition c-0")
            XCTAssertEqual(p.errorMessage, "One or more records have been rejected due to 2 record errors in total, and only "
                + "showing the first three errors at most: [RecordError(batchIndex=1, message='Compacted topic cannot accept "
                + "message without key in topic partition c-0'), RecordError(batchIndex=3, message='Compacted topic cannot "
                + "accept message without key in topic partition c-0')]")
        }
        // Before v8 only the error code is answered.
        let old = try await h.produce("c", try Self.batch(keys: [nil]), version: 7)
        XCTAssertEqual(old?.errorCode, ErrorCode.invalidRecord.rawValue)
        XCTAssertEqual(h.services.replicas.partition("c", 0)?.log.logEndOffset, 0, "nothing was written")

        let keyed = try await h.produce("c", try Self.batch(keys: ["a", "b"], compression: .gzip))
        XCTAssertEqual(keyed?.errorCode, 0)
        let tombstone = try RecordBatch(baseTimestamp: 1_700_000_000_000,
                                        records: [Record(offsetDelta: 0, timestampDelta: 0, key: ByteBuffer(string: "a"), value: nil)]).encoded()
        do { let value = try await h.produce("c", tombstone)?.errorCode; XCTAssertEqual(value, 0, "a keyed tombstone is fine") }
    }

    func testTopicAlteredToCompactRejectsKeylessRecordsFromTheNextRequest() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        do { let value = try await h.produce("t", try Self.batch(keys: [nil]))?.errorCode; XCTAssertEqual(value, 0, "delete policy: keys optional") }
        var inc = IncrementalAlterConfigsRequest()
        inc.resources = [.init(resourceType: 2, resourceName: "t", configs: [.init(name: "cleanup.policy", configOperation: 0, value: "compact")])]
        do { let value = try await h.send(inc, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        do { let value = try await h.produce("t", try Self.batch(keys: [nil]))?.errorCode; XCTAssertEqual(value, ErrorCode.invalidRecord.rawValue) }

        // And through the broker default: log.cleanup.policy set dynamically for a topic without an override.
        try h.createTopic("d")
        var broker = IncrementalAlterConfigsRequest()
        broker.resources = [.init(resourceType: 4, resourceName: "", configs: [.init(name: "log.cleanup.policy", configOperation: 0, value: "compact")])]
        do { let value = try await h.send(broker, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        do { let value = try await h.produce("d", try Self.batch(keys: [nil]))?.errorCode; XCTAssertEqual(value, ErrorCode.invalidRecord.rawValue) }
    }
}
