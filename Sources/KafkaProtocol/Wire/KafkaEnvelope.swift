import NIOCore

// Whole requests and responses: header plus body, with or without the frame's size prefix.
// The broker and the client both go through these so header-version selection lives in one
// place (`ApiKey.requestHeaderVersion` / `responseHeaderVersion`).

extension ByteBuffer {
    /// Writes a size-prefixed frame whose payload `body` writes, patching the size afterwards.
    public mutating func writeKafkaFrame(_ body: (inout ByteBuffer) throws -> Void) throws {
        let sizeIndex = self.writerIndex
        self.writeInteger(0, endianness: .big, as: Int32.self)
        // Records a RecordsSplice left out still count in the size: they are sent after it.
        let splice = RecordsSplice.current
        let omittedBefore = splice?.omittedBytes ?? 0
        try body(&self)
        let omitted = (splice?.omittedBytes ?? 0) - omittedBefore
        let payloadSize = self.writerIndex - sizeIndex - 4 + omitted
        guard let size = Int32(exactly: payloadSize) else {
            throw ProtocolError.frameTooLarge(size: Int32.max, maximum: Int(Int32.max))
        }
        self.setInteger(size, at: sizeIndex, endianness: .big, as: Int32.self)
    }
}

extension RequestHeader {
    /// Decodes a request header, choosing its version from the api key and version that open
    /// every header. Throws `unknownApiKey` for a key Kafka does not define.
    public static func decode(from buffer: inout ByteBuffer) throws -> RequestHeader {
        guard let rawKey = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int16.self),
              let apiVersion = buffer.getInteger(at: buffer.readerIndex + 2, endianness: .big, as: Int16.self) else {
            throw ProtocolError.truncated(needed: 4, remaining: buffer.readableBytes)
        }
        guard let apiKey = ApiKey(rawValue: rawKey) else { throw ProtocolError.unknownApiKey(rawKey) }
        return try RequestHeader(from: &buffer, version: apiKey.requestHeaderVersion(apiVersion: apiVersion))
    }

    /// The header's api key, if Kafka defines it.
    public var apiKey: ApiKey? { ApiKey(rawValue: requestApiKey) }
}

extension KafkaRequest {
    /// Encodes header and body (no size prefix) at `version`.
    public func encode(
        into buffer: inout ByteBuffer, version: Int16, correlationId: Int32, clientId: String?
    ) throws {
        let header = RequestHeader(
            requestApiKey: Self.apiKey.rawValue, requestApiVersion: version,
            correlationId: correlationId, clientId: clientId)
        try header.encode(into: &buffer, version: Self.apiKey.requestHeaderVersion(apiVersion: version))
        try self.encode(into: &buffer, version: version)
    }

    /// Encodes a complete size-prefixed request frame.
    public func encodeFrame(version: Int16, correlationId: Int32, clientId: String?) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try buffer.writeKafkaFrame { body in
            try self.encode(into: &body, version: version, correlationId: correlationId, clientId: clientId)
        }
        return buffer
    }
}

extension KafkaResponse {
    /// Encodes header and body (no size prefix) at `version`.
    public func encode(into buffer: inout ByteBuffer, version: Int16, correlationId: Int32) throws {
        let header = ResponseHeader(correlationId: correlationId)
        try header.encode(into: &buffer, version: Self.apiKey.responseHeaderVersion(apiVersion: version))
        try self.encode(into: &buffer, version: version)
    }

    /// Encodes a complete size-prefixed response frame.
    public func encodeFrame(version: Int16, correlationId: Int32) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try buffer.writeKafkaFrame { body in
            try self.encode(into: &body, version: version, correlationId: correlationId)
        }
        return buffer
    }

    /// Decodes a response header and body (no size prefix) at `version`.
    public static func decode(from buffer: inout ByteBuffer, version: Int16) throws -> (ResponseHeader, Self) {
        let header = try ResponseHeader(from: &buffer, version: Self.apiKey.responseHeaderVersion(apiVersion: version))
        let body = try Self(from: &buffer, version: version)
        return (header, body)
    }
}
