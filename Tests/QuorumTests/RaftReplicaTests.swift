import KafkaProtocol
import LogStorage
import NIOCore
@testable import Quorum
import XCTest

/// The pure state machine, event by event, against Kafka's rules (KafkaRaftClient,
/// QuorumState, LeaderState): no disk, no network, only effects.
final class RaftReplicaTests: XCTestCase {
    let config = QuorumConfig(voters: [1, 2, 3], clusterId: "c1")

    func start(_ id: RaftNodeId = 1, stored: ElectionState? = nil, log: RaftLogView = RaftLogView(), now: Int64 = 0) -> (RaftReplica, [RaftEffect]) {
        RaftReplica.start(localId: id, config: config, stored: stored, log: log, now: now, randomSeed: 7)
    }

    func sends(_ effects: [RaftEffect]) -> [(RaftNodeId, RaftMessage)] {
        effects.compactMap { if case .send(let to, let m) = $0 { (to, m) } else { nil } }
    }

    func voteRequest(candidate: RaftNodeId, epoch: Int32, lastOffset: Int64, lastEpoch: Int32, cluster: String? = "c1") -> RaftMessage {
        var p = VoteRequest.PartitionData()
        p.candidateId = candidate; p.candidateEpoch = epoch; p.lastOffset = lastOffset; p.lastOffsetEpoch = lastEpoch
        var r = VoteRequest()
        r.clusterId = cluster
        r.topics = [VoteRequest.TopicData(topicName: "__cluster_metadata", partitions: [p])]
        return .request(correlationId: 9, .vote(r))
    }

    func voteAnswer(_ effects: [RaftEffect]) -> VoteResponse.PartitionData? {
        for case .send(_, .response(_, .vote(let r))) in effects { return r.topics.first?.partitions.first }
        return nil
    }

    func testElectionTimeoutIsRandomInTToTwoTAndVoteIsPersistedBeforeRequests() throws {
        var (replica, effects) = start()
        XCTAssertEqual(replica.role, .unattached)
        XCTAssertEqual(effects.first, .persistElectionState(ElectionState(epoch: 0)))
        let deadline = try XCTUnwrap(replica.nextDeadline())
        XCTAssertTrue((1000..<2000).contains(deadline), "\(deadline)")
        XCTAssertEqual(replica.handle(.tick, now: deadline - 1).filter { if case .send = $0 { true } else { false } }.count, 0)
        effects = replica.handle(.tick, now: deadline)
        XCTAssertEqual(replica.role, .candidate)
        XCTAssertEqual(replica.epoch, 1)
        let persistIndex = try XCTUnwrap(effects.firstIndex(of: .persistElectionState(ElectionState(epoch: 1, votedId: 1))))
        let firstSend = try XCTUnwrap(effects.firstIndex { if case .send = $0 { true } else { false } })
        XCTAssertLessThan(persistIndex, firstSend)
        let targets = sends(effects).map(\.0).sorted()
        XCTAssertEqual(targets, [2, 3])
        for (_, message) in sends(effects) {
            guard case .request(_, .vote(let r)) = message else { return XCTFail("expected Vote") }
            XCTAssertEqual(r.clusterId, "c1")
            XCTAssertEqual(r.topics[0].partitions[0].candidateEpoch, 1)
        }
    }

