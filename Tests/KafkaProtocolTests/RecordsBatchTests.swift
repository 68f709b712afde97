import NIOCore
import XCTest

@testable import KafkaProtocol

final class RecordsBatchTests: XCTestCase {
    /// A batch written by hand from the v2 layout (kafka-broker-notes §2.1/§2.2). The CRC was
    /// computed by a separate bit-at-a-time CRC-32C, and kafka-python's
    /// `DefaultRecordBatchBuilder` produces the same bytes for the same input.
    static let golden = hexBytes(
        """
        0000000000000005 00000051 00000003 02 1181f2ea
        0000 00000001 0000018bcfe56800 0000018bcfe56805 ffffffffffffffff ffff ffffffff 00000002
        18 00 00 00 02 6b 0a 68656c6c6f 00
        24 00 0a 02 01 0a 776f726c64 04 02 68 02 76 02 6e 01
        """)
    // baseOffset 5, batchLength 81, partitionLeaderEpoch 3, magic 2, crc
    // attributes 0, lastOffsetDelta 1, baseTimestamp 1700000000000, maxTimestamp +5,
    //   producerId/epoch/baseSequence -1, recordCount 2
    // record 0: length 12, attributes 0, timestampDelta 0, offsetDelta 0, key "k", value "hello", 0 headers
    // record 1: length 18, timestampDelta 5, offsetDelta 1, null key, value "world",
    //   headers ["h": "v", "n": null]

    func testGoldenBatchDecodesExactly() throws {
        var buffer = ByteBuffer(bytes: Self.golden)
        let batch = try RecordBatch.decode(from: &buffer)
        XCTAssertEqual(buffer.readableBytes, 0)
        XCTAssertEqual(batch.baseOffset, 5)
        XCTAssertEqual(batch.partitionLeaderEpoch, 3)
        XCTAssertEqual(batch.compression, .none)
        XCTAssertEqual(batch.timestampType, .createTime)
        XCTAssertFalse(batch.isTransactional)
        XCTAssertFalse(batch.isControl)
        XCTAssertEqual(batch.lastOffsetDelta, 1)
        XCTAssertEqual(batch.baseTimestamp, 1_700_000_000_000)
        XCTAssertEqual(batch.maxTimestamp, 1_700_000_000_005)
        XCTAssertEqual(batch.producerId, -1)
        XCTAssertEqual(batch.producerEpoch, -1)
        XCTAssertEqual(batch.baseSequence, -1)
        XCTAssertEqual(batch.records.count, 2)
        let first = batch.records[0], second = batch.records[1]
        XCTAssertEqual(first.key, ByteBuffer(string: "k"))
        XCTAssertEqual(first.value, ByteBuffer(string: "hello"))
        XCTAssertEqual(first.headers, [])
        XCTAssertEqual(batch.offset(of: first), 5)
        XCTAssertEqual(batch.timestamp(of: first), 1_700_000_000_000)
        XCTAssertNil(second.key)
        XCTAssertEqual(second.value, ByteBuffer(string: "world"))
        XCTAssertEqual(second.headers, [RecordHeader(key: "h", value: ByteBuffer(string: "v")), RecordHeader(key: "n", value: nil)])
        XCTAssertEqual(batch.offset(of: second), 6)
        XCTAssertEqual(batch.timestamp(of: second), 1_700_000_000_005)
        XCTAssertEqual(batch.nextOffset, 7)
        // And it re-encodes to the very same bytes.
        XCTAssertEqual(Array(buffer: try batch.encoded()), Self.golden)
    }

