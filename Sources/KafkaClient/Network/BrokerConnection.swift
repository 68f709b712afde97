import Foundation
import KafkaProtocol
import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection to one broker, with its negotiated API versions.
///
/// * Requests are pipelined: up to `max.in.flight.requests.per.connection` are on the wire at
///   once, and responses are matched by correlation id in FIFO order (Kafka answers in order).
/// * Every request has a deadline (`request.timeout.ms`). A timed-out request closes the
///   connection: later responses could no longer be matched safely, and Kafka's own clients do
///   the same. Callers reconnect through ``ConnectionPool``.
/// * On connect it sends ApiVersions (v3, falling back to v0 when the broker answers
///   UNSUPPORTED_VERSION, as KIP-511 prescribes) and remembers each API's range, so
///   ``version(for:supported:)`` can pick the highest version both sides implement.
///
/// Concurrency: thread-safe; `send` may be called from any task.
public final class BrokerConnection: Sendable {
    /// The broker's node id (-1 for a bootstrap connection whose id is not known yet).
    public let nodeId: Int32
    public let address: BrokerAddress
    private let channel: Channel
    private let clientId: String
    private let requestTimeout: Duration
    private let inFlight: AsyncSemaphore
    private let versions: Locked<[Int16: ClosedRange<Int16>]>
    /// Why the channel closed, when an error closed it (set by ``KafkaChannelHandler``).
    private let closeReason: Locked<KafkaClientError?>

    private init(nodeId: Int32, address: BrokerAddress, channel: Channel, config: ClientConfig,
                 closeReason: Locked<KafkaClientError?>) {
        self.closeReason = closeReason
        self.nodeId = nodeId
        self.address = address
        self.channel = channel
        self.clientId = config.clientId
        self.requestTimeout = config.requestTimeout
        self.inFlight = AsyncSemaphore(permits: config.maxInFlight)
        self.versions = Locked([:])
    }

