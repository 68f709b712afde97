import KafkaProtocol
import Logging
import NIOCore
import Synchronization

/// The dispatcher of a SASL_PLAINTEXT or SASL_SSL listener: a ``SaslAuthenticator`` per
/// connection in front of the handler table. Until a connection has authenticated only
/// ApiVersions, SaslHandshake and SaslAuthenticate are served (anything else closes it, as
/// Kafka's `SaslServerAuthenticator` does); afterwards every request goes to `inner` with the
/// authenticated principal on its ``ConnectionInfo``.
///
/// The state of a connection lives from its first frame until ``connectionClosed(_:)``
/// (called by ``KafkaServer`` however the connection ends). Failed logins are counted
/// (``failedAuthentications``, and `failed-authentication-total` when metrics are on) and
/// logged with the principal's name only: no password, proof or key ever reaches a log line.
public final class SaslDispatcher: RequestDispatcher {
    public let inner: any RequestDispatcher
    public let settings: SaslListenerSettings
    private let credentials: @Sendable (ScramMechanism, String) -> ScramCredential?
    private let clock: @Sendable () -> Int64
    private let nonce: @Sendable () -> String
    private let logger: Logger
    private let states = Mutex<[UInt64: SaslAuthenticator]>([:])
    private let counts = Mutex<(failed: Int, succeeded: Int)>((0, 0))
    private let onFailure: (@Sendable () -> Void)?

    /// - Parameters:
    ///   - credentials: SCRAM credentials by mechanism and user name (the metadata image's).
    ///   - clock: monotonic milliseconds (session expiry).
    ///   - onFailure: called once per failed authentication (the metric).
    public init(inner: any RequestDispatcher, settings: SaslListenerSettings,
                credentials: @escaping @Sendable (ScramMechanism, String) -> ScramCredential?,
                clock: @escaping @Sendable () -> Int64 = { BrokerMetrics.nowNanoseconds() / 1_000_000 },
                nonce: @escaping @Sendable () -> String = { ScramServer.randomNonce() },
                logger: Logger, onFailure: (@Sendable () -> Void)? = nil) {
        self.inner = inner; self.settings = settings; self.credentials = credentials
        self.clock = clock; self.nonce = nonce; self.logger = logger; self.onFailure = onFailure
    }

    /// Failed authentications on this listener since start-up.
    public var failedAuthentications: Int { counts.withLock { $0.failed } }
    /// Successful authentications (re-authentications included) since start-up.
    public var successfulAuthentications: Int { counts.withLock { $0.succeeded } }
    /// Connections with SASL state (for tests: freed on close).
    public var trackedConnections: Int { states.withLock { $0.count } }

    public func connectionClosed(_ connection: ConnectionInfo) {
        _ = states.withLock { $0.removeValue(forKey: connection.connectionId) }
        inner.connectionClosed(connection)
    }

    public func dispatch(frame: ByteBuffer, connection: ConnectionInfo) async -> DispatchOutcome {
        let id = connection.connectionId
        let settings = self.settings
        let nonce = self.nonce
        var auth = states.withLock { $0[id] } ?? SaslAuthenticator(settings: settings, nonce: nonce)
        // Kafka's sasl.server.max.receive.size: an unauthenticated peer may not make the broker
        // hold large frames (checked here, after the frame decoder's socket.request.max.bytes).
        if auth.session == nil, frame.readableBytes > settings.maxReceiveSize {
            states.withLock { $0[id] = nil }
            return .close(reason: "SASL frame of \(frame.readableBytes) bytes before authentication exceeds sasl.server.max.receive.size (\(settings.maxReceiveSize))")
        }
        let apiKey = frame.getInteger(at: frame.readerIndex, as: Int16.self) ?? -1
        let admission = auth.admit(apiKey: apiKey, nowMs: clock())
        let outcome: DispatchOutcome
        switch admission {
        case .pass(let principal):
            states.withLock { $0[id] = auth }
            var info = connection
            info.principal = principal ?? ConnectionInfo.anonymous
            return await inner.dispatch(frame: frame, connection: info)
        case .close(let reason):
            states.withLock { $0[id] = auth }
            return .close(reason: reason)
        case .rawToken:
            outcome = await rawToken(frame, &auth, connection)
        case .intercept:
            outcome = await intercept(frame, apiKey: apiKey, &auth, connection)
        }
        states.withLock { $0[id] = auth }
        return outcome
    }

    private func recordFailure(_ connection: ConnectionInfo, mechanism: String, message: String) {
        counts.withLock { $0.failed += 1 }
        onFailure?()
        logger.warning("Failed authentication with \(connection.clientHost) (\(message)) on listener \(settings.listener) with mechanism \(mechanism)")
    }