    func testVoteGrantingRules() throws {
        // Voter 2 with log (end 10, last epoch 3).
        let log = RaftLogView(endOffset: 10, epochs: [EpochEntry(epoch: 3, startOffset: 0)])
        var (voter, _) = start(2, stored: ElectionState(epoch: 3), log: log)

        // A candidate whose log is behind is refused, though the voter moves to its epoch.
        var effects = voter.handle(.received(from: 1, voteRequest(candidate: 1, epoch: 4, lastOffset: 9, lastEpoch: 3)), now: 1)
        XCTAssertEqual(voteAnswer(effects)?.voteGranted, false)
        XCTAssertEqual(voter.epoch, 4)
        XCTAssertEqual(voter.role, .unattached)

        // An up-to-date candidate gets the vote, persisted before the answer.
        effects = voter.handle(.received(from: 3, voteRequest(candidate: 3, epoch: 4, lastOffset: 10, lastEpoch: 3)), now: 2)
        XCTAssertEqual(voteAnswer(effects)?.voteGranted, true)
        let persisted = try XCTUnwrap(effects.firstIndex(of: .persistElectionState(ElectionState(epoch: 4, votedId: 3))))
        let answered = try XCTUnwrap(effects.firstIndex { if case .send = $0 { true } else { false } })
        XCTAssertLessThan(persisted, answered)
        XCTAssertEqual(voter.role, .voted)

        // One vote per epoch: another candidate is refused, the same one granted again.
        effects = voter.handle(.received(from: 1, voteRequest(candidate: 1, epoch: 4, lastOffset: 50, lastEpoch: 3)), now: 3)
        XCTAssertEqual(voteAnswer(effects)?.voteGranted, false)
        effects = voter.handle(.received(from: 3, voteRequest(candidate: 3, epoch: 4, lastOffset: 10, lastEpoch: 3)), now: 4)
        XCTAssertEqual(voteAnswer(effects)?.voteGranted, true)

        // Stale epoch: FENCED_LEADER_EPOCH. Bad fields: INVALID_REQUEST. Other cluster: INCONSISTENT_CLUSTER_ID.
        effects = voter.handle(.received(from: 1, voteRequest(candidate: 1, epoch: 3, lastOffset: 50, lastEpoch: 2)), now: 5)
        XCTAssertEqual(voteAnswer(effects)?.errorCode, ErrorCode.fencedLeaderEpoch.rawValue)
        effects = voter.handle(.received(from: 1, voteRequest(candidate: 1, epoch: 5, lastOffset: 50, lastEpoch: 5)), now: 6)
        XCTAssertEqual(voteAnswer(effects)?.errorCode, ErrorCode.invalidRequest.rawValue)
        effects = voter.handle(.received(from: 1, voteRequest(candidate: 1, epoch: 9, lastOffset: 50, lastEpoch: 3, cluster: "other")), now: 7)
        guard case .send(_, .response(_, .vote(let r)))? = effects.first(where: { if case .send = $0 { true } else { false } }) else {
            return XCTFail("no answer")
        }
        XCTAssertEqual(r.errorCode, ErrorCode.inconsistentClusterId.rawValue)
        XCTAssertEqual(voter.epoch, 4, "a request from another cluster changes nothing")
    }

    /// Wins with a majority, persists leadership, writes a LeaderChangeMessage at the epoch
    /// start, announces with BeginQuorumEpoch; commits only above the epoch start offset.
    func testLeaderCommitsOnlyAnEntryOfItsOwnEpoch() throws {
        let log = RaftLogView(endOffset: 5, epochs: [EpochEntry(epoch: 1, startOffset: 0)])
        var (replica, _) = start(1, stored: ElectionState(epoch: 1, leaderId: 2), log: log)
        XCTAssertEqual(replica.role, .follower)
        var effects = replica.handle(.tick, now: 2000)   // fetch timeout: stands for election
        XCTAssertEqual(replica.role, .candidate)
        XCTAssertEqual(replica.epoch, 2)
        let vote = try XCTUnwrap(sends(effects).first { $0.0 == 2 })
        var granted = VoteResponse.PartitionData()
        granted.leaderEpoch = 2; granted.leaderId = -1; granted.voteGranted = true
        var response = VoteResponse()
        response.topics = [VoteResponse.TopicData(topicName: "__cluster_metadata", partitions: [granted])]
        effects = replica.handle(.received(from: 2, .response(correlationId: vote.1.correlationId, .vote(response))), now: 2001)
        XCTAssertEqual(replica.role, .leader)
        XCTAssertEqual(effects.first, .persistElectionState(ElectionState(epoch: 2, leaderId: 1, votedId: 1)))
        guard let append = effects.first(where: { if case .appendAsLeader = $0 { true } else { false } }),
              case .appendAsLeader(let bytes, let epoch, let base) = append else { return XCTFail("no LeaderChangeMessage") }
        XCTAssertEqual(epoch, 2)
        XCTAssertEqual(base, 5)
        var copy = bytes
        let batch = try RecordBatch.decode(from: &copy)
        XCTAssertTrue(batch.isControl)
        XCTAssertEqual(batch.controlRecordType, .leaderChange)
        var value = try XCTUnwrap(batch.records.first?.value)
        let message = try LeaderChangeMessage(from: &value, version: 0)
        XCTAssertEqual(message.leaderId, 1)
        XCTAssertEqual(message.grantingVoters.map(\.voterId), [1, 2])
        XCTAssertEqual(sends(effects).filter { if case .request(_, .beginQuorumEpoch) = $0.1 { true } else { false } }.map(\.0).sorted(), [2, 3])
        XCTAssertEqual(replica.log.endOffset, 6)

        // Voter 2 fetches at 5 (holding the old entries): a majority has 5 = the epoch start, not above it.
        effects = replica.handle(.received(from: 2, fetch(offset: 5, lastEpoch: 1, epoch: 2)), now: 2002)
        XCTAssertEqual(replica.highWatermark, 0, "old-epoch entries are not committed by counting replicas")
        // Voter 2 fetches at 6: the LeaderChangeMessage is on a majority; everything below commits.
        effects = replica.handle(.received(from: 2, fetch(offset: 6, lastEpoch: 2, epoch: 2)), now: 2003)
        XCTAssertEqual(replica.highWatermark, 6)
        XCTAssertTrue(effects.contains(.highWatermark(6)))
    }

