/// Every error the client throws. Each case carries enough context to print one clear line
/// (``description``) for an operator: which key, broker, topic or API was involved and why.
public enum KafkaClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A client property has a value the client cannot use (wrong type, out of range).
    case invalidConfiguration(key: String, value: String, reason: String)
    /// A properties file could not be read or parsed.
    case propertiesFile(path: String, line: Int, reason: String)
    /// No connection could be made to a broker (refused, unreachable, name not resolved).
    case connectionFailed(broker: String, reason: String)
    /// The connection closed while requests were outstanding.
    case connectionClosed(broker: String)
    /// An operation did not complete within its deadline.
    case timedOut(operation: String, milliseconds: Int64)
    /// The broker supports no version of an API that this client implements.
    case unsupportedApi(api: String, broker: String)
    /// The broker answered with a Kafka error code.
    case broker(code: Int16, name: String, context: String, message: String?)
    /// The broker sent bytes that do not decode, or a response that breaks the protocol.
    case protocolViolation(String)
    /// The topic does not exist (after a metadata refresh).
    case unknownTopic(String)
    /// The partition does not exist in the topic's metadata.
    case unknownPartition(topic: String, partition: Int32)
    /// The argument passed to an API is unusable.
    case invalidArgument(String)
    /// The client, producer or consumer has been closed.
    case closed

    public var description: String {
        switch self {
        case let .invalidConfiguration(key, value, reason):
            return "invalid value '\(value)' for \(key): \(reason)"
        case let .propertiesFile(path, line, reason):
            return line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
        case let .connectionFailed(broker, reason):
            return "cannot connect to \(broker): \(reason)"
        case let .connectionClosed(broker):
            return "connection to \(broker) closed"
        case let .timedOut(operation, ms):
            return "\(operation) timed out after \(ms) ms"
        case let .unsupportedApi(api, broker):
            return "broker \(broker) supports no version of \(api) that this client implements"
        case let .broker(code, name, context, message):
            let detail = message.map { ": \($0)" } ?? ""
            return "\(context): \(name) (error \(code))\(detail)"
        case let .protocolViolation(reason):
            return "protocol error: \(reason)"
        case let .unknownTopic(topic):
            return "unknown topic '\(topic)'"
        case let .unknownPartition(topic, partition):
            return "unknown partition \(topic)-\(partition)"
        case let .invalidArgument(reason):
            return reason
        case .closed:
            return "the client is closed"
        }
    }
}
