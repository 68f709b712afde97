import KafkaProtocol
import LogStorage
import NIOCore

/// An input to the replica.
public enum RaftEvent: Sendable, Equatable {
    /// Time passed: run the timers (election, fetch, check-quorum, request timeouts, resends).
    case tick
    /// A message from another node arrived.
    case received(from: RaftNodeId, RaftMessage)
    /// Graceful shutdown: a leader resigns and tells the voters (EndQuorumEpoch).
    case shutdown
}

/// One KRaft replica of `__cluster_metadata-0` as a pure state machine:
/// `(state, event, now) -> (state', [RaftEffect])`. No I/O, no clock, no ambient randomness
/// (a seeded generator is part of the state), so the simulation runs the very same code.
///
/// The rules are Kafka's `KafkaRaftClient` / `QuorumState` / `*State.java` (KIP-595), not
/// textbook Raft where the two differ: pull replication through Fetch with LastFetchedEpoch
/// and DivergingEpoch, BeginQuorumEpoch / EndQuorumEpoch, the leader's LeaderChangeMessage at
/// the start of its epoch, commit only above the epoch start offset, check-quorum, and a
/// restarted leader coming back *Resigned*. Differences from Kafka are listed in DESIGN.md.
public struct RaftReplica: Sendable {
    public let localId: RaftNodeId
    public let config: QuorumConfig
    /// Test-only broken rules (see ``RaftTestingFaults``).
    public var faults: RaftTestingFaults
    public private(set) var state: EpochState
    /// Mirror of the log (end offset and epochs); see ``RaftLogView``.
    public private(set) var log: RaftLogView
    /// Everything below is committed. Never decreases in one incarnation (not persisted: a
    /// restarted node learns it from the leader, as Kafka's does).
    public private(set) var highWatermark: Int64 = 0

    var random: SeededRandom
    var nextCorrelationId: Int32 = 1
    var inflight: [RaftNodeId: InFlight] = [:]
    var backoffUntil: [RaftNodeId: Int64] = [:]
    var parked: [ParkedFetch] = []
    /// The high watermark the leader last sent each fetcher (what it knows is committed).
    /// A fetch at the log end from a fetcher that has not seen the current high watermark is
    /// answered at once instead of parked: Kafka answers a fetch whose high watermark moved
    /// (`isHighWatermarkUpdated`) and completes every parked fetch when it moves. Parking it
    /// made followers and observers learn each commit only when their parked fetch expired
    /// (fetch max wait, 500 ms): metadata reached the other brokers ~500 ms after the commit.
    /// Keyed by the fetcher's replica id, not by the message's sender: the NIO transport gives
    /// every inbound request its own return address, so keyed by sender no fetch ever parked
    /// (each follower re-fetched ~400 times a second on an idle cluster) and the map grew by
    /// one entry per fetch.
    var sentHighWatermark: [RaftNodeId: Int64] = [:]
    /// What the leader saw of each replica (voters and observers) in its epoch, for
    /// DescribeQuorum; empty outside the Leader state.
    public private(set) var progress: [RaftNodeId: ReplicaProgress] = [:]
    var effects: [RaftEffect] = []
    var now: Int64 = 0

    struct InFlight: Equatable, Sendable {
        var correlationId: Int32
        var apiKey: ApiKey
        var deadline: Int64
    }

    struct ParkedFetch: Equatable, Sendable {
        /// Where the answer goes (with the NIO transport, a return address unique to the request).
        var from: RaftNodeId
        /// The fetcher's replica id (ReplicaState), nil when it sent none.
        var replica: RaftNodeId?
        var correlationId: Int32
        var fetchOffset: Int64
        var deadline: Int64
    }

    // MARK: Start-up

    /// The replica as it starts from disk (Kafka's `QuorumState.initialize`):
    /// * the stored epoch is older than the log's last epoch: Unattached in the log's epoch;
    /// * the file names this node as leader: Resigned in that epoch (it may not vote again in
    ///   it, and must not lead it again: unflushed entries of that epoch may be gone);
    /// * it voted for itself: Candidate in the same epoch;
    /// * a known leader: Follower; else Unattached (with its vote, if any).
    /// The returned effects persist the initial state.
    public static func start(
        localId: RaftNodeId, config: QuorumConfig, stored: ElectionState?, log: RaftLogView,
        now: Int64, randomSeed: UInt64, faults: RaftTestingFaults = .none
    ) -> (RaftReplica, [RaftEffect]) {
        var replica = RaftReplica(localId: localId, config: config, faults: faults,
                                  state: .unattached(.init(epoch: 0, votedId: nil, electionDeadline: nil)),
                                  log: log, random: SeededRandom(seed: randomSeed))
        replica.now = now
        // A fresh correlation-id space per incarnation, so a response meant for the previous
        // process is not taken for one of ours.
        replica.nextCorrelationId = Int32.random(in: 1..<(1 << 30), using: &replica.random)
        let election = stored ?? ElectionState(epoch: 0)
        let voter = config.isVoter(localId)
        if election.epoch < log.lastFetchedEpoch {
            replica.state = .unattached(.init(epoch: log.lastFetchedEpoch, votedId: nil,
                                              electionDeadline: voter ? now + replica.randomElectionTimeout() : nil))
            replica.emit(.persistElectionState(ElectionState(epoch: log.lastFetchedEpoch)))
        } else if election.leaderId == localId {
            var preferred = config.voters.filter { $0 != localId }
            preferred.sort()
            replica.state = .resigned(.init(epoch: election.epoch, electionDeadline: now + replica.randomElectionTimeout(),
                                            unacknowledged: Set(preferred), preferredSuccessors: preferred))
        } else if election.votedId == localId, voter {
            replica.state = .candidate(.init(epoch: election.epoch, granted: [localId], rejected: [], retries: 1,
                                             electionDeadline: now + replica.randomElectionTimeout(), backoffUntil: nil))
            replica.emit(.persistElectionState(election))
        } else if let leader = election.leaderId {
            replica.state = .follower(.init(epoch: election.epoch, leaderId: leader, votedId: election.votedId,
                                            fetchDeadline: now + config.fetchTimeoutMs))
            replica.emit(.persistElectionState(election))
        } else {
            replica.state = .unattached(.init(epoch: election.epoch, votedId: election.votedId,
                                              electionDeadline: voter ? now + replica.randomElectionTimeout() : nil))
            replica.emit(.persistElectionState(election))
        }
        replica.emit(.transitioned(from: .unattached, to: replica.state.role, epoch: replica.state.epoch))
        // Kafka's KafkaRaftClient.initialize: the only voter stands at once rather than after an
        // election timeout, and with a majority of one it wins in the same step. This is what
        // makes the embedded single-node default lead (and commit) right at start-up.
        if voter, config.voters == [localId] {
            if case .candidate = replica.state {} else { replica.transitionToCandidate() }
        }
        replica.pollUntilStable()
        let effects = replica.effects
        replica.effects = []
        return (replica, effects)
    }

