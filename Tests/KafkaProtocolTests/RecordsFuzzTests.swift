import Foundation
import NIOCore
import XCTest

@testable import KafkaProtocol

/// Mutation fuzzing of record batch decoding, inside `swift test`.
///
/// Valid batches of every codec are damaged in ways that reach every layer: raw bit flips (the
/// CRC must catch them), flips and truncations with the CRC recomputed (the decompressor and
/// the record parser must catch them), hostile header integers, and huge or negative varints
/// planted in the uncompressed records before recompressing. Each decode must return or throw
/// a `RecordBatchError`; a trap kills the test run. The seed is printed, and
/// `SAMSA_FUZZ_SEED=<n>` replays a run.
final class RecordsFuzzTests: XCTestCase {
    static let iterationsPerCodec = 20_000  // x 5 codecs = 100 000 per run

    func testMutatedBatchesOfEveryCodecNeverTrap() throws {
        let seed = ProcessInfo.processInfo.environment["SAMSA_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5A45_A202_6112
        print("RecordsFuzzTests seed: \(seed) (replay with SAMSA_FUZZ_SEED=\(seed))")
        var rng = SplitMix64(seed: seed)
        let rssBefore = maxResidentBytes()
        var outcomes: [String: Int] = [:]

        for codec in CompressionCodec.allCases {
            let seeds = try (1...6).map { count -> Seed in
                let batch = sampleBatch(codec: codec, recordCount: count * 2 - 1)
                var plain = ByteBuffer()
                for record in batch.records { try record.write(to: &plain) }
                return Seed(batch: batch, encoded: try batch.encoded(), plain: plain)
            }
            for iteration in 0..<Self.iterationsPerCodec {
                let base = seeds[Int(rng.next() % UInt64(seeds.count))]
                var mutated = mutate(base, codec: codec, rng: &rng)
                let outcome: String
                var decoded: RecordBatch?
                do throws(RecordBatchError) {
                    decoded = try RecordBatch.decode(from: &mutated, maxDecompressedBytes: 1 << 20)
                    outcome = "decoded"
                } catch {
                    outcome = Self.kind(of: error)
                }
                if let decoded, iteration % 8 == 0 { try checkReencodes(decoded) }
                outcomes["\(codec) \(outcome)", default: 0] += 1
            }
            // A whole fetch-like buffer: valid batch, then a mutated one, then a partial one.
            for _ in 0..<500 {
                var buffer = seeds[0].encoded
                var damaged = mutate(seeds[Int(rng.next() % UInt64(seeds.count))], codec: codec, rng: &rng)
                buffer.writeBuffer(&damaged)
                _ = try? RecordBatch.decodeAll(from: buffer, maxDecompressedBytes: 1 << 20)
            }
        }

        let summary = outcomes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        print("RecordsFuzzTests outcomes: \(summary)")
        XCTAssertEqual(outcomes.values.reduce(0, +), CompressionCodec.allCases.count * Self.iterationsPerCodec)
        // The fuzzer must get past the CRC and reach the parsers, or it tests nothing.
        for codec in CompressionCodec.allCases {
            XCTAssertGreaterThan(outcomes["\(codec) malformedRecord", default: 0], 500, "\(codec): \(summary)")
            XCTAssertGreaterThan(outcomes["\(codec) crcMismatch", default: 0], 500, "\(codec): \(summary)")
            XCTAssertGreaterThan(outcomes["\(codec) decoded", default: 0], 100, "\(codec): \(summary)")
            if codec != .none {
                XCTAssertGreaterThan(outcomes["\(codec) decompressionFailed", default: 0], 100, "\(codec): \(summary)")
            }
        }
        let growth = maxResidentBytes() - rssBefore
        XCTAssertLessThan(growth, 256 << 20, "peak memory grew by \(growth) bytes: something allocated by a hostile length")
    }

    struct Seed {
        var batch: RecordBatch
        var encoded: ByteBuffer
        /// The records before compression, for mutations behind the compressor.
        var plain: ByteBuffer
    }

    /// One random mutation of `seed`'s encoding.
    func mutate(_ seed: Seed, codec: CompressionCodec, rng: inout SplitMix64) -> ByteBuffer {
        var bytes = Array(buffer: seed.encoded)
        let headerSize = RecordBatchHeader.size
        func random(_ bound: Int) -> Int { Int(rng.next() % UInt64(max(bound, 1))) }

        switch random(7) {
        case 0:  // Bit flips anywhere, CRC left alone.
            for _ in 0...random(3) { bytes[random(bytes.count)] ^= 1 << UInt8(random(8)) }
            return ByteBuffer(bytes: bytes)
        case 1:  // Bit flips in the CRC-covered bytes, CRC recomputed.
            for _ in 0...random(3) {
                let index = RecordBatchHeader.attributesOffset + random(bytes.count - RecordBatchHeader.attributesOffset)
                // Keep the codec bits: otherwise this mostly tests "unsupported codec".
                if index == RecordBatchHeader.attributesOffset + 1 { continue }
                bytes[index] ^= 1 << UInt8(random(8))
            }
            return withFixedCRC(bytes)
        case 2:  // Truncation, sometimes with batchLength and CRC made consistent.
            let cut = random(bytes.count)
            bytes.removeLast(bytes.count - cut)
            if cut >= headerSize && random(2) == 0 {
                setInt32(&bytes, at: 8, Int32(cut - RecordBatchHeader.logOverhead))
                return withFixedCRC(bytes)
            }
            return ByteBuffer(bytes: bytes)
        case 3:  // A hostile header integer: batchLength, lastOffsetDelta or recordCount.
            let field = [8, 23, 57][random(3)]
            setInt32(&bytes, at: field, hostileInt32(&rng))
            return withFixedCRC(bytes)
        case 4, 5:  // Damage the uncompressed records (huge/negative varints, flips), recompress.
            var plain = Array(buffer: seed.plain)
            if plain.isEmpty { plain = [0] }
            let position = random(plain.count)
            if random(2) == 0 {
                let varint = hostileVarint(&rng)
                plain.replaceSubrange(position..<min(plain.count, position + varint.count), with: varint)
            } else {
                for _ in 0...random(3) { plain[random(plain.count)] ^= 1 << UInt8(random(8)) }
            }
            return assemble(header: Array(bytes[0..<headerSize]), plain: plain, codec: codec)
        default:  // Random bytes inserted into the payload, lengths kept consistent.
            let insert = (0...random(16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            bytes.insert(contentsOf: insert, at: headerSize + random(bytes.count - headerSize))
            setInt32(&bytes, at: 8, Int32(bytes.count - RecordBatchHeader.logOverhead))
            return withFixedCRC(bytes)
        }
    }

    /// A batch from `header` with `plain` records compressed by `codec`, lengths and CRC right.
    func assemble(header: [UInt8], plain: [UInt8], codec: CompressionCodec) -> ByteBuffer {
        var buffer = ByteBuffer(bytes: header)
        if codec == .none {
            buffer.writeBytes(plain)
        } else {
            guard (try? codec.compress(ByteBuffer(bytes: plain), into: &buffer, level: 1)) != nil else { return buffer }
        }
        buffer.setInteger(Int32(buffer.readableBytes - RecordBatchHeader.logOverhead), at: 8)
        refreshCRC(&buffer)
        return buffer
    }

    func withFixedCRC(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer(bytes: bytes)
        if bytes.count > RecordBatchHeader.attributesOffset { refreshCRC(&buffer) }
        return buffer
    }

    func setInt32(_ bytes: inout [UInt8], at index: Int, _ value: Int32) {
        guard index + 4 <= bytes.count else { return }
        let big = UInt32(bitPattern: value).bigEndian
        withUnsafeBytes(of: big) { for i in 0..<4 { bytes[index + i] = $0[i] } }
    }

    func hostileInt32(_ rng: inout SplitMix64) -> Int32 {
        let choices: [Int32] = [-1, Int32.min, Int32.max, 0, 1, 1 << 20, 1 << 30, -(1 << 20)]
        return rng.next() % 4 == 0 ? Int32(truncatingIfNeeded: rng.next()) : choices[Int(rng.next() % UInt64(choices.count))]
    }

    /// Zigzag varints for huge, negative and overlong values.
    func hostileVarint(_ rng: inout SplitMix64) -> [UInt8] {
        let values: [Int64] = [-1, -2, Int64(Int32.max), Int64(Int32.min), .max, .min, 1 << 40, 100_000_000]
        var bytes = [UInt8](repeating: 0, count: 10)
        switch rng.next() % 3 {
        case 0:
            let value = values[Int(rng.next() % UInt64(values.count))]
            let n = bytes.withUnsafeMutableBytes { RecordVarint.write(value, to: $0.baseAddress!) }
            return Array(bytes[..<n])
        case 1:
            let value = Int32(truncatingIfNeeded: values[Int(rng.next() % UInt64(values.count))])
            let n = bytes.withUnsafeMutableBytes { RecordVarint.write(value, to: $0.baseAddress!) }
            return Array(bytes[..<n])
        default:
            return [UInt8](repeating: 0xFF, count: Int(rng.next() % 12) + 1)  // overlong
        }
    }

    /// If a mutated batch decoded, it must encode again and decode to the same value.
    func checkReencodes(_ batch: RecordBatch) throws {
        guard let encoded = try? batch.encoded(compressionLevel: 1) else { return }
        var reading = encoded
        XCTAssertEqual(try RecordBatch.decode(from: &reading, maxDecompressedBytes: 4 << 20), batch)
    }

    static func kind(of error: RecordBatchError) -> String {
        switch error {
        case .truncated: "truncated"
        case .unsupportedMagic: "unsupportedMagic"
        case .invalidBatchLength: "invalidBatchLength"
        case .invalidOffsets: "invalidOffsets"
        case .crcMismatch: "crcMismatch"
        case .malformedRecord: "malformedRecord"
        case .unsupportedCompression: "unsupportedCompression"
        case .compressionFailed: "compressionFailed"
        case .decompressionFailed: "decompressionFailed"
        }
    }

    func maxResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024  // kilobytes on Linux
    }
}
