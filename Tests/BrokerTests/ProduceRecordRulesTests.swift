import KafkaProtocol
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Kafka's LogValidator timestamp rules on Produce (kafka-broker-notes §2.5, per-record checks):
/// message.timestamp.before/after.max.ms on CreateTime topics, and no LogAppendTime batches
/// from producers, answered INVALID_TIMESTAMP with RecordErrors.
final class ProduceRecordRulesTests: XCTestCase {
    static func batch(timestamps: [Int64], compression: CompressionCodec = .none,
                      timestampType: TimestampType = .createTime) throws -> ByteBuffer {
        let base = timestamps.first ?? -1
        let records = timestamps.enumerated().map { i, t in
            Record(offsetDelta: Int32(i), timestampDelta: t == -1 ? 0 : t - base, key: ByteBuffer(string: "k\(i)"), value: ByteBuffer(string: "v"))
        }
        return try RecordBatch(compression: compression, timestampType: timestampType, baseTimestamp: base, records: records).encoded()
    }

    var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func testTimestampsBeyondAfterMaxMsAreRejected() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")   // message.timestamp.after.max.ms defaults to 1 hour (Kafka 4.x)
        let future = now + 2 * 3_600_000
        for codec in [CompressionCodec.none, .zstd] {
            let p = try XCTUnwrapAsync(try await h.produce("t", try Self.batch(timestamps: [future, future + 1], compression: codec)))
            XCTAssertEqual(p.errorCode, ErrorCode.invalidTimestamp.rawValue, "\(codec)")
            XCTAssertEqual(p.errorMessage, "One or more records have been rejected due to invalid timestamp")
            XCTAssertEqual(p.recordErrors.map(\.batchIndex), [0, 1])
            let message = try XCTUnwrap(p.recordErrors.first?.batchIndexErrorMessage)
            XCTAssertTrue(message.hasPrefix("Timestamp \(future) of message with offset 0 is out of range. The timestamp should be within ["), message)
        }
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.log.logEndOffset, 0, "nothing written")
        let fine = try await h.produce("t", try Self.batch(timestamps: [now, now + 60_000, 1_600_000_000_000]))
        XCTAssertEqual(fine?.errorCode, 0, "within an hour ahead, and any age by default")
        let none = try await h.produce("t", try Self.batch(timestamps: [-1, -1]))
        XCTAssertEqual(none?.errorCode, 0, "records without timestamps are not checked")
    }

    func testBeforeMaxMsChecksEveryRecordAndNamesTheBadOnes() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("b", configs: ["message.timestamp.before.max.ms": "60000"])
        let t = now
        let p = try XCTUnwrapAsync(try await h.produce("b", try Self.batch(timestamps: [t, t - 3_600_000, t])))
        XCTAssertEqual(p.errorCode, ErrorCode.invalidTimestamp.rawValue)
        XCTAssertEqual(p.recordErrors.map(\.batchIndex), [1], "the earlier record, hidden from the header")
    }

    func testLogAppendTimeBatchesFromProducersAreRejectedOnLogAppendTimeTopics() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("lat", configs: ["message.timestamp.type": "LogAppendTime"])
        let p = try XCTUnwrapAsync(try await h.produce("lat", try Self.batch(timestamps: [now], timestampType: .logAppendTime)))
        XCTAssertEqual(p.errorCode, ErrorCode.invalidTimestamp.rawValue)
        XCTAssertTrue(p.recordErrors.first?.batchIndexErrorMessage?.hasSuffix("Producer should not set timestamp type to LogAppendTime.") == true,
                      p.recordErrors.first?.batchIndexErrorMessage ?? "nil")
        let ok = try await h.produce("lat", try Self.batch(timestamps: [now + 10 * 3_600_000]))
        XCTAssertEqual(ok?.errorCode, 0, "a LogAppendTime topic ignores producer timestamps")
    }

    func testDynamicBrokerDefaultApplies() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("d")
        var inc = IncrementalAlterConfigsRequest()
        inc.resources = [.init(resourceType: 4, resourceName: "", configs: [
            .init(name: "log.message.timestamp.after.max.ms", configOperation: 0, value: "1000")])]
        do { let value = try await h.send(inc, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        let p = try await h.produce("d", try Self.batch(timestamps: [now + 60_000]))
        XCTAssertEqual(p?.errorCode, ErrorCode.invalidTimestamp.rawValue)
    }
}
