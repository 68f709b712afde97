import NIOCore
import XCTest
@testable import KafkaProtocol

/// Golden bytes written by hand from Kafka's protocol guide and JSON specs (not produced by our
/// encoder): each test checks both directions, encode and decode.
final class MessageGoldenBytesTests: XCTestCase {
    private let fooTopicId = KafkaUUID(mostSignificantBits: 0x0102_0304_0506_0708, leastSignificantBits: 0x090A_0B0C_0D0E_0F10)
    private let fooTopicIdHex = "01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10"

    // MARK: ApiVersions (whole frames: size, header, body)

    func testApiVersionsV0RequestFrame() throws {
        let frame = try ApiVersionsRequest().encodeFrame(version: 0, correlationId: 1, clientId: "samsa")
        let expected = Golden.bytes([
            .hex("00 00 00 0f"),  // size 15
            .hex("00 12 00 00"),  // api key 18, version 0
            .hex("00 00 00 01"),  // correlation id
            .hex("00 05"), .ascii("samsa"),  // header v1: client id, int16 length
        ])
        XCTAssertEqual(hexDump(frame), hexDump(expected))

        var input = expected
        var payload = try XCTUnwrap(KafkaFrameDecoder.nextFrame(in: &input, maxFrameSize: 1 << 20))
        let header = try RequestHeader.decode(from: &payload)
        XCTAssertEqual(header, RequestHeader(requestApiKey: 18, requestApiVersion: 0, correlationId: 1, clientId: "samsa"))
        XCTAssertEqual(header.apiKey, .apiVersions)
        XCTAssertEqual(try ApiVersionsRequest(from: &payload, version: 0), ApiVersionsRequest())
        XCTAssertEqual(payload.readableBytes, 0)
    }

    func testApiVersionsV3RequestFrame() throws {
        let request = ApiVersionsRequest(clientSoftwareName: "samsa-client", clientSoftwareVersion: "1.0")
        let frame = try request.encodeFrame(version: 3, correlationId: 7, clientId: "samsa")
        let expected = Golden.bytes([
            .hex("00 00 00 22"),  // size 34
            .hex("00 12 00 03 00 00 00 07"),  // api key 18, version 3, correlation id 7
            .hex("00 05"), .ascii("samsa"),  // header v2: client id keeps its int16 length
            .hex("00"),  // header v2 tagged fields: none
            .hex("0d"), .ascii("samsa-client"),  // compact string: length 12 + 1
            .hex("04"), .ascii("1.0"),  // compact string: length 3 + 1
            .hex("00"),  // body tagged fields: none
        ])
        XCTAssertEqual(hexDump(frame), hexDump(expected))

        var input = expected
        var payload = try XCTUnwrap(KafkaFrameDecoder.nextFrame(in: &input, maxFrameSize: 1 << 20))
        let header = try RequestHeader.decode(from: &payload)
        XCTAssertEqual(header, RequestHeader(requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: "samsa"))
        XCTAssertEqual(try ApiVersionsRequest(from: &payload, version: 3), request)
        XCTAssertEqual(payload.readableBytes, 0)
    }

    func testApiVersionsV0ResponseFrame() throws {
        let response = ApiVersionsResponse(errorCode: 0, apiKeys: [
            .init(apiKey: 0, minVersion: 0, maxVersion: 11),
            .init(apiKey: 18, minVersion: 0, maxVersion: 4),
        ])
        let frame = try response.encodeFrame(version: 0, correlationId: 1)
        let expected = Golden.bytes([
            .hex("00 00 00 16"),  // size 22
            .hex("00 00 00 01"),  // response header v0: correlation id
            .hex("00 00"),  // error code
            .hex("00 00 00 02"),  // api keys: int32 count
            .hex("00 00 00 00 00 0b"),  // Produce 0-11
            .hex("00 12 00 00 00 04"),  // ApiVersions 0-4
        ])
        XCTAssertEqual(hexDump(frame), hexDump(expected))

        var input = expected
        var payload = try XCTUnwrap(KafkaFrameDecoder.nextFrame(in: &input, maxFrameSize: 1 << 20))
        let (header, decoded) = try ApiVersionsResponse.decode(from: &payload, version: 0)
        XCTAssertEqual(header.correlationId, 1)
        XCTAssertEqual(decoded, response)
        XCTAssertEqual(payload.readableBytes, 0)
    }

