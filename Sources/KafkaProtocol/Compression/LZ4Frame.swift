import CLZ4
import NIOCore

/// lz4 via the system liblz4's frame API (`lz4frame.h`).
///
/// Kafka's `Lz4BlockOutputStream` writes standard LZ4 frames with independent 64 KiB blocks,
/// no block checksums, no content size and no content checksum, and its reader supports only
/// independent blocks; so that is what is written here. Reading accepts any valid frame
/// (librdkafka, for one, sets the content checksum), including frames written back to back.
enum LZ4Frame {
    static func compress(_ input: ByteBuffer, into output: inout ByteBuffer, level: Int) throws(CompressionError) {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        preferences.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum
        preferences.compressionLevel = Int32(clamping: level)
        var result = 0
        input.withUnsafeReadableBytes { source in
            let bound = LZ4F_compressFrameBound(source.count, &preferences)
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                result = LZ4F_compressFrame(
                    target.baseAddress!, target.count, source.baseAddress, source.count, &preferences)
                return LZ4F_isError(result) != 0 ? 0 : result
            }
        }
        if LZ4F_isError(result) != 0 {
            throw .libraryFailure(codec: .lz4, reason: String(cString: LZ4F_getErrorName(result)))
        }
    }

    static func decompress(_ input: ByteBuffer, limit: Int) throws(CompressionError) -> ByteBuffer {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw .libraryFailure(codec: .lz4, reason: "cannot create a decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }

        var output = BoundedOutput(codec: .lz4, limit: limit, estimate: input.readableBytes * 4)
        let failure: CompressionError? = input.withUnsafeReadableBytes { source -> CompressionError? in
            guard source.count > 0 else { return .truncated(codec: .lz4) }
            var offset = 0
            while true {
                var hint = 0
                var consumed = 0
                var produced = 0
                do throws(CompressionError) {
                    try output.write { target in
                        var targetSize = target.count
                        var sourceSize = source.count - offset
                        hint = LZ4F_decompress(
                            context, target.baseAddress, &targetSize, source.baseAddress! + offset, &sourceSize, nil)
                        if LZ4F_isError(hint) != 0 { return 0 }
                        consumed = sourceSize
                        produced = targetSize
                        return targetSize
                    }
                } catch {
                    return error
                }
                if LZ4F_isError(hint) != 0 {
                    return .corrupt(codec: .lz4, reason: String(cString: LZ4F_getErrorName(hint)))
                }
                offset += consumed
                if hint == 0 && offset == source.count { return nil }  // last frame complete
                if consumed == 0 && produced == 0 {
                    // No progress with room to write: the input ended inside a frame.
                    return offset == source.count ? .truncated(codec: .lz4) : .corrupt(codec: .lz4, reason: "no progress")
                }
            }
        }
        if let failure { throw failure }
        return output.buffer
    }
}
