import Foundation
import KafkaProtocol
import XCTest
@testable import Broker

/// ACLs: Kafka's StandardAuthorizer rules (pure), the CreateAcls / DescribeAcls / DeleteAcls
/// handlers through the metadata log, the records in Kafka's format and in snapshots.
final class AclTests: XCTestCase {
    private func acl(_ principal: String, _ op: AclOperation, _ permission: AclPermission = .allow,
                     topic name: String, pattern: AclPatternType = .literal, host: String = "*", id: String = UUID().uuidString) -> AclBinding {
        AclBinding(id: id, resourceType: .topic, resourceName: name, patternType: pattern, principal: principal,
                   host: host, operation: op, permission: permission)
    }

    func testStandardAuthorizerRules() {
        let auth = AclAuthorizer(superUsers: ["User:admin"])
        let acls = [
            acl("User:alice", .read, topic: "orders"),
            acl("User:alice", .write, topic: "pay-", pattern: .prefixed),
            acl("User:*", .describe, topic: "public"),
            acl("User:bob", .all, topic: "*"),
            acl("User:bob", .write, .deny, topic: "orders"),
            acl("User:carol", .alterConfigs, topic: "orders", host: "10.0.0.1"),
        ]
        func can(_ p: String, _ op: AclOperation, _ topic: String, host: String = "127.0.0.1") -> Bool {
            auth.authorize(principal: p, host: host, operation: op, resourceType: .topic, resourceName: topic, acls: acls)
        }
        XCTAssertTrue(can("User:alice", .read, "orders"))
        XCTAssertTrue(can("User:alice", .describe, "orders"), "READ implies DESCRIBE")
        XCTAssertFalse(can("User:alice", .write, "orders"))
        XCTAssertTrue(can("User:alice", .write, "pay-eu"), "PREFIXED pattern")
        XCTAssertFalse(can("User:alice", .write, "pay"), "a prefix longer than the name does not match")
        XCTAssertTrue(can("User:dave", .describe, "public"), "User:* matches every user")
        XCTAssertTrue(can("User:bob", .read, "anything"), "ALL on the * wildcard")
        XCTAssertFalse(can("User:bob", .write, "orders"), "DENY wins over ALLOW ALL")
        XCTAssertTrue(can("User:carol", .describeConfigs, "orders", host: "10.0.0.1"), "ALTER_CONFIGS implies DESCRIBE_CONFIGS")
        XCTAssertFalse(can("User:carol", .alterConfigs, "orders", host: "10.0.0.2"), "host must match")
        XCTAssertTrue(can("User:admin", .delete, "orders"), "super user")
        XCTAssertFalse(can("User:dave", .read, "no-acls-here"), "a resource without ACLs is denied by default")
        let open = AclAuthorizer(allowEveryoneIfNoAclFound: true)
        XCTAssertTrue(open.authorize(principal: "User:dave", host: "h", operation: .read, resourceType: .group, resourceName: "no-acls-here", acls: acls))
        XCTAssertFalse(open.authorize(principal: "User:dave", host: "h", operation: .read, resourceType: .topic, resourceName: "no-acls-here", acls: acls),
                       "bob's ALL on the * wildcard is an ACL on every topic")
        XCTAssertFalse(open.authorize(principal: "User:dave", host: "h", operation: .read, resourceType: .topic, resourceName: "orders", acls: acls),
                       "allow.everyone.if.no.acl.found does not apply to a resource that has ACLs")
        XCTAssertFalse(auth.authorize(principal: "User:alice", host: "h", operation: .read, resourceType: .group, resourceName: "orders", acls: acls),
                       "a topic ACL is not a group ACL")
    }

    func testFiltersMatchAsKafkas() {
        let literal = acl("User:a", .read, topic: "orders")
        let prefixed = acl("User:a", .read, topic: "ord", pattern: .prefixed)
        let wildcard = acl("User:b", .write, topic: "*")
        XCTAssertTrue(AclBindingFilter().matches(literal))
        XCTAssertTrue(AclBindingFilter(resourceName: "orders", patternType: .literal).matches(literal))
        XCTAssertFalse(AclBindingFilter(resourceName: "orders", patternType: .literal).matches(prefixed))
        let match = AclBindingFilter(resourceType: .topic, resourceName: "orders", patternType: .match)
        XCTAssertEqual([literal, prefixed, wildcard].filter { match.matches($0) }.count, 3)
        XCTAssertFalse(AclBindingFilter(principal: "User:a", operation: .write).matches(literal))
        XCTAssertEqual(AclBindingFilter(resourceType: .unknown).invalidReason, "unknown resource type")
    }