    private init(localId: RaftNodeId, config: QuorumConfig, faults: RaftTestingFaults, state: EpochState,
                 log: RaftLogView, random: SeededRandom) {
        self.localId = localId; self.config = config; self.faults = faults
        self.state = state; self.log = log; self.random = random
    }

    // MARK: Public API

    public var epoch: Int32 { state.epoch }
    public var role: RaftRole { state.role }
    public var leaderId: RaftNodeId? { state.leaderId(local: localId) }
    public var isVoter: Bool { config.isVoter(localId) }

    /// Handles one event at time `now` and runs the timers; returns what the driver must do.
    public mutating func handle(_ event: RaftEvent, now: Int64) -> [RaftEffect] {
        self.now = max(self.now, now)
        switch event {
        case .tick: break
        case .received(let from, let message): receive(from: from, message)
        case .shutdown:
            if case .leader = state { transitionToResigned() }
        }
        pollUntilStable()
        defer { effects = [] }
        return effects
    }

    /// Appends `values` as one record batch if this replica is the leader. Returns the
    /// (last offset, epoch) of the batch, nil when not leader (Kafka's NotLeaderException).
    public mutating func propose(_ values: [ByteBuffer], now: Int64) -> (OffsetAndEpoch?, [RaftEffect]) {
        self.now = max(self.now, now)
        guard case .leader = state, !values.isEmpty else { return (nil, []) }
        let records = values.enumerated().map { Record(offsetDelta: Int32($0.offset), value: $0.element) }
        let result = leaderAppend(RecordBatch(baseTimestamp: now, records: records))
        pollUntilStable()
        defer { effects = [] }
        return (result, effects)
    }

    /// The earliest time at which a `.tick` has something to do.
    public func nextDeadline() -> Int64? {
        var deadlines: [Int64] = inflight.values.map(\.deadline) + backoffUntil.values + parked.map(\.deadline)
        switch state {
        case .unattached(let s): if let d = s.electionDeadline { deadlines.append(d) }
        case .candidate(let s): deadlines.append(s.backoffUntil ?? s.electionDeadline)
        case .leader(let s):
            deadlines.append(s.beginQuorumEpochResendAt)
            if config.voters.count > 1 { deadlines.append(s.checkQuorumDeadline) }
        case .follower(let s): if isVoter { deadlines.append(s.fetchDeadline) }
        case .resigned(let s): deadlines.append(s.electionDeadline)
        }
        return deadlines.min()
    }

    /// Kafka's `LeaderState.describeQuorum`: the leader's view of every voter and of the
    /// observers that fetched in the last ``observerSessionTimeoutMs`` (end offset, last fetch,
    /// last caught up; the leader itself reports `now` for both). A replica that is not the
    /// leader answers NOT_LEADER_OR_FOLLOWER, as `KafkaRaftClient.handleDescribeQuorumRequest`;
    /// unlike Kafka's it also names the leader and epoch it knows, so a caller can go there.
    public func describeQuorum(now: Int64) -> DescribeQuorumResponse.PartitionData {
        var partition = DescribeQuorumResponse.PartitionData()
        partition.partitionIndex = MetadataPartition.partition
        guard case .leader(let l) = state else {
            partition.errorCode = ErrorCode.notLeaderOrFollower.rawValue
            partition.errorMessage = ErrorCode.notLeaderOrFollower.message
            partition.leaderId = leaderId ?? -1
            partition.leaderEpoch = state.epoch
            partition.highWatermark = -1
            return partition
        }
        partition.errorMessage = nil
        partition.leaderId = localId
        partition.leaderEpoch = l.epoch
        partition.highWatermark = l.highWatermarkEstablished ? highWatermark : -1
        func describe(_ id: RaftNodeId) -> DescribeQuorumResponse.ReplicaState {
            var r = DescribeQuorumResponse.ReplicaState()
            r.replicaId = id
            if id == localId {
                r.logEndOffset = log.endOffset
                r.lastFetchTimestamp = now
                r.lastCaughtUpTimestamp = now
            } else {
                let p = progress[id] ?? ReplicaProgress()
                r.logEndOffset = p.endOffset ?? -1
                r.lastFetchTimestamp = p.lastFetchTimestamp
                r.lastCaughtUpTimestamp = p.lastCaughtUpTimestamp
            }
            return r
        }
        partition.currentVoters = config.voters.map(describe)
        partition.observers = progress.filter { !config.isVoter($0.key) && now - $0.value.lastFetchTimestamp < Self.observerSessionTimeoutMs }
            .keys.sorted().map(describe)
        return partition
    }

    /// Kafka's `validateLeaderOnlyRequest` (FetchSnapshot, and Fetch's own epoch checks):
    /// FENCED_LEADER_EPOCH for an older epoch, UNKNOWN_LEADER_EPOCH for a newer one,
    /// NOT_LEADER_OR_FOLLOWER unless this replica leads; else NONE.
    public func validateLeaderOnlyRequest(epoch: Int32) -> ErrorCode {
        if epoch < state.epoch { return .fencedLeaderEpoch }
        if epoch > state.epoch { return .unknownLeaderEpoch }
        guard case .leader = state else { return .notLeaderOrFollower }
        return .none
    }

