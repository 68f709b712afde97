import NIOCore

/// Why a metadata record could not be decoded (Kafka's `MetadataParseException`).
public enum MetadataRecordSerdeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame version is not 1 (the only one Kafka has defined).
    case unknownFrameVersion(UInt32)
    /// A type id no metadata spec defines (a record from a newer Kafka, or garbage).
    case unknownRecordType(Int)
    /// The record version is outside what the spec (and so this code) knows.
    case unsupportedVersion(type: MetadataRecordType, version: Int)
    /// The body did not decode.
    case malformedRecord(type: MetadataRecordType, version: Int16, reason: String)
    /// Bytes left after the record: Kafka refuses these too ("garbage after").
    case trailingBytes(type: MetadataRecordType, count: Int)
    /// The frame header itself (a varint) was cut short or too long.
    case malformedHeader(String)

    public var description: String {
        switch self {
        case let .unknownFrameVersion(v):
            "Could not deserialize metadata record due to unknown frame version \(v) (only frame version 1 is supported)"
        case let .unknownRecordType(t):
            "Could not deserialize metadata record: unknown record type \(t)"
        case let .unsupportedVersion(type, version):
            "Could not deserialize metadata record \(type.name): version \(version) is not supported (supported: \(type.validVersions.lowerBound)-\(type.validVersions.upperBound))"
        case let .malformedRecord(type, version, reason):
            "Could not deserialize metadata record \(type.name) version \(version): \(reason)"
        case let .trailingBytes(type, count):
            "Found \(count) byte(s) of garbage after \(type.name)"
        case let .malformedHeader(reason):
            "Could not deserialize metadata record header: \(reason)"
        }
    }
}

/// Kafka's `MetadataRecordSerde` (an `AbstractApiMessageSerde`): the value of every record in
/// a `__cluster_metadata` batch (log and snapshot alike) is
///
/// ```text
/// unsigned varint  frame version   always 1 (DEFAULT_FRAME_VERSION)
/// unsigned varint  record type     the spec's apiKey (MetadataRecordType)
/// unsigned varint  record version
/// ...              the record body, in that version's (flexible) encoding
/// ```
///
/// Decoding never traps: an unknown frame version, record type or version, a malformed body
/// and trailing bytes each throw a ``MetadataRecordSerdeError`` naming what was wrong.
public enum MetadataRecordSerde {
    public static let frameVersion: UInt32 = 1

    /// Writes `record` framed at `version` into `buffer`.
    public static func write(_ record: any KafkaMetadataRecord, version: Int16, into buffer: inout ByteBuffer) throws {
        let type = Swift.type(of: record).recordType
        guard type.validVersions.contains(version) else {
            throw MetadataRecordSerdeError.unsupportedVersion(type: type, version: Int(version))
        }
        buffer.writeKafkaUnsignedVarint(frameVersion)
        buffer.writeKafkaUnsignedVarint(UInt32(UInt16(bitPattern: type.rawValue)))
        buffer.writeKafkaUnsignedVarint(UInt32(UInt16(bitPattern: version)))
        try record.encode(into: &buffer, version: version)
    }

    /// `record` framed at `version`, as a new buffer.
    public static func encode(_ record: any KafkaMetadataRecord, version: Int16) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        try write(record, version: version, into: &buffer)
        return buffer
    }

    /// Decodes one framed record that must fill `buffer` exactly (a record value).
    public static func decode(_ buffer: ByteBuffer) throws(MetadataRecordSerdeError) -> MetadataRecordAndVersion {
        var input = buffer
        let frame: UInt32, rawType: UInt32, rawVersion: UInt32
        do {
            frame = try input.readKafkaUnsignedVarint()
            guard frame == frameVersion else { throw MetadataRecordSerdeError.unknownFrameVersion(frame) }
            rawType = try input.readKafkaUnsignedVarint()
            rawVersion = try input.readKafkaUnsignedVarint()
        } catch let error as MetadataRecordSerdeError {
            throw error
        } catch {
            throw .malformedHeader("\(error)")
        }
        guard rawType <= UInt32(Int16.max), let type = MetadataRecordType(rawValue: Int16(rawType)) else {
            throw .unknownRecordType(Int(rawType))
        }
        guard rawVersion <= UInt32(Int16.max), type.validVersions.contains(Int16(rawVersion)) else {
            throw .unsupportedVersion(type: type, version: Int(rawVersion))
        }
        let version = Int16(rawVersion)
        let record: any KafkaMetadataRecord
        do {
            record = try type.recordType.init(from: &input, version: version)
        } catch {
            throw .malformedRecord(type: type, version: version, reason: "\(error)")
        }
        guard input.readableBytes == 0 else { throw .trailingBytes(type: type, count: input.readableBytes) }
        return MetadataRecordAndVersion(record, version: version)
    }
}
