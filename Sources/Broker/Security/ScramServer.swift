import Foundation
import KafkaClient

/// Kafka's SCRAM mechanisms, with the ids of Kafka's `ScramMechanism` (the `mechanism` byte of
/// UserScramCredentialRecord and of the (Alter|Describe)UserScramCredentials APIs).
public enum ScramMechanism: String, Sendable, CaseIterable, Codable {
    case sha256 = "SCRAM-SHA-256"
    case sha512 = "SCRAM-SHA-512"

    public var type: Int8 {
        switch self {
        case .sha256: 1
        case .sha512: 2
        }
    }

    public init?(type: Int8) {
        switch type {
        case 1: self = .sha256
        case 2: self = .sha512
        default: return nil
        }
    }

    public var variant: SHA2.Variant {
        switch self {
        case .sha256: .sha256
        case .sha512: .sha512
        }
    }

    /// Kafka's `ScramMechanism.minIterations()`: 4096 for both (RFC 7677 recommends at least 4096).
    public static let minIterations = 4096
    /// Kafka's bound on AlterUserScramCredentials (`ControllerApis`/`ScramControlManager`:
    /// "Too many iterations" above 16384).
    public static let maxIterations = 16384
}

/// What the broker stores for one SCRAM user and mechanism (RFC 5802 §3): never the password,
/// nor the salted password; StoredKey lets the server check a client proof, ServerKey lets it
/// prove it knows the credential. Kafka's `ScramCredential`.
public struct ScramCredential: Sendable, Equatable, Codable {
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]
    public var iterations: Int

    public init(salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8], iterations: Int) {
        self.salt = salt; self.storedKey = storedKey; self.serverKey = serverKey; self.iterations = iterations
    }

    /// The credential of `password` (Kafka's `ScramFormatter.generateCredential`): SaltedPassword
    /// = Hi(password, salt, i), ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey =
    /// H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key").
    public static func derive(password: String, salt: [UInt8], iterations: Int, mechanism: ScramMechanism) -> ScramCredential {
        derive(saltedPassword: SHA2.pbkdf2(password: Array(password.utf8), salt: salt, iterations: iterations, mechanism.variant),
               salt: salt, iterations: iterations, mechanism: mechanism)
    }

    /// The credential from a salted password, as AlterUserScramCredentials carries it.
    public static func derive(saltedPassword: [UInt8], salt: [UInt8], iterations: Int, mechanism: ScramMechanism) -> ScramCredential {
        let v = mechanism.variant
        let clientKey = SHA2.hmac(key: saltedPassword, message: Array("Client Key".utf8), v)
        return ScramCredential(salt: salt, storedKey: SHA2.hash(clientKey, v),
                               serverKey: SHA2.hmac(key: saltedPassword, message: Array("Server Key".utf8), v),
                               iterations: iterations)
    }

    /// 32 random bytes (Kafka's `ScramFormatter.secureRandomBytes` salts are random too; the
    /// length only has to be unique per credential).
    public static func randomSalt() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }
}

extension ScramCredential: CustomStringConvertible {
    /// Never the keys: a credential printed by mistake must not leak them.
    public var description: String { "ScramCredential(iterations: \(iterations), salt: \(salt.count) bytes)" }
}

