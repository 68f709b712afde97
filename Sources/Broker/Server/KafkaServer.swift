import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The NIO shell: accepts TCP connections on one listener and runs each connection's
/// requests through a ``RequestDispatcher`` strictly one at a time.
///
/// Per connection: on an SSL listener a `NIOSSLServerHandler` first (everything after it sees
/// plaintext; a failed handshake, or a plaintext client on the TLS port, ends only that
/// connection with one log line), then an idle closer (a handshake that never finishes sends
/// no plaintext, so it is closed after `connections.max.idle.ms` like any idle connection), a ``RequestBudgetHandler`` (admits each request frame
/// against the broker-wide ``RequestQueueBudget``, `queued.max.requests` /
/// `queued.max.request.bytes`, before its body is read), `KafkaFrameDecoder` (enforces
/// `socket.request.max.bytes`); an `NIOAsyncChannel` hands frames to a task that awaits each
/// response and writes it before taking the next frame. Reads are back-pressured twice: the
/// async channel's watermarks bound the frames read ahead per connection, the budget bounds the
/// requests and bytes held by all connections together; either stops reading the socket.
/// A framing error or dispatcher `.close` closes that connection with one log line and
/// affects nobody else.
///
/// The listener pauses accepting for a second when `accept` fails for lack of descriptors
/// (``AcceptErrorBackoff``): NIO leaves the listening socket registered for readability after
/// EMFILE, so without it the event loop spins at 100 % CPU for as long as a connection waits.
///
/// Thread-safe. `run()` returns after `shutdown()` once every connection is closed.
public final class KafkaServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var listenerName: String
        public var maxFrameBytes: Int
        public var idleTimeoutMs: Int64
        public var sendBufferBytes: Int
        public var receiveBufferBytes: Int
        /// Frames read ahead per connection before reading pauses (the broker-wide limits are
        /// the ``RequestQueueBudget``'s).
        public var maxQueuedRequests: Int
        /// The listener's TLS context (SSL listeners), built at start-up by ``ListenerTLS`` and
        /// rebuilt when its files change (each new connection takes the current one).
        public var tls: ListenerTLSContext?
        /// On an SSL listener: each connection's principal is its client certificate's subject
        /// mapped by these rules (``CertificatePrincipal``); nil keeps `User:ANONYMOUS` (SASL_SSL
        /// listeners, whose dispatcher sets the SASL identity).
        public var sslPrincipalMapper: SslPrincipalMapper?
        /// Fetch answers send record batches straight from the segment files (`sendfile`) when
        /// the listener has no TLS (`samsa.fetch.zero.copy.enable`).
        public var sendsFiles: Bool

        public init(host: String, port: Int, listenerName: String = "PLAINTEXT", maxFrameBytes: Int = 104_857_600,
                    idleTimeoutMs: Int64 = 600_000, sendBufferBytes: Int = 102_400, receiveBufferBytes: Int = 102_400,
                    maxQueuedRequests: Int = 16, sendsFiles: Bool = true) {
            self.host = host; self.port = port; self.listenerName = listenerName; self.maxFrameBytes = maxFrameBytes
            self.idleTimeoutMs = idleTimeoutMs; self.sendBufferBytes = sendBufferBytes
            self.receiveBufferBytes = receiveBufferBytes; self.maxQueuedRequests = maxQueuedRequests
            self.sendsFiles = sendsFiles
        }

        /// Records are spliced in from files: asked for, and no TLS layer has to see the bytes.
        var splicesRecords: Bool { sendsFiles && tls == nil }

        /// Adds the TLS context of an SSL listener, and the rules naming its clients by certificate.
        public func withTLS(_ context: ListenerTLSContext?, principalMapper: SslPrincipalMapper? = nil) -> Configuration {
            var c = self
            c.tls = context
            c.sslPrincipalMapper = context == nil ? nil : principalMapper
            return c
        }
    }

    private struct State {
        var serverChannel: Channel?
        var connections: [UInt64: Channel] = [:]
        var nextConnectionId: UInt64 = 1
        var shuttingDown = false
    }

    public let configuration: Configuration
    private let dispatcher: any RequestDispatcher
    private let group: EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())
    private let asyncServer = Mutex<NIOAsyncChannel<Connection, Never>?>(nil)
    /// What all connections of the broker may hold (shared by every listener).
    public let requestBudget: RequestQueueBudget

    /// Record batches sent straight from segment files on this listener.
    let sentFileRegions = SentFileRegions()

    /// Request metrics (nil when `metrics.listener` is off: nothing is measured then).
    private let metrics: BrokerMetrics?
    /// The request log (``RequestLog``) is on: the logger's level is debug or trace. Decided
    /// once here, so above debug no request builds a log line.
    private let logRequests: Bool

    /// An accepted connection and its share of the request budget.
    private struct Connection: Sendable {
        var channel: NIOAsyncChannel<ReceivedFrame, ResponsePart>
        var budget: ConnectionBudget
    }

    public init(configuration: Configuration, dispatcher: any RequestDispatcher, group: EventLoopGroup, logger: Logger,
                requestBudget: RequestQueueBudget = RequestQueueBudget(maxRequests: .max, maxBytes: nil),
                metrics: BrokerMetrics? = nil) {
        self.requestBudget = requestBudget
        self.metrics = metrics
        self.configuration = configuration
        self.dispatcher = dispatcher
        self.group = group
        self.logger = logger
        self.logRequests = logger.logLevel <= .debug
    }

    /// Binds the listener and returns the bound address (port 0 picks a free port).
    @discardableResult
    public func bind() async throws -> SocketAddress {
        let cfg = configuration
        let host = cfg.host.isEmpty ? "0.0.0.0" : cfg.host
        let logger = self.logger
        let budget = requestBudget
        let sentFiles = sentFileRegions
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorBackoff(logger: logger))
                }
            }
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
        if cfg.sendBufferBytes > 0 {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: cfg.sendBufferBytes)
        }
        if cfg.receiveBufferBytes > 0 {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_rcvbuf), value: cfg.receiveBufferBytes)
        }
        let server = try await bootstrap.bind(host: host, port: cfg.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let ops = channel.pipeline.syncOperations
                if let tls = cfg.tls {
                    try ops.addHandler(NIOSSLServerHandler(context: tls.current))
                }
                if cfg.idleTimeoutMs > 0 {
                    try ops.addHandler(IdleStateHandler(readTimeout: .milliseconds(cfg.idleTimeoutMs)))
                    try ops.addHandler(IdleConnectionCloser())
                }
                let share = ConnectionBudget(budget: budget)
                try ops.addHandler(RequestBudgetHandler(connection: share, maxFrameBytes: cfg.maxFrameBytes))
                try ops.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: cfg.maxFrameBytes)))
                try ops.addHandler(FrameReceiveTimestamper())
                try ops.addHandler(ResponsePartWriter(sendsFiles: cfg.splicesRecords, logger: logger, counter: sentFiles))
                let async = try NIOAsyncChannel<ReceivedFrame, ResponsePart>(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(backPressureStrategy: .init(lowWatermark: 1,
                                                                     highWatermark: max(2, cfg.maxQueuedRequests))))
                return Connection(channel: async, budget: share)
            }
        }
        asyncServer.withLock { $0 = server }
        state.withLock { $0.serverChannel = server.channel }
        guard let address = server.channel.localAddress else { throw ChannelError.unknownLocalAddress }
        return address
    }

    /// Accepts connections until ``shutdown()``. Call ``bind()`` first.
    public func run() async throws {
        guard let server = asyncServer.withLock({ $0 }) else { preconditionFailure("run() before bind()") }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    /// Stops accepting, closes every connection, and lets ``run()`` return.
    public func shutdown() async {
        let (server, connections) = state.withLock { s -> (Channel?, [Channel]) in
            s.shuttingDown = true
            return (s.serverChannel, Array(s.connections.values))
        }
        try? await server?.close()
        for c in connections { try? await c.close() }
    }

    /// Number of open client connections (for tests and metrics).
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Failed SASL authentications on this listener (nil unless it is a SASL listener).
    public var failedAuthentications: Int? { (dispatcher as? SaslDispatcher)?.failedAuthentications }

    private func serve(_ accepted: Connection) async {
        let connection = accepted.channel
        let share = accepted.budget
        defer { share.close() }
        let channel = connection.channel
        let remote = channel.remoteAddress
        let id: UInt64? = state.withLock { s in
            if s.shuttingDown { return nil }
            let id = s.nextConnectionId
            s.nextConnectionId += 1
            s.connections[id] = channel
            return id
        }
        guard let id else {
            // Shutting down: close it through the async channel, which finishes its writer
            // (an NIOAsyncChannel dropped unfinished is a fatal error in debug builds: a test
            // that shut a listener down just as a client connected crashed the test process).
            try? await connection.executeThenClose { _, _ in }
            return
        }
        let dispatcher = self.dispatcher
        defer { _ = state.withLock { $0.connections.removeValue(forKey: id) } }
        let info = ConnectionInfo(connectionId: id, clientHost: remote?.ipAddress ?? "unknown",
                                  clientPort: remote?.port ?? 0, listenerName: configuration.listenerName)
        // Per-connection dispatcher state (SASL) is freed however the connection ends.
        defer { dispatcher.connectionClosed(info) }
        var log = logger
        log[metadataKey: "connection"] = "\(id)"
        log[metadataKey: "peer"] = "\(info.clientHost):\(info.clientPort)"
        let metrics = self.metrics
        let logRequests = self.logRequests
        // The client certificate is known once the handshake is done, which it is when the
        // first request arrives: the principal is taken then, once per connection.
        var certificateMapper = configuration.sslPrincipalMapper
        let listenerName = configuration.listenerName
        // Bound around each dispatch so a Fetch answer can leave its records in the files.
        let splice: RecordsSplice? = configuration.splicesRecords ? RecordsSplice() : nil
        /// The response frame, with any spliced records between its pieces.
        func parts(_ bytes: ByteBuffer) -> [ResponsePart] {
            guard let splice else { return [.bytes(bytes)] }
            let cuts = splice.cuts
            splice.reset()
            return cuts.isEmpty ? [.bytes(bytes)] : ResponsePart.pieces(of: bytes, cuts: cuts)
        }
        func dispatch(_ frame: ByteBuffer, _ info: ConnectionInfo) async -> DispatchOutcome {
            guard let splice else { return await dispatcher.dispatch(frame: frame, connection: info) }
            return await RecordsSplice.$current.withValue(splice) {
                await dispatcher.dispatch(frame: frame, connection: info)
            }
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var info = info
                for try await received in inbound {
                    if let mapper = certificateMapper {
                        certificateMapper = nil
                        let peer: NIOSSLCertificate?
                        do {
                            peer = try await channel.nioSSL_peerCertificate().get()
                        } catch {
                            log.warning("Closing connection: cannot read the client certificate on listener \(listenerName): \(error)")
                            return
                        }
                        switch CertificatePrincipal.principal(certificate: peer, mapper: mapper) {
                        case .success(let principal):
                            info.principal = principal
                        case .failure(let refusal):
                            log.warning("Closing connection: failed to build the principal of the client on listener \(listenerName): \(refusal)")
                            return
                        }
                    }
                    let frame = received.frame
                    share.startRequest()
                    // With metrics on, the request's timestamps and what its handler reports
                    // (remote time, error codes) become RequestMetrics, and with the request
                    // log on a debug line; with both off, nothing is read.
                    var timing: RequestTiming?
                    var startedNs: Int64 = 0
                    let outcome: DispatchOutcome
                    if metrics != nil || logRequests {
                        let t = RequestTiming()
                        timing = t
                        startedNs = BrokerMetrics.nowNanoseconds()
                        outcome = await RequestTiming.$current.withValue(t) { await dispatch(frame, info) }
                    } else {
                        outcome = await dispatch(frame, info)
                    }
                    let handledNs = timing == nil ? 0 : BrokerMetrics.nowNanoseconds()
                    // Logs the request (debug) once its response is written (or not sent).
                    func logRequest(responded: Bool) {
                        guard logRequests, let timing else { return }
                        let times = RequestLog.Times(receivedNs: received.receivedNs, startedNs: startedNs,
                                                     handledNs: handledNs, sentNs: BrokerMetrics.nowNanoseconds(),
                                                     remoteNs: timing.remoteNanoseconds)
                        log.debug("\(RequestLog.line(frame: frame, connection: info, errors: timing.errorCounts, times: times, responded: responded))")
                    }
                    switch outcome {
                    case .respond(let bytes):
                        try await outbound.write(contentsOf: parts(bytes))
                        share.finishRequest()
                        logRequest(responded: true)
                    case .noResponse:
                        splice?.reset()
                        share.finishRequest()
                        logRequest(responded: false)
                    case .close(let reason):
                        splice?.reset()
                        log.warning("Closing connection: \(reason)")
                        return
                    case .respondThenClose(let bytes, let reason):
                        try await outbound.write(contentsOf: parts(bytes))
                        share.finishRequest()
                        logRequest(responded: true)
                        log.warning("Closing connection: \(reason)")
                        return
                    }
                    if let metrics, let timing, let apiKey = frame.getInteger(at: frame.readerIndex, as: Int16.self),
                       let version = frame.getInteger(at: frame.readerIndex + 2, as: Int16.self) {
                        metrics.recordRequest(apiKey: apiKey, version: version, receivedNs: received.receivedNs,
                                              startedNs: startedNs, handledNs: handledNs,
                                              sentNs: BrokerMetrics.nowNanoseconds(), timing: timing)
                    }
                }
            }
        } catch let error as ProtocolError {
            log.warning("Closing connection: invalid frame: \(error)")
        } catch is ConnectionIdleError {
            log.info("Closing idle connection")
        } catch let error as NIOSSLError {
            log.warning("Closing connection: TLS failed on listener \(configuration.listenerName): \(error)")
        } catch let error as BoringSSLError {
            log.warning("Closing connection: TLS failed on listener \(configuration.listenerName): \(error)")
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed {
            log.debug("Connection closed while writing")
        } catch {
            log.debug("Connection ended: \(error)")
        }
    }
}

/// A request frame and when its last byte was decoded (monotonic ns), for RequestQueueTimeMs.
struct ReceivedFrame: Sendable {
    var frame: ByteBuffer
    var receivedNs: Int64
}

/// Stamps each decoded frame with the time it arrived, before it waits in the connection's
/// queue behind earlier requests (one clock read per frame, metrics on or off).
final class FrameReceiveTimestamper: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ReceivedFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        context.fireChannelRead(wrapInboundOut(ReceivedFrame(frame: frame, receivedNs: BrokerMetrics.nowNanoseconds())))
    }
}
