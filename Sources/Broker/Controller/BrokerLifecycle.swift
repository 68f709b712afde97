import KafkaProtocol

/// The broker's side of its lifecycle with the active controller, as a pure state machine:
/// Kafka's `BrokerLifecycleManager` (`core/.../server/BrokerLifecycleManager.scala`).
///
/// States (Kafka's `BrokerState`): `notRunning` -> `starting` (registering, then heartbeating
/// until the controller says it caught up with the metadata log) -> `recovery` (fenced: logs
/// recovered, waiting to be unfenced) -> `running` -> `pendingControlledShutdown` (leaderships
/// move away) -> `shuttingDown`.
///
/// What is sent when (Kafka's timings):
/// * BrokerRegistration first (a fresh random incarnation id per process start), retried with
///   exponential backoff (100 ms doubling to 30 s, Kafka's `ExponentialBackoff(100, 2, 30000,
///   0.02)`) after any error, including DUPLICATE_BROKER_REGISTRATION while the previous
///   process's session is still alive.
/// * Heartbeats: every 10 ms while `starting` (start-up is not delayed by the interval when
///   there is no recovery work), then every `broker.heartbeat.interval.ms`; after a failure
///   (error reply, timeout, no controller) with the same backoff; right away when controlled
///   shutdown begins, then once 50 ms after the first shutdown reply, then by the interval.
/// * Heartbeat fields: `WantFence` until ``setReadyToUnfence()`` (logs recovered),
///   `WantShutDown` in `pendingControlledShutdown`, `CurrentMetadataOffset` from
///   ``metadataApplied(offset:)``.
/// * One request in flight at a time; ``requestFailed(now:)`` reports a timeout or a lost
///   connection. `initial.broker.registration.timeout.ms` bounds how long `starting` may take
///   before ``Action/failStartup(_:)``.
///
/// Time in milliseconds from an injected clock; the caller performs each ``Action``.
public struct BrokerLifecycle: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case notRunning, starting, recovery, running, pendingControlledShutdown, shuttingDown
    }

    /// What the caller must do.
    public enum Action: Sendable, Equatable {
        case sendRegistration(BrokerRegistrationRequest)
        case sendHeartbeat(BrokerHeartbeatRequest)
        /// The controller says the broker caught up with the metadata log (STARTING -> RECOVERY):
        /// recover logs, then call ``setReadyToUnfence()``.
        case caughtUp
        /// The broker was unfenced (RECOVERY -> RUNNING): it may serve as leader.
        case unfenced
        /// The controller allowed the process to exit (controlled shutdown done).
        case shutdownNow
        /// Registration did not succeed within `initial.broker.registration.timeout.ms`.
        case failStartup(String)
    }

    public struct Settings: Sendable, Equatable {
        public var nodeId: Int32
        public var clusterId: String
        public var incarnationId: KafkaUUID
        public var listeners: [BrokerRegistrationRequest.Listener]
        public var rack: String?
        public var features: [BrokerRegistrationRequest.Feature]
        public var logDirs: [KafkaUUID]
        /// The broker epoch of the previous clean shutdown, -1 if unknown (KIP-966).
        public var previousBrokerEpoch: Int64
        public var heartbeatIntervalMs: Int64
        public var initialRegistrationTimeoutMs: Int64

        public init(nodeId: Int32, clusterId: String, incarnationId: KafkaUUID, listeners: [BrokerRegistrationRequest.Listener],
                    rack: String? = nil, features: [BrokerRegistrationRequest.Feature] = [], logDirs: [KafkaUUID] = [],
                    previousBrokerEpoch: Int64 = -1, heartbeatIntervalMs: Int64 = 2000, initialRegistrationTimeoutMs: Int64 = 60000) {
            self.nodeId = nodeId; self.clusterId = clusterId; self.incarnationId = incarnationId; self.listeners = listeners
            self.rack = rack; self.features = features; self.logDirs = logDirs; self.previousBrokerEpoch = previousBrokerEpoch
            self.heartbeatIntervalMs = heartbeatIntervalMs; self.initialRegistrationTimeoutMs = initialRegistrationTimeoutMs
        }
    }

    /// Kafka's resend backoff: 100 ms, doubling, at most 30 s (jitter left to the caller).
    public static func backoffMs(failedAttempts: Int) -> Int64 {
        guard failedAttempts > 0 else { return 0 }
        let exp = min(failedAttempts - 1, 20)
        return min(100 * (Int64(1) << Int64(exp)), 30_000)
    }

    public let settings: Settings
    public private(set) var state: State = .notRunning
    /// -1 until registered.
    public private(set) var brokerEpoch: Int64 = -1
    public private(set) var registered = false
    public private(set) var readyToUnfence = false
    public private(set) var metadataOffset: Int64 = -1
    /// When the next request is due; nil while one is in flight or nothing is to be sent.
    public private(set) var nextSendAtMs: Int64?
    public private(set) var inFlight = false
    public private(set) var failedAttempts = 0
    private var startedAtMs: Int64 = 0
    private var gotControlledShutdownResponse = false

    public init(settings: Settings) { self.settings = settings }

    /// Process start: register as soon as possible.
    public mutating func start(now: Int64) {
        guard state == .notRunning else { return }
        state = .starting
        startedAtMs = now
        nextSendAtMs = now
    }

    /// The last metadata offset the broker applied (CurrentMetadataOffset of the next heartbeat).
    public mutating func metadataApplied(offset: Int64) { metadataOffset = max(metadataOffset, offset) }

    /// Log recovery is done: the next heartbeats ask to be unfenced.
    public mutating func setReadyToUnfence() { readyToUnfence = true }

    /// What is due at `now`: at most one request (nothing while one is in flight).
    public mutating func poll(now: Int64) -> [Action] {
        if state == .starting, !registered, now - startedAtMs >= settings.initialRegistrationTimeoutMs {
            state = .shuttingDown
            nextSendAtMs = nil
            return [.failStartup("The broker could not register with the controller quorum within initial.broker.registration.timeout.ms (\(settings.initialRegistrationTimeoutMs) ms)")]
        }
        guard !inFlight, let due = nextSendAtMs, now >= due, state != .shuttingDown, state != .notRunning else { return [] }
        inFlight = true
        nextSendAtMs = nil
        if !registered { return [.sendRegistration(registrationRequest())] }
        return [.sendHeartbeat(heartbeatRequest())]
    }

    func registrationRequest() -> BrokerRegistrationRequest {
        var r = BrokerRegistrationRequest()
        r.brokerId = settings.nodeId
        r.clusterId = settings.clusterId
        r.incarnationId = settings.incarnationId
        r.listeners = settings.listeners
        r.features = settings.features
        r.rack = settings.rack
        r.logDirs = settings.logDirs
        r.previousBrokerEpoch = settings.previousBrokerEpoch
        return r
    }

    func heartbeatRequest() -> BrokerHeartbeatRequest {
        BrokerHeartbeatRequest(brokerId: settings.nodeId, brokerEpoch: brokerEpoch, currentMetadataOffset: metadataOffset,
                               wantFence: !readyToUnfence, wantShutDown: state == .pendingControlledShutdown)
    }

    /// A request timed out or its connection failed: retry after the backoff.
    public mutating func requestFailed(now: Int64) {
        inFlight = false
        scheduleAfterFailure(now: now)
    }

    private mutating func scheduleAfterFailure(now: Int64) {
        failedAttempts += 1
        if state != .shuttingDown { nextSendAtMs = now + Self.backoffMs(failedAttempts: failedAttempts) }
    }

    private mutating func scheduleAfterSuccess(now: Int64, delayMs: Int64? = nil) {
        failedAttempts = 0
        nextSendAtMs = now + (delayMs ?? settings.heartbeatIntervalMs)
    }

    public mutating func registrationResponse(_ response: BrokerRegistrationResponse, now: Int64) -> [Action] {
        inFlight = false
        guard state != .shuttingDown else { return [] }
        guard response.errorCode == 0 else {
            scheduleAfterFailure(now: now)
            return []
        }
        registered = true
        brokerEpoch = response.brokerEpoch
        failedAttempts = 0
        nextSendAtMs = now   // first heartbeat right away
        return []
    }

    public mutating func heartbeatResponse(_ response: BrokerHeartbeatResponse, now: Int64) -> [Action] {
        inFlight = false
        guard response.errorCode == 0 else {
            scheduleAfterFailure(now: now)
            return []
        }
        switch state {
        case .starting:
            scheduleAfterSuccess(now: now, delayMs: 10)
            if response.isCaughtUp {
                state = .recovery
                return [.caughtUp]
            }
            return []
        case .recovery:
            scheduleAfterSuccess(now: now)
            if !response.isFenced {
                state = .running
                return [.unfenced]
            }
            return []
        case .running:
            scheduleAfterSuccess(now: now)
            return []
        case .pendingControlledShutdown:
            if response.shouldShutDown {
                state = .shuttingDown
                nextSendAtMs = nil
                return [.shutdownNow]
            }
            scheduleAfterSuccess(now: now, delayMs: gotControlledShutdownResponse ? nil : 50)
            gotControlledShutdownResponse = true
            return []
        case .notRunning, .shuttingDown:
            return []
        }
    }

    /// SIGTERM: from `running`, ask the controller to move leaderships away (the next heartbeat
    /// goes now, with WantShutDown); from any other state there is nothing to hand over.
    public mutating func beginControlledShutdown(now: Int64) -> [Action] {
        switch state {
        case .running:
            state = .pendingControlledShutdown
            gotControlledShutdownResponse = false
            if !inFlight { nextSendAtMs = now }
            return []
        case .pendingControlledShutdown:
            return []
        case .notRunning, .starting, .recovery, .shuttingDown:
            state = .shuttingDown
            nextSendAtMs = nil
            return [.shutdownNow]
        }
    }
}