    /// Kafka's `LeaderState.OBSERVER_SESSION_TIMEOUT_MS`: an observer that has not fetched for
    /// this long is no longer listed.
    public static let observerSessionTimeoutMs: Int64 = 300_000

    // MARK: Helpers

    mutating func emit(_ effect: RaftEffect) { effects.append(effect) }

    /// Kafka's `randomElectionTimeoutMs`: uniform in [T, 2T).
    mutating func randomElectionTimeout() -> Int64 {
        config.electionTimeoutMs + Int64.random(in: 0..<max(1, config.electionTimeoutMs), using: &random)
    }

    /// Kafka's `binaryExponentialElectionBackoffMs`.
    mutating func electionBackoff(retries: Int) -> Int64 {
        let bound = 2 << min(20, max(1, retries) - 1)
        return min(QuorumConfig.retryBackoffBaseMs * Int64(Int.random(in: 0..<bound, using: &random)), config.electionBackoffMaxMs)
    }

    /// Kafka's `strictExponentialElectionBackoffMs` by position in the preferred successors.
    func endEpochElectionBackoff(_ successors: [RaftNodeId]) -> Int64 {
        guard let position = successors.firstIndex(of: localId) else { return config.electionBackoffMaxMs }
        if position == 0 { return 0 }
        return min(QuorumConfig.retryBackoffBaseMs << min(20, position - 1), config.electionBackoffMaxMs)
    }

    func clusterIdMismatch(_ theirs: String?) -> Bool {
        guard let mine = config.clusterId, let theirs else { return false }
        return mine != theirs
    }

    mutating func persist(_ election: ElectionState) {
        if faults.skipVotePersistence, election.leaderId == nil, let voted = election.votedId, voted != localId { return }
        emit(.persistElectionState(election))
    }

    // MARK: Transitions

    mutating func become(_ new: EpochState) {
        let old = state
        state = new
        inflight = [:]
        backoffUntil = [:]
        progress = [:]
        sentHighWatermark = [:]
        if case .leader = old {
            // Parked fetches learn the new state rather than waiting out their timeout.
            let waiting = parked
            parked = []
            for fetch in waiting {
                emit(.sendFetchResponse(to: fetch.from, correlationId: fetch.correlationId,
                                        fetchResponse(partitionError: .notLeaderOrFollower), readFrom: nil, maxBytes: 0))
            }
        }
        emit(.transitioned(from: old.role, to: new.role, epoch: new.epoch))
    }

    mutating func transitionToUnattached(_ epoch: Int32) {
        // Kafka's QuorumState.transitionToUnattached keeps the election timer running when the
        // node was already without a leader (Unattached, Voted, Candidate). Restarting it would
        // let one stale voter that keeps standing (and keeps being refused) hold every other
        // voter's timer back forever: the simulation found exactly that livelock.
        var deadline: Int64?
        if isVoter {
            switch state {
            case .unattached(let u): deadline = u.electionDeadline
            case .candidate(let c): deadline = c.electionDeadline
            default: break
            }
            if deadline == nil { deadline = now + randomElectionTimeout() }
        }
        persist(ElectionState(epoch: epoch))
        become(.unattached(.init(epoch: epoch, votedId: nil, electionDeadline: deadline)))
    }

    mutating func transitionToVoted(_ epoch: Int32, candidate: RaftNodeId) {
        persist(ElectionState(epoch: epoch, votedId: candidate))
        become(.unattached(.init(epoch: epoch, votedId: candidate, electionDeadline: now + randomElectionTimeout())))
    }

    mutating func transitionToCandidate() {
        guard isVoter else { return }
        var retries = 1
        if case .candidate(let c) = state { retries = c.retries + 1 }
        let epoch = state.epoch + 1
        persist(ElectionState(epoch: epoch, votedId: localId))
        become(.candidate(.init(epoch: epoch, granted: [localId], rejected: [], retries: retries,
                                electionDeadline: now + randomElectionTimeout(), backoffUntil: nil)))
        maybeWinElection()
    }

    mutating func maybeWinElection() {
        guard case .candidate(let c) = state, c.granted.count >= config.majority else { return }
        transitionToLeader(c)
    }

    mutating func transitionToLeader(_ candidate: EpochState.Candidate) {
        persist(ElectionState(epoch: candidate.epoch, leaderId: localId, votedId: localId))
        become(.leader(.init(epoch: candidate.epoch, epochStartOffset: log.endOffset, voterEndOffsets: [:],
                             acknowledged: [localId], beginQuorumEpochResendAt: now, fetchedSinceCheck: [],
                             checkQuorumDeadline: now + checkQuorumTimeout, highWatermarkEstablished: false)))
        // Kafka's onBecomeLeader: a LeaderChangeMessage opens the epoch, so that an entry of
        // this epoch exists to commit (the rule that lets older entries count as committed).
        var message = LeaderChangeMessage()
        message.version = 0
        message.leaderId = localId
        message.voters = config.voters.map { LeaderChangeMessage.Voter(voterId: $0) }
        message.grantingVoters = candidate.granted.sorted().map { LeaderChangeMessage.Voter(voterId: $0) }
        var value = ByteBuffer()
        do {
            try message.encode(into: &value, version: 0)
        } catch {
            emit(.fatal("cannot encode LeaderChangeMessage: \(error)"))
            return
        }
        let record = Record(offsetDelta: 0, key: ControlRecordKey(type: .leaderChange).encoded, value: value)
        leaderAppend(RecordBatch(isControl: true, baseTimestamp: now, records: [record]))
    }

    mutating func transitionToFollower(_ epoch: Int32, leader: RaftNodeId) {
        var voted: RaftNodeId?
        if epoch == state.epoch {
            switch state {
            case .unattached(let u): voted = u.votedId
            case .candidate: voted = localId
            case .follower(let f): voted = f.votedId
            default: break
            }
        }
        persist(ElectionState(epoch: epoch, leaderId: leader, votedId: voted))
        become(.follower(.init(epoch: epoch, leaderId: leader, votedId: voted, fetchDeadline: now + config.fetchTimeoutMs)))
    }