    /// A fetch at the log end is parked only when the fetcher already knows the current high
    /// watermark: one that does not is answered at once with it (Kafka's
    /// `isHighWatermarkUpdated`). Parked, followers learned each commit only when their fetch
    /// expired (500 ms), and metadata reached the other brokers that much later.
    func testAFetcherThatHasNotSeenTheHighWatermarkIsAnsweredAtOnce() throws {
        let log = RaftLogView(endOffset: 5, epochs: [EpochEntry(epoch: 1, startOffset: 0)])
        var (replica, _) = start(1, stored: ElectionState(epoch: 1, leaderId: 2), log: log)
        var effects = replica.handle(.tick, now: 2000)
        let vote = try XCTUnwrap(sends(effects).first { $0.0 == 2 })
        var granted = VoteResponse.PartitionData()
        granted.leaderEpoch = 2; granted.leaderId = -1; granted.voteGranted = true
        var response = VoteResponse()
        response.topics = [VoteResponse.TopicData(topicName: "__cluster_metadata", partitions: [granted])]
        _ = replica.handle(.received(from: 2, .response(correlationId: vote.1.correlationId, .vote(response))), now: 2001)
        XCTAssertEqual(replica.role, .leader)
        XCTAssertEqual(replica.log.endOffset, 6)

        // Each request arrives from its own return address, as the NIO transport delivers them
        // (negative, unique per request); the fetcher is known by its ReplicaState id. Keyed by
        // the return address, no fetch ever parked.
        var returnAddress: RaftNodeId = -1
        func longPoll(_ offset: Int64, from: RaftNodeId, at now: Int64) -> FetchResponse.PartitionData? {
            guard case .request(let id, .fetch(var r)) = fetch(offset: offset, lastEpoch: 2, epoch: 2, replica: from) else { return nil }
            r.maxWaitMs = 500
            returnAddress -= 1
            effects = replica.handle(.received(from: returnAddress, .request(correlationId: id, .fetch(r))), now: now)
            for case .sendFetchResponse(_, _, let r, _, _) in effects { return r.responses.first?.partitions.first }
            return nil
        }
        // Voter 2 fetches the LeaderChangeMessage: a majority holds it, the HW moves to 6. Its
        // fetch is at the end, but it has not been told 6 yet: answered now, with 6.
        XCTAssertEqual(longPoll(6, from: 2, at: 2002)?.highWatermark, 6)
        XCTAssertEqual(replica.highWatermark, 6)
        // The same fetch again: it knows 6, nothing new: parked.
        XCTAssertNil(longPoll(6, from: 2, at: 2003))
        // Voter 3 has never been answered in this epoch: answered at once with the HW.
        XCTAssertEqual(longPoll(6, from: 3, at: 2004)?.highWatermark, 6)
        XCTAssertNil(longPoll(6, from: 3, at: 2005), "then parked like voter 2")
    }

