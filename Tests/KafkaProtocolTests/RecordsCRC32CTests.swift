import NIOCore
import XCTest

@testable import KafkaProtocol

/// CRC-32C against published vectors (the common check value and RFC 3720 appendix B.4), on
/// both the hardware and the portable path, and the two paths against each other.
final class RecordsCRC32CTests: XCTestCase {
    static let vectors: [(name: String, bytes: [UInt8], crc: UInt32)] = [
        ("123456789", Array("123456789".utf8), 0xE306_9283),
        ("32 zero bytes", [UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ("32 0xFF bytes", [UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ("32 ascending bytes", (0..<32).map { UInt8($0) }, 0x46DD_794E),
        ("32 descending bytes", (0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ("RFC 3720 iSCSI read PDU", hexBytes(
            "01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018 28000000 00000000 02000000 00000000"),
         0xD996_3A56),
        ("empty", [], 0),
    ]

    func testPublishedVectorsOnBothPaths() {
        for vector in Self.vectors {
            XCTAssertEqual(CRC32C.checksum(vector.bytes), vector.crc, "dispatching path, \(vector.name)")
            let portable = vector.bytes.withUnsafeBytes { CRC32C.portableChecksum($0) }
            XCTAssertEqual(portable, vector.crc, "portable path, \(vector.name)")
        }
    }

    func testHardwarePathIsUsedOnX86WithSSE42() throws {
        #if arch(x86_64)
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        guard flags.contains(" sse4_2") else { throw XCTSkip("CPU without SSE4.2") }
        XCTAssertTrue(CRC32C.isHardwareAccelerated, "SSE4.2 present but the hardware path is off")
        #else
        XCTAssertFalse(CRC32C.isHardwareAccelerated)
        #endif
    }

    /// The hardware path has three code paths by length (3 x 8 KiB blocks, 3 x 256 B blocks,
    /// 8-byte words) plus unaligned heads and tails; lengths and start offsets are chosen to
    /// cross every boundary.
    func testHardwareAndPortableAgreeOnManyLengthsAndAlignments() {
        var rng = SplitMix64(seed: 0x5EED_C5C3)
        var data = [UInt8](repeating: 0, count: 3 * 8192 * 2 + 4096)
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: rng.next()) }
        var lengths = Array(0...80) + [255, 256, 767, 768, 769, 1000, 4095, 8191, 8192, 24575, 24576, 24577, 30000]
        for _ in 0..<60 { lengths.append(Int(rng.next() % UInt64(data.count - 16))) }
        data.withUnsafeBytes { all in
            for length in lengths {
                for alignment in 0..<8 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[alignment..<(alignment + length)])
                    let fast = CRC32C.checksum(slice)
                    XCTAssertEqual(fast, CRC32C.portableChecksum(slice), "length \(length), alignment \(alignment)")
                    if length <= 1024 {  // the bit-at-a-time reference is slow in debug builds
                        XCTAssertEqual(fast, bitwiseCRC32C(slice), "length \(length), alignment \(alignment)")
                    }
                }
            }
        }
    }

    func testContinuingAChecksumEqualsOneShot() {
        var rng = SplitMix64(seed: 7)
        let bytes = (0..<50_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 7, 100, 24_576, 49_999, 50_000] {
            let first = CRC32C.checksum(Array(bytes[..<split]))
            XCTAssertEqual(CRC32C.checksum(Array(bytes[split...]), continuing: first), whole, "split at \(split)")
        }
    }

    func testByteBufferRangeChecks() {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        buffer.writeBytes(Array("xx123456789".utf8))
        XCTAssertEqual(CRC32C.checksum(buffer, at: 2, length: 9), 0xE306_9283)
        XCTAssertNil(CRC32C.checksum(buffer, at: 2, length: 10), "past the writer index")
        XCTAssertNil(CRC32C.checksum(buffer, at: 2, length: -1))
        buffer.moveReaderIndex(forwardBy: 3)
        XCTAssertNil(CRC32C.checksum(buffer, at: 2, length: 1), "before the reader index")
    }
}

/// The definition itself, one bit at a time: slow and obviously right.
func bitwiseCRC32C(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return ~crc
}

/// Hex digits (spaces ignored) to bytes, for fixtures written by hand.
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = hex.filter { !$0.isWhitespace }.map { UInt8(String($0), radix: 16)! }
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// A small deterministic generator so every failure is reproducible from its printed seed.
struct SplitMix64: RandomNumberGenerator {
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
