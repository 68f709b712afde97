import KafkaClient
import KafkaProtocol
import Logging
import NIOCore

/// The broker listener's dispatcher on a node that may not be the active controller: requests
/// that change cluster metadata are forwarded to the active controller inside an Envelope
/// (KIP-590, Kafka's `ForwardingManager`); everything else is handled here by `local`.
///
/// Why forward instead of answering NOT_CONTROLLER: with dedicated controllers
/// (`process.roles=controller`) clients cannot reach the controller at all, and Kafka's own
/// brokers forward, so admin tools that talk to any broker (kafka-topics.sh, confluent-kafka's
/// AdminClient) work unchanged against Samsa.
///
/// The forwarded frame is the client's request as it arrived (header + body, no size prefix);
/// the controller's answer is the response frame for the client, re-framed here with its size
/// prefix. On NOT_CONTROLLER (the controller moved) or a lost connection the request is retried against the controller `ControllerChannel` locates then, every
/// `retry.backoff.ms`, until `request.timeout.ms`; then the client's connection is closed,
/// which every Kafka client treats as retriable (a per-API error response would need every
/// forwarded API's error shape, and the client retries either way). Any other Envelope error
/// (INVALID_REQUEST: the controller could not parse the request) closes the connection at once.
public struct ForwardingDispatcher: RequestDispatcher {
    /// The APIs Kafka's brokers forward to the controller (`ApiKeys.forwardable` that Samsa
    /// implements or will): topic and partition admin, configs, ACLs, SCRAM users, quotas,
    /// reassignments (ListPartitionReassignments too, so the answer is the active controller's
    /// image, as Kafka's brokers forward it), leader election, features, and DescribeQuorum (Kafka forwards it so
    /// `kafka-metadata-quorum.sh --bootstrap-server` works through any broker).
    public static let forwardedApiKeys: Set<Int16> = [
        ApiKey.createTopics.rawValue, ApiKey.deleteTopics.rawValue, ApiKey.createPartitions.rawValue,
        ApiKey.alterConfigs.rawValue, ApiKey.incrementalAlterConfigs.rawValue,
        ApiKey.createAcls.rawValue, ApiKey.deleteAcls.rawValue,
        ApiKey.alterUserScramCredentials.rawValue, ApiKey.alterClientQuotas.rawValue,
        ApiKey.alterPartitionReassignments.rawValue, ApiKey.listPartitionReassignments.rawValue, ApiKey.electLeaders.rawValue, ApiKey.updateFeatures.rawValue,
        ApiKey.describeQuorum.rawValue,
    ]

    public let local: any RequestDispatcher
    public let channel: ControllerChannel
    /// True while this node is the active controller: then nothing is forwarded.
    public let isLocalController: @Sendable () -> Bool
    /// The principal forwarded with the request (Kafka's `KafkaPrincipalSerde`); "User:ANONYMOUS"
    /// until authentication exists.
    public var principal: String = "User:ANONYMOUS"
    /// Answers part of a request here before the rest is forwarded (``ForwardedConfigRequests``:
    /// a BROKER config resource naming another broker); nil forwards every request as it came.
    public var preprocess: (@Sendable (ByteBuffer) -> ForwardingPlan)?
    public var retryBackoffMs: Int64 = 100
    public var requestTimeoutMs: Int64 = 30_000
    public var logger: Logger

    public init(local: any RequestDispatcher, channel: ControllerChannel, logger: Logger,
                isLocalController: @escaping @Sendable () -> Bool) {
        self.local = local; self.channel = channel; self.logger = logger; self.isLocalController = isLocalController
    }

