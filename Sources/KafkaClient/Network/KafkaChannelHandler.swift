import NIOCore

/// One request on its way out: the handler assigns the correlation id, frames it, and (unless
/// it is an acks=0 produce) queues the promise for the response.
struct OutboundKafkaRequest {
    var apiKey: Int16
    var apiVersion: Int16
    var requestHeaderVersion: Int16
    var responseHeaderVersion: Int16
    var clientId: String?
    var body: ByteBuffer
    var expectsResponse: Bool
    /// Succeeds with the response body (header stripped); or with an empty buffer once written
    /// when no response is expected.
    var promise: EventLoopPromise<ByteBuffer>
}

/// Matches responses to requests. Kafka answers strictly in request order on a connection,
/// so pending requests are a FIFO; the correlation id is still checked, and a mismatch is a
/// protocol violation that closes the connection (continuing would hand responses to the
/// wrong callers).
///
/// Concurrency: confined to its channel's event loop, as every NIO handler.
final class KafkaChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundKafkaRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var correlationId: Int32
        var apiKey: Int16
        var responseHeaderVersion: Int16
        var promise: EventLoopPromise<ByteBuffer>
    }

    private var pending = CircularBuffer<Pending>()
    private var nextCorrelationId: Int32 = 1
    private let brokerName: String
    /// The first error that closed the channel, shared with ``BrokerConnection``: a request
    /// written after the close (e.g. ApiVersions right after a failed TLS handshake) must fail
    /// with that cause, not with NIO's bare "I/O on closed channel".
    let closeReason: Locked<KafkaClientError?>

    init(brokerName: String, closeReason: Locked<KafkaClientError?> = Locked(nil)) {
        self.brokerName = brokerName
        self.closeReason = closeReason
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        let correlationId = nextCorrelationId
        nextCorrelationId = nextCorrelationId == Int32.max ? 1 : nextCorrelationId + 1

        var frame = context.channel.allocator.buffer(capacity: 4 + 64 + request.body.readableBytes)
        frame.writeInteger(Int32(0))
        Wire.writeRequestHeader(apiKey: request.apiKey, apiVersion: request.apiVersion, correlationId: correlationId,
                                clientId: request.clientId, headerVersion: request.requestHeaderVersion, into: &frame)
        var body = request.body
        frame.writeBuffer(&body)
        frame.setInteger(Int32(frame.readableBytes - 4), at: frame.readerIndex)

        if request.expectsResponse {
            pending.append(Pending(correlationId: correlationId, apiKey: request.apiKey,
                                   responseHeaderVersion: request.responseHeaderVersion, promise: request.promise))
            context.write(wrapOutboundOut(frame), promise: promise)
        } else {
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { result in
                switch result {
                case .success: request.promise.succeed(ByteBuffer())
                case .failure(let error): request.promise.fail(error)
                }
            }
            context.write(wrapOutboundOut(frame), promise: written)
            promise?.succeed(())
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let first = pending.popFirst() else {
            fatalProtocolError(context: context, "unsolicited response from \(brokerName)")
            return
        }
        guard let correlationId: Int32 = frame.readInteger(), correlationId == first.correlationId else {
            first.promise.fail(KafkaClientError.protocolViolation("correlation id mismatch from \(brokerName)"))
            fatalProtocolError(context: context, "correlation id mismatch from \(brokerName)")
            return
        }
        if first.responseHeaderVersion >= 1 {
            do {
                try Wire.skipTaggedFields(in: &frame)
            } catch {
                first.promise.fail(error)
                return
            }
        }
        first.promise.succeed(frame)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(KafkaClientError.connectionClosed(broker: brokerName))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let clientError = error as? KafkaClientError
            ?? KafkaClientError.connectionFailed(broker: brokerName, reason: BrokerConnection.describe(error))
        closeReason.withLock { if $0 == nil { $0 = clientError } }
        failAll(clientError)
        context.close(promise: nil)
    }

    private func fatalProtocolError(context: ChannelHandlerContext, _ message: String) {
        failAll(KafkaClientError.protocolViolation(message))
        context.close(promise: nil)
    }

    private func failAll(_ error: Error) {
        while let p = pending.popFirst() { p.promise.fail(error) }
    }
}