    func fetch(offset: Int64, lastEpoch: Int32, epoch: Int32, replica: Int32 = 2) -> RaftMessage {
        var p = FetchRequest.FetchPartition()
        p.fetchOffset = offset; p.lastFetchedEpoch = lastEpoch; p.currentLeaderEpoch = epoch
        var t = FetchRequest.FetchTopic()
        t.topicId = MetadataPartition.topicId
        t.partitions = [p]
        var r = FetchRequest()
        r.replicaState.replicaId = replica
        r.topics = [t]
        r.maxWaitMs = 0
        return .request(correlationId: 77, .fetch(r))
    }

    func testFetchValidationAndDivergence() throws {
        // Leader of epoch 3 whose log has epoch 1 @ 0..9 and epoch 3 @ 10..
        let log = RaftLogView(endOffset: 12, epochs: [EpochEntry(epoch: 1, startOffset: 0), EpochEntry(epoch: 3, startOffset: 10)])
        var (replica, effects) = start(1, stored: ElectionState(epoch: 2, votedId: 1), log: RaftLogView(endOffset: 10, epochs: [EpochEntry(epoch: 1, startOffset: 0)]))
        XCTAssertEqual(replica.role, .candidate)   // restarted having voted for itself
        _ = log
        // Win epoch 2's election again (same epoch: a restarted candidate keeps it and asks at once).
        let vote = try XCTUnwrap(sends(effects).first { $0.0 == 3 })
        var granted = VoteResponse.PartitionData()
        granted.leaderEpoch = 2; granted.leaderId = -1; granted.voteGranted = true
        var response = VoteResponse()
        response.topics = [VoteResponse.TopicData(topicName: "__cluster_metadata", partitions: [granted])]
        effects = replica.handle(.received(from: 3, .response(correlationId: vote.1.correlationId, .vote(response))), now: 2)
        XCTAssertEqual(replica.role, .leader)
        XCTAssertEqual(replica.log, RaftLogView(endOffset: 11, epochs: [EpochEntry(epoch: 1, startOffset: 0), EpochEntry(epoch: 2, startOffset: 10)]))

        func answer(_ message: RaftMessage) -> FetchResponse.PartitionData? {
            let effects = replica.handle(.received(from: 2, message), now: 3)
            for case .sendFetchResponse(_, _, let r, _, _) in effects { return r.responses.first?.partitions.first }
            return nil
        }
        // A follower that wrote epoch-1 entries up to 14 (never committed) must cut back to 10.
        let diverging = try XCTUnwrap(answer(fetch(offset: 14, lastEpoch: 1, epoch: 2)))
        XCTAssertEqual(diverging.divergingEpoch.epoch, 1)
        XCTAssertEqual(diverging.divergingEpoch.endOffset, 10)
        XCTAssertEqual(answer(fetch(offset: 5, lastEpoch: 1, epoch: 1))?.errorCode, ErrorCode.fencedLeaderEpoch.rawValue)
        XCTAssertEqual(answer(fetch(offset: 5, lastEpoch: 1, epoch: 3))?.errorCode, ErrorCode.unknownLeaderEpoch.rawValue)
        XCTAssertEqual(answer(fetch(offset: 5, lastEpoch: 3, epoch: 2))?.errorCode, ErrorCode.invalidRequest.rawValue)
        let valid = try XCTUnwrap(answer(fetch(offset: 10, lastEpoch: 1, epoch: 2)))
        XCTAssertEqual(valid.errorCode, 0)
        XCTAssertEqual(valid.divergingEpoch.epoch, -1)
        XCTAssertEqual(valid.currentLeader.leaderId, 1)
    }

