import NIOCore

/// Why a connection's byte stream was rejected before any request was parsed.
public enum FramingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The size prefix exceeds `socket.request.max.bytes` (Kafka's InvalidReceiveException).
    case frameTooLarge(size: Int, limit: Int)
    /// A negative size prefix: garbage on the wire.
    case negativeFrameSize(Int32)

    public var description: String {
        switch self {
        case let .frameTooLarge(size, limit): "Invalid receive (size = \(size) larger than \(limit))"
        case let .negativeFrameSize(size): "Invalid receive (size = \(size))"
        }
    }
}

/// Splits a TCP stream into Kafka frames: a big-endian int32 size, then that many bytes.
///
/// A size above `maxFrameBytes` or below zero is rejected as soon as the 4-byte prefix is
/// read, so an oversized or garbage frame never makes the broker buffer it (Kafka does the
/// same in `NetworkReceive`). Emits each frame's payload without the prefix.
/// Not thread-safe; lives in one channel pipeline.
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int) { self.maxFrameBytes = maxFrameBytes }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        guard size >= 0 else { throw FramingError.negativeFrameSize(size) }
        guard Int(size) <= maxFrameBytes else { throw FramingError.frameTooLarge(size: Int(size), limit: maxFrameBytes) }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(size))!
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at EOF is dropped with the connection: the client went away.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Closes a connection that has read nothing for `connections.max.idle.ms`.
final class IdleConnectionCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.fireErrorCaught(ConnectionIdleError())
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// The connection was idle longer than `connections.max.idle.ms`.
public struct ConnectionIdleError: Error, CustomStringConvertible, Sendable {
    public var description: String { "connection idle for longer than connections.max.idle.ms" }
}
