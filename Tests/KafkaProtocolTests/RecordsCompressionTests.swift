import NIOCore
import XCTest

@testable import KafkaProtocol

final class RecordsCompressionTests: XCTestCase {
    func testNamesAndIDsAreKafkas() {
        XCTAssertEqual(CompressionCodec.allCases.map(\.rawValue), [0, 1, 2, 3, 4])
        XCTAssertEqual(CompressionCodec.allCases.map(\.name), ["none", "gzip", "snappy", "lz4", "zstd"])
        XCTAssertEqual(CompressionCodec(name: "ZSTD"), .zstd)
        XCTAssertNil(CompressionCodec(name: "producer"))
    }

    func testEveryCodecRoundTripsEmptySmallAndMultiBlockInputs() throws {
        var rng = SplitMix64(seed: 42)
        let sizes = [0, 1, 100, 32 * 1024, 32 * 1024 + 1, 200_000]
        for codec in CompressionCodec.allCases {
            for size in sizes {
                // Half random, half repetitive: incompressible and compressible blocks both.
                let bytes = (0..<size).map { i in i % 2048 < 1024 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(i % 13) }
                let input = ByteBuffer(bytes: bytes)
                let compressed = try codec.compress(input)
                let output = try codec.decompress(compressed)
                XCTAssertEqual(Array(buffer: output), bytes, "\(codec) size \(size)")
            }
        }
    }

    /// The exact framing Java writes (snappy-java `SnappyOutputStream`), built by hand: header,
    /// then blocks whose raw snappy bodies are hand-written too (a literal, then a copy).
    func testJavaXerialSnappyDecodes() throws {
        // Block 1: uncompressed length 11 (0x0b); literal of 5 bytes "abcde" (tag (5-1)<<2 = 0x10);
        // copy with 1-byte offset: length 6, offset 5 -> tag 0b000_010_01 = ((6-4)<<2)|1 = 0x09, offset 0x05.
        let block1: [UInt8] = [0x0B, 0x10] + Array("abcde".utf8) + [0x09, 0x05]
        // Block 2: uncompressed length 3, literal "xyz" (tag (3-1)<<2 = 0x08).
        let block2: [UInt8] = [0x03, 0x08] + Array("xyz".utf8)
        var stream: [UInt8] = [0x82] + Array("SNAPPY".utf8) + [0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        stream += [0, 0, 0, UInt8(block1.count)] + block1
        stream += [0, 0, 0, UInt8(block2.count)] + block2
        let output = try CompressionCodec.snappy.decompress(ByteBuffer(bytes: stream))
        XCTAssertEqual(String(buffer: output), "abcdeabcdeaxyz")

        // What we write is that same framing, 32 KiB per block.
        let written = try CompressionCodec.snappy.compress(ByteBuffer(repeating: 0x61, count: 70_000))
        XCTAssertEqual(Array(written.getBytes(at: 0, length: 16)!), Array(stream.prefix(16)))
        var walk = written.getSlice(at: 16, length: written.readableBytes - 16)!
        var blocks = 0
        while let length = walk.readInteger(as: Int32.self) {
            XCTAssertNotNil(walk.readSlice(length: Int(length)))
            blocks += 1
        }
        XCTAssertEqual(blocks, 3, "70 000 bytes in 32 KiB blocks")
    }

    func testRawSnappyAsLibrdkafkaWritesItDecodes() throws {
        let raw: [UInt8] = [0x0B, 0x10] + Array("abcde".utf8) + [0x09, 0x05]
        XCTAssertEqual(String(buffer: try CompressionCodec.snappy.decompress(ByteBuffer(bytes: raw))), "abcdeabcdea")
        var viaLibrary = ByteBuffer()
        try Snappy.compressRaw(ByteBuffer(string: String(repeating: "kafka ", count: 1000)), into: &viaLibrary)
        XCTAssertEqual(String(buffer: try CompressionCodec.snappy.decompress(viaLibrary)), String(repeating: "kafka ", count: 1000))
    }

    func testRecordBatchWithRawSnappyRecordsDecodes() throws {
        let batch = sampleBatch(codec: .none, recordCount: 20)
        var plain = ByteBuffer()
        for record in batch.records { try record.write(to: &plain) }
        var compressed = ByteBuffer()
        try Snappy.compressRaw(plain, into: &compressed)
        var encoded = ByteBuffer()
        var header = batch.header
        header.attributes = Int16(CompressionCodec.snappy.rawValue)
        header.batchLength = Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead + compressed.readableBytes)
        header.write(to: &encoded)
        encoded.writeImmutableBuffer(compressed)
        refreshCRC(&encoded)
        let decoded = try RecordBatch.decode(from: &encoded)
        XCTAssertEqual(decoded.compression, .snappy)
        XCTAssertEqual(decoded.records, batch.records)
    }

