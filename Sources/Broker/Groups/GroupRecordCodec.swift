import NIOCore

/// A `__consumer_offsets` record that cannot be decoded.
public enum GroupRecordError: Error, Equatable, Sendable {
    /// The buffer ended inside a field.
    case truncated(field: String)
    /// A length, count or version that the format does not allow.
    case invalid(field: String, reason: String)
    /// A value schema version this coordinator does not know.
    case unsupportedVersion(record: String, version: Int16)
}

/// Reading and writing the primitive types of Kafka's data schemas for the coordinator's
/// record formats, classic (int16/int32 lengths) and flexible (KIP-482 compact lengths plus
/// tagged-field sections). Kept here rather than borrowed from the generated codec because
/// these records are stored on disk and their byte layout is part of this file's contract.
struct GroupRecordReader {
    var buffer: ByteBuffer
    let flexible: Bool

    mutating func int16(_ field: String) throws -> Int16 {
        guard let v = buffer.readInteger(as: Int16.self) else { throw GroupRecordError.truncated(field: field) }
        return v
    }

    mutating func int32(_ field: String) throws -> Int32 {
        guard let v = buffer.readInteger(as: Int32.self) else { throw GroupRecordError.truncated(field: field) }
        return v
    }

    mutating func int64(_ field: String) throws -> Int64 {
        guard let v = buffer.readInteger(as: Int64.self) else { throw GroupRecordError.truncated(field: field) }
        return v
    }

    /// Unsigned LEB128, at most 5 bytes for a 32-bit quantity.
    mutating func uvarint(_ field: String) throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw GroupRecordError.truncated(field: field) }
            if shift == 28 && byte > 0x0F {
                throw GroupRecordError.invalid(field: field, reason: "varint longer than 32 bits")
            }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Length of a string, bytes or array; nil means null.
    private mutating func length(_ field: String, classicWidth32: Bool) throws -> Int? {
        if flexible {
            let n = try uvarint(field)
            return n == 0 ? nil : Int(n - 1)
        }
        let n = classicWidth32 ? Int(try int32(field)) : Int(try int16(field))
        if n < -1 { throw GroupRecordError.invalid(field: field, reason: "negative length \(n)") }
        return n == -1 ? nil : n
    }

    mutating func nullableString(_ field: String) throws -> String? {
        guard let n = try length(field, classicWidth32: false) else { return nil }
        guard let s = buffer.readString(length: n) else { throw GroupRecordError.truncated(field: field) }
        return s
    }

    mutating func string(_ field: String) throws -> String {
        guard let s = try nullableString(field) else {
            throw GroupRecordError.invalid(field: field, reason: "null in a non-nullable string")
        }
        return s
    }

    mutating func bytes(_ field: String) throws -> ByteBuffer {
        guard let n = try length(field, classicWidth32: true) else {
            throw GroupRecordError.invalid(field: field, reason: "null in non-nullable bytes")
        }
        guard let b = buffer.readSlice(length: n) else { throw GroupRecordError.truncated(field: field) }
        return b
    }

    mutating func arrayCount(_ field: String) throws -> Int {
        guard let n = try length(field, classicWidth32: true) else {
            throw GroupRecordError.invalid(field: field, reason: "null in a non-nullable array")
        }
        // Each element takes at least one byte; a larger count is corrupt, not a reason to
        // reserve memory.
        guard n <= buffer.readableBytes else { throw GroupRecordError.truncated(field: field) }
        return n
    }

    /// Skips a tagged-field section (flexible versions only); these schemas define no tags.
    mutating func skipTaggedFields(_ field: String) throws {
        guard flexible else { return }
        let count = try uvarint(field)
        for _ in 0..<count {
            _ = try uvarint(field)
            let size = Int(try uvarint(field))
            guard buffer.readSlice(length: size) != nil else { throw GroupRecordError.truncated(field: field) }
        }
    }
}

struct GroupRecordWriter {
    var buffer: ByteBuffer
    let flexible: Bool

    mutating func int16(_ v: Int16) { buffer.writeInteger(v) }
    mutating func int32(_ v: Int32) { buffer.writeInteger(v) }
    mutating func int64(_ v: Int64) { buffer.writeInteger(v) }

    mutating func uvarint(_ value: UInt32) {
        var v = value
        while v >= 0x80 {
            buffer.writeInteger(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        buffer.writeInteger(UInt8(v))
    }

    private mutating func length(_ n: Int?, classicWidth32: Bool) {
        if flexible {
            uvarint(n.map { UInt32($0 + 1) } ?? 0)
        } else if classicWidth32 {
            buffer.writeInteger(Int32(n ?? -1))
        } else {
            buffer.writeInteger(Int16(n ?? -1))
        }
    }

    /// Throws for a string longer than the classic int16 length allows (32,767 bytes).
    mutating func nullableString(_ s: String?, field: String) throws {
        guard let s else { return length(nil, classicWidth32: false) }
        let n = s.utf8.count
        guard n <= Int(Int16.max) else {
            throw GroupRecordError.invalid(field: field, reason: "string of \(n) bytes exceeds 32767")
        }
        length(n, classicWidth32: false)
        buffer.writeString(s)
    }

    mutating func string(_ s: String, field: String) throws { try nullableString(s, field: field) }

    mutating func bytes(_ b: ByteBuffer) {
        length(b.readableBytes, classicWidth32: true)
        buffer.writeImmutableBuffer(b)
    }

    mutating func arrayCount(_ n: Int) { length(n, classicWidth32: true) }

    mutating func emptyTaggedFields() {
        if flexible { uvarint(0) }
    }
}
