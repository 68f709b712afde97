import Foundation
import KafkaProtocol

/// One connection's SASL authentication on a SASL_PLAINTEXT or SASL_SSL listener, as Kafka's
/// `SaslServerAuthenticator` runs it, as a value type without I/O (the clock is a parameter,
/// credentials a closure, the SCRAM nonce injected) so every path is unit-tested.
///
/// Kafka's sequence: [ApiVersions]* -> SaslHandshake -> SaslAuthenticate* (or, after a v0
/// handshake, raw length-prefixed tokens without Kafka headers) -> authenticated. Before that:
/// * any other request closes the connection (``Admission/close(reason:)``, logged);
/// * SaslAuthenticate before SaslHandshake is answered ILLEGAL_SASL_STATE, then closed;
/// * an unknown mechanism is answered UNSUPPORTED_SASL_MECHANISM with the enabled list, then closed;
/// * a wrong password or unknown user is answered SASL_AUTHENTICATION_FAILED, the response and
///   the close both held back by `connection.failed.authentication.delay.ms`.
/// After it, with `connections.max.reauth.ms` > 0 the session expires: a SaslHandshake starts
/// re-authentication (same mechanism, same principal), anything else after the expiry closes
/// the connection. With 0, SaslHandshake/SaslAuthenticate go to the handler table, which
/// answers ILLEGAL_SASL_STATE as Kafka's `KafkaApis` does.
public struct SaslAuthenticator: Sendable {
    /// What the dispatcher does with a request frame.
    public enum Admission: Sendable, Equatable {
        /// Hand it to the handler table, as `principal` (nil: not authenticated, ApiVersions only).
        case pass(principal: String?)
        /// A SaslHandshake or SaslAuthenticate the authenticator answers (``handshake`` / ``authenticate``).
        case intercept
        /// The frame is a raw SASL token (after a v0 handshake): ``authenticateRaw``.
        case rawToken
        /// Close the connection, logging `reason`.
        case close(reason: String)
    }

    public struct HandshakeOutcome: Sendable, Equatable {
        public var errorCode: ErrorCode
        public var mechanisms: [String]
        /// Close after sending the response.
        public var close: Bool
    }

