import LogStorage

/// An in-memory ``RaftTransport`` for deterministic simulation: messages wait in one queue with
/// a delivery time, and the test's event loop takes them out (`nextDue`). One seeded generator
/// decides every fault, so a run replays exactly from its seed.
///
/// Faults: loss, duplication, random delay (which reorders messages, even between one pair of
/// nodes), and cut links (one-way or two-way partitions, checked when a message is sent and
/// again when it would be delivered). Every message is encoded at the quorum's wire versions
/// and decoded again on send (``RaftMessage/roundTripped()``), so only what the wire carries
/// arrives.
///
/// Thread-safe (one lock), though the simulation drives it from one thread.
public final class InMemoryRaftNetwork: RaftTransport, @unchecked Sendable {
    public struct Faults: Sendable, Equatable {
        /// Chance that a message is lost.
        public var lossProbability = 0.0
        /// Chance that a message is delivered twice (independent delays).
        public var duplicateProbability = 0.0
        /// One-way delay, uniform in this range (milliseconds).
        public var minDelayMs: Int64 = 1
        public var maxDelayMs: Int64 = 5
        /// Chance that a message is delayed by up to `spikeDelayMs` more (a slow path).
        public var spikeProbability = 0.0
        public var spikeDelayMs: Int64 = 0
        public init() {}
        public static let none = Faults()
    }

    public struct Link: Hashable, Sendable {
        public var from: RaftNodeId
        public var to: RaftNodeId
        public init(from: RaftNodeId, to: RaftNodeId) { self.from = from; self.to = to }
    }

    public struct Envelope: Sendable {
        public var from: RaftNodeId
        public var to: RaftNodeId
        public var message: RaftMessage
        public var deliverAt: Int64
        public var sequence: UInt64
    }

    private let lock = StorageLock()
    private let clock: any LogClock
    private var random: SeededRandom
    private var queue: [Envelope] = []
    private var sequence: UInt64 = 0
    private var _faults = Faults()
    private var _cut: Set<Link> = []
    private var _observer: (@Sendable (RaftNodeId, RaftNodeId, RaftMessage) -> Void)?
    /// Messages sent / lost / duplicated / undecodable so far.
    public private(set) var sent = 0, lost = 0, duplicated = 0, encodeFailures = 0

    public init(clock: any LogClock, seed: UInt64) {
        self.clock = clock
        self.random = SeededRandom(seed: seed)
    }

    public var faults: Faults {
        get { lock.withLock { _faults } }
        set { lock.withLock { _faults = newValue } }
    }

    /// Links that drop everything.
    public var cut: Set<Link> {
        get { lock.withLock { _cut } }
        set { lock.withLock { _cut = newValue } }
    }

    /// Sees every message as it is sent, before any fault (the simulation checks "vote
    /// persisted before sent" here).
    public func setObserver(_ observer: (@Sendable (RaftNodeId, RaftNodeId, RaftMessage) -> Void)?) {
        lock.withLock { _observer = observer }
    }

    public func send(_ message: RaftMessage, from: RaftNodeId, to: RaftNodeId) {
        let observer = lock.withLock { _observer }
        observer?(from, to, message)
        let wire: RaftMessage
        do { wire = try message.roundTripped() } catch {
            lock.withLock { encodeFailures += 1 }
            return
        }
        let now = clock.milliseconds()
        lock.withLock {
            sent += 1
            if _cut.contains(Link(from: from, to: to)) || Double.random(in: 0..<1, using: &random) < _faults.lossProbability {
                lost += 1
                return
            }
            enqueue(Envelope(from: from, to: to, message: wire, deliverAt: now + delay(), sequence: 0))
            if Double.random(in: 0..<1, using: &random) < _faults.duplicateProbability {
                duplicated += 1
                enqueue(Envelope(from: from, to: to, message: wire, deliverAt: now + delay(), sequence: 0))
            }
        }
    }

    private func delay() -> Int64 {
        var d = Int64.random(in: _faults.minDelayMs...max(_faults.minDelayMs, _faults.maxDelayMs), using: &random)
        if _faults.spikeDelayMs > 0, Double.random(in: 0..<1, using: &random) < _faults.spikeProbability {
            d += Int64.random(in: 0...(_faults.spikeDelayMs), using: &random)
        }
        return d
    }

    private func enqueue(_ envelope: Envelope) {
        var e = envelope
        sequence += 1
        e.sequence = sequence
        queue.append(e)
    }

    /// When the next message is due, nil when none is queued.
    public var nextDeliveryTime: Int64? { lock.withLock { queue.map(\.deliverAt).min() } }

    /// Removes and returns the earliest message due at or before `now` (ties in send order);
    /// a message on a link cut meanwhile is dropped instead.
    public func nextDue(now: Int64) -> Envelope? {
        lock.withLock {
            while true {
                var best: Int?
                for (i, e) in queue.enumerated() where e.deliverAt <= now {
                    if let b = best, (queue[b].deliverAt, queue[b].sequence) <= (e.deliverAt, e.sequence) { continue }
                    best = i
                }
                guard let index = best else { return nil }
                let envelope = queue.remove(at: index)
                if _cut.contains(Link(from: envelope.from, to: envelope.to)) { lost += 1; continue }
                return envelope
            }
        }
    }

    /// Drops every queued message from or to `node` (its connections died with it).
    public func dropMessages(involving node: RaftNodeId) {
        lock.withLock { queue.removeAll { $0.from == node || $0.to == node } }
    }

    /// Drops every queued message to `node` (it stopped; what it sent may still arrive).
    public func dropMessages(to node: RaftNodeId) {
        lock.withLock { queue.removeAll { $0.to == node } }
    }

    public var queuedCount: Int { lock.withLock { queue.count } }
}
