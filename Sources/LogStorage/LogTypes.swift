import KafkaProtocol
import NIOCore

/// What one append did. A value type; `Sendable`.
public struct LogAppendInfo: Equatable, Sendable {
    /// Offset of the first record appended (the LEO before the append).
    public var firstOffset: Int64
    /// Offset of the last record appended (firstOffset - 1 when nothing was appended).
    public var lastOffset: Int64
    /// Largest batch maxTimestamp appended (-1 when none carried one).
    public var maxTimestamp: Int64
    /// The broker time stamped into the batches for `LogAppendTime` topics, else -1 (as in ProduceResponse).
    public var logAppendTime: Int64
    /// Records appended (sum of the batches' recordCount).
    public var recordCount: Int
    /// Bytes of whole, valid batches appended.
    public var validBytes: Int
    /// Batches appended.
    public var batchCount: Int
    /// The log start offset after the append (ProduceResponse v5+ returns it).
    public var logStartOffset: Int64
}

/// A contiguous run of whole record batches inside one segment file: enough to send it with
/// `sendfile` (NIO `FileRegion`) without copying, or to read it into memory with ``readBytes()``.
///
/// Holding a slice keeps the segment file open (the descriptor closes when the last reference
/// goes), so a slice stays readable even if retention deletes the segment meanwhile. A value
/// type; `Sendable`.
public struct LogSlice: Sendable {
    /// The segment file's path at the time of the read (it may be renamed `.deleted` later).
    public let path: String
    /// Byte position of the first batch in the file.
    public let position: Int64
    /// Bytes of whole batches starting at `position`.
    public let length: Int
    /// Base offset of the first batch in the slice (may be below the offset asked for).
    public let firstBatchBaseOffset: Int64
    let file: any StorageFile

    /// The bytes, read with `pread`. Throws if the file was truncated under the slice.
    public func readBytes() throws(LogStorageError) -> ByteBuffer {
        let buffer: ByteBuffer
        do { buffer = try file.read(at: position, count: length) } catch { throw .storage(error) }
        guard buffer.readableBytes == length else {
            throw .storage(FileSystemError(operation: "pread(short read: file truncated)", path: path, errno: 0))
        }
        return buffer
    }

    /// The slice is in a real file (not a simulated one), so it can be sent with `sendfile`.
    public var isFileBacked: Bool { file.fileDescriptor != nil }

    /// A new descriptor for the segment file (the caller owns and must close it, e.g. by
    /// handing it to `NIOFileHandle`), or nil for simulated files. Used for zero-copy sends.
    public func duplicateFileDescriptor() -> CInt? {
        guard let fd = file.fileDescriptor else { return nil }
        let copy = dupDescriptor(fd)
        return copy >= 0 ? copy : nil
    }
}

/// The answer to a read. A value type; `Sendable`.
public struct LogReadResult: Sendable {
    /// The batches, nil when there is nothing to return (offset at the LEO or the limit, or the
    /// first batch is larger than `maxBytes` and `minOneBatch` was false).
    public var slice: LogSlice?
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    public var highWatermark: Int64

    /// Bytes in the slice (0 when none).
    public var length: Int { slice?.length ?? 0 }

    /// The batches as a buffer (empty when none).
    public func readBytes() throws(LogStorageError) -> ByteBuffer {
        guard let slice else { return ByteBuffer() }
        return try slice.readBytes()
    }
}

/// A timestamp lookup's answer (ListOffsets): the offset, its timestamp and the leader epoch of
/// the batch holding it.
public struct TimestampAndOffset: Equatable, Sendable {
    public var timestamp: Int64
    public var offset: Int64
    public var leaderEpoch: Int32
    public init(timestamp: Int64, offset: Int64, leaderEpoch: Int32) {
        self.timestamp = timestamp; self.offset = offset; self.leaderEpoch = leaderEpoch
    }
}

/// Why a log operation failed. ``kafkaErrorCode`` gives the Kafka error code the broker returns.
public enum LogStorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Read or DeleteRecords outside [log start offset, LEO] (OFFSET_OUT_OF_RANGE, 1).
    case offsetOutOfRange(offset: Int64, logStartOffset: Int64, logEndOffset: Int64)
    /// A batch failed its CRC or is structurally broken (CORRUPT_MESSAGE, 2).
    case corruptRecord(String)
    /// A batch is larger than `max.message.bytes` (MESSAGE_TOO_LARGE, 10).
    case recordTooLarge(size: Int, maxMessageBytes: Int)
    /// The request's batches do not fit in one segment (RECORD_LIST_TOO_LARGE, 18).
    case recordListTooLarge(size: Int, segmentBytes: Int)
    /// A batch violates the rules for its origin, e.g. lastOffsetDelta != recordCount - 1 (INVALID_RECORD, 87).
    case invalidRecord(String)
    /// Replicated batches whose offsets do not continue the log (UNKNOWN_SERVER_ERROR, -1, as Kafka's
    /// `UnexpectedAppendOffsetException`).
    case unexpectedAppendOffset(expectedAtLeast: Int64, got: Int64)
    /// The disk failed; the log is offline until restart (KAFKA_STORAGE_ERROR, 56).
    case storage(FileSystemError)
    /// The log was closed or deleted (KAFKA_STORAGE_ERROR, 56).
    case closed
    /// Not a legal topic name for a partition directory (INVALID_TOPIC_EXCEPTION, 17).
    case invalidTopic(String)

    /// One line for logs and error messages (the Kafka error name is added by callers).
    public var description: String {
        switch self {
        case .offsetOutOfRange(let offset, let start, let end):
            return "offset \(offset) is out of range [\(start), \(end)]"
        case .corruptRecord(let what): return what
        case .recordTooLarge(let size, let max): return "record batch of \(size) bytes exceeds max.message.bytes \(max)"
        case .recordListTooLarge(let size, let segment): return "\(size) bytes of batches do not fit in segment.bytes \(segment)"
        case .invalidRecord(let what): return what
        case .unexpectedAppendOffset(let expected, let got): return "append offset \(got) below the expected \(expected)"
        case .storage(let error): return "storage error: \(error)"
        case .closed: return "the log is closed"
        case .invalidTopic(let topic): return "invalid topic name \(topic)"
        }
    }

    public var kafkaErrorCode: Int16 {
        switch self {
        case .offsetOutOfRange: return 1
        case .corruptRecord: return 2
        case .recordTooLarge: return 10
        case .recordListTooLarge: return 18
        case .invalidRecord: return 87
        case .unexpectedAppendOffset: return -1
        case .storage, .closed: return 56
        case .invalidTopic: return 17
        }
    }
}

#if canImport(Glibc)
import Glibc
private func dupDescriptor(_ fd: CInt) -> CInt { Glibc.dup(fd) }
#elseif canImport(Musl)
import Musl
private func dupDescriptor(_ fd: CInt) -> CInt { Musl.dup(fd) }
#elseif canImport(Darwin)
import Darwin
private func dupDescriptor(_ fd: CInt) -> CInt { Darwin.dup(fd) }
#endif