    mutating func transitionToResigned() {
        guard case .leader(let l) = state else { return }
        let others = config.voters.filter { $0 != localId }
        let preferred = others.sorted { a, b in
            let ea = l.voterEndOffsets[a] ?? -1, eb = l.voterEndOffsets[b] ?? -1
            return ea != eb ? ea > eb : a < b
        }
        become(.resigned(.init(epoch: l.epoch, electionDeadline: now + randomElectionTimeout(),
                               unacknowledged: Set(others), preferredSuccessors: preferred)))
    }

    var checkQuorumTimeout: Int64 { Int64(Double(config.fetchTimeoutMs) * QuorumConfig.checkQuorumTimeoutFactor) }

    /// Kafka's `maybeTransition` after a request or response that names an epoch and leader.
    mutating func maybeTransition(leader: RaftNodeId?, epoch: Int32) {
        guard hasConsistentLeader(epoch: epoch, leader: leader) else {
            emit(.fatal("message names leader \(leader.map(String.init) ?? "none") for epoch \(epoch), "
                        + "inconsistent with this node's leader \(leaderId.map(String.init) ?? "none") in epoch \(state.epoch)"))
            return
        }
        if epoch > state.epoch {
            if let leader { transitionToFollower(epoch, leader: leader) } else { transitionToUnattached(epoch) }
        } else if epoch == state.epoch, let leader, leaderId == nil {
            transitionToFollower(epoch, leader: leader)
        }
    }

    func hasConsistentLeader(epoch: Int32, leader: RaftNodeId?) -> Bool {
        if let leader, leader == localId {
            guard epoch == state.epoch else { return false }
            switch state {
            case .leader, .resigned: return true
            default: return false
            }
        }
        return epoch != state.epoch || leader == nil || leaderId == nil || leader == leaderId
    }

    /// Kafka's `maybeHandleCommonResponse`: true when the response is fully handled here.
    mutating func handleCommonResponse(_ error: ErrorCode, leader rawLeader: Int32, epoch: Int32) -> Bool {
        let leader: RaftNodeId? = rawLeader >= 0 ? rawLeader : nil
        if epoch < state.epoch || error == .unknownLeaderEpoch { return true }
        if epoch > state.epoch || error == .fencedLeaderEpoch || error == .notLeaderOrFollower {
            maybeTransition(leader: leader, epoch: epoch)
            return true
        }
        if let leader, leaderId == nil {
            maybeTransition(leader: leader, epoch: epoch)
            return error != .none
        }
        return false
    }

    // MARK: Timers and outgoing requests (Kafka's poll*)

    mutating func pollUntilStable() {
        for _ in 0..<4 {
            let before = state.role
            let beforeEpoch = state.epoch
            poll()
            if state.role == before && state.epoch == beforeEpoch { return }
        }
    }

    mutating func poll() {
        for (node, request) in inflight where request.deadline <= now {
            inflight[node] = nil
            backoffUntil[node] = now + config.retryBackoffMs
        }
        backoffUntil = backoffUntil.filter { $0.value > now }
        switch state {
        case .unattached(let u):
            if let deadline = u.electionDeadline, now >= deadline {
                transitionToCandidate()
            } else if !isVoter {
                // An observer (a broker) that knows no leader asks any voter; the answer names
                // the leader (Kafka's maybeSendAnyVoterFetch).
                sendAnyVoterFetch(u.epoch)
            }
        case .candidate(var c):
            if c.granted.count >= config.majority { return maybeWinElection() }
            if let backoff = c.backoffUntil {
                if now >= backoff { transitionToCandidate() }
            } else if now >= c.electionDeadline {
                c.backoffUntil = now + electionBackoff(retries: c.retries)
                state = .candidate(c)
            } else {
                for voter in config.voters where voter != localId && !c.granted.contains(voter) && !c.rejected.contains(voter) {
                    sendRequest(to: voter, .vote(voteRequest(c.epoch, to: voter)))
                }
            }
        case .leader(var l):
            if config.voters.count > 1, now >= l.checkQuorumDeadline {
                // Check-quorum: no majority fetched within 1.5 x fetch timeout; step down.
                transitionToResigned()
                return
            }
            if now >= l.beginQuorumEpochResendAt {
                for voter in config.voters where !l.acknowledged.contains(voter) {
                    sendRequest(to: voter, .beginQuorumEpoch(beginQuorumEpochRequest(l.epoch, to: voter)))
                }
                l.beginQuorumEpochResendAt = now + config.fetchTimeoutMs / 2
                state = .leader(l)
            }
            let expired = parked.filter { $0.deadline <= now }
            parked.removeAll { $0.deadline <= now }
            for fetch in expired { answerFetch(fetch.from, fetch.correlationId, fetchOffset: fetch.fetchOffset, replica: fetch.replica) }
        case .follower(let f):
            if isVoter, now >= f.fetchDeadline {
                transitionToCandidate()
            } else if !isVoter, now >= f.fetchDeadline {
                // An observer never stands for election: when its leader has gone quiet it asks
                // another voter, whose answer names a newer leader if there is one.
                var quiet = f
                quiet.fetchDeadline = now + config.fetchTimeoutMs
                state = .follower(quiet)
                sendAnyVoterFetch(f.epoch, onlyIfIdle: false)
            } else {
                sendRequest(to: f.leaderId, .fetch(fetchRequest(f.epoch)))
            }
        case .resigned(let r):
            if now >= r.electionDeadline {
                transitionToCandidate()
            } else {
                for voter in r.unacknowledged.sorted() {
                    sendRequest(to: voter, .endQuorumEpoch(endQuorumEpochRequest(r)))
                }
            }
        }
    }

    /// One Fetch to a voter chosen at random, unless one is already in flight.
    mutating func sendAnyVoterFetch(_ epoch: Int32, onlyIfIdle: Bool = true) {
        let candidates = config.voters.filter { $0 != localId && $0 != leaderId }
        guard !onlyIfIdle || inflight.isEmpty, let voter = candidates.randomElement(using: &random) else { return }
        sendRequest(to: voter, .fetch(fetchRequest(epoch)))
    }