    func testFollowerRefusesToTruncateBelowItsHighWatermark() throws {
        let log = RaftLogView(endOffset: 10, epochs: [EpochEntry(epoch: 1, startOffset: 0)])
        var (replica, effects) = start(2, stored: ElectionState(epoch: 2, leaderId: 1), log: log)
        let fetch = try XCTUnwrap(sends(effects).first)
        // The leader says HW 8.
        var p = FetchResponse.PartitionData()
        p.highWatermark = 8
        p.currentLeader = FetchResponse.LeaderIdAndEpoch(leaderId: 1, leaderEpoch: 2)
        var r = FetchResponse()
        var t = FetchResponse.FetchableTopicResponse()
        t.topicId = MetadataPartition.topicId
        t.partitions = [p]
        r.responses = [t]
        effects = replica.handle(.received(from: 1, .response(correlationId: fetch.1.correlationId, .fetch(r))), now: 1)
        XCTAssertEqual(replica.highWatermark, 8)
        let next = try XCTUnwrap(sends(effects).first)
        // Then asks it to truncate to 5: a committed entry would be lost. Kafka throws; so do we.
        r.responses[0].partitions[0].divergingEpoch = FetchResponse.EpochEndOffset(epoch: 1, endOffset: 5)
        effects = replica.handle(.received(from: 1, .response(correlationId: next.1.correlationId, .fetch(r))), now: 2)
        XCTAssertTrue(effects.contains { if case .fatal = $0 { true } else { false } })
        XCTAssertFalse(effects.contains(.truncate(to: 5)))
    }

    func testCheckQuorumResignsAndSendsEndQuorumEpoch() throws {
        let (replica, effects) = start(1, stored: ElectionState(epoch: 4, leaderId: 1, votedId: 1))
        XCTAssertEqual(replica.role, .resigned, "a restarted leader comes back Resigned")
        let ends = sends(effects).filter { if case .request(_, .endQuorumEpoch) = $0.1 { true } else { false } }
        XCTAssertEqual(ends.map(\.0).sorted(), [2, 3])

        // A leader that hears from a majority stays; one that does not resigns after 1.5 x fetch timeout.
        var leader = try electedLeader()
        XCTAssertEqual(leader.role, .leader)
        var now: Int64 = 100
        while now < 10_000 {
            _ = leader.handle(.received(from: 3, fetch(offset: leader.log.endOffset, lastEpoch: leader.epoch, epoch: leader.epoch, replica: 3)), now: now)
            now += 1000
            _ = leader.handle(.tick, now: now)
        }
        XCTAssertEqual(leader.role, .leader, "voter 3 keeps fetching: leader + 3 is a majority")
        let effects2 = leader.handle(.tick, now: now + 3000)
        XCTAssertEqual(leader.role, .resigned)
        XCTAssertEqual(sends(effects2).filter { if case .request(_, .endQuorumEpoch) = $0.1 { true } else { false } }.count, 2)
    }

    /// Node 1 elected in epoch 1 by node 2's vote.
    func electedLeader() throws -> RaftReplica {
        var (replica, _) = start(1)
        let effects = replica.handle(.tick, now: 2000)
        let vote = try XCTUnwrap(sends(effects).first { $0.0 == 2 })
        var granted = VoteResponse.PartitionData()
        granted.leaderEpoch = replica.epoch; granted.leaderId = -1; granted.voteGranted = true
        var response = VoteResponse()
        response.topics = [VoteResponse.TopicData(topicName: "__cluster_metadata", partitions: [granted])]
        _ = replica.handle(.received(from: 2, .response(correlationId: vote.1.correlationId, .vote(response))), now: 2001)
        return replica
    }

