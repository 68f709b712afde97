import NIOCore

/// A record to produce.
public struct ProducerRecord: Sendable {
    public var topic: String
    /// nil = chosen by the partitioner (murmur2 of the key, or sticky when unkeyed).
    public var partition: Int32?
    public var key: ByteBuffer?
    /// nil is a tombstone on compacted topics.
    public var value: ByteBuffer?
    public var headers: [(key: String, value: ByteBuffer?)]
    /// Milliseconds since the epoch; nil = now.
    public var timestamp: Int64?

    public init(topic: String, partition: Int32? = nil, key: ByteBuffer? = nil, value: ByteBuffer?,
                headers: [(key: String, value: ByteBuffer?)] = [], timestamp: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// Convenience for text records.
    public init(topic: String, partition: Int32? = nil, key: String? = nil, value: String?,
                headers: [(key: String, value: String?)] = [], timestamp: Int64? = nil) {
        self.init(topic: topic, partition: partition, key: key.map { ByteBuffer(string: $0) }, value: value.map { ByteBuffer(string: $0) },
                  headers: headers.map { ($0.key, $0.value.map { ByteBuffer(string: $0) }) }, timestamp: timestamp)
    }

    /// Bytes this record adds to a batch (an upper estimate of its encoded size).
    var estimatedSize: Int {
        var size = 21 + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
        for h in headers { size += 10 + h.key.utf8.count + (h.value?.readableBytes ?? 0) }
        return size
    }
}

/// Where a record was written.
public struct RecordMetadata: Sendable, Hashable {
    public var topicPartition: TopicPartition
    /// The record's offset; -1 when unknown (acks=0, or a duplicate the broker discarded).
    public var offset: Int64
    /// The record's timestamp (the broker's when the topic uses LogAppendTime).
    public var timestamp: Int64
}

/// Called once per record with its fate. Runs on the producer's internal task: keep it short.
public typealias DeliveryCallback = @Sendable (Result<RecordMetadata, KafkaClientError>) -> Void
