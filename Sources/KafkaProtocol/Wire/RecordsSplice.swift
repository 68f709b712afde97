import NIOCore
import Synchronization

/// Lets a response carry record batches that are not in memory: a handler puts a
/// ``placeholder(length:payload:)`` where the records go, and encoding writes the real length
/// prefix but not the bytes, noting where they belong. The server then sends the frame as the
/// encoded pieces with the records between them, each straight from its segment file
/// (`sendfile`, NIO's `FileRegion`) -- Kafka's zero-copy fetch (`FileRecords.writeTo`).
///
/// Why a task-local and placeholders instead of a records type with two cases: the generated
/// messages keep `records: ByteBuffer?` (what clients, tests and the produce path use), and only
/// the one server task that opted in (``current`` bound around a dispatch, on a listener without
/// TLS) ever sees a placeholder. A placeholder is recognised by the identity of its storage, so
/// no real records buffer can be mistaken for one.
///
/// Thread-safe (the task may hop threads between the handler and the encoder).
public final class RecordsSplice: Sendable {
    /// The splice of the request the current task is answering, if its listener sends files.
    @TaskLocal public static var current: RecordsSplice?

    /// One run of records left out of the encoded frame.
    public struct Cut: Sendable {
        /// Index in the frame buffer where the records belong (the bytes before it come first).
        public var position: Int
        public var length: Int
        /// What the handler gave for it (for the broker, the segment slice to send).
        public var payload: any Sendable
    }

    private struct Entry {
        var length: Int
        var payload: any Sendable
        var buffer: ByteBuffer
    }

    private struct State {
        /// Placeholders by the address of their storage.
        var entries: [UInt: Entry] = [:]
        var cuts: [Cut] = []
        var omittedBytes = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Size of every placeholder (a real record batch is at least 61 bytes, so the size check
    /// alone already rules real records out before the identity lookup).
    static let placeholderSize = 8

    /// A buffer to put in a `records` field in place of `length` bytes that `payload` stands for.
    public func placeholder(length: Int, payload: any Sendable) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Self.placeholderSize)
        buffer.writeInteger(UInt64(length))
        let key = Self.key(of: buffer)
        state.withLock { $0.entries[key] = Entry(length: length, payload: payload, buffer: buffer) }
        return buffer
    }

    /// Forgets placeholders that were not encoded (a long poll that read again) and any cuts.
    public func reset() {
        state.withLock { s in
            if !s.entries.isEmpty || !s.cuts.isEmpty || s.omittedBytes != 0 { s = State() }
        }
    }

    /// The records left out of the frame, in frame order. Empty when nothing was spliced.
    public var cuts: [Cut] { state.withLock { $0.cuts } }

    /// Bytes left out of every frame encoded so far (added to the frame's size prefix).
    public var omittedBytes: Int { state.withLock { $0.omittedBytes } }

    /// The length a `records` buffer stands for: its own size, or the placeholder's length.
    public func length(of records: ByteBuffer) -> Int {
        guard records.readableBytes == Self.placeholderSize else { return records.readableBytes }
        return state.withLock { $0.entries[Self.key(of: records)]?.length } ?? records.readableBytes
    }

    /// If `records` is one of this splice's placeholders, the length it stands for.
    func placeholderLength(_ records: ByteBuffer) -> Int? {
        guard records.readableBytes == Self.placeholderSize else { return nil }
        return state.withLock { $0.entries[Self.key(of: records)]?.length }
    }

    /// Notes that the placeholder `records` was encoded and its bytes belong at `position`.
    func addCut(_ records: ByteBuffer, at position: Int) {
        state.withLock { s in
            guard let entry = s.entries[Self.key(of: records)] else { return }
            s.cuts.append(Cut(position: position, length: entry.length, payload: entry.payload))
            s.omittedBytes += entry.length
        }
    }

    private static func key(of buffer: ByteBuffer) -> UInt {
        buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
    }
}

extension ByteBuffer {
    /// Writes a `RECORDS` field: like ``writeKafkaBytes(_:compact:nullable:field:version:)``,
    /// except that a placeholder of the task's ``RecordsSplice`` gets its real length prefix and
    /// a cut instead of its bytes.
    public mutating func writeKafkaRecords(_ value: ByteBuffer?, compact: Bool, nullable: Bool, field: String,
                                           version: Int16) throws {
        if let value, value.readableBytes == RecordsSplice.placeholderSize, let splice = RecordsSplice.current,
           let length = splice.placeholderLength(value) {
            try self.writeKafkaLength(length, compact: compact, classicWidth: 4)
            splice.addCut(value, at: self.writerIndex)
            return
        }
        try self.writeKafkaBytes(value, compact: compact, nullable: nullable, field: field, version: version)
    }
}