    /// A stale voter that stands again and again (and is refused: its log is behind) must not
    /// hold back the others' election timers: moving to its epoch keeps the running timer, as
    /// Kafka's transitionToUnattached does. (The simulation found the livelock, seed 8.)
    func testRefusedCandidatesDoNotResetTheElectionTimer() throws {
        let log = RaftLogView(endOffset: 10, epochs: [EpochEntry(epoch: 1, startOffset: 0)])
        var (voter, _) = start(2, stored: ElectionState(epoch: 1), log: log)
        let deadline = try XCTUnwrap(voter.nextDeadline())
        var now: Int64 = 0
        var epoch: Int32 = 2
        while now < deadline - 1 {
            now = min(now + 300, deadline - 1)
            let effects = voter.handle(.received(from: 3, voteRequest(candidate: 3, epoch: epoch, lastOffset: 2, lastEpoch: 1)), now: now)
            XCTAssertEqual(voteAnswer(effects)?.voteGranted, false)
            epoch += 1
        }
        XCTAssertEqual(voter.nextDeadline(), deadline)
        _ = voter.handle(.tick, now: deadline)
        XCTAssertEqual(voter.role, .candidate, "the up-to-date voter stands when its own timer runs out")
    }

    /// A broker (observer, not a voter) that knows no leader asks a voter; the answer names the
    /// leader and the observer follows it. It never stands for election.
    func testObserverFindsTheLeaderThroughAnyVoter() throws {
        var (observer, effects) = RaftReplica.start(localId: 101, config: config, stored: nil, log: RaftLogView(),
                                                    now: 0, randomSeed: 3)
        XCTAssertFalse(observer.isVoter)
        guard case .unattached(let unattached) = observer.state else { return XCTFail("expected Unattached") }
        XCTAssertNil(unattached.electionDeadline, "no election timer")
        let ask = try XCTUnwrap(sends(effects).first)
        guard case .request(let id, .fetch(let request)) = ask.1 else { return XCTFail("expected a Fetch") }
        XCTAssertEqual(request.replicaState.replicaId, 101)
        var p = FetchResponse.PartitionData()
        p.errorCode = ErrorCode.fencedLeaderEpoch.rawValue
        p.currentLeader = FetchResponse.LeaderIdAndEpoch(leaderId: 3, leaderEpoch: 5)
        var t = FetchResponse.FetchableTopicResponse()
        t.topicId = MetadataPartition.topicId
        t.partitions = [p]
        var response = FetchResponse()
        response.responses = [t]
        effects = observer.handle(.received(from: ask.0, .response(correlationId: id, .fetch(response))), now: 5)
        XCTAssertEqual(observer.role, .follower)
        XCTAssertEqual(observer.leaderId, 3)
        XCTAssertEqual(observer.epoch, 5)
        effects = observer.handle(.tick, now: 10_000)
        XCTAssertEqual(observer.role, .follower, "an observer never becomes a candidate")
    }

    /// Bad input from the issue: another cluster's id gets INCONSISTENT_CLUSTER_ID and changes
    /// nothing; a vote for a node that is not a voter is refused; BeginQuorumEpoch for a stale
    /// epoch gets FENCED_LEADER_EPOCH.
    func testOtherClustersUnknownVotersAndStaleEpochs() throws {
        var leader = try electedLeader()
        var fetchMessage = fetch(offset: 0, lastEpoch: 0, epoch: leader.epoch)
        if case .request(let id, .fetch(var r)) = fetchMessage {
            r.clusterId = "another-cluster"
            fetchMessage = .request(correlationId: id, .fetch(r))
        }
        var effects = leader.handle(.received(from: 2, fetchMessage), now: 2100)
        guard case .sendFetchResponse(_, _, let response, let readFrom, _)? = effects.first(where: { if case .sendFetchResponse = $0 { true } else { false } }) else {
            return XCTFail("no answer")
        }
        XCTAssertEqual(response.errorCode, ErrorCode.inconsistentClusterId.rawValue)
        XCTAssertNil(readFrom)
        XCTAssertEqual(leader.role, .leader)

        var (voter, _) = start(2, stored: ElectionState(epoch: 3))
        effects = voter.handle(.received(from: 9, voteRequest(candidate: 9, epoch: 4, lastOffset: 0, lastEpoch: 0)), now: 1)
        XCTAssertEqual(voteAnswer(effects)?.voteGranted, false, "node 9 is not a voter")

        var p = BeginQuorumEpochRequest.PartitionData()
        p.leaderId = 3; p.leaderEpoch = 2
        var begin = BeginQuorumEpochRequest()
        begin.clusterId = "c1"
        begin.topics = [BeginQuorumEpochRequest.TopicData(topicName: "__cluster_metadata", partitions: [p])]
        effects = voter.handle(.received(from: 3, .request(correlationId: 1, .beginQuorumEpoch(begin))), now: 2)
        guard case .send(_, .response(_, .beginQuorumEpoch(let answer)))? = effects.first(where: { if case .send = $0 { true } else { false } }) else {
            return XCTFail("no answer")
        }
        XCTAssertEqual(answer.topics.first?.partitions.first?.errorCode, ErrorCode.fencedLeaderEpoch.rawValue)
        XCTAssertEqual(answer.topics.first?.partitions.first?.leaderEpoch, 4)
        XCTAssertEqual(voter.role, .unattached)
    }

