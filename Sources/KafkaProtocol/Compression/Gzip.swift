import CZlib
import NIOCore

/// gzip via the system zlib. Kafka's gzip is a plain gzip member (Java's `GZIPOutputStream`),
/// so windowBits is 15 + 16 (gzip wrapper, 32 KiB window) both ways.
enum Gzip {
    static let windowBits: Int32 = 15 + 16

    static func compress(_ input: ByteBuffer, into output: inout ByteBuffer, level: Int) throws(CompressionError) {
        guard (-1...9).contains(level) else { throw .libraryFailure(codec: .gzip, reason: "level \(level) outside -1...9") }
        var stream = z_stream()
        let status = deflateInit2_(
            &stream, Int32(level), Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw .libraryFailure(codec: .gzip, reason: "deflateInit2 returned \(status)") }
        defer { deflateEnd(&stream) }

        let bound = Int(deflateBound(&stream, UInt(input.readableBytes)))
        var result: Int32 = Z_OK
        input.withUnsafeReadableBytes { source in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(min(target.count, Int(uInt.max)))
                result = deflate(&stream, Z_FINISH)
                return result == Z_STREAM_END ? target.count - Int(stream.avail_out) : 0
            }
        }
        // deflateBound guarantees that one Z_FINISH call completes; anything else is a library failure.
        guard result == Z_STREAM_END else {
            throw .libraryFailure(codec: .gzip, reason: "deflate returned \(result) within deflateBound")
        }
    }

    static func decompress(_ input: ByteBuffer, limit: Int) throws(CompressionError) -> ByteBuffer {
        var stream = z_stream()
        let status = inflateInit2_(&stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw .libraryFailure(codec: .gzip, reason: "inflateInit2 returned \(status)") }
        defer { inflateEnd(&stream) }

        // Deflate rarely beats 4:1 on record data; the buffer doubles from there if needed.
        var output = BoundedOutput(codec: .gzip, limit: limit, estimate: input.readableBytes * 4)
        let failure: CompressionError? = input.withUnsafeReadableBytes { source -> CompressionError? in
            guard source.count > 0 else { return .truncated(codec: .gzip) }
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress!.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(source.count)
            while true {
                var result: Int32 = Z_OK
                do throws(CompressionError) {
                    try output.write { target in
                        stream.next_out = target.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        stream.avail_out = uInt(target.count)
                        result = inflate(&stream, Z_NO_FLUSH)
                        return target.count - Int(stream.avail_out)
                    }
                } catch {
                    return error
                }
                switch result {
                case Z_STREAM_END:
                    // Java's GZIPInputStream reads concatenated members and ignores anything else
                    // that follows; do the same.
                    let rest = Int(stream.avail_in)
                    guard rest >= 2, stream.next_in[0] == 0x1F, stream.next_in[1] == 0x8B else { return nil }
                    guard inflateReset(&stream) == Z_OK else { return .libraryFailure(codec: .gzip, reason: "inflateReset") }
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress possible: either the output region was full (loop to grow it)
                    // or the input ran out mid-stream.
                    if stream.avail_in == 0 { return .truncated(codec: .gzip) }
                case Z_DATA_ERROR, Z_NEED_DICT:
                    let message = stream.msg.map { String(cString: $0) } ?? "invalid deflate data"
                    return .corrupt(codec: .gzip, reason: message)
                case Z_MEM_ERROR:
                    return .libraryFailure(codec: .gzip, reason: "out of memory")
                default:
                    return .libraryFailure(codec: .gzip, reason: "inflate returned \(result)")
                }
            }
        }
        if let failure { throw failure }
        return output.buffer
    }
}
