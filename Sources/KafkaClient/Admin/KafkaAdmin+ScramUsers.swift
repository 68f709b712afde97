import KafkaProtocol
import NIOCore

/// SCRAM user administration (KIP-554: DescribeUserScramCredentials 50,
/// AlterUserScramCredentials 51), as Kafka's `Admin.describeUserScramCredentials /
/// alterUserScramCredentials` and `kafka-configs.sh --entity-type users`. The password never
/// leaves this process: the client sends a random salt and the PBKDF2 salted password (swift-crypto).
public enum ScramUserMechanism: Int8, Sendable, CaseIterable {
    case sha256 = 1, sha512 = 2
    /// `SCRAM-SHA-256` / `SCRAM-SHA-512`.
    public var name: String { self == .sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512" }
    public init?(name: String) {
        guard let m = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = m
    }
    var variant: SHA2.Variant { self == .sha256 ? .sha256 : .sha512 }
}

/// A user's SCRAM credentials as the broker describes them (mechanisms and iterations only).
public struct ScramUserDescription: Sendable, Equatable, Encodable {
    public var user: String
    public var credentials: [Credential]
    public init(user: String, credentials: [Credential]) { self.user = user; self.credentials = credentials }
    public struct Credential: Sendable, Equatable, Encodable {
        public var mechanism: String
        public var iterations: Int32
        public init(mechanism: String, iterations: Int32) { self.mechanism = mechanism; self.iterations = iterations }
    }
}

extension KafkaAdmin {
    /// Every SCRAM user (nil) or the named ones.
    public func describeScramUsers(_ users: [String]? = nil) async throws -> [ScramUserDescription] {
        let connection = try await adminConnection()
        let (response, _) = try await connection.send(supported: 0...0) { _ in
            DescribeUserScramCredentialsRequest(users: users?.map { .init(name: $0) })
        }
        if response.errorCode != 0 {
            throw KafkaClientError.broker(response.errorCode, "describe SCRAM users", message: response.errorMessage)
        }
        return try response.results.map { r in
            if r.errorCode != 0 { throw KafkaClientError.broker(r.errorCode, "describe SCRAM user \(r.user)", message: r.errorMessage) }
            return ScramUserDescription(user: r.user, credentials: r.credentialInfos.map {
                .init(mechanism: ScramUserMechanism(rawValue: $0.mechanism)?.name ?? "UNKNOWN(\($0.mechanism))", iterations: $0.iterations)
            })
        }.sorted { $0.user < $1.user }
    }

    /// Creates or replaces `user`'s credential for `mechanism` (Kafka's minimum is 4096 iterations).
    public func upsertScramUser(_ user: String, mechanism: ScramUserMechanism, password: String,
                                iterations: Int = 8192) async throws {
        var rng = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let salted = SHA2.pbkdf2(password: Array(password.utf8), salt: salt, iterations: iterations, mechanism.variant)
        var upsertion = AlterUserScramCredentialsRequest.ScramCredentialUpsertion()
        upsertion.name = user
        upsertion.mechanism = mechanism.rawValue
        upsertion.iterations = Int32(clamping: iterations)
        upsertion.salt = ByteBuffer(bytes: salt)
        upsertion.saltedPassword = ByteBuffer(bytes: salted)
        try await alterScram(AlterUserScramCredentialsRequest(deletions: [], upsertions: [upsertion]), user: user)
    }

    /// Deletes `user`'s credential for `mechanism`.
    public func deleteScramUser(_ user: String, mechanism: ScramUserMechanism) async throws {
        try await alterScram(AlterUserScramCredentialsRequest(deletions: [.init(name: user, mechanism: mechanism.rawValue)], upsertions: []),
                             user: user)
    }

    private func alterScram(_ request: AlterUserScramCredentialsRequest, user: String) async throws {
        let connection = try await adminConnection()
        let (response, _) = try await connection.send(supported: 0...0) { _ in request }
        for r in response.results where r.errorCode != 0 {
            throw KafkaClientError.broker(r.errorCode, "alter SCRAM user \(r.user)", message: r.errorMessage)
        }
        guard response.results.contains(where: { $0.user == user }) else {
            throw KafkaClientError.protocolViolation("AlterUserScramCredentials answered no result for \(user)")
        }
    }
}
