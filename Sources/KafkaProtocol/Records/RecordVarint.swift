/// The zigzag varints used inside records (protobuf `sint32`/`sint64`, Kafka's `ByteUtils.writeVarint`
/// and `writeVarlong`).
///
/// These are NOT the unsigned varints of the flexible protocol versions (those live in `Wire/`):
/// record fields are signed, so `-1` (a null key) must encode in one byte, which zigzag does
/// (`-1` -> `1`). They are kept here, next to their only user, so that the record format can be
/// read in one place.
///
/// Decoding is strict: a varint longer than 5 bytes (10 for a varlong) or with bits beyond the
/// 32 (64) value bits is malformed and throws, where Java would silently truncate. No canonical
/// encoder produces such bytes, so rejecting them only rejects garbage. Pure functions; `Sendable`.
@usableFromInline
enum RecordVarint {
    @inlinable static func zigzag(_ value: Int32) -> UInt32 { UInt32(bitPattern: (value << 1) ^ (value >> 31)) }
    @inlinable static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    @inlinable static func unzigzag(_ value: UInt32) -> Int32 { Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1))) }
    @inlinable static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1))) }

    /// Encoded size of `value` as a zigzag varint (1 ... 5 bytes).
    @inlinable static func size(_ value: Int32) -> Int {
        let bits = 32 - zigzag(value).leadingZeroBitCount
        return bits == 0 ? 1 : (bits + 6) / 7
    }

    /// Encoded size of `value` as a zigzag varlong (1 ... 10 bytes).
    @inlinable static func size(_ value: Int64) -> Int {
        let bits = 64 - zigzag(value).leadingZeroBitCount
        return bits == 0 ? 1 : (bits + 6) / 7
    }

    /// Writes `value` at `pointer`; returns the number of bytes written. The caller has made room
    /// for ``size(_:)-(Int32)`` bytes.
    @inlinable static func write(_ value: Int32, to pointer: UnsafeMutableRawPointer) -> Int {
        writeUnsigned(UInt64(zigzag(value)), to: pointer)
    }

    @inlinable static func write(_ value: Int64, to pointer: UnsafeMutableRawPointer) -> Int {
        writeUnsigned(zigzag(value), to: pointer)
    }

    @inlinable static func writeUnsigned(_ value: UInt64, to pointer: UnsafeMutableRawPointer) -> Int {
        var v = value
        var n = 0
        while v >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: n, as: UInt8.self)
            v >>= 7
            n += 1
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: n, as: UInt8.self)
        return n + 1
    }
}

/// A bounds-checked cursor over the raw bytes of a record section.
///
/// Every read checks the bytes that remain and throws ``RecordBatchError/malformedRecord(_:)``
/// instead of reading past the end, so a lying length can never make the parser trap or read
/// foreign memory. Only valid inside the `withUnsafeReadableBytes` call that produced `bytes`.
@usableFromInline
struct RecordByteReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var position: Int

    @inlinable init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.position = 0
    }

    @inlinable var remaining: Int { bytes.count - position }

    @inlinable mutating func readInt8() throws(RecordBatchError) -> Int8 {
        guard position < bytes.count else { throw .malformedRecord("record ends inside its attributes byte") }
        let value = Int8(bitPattern: bytes[position])
        position += 1
        return value
    }

    /// Reads a zigzag varint of at most 5 bytes.
    @inlinable mutating func readVarint(_ field: StaticString) throws(RecordBatchError) -> Int32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        var index = position
        while true {
            guard index < bytes.count else { throw .malformedRecord("record ends inside varint \(field)") }
            let byte = bytes[index]
            index += 1
            if shift == 28 {
                // The fifth byte may carry only the top 4 value bits and no continuation.
                guard byte & 0xF0 == 0 else { throw .malformedRecord("varint \(field) is longer than 5 bytes") }
                result |= UInt32(byte) << 28
                break
            }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        position = index
        return RecordVarint.unzigzag(result)
    }

    /// Reads a zigzag varlong of at most 10 bytes.
    @inlinable mutating func readVarlong(_ field: StaticString) throws(RecordBatchError) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = position
        while true {
            guard index < bytes.count else { throw .malformedRecord("record ends inside varlong \(field)") }
            let byte = bytes[index]
            index += 1
            if shift == 63 {
                guard byte & 0xFE == 0 else { throw .malformedRecord("varlong \(field) is longer than 10 bytes") }
                result |= UInt64(byte) << 63
                break
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        position = index
        return RecordVarint.unzigzag(result)
    }

    /// Reads a length that must be -1 (null) or fit in what remains of `limit`.
    /// Returns nil for -1. Values below -1 are malformed (Java would treat them as null, but no
    /// encoder writes them).
    @inlinable mutating func readNullableLength(_ field: StaticString, limit: Int) throws(RecordBatchError) -> Int? {
        let length = try readVarint(field)
        if length == -1 { return nil }
        guard length >= 0 else { throw .malformedRecord("negative length \(length) for \(field)") }
        guard Int(length) <= limit - position else {
            throw .malformedRecord("\(field) length \(length) exceeds the \(limit - position) bytes left in the record")
        }
        return Int(length)
    }
}