    /// Sends unless a request to `node` is in flight or backing off (Kafka's RequestManager:
    /// one request per destination).
    mutating func sendRequest(to node: RaftNodeId, _ request: RaftRequest) {
        guard inflight[node] == nil, (backoffUntil[node] ?? 0) <= now else { return }
        let id = nextCorrelationId
        nextCorrelationId = nextCorrelationId == Int32.max ? 1 : nextCorrelationId + 1
        inflight[node] = InFlight(correlationId: id, apiKey: request.apiKey, deadline: now + config.requestTimeoutMs)
        emit(.send(to: node, .request(correlationId: id, request)))
    }

    mutating func failed(_ node: RaftNodeId) {
        backoffUntil[node] = now + config.retryBackoffMs
    }

    /// An error answer (e.g. NOT_LEADER_OR_FOLLOWER from a resigned leader) is not retried at
    /// once: without this a follower and a resigned leader would ping-pong as fast as the
    /// network allows.
    mutating func backOffAfterError(_ error: ErrorCode, _ node: RaftNodeId) {
        if error != .none { failed(node) }
    }

    func voteRequest(_ epoch: Int32, to voter: RaftNodeId) -> VoteRequest {
        var partition = VoteRequest.PartitionData()
        partition.partitionIndex = MetadataPartition.partition
        partition.candidateEpoch = epoch
        partition.candidateId = localId
        partition.lastOffsetEpoch = log.lastFetchedEpoch
        partition.lastOffset = log.endOffset
        var request = VoteRequest()
        request.clusterId = config.clusterId
        request.voterId = voter
        request.topics = [VoteRequest.TopicData(topicName: MetadataPartition.topicName, partitions: [partition])]
        return request
    }

    func beginQuorumEpochRequest(_ epoch: Int32, to voter: RaftNodeId) -> BeginQuorumEpochRequest {
        var partition = BeginQuorumEpochRequest.PartitionData()
        partition.partitionIndex = MetadataPartition.partition
        partition.leaderId = localId
        partition.leaderEpoch = epoch
        var request = BeginQuorumEpochRequest()
        request.clusterId = config.clusterId
        request.voterId = voter
        request.topics = [BeginQuorumEpochRequest.TopicData(topicName: MetadataPartition.topicName, partitions: [partition])]
        return request
    }

    func endQuorumEpochRequest(_ resigned: EpochState.Resigned) -> EndQuorumEpochRequest {
        var partition = EndQuorumEpochRequest.PartitionData()
        partition.partitionIndex = MetadataPartition.partition
        partition.leaderId = localId
        partition.leaderEpoch = resigned.epoch
        partition.preferredCandidates = resigned.preferredSuccessors.map { EndQuorumEpochRequest.ReplicaInfo(candidateId: $0) }
        var request = EndQuorumEpochRequest()
        request.clusterId = config.clusterId
        request.topics = [EndQuorumEpochRequest.TopicData(topicName: MetadataPartition.topicName, partitions: [partition])]
        return request
    }

    func fetchRequest(_ epoch: Int32) -> FetchRequest {
        var partition = FetchRequest.FetchPartition()
        partition.partition = MetadataPartition.partition
        partition.currentLeaderEpoch = epoch
        partition.fetchOffset = log.endOffset
        partition.lastFetchedEpoch = log.lastFetchedEpoch
        partition.logStartOffset = 0
        partition.partitionMaxBytes = config.fetchMaxBytes
        var request = FetchRequest()
        request.clusterId = config.clusterId
        request.replicaState = FetchRequest.ReplicaState(replicaId: localId, replicaEpoch: -1)
        request.maxWaitMs = Int32(clamping: config.fetchMaxWaitMs)
        request.minBytes = 0
        request.maxBytes = config.fetchMaxBytes
        var topic = FetchRequest.FetchTopic()
        topic.topicId = MetadataPartition.topicId
        topic.partitions = [partition]
        request.topics = [topic]
        return request
    }

    // MARK: Inbound

    mutating func receive(from: RaftNodeId, _ message: RaftMessage) {
        switch message {
        case .request(let id, let request):
            switch request {
            case .vote(let r):
                let response = handleVote(r)
                emit(.send(to: from, .response(correlationId: id, .vote(response))))
            case .beginQuorumEpoch(let r):
                let response = handleBeginQuorumEpoch(r)
                emit(.send(to: from, .response(correlationId: id, .beginQuorumEpoch(response))))
            case .endQuorumEpoch(let r):
                let response = handleEndQuorumEpoch(r)
                emit(.send(to: from, .response(correlationId: id, .endQuorumEpoch(response))))
            case .fetch(let r):
                handleFetch(from: from, correlationId: id, r)
            }
        case .response(let id, let response):
            guard let expected = inflight[from], expected.correlationId == id, expected.apiKey == response.apiKey else {
                return   // late, duplicated, or from an earlier state: ignored
            }
            inflight[from] = nil
            switch response {
            case .vote(let r): handleVoteResponse(from: from, r)
            case .beginQuorumEpoch(let r): handleBeginQuorumEpochResponse(from: from, r)
            case .endQuorumEpoch(let r): handleEndQuorumEpochResponse(from: from, r)
            case .fetch(let r): handleFetchResponse(from: from, r)
            }
        }
    }

    // MARK: Vote

