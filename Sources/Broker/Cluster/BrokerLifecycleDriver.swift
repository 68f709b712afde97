import KafkaClient
import KafkaProtocol
import Logging
import Synchronization

/// Runs the pure ``BrokerLifecycle`` on the network: registration and heartbeats to the
/// active controller over the ``ControllerChannel``, on a real clock (Kafka's
/// `BrokerLifecycleManager` event loop).
///
/// The loop wakes when a request is due (``BrokerLifecycle/nextSendAtMs``), when a response
/// arrives, and when the broker applies new metadata or begins a controlled shutdown. One
/// request is in flight at a time; a connection error or timeout is `requestFailed` (backoff),
/// and NOT_CONTROLLER drops the channel so the next request finds the new controller.
///
/// The broker learns from it: caught up (the controller says its metadata is current: recover
/// and ask to be unfenced), unfenced (serving), shutdown allowed (controlled shutdown done),
/// registration failed (stop start-up).
public actor BrokerLifecycleDriver {
    public enum Event: Sendable, Equatable {
        case caughtUp, unfenced, shutdownNow
        case failedStartup(String)
    }

    private var lifecycle: BrokerLifecycle
    private let channel: ControllerChannel
    private let logger: Logger
    private let nowMs: @Sendable () -> Int64
    private let onEvent: @Sendable (Event) -> Void
    private var wake: AsyncStream<Void>.Continuation?
    private var loop: Task<Void, Never>?
    private var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    private var shutdownAllowed = false

    public init(lifecycle: BrokerLifecycle, channel: ControllerChannel, logger: Logger,
                nowMs: @escaping @Sendable () -> Int64, onEvent: @escaping @Sendable (Event) -> Void) {
        self.lifecycle = lifecycle; self.channel = channel; self.logger = logger; self.nowMs = nowMs; self.onEvent = onEvent
    }

    public var state: BrokerLifecycle.State { lifecycle.state }
    public var brokerEpoch: Int64 { lifecycle.brokerEpoch }

    public func start() {
        guard loop == nil else { return }
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        lifecycle.start(now: nowMs())
        loop = Task { await self.run(stream) }
    }

    /// The broker applied metadata up to `offset` (reported in the next heartbeat).
    public func metadataApplied(offset: Int64) {
        lifecycle.metadataApplied(offset: offset)
    }

    /// Logs are recovered: ask to be unfenced.
    public func setReadyToUnfence() {
        lifecycle.setReadyToUnfence()
        wake?.yield()
    }

    /// SIGTERM: asks the controller to move leaderships away, and returns once it allows the
    /// process to exit, or after `timeoutMs` (Kafka bounds it too: a dead controller must not
    /// keep a broker from stopping).
    public func controlledShutdown(timeoutMs: Int64) async {
        handle(lifecycle.beginControlledShutdown(now: nowMs()))
        wake?.yield()
        if shutdownAllowed { return }
        let timeout = Task { [weak self] in
            guard (try? await Task.sleep(for: .milliseconds(timeoutMs))) != nil else { return }
            await self?.releaseShutdownWaiters(timedOut: true)
        }
        await withCheckedContinuation { shutdownWaiters.append($0) }
        timeout.cancel()
    }

    public func stop() {
        loop?.cancel()
        wake?.finish()
        releaseShutdownWaiters(timedOut: false)
    }

    /// Ends a controlled shutdown wait without the controller's go-ahead, saying why (no
    /// quorum leader to ask: the other voters are gone, so none can be elected either).
    public func abandonControlledShutdown(_ reason: String) {
        guard !shutdownAllowed, !shutdownWaiters.isEmpty else { return }
        logger.warning("Controlled shutdown abandoned: \(reason); stopping without the controller's confirmation")
        releaseShutdownWaiters(timedOut: false)
    }

    private func releaseShutdownWaiters(timedOut: Bool) {
        if timedOut, !shutdownWaiters.isEmpty {
            logger.warning("Controlled shutdown not confirmed by the controller in time; stopping anyway")
        }
        shutdownAllowed = true
        for w in shutdownWaiters { w.resume() }
        shutdownWaiters = []
    }

    private func handle(_ actions: [BrokerLifecycle.Action]) {
        for action in actions {
            switch action {
            case .sendRegistration(let request):
                Task { await self.send(registration: request) }
            case .sendHeartbeat(let request):
                Task { await self.send(heartbeat: request) }
            case .caughtUp:
                logger.info("Caught up with the metadata log (broker epoch \(lifecycle.brokerEpoch))")
                onEvent(.caughtUp)
            case .unfenced:
                logger.info("Unfenced by the controller: serving")
                onEvent(.unfenced)
            case .shutdownNow:
                onEvent(.shutdownNow)
                releaseShutdownWaiters(timedOut: false)
            case .failStartup(let reason):
                logger.error("\(reason)")
                onEvent(.failedStartup(reason))
            }
        }
    }

    private func run(_ stream: AsyncStream<Void>) async {
        var iterator = stream.makeAsyncIterator()
        while !Task.isCancelled {
            handle(lifecycle.poll(now: nowMs()))
            // Sleep until the next request is due or something wakes us (a response, new
            // metadata, shutdown). A response always wakes the loop, so an in-flight request
            // needs no timer here.
            let delay = lifecycle.nextSendAtMs.map { max(0, $0 - nowMs()) } ?? 1000
            // Only a sleep that ran its course wakes the loop: a cancelled one must not, or
            // every wake-up (cancelling the sleeper) would yield the next one, and the loop
            // would spin creating tasks (it did: 60% of a core per idle node).
            let sleeper = Task { [wake] in
                guard (try? await Task.sleep(for: .milliseconds(max(1, delay)))) != nil else { return }
                wake?.yield()
            }
            _ = await iterator.next()
            sleeper.cancel()
            if lifecycle.state == .shuttingDown && !lifecycle.inFlight && lifecycle.nextSendAtMs == nil { break }
        }
    }

    private func send(registration request: BrokerRegistrationRequest) async {
        do {
            let (response, endpoint) = try await channel.send({ _ in request }, supported: 0...4)
            if response.errorCode != 0 {
                logger.warning("Broker registration refused by controller \(endpoint.nodeId): \(ErrorCode(rawValue: response.errorCode).name)")
                if response.errorCode == ErrorCode.notController.rawValue { channel.reset() }
            } else {
                logger.info("Registered with controller \(endpoint.nodeId), broker epoch \(response.brokerEpoch)")
            }
            handle(lifecycle.registrationResponse(response, now: nowMs()))
        } catch {
            logger.debug("Broker registration failed: \(error)")
            lifecycle.requestFailed(now: nowMs())
        }
        wake?.yield()
    }

    private func send(heartbeat request: BrokerHeartbeatRequest) async {
        do {
            let (response, endpoint) = try await channel.send({ _ in request }, supported: 0...1)
            if response.errorCode != 0 {
                logger.warning("Heartbeat refused by controller \(endpoint.nodeId): \(ErrorCode(rawValue: response.errorCode).name)")
                if response.errorCode == ErrorCode.notController.rawValue { channel.reset() }
            }
            handle(lifecycle.heartbeatResponse(response, now: nowMs()))
        } catch {
            logger.debug("Heartbeat failed: \(error)")
            lifecycle.requestFailed(now: nowMs())
        }
        wake?.yield()
    }
}
