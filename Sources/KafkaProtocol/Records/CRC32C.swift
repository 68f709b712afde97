import CCRC32C
import NIOCore

/// CRC-32C (Castagnoli), the checksum of record batch v2.
///
/// Backed by the `CCRC32C` C target: the SSE4.2 `crc32` instruction over three interleaved
/// streams where the CPU has it, slicing-by-8 tables otherwise. Thread-safe (pure function).
public enum CRC32C {
    /// Whether the hardware (SSE4.2) path is in use on this CPU.
    public static var isHardwareAccelerated: Bool { samsa_crc32c_hardware_available() != 0 }

    /// CRC of `bytes`, continuing from `crc` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        samsa_crc32c(crc, bytes.baseAddress, bytes.count)
    }

    /// CRC of a byte array.
    public static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// CRC of `length` readable bytes of `buffer` starting at absolute index `index`.
    /// Returns nil when the range is not readable.
    public static func checksum(_ buffer: ByteBuffer, at index: Int, length: Int) -> UInt32? {
        guard index >= buffer.readerIndex, length >= 0, index + length <= buffer.writerIndex else { return nil }
        return buffer.withUnsafeReadableBytes { raw in
            let start = index - buffer.readerIndex
            return samsa_crc32c(0, raw.baseAddress.map { $0 + start }, length)
        }
    }

    /// The table-driven path, for tests that compare both implementations.
    public static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        samsa_crc32c_portable(crc, bytes.baseAddress, bytes.count)
    }
}
