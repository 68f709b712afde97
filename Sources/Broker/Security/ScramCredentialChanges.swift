import KafkaProtocol

/// The controller's side of AlterUserScramCredentials, as Kafka's `ScramControlManager` decides
/// it: a pure function from the request and the image to the records to commit and one result
/// per user. Every alteration of a user is checked first; a user with any error gets that error
/// and none of its alterations is applied (other users are unaffected).
///
/// The records carry salt, StoredKey, ServerKey and iterations (derived here from the client's
/// salted password, as Kafka's `ControllerApis` does); never the salted password itself.
public enum ScramCredentialChanges {
    public struct Deletion: Sendable, Equatable {
        public var name: String
        public var mechanism: Int8
        public init(name: String, mechanism: Int8) { self.name = name; self.mechanism = mechanism }
    }

    public struct Upsertion: Sendable, Equatable {
        public var name: String
        public var mechanism: Int8
        public var iterations: Int32
        public var salt: [UInt8]
        public var saltedPassword: [UInt8]
        public init(name: String, mechanism: Int8, iterations: Int32, salt: [UInt8], saltedPassword: [UInt8]) {
            self.name = name; self.mechanism = mechanism; self.iterations = iterations
            self.salt = salt; self.saltedPassword = saltedPassword
        }
    }

    public struct UserResult: Sendable, Equatable {
        public var user: String
        public var error: ErrorCode
        public var message: String?
    }

    /// Records to commit and results, users in the order they first appear in the request.
    public static func plan(deletions: [Deletion], upsertions: [Upsertion],
                            image: MetadataImage) -> (records: [MetadataRecord], results: [UserResult]) {
        var order: [String] = []
        var errors: [String: (ErrorCode, String)] = [:]
        var seen: Set<String> = []   // "user\0mechanism"
        func note(_ user: String) { if !order.contains(user) { order.append(user) } }
        func fail(_ user: String, _ code: ErrorCode, _ message: String) {
            if errors[user] == nil { errors[user] = (code, message) }
        }
        func check(_ user: String, _ mechanism: Int8) {
            note(user)
            if user.isEmpty { fail(user, .unacceptableCredential, "Username must not be empty") }
            if ScramMechanism(type: mechanism) == nil { fail(user, .unsupportedSaslMechanism, "Unknown SCRAM mechanism") }
            if !seen.insert("\(user)\u{0}\(mechanism)").inserted {
                fail(user, .duplicateResource, "A user credential cannot be altered twice in the same request")
            }
        }
        for d in deletions {
            check(d.name, d.mechanism)
            if ScramMechanism(type: d.mechanism) != nil, image.scramCredentials[d.name]?[d.mechanism] == nil {
                fail(d.name, .resourceNotFound, "Attempt to delete a user credential that does not exist")
            }
        }
        for u in upsertions {
            check(u.name, u.mechanism)
            if u.iterations < Int32(ScramMechanism.minIterations) {
                fail(u.name, .unacceptableCredential, "Too few iterations")
            } else if u.iterations > Int32(ScramMechanism.maxIterations) {
                fail(u.name, .unacceptableCredential, "Too many iterations")
            }
            if u.salt.isEmpty { fail(u.name, .unacceptableCredential, "Salt must not be empty") }
            if u.saltedPassword.isEmpty { fail(u.name, .unacceptableCredential, "Salted password must not be empty") }
        }
        var records: [MetadataRecord] = []
        for d in deletions where errors[d.name] == nil {
            records.append(.removeScramCredential(name: d.name, mechanism: d.mechanism))
        }
        for u in upsertions where errors[u.name] == nil {
            let mechanism = ScramMechanism(type: u.mechanism)!
            records.append(.scramCredential(name: u.name, mechanism: u.mechanism, ScramCredential.derive(
                saltedPassword: u.saltedPassword, salt: u.salt, iterations: Int(u.iterations), mechanism: mechanism)))
        }
        let results = order.map { user in
            UserResult(user: user, error: errors[user]?.0 ?? .none, message: errors[user]?.1)
        }
        return (records, results)
    }
}
