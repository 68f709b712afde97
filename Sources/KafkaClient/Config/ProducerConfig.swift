/// `compression.type` for produced batches.
public enum CompressionType: String, Sendable, CaseIterable {
    case none, gzip, snappy, lz4, zstd
}

/// `acks`: how many replicas must have the batch before the broker answers.
public enum Acks: Int16, Sendable {
    /// `acks=0`: the broker sends no response at all; offsets are unknown.
    case none = 0
    /// `acks=1`: the leader has appended the batch.
    case leader = 1
    /// `acks=all` / `-1`: every in-sync replica has it (required for idempotence).
    case all = -1
}

/// Producer settings, by Kafka's property names. Defaults are modern Kafka's (3.x/4.x).
public struct ProducerConfig: Sendable {
    public var client: ClientConfig
    /// `acks` (default all).
    public var acks: Acks
    /// `linger.ms` (default 5): how long a partition's batch waits for more records.
    public var linger: Duration
    /// `batch.size` (default 16384): a partition's batch is sent once it holds this many bytes.
    public var batchSize: Int
    /// `enable.idempotence` (default true): InitProducerId + per-partition sequence numbers,
    /// so retries never duplicate or reorder records.
    public var enableIdempotence: Bool
    /// `compression.type` (default none).
    public var compression: CompressionType
    /// `retries` (default Int32.max, bounded in practice by `delivery.timeout.ms`).
    public var retries: Int
    /// `delivery.timeout.ms` (default 120000): the upper bound on reporting a record's fate.
    public var deliveryTimeout: Duration
    /// `max.request.size` (default 1048576): the largest single record batch accepted.
    public var maxRequestSize: Int
    /// `buffer.memory` (default 33554432): bytes of unsent records before `send` waits.
    public var bufferMemory: Int
    /// `max.block.ms` (default 60000): how long `produce` waits for a topic the metadata does not
    /// list yet (UNKNOWN_TOPIC_OR_PARTITION is retriable: a broker that just restarted, or whose
    /// metadata lags, answers it for a topic that exists), as Java's `waitOnMetadata`.
    public var maxBlock: Duration

    public init(properties: ClientProperties) throws {
        client = try ClientConfig(properties: properties)
        let acksExplicit = properties["acks"] != nil
        acks = try properties.oneOf("acks", default: .all, ["all": .all, "-1": .all, "1": .leader, "0": .none])
        linger = try properties.milliseconds("linger.ms", default: 5)
        batchSize = try properties.int("batch.size", default: 16384, range: 1...(64 << 20))
        compression = try properties.oneOf("compression.type", default: .none,
                                           Dictionary(uniqueKeysWithValues: CompressionType.allCases.map { ($0.rawValue, $0) }))
        retries = try properties.int("retries", default: Int(Int32.max), range: 0...Int(Int32.max))
        deliveryTimeout = try properties.milliseconds("delivery.timeout.ms", default: 120000)
        maxRequestSize = try properties.int("max.request.size", default: 1_048_576, range: 1...Int(Int32.max))
        bufferMemory = try properties.int("buffer.memory", default: 33_554_432, range: 1...Int.max)
        maxBlock = try properties.milliseconds("max.block.ms", default: 60000)
        // As in Java's ProducerConfig: idempotence is on unless disabled, but an explicit
        // `enable.idempotence=true` with acks != all is a contradiction and an error, while an
        // implicit default quietly yields to an explicit `acks=0|1`.
        if let raw = properties["enable.idempotence"] {
            enableIdempotence = try properties.bool("enable.idempotence", default: true)
            if enableIdempotence, acks != .all {
                throw KafkaClientError.invalidConfiguration(
                    key: "enable.idempotence", value: raw, reason: "idempotence requires acks=all")
            }
        } else {
            enableIdempotence = !(acksExplicit && acks != .all)
        }
        if enableIdempotence, client.maxInFlight > 5 {
            throw KafkaClientError.invalidConfiguration(
                key: "max.in.flight.requests.per.connection", value: String(client.maxInFlight),
                reason: "idempotence allows at most 5 requests in flight")
        }
    }
}
