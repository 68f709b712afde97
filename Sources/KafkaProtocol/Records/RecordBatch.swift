import NIOCore

/// A record batch v2 (magic 2): the ``RecordBatchHeader`` fields plus its decoded records.
///
/// This is the form producers build and consumers read. The broker's append path does not need
/// it: it works on the raw bytes with ``RecordBatchHeader/peek(_:at:)`` and
/// ``RecordBatchHeader/verifyCRC(of:at:)``, and decodes a whole batch only to validate records.
///
/// Derived header fields: `batchLength`, `crc` and `recordCount` are always computed by
/// ``encode(into:compressionLevel:)``. `lastOffsetDelta` and `maxTimestamp` are computed too
/// when they are nil (the producer case); decoding fills them in from the wire, so a decoded
/// batch re-encodes to the same header even when compaction removed records (Kafka keeps the
/// original `lastOffsetDelta` then, so offsets stay dense per batch). A value type; `Sendable`.
public struct RecordBatch: Equatable, Sendable {
    /// First offset of the batch. Producers send 0; the broker stamps the assigned offset.
    public var baseOffset: Int64
    /// Stamped by the leader on append; -1 from producers. Not covered by the CRC.
    public var partitionLeaderEpoch: Int32
    public var compression: CompressionCodec
    public var timestampType: TimestampType
    /// Part of a transaction (attribute bit 4).
    public var isTransactional: Bool
    /// A control batch (attribute bit 5): its records are ``ControlRecordKey`` markers, never
    /// returned to applications.
    public var isControl: Bool
    /// Attribute bit 6 (KIP-534): `baseTimestamp` holds the delete horizon of a compacted batch.
    public var hasDeleteHorizon: Bool
    /// Offset of the last record minus `baseOffset`; nil = derive from the records on encode.
    public var lastOffsetDelta: Int32?
    /// Usually the first record's timestamp; record timestamps are deltas from it.
    public var baseTimestamp: Int64
    /// The largest record timestamp (the broker's time for LogAppendTime);
    /// nil = derive from the records on encode, -1 for an empty batch.
    public var maxTimestamp: Int64?
    /// -1 unless the producer is idempotent or transactional.
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var records: [Record]

    public init(
        baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1, compression: CompressionCodec = .none,
        timestampType: TimestampType = .createTime, isTransactional: Bool = false, isControl: Bool = false,
        hasDeleteHorizon: Bool = false, lastOffsetDelta: Int32? = nil, baseTimestamp: Int64 = -1,
        maxTimestamp: Int64? = nil, producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        records: [Record] = []
    ) {
        self.baseOffset = baseOffset
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.compression = compression
        self.timestampType = timestampType
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.hasDeleteHorizon = hasDeleteHorizon
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.records = records
    }

    /// Attribute bits as the header stores them.
    public var attributes: Int16 {
        var bits = Int16(compression.rawValue)
        if timestampType == .logAppendTime { bits |= 0x08 }
        if isTransactional { bits |= 0x10 }
        if isControl { bits |= 0x20 }
        if hasDeleteHorizon { bits |= 0x40 }
        return bits
    }

    /// `lastOffsetDelta` as encoding will write it: the stored value, or the largest record
    /// `offsetDelta` (0 for an empty batch), as Kafka's `MemoryRecordsBuilder` does.
    public var effectiveLastOffsetDelta: Int32 {
        if let lastOffsetDelta { return lastOffsetDelta }
        var largest: Int32 = 0
        for record in records where record.offsetDelta > largest { largest = record.offsetDelta }
        return largest
    }

    /// `maxTimestamp` as encoding will write it: the stored value, or `baseTimestamp` plus the
    /// largest `timestampDelta`, or -1 (Kafka's `NO_TIMESTAMP`) for an empty batch.
    public var effectiveMaxTimestamp: Int64 {
        if let maxTimestamp { return maxTimestamp }
        guard var largest = records.first?.timestampDelta else { return -1 }
        for record in records where record.timestampDelta > largest { largest = record.timestampDelta }
        return baseTimestamp &+ largest
    }

    /// Offset of the last offset the batch occupies (control and compacted-away records included).
    public var lastOffset: Int64 { baseOffset &+ Int64(effectiveLastOffsetDelta) }
    /// Where the next batch starts: consumers advance by this.
    public var nextOffset: Int64 { lastOffset &+ 1 }

