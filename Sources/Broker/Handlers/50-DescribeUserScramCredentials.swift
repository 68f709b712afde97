import KafkaProtocol

/// DescribeUserScramCredentials (api key 50), version 0.
///
/// Behaviour: answered by any broker from its metadata image, as Kafka's brokers do: for each
/// user its mechanisms and iteration counts (never salt or keys). A null or empty user list
/// describes every user that has a credential.
/// Errors, per user as Kafka's `KafkaApis` words them: RESOURCE_NOT_FOUND (no credential),
/// DUPLICATE_RESOURCE (named twice in the request).
public struct DescribeUserScramCredentialsHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...0

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: DescribeUserScramCredentialsRequest, context: RequestContext) async throws -> DescribeUserScramCredentialsResponse? {
        guard services.authorize(context, .describe, .cluster, AclResources.clusterName) else {
            var denied = DescribeUserScramCredentialsResponse()
            denied.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            denied.errorMessage = "Cluster authorization failed."
            return denied
        }
        return Self.describe(request, image: services.metadata.image)
    }

    static func describe(_ request: DescribeUserScramCredentialsRequest, image: MetadataImage) -> DescribeUserScramCredentialsResponse {
        typealias Result = DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult
        var response = DescribeUserScramCredentialsResponse()
        func infos(_ user: String) -> [DescribeUserScramCredentialsResponse.CredentialInfo] {
            (image.scramCredentials[user] ?? [:]).sorted { $0.key < $1.key }.map {
                .init(mechanism: $0.key, iterations: Int32(clamping: $0.value.iterations))
            }
        }
        let names = (request.users ?? []).map(\.name)
        if names.isEmpty {
            response.results = image.scramCredentials.keys.sorted().map { Result(user: $0, errorCode: 0, errorMessage: nil, credentialInfos: infos($0)) }
            return response
        }
        var counts: [String: Int] = [:]
        for n in names { counts[n, default: 0] += 1 }
        var done: Set<String> = []
        for name in names where done.insert(name).inserted {
            if counts[name, default: 0] > 1 {
                response.results.append(Result(user: name, errorCode: ErrorCode.duplicateResource.rawValue,
                                               errorMessage: "Cannot describe SCRAM credentials for the same user twice in a single request: \(name)",
                                               credentialInfos: []))
            } else if image.scramCredentials[name] == nil {
                response.results.append(Result(user: name, errorCode: ErrorCode.resourceNotFound.rawValue,
                                               errorMessage: "Attempt to describe a user credential that does not exist: \(name)",
                                               credentialInfos: []))
            } else {
                response.results.append(Result(user: name, errorCode: 0, errorMessage: nil, credentialInfos: infos(name)))
            }
        }
        return response
    }

    public static func countErrors(_ response: DescribeUserScramCredentialsResponse, into timing: RequestTiming) {
        timing.countError(response.errorCode)
        for r in response.results { timing.countError(r.errorCode) }
    }
}