    func testEncodingTheGoldenBatchFromScratch() throws {
        let batch = RecordBatch(
            baseOffset: 5, partitionLeaderEpoch: 3, baseTimestamp: 1_700_000_000_000,
            records: [
                Record(offsetDelta: 0, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "hello")),
                Record(
                    offsetDelta: 1, timestampDelta: 5, key: nil, value: ByteBuffer(string: "world"),
                    headers: [RecordHeader(key: "h", value: ByteBuffer(string: "v")), RecordHeader(key: "n", value: nil)]),
            ])
        XCTAssertEqual(Array(buffer: try batch.encoded()), Self.golden, "lastOffsetDelta/maxTimestamp derived as Kafka does")
    }

    func testHeaderPeekAgreesWithTheGoldenBatch() throws {
        let buffer = ByteBuffer(bytes: Self.golden)
        let header = try RecordBatchHeader.peek(buffer, at: 0)
        XCTAssertEqual(header.totalSize, Self.golden.count)
        XCTAssertEqual(header.crc, 0x1181_F2EA)
        XCTAssertEqual(header.lastOffset, 6)
        try header.verifyCRC(of: buffer, at: 0)
    }

    func testEveryCodecRoundTripsWithHeadersNullsAndFlags() throws {
        for codec in CompressionCodec.allCases {
            for timestampType in TimestampType.allCases {
                let batch = sampleBatch(codec: codec, recordCount: 50, timestampType: timestampType)
                let encoded = try batch.encoded()
                let header = try RecordBatchHeader.peek(encoded, at: 0)
                XCTAssertEqual(header.compressionCodecID, Int(codec.rawValue))
                XCTAssertEqual(header.recordCount, 50)
                XCTAssertEqual(header.totalSize, encoded.readableBytes)
                var reading = encoded
                let decoded = try RecordBatch.decode(from: &reading)
                XCTAssertEqual(reading.readableBytes, 0, "\(codec)")
                var expected = batch
                expected.lastOffsetDelta = 49
                expected.maxTimestamp = batch.baseTimestamp + 49 * 3
                XCTAssertEqual(decoded, expected, "\(codec) \(timestampType)")
                if codec != .none {
                    XCTAssertLessThan(encoded.readableBytes, try RecordBatch(records: batch.records).encoded().readableBytes,
                                      "\(codec) should shrink repetitive records")
                }
            }
        }
    }

    func testTransactionalIdempotentBatchKeepsProducerFields() throws {
        var batch = sampleBatch(codec: .zstd, recordCount: 3)
        batch.isTransactional = true
        batch.producerId = 4242
        batch.producerEpoch = 7
        batch.baseSequence = 1000
        batch.partitionLeaderEpoch = 12
        let encoded = try batch.encoded()
        let header = try RecordBatchHeader.peek(encoded, at: 0)
        XCTAssertTrue(header.isTransactional)
        XCTAssertFalse(header.isControl)
        XCTAssertEqual(header.attributes, 0x14)
        var reading = encoded
        let decoded = try RecordBatch.decode(from: &reading)
        XCTAssertEqual(decoded.producerId, 4242)
        XCTAssertEqual(decoded.producerEpoch, 7)
        XCTAssertEqual(decoded.baseSequence, 1000)
        XCTAssertEqual(decoded.partitionLeaderEpoch, 12)
        XCTAssertTrue(decoded.isTransactional)
    }

    func testControlBatchesCarryTransactionMarkers() throws {
        for type in [ControlRecordType.commit, .abort] {
            let batch = RecordBatch.endTransactionMarker(
                EndTransactionMarker(type: type, coordinatorEpoch: 17), producerId: 99, producerEpoch: 3,
                timestamp: 1_700_000_000_123, baseOffset: 40)
            let encoded = try batch.encoded()
            let header = try RecordBatchHeader.peek(encoded, at: 0)
            XCTAssertEqual(header.attributes, 0x30, "transactional + control")
            XCTAssertEqual(header.recordCount, 1)
            XCTAssertEqual(header.baseSequence, -1)
            // key: version 0, type; value: version 0, coordinator epoch 17
            let record = batch.records[0]
            XCTAssertEqual(Array(buffer: record.key!), [0, 0, 0, UInt8(type.rawValue)])
            XCTAssertEqual(Array(buffer: record.value!), [0, 0, 0, 0, 0, 17])
            var reading = encoded
            let decoded = try RecordBatch.decode(from: &reading)
            XCTAssertTrue(decoded.isControl)
            XCTAssertEqual(decoded.controlRecordType, type)
            XCTAssertEqual(try EndTransactionMarker(from: decoded.records[0]), EndTransactionMarker(type: type, coordinatorEpoch: 17))
        }
    }

    func testControlKeysOfUnknownTypesAndNewerVersionsStillParse() throws {
        var key = ByteBuffer()
        key.writeInteger(Int16(3))
        key.writeInteger(Int16(42))
        key.writeInteger(Int32(0))  // a field a later version might append
        let parsed = try ControlRecordKey(from: key)
        XCTAssertEqual(parsed.version, 3)
        XCTAssertEqual(parsed.type.rawValue, 42)
        XCTAssertEqual(parsed.type.description, "UNKNOWN(42)")
        XCTAssertThrowsError(try ControlRecordKey(from: ByteBuffer(bytes: [0, 0, 1])))
        let notAMarker = Record(offsetDelta: 0, key: ControlRecordKey(type: .leaderChange).encoded, value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))
        XCTAssertThrowsError(try EndTransactionMarker(from: notAMarker))
    }

    /// After compaction a batch keeps its original lastOffsetDelta although records are gone, so
    /// offsets stay dense per batch; an empty batch may even remain for producer state.
    func testLastOffsetDeltaSurvivesCompactedAndEmptyBatches() throws {
        let compacted = RecordBatch(
            baseOffset: 100, lastOffsetDelta: 9, baseTimestamp: 1000,
            records: [Record(offsetDelta: 2, value: ByteBuffer(string: "a")), Record(offsetDelta: 7, value: nil)])
        var reading = try compacted.encoded()
        let decoded = try RecordBatch.decode(from: &reading)
        XCTAssertEqual(decoded.lastOffsetDelta, 9)
        XCTAssertEqual(decoded.lastOffset, 109)
        XCTAssertEqual(decoded.nextOffset, 110)
        XCTAssertEqual(decoded.records.map { decoded.offset(of: $0) }, [102, 107])
        XCTAssertNil(decoded.records[1].value, "a tombstone stays null")

        let empty = RecordBatch(baseOffset: 50, compression: .none, lastOffsetDelta: 4, baseTimestamp: 7, producerId: 5, producerEpoch: 1, baseSequence: 10)
        var emptyBytes = try empty.encoded()
        XCTAssertEqual(emptyBytes.readableBytes, RecordBatchHeader.size)
        let emptyDecoded = try RecordBatch.decode(from: &emptyBytes)
        XCTAssertEqual(emptyDecoded.records, [])
        XCTAssertEqual(emptyDecoded.maxTimestamp, -1)
        XCTAssertEqual(emptyDecoded.nextOffset, 55)

        let inconsistent = RecordBatch(lastOffsetDelta: 1, records: [Record(offsetDelta: 2, value: nil)])
        XCTAssertThrowsError(try inconsistent.encoded(), "offsetDelta beyond lastOffsetDelta is refused on encode")
    }

    func testLogAppendTimeRecordsReportTheBatchMaxTimestamp() throws {
        var batch = sampleBatch(codec: .none, recordCount: 3, timestampType: .logAppendTime)
        batch.maxTimestamp = 9_999
        var reading = try batch.encoded()
        let decoded = try RecordBatch.decode(from: &reading)
        XCTAssertEqual(decoded.records.map { decoded.timestamp(of: $0) }, [9_999, 9_999, 9_999])
        XCTAssertEqual(try RecordBatchHeader.peek(try batch.encoded(), at: 0).attributes & 0x08, 0x08)
    }

    func testStampingBaseOffsetAndLeaderEpochKeepsTheCRCValid() throws {
        var encoded = try sampleBatch(codec: .lz4, recordCount: 4).encoded()
        RecordBatchHeader.setBaseOffset(123_456, in: &encoded, at: 0)
        RecordBatchHeader.setPartitionLeaderEpoch(9, in: &encoded, at: 0)
        let decoded = try RecordBatch.decode(from: &encoded)
        XCTAssertEqual(decoded.baseOffset, 123_456)
        XCTAssertEqual(decoded.partitionLeaderEpoch, 9)
    }

    func testCorruptionIsCaughtByTheCRCBeforeParsing() throws {
        let encoded = try sampleBatch(codec: .gzip, recordCount: 5).encoded()
        for index in [RecordBatchHeader.attributesOffset, 30, 60, encoded.readableBytes - 1] {
            var damaged = encoded
            damaged.setInteger(damaged.getInteger(at: index, as: UInt8.self)! ^ 0x40, at: index)
            XCTAssertThrowsError(try RecordBatch.decode(from: &damaged)) { error in
                guard case .crcMismatch = error as? RecordBatchError else { return XCTFail("byte \(index): \(error)") }
            }
            XCTAssertEqual(damaged.readerIndex, 0, "a failed decode does not consume")
        }
    }

    func testLegacyMagicIsRejectedWithATypedError() {
        // A magic-1 message: offset, size, crc, magic 1, attributes, timestamp, key -1, value "v".
        let legacy = hexBytes("0000000000000000 00000017 00000000 01 00 0000000000000000 ffffffff 00000001 76")
        var buffer = ByteBuffer(bytes: legacy)
        XCTAssertThrowsError(try RecordBatch.decode(from: &buffer)) { error in
            XCTAssertEqual(error as? RecordBatchError, .unsupportedMagic(1))
            XCTAssertTrue("\(error)".contains("legacy message format"), "\(error)")
        }
        XCTAssertThrowsError(try RecordBatch.decodeAll(from: ByteBuffer(bytes: legacy))) { error in
            XCTAssertEqual(error as? RecordBatchError, .unsupportedMagic(1))
        }
    }

    func testDecodeAllReportsAPartialTrailingBatch() throws {
        var buffer = ByteBuffer()
        let batches = (0..<3).map { i in sampleBatch(codec: CompressionCodec.allCases[i + 1], recordCount: 4, baseOffset: Int64(i) * 4) }
        for batch in batches { try batch.encode(into: &buffer) }
        let whole = try RecordBatch.decodeAll(from: buffer)
        XCTAssertEqual(whole.batches.count, 3)
        XCTAssertFalse(whole.hasPartialTrailingBatch)
        XCTAssertEqual(whole.batches.map(\.baseOffset), [0, 4, 8])

        let fourth = try sampleBatch(codec: .none, recordCount: 4, baseOffset: 12).encoded()
        for cut in [1, 11, 12, 16, 17, 60, 61, fourth.readableBytes - 1] {
            var truncated = buffer
            truncated.writeImmutableBuffer(fourth.getSlice(at: 0, length: cut)!)
            let result = try RecordBatch.decodeAll(from: truncated)
            XCTAssertEqual(result.batches.count, 3, "cut at \(cut)")
            XCTAssertEqual(result.partialTrailingBytes, cut, "cut at \(cut)")
        }

        // The raw walk (what a log or a follower uses) sees the same batches without decoding.
        var reader = RecordBatchReader(buffer)
        var offsets: [Int64] = []
        while let (header, bytes) = try reader.nextRawBatch() {
            XCTAssertEqual(bytes.readableBytes, header.totalSize)
            offsets.append(header.baseOffset)
        }
        XCTAssertEqual(offsets, [0, 4, 8])
    }

    /// Feeding a stream byte by byte: every prefix decodes the batches it holds whole and reports
    /// the rest as partial, never an error, as a consumer reading a socket or a cut fetch sees it.
    func testEveryPrefixOfTwoBatchesDecodesTheWholeOnes() throws {
        var buffer = ByteBuffer()
        try sampleBatch(codec: .zstd, recordCount: 3).encode(into: &buffer)
        let firstSize = buffer.readableBytes
        try sampleBatch(codec: .none, recordCount: 2, baseOffset: 3).encode(into: &buffer)
        for length in 0...buffer.readableBytes {
            let result = try RecordBatch.decodeAll(from: buffer.getSlice(at: 0, length: length)!)
            let whole = length == buffer.readableBytes ? 2 : length >= firstSize ? 1 : 0
            XCTAssertEqual(result.batches.count, whole, "prefix \(length)")
            XCTAssertEqual(result.partialTrailingBytes, length - [0, firstSize, buffer.readableBytes][whole], "prefix \(length)")
        }
    }

    func testDecodeAllThrowsOnAnImpossibleLengthInsteadOfWaitingForMore() throws {
        var buffer = try sampleBatch(codec: .none, recordCount: 1).encoded()
        buffer.setInteger(Int32(10), at: 8)  // batchLength smaller than the header itself
        XCTAssertThrowsError(try RecordBatch.decodeAll(from: buffer)) { error in
            XCTAssertEqual(error as? RecordBatchError, .invalidBatchLength(10))
        }
    }

    func testRecordCountMustMatchTheRecords() throws {
        for codec in [CompressionCodec.none, .snappy] {
            for delta: Int32 in [-1, 1, 1_000_000] {
                var encoded = try sampleBatch(codec: codec, recordCount: 3).encoded()
                encoded.setInteger(3 + delta, at: 57)
                refreshCRC(&encoded)
                XCTAssertThrowsError(try RecordBatch.decode(from: &encoded), "\(codec) count 3 + \(delta)") { error in
                    guard case .malformedRecord = error as? RecordBatchError else { return XCTFail("\(error)") }
                }
            }
        }
    }

    func testVarintEdgeValuesRoundTrip() throws {
        let deltas: [Int64] = [0, -1, 1, 63, -64, 64, 8191, -8192, Int64(Int32.max), Int64(Int32.min), .max, .min]
        let records = deltas.enumerated().map { index, delta in
            Record(offsetDelta: Int32(index), timestampDelta: delta, key: ByteBuffer(), value: ByteBuffer(repeating: 7, count: 300))
        }
        var buffer = try RecordBatch(baseTimestamp: 0, maxTimestamp: 0, records: records).encoded()
        let decoded = try RecordBatch.decode(from: &buffer)
        XCTAssertEqual(decoded.records.map(\.timestampDelta), deltas)
        XCTAssertEqual(decoded.records[0].key, ByteBuffer(), "an empty key is not a null key")

        for value in [Int32.min, -1, 0, 1, Int32.max, 300, -300] {
            var bytes = [UInt8](repeating: 0, count: 5)
            let n = bytes.withUnsafeMutableBytes { RecordVarint.write(value, to: $0.baseAddress!) }
            XCTAssertEqual(n, RecordVarint.size(value))
            let back: Int32 = try bytes.withUnsafeBytes { raw in
                var reader = RecordByteReader(raw)
                return try reader.readVarint("test")
            }
            XCTAssertEqual(back, value)
        }
    }

    func testOverlongVarintsAreRejected() {
        func varintThrows(_ bytes: [UInt8], long: Bool) -> Bool {
            bytes.withUnsafeBytes { raw in
                var reader = RecordByteReader(raw)
                do {
                    if long { _ = try reader.readVarlong("test") } else { _ = try reader.readVarint("test") }
                    return false
                } catch {
                    return true
                }
            }
        }
        for bytes: [UInt8] in [[0x80, 0x80, 0x80, 0x80, 0x10], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0x80], []] {
            XCTAssertTrue(varintThrows(bytes, long: false), "\(bytes)")
        }
        XCTAssertFalse(varintThrows([0xFF, 0xFF, 0xFF, 0xFF, 0x0F], long: false), "Int32.min, the longest valid varint")
        XCTAssertTrue(varintThrows(Array(repeating: 0xFF, count: 9) + [0x02], long: true))
        XCTAssertFalse(varintThrows(Array(repeating: 0xFF, count: 9) + [0x01], long: true), "Int64.min")
    }

    func testHostileBaseOffsetCannotOverflowNextOffset() throws {
        var encoded = try sampleBatch(codec: .none, recordCount: 2).encoded()
        RecordBatchHeader.setBaseOffset(.max - 1, in: &encoded, at: 0)
        XCTAssertThrowsError(try RecordBatch.decode(from: &encoded)) { error in
            guard case .invalidOffsets = error as? RecordBatchError else { return XCTFail("\(error)") }
        }
    }
}

