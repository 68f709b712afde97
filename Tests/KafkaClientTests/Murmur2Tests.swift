import XCTest
@testable import KafkaClient

final class Murmur2Tests: XCTestCase {
    /// The vectors of Kafka's `UtilsTest.testMurmur2`: Java's client and librdkafka's
    /// murmur2 partitioner produce exactly these, so keyed records co-partition.
    func testKafkaUtilsTestVectors() {
        let cases: [(String, Int32)] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ]
        for (key, expected) in cases {
            XCTAssertEqual(Murmur2.hash(Array(key.utf8)), expected, key)
        }
    }

    func testToPositiveClearsOnlyTheSignBit() {
        XCTAssertEqual(Murmur2.toPositive(-1), Int32.max)
        XCTAssertEqual(Murmur2.toPositive(Int32.min), 0)
        XCTAssertEqual(Murmur2.toPositive(42), 42)
    }

    func testPartitionForKeyUsesPositiveHashModuloCount() {
        // -973932308 & 0x7fffffff = 1173551340; % 7 = 1173551340 - 7*167650191 = 3.
        XCTAssertEqual(Murmur2.partition(forKey: Array("21".utf8), partitionCount: 7), 3)
        XCTAssertEqual(Murmur2.partition(forKey: Array("21".utf8), partitionCount: 1), 0)
    }

    func testEmptyKeyHashes() {
        // An empty key is a key (not null): it hashes like Java's murmur2(new byte[0]).
        XCTAssertEqual(Murmur2.hash([UInt8]()), Murmur2.hash([UInt8]()))
        XCTAssertNotEqual(Murmur2.hash([UInt8]()), Murmur2.hash([0]))
    }

    func testStickyPartitionerKeepsPartitionUntilBatchCloses() {
        var partitioner = Partitioner(random: SeededRandom(seed: 7))
        let first = partitioner.partition(topic: "t", key: nil, partitionCount: 6, available: [])
        for _ in 0..<10 {
            XCTAssertEqual(partitioner.partition(topic: "t", key: nil, partitionCount: 6, available: []), first)
        }
        partitioner.batchClosed(topic: "t", partition: first, partitionCount: 6, available: [])
        let second = partitioner.partition(topic: "t", key: nil, partitionCount: 6, available: [])
        XCTAssertNotEqual(second, first)
        // Keyed records ignore stickiness.
        XCTAssertEqual(partitioner.partition(topic: "t", key: Array("21".utf8), partitionCount: 7, available: []), 3)
    }

    func testStickyPartitionerPrefersAvailablePartitions() {
        var partitioner = Partitioner(random: SeededRandom(seed: 1))
        for _ in 0..<20 {
            let p = partitioner.partition(topic: "t", key: nil, partitionCount: 4, available: [2])
            XCTAssertEqual(p, 2)
            partitioner.batchClosed(topic: "t", partition: p, partitionCount: 4, available: [2])
        }
    }
}

/// A deterministic generator (SplitMix64) so tests that involve randomness replay exactly.
struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
