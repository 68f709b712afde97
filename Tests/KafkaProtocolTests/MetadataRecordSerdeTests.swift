import NIOCore
import XCTest
@testable import KafkaProtocol

/// Kafka's metadata records (`metadata/*.json`) and their `MetadataRecordSerde` framing.
final class MetadataRecordSerdeTests: XCTestCase {
    private let topicId = KafkaUUID(mostSignificantBits: 0x0102_0304_0506_0708, leastSignificantBits: 0x090A_0B0C_0D0E_0F10)
    private var topicIdBytes: [UInt8] { Array(1...16) }

    /// Every record type at every version, framed: decode(encode(x)) == x, all bytes consumed,
    /// the re-encoding identical.
    func testEveryRecordAtEveryVersionRoundTripsThroughTheSerde() throws {
        var checked = 0
        for type in MetadataRecordType.allCases {
            guard let sampled = type.recordType as? any (KafkaMetadataRecord & SampleProviding).Type else {
                XCTFail("\(type) has no generated sample")
                continue
            }
            XCTAssertEqual(type.recordType.recordType, type)
            for version in type.validVersions {
                try roundTrip(sampled, version: version)
                checked += 1
            }
        }
        // 25 metadata specs, 34 (record, version) pairs in the Kafka 4.0 specs.
        XCTAssertEqual(MetadataRecordType.allCases.count, 25)
        XCTAssertEqual(checked, 34)
    }

    private func roundTrip<T: KafkaMetadataRecord & SampleProviding>(_ type: T.Type, version: Int16) throws {
        let sample = T.sample(version: version)
        let encoded = try MetadataRecordSerde.encode(sample, version: version)
        let decoded = try MetadataRecordSerde.decode(encoded)
        XCTAssertEqual(decoded.version, version)
        XCTAssertEqual(decoded.record as? T, sample, "\(T.self) v\(version)")
        XCTAssertEqual(try MetadataRecordSerde.encode(decoded.record, version: version), encoded)
        // Every strict prefix is refused, never trapped on.
        for cut in 0..<encoded.readableBytes {
            XCTAssertThrowsError(try MetadataRecordSerde.decode(encoded.getSlice(at: 0, length: cut)!), "\(T.self) v\(version) cut at \(cut)")
        }
    }

    /// TopicRecord v0 by hand from TopicRecord.json: frame 1, type 2, version 0, compact
    /// string "foo" (length + 1 = 4), the uuid, an empty tagged-field section.
    func testTopicRecordGoldenBytes() throws {
        let expected: [UInt8] = [0x01, 0x02, 0x00, 0x04, 0x66, 0x6F, 0x6F] + topicIdBytes + [0x00]
        let encoded = try MetadataRecordSerde.encode(TopicRecord(name: "foo", topicId: topicId), version: 0)
        XCTAssertEqual(Array(encoded.readableBytesView), expected)
        let decoded = try MetadataRecordSerde.decode(ByteBuffer(bytes: expected))
        XCTAssertEqual(decoded.record as? TopicRecord, TopicRecord(name: "foo", topicId: topicId))
    }

    /// PartitionChangeRecord v1 (PartitionChangeRecord.json): PartitionId and TopicId are the
    /// only fixed fields; Isr (tag 0) and Leader (tag 1) are tagged and written only when they
    /// differ from their defaults (null, -2), so an unchanged leader costs no bytes.
    func testPartitionChangeRecordGoldenBytes() throws {
        var change = PartitionChangeRecord()
        change.partitionId = 0
        change.topicId = topicId
        change.isr = [1, 2]
        change.leader = 2
        let expected: [UInt8] = [0x01, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00] + topicIdBytes + [
            0x02,  // two tagged fields
            0x00, 0x09, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,  // tag 0 Isr: compact array of 2
            0x01, 0x04, 0x00, 0x00, 0x00, 0x02,  // tag 1 Leader 2
        ]
        XCTAssertEqual(Array(try MetadataRecordSerde.encode(change, version: 1).readableBytesView), expected)

        change.leader = -2
        let unchangedLeader: [UInt8] = [0x01, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00] + topicIdBytes + [
            0x01, 0x00, 0x09, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
        ]
        XCTAssertEqual(Array(try MetadataRecordSerde.encode(change, version: 1).readableBytesView), unchangedLeader)
    }

    /// BrokerRegistrationChangeRecord v2: Fenced -1 (UNFENCE) as tag 0; LogDirs is tag "2" in
    /// the spec (a quoted number, which the generator must read as a tag, not drop).
    func testBrokerRegistrationChangeRecordGoldenBytes() throws {
        let record = BrokerRegistrationChangeRecord(brokerId: 1, brokerEpoch: 42, fenced: -1)
        let expected: [UInt8] = [0x01, 0x11, 0x02, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x2A, 0x01, 0x00, 0x01, 0xFF]
        XCTAssertEqual(Array(try MetadataRecordSerde.encode(record, version: 2).readableBytesView), expected)
        let withDirs = BrokerRegistrationChangeRecord(brokerId: 1, brokerEpoch: 42, logDirs: [topicId])
        let dirsExpected: [UInt8] = [0x01, 0x11, 0x02, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x2A, 0x01, 0x02, 0x11, 0x02] + topicIdBytes
        XCTAssertEqual(Array(try MetadataRecordSerde.encode(withDirs, version: 2).readableBytesView), dirsExpected)
    }