    public func dispatch(frame: ByteBuffer, connection: ConnectionInfo) async -> DispatchOutcome {
        guard let apiKey = frame.getInteger(at: frame.readerIndex, as: Int16.self),
              Self.forwardedApiKeys.contains(apiKey), !isLocalController() else {
            return await local.dispatch(frame: frame, connection: connection)
        }
        // Only a version this node implements is forwarded: the local registry decides what to
        // do with an unknown or unsupported one (close, as for any request).
        if let registry = local as? HandlerRegistry, let key = ApiKey(rawValue: apiKey),
           let version = frame.getInteger(at: frame.readerIndex + 2, as: Int16.self),
           registry.versions(for: key)?.contains(version) != true {
            return await local.dispatch(frame: frame, connection: connection)
        }
        var forwardedFrame = frame
        var reassemble: (@Sendable (ByteBuffer) throws -> ByteBuffer)?
        switch preprocess?(frame) ?? .forwardUnchanged {
        case .forwardUnchanged: break
        case .answer(let response): return .respond(response)
        case .forward(let remaining, let merge): forwardedFrame = remaining; reassemble = merge
        }
        var envelope = EnvelopeRequest()
        envelope.requestData = forwardedFrame
        envelope.requestPrincipal = ByteBuffer(string: connection.principal == ConnectionInfo.anonymous ? principal : connection.principal)
        envelope.clientHostAddress = ByteBuffer(bytes: Self.addressBytes(connection.clientHost))
        let deadline = ContinuousClock.now + .milliseconds(requestTimeoutMs)
        var lastError = ""
        while ContinuousClock.now < deadline {
            do {
                let (response, endpoint) = try await channel.send({ _ in envelope }, supported: 0...0)
                if response.errorCode == 0, let data = response.responseData {
                    if let reassemble {
                        do {
                            return .respond(try reassemble(data))
                        } catch {
                            let name = ApiKey(rawValue: apiKey).map { "\($0)" } ?? "api \(apiKey)"
                            return .close(reason: "\(name): the controller's answer could not be merged with this broker's: \(error)")
                        }
                    }
                    var framed = ByteBuffer()
                    framed.writeInteger(Int32(data.readableBytes))
                    framed.writeImmutableBuffer(data)
                    return .respond(framed)
                }
                lastError = "controller \(endpoint.nodeId) answered the envelope with \(ErrorCode(rawValue: response.errorCode).name)"
                guard response.errorCode == ErrorCode.notController.rawValue else {
                    // The controller could not parse or run the request (INVALID_REQUEST for a
                    // malformed one): another try gets the same answer. Close at once, as Kafka's
                    // broker closes a request it cannot parse, instead of holding the client for
                    // request.timeout.ms.
                    let name = ApiKey(rawValue: apiKey).map { "\($0)" } ?? "api \(apiKey)"
                    if response.errorCode == ErrorCode.clusterAuthorizationFailed.rawValue {
                        // Kafka's controller refuses an Envelope whose sender lacks CLUSTER_ACTION:
                        // this broker's principal on the controller listener must be a super user
                        // or hold CLUSTER_ACTION on the cluster. Every forwarded request fails
                        // until that is fixed, so say so where the operator looks.
                        logger.warning("The controller refused this broker's forwarded \(name): CLUSTER_AUTHORIZATION_FAILED (the broker's principal on the controller listener needs CLUSTER_ACTION on the cluster, or to be in super.users)")
                    }
                    return .close(reason: "\(name) was refused by the controller: \(lastError)")
                }
                channel.reset()
            } catch {
                lastError = "\(error)"
            }
            try? await Task.sleep(for: .milliseconds(retryBackoffMs))
        }
        let name = ApiKey(rawValue: apiKey).map { "\($0)" } ?? "api \(apiKey)"
        logger.warning("Could not forward \(name) to the active controller within \(requestTimeoutMs) ms: \(lastError)")
        return .close(reason: "\(name) could not be forwarded to the controller: \(lastError)")
    }

    /// The client's IP as Kafka's `InetAddress.getAddress()` bytes (4 or 16), empty if unknown.
    static func addressBytes(_ host: String) -> [UInt8] {
        if let v4 = try? SocketAddress(ipAddress: host, port: 0), case .v4(let a) = v4 {
            return withUnsafeBytes(of: a.address.sin_addr.s_addr) { Array($0) }
        }
        if let v6 = try? SocketAddress(ipAddress: host, port: 0), case .v6(let a) = v6 {
            return withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
        }
        return []
    }
}