    public struct AuthenticateOutcome: Sendable, Equatable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var token: [UInt8]
        public var sessionLifetimeMs: Int64
        /// Close after the response; a failed authentication waits `delayMs` before responding.
        public var close: Bool
        public var delayMs: Int64
        /// Set when this token completed an authentication (a failed login when errorCode is
        /// SASL_AUTHENTICATION_FAILED).
        public var principal: String?
    }

    /// An authenticated session.
    public struct Session: Sendable, Equatable {
        public var principal: String
        public var mechanism: SaslMechanism
        /// Monotonic ms after which the session has expired (nil: never).
        public var expiresAtMs: Int64?
    }

    private enum Exchange: Sendable {
        case plain
        case scram(ScramServer)
    }

    private enum State: Sendable {
        case initial
        case exchanging(mechanism: SaslMechanism, handshakeVersion: Int16, exchange: Exchange, previous: Session?)
        case authenticated(Session)
        case failed
    }

    public let settings: SaslListenerSettings
    private let makeNonce: @Sendable () -> String
    private var state: State = .initial

    public init(settings: SaslListenerSettings, nonce: @escaping @Sendable () -> String = { ScramServer.randomNonce() }) {
        self.settings = settings
        self.makeNonce = nonce
    }

    /// The authenticated session, if any.
    public var session: Session? {
        if case .authenticated(let s) = state { return s }
        return nil
    }

    /// The mechanism of the exchange under way, if one is.
    public var exchangeMechanism: SaslMechanism? {
        if case .exchanging(let m, _, _, _) = state { return m }
        return nil
    }

    /// Whether the exchange under way re-authenticates an existing session.
    public var isReauthenticating: Bool {
        if case .exchanging(_, _, _, let previous) = state { return previous != nil }
        return false
    }

    public mutating func admit(apiKey: Int16, nowMs: Int64) -> Admission {
        let name = ApiKey(rawValue: apiKey).map { Self.kafkaName($0) } ?? "\(apiKey)"
        switch state {
        case .initial:
            if apiKey == ApiKey.apiVersions.rawValue { return .pass(principal: nil) }
            if apiKey == ApiKey.saslHandshake.rawValue || apiKey == ApiKey.saslAuthenticate.rawValue { return .intercept }
            state = .failed
            return .close(reason: "Unexpected Kafka request of type \(name) during SASL handshake (listener \(settings.listener))")
        case .exchanging(_, let version, _, _):
            if version == 0 { return .rawToken }
            if apiKey == ApiKey.saslAuthenticate.rawValue { return .intercept }
            state = .failed
            return .close(reason: "Unexpected Kafka request of type \(name) during SASL authentication (listener \(settings.listener))")
        case .authenticated(let session):
            if let expires = session.expiresAtMs {
                if apiKey == ApiKey.saslHandshake.rawValue { return .intercept }   // re-authentication
                if nowMs >= expires {
                    state = .failed
                    return .close(reason: "SASL session of \(session.principal) expired (connections.max.reauth.ms) and was not re-authenticated")
                }
            }
            return .pass(principal: session.principal)
        case .failed:
            return .close(reason: "request after a failed SASL authentication")
        }
    }

    public mutating func handshake(mechanism requested: String, version: Int16) -> HandshakeOutcome {
        let enabled = settings.enabledMechanisms.map(\.rawValue)
        switch state {
        case .initial:
            guard let m = SaslMechanism(rawValue: requested), settings.enabledMechanisms.contains(m) else {
                state = .failed
                return HandshakeOutcome(errorCode: .unsupportedSaslMechanism, mechanisms: enabled, close: true)
            }
            state = .exchanging(mechanism: m, handshakeVersion: version, exchange: exchange(m), previous: nil)
            return HandshakeOutcome(errorCode: .none, mechanisms: enabled, close: false)
        case .authenticated(let session):
            // Re-authentication (KIP-368): the mechanism of the session, with SaslAuthenticate.
            guard requested == session.mechanism.rawValue, version >= 1 else {
                state = .failed
                return HandshakeOutcome(errorCode: .unsupportedSaslMechanism, mechanisms: [session.mechanism.rawValue], close: true)
            }
            state = .exchanging(mechanism: session.mechanism, handshakeVersion: version,
                                exchange: exchange(session.mechanism), previous: session)
            return HandshakeOutcome(errorCode: .none, mechanisms: enabled, close: false)
        case .exchanging, .failed:
            state = .failed
            return HandshakeOutcome(errorCode: .illegalSaslState, mechanisms: enabled, close: true)
        }
    }

    /// A SaslAuthenticate request's token.
    public mutating func authenticate(token: [UInt8], version: Int16, nowMs: Int64,
                                      credentials: (ScramMechanism, String) -> ScramCredential?) -> AuthenticateOutcome {
        guard case .exchanging = state else {
            state = .failed
            return AuthenticateOutcome(errorCode: .illegalSaslState,
                                       errorMessage: "Unexpected Kafka request of type SASL_AUTHENTICATE during SASL handshake.",
                                       token: [], sessionLifetimeMs: 0, close: true, delayMs: 0, principal: nil)
        }
        return step(token, nowMs: nowMs, credentials: credentials)
    }

    /// A raw token after a v0 SaslHandshake; on failure there is no way to tell the client
    /// (Kafka closes the connection), so the outcome's token is then empty and `close` is set.
    public mutating func authenticateRaw(token: [UInt8], nowMs: Int64,
                                         credentials: (ScramMechanism, String) -> ScramCredential?) -> AuthenticateOutcome {
        step(token, nowMs: nowMs, credentials: credentials)
    }

    private mutating func step(_ token: [UInt8], nowMs: Int64,
                               credentials: (ScramMechanism, String) -> ScramCredential?) -> AuthenticateOutcome {
        guard case .exchanging(let mechanism, let version, var exchange, let previous) = state else {
            preconditionFailure("step outside an exchange")
        }
        let reauth = previous != nil
        let result: (user: String, final: [UInt8])
        switch exchange {
        case .plain:
            switch Self.plain(token, users: settings.plainUsers, reauth: reauth) {
            case .success(let user): result = (user, [])
            case .failure(let message): return failed(message)
            }
        case .scram(var server):
            let scramMechanism = server.mechanism
            let outcome = server.evaluate(token) { credentials(scramMechanism, $0) }
            exchange = .scram(server)
            switch outcome {
            case .challenge(let bytes):
                state = .exchanging(mechanism: mechanism, handshakeVersion: version, exchange: exchange, previous: previous)
                return AuthenticateOutcome(errorCode: .none, errorMessage: nil, token: bytes, sessionLifetimeMs: 0,
                                           close: false, delayMs: 0, principal: nil)
            case .failure(let message):
                return failed(reauth ? message.replacingOccurrences(of: "during authentication", with: "during re-authentication") : message)
            case .success(let final, let user):
                result = (user, final)
            }
        }
        let principal = "User:" + result.user
        if let previous, previous.principal != principal {
            return failed("Cannot change principals during re-authentication from \(previous.principal): \(principal)")
        }
        let lifetime = settings.maxReauthMs[mechanism] ?? 0
        state = .authenticated(Session(principal: principal, mechanism: mechanism,
                                       expiresAtMs: lifetime > 0 ? nowMs + lifetime : nil))
        return AuthenticateOutcome(errorCode: .none, errorMessage: nil, token: result.final, sessionLifetimeMs: lifetime,
                                   close: false, delayMs: 0, principal: principal)
    }

    private mutating func failed(_ message: String) -> AuthenticateOutcome {
        state = .failed
        return AuthenticateOutcome(errorCode: .saslAuthenticationFailed, errorMessage: message, token: [], sessionLifetimeMs: 0,
                                   close: true, delayMs: settings.failedAuthenticationDelayMs, principal: nil)
    }

    private func exchange(_ m: SaslMechanism) -> Exchange {
        if let scram = m.scram { return .scram(ScramServer(mechanism: scram, serverNonce: makeNonce())) }
        return .plain
    }

    /// Kafka's message for a wrong PLAIN password or unknown user (`PlainSaslServer`).
    public static let invalidUsernameOrPassword = "Authentication failed: Invalid username or password"

    enum PlainResult: Equatable { case success(String), failure(String) }

    /// RFC 4616 `[authzid] NUL authcid NUL passwd`, checked as Kafka's `PlainSaslServer` does.
    static func plain(_ token: [UInt8], users: [String: String], reauth: Bool = false) -> PlainResult {
        let parts = token.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3, let authzid = String(bytes: parts[0], encoding: .utf8),
              let username = String(bytes: parts[1], encoding: .utf8) else {
            return .failure("Authentication failed during \(reauth ? "re-authentication" : "authentication") due to invalid credentials with SASL mechanism PLAIN")
        }
        let password = Array(parts[2])
        if username.isEmpty { return .failure("Authentication failed: username not specified") }
        if password.isEmpty { return .failure("Authentication failed: password not specified") }
        // Compare against something even for an unknown user, so timing does not tell which.
        let expected = users[username].map { Array($0.utf8) }
        let matches = ScramServer.constantTimeEqual(expected ?? password.map { ~$0 }, password)
        guard expected != nil, matches else { return .failure(invalidUsernameOrPassword) }
        if !authzid.isEmpty, authzid != username {
            return .failure("Authentication failed: Client requested an authorization id that is different from username")
        }
        return .success(username)
    }

    /// Kafka's `ApiKeys` enum name (SASL_HANDSHAKE), as its log lines and messages print it.
    static func kafkaName(_ key: ApiKey) -> String {
        var out = ""
        for c in "\(key)" {
            if c.isUppercase, !out.isEmpty { out.append("_") }
            out.append(contentsOf: c.uppercased())
        }
        return out
    }
}
