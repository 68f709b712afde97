import NIOCore

/// A value that can be an element of a Kafka array: a primitive or a generated struct.
///
/// `compact` tells string elements which length encoding the enclosing version uses; other
/// elements ignore it. Conformances are pure functions of their input; `Sendable`.
public protocol KafkaWireElement: Sendable, Equatable {
    static func readKafkaElement(from buffer: inout ByteBuffer, version: Int16, compact: Bool) throws -> Self
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws
}

/// A generated struct: a message body, a header, or a struct nested in one.
///
/// Nested structs are encoded with the version of the message that contains them, so their
/// coders take that version too.
public protocol KafkaStruct: KafkaWireElement {
    init()
    /// Decodes the struct at `version`, throwing `ProtocolError` on malformed input.
    init(from buffer: inout ByteBuffer, version: Int16) throws
    /// Encodes the struct at `version`, throwing `ProtocolError` when a value cannot be
    /// represented in that version (a null in a non-nullable version, or a non-default value
    /// of a non-ignorable field that the version lacks).
    func encode(into buffer: inout ByteBuffer, version: Int16) throws
}

extension KafkaStruct {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, version: Int16, compact: Bool) throws -> Self {
        try Self(from: &buffer, version: version)
    }

    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws {
        try self.encode(into: &buffer, version: version)
    }
}

/// A top-level message of Kafka's protocol: a request, a response, a header, or a data type
/// such as `ConsumerProtocolSubscription`. Generated from Kafka's JSON specs.
public protocol KafkaMessage: KafkaStruct {
    static var validVersions: ClosedRange<Int16> { get }
    /// First flexible version, nil when the message has none.
    static var flexibleVersionsStart: Int16? { get }
}

extension KafkaMessage {
    /// Throws `unsupportedVersion` unless `version` is one of `validVersions`.
    @inlinable
    public static func checkVersion(_ version: Int16) throws {
        guard Self.validVersions.contains(version) else {
            throw ProtocolError.unsupportedVersion(message: String(describing: Self.self), version: version)
        }
    }

    /// Whether `version` uses compact lengths and tagged fields.
    @inlinable
    public static func isFlexible(version: Int16) -> Bool {
        guard let start = Self.flexibleVersionsStart else { return false }
        return version >= start
    }
}

/// A request body. `Response` is the body the broker answers with, at the same version.
public protocol KafkaRequest: KafkaMessage {
    associatedtype Response: KafkaResponse
    static var apiKey: ApiKey { get }
}

/// A response body.
public protocol KafkaResponse: KafkaMessage {
    static var apiKey: ApiKey { get }
}

// MARK: Primitive array elements

/// Integers are written big-endian at their own width in every version, so one definition
/// serves all the integer element types.
extension KafkaWireElement where Self: FixedWidthInteger {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, version: Int16, compact: Bool) throws -> Self {
        try buffer.readKafkaInteger(as: Self.self)
    }
    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws {
        buffer.writeKafkaInteger(self)
    }
}

extension Int8: KafkaWireElement {}
extension Int16: KafkaWireElement {}
extension Int32: KafkaWireElement {}
extension Int64: KafkaWireElement {}
extension UInt16: KafkaWireElement {}
extension UInt32: KafkaWireElement {}

extension Bool: KafkaWireElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, version: Int16, compact: Bool) throws -> Bool {
        try buffer.readKafkaBool()
    }
    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws {
        buffer.writeKafkaBool(self)
    }
}

extension Double: KafkaWireElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, version: Int16, compact: Bool) throws -> Double {
        try buffer.readKafkaFloat64()
    }
    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws {
        buffer.writeKafkaFloat64(self)
    }
}

extension String: KafkaWireElement {
    /// Array elements are never null in Kafka's specs, so a null element is malformed input.
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, version: Int16, compact: Bool) throws -> String {
        try buffer.readKafkaString(compact: compact, field: "array element", version: version)
    }
    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws {
        try buffer.writeKafkaString(self, compact: compact, nullable: false, field: "array element", version: version)
    }
}

extension KafkaUUID: KafkaWireElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, version: Int16, compact: Bool) throws -> KafkaUUID {
        try buffer.readKafkaUUID()
    }
    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws {
        buffer.writeKafkaUUID(self)
    }
}
