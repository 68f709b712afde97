import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

final class ConfigHandlerTests: XCTestCase {
    func testDescribeTopicAndBrokerConfigsWithSources() async throws {
        let h = try BrokerHarness(properties: "log.retention.ms=86400000")
        defer { h.cleanup() }
        try h.createTopic("t", configs: ["cleanup.policy": "compact"])
        for v in DescribeConfigsHandler.versions {
            var req = DescribeConfigsRequest()
            req.includeSynonyms = v >= 1
            req.includeDocumentation = v >= 3
            req.resources = [.init(resourceType: 2, resourceName: "t", configurationKeys: nil),
                             .init(resourceType: 4, resourceName: "1", configurationKeys: ["num.partitions", "log.retention.hours"]),
                             .init(resourceType: 2, resourceName: "missing", configurationKeys: nil)]
            let resp = try XCTUnwrapAsync(try await h.send(req, version: v))
            let topic = resp.results[0].configs
            let policy = try XCTUnwrap(topic.first { $0.name == "cleanup.policy" })
            let retention = try XCTUnwrap(topic.first { $0.name == "retention.ms" })
            let segment = try XCTUnwrap(topic.first { $0.name == "segment.bytes" })
            XCTAssertEqual(policy.value, "compact")
            XCTAssertEqual(retention.value, "86400000")
            if v == 0 {
                XCTAssertFalse(policy.isDefault)
                XCTAssertFalse(retention.isDefault)
                XCTAssertTrue(segment.isDefault)
            } else {
                XCTAssertEqual(policy.configSource, ConfigSource.dynamicTopicConfig.rawValue)
                XCTAssertEqual(retention.configSource, ConfigSource.staticBrokerConfig.rawValue)
                XCTAssertEqual(segment.configSource, ConfigSource.defaultConfig.rawValue)
                XCTAssertEqual(retention.synonyms.first?.name, "log.retention.ms")
            }
            if v >= 3 { XCTAssertEqual(retention.configType, ConfigType.long.rawValue) }
            XCTAssertEqual(Set(resp.results[1].configs.map(\.name)), ["num.partitions", "log.retention.hours"])
            XCTAssertEqual(resp.results[2].errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
        }
    }

    func testAlterAndIncrementalAlter() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t", configs: ["cleanup.policy": "compact", "retention.ms": "5000"])
        var alter = AlterConfigsRequest()
        alter.resources = [.init(resourceType: 2, resourceName: "t", configs: [.init(name: "segment.bytes", value: "100000")])]
        do { let value = try await h.send(alter, version: 0)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        XCTAssertEqual(h.services.metadata.image.topics["t"]?.configs, ["segment.bytes": "100000"], "non-incremental: a full replacement")
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.log.config.segmentBytes, 100000, "the log sees the new config")

        alter.resources = [.init(resourceType: 2, resourceName: "t", configs: [.init(name: "retention.ms", value: "nope")])]
        let invalid = try await h.send(alter, version: 1)?.responses.first
        XCTAssertEqual(invalid?.errorCode, ErrorCode.invalidConfig.rawValue)
        alter.resources = [.init(resourceType: 4, resourceName: "1", configs: [.init(name: "num.partitions", value: "3")])]
        do { let value = try await h.send(alter, version: 2)?.responses.first?.errorCode; XCTAssertEqual(value, ErrorCode.invalidRequest.rawValue) }

        for v in IncrementalAlterConfigsHandler.versions {
            var inc = IncrementalAlterConfigsRequest()
            inc.resources = [.init(resourceType: 2, resourceName: "t", configs: [
                .init(name: "cleanup.policy", configOperation: 2, value: "compact"),
                .init(name: "segment.bytes", configOperation: 1, value: nil),
                .init(name: "retention.ms", configOperation: 0, value: "\(1000 + v)")])]
            do { let value = try await h.send(inc, version: v)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
            XCTAssertEqual(h.services.metadata.image.topics["t"]?.configs,
                           ["cleanup.policy": "delete,compact", "retention.ms": "\(1000 + v)"])
        }
        var bad = IncrementalAlterConfigsRequest()
        bad.resources = [.init(resourceType: 2, resourceName: "t", configs: [.init(name: "retention.ms", configOperation: 2, value: "1")])]
        do { let value = try await h.send(bad, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, ErrorCode.invalidConfig.rawValue) }
        bad.validateOnly = true
        bad.resources = [.init(resourceType: 2, resourceName: "t", configs: [.init(name: "retention.ms", configOperation: 0, value: "7")])]
        do { let value = try await h.send(bad, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        XCTAssertEqual(h.services.metadata.image.topics["t"]?.configs["retention.ms"], "1001", "validate_only changes nothing")
    }

    /// Kafka refuses every copy of a resource named twice in one request (which copy should win
    /// is undefined) and applies the others.
    func testAResourceNamedTwiceIsRefusedAndTheOthersApplied() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        try h.createTopic("u")
        var alter = AlterConfigsRequest()
        alter.resources = [.init(resourceType: 2, resourceName: "t", configs: [.init(name: "retention.ms", value: "1000")]),
                           .init(resourceType: 2, resourceName: "u", configs: [.init(name: "retention.ms", value: "2000")]),
                           .init(resourceType: 2, resourceName: "t", configs: [.init(name: "retention.ms", value: "3000")])]
        let altered = try XCTUnwrapAsync(try await h.send(alter, version: 1)).responses
        XCTAssertEqual(altered.map(\.resourceName), ["t", "u", "t"])
        XCTAssertEqual(altered.map(\.errorCode), [ErrorCode.invalidRequest.rawValue, 0, ErrorCode.invalidRequest.rawValue])
        XCTAssertEqual(altered[0].errorMessage, "Each resource must appear at most once.")
        XCTAssertNil(h.services.metadata.image.topics["t"]?.configs["retention.ms"], "neither copy applied")
        XCTAssertEqual(h.services.metadata.image.topics["u"]?.configs["retention.ms"], "2000")

        var inc = IncrementalAlterConfigsRequest()
        inc.resources = [.init(resourceType: 2, resourceName: "u", configs: [.init(name: "retention.ms", configOperation: 0, value: "4000")]),
                         .init(resourceType: 2, resourceName: "u", configs: [.init(name: "segment.bytes", configOperation: 0, value: "100000")]),
                         .init(resourceType: 2, resourceName: "t", configs: [.init(name: "retention.ms", configOperation: 0, value: "5000")])]
        let incremented = try XCTUnwrapAsync(try await h.send(inc, version: 1)).responses
        XCTAssertEqual(incremented.map(\.errorCode), [ErrorCode.invalidRequest.rawValue, ErrorCode.invalidRequest.rawValue, 0])
        XCTAssertEqual(h.services.metadata.image.topics["u"]?.configs, ["retention.ms": "2000"], "neither copy applied")
        XCTAssertEqual(h.services.metadata.image.topics["t"]?.configs["retention.ms"], "5000")
    }
}

final class ClusterAdminTests: XCTestCase {
    func testCreatePartitionsDescribeClusterAndLogDirs() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        for v in CreatePartitionsHandler.versions {
            var req = CreatePartitionsRequest()
            req.topics = [.init(name: "t", count: Int32(2 + v), assignments: nil)]
            do { let value = try await h.send(req, version: v)?.results.first?.errorCode; XCTAssertEqual(value, 0) }
            XCTAssertNotNil(h.services.replicas.partition("t", Int32(1 + v)), "new partition hosted")
        }
        var shrink = CreatePartitionsRequest()
        shrink.topics = [.init(name: "t", count: 2, assignments: nil), .init(name: "nope", count: 2, assignments: nil)]
        let errs = try XCTUnwrapAsync(try await h.send(shrink, version: 0)).results.map(\.errorCode)
        XCTAssertEqual(errs, [ErrorCode.invalidPartitions.rawValue, ErrorCode.unknownTopicOrPartition.rawValue])

        for v in DescribeClusterHandler.versions {
            let resp = try XCTUnwrapAsync(try await h.send(DescribeClusterRequest(), version: v))
            XCTAssertEqual(resp.clusterId, "harness-cluster")
            XCTAssertEqual(resp.brokers.map(\.brokerId), [1])
            XCTAssertEqual(resp.clusterAuthorizedOperations, Int32.min, "not requested")
            let withOps = try XCTUnwrapAsync(try await h.send(DescribeClusterRequest(includeClusterAuthorizedOperations: true), version: v))
            // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
            XCTAssertEqual(withOps.clusterAuthorizedOperations, 0b1_1111_1010_0000)
        }
        var controllers = DescribeClusterRequest()
        controllers.endpointType = 2
        do { let value = try await h.send(controllers, version: 1)?.errorCode; XCTAssertEqual(value, ErrorCode.unsupportedEndpointType.rawValue) }

        _ = try await h.produce("t", try BrokerHarness.batch(["abc"]))
        for v in DescribeLogDirsHandler.versions {
            var req = DescribeLogDirsRequest()
            req.topics = [.init(topic: "t", partitions: [0, 1])]
            let resp = try XCTUnwrapAsync(try await h.send(req, version: v))
            let parts = try XCTUnwrap(resp.results.first?.topics.first?.partitions)
            XCTAssertEqual(parts.map(\.partitionIndex), [0, 1])
            XCTAssertGreaterThan(parts[0].partitionSize, 0)
            XCTAssertEqual(parts[1].partitionSize, 0)
            if v >= 4 { XCTAssertGreaterThan(resp.results[0].totalBytes, 0) }
        }
    }

    func testDeleteRecordsAndOffsetForLeaderEpoch() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        for i in 0..<4 { _ = try await h.produce("t", try BrokerHarness.batch(["r\(i)"])) }
        for v in DeleteRecordsHandler.versions {
            var req = DeleteRecordsRequest()
            req.topics = [.init(name: "t", partitions: [.init(partitionIndex: 0, offset: Int64(1 + v))])]
            let p = try await h.send(req, version: v)?.topics.first?.partitions.first
            XCTAssertEqual(p?.errorCode, 0)
            XCTAssertEqual(p?.lowWatermark, Int64(1 + v))
        }
        let gone = try await h.fetch("t", offset: 0)
        XCTAssertEqual(gone?.errorCode, ErrorCode.offsetOutOfRange.rawValue)
        XCTAssertEqual(gone?.logStartOffset, 3)
        var beyond = DeleteRecordsRequest()
        beyond.topics = [.init(name: "t", partitions: [.init(partitionIndex: 0, offset: 99)])]
        let beyondCode = try await h.send(beyond, version: 0)?.topics.first?.partitions.first?.errorCode
        XCTAssertEqual(beyondCode, ErrorCode.offsetOutOfRange.rawValue)

        for v in OffsetForLeaderEpochHandler.versions {
            var req = OffsetForLeaderEpochRequest()
            req.topics = [.init(topic: "t", partitions: [.init(partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0)])]
            let e = try await h.send(req, version: v)?.topics.first?.partitions.first
            XCTAssertEqual(e?.errorCode, 0)
            XCTAssertEqual(e?.leaderEpoch, 0)
            XCTAssertEqual(e?.endOffset, 4, "the current epoch ends at the LEO")
        }
        // A fresh leader that has not been written to yet knows its epoch starts at the LEO.
        try h.createTopic("fresh")
        var current = OffsetForLeaderEpochRequest()
        current.topics = [.init(topic: "fresh", partitions: [.init(partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0)])]
        let freshEpoch = try await h.send(current, version: 4)?.topics.first?.partitions.first
        XCTAssertEqual(freshEpoch?.errorCode, 0)
        XCTAssertEqual(freshEpoch?.leaderEpoch, 0)
        XCTAssertEqual(freshEpoch?.endOffset, 0)
        XCTAssertEqual(h.services.replicas.partition("fresh", 0)?.log.leaderEpochEntries.map(\.epoch), [0])

        // A new leader epoch on a partition with data (as after an election) starts at the LEO:
        // epoch 0 now ends there, and epoch 1 is current before anything is written in it.
        let topic = try XCTUnwrap(h.services.metadata.image.topics["t"])
        var reg = topic.partitions[0]
        reg.leaderEpoch = 1
        reg.partitionEpoch += 1
        _ = try h.services.metadata.commit([.partition(topicID: topic.id, reg)])
        for (asked, epoch, end) in [(Int32(0), Int32(0), Int64(4)), (1, 1, 4)] {
            var req = OffsetForLeaderEpochRequest()
            req.topics = [.init(topic: "t", partitions: [.init(partition: 0, currentLeaderEpoch: 1, leaderEpoch: asked)])]
            let e = try await h.send(req, version: 4)?.topics.first?.partitions.first
            XCTAssertEqual(e?.errorCode, 0)
            XCTAssertEqual(e?.leaderEpoch, epoch, "asked for epoch \(asked)")
            XCTAssertEqual(e?.endOffset, end, "asked for epoch \(asked)")
        }

        var fenced = OffsetForLeaderEpochRequest()
        fenced.topics = [.init(topic: "t", partitions: [.init(partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0)])]
        let fencedCode = try await h.send(fenced, version: 4)?.topics.first?.partitions.first?.errorCode
        XCTAssertEqual(fencedCode, ErrorCode.unknownLeaderEpoch.rawValue)
    }
}
