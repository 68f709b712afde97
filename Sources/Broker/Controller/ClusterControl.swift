import KafkaProtocol

/// The active controller's cluster logic as a pure state machine: broker registration,
/// heartbeats, session expiry, fencing and unfencing, controlled shutdown, and the leader and
/// ISR changes they cause. Kafka's `ClusterControlManager`, `BrokerHeartbeatManager` and the
/// broker-lifecycle half of `ReplicationControlManager` (`handleBrokerFenced`,
/// `handleBrokerUnfenced`, `handleBrokerInControlledShutdown`, `handleBrokerShutdown`).
///
/// ## Shape
/// `(sessions, image, event, now, nextWriteOffset) -> (sessions', records, reply)`:
/// * `image` is the controller's current metadata: every record already committed **or
///   already proposed** (Kafka's active controller replays its own records as it writes them).
///   This type never applies records to it; the caller appends ``Outcome/records`` to the
///   metadata log and its image follows.
/// * `nextWriteOffset` is the offset the first returned record will get. The active controller
///   knows it before writing (it is the only writer of the metadata log; Kafka passes
///   `offsetControl.nextWriteOffset()`). That is the first phase of registration: the broker
///   epoch is the offset of the `RegisterBrokerRecord`, which is always the first record of its
///   batch. The second phase is the caller's: ``Outcome/reply`` is sent only once the records
///   are committed (Kafka completes the request future at the high watermark), so no broker ever
///   holds an epoch that a controller failover could lose.
/// * The only state kept here is what Kafka keeps in memory and never writes: each broker's
///   session (last contact, last metadata offset it reported, controlled-shutdown offset).
///   A new active controller calls ``activate(image:now:)``: every registered broker gets a
///   fresh session, as Kafka's `ClusterControlManager.activate` does on failover.
///
/// Time is milliseconds from an injected clock. A value type; `Sendable`.
public struct ClusterControl: Sendable, Equatable {
    /// In-memory per-broker state (Kafka's `BrokerHeartbeatState`).
    public struct Session: Sendable, Equatable {
        /// When the last heartbeat (or registration) arrived.
        public var lastContactMs: Int64
        /// The last `CurrentMetadataOffset` the broker reported; -1 before its first heartbeat.
        public var metadataOffset: Int64
        /// The end offset of the batch that started its controlled shutdown; -1 when not shutting down.
        public var controlledShutdownOffset: Int64
    }

    /// What an event produced: records to append in order at `nextWriteOffset`, and the reply
    /// to send once they are committed (immediately when `records` is empty).
    public struct Outcome<Reply: Sendable & Equatable>: Sendable, Equatable {
        public var records: [MetadataRecord]
        public var reply: Reply
        /// Why the request was refused, for the controller's log (the wire reply has no message).
        public var errorMessage: String?
    }

    /// Kafka's `BrokerControlState`.
    public enum BrokerControlState: Sendable, Equatable {
        case fenced, unfenced, controlledShutdown, shutdownNow
        var isFenced: Bool { self == .fenced || self == .shutdownNow }
    }

    public let clusterId: String
    /// `broker.session.timeout.ms`.
    public let sessionTimeoutMs: Int64
    /// The static broker default of `unclean.leader.election.enable` (a topic's own config and the
    /// cluster-wide dynamic default come from the image): when on, a partition whose ISR has no
    /// active member gets an out-of-sync active replica as leader when a broker is fenced or
    /// unfenced (Kafka's `generateLeaderAndIsrUpdates` with `Election.UNCLEAN`).
    public var uncleanLeaderElectionDefault: Bool
    public private(set) var sessions: [Int32: Session] = [:]

    public init(clusterId: String, sessionTimeoutMs: Int64, uncleanLeaderElectionDefault: Bool = false) {
        self.clusterId = clusterId
        self.sessionTimeoutMs = sessionTimeoutMs
        self.uncleanLeaderElectionDefault = uncleanLeaderElectionDefault
    }

    // MARK: - Activation and sessions

    /// This node became the active controller: every registered broker is treated as having
    /// just heartbeated (its heartbeats went to the previous controller), as Kafka's
    /// `ClusterControlManager.activate` touches every registration. An unfenced one that does
    /// not heartbeat within the session timeout is then fenced; a fenced one has no valid
    /// session either way. `image` must hold everything earlier controllers committed
    /// (`ClusterRuntime` activates only once it has applied its epoch's start offset): a broker
    /// missing from it would have no session.
    public mutating func activate(image: MetadataImage, now: Int64) {
        sessions = [:]
        for b in image.brokers.values {
            sessions[b.id] = Session(lastContactMs: now, metadataOffset: -1, controlledShutdownOffset: -1)
        }
    }