    /// ApiVersions v3 is flexible, yet its response header stays v0 (no tagged-field byte), so a
    /// client that guessed a version the broker lacks can still read the answer.
    func testApiVersionsV3ResponseFrameUsesHeaderV0() throws {
        let response = ApiVersionsResponse(
            errorCode: 0,
            apiKeys: [.init(apiKey: 18, minVersion: 0, maxVersion: 4)],
            throttleTimeMs: 0,
            supportedFeatures: [.init(name: "metadata.version", minVersion: 1, maxVersion: 22)],
            finalizedFeaturesEpoch: 5)
        let frame = try response.encodeFrame(version: 3, correlationId: 7)
        let expected = Golden.bytes([
            .hex("00 00 00 36"),  // size 54
            .hex("00 00 00 07"),  // response header v0: correlation id, no tagged fields
            .hex("00 00"),  // error code
            .hex("02"),  // compact array: 1 + 1
            .hex("00 12 00 00 00 04 00"),  // ApiVersions 0-4, no tagged fields
            .hex("00 00 00 00"),  // throttle time
            .hex("02"),  // two tagged fields
            .hex("00 17"),  // tag 0 (SupportedFeatures), 23 bytes
            .hex("02 11"), .ascii("metadata.version"), .hex("00 01 00 16 00"),
            .hex("01 08 00 00 00 00 00 00 00 05"),  // tag 1 (FinalizedFeaturesEpoch), 8 bytes
        ])
        XCTAssertEqual(hexDump(frame), hexDump(expected))

        var input = expected
        var payload = try XCTUnwrap(KafkaFrameDecoder.nextFrame(in: &input, maxFrameSize: 1 << 20))
        let (header, decoded) = try ApiVersionsResponse.decode(from: &payload, version: 3)
        XCTAssertEqual(header.correlationId, 7)
        XCTAssertEqual(decoded, response)
        XCTAssertEqual(payload.readableBytes, 0)
    }

    // MARK: Metadata

