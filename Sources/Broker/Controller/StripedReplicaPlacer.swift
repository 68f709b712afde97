/// Kafka's `StripedReplicaPlacer` (`metadata/.../placement/StripedReplicaPlacer.java`): where the
/// replicas of new partitions go (CreateTopics, CreatePartitions without explicit assignments).
///
/// Goals, in Kafka's priority order: spread each partition's replicas across racks (a no-op
/// without `broker.rack`), spread replicas (and so leaders) across brokers, prefer unfenced
/// brokers. Constraints: never two replicas on one broker (replication factor <= registered
/// brokers) and the first replica, the leader, always an unfenced broker.
///
/// The algorithm, as Kafka's: racks sorted by name (no rack sorts first), each with a sorted
/// list of unfenced and of fenced brokers, each list with a starting offset (random, or just
/// after the last broker used when the topic already has partitions, so CreatePartitions
/// continues the stripe). A partition takes its leader from the first rack (from the rack
/// offset) with an unfenced broker left in this round, then one replica per following rack,
/// wrapping; a rack's fenced brokers are used only when its unfenced ones are exhausted for
/// the round. Every partition advances the rack offset by one (the "stripe"), and once as many
/// partitions as unfenced brokers were placed the racks and brokers are shuffled.
///
/// Brokers in controlled shutdown are not usable (Kafka's `ClusterControlManager.usableBrokers`).
/// A value type driven by an injected random source, so placement is reproducible in tests.
public struct StripedReplicaPlacer {
    /// A broker placement may use.
    public struct UsableBroker: Equatable, Sendable {
        public var id: Int32
        public var rack: String?
        public var fenced: Bool
        public init(id: Int32, rack: String?, fenced: Bool) { self.id = id; self.rack = rack; self.fenced = fenced }
    }

    /// Kafka's `InvalidReplicationFactorException` (INVALID_REPLICATION_FACTOR, 38) messages.
    public struct PlacementError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The usable brokers of `image`: registered, not in controlled shutdown.
    public static func usableBrokers(_ image: MetadataImage) -> [UsableBroker] {
        image.brokers.values.filter { !$0.inControlledShutdown }.sorted { $0.id < $1.id }
            .map { UsableBroker(id: $0.id, rack: $0.rack, fenced: $0.fenced) }
    }

    /// Replica lists for `partitions` new partitions of `replicationFactor` replicas each.
    /// `existing` are the topic's current assignments (partition order), empty for a new topic.
    public static func place<R: RandomNumberGenerator>(partitions: Int, replicationFactor: Int, brokers: [UsableBroker],
                                                       existing: [[Int32]] = [], random: inout R) throws(PlacementError) -> [[Int32]] {
        guard replicationFactor > 0 else {
            throw PlacementError(message: "Invalid replication factor \(replicationFactor): the replication factor must be positive.")
        }
        guard brokers.contains(where: { !$0.fenced }) else {
            throw PlacementError(message: "All brokers are currently fenced.")
        }
        guard replicationFactor <= brokers.count else {
            throw PlacementError(message: "The target replication factor of \(replicationFactor) cannot be reached because only \(brokers.count) broker(s) are registered.")
        }
        var racks = RackList(brokers: brokers, existing: existing, random: &random)
        var out: [[Int32]] = []
        out.reserveCapacity(partitions)
        for _ in 0..<partitions { out.append(racks.place(replicationFactor, random: &random)) }
        return out
    }

    /// Brokers iterated round-robin from an offset, once per iteration epoch.
    struct BrokerList {
        var brokers: [Int32] = []
        var index = 0
        var offset = 0
        var epoch = 0

        mutating func initialize<R: RandomNumberGenerator>(random: inout R) {
            guard !brokers.isEmpty else { return }
            brokers.sort()
            offset = Int.random(in: 0..<brokers.count, using: &random)
        }

        mutating func initialize(previousOffset: Int) {
            guard !brokers.isEmpty else { return }
            brokers.sort()
            offset = (previousOffset + 1) % brokers.count
        }

        /// The next broker of this epoch, nil when every broker was returned in it.
        mutating func next(epoch: Int) -> Int32? {
            guard !brokers.isEmpty else { return nil }
            if self.epoch != epoch {
                self.epoch = epoch
                index = 0
                offset = (offset + 1) % brokers.count
            }
            guard index < brokers.count else { return nil }
            let broker = brokers[(index + offset) % brokers.count]
            index += 1
            return broker
        }
    }

