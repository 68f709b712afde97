import NIOCore

/// The fixed 61-byte header of a record batch v2 (magic 2), as it sits on the wire and on disk.
///
/// Layout (big-endian), byte offsets from the start of the batch:
/// ```
///  0 baseOffset           int64   first offset in the batch (stamped by the log on append)
///  8 batchLength          int32   bytes after this field (so the batch is batchLength + 12 bytes)
/// 12 partitionLeaderEpoch int32   stamped by the leader on append; not covered by the CRC
/// 16 magic                int8    2
/// 17 crc                  uint32  CRC-32C of bytes 21 ..< end (attributes to the end)
/// 21 attributes           int16   bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control,
///                                 6 delete horizon set
/// 23 lastOffsetDelta      int32   offset of the last record minus baseOffset
/// 27 baseTimestamp        int64
/// 35 maxTimestamp         int64
/// 43 producerId           int64
/// 51 producerEpoch        int16
/// 53 baseSequence         int32
/// 57 recordCount          int32   number of records (records follow, possibly compressed)
/// ```
/// A value type; `Sendable`.
public struct RecordBatchHeader: Equatable, Sendable {
    public static let size = 61
    /// Bytes before `batchLength`'s coverage begins (baseOffset + batchLength).
    public static let logOverhead = 12
    /// The magic byte's offset, for readers that must check it before trusting the rest.
    public static let magicOffset = 16
    public static let crcOffset = 17
    public static let attributesOffset = 21
    public static let partitionLeaderEpochOffset = 12

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    public init(
        baseOffset: Int64 = 0, batchLength: Int32 = 0, partitionLeaderEpoch: Int32 = -1, magic: Int8 = 2,
        crc: UInt32 = 0, attributes: Int16 = 0, lastOffsetDelta: Int32 = 0, baseTimestamp: Int64 = -1,
        maxTimestamp: Int64 = -1, producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        recordCount: Int32 = 0
    ) {
        self.baseOffset = baseOffset; self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch; self.magic = magic; self.crc = crc
        self.attributes = attributes; self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp; self.maxTimestamp = maxTimestamp
        self.producerId = producerId; self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence; self.recordCount = recordCount
    }