/// The server side of one SCRAM-SHA-256/512 exchange (RFC 5802 §5, RFC 7677), as Kafka's
/// `ScramSaslServer` runs it: client-first -> server-first, client-final -> server-final.
///
/// A value type without I/O: the credential lookup is a closure, the server nonce is injected
/// (random in production, RFC 7677's fixed nonce in the tests). Failures carry Kafka's error
/// messages; none of them contains a key, a proof or a password.
public struct ScramServer: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Send this challenge (server-first) and wait for the next token.
        case challenge([UInt8])
        /// Authenticated: send this server-final message; `username` is the authenticated user.
        case success(serverFinal: [UInt8], username: String)
        /// Authentication failed; `message` is what the client is told (Kafka's wording).
        case failure(message: String)
    }

    /// Kafka's message for an unknown user (`ScramSaslServer`: the credential callback found none).
    public static let invalidUserCredentials = "Authentication failed: Invalid user credentials"

    private enum State: Sendable {
        case awaitingClientFirst
        case awaitingClientFinal(username: String, gs2Header: String, clientFirstBare: String, serverFirst: String,
                                 nonce: String, credential: ScramCredential)
        case finished
    }

    public let mechanism: ScramMechanism
    private let serverNonce: String
    private var state: State = .awaitingClientFirst

    /// `serverNonce` is appended to the client's nonce (printable ASCII without `,`).
    public init(mechanism: ScramMechanism, serverNonce: String = ScramServer.randomNonce()) {
        self.mechanism = mechanism
        self.serverNonce = serverNonce
    }

    /// 32 random bytes as base64 (`,` never appears in base64).
    public static func randomNonce() -> String {
        var rng = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }).base64EncodedString()
    }

    /// The failure message for a SaslException in Kafka's `SaslServerAuthenticator`.
    public func invalidCredentials(reauthenticating: Bool = false) -> String {
        "Authentication failed during \(reauthenticating ? "re-authentication" : "authentication") due to invalid credentials with SASL mechanism \(mechanism.rawValue)"
    }

    public mutating func evaluate(_ token: [UInt8], credential lookup: (String) -> ScramCredential?) -> Outcome {
        guard let text = String(bytes: token, encoding: .utf8) else { return fail(invalidCredentials()) }
        switch state {
        case .awaitingClientFirst:
            return clientFirst(text, lookup)
        case let .awaitingClientFinal(username, gs2Header, clientFirstBare, serverFirst, nonce, credential):
            return clientFinal(text, username: username, gs2Header: gs2Header, clientFirstBare: clientFirstBare,
                               serverFirst: serverFirst, nonce: nonce, credential: credential)
        case .finished:
            return fail("Unexpected SCRAM message after the exchange completed")
        }
    }

    private mutating func fail(_ message: String) -> Outcome {
        state = .finished
        return .failure(message: message)
    }

    /// `gs2-cbind-flag "," [authzid] "," client-first-message-bare`, with
    /// `client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]`.
    private mutating func clientFirst(_ text: String, _ lookup: (String) -> ScramCredential?) -> Outcome {
        let parts = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "n" || parts[0] == "y" else {
            // "p" (channel binding) is not supported by Kafka either.
            return fail(invalidCredentials())
        }
        var authzid = ""
        if !parts[1].isEmpty {
            guard parts[1].hasPrefix("a=") else { return fail(invalidCredentials()) }
            guard let decoded = Self.decodeSaslName(String(parts[1].dropFirst(2))) else { return fail(invalidCredentials()) }
            authzid = decoded
        }
        let gs2Header = parts[0] + "," + parts[1] + ","
        let bare = parts[2]
        let attributes = Self.attributes(bare)
        guard attributes.count >= 2, attributes[0].key == "n", attributes[1].key == "r",
              let username = Self.decodeSaslName(attributes[0].value), !username.isEmpty,
              !attributes[1].value.isEmpty, attributes[1].value.allSatisfy({ $0.isASCII && $0 != "," }) else {
            return fail(invalidCredentials())
        }
        // Extensions (KIP-342): only `tokenauth` (delegation tokens) is meaningful to Kafka, and
        // Samsa has no delegation tokens.
        if attributes.dropFirst(2).contains(where: { $0.key == "tokenauth" && $0.value.lowercased() == "true" }) {
            return fail(invalidCredentials())
        }
        if !authzid.isEmpty, authzid != username {
            return fail("Authentication failed: Client requested an authorization id that is different from username")
        }
        guard let credential = lookup(username) else { return fail(Self.invalidUserCredentials) }
        guard credential.iterations >= 1 else { return fail(Self.invalidUserCredentials) }
        let nonce = attributes[1].value + serverNonce
        let serverFirst = "r=\(nonce),s=\(Data(credential.salt).base64EncodedString()),i=\(credential.iterations)"
        state = .awaitingClientFinal(username: username, gs2Header: gs2Header, clientFirstBare: bare,
                                     serverFirst: serverFirst, nonce: nonce, credential: credential)
        return .challenge(Array(serverFirst.utf8))
    }

    /// `channel-binding "," nonce ["," extensions] "," proof`.
    private mutating func clientFinal(_ text: String, username: String, gs2Header: String, clientFirstBare: String,
                                      serverFirst: String, nonce: String, credential: ScramCredential) -> Outcome {
        let attributes = Self.attributes(text)
        guard attributes.count >= 3, attributes[0].key == "c", attributes[1].key == "r",
              let last = attributes.last, last.key == "p",
              let proofRange = text.range(of: ",p=", options: .backwards) else {
            return fail(invalidCredentials())
        }
        // Kafka's rule (`ScramSaslServer`): the final nonce must END with the server-first nonce,
        // not equal it -- librdkafka (kcat, confluent-kafka) sends its client nonce again in
        // front of the combined one, and the proof covers what it sent. A mismatch is Kafka's
        // "Invalid client nonce in the final client message.", a SaslException, so the client is
        // told the generic invalid-credentials message.
        guard attributes[1].value.hasSuffix(nonce) else { return fail(invalidCredentials()) }
        guard let binding = Data(base64Encoded: attributes[0].value), Array(binding) == Array(gs2Header.utf8) else {
            return fail(invalidCredentials())
        }
        guard let proof = Data(base64Encoded: last.value).map(Array.init) else { return fail(invalidCredentials()) }
        let withoutProof = String(text[..<proofRange.lowerBound])
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let v = mechanism.variant
        let clientSignature = SHA2.hmac(key: credential.storedKey, message: authMessage, v)
        guard proof.count == clientSignature.count else { return fail(invalidCredentials()) }
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard Self.constantTimeEqual(SHA2.hash(clientKey, v), credential.storedKey) else {
            return fail(invalidCredentials())
        }
        let serverSignature = SHA2.hmac(key: credential.serverKey, message: authMessage, v)
        state = .finished
        return .success(serverFinal: Array("v=\(Data(serverSignature).base64EncodedString())".utf8), username: username)
    }

    /// `key=value` pairs separated by `,` (values may contain `=`, never `,`).
    static func attributes(_ text: String) -> [(key: String, value: String)] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let eq = part.firstIndex(of: "=") else { return (String(part), "") }
            return (String(part[..<eq]), String(part[part.index(after: eq)...]))
        }
    }

    /// RFC 5802 §5.1 saslname: `=2C` is `,`, `=3D` is `=`, any other `=` is malformed.
    static func decodeSaslName(_ s: String) -> String? {
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "=" {
                let code = s[s.index(after: i)...].prefix(2)
                switch code {
                case "2C": out.append(",")
                case "3D": out.append("=")
                default: return nil
                }
                i = s.index(i, offsetBy: 3)
            } else if c == "," {
                return nil
            } else {
                out.append(c)
                i = s.index(after: i)
            }
        }
        return out
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
