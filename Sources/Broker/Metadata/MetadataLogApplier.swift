import KafkaProtocol
import NIOCore

/// A record of the metadata log that could not be applied (Kafka's metadata loader fault:
/// the broker logs it, counts it and goes on with the next record, so one record a newer
/// controller wrote cannot stop every broker).
public struct MetadataReplayFault: Equatable, Sendable, CustomStringConvertible {
    public var offset: Int64
    public var reason: String
    public var description: String { "metadata log record at offset \(offset): \(reason)" }
}

/// Why committed metadata log bytes could not be applied at all.
public enum MetadataLogApplyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes start after the next offset this image needs: records in between were never
    /// seen (log segments deleted below a snapshot that was not loaded).
    case gap(expected: Int64, found: Int64)
    /// The bytes are not record batches (a CRC, a header); the reader index did not move.
    case corruptBatch(offset: Int64, reason: String)

    public var description: String {
        switch self {
        case let .gap(expected, found):
            "metadata log gap: the next record to apply is offset \(expected), but the log continues at \(found)"
        case let .corruptBatch(offset, reason): "metadata log batch at offset \(offset) is unreadable: \(reason)"
        }
    }
}

/// The broker's side of the metadata log: an image plus the position in the log it reflects,
/// advanced only by committed record batches in offset order (Kafka's `MetadataLoader`).
///
/// Used for replay at start-up (a snapshot, then the committed log after it) and for every
/// later commit, on every node (the active controller included), so there is one path by which
/// metadata changes. Control batches (LeaderChangeMessage, snapshot markers, KRaft voters)
/// advance the position without changing the image. A batch that ends below ``nextOffset`` was
/// applied already (re-reading after a snapshot boundary) and is skipped.
///
/// It also counts what a snapshot policy needs: the bytes of records applied since the last
/// snapshot, and the offset/epoch/timestamp of the last batch applied (the next snapshot's id is
/// `(nextOffset, lastEpoch)`). A value type; `Sendable`.
public struct MetadataLogApplier: Sendable {
    public private(set) var image: MetadataImage
    /// The next log offset to apply: every record below it is in ``image``.
    public private(set) var nextOffset: Int64
    /// Leader epoch of the last batch applied (or of the snapshot loaded).
    public private(set) var lastEpoch: Int32
    /// Max timestamp of the last data batch applied (SnapshotHeaderRecord.LastContainedLogTimestamp).
    public private(set) var lastTimestamp: Int64
    /// Bytes of data batches applied since the last snapshot (Kafka's
    /// `metadata.log.max.record.bytes.between.snapshots` counts these).
    public private(set) var bytesSinceSnapshot: Int64 = 0

    /// Starts from an empty image at offset 0.
    public init(clusterId: String, controllerId: Int32) {
        image = MetadataImage(clusterId: clusterId, controllerId: controllerId)
        nextOffset = 0
        lastEpoch = 0
        lastTimestamp = -1
    }

    /// Starts from a loaded snapshot: its records applied, positioned at its offset.
    public init(snapshot: LoadedMetadataSnapshot, clusterId: String, controllerId: Int32) {
        var image = MetadataImage(clusterId: clusterId, controllerId: controllerId)
        for r in snapshot.records { image.apply(r) }
        self.image = image
        nextOffset = snapshot.id.offset
        lastEpoch = snapshot.id.epoch
        lastTimestamp = snapshot.lastContainedLogTimestamp
    }

    /// The id a snapshot of the current image would have.
    public var snapshotId: SnapshotId { SnapshotId(offset: nextOffset, epoch: lastEpoch) }

    /// Call after writing a snapshot of the current image.
    public mutating func snapshotWritten() { bytesSinceSnapshot = 0 }

    /// Applies every whole batch in `batches` (raw committed log bytes from ``nextOffset``, as
    /// `QuorumHost.readCommitted` returns them) and returns the records that could not be
    /// applied (each also skipped). A partial batch at the end is left for the next read.
    /// On a thrown error nothing was applied from the failing batch on; earlier batches were.
    @discardableResult
    public mutating func apply(batches: ByteBuffer) throws(MetadataLogApplyError) -> [MetadataReplayFault] {
        var reader = RecordBatchReader(batches)
        var faults: [MetadataReplayFault] = []
        while true {
            let raw: (header: RecordBatchHeader, bytes: ByteBuffer)?
            do { raw = try reader.nextRawBatch() } catch {
                throw .corruptBatch(offset: nextOffset, reason: "\(error)")
            }
            guard let (header, bytes) = raw else { break }
            let lastOffset = header.baseOffset + Int64(header.lastOffsetDelta)
            if lastOffset < nextOffset { continue }
            guard header.baseOffset <= nextOffset else { throw .gap(expected: nextOffset, found: header.baseOffset) }
            var input = bytes
            let batch: RecordBatch
            do { batch = try RecordBatch.decode(from: &input) } catch {
                throw .corruptBatch(offset: header.baseOffset, reason: "\(error)")
            }
            if !batch.isControl {
                for record in batch.records {
                    let offset = batch.baseOffset + Int64(record.offsetDelta)
                    guard offset >= nextOffset else { continue }
                    guard let value = record.value else {
                        faults.append(MetadataReplayFault(offset: offset, reason: "record without a value"))
                        continue
                    }
                    do {
                        if let r = try MetadataRecordCodec.decode(value) { image.apply(r) }
                    } catch {
                        faults.append(MetadataReplayFault(offset: offset, reason: "\(error)"))
                    }
                }
                bytesSinceSnapshot += Int64(bytes.readableBytes)
                lastTimestamp = batch.maxTimestamp ?? lastTimestamp
            }
            lastEpoch = batch.partitionLeaderEpoch
            nextOffset = lastOffset + 1
        }
        return faults
    }
}

