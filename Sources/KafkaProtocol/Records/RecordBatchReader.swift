import NIOCore

/// Walks a buffer holding several record batches back to back: a Fetch response's `records`,
/// a Produce request's, or a log segment's bytes.
///
/// The last batch may be cut short: Fetch trims its response to the byte limits, so a partial
/// trailing batch is normal there and is reported in ``partialTrailingBytes``, not thrown. The
/// rule follows Kafka's `ByteBufferLogInputStream`: fewer than 17 bytes (up to and including the
/// magic byte) or fewer than `batchLength + 12` bytes end the walk; anything else malformed
/// (bad magic, impossible `batchLength`, CRC mismatch, bad records) throws.
///
/// A value type; not shared across threads while iterating (it mutates), `Sendable` to move.
public struct RecordBatchReader: Sendable {
    /// The bytes not yet consumed.
    public private(set) var remaining: ByteBuffer
    public let maxDecompressedBytes: Int
    /// Bytes of an incomplete batch at the end, known once a `next` call has returned nil.
    public private(set) var partialTrailingBytes = 0

    /// Bytes needed to see a batch's length and magic (Kafka's `HEADER_SIZE_UP_TO_MAGIC`).
    static let bytesUpToMagic = RecordBatchHeader.magicOffset + 1

    public init(_ buffer: ByteBuffer, maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes) {
        self.remaining = buffer
        self.maxDecompressedBytes = maxDecompressedBytes
    }

    /// The next whole batch's header and bytes (a slice, CRC NOT verified, records not parsed):
    /// what a log appends or a follower copies. nil at the end or at a partial trailing batch.
    public mutating func nextRawBatch() throws(RecordBatchError) -> (header: RecordBatchHeader, bytes: ByteBuffer)? {
        guard let header = try peekWhole() else { return nil }
        let bytes = remaining.readSlice(length: header.totalSize)!
        return (header, bytes)
    }

    /// The next whole batch, CRC-verified and fully decoded. nil at the end or at a partial
    /// trailing batch (see ``partialTrailingBytes``).
    public mutating func next() throws(RecordBatchError) -> RecordBatch? {
        guard try peekWhole() != nil else { return nil }
        return try RecordBatch.decode(from: &remaining, maxDecompressedBytes: maxDecompressedBytes)
    }

    /// The header of the next batch if all of it is present; nil (recording the partial bytes)
    /// otherwise.
    private mutating func peekWhole() throws(RecordBatchError) -> RecordBatchHeader? {
        let available = remaining.readableBytes
        if available == 0 { partialTrailingBytes = 0; return nil }
        if available < Self.bytesUpToMagic { partialTrailingBytes = available; return nil }
        let magic = remaining.getInteger(at: remaining.readerIndex + RecordBatchHeader.magicOffset, as: Int8.self)!
        guard magic == 2 else { throw .unsupportedMagic(magic) }
        let batchLength = remaining.getInteger(at: remaining.readerIndex + 8, as: Int32.self)!
        guard batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead) else {
            throw .invalidBatchLength(batchLength)
        }
        if available < Int(batchLength) + RecordBatchHeader.logOverhead { partialTrailingBytes = available; return nil }
        return try RecordBatchHeader.peek(remaining, at: remaining.readerIndex)
    }
}

/// Every whole batch of a buffer, plus how many bytes a partial trailing batch had.
public struct DecodedRecordBatches: Equatable, Sendable {
    public var batches: [RecordBatch]
    /// Bytes of an incomplete batch after the last whole one (0 when the buffer ended cleanly).
    public var partialTrailingBytes: Int
    public var hasPartialTrailingBatch: Bool { partialTrailingBytes > 0 }

    public init(batches: [RecordBatch], partialTrailingBytes: Int) {
        self.batches = batches
        self.partialTrailingBytes = partialTrailingBytes
    }
}

extension RecordBatch {
    /// Decodes every whole batch in `buffer`'s readable bytes; see ``RecordBatchReader`` for how
    /// a partial trailing batch is told apart from a malformed one.
    public static func decodeAll(
        from buffer: ByteBuffer, maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws(RecordBatchError) -> DecodedRecordBatches {
        var reader = RecordBatchReader(buffer, maxDecompressedBytes: maxDecompressedBytes)
        var batches: [RecordBatch] = []
        while let batch = try reader.next() { batches.append(batch) }
        return DecodedRecordBatches(batches: batches, partialTrailingBytes: reader.partialTrailingBytes)
    }
}
