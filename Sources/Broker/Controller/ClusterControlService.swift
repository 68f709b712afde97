import KafkaProtocol
import Logging
import Synchronization

/// Where the active controller's broker-lifecycle records go: a metadata log that can run a
/// computation on its current image and next write offset and append the result atomically
/// (no other write between), returning once the records are committed.
///
/// ``LocalController`` is one (the single node's store); the KRaft quorum's log will be another.
public protocol ControllerMetadataLog: Sendable {
    func appendComputed<R>(_ body: (MetadataImage, Int64) throws -> ([MetadataRecord], R)) async throws -> R
}

extension LocalController: ControllerMetadataLog {
    public func appendComputed<R>(_ body: (MetadataImage, Int64) throws -> ([MetadataRecord], R)) async throws -> R {
        try await commitComputedAsync(body)
    }
}

/// ``ClusterControl`` (pure) on a real metadata log and clock: what the BrokerRegistration (62)
/// and BrokerHeartbeat (63) handlers call, and the session-expiry timer's target.
///
/// Each event computes its records from the log's current image at the log's next write offset
/// and appends them in the same atomic step (``ControllerMetadataLog/appendComputed(_:)``), so
/// a broker epoch is always the real offset of its RegisterBrokerRecord; the reply is returned
/// only after the records are committed (the second phase). If the append fails, the session
/// changes of that event are rolled back with it.
///
/// Thread-safe: the session state sits in a `Mutex`, taken inside the log's own serialisation.
public final class ClusterControlService: Sendable {
    private let state: Mutex<ClusterControl>
    private let log: any ControllerMetadataLog
    private let nowMs: @Sendable () -> Int64

    public init(clusterId: String, sessionTimeoutMs: Int64, log: any ControllerMetadataLog, uncleanLeaderElectionDefault: Bool = false,
                nowMs: @escaping @Sendable () -> Int64) {
        state = Mutex(ClusterControl(clusterId: clusterId, sessionTimeoutMs: sessionTimeoutMs,
                                     uncleanLeaderElectionDefault: uncleanLeaderElectionDefault))
        self.log = log
        self.nowMs = nowMs
    }

    /// The in-memory sessions, for tests and diagnostics.
    public var control: ClusterControl { state.withLock { $0 } }

    /// This node became the active controller (see ``ClusterControl/activate(image:now:)``).
    public func activate() async throws {
        let now = nowMs()
        try await log.appendComputed { image, _ in
            state.withLock { $0.activate(image: image, now: now) }
            return ([], ())
        }
    }

    public func register(_ request: BrokerRegistrationRequest) async throws -> ClusterControl.Outcome<BrokerRegistrationResponse> {
        let now = nowMs()
        return try await transact { control, image, next in control.register(request, image: image, nextWriteOffset: next, now: now) }
    }

    public func heartbeat(_ request: BrokerHeartbeatRequest) async throws -> ClusterControl.Outcome<BrokerHeartbeatResponse> {
        let now = nowMs()
        return try await transact { control, image, next in control.heartbeat(request, image: image, nextWriteOffset: next, now: now) }
    }

    /// Fences the brokers whose sessions ended; returns the records written.
    @discardableResult
    public func fenceExpiredSessions() async throws -> [MetadataRecord] {
        let now = nowMs()
        return try await transact { control, image, _ in
            let records = control.fenceExpiredSessions(image: image, now: now)
            return (records, records)
        }
    }

    /// Appends what `plan` computes from the current image (the controller loop's periodic
    /// elections, ``ReplicationControl``); returns the records written.
    @discardableResult
    public func append(_ plan: (MetadataImage) -> [MetadataRecord]) async throws -> [MetadataRecord] {
        try await log.appendComputed { image, _ in
            let records = plan(image)
            return (records, records)
        }
    }

    /// When the expiry timer should next fire (nil: no unfenced broker).
    public func nextSessionExpiry(image: MetadataImage) -> Int64? {
        state.withLock { $0.nextSessionExpiry(image: image) }
    }

    private func transact<Reply: Sendable & Equatable>(
        _ body: (inout ClusterControl, MetadataImage, Int64) -> ClusterControl.Outcome<Reply>
    ) async throws -> ClusterControl.Outcome<Reply> {
        try await transact { control, image, next in
            let outcome = body(&control, image, next)
            return (outcome.records, outcome)
        }
    }

    /// Runs one event inside the log's atomic append; the session change is kept only if the
    /// records were committed (unless a later event already changed the sessions again).
    private func transact<R>(_ body: (inout ClusterControl, MetadataImage, Int64) -> ([MetadataRecord], R)) async throws -> R {
        var before: ClusterControl?
        var after: ClusterControl?
        do {
            return try await log.appendComputed { image, next in
                state.withLock { control -> ([MetadataRecord], R) in
                    before = control
                    let result = body(&control, image, next)
                    after = control
                    return result
                }
            }
        } catch {
            if let before, let after { state.withLock { if $0 == after { $0 = before } } }
            throw error
        }
    }
}

/// The broker-lifecycle APIs of the controller listener, for `QuorumRuntime`'s
/// `addControllerHandlers`: BrokerRegistration (62) and BrokerHeartbeat (63) over `service`,
/// answering NOT_CONTROLLER unless `isActiveController` (the quorum leader's
/// `leadership.isLocalLeader`).
public enum BrokerLifecycleApis {
    public static func register(into registry: inout HandlerRegistry, service: ClusterControlService,
                                isActiveController: @escaping @Sendable () -> Bool, logger: Logger) {
        registry.register(BrokerRegistrationHandler(service: service, isActiveController: isActiveController, logger: logger))
        registry.register(BrokerHeartbeatHandler(service: service, isActiveController: isActiveController, logger: logger))
    }
}
