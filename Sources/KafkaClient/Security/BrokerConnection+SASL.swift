import KafkaProtocol
import NIOCore

extension BrokerConnection {
    /// SASL over the Kafka protocol (KIP-152): SaslHandshake v1 names the mechanism, then each
    /// token travels in a SaslAuthenticate request. Runs right after ApiVersions, before any
    /// other request, as brokers require. (Handshake v0's raw-token framing is not supported.)
    func authenticate(_ sasl: SASLConfig) async throws {
        let (handshake, _) = try await send(supported: 1...1) { _ in SaslHandshakeRequest(mechanism: sasl.mechanism.rawValue) }
        guard handshake.errorCode == 0 else {
            throw KafkaClientError.broker(handshake.errorCode, "SASL handshake with \(address) (broker offers \(handshake.mechanisms.joined(separator: ", ")))")
        }
        switch sasl.mechanism {
        case .plain:
            // authzid NUL authcid NUL password (RFC 4616).
            _ = try await exchange(Array("\0\(sasl.username)\0\(sasl.password)".utf8))
        case .scramSHA256, .scramSHA512:
            var scram = ScramClient(variant: sasl.mechanism == .scramSHA256 ? .sha256 : .sha512,
                                    username: sasl.username, password: sasl.password)
            let serverFirst = try await exchange(Array(scram.firstMessage().utf8))
            let final = try scram.finalMessage(serverFirst: String(decoding: serverFirst, as: UTF8.self))
            let serverFinal = try await exchange(Array(final.utf8))
            try scram.verify(serverFinal: String(decoding: serverFinal, as: UTF8.self))
        }
    }

    private func exchange(_ token: [UInt8]) async throws -> [UInt8] {
        let (response, _) = try await send(supported: 0...2) { _ in SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: token)) }
        guard response.errorCode == 0 else {
            throw KafkaClientError.broker(response.errorCode, "SASL authentication with \(address)", message: response.errorMessage)
        }
        return Array(response.authBytes.readableBytesView)
    }
}
