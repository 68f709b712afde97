import KafkaProtocol
import NIOCore
@testable import LogStorage
#if canImport(Glibc)
import Glibc
#endif

/// Builds uncompressed record batches v2 for tests, independently of the codec under test:
/// every record is `length, attributes 0, timestampDelta, offsetDelta, key, value, 0 headers`
/// in zig-zag varints, as in Kafka's `DefaultRecord`.
enum TestBatches {
    struct Rec {
        var key: [UInt8]?
        var value: [UInt8]?
        var timestamp: Int64
    }

    static func batch(_ records: [Rec], baseOffset: Int64 = 0, epoch: Int32 = -1, producerId: Int64 = -1) -> ByteBuffer {
        var body = ByteBuffer()
        let baseTimestamp = records.first?.timestamp ?? 0
        for (i, r) in records.enumerated() {
            var rec = ByteBuffer()
            rec.writeInteger(UInt8(0))
            writeVarlong(&rec, r.timestamp - baseTimestamp)
            writeVarlong(&rec, Int64(i))
            if let k = r.key { writeVarlong(&rec, Int64(k.count)); rec.writeBytes(k) } else { writeVarlong(&rec, -1) }
            if let v = r.value { writeVarlong(&rec, Int64(v.count)); rec.writeBytes(v) } else { writeVarlong(&rec, -1) }
            writeVarlong(&rec, 0)
            writeVarlong(&body, Int64(rec.readableBytes))
            body.writeBuffer(&rec)
        }
        let header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: Int32(RecordBatchHeader.size - 12 + body.readableBytes),
            partitionLeaderEpoch: epoch, magic: 2, crc: 0, attributes: 0,
            lastOffsetDelta: Int32(max(records.count - 1, 0)), baseTimestamp: baseTimestamp,
            maxTimestamp: records.map(\.timestamp).max() ?? baseTimestamp, producerId: producerId,
            producerEpoch: -1, baseSequence: -1, recordCount: Int32(records.count))
        var out = ByteBuffer()
        header.write(to: &out)
        out.writeBuffer(&body)
        let crc = CRC32C.checksum(out, at: 21, length: out.readableBytes - 21)!
        out.setInteger(crc, at: 17)
        return out
    }

    /// `count` records with `valueSize`-byte values derived from `seed`.
    static func simple(count: Int, valueSize: Int = 20, timestamp: Int64 = 1_000, seed: UInt8 = 0, baseOffset: Int64 = 0) -> ByteBuffer {
        let recs = (0..<count).map { i in
            Rec(key: Array("k\(i)".utf8), value: (0..<valueSize).map { UInt8(truncatingIfNeeded: Int($0) &+ i &+ Int(seed)) }, timestamp: timestamp + Int64(i))
        }
        return batch(recs, baseOffset: baseOffset)
    }

    static func writeVarlong(_ buffer: inout ByteBuffer, _ value: Int64) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while v >= 0x80 { buffer.writeInteger(UInt8(v & 0x7f | 0x80)); v >>= 7 }
        buffer.writeInteger(UInt8(v))
    }

    /// Splits concatenated batches into their headers.
    static func headers(_ buffer: ByteBuffer) throws -> [RecordBatchHeader] {
        var result: [RecordBatchHeader] = []
        var index = buffer.readerIndex
        while index < buffer.writerIndex {
            let h = try RecordBatchHeader.peek(buffer, at: index)
            try h.verifyCRC(of: buffer, at: index)
            result.append(h)
            index += h.totalSize
        }
        return result
    }
}

/// A fresh directory under /tmp, removed by `cleanup()`.
struct TempDir {
    let path: String
    init(_ name: String = "logstorage") {
        var template = Array("/tmp/samsa-\(name)-XXXXXX".utf8CString)
        let ptr = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: ptr!)
    }
    func cleanup() { try? POSIXFileSystem().removeDirectoryRecursively(path) }
}
