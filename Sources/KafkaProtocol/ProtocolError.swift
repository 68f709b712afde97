/// The typed error every protocol decoder and encoder in `KafkaProtocol` throws.
///
/// Malformed input from the network must never trap the process: each reader checks every
/// length against the bytes that remain and throws one of these instead. Encoders throw them
/// too, when a value cannot be represented in the requested version (Kafka's own generated
/// code raises `UnsupportedVersionException` in the same places).
///
/// A value type; `Sendable`.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The buffer ended before a value of `needed` bytes could be read.
    case truncated(needed: Int, remaining: Int)
    /// A length or count prefix is negative (other than -1 for null) or larger than what remains.
    case invalidLength(Int64, remaining: Int)
    /// An unsigned varint ran past 5 bytes (Kafka's limit for 32-bit values).
    case varintTooLong
    /// `null` was read or written for a field that is not nullable in this version.
    case nullNotAllowed(field: String, version: Int16)
    /// The message or API does not define this version.
    case unsupportedVersion(message: String, version: Int16)
    /// A non-ignorable field holds a non-default value that the target version cannot carry.
    case fieldNotInVersion(field: String, version: Int16)
    /// A known tagged field's payload did not match its declared size.
    case taggedFieldSizeMismatch(tag: UInt32, declared: Int, consumed: Int)
    /// The request names an API key that Kafka does not define.
    case unknownApiKey(Int16)
    /// A frame's size prefix is negative or exceeds the configured maximum.
    case frameTooLarge(size: Int32, maximum: Int)
    /// A value that fits the wire format but breaks a rule of the protocol.
    case malformed(String)

    public var description: String {
        switch self {
        case let .truncated(needed, remaining):
            return "truncated input: needed \(needed) bytes, \(remaining) remaining"
        case let .invalidLength(length, remaining):
            return "invalid length \(length) with \(remaining) bytes remaining"
        case .varintTooLong:
            return "unsigned varint longer than 5 bytes"
        case let .nullNotAllowed(field, version):
            return "field \(field) is not nullable in version \(version)"
        case let .unsupportedVersion(message, version):
            return "\(message) does not support version \(version)"
        case let .fieldNotInVersion(field, version):
            return "attempted to write a non-default \(field) at version \(version)"
        case let .taggedFieldSizeMismatch(tag, declared, consumed):
            return "tagged field \(tag) declared \(declared) bytes but its value used \(consumed)"
        case let .unknownApiKey(key):
            return "unknown api key \(key)"
        case let .frameTooLarge(size, maximum):
            return "frame size \(size) outside 0...\(maximum)"
        case let .malformed(reason):
            return "malformed message: \(reason)"
        }
    }
}
