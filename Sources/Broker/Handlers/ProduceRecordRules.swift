import KafkaProtocol
import NIOCore

/// Kafka's per-record checks of a batch a client produces (`LogValidator.validateRecord`):
/// keys on compacted topics (`validateKey`) and timestamps (`validateTimestamp`:
/// `message.timestamp.before.max.ms` / `message.timestamp.after.max.ms` for CreateTime topics,
/// and no LogAppendTime batches from producers). The batch-level checks (magic, one batch,
/// offsets vs record count, control batches, sequences) are in ``ProduceHandler`` and the log.
///
/// Kafka iterates (and decompresses) every produced batch for these. Samsa decodes a batch only
/// when its header cannot clear it: a compacted topic (keys are not in the header), a finite
/// `message.timestamp.before.max.ms` (the earliest timestamp is not in the header), a
/// LogAppendTime flag from the producer, or a header `maxTimestamp` beyond
/// `message.timestamp.after.max.ms`. So a batch whose header understates its newest
/// timestamp is not caught by the after-check (real clients write the true maximum); when a
/// batch is decoded, every record is checked and reported as Kafka reports it.
struct ProduceRecordRules: Sendable {
    var compacted: Bool
    /// The topic's `message.timestamp.type` is LogAppendTime (producer timestamps are replaced).
    var logAppendTime: Bool
    var timestampBeforeMaxMs: Int64
    var timestampAfterMaxMs: Int64
    var nowMs: Int64
    /// "topic-partition", as Kafka names it in messages.
    var topicPartition: String

    /// Kafka's `recordHasInvalidTimestamp` (with Java's wrapping arithmetic).
    func isOutOfRange(_ timestamp: Int64) -> Bool {
        let diff = nowMs &- timestamp
        return diff > timestampBeforeMaxMs || (0 &- diff) > timestampAfterMaxMs
    }

    /// Whether the records must be read to apply the rules to this batch.
    func needsRecords(_ header: RecordBatchHeader) -> Bool {
        if compacted { return true }
        if header.isLogAppendTime {
            // Every record's timestamp is the batch's maxTimestamp.
            return logAppendTime || header.maxTimestamp == -1 || isOutOfRange(header.maxTimestamp)
        }
        if logAppendTime { return false }
        if timestampBeforeMaxMs != .max { return true }
        return header.maxTimestamp != -1 && isOutOfRange(header.maxTimestamp)
    }

    /// Throws INVALID_RECORD / INVALID_TIMESTAMP with one RecordError per rejected record, the
    /// codes and messages of Kafka's `LogValidator.processRecordErrors`.
    func validate(_ records: ByteBuffer, header: RecordBatchHeader) throws(PartitionError) {
        guard needsRecords(header) else { return }
        let batch: RecordBatch
        do throws(RecordBatchError) {
            var buffer = records
            batch = try RecordBatch.decode(from: &buffer)
        } catch {
            switch error {
            case .crcMismatch, .truncated, .invalidBatchLength, .decompressionFailed:
                throw PartitionError(ErrorCode.corruptMessage.rawValue, "Malformed record batch: \(error)")
            default:
                throw PartitionError(ErrorCode.invalidRecord.rawValue, "Invalid record batch: \(error)")
            }
        }
        var errors: [PartitionError.RecordError] = []
        var invalidTimestamp = false
        for (i, record) in batch.records.enumerated() {
            let index = Int32(i)
            if compacted && record.key == nil {
                errors.append(.init(batchIndex: index,
                                    message: "Compacted topic cannot accept message without key in topic partition \(topicPartition)"))
                continue
            }
            let timestamp = batch.timestamp(of: record)
            if !logAppendTime && timestamp != -1 {
                if isOutOfRange(timestamp) {
                    invalidTimestamp = true
                    errors.append(.init(batchIndex: index, message: "Timestamp \(timestamp) of message with offset \(batch.offset(of: record)) "
                        + "is out of range. The timestamp should be within [\(nowMs &- timestampBeforeMaxMs), \(nowMs &+ timestampAfterMaxMs)]"))
                }
            } else if batch.timestampType == .logAppendTime {
                invalidTimestamp = true
                let description = "DefaultRecord(offset=\(batch.offset(of: record)), timestamp=\(timestamp), "
                    + "key=\(record.key?.readableBytes ?? -1) bytes, value=\(record.value?.readableBytes ?? -1) bytes)"
                errors.append(.init(batchIndex: index, message: "Invalid timestamp type in message \(description). "
                    + "Producer should not set timestamp type to LogAppendTime."))
            }
        }
        guard errors.isEmpty else {
            if invalidTimestamp {
                throw PartitionError(ErrorCode.invalidTimestamp.rawValue, "One or more records have been rejected due to invalid timestamp",
                                     recordErrors: errors)
            }
            throw PartitionError(ErrorCode.invalidRecord.rawValue,
                                 "One or more records have been rejected due to \(errors.count) record errors in total, "
                                     + "and only showing the first three errors at most: [\(errors.prefix(3).map(\.description).joined(separator: ", "))]",
                                 recordErrors: errors)
        }
    }
}