    mutating func handleVote(_ request: VoteRequest) -> VoteResponse {
        var response = VoteResponse()
        if clusterIdMismatch(request.clusterId) {
            response.errorCode = ErrorCode.inconsistentClusterId.rawValue
            return response
        }
        guard request.topics.count == 1, request.topics[0].topicName == MetadataPartition.topicName,
              request.topics[0].partitions.count == 1, request.topics[0].partitions[0].partitionIndex == MetadataPartition.partition else {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            return response
        }
        let p = request.topics[0].partitions[0]
        func answer(_ error: ErrorCode, granted: Bool) -> VoteResponse {
            var partition = VoteResponse.PartitionData()
            partition.partitionIndex = MetadataPartition.partition
            partition.errorCode = error.rawValue
            partition.leaderId = leaderId ?? -1
            partition.leaderEpoch = state.epoch
            partition.voteGranted = granted
            var r = VoteResponse()
            r.topics = [VoteResponse.TopicData(topicName: MetadataPartition.topicName, partitions: [partition])]
            return r
        }
        guard p.lastOffset >= 0, p.lastOffsetEpoch >= 0, p.lastOffsetEpoch < p.candidateEpoch else {
            return answer(.invalidRequest, granted: false)
        }
        if p.candidateEpoch < state.epoch { return answer(.fencedLeaderEpoch, granted: false) }
        if p.candidateEpoch > state.epoch { transitionToUnattached(p.candidateEpoch) }
        var granted = false
        if case .unattached(let u) = state, isVoter, config.isVoter(p.candidateId) {
            if let voted = u.votedId {
                granted = voted == p.candidateId
            } else {
                let candidateLog = OffsetAndEpoch(offset: p.lastOffset, epoch: p.lastOffsetEpoch)
                if faults.grantVotesIgnoringLog || candidateLog >= log.endOffsetAndEpoch {
                    transitionToVoted(state.epoch, candidate: p.candidateId)
                    granted = true
                }
            }
        }
        return answer(.none, granted: granted)
    }

    mutating func handleVoteResponse(from: RaftNodeId, _ response: VoteResponse) {
        guard response.errorCode == 0, let p = response.topics.first?.partitions.first else { return failed(from) }
        let error = ErrorCode(rawValue: p.errorCode)
        if handleCommonResponse(error, leader: p.leaderId, epoch: p.leaderEpoch) { return backOffAfterError(error, from) }
        guard error == .none else { return failed(from) }
        guard case .candidate(var c) = state, p.leaderEpoch == c.epoch else { return }
        if p.voteGranted {
            c.granted.insert(from)
            state = .candidate(c)
            maybeWinElection()
        } else {
            c.rejected.insert(from)
            if c.rejected.count > config.voters.count - config.majority, c.backoffUntil == nil {
                c.backoffUntil = now + electionBackoff(retries: c.retries)
            }
            state = .candidate(c)
        }
    }

    // MARK: BeginQuorumEpoch / EndQuorumEpoch

    mutating func handleBeginQuorumEpoch(_ request: BeginQuorumEpochRequest) -> BeginQuorumEpochResponse {
        var response = BeginQuorumEpochResponse()
        if clusterIdMismatch(request.clusterId) {
            response.errorCode = ErrorCode.inconsistentClusterId.rawValue
            return response
        }
        guard request.topics.count == 1, request.topics[0].topicName == MetadataPartition.topicName,
              request.topics[0].partitions.count == 1 else {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            return response
        }
        let p = request.topics[0].partitions[0]
        var error = ErrorCode.none
        if p.leaderEpoch < state.epoch {
            error = .fencedLeaderEpoch
        } else {
            maybeTransition(leader: p.leaderId >= 0 ? p.leaderId : nil, epoch: p.leaderEpoch)
        }
        var partition = BeginQuorumEpochResponse.PartitionData()
        partition.partitionIndex = MetadataPartition.partition
        partition.errorCode = error.rawValue
        partition.leaderId = leaderId ?? -1
        partition.leaderEpoch = state.epoch
        response.topics = [BeginQuorumEpochResponse.TopicData(topicName: MetadataPartition.topicName, partitions: [partition])]
        return response
    }

    mutating func handleBeginQuorumEpochResponse(from: RaftNodeId, _ response: BeginQuorumEpochResponse) {
        guard response.errorCode == 0, let p = response.topics.first?.partitions.first else { return failed(from) }
        let error = ErrorCode(rawValue: p.errorCode)
        if handleCommonResponse(error, leader: p.leaderId, epoch: p.leaderEpoch) { return backOffAfterError(error, from) }
        guard error == .none else { return failed(from) }
        if case .leader(var l) = state {
            l.acknowledged.insert(from)
            state = .leader(l)
        }
    }

    mutating func handleEndQuorumEpoch(_ request: EndQuorumEpochRequest) -> EndQuorumEpochResponse {
        var response = EndQuorumEpochResponse()
        if clusterIdMismatch(request.clusterId) {
            response.errorCode = ErrorCode.inconsistentClusterId.rawValue
            return response
        }
        guard request.topics.count == 1, request.topics[0].topicName == MetadataPartition.topicName,
              request.topics[0].partitions.count == 1 else {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            return response
        }
        let p = request.topics[0].partitions[0]
        var error = ErrorCode.none
        if p.leaderEpoch < state.epoch {
            error = .fencedLeaderEpoch
        } else {
            maybeTransition(leader: p.leaderId >= 0 ? p.leaderId : nil, epoch: p.leaderEpoch)
            if case .follower(var f) = state, f.leaderId == p.leaderId, f.epoch == p.leaderEpoch {
                // The resigning leader ranks successors by log end: the first campaigns at once,
                // the others back off by their position.
                let successors = p.preferredCandidates.isEmpty ? p.preferredSuccessors : p.preferredCandidates.map(\.candidateId)
                f.fetchDeadline = min(f.fetchDeadline, now + endEpochElectionBackoff(successors))
                state = .follower(f)
            }
        }
        var partition = EndQuorumEpochResponse.PartitionData()
        partition.partitionIndex = MetadataPartition.partition
        partition.errorCode = error.rawValue
        partition.leaderId = leaderId ?? -1
        partition.leaderEpoch = state.epoch
        response.topics = [EndQuorumEpochResponse.TopicData(topicName: MetadataPartition.topicName, partitions: [partition])]
        return response
    }

    mutating func handleEndQuorumEpochResponse(from: RaftNodeId, _ response: EndQuorumEpochResponse) {
        guard response.errorCode == 0, let p = response.topics.first?.partitions.first else { return failed(from) }
        let error = ErrorCode(rawValue: p.errorCode)
        if handleCommonResponse(error, leader: p.leaderId, epoch: p.leaderEpoch) { return backOffAfterError(error, from) }
        guard error == .none else { return failed(from) }
        if case .resigned(var r) = state {
            r.unacknowledged.remove(from)
            state = .resigned(r)
        }
    }

    // MARK: Fetch (leader side)

    /// The high watermark a successful fetch response carries now (-1 until established).
    var responseHighWatermark: Int64 {
        if case .leader(let l) = state, l.highWatermarkEstablished { return highWatermark }
        return -1
    }