    func testMetadataV1() throws {
        try assertGolden(
            MetadataRequest(topics: [.init(name: "foo")]), version: 1,
            Golden.bytes([.hex("00 00 00 01 00 03"), .ascii("foo")]))
        try assertGolden(MetadataRequest(topics: nil), version: 1, Golden.bytes([.hex("ff ff ff ff")]))

        let response = MetadataResponse(
            brokers: [.init(nodeId: 1, host: "localhost", port: 9092, rack: nil)],
            controllerId: 1,
            topics: [.init(errorCode: 0, name: "foo", isInternal: false, partitions: [
                .init(errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1]),
            ])])
        try assertGolden(response, version: 1, Golden.bytes([
            .hex("00 00 00 01"),  // brokers: 1
            .hex("00 00 00 01 00 09"), .ascii("localhost"), .hex("00 00 23 84 ff ff"),  // rack null
            .hex("00 00 00 01"),  // controller id
            .hex("00 00 00 01"),  // topics: 1
            .hex("00 00 00 03"), .ascii("foo"), .hex("00"),  // error, name, not internal
            .hex("00 00 00 01"),  // partitions: 1
            .hex("00 00 00 00 00 00 00 00 00 01"),  // error, index 0, leader 1
            .hex("00 00 00 01 00 00 00 01"),  // replicas [1]
            .hex("00 00 00 01 00 00 00 01"),  // isr [1]
        ]))
    }

    func testMetadataV9() throws {
        try assertGolden(
            MetadataRequest(topics: [.init(name: "foo")], allowAutoTopicCreation: true), version: 9,
            Golden.bytes([
                .hex("02 04"), .ascii("foo"), .hex("00"),  // compact array of 1, compact name, tags
                .hex("01 00 00"),  // allow auto-create, no cluster ops, no topic ops
                .hex("00"),
            ]))

        let response = MetadataResponse(
            throttleTimeMs: 0,
            brokers: [.init(nodeId: 1, host: "localhost", port: 9092, rack: nil)],
            clusterId: "c1",
            controllerId: 1,
            topics: [.init(errorCode: 0, name: "foo", isInternal: false, partitions: [
                .init(errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 5,
                      replicaNodes: [1], isrNodes: [1], offlineReplicas: []),
            ])])
        try assertGolden(response, version: 9, Golden.bytes([
            .hex("00 00 00 00"),  // throttle
            .hex("02 00 00 00 01 0a"), .ascii("localhost"), .hex("00 00 23 84 00 00"),  // rack null, tags
            .hex("03"), .ascii("c1"),  // cluster id
            .hex("00 00 00 01"),  // controller id
            .hex("02 00 00 04"), .ascii("foo"), .hex("00"),  // topics: error, name, not internal
            .hex("02 00 00 00 00 00 00 00 00 00 01 00 00 00 05"),  // partition: error, index, leader, epoch
            .hex("02 00 00 00 01 02 00 00 00 01 01"),  // replicas [1], isr [1], offline []
            .hex("00"),  // partition tags
            .hex("80 00 00 00"),  // topic authorized operations: default INT32_MIN
            .hex("00"),  // topic tags
            .hex("80 00 00 00"),  // cluster authorized operations (v8-10)
            .hex("00"),
        ]))
    }

    func testMetadataV12() throws {
        try assertGolden(
            MetadataRequest(
                topics: [.init(topicId: fooTopicId, name: nil)], allowAutoTopicCreation: false,
                includeTopicAuthorizedOperations: true),
            version: 12,
            Golden.bytes([
                .hex("02"), .hex(fooTopicIdHex), .hex("00 00"),  // topic by id, null name, tags
                .hex("00 01 00"),  // no auto-create, topic ops, tags
            ]))

        let response = MetadataResponse(
            throttleTimeMs: 0, brokers: [], clusterId: nil, controllerId: -1,
            topics: [.init(errorCode: ErrorCode.unknownTopicOrPartition.rawValue, name: nil, topicId: fooTopicId)])
        try assertGolden(response, version: 12, Golden.bytes([
            .hex("00 00 00 00 01 00 ff ff ff ff"),  // throttle, no brokers, null cluster id, controller -1
            .hex("02 00 03 00"), .hex(fooTopicIdHex),  // topic: UNKNOWN_TOPIC_OR_PARTITION, null name, id
            .hex("00 01 80 00 00 00 00"),  // not internal, no partitions, ops, tags
            .hex("00"),
        ]))
    }

    // MARK: Produce

    func testProduceV3() throws {
        let records = Golden.bytes([.hex("de ad be ef")])
        try assertGolden(
            ProduceRequest(transactionalId: nil, acks: -1, timeoutMs: 30_000, topicData: [
                .init(name: "foo", partitionData: [.init(index: 0, records: records)]),
            ]),
            version: 3,
            Golden.bytes([
                .hex("ff ff ff ff 00 00 75 30"),  // null transactional id, acks -1, timeout 30000
                .hex("00 00 00 01 00 03"), .ascii("foo"),
                .hex("00 00 00 01 00 00 00 00"),  // partition 0
                .hex("00 00 00 04 de ad be ef"),  // records: int32 length
            ]))
        try assertGolden(
            ProduceResponse(responses: [
                .init(name: "foo", partitionResponses: [.init(index: 0, errorCode: 0, baseOffset: 42)]),
            ], throttleTimeMs: 0),
            version: 3,
            Golden.bytes([
                .hex("00 00 00 01 00 03"), .ascii("foo"),
                .hex("00 00 00 01 00 00 00 00 00 00"),  // partition 0, no error
                .hex("00 00 00 00 00 00 00 2a"),  // base offset 42
                .hex("ff ff ff ff ff ff ff ff"),  // log append time -1
                .hex("00 00 00 00"),  // throttle
            ]))
    }

    func testProduceV9() throws {
        let records = Golden.bytes([.hex("de ad be ef")])
        try assertGolden(
            ProduceRequest(transactionalId: nil, acks: 1, timeoutMs: 1000, topicData: [
                .init(name: "foo", partitionData: [.init(index: 2, records: records)]),
            ]),
            version: 9,
            Golden.bytes([
                .hex("00 00 01 00 00 03 e8"),  // null compact transactional id, acks 1, timeout 1000
                .hex("02 04"), .ascii("foo"),
                .hex("02 00 00 00 02"),  // partition 2
                .hex("05 de ad be ef 00"),  // records: compact length 4 + 1, tags
                .hex("00 00"),  // topic tags, request tags
            ]))
        try assertGolden(
            ProduceResponse(responses: [
                .init(name: "foo", partitionResponses: [
                    .init(index: 2, errorCode: 0, baseOffset: 42, logStartOffset: 0),
                ]),
            ], throttleTimeMs: 0),
            version: 9,
            Golden.bytes([
                .hex("02 04"), .ascii("foo"),
                .hex("02 00 00 00 02 00 00"),  // partition 2, no error
                .hex("00 00 00 00 00 00 00 2a"),  // base offset 42
                .hex("ff ff ff ff ff ff ff ff"),  // log append time -1
                .hex("00 00 00 00 00 00 00 00"),  // log start offset 0
                .hex("01 00 00"),  // no record errors, null error message, tags
                .hex("00"),  // topic tags
                .hex("00 00 00 00 00"),  // throttle, tags
            ]))
    }

    // MARK: Fetch

    func testFetchV4() throws {
        try assertGolden(
            FetchRequest(replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 52_428_800, isolationLevel: 1, topics: [
                .init(topic: "foo", partitions: [.init(partition: 0, fetchOffset: 10, partitionMaxBytes: 1_048_576)]),
            ]),
            version: 4,
            Golden.bytes([
                .hex("ff ff ff ff 00 00 01 f4 00 00 00 01"),  // replica -1, max wait 500, min bytes 1
                .hex("03 20 00 00 01"),  // max bytes 50 MiB, read committed
                .hex("00 00 00 01 00 03"), .ascii("foo"),
                .hex("00 00 00 01 00 00 00 00"),  // partition 0
                .hex("00 00 00 00 00 00 00 0a 00 10 00 00"),  // offset 10, 1 MiB
            ]))
        try assertGolden(
            FetchResponse(throttleTimeMs: 0, responses: [
                .init(topic: "foo", partitions: [
                    .init(partitionIndex: 0, errorCode: 0, highWatermark: 11, lastStableOffset: 11,
                          abortedTransactions: nil, records: Golden.bytes([.hex("01 02 03")])),
                ]),
            ]),
            version: 4,
            Golden.bytes([
                .hex("00 00 00 00"),  // throttle
                .hex("00 00 00 01 00 03"), .ascii("foo"),
                .hex("00 00 00 01 00 00 00 00 00 00"),  // partition 0, no error
                .hex("00 00 00 00 00 00 00 0b 00 00 00 00 00 00 00 0b"),  // HW 11, LSO 11
                .hex("ff ff ff ff"),  // aborted transactions: null
                .hex("00 00 00 03 01 02 03"),  // records
            ]))
    }

    func testFetchV12() throws {
        try assertGolden(
            FetchRequest(
                clusterId: "c1", replicaId: -1, maxWaitMs: 500, minBytes: 1,
                topics: [.init(topic: "foo", partitions: [
                    .init(partition: 0, currentLeaderEpoch: 3, fetchOffset: 10, partitionMaxBytes: 1_048_576),
                ])],
                rackId: ""),
            version: 12,
            Golden.bytes([
                .hex("ff ff ff ff 00 00 01 f4 00 00 00 01"),
                .hex("7f ff ff ff 00"),  // max bytes default, read uncommitted
                .hex("00 00 00 00 ff ff ff ff"),  // session id 0, epoch -1
                .hex("02 04"), .ascii("foo"),
                .hex("02 00 00 00 00 00 00 00 03"),  // partition 0, current leader epoch 3
                .hex("00 00 00 00 00 00 00 0a ff ff ff ff"),  // offset 10, last fetched epoch -1
                .hex("ff ff ff ff ff ff ff ff 00 10 00 00 00"),  // log start -1, 1 MiB, tags
                .hex("00"),  // topic tags
                .hex("01 01"),  // no forgotten topics, rack id ""
                .hex("01 00 03 03"), .ascii("c1"),  // tagged: 1 field, tag 0 (ClusterId), 3 bytes
            ]))
        try assertGolden(
            FetchResponse(throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [
                .init(topic: "foo", partitions: [
                    .init(partitionIndex: 0, errorCode: 0, highWatermark: 11, lastStableOffset: 11,
                          logStartOffset: 0, currentLeader: .init(leaderId: 1, leaderEpoch: 5),
                          abortedTransactions: [], records: Golden.bytes([.hex("01 02 03")])),
                ]),
            ]),
            version: 12,
            Golden.bytes([
                .hex("00 00 00 00 00 00 00 00 00 00"),  // throttle, error, session id
                .hex("02 04"), .ascii("foo"),
                .hex("02 00 00 00 00 00 00"),  // partition 0, no error
                .hex("00 00 00 00 00 00 00 0b 00 00 00 00 00 00 00 0b"),  // HW, LSO
                .hex("00 00 00 00 00 00 00 00"),  // log start 0
                .hex("01 ff ff ff ff"),  // no aborted transactions, no preferred read replica
                .hex("04 01 02 03"),  // records: compact length 3 + 1
                .hex("01 01 09 00 00 00 01 00 00 00 05 00"),  // tag 1 (CurrentLeader): leader 1, epoch 5
                .hex("00 00"),  // topic tags, response tags
            ]))
    }

    // MARK: Headers

    func testRequestHeaderV2KeepsClassicClientId() throws {
        let header = RequestHeader(requestApiKey: 3, requestApiVersion: 12, correlationId: 9, clientId: "ab")
        try assertGolden(header, version: 2, Golden.bytes([.hex("00 03 00 0c 00 00 00 09 00 02"), .ascii("ab"), .hex("00")]))
        try assertGolden(
            RequestHeader(requestApiKey: 3, requestApiVersion: 12, correlationId: 9, clientId: nil),
            version: 2, Golden.bytes([.hex("00 03 00 0c 00 00 00 09 ff ff 00")]))
        try assertGolden(
            RequestHeader(requestApiKey: 7, requestApiVersion: 0, correlationId: 9), version: 0,
            Golden.bytes([.hex("00 07 00 00 00 00 00 09")]))
        try assertGolden(ResponseHeader(correlationId: 9), version: 1, Golden.bytes([.hex("00 00 00 09 00")]))
    }

    func testHeaderVersionSelection() {
        XCTAssertEqual(ApiKey.apiVersions.requestHeaderVersion(apiVersion: 0), 1)
        XCTAssertEqual(ApiKey.apiVersions.requestHeaderVersion(apiVersion: 3), 2)
        XCTAssertEqual(ApiKey.apiVersions.responseHeaderVersion(apiVersion: 3), 0)
        XCTAssertEqual(ApiKey.apiVersions.responseHeaderVersion(apiVersion: 4), 0)
        // A version the codec does not know still gets a header rule, so it can be answered.
        XCTAssertEqual(ApiKey.apiVersions.requestHeaderVersion(apiVersion: 99), 2)
        XCTAssertEqual(ApiKey.controlledShutdown.requestHeaderVersion(apiVersion: 0), 0)
        XCTAssertEqual(ApiKey.controlledShutdown.requestHeaderVersion(apiVersion: 1), 1)
        XCTAssertEqual(ApiKey.metadata.requestHeaderVersion(apiVersion: 8), 1)
        XCTAssertEqual(ApiKey.metadata.responseHeaderVersion(apiVersion: 8), 0)
        XCTAssertEqual(ApiKey.metadata.requestHeaderVersion(apiVersion: 9), 2)
        XCTAssertEqual(ApiKey.metadata.responseHeaderVersion(apiVersion: 9), 1)
        XCTAssertEqual(ApiKey.produce.requestHeaderVersion(apiVersion: 8), 1)
        XCTAssertEqual(ApiKey.produce.requestHeaderVersion(apiVersion: 9), 2)
        XCTAssertEqual(ApiKey.fetch.responseHeaderVersion(apiVersion: 11), 0)
        XCTAssertEqual(ApiKey.fetch.responseHeaderVersion(apiVersion: 12), 1)

        for key in ApiKey.allCases where key != .apiVersions && key != .controlledShutdown {
            for version in key.requestType.validVersions {
                let flexible = key.requestType.isFlexible(version: version)
                XCTAssertEqual(key.requestHeaderVersion(apiVersion: version), flexible ? 2 : 1, "\(key) v\(version)")
                XCTAssertEqual(key.responseHeaderVersion(apiVersion: version), flexible ? 1 : 0, "\(key) v\(version)")
            }
        }
    }

    func testRequestHeaderDecodeRejectsUnknownApiKey() {
        var buffer = Golden.bytes([.hex("7f 00 00 00 00 00 00 01 00 00")])
        XCTAssertThrowsError(try RequestHeader.decode(from: &buffer)) { error in
            XCTAssertEqual(error as? ProtocolError, .unknownApiKey(0x7f00))
        }
    }

    func testApiKeyTable() {
        XCTAssertEqual(ApiKey.produce.rawValue, 0)
        XCTAssertEqual(ApiKey.fetch.rawValue, 1)
        XCTAssertEqual(ApiKey.apiVersions.rawValue, 18)
        XCTAssertEqual(ApiKey.apiVersions.name, "ApiVersions")
        XCTAssertEqual(ApiKey.metadata.description, "Metadata")
        XCTAssertTrue(ApiKey.metadata.requestType == MetadataRequest.self)
        XCTAssertTrue(ApiKey.metadata.responseType == MetadataResponse.self)
        for key in ApiKey.allCases {
            XCTAssertEqual(key.requestType.apiKey, key)
            XCTAssertEqual(key.responseType.apiKey, key)
            XCTAssertEqual(key.requestType.validVersions, key.responseType.validVersions, "\(key)")
        }
    }
}
