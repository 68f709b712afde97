import Foundation

/// The client side of SASL/SCRAM-SHA-256 and -512 (RFC 5802, RFC 7677, Kafka's KIP-84) as a
/// value-type state machine: ``firstMessage()``, then ``finalMessage(serverFirst:)``, then
/// ``verify(serverFinal:)``. No I/O, so it is tested against the RFC's example exchange.
struct ScramClient: Sendable {
    let variant: SHA2.Variant
    let username: String
    let password: String
    let clientNonce: String
    private(set) var clientFirstBare = ""
    private(set) var serverSignature: [UInt8] = []

    init(variant: SHA2.Variant, username: String, password: String, clientNonce: String? = nil) {
        self.variant = variant
        self.username = username
        self.password = password
        self.clientNonce = clientNonce ?? ScramClient.randomNonce()
    }

    static func randomNonce() -> String {
        Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: ",", with: "-")
    }

    /// `=` and `,` in the user name are escaped as `=3D` and `=2C` (RFC 5802 §5.1).
    private static func saslName(_ s: String) -> String {
        s.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
    }

    mutating func firstMessage() -> String {
        clientFirstBare = "n=\(Self.saslName(username)),r=\(clientNonce)"
        return "n,," + clientFirstBare
    }

    mutating func finalMessage(serverFirst: String) throws -> String {
        var attributes: [Character: String] = [:]
        for part in serverFirst.split(separator: ",") where part.count >= 2 && part.dropFirst().first == "=" {
            attributes[part.first!] = String(part.dropFirst(2))
        }
        if let error = attributes["e"] { throw KafkaClientError.broker(code: 58, name: "SASL_AUTHENTICATION_FAILED", context: "SCRAM", message: error) }
        guard let nonce = attributes["r"], nonce.hasPrefix(clientNonce),
              let saltText = attributes["s"], let salt = Data(base64Encoded: saltText),
              let iterationsText = attributes["i"], let iterations = Int(iterationsText), iterations >= 1 else {
            throw KafkaClientError.protocolViolation("malformed SCRAM server-first message")
        }
        let salted = SHA2.pbkdf2(password: Array(password.utf8), salt: Array(salt), iterations: iterations, variant)
        let clientKey = SHA2.hmac(key: salted, message: Array("Client Key".utf8), variant)
        let storedKey = SHA2.hash(clientKey, variant)
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = SHA2.hmac(key: storedKey, message: authMessage, variant)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = SHA2.hmac(key: salted, message: Array("Server Key".utf8), variant)
        serverSignature = SHA2.hmac(key: serverKey, message: authMessage, variant)
        return "\(withoutProof),p=\(Data(proof).base64EncodedString())"
    }

    /// Checks the server's signature: proves the server knows the password too.
    func verify(serverFinal: String) throws {
        if serverFinal.hasPrefix("e=") {
            throw KafkaClientError.broker(code: 58, name: "SASL_AUTHENTICATION_FAILED", context: "SCRAM", message: String(serverFinal.dropFirst(2)))
        }
        guard serverFinal.hasPrefix("v="), let signature = Data(base64Encoded: String(serverFinal.dropFirst(2).prefix { $0 != "," })),
              Array(signature) == serverSignature else {
            throw KafkaClientError.protocolViolation("SCRAM server signature does not match: the server may not know the password")
        }
    }
}
