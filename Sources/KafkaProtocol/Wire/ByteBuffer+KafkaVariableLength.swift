import NIOCore

// Strings, byte arrays and array counts in both of Kafka's encodings:
//
// * classic (non-flexible versions): `STRING` has an int16 length, `BYTES` and arrays an int32
//   length; -1 means null.
// * compact (flexible versions): an unsigned varint holding length + 1; 0 means null.
//
// Each length is checked against the bytes that remain before anything is read or allocated.
// Array counts are checked the same way: Kafka rejects a count larger than the remaining bytes
// (an element of an empty struct could in theory take zero bytes, but no real message has one),
// and so do we, which bounds both the allocation and the decode loop by the input size.

extension ByteBuffer {
    /// Reads a length prefix in either encoding; returns nil for the null marker.
    @inlinable
    mutating func readKafkaLength(compact: Bool, classicWidth: Int) throws -> Int? {
        let length: Int64
        if compact {
            length = Int64(try self.readKafkaUnsignedVarint()) - 1
        } else if classicWidth == 2 {
            length = Int64(try self.readKafkaInteger(as: Int16.self))
        } else {
            length = Int64(try self.readKafkaInteger(as: Int32.self))
        }
        if length == -1 { return nil }
        guard length >= 0, length <= Int64(self.readableBytes) else {
            throw ProtocolError.invalidLength(length, remaining: self.readableBytes)
        }
        return Int(length)
    }

    @inlinable
    mutating func writeKafkaLength(_ length: Int?, compact: Bool, classicWidth: Int) throws {
        if compact {
            guard let length else {
                self.writeKafkaUnsignedVarint(0)
                return
            }
            guard let encoded = UInt32(exactly: length + 1) else {
                throw ProtocolError.invalidLength(Int64(length), remaining: 0)
            }
            self.writeKafkaUnsignedVarint(encoded)
        } else if classicWidth == 2 {
            guard let length else {
                self.writeInteger(-1, endianness: .big, as: Int16.self)
                return
            }
            guard let encoded = Int16(exactly: length) else {
                throw ProtocolError.invalidLength(Int64(length), remaining: 0)
            }
            self.writeInteger(encoded, endianness: .big, as: Int16.self)
        } else {
            guard let length else {
                self.writeInteger(-1, endianness: .big, as: Int32.self)
                return
            }
            guard let encoded = Int32(exactly: length) else {
                throw ProtocolError.invalidLength(Int64(length), remaining: 0)
            }
            self.writeInteger(encoded, endianness: .big, as: Int32.self)
        }
    }

    // MARK: Strings

    /// Reads a `STRING`/`COMPACT_STRING` (nil for `NULLABLE_` null).
    ///
    /// Invalid UTF-8 is decoded with replacement characters, as Kafka's Java reader does, so a
    /// client with an odd client id is served rather than disconnected.
    ///
    /// Compact strings are held to the classic limit of 32767 bytes too, as Kafka's generated
    /// readers and writers do, so a string valid in one encoding is valid in the other.
    @inlinable
    public mutating func readKafkaNullableString(compact: Bool) throws -> String? {
        guard let length = try self.readKafkaLength(compact: compact, classicWidth: 2) else { return nil }
        guard length <= Int(Int16.max) else {
            throw ProtocolError.invalidLength(Int64(length), remaining: self.readableBytes)
        }
        // The length was checked against readableBytes, so this cannot fail.
        return self.readString(length: length) ?? ""
    }

    /// Reads a non-nullable string; a null marker throws `nullNotAllowed`.
    @inlinable
    public mutating func readKafkaString(compact: Bool, field: String, version: Int16) throws -> String {
        guard let value = try self.readKafkaNullableString(compact: compact) else {
            throw ProtocolError.nullNotAllowed(field: field, version: version)
        }
        return value
    }

    /// Reads a string that is nullable only when `nullable` is true (the field's nullableVersions).
    @inlinable
    public mutating func readKafkaString(
        compact: Bool, nullable: Bool, field: String, version: Int16
    ) throws -> String? {
        let value = try self.readKafkaNullableString(compact: compact)
        if value == nil && !nullable { throw ProtocolError.nullNotAllowed(field: field, version: version) }
        return value
    }

    @inlinable
    public mutating func writeKafkaString(_ value: String?, compact: Bool, nullable: Bool, field: String, version: Int16) throws {
        guard let value else {
            guard nullable else { throw ProtocolError.nullNotAllowed(field: field, version: version) }
            try self.writeKafkaLength(nil, compact: compact, classicWidth: 2)
            return
        }
        let length = value.utf8.count
        guard length <= Int(Int16.max) else { throw ProtocolError.invalidLength(Int64(length), remaining: 0) }
        try self.writeKafkaLength(length, compact: compact, classicWidth: 2)
        self.writeString(value)
    }

    // MARK: Bytes

