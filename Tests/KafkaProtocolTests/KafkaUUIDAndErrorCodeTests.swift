import XCTest
@testable import KafkaProtocol

final class KafkaUUIDAndErrorCodeTests: XCTestCase {
    func testUUIDTextFormMatchesKafka() throws {
        // Kafka prints Uuid.ZERO_UUID and Uuid.ONE_UUID this way.
        XCTAssertEqual(KafkaUUID.zero.description, "AAAAAAAAAAAAAAAAAAAAAA")
        XCTAssertEqual(KafkaUUID.metadataTopicId.description, "AAAAAAAAAAAAAAAAAAAAAQ")
        let id = KafkaUUID(mostSignificantBits: 0xFBFF_FFFF_FFFF_FFFF, leastSignificantBits: 0xFFFF_FFFF_FFFF_FFFF)
        // 128 bits make 21 full base64 digits plus 2 bits padded with zeros: "11" + "0000" = "w".
        XCTAssertEqual(id.description, "-____________________w")
        XCTAssertEqual(KafkaUUID(id.description), id)
        XCTAssertNil(KafkaUUID("AAAA"))
        XCTAssertNil(KafkaUUID("AAAAAAAAAAAAAAAAAAAAA!"))
        XCTAssertNil(KafkaUUID("AAAAAAAAAAAAAAAAAAAAAB"), "trailing bits beyond 128 must be zero")
        XCTAssertEqual(KafkaUUID(bytes: Array(0..<16))?.bytes, Array(0..<16))
    }

    func testRandomUUIDsAreVersion4AndNeverReservedOrDashed() {
        var generator = FuzzRandom(seed: 1)
        var seen = Set<KafkaUUID>()
        for _ in 0..<2_000 {
            let id = KafkaUUID.random(using: &generator)
            XCTAssertEqual((id.mostSignificantBits >> 12) & 0xF, 4)
            XCTAssertEqual(id.leastSignificantBits >> 62, 0b10)
            XCTAssertFalse(id.description.hasPrefix("-"))
            XCTAssertNotEqual(id, .zero)
            seen.insert(id)
        }
        XCTAssertEqual(seen.count, 2_000)
    }

    func testErrorCodeTable() {
        XCTAssertEqual(ErrorCode.none.rawValue, 0)
        XCTAssertFalse(ErrorCode.none.isError)
        XCTAssertEqual(ErrorCode.unknownTopicOrPartition.rawValue, 3)
        XCTAssertEqual(ErrorCode.unknownTopicOrPartition.name, "UNKNOWN_TOPIC_OR_PARTITION")
        XCTAssertTrue(ErrorCode.unknownTopicOrPartition.isRetriable)
        XCTAssertEqual(ErrorCode.notLeaderOrFollower.rawValue, 6)
        XCTAssertTrue(ErrorCode.notLeaderOrFollower.isRetriable)
        XCTAssertEqual(ErrorCode.memberIdRequired.rawValue, 79)
        XCTAssertFalse(ErrorCode.memberIdRequired.isRetriable)
        XCTAssertEqual(ErrorCode.unknownServerError.rawValue, -1)
        XCTAssertEqual(ErrorCode.unsupportedVersion.message, "The version of API is not supported.")
        XCTAssertEqual(ErrorCode(rawValue: 35), .unsupportedVersion)
        XCTAssertEqual(ErrorCode.allKnown.first, .unknownServerError)
        XCTAssertEqual(Set(ErrorCode.allKnown.map(\.name)).count, ErrorCode.allKnown.count, "names are unique")
        XCTAssertEqual(ErrorCode.allKnown.count, 131)

        let future = ErrorCode(rawValue: 9_999)
        XCTAssertEqual(future.name, "UNKNOWN_9999")
        XCTAssertFalse(future.isRetriable)
        XCTAssertEqual(future.rawValue, 9_999, "unknown codes survive")
    }
}