    func testRestartInAnOlderEpochThanTheLogStartsUnattachedAtTheLogsEpoch() {
        let log = RaftLogView(endOffset: 4, epochs: [EpochEntry(epoch: 6, startOffset: 0)])
        let (replica, effects) = start(3, stored: ElectionState(epoch: 2, leaderId: 1), log: log)
        XCTAssertEqual(replica.role, .unattached)
        XCTAssertEqual(replica.epoch, 6)
        XCTAssertEqual(effects.first, .persistElectionState(ElectionState(epoch: 6)))
    }

    func testMessagesSurviveTheWireVersions() throws {
        var (replica, effects) = start()
        effects = replica.handle(.tick, now: 5000)
        for (_, message) in sends(effects) {
            XCTAssertEqual(try message.roundTripped(), message)
        }
    }

    func testTheOnlyVoterLeadsAtStartUpAndAnObserverDoesNot() throws {
        // Kafka's KafkaRaftClient.initialize: a voter with no remote voters stands at once.
        let single = QuorumConfig(voters: [1])
        var (replica, effects) = RaftReplica.start(localId: 1, config: single, stored: nil, log: RaftLogView(), now: 0, randomSeed: 1)
        XCTAssertEqual(replica.role, .leader)
        XCTAssertEqual(replica.epoch, 1)
        XCTAssertEqual(replica.highWatermark, 1, "the LeaderChangeMessage commits on the leader's own flush")
        let candidate = try XCTUnwrap(effects.firstIndex(of: .persistElectionState(ElectionState(epoch: 1, votedId: 1))))
        let leader = try XCTUnwrap(effects.firstIndex(of: .persistElectionState(ElectionState(epoch: 1, leaderId: 1, votedId: 1))))
        let flush = try XCTUnwrap(effects.firstIndex(of: .flush))
        let commit = try XCTUnwrap(effects.firstIndex(of: .highWatermark(1)))
        XCTAssertLessThan(candidate, leader)
        XCTAssertLessThan(flush, commit)
        _ = replica.propose([ByteBuffer(string: "x")], now: 1)
        XCTAssertEqual(replica.highWatermark, 2)

        // A restarted former leader is Resigned in its epoch, so it leads the next one.
        let log = RaftLogView(endOffset: 5, epochs: [EpochEntry(epoch: 4, startOffset: 0)])
        (replica, effects) = RaftReplica.start(localId: 1, config: single, stored: ElectionState(epoch: 4, leaderId: 1, votedId: 1),
                                               log: log, now: 0, randomSeed: 1)
        XCTAssertEqual(replica.role, .leader)
        XCTAssertEqual(replica.epoch, 5)

        // An observer of that quorum never stands.
        (replica, _) = RaftReplica.start(localId: 2, config: single, stored: nil, log: RaftLogView(), now: 0, randomSeed: 1)
        XCTAssertEqual(replica.role, .unattached)
        XCTAssertEqual(replica.epoch, 0)
    }

