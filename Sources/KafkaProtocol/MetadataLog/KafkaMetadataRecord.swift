import NIOCore

/// A record of the `__cluster_metadata` log: a generated message from Kafka's
/// `metadata/*.json` specs (RegisterBrokerRecord, TopicRecord, ...), identified on the wire by
/// its ``MetadataRecordType`` (the spec's `apiKey`).
///
/// Values are `Sendable` (plain structs), like every generated message.
public protocol KafkaMetadataRecord: KafkaMessage {
    static var recordType: MetadataRecordType { get }
}

/// A decoded metadata record together with the version it was written at, as Kafka's
/// `ApiMessageAndVersion`: the version matters when re-encoding, since a record written at an
/// older version must not silently gain fields.
public struct MetadataRecordAndVersion: Sendable {
    public var record: any KafkaMetadataRecord
    public var version: Int16

    public init(_ record: any KafkaMetadataRecord, version: Int16) {
        self.record = record
        self.version = version
    }

    public var recordType: MetadataRecordType { type(of: record).recordType }
}