    /// The absolute offset of `record`. Wrapping arithmetic: a hostile base offset gives a
    /// meaningless offset rather than a trap.
    public func offset(of record: Record) -> Int64 { baseOffset &+ Int64(record.offsetDelta) }

    /// The timestamp of `record` as Kafka reports it: `maxTimestamp` for LogAppendTime batches,
    /// `baseTimestamp + timestampDelta` otherwise.
    public func timestamp(of record: Record) -> Int64 {
        timestampType == .logAppendTime ? effectiveMaxTimestamp : baseTimestamp &+ record.timestampDelta
    }

    /// The header that ``encode(into:compressionLevel:)`` would write, except `batchLength` and
    /// `crc`, which depend on the encoded bytes.
    public var header: RecordBatchHeader {
        RecordBatchHeader(
            baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: partitionLeaderEpoch, magic: 2, crc: 0,
            attributes: attributes, lastOffsetDelta: effectiveLastOffsetDelta, baseTimestamp: baseTimestamp,
            maxTimestamp: effectiveMaxTimestamp, producerId: producerId, producerEpoch: producerEpoch,
            baseSequence: baseSequence, recordCount: Int32(clamping: records.count))
    }
}

/// The timestamp type of a batch (attribute bit 3).
public enum TimestampType: Int8, Sendable, CaseIterable {
    /// Timestamps are the producer's (`message.timestamp.type=CreateTime`).
    case createTime = 0
    /// The broker overwrote `maxTimestamp` with its clock on append (`LogAppendTime`).
    case logAppendTime = 1
}

// MARK: - Encoding

extension RecordBatch {
    /// Appends the encoded batch to `buffer`.
    ///
    /// Computes `recordCount`, `batchLength`, `lastOffsetDelta` and `maxTimestamp` (when nil),
    /// compresses the records with ``compression`` (at `compressionLevel`, or Kafka's default
    /// for the codec), then the CRC-32C over attributes ... end. On a throw, `buffer` is left
    /// as it was.
    public func encode(into buffer: inout ByteBuffer, compressionLevel: Int? = nil) throws(RecordBatchError) {
        guard records.count <= Int(Int32.max) else { throw .malformedRecord("\(records.count) records do not fit a batch") }
        let lastDelta = effectiveLastOffsetDelta
        guard lastDelta >= 0 else { throw .invalidOffsets(lastOffsetDelta: lastDelta, recordCount: Int32(records.count)) }
        for record in records where record.offsetDelta < 0 || record.offsetDelta > lastDelta {
            throw .malformedRecord("offsetDelta \(record.offsetDelta) outside 0...\(lastDelta) (lastOffsetDelta)")
        }
        let start = buffer.writerIndex
        header.write(to: &buffer)
        do throws(RecordBatchError) {
            if compression == .none {
                for record in records { try record.write(to: &buffer) }
            } else {
                var plain = ByteBufferAllocator().buffer(capacity: estimatedRecordBytes())
                for record in records { try record.write(to: &plain) }
                do {
                    try compression.compress(plain, into: &buffer, level: compressionLevel)
                } catch {
                    throw RecordBatchError.compressionFailed("\(error)")
                }
            }
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        let total = buffer.writerIndex - start
        guard total - RecordBatchHeader.logOverhead <= Int(Int32.max) else {
            buffer.moveWriterIndex(to: start)
            throw .invalidBatchLength(Int32.max)
        }
        buffer.setInteger(Int32(total - RecordBatchHeader.logOverhead), at: start + 8)
        let crcStart = start + RecordBatchHeader.attributesOffset
        let crc = CRC32C.checksum(buffer, at: crcStart, length: buffer.writerIndex - crcStart)!
        buffer.setInteger(crc, at: start + RecordBatchHeader.crcOffset)
    }

    /// The encoded batch in a new buffer.
    public func encoded(compressionLevel: Int? = nil) throws(RecordBatchError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size + estimatedRecordBytes())
        try encode(into: &buffer, compressionLevel: compressionLevel)
        return buffer
    }

    /// A cheap upper-ish estimate of the uncompressed record bytes, to size buffers once.
    func estimatedRecordBytes() -> Int {
        var total = 0
        for record in records {
            total += 24 + (record.key?.readableBytes ?? 0) + (record.value?.readableBytes ?? 0)
            for header in record.headers { total += 10 + header.key.utf8.count + (header.value?.readableBytes ?? 0) }
        }
        return total
    }
}

