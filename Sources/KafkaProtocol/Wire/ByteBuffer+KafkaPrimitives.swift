import NIOCore

// Fixed-width integers, booleans, doubles and unsigned varints as Kafka's protocol writes them:
// big-endian, and the unsigned varint is LEB128 (7 bits a byte, low group first, at most 5
// bytes for a 32-bit value). Every reader checks the bytes that remain and throws
// `ProtocolError.truncated` instead of returning nil, so generated code can use plain `try`.

extension ByteBuffer {
    /// Reads a big-endian fixed-width integer, throwing when fewer bytes remain.
    @inlinable
    public mutating func readKafkaInteger<T: FixedWidthInteger>(as type: T.Type = T.self) throws -> T {
        guard let value = self.readInteger(endianness: .big, as: T.self) else {
            throw ProtocolError.truncated(needed: MemoryLayout<T>.size, remaining: self.readableBytes)
        }
        return value
    }

    /// Writes a big-endian fixed-width integer.
    @inlinable
    public mutating func writeKafkaInteger<T: FixedWidthInteger>(_ value: T) {
        self.writeInteger(value, endianness: .big, as: T.self)
    }

    /// Reads Kafka's `bool`: one byte, any non-zero value is true (as Kafka's Java reader does).
    @inlinable
    public mutating func readKafkaBool() throws -> Bool {
        try self.readKafkaInteger(as: UInt8.self) != 0
    }

    @inlinable
    public mutating func writeKafkaBool(_ value: Bool) {
        self.writeInteger(value ? 1 : 0, as: UInt8.self)
    }

    /// Reads Kafka's `float64`: an IEEE 754 double, big-endian.
    @inlinable
    public mutating func readKafkaFloat64() throws -> Double {
        Double(bitPattern: try self.readKafkaInteger(as: UInt64.self))
    }

    @inlinable
    public mutating func writeKafkaFloat64(_ value: Double) {
        self.writeInteger(value.bitPattern, endianness: .big, as: UInt64.self)
    }

    /// Reads an unsigned LEB128 varint of at most 5 bytes (Kafka's `UNSIGNED_VARINT`).
    ///
    /// Bits beyond 32 in the fifth byte are discarded, as Kafka's `ByteUtils.readUnsignedVarint`
    /// does; a sixth continuation byte is an error rather than a loop.
    @inlinable
    public mutating func readKafkaUnsignedVarint() throws -> UInt32 {
        var result: UInt32 = 0
        var offset = 0
        while offset < 5 {
            guard let byte = self.getInteger(at: self.readerIndex + offset, as: UInt8.self) else {
                throw ProtocolError.truncated(needed: offset + 1, remaining: self.readableBytes)
            }
            result |= UInt32(byte & 0x7f) << UInt32(7 * offset)
            offset += 1
            if byte & 0x80 == 0 {
                self.moveReaderIndex(forwardBy: offset)
                return result
            }
        }
        throw ProtocolError.varintTooLong
    }

    /// Writes an unsigned LEB128 varint.
    @inlinable
    public mutating func writeKafkaUnsignedVarint(_ value: UInt32) {
        var remaining = value
        while remaining >= 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: remaining) | 0x80, as: UInt8.self)
            remaining >>= 7
        }
        self.writeInteger(UInt8(remaining), as: UInt8.self)
    }

    /// The number of bytes `writeKafkaUnsignedVarint(value)` writes.
    @inlinable
    public static func kafkaUnsignedVarintSize(_ value: UInt32) -> Int {
        var size = 1
        var remaining = value >> 7
        while remaining != 0 {
            size += 1
            remaining >>= 7
        }
        return size
    }

    /// Reads a 16-byte UUID (two big-endian int64s, most significant first).
    @inlinable
    public mutating func readKafkaUUID() throws -> KafkaUUID {
        let high = try self.readKafkaInteger(as: UInt64.self)
        let low = try self.readKafkaInteger(as: UInt64.self)
        return KafkaUUID(mostSignificantBits: high, leastSignificantBits: low)
    }

    @inlinable
    public mutating func writeKafkaUUID(_ value: KafkaUUID) {
        self.writeInteger(value.mostSignificantBits, endianness: .big, as: UInt64.self)
        self.writeInteger(value.leastSignificantBits, endianness: .big, as: UInt64.self)
    }
}
