import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// ``ForwardedErrorResponse``: for every forwarded API at every version, a request naming two or
/// more entries gets its own response type back, at its version and correlation id, with the
/// error on every entry (and the top-level error where the response has one), as Kafka's
/// `getErrorResponse`. Responses are decoded with the generated decoders, header included, and
/// must be consumed exactly (a wrong response header version would leave or miss bytes).
final class ForwardedErrorResponseTests: XCTestCase {
    private let correlationId: Int32 = 4242
    private let error = ErrorCode.requestTimedOut
    private let message = "forwarding timed out"

    /// Every forwarded API has a case here: a new one added to the dispatcher without an error
    /// shape fails this test.
    func testEveryForwardedApiIsCovered() {
        let covered: Set<ApiKey> = [.createTopics, .deleteTopics, .createPartitions, .alterConfigs, .incrementalAlterConfigs,
                                    .createAcls, .deleteAcls, .alterUserScramCredentials, .alterClientQuotas,
                                    .alterPartitionReassignments, .listPartitionReassignments, .electLeaders,
                                    .updateFeatures, .describeQuorum]
        XCTAssertEqual(Set(covered.map(\.rawValue)), ForwardingDispatcher.forwardedApiKeys)
    }

    /// The request as a client frames it (header + body), run through the function, decoded.
    private func errorResponse<R: KafkaRequest>(
        to request: R, version: Int16, error: ErrorCode? = nil, message: String?? = .none,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> R.Response {
        var frame = ByteBuffer()
        try request.encode(into: &frame, version: version, correlationId: correlationId, clientId: "admin-tool")
        let framed = try XCTUnwrap(ForwardedErrorResponse.frame(for: frame, error: error ?? self.error,
                                                                message: message ?? self.message),
                                   "\(R.apiKey) v\(version): no response", file: file, line: line)
        var bytes = framed
        XCTAssertEqual(bytes.readInteger(as: Int32.self).map(Int.init), bytes.readableBytes, "size prefix", file: file, line: line)
        let (header, body) = try R.Response.decode(from: &bytes, version: version)
        XCTAssertEqual(header.correlationId, correlationId, "\(R.apiKey) v\(version)", file: file, line: line)
        XCTAssertEqual(bytes.readableBytes, 0, "\(R.apiKey) v\(version): trailing bytes", file: file, line: line)
        return body
    }

    /// The message as the version carries it: the given one where the field exists, else the
    /// decoder's default.
    private func expectedMessage(_ hasField: Bool, default value: String? = "") -> String? { hasField ? message : value }

    func testCreateTopics() throws {
        for v in CreateTopicsRequest.validVersions {
            var request = CreateTopicsRequest()
            request.topics = ["orders", "payments"].map { CreateTopicsRequest.CreatableTopic(name: $0, numPartitions: 3, replicationFactor: 1) }
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.topics.map(\.name), ["orders", "payments"], "v\(v)")
            XCTAssertEqual(r.topics.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
            XCTAssertEqual(r.topics.map(\.errorMessage), Array(repeating: expectedMessage(v >= 1), count: 2), "v\(v)")
        }
    }

    func testDeleteTopicsByNameAndById() throws {
        let id = KafkaUUID.random()
        for v in DeleteTopicsRequest.validVersions {
            var request = DeleteTopicsRequest()
            if v >= 6 {
                request.topics = [.init(name: "orders", topicId: .zero), .init(name: nil, topicId: id)]
            } else {
                request.topicNames = ["orders", "payments"]
            }
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.responses.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
            if v >= 6 {
                XCTAssertEqual(r.responses.map(\.name), ["orders", nil])
                XCTAssertEqual(r.responses.map(\.topicId), [.zero, id])
            } else {
                XCTAssertEqual(r.responses.map(\.name), ["orders", "payments"], "v\(v)")
            }
            XCTAssertEqual(r.responses.map(\.errorMessage), Array(repeating: expectedMessage(v >= 5, default: nil), count: 2), "v\(v)")
        }
    }

    func testCreatePartitions() throws {
        for v in CreatePartitionsRequest.validVersions {
            var request = CreatePartitionsRequest()
            request.topics = [.init(name: "a", count: 4, assignments: nil), .init(name: "b", count: 2, assignments: nil)]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.results.map(\.name), ["a", "b"], "v\(v)")
            XCTAssertEqual(r.results.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
            XCTAssertEqual(r.results.map(\.errorMessage), [message, message], "v\(v)")
        }
    }

    func testAlterConfigs() throws {
        for v in AlterConfigsRequest.validVersions {
            var request = AlterConfigsRequest()
            request.resources = [.init(resourceType: 2, resourceName: "orders", configs: [.init(name: "retention.ms", value: "1")]),
                                 .init(resourceType: 4, resourceName: "1", configs: [])]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.responses.map(\.resourceType), [2, 4], "v\(v)")
            XCTAssertEqual(r.responses.map(\.resourceName), ["orders", "1"], "v\(v)")
            XCTAssertEqual(r.responses.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
            XCTAssertEqual(r.responses.map(\.errorMessage), [message, message], "v\(v)")
        }
    }

    func testIncrementalAlterConfigs() throws {
        for v in IncrementalAlterConfigsRequest.validVersions {
            var request = IncrementalAlterConfigsRequest()
            request.resources = [.init(resourceType: 2, resourceName: "orders", configs: [.init(name: "retention.ms", configOperation: 0, value: "1")]),
                                 .init(resourceType: 4, resourceName: "", configs: [])]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.responses.map(\.resourceType), [2, 4], "v\(v)")
            XCTAssertEqual(r.responses.map(\.resourceName), ["orders", ""], "v\(v)")
            XCTAssertEqual(r.responses.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
            XCTAssertEqual(r.responses.map(\.errorMessage), [message, message], "v\(v)")
        }
    }

    func testCreateAcls() throws {
        for v in CreateAclsRequest.validVersions {
            var request = CreateAclsRequest()
            let creation = CreateAclsRequest.AclCreation(resourceType: 2, resourceName: "orders", resourcePatternType: 3,
                                                         principal: "User:alice", host: "*", operation: 3, permissionType: 3)
            request.creations = [creation, creation, creation]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.results.map(\.errorCode), Array(repeating: error.rawValue, count: 3), "v\(v)")
            XCTAssertEqual(r.results.map(\.errorMessage), Array(repeating: message, count: 3), "v\(v)")
        }
    }

