import Foundation
import NIOCore
import XCTest
@testable import KafkaProtocol

/// Mutates valid encodings of every message at every version and decodes them: the decoder
/// must return or throw, never trap, hang or allocate by an unchecked length. A failure prints
/// the seed; rerun with SAMSA_FUZZ_SEED=<seed> to replay it.
final class MessageFuzzTests: XCTestCase {
    private struct Seed {
        let type: any KafkaMessage.Type
        let version: Int16
        let bytes: [UInt8]
    }

    func testMutatedEncodingsNeverTrap() throws {
        let seed = ProcessInfo.processInfo.environment["SAMSA_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5A4D_5A00_F022
        print("MessageFuzzTests seed: \(seed) (replay with SAMSA_FUZZ_SEED=\(seed))")
        var random = FuzzRandom(seed: seed)

        var seeds: [Seed] = []
        for type in KafkaMessageTypes.all {
            guard let sampled = type as? any (KafkaMessage & SampleProviding).Type else { continue }
            for version in type.validVersions {
                seeds.append(Seed(type: type, version: version, bytes: try Self.encodeSample(sampled, version: version)))
            }
        }
        XCTAssertGreaterThan(seeds.count, 600)

        let iterations = 100_000
        var decoded = 0
        var threw = 0
        for _ in 0..<iterations {
            let seed = seeds[Int(random.next() % UInt64(seeds.count))]
            let mutated = mutate(seed.bytes, random: &random)
            // Mostly the seed's own version; sometimes another, to confuse layouts.
            var version = seed.version
            if random.next() % 8 == 0 {
                version = Int16(truncatingIfNeeded: Int(random.next() % 20) - 2)
            }
            if Self.decodeAndReencode(seed.type, bytes: mutated, version: version) {
                decoded += 1
            } else {
                threw += 1
            }
        }
        print("MessageFuzzTests: \(iterations) iterations, \(decoded) decoded, \(threw) threw")
        XCTAssertEqual(decoded + threw, iterations)
        // Both outcomes must occur, or the mutations are not reaching the decoders.
        XCTAssertGreaterThan(decoded, iterations / 100)
        XCTAssertGreaterThan(threw, iterations / 10)
    }

    private static func encodeSample<T: KafkaMessage & SampleProviding>(_ type: T.Type, version: Int16) throws -> [UInt8] {
        var buffer = ByteBuffer()
        try T.sample(version: version).encode(into: &buffer, version: version)
        return Array(buffer.readableBytesView)
    }

    /// True when the bytes decoded; a decoded value is also re-encoded (which may throw).
    private static func decodeAndReencode(_ type: any KafkaMessage.Type, bytes: [UInt8], version: Int16) -> Bool {
        func run<T: KafkaMessage>(_ type: T.Type) -> Bool {
            var buffer = ByteBuffer(bytes: bytes)
            guard let value = try? T(from: &buffer, version: version) else { return false }
            var out = ByteBuffer()
            _ = try? value.encode(into: &out, version: version)
            return true
        }
        return run(type)
    }

    private func mutate(_ original: [UInt8], random: inout FuzzRandom) -> [UInt8] {
        var bytes = original
        let rounds = 1 + Int(random.next() % 3)
        for _ in 0..<rounds {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            switch random.next() % 8 {
            case 0, 1:  // bit flips
                if !bytes.isEmpty { bytes[position] ^= UInt8(1) << UInt8(random.next() % 8) }
            case 2:  // truncation
                bytes = Array(bytes.prefix(position))
            case 3:  // a hostile int32 (huge or negative length/count) over 4 bytes
                let values: [UInt32] = [0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE, 0x0010_0000, 0x0000_FFFF]
                let value = values[Int(random.next() % UInt64(values.count))]
                for offset in 0..<4 where position + offset < bytes.count {
                    bytes[position + offset] = UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * offset))
                }
            case 4:  // a hostile int16 (string length)
                let values: [UInt16] = [0x7FFF, 0x8000, 0xFFFF, 0xFFFE]
                let value = values[Int(random.next() % UInt64(values.count))]
                for offset in 0..<2 where position + offset < bytes.count {
                    bytes[position + offset] = UInt8(truncatingIfNeeded: value >> UInt16(8 - 8 * offset))
                }
            case 5:  // a hostile varint (compact length, tag count, tag, size)
                let varints: [[UInt8]] = [
                    [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0x80], [0xFF, 0x7F], [0x00],
                ]
                bytes.insert(contentsOf: varints[Int(random.next() % UInt64(varints.count))], at: position)
            case 6:  // a random tagged field appended: count, tag, size, payload
                let tag = UInt8(random.next() % 8)
                let size = UInt8(random.next() % 6)
                var field: [UInt8] = [1, tag, size]
                for _ in 0..<Int(random.next() % 6) { field.append(UInt8(truncatingIfNeeded: random.next())) }
                bytes.replaceSubrange(position..<bytes.count, with: field)
            default:  // random byte overwrite
                if !bytes.isEmpty { bytes[position] = UInt8(truncatingIfNeeded: random.next()) }
            }
        }
        return bytes
    }
}

/// SplitMix64: tiny, fast, and fully determined by its seed.
struct FuzzRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
