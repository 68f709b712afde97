import NIOCore

/// One record inside a v2 record batch (Kafka's `DefaultRecord`).
///
/// Wire layout, every integer a zigzag varint (see ``RecordVarint``):
/// ```
/// length          varint    bytes after this field
/// attributes      int8      unused, 0
/// timestampDelta  varlong   timestamp - batch.baseTimestamp
/// offsetDelta     varint    offset - batch.baseOffset
/// keyLength       varint    -1 = null key
/// key             bytes
/// valueLength     varint    -1 = null value (a tombstone in a compacted topic)
/// value           bytes
/// headersCount    varint
/// headers         [RecordHeader]
/// ```
/// Decoded keys and values are slices of the buffer they were read from (no copy), so a record
/// keeps that whole buffer alive; copy them out if you keep a few records from a large fetch.
/// A value type; `Sendable`.
public struct Record: Equatable, Hashable, Sendable {
    /// The record attributes byte. Kafka defines no bits here; kept for a byte-exact round trip.
    public var attributes: Int8
    /// Timestamp minus the batch's `baseTimestamp`, a varlong on the wire (never a varint: a
    /// producer that wrote a varint here corrupted every record after a large delta).
    public var timestampDelta: Int64
    /// Offset minus the batch's `baseOffset`.
    public var offsetDelta: Int32
    /// nil is a null key (distinct from an empty one).
    public var key: ByteBuffer?
    /// nil is a null value: a tombstone in a compacted topic.
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    public init(
        offsetDelta: Int32, timestampDelta: Int64 = 0, key: ByteBuffer? = nil, value: ByteBuffer?,
        headers: [RecordHeader] = [], attributes: Int8 = 0
    ) {
        self.attributes = attributes
        self.timestampDelta = timestampDelta
        self.offsetDelta = offsetDelta
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// The smallest possible encoding: a 1-byte length, attributes, and five 1-byte varints.
    /// Used to reject a `recordCount` that the bytes present cannot possibly hold before
    /// reserving memory for it.
    @usableFromInline static let minimumEncodedSize = 7
}

/// A record header: a UTF-8 key that is never null, and a nullable value.
///
/// Header keys that are not valid UTF-8 are decoded with replacement characters, as Java's
/// `Utils.utf8` does, rather than rejecting the record. A value type; `Sendable`.
public struct RecordHeader: Equatable, Hashable, Sendable {
    public var key: String
    public var value: ByteBuffer?

    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}

// MARK: - Encoding

extension Record {
    /// Bytes after the length prefix, computed exactly so the length can be written first.
    /// Throws when a field is too large for its int32 length.
    @usableFromInline
    func bodySize() throws(RecordBatchError) -> Int {
        var size = 1 + RecordVarint.size(timestampDelta) + RecordVarint.size(offsetDelta)
        size += try Self.nullableFieldSize(key, "key")
        size += try Self.nullableFieldSize(value, "value")
        guard headers.count <= Int(Int32.max) else { throw .malformedRecord("too many headers (\(headers.count))") }
        size += RecordVarint.size(Int32(headers.count))
        for header in headers {
            let keyLength = header.key.utf8.count
            guard keyLength <= Int(Int32.max) else { throw .malformedRecord("header key too long") }
            size += RecordVarint.size(Int32(keyLength)) + keyLength
            size += try Self.nullableFieldSize(header.value, "header value")
        }
        guard size <= Int(Int32.max) else { throw .malformedRecord("record of \(size) bytes is too large") }
        return size
    }

    @inlinable
    static func nullableFieldSize(_ field: ByteBuffer?, _ name: StaticString) throws(RecordBatchError) -> Int {
        guard let field else { return 1 }
        let count = field.readableBytes
        guard count <= Int(Int32.max) else { throw .malformedRecord("\(name) of \(count) bytes is too large") }
        return RecordVarint.size(Int32(count)) + count
    }

    /// Appends the record (length prefix included) to `buffer`.
    func write(to buffer: inout ByteBuffer) throws(RecordBatchError) {
        let body = try bodySize()
        let total = RecordVarint.size(Int32(body)) + body
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            let base = out.baseAddress!
            var at = RecordVarint.write(Int32(body), to: base)
            base.storeBytes(of: attributes, toByteOffset: at, as: Int8.self)
            at += 1
            at += RecordVarint.write(timestampDelta, to: base + at)
            at += RecordVarint.write(offsetDelta, to: base + at)
            at += Self.writeNullable(key, to: base + at)
            at += Self.writeNullable(value, to: base + at)
            at += RecordVarint.write(Int32(headers.count), to: base + at)
            for header in headers {
                var key = header.key
                at += key.withUTF8 { utf8 in
                    let n = RecordVarint.write(Int32(utf8.count), to: base + at)
                    if utf8.count > 0 { (base + at + n).copyMemory(from: utf8.baseAddress!, byteCount: utf8.count) }
                    return n + utf8.count
                }
                at += Self.writeNullable(header.value, to: base + at)
            }
            return at
        }
    }