    func testDeleteAcls() throws {
        for v in DeleteAclsRequest.validVersions {
            var request = DeleteAclsRequest()
            request.filters = [.init(resourceTypeFilter: 2, resourceNameFilter: "orders", patternTypeFilter: 3,
                                     principalFilter: nil, hostFilter: nil, operation: 1, permissionType: 1),
                               .init(resourceTypeFilter: 1, resourceNameFilter: nil, patternTypeFilter: 3,
                                     principalFilter: "User:bob", hostFilter: nil, operation: 1, permissionType: 1)]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.filterResults.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
            XCTAssertEqual(r.filterResults.map(\.errorMessage), [message, message], "v\(v)")
            XCTAssertEqual(r.filterResults.map(\.matchingAcls.count), [0, 0], "v\(v)")
        }
    }

    /// One result per user, sorted, as Kafka: a user both deleted and upserted is one entry.
    func testAlterUserScramCredentials() throws {
        for v in AlterUserScramCredentialsRequest.validVersions {
            var request = AlterUserScramCredentialsRequest()
            request.deletions = [.init(name: "zoe", mechanism: 1), .init(name: "alice", mechanism: 2)]
            request.upsertions = [.init(name: "alice", mechanism: 1, iterations: 4096, salt: ByteBuffer(string: "s"),
                                        saltedPassword: ByteBuffer(string: "p"))]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.results.map(\.user), ["alice", "zoe"], "v\(v)")
            XCTAssertEqual(r.results.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
            XCTAssertEqual(r.results.map(\.errorMessage), [message, message], "v\(v)")
        }
    }

