import NIOCore

/// Splits a byte stream into Kafka frames: a big-endian int32 size followed by that many bytes
/// (a request or a response, header included).
///
/// A frame larger than `maxFrameSize` (Kafka's `socket.request.max.bytes`, 100 MiB by default)
/// or with a negative size is rejected with `ProtocolError.frameTooLarge` before any of it is
/// buffered, so a peer cannot make us hold an arbitrary amount of memory. Frames are emitted as
/// slices of the cumulation buffer, without copying.
///
/// A value type used by one `ByteToMessageHandler`; not shared between channels.
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// Kafka's default `socket.request.max.bytes`.
    public static let defaultMaxFrameSize = 104_857_600

    public let maxFrameSize: Int

    public init(maxFrameSize: Int = KafkaFrameDecoder.defaultMaxFrameSize) {
        self.maxFrameSize = maxFrameSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try KafkaFrameDecoder.nextFrame(in: &buffer, maxFrameSize: maxFrameSize) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // A partial frame at EOF is dropped: the peer went away mid-request.
        try self.decode(context: context, buffer: &buffer)
    }

    /// Removes and returns the next complete frame's payload (without its size prefix), or nil
    /// when more bytes are needed. Usable without a channel pipeline (clients, tests).
    public static func nextFrame(in buffer: inout ByteBuffer, maxFrameSize: Int) throws -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return nil
        }
        guard size >= 0, Int(size) <= maxFrameSize else {
            throw ProtocolError.frameTooLarge(size: size, maximum: maxFrameSize)
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))
    }
}

/// Prefixes each outbound frame with its int32 size.
public struct KafkaFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ByteBuffer

    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        guard let size = Int32(exactly: data.readableBytes) else {
            throw ProtocolError.frameTooLarge(size: Int32.max, maximum: Int(Int32.max))
        }
        var payload = data
        out.writeInteger(size, endianness: .big, as: Int32.self)
        out.writeBuffer(&payload)
    }
}