    func testValidationIsKafkas() {
        XCTAssertNil(AclChanges.validate(acl("User:a", .read, topic: "t")))
        XCTAssertNotNil(AclChanges.validate(acl("alice", .read, topic: "t")), "principal without a type")
        XCTAssertNotNil(AclChanges.validate(acl("User:a", .any, topic: "t")))
        XCTAssertNotNil(AclChanges.validate(acl("User:a", .read, topic: "")))
        XCTAssertNotNil(AclChanges.validate(acl("User:a", .read, topic: "t", pattern: .match)))
        var cluster = acl("User:a", .alter, topic: "other")
        cluster.resourceType = .cluster
        XCTAssertNotNil(AclChanges.validate(cluster))
    }

    func testRecordsRoundTripKafkasCodecAndSnapshots() throws {
        let binding = acl("User:a", .write, .deny, topic: "t", pattern: .prefixed, id: KafkaUUID.random().description)
        XCTAssertEqual(try MetadataRecordCodec.decode(MetadataRecordCodec.encode(.acl(binding))), .acl(binding))
        XCTAssertEqual(try MetadataRecordCodec.decode(MetadataRecordCodec.encode(.removeAcl(id: binding.id))), .removeAcl(id: binding.id))
        var image = MetadataImage(clusterId: "c", controllerId: 1)
        image.apply(.acl(binding))
        var rebuilt = MetadataImage(clusterId: "c", controllerId: 1)
        for r in image.records() { rebuilt.apply(r) }
        XCTAssertEqual(rebuilt.acls, image.acls)
        image.apply(.removeAcl(id: binding.id))
        XCTAssertTrue(image.acls.isEmpty)
    }

