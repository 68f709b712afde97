/// Idempotent-producer state of one partition: for each producer id, its epoch and the
/// metadata of its last five batches (Kafka's `ProducerStateManager`, `NUM_BATCHES_TO_RETAIN`).
///
/// It answers, before an append, whether a batch is a duplicate (answer with the original
/// offsets), out of order, or from a fenced epoch; and it is updated after the append. The
/// state is rebuilt on start-up by replaying the batch headers of the log (see
/// ``Partition``), so it survives restarts and `kill -9` exactly as far as the log does.
///
/// Not thread-safe: ``Partition`` holds it under its append lock.
public struct ProducerStateManager: Sendable {
    public static let batchesToRetain = 5

    /// Where one appended batch landed.
    public struct BatchMetadata: Equatable, Sendable {
        public var firstSequence: Int32
        public var lastSequence: Int32
        public var firstOffset: Int64
        public var lastOffset: Int64
        public var maxTimestamp: Int64
    }

    public struct Entry: Equatable, Sendable {
        public var epoch: Int16
        /// Oldest first; at most ``batchesToRetain``.
        public var batches: [BatchMetadata]
        public var lastTimestamp: Int64
    }

    /// The outcome of checking a batch before it is appended.
    public enum Check: Equatable, Sendable {
        /// Append it.
        case append
        /// Already appended: answer with these offsets and write nothing.
        case duplicate(BatchMetadata)
        /// Refuse with this Kafka error code (45 OUT_OF_ORDER_SEQUENCE_NUMBER, 47 INVALID_PRODUCER_EPOCH).
        case reject(code: Int16, message: String)
    }

    public private(set) var producers: [Int64: Entry] = [:]

    public init() {}

    /// Kafka's `ProducerAppendInfo.checkProducerEpoch` + `checkSequence`, and the duplicate
    /// lookup `UnifiedLog` does first.
    public func check(producerId: Int64, epoch: Int16, firstSequence: Int32, lastSequence: Int32) -> Check {
        guard let entry = producers[producerId] else {
            // No state (new producer, or its batches were removed by retention/DeleteRecords):
            // Kafka accepts any sequence then.
            return .append
        }
        if epoch < entry.epoch {
            return .reject(code: 47, message: "Epoch \(epoch) of producer \(producerId) is older than the current epoch \(entry.epoch)")
        }
        if epoch == entry.epoch,
           let dup = entry.batches.first(where: { $0.firstSequence == firstSequence && $0.lastSequence == lastSequence }) {
            return .duplicate(dup)
        }
        if epoch != entry.epoch {
            guard firstSequence == 0 else {
                return .reject(code: 45, message: "Invalid sequence number for new epoch of producer \(producerId) at epoch \(epoch): \(firstSequence) (request epoch), 0 (expected)")
            }
            return .append
        }
        let last = entry.batches.last?.lastSequence ?? -1
        let inSequence = firstSequence == last &+ 1 || (firstSequence == 0 && last == Int32.max)
        guard inSequence || entry.batches.isEmpty else {
            return .reject(code: 45, message: "Out of order sequence number for producer \(producerId) at offset: \(firstSequence), expected \(last &+ 1)")
        }
        return .append
    }

    /// Records an appended batch (also used when replaying the log on start-up).
    public mutating func update(producerId: Int64, epoch: Int16, batch: BatchMetadata) {
        var entry = producers[producerId] ?? Entry(epoch: epoch, batches: [], lastTimestamp: batch.maxTimestamp)
        if epoch != entry.epoch {
            entry = Entry(epoch: epoch, batches: [], lastTimestamp: batch.maxTimestamp)
        }
        entry.batches.append(batch)
        if entry.batches.count > Self.batchesToRetain { entry.batches.removeFirst(entry.batches.count - Self.batchesToRetain) }
        entry.lastTimestamp = max(entry.lastTimestamp, batch.maxTimestamp)
        producers[producerId] = entry
    }

    /// Forgets batches at or above `offset` (log truncation) and producers left with none.
    public mutating func truncate(from offset: Int64) {
        for (pid, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset >= offset }
            producers[pid] = entry.batches.isEmpty ? nil : entry
        }
    }

    /// Forgets batches wholly below `offset` (log start moved by retention or DeleteRecords).
    public mutating func removeBelow(_ offset: Int64) {
        for (pid, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset < offset }
            producers[pid] = entry.batches.isEmpty ? nil : entry
        }
    }
}
