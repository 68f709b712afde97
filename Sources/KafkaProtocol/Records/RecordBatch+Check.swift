import NIOCore

extension RecordBatch {
    /// Checks, without allocating, that the records of the uncompressed batch at absolute
    /// `index` of `buffer` parse exactly as its header declares: `recordCount` records, each
    /// consuming exactly its declared length (attributes, timestamp and offset deltas, key,
    /// value, headers), and no bytes after the last one.
    ///
    /// The broker's Produce path uses it where Kafka's `LogValidator` iterates the records (a
    /// batch whose CRC is right but whose records do not parse is rejected, not stored for
    /// consumers to choke on) without paying for ``decode(from:maxDecompressedBytes:)``'s
    /// `Record` values. Compressed batches are not walked here (that needs decompression).
    /// The CRC is not verified here (the log verifies it). Throws
    /// ``RecordBatchError/malformedRecord(_:)``.
    public static func checkUncompressedRecords(in buffer: ByteBuffer, at index: Int, header: RecordBatchHeader) throws(RecordBatchError) {
        let start = index + RecordBatchHeader.size
        let length = header.totalSize - RecordBatchHeader.size
        let count = header.recordCount
        guard length >= 0, buffer.writerIndex - start >= length else {
            throw .truncated(needed: header.totalSize, available: buffer.writerIndex - index)
        }
        guard count >= 0, Int(count) <= length / Record.minimumEncodedSize else {
            throw .malformedRecord("recordCount \(count) cannot fit in \(length) record bytes")
        }
        let result: RecordBatchError? = buffer.withUnsafeReadableBytes { raw in
            let offset = start - buffer.readerIndex
            var reader = RecordByteReader(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)]))
            do throws(RecordBatchError) {
                for _ in 0..<count { try Self.skipRecord(&reader) }
            } catch {
                return error
            }
            return reader.remaining == 0
                ? nil : .malformedRecord("\(reader.remaining) bytes left after the \(count) records the header declares")
        }
        if let result { throw result }
    }

    /// Parses one record as ``Record/read(from:source:sourceStart:)`` does, skipping payloads.
    static func skipRecord(_ reader: inout RecordByteReader) throws(RecordBatchError) {
        let length = try reader.readVarint("length")
        guard length >= 0, Int(length) <= reader.remaining else {
            throw .malformedRecord("record length \(length) but \(reader.remaining) bytes remain")
        }
        let end = reader.position + Int(length)
        var inner = RecordByteReader(UnsafeRawBufferPointer(rebasing: reader.bytes[..<end]))
        inner.position = reader.position
        _ = try inner.readInt8()
        _ = try inner.readVarlong("timestampDelta")
        _ = try inner.readVarint("offsetDelta")
        if let n = try inner.readNullableLength("key", limit: end) { inner.position += n }
        if let n = try inner.readNullableLength("value", limit: end) { inner.position += n }
        let headerCount = try inner.readVarint("headersCount")
        guard headerCount >= 0, Int(headerCount) <= (end - inner.position) / 2 else {
            throw .malformedRecord("header count \(headerCount) does not fit in \(end - inner.position) bytes")
        }
        for _ in 0..<headerCount {
            guard let k = try inner.readNullableLength("header key", limit: end) else { throw .malformedRecord("null header key") }
            inner.position += k
            if let v = try inner.readNullableLength("header value", limit: end) { inner.position += v }
        }
        guard inner.position == end else {
            throw .malformedRecord("record declares \(length) bytes but its fields take \(inner.position - (end - Int(length)))")
        }
        reader.position = end
    }
}