    func fetchResponse(topLevelError: ErrorCode = .none, partitionError: ErrorCode = .none,
                       divergence: OffsetAndEpoch? = nil) -> FetchResponse {
        var response = FetchResponse()
        response.errorCode = topLevelError.rawValue
        guard topLevelError == .none else { return response }
        var partition = FetchResponse.PartitionData()
        partition.partitionIndex = MetadataPartition.partition
        partition.errorCode = partitionError.rawValue
        if case .leader(let l) = state, l.highWatermarkEstablished, partitionError == .none {
            partition.highWatermark = highWatermark
        } else {
            partition.highWatermark = -1
        }
        partition.logStartOffset = 0
        partition.currentLeader = FetchResponse.LeaderIdAndEpoch(leaderId: leaderId ?? -1, leaderEpoch: state.epoch)
        if let divergence {
            partition.divergingEpoch = FetchResponse.EpochEndOffset(epoch: divergence.epoch, endOffset: divergence.offset)
        }
        partition.records = ByteBuffer()
        var topic = FetchResponse.FetchableTopicResponse()
        topic.topic = MetadataPartition.topicName
        topic.topicId = MetadataPartition.topicId
        topic.partitions = [partition]
        response.responses = [topic]
        return response
    }

    mutating func handleFetch(from: RaftNodeId, correlationId: Int32, _ request: FetchRequest) {
        func reply(_ response: FetchResponse, readFrom: Int64? = nil) {
            emit(.sendFetchResponse(to: from, correlationId: correlationId, response, readFrom: readFrom,
                                    maxBytes: Int(config.fetchMaxBytes)))
        }
        if clusterIdMismatch(request.clusterId) { return reply(fetchResponse(topLevelError: .inconsistentClusterId)) }
        guard request.topics.count == 1, isMetadataTopic(request.topics[0].topic, request.topics[0].topicId),
              request.topics[0].partitions.count == 1, request.topics[0].partitions[0].partition == MetadataPartition.partition else {
            return reply(fetchResponse(topLevelError: .invalidRequest))
        }
        let p = request.topics[0].partitions[0]
        let replicaId = request.replicaState.replicaId >= 0 ? request.replicaState.replicaId : request.replicaId
        guard p.fetchOffset >= 0, p.lastFetchedEpoch >= 0, p.lastFetchedEpoch <= p.currentLeaderEpoch else {
            return reply(fetchResponse(partitionError: .invalidRequest))
        }
        if p.currentLeaderEpoch < state.epoch { return reply(fetchResponse(partitionError: .fencedLeaderEpoch)) }
        if p.currentLeaderEpoch > state.epoch { return reply(fetchResponse(partitionError: .unknownLeaderEpoch)) }
        guard case .leader(var l) = state else { return reply(fetchResponse(partitionError: .notLeaderOrFollower)) }

        if config.isVoter(replicaId), replicaId != localId {
            l.acknowledged.insert(replicaId)
            l.fetchedSinceCheck.insert(replicaId)
            if l.fetchedSinceCheck.count >= config.majority - 1 {
                l.fetchedSinceCheck = []
                l.checkQuorumDeadline = now + checkQuorumTimeout
            }
            state = .leader(l)
        }
        if let divergence = log.diverging(fetchOffset: p.fetchOffset, lastFetchedEpoch: p.lastFetchedEpoch) {
            return reply(fetchResponse(divergence: divergence))
        }
        if replicaId >= 0, replicaId != localId {
            progress[replicaId, default: ReplicaProgress()].recordFetch(fetchOffset: p.fetchOffset, leaderEndOffset: log.endOffset, now: now)
        }
        if config.isVoter(replicaId), replicaId != localId {
            l.voterEndOffsets[replicaId] = p.fetchOffset
            state = .leader(l)
            maybeAdvanceLeaderHighWatermark()
        }
        // A fetcher without a replica id cannot be told apart from the others: it is parked at
        // the log end without the "has it seen the HW" check (every HW move completes it).
        let sender: RaftNodeId? = replicaId >= 0 ? replicaId : nil
        if p.fetchOffset >= log.endOffset, request.maxWaitMs > 0,
           sender.map({ sentHighWatermark[$0] == responseHighWatermark }) ?? true {
            parked.removeAll { $0.from == from }
            parked.append(ParkedFetch(from: from, replica: sender, correlationId: correlationId, fetchOffset: p.fetchOffset,
                                      deadline: now + min(Int64(request.maxWaitMs), config.fetchMaxWaitMs)))
            return
        }
        answerFetch(from, correlationId, fetchOffset: p.fetchOffset, replica: sender)
    }

    mutating func answerFetch(_ to: RaftNodeId, _ correlationId: Int32, fetchOffset: Int64, replica: RaftNodeId?) {
        if let replica { sentHighWatermark[replica] = responseHighWatermark }
        emit(.sendFetchResponse(to: to, correlationId: correlationId, fetchResponse(),
                                readFrom: fetchOffset < log.endOffset ? fetchOffset : nil, maxBytes: Int(config.fetchMaxBytes)))
    }

    /// Parked fetches complete when the log or the high watermark moves.
    mutating func completeParkedFetches() {
        guard case .leader = state, !parked.isEmpty else { return }
        let waiting = parked
        parked = []
        for fetch in waiting { answerFetch(fetch.from, fetch.correlationId, fetchOffset: fetch.fetchOffset, replica: fetch.replica) }
    }

    func isMetadataTopic(_ name: String, _ id: KafkaUUID) -> Bool {
        id == MetadataPartition.topicId || (id == .zero && name == MetadataPartition.topicName)
    }

