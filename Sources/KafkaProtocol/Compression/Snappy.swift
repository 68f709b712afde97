import CSnappy
import NIOCore

/// snappy via the system libsnappy, in both forms Kafka clients write.
///
/// The Java client writes the xerial framing (snappy-java's `SnappyOutputStream`):
/// ```
/// 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00   magic (8 bytes)
/// int32 version = 1, int32 minimum compatible version = 1
/// then blocks: int32 compressed length, raw snappy block (each of at most 32 KiB input)
/// ```
/// librdkafka writes one raw snappy block instead, and reads both; so does this.
enum Snappy {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let xerialHeaderSize = 16
    /// snappy-java's default block size; Kafka uses the default.
    static let xerialBlockSize = 32 * 1024
    /// The most a raw snappy block can expand: a 3-byte copy element emits at most 64 bytes.
    /// Any length header claiming more than this times the block size is a lie.
    static let maximumExpansion = 22

    static func compressXerial(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        output.writeBytes(xerialMagic)
        output.writeInteger(Int32(1))
        output.writeInteger(Int32(1))
        let failure: CompressionError? = input.withUnsafeReadableBytes { source in
            var offset = 0
            while offset < source.count {
                let count = min(xerialBlockSize, source.count - offset)
                let bound = snappy_max_compressed_length(count)
                let lengthIndex = output.writerIndex
                output.writeInteger(Int32(0))
                var status = SNAPPY_OK
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                    var written = target.count
                    status = snappy_compress(
                        source.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), count,
                        target.baseAddress!.assumingMemoryBound(to: CChar.self), &written)
                    return status == SNAPPY_OK ? written : 0
                }
                guard status == SNAPPY_OK else { return .libraryFailure(codec: .snappy, reason: "snappy_compress: \(status)") }
                output.setInteger(Int32(output.writerIndex - lengthIndex - 4), at: lengthIndex)
                offset += count
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Compresses into one raw snappy block (librdkafka's form); used by tests and available to
    /// callers that talk to readers without xerial support.
    static func compressRaw(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        guard input.readableBytes > 0 else {
            output.writeInteger(UInt8(0))  // the block of nothing: its varint length alone
            return
        }
        var status = SNAPPY_OK
        input.withUnsafeReadableBytes { source in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: snappy_max_compressed_length(source.count)) { target in
                var written = target.count
                status = snappy_compress(
                    source.baseAddress!.assumingMemoryBound(to: CChar.self), source.count,
                    target.baseAddress!.assumingMemoryBound(to: CChar.self), &written)
                return status == SNAPPY_OK ? written : 0
            }
        }
        guard status == SNAPPY_OK else { throw .libraryFailure(codec: .snappy, reason: "snappy_compress: \(status)") }
    }

    static func isXerial(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= xerialHeaderSize && bytes.prefix(8).elementsEqual(xerialMagic)
    }

    static func decompress(_ input: ByteBuffer, limit: Int) throws(CompressionError) -> ByteBuffer {
        let result: Result<ByteBuffer, CompressionError> = input.withUnsafeReadableBytes { source in
            guard source.count > 0 else { return .failure(.truncated(codec: .snappy)) }
            if !isXerial(source) {
                var output = BoundedOutput(codec: .snappy, limit: limit, estimate: 0)
                if let failure = uncompressBlock(source, into: &output) { return .failure(failure) }
                return .success(output.buffer)
            }
            // Blocks are at most 32 KiB of input each, so start from 4x the input and grow.
            var output = BoundedOutput(codec: .snappy, limit: limit, estimate: source.count * 4)
            var offset = xerialHeaderSize
            while offset < source.count {
                // snappy-java also reads a second stream appended to the first (header repeated).
                if isXerial(UnsafeRawBufferPointer(rebasing: source[offset...])) {
                    offset += xerialHeaderSize
                    continue
                }
                guard source.count - offset >= 4 else { return .failure(.truncated(codec: .snappy)) }
                let length = Int(Int32(bigEndian: source.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                offset += 4
                guard length >= 0 else { return .failure(.corrupt(codec: .snappy, reason: "negative xerial block length \(length)")) }
                guard length <= source.count - offset else { return .failure(.truncated(codec: .snappy)) }
                let block = UnsafeRawBufferPointer(rebasing: source[offset..<(offset + length)])
                if let failure = uncompressBlock(block, into: &output) { return .failure(failure) }
                offset += length
            }
            return .success(output.buffer)
        }
        return try result.get()
    }

    /// Appends one raw snappy block, after checking its claimed length against the limit and the
    /// format's maximum expansion so a lying header cannot make us allocate.
    static func uncompressBlock(_ block: UnsafeRawBufferPointer, into output: inout BoundedOutput) -> CompressionError? {
        guard block.count > 0 else { return .truncated(codec: .snappy) }
        let compressed = block.baseAddress!.assumingMemoryBound(to: CChar.self)
        var claimed = 0
        guard snappy_uncompressed_length(compressed, block.count, &claimed) == SNAPPY_OK else {
            return .corrupt(codec: .snappy, reason: "bad length header")
        }
        guard claimed <= output.limit - output.produced else { return .outputLimitExceeded(codec: .snappy, limit: output.limit) }
        guard claimed / maximumExpansion <= block.count else {
            return .corrupt(codec: .snappy, reason: "claims \(claimed) bytes from a \(block.count)-byte block")
        }
        if claimed == 0 {
            // A zero-length block is just its 1-byte header.
            return block.count == 1 ? nil : .corrupt(codec: .snappy, reason: "bytes after an empty block")
        }
        var status = SNAPPY_OK
        output.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: claimed) { target in
            var written = claimed
            status = snappy_uncompress(compressed, block.count, target.baseAddress!.assumingMemoryBound(to: CChar.self), &written)
            return status == SNAPPY_OK ? written : 0
        }
        guard status == SNAPPY_OK else { return .corrupt(codec: .snappy, reason: "invalid snappy block") }
        return nil
    }
}
