import KafkaProtocol
import NIOCore

/// One record batch found in a segment file.
struct ScannedBatch {
    /// Byte position of the batch in the `.log` file.
    var position: Int64
    var header: RecordBatchHeader
    /// The whole batch (header included) when the scanner was asked for bodies.
    var bytes: ByteBuffer?
}

/// Why a scan stopped before the end of the file: the log is cut at `position` on recovery.
struct ScanStop: Error, Equatable {
    var position: Int64
    var reason: String
}

/// Walks the record batches of a segment file in order, reading it in large chunks so recovery
/// and index rebuilds cost one `pread` per chunk rather than per batch. Not thread-safe.
struct BatchScanner {
    let file: any StorageFile
    private(set) var position: Int64
    let end: Int64
    let chunkSize: Int
    let wantBodies: Bool
    private var chunk = ByteBuffer()
    private var chunkStart: Int64 = 0

    init(file: any StorageFile, from position: Int64, to end: Int64, chunkSize: Int = 1 << 20, wantBodies: Bool) {
        self.file = file; self.position = position; self.end = end
        self.chunkSize = chunkSize; self.wantBodies = wantBodies
    }

    /// The next batch, nil at the end, or a ``ScanStop`` when the bytes at `position` are not a
    /// whole, plausible batch (structure only; the caller verifies CRCs).
    mutating func next() throws(FileSystemError) -> Result<ScannedBatch, ScanStop>? {
        guard position < end else { return nil }
        let remaining = end - position
        guard remaining >= Int64(RecordBatchHeader.size) else {
            return .failure(ScanStop(position: position, reason: "\(remaining) trailing bytes, less than a batch header"))
        }
        try ensureLoaded(position, count: RecordBatchHeader.size)
        let at = chunk.readerIndex + Int(position - chunkStart)
        let header: RecordBatchHeader
        do {
            header = try RecordBatchHeader.peek(chunk, at: at)
        } catch {
            return .failure(ScanStop(position: position, reason: "bad batch header: \(error)"))
        }
        let total = Int64(header.totalSize)
        guard total <= remaining else {
            return .failure(ScanStop(position: position, reason: "batch of \(total) bytes but only \(remaining) left"))
        }
        var batch = ScannedBatch(position: position, header: header, bytes: nil)
        if wantBodies {
            try ensureLoaded(position, count: Int(total))
            let start = chunk.readerIndex + Int(position - chunkStart)
            guard let bytes = chunk.getSlice(at: start, length: Int(total)) else {
                return .failure(ScanStop(position: position, reason: "file shorter than expected"))
            }
            batch.bytes = bytes
        }
        position += total
        return .success(batch)
    }

    private mutating func ensureLoaded(_ at: Int64, count: Int) throws(FileSystemError) {
        if at >= chunkStart, at + Int64(count) <= chunkStart + Int64(chunk.readableBytes) { return }
        let want = Int(min(end - at, Int64(max(chunkSize, count))))
        chunk = try file.read(at: at, count: want)
        chunkStart = at
    }
}