    func testAlterClientQuotas() throws {
        for v in AlterClientQuotasRequest.validVersions {
            var request = AlterClientQuotasRequest()
            request.entries = [
                .init(entity: [.init(entityType: "user", entityName: "alice"), .init(entityType: "client-id", entityName: nil)],
                      ops: [.init(key: "producer_byte_rate", value: 1024, remove: false)]),
                .init(entity: [.init(entityType: "ip", entityName: "10.0.0.1")], ops: [.init(key: "connection_creation_rate", value: 5, remove: false)]),
            ]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.entries.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
            XCTAssertEqual(r.entries.map(\.errorMessage), [message, message], "v\(v)")
            XCTAssertEqual(r.entries.map { $0.entity.map(\.entityType) }, [["user", "client-id"], ["ip"]], "v\(v)")
            XCTAssertEqual(r.entries.map { $0.entity.map(\.entityName) }, [["alice", nil], ["10.0.0.1"]], "v\(v)")
        }
    }

    func testAlterPartitionReassignments() throws {
        for v in AlterPartitionReassignmentsRequest.validVersions {
            var request = AlterPartitionReassignmentsRequest()
            request.topics = [.init(name: "a", partitions: [.init(partitionIndex: 0, replicas: [1, 2]), .init(partitionIndex: 3, replicas: nil)]),
                              .init(name: "b", partitions: [.init(partitionIndex: 1, replicas: [3])])]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.errorCode, error.rawValue, "v\(v)")
            XCTAssertEqual(r.errorMessage, message, "v\(v)")
            XCTAssertEqual(r.responses.map(\.name), ["a", "b"], "v\(v)")
            XCTAssertEqual(r.responses.map { $0.partitions.map(\.partitionIndex) }, [[0, 3], [1]], "v\(v)")
            XCTAssertEqual(r.responses.flatMap { $0.partitions.map(\.errorCode) }, Array(repeating: error.rawValue, count: 3), "v\(v)")
            XCTAssertEqual(r.responses.flatMap { $0.partitions.map(\.errorMessage) }, Array(repeating: message, count: 3), "v\(v)")
        }
    }

    /// The partitions listed back without an error field of their own (the response has none
    /// per partition): the error is top-level, as Kafka. A request for every reassignment
    /// (null topics) gets no topics.
    func testListPartitionReassignments() throws {
        for v in ListPartitionReassignmentsRequest.validVersions {
            var request = ListPartitionReassignmentsRequest()
            request.topics = [.init(name: "a", partitionIndexes: [0, 1]), .init(name: "b", partitionIndexes: [2])]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.errorCode, error.rawValue, "v\(v)")
            XCTAssertEqual(r.errorMessage, message, "v\(v)")
            XCTAssertEqual(r.topics.map(\.name), ["a", "b"], "v\(v)")
            XCTAssertEqual(r.topics.map { $0.partitions.map(\.partitionIndex) }, [[0, 1], [2]], "v\(v)")
            request.topics = nil
            let all = try errorResponse(to: request, version: v)
            XCTAssertEqual(all.errorCode, error.rawValue, "v\(v)")
            XCTAssertEqual(all.topics.count, 0, "v\(v)")
        }
    }

    /// The top-level error code exists from v1; v0 carries the error per partition only.
    func testElectLeaders() throws {
        for v in ElectLeadersRequest.validVersions {
            var request = ElectLeadersRequest()
            request.topicPartitions = [.init(topic: "a", partitions: [0, 1]), .init(topic: "b", partitions: [5])]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.errorCode, v >= 1 ? error.rawValue : 0, "v\(v)")
            XCTAssertEqual(r.replicaElectionResults.map(\.topic), ["a", "b"], "v\(v)")
            XCTAssertEqual(r.replicaElectionResults.map { $0.partitionResult.map(\.partitionId) }, [[0, 1], [5]], "v\(v)")
            XCTAssertEqual(r.replicaElectionResults.flatMap { $0.partitionResult.map(\.errorCode) }, Array(repeating: error.rawValue, count: 3), "v\(v)")
            XCTAssertEqual(r.replicaElectionResults.flatMap { $0.partitionResult.map(\.errorMessage) }, Array(repeating: message, count: 3), "v\(v)")
            // All partitions (null): nothing named, the top-level error says it (v1+).
            request.topicPartitions = nil
            let all = try errorResponse(to: request, version: v)
            XCTAssertEqual(all.replicaElectionResults.count, 0, "v\(v)")
        }
    }

    /// Per-feature results exist below v2; the top-level error in every version.
    func testUpdateFeatures() throws {
        for v in UpdateFeaturesRequest.validVersions {
            var request = UpdateFeaturesRequest()
            request.featureUpdates = [.init(feature: "metadata.version", maxVersionLevel: 20),
                                      .init(feature: "kraft.version", maxVersionLevel: 1)]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.errorCode, error.rawValue, "v\(v)")
            XCTAssertEqual(r.errorMessage, message, "v\(v)")
            if v < 2 {
                XCTAssertEqual(r.results.map(\.feature), ["metadata.version", "kraft.version"], "v\(v)")
                XCTAssertEqual(r.results.map(\.errorCode), [error.rawValue, error.rawValue], "v\(v)")
                XCTAssertEqual(r.results.map(\.errorMessage), [message, message], "v\(v)")
            } else {
                XCTAssertEqual(r.results.count, 0, "v\(v)")
            }
        }
    }

    /// Kafka's `DescribeQuorumRequest.getErrorResponse`: the top-level error only (the admin
    /// client checks it first); the message from v2, where the field exists.
    func testDescribeQuorum() throws {
        for v in DescribeQuorumRequest.validVersions {
            var request = DescribeQuorumRequest()
            request.topics = [.init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0), .init(partitionIndex: 1)])]
            let r = try errorResponse(to: request, version: v)
            XCTAssertEqual(r.errorCode, error.rawValue, "v\(v)")
            XCTAssertEqual(r.errorMessage, expectedMessage(v >= 2), "v\(v)")
            XCTAssertEqual(r.topics.count, 0, "v\(v)")
        }
    }

    /// UNKNOWN_SERVER_ERROR as the dispatcher sends it: no message (Kafka keeps the
    /// controller's details off the wire), null where the version has the field.
    func testUnknownServerErrorWithoutMessage() throws {
        var request = CreateTopicsRequest()
        request.topics = [.init(name: "t", numPartitions: 1, replicationFactor: 1)]
        let r = try errorResponse(to: request, version: 7, error: .unknownServerError, message: .some(nil))
        XCTAssertEqual(r.topics.first?.errorCode, ErrorCode.unknownServerError.rawValue)
        XCTAssertNil(r.topics.first?.errorMessage)
    }

    /// Nothing to answer: a frame that does not parse, an API that is not forwarded, a version
    /// the generated types do not know. The dispatcher closes the connection then.
    func testUnparseableOrUnknownRequestsGetNothing() throws {
        var garbage = ByteBuffer()
        garbage.writeInteger(ApiKey.createTopics.rawValue); garbage.writeInteger(Int16(4)); garbage.writeInteger(Int32(12))
        garbage.writeInteger(Int16(7)); garbage.writeString("garbage"); garbage.writeBytes([0x53])
        XCTAssertNil(ForwardedErrorResponse.frame(for: garbage, error: .unknownServerError))
        XCTAssertNil(ForwardedErrorResponse.frame(for: ByteBuffer(bytes: [0, 19]), error: .unknownServerError))

        var metadata = ByteBuffer()
        try MetadataRequest(topics: nil).encode(into: &metadata, version: 9, correlationId: 1, clientId: nil)
        XCTAssertNil(ForwardedErrorResponse.frame(for: metadata, error: .unknownServerError))

        var future = ByteBuffer()
        future.writeInteger(ApiKey.createTopics.rawValue); future.writeInteger(Int16(99)); future.writeInteger(Int32(1))
        future.writeInteger(Int16(-1)); future.writeBytes([0])
        XCTAssertNil(ForwardedErrorResponse.frame(for: future, error: .unknownServerError))
    }
}