    /// Kafka's `hasValidSession`: registered, unfenced, and heard from within the timeout. A
    /// broker this controller has no session for has none (Kafka's `BrokerHeartbeatTracker`
    /// answers false for an unknown broker): a re-registration with a new incarnation id then
    /// replaces it rather than being refused as DUPLICATE_BROKER_REGISTRATION forever (nothing
    /// would ever expire an untracked registration).
    public func hasValidSession(_ id: Int32, image: MetadataImage, now: Int64) -> Bool {
        guard let b = image.brokers[id], !b.fenced, let s = sessions[id] else { return false }
        return s.lastContactMs + sessionTimeoutMs >= now
    }

    /// When ``fenceExpiredSessions(image:nextWriteOffset:now:)`` next has work: the earliest
    /// session end among unfenced brokers, nil when none.
    public func nextSessionExpiry(image: MetadataImage) -> Int64? {
        sessions.filter { image.brokers[$0.key].map { !$0.fenced } ?? false }
            .map { $0.value.lastContactMs + sessionTimeoutMs + 1 }.min()
    }

    // MARK: - Registration (BrokerRegistration, api key 62)

    /// Kafka's `ClusterControlManager.registerBroker`. A new incarnation starts fenced; the same
    /// incarnation registering again (a retried request) keeps its fencing and shutdown state.
    /// Either way the broker epoch is the offset of the new `RegisterBrokerRecord`.
    public mutating func register(_ request: BrokerRegistrationRequest, image: MetadataImage, nextWriteOffset: Int64,
                                  now: Int64) -> Outcome<BrokerRegistrationResponse> {
        func refuse(_ code: ErrorCode, _ message: String) -> Outcome<BrokerRegistrationResponse> {
            Outcome(records: [], reply: BrokerRegistrationResponse(errorCode: code.rawValue, brokerEpoch: -1), errorMessage: message)
        }
        guard request.clusterId == clusterId else {
            return refuse(.inconsistentClusterId, "Expected cluster ID \(clusterId), but got cluster ID \(request.clusterId)")
        }
        let id = request.brokerId
        let existing = image.brokers[id]
        if let existing, hasValidSession(id, image: image, now: now), existing.incarnationId != request.incarnationId {
            return refuse(.duplicateBrokerRegistration, "Another broker is registered with that broker id.")
        }
        // Every finalized feature must be within what the broker supports (absent = [0, 0]).
        for (name, level) in image.features.sorted(by: { $0.key < $1.key }) {
            let supported = request.features.first { $0.name == name }
            let low = supported?.minSupportedVersion ?? 0, high = supported?.maxSupportedVersion ?? 0
            if level < low || level > high {
                return refuse(.unsupportedVersion, "Unable to register because the broker does not support finalized version \(level) of \(name). "
                    + "The broker wants a version between \(low) and \(high), inclusive.")
            }
        }
        let sameIncarnation = existing?.incarnationId == request.incarnationId
        let registration = BrokerRegistration(
            id: id,
            endpoints: request.listeners.map { BrokerEndpoint(listener: $0.name, host: $0.host, port: Int32($0.port), securityProtocol: $0.securityProtocol) },
            rack: request.rack.flatMap { $0.isEmpty ? nil : $0 },
            fenced: sameIncarnation ? existing!.fenced : true,
            epoch: nextWriteOffset,
            incarnationId: request.incarnationId,
            inControlledShutdown: sameIncarnation ? existing!.inControlledShutdown : false)
        if sameIncarnation, var s = sessions[id] {
            s.lastContactMs = now
            sessions[id] = s
        } else {
            sessions[id] = Session(lastContactMs: now, metadataOffset: -1, controlledShutdownOffset: -1)
        }
        // A new incarnation replacing a registration that was never fenced (the old process
        // died and its session ran out, but no expiry check ran yet): take the old incarnation
        // out of every ISR and move its leaderships in the same batch, as Kafka's
        // `addRecordsForShutdown` does, so no partition is left led by a fenced broker.
        // These come after the RegisterBrokerRecord, which stays first: epoch == its offset.
        var cleanup: [MetadataRecord] = []
        if let existing, !sameIncarnation {
            cleanup = Self.leaderAndIsrUpdates(image: image, remove: existing.id, add: nil, uncleanDefault: uncleanLeaderElectionDefault) { $0.isr.contains(id) }
        }
        return Outcome(records: [.registerBroker(registration)] + cleanup,
                       reply: BrokerRegistrationResponse(errorCode: 0, brokerEpoch: nextWriteOffset), errorMessage: nil)
    }

    // MARK: - Heartbeats (BrokerHeartbeat, api key 63)