    /// Total size of the batch in bytes, header included.
    public var totalSize: Int { Int(batchLength) + Self.logOverhead }
    /// Offset of the last record in the batch.
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    /// Offset just past the batch.
    public var nextOffset: Int64 { lastOffset + 1 }
    public var compressionCodecID: Int { Int(attributes & 0x07) }
    /// True when timestamps are broker log-append time (attribute bit 3).
    public var isLogAppendTime: Bool { attributes & 0x08 != 0 }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }
    public var hasProducerID: Bool { producerId >= 0 }

    /// Reads a header at absolute `index` of `buffer` without moving the reader index.
    /// Checks only that 61 bytes are there, the magic is 2 and `batchLength` is plausible;
    /// the CRC is verified separately by ``verifyCRC(of:at:)`` so callers can choose when to pay for it.
    ///
    /// The magic byte is checked as soon as it is present (17 bytes), before the rest, so a
    /// legacy v0/v1 message (which can be shorter than 61 bytes) is reported as
    /// ``RecordBatchError/unsupportedMagic(_:)`` rather than as truncated.
    public static func peek(_ buffer: ByteBuffer, at index: Int) throws(RecordBatchError) -> RecordBatchHeader {
        guard index >= buffer.readerIndex, index <= buffer.writerIndex else {
            throw .truncated(needed: size, available: 0)
        }
        if buffer.writerIndex - index > magicOffset {
            let magic = buffer.getInteger(at: index + magicOffset, as: Int8.self)!
            guard magic == 2 else { throw .unsupportedMagic(magic) }
        }
        guard buffer.writerIndex - index >= size else {
            throw .truncated(needed: size, available: buffer.writerIndex - index)
        }
        let magic = buffer.getInteger(at: index + magicOffset, as: Int8.self)!
        let h = RecordBatchHeader(
            baseOffset: buffer.getInteger(at: index, as: Int64.self)!,
            batchLength: buffer.getInteger(at: index + 8, as: Int32.self)!,
            partitionLeaderEpoch: buffer.getInteger(at: index + 12, as: Int32.self)!,
            magic: magic,
            crc: buffer.getInteger(at: index + 17, as: UInt32.self)!,
            attributes: buffer.getInteger(at: index + 21, as: Int16.self)!,
            lastOffsetDelta: buffer.getInteger(at: index + 23, as: Int32.self)!,
            baseTimestamp: buffer.getInteger(at: index + 27, as: Int64.self)!,
            maxTimestamp: buffer.getInteger(at: index + 35, as: Int64.self)!,
            producerId: buffer.getInteger(at: index + 43, as: Int64.self)!,
            producerEpoch: buffer.getInteger(at: index + 51, as: Int16.self)!,
            baseSequence: buffer.getInteger(at: index + 53, as: Int32.self)!,
            recordCount: buffer.getInteger(at: index + 57, as: Int32.self)!
        )
        guard h.batchLength >= Int32(size - logOverhead) else { throw .invalidBatchLength(h.batchLength) }
        guard h.lastOffsetDelta >= 0, h.recordCount >= 0 else {
            throw .invalidOffsets(lastOffsetDelta: h.lastOffsetDelta, recordCount: h.recordCount)
        }
        // `nextOffset` (baseOffset + lastOffsetDelta + 1) must not overflow: a hostile base offset
        // would otherwise trap whoever computes where the next batch starts.
        guard h.baseOffset <= Int64.max - Int64(h.lastOffsetDelta) - 1 else {
            throw .invalidOffsets(lastOffsetDelta: h.lastOffsetDelta, recordCount: h.recordCount)
        }
        return h
    }

    /// Verifies the CRC-32C of the batch whose header is at `index` (covering attributes to the end).
    public func verifyCRC(of buffer: ByteBuffer, at index: Int) throws(RecordBatchError) {
        let start = index + Self.attributesOffset
        let length = totalSize - Self.attributesOffset
        guard let computed = CRC32C.checksum(buffer, at: start, length: length) else {
            throw .truncated(needed: totalSize, available: max(0, buffer.writerIndex - index))
        }
        guard computed == crc else { throw .crcMismatch(stored: crc, computed: computed) }
    }

    /// Writes the 61 header bytes at the writer index.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(baseOffset); buffer.writeInteger(batchLength)
        buffer.writeInteger(partitionLeaderEpoch); buffer.writeInteger(magic); buffer.writeInteger(crc)
        buffer.writeInteger(attributes); buffer.writeInteger(lastOffsetDelta)
        buffer.writeInteger(baseTimestamp); buffer.writeInteger(maxTimestamp)
        buffer.writeInteger(producerId); buffer.writeInteger(producerEpoch)
        buffer.writeInteger(baseSequence); buffer.writeInteger(recordCount)
    }

    /// Stamps `baseOffset` in place. The CRC does not cover it, so the batch stays valid.
    public static func setBaseOffset(_ offset: Int64, in buffer: inout ByteBuffer, at index: Int) {
        buffer.setInteger(offset, at: index)
    }

    /// Stamps `partitionLeaderEpoch` in place (not covered by the CRC either).
    public static func setPartitionLeaderEpoch(_ epoch: Int32, in buffer: inout ByteBuffer, at index: Int) {
        buffer.setInteger(epoch, at: index + partitionLeaderEpochOffset)
    }
}

/// Why a record batch was rejected. Every decoder throws one of these instead of trapping.
public enum RecordBatchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the header or `batchLength` requires.
    case truncated(needed: Int, available: Int)
    /// Magic other than 2. Legacy message sets (magic 0 and 1) are rejected by design: Produce v3+
    /// and Fetch v4+ carry only magic 2, and Kafka 4.0 removed the old formats (KIP-724, KIP-896).
    case unsupportedMagic(Int8)
    case invalidBatchLength(Int32)
    case invalidOffsets(lastOffsetDelta: Int32, recordCount: Int32)
    case crcMismatch(stored: UInt32, computed: UInt32)
    case malformedRecord(String)
    /// Compression codec id 5, 6 or 7 in the attributes.
    case unsupportedCompression(Int)
    /// Compressing the records failed while encoding.
    case compressionFailed(String)
    /// The compressed records are corrupt, or expand beyond the caller's limit.
    case decompressionFailed(CompressionError)

    public var description: String {
        switch self {
        case let .truncated(needed, available): "record batch truncated: needs \(needed) bytes, \(available) available"
        case let .unsupportedMagic(magic) where magic == 0 || magic == 1:
            "legacy message format (magic \(magic)) is not supported; Samsa reads and writes record batch v2 only"
        case let .unsupportedMagic(magic): "unknown record batch magic \(magic)"
        case let .invalidBatchLength(length): "invalid batchLength \(length)"
        case let .invalidOffsets(delta, count): "invalid offsets: lastOffsetDelta \(delta), recordCount \(count)"
        case let .crcMismatch(stored, computed):
            "CRC-32C mismatch: stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16))"
        case let .malformedRecord(reason): "malformed record: \(reason)"
        case let .unsupportedCompression(id): "unsupported compression codec id \(id)"
        case let .compressionFailed(reason): "compression failed: \(reason)"
        case let .decompressionFailed(error): "decompression failed: \(error)"
        }
    }
}