    func testDescribeQuorumReportsVotersAndObserversAsKafkasLeaderState() throws {
        var (leader, _) = start(1)
        // Win epoch 1 with votes from 2 and 3.
        _ = leader.handle(.tick, now: 5000)
        for from: RaftNodeId in [2, 3] {
            var p = VoteResponse.PartitionData()
            p.leaderEpoch = 1; p.leaderId = -1; p.voteGranted = true
            var r = VoteResponse()
            r.topics = [VoteResponse.TopicData(topicName: "__cluster_metadata", partitions: [p])]
            let id = try XCTUnwrap(leader.inflight[from]?.correlationId)
            _ = leader.handle(.received(from: from, .response(correlationId: id, .vote(r))), now: 5001)
        }
        XCTAssertEqual(leader.role, .leader)
        func fetch(_ replica: RaftNodeId, offset: Int64, lastEpoch: Int32) -> RaftMessage {
            var p = FetchRequest.FetchPartition()
            p.currentLeaderEpoch = 1; p.fetchOffset = offset; p.lastFetchedEpoch = lastEpoch
            var t = FetchRequest.FetchTopic()
            t.topicId = MetadataPartition.topicId
            t.partitions = [p]
            var r = FetchRequest()
            r.clusterId = "c1"
            r.replicaState = FetchRequest.ReplicaState(replicaId: replica, replicaEpoch: -1)
            r.topics = [t]
            return .request(correlationId: 100, .fetch(r))
        }
        _ = leader.handle(.received(from: 2, fetch(2, offset: 0, lastEpoch: 0)), now: 6000)      // behind (LEO 1)
        _ = leader.handle(.received(from: 2, fetch(2, offset: 1, lastEpoch: 1)), now: 6100)      // caught up
        _ = leader.handle(.received(from: 7, fetch(7, offset: 0, lastEpoch: 0)), now: 6200)      // an observer
        var d = leader.describeQuorum(now: 7000)
        XCTAssertEqual(d.errorCode, 0)
        XCTAssertEqual(d.leaderId, 1)
        XCTAssertEqual(d.leaderEpoch, 1)
        XCTAssertEqual(d.highWatermark, 1)
        XCTAssertEqual(d.currentVoters.map(\.replicaId), [1, 2, 3])
        XCTAssertEqual(d.currentVoters.map(\.logEndOffset), [1, 1, -1])
        XCTAssertEqual(d.currentVoters.map(\.lastFetchTimestamp), [7000, 6100, -1])
        XCTAssertEqual(d.currentVoters.map(\.lastCaughtUpTimestamp), [7000, 6100, -1])
        XCTAssertEqual(d.observers.map(\.replicaId), [7])
        XCTAssertEqual(d.observers.first?.lastCaughtUpTimestamp, -1, "it fetched from 0 with the leader at 1")
        // Observers quiet for Kafka's 5 minutes are no longer listed.
        d = leader.describeQuorum(now: 6200 + RaftReplica.observerSessionTimeoutMs)
        XCTAssertEqual(d.observers.count, 0)

        let (follower, _) = start(2)
        d = follower.describeQuorum(now: 0)
        XCTAssertEqual(d.errorCode, ErrorCode.notLeaderOrFollower.rawValue)
    }

    func testCaughtUpTimeCreditsThePreviousFetchWhenItReachedTheEndTheLeaderHadThen() {
        // Kafka's ReplicaState.updateFollowerState (KIP-836).
        var p = ReplicaProgress()
        p.recordFetch(fetchOffset: 5, leaderEndOffset: 10, now: 100)
        XCTAssertEqual(p.lastCaughtUpTimestamp, -1, "behind the leader's end")
        p.recordFetch(fetchOffset: 10, leaderEndOffset: 15, now: 200)
        XCTAssertEqual(p.lastCaughtUpTimestamp, 100, "it reached the end the leader had at the fetch of time 100")
        p.recordFetch(fetchOffset: 12, leaderEndOffset: 20, now: 300)
        XCTAssertEqual(p.lastCaughtUpTimestamp, 100, "12 is below 15, the end at the previous fetch")
        p.recordFetch(fetchOffset: 20, leaderEndOffset: 20, now: 400)
        XCTAssertEqual(p.lastCaughtUpTimestamp, 400)
        XCTAssertEqual(p.lastFetchTimestamp, 400)
        XCTAssertEqual(p.endOffset, 20)
    }
}
