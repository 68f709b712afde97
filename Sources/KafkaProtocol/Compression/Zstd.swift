import CZstd
import NIOCore

/// zstd via the system libzstd. Standard frames both ways; frames written back to back are read.
enum Zstd {
    static func compress(_ input: ByteBuffer, into output: inout ByteBuffer, level: Int) throws(CompressionError) {
        var result = 0
        input.withUnsafeReadableBytes { source in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: ZSTD_compressBound(source.count)) { target in
                result = ZSTD_compress(
                    target.baseAddress, target.count, source.baseAddress, source.count, Int32(clamping: level))
                return ZSTD_isError(result) != 0 ? 0 : result
            }
        }
        if ZSTD_isError(result) != 0 {
            throw .libraryFailure(codec: .zstd, reason: String(cString: ZSTD_getErrorName(result)))
        }
    }

    /// The largest window (log2 bytes) a frame may ask the decoder to allocate: enough for
    /// `limit`, at least 8 MiB so ordinary producer frames (level 3 streams use a 2 MiB window
    /// even for small batches) always decode, at most zstd's own default cap of 128 MiB.
    static func windowLogMax(forLimit limit: Int) -> Int32 {
        let needed = Int32(Int.bitWidth - max(limit, 1).leadingZeroBitCount)
        return min(27, max(23, needed))
    }

    static func decompress(_ input: ByteBuffer, limit: Int) throws(CompressionError) -> ByteBuffer {
        guard let context = ZSTD_createDCtx() else {
            throw .libraryFailure(codec: .zstd, reason: "cannot create a decompression context")
        }
        defer { ZSTD_freeDCtx(context) }
        let set = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, windowLogMax(forLimit: limit))
        guard ZSTD_isError(set) == 0 else { throw .libraryFailure(codec: .zstd, reason: "cannot cap the window") }

        let failure: Result<ByteBuffer, CompressionError> = input.withUnsafeReadableBytes { source in
            guard source.count > 0 else { return .failure(.truncated(codec: .zstd)) }
            // The frame header's content size is only a hint: it is bounded by the limit before
            // it sizes anything, and the output grows past it if it lied low.
            let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
            let estimate = declared < UInt64.max - 1 ? Int(clamping: declared) : source.count * 4
            var output = BoundedOutput(codec: .zstd, limit: limit, estimate: estimate)
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            while true {
                var result = 0
                var produced = 0
                let before = inBuffer.pos
                do throws(CompressionError) {
                    try output.write { target in
                        var outBuffer = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                        result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                        produced = ZSTD_isError(result) != 0 ? 0 : outBuffer.pos
                        return produced
                    }
                } catch {
                    return .failure(error)
                }
                if ZSTD_isError(result) != 0 {
                    return .failure(.corrupt(codec: .zstd, reason: String(cString: ZSTD_getErrorName(result))))
                }
                if result == 0 && inBuffer.pos == inBuffer.size { return .success(output.buffer) }
                if produced == 0 && inBuffer.pos == before {
                    return .failure(inBuffer.pos == inBuffer.size ? .truncated(codec: .zstd) : .corrupt(codec: .zstd, reason: "no progress"))
                }
            }
        }
        return try failure.get()
    }
}
