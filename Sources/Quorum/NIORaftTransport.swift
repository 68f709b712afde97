import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import NIOPosix

/// The quorum's network over SwiftNIO, both directions, with Kafka's framing (int32 size,
/// request header v1/v2 with api key, version, correlation id and client id).
///
/// **Outbound** (Kafka's `KafkaNetworkChannel` over a `NetworkClient`): one TCP connection per
/// peer voter, to the address `controller.quorum.voters` gives (``updateEndpoint(_:host:port:)``
/// as Kafka's `netChannel.updateEndpoint`), opened on the first send and reopened after a
/// failure with exponential backoff (`reconnectBackoffMs` doubling to `reconnectBackoffMaxMs`,
/// Kafka's `reconnect.backoff.ms` / `.max.ms`). A request goes out at ``RaftWireVersions``
/// with the replica's correlation id as the frame's. While the connection is being opened a
/// few requests wait; a request to a peer in backoff is dropped (the replica's request timeout
/// and one-request-per-destination rule retry it). Responses are matched by correlation id to
/// what was sent on that connection (api key and version, to decode them) and handed to the
/// host as `.response`; one that matches nothing is dropped. Observers (broker-only nodes)
/// connect to the voters the same way.
///
/// **Inbound**: the controller listener (a `KafkaServer` with the controller registry, in
/// Broker) decodes a request and calls ``serve(_:correlationId:)``, which hands it to the host
/// as `.request` from a *return address*: a negative pseudo node id unique to that request
/// (real node ids are >= 0). The replica answers with `.send(to: returnAddress, .response)`;
/// ``send(_:from:to:)`` finds the waiting request by that address and completes it, and the
/// server writes the answer to the connection the request came on (it serves one request per
/// connection at a time, so answers leave in order). A request that gets no answer within
/// `inboundTimeoutMs` (the host stopped, or it never answers) completes with nil: the server
/// then closes that connection. Return addresses instead of the sender's node id mean an
/// answer can only go to the connection its request came on, whatever ids a sender claims.
///
/// Messages reach the host through one ordered stream consumed by one task, so the host sees
/// them in arrival order.
///
/// Also ``forward(_:version:to:)``: a request this node sends for itself (DescribeQuorum to the
/// leader, as a Kafka broker forwards it to the active controller), on the same connections,
/// with negative correlation ids so they never meet the replica's.
///
/// Thread-safe (one lock; NIO callbacks and the host's executor both call in).
public final class NIORaftTransport: RaftTransport, @unchecked Sendable {
    public struct Options: Sendable {
        /// Kafka's `reconnect.backoff.ms` (50) and `reconnect.backoff.max.ms` (1000).
        public var reconnectBackoffMs: Int64 = 50
        public var reconnectBackoffMaxMs: Int64 = 1000
        /// Kafka's `socket.connection.setup.timeout.ms` (10 s) is long for a quorum on a LAN;
        /// the request timeout bounds it here.
        public var connectTimeoutMs: Int64 = 2000
        /// How long an inbound request may wait for the replica's answer (a parked Fetch waits
        /// up to 500 ms), after which its connection is closed.
        public var inboundTimeoutMs: Int64 = 5000
        /// Largest response frame accepted (a Fetch answer is at most 8 MiB plus headers).
        public var maxFrameBytes: Int = 104_857_600
        /// Requests kept while a connection is being opened.
        public var maxQueuedPerPeer = 8
        /// Adds the handlers that secure an outbound connection to the peer at `host`, first in
        /// the pipeline (below the Kafka framing): the TLS client handler when the controller
        /// listener is SSL. Quorum has no TLS of its own; Broker builds this from the
        /// listener's `ssl.*` settings. Nil: plaintext.
        public var secureConnection: (@Sendable (_ channel: any Channel, _ host: String) throws -> Void)?
        public init() {}
    }

