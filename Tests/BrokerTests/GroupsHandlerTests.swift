import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// Sends `request` through the wire at `version` the way the registry does (encode, decode,
/// handle, encode the response, decode it again), so a field set in a version that lacks it,
/// or a response that does not encode, fails the test.
func callHandler<H: RequestHandler>(_ handler: H, _ request: H.Request, version: Int16,
                                    clientId: String = "test-client") async throws -> H.Request.Response {
    var wire = ByteBuffer()
    try request.encode(into: &wire, version: version)
    let decoded = try H.Request(from: &wire, version: version)
    let context = RequestContext(apiVersion: version, correlationId: 7, clientId: clientId, clientHost: "127.0.0.1",
                                 connectionId: 1, listenerName: "PLAINTEXT")
    let response = try await handler.handle(decoded, context: context)
    var out = ByteBuffer()
    try XCTUnwrap(response).encode(into: &out, version: version)
    let back = try H.Request.Response(from: &out, version: version)
    XCTAssertEqual(out.readableBytes, 0, "\(H.Request.self) v\(version) response has trailing bytes")
    return back
}

/// Every advertised version of every group API, through the generated codec.
final class GroupsHandlerTests: XCTestCase {
    var store: InMemoryGroupLogStore!
    var scheduler: ManualGroupScheduler!
    var coordinator: GroupCoordinator!

    override func setUp() async throws {
        store = InMemoryGroupLogStore()
        scheduler = ManualGroupScheduler()
        coordinator = GroupCoordinator(
            store: store, scheduler: scheduler,
            localNode: { _ in CoordinatorNode(nodeId: 3, host: "broker.example", port: 9093) },
            makeUUID: { "fixed-uuid" })
        try await coordinator.start()
    }

    override func tearDown() async throws {
        await coordinator.shutdown()
    }

    static let subscription = GroupHarness.subscription(["orders"])

    func testFullMemberLifecycleAtEveryJoinGroupVersion() async throws {
        let c: GroupCoordinator = coordinator
        for version: Int16 in 0...9 {
            let groupId = "group-v\(version)"
            var join = JoinGroupRequest(groupId: groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000,
                                        memberId: "", protocolType: "consumer",
                                        protocols: [.init(name: "range", metadata: Self.subscription)])
            if version >= 5 { join.groupInstanceId = nil }
            if version >= 4 {
                let first = try await callHandler(JoinGroupHandler(coordinator: c), join, version: version)
                XCTAssertEqual(first.errorCode, ErrorCode.memberIdRequired.rawValue, "v\(version)")
                XCTAssertEqual(first.memberId, "test-client-fixed-uuid")
                join.memberId = first.memberId
            }
            let request = join
            let parked = Task { try await callHandler(JoinGroupHandler(coordinator: c), request, version: version) }
            await eventually("v\(version) join parked") { await c.group(groupId)?.members.count == 1 }
            await scheduler.advance(by: 3_000)
            let joined = try await parked.value
            XCTAssertEqual(joined.errorCode, 0, "v\(version)")
            XCTAssertEqual(joined.generationId, 1)
            XCTAssertEqual(joined.leader, joined.memberId)
            XCTAssertEqual(joined.protocolName, "range")
            XCTAssertEqual(joined.protocolType, version >= 7 ? "consumer" : nil)
            XCTAssertEqual(joined.members.map(\.metadata), [Self.subscription])
            let memberId = joined.memberId

            let syncVersion = min(version, 5)
            var sync = SyncGroupRequest(groupId: groupId, generationId: 1, memberId: memberId,
                                        assignments: [.init(memberId: memberId, assignment: ByteBuffer(string: "all"))])
            if syncVersion >= 5 { sync.protocolType = "consumer"; sync.protocolName = "range" }
            let synced = try await callHandler(SyncGroupHandler(coordinator: c), sync, version: syncVersion)
            XCTAssertEqual(synced.errorCode, 0)
            XCTAssertEqual(synced.assignment.stringValue, "all")
            XCTAssertEqual(synced.protocolName, syncVersion >= 5 ? "range" : nil)

            let beat = try await callHandler(HeartbeatHandler(coordinator: c),
                                             HeartbeatRequest(groupId: groupId, generationId: 1, memberId: memberId),
                                             version: min(version, 4))
            XCTAssertEqual(beat.errorCode, 0)
            let stale = try await callHandler(HeartbeatHandler(coordinator: c),
                                              HeartbeatRequest(groupId: groupId, generationId: 0, memberId: memberId),
                                              version: min(version, 4))
            XCTAssertEqual(stale.errorCode, ErrorCode.illegalGeneration.rawValue)

            let commitVersion = max(min(version, 8), 1)
            let commit = OffsetCommitRequest(
                groupId: groupId, generationIdOrMemberEpoch: 1, memberId: memberId,
                topics: [.init(name: "orders", partitions: [.init(partitionIndex: 0, committedOffset: 100 + Int64(version),
                                                                  committedMetadata: "m")])])
            let committed = try await callHandler(OffsetCommitHandler(coordinator: c), commit, version: commitVersion)
            XCTAssertEqual(committed.topics.first?.partitions.first?.errorCode, 0, "OffsetCommit v\(commitVersion)")

            let fetchVersion = max(min(version, 7), 1)
            let fetched = try await callHandler(OffsetFetchHandler(coordinator: c),
                                                OffsetFetchRequest(groupId: groupId, topics: [.init(name: "orders", partitionIndexes: [0, 1])]),
                                                version: fetchVersion)
            XCTAssertEqual(fetched.topics.first?.partitions.map(\.committedOffset), [100 + Int64(version), -1])
            XCTAssertEqual(fetched.topics.first?.partitions.first?.metadata, "m")

            let described = try await callHandler(DescribeGroupsHandler(coordinator: c),
                                                  DescribeGroupsRequest(groups: [groupId]), version: min(version, 5))
            let group = try XCTUnwrap(described.groups.first)
            XCTAssertEqual(group.groupState, "Stable")
            XCTAssertEqual(group.protocolData, "range")
            XCTAssertEqual(group.members.first?.clientHost, "/127.0.0.1")
            XCTAssertEqual(group.members.first?.clientId, "test-client")
            XCTAssertEqual(group.members.first?.memberAssignment.stringValue, "all")

            let leaveVersion = min(version, 5)
            var leave = LeaveGroupRequest(groupId: groupId)
            if leaveVersion >= 3 { leave.members = [.init(memberId: memberId)] } else { leave.memberId = memberId }
            let left = try await callHandler(LeaveGroupHandler(coordinator: c), leave, version: leaveVersion)
            XCTAssertEqual(left.errorCode, 0)
            if leaveVersion >= 3 { XCTAssertEqual(left.members.map(\.errorCode), [0]) }
            let state = await c.group(groupId)?.state
            XCTAssertEqual(state, .empty, "v\(version)")
        }
    }