    /// Kafka's `ReplicationControlManager.processBrokerHeartbeat` with
    /// `BrokerHeartbeatManager.calculateNextBrokerState`.
    public mutating func heartbeat(_ request: BrokerHeartbeatRequest, image: MetadataImage, nextWriteOffset: Int64,
                                   now: Int64) -> Outcome<BrokerHeartbeatResponse> {
        let id = request.brokerId
        guard let registration = image.brokers[id] else {
            return Outcome(records: [], reply: BrokerHeartbeatResponse(errorCode: ErrorCode.staleBrokerEpoch.rawValue),
                           errorMessage: "No broker registration found for broker \(id)")
        }
        guard registration.epoch == request.brokerEpoch else {
            return Outcome(records: [], reply: BrokerHeartbeatResponse(errorCode: ErrorCode.staleBrokerEpoch.rawValue),
                           errorMessage: "Expected broker epoch \(registration.epoch), but got broker epoch \(request.brokerEpoch)")
        }
        // The register record's offset is the broker epoch (it is first in its batch).
        let registerOffset = registration.epoch
        var session = sessions[id] ?? Session(lastContactMs: now, metadataOffset: -1, controlledShutdownOffset: -1)
        let current = Self.state(of: registration)
        let next = nextState(current: current, request: request, registerOffset: registerOffset, session: session, image: image)

        var records: [MetadataRecord] = []
        if current != next {
            switch next {
            case .fenced: records = Self.fencingRecords(id, image: image, uncleanDefault: uncleanLeaderElectionDefault)
            case .unfenced: records = Self.unfencingRecords(id, image: image, uncleanDefault: uncleanLeaderElectionDefault)
            case .controlledShutdown: records = Self.controlledShutdownRecords(id, image: image, uncleanDefault: uncleanLeaderElectionDefault)
            case .shutdownNow: records = Self.shutdownRecords(id, image: image, uncleanDefault: uncleanLeaderElectionDefault)
            }
        }
        // touch: contact time, reported offset; a fenced broker has no session to expire.
        session.lastContactMs = now
        session.metadataOffset = request.currentMetadataOffset
        if next == .controlledShutdown, session.controlledShutdownOffset < 0 {
            session.controlledShutdownOffset = nextWriteOffset + Int64(records.count) - 1
        }
        if next.isFenced {
            sessions[id] = nil
        } else {
            sessions[id] = session
        }
        let reply = BrokerHeartbeatResponse(errorCode: 0, isCaughtUp: request.currentMetadataOffset >= registerOffset,
                                            isFenced: next.isFenced, shouldShutDown: next == .shutdownNow)
        return Outcome(records: records, reply: reply, errorMessage: nil)
    }

    static func state(of registration: BrokerRegistration) -> BrokerControlState {
        if registration.fenced { return .fenced }
        return registration.inControlledShutdown ? .controlledShutdown : .unfenced
    }

    func nextState(current: BrokerControlState, request: BrokerHeartbeatRequest, registerOffset: Int64,
                   session: Session, image: MetadataImage) -> BrokerControlState {
        let id = request.brokerId
        switch current {
        case .fenced:
            if request.wantShutDown { return .shutdownNow }
            if !request.wantFence, request.currentMetadataOffset >= registerOffset { return .unfenced }
            return .fenced
        case .unfenced:
            if request.wantFence { return request.wantShutDown ? .shutdownNow : .fenced }
            if request.wantShutDown { return Self.leadsAnything(id, image: image) ? .controlledShutdown : .shutdownNow }
            return .unfenced
        case .controlledShutdown:
            if Self.leadsAnything(id, image: image) { return .controlledShutdown }
            // Done once every active broker has applied the metadata that moved its leaders
            // away (Kafka's lowestActiveOffset), so clients are redirected before it goes.
            let offset = session.controlledShutdownOffset
            return offset <= lowestActiveOffset(image: image, excluding: id) ? .shutdownNow : .controlledShutdown
        case .shutdownNow:
            return .shutdownNow
        }
    }

    /// The lowest metadata offset reported by an active broker (unfenced, not shutting down).
    func lowestActiveOffset(image: MetadataImage, excluding id: Int32) -> Int64 {
        var lowest = Int64.max
        for b in image.brokers.values where b.id != id && !b.fenced && !b.inControlledShutdown {
            lowest = min(lowest, sessions[b.id]?.metadataOffset ?? -1)
        }
        return lowest
    }

    // MARK: - Session expiry

    /// Fences every unfenced broker whose session ended (no heartbeat for
    /// `broker.session.timeout.ms`), oldest first, each against the image the previous
    /// fencings produced. Kafka fences one broker per controller event to bound each batch;
    /// the records here are the same, concatenated.
    public mutating func fenceExpiredSessions(image: MetadataImage, now: Int64) -> [MetadataRecord] {
        var working = image
        var out: [MetadataRecord] = []
        let expired = sessions.filter { id, s in
            s.lastContactMs + sessionTimeoutMs < now && working.brokers[id].map { !$0.fenced } == true
        }.sorted { ($0.value.lastContactMs, $0.key) < ($1.value.lastContactMs, $1.key) }
        for (id, _) in expired {
            let records = Self.fencingRecords(id, image: working, uncleanDefault: uncleanLeaderElectionDefault)
            for r in records { working.apply(r) }
            out += records
            sessions[id] = nil
        }
        // Sessions of brokers that are gone or fenced by someone else are dropped.
        for id in sessions.keys where working.brokers[id].map({ $0.fenced }) ?? true { sessions[id] = nil }
        return out
    }

