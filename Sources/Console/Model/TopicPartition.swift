import KafkaClient

/// The console uses the client's topic-partition key (Codable, Comparable), so values pass
/// between the data source and the snapshot without conversion.
public typealias TopicPartition = KafkaClient.TopicPartition
