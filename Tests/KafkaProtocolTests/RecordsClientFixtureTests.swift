import Foundation
import NIOCore
import XCTest

@testable import KafkaProtocol

/// Record batches as a real client wrote them: the `records` bytes of Produce requests that
/// kcat (librdkafka 2.0.2) sent, one per codec, captured by scripts/capture-record-batches.py.
/// librdkafka writes raw (not xerial) snappy and LZ4 frames of its own, so these cover the
/// forms Samsa's own compressor does not produce.
final class RecordsClientFixtureTests: XCTestCase {
    func fixture(_ codec: CompressionCodec) throws -> ByteBuffer {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "records-librdkafka-\(codec.name)", withExtension: "bin", subdirectory: "Fixtures"))
        return ByteBuffer(bytes: try Data(contentsOf: url))
    }

    func testLibrdkafkaBatchesOfEveryCodecDecode() throws {
        for codec in CompressionCodec.allCases {
            let bytes = try fixture(codec)
            let result = try RecordBatch.decodeAll(from: bytes)
            XCTAssertFalse(result.hasPartialTrailingBatch, "\(codec)")
            let batch = try XCTUnwrap(result.batches.first, "\(codec)")
            XCTAssertEqual(result.batches.count, 1)
            XCTAssertEqual(batch.compression, codec)
            XCTAssertEqual(batch.baseOffset, 0, "producers send base offset 0")
            XCTAssertEqual(batch.lastOffsetDelta, 4)
            XCTAssertEqual(batch.producerId, -1)
            XCTAssertEqual(batch.records.map(\.offsetDelta), [0, 1, 2, 3, 4])
            // kcat sends an empty key for "\tno key" and an empty value for "k5\t": empty, not null.
            XCTAssertEqual(batch.records.map { $0.key.map { String(buffer: $0) } }, ["k1", "k2", "", "k4", "k5"], "\(codec)")
            XCTAssertEqual(
                batch.records.map { $0.value.map { String(buffer: $0) } },
                ["hello", "world", "no key", String(repeating: "x", count: 2000), ""], "\(codec)")
            for record in batch.records {
                XCTAssertEqual(record.headers, [RecordHeader(key: "trace", value: ByteBuffer(string: "abc"))], "\(codec)")
                XCTAssertGreaterThanOrEqual(batch.timestamp(of: record), batch.baseTimestamp)
                XCTAssertLessThanOrEqual(batch.timestamp(of: record), batch.maxTimestamp!)
            }

            // Re-encoding keeps every field; uncompressed it is byte-exact.
            var reencoded = try batch.encoded()
            if codec == .none { XCTAssertEqual(reencoded, bytes, "uncompressed re-encode is byte-exact") }
            XCTAssertEqual(try RecordBatch.decode(from: &reencoded), batch, "\(codec)")
        }
    }

    func testLibrdkafkaSnappyIsRawAndOursIsXerial() throws {
        let payload = try fixture(.snappy).getSlice(at: RecordBatchHeader.size, length: 8)!
        XCTAssertNotEqual(Array(buffer: payload), Snappy.xerialMagic, "librdkafka writes raw snappy")
        let ours = try RecordBatch.decodeAll(from: try fixture(.snappy)).batches[0].encoded()
        XCTAssertEqual(Array(ours.getBytes(at: RecordBatchHeader.size, length: 8)!), Snappy.xerialMagic)
    }
}
