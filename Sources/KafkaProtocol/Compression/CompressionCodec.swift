import NIOCore

/// The compression codecs of record batch attributes bits 0-2, with Kafka's ids and
/// `compression.type` names.
///
/// Each codec compresses to exactly the stream format Kafka's Java client writes, so any Kafka
/// client or broker can read what Samsa writes, and decompresses every form real clients send:
/// * gzip: a gzip member (zlib, windowBits 15+16); concatenated members are read, as Java's
///   `GZIPInputStream` does.
/// * snappy: written in the xerial framing the Java client uses (`SnappyOutputStream`:
///   `0x82 SNAPPY 0`, version 1, compatible version 1, then 32 KiB blocks each prefixed by its
///   int32 compressed length); read in that form or as one raw snappy block (librdkafka's
///   output).
/// * lz4: the LZ4 frame format with independent 64 KiB blocks and no content size or checksum,
///   which is what Kafka's `Lz4BlockOutputStream` writes and all it reads. (The broken header
///   checksum of Kafka's pre-0.10 LZ4 only ever applied to magic 0, which Samsa rejects.)
/// * zstd: standard zstd frames.
///
/// Decompression is always bounded by `maxOutputBytes`, and never allocates by a length taken
/// from the input without checking it against that bound and against the codec's maximum
/// expansion ratio: a zip bomb or a lying length header throws
/// ``CompressionError/outputLimitExceeded(codec:limit:)`` or ``CompressionError/corrupt(codec:reason:)``.
/// Stateless; every call makes its own library context, so all methods are thread-safe.
public enum CompressionCodec: Int16, CaseIterable, Sendable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// Default cap on decompressed bytes per batch: far above Kafka's default 1 MiB batch limit
    /// (`message.max.bytes`) and any sane `max.message.bytes`, far below what exhausts a host.
    public static let defaultMaxDecompressedBytes = 256 << 20

    /// The `compression.type` name Kafka uses in configs (`none`, `gzip`, `snappy`, `lz4`, `zstd`).
    public var name: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    public var description: String { name }

    /// Parses a `compression.type` value. (The topic-level value `producer` is not a codec.)
    public init?(name: String) {
        guard let codec = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = codec
    }

    /// Kafka's default level (KIP-390: `compression.gzip.level` -1 = zlib's 6,
    /// `compression.lz4.level` 9, `compression.zstd.level` 3); snappy has no levels.
    public var defaultLevel: Int {
        switch self {
        case .none, .snappy: 0
        case .gzip: -1
        case .lz4: 9
        case .zstd: 3
        }
    }

    /// Appends the compressed form of `input`'s readable bytes to `output`.
    /// `level` nil means ``defaultLevel``; it is ignored by `none` and `snappy`.
    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer, level: Int? = nil) throws(CompressionError) {
        let level = level ?? defaultLevel
        switch self {
        case .none:
            var input = input
            output.writeBuffer(&input)
        case .gzip: try Gzip.compress(input, into: &output, level: level)
        case .snappy: try Snappy.compressXerial(input, into: &output)
        case .lz4: try LZ4Frame.compress(input, into: &output, level: level)
        case .zstd: try Zstd.compress(input, into: &output, level: level)
        }
    }

    /// The compressed form of `input`'s readable bytes, in a new buffer.
    public func compress(_ input: ByteBuffer, level: Int? = nil) throws(CompressionError) -> ByteBuffer {
        var output = ByteBufferAllocator().buffer(capacity: input.readableBytes / 2 + 64)
        try compress(input, into: &output, level: level)
        return output
    }

    /// Decompresses `input`'s readable bytes, producing at most `maxOutputBytes` bytes.
    /// Throws ``CompressionError/outputLimitExceeded(codec:limit:)`` when there would be more.
    public func decompress(
        _ input: ByteBuffer, maxOutputBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws(CompressionError) -> ByteBuffer {
        let limit = max(0, maxOutputBytes)
        switch self {
        case .none:
            guard input.readableBytes <= limit else { throw .outputLimitExceeded(codec: self, limit: limit) }
            return input
        case .gzip: return try Gzip.decompress(input, limit: limit)
        case .snappy: return try Snappy.decompress(input, limit: limit)
        case .lz4: return try LZ4Frame.decompress(input, limit: limit)
        case .zstd: return try Zstd.decompress(input, limit: limit)
        }
    }
}

/// Why compressing or decompressing failed. `Sendable`.
public enum CompressionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input would decompress to more than the caller's limit (a zip bomb, or just too big).
    case outputLimitExceeded(codec: CompressionCodec, limit: Int)
    /// The input is not a valid stream of the codec (including a length header that lies).
    case corrupt(codec: CompressionCodec, reason: String)
    /// The input ends before the stream does.
    case truncated(codec: CompressionCodec)
    /// The library failed for a reason other than the input (out of memory, bad level).
    case libraryFailure(codec: CompressionCodec, reason: String)

    public var description: String {
        switch self {
        case let .outputLimitExceeded(codec, limit): "\(codec) output exceeds the limit of \(limit) bytes"
        case let .corrupt(codec, reason): "corrupt \(codec) data: \(reason)"
        case let .truncated(codec): "truncated \(codec) data"
        case let .libraryFailure(codec, reason): "\(codec) library failure: \(reason)"
        }
    }
}

/// Growth policy for decompression output: start from an estimate, double as needed, never
/// beyond `limit + 1` bytes (the extra byte is how an overflowing stream is detected).
struct BoundedOutput {
    var buffer: ByteBuffer
    let limit: Int
    let codec: CompressionCodec

    init(codec: CompressionCodec, limit: Int, estimate: Int) {
        self.codec = codec
        self.limit = limit
        self.buffer = ByteBufferAllocator().buffer(capacity: max(64, min(limit + 1, estimate)))
    }

    var produced: Int { buffer.readableBytes }

    /// Runs `body` with a writable region of at most `limit + 1 - produced` bytes (at least 1);
    /// `body` returns how many bytes it wrote. Throws when the output has passed the limit.
    mutating func write(_ body: (UnsafeMutableRawBufferPointer) -> Int) throws(CompressionError) {
        guard produced <= limit else { throw .outputLimitExceeded(codec: codec, limit: limit) }
        let allowed = limit + 1 - produced
        let writable = buffer.writableBytes
        let want = writable > 0 ? min(writable, allowed) : min(max(produced, 64 << 10), allowed)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { region in
            body(UnsafeMutableRawBufferPointer(rebasing: region[..<min(region.count, allowed)]))
        }
        guard produced <= limit else { throw .outputLimitExceeded(codec: codec, limit: limit) }
    }
}