    /// Kafka's `LeaderState.maybeUpdateHighWatermark`: the voters' end offsets sorted
    /// descending, taken at index voters/2 (the largest offset a majority holds), adopted only
    /// above the epoch start offset and never backwards.
    mutating func maybeAdvanceLeaderHighWatermark() {
        guard case .leader(var l) = state else { return }
        l.voterEndOffsets[localId] = log.endOffset
        let offsets = config.voters.map { l.voterEndOffsets[$0] ?? -1 }.sorted(by: >)
        let candidate = faults.commitWithoutMajority ? log.endOffset : offsets[config.voters.count / 2]
        if candidate > l.epochStartOffset, candidate > highWatermark {
            highWatermark = candidate
            l.highWatermarkEstablished = true
            state = .leader(l)
            emit(.highWatermark(candidate))
            completeParkedFetches()
        } else {
            state = .leader(l)
        }
    }

    /// Appends one batch at the log end in the leader's epoch, then flushes; only then does
    /// the leader count its own end offset (Kafka's `flushLeaderLog`).
    @discardableResult
    mutating func leaderAppend(_ batch: RecordBatch) -> OffsetAndEpoch? {
        guard case .leader(let l) = state else { return nil }
        var batch = batch
        batch.baseOffset = log.endOffset
        batch.partitionLeaderEpoch = l.epoch
        let bytes: ByteBuffer
        do { bytes = try batch.encoded() } catch {
            emit(.fatal("cannot encode a metadata batch: \(error)"))
            return nil
        }
        let info = BatchInfo(baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, epoch: l.epoch)
        emit(.appendAsLeader(bytes, epoch: l.epoch, expectedBaseOffset: info.baseOffset))
        emit(.flush)
        log.append([info])
        maybeAdvanceLeaderHighWatermark()
        completeParkedFetches()
        return OffsetAndEpoch(offset: info.lastOffset, epoch: l.epoch)
    }

    // MARK: Fetch (follower side)

    mutating func handleFetchResponse(from: RaftNodeId, _ response: FetchResponse) {
        guard response.errorCode == 0, let topic = response.responses.first, isMetadataTopic(topic.topic, topic.topicId),
              let p = topic.partitions.first else { return failed(from) }
        let error = ErrorCode(rawValue: p.errorCode)
        if handleCommonResponse(error, leader: p.currentLeader.leaderId, epoch: p.currentLeader.leaderEpoch) { return backOffAfterError(error, from) }
        guard case .follower(var f) = state, f.leaderId == from else { return }
        guard error == .none else { return failed(from) }
        f.fetchDeadline = now + config.fetchTimeoutMs
        state = .follower(f)

        if p.divergingEpoch.epoch >= 0 || p.divergingEpoch.endOffset >= 0 {
            let divergence = OffsetAndEpoch(offset: p.divergingEpoch.endOffset, epoch: p.divergingEpoch.epoch)
            let cut = log.truncationOffset(for: divergence)
            if divergence.offset < highWatermark || cut < highWatermark {
                emit(.fatal("leader \(from) reports divergence \(divergence): truncating to \(cut) would go below the high watermark \(highWatermark)"))
                return
            }
            if cut < log.endOffset {
                emit(.truncate(to: cut))
                log.truncate(to: cut)
            }
            return
        }
        if let records = p.records, records.readableBytes > 0 {
            let batches: [(info: BatchInfo, start: Int, size: Int)]
            do { batches = try BatchInfo.scanWithPositions(records) } catch {
                return failed(from)
            }
            let kept = batches.filter { $0.info.lastOffset >= log.endOffset }
            if let first = kept.first {
                guard first.info.baseOffset == log.endOffset else { return failed(from) }
                let start = first.start
                let end = kept[kept.count - 1].start + kept[kept.count - 1].size
                emit(.appendAsFollower(records.getSlice(at: start, length: end - start)!))
                // Voters flush before their next Fetch: the leader counts the fetch offset as durable.
                emit(.flush)
                log.append(kept.map(\.info))
            }
        }
        if p.highWatermark >= 0 {
            let candidate = min(p.highWatermark, log.endOffset)
            if candidate > highWatermark {
                highWatermark = candidate
                emit(.highWatermark(candidate))
            }
        }
    }
}

extension BatchInfo {
    /// Like ``scan(_:)``, with each batch's absolute reader position and size in `records`.
    static func scanWithPositions(_ records: ByteBuffer) throws -> [(info: BatchInfo, start: Int, size: Int)] {
        var result: [(info: BatchInfo, start: Int, size: Int)] = []
        var index = records.readerIndex
        while records.writerIndex - index >= RecordBatchHeader.logOverhead + 5 {
            let header = try RecordBatchHeader.peek(records, at: index)
            guard header.totalSize <= records.writerIndex - index else { break }
            try header.verifyCRC(of: records, at: index)
            result.append((BatchInfo(baseOffset: header.baseOffset, lastOffset: header.lastOffset, epoch: header.partitionLeaderEpoch),
                           index, header.totalSize))
            index += header.totalSize
        }
        return result
    }
}


/// Kafka's `LeaderState.ReplicaState` for one remote replica, as DescribeQuorum reports it.
public struct ReplicaProgress: Equatable, Sendable {
    /// The last fetch offset (nil until the replica fetched in this epoch).
    public var endOffset: Int64?
    public var lastFetchTimestamp: Int64 = -1
    /// The leader's end offset at the previous fetch.
    public var lastFetchLeaderLogEndOffset: Int64 = -1
    /// When the replica was last at the leader's end offset (KIP-836): now if this fetch is at
    /// the leader's end, else the previous fetch time if this fetch reached the end the leader
    /// had then.
    public var lastCaughtUpTimestamp: Int64 = -1

    public init() {}

    /// Kafka's `updateFollowerState`: the caught-up time is updated before the fetch time, so
    /// that catching up to the previous end credits the previous fetch's time.
    mutating func recordFetch(fetchOffset: Int64, leaderEndOffset: Int64, now: Int64) {
        if fetchOffset >= leaderEndOffset {
            lastCaughtUpTimestamp = max(lastCaughtUpTimestamp, now)
        } else if lastFetchLeaderLogEndOffset > 0, fetchOffset >= lastFetchLeaderLogEndOffset {
            lastCaughtUpTimestamp = max(lastCaughtUpTimestamp, lastFetchTimestamp)
        }
        lastFetchLeaderLogEndOffset = leaderEndOffset
        lastFetchTimestamp = max(lastFetchTimestamp, now)
        endOffset = fetchOffset
    }
}
