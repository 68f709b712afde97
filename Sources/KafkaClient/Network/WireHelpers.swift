import NIOCore

/// The few wire primitives the connection layer needs before the generated codec is involved:
/// request/response headers and the hand-written ApiVersions exchange (it precedes version
/// negotiation, so it cannot use negotiated versions).
enum Wire {
    static func writeUnsignedVarint(_ value: UInt32, into buffer: inout ByteBuffer) {
        var v = value
        while v & ~0x7f != 0 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: (v & 0x7f) | 0x80))
            v >>= 7
        }
        buffer.writeInteger(UInt8(truncatingIfNeeded: v))
    }

    static func readUnsignedVarint(from buffer: inout ByteBuffer) throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard let byte: UInt8 = buffer.readInteger() else {
                throw KafkaClientError.protocolViolation("truncated varint")
            }
            guard shift <= 28 else { throw KafkaClientError.protocolViolation("varint longer than 5 bytes") }
            result |= UInt32(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Skips a tagged-field section (KIP-482): count, then (tag, size, bytes) per field.
    static func skipTaggedFields(in buffer: inout ByteBuffer) throws {
        let count = try readUnsignedVarint(from: &buffer)
        for _ in 0..<count {
            _ = try readUnsignedVarint(from: &buffer)
            let size = Int(try readUnsignedVarint(from: &buffer))
            guard buffer.readableBytes >= size else { throw KafkaClientError.protocolViolation("truncated tagged field") }
            buffer.moveReaderIndex(forwardBy: size)
        }
    }

    /// Request header v0/v1/v2. `client_id` is an old-style nullable int16 string even in v2.
    static func writeRequestHeader(apiKey: Int16, apiVersion: Int16, correlationId: Int32, clientId: String?,
                                   headerVersion: Int16, into buffer: inout ByteBuffer) {
        buffer.writeInteger(apiKey)
        buffer.writeInteger(apiVersion)
        buffer.writeInteger(correlationId)
        if headerVersion >= 1 {
            if let clientId {
                buffer.writeInteger(Int16(clientId.utf8.count))
                buffer.writeString(clientId)
            } else {
                buffer.writeInteger(Int16(-1))
            }
        }
        if headerVersion >= 2 { buffer.writeInteger(UInt8(0)) }
    }
}