    private func recordSuccess(_ principal: String, _ connection: ConnectionInfo, reauth: Bool) {
        counts.withLock { $0.succeeded += 1 }
        logger.debug("\(reauth ? "Re-authenticated" : "Authenticated") \(principal) from \(connection.clientHost) on listener \(settings.listener)")
    }

    /// A raw token after a v0 handshake: the answer is a raw size-prefixed token; a failure
    /// cannot be told to the client and closes the connection after the delay.
    private func rawToken(_ frame: ByteBuffer, _ auth: inout SaslAuthenticator, _ connection: ConnectionInfo) async -> DispatchOutcome {
        let mechanism = auth.exchangeMechanism?.rawValue ?? "?"
        let result = auth.authenticateRaw(token: Array(frame.readableBytesView), nowMs: clock(), credentials: credentials)
        if result.errorCode != .none {
            recordFailure(connection, mechanism: mechanism, message: result.errorMessage ?? "\(result.errorCode.name)")
            if result.delayMs > 0 { try? await Task.sleep(for: .milliseconds(result.delayMs)) }
            return .close(reason: "SASL authentication failed (SaslHandshake v0): \(result.errorMessage ?? "")")
        }
        if let principal = result.principal { recordSuccess(principal, connection, reauth: false) }
        var out = ByteBuffer()
        out.writeInteger(Int32(result.token.count))
        out.writeBytes(result.token)
        return .respond(out)
    }

    private func intercept(_ frame: ByteBuffer, apiKey: Int16, _ auth: inout SaslAuthenticator,
                           _ connection: ConnectionInfo) async -> DispatchOutcome {
        var buffer = frame
        let header: RequestHeader
        do {
            header = try RequestHeader.decode(from: &buffer)
        } catch {
            return .close(reason: "malformed request header during SASL authentication: \(error)")
        }
        let version = header.requestApiVersion
        do {
            if apiKey == ApiKey.saslHandshake.rawValue {
                guard SaslHandshakeHandler.versions.contains(version) else {
                    return .close(reason: "unsupported version \(version) of SaslHandshake (supported 0-1)")
                }
                let request = try SaslHandshakeRequest(from: &buffer, version: version)
                let reauth = auth.session != nil
                let result = auth.handshake(mechanism: request.mechanism, version: version)
                var response = SaslHandshakeResponse()
                response.errorCode = result.errorCode.rawValue
                response.mechanisms = result.mechanisms
                let bytes = try response.encodeFrame(version: version, correlationId: header.correlationId)
                if result.close {
                    let why = result.errorCode == .unsupportedSaslMechanism
                        ? "Unsupported SASL mechanism \(request.mechanism)\(reauth ? " for re-authentication" : "") (enabled: \(result.mechanisms.joined(separator: ", ")))"
                        : "SaslHandshake in state that does not expect it (ILLEGAL_SASL_STATE)"
                    return .respondThenClose(bytes, reason: why)
                }
                return .respond(bytes)
            }
            guard SaslAuthenticateHandler.versions.contains(version) else {
                return .close(reason: "unsupported version \(version) of SaslAuthenticate (supported 0-2)")
            }
            let request = try SaslAuthenticateRequest(from: &buffer, version: version)
            let mechanism = auth.exchangeMechanism?.rawValue ?? "?"
            let reauth = auth.isReauthenticating
            let result = auth.authenticate(token: Array(request.authBytes.readableBytesView), version: version,
                                           nowMs: clock(), credentials: credentials)
            var response = SaslAuthenticateResponse()
            response.errorCode = result.errorCode.rawValue
            response.errorMessage = result.errorMessage
            response.authBytes = ByteBuffer(bytes: result.token)
            response.sessionLifetimeMs = result.sessionLifetimeMs
            let bytes = try response.encodeFrame(version: version, correlationId: header.correlationId)
            if result.errorCode == .saslAuthenticationFailed {
                recordFailure(connection, mechanism: mechanism, message: result.errorMessage ?? "")
                // Kafka's connection.failed.authentication.delay.ms: the failure response and
                // the close are held back, which slows down password guessing on this connection.
                if result.delayMs > 0 { try? await Task.sleep(for: .milliseconds(result.delayMs)) }
            } else if let principal = result.principal {
                recordSuccess(principal, connection, reauth: reauth)
            }
            if result.close {
                return .respondThenClose(bytes, reason: "SASL authentication failed: \(result.errorMessage ?? result.errorCode.name)")
            }
            return .respond(bytes)
        } catch {
            return .close(reason: "malformed SASL request (correlation id \(header.correlationId)): \(error)")
        }
    }
}