    /// Opens the connection and negotiates API versions.
    public static func connect(
        to address: BrokerAddress, nodeId: Int32, config: ClientConfig,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> BrokerConnection {
        let name = address.description
        let tls = config.tls
        let closeReason = Locked<KafkaClientError?>(nil)
        // SNI carries the broker's host name; an IP literal may not be sent (RFC 6066), and
        // NIOSSL then checks the certificate's IP SANs against the peer address instead.
        let sniHost = Self.isIPAddress(address.host) ? nil : address.host
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .connectTimeout(.milliseconds(Int64(config.connectTimeout.milliseconds)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // TLS sits below the Kafka framing; requests written before the handshake
                    // finishes are buffered by NIOSSL, and SASL (if any) runs inside the tunnel.
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: sniHost))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: 512 << 20)))
                    try channel.pipeline.syncOperations.addHandler(KafkaChannelHandler(brokerName: name, closeReason: closeReason))
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            throw KafkaClientError.connectionFailed(broker: name, reason: Self.describe(error))
        }
        let connection = BrokerConnection(nodeId: nodeId, address: address, channel: channel, config: config,
                                          closeReason: closeReason)
        do {
            try await connection.negotiateVersions()
            if let sasl = config.sasl { try await connection.authenticate(sasl) }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    private static func isIPAddress(_ host: String) -> Bool { TLSConfig.isIPAddress(host) }

    /// Why a request could not be written: the error that closed the channel when there was
    /// one (a TLS alert, a timeout), "connection closed" when the peer simply went away first,
    /// and the write error itself otherwise.
    private static func writeFailure(_ error: Error, closeReason: Locked<KafkaClientError?>, broker: String) -> KafkaClientError {
        if let reason = closeReason.withLock({ $0 }) { return reason }
        if case ChannelError.ioOnClosedChannel = error { return .connectionClosed(broker: broker) }
        return .connectionFailed(broker: broker, reason: describe(error))
    }

    /// A one-line reason ("Connection refused") instead of NIO's nested error dumps.
    static func describe(_ error: Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let connection = error as? NIOConnectionError {
            if let first = connection.connectionErrors.first { return describe(first.error) }
            if connection.dnsAError != nil || connection.dnsAAAAError != nil { return "cannot resolve host name" }
            return "no address to connect to"
        }
        if case ChannelError.connectTimeout = error { return "connect timed out" }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "TLS: the broker certificate does not match the host name "
                + "(set ssl.endpoint.identification.algorithm= to skip this check)"
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            let reason = TLSConfig.describe(error)
            let hint: String
            if reason.contains("CERTIFICATE_VERIFY_FAILED") {
                hint = " (broker certificate not trusted; check ssl.ca.location)"
            } else if reason.contains("CERTIFICATE_REQUIRED") || reason.contains("BAD_CERTIFICATE")
                        || reason.contains("UNKNOWN_CA") {
                hint = " (the broker refused our client certificate or wants one; check ssl.certificate.location and ssl.key.location)"
            } else {
                hint = ""
            }
            return "TLS handshake failed: \(reason)\(hint)"
        }
        return String(describing: error)
    }

    public var isActive: Bool { channel.isActive }

    public func close() {
        inFlight.fail(.connectionClosed(broker: address.description))
        channel.close(promise: nil)
    }

    /// A future that completes when the connection closes (for pools to drop it).
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// The broker's supported range for `apiKey`, nil when it does not support the API.
    public func brokerVersions(for apiKey: Int16) -> ClosedRange<Int16>? {
        versions.withLock { $0[apiKey] }
    }

    /// Every API range the broker advertised.
    public var advertisedVersions: [Int16: ClosedRange<Int16>] { versions.withLock { $0 } }

    /// The highest version in both `supported` (what the caller implements) and the broker's range.
    public func version(for apiKey: Int16, supported: ClosedRange<Int16>) -> Int16? {
        guard let broker = brokerVersions(for: apiKey) else { return nil }
        let high = min(broker.upperBound, supported.upperBound)
        let low = max(broker.lowerBound, supported.lowerBound)
        return high >= low ? high : nil
    }

    /// Sends one framed request and returns the response body (header removed).
    /// - Parameter expectsResponse: false only for acks=0 produce; returns once written.
    public func sendRaw(
        apiKey: Int16, apiVersion: Int16, requestHeaderVersion: Int16, responseHeaderVersion: Int16,
        body: ByteBuffer, expectsResponse: Bool = true, timeout: Duration? = nil
    ) async throws -> ByteBuffer {
        try await inFlight.acquire()
        defer { inFlight.release() }
        let deadline = timeout ?? requestTimeout
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let request = OutboundKafkaRequest(
            apiKey: apiKey, apiVersion: apiVersion, requestHeaderVersion: requestHeaderVersion,
            responseHeaderVersion: responseHeaderVersion, clientId: clientId, body: body,
            expectsResponse: expectsResponse, promise: promise)
        let channel = self.channel
        let name = address.description
        let ms = Int64(deadline.milliseconds)
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(ms)) {
            // Fails every pending request with the timeout and closes the connection.
            channel.pipeline.fireErrorCaught(KafkaClientError.timedOut(operation: "\(ApiKey(rawValue: apiKey)?.name ?? "api \(apiKey)") request to \(name)", milliseconds: ms))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        let closeReason = self.closeReason
        channel.writeAndFlush(request).whenFailure { error in
            promise.fail(Self.writeFailure(error, closeReason: closeReason, broker: name))
        }
        return try await promise.futureResult.get()
    }

    /// Writes a request immediately, in call order, without taking an in-flight permit: for
    /// callers that bound their own pipelining (the producer keeps per-broker and
    /// per-partition limits, and must keep write order across partitions' batches).
    func writeRaw(
        apiKey: Int16, apiVersion: Int16, requestHeaderVersion: Int16, responseHeaderVersion: Int16,
        body: ByteBuffer, expectsResponse: Bool
    ) -> EventLoopFuture<ByteBuffer> {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let request = OutboundKafkaRequest(
            apiKey: apiKey, apiVersion: apiVersion, requestHeaderVersion: requestHeaderVersion,
            responseHeaderVersion: responseHeaderVersion, clientId: clientId, body: body,
            expectsResponse: expectsResponse, promise: promise)
        let channel = self.channel
        let name = address.description
        let ms = Int64(requestTimeout.milliseconds)
        if expectsResponse {
            let timer = channel.eventLoop.scheduleTask(in: .milliseconds(ms)) {
                channel.pipeline.fireErrorCaught(KafkaClientError.timedOut(operation: "\(ApiKey(rawValue: apiKey)?.name ?? "api \(apiKey)") request to \(name)", milliseconds: ms))
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        let closeReason = self.closeReason
        channel.writeAndFlush(request).whenFailure { error in
            promise.fail(Self.writeFailure(error, closeReason: closeReason, broker: name))
        }
        return promise.futureResult
    }

    // MARK: ApiVersions (hand-coded: it runs before any version is known)

    static let apiVersionsKey: Int16 = 18

    private func negotiateVersions() async throws {
        // v3 first (flexible, carries our software name); on UNSUPPORTED_VERSION the broker
        // replies with a v0 body, and we retry at v0 which every broker understands.
        var body = ByteBuffer()
        Wire.writeUnsignedVarint(UInt32("samsa".utf8.count + 1), into: &body)
        body.writeString("samsa")
        Wire.writeUnsignedVarint(UInt32("0.1.0".utf8.count + 1), into: &body)
        body.writeString("0.1.0")
        body.writeInteger(UInt8(0))
        var response = try await sendRaw(apiKey: Self.apiVersionsKey, apiVersion: 3, requestHeaderVersion: 2,
                                         responseHeaderVersion: 0, body: body)
        let errorCode: Int16? = response.getInteger(at: response.readerIndex)
        if errorCode == 35 {
            response = try await sendRaw(apiKey: Self.apiVersionsKey, apiVersion: 0, requestHeaderVersion: 1,
                                         responseHeaderVersion: 0, body: ByteBuffer())
            try parseApiVersions(&response, version: 0)
        } else {
            try parseApiVersions(&response, version: 3)
        }
    }

    private func parseApiVersions(_ buffer: inout ByteBuffer, version: Int16) throws {
        guard let errorCode: Int16 = buffer.readInteger() else { throw KafkaClientError.protocolViolation("empty ApiVersions response") }
        guard errorCode == 0 else {
            throw KafkaClientError.broker(code: errorCode, name: "error \(errorCode)", context: "ApiVersions to \(address)", message: nil)
        }
        let count: Int
        if version >= 3 {
            let n = Int(try Wire.readUnsignedVarint(from: &buffer))
            count = max(n - 1, 0)
        } else {
            guard let n: Int32 = buffer.readInteger() else { throw KafkaClientError.protocolViolation("truncated ApiVersions") }
            count = max(Int(n), 0)
        }
        var table: [Int16: ClosedRange<Int16>] = [:]
        for _ in 0..<count {
            guard let key: Int16 = buffer.readInteger(), let low: Int16 = buffer.readInteger(),
                  let high: Int16 = buffer.readInteger() else {
                throw KafkaClientError.protocolViolation("truncated ApiVersions entry")
            }
            if version >= 3 { try Wire.skipTaggedFields(in: &buffer) }
            if low <= high { table[key] = low...high }
        }
        versions.withLock { $0 = table }
    }
}

extension Duration {
    /// Whole milliseconds, saturating.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
