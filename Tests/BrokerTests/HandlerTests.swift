import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

final class ApiVersionsTests: XCTestCase {
    func testEveryVersionAnswersWithTheRegisteredTable() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        for v in Int16(0)...4 {
            var req = ApiVersionsRequest()
            req.clientSoftwareName = "librdkafka"
            req.clientSoftwareVersion = "2.0.2"
            let resp = try XCTUnwrapAsync(try await h.send(req, version: v))
            XCTAssertEqual(resp.errorCode, 0, "v\(v)")
            let table = Dictionary(uniqueKeysWithValues: resp.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) })
            XCTAssertEqual(table[18], 0...4)
            XCTAssertEqual(table[0]?.lowerBound, 0, "Produce min 0 for librdkafka's compression check")
            XCTAssertTrue(table[0]!.contains(3) && table[0]!.contains(7), "MsgVer2 and zstd need Produce 3 and 7")
            XCTAssertTrue(table[1]!.contains(4) && table[1]!.contains(10), "MsgVer2 and zstd need Fetch 4 and 10")
            XCTAssertEqual(table[22]?.lowerBound, 0, "idempotence needs InitProducerId 0")
            XCTAssertTrue(table[2]!.contains(1), "OffsetTime needs ListOffsets 1")
        }
    }

    /// Debian's librdkafka 2.0.2 mis-skips tagged fields, so a v3 response must carry none.
    func testFlexibleResponseHasNoTaggedFieldsAndHeaderV0() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        var frame = ByteBuffer()
        var req = ApiVersionsRequest()
        req.clientSoftwareName = "librdkafka"; req.clientSoftwareVersion = "2.0.2"
        try req.encode(into: &frame, version: 3, correlationId: 77, clientId: "rdkafka")
        guard case .respond(var bytes) = await h.dispatchRaw(frame) else { return XCTFail("no response") }
        _ = bytes.readInteger(as: Int32.self)
        XCTAssertEqual(bytes.readInteger(as: Int32.self), 77, "header v0: correlation id and no tag section")
        XCTAssertEqual(bytes.readInteger(as: Int16.self), 0, "error code follows immediately")
        // The body ends with throttle_time_ms (int32) and an empty tag section (one 0 byte).
        XCTAssertEqual(bytes.getInteger(at: bytes.writerIndex - 1, as: UInt8.self), 0)
    }

    func testUnknownVersionGetsV0ErrorWithOnlyItsOwnEntry() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        var frame = ByteBuffer()
        frame.writeInteger(Int16(18)); frame.writeInteger(Int16(9)); frame.writeInteger(Int32(5))
        frame.writeInteger(Int16(-1)); frame.writeInteger(UInt8(0)); frame.writeRepeatingByte(0xAB, count: 7)
        guard case .respond(var bytes) = await h.dispatchRaw(frame) else { return XCTFail("no response") }
        _ = bytes.readInteger(as: Int32.self)
        let (header, body) = try ApiVersionsResponse.decode(from: &bytes, version: 0)
        XCTAssertEqual(header.correlationId, 5)
        XCTAssertEqual(body.errorCode, ErrorCode.unsupportedVersion.rawValue)
        XCTAssertEqual(body.apiKeys, [.init(apiKey: 18, minVersion: 0, maxVersion: 4)])
    }

    func testInvalidSoftwareNameIsInvalidRequest() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        var req = ApiVersionsRequest()
        req.clientSoftwareName = "bad name!"; req.clientSoftwareVersion = "1.0"
        let resp = try await h.send(req, version: 3)
        XCTAssertEqual(resp?.errorCode, ErrorCode.invalidRequest.rawValue)
    }
}

final class BadInputTests: XCTestCase {
    func testUnknownApiKeyUnsupportedVersionAndGarbageCloseTheConnection() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        func outcome(_ bytes: [UInt8]) async -> String? {
            var b = ByteBuffer(); b.writeBytes(bytes)
            if case .close(let reason) = await h.dispatchRaw(b) { return reason }
            return nil
        }
        let unknownKey = await outcome([0x03, 0xE7, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF])
        XCTAssertTrue(unknownKey?.contains("unknown api key 999") == true, "\(String(describing: unknownKey))")
        let badVersion = await outcome([0, 1, 0, 99, 0, 0, 0, 1, 0xFF, 0xFF])  // Fetch v99
        XCTAssertTrue(badVersion?.contains("unsupported version 99") == true, "\(String(describing: badVersion))")
        let truncated = await outcome([0, 3])
        XCTAssertTrue(truncated?.contains("truncated") == true)
        // Metadata v1 with a client id that claims 200 bytes but carries 3.
        let badHeader = await outcome([0, 3, 0, 1, 0, 0, 0, 1, 0, 200, 0x61, 0x62, 0x63])
        XCTAssertTrue(badHeader?.contains("malformed") == true, "\(String(describing: badHeader))")
        // Metadata v1 whose topic array claims a million entries.
        let badBody = await outcome([0, 3, 0, 1, 0, 0, 0, 1, 0xFF, 0xFF, 0, 0x0F, 0x42, 0x40])
        XCTAssertTrue(badBody?.contains("malformed") == true, "\(String(describing: badBody))")
        // The broker still serves a well-formed request afterwards.
        let ok = try await h.send(MetadataRequest(), version: 1)
        XCTAssertNotNil(ok)
    }
}

