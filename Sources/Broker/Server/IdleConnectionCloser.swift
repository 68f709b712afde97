import NIOCore

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
