import NIOCore
import XCTest
@testable import KafkaProtocol

/// A response encoded with placeholders, with the left-out records put back at the cuts, must be
/// byte for byte the response encoded with the records in memory: same length prefixes (a
/// compact varint grows with the length), same frame size, same order.
final class RecordsSpliceTests: XCTestCase {
    private func records(_ size: Int, fill: UInt8) -> ByteBuffer {
        ByteBuffer(bytes: [UInt8](repeating: fill, count: size))
    }

    private func response(_ records: [ByteBuffer?]) -> FetchResponse {
        var r = FetchResponse()
        var topic = FetchResponse.FetchableTopicResponse()
        topic.topic = "t"
        for (i, rec) in records.enumerated() {
            var p = FetchResponse.PartitionData()
            p.partitionIndex = Int32(i)
            p.highWatermark = 10
            p.records = rec
            topic.partitions.append(p)
        }
        r.responses = [topic]
        return r
    }

    func testSplicedFrameEqualsTheCopiedFrame() throws {
        // 100 B (1-byte varint), 20 000 B (3-byte varint), an empty and a null records field.
        let payloads: [ByteBuffer?] = [records(100, fill: 1), records(20_000, fill: 2), ByteBuffer(), nil, records(61, fill: 3)]
        for version: Int16 in [4, 11, 12] {
            let expected = try response(payloads).encodeFrame(version: version, correlationId: 7)
            let splice = RecordsSplice()
            let spliced = try RecordsSplice.$current.withValue(splice) { () throws -> ByteBuffer in
                let withPlaceholders = payloads.map { p -> ByteBuffer? in
                    guard let p, p.readableBytes > 0 else { return p }
                    return splice.placeholder(length: p.readableBytes, payload: p)
                }
                return try response(withPlaceholders).encodeFrame(version: version, correlationId: 7)
            }
            let cuts = splice.cuts
            XCTAssertEqual(cuts.map(\.length), [100, 20_000, 61], "v\(version)")
            XCTAssertEqual(splice.omittedBytes, 20_161)
            // Reassemble: bytes up to each cut, then that cut's records.
            var rebuilt = ByteBuffer()
            var start = 0
            for cut in cuts {
                rebuilt.writeImmutableBuffer(spliced.getSlice(at: start, length: cut.position - start)!)
                rebuilt.writeImmutableBuffer(cut.payload as! ByteBuffer)
                start = cut.position
            }
            rebuilt.writeImmutableBuffer(spliced.getSlice(at: start, length: spliced.writerIndex - start)!)
            XCTAssertEqual(rebuilt, expected, "v\(version): spliced frame differs from the copied one")
            XCTAssertEqual(Int(spliced.getInteger(at: 0, as: Int32.self)!), expected.readableBytes - 4, "size prefix counts the records")
        }
    }

    func testRealRecordsAndForeignPlaceholdersAreWrittenAsBytes() throws {
        // An 8-byte records buffer that is not this splice's placeholder goes out as itself.
        let other = RecordsSplice()
        let foreign = other.placeholder(length: 500, payload: 0)
        let plain = ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])
        let splice = RecordsSplice()
        let frame = try RecordsSplice.$current.withValue(splice) {
            try response([foreign, plain]).encodeFrame(version: 12, correlationId: 1)
        }
        XCTAssertTrue(splice.cuts.isEmpty)
        XCTAssertEqual(frame, try response([foreign, plain]).encodeFrame(version: 12, correlationId: 1))
    }

    func testResetForgetsPlaceholdersOfAnEarlierRead() throws {
        let splice = RecordsSplice()
        let stale = splice.placeholder(length: 300, payload: 0)
        splice.reset()
        let frame = try RecordsSplice.$current.withValue(splice) {
            try response([stale]).encodeFrame(version: 12, correlationId: 1)
        }
        XCTAssertTrue(splice.cuts.isEmpty, "a placeholder from before reset() is not spliced")
        XCTAssertEqual(Int(frame.getInteger(at: 0, as: Int32.self)!), frame.readableBytes - 4)
        XCTAssertEqual(splice.length(of: stale), 8)
    }
}