final class MetadataHandlerTests: XCTestCase {
    func testAutoCreateUnknownAndInvalidTopics() async throws {
        let h = try BrokerHarness(properties: "num.partitions=3")
        defer { h.cleanup() }
        var req = MetadataRequest()
        req.topics = [.init(name: "fresh"), .init(name: "bad/name")]
        let resp = try XCTUnwrapAsync(try await h.send(req, version: 9))
        XCTAssertEqual(resp.brokers.map(\.nodeId), [1])
        XCTAssertEqual(resp.brokers.first?.host, "127.0.0.1")
        XCTAssertEqual(resp.clusterId, "harness-cluster")
        let fresh = try XCTUnwrap(resp.topics.first { $0.name == "fresh" })
        XCTAssertEqual(fresh.errorCode, 0)
        XCTAssertEqual(fresh.partitions.count, 3, "auto-created with num.partitions")
        XCTAssertEqual(fresh.partitions.map(\.leaderId), [1, 1, 1])
        XCTAssertEqual(fresh.partitions.map(\.leaderEpoch), [0, 0, 0])
        XCTAssertEqual(resp.topics.first { $0.name == "bad/name" }?.errorCode, ErrorCode.invalidTopicException.rawValue)

        var noCreate = MetadataRequest()
        noCreate.topics = [.init(name: "other")]
        noCreate.allowAutoTopicCreation = false
        let r2 = try await h.send(noCreate, version: 9)
        XCTAssertEqual(r2?.topics.first?.errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
    }

    func testAllTopicsAndTopicIdsAcrossVersions() async throws {
        let h = try BrokerHarness(properties: "auto.create.topics.enable=false")
        defer { h.cleanup() }
        try h.createTopic("a", partitions: 2)
        try h.createTopic("b")
        let id = try XCTUnwrap(h.services.metadata.image.topics["a"]?.id)
        for v in MetadataHandler.versions {
            var req = MetadataRequest()
            req.topics = v == 0 ? [] : nil
            let resp = try XCTUnwrapAsync(try await h.send(req, version: v))
            XCTAssertEqual(Set(resp.topics.compactMap(\.name)), ["a", "b"], "v\(v)")
            if v >= 10 { XCTAssertEqual(resp.topics.first { $0.name == "a" }?.topicId, id) }
        }
        var byId = MetadataRequest()
        byId.topics = [.init(topicId: id, name: nil), .init(topicId: KafkaUUID(mostSignificantBits: 9, leastSignificantBits: 9), name: nil)]
        let resp = try XCTUnwrapAsync(try await h.send(byId, version: 12))
        XCTAssertEqual(resp.topics.first?.name, "a")
        XCTAssertEqual(resp.topics.last?.errorCode, ErrorCode.unknownTopicId.rawValue)
    }
}

/// Every advertised (key, version) must be served: a default request of each is answered
/// (not a closed connection) with a response that decodes at that version. Catches a handler
/// setting a field the version cannot carry, which would otherwise close the client's
/// connection only for that one version.
final class AdvertisedVersionsTests: XCTestCase {
    func testEveryAdvertisedVersionAnswersADefaultRequest() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("t")
        var served = 0
        for entry in h.registry.advertisedVersions {
            guard let key = ApiKey(rawValue: entry.apiKey) else { return XCTFail("unknown key \(entry.apiKey) advertised") }
            for version in entry.minVersion...entry.maxVersion {
                var request = key.requestType.init()
                if var produce = request as? ProduceRequest { produce.acks = 1; request = produce }
                var frame = ByteBuffer()
                try request.encode(into: &frame, version: version, correlationId: 9, clientId: "probe")
                // Group APIs may park (JoinGroup); give each call a deadline instead of waiting.
                let registry = h.registry
                let sendable = frame
                let outcome = await withTaskGroup(of: DispatchOutcome?.self) { group in
                    group.addTask { await registry.dispatch(frame: sendable, connection: .init(connectionId: 3, clientHost: "127.0.0.1", clientPort: 1, listenerName: "PLAINTEXT")) }
                    group.addTask { try? await Task.sleep(for: .seconds(2)); return nil }
                    let first = await group.next()!
                    group.cancelAll()
                    return first
                }
                switch outcome {
                case .respond(var bytes)?:
                    _ = bytes.readInteger(as: Int32.self)
                    _ = try ResponseHeader(from: &bytes, version: key.responseHeaderVersion(apiVersion: version))
                    XCTAssertNoThrow(try key.responseType.init(from: &bytes, version: version), "\(key) v\(version)")
                    served += 1
                case .close(let reason)?, .respondThenClose(_, let reason)?:
                    XCTFail("\(key) v\(version) closed the connection: \(reason)")
                case .noResponse?, nil:
                    served += 1  // parked or no response by design; not a failure to serve
                }
            }
        }
        let advertised = h.registry.advertisedVersions.reduce(0) { $0 + Int($1.maxVersion - $1.minVersion) + 1 }
        XCTAssertEqual(served, advertised)
        XCTAssertGreaterThanOrEqual(advertised, 92, "broker-core advertises at least its 16 APIs' ranges")
    }
}