    /// Where a voter listens (its controller listener).
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) { self.host = host; self.port = port }
    }

    public let localId: RaftNodeId
    public let options: Options
    private let group: any EventLoopGroup
    private let logger: Logger
    private let clientId: String
    private let lock = StorageLock()
    private var peers: [RaftNodeId: PeerConnection] = [:]
    private var localEndpoint: Endpoint?
    private var inbound: [RaftNodeId: InboundRequest] = [:]
    private var nextReturnAddress: Int32 = -2
    private var nextForwardCorrelationId: Int32 = -1
    private var closed = false
    private var deliveryTask: Task<Void, Never>?
    private var host: QuorumHost?
    private let deliveries: AsyncStream<(RaftMessage, RaftNodeId)>
    private let deliveryContinuation: AsyncStream<(RaftMessage, RaftNodeId)>.Continuation

    private struct InboundRequest {
        var correlationId: Int32
        var continuation: CheckedContinuation<RaftResponse?, Never>
    }

    /// What a request sent on a peer connection expects back.
    private struct Expectation {
        var apiKey: ApiKey
        var version: Int16
        /// Set for ``forward(_:version:to:)``: gets the raw response frame (nil on failure).
        var forward: CheckedContinuation<ByteBuffer?, Never>?
    }

    /// One peer's connection. Guarded by the transport's lock.
    private final class PeerConnection {
        let id: RaftNodeId
        var endpoint: Endpoint?
        var channel: (any Channel)?
        var connecting = false
        /// Bumped for every connection attempt: callbacks of an older channel are ignored.
        var generation: UInt64 = 0
        var queued: [(correlationId: Int32, frame: ByteBuffer)] = []
        var expectations: [Int32: Expectation] = [:]
        var expectationOrder: [Int32] = []
        var failures = 0
        var backoffUntil = NIODeadline.uptimeNanoseconds(0)
        /// Errors on connections that were opened but never answered (a failed TLS handshake:
        /// an untrusted certificate): they back the reconnects off as connect failures do.
        var sessionFailures = 0
        /// The last such error logged as a warning: the same one again is logged at debug.
        var lastSessionError: String?
        init(id: RaftNodeId, endpoint: Endpoint?) { self.id = id; self.endpoint = endpoint }
    }

    /// - Parameters:
    ///   - endpoints: the voters' controller listeners (`controller.quorum.voters`); this node's
    ///     own entry, if present, is ignored. More can be given later with ``updateEndpoint(_:host:port:)``.
    public init(localId: RaftNodeId, endpoints: [RaftNodeId: Endpoint], group: any EventLoopGroup, logger: Logger,
                options: Options = Options()) {
        self.localId = localId
        self.options = options
        self.group = group
        self.logger = logger
        self.clientId = "raft-client-\(localId)"
        (deliveries, deliveryContinuation) = AsyncStream.makeStream(of: (RaftMessage, RaftNodeId).self)
        for (id, endpoint) in endpoints {
            if id == localId { localEndpoint = endpoint } else { peers[id] = PeerConnection(id: id, endpoint: endpoint) }
        }
    }

    /// Every known voter endpoint, this node's included when it is a voter.
    public var endpoints: [RaftNodeId: Endpoint] {
        lock.withLock {
            var all: [RaftNodeId: Endpoint] = [:]
            for (id, peer) in peers { all[id] = peer.endpoint }
            if let localEndpoint { all[localId] = localEndpoint }
            return all
        }
    }

    /// Convenience: the voters as `KRaftSettings` parses them.
    public convenience init(localId: RaftNodeId, voters: [KRaftSettings.Voter], group: any EventLoopGroup, logger: Logger,
                            options: Options = Options()) {
        var endpoints: [RaftNodeId: Endpoint] = [:]
        for v in voters { endpoints[v.id] = Endpoint(host: v.host, port: v.port) }
        self.init(localId: localId, endpoints: endpoints, group: group, logger: logger, options: options)
    }

    /// Starts delivering inbound messages to `host` (in arrival order). Call once, right after
    /// the host is built with this transport.
    public func attach(_ host: QuorumHost) {
        let stream = deliveries
        lock.withLock {
            // The stream has one consumer: a second attach is a wiring bug, ignored.
            guard deliveryTask == nil, !closed else { return }
            self.host = host
            deliveryTask = Task {
                for await (message, from) in stream {
                    await host.receive(message, from: from)
                }
            }
        }
    }

    /// Sets (or moves) where voter `id` listens; an open connection to the old address is closed.
    /// This node's own entry is only remembered (``endpoints``, DescribeQuorum's Nodes).
    public func updateEndpoint(_ id: RaftNodeId, host: String, port: Int) {
        let old: (any Channel)? = lock.withLock {
            let endpoint = Endpoint(host: host, port: port)
            if id == localId {
                localEndpoint = endpoint
                return nil
            }
            guard let peer = peers[id] else {
                peers[id] = PeerConnection(id: id, endpoint: endpoint)
                return nil
            }
            guard peer.endpoint != endpoint else { return nil }
            peer.endpoint = endpoint
            peer.failures = 0
            peer.backoffUntil = .uptimeNanoseconds(0)
            return peer.channel
        }
        old?.close(promise: nil)
    }

    /// Closes every connection, fails every waiting inbound request and forward, and stops
    /// delivering. The transport is unusable afterwards.
    public func close() {
        let (channels, waiting, forwards, task) = lock.withLock { () -> ([any Channel], [InboundRequest], [CheckedContinuation<ByteBuffer?, Never>], Task<Void, Never>?) in
            closed = true
            var forwards: [CheckedContinuation<ByteBuffer?, Never>] = []
            var channels: [any Channel] = []
            for peer in peers.values {
                if let c = peer.channel { channels.append(c) }
                peer.channel = nil
                forwards += peer.expectations.values.compactMap(\.forward)
                peer.expectations = [:]
                peer.expectationOrder = []
                peer.queued = []
            }
            let waiting = Array(inbound.values)
            inbound = [:]
            host = nil
            return (channels, waiting, forwards, deliveryTask)
        }
        for c in channels { c.close(promise: nil) }
        for w in waiting { w.continuation.resume(returning: nil) }
        for f in forwards { f.resume(returning: nil) }
        deliveryContinuation.finish()
        task?.cancel()
    }

    // MARK: RaftTransport

    public func send(_ message: RaftMessage, from: RaftNodeId, to: RaftNodeId) {
        switch message {
        case .response(let correlationId, let response):
            let waiting: InboundRequest? = lock.withLock {
                guard let entry = inbound[to], entry.correlationId == correlationId else { return nil }
                inbound[to] = nil
                return entry
            }
            if let waiting {
                waiting.continuation.resume(returning: response)
            } else {
                logger.debug("Raft transport: dropping a \(response.apiKey) response to \(to) (correlation id \(correlationId)): its request is gone")
            }
        case .request(let correlationId, let request):
            let version = RaftWireVersions.version(of: request.apiKey)
            let frame: ByteBuffer
            do {
                frame = try Self.encodeRequestFrame(request, version: version, correlationId: correlationId, clientId: clientId)
            } catch {
                logger.error("Raft transport: cannot encode \(request.apiKey) v\(version) for node \(to): \(error)")
                return
            }
            enqueue(frame, correlationId: correlationId, expectation: Expectation(apiKey: request.apiKey, version: version), to: to)
        }
    }

    // MARK: Inbound

    /// A request that arrived on the controller listener: hands it to the host and returns the
    /// replica's answer, or nil when there is none (no host attached, transport closed, or no
    /// answer within `inboundTimeoutMs`): the caller closes the connection then.
    public func serve(_ request: RaftRequest, correlationId: Int32) async -> RaftResponse? {
        let timeout = options.inboundTimeoutMs
        // A stopped host answers nothing: refuse now rather than after the timeout, so the
        // sender's connection is not held behind requests that cannot be answered.
        if lock.withLock({ host })?.isStopped ?? true { return nil }
        return await withCheckedContinuation { (continuation: CheckedContinuation<RaftResponse?, Never>) in
            let address: RaftNodeId? = lock.withLock {
                guard !closed, deliveryTask != nil else { return nil }
                let address = nextReturnAddress
                nextReturnAddress = nextReturnAddress <= Int32.min / 2 ? -2 : nextReturnAddress - 1
                inbound[address] = InboundRequest(correlationId: correlationId, continuation: continuation)
                return address
            }
            guard let address else { return continuation.resume(returning: nil) }
            deliveryContinuation.yield((.request(correlationId: correlationId, request), address))
            group.next().scheduleTask(in: .milliseconds(timeout)) { [weak self] in
                self?.expireInbound(address, correlationId: correlationId)
            }
        }
    }

    private func expireInbound(_ address: RaftNodeId, correlationId: Int32) {
        let entry: InboundRequest? = lock.withLock {
            guard let entry = inbound[address], entry.correlationId == correlationId else { return nil }
            inbound[address] = nil
            return entry
        }
        guard let entry else { return }
        logger.warning("Raft transport: no answer to an inbound request (correlation id \(correlationId)) within \(options.inboundTimeoutMs) ms")
        entry.continuation.resume(returning: nil)
    }

    /// Inbound requests still waiting for the replica (tests, metrics).
    public var pendingInboundCount: Int { lock.withLock { inbound.count } }

    // MARK: Forwarding

    /// Sends `request` to node `to` for this node itself (not the replica) and returns the
    /// decoded response, nil when the peer is unknown or unreachable, the connection closes
    /// first, or nothing comes back within the inbound timeout.
    public func forward<R: KafkaRequest>(_ request: R, version: Int16, to: RaftNodeId) async -> R.Response? {
        let frame: ByteBuffer? = await withCheckedContinuation { (continuation: CheckedContinuation<ByteBuffer?, Never>) in
            let correlationId: Int32 = lock.withLock {
                let id = nextForwardCorrelationId
                nextForwardCorrelationId = nextForwardCorrelationId <= Int32.min + 1 ? -1 : nextForwardCorrelationId - 1
                return id
            }
            let encoded: ByteBuffer
            do {
                encoded = try request.encodeFrame(version: version, correlationId: correlationId, clientId: clientId)
            } catch {
                logger.error("Raft transport: cannot encode \(R.apiKey) v\(version): \(error)")
                return continuation.resume(returning: nil)
            }
            guard enqueue(encoded, correlationId: correlationId,
                          expectation: Expectation(apiKey: R.apiKey, version: version, forward: continuation), to: to) else {
                return continuation.resume(returning: nil)
            }
            group.next().scheduleTask(in: .milliseconds(options.inboundTimeoutMs)) { [weak self] in
                self?.expireForward(correlationId, peer: to)
            }
        }
        guard var frame else { return nil }
        do {
            let (_, response) = try R.Response.decode(from: &frame, version: version)
            return response
        } catch {
            logger.warning("Raft transport: malformed \(R.apiKey) response from node \(to): \(error)")
            return nil
        }
    }

    private func expireForward(_ correlationId: Int32, peer id: RaftNodeId) {
        let continuation: CheckedContinuation<ByteBuffer?, Never>? = lock.withLock {
            guard let peer = peers[id], let e = peer.expectations.removeValue(forKey: correlationId) else { return nil }
            peer.expectationOrder.removeAll { $0 == correlationId }
            return e.forward
        }
        continuation?.resume(returning: nil)
    }

    // MARK: Outbound connections

    /// Writes `frame` to peer `to` (connecting first if needed). False when it was dropped:
    /// unknown peer, backing off, or closed.
    @discardableResult
    private func enqueue(_ frame: ByteBuffer, correlationId: Int32, expectation: Expectation, to: RaftNodeId) -> Bool {
        enum Action { case drop, write(any Channel), connect(PeerConnection, Endpoint, UInt64), wait }
        var dropped: [CheckedContinuation<ByteBuffer?, Never>] = []
        let action: Action = lock.withLock {
            guard !closed, let peer = peers[to], let endpoint = peer.endpoint else { return .drop }
            if peer.channel == nil, !peer.connecting, NIODeadline.now() < peer.backoffUntil { return .drop }
            peer.expectations[correlationId] = expectation
            peer.expectationOrder.append(correlationId)
            // Bound what a peer that never answers can make us hold: the replica sends one
            // request per destination at a time and forgets the rest on its timeout.
            while peer.expectationOrder.count > 64 {
                let oldest = peer.expectationOrder.removeFirst()
                if let f = peer.expectations.removeValue(forKey: oldest)?.forward { dropped.append(f) }
            }
            if let channel = peer.channel { return .write(channel) }
            peer.queued.append((correlationId, frame))
            while peer.queued.count > options.maxQueuedPerPeer {
                let old = peer.queued.removeFirst()
                if let f = peer.expectations.removeValue(forKey: old.correlationId)?.forward { dropped.append(f) }
                peer.expectationOrder.removeAll { $0 == old.correlationId }
            }
            if peer.connecting { return .wait }
            peer.connecting = true
            peer.generation &+= 1
            return .connect(peer, endpoint, peer.generation)
        }
        for f in dropped { f.resume(returning: nil) }
        switch action {
        case .drop:
            logger.trace("Raft transport: dropping a request to node \(to) (unknown, closed or backing off)")
            return false
        case .write(let channel):
            channel.writeAndFlush(frame, promise: nil)
        case .connect(let peer, let endpoint, let generation):
            connect(peer, endpoint, generation)
        case .wait:
            break
        }
        return true
    }

    private func connect(_ peer: PeerConnection, _ endpoint: Endpoint, _ generation: UInt64) {
        let maxFrame = options.maxFrameBytes
        let id = peer.id
        let secure = options.secureConnection
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connectTimeout(.milliseconds(options.connectTimeoutMs))
            .channelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let self else { throw ChannelError.ioOnClosedChannel }
                    try secure?(channel, endpoint.host)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: maxFrame)))
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(transport: self, peer: id, generation: generation))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenComplete { [weak self] result in
                self?.connected(id, generation, endpoint, result)
            }
    }

    private func connected(_ id: RaftNodeId, _ generation: UInt64, _ endpoint: Endpoint, _ result: Result<any Channel, any Error>) {
        switch result {
        case .success(let channel):
            let frames: [ByteBuffer]? = lock.withLock {
                guard !closed, let peer = peers[id], peer.generation == generation else { return nil }
                peer.connecting = false
                peer.channel = channel
                peer.failures = 0
                let frames = peer.queued.map(\.frame)
                peer.queued = []
                return frames
            }
            guard let frames else { channel.close(promise: nil); return }
            logger.info("Raft transport: connected to node \(id) at \(endpoint.host):\(endpoint.port)")
            for frame in frames { channel.write(frame, promise: nil) }
            channel.flush()
        case .failure(let error):
            let (first, forwards): (Bool, [CheckedContinuation<ByteBuffer?, Never>]) = lock.withLock {
                guard let peer = peers[id], peer.generation == generation else { return (false, []) }
                peer.connecting = false
                peer.failures += 1
                let shift = min(peer.failures - 1, 20)
                let backoff = min(options.reconnectBackoffMs << shift, options.reconnectBackoffMaxMs)
                peer.backoffUntil = .now() + .milliseconds(backoff)
                let forwards = peer.expectations.values.compactMap(\.forward)
                peer.queued = []
                peer.expectations = [:]
                peer.expectationOrder = []
                return (peer.failures == 1, forwards)
            }
            for f in forwards { f.resume(returning: nil) }
            if first {
                logger.warning("Raft transport: cannot connect to node \(id) at \(endpoint.host):\(endpoint.port): \(error); retrying with backoff")
            } else {
                logger.debug("Raft transport: still cannot connect to node \(id): \(error)")
            }
        }
    }

    fileprivate func disconnected(_ id: RaftNodeId, _ generation: UInt64) {
        let (was, forwards): (Bool, [CheckedContinuation<ByteBuffer?, Never>]) = lock.withLock {
            guard let peer = peers[id], peer.generation == generation, peer.channel != nil else { return (false, []) }
            peer.channel = nil
            let shift = min(peer.sessionFailures, 20)
            peer.backoffUntil = .now() + .milliseconds(min(options.reconnectBackoffMs << shift, max(options.reconnectBackoffMaxMs, options.reconnectBackoffMs)))
            let forwards = peer.expectations.values.compactMap(\.forward)
            peer.expectations = [:]
            peer.expectationOrder = []
            return (true, forwards)
        }
        for f in forwards { f.resume(returning: nil) }
        if was { logger.info("Raft transport: connection to node \(id) closed") }
    }

    /// An error on the connection to peer `id` (it is closed next): logged as a warning the
    /// first time (a TLS handshake that fails says why here: an untrusted certificate, a
    /// host name the certificate does not name), at debug while it repeats.
    fileprivate func connectionError(_ id: RaftNodeId, _ generation: UInt64, _ error: any Error) {
        let text = "\(error)"
        let repeated: Bool? = lock.withLock {
            guard let peer = peers[id], peer.generation == generation else { return nil }
            peer.sessionFailures += 1
            defer { peer.lastSessionError = text }
            return peer.lastSessionError == text
        }
        switch repeated {
        case false?: logger.warning("Raft transport: connection to node \(id) failed: \(text)")
        case true?: logger.debug("Raft transport: connection to node \(id) failed again: \(text)")
        case nil: break
        }
    }

    /// A response frame from peer `id`: matched by correlation id, decoded, delivered.
    /// Returns false when the frame is malformed (the connection is then closed).
    fileprivate func responseFrame(_ frame: ByteBuffer, from id: RaftNodeId, generation: UInt64) -> Bool {
        guard let correlationId = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int32.self) else { return false }
        let expectation: Expectation? = lock.withLock {
            guard let peer = peers[id], peer.generation == generation,
                  let e = peer.expectations.removeValue(forKey: correlationId) else { return nil }
            peer.expectationOrder.removeAll { $0 == correlationId }
            peer.sessionFailures = 0
            peer.lastSessionError = nil
            return e
        }
        guard let expectation else {
            logger.debug("Raft transport: dropping a response from node \(id) with unknown correlation id \(correlationId)")
            return true
        }
        if let forward = expectation.forward {
            forward.resume(returning: frame)
            return true
        }
        do {
            let response = try Self.decodeResponse(frame, apiKey: expectation.apiKey, version: expectation.version)
            deliveryContinuation.yield((.response(correlationId: correlationId, response), id))
            return true
        } catch {
            logger.warning("Raft transport: malformed \(expectation.apiKey) response from node \(id): \(error); closing the connection")
            return false
        }
    }

    // MARK: Codec

    static func encodeRequestFrame(_ request: RaftRequest, version: Int16, correlationId: Int32, clientId: String) throws -> ByteBuffer {
        switch request {
        case .vote(let m): try m.encodeFrame(version: version, correlationId: correlationId, clientId: clientId)
        case .beginQuorumEpoch(let m): try m.encodeFrame(version: version, correlationId: correlationId, clientId: clientId)
        case .endQuorumEpoch(let m): try m.encodeFrame(version: version, correlationId: correlationId, clientId: clientId)
        case .fetch(let m): try m.encodeFrame(version: version, correlationId: correlationId, clientId: clientId)
        }
    }

    static func decodeResponse(_ frame: ByteBuffer, apiKey: ApiKey, version: Int16) throws -> RaftResponse {
        var buffer = frame
        let response: RaftResponse
        switch apiKey {
        case .vote: response = .vote(try VoteResponse.decode(from: &buffer, version: version).1)
        case .beginQuorumEpoch: response = .beginQuorumEpoch(try BeginQuorumEpochResponse.decode(from: &buffer, version: version).1)
        case .endQuorumEpoch: response = .endQuorumEpoch(try EndQuorumEpochResponse.decode(from: &buffer, version: version).1)
        case .fetch: response = .fetch(try FetchResponse.decode(from: &buffer, version: version).1)
        default: throw ProtocolError.malformed("\(apiKey) is not a Raft response")
        }
        guard buffer.readableBytes == 0 else { throw ProtocolError.malformed("\(buffer.readableBytes) bytes after the body") }
        return response
    }
}

/// The client pipeline's last handler: response frames to the transport, close on a bad one.
private final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private weak var transport: NIORaftTransport?
    private let peer: RaftNodeId
    private let generation: UInt64

    init(transport: NIORaftTransport, peer: RaftNodeId, generation: UInt64) {
        self.transport = transport; self.peer = peer; self.generation = generation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if transport?.responseFrame(frame, from: peer, generation: generation) == false {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        transport?.disconnected(peer, generation)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        transport?.connectionError(peer, generation, error)
        context.close(promise: nil)
    }
}