    @inlinable
    static func writeNullable(_ field: ByteBuffer?, to pointer: UnsafeMutableRawPointer) -> Int {
        guard let field else { return RecordVarint.write(Int32(-1), to: pointer) }
        return field.withUnsafeReadableBytes { bytes in
            let n = RecordVarint.write(Int32(bytes.count), to: pointer)
            if bytes.count > 0 { (pointer + n).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            return n + bytes.count
        }
    }
}

// MARK: - Decoding

extension Record {
    /// Reads one record at the reader's position. `source` is the buffer whose readable bytes the
    /// reader walks (keys and values become slices of it); `sourceStart` is the absolute index of
    /// the reader's byte 0 in `source`.
    ///
    /// Mirrors Java's `DefaultRecord.readFrom`, stricter where Java is lenient about garbage:
    /// the record must consume exactly its declared length.
    @inlinable
    static func read(
        from reader: inout RecordByteReader, source: ByteBuffer, sourceStart: Int
    ) throws(RecordBatchError) -> Record {
        let length = try reader.readVarint("length")
        guard length >= 0, Int(length) <= reader.remaining else {
            throw .malformedRecord("record length \(length) but \(reader.remaining) bytes remain")
        }
        let start = reader.position
        let end = start + Int(length)
        // Parse within the record's own bounds so a lying inner length cannot reach the next record.
        var inner = RecordByteReader(UnsafeRawBufferPointer(rebasing: reader.bytes[..<end]))
        inner.position = start

        let attributes = try inner.readInt8()
        let timestampDelta = try inner.readVarlong("timestampDelta")
        let offsetDelta = try inner.readVarint("offsetDelta")
        let key = try readNullableSlice(&inner, "key", end: end, source: source, sourceStart: sourceStart)
        let value = try readNullableSlice(&inner, "value", end: end, source: source, sourceStart: sourceStart)
        let headerCount = try inner.readVarint("headersCount")
        guard headerCount >= 0 else { throw .malformedRecord("negative header count \(headerCount)") }
        // Each header takes at least 2 bytes, so a count the record cannot hold is rejected
        // before anything is reserved for it.
        guard Int(headerCount) <= (end - inner.position) / 2 else {
            throw .malformedRecord("header count \(headerCount) exceeds what \(end - inner.position) bytes can hold")
        }
        var headers: [RecordHeader] = []
        if headerCount > 0 {
            headers.reserveCapacity(Int(headerCount))
            for _ in 0..<headerCount {
                guard let keyLength = try inner.readNullableLength("header key", limit: end) else {
                    throw .malformedRecord("null header key")
                }
                let keyBytes = UnsafeRawBufferPointer(rebasing: inner.bytes[inner.position..<(inner.position + keyLength)])
                let headerKey = String(decoding: keyBytes, as: UTF8.self)
                inner.position += keyLength
                let headerValue = try readNullableSlice(
                    &inner, "header value", end: end, source: source, sourceStart: sourceStart)
                headers.append(RecordHeader(key: headerKey, value: headerValue))
            }
        }
        guard inner.position == end else {
            throw .malformedRecord("record declares \(length) bytes but its fields take \(inner.position - start)")
        }
        reader.position = end
        return Record(
            offsetDelta: offsetDelta, timestampDelta: timestampDelta, key: key, value: value,
            headers: headers, attributes: attributes)
    }

    @inlinable
    static func readNullableSlice(
        _ reader: inout RecordByteReader, _ field: StaticString, end: Int, source: ByteBuffer, sourceStart: Int
    ) throws(RecordBatchError) -> ByteBuffer? {
        guard let length = try reader.readNullableLength(field, limit: end) else { return nil }
        // In range by construction (readNullableLength checked it against `end`); the guard keeps
        // a broken caller from turning into a silent null.
        guard let slice = source.getSlice(at: sourceStart + reader.position, length: length) else {
            throw .malformedRecord("\(field) lies outside the source buffer")
        }
        reader.position += length
        return slice
    }
}