// MARK: - Decoding

extension RecordBatch {
    /// Decodes the batch at the reader index of `buffer` and moves the reader index past it.
    ///
    /// Order of checks, so that untrusted bytes are never parsed before they are verified:
    /// header (magic first: magic 0/1 throws ``RecordBatchError/unsupportedMagic(_:)``), whole
    /// batch present, CRC-32C, then decompression (bounded by `maxDecompressedBytes`), then exactly
    /// `recordCount` records that must use up the record bytes. On a throw the reader index does
    /// not move.
    public static func decode(
        from buffer: inout ByteBuffer, maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws(RecordBatchError) -> RecordBatch {
        let batch = try decode(buffer, at: buffer.readerIndex, maxDecompressedBytes: maxDecompressedBytes)
        buffer.moveReaderIndex(forwardBy: Int(batch.batchLengthOnWire) + RecordBatchHeader.logOverhead)
        return batch.batch
    }

    /// Decodes the batch at absolute `index` of `buffer` without moving any index.
    static func decode(
        _ buffer: ByteBuffer, at index: Int, maxDecompressedBytes: Int
    ) throws(RecordBatchError) -> (batch: RecordBatch, batchLengthOnWire: Int32) {
        let header = try RecordBatchHeader.peek(buffer, at: index)
        guard buffer.writerIndex - index >= header.totalSize else {
            throw .truncated(needed: header.totalSize, available: buffer.writerIndex - index)
        }
        try header.verifyCRC(of: buffer, at: index)
        let codecID = header.compressionCodecID
        guard let codec = CompressionCodec(rawValue: Int16(codecID)) else { throw .unsupportedCompression(codecID) }

        let recordsStart = index + RecordBatchHeader.size
        let recordsLength = header.totalSize - RecordBatchHeader.size
        let records: [Record]
        if codec == .none || (recordsLength == 0 && header.recordCount == 0) {
            records = try parseRecords(buffer, start: recordsStart, length: recordsLength, count: header.recordCount)
        } else {
            let compressed = buffer.getSlice(at: recordsStart, length: recordsLength)!
            let plain: ByteBuffer
            do {
                plain = try codec.decompress(compressed, maxOutputBytes: maxDecompressedBytes)
            } catch {
                throw .decompressionFailed(error)
            }
            records = try parseRecords(plain, start: plain.readerIndex, length: plain.readableBytes, count: header.recordCount)
        }

        let batch = RecordBatch(
            baseOffset: header.baseOffset, partitionLeaderEpoch: header.partitionLeaderEpoch, compression: codec,
            timestampType: header.isLogAppendTime ? .logAppendTime : .createTime,
            isTransactional: header.isTransactional, isControl: header.isControl,
            hasDeleteHorizon: header.attributes & 0x40 != 0, lastOffsetDelta: header.lastOffsetDelta,
            baseTimestamp: header.baseTimestamp, maxTimestamp: header.maxTimestamp, producerId: header.producerId,
            producerEpoch: header.producerEpoch, baseSequence: header.baseSequence, records: records)
        return (batch, header.batchLength)
    }

    /// Parses exactly `count` records from `length` bytes at absolute `start` of `source`.
    static func parseRecords(
        _ source: ByteBuffer, start: Int, length: Int, count: Int32
    ) throws(RecordBatchError) -> [Record] {
        // A record takes at least 7 bytes, so a count the bytes cannot hold is a lie: reject it
        // before reserving memory for it.
        guard Int(count) <= length / Record.minimumEncodedSize else {
            throw .malformedRecord("recordCount \(count) cannot fit in \(length) record bytes")
        }
        let result: Result<[Record], RecordBatchError> = source.withUnsafeReadableBytes { raw in
            let offset = start - source.readerIndex
            var reader = RecordByteReader(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)]))
            var records: [Record] = []
            records.reserveCapacity(Int(count))
            do throws(RecordBatchError) {
                for _ in 0..<count {
                    records.append(try Record.read(from: &reader, source: source, sourceStart: start))
                }
            } catch {
                return .failure(error)
            }
            guard reader.remaining == 0 else {
                return .failure(.malformedRecord("\(reader.remaining) bytes left after the \(count) records the header declares"))
            }
            return .success(records)
        }
        return try result.get()
    }
}
