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
/// prefix. On NOT_CONTROLLER (the controller moved) or a lost connection the request is retried
/// against the controller `ControllerChannel` locates then, every `retry.backoff.ms`, until
/// `request.timeout.ms`. A forward that fails is answered as Kafka's `ForwardingManager` answers
/// it, with the request's own response carrying the error on every entry
/// (``ForwardedErrorResponse``), so an admin tool prints an error instead of seeing a dropped
/// connection:
/// * no answer within `request.timeout.ms`: REQUEST_TIMED_OUT (retriable: clients may retry);
/// * any other Envelope error (INVALID_REQUEST: the controller could not parse or run it;
///   CLUSTER_AUTHORIZATION_FAILED: this broker may not forward, also logged as a warning naming
///   the fix): UNKNOWN_SERVER_ERROR at once, without retrying (another try gets the same
///   answer); the log line names the envelope error, the client sees none (as Kafka, which
///   keeps the controller's details off the wire);
/// * an answer that does not parse as the request's response, or cannot be merged with the part
///   this broker answered itself (`preprocess`): UNKNOWN_SERVER_ERROR, as Kafka answers a
///   forwarded response it cannot parse.
/// With `preprocess`, the error goes on what was forwarded and the broker's own answers stay
/// (Kafka builds the error response from the forwarded remainder, then reassembles).
/// The connection is closed only on UNSUPPORTED_VERSION in the envelope (the controller does not
/// know the version: the client reconnects and re-negotiates, as Kafka) and when the request
/// does not parse here (no response shape to fill; the controller would refuse it anyway).
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
        let forwardedFrame: ByteBuffer
        let reassemble: (@Sendable (ByteBuffer) throws -> ByteBuffer)?
        switch preprocess?(frame) ?? .forwardUnchanged {
        case .forwardUnchanged: (forwardedFrame, reassemble) = (frame, nil)
        case .answer(let response): return .respond(response)
        case .forward(let remaining, let merge): (forwardedFrame, reassemble) = (remaining, merge)
        }
        var envelope = EnvelopeRequest()
        envelope.requestData = forwardedFrame
        envelope.requestPrincipal = ByteBuffer(string: connection.principal == ConnectionInfo.anonymous ? principal : connection.principal)
        envelope.clientHostAddress = ByteBuffer(bytes: Self.addressBytes(connection.clientHost))
        let deadline = ContinuousClock.now + .milliseconds(requestTimeoutMs)
        let name = ApiKey(rawValue: apiKey).map { "\($0)" } ?? "api \(apiKey)"
        /// The error answer for what was forwarded, with the broker's own answers merged back
        /// in; a close when the request does not parse here. Logs `reason` and which it was.
        func failed(_ error: ErrorCode, message: String? = nil, reason: String) -> DispatchOutcome {
            if let reassemble, let forwardedAnswer = ForwardedErrorResponse.response(to: forwardedFrame, error: error, message: message),
               let merged = try? reassemble(forwardedAnswer) {
                logger.warning("\(reason); answering \(error.name) for what was forwarded")
                return .respond(merged)
            }
            if let framed = ForwardedErrorResponse.frame(for: frame, error: error, message: message) {
                logger.warning("\(reason); answering \(error.name) on every entry")
                return .respond(framed)
            }
            return .close(reason: "\(reason); the request does not parse, so no \(error.name) response can be built")
        }
        var lastError = ""
        while ContinuousClock.now < deadline {
            do {
                let (response, endpoint) = try await channel.send({ _ in envelope }, supported: 0...0)
                if response.errorCode == 0, let data = response.responseData {
                    if let reassemble {
                        do {
                            return .respond(try reassemble(data))
                        } catch {
                            return failed(.unknownServerError, reason: "\(name): the controller's answer could not be merged with this broker's: \(error)")
                        }
                    }
                    // Kafka's ForwardingManager parses the controller's answer before passing it
                    // on, and answers UNKNOWN_SERVER_ERROR when it does not parse: a client must
                    // never get a frame it cannot read in place of its response.
                    if let key = ApiKey(rawValue: apiKey), let version = frame.getInteger(at: frame.readerIndex + 2, as: Int16.self),
                       !Self.parses(data, as: key, version: version) {
                        return failed(.unknownServerError, reason: "\(name): the controller's answer does not parse as a v\(version) response")
                    }
                    var framed = ByteBuffer()
                    framed.writeInteger(Int32(data.readableBytes))
                    framed.writeImmutableBuffer(data)
                    return .respond(framed)
                }
                lastError = "controller \(endpoint.nodeId) answered the envelope with \(ErrorCode(rawValue: response.errorCode).name)"
                if response.errorCode == ErrorCode.unsupportedVersion.rawValue {
                    // The controller does not know this version of the API: close, so the client
                    // reconnects and negotiates versions again (Kafka's `responseCallback(None)`).
                    return .close(reason: "\(name) was refused by the controller: \(lastError)")
                }
                guard response.errorCode == ErrorCode.notController.rawValue else {
                    // The controller could not parse or run the request (INVALID_REQUEST), or
                    // refused this broker (CLUSTER_AUTHORIZATION_FAILED): another try gets the
                    // same answer. Answer at once instead of holding the client for
                    // request.timeout.ms.
                    if response.errorCode == ErrorCode.clusterAuthorizationFailed.rawValue {
                        // Kafka's controller refuses an Envelope whose sender lacks CLUSTER_ACTION:
                        // this broker's principal on the controller listener must be a super user
                        // or hold CLUSTER_ACTION on the cluster. Every forwarded request fails
                        // until that is fixed, so say so where the operator looks.
                        logger.warning("The controller refused this broker's forwarded \(name): CLUSTER_AUTHORIZATION_FAILED (the broker's principal on the controller listener needs CLUSTER_ACTION on the cluster, or to be in super.users)")
                    }
                    return failed(.unknownServerError, reason: "\(name) was refused by the controller: \(lastError)")
                }
                channel.reset()
            } catch {
                lastError = "\(error)"
            }
            try? await Task.sleep(for: .milliseconds(retryBackoffMs))
        }
        return failed(.requestTimedOut, message: "The request could not be forwarded to the active controller within \(requestTimeoutMs) ms",
                      reason: "Could not forward \(name) to the active controller within \(requestTimeoutMs) ms: \(lastError)")
    }

    /// Whether `response` (header + body, no size prefix) decodes as `key`'s response at `version`.
    static func parses(_ response: ByteBuffer, as key: ApiKey, version: Int16) -> Bool {
        var buffer = response
        guard (try? ResponseHeader(from: &buffer, version: key.responseHeaderVersion(apiVersion: version))) != nil else { return false }
        return (try? key.responseType.init(from: &buffer, version: version)) != nil
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
