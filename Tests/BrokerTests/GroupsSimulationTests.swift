import NIOCore
import XCTest
@testable import Broker

/// Random sequences of joins, syncs, heartbeats, leaves, clock jumps and (failed) writes
/// against one group, checking the state machine's invariants after every event. Each seed
/// is replayable: a failure names it.
final class GroupsSimulationTests: XCTestCase {
    /// A deterministic generator (SplitMix64), so a seed replays exactly.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// What a simulated client believes about itself.
    struct Client {
        var name: String
        var instanceId: String?
        var memberId = ""
        var generation: Int32 = -1
        var isLeader = false
        var pendingJoin: RequestToken?
        var pendingSync: RequestToken?
    }

    func checkInvariants(_ g: Group, seed: UInt64, step: Int, file: StaticString = #filePath, line: UInt = #line) {
        let where_ = "seed \(seed) step \(step) state \(g.state)"
        if !g.members.isEmpty {
            XCTAssertNotNil(g.leaderId.flatMap { g.members[$0] }, "leader must be a member, \(where_)", file: file, line: line)
        }
        if g.state == .empty { XCTAssertTrue(g.members.isEmpty, "Empty group with members, \(where_)", file: file, line: line) }
        if g.state == .stable || g.state == .preparingRebalance {
            XCTAssertFalse(g.members.values.contains { $0.isAwaitingSync }, "parked sync outside CompletingRebalance, \(where_)",
                           file: file, line: line)
        }
        if g.state == .completingRebalance {
            XCTAssertFalse(g.members.values.contains { $0.isAwaitingJoin }, "parked join in CompletingRebalance, \(where_)",
                           file: file, line: line)
        }
        XCTAssertTrue(g.pendingSyncMembers.isSubset(of: Set(g.members.keys)), "pending sync of a non-member, \(where_)",
                      file: file, line: line)
        for (instance, memberId) in g.staticMembers {
            XCTAssertEqual(g.members[memberId]?.groupInstanceId, instance, "static map out of step, \(where_)", file: file, line: line)
        }
        for m in g.members.values where m.groupInstanceId != nil {
            XCTAssertEqual(g.staticMembers[m.groupInstanceId!], m.memberId, "static member not mapped, \(where_)", file: file, line: line)
        }
        XCTAssertTrue(g.pendingJoinMembers.isDisjoint(with: Set(g.members.keys)), "pending id is also a member, \(where_)",
                      file: file, line: line)
    }

    func testRandomEventSequencesKeepInvariantsAndAnswerEveryRequest() {
        var allVisited: Set<GroupState> = []
        var maxGeneration: Int32 = 0
        for seed: UInt64 in 1...40 {
            var rng = SplitMix(state: seed)
            var h = GroupHarness()
            var clients = (0..<5).map { i in Client(name: "c\(i)", instanceId: i < 2 ? "pod-\(i)" : nil) }
            var issued: [RequestToken] = []
            var visited: Set<GroupState> = []
            let protocolSets: [[(String, [String])]] = [[("range", ["t"])], [("range", ["t", "u"])],
                                                         [("roundrobin", ["t"]), ("range", ["t"])]]
            for step in 0..<400 {
                let i = Int.random(in: 0..<clients.count, using: &rng)
                var c = clients[i]
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<25:
                    guard c.pendingJoin == nil else { break }
                    let version: Int16 = [3, 5, 9].randomElement(using: &rng)!
                    let input = GroupHarness.joinInput(memberId: c.memberId, instanceId: version >= 5 ? c.instanceId : nil,
                                                       clientId: c.name, protocols: protocolSets.randomElement(using: &rng)!,
                                                       version: version)
                    let t = h.join(input)
                    issued.append(t)
                    c.pendingJoin = t
                case 25..<45:
                    guard c.pendingSync == nil, !c.memberId.isEmpty else { break }
                    let assignments = c.isLeader ? h.group.members.keys.sorted().map { ($0, "a-\($0)") } : []
                    let t = h.sync(c.memberId, generation: c.generation, instanceId: c.instanceId, assignments: assignments)
                    issued.append(t)
                    c.pendingSync = t
                case 45..<70:
                    if !c.memberId.isEmpty {
                        let e = h.heartbeat(c.memberId, generation: c.generation, instanceId: c.instanceId)
                        if e == .unknownMemberId || e == .fencedInstanceId { c.memberId = "" }
                    }
                case 70..<77:
                    if !c.memberId.isEmpty || c.instanceId != nil {
                        _ = h.leave([LeavingMember(memberId: c.memberId, groupInstanceId: c.instanceId)])
                        c.memberId = ""
                    }
                case 77..<92:
                    h.advance(by: Int64.random(in: 0...12_000, using: &rng))
                default:
                    h.finishWrites(error: Bool.random(using: &rng) ? .none : .coordinatorNotAvailable)
                }
                clients[i] = c
                // Deliver answers to the clients that were waiting.
                for j in clients.indices {
                    if let t = clients[j].pendingJoin, let o = h.joins[t] {
                        clients[j].pendingJoin = nil
                        if o.error == .none || o.error == .memberIdRequired {
                            clients[j].memberId = o.memberId
                            clients[j].generation = o.generationId
                            clients[j].isLeader = o.leader == o.memberId
                        } else if o.error == .unknownMemberId || o.error == .fencedInstanceId {
                            clients[j].memberId = ""
                        }
                    }
                    if let t = clients[j].pendingSync, h.syncs[t] != nil { clients[j].pendingSync = nil }
                }
                checkInvariants(h.group, seed: seed, step: step)
                visited.insert(h.group.state)
                if h.group.generationId < 0 { XCTFail("negative generation, seed \(seed)") }
            }
            // Everyone leaves and time passes: no request may be left unanswered.
            h.finishWrites()
            for c in clients where !c.memberId.isEmpty || c.instanceId != nil {
                _ = h.leave([LeavingMember(memberId: c.memberId, groupInstanceId: c.instanceId)])
            }
            h.advance(by: 3_600_000)
            h.finishWrites()
            h.advance(by: 3_600_000)
            checkInvariants(h.group, seed: seed, step: -1)
            XCTAssertTrue(h.group.members.isEmpty, "seed \(seed): members left after everyone left")
            let unanswered = issued.filter { h.joins[$0] == nil && h.syncs[$0] == nil }
            XCTAssertEqual(unanswered, [], "seed \(seed): requests never answered")
            allVisited.formUnion(visited)
            maxGeneration = max(maxGeneration, h.group.generationId)
        }
        // The walk must actually reach every live state and many generations, or it proves little.
        XCTAssertEqual(allVisited, [.empty, .preparingRebalance, .completingRebalance, .stable])
        XCTAssertGreaterThan(maxGeneration, 10)
    }
}