    // MARK: - Records (ReplicationControlManager)

    /// Whether `id` leads any partition.
    static func leadsAnything(_ id: Int32, image: MetadataImage) -> Bool {
        image.topics.values.contains { $0.partitions.contains { $0.leader == id } }
    }

    /// An active broker may lead: registered, unfenced, not in controlled shutdown.
    static func isActive(_ id: Int32, image: MetadataImage) -> Bool {
        guard let b = image.brokers[id] else { return false }
        return !b.fenced && !b.inControlledShutdown
    }

    /// Kafka's `generateLeaderAndIsrUpdates`: for each partition of `partitions`, `remove`
    /// leaves the ISR (and leadership), `add` counts as acceptable even before its unfencing
    /// record is applied. Topics in name order, partitions in order, for reproducible batches.
    static func leaderAndIsrUpdates(image: MetadataImage, remove: Int32?, add: Int32?, uncleanDefault: Bool = false,
                                    where include: (PartitionRegistration) -> Bool) -> [MetadataRecord] {
        var out: [MetadataRecord] = []
        for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
            let unclean = PartitionLeaderElection.uncleanEnabled(topic, image: image, brokerDefault: uncleanDefault)
            for p in topic.partitions where include(p) {
                let target = remove.map { r in p.isr.filter { $0 != r } } ?? p.isr
                let change = PartitionLeaderElection.change(topicID: topic.id, partition: p, targetIsr: target,
                                                            election: unclean ? .unclean : .online) { r in
                    r != remove && (r == add || isActive(r, image: image))
                }
                if let change { out.append(.partitionChange(change)) }
            }
        }
        return out
    }

    /// `handleBrokerFenced`: out of every ISR, new leaders where it led, then the fence.
    static func fencingRecords(_ id: Int32, image: MetadataImage, uncleanDefault: Bool = false) -> [MetadataRecord] {
        guard let b = image.brokers[id] else { return [] }
        return leaderAndIsrUpdates(image: image, remove: id, add: nil, uncleanDefault: uncleanDefault) { $0.isr.contains(id) }
            + [.brokerRegistrationChange(id: id, epoch: b.epoch, fenced: true, inControlledShutdown: nil)]
    }

    /// `handleBrokerUnfenced`: the unfence, then leaders for leaderless partitions it can lead.
    static func unfencingRecords(_ id: Int32, image: MetadataImage, uncleanDefault: Bool = false) -> [MetadataRecord] {
        guard let b = image.brokers[id] else { return [] }
        return [.brokerRegistrationChange(id: id, epoch: b.epoch, fenced: false, inControlledShutdown: nil)]
            + leaderAndIsrUpdates(image: image, remove: nil, add: id, uncleanDefault: uncleanDefault) { $0.leader < 0 }
    }

    /// `handleBrokerInControlledShutdown`: marked shutting down (not ISR-eligible, KIP-841), out
    /// of every ISR, so its leaderships move to other in-sync replicas.
    static func controlledShutdownRecords(_ id: Int32, image: MetadataImage, uncleanDefault: Bool = false) -> [MetadataRecord] {
        guard let b = image.brokers[id] else { return [] }
        var out: [MetadataRecord] = []
        if !b.inControlledShutdown {
            out.append(.brokerRegistrationChange(id: id, epoch: b.epoch, fenced: nil, inControlledShutdown: true))
        }
        return out + leaderAndIsrUpdates(image: image, remove: id, add: nil, uncleanDefault: uncleanDefault) { $0.isr.contains(id) }
    }

    /// `handleBrokerShutdown`: as controlled shutdown, then fenced: it may exit now.
    static func shutdownRecords(_ id: Int32, image: MetadataImage, uncleanDefault: Bool = false) -> [MetadataRecord] {
        guard let b = image.brokers[id] else { return [] }
        var out: [MetadataRecord] = []
        if !b.inControlledShutdown {
            out.append(.brokerRegistrationChange(id: id, epoch: b.epoch, fenced: nil, inControlledShutdown: true))
        }
        return out + leaderAndIsrUpdates(image: image, remove: id, add: nil, uncleanDefault: uncleanDefault) { $0.isr.contains(id) }
            + [.brokerRegistrationChange(id: id, epoch: b.epoch, fenced: true, inControlledShutdown: nil)]
    }
}
