import KafkaProtocol

/// AlterUserScramCredentials (api key 51), version 0.
///
/// Behaviour: creates, replaces and deletes SCRAM users (KIP-554) through the controller
/// (``LocalController/alterUserScramCredentials(deletions:upsertions:)``), which commits
/// UserScramCredentialRecord / RemoveUserScramCredentialRecord to the metadata log; on a
/// multi-node cluster a broker forwards the request to the active controller
/// (``ForwardingDispatcher``). The rules are Kafka's `ScramControlManager`'s
/// (``ScramCredentialChanges``): one result per user; a user with any bad alteration gets that
/// error and none of its alterations is applied.
/// Errors: UNSUPPORTED_SASL_MECHANISM (mechanism not 1 or 2), UNACCEPTABLE_CREDENTIAL (empty
/// name, iterations below 4096 or above 16384, empty salt or salted password), RESOURCE_NOT_FOUND
/// (deleting a credential that does not exist), DUPLICATE_RESOURCE (a user and mechanism twice);
/// a commit failure answers every user with the controller's error.
public struct AlterUserScramCredentialsHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...0

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: AlterUserScramCredentialsRequest, context: RequestContext) async throws -> AlterUserScramCredentialsResponse? {
        let deletions = request.deletions.map { ScramCredentialChanges.Deletion(name: $0.name, mechanism: $0.mechanism) }
        let upsertions = request.upsertions.map {
            ScramCredentialChanges.Upsertion(name: $0.name, mechanism: $0.mechanism, iterations: $0.iterations,
                                             salt: Array($0.salt.readableBytesView), saltedPassword: Array($0.saltedPassword.readableBytesView))
        }
        var response = AlterUserScramCredentialsResponse()
        guard services.authorize(context, .alter, .cluster, AclResources.clusterName) else {
            var users: [String] = []
            for name in request.deletions.map(\.name) + request.upsertions.map(\.name) where !users.contains(name) { users.append(name) }
            response.results = users.map {
                .init(user: $0, errorCode: ErrorCode.clusterAuthorizationFailed.rawValue, errorMessage: "Cluster authorization failed.")
            }
            return response
        }
        do {
            let results = try await services.controller.alterUserScramCredentials(deletions: deletions, upsertions: upsertions)
            response.results = results.map {
                AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult(user: $0.user, errorCode: $0.error.rawValue, errorMessage: $0.message)
            }
        } catch let error as ControllerError {
            var users: [String] = []
            for name in request.deletions.map(\.name) + request.upsertions.map(\.name) where !users.contains(name) { users.append(name) }
            response.results = users.map {
                AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult(user: $0, errorCode: error.code, errorMessage: error.message)
            }
        }
        return response
    }

    public static func countErrors(_ response: AlterUserScramCredentialsResponse, into timing: RequestTiming) {
        for r in response.results { timing.countError(r.errorCode) }
    }
}
