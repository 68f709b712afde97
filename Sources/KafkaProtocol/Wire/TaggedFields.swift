import NIOCore

/// A tagged field this code does not know, kept verbatim so a decode/encode round trip is
/// byte-exact and a proxy-like user can pass newer fields through.
///
/// A value type; `Sendable`.
public struct UnknownTaggedField: Sendable, Equatable, Hashable {
    public var tag: UInt32
    /// The field's payload, without the tag and size prefixes.
    public var data: ByteBuffer

    public init(tag: UInt32, data: ByteBuffer) {
        self.tag = tag
        self.data = data
    }
}

// A tagged-field section (flexible versions only) is:
//
//   count        unsigned varint
//   count times: tag unsigned varint, size unsigned varint, size bytes of payload
//
// Kafka writes the fields in ascending tag order, known and unknown interleaved.

extension ByteBuffer {
    /// Reads the count that opens a tagged-field section.
    ///
    /// Every field takes at least two bytes (tag and size), so a count larger than half the
    /// remaining bytes is malformed; rejecting it early keeps the caller's loop bounded.
    @inlinable
    public mutating func readKafkaTaggedFieldCount() throws -> Int {
        let count = try self.readKafkaUnsignedVarint()
        guard Int(count) <= self.readableBytes / 2 else {
            throw ProtocolError.invalidLength(Int64(count), remaining: self.readableBytes)
        }
        return Int(count)
    }

    /// Reads one tagged field's tag and payload (a slice of exactly the declared size).
    @inlinable
    public mutating func readKafkaTaggedField() throws -> UnknownTaggedField {
        let tag = try self.readKafkaUnsignedVarint()
        let size = Int(try self.readKafkaUnsignedVarint())
        guard size <= self.readableBytes, let data = self.readSlice(length: size) else {
            throw ProtocolError.invalidLength(Int64(size), remaining: self.readableBytes)
        }
        return UnknownTaggedField(tag: tag, data: data)
    }

    /// Reads a whole tagged-field section of a struct that has no known tagged fields.
    @inlinable
    public mutating func readKafkaUnknownTaggedFields() throws -> [UnknownTaggedField] {
        let count = try self.readKafkaTaggedFieldCount()
        if count == 0 { return [] }
        var fields: [UnknownTaggedField] = []
        fields.reserveCapacity(count)
        for _ in 0..<count {
            fields.append(try self.readKafkaTaggedField())
        }
        return fields
    }

    /// Writes a tagged-field section holding only `fields` (kept unknown fields).
    @inlinable
    public mutating func writeKafkaTaggedFields(_ fields: [UnknownTaggedField]) throws {
        if fields.isEmpty {
            self.writeInteger(0, as: UInt8.self)
            return
        }
        try KafkaTaggedFieldsWriter(unknown: fields).write(into: &self)
    }

    /// Throws unless a known tagged field's payload was consumed exactly.
    ///
    /// Kafka's Java reader trusts the payload to match the size; we check, so a forged size can
    /// neither hide bytes from a round trip nor make us read past the field.
    @inlinable
    public func checkKafkaTaggedFieldConsumed(tag: UInt32, declared: Int) throws {
        guard self.readableBytes == 0 else {
            throw ProtocolError.taggedFieldSizeMismatch(
                tag: tag, declared: declared, consumed: declared - self.readableBytes)
        }
    }
}

/// Collects the tagged fields of one struct and writes its tagged-field section, merging the
/// known fields with the struct's unknown ones in ascending tag order.
///
/// A short-lived value used inside one `encode` call.
public struct KafkaTaggedFieldsWriter {
    @usableFromInline var known: [UnknownTaggedField] = []
    @usableFromInline let unknown: [UnknownTaggedField]

    @inlinable
    public init(unknown: [UnknownTaggedField]) {
        self.unknown = unknown
    }

    /// Adds a known field whose payload `body` writes. Call in ascending tag order.
    @inlinable
    public mutating func add(tag: UInt32, _ body: (inout ByteBuffer) throws -> Void) rethrows {
        var payload = ByteBuffer()
        try body(&payload)
        self.known.append(UnknownTaggedField(tag: tag, data: payload))
    }

    /// Writes the count and every field, known before unknown on equal tags.
    @inlinable
    public func write(into buffer: inout ByteBuffer) throws {
        let total = self.known.count + self.unknown.count
        guard let count = UInt32(exactly: total) else {
            throw ProtocolError.invalidLength(Int64(total), remaining: 0)
        }
        buffer.writeKafkaUnsignedVarint(count)
        var knownIndex = 0
        var unknownIndex = 0
        while knownIndex < self.known.count || unknownIndex < self.unknown.count {
            let takeKnown: Bool
            if knownIndex == self.known.count {
                takeKnown = false
            } else if unknownIndex == self.unknown.count {
                takeKnown = true
            } else {
                takeKnown = self.known[knownIndex].tag <= self.unknown[unknownIndex].tag
            }
            var field: UnknownTaggedField
            if takeKnown {
                field = self.known[knownIndex]
                knownIndex += 1
            } else {
                field = self.unknown[unknownIndex]
                unknownIndex += 1
            }
            guard let size = UInt32(exactly: field.data.readableBytes) else {
                throw ProtocolError.invalidLength(Int64(field.data.readableBytes), remaining: 0)
            }
            buffer.writeKafkaUnsignedVarint(field.tag)
            buffer.writeKafkaUnsignedVarint(size)
            buffer.writeBuffer(&field.data)
        }
    }
}
