import NIOCore
import XCTest
@testable import KafkaProtocol

/// `RecordBatch.checkUncompressedRecords`: the allocation-free walk the broker's Produce path
/// runs where Kafka's LogValidator iterates records. It must accept exactly what
/// `RecordBatch.decode` accepts (for a batch whose CRC is right).
final class RecordsCheckTests: XCTestCase {
    /// Recomputes batchLength and the CRC after `buffer` was edited, so only the records are wrong.
    static func reseal(_ buffer: inout ByteBuffer) {
        buffer.setInteger(Int32(buffer.readableBytes - 12), at: buffer.readerIndex + 8)
        let crc = CRC32C.checksum(buffer, at: buffer.readerIndex + 21, length: buffer.readableBytes - 21)!
        buffer.setInteger(crc, at: buffer.readerIndex + 17)
    }

    static func sample() throws -> ByteBuffer {
        let records = [
            Record(offsetDelta: 0, timestampDelta: 0, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "value-0")),
            Record(offsetDelta: 1, timestampDelta: 5, key: nil, value: nil,
                   headers: [RecordHeader(key: "h", value: ByteBuffer(string: "x")), RecordHeader(key: "n", value: nil)]),
            Record(offsetDelta: 2, timestampDelta: -3, key: ByteBuffer(), value: ByteBuffer(string: String(repeating: "v", count: 300))),
        ]
        return try RecordBatch(baseTimestamp: 1_700_000_000_000, records: records).encoded()
    }

    func check(_ b: ByteBuffer) throws {
        try RecordBatch.checkUncompressedRecords(in: b, at: b.readerIndex, header: try RecordBatchHeader.peek(b, at: b.readerIndex))
    }

    func testAcceptsWellFormedAndRejectsWhatDecodeRejects() throws {
        let good = try Self.sample()
        XCTAssertNoThrow(try check(good))

        var trailing = good
        trailing.writeBytes([1, 2, 3])
        Self.reseal(&trailing)
        XCTAssertThrowsError(try check(trailing))
        var copy = trailing
        XCTAssertThrowsError(try RecordBatch.decode(from: &copy), "decode agrees")

        var short = good
        short.moveWriterIndex(to: short.writerIndex - 1)
        Self.reseal(&short)
        XCTAssertThrowsError(try check(short), "the last record is cut")
    }

    /// Random edits of the record bytes (CRC resealed): the walk and the full decode agree.
    func testAgreesWithDecodeOnMutatedRecords() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["SAMSA_FUZZ_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        print("RecordsCheckTests seed \(seed) (replay with SAMSA_FUZZ_SEED)")
        var rng = SplitMix64(seed: seed)
        let good = try Self.sample()
        var rejected = 0
        for _ in 0..<5000 {
            var b = good
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = b.readerIndex + RecordBatchHeader.size + Int(rng.next() % UInt64(b.readableBytes - RecordBatchHeader.size))
                b.setInteger(UInt8(truncatingIfNeeded: rng.next()), at: at)
            }
            Self.reseal(&b)
            var copy = b
            let decoded = (try? RecordBatch.decode(from: &copy)) != nil
            let checked = (try? check(b)) != nil
            XCTAssertEqual(checked, decoded, "seed \(seed): \(Array(b.readableBytesView))")
            if !checked { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, 0)
    }
}