// MARK: - Helpers shared by the record tests

/// A batch whose records exercise nulls, empty values, headers and growing deltas.
func sampleBatch(
    codec: CompressionCodec, recordCount: Int, timestampType: TimestampType = .createTime, baseOffset: Int64 = 0
) -> RecordBatch {
    let records = (0..<recordCount).map { i -> Record in
        let key: ByteBuffer? = i % 5 == 0 ? nil : ByteBuffer(string: "key-\(i)")
        let value: ByteBuffer? = i % 7 == 3 ? nil : ByteBuffer(string: String(repeating: "value \(i) ", count: i % 4 + 1))
        var headers: [RecordHeader] = []
        if i % 3 == 1 { headers.append(RecordHeader(key: "trace-id", value: ByteBuffer(string: "t-\(i)"))) }
        if i % 6 == 2 { headers.append(RecordHeader(key: "ünïcode", value: nil)) }
        return Record(offsetDelta: Int32(i), timestampDelta: Int64(i) * 3, key: key, value: value, headers: headers)
    }
    return RecordBatch(
        baseOffset: baseOffset, compression: codec, timestampType: timestampType, baseTimestamp: 1_700_000_000_000,
        records: records)
}

/// Recomputes the CRC of the batch at index 0 after a test edited covered bytes.
func refreshCRC(_ buffer: inout ByteBuffer) {
    let start = buffer.readerIndex
    let crcStart = start + RecordBatchHeader.attributesOffset
    let crc = CRC32C.checksum(buffer, at: crcStart, length: buffer.writerIndex - crcStart)!
    buffer.setInteger(crc, at: start + RecordBatchHeader.crcOffset)
}
