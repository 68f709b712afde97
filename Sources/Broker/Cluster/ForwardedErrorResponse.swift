import KafkaProtocol
import NIOCore

/// The answer a broker gives a client whose forwarded request failed, built from the request
/// alone: Kafka's `AbstractRequest.getErrorResponse`, which `ForwardingManager` uses when the
/// controller answered the Envelope with an error (UNKNOWN_SERVER_ERROR), when the forward timed
/// out (REQUEST_TIMED_OUT) or when the controller's answer could not be parsed.
///
/// Why an error response and not a closed connection: an admin tool (kafka-topics.sh,
/// confluent-kafka's AdminClient, `samsa topic create`) turns a per-entry error into a message
/// it can print ("REQUEST_TIMED_OUT" for topic X), while a closed connection is a transport
/// failure the operator cannot tell from a crashed broker.
///
/// The shapes are Kafka's, per API: every entry the request named carries the error (topics,
/// config resources, ACL creations and filters, SCRAM users -- one result per distinct user,
/// sorted, as Kafka --, quota entities, reassigned and elected partitions, feature updates
/// below UpdateFeatures v2), and the top-level error code is set where the response has one
/// (AlterPartitionReassignments, ListPartitionReassignments, ElectLeaders v1+, UpdateFeatures,
/// DescribeQuorum). ListPartitionReassignments lists the requested partitions without an error
/// field of their own, and DescribeQuorum carries only the top-level error, as Kafka's
/// `getErrorResponse` for both. `message` goes wherever the version has an error message
/// (Kafka sends none for UNKNOWN_SERVER_ERROR, so as not to leak server details: pass nil).
/// Throttle time 0.
///
/// Pure: no sockets, no clocks; unit-tested per API at the lowest and highest version
/// (`ForwardedErrorResponseTests`).
public enum ForwardedErrorResponse {
    /// The response (header + body, no size prefix) to `request` (header + body, no size
    /// prefix, as the client sent it), at the request's version and with its correlation id,
    /// carrying `error`. Nil when the frame is not one of the forwarded APIs at a version the
    /// generated types know, or does not parse: then nothing sensible can be answered and the
    /// caller closes the connection, as for any request that does not parse.
    public static func response(to request: ByteBuffer, error: ErrorCode, message: String? = nil) -> ByteBuffer? {
        var buffer = request
        guard let header = try? RequestHeader.decode(from: &buffer), let apiKey = header.apiKey else { return nil }
        let code = error.rawValue
        switch apiKey {
        case .createTopics:
            return answer(CreateTopicsRequest.self, &buffer, header) { request, _ in
                CreateTopicsResponse(topics: request.topics.map {
                    .init(name: $0.name, errorCode: code, errorMessage: message)
                })
            }
        case .deleteTopics:
            return answer(DeleteTopicsRequest.self, &buffer, header) { request, version in
                // v6 names topics by name or id (DeleteTopicState); earlier versions by name only.
                let topics: [(String?, KafkaUUID)] = version >= 6
                    ? request.topics.map { ($0.name, $0.topicId) }
                    : request.topicNames.map { ($0, .zero) }
                return DeleteTopicsResponse(responses: topics.map {
                    .init(name: $0.0, topicId: $0.1, errorCode: code, errorMessage: message)
                })
            }
        case .createPartitions:
            return answer(CreatePartitionsRequest.self, &buffer, header) { request, _ in
                CreatePartitionsResponse(results: request.topics.map {
                    .init(name: $0.name, errorCode: code, errorMessage: message)
                })
            }
        case .alterConfigs:
            return answer(AlterConfigsRequest.self, &buffer, header) { request, _ in
                AlterConfigsResponse(responses: request.resources.map {
                    .init(errorCode: code, errorMessage: message, resourceType: $0.resourceType, resourceName: $0.resourceName)
                })
            }
        case .incrementalAlterConfigs:
            return answer(IncrementalAlterConfigsRequest.self, &buffer, header) { request, _ in
                IncrementalAlterConfigsResponse(responses: request.resources.map {
                    .init(errorCode: code, errorMessage: message, resourceType: $0.resourceType, resourceName: $0.resourceName)
                })
            }
        case .createAcls:
            return answer(CreateAclsRequest.self, &buffer, header) { request, _ in
                CreateAclsResponse(results: request.creations.map { _ in .init(errorCode: code, errorMessage: message) })
            }
        case .deleteAcls:
            return answer(DeleteAclsRequest.self, &buffer, header) { request, _ in
                DeleteAclsResponse(filterResults: request.filters.map { _ in
                    .init(errorCode: code, errorMessage: message, matchingAcls: [])
                })
            }
        case .alterUserScramCredentials:
            return answer(AlterUserScramCredentialsRequest.self, &buffer, header) { request, _ in
                // One result per user, sorted, as Kafka (a user both deleted and upserted once).
                let users = Set(request.deletions.map(\.name) + request.upsertions.map(\.name)).sorted()
                return AlterUserScramCredentialsResponse(results: users.map {
                    .init(user: $0, errorCode: code, errorMessage: message)
                })
            }
        case .alterClientQuotas:
            return answer(AlterClientQuotasRequest.self, &buffer, header) { request, _ in
                AlterClientQuotasResponse(entries: request.entries.map { entry in
                    .init(errorCode: code, errorMessage: message, entity: entry.entity.map {
                        .init(entityType: $0.entityType, entityName: $0.entityName)
                    })
                })
            }
        case .alterPartitionReassignments:
            return answer(AlterPartitionReassignmentsRequest.self, &buffer, header) { request, _ in
                AlterPartitionReassignmentsResponse(errorCode: code, errorMessage: message, responses: request.topics.map { topic in
                    .init(name: topic.name, partitions: topic.partitions.map {
                        .init(partitionIndex: $0.partitionIndex, errorCode: code, errorMessage: message)
                    })
                })
            }
        case .listPartitionReassignments:
            return answer(ListPartitionReassignmentsRequest.self, &buffer, header) { request, _ in
                ListPartitionReassignmentsResponse(errorCode: code, errorMessage: message, topics: (request.topics ?? []).map { topic in
                    .init(name: topic.name, partitions: topic.partitionIndexes.map { .init(partitionIndex: $0) })
                })
            }
        case .electLeaders:
            return answer(ElectLeadersRequest.self, &buffer, header) { request, version in
                var response = ElectLeadersResponse()
                // The top-level error code is v1+ and not ignorable: v0 carries it per partition only.
                if version >= 1 { response.errorCode = code }
                response.replicaElectionResults = (request.topicPartitions ?? []).map { topic in
                    .init(topic: topic.topic, partitionResult: topic.partitions.map {
                        .init(partitionId: $0, errorCode: code, errorMessage: message)
                    })
                }
                return response
            }
        case .updateFeatures:
            return answer(UpdateFeaturesRequest.self, &buffer, header) { request, version in
                var response = UpdateFeaturesResponse(errorCode: code, errorMessage: message)
                // Per-feature results exist below v2 only (one per feature: a map key).
                if version < 2 {
                    var seen: Set<String> = []
                    response.results = request.featureUpdates.compactMap { update in
                        guard seen.insert(update.feature).inserted else { return nil }
                        return .init(feature: update.feature, errorCode: code, errorMessage: message)
                    }
                }
                return response
            }
        case .describeQuorum:
            return answer(DescribeQuorumRequest.self, &buffer, header) { _, version in
                var response = DescribeQuorumResponse(errorCode: code)
                if version >= 2 { response.errorMessage = message }
                return response
            }
        default:
            return nil
        }
    }

    /// ``response(to:error:message:)`` with the size prefix: the frame a dispatcher sends.
    public static func frame(for request: ByteBuffer, error: ErrorCode, message: String? = nil) -> ByteBuffer? {
        guard let response = response(to: request, error: error, message: message) else { return nil }
        var framed = ByteBuffer()
        framed.writeInteger(Int32(response.readableBytes))
        framed.writeImmutableBuffer(response)
        return framed
    }

    /// Decodes the body as `R` at the header's version, builds the response, and encodes it
    /// with the response header version of that API and version and the request's correlation id.
    private static func answer<R: KafkaRequest>(
        _: R.Type, _ body: inout ByteBuffer, _ header: RequestHeader, _ build: (R, Int16) -> R.Response
    ) -> ByteBuffer? {
        let version = header.requestApiVersion
        guard R.validVersions.contains(version), R.Response.validVersions.contains(version),
              let request = try? R(from: &body, version: version) else { return nil }
        var out = ByteBuffer()
        do {
            try build(request, version).encode(into: &out, version: version, correlationId: header.correlationId)
        } catch {
            return nil
        }
        return out
    }
}