    struct Rack {
        var fenced = BrokerList()
        var unfenced = BrokerList()
        mutating func next(epoch: Int) -> Int32? { unfenced.next(epoch: epoch) ?? fenced.next(epoch: epoch) }
    }

    struct RackList {
        var racks: [String?: Rack] = [:]
        /// Racks sorted by name, no rack first (Kafka's OptionalStringComparator).
        var rackNames: [String?] = []
        var numTotalBrokers = 0
        var numUnfencedBrokers = 0
        var epoch = 0
        var offset = 0

        init<R: RandomNumberGenerator>(brokers: [UsableBroker], existing: [[Int32]], random: inout R) {
            var rackOf: [Int32: String?] = [:]
            for b in brokers {
                rackOf[b.id] = .some(b.rack)
                if racks[b.rack] == nil { racks[b.rack] = Rack(); rackNames.append(b.rack) }
                if b.fenced { racks[b.rack]!.fenced.brokers.append(b.id) } else {
                    racks[b.rack]!.unfenced.brokers.append(b.id)
                    numUnfencedBrokers += 1
                }
                numTotalBrokers += 1
            }
            // Kafka iterates a HashMap here; initialise in name order so the random draws are
            // reproducible for a given source.
            rackNames.sort(by: Self.rackOrder)
            for name in rackNames {
                var rack = racks[name]!
                rack.fenced.initialize(random: &random)
                if let previous = Self.previousBrokerOffset(rackOf: rackOf, existing: existing, rack: name, unfenced: rack.unfenced.brokers.sorted()) {
                    rack.unfenced.initialize(previousOffset: previous)
                } else {
                    rack.unfenced.initialize(random: &random)
                }
                racks[name] = rack
            }
            if let previous = Self.previousRackOffset(rackOf: rackOf, existing: existing, racks: rackNames) {
                offset = (previous + 1) % rackNames.count
            } else {
                offset = rackNames.isEmpty ? 0 : Int.random(in: 0..<rackNames.count, using: &random)
            }
        }

        static func rackOrder(_ a: String?, _ b: String?) -> Bool {
            switch (a, b) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case let (x?, y?): return x < y
            }
        }

        /// The rack of the last partition's leader: the next partition starts one rack later.
        static func previousRackOffset(rackOf: [Int32: String?], existing: [[Int32]], racks: [String?]) -> Int? {
            guard let leader = existing.last?.first, let rack = rackOf[leader] else { return nil }
            return racks.firstIndex(of: rack)
        }

        /// Within a rack: the position of the rack's broker used last, so the stripe continues.
        static func previousBrokerOffset(rackOf: [Int32: String?], existing: [[Int32]], rack: String?, unfenced: [Int32]) -> Int? {
            for assignment in existing.reversed() {
                for broker in assignment {
                    guard let brokerRack = rackOf[broker] else { continue }
                    if brokerRack == rack { return unfenced.firstIndex(of: broker) }
                }
            }
            return nil
        }

        mutating func place<R: RandomNumberGenerator>(_ replicationFactor: Int, random: inout R) -> [Int32] {
            // After as many partitions as unfenced brokers, shuffle so the same replica sets
            // do not repeat (never with a single unfenced broker: that would loop forever).
            if epoch == numUnfencedBrokers && numUnfencedBrokers > 1 {
                rackNames.shuffle(using: &random)
                for name in rackNames.sorted(by: Self.rackOrder) {
                    racks[name]!.fenced.brokers.shuffle(using: &random)
                    racks[name]!.unfenced.brokers.shuffle(using: &random)
                }
                epoch = 0
            }
            if offset == rackNames.count { offset = 0 }
            var brokers: [Int32] = []
            brokers.reserveCapacity(replicationFactor)
            // The leader: the first rack from `offset` with an unfenced broker left this epoch.
            var firstRackIndex = offset
            while true {
                if let b = racks[rackNames[firstRackIndex]]!.unfenced.next(epoch: epoch) {
                    brokers.append(b)
                    break
                }
                firstRackIndex = (firstRackIndex + 1) % rackNames.count
            }
            var rackIndex = offset
            var leaderRack: Int? = firstRackIndex
            for _ in 1..<max(1, replicationFactor) {
                var result: Int32?
                repeat {
                    if rackIndex == leaderRack {
                        leaderRack = nil   // the leader's rack already gave one replica this pass
                    } else {
                        result = racks[rackNames[rackIndex]]!.next(epoch: epoch)
                    }
                    rackIndex = (rackIndex + 1) % rackNames.count
                } while result == nil
                brokers.append(result!)
            }
            epoch += 1
            offset += 1
            return brokers
        }
    }
}