    /// Reads `BYTES`/`COMPACT_BYTES` (nil for null). The result is a slice sharing storage with
    /// the input, so large payloads (records) are not copied.
    @inlinable
    public mutating func readKafkaNullableBytes(compact: Bool) throws -> ByteBuffer? {
        guard let length = try self.readKafkaLength(compact: compact, classicWidth: 4) else { return nil }
        return self.readSlice(length: length)
    }

    @inlinable
    public mutating func readKafkaBytes(compact: Bool, field: String, version: Int16) throws -> ByteBuffer {
        guard let value = try self.readKafkaNullableBytes(compact: compact) else {
            throw ProtocolError.nullNotAllowed(field: field, version: version)
        }
        return value
    }

    @inlinable
    public mutating func readKafkaBytes(
        compact: Bool, nullable: Bool, field: String, version: Int16
    ) throws -> ByteBuffer? {
        let value = try self.readKafkaNullableBytes(compact: compact)
        if value == nil && !nullable { throw ProtocolError.nullNotAllowed(field: field, version: version) }
        return value
    }

    @inlinable
    public mutating func writeKafkaBytes(_ value: ByteBuffer?, compact: Bool, nullable: Bool, field: String, version: Int16) throws {
        guard var value else {
            guard nullable else { throw ProtocolError.nullNotAllowed(field: field, version: version) }
            try self.writeKafkaLength(nil, compact: compact, classicWidth: 4)
            return
        }
        try self.writeKafkaLength(value.readableBytes, compact: compact, classicWidth: 4)
        self.writeBuffer(&value)
    }

    // MARK: Arrays

    /// Reads an `ARRAY`/`COMPACT_ARRAY` of `T` (nil for null).
    ///
    /// The count is checked against the remaining bytes before `reserveCapacity`, so a forged
    /// count cannot make us allocate more than the input could describe.
    @inlinable
    public mutating func readKafkaNullableArray<T: KafkaWireElement>(
        of type: T.Type, version: Int16, compact: Bool
    ) throws -> [T]? {
        guard let count = try self.readKafkaLength(compact: compact, classicWidth: 4) else { return nil }
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            result.append(try T.readKafkaElement(from: &self, version: version, compact: compact))
        }
        return result
    }

    @inlinable
    public mutating func readKafkaArray<T: KafkaWireElement>(
        of type: T.Type, version: Int16, compact: Bool, field: String
    ) throws -> [T] {
        guard let value = try self.readKafkaNullableArray(of: type, version: version, compact: compact) else {
            throw ProtocolError.nullNotAllowed(field: field, version: version)
        }
        return value
    }

    @inlinable
    public mutating func readKafkaArray<T: KafkaWireElement>(
        of type: T.Type, version: Int16, compact: Bool, nullable: Bool, field: String
    ) throws -> [T]? {
        let value = try self.readKafkaNullableArray(of: type, version: version, compact: compact)
        if value == nil && !nullable { throw ProtocolError.nullNotAllowed(field: field, version: version) }
        return value
    }

    @inlinable
    public mutating func writeKafkaArray<T: KafkaWireElement>(
        _ value: [T]?, version: Int16, compact: Bool, nullable: Bool, field: String
    ) throws {
        guard let value else {
            guard nullable else { throw ProtocolError.nullNotAllowed(field: field, version: version) }
            try self.writeKafkaLength(nil, compact: compact, classicWidth: 4)
            return
        }
        try self.writeKafkaLength(value.count, compact: compact, classicWidth: 4)
        for element in value {
            try element.writeKafkaElement(into: &self, version: version, compact: compact)
        }
    }

    // MARK: Nullable structs

    /// Reads a struct field that is nullable in this version: an int8 marker (-1 null, else
    /// present) followed by the struct, as Kafka's generator writes nullable struct fields.
    @inlinable
    public mutating func readKafkaNullableStruct<T: KafkaStruct>(of type: T.Type, version: Int16) throws -> T? {
        let marker = try self.readKafkaInteger(as: Int8.self)
        if marker < 0 { return nil }
        return try T(from: &self, version: version)
    }

    @inlinable
    public mutating func writeKafkaNullableStruct<T: KafkaStruct>(_ value: T?, version: Int16) throws {
        guard let value else {
            self.writeInteger(-1, as: Int8.self)
            return
        }
        self.writeInteger(1, as: Int8.self)
        try value.encode(into: &self, version: version)
    }

    /// Reads a struct field that is nullable only in some versions (`nullable` tells which).
    @inlinable
    public mutating func readKafkaStruct<T: KafkaStruct>(of type: T.Type, version: Int16, nullable: Bool) throws -> T? {
        if nullable { return try self.readKafkaNullableStruct(of: type, version: version) }
        return try T(from: &self, version: version)
    }

    @inlinable
    public mutating func writeKafkaStruct<T: KafkaStruct>(_ value: T?, version: Int16, nullable: Bool, field: String) throws {
        if nullable {
            try self.writeKafkaNullableStruct(value, version: version)
            return
        }
        guard let value else { throw ProtocolError.nullNotAllowed(field: field, version: version) }
        try value.encode(into: &self, version: version)
    }
}