    /// RegisterBrokerRecord v3 by hand from RegisterBrokerRecord.json, field by field.
    func testRegisterBrokerRecordGoldenBytes() throws {
        var record = RegisterBrokerRecord()
        record.brokerId = 1
        record.incarnationId = topicId
        record.brokerEpoch = 7
        record.endPoints = [.init(name: "PLAINTEXT", host: "h", port: 9092, securityProtocol: 0)]
        record.rack = nil
        record.fenced = false
        var expected: [UInt8] = [0x01, 0x00, 0x03]
        expected += [0x00, 0x00, 0x00, 0x01]  // BrokerId
        expected += [0x00]  // IsMigratingZkBroker (v2+)
        expected += topicIdBytes  // IncarnationId
        expected += [0, 0, 0, 0, 0, 0, 0, 0x07]  // BrokerEpoch
        expected += [0x02, 0x0A] + Array("PLAINTEXT".utf8) + [0x02, 0x68, 0x23, 0x84, 0x00, 0x00, 0x00]  // EndPoints
        expected += [0x01]  // Features: empty compact array
        expected += [0x00]  // Rack: null
        expected += [0x00, 0x00]  // Fenced, InControlledShutdown
        expected += [0x00]  // no tagged fields (LogDirs empty)
        XCTAssertEqual(Array(try MetadataRecordSerde.encode(record, version: 3).readableBytesView), expected)
        XCTAssertEqual(try MetadataRecordSerde.decode(ByteBuffer(bytes: expected)).record as? RegisterBrokerRecord, record)
    }

    func testBadFramesAreClearErrors() throws {
        let good = try MetadataRecordSerde.encode(NoOpRecord(), version: 0)
        XCTAssertEqual(Array(good.readableBytesView), [0x01, 0x14, 0x00, 0x00])
        XCTAssertThrowsError(try MetadataRecordSerde.decode(ByteBuffer(bytes: [0x02, 0x14, 0x00, 0x00]))) {
            XCTAssertEqual($0 as? MetadataRecordSerdeError, .unknownFrameVersion(2))
        }
        XCTAssertThrowsError(try MetadataRecordSerde.decode(ByteBuffer(bytes: [0x01, 0x63, 0x00, 0x00]))) {
            XCTAssertEqual($0 as? MetadataRecordSerdeError, .unknownRecordType(99))
            XCTAssertTrue("\($0)".contains("unknown record type 99"))
        }
        XCTAssertThrowsError(try MetadataRecordSerde.decode(ByteBuffer(bytes: [0x01, 0x14, 0x05, 0x00]))) {
            XCTAssertEqual($0 as? MetadataRecordSerdeError, .unsupportedVersion(type: .noOpRecord, version: 5))
        }
        XCTAssertThrowsError(try MetadataRecordSerde.decode(ByteBuffer(bytes: [0x01, 0x14, 0x00, 0x00, 0x07]))) {
            XCTAssertEqual($0 as? MetadataRecordSerdeError, .trailingBytes(type: .noOpRecord, count: 1))
        }
        // A type id beyond int16 and a varint running past 5 bytes.
        XCTAssertThrowsError(try MetadataRecordSerde.decode(ByteBuffer(bytes: [0x01, 0xFF, 0xFF, 0x03, 0x00, 0x00]))) {
            XCTAssertEqual($0 as? MetadataRecordSerdeError, .unknownRecordType(0xFFFF))
        }
        XCTAssertThrowsError(try MetadataRecordSerde.decode(ByteBuffer(bytes: [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]))) {
            guard case .malformedHeader = $0 as? MetadataRecordSerdeError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try MetadataRecordSerde.decode(ByteBuffer(bytes: [0x01, 0x02, 0x00, 0x09, 0x41]))) {
            guard case .malformedRecord(.topicRecord, 0, _) = $0 as? MetadataRecordSerdeError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try MetadataRecordSerde.encode(NoOpRecord(), version: 1))
    }

    /// Random bytes never trap the decoder (a seeded mutation of valid frames).
    func testMutatedFramesNeverTrap() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["SAMSA_FUZZ_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        print("MetadataRecordSerde fuzz seed \(seed) (replay with SAMSA_FUZZ_SEED=\(seed))")
        var rng = FuzzRandom(seed: seed)
        var frames: [[UInt8]] = []
        for type in MetadataRecordType.allCases {
            guard let sampled = type.recordType as? any (KafkaMetadataRecord & SampleProviding).Type else { continue }
            for version in type.validVersions {
                frames.append(Array(try MetadataRecordSerde.encode(sampled.sample(version: version), version: version).readableBytesView))
            }
        }
        var decodedCount = 0
        for _ in 0..<20_000 {
            var bytes = frames[Int(rng.next() % UInt64(frames.count))]
            for _ in 0...(rng.next() % 3) where !bytes.isEmpty {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if (try? MetadataRecordSerde.decode(ByteBuffer(bytes: bytes))) != nil { decodedCount += 1 }
        }
        XCTAssertGreaterThan(decodedCount, 0, "some mutations (in string bytes, ints) still decode")
    }
}
