import KafkaProtocol
import LogStorage
import NIOCore

/// The group coordinator's ``GroupLogStore`` over the real `__consumer_offsets` topic.
///
/// The topic is created on first start with `offsets.topic.num.partitions` partitions,
/// `cleanup.policy=compact` and `offsets.topic.segment.bytes`, and its partition count is
/// fixed from then on (group placement hashes over it). Each append is one uncompressed
/// record batch written as leader with acks=all semantics: it is fsynced before the
/// coordinator answers the commit, so a committed offset survives kill -9 and power loss.
/// Reload reads every batch from the log start and returns the records in order (control
/// batches skipped).
///
/// Thread-safe (the coordinator serialises appends per partition; the partition log does
/// the rest).
public final class ConsumerOffsetsLogStore: GroupLogStore {
    public static let topic = "__consumer_offsets"

    public let partitionCount: Int32
    private let services: BrokerServices

    /// Creates `__consumer_offsets` if missing (`createIfMissing`: the single node) and returns a
    /// store over it. A node of a multi-node cluster never creates it here: its first
    /// FindCoordinator does, through the active controller.
    public init(services: BrokerServices, createIfMissing: Bool = true) async throws {
        self.services = services
        let config = services.config
        if let existing = services.metadata.image.topics[Self.topic] {
            partitionCount = Int32(existing.partitions.count)
        } else if !createIfMissing || (services.config.isKRaftMode && !services.metadata.image.brokers.keys.contains(services.nodeId)) {
            // A node of a multi-node cluster starts before it has registered (it is fenced, or
            // a controller only): it cannot create the topic now. The first FindCoordinator
            // creates it through the active controller, as Kafka's AutoTopicCreationManager
            // does (see `KafkaBroker.makeGroupCoordinator`).
            partitionCount = config.offsetsTopicNumPartitions
        } else {
            let live = Int16(max(1, services.metadata.image.liveBrokers.count))
            let created = try await services.controller.createTopic(
                name: Self.topic, numPartitions: config.offsetsTopicNumPartitions,
                replicationFactor: min(config.offsetsTopicReplicationFactor, live),
                configs: ["cleanup.policy": "compact", "segment.bytes": String(config.offsetsTopicSegmentBytes),
                          "compression.type": "producer"])
            partitionCount = created.numPartitions
        }
    }

    private func partition(_ index: Int32) throws -> Partition {
        guard let p = services.replicas.partition(Self.topic, index) else {
            // A node of a multi-node cluster does not host every offsets partition: another
            // broker coordinates those groups. On the single node a missing partition is a fault.
            throw services.config.isKRaftMode ? GroupErrorCode.notCoordinator : GroupErrorCode.coordinatorNotAvailable
        }
        guard p.isLeader else { throw GroupErrorCode.notCoordinator }
        return p
    }

    public func append(partition index: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)]) async throws {
        guard !records.isEmpty else { return }
        let p = try partition(index)
        let now = services.clock.nowMs()
        let batch = RecordBatch(baseTimestamp: now, records: records.enumerated().map { i, r in
            Record(offsetDelta: Int32(i), key: r.key, value: r.value)
        })
        let bytes = try batch.encoded()
        let header = try RecordBatchHeader.peek(bytes, at: bytes.readerIndex)
        let appended: Partition.AppendResult
        do throws(PartitionError) {
            appended = try p.appendAsLeader(bytes, header: header, requiredAcks: -1)
        } catch {
            // Leadership moved between the coordinator's check and the append.
            if error.code == PartitionError.notLeader.code { throw GroupErrorCode.notCoordinator }
            throw error
        }
        // Kafka's coordinator appends with acks=-1: the write counts only once every ISR member
        // has it (the HW passed it), so a committed offset survives the loss of this broker.
        // On a single node the HW moved with the append and this returns at once.
        let replicated = await p.waitForHighWatermark(appended.lastOffset + 1, timeoutMs: services.config.offsetsCommitTimeoutMs,
                                                      clock: services.clock, makeWaiter: services.replicas.makeWaiter)
        guard replicated else {
            // Kafka's GroupMetadataManager maps NOT_LEADER_OR_FOLLOWER to NOT_COORDINATOR and
            // REQUEST_TIMED_OUT to COORDINATOR_NOT_AVAILABLE; clients look the coordinator up
            // again and retry either.
            throw p.isLeader ? GroupErrorCode.coordinatorNotAvailable : GroupErrorCode.notCoordinator
        }
    }

    public func readAll(partition index: Int32) async throws -> [(key: ByteBuffer, value: ByteBuffer?)] {
        let p = try partition(index)
        var out: [(key: ByteBuffer, value: ByteBuffer?)] = []
        var offset = p.logStartOffset
        let end = p.logEndOffset
        while offset < end {
            var bytes: ByteBuffer
            do throws(LogStorageError) {
                bytes = try p.log.read(from: offset, maxBytes: 1 << 20, maxOffset: nil, minOneBatch: true).readBytes()
            } catch {
                // A damaged batch header: load what can be read (the rest of that segment is
                // skipped, loudly) rather than leave every group without a coordinator.
                guard case .corruptRecord(let what) = error,
                      let next = p.log.segmentBaseOffsets.first(where: { $0 > offset }) else { throw error }
                services.logger.error("\(what); loading groups without offsets \(offset)..<\(next) of \(Self.topic)-\(index)")
                offset = next
                continue
            }
            guard bytes.readableBytes > 0 else { break }
            let before = offset
            while bytes.readableBytes > 0 {
                let batch: RecordBatch
                do {
                    batch = try RecordBatch.decode(from: &bytes)
                } catch {
                    // A batch whose body fails its CRC (or does not decode): skip it, loudly.
                    guard let header = try? RecordBatchHeader.peek(bytes, at: bytes.readerIndex),
                          header.totalSize <= bytes.readableBytes else { throw error }
                    services.logger.error("skipping an unreadable batch at offset \(header.baseOffset) of \(Self.topic)-\(index): \(error)")
                    bytes.moveReaderIndex(forwardBy: header.totalSize)
                    offset = max(offset, header.nextOffset)
                    continue
                }
                defer { offset = max(offset, batch.nextOffset) }
                if batch.isControl { continue }
                for r in batch.records where batch.offset(of: r) >= before {
                    guard let key = r.key else { continue }
                    out.append((key: key, value: r.value))
                }
            }
            if offset == before { break }
        }
        return out
    }
}