    func testFindCoordinatorEveryVersion() async throws {
        for version: Int16 in 0...4 {
            var request = FindCoordinatorRequest()
            if version >= 4 { request.coordinatorKeys = ["a", "b"] } else { request.key = "a" }
            let response = try await callHandler(FindCoordinatorHandler(coordinator: coordinator), request, version: version)
            if version >= 4 {
                XCTAssertEqual(response.coordinators.map(\.key), ["a", "b"])
                XCTAssertEqual(response.coordinators.map(\.nodeId), [3, 3])
                XCTAssertEqual(response.coordinators.first?.host, "broker.example")
            } else {
                XCTAssertEqual(response.errorCode, 0)
                XCTAssertEqual(response.nodeId, 3)
                XCTAssertEqual(response.port, 9093)
            }
        }
        let txn = try await callHandler(FindCoordinatorHandler(coordinator: coordinator),
                                        FindCoordinatorRequest(key: "tx", keyType: 1), version: 2)
        XCTAssertEqual(txn.errorCode, ErrorCode.coordinatorNotAvailable.rawValue)
    }

    func testSimpleCommitAndFetchEveryOffsetFetchVersion() async throws {
        let c: GroupCoordinator = coordinator
        let commit = OffsetCommitRequest(groupId: "tool", topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 5), .init(partitionIndex: 1, committedOffset: 6)]),
        ])
        for version: Int16 in [0, 2, 5] {
            let r = try await callHandler(OffsetCommitHandler(coordinator: c), commit, version: version)
            XCTAssertEqual(r.topics.first?.partitions.map(\.errorCode), [0, 0], "v\(version)")
        }
        for version: Int16 in 0...7 {
            let request = OffsetFetchRequest(groupId: "tool", topics: [.init(name: "t", partitionIndexes: [1, 0])])
            let r = try await callHandler(OffsetFetchHandler(coordinator: c), request, version: version)
            XCTAssertEqual(r.topics.first?.partitions.map(\.committedOffset), [6, 5], "v\(version)")
            if version >= 2 {
                let all = try await callHandler(OffsetFetchHandler(coordinator: c),
                                                OffsetFetchRequest(groupId: "tool", topics: nil), version: version)
                XCTAssertEqual(all.topics.first?.partitions.map(\.partitionIndex), [0, 1], "null topics = all, v\(version)")
            }
        }
        let batched = OffsetFetchRequest(groups: [.init(groupId: "tool", topics: nil),
                                                  .init(groupId: "nobody", topics: [.init(name: "t", partitionIndexes: [0])])])
        let r8 = try await callHandler(OffsetFetchHandler(coordinator: c), batched, version: 8)
        XCTAssertEqual(r8.groups.map(\.groupId), ["tool", "nobody"])
        XCTAssertEqual(r8.groups[0].topics.first?.partitions.map(\.committedOffset), [5, 6])
        XCTAssertEqual(r8.groups[1].topics.first?.partitions.map(\.committedOffset), [-1])
    }

    func testListDescribeDeleteAndOffsetDeleteEveryVersion() async throws {
        let c: GroupCoordinator = coordinator
        for name in ["x", "y"] {
            _ = try await callHandler(OffsetCommitHandler(coordinator: c), OffsetCommitRequest(
                groupId: name, topics: [.init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 1)])]), version: 8)
        }
        for version: Int16 in 0...5 {
            var request = ListGroupsRequest()
            if version >= 4 { request.statesFilter = ["EMPTY"] }
            if version >= 5 { request.typesFilter = ["classic"] }
            let r = try await callHandler(ListGroupsHandler(coordinator: c), request, version: version)
            XCTAssertEqual(r.groups.map(\.groupId), ["x", "y"], "v\(version)")
            XCTAssertEqual(r.groups.first?.groupState, version >= 4 ? "Empty" : "")
            XCTAssertEqual(r.groups.first?.groupType, version >= 5 ? "classic" : "")
        }
        let stableOnly = try await callHandler(ListGroupsHandler(coordinator: c),
                                               ListGroupsRequest(statesFilter: ["Stable"]), version: 4)
        XCTAssertEqual(stableOnly.groups, [])

        let described = try await callHandler(DescribeGroupsHandler(coordinator: c),
                                              DescribeGroupsRequest(groups: ["x", "missing"], includeAuthorizedOperations: true),
                                              version: 3)
        XCTAssertEqual(described.groups.map(\.groupState), ["Empty", "Dead"])
        // Kafka 4.x's GROUP operations: READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
        XCTAssertEqual(described.groups.first?.authorizedOperations, 3400)

        let od = try await callHandler(OffsetDeleteHandler(coordinator: c), OffsetDeleteRequest(
            groupId: "x", topics: [.init(name: "t", partitions: [.init(partitionIndex: 0)])]), version: 0)
        XCTAssertEqual(od.errorCode, 0)
        XCTAssertEqual(od.topics.first?.partitions.first?.errorCode, 0)
        let odMissing = try await callHandler(OffsetDeleteHandler(coordinator: c), OffsetDeleteRequest(groupId: "nope"), version: 0)
        XCTAssertEqual(odMissing.errorCode, ErrorCode.groupIdNotFound.rawValue)

        for version: Int16 in 0...2 {
            let r = try await callHandler(DeleteGroupsHandler(coordinator: c),
                                          DeleteGroupsRequest(groupsNames: ["y", "never-existed"]), version: version)
            XCTAssertEqual(r.results.map(\.errorCode),
                           [version == 0 ? 0 : ErrorCode.groupIdNotFound.rawValue, ErrorCode.groupIdNotFound.rawValue])
        }
    }

    func testLeaveGroupByInstanceIdRemovesStaticMember() async throws {
        let c: GroupCoordinator = coordinator
        let join = JoinGroupRequest(groupId: "s", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "",
                                    groupInstanceId: "pod-1", protocolType: "consumer",
                                    protocols: [.init(name: "range", metadata: Self.subscription)])
        let parked = Task { try await callHandler(JoinGroupHandler(coordinator: c), join, version: 7) }
        await eventually("static join parked") { await c.group("s")?.members.count == 1 }
        await scheduler.advance(by: 3_000)
        let joined = try await parked.value
        XCTAssertEqual(joined.members.first?.groupInstanceId, "pod-1")
        let leave = LeaveGroupRequest(groupId: "s", members: [.init(memberId: "", groupInstanceId: "pod-1"),
                                                             .init(memberId: "", groupInstanceId: "pod-2")])
        let r = try await callHandler(LeaveGroupHandler(coordinator: c), leave, version: 4)
        XCTAssertEqual(r.members.map(\.errorCode), [0, ErrorCode.unknownMemberId.rawValue])
        let members = await c.group("s")?.members.count
        XCTAssertEqual(members, 0)
    }
}