/// When to write a metadata snapshot, by Kafka's two settings (`SnapshotGenerator`):
/// `metadata.log.max.record.bytes.between.snapshots` (default 20 MiB) of records applied since
/// the last snapshot, or `metadata.log.max.snapshot.interval.ms` (default 1 hour; 0 disables
/// the time trigger) since the last snapshot with at least one record applied since. A value
/// type; `Sendable`.
public struct MetadataSnapshotPolicy: Equatable, Sendable {
    public var maxBytesBetweenSnapshots: Int64 = 20 * 1024 * 1024
    public var maxIntervalMs: Int64 = 60 * 60 * 1000

    public init(maxBytesBetweenSnapshots: Int64 = 20 * 1024 * 1024, maxIntervalMs: Int64 = 60 * 60 * 1000) {
        self.maxBytesBetweenSnapshots = maxBytesBetweenSnapshots
        self.maxIntervalMs = maxIntervalMs
    }

    /// Reads Kafka's keys; a bad value throws naming the key.
    public init(properties: [String: String]) throws(MetadataConfigError) {
        self.init()
        if let raw = properties["metadata.log.max.record.bytes.between.snapshots"] {
            guard let v = Int64(trimmed(raw)), v >= 1 else {
                throw MetadataConfigError(key: "metadata.log.max.record.bytes.between.snapshots", message: "must be an integer >= 1, got \"\(raw)\"")
            }
            maxBytesBetweenSnapshots = v
        }
        if let raw = properties["metadata.log.max.snapshot.interval.ms"] {
            guard let v = Int64(trimmed(raw)), v >= 0 else {
                throw MetadataConfigError(key: "metadata.log.max.snapshot.interval.ms", message: "must be an integer >= 0, got \"\(raw)\"")
            }
            maxIntervalMs = v
        }
    }

    /// Whether to snapshot now, `msSinceLastSnapshot` after the last one.
    public func shouldSnapshot(bytesSinceSnapshot: Int64, msSinceLastSnapshot: Int64) -> Bool {
        if bytesSinceSnapshot >= maxBytesBetweenSnapshots { return true }
        return maxIntervalMs > 0 && bytesSinceSnapshot > 0 && msSinceLastSnapshot >= maxIntervalMs
    }
}

/// Which metadata log segments may go, by Kafka's `metadata.max.retention.bytes` (default
/// 100 MiB; -1 = no size limit) and `metadata.max.retention.ms` (default 7 days; -1 = no time
/// limit): only segments that lie wholly below the latest snapshot (a replaying node needs
/// nothing from them) and only while the log is over a limit (Kafka's
/// `KafkaMetadataLog.cleanSnapshots` / `deleteBeforeSnapshot`). A value type; `Sendable`.
public struct MetadataRetentionPolicy: Equatable, Sendable {
    public var maxRetentionBytes: Int64 = 100 * 1024 * 1024
    public var maxRetentionMs: Int64 = 7 * 24 * 60 * 60 * 1000

    public init(maxRetentionBytes: Int64 = 100 * 1024 * 1024, maxRetentionMs: Int64 = 7 * 24 * 60 * 60 * 1000) {
        self.maxRetentionBytes = maxRetentionBytes
        self.maxRetentionMs = maxRetentionMs
    }

    public init(properties: [String: String]) throws(MetadataConfigError) {
        self.init()
        if let raw = properties["metadata.max.retention.bytes"] {
            guard let v = Int64(trimmed(raw)), v >= -1 else {
                throw MetadataConfigError(key: "metadata.max.retention.bytes", message: "must be an integer >= -1, got \"\(raw)\"")
            }
            maxRetentionBytes = v
        }
        if let raw = properties["metadata.max.retention.ms"] {
            guard let v = Int64(trimmed(raw)), v >= -1 else {
                throw MetadataConfigError(key: "metadata.max.retention.ms", message: "must be an integer >= -1, got \"\(raw)\"")
            }
            maxRetentionMs = v
        }
    }

    /// A log segment as the policy sees it: its first offset, the offset after its last record,
    /// its size and the time of its newest record.
    public struct Segment: Equatable, Sendable {
        public var baseOffset: Int64
        public var endOffset: Int64
        public var sizeInBytes: Int64
        public var lastModifiedMs: Int64
        public init(baseOffset: Int64, endOffset: Int64, sizeInBytes: Int64, lastModifiedMs: Int64) {
            self.baseOffset = baseOffset; self.endOffset = endOffset; self.sizeInBytes = sizeInBytes; self.lastModifiedMs = lastModifiedMs
        }
    }

    /// The new log start offset: the base offset of the first segment to keep, given the
    /// segments oldest first (the last one is the active segment and always stays). Segments
    /// are removed from the oldest while they end at or below `snapshotOffset` and the log is
    /// over the size limit or the segment is older than the time limit.
    public func newLogStartOffset(segments: [Segment], snapshotOffset: Int64, now: Int64) -> Int64? {
        guard segments.count > 1 else { return nil }
        var total = segments.reduce(0) { $0 + $1.sizeInBytes }
        var start: Int64?
        for segment in segments.dropLast() {
            guard segment.endOffset <= snapshotOffset else { break }
            let overSize = maxRetentionBytes >= 0 && total > maxRetentionBytes
            let expired = maxRetentionMs >= 0 && now - segment.lastModifiedMs > maxRetentionMs
            guard overSize || expired else { break }
            total -= segment.sizeInBytes
            start = segment.endOffset
        }
        return start
    }
}

/// A metadata setting that cannot work, naming its key.
public struct MetadataConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var key: String
    public var message: String
    public var description: String { "\(key): \(message)" }
}

private func trimmed(_ text: String) -> String {
    String(text.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
}