    func testWithoutAnAuthorizerTheAclApisAnswerSecurityDisabled() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        let describe = try await h.send(DescribeAclsRequest(resourceTypeFilter: 1, resourceNameFilter: nil, patternTypeFilter: 1,
                                                            principalFilter: nil, hostFilter: nil, operation: 1, permissionType: 1), version: 2)
        XCTAssertEqual(describe?.errorCode, ErrorCode.securityDisabled.rawValue)
        var create = CreateAclsRequest()
        create.creations = [.init(resourceType: 2, resourceName: "t", resourcePatternType: 3, principal: "User:a", host: "*", operation: 3, permissionType: 3)]
        let created = try await h.send(create, version: 2)
        XCTAssertEqual(created?.results.map(\.errorCode), [ErrorCode.securityDisabled.rawValue])
    }

    func testCreateDescribeDeleteThroughTheMetadataLog() async throws {
        let h = try BrokerHarness(properties: """
            authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
            super.users=User:admin
            """)
        defer { h.cleanup() }
        var create = CreateAclsRequest()
        create.creations = [
            .init(resourceType: 2, resourceName: "orders", resourcePatternType: 3, principal: "User:alice", host: "*", operation: 3, permissionType: 3),
            .init(resourceType: 2, resourceName: "pay-", resourcePatternType: 4, principal: "User:alice", host: "*", operation: 4, permissionType: 3),
            .init(resourceType: 2, resourceName: "orders", resourcePatternType: 3, principal: "alice", host: "*", operation: 3, permissionType: 3),
        ]
        // Not a super user and no ACL on the cluster: refused.
        let refused = try await h.send(create, version: 3, principal: "User:alice")
        XCTAssertEqual(refused?.results.map(\.errorCode), Array(repeating: ErrorCode.clusterAuthorizationFailed.rawValue, count: 3))
        XCTAssertTrue(h.services.metadata.image.acls.isEmpty)

        let created = try await h.send(create, version: 3, principal: "User:admin")
        XCTAssertEqual(created?.results.map(\.errorCode), [0, 0, ErrorCode.invalidRequest.rawValue])
        XCTAssertEqual(h.services.metadata.image.acls.count, 2)
        // The same binding again: success, no second copy.
        create.creations = [create.creations[0]]
        let again = try await h.send(create, version: 3, principal: "User:admin")
        XCTAssertEqual(again?.results.map(\.errorCode), [0])
        XCTAssertEqual(h.services.metadata.image.acls.count, 2)

        // The authorizer uses them at once.
        let ctx = RequestContext(apiVersion: 0, correlationId: 0, clientId: nil, clientHost: "127.0.0.1", connectionId: 1,
                                 listenerName: "PLAINTEXT", principal: "User:alice")
        XCTAssertTrue(h.services.authorize(ctx, .read, .topic, "orders"))
        XCTAssertTrue(h.services.authorize(ctx, .write, .topic, "pay-1"))
        XCTAssertFalse(h.services.authorize(ctx, .write, .topic, "orders"))

        let match = DescribeAclsRequest(resourceTypeFilter: 2, resourceNameFilter: "pay-eu", patternTypeFilter: 2,
                                        principalFilter: nil, hostFilter: nil, operation: 1, permissionType: 1)
        let described = try await h.send(match, version: 3, principal: "User:admin")
        XCTAssertEqual(described?.errorCode, 0)
        XCTAssertEqual(described?.resources.map(\.resourceName), ["pay-"])
        XCTAssertEqual(described?.resources.first?.acls.map(\.principal), ["User:alice"])

        var delete = DeleteAclsRequest()
        delete.filters = [.init(resourceTypeFilter: 2, resourceNameFilter: "orders", patternTypeFilter: 3, principalFilter: nil,
                                hostFilter: nil, operation: 1, permissionType: 1),
                          .init(resourceTypeFilter: 0, resourceNameFilter: nil, patternTypeFilter: 1, principalFilter: nil,
                                hostFilter: nil, operation: 1, permissionType: 1)]
        let deleted = try await h.send(delete, version: 3, principal: "User:admin")
        XCTAssertEqual(deleted?.filterResults.map(\.errorCode), [0, ErrorCode.invalidRequest.rawValue])
        XCTAssertEqual(deleted?.filterResults.first?.matchingAcls.map(\.resourceName), ["orders"])
        XCTAssertEqual(h.services.metadata.image.acls.values.map(\.resourceName), ["pay-"])
        XCTAssertFalse(h.services.authorize(ctx, .read, .topic, "orders"), "a deleted ACL no longer allows")
    }

    func testUnknownAuthorizerClassIsAStartUpError() {
        XCTAssertThrowsError(try BrokerConfig(properties: PropertiesFile(parsing: "authorizer.class.name=com.example.Mine\n"))) { error in
            XCTAssertTrue("\(error)".contains("authorizer.class.name"), "\(error)")
        }
    }

    func testProduceFetchAndMetadataAreAuthorized() async throws {
        let h = try BrokerHarness(properties: "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n")
        defer { h.cleanup() }
        try h.createTopic("open")
        try h.createTopic("secret")
        let write = AclBinding(id: KafkaUUID.random().description, resourceType: .topic, resourceName: "open", patternType: .literal,
                               principal: "User:alice", host: "*", operation: .write, permission: .allow)
        _ = try await h.services.controller.createAcls([write])

        var produce = ProduceRequest()
        produce.acks = 1
        produce.timeoutMs = 5000
        produce.topicData = [.init(name: "open", partitionData: [.init(index: 0, records: try BrokerHarness.batch(["a"]))]),
                             .init(name: "secret", partitionData: [.init(index: 0, records: try BrokerHarness.batch(["b"]))])]
        let produced = try await h.send(produce, version: 9, principal: "User:alice")
        XCTAssertEqual(produced?.responses.map { $0.partitionResponses.first?.errorCode }, [0, ErrorCode.topicAuthorizationFailed.rawValue])

        // WRITE implies DESCRIBE: alice sees "open" only; a named "secret" is refused.
        let all = try await h.send(MetadataRequest(topics: nil, allowAutoTopicCreation: false), version: 9, principal: "User:alice")
        XCTAssertEqual(all?.topics.compactMap(\.name), ["open"])
        let named = try await h.send(MetadataRequest(topics: [.init(name: "secret")], allowAutoTopicCreation: true), version: 9, principal: "User:alice")
        XCTAssertEqual(named?.topics.first?.errorCode, ErrorCode.topicAuthorizationFailed.rawValue)

        // No READ: the fetch is refused and reveals no offsets.
        var fetch = FetchRequest()
        fetch.maxBytes = 1 << 20
        fetch.topics = [.init(topic: "open", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])]
        let fetched = try await h.send(fetch, version: 12, principal: "User:alice")
        let p = try XCTUnwrap(fetched?.responses.first?.partitions.first)
        XCTAssertEqual(p.errorCode, ErrorCode.topicAuthorizationFailed.rawValue)
        XCTAssertEqual(p.highWatermark, -1)
    }
}
