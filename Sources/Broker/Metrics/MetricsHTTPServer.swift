import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Where Prometheus scrapes: `metrics.listener=http://host:port`, `GET /metrics`.
///
/// A small HTTP/1.1 responder on NIOHTTP1 (keep-alive and pipelining handled by NIO's server
/// pipeline): `GET` or `HEAD /metrics` answers `200` with the text exposition format 0.0.4;
/// while the broker shuts down `503` with a one-line reason (Prometheus records the scrape as
/// failed rather than reading half-closed partitions); another path `404`, another method
/// `405`.
///
/// Thread-safe.
public final class MetricsHTTPServer: Sendable {
    /// What a scrape produced.
    public enum Scrape: Sendable {
        case ok([UInt8])
        case unavailable(String)
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let host: String
    private let port: Int
    private let group: EventLoopGroup
    private let logger: Logger
    private let scrape: @Sendable () async -> Scrape
    private let channel = Mutex<Channel?>(nil)

    public init(host: String, port: Int, group: EventLoopGroup, logger: Logger, scrape: @escaping @Sendable () async -> Scrape) {
        self.host = host; self.port = port; self.group = group; self.logger = logger; self.scrape = scrape
    }

    /// Binds; a port in use or a bad address throws ``MetricsListenerError`` with one line.
    @discardableResult
    public func bind() async throws -> SocketAddress {
        let scrape = self.scrape
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(scrape: scrape, logger: logger))
                }
            }
        let bound: Channel
        do {
            bound = try await bootstrap.bind(host: host.isEmpty ? "0.0.0.0" : host, port: port).get()
        } catch {
            throw MetricsListenerError(listener: "http://\(host):\(port)", reason: Self.describe(error))
        }
        channel.withLock { $0 = bound }
        guard let address = bound.localAddress else { throw ChannelError.unknownLocalAddress }
        return address
    }

    public var localAddress: SocketAddress? { channel.withLock { $0?.localAddress } }

    public func close() async {
        let c = channel.withLock { c -> Channel? in defer { c = nil }; return c }
        try? await c?.close()
    }

    /// `address already in use` rather than `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            if io.errnoCode == EADDRINUSE { return "address already in use (is another broker or exporter on this port?)" }
            if io.errnoCode == EADDRNOTAVAIL { return "address not available on this host" }
            if io.errnoCode == EACCES { return "permission denied" }
        }
        return "\(error)"
    }
}

/// Why the metrics listener could not start. One line, naming the listener.
public struct MetricsListenerError: Error, CustomStringConvertible, Sendable {
    public var listener: String
    public var reason: String
    public var description: String { "metrics.listener \(listener): \(reason)" }
}

/// One HTTP connection. Event-loop bound (not Sendable); the scrape runs in a task and its
/// result is written back on the channel's event loop.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let scrape: @Sendable () async -> MetricsHTTPServer.Scrape
    private let logger: Logger
    private var head: HTTPRequestHead?

    init(scrape: @escaping @Sendable () async -> MetricsHTTPServer.Scrape, logger: Logger) {
        self.scrape = scrape; self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET || head.method == .HEAD else {
            write(context, head, status: .methodNotAllowed, body: Array("only GET /metrics\n".utf8), extra: [("Allow", "GET, HEAD")])
            return
        }
        guard path == "/metrics" else {
            write(context, head, status: .notFound, body: Array("not found: the metrics are at /metrics\n".utf8))
            return
        }
        let scrape = self.scrape
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask { await scrape() }.whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .success(.ok(let bytes)):
                handler.write(context, head, status: .ok, body: bytes, contentType: MetricsHTTPServer.contentType)
            case .success(.unavailable(let reason)):
                handler.write(context, head, status: .serviceUnavailable, body: Array((reason + "\n").utf8))
            case .failure(let error):
                handler.write(context, head, status: .internalServerError, body: Array("scrape failed: \(error)\n".utf8))
            }
        }
    }

    private func write(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, status: HTTPResponseStatus, body: [UInt8],
                       contentType: String = "text/plain; charset=utf-8", extra: [(String, String)] = []) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.count))] + extra)
        let keepAlive = request.isKeepAlive && status == .ok
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}

private extension ChannelHandlerContext {
    func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
