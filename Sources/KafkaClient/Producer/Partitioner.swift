/// How the producer picks a partition for a record that has no explicit partition.
///
/// Keyed records use ``Murmur2`` so that the same key lands on the same partition as with the
/// Java client and librdkafka's `murmur2_random` partitioner. Unkeyed records are "sticky"
/// (KIP-480 / KIP-794): every unkeyed record of a topic goes to one partition until that
/// partition's batch is sent, then the producer moves on to another partition at random. This
/// fills batches quickly (fewer, larger requests) while spreading load over time.
///
/// Concurrency: a value type, owned and mutated by the producer's single accumulator task.
public struct Partitioner<RNG: RandomNumberGenerator>: Sendable where RNG: Sendable {
    private var sticky: [String: Int32] = [:]
    private var random: RNG

    public init(random: RNG) { self.random = random }

    /// The partition for a record of `topic` with `key` (nil = unkeyed).
    /// - Parameters:
    ///   - partitionCount: all partitions of the topic (keyed records hash over all of them,
    ///     as Java does, so the mapping does not change when a leader is briefly unavailable).
    ///   - available: partitions that currently have a leader; unkeyed records prefer them.
    public mutating func partition(
        topic: String, key: [UInt8]?, partitionCount: Int, available: [Int32]
    ) -> Int32 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        if let key {
            return Murmur2.partition(forKey: key, partitionCount: partitionCount)
        }
        if let current = sticky[topic], current < partitionCount,
           available.isEmpty || available.contains(current) {
            return current
        }
        let next = pickNew(excluding: nil, partitionCount: partitionCount, available: available)
        sticky[topic] = next
        return next
    }

    /// Called when the batch the sticky partition was filling has been closed (full, or
    /// lingered out): the next unkeyed record of `topic` goes to a different partition.
    public mutating func batchClosed(topic: String, partition: Int32, partitionCount: Int, available: [Int32]) {
        guard sticky[topic] == partition else { return }
        sticky[topic] = pickNew(excluding: partition, partitionCount: partitionCount, available: available)
    }

    private mutating func pickNew(excluding previous: Int32?, partitionCount: Int, available: [Int32]) -> Int32 {
        var candidates = available.isEmpty ? Array(0..<Int32(partitionCount)) : available
        if candidates.count > 1, let previous {
            candidates.removeAll { $0 == previous }
        }
        return candidates[Int.random(in: 0..<candidates.count, using: &random)]
    }
}

extension Partitioner where RNG == SystemRandomNumberGenerator {
    public init() { self.init(random: SystemRandomNumberGenerator()) }
}
