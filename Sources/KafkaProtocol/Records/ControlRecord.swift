import NIOCore

/// The type in a control record's key (Kafka's `ControlRecordType`).
///
/// A struct over the raw int16 rather than an enum, so a type this code does not know (a newer
/// KRaft record) survives decoding; Java maps those to `UNKNOWN` the same way. `Sendable`.
public struct ControlRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// Transaction marker: the transaction was aborted.
    public static let abort = ControlRecordType(rawValue: 0)
    /// Transaction marker: the transaction was committed.
    public static let commit = ControlRecordType(rawValue: 1)
    // KRaft metadata-log types; listed so they print with their names.
    public static let leaderChange = ControlRecordType(rawValue: 2)
    public static let snapshotHeader = ControlRecordType(rawValue: 3)
    public static let snapshotFooter = ControlRecordType(rawValue: 4)
    public static let kraftVersion = ControlRecordType(rawValue: 5)
    public static let kraftVoters = ControlRecordType(rawValue: 6)

    public var description: String {
        switch rawValue {
        case 0: "ABORT"
        case 1: "COMMIT"
        case 2: "LEADER_CHANGE"
        case 3: "SNAPSHOT_HEADER"
        case 4: "SNAPSHOT_FOOTER"
        case 5: "KRAFT_VERSION"
        case 6: "KRAFT_VOTERS"
        default: "UNKNOWN(\(rawValue))"
        }
    }
}

/// The key of every record in a control batch: `version int16, type int16` (big-endian).
/// Java reads the type even when the version is newer than it knows, and so does this.
public struct ControlRecordKey: Equatable, Hashable, Sendable {
    public static let currentVersion: Int16 = 0
    public var version: Int16
    public var type: ControlRecordType

    public init(version: Int16 = ControlRecordKey.currentVersion, type: ControlRecordType) {
        self.version = version
        self.type = type
    }

    /// Parses the key bytes; at least 4 are required (later versions may append fields).
    public init(from key: ByteBuffer) throws(RecordBatchError) {
        guard key.readableBytes >= 4,
            let version = key.getInteger(at: key.readerIndex, as: Int16.self),
            let type = key.getInteger(at: key.readerIndex + 2, as: Int16.self)
        else { throw .malformedRecord("control record key needs 4 bytes, has \(key.readableBytes)") }
        self.init(version: version, type: ControlRecordType(rawValue: type))
    }

    public var encoded: ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 4)
        buffer.writeInteger(version)
        buffer.writeInteger(type.rawValue)
        return buffer
    }
}

/// The value of an ABORT/COMMIT control record (Kafka's `EndTransactionMarker`):
/// `version int16, coordinatorEpoch int32`.
public struct EndTransactionMarker: Equatable, Hashable, Sendable {
    public static let currentVersion: Int16 = 0
    /// Whether the transaction committed (`.commit`) or aborted (`.abort`).
    public var type: ControlRecordType
    public var coordinatorEpoch: Int32

    public init(type: ControlRecordType, coordinatorEpoch: Int32) {
        self.type = type
        self.coordinatorEpoch = coordinatorEpoch
    }

    /// Reads a marker from a control record. Throws unless the key is ABORT or COMMIT and the
    /// value holds at least version + coordinatorEpoch.
    public init(from record: Record) throws(RecordBatchError) {
        guard let key = record.key else { throw .malformedRecord("control record without a key") }
        let controlKey = try ControlRecordKey(from: key)
        guard controlKey.type == .abort || controlKey.type == .commit else {
            throw .malformedRecord("control record type \(controlKey.type) is not a transaction marker")
        }
        guard let value = record.value, value.readableBytes >= 6,
            let epoch = value.getInteger(at: value.readerIndex + 2, as: Int32.self)
        else { throw .malformedRecord("transaction marker value needs 6 bytes") }
        self.init(type: controlKey.type, coordinatorEpoch: epoch)
    }

    /// The control record carrying this marker, at offsetDelta 0.
    public func record(timestampDelta: Int64 = 0) -> Record {
        var value = ByteBufferAllocator().buffer(capacity: 6)
        value.writeInteger(Self.currentVersion)
        value.writeInteger(coordinatorEpoch)
        return Record(
            offsetDelta: 0, timestampDelta: timestampDelta, key: ControlRecordKey(type: type).encoded, value: value)
    }
}

extension RecordBatch {
    /// A transaction marker batch as the transaction coordinator asks a leader to write it
    /// (`MemoryRecords.withEndTransactionMarker`): transactional + control, one record, no
    /// base sequence.
    public static func endTransactionMarker(
        _ marker: EndTransactionMarker, producerId: Int64, producerEpoch: Int16, timestamp: Int64,
        baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1
    ) -> RecordBatch {
        RecordBatch(
            baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch, isTransactional: true, isControl: true,
            baseTimestamp: timestamp, producerId: producerId, producerEpoch: producerEpoch, baseSequence: -1,
            records: [marker.record()])
    }

    /// For a control batch, the type of its (first) control record; nil for data batches or when
    /// the key is malformed.
    public var controlRecordType: ControlRecordType? {
        guard isControl, let key = records.first?.key else { return nil }
        return try? ControlRecordKey(from: key).type
    }
}
