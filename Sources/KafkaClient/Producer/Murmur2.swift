/// Kafka's key hash: 32-bit MurmurHash2 with seed `0x9747b28c`, exactly as
/// `org.apache.kafka.common.utils.Utils.murmur2` and librdkafka's `rd_murmur2` compute it.
///
/// Keyed records must land on the same partition whichever client produced them, so this
/// reproduces Java's arithmetic bit for bit: little-endian 4-byte blocks, the tail bytes
/// mixed in the fall-through order of Java's `switch`, and wrapping 32-bit multiplication.
public enum Murmur2 {
    /// Returns the hash as Java's signed `int`, so the values match Kafka's own test vectors.
    public static func hash<Bytes: Collection>(_ data: Bytes) -> Int32 where Bytes.Element == UInt8 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let seed: UInt32 = 0x9747_b28c
        let length = data.count
        var h: UInt32 = seed ^ UInt32(truncatingIfNeeded: length)

        var index = data.startIndex
        var remaining = length
        while remaining >= 4 {
            let b0 = UInt32(data[index]); index = data.index(after: index)
            let b1 = UInt32(data[index]); index = data.index(after: index)
            let b2 = UInt32(data[index]); index = data.index(after: index)
            let b3 = UInt32(data[index]); index = data.index(after: index)
            var k = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
            remaining -= 4
        }
        // Tail: Java's switch falls through from case 3 to case 1, then multiplies.
        var tail = [UInt32](repeating: 0, count: 3)
        var t = 0
        while t < remaining {
            tail[t] = UInt32(data[index])
            index = data.index(after: index)
            t += 1
        }
        if remaining >= 3 { h ^= tail[2] << 16 }
        if remaining >= 2 { h ^= tail[1] << 8 }
        if remaining >= 1 {
            h ^= tail[0]
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// Kafka's `Utils.toPositive`: clears the sign bit (it is not `abs`, which would
    /// overflow for `Int32.min` and disagree with Java for negative hashes).
    @inlinable
    public static func toPositive(_ value: Int32) -> Int32 { value & 0x7fff_ffff }

    /// The partition Java's `BuiltInPartitioner.partitionForKey` and librdkafka's
    /// `murmur2_random` partitioner choose for `key` among `partitionCount` partitions.
    public static func partition<Bytes: Collection>(forKey key: Bytes, partitionCount: Int) -> Int32
    where Bytes.Element == UInt8 {
        precondition(partitionCount > 0, "partition count must be positive")
        return Int32(Int(toPositive(hash(key))) % partitionCount)
    }
}
