import NIOCore
import XCTest
@testable import KafkaProtocol

/// The wire primitives on their own: exact encodings, and a typed error (never a trap or a
/// large allocation) for each kind of malformed input.
final class WirePrimitiveTests: XCTestCase {
    private func bytes(_ values: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: values) }

    func testUnsignedVarintEncodings() throws {
        let cases: [(UInt32, [UInt8])] = [
            (0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]),
            (16_383, [0xFF, 0x7F]), (16_384, [0x80, 0x80, 0x01]), (UInt32.max, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        ]
        for (value, encoding) in cases {
            var buffer = ByteBuffer()
            buffer.writeKafkaUnsignedVarint(value)
            XCTAssertEqual(Array(buffer.readableBytesView), encoding, "\(value)")
            XCTAssertEqual(ByteBuffer.kafkaUnsignedVarintSize(value), encoding.count)
            XCTAssertEqual(try buffer.readKafkaUnsignedVarint(), value)
        }
    }

    func testUnsignedVarintRejectsSixBytesAndTruncation() {
        var tooLong = bytes([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        XCTAssertThrowsError(try tooLong.readKafkaUnsignedVarint()) { XCTAssertEqual($0 as? ProtocolError, .varintTooLong) }
        var truncated = bytes([0x80, 0x80])
        XCTAssertThrowsError(try truncated.readKafkaUnsignedVarint()) {
            XCTAssertEqual($0 as? ProtocolError, .truncated(needed: 3, remaining: 2))
        }
        XCTAssertEqual(truncated.readerIndex, 0, "a failed read must not consume bytes")
    }

    func testIntegersAreBigEndianAndChecked() throws {
        var buffer = bytes([0x12, 0x34, 0x56, 0x78, 0xFF])
        XCTAssertEqual(try buffer.readKafkaInteger(as: Int32.self), 0x1234_5678)
        XCTAssertThrowsError(try buffer.readKafkaInteger(as: Int16.self)) {
            XCTAssertEqual($0 as? ProtocolError, .truncated(needed: 2, remaining: 1))
        }
        XCTAssertEqual(try buffer.readKafkaBool(), true, "any non-zero byte is true")
    }

    func testClassicAndCompactStrings() throws {
        var buffer = ByteBuffer()
        try buffer.writeKafkaString("hé", compact: false, nullable: false, field: "f", version: 0)
        try buffer.writeKafkaString(nil, compact: false, nullable: true, field: "f", version: 0)
        try buffer.writeKafkaString("hé", compact: true, nullable: false, field: "f", version: 0)
        try buffer.writeKafkaString(nil, compact: true, nullable: true, field: "f", version: 0)
        try buffer.writeKafkaString("", compact: true, nullable: true, field: "f", version: 0)
        XCTAssertEqual(Array(buffer.readableBytesView), [0x00, 0x03, 0x68, 0xC3, 0xA9, 0xFF, 0xFF, 0x04, 0x68, 0xC3, 0xA9, 0x00, 0x01])
        XCTAssertEqual(try buffer.readKafkaString(compact: false, field: "f", version: 0), "hé")
        XCTAssertNil(try buffer.readKafkaNullableString(compact: false))
        XCTAssertEqual(try buffer.readKafkaString(compact: true, field: "f", version: 0), "hé")
        XCTAssertNil(try buffer.readKafkaNullableString(compact: true))
        XCTAssertEqual(try buffer.readKafkaString(compact: true, field: "f", version: 0), "")
    }

    /// Kafka caps strings at 32767 bytes in both encodings; a compact string may not exceed it.
    func testCompactStringsKeepTheClassicLimit() {
        let long = String(repeating: "x", count: 40_000)
        var out = ByteBuffer()
        XCTAssertThrowsError(try out.writeKafkaString(long, compact: true, nullable: false, field: "f", version: 9)) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(40_000, remaining: 0))
        }
        var input = ByteBuffer()
        input.writeKafkaUnsignedVarint(40_001)
        input.writeString(long)
        XCTAssertThrowsError(try input.readKafkaNullableString(compact: true)) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(40_000, remaining: 40_000))
        }
    }

    func testNullWhereNotNullableThrows() {
        var classic = bytes([0xFF, 0xFF])
        XCTAssertThrowsError(try classic.readKafkaString(compact: false, field: "name", version: 3)) {
            XCTAssertEqual($0 as? ProtocolError, .nullNotAllowed(field: "name", version: 3))
        }
        var compactArray = bytes([0x00])
        XCTAssertThrowsError(try compactArray.readKafkaArray(of: Int32.self, version: 9, compact: true, field: "ids")) {
            XCTAssertEqual($0 as? ProtocolError, .nullNotAllowed(field: "ids", version: 9))
        }
        var out = ByteBuffer()
        XCTAssertThrowsError(try out.writeKafkaString(nil, compact: true, nullable: false, field: "name", version: 9)) {
            XCTAssertEqual($0 as? ProtocolError, .nullNotAllowed(field: "name", version: 9))
        }
    }

    func testLengthsBeyondTheInputThrowBeforeAllocating() {
        var string = bytes([0x7F, 0xFF, 0x61])
        XCTAssertThrowsError(try string.readKafkaNullableString(compact: false)) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(32_767, remaining: 1))
        }
        var negative = bytes([0xFF, 0xFE])
        XCTAssertThrowsError(try negative.readKafkaNullableString(compact: false)) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(-2, remaining: 0))
        }
        var bytesField = bytes([0x80, 0x00, 0x00, 0x00])
        XCTAssertThrowsError(try bytesField.readKafkaNullableBytes(compact: false)) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(-2_147_483_648, remaining: 0))
        }
        // An array count of 2^31-1 with four bytes left: rejected before reserveCapacity.
        var array = bytes([0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1])
        XCTAssertThrowsError(try array.readKafkaNullableArray(of: Int32.self, version: 0, compact: false)) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(2_147_483_647, remaining: 4))
        }
        var compact = bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        XCTAssertThrowsError(try compact.readKafkaNullableArray(of: Int64.self, version: 0, compact: true)) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(4_294_967_294, remaining: 0))
        }
    }

    func testTaggedFieldSectionLimits() throws {
        var hugeCount = bytes([0xFF, 0xFF, 0x03, 0x00, 0x00])
        XCTAssertThrowsError(try hugeCount.readKafkaUnknownTaggedFields()) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(65_535, remaining: 2))
        }
        var oversized = bytes([0x01, 0x05, 0x09, 0x01])
        XCTAssertThrowsError(try oversized.readKafkaUnknownTaggedFields()) {
            XCTAssertEqual($0 as? ProtocolError, .invalidLength(9, remaining: 1))
        }
    }

    /// Known tagged fields must fill exactly their declared size; a forged size is an error,
    /// not a silent skip or an over-read into the next field.
    func testKnownTaggedFieldWithWrongSizeThrows() {
        // ApiVersionsResponse v3: FinalizedFeaturesEpoch (tag 1) declared 9 bytes, int64 uses 8.
        var buffer = bytes([0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x09] + [UInt8](repeating: 0, count: 9))
        XCTAssertThrowsError(try ApiVersionsResponse(from: &buffer, version: 3)) {
            XCTAssertEqual($0 as? ProtocolError, .taggedFieldSizeMismatch(tag: 1, declared: 9, consumed: 8))
        }
    }

    func testUnknownTaggedFieldsSurviveAndMergeInTagOrder() throws {
        // ApiVersionsResponse v3 with unknown tags 2... no: tag 2 is known; use 7 and 100.
        let unknownLow = UnknownTaggedField(tag: 0, data: ByteBuffer(bytes: [0xAA]))
        var response = ApiVersionsResponse(finalizedFeaturesEpoch: 3)
        response.unknownTaggedFields = [UnknownTaggedField(tag: 7, data: ByteBuffer(bytes: [1, 2])),
                                        UnknownTaggedField(tag: 100, data: ByteBuffer())]
        var encoded = ByteBuffer()
        try response.encode(into: &encoded, version: 3)
        XCTAssertEqual(
            Array(encoded.readableBytesView),
            [0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,  // error, no api keys, throttle
             0x03, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 3, 0x07, 0x02, 1, 2, 0x64, 0x00])
        XCTAssertEqual(try ApiVersionsResponse(from: &encoded, version: 3), response)

        // A tag the struct knows in no version is kept as unknown.
        var header = ResponseHeader(correlationId: 1)
        header.unknownTaggedFields = [unknownLow]
        var headerBytes = ByteBuffer()
        try header.encode(into: &headerBytes, version: 1)
        XCTAssertEqual(Array(headerBytes.readableBytesView), [0, 0, 0, 1, 0x01, 0x00, 0x01, 0xAA])
        XCTAssertEqual(try ResponseHeader(from: &headerBytes, version: 1), header)
    }

    func testNonDefaultFieldMissingFromVersionThrowsUnlessIgnorable() throws {
        // allowAutoTopicCreation exists from v4 and is not ignorable.
        var buffer = ByteBuffer()
        XCTAssertThrowsError(try MetadataRequest(topics: [], allowAutoTopicCreation: false).encode(into: &buffer, version: 3)) {
            XCTAssertEqual($0 as? ProtocolError, .fieldNotInVersion(field: "allowAutoTopicCreation", version: 3))
        }
        // throttleTimeMs exists from v3 but is ignorable: silently dropped at v0.
        var response = MetadataResponse()
        response.throttleTimeMs = 100
        buffer.clear()
        XCTAssertNoThrow(try response.encode(into: &buffer, version: 1))
        var reader = buffer
        XCTAssertEqual(try MetadataResponse(from: &reader, version: 1).throttleTimeMs, 0)
    }

    func testUnsupportedVersionThrows() {
        var buffer = ByteBuffer()
        XCTAssertThrowsError(try MetadataRequest().encode(into: &buffer, version: 13)) {
            XCTAssertEqual($0 as? ProtocolError, .unsupportedVersion(message: "MetadataRequest", version: 13))
        }
        var input = bytes([0, 0, 0, 0])
        XCTAssertThrowsError(try MetadataRequest(from: &input, version: -1))
    }

    // MARK: Framing

    func testFrameDecoderByteByByte() throws {
        let frame = try MetadataRequest(topics: [.init(name: "foo")]).encodeFrame(version: 12, correlationId: 5, clientId: "c")
        let all = Array(frame.readableBytesView)
        var cumulation = ByteBuffer()
        var frames: [ByteBuffer] = []
        for byte in all + all {
            cumulation.writeInteger(byte)
            while let next = try KafkaFrameDecoder.nextFrame(in: &cumulation, maxFrameSize: 1024) {
                frames.append(next)
            }
        }
        XCTAssertEqual(frames.count, 2)
        XCTAssertEqual(cumulation.readableBytes, 0)
        var payload = frames[1]
        let header = try RequestHeader.decode(from: &payload)
        XCTAssertEqual(header.correlationId, 5)
        XCTAssertEqual(try MetadataRequest(from: &payload, version: header.requestApiVersion).topics?.first?.name, "foo")
    }

    func testFrameDecoderRejectsOversizedAndNegativeFrames() {
        var big = bytes([0x00, 0x10, 0x00, 0x01])
        XCTAssertThrowsError(try KafkaFrameDecoder.nextFrame(in: &big, maxFrameSize: 1 << 20)) {
            XCTAssertEqual($0 as? ProtocolError, .frameTooLarge(size: 0x0010_0001, maximum: 1 << 20))
        }
        var negative = bytes([0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try KafkaFrameDecoder.nextFrame(in: &negative, maxFrameSize: 1 << 20))
        var partial = bytes([0x00, 0x00])
        XCTAssertNil(try KafkaFrameDecoder.nextFrame(in: &partial, maxFrameSize: 10))
    }

    func testFrameEncoderPrefixesSize() throws {
        var out = ByteBuffer()
        try KafkaFrameEncoder().encode(data: ByteBuffer(bytes: [1, 2, 3]), out: &out)
        XCTAssertEqual(Array(out.readableBytesView), [0, 0, 0, 3, 1, 2, 3])
    }
}