    func testLZ4FrameHeaderIsKafkas() throws {
        let written = try CompressionCodec.lz4.compress(ByteBuffer(string: "hello hello hello"))
        let bytes = Array(buffer: written)
        XCTAssertEqual(Array(bytes[0..<4]), [0x04, 0x22, 0x4D, 0x18], "LZ4 frame magic")
        XCTAssertEqual(bytes[4], 0x60, "FLG: version 01, independent blocks, no checksums, no content size")
        XCTAssertEqual(bytes[5], 0x40, "BD: 64 KiB blocks")
        XCTAssertEqual(Array(bytes.suffix(4)), [0, 0, 0, 0], "end mark")
    }

    func testGzipIsAGzipMemberAndConcatenatedMembersAreRead() throws {
        let first = try CompressionCodec.gzip.compress(ByteBuffer(string: "first "))
        XCTAssertEqual(Array(first.getBytes(at: 0, length: 3)!), [0x1F, 0x8B, 0x08], "gzip magic + deflate")
        var both = first
        both.writeImmutableBuffer(try CompressionCodec.gzip.compress(ByteBuffer(string: "second")))
        XCTAssertEqual(String(buffer: try CompressionCodec.gzip.decompress(both)), "first second")
    }

    /// Zip bombs: a megabyte of zeros compresses to very little; with a 64 KiB limit every codec
    /// must stop at the limit and throw, not produce the megabyte.
    func testDecompressionStopsAtTheLimit() throws {
        let bomb = ByteBuffer(repeating: 0, count: 1 << 20)
        for codec in CompressionCodec.allCases {
            let compressed = try codec.compress(bomb)
            XCTAssertThrowsError(try codec.decompress(compressed, maxOutputBytes: 64 << 10), "\(codec)") { error in
                XCTAssertEqual(error as? CompressionError, .outputLimitExceeded(codec: codec, limit: 64 << 10))
            }
            // Exactly at the limit is fine.
            XCTAssertEqual(try codec.decompress(compressed, maxOutputBytes: 1 << 20).readableBytes, 1 << 20, "\(codec)")
        }
    }

    func testRecordBatchDecodeHonoursTheDecompressionLimit() throws {
        let big = RecordBatch(compression: .zstd, records: [Record(offsetDelta: 0, value: ByteBuffer(repeating: 1, count: 500_000))])
        var encoded = try big.encoded()
        XCTAssertLessThan(encoded.readableBytes, 1000)
        XCTAssertThrowsError(try RecordBatch.decode(from: &encoded, maxDecompressedBytes: 100_000)) { error in
            XCTAssertEqual(error as? RecordBatchError, .decompressionFailed(.outputLimitExceeded(codec: .zstd, limit: 100_000)))
        }
        XCTAssertEqual(try RecordBatch.decode(from: &encoded).records.first?.value?.readableBytes, 500_000)
    }

    /// A snappy length header is a varint the sender chose; it must not size an allocation
    /// beyond the limit or beyond what the block could possibly expand to.
    func testLyingSnappyLengthsAreRejectedBeforeAllocating() {
        // Claims 2^31 bytes from a 6-byte block.
        let lying: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x08, 0x00]
        XCTAssertThrowsError(try CompressionCodec.snappy.decompress(ByteBuffer(bytes: lying))) { error in
            guard case .outputLimitExceeded = error as? CompressionError else { return XCTFail("\(error)") }
        }
        // Claims 1 MiB (within the default limit) from 4 bytes: beyond snappy's maximum expansion.
        let tooGood: [UInt8] = [0x80, 0x80, 0x40, 0x00]
        XCTAssertThrowsError(try CompressionCodec.snappy.decompress(ByteBuffer(bytes: tooGood))) { error in
            guard case .corrupt = error as? CompressionError else { return XCTFail("\(error)") }
        }
        // Xerial block lengths that are negative or past the end.
        let header: [UInt8] = [0x82] + Array("SNAPPY".utf8) + [0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        for blockLength: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xF0], [0x7F, 0, 0, 0], [0, 0]] {
            XCTAssertThrowsError(try CompressionCodec.snappy.decompress(ByteBuffer(bytes: header + blockLength + [0x01, 0x00])))
        }
    }

    func testTruncatedAndGarbageStreamsThrow() throws {
        let input = ByteBuffer(string: String(repeating: "truncate me please ", count: 500))
        for codec in CompressionCodec.allCases where codec != .none {
            let compressed = try codec.compress(input)
            for cut in [0, 1, 4, compressed.readableBytes / 2, compressed.readableBytes - 1] {
                let truncated = compressed.getSlice(at: 0, length: cut)!
                XCTAssertThrowsError(try codec.decompress(truncated), "\(codec) cut at \(cut)")
            }
            XCTAssertThrowsError(try codec.decompress(ByteBuffer(string: "definitely not compressed data")), "\(codec)")
        }
    }

    func testZstdWindowCapFollowsTheLimit() {
        XCTAssertEqual(Zstd.windowLogMax(forLimit: 1), 23)
        XCTAssertEqual(Zstd.windowLogMax(forLimit: 1 << 20), 23)
        XCTAssertEqual(Zstd.windowLogMax(forLimit: (1 << 25) + 1), 26)
        XCTAssertEqual(Zstd.windowLogMax(forLimit: CompressionCodec.defaultMaxDecompressedBytes), 27)
        XCTAssertEqual(Zstd.windowLogMax(forLimit: .max), 27)
    }
}
