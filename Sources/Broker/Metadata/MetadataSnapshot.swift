import KafkaProtocol
import LogStorage
import Logging
import NIOCore

/// A snapshot's identity, as Kafka's `OffsetAndEpoch`: it holds every record of the metadata
/// log below `offset` (the next offset to read after loading it), and `epoch` is the leader
/// epoch of the last record it contains. Ordered by offset, then epoch.
public struct SnapshotId: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var offset: Int64
    public var epoch: Int32

    public init(offset: Int64, epoch: Int32) {
        self.offset = offset; self.epoch = epoch
    }

    public static func < (a: SnapshotId, b: SnapshotId) -> Bool {
        (a.offset, a.epoch) < (b.offset, b.epoch)
    }

    public var description: String { "(offset \(offset), epoch \(epoch))" }
}

/// Why a snapshot file was not used.
public struct MetadataSnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "Metadata snapshot \(path) is unusable: \(reason)" }
}

/// A snapshot read back and validated.
public struct LoadedMetadataSnapshot: Sendable {
    public var id: SnapshotId
    public var path: String
    /// SnapshotHeaderRecord.LastContainedLogTimestamp: append time of the last record it holds.
    public var lastContainedLogTimestamp: Int64
    /// Samsa's records, in order (Kafka records Samsa does not model are left out).
    public var records: [MetadataRecord]
    /// Size of the file in bytes.
    public var sizeInBytes: Int64
}

/// KRaft metadata snapshots in Kafka's on-disk format (`org.apache.kafka.snapshot`).
///
/// Files live in the metadata log's partition directory (`<metadata dir>/__cluster_metadata-0/`):
///
/// ```text
/// 00000000000000001234-0000000005.checkpoint        a complete snapshot: offset 1234, epoch 5
///                                                   (Snapshots.filenameFromSnapshotId: %020d-%010d)
/// 00000000000000001234-0000000005.checkpoint.part   being written; removed at start
/// 00000000000000001234-0000000005.checkpoint.deleted  being deleted; removed at start
/// ```
///
/// A `.checkpoint` file is a sequence of v2 record batches, exactly as Kafka's
/// `RecordsSnapshotWriter` writes it (uncompressed; offsets dense from 0; every batch's
/// partitionLeaderEpoch is the snapshot epoch; producer id/epoch/sequence -1):
///
/// ```text
/// batch 0   control batch, one record: key (version 0, type 3 SNAPSHOT_HEADER),
///           value SnapshotHeaderRecord v0 {Version 0, LastContainedLogTimestamp}
/// batch 1.. data batches: key null, value = MetadataRecordSerde frame (one Kafka metadata record)
///           at most `maxRecordsPerBatch` records each
/// batch n   control batch, one record: key (version 0, type 4 SNAPSHOT_FOOTER),
///           value SnapshotFooterRecord v0 {Version 0}
/// ```
///
/// Writing is crash-safe: the batches go to `<name>.checkpoint.part`, which is fsynced, renamed
/// to `<name>.checkpoint`, and the directory fsynced; so a `.checkpoint` is complete and durable
/// or absent. Reading checks every batch's CRC and that the header opens and the footer closes
/// the file; a file that fails (torn, truncated, garbage) is skipped with a logged reason and
/// the next older snapshot (or the log from its start) is used instead.
///
/// Stateless functions over an injected ``FileSystem``; `Sendable`.
public enum MetadataSnapshots {
    public static let suffix = ".checkpoint"
    public static let partialSuffix = ".checkpoint.part"
    public static let deletedSuffix = ".checkpoint.deleted"
    /// Records per data batch. Kafka's writer cuts batches by bytes (`maxBatchSizeBytes`);
    /// a record count keeps batches of metadata records (tens of bytes each) well under that.
    public static let maxRecordsPerBatch = 1000

    /// Kafka's `Snapshots.filenameFromSnapshotId`: `%020d-%010d.checkpoint`.
    public static func fileName(_ id: SnapshotId) -> String {
        pad(String(id.offset), 20) + "-" + pad(String(id.epoch), 10) + suffix
    }

    /// The id in a complete snapshot's file name, nil for any other name.
    public static func snapshotId(fromFileName name: String) -> SnapshotId? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 20, parts[1].count == 10,
              parts[0].allSatisfy(\.isASCIIDigitCharacter), parts[1].allSatisfy(\.isASCIIDigitCharacter),
              let offset = Int64(parts[0]), let epoch = Int32(parts[1]) else { return nil }
        return SnapshotId(offset: offset, epoch: epoch)
    }

    /// Complete snapshots in `directory`, oldest first.
    public static func list(in directory: String, fileSystem: any FileSystem) throws(FileSystemError) -> [SnapshotId] {
        guard fileSystem.isDirectory(directory) else { return [] }
        return try fileSystem.listDirectory(directory).compactMap(snapshotId(fromFileName:)).sorted()
    }

    /// Removes `.checkpoint.part` and `.checkpoint.deleted` files left by a crash (Kafka's
    /// `KafkaMetadataLog` does the same when it opens).
    public static func removeLeftovers(in directory: String, fileSystem: any FileSystem) throws(FileSystemError) {
        guard fileSystem.isDirectory(directory) else { return }
        var removed = false
        for name in try fileSystem.listDirectory(directory) where name.hasSuffix(partialSuffix) || name.hasSuffix(deletedSuffix) {
            try fileSystem.removeFile(directory + "/" + name)
            removed = true
        }
        if removed { try fileSystem.syncDirectory(directory) }
    }

    // MARK: Writing

    /// The bytes of a snapshot holding `values` (MetadataRecordSerde frames).
    public static func encode(values: [ByteBuffer], id: SnapshotId, lastContainedLogTimestamp: Int64,
                              now: Int64) throws(RecordBatchError) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: 256 + values.reduce(0) { $0 + $1.readableBytes + 8 })
        var offset: Int64 = 0

        var header = ByteBuffer()
        // SnapshotHeaderRecord has no optional fields at v0: encoding cannot fail.
        try? SnapshotHeaderRecord(version: 0, lastContainedLogTimestamp: lastContainedLogTimestamp).encode(into: &header, version: 0)
        try controlBatch(type: .snapshotHeader, value: header, offset: offset, epoch: id.epoch, now: now).encode(into: &out)
        offset += 1

        var index = 0
        while index < values.count {
            let end = min(index + maxRecordsPerBatch, values.count)
            let records = (index..<end).map { i in
                Record(offsetDelta: Int32(i - index), timestampDelta: 0, key: nil, value: values[i])
            }
            let batch = RecordBatch(baseOffset: offset, partitionLeaderEpoch: id.epoch, baseTimestamp: now,
                                    maxTimestamp: now, records: records)
            try batch.encode(into: &out)
            offset += Int64(records.count)
            index = end
        }

        var footer = ByteBuffer()
        try? SnapshotFooterRecord(version: 0).encode(into: &footer, version: 0)
        try controlBatch(type: .snapshotFooter, value: footer, offset: offset, epoch: id.epoch, now: now).encode(into: &out)
        return out
    }

    private static func controlBatch(type: ControlRecordType, value: ByteBuffer, offset: Int64, epoch: Int32, now: Int64) -> RecordBatch {
        RecordBatch(baseOffset: offset, partitionLeaderEpoch: epoch, isControl: true, baseTimestamp: now, maxTimestamp: now,
                    records: [Record(offsetDelta: 0, key: ControlRecordKey(type: type).encoded, value: value)])
    }

    /// Writes a snapshot of `records` as `<directory>/<fileName(id)>` (crash-safe, see the type)
    /// and returns its path. An existing snapshot with the same id is left as it is.
    @discardableResult
    public static func write(records: [MetadataRecord], id: SnapshotId, lastContainedLogTimestamp: Int64, now: Int64,
                             directory: String, fileSystem: any FileSystem) throws -> String {
        let values = try records.map { try MetadataRecordCodec.encode($0) }
        let bytes = try encode(values: values, id: id, lastContainedLogTimestamp: lastContainedLogTimestamp, now: now)
        let path = directory + "/" + fileName(id)
        if fileSystem.fileExists(path) { return path }
        try fileSystem.createDirectory(directory)
        let partial = directory + "/" + fileName(id).dropLast(suffix.count) + partialSuffix
        let file = try fileSystem.open(partial, create: true)
        try file.truncate(to: 0)
        try file.write(bytes, at: 0)
        try file.sync()
        try fileSystem.rename(partial, to: path)
        try fileSystem.syncDirectory(directory)
        return path
    }

    // MARK: Reading

    /// Reads and validates the snapshot `id` in `directory`.
    public static func read(_ id: SnapshotId, in directory: String, fileSystem: any FileSystem) throws -> LoadedMetadataSnapshot {
        let path = directory + "/" + fileName(id)
        let bytes: ByteBuffer
        do {
            let file = try fileSystem.open(path, create: false)
            let size = try file.size()
            bytes = try file.read(at: 0, count: Int(size))
        }
        var loaded = try decode(bytes, path: path)
        loaded.id = id
        return loaded
    }

    /// Validates and decodes snapshot bytes. Throws ``MetadataSnapshotError`` naming the problem.
    public static func decode(_ bytes: ByteBuffer, path: String) throws(MetadataSnapshotError) -> LoadedMetadataSnapshot {
        func fail(_ reason: String) -> MetadataSnapshotError { MetadataSnapshotError(path: path, reason: reason) }
        let decoded: DecodedRecordBatches
        do { decoded = try RecordBatch.decodeAll(from: bytes) } catch { throw fail("bad record batch: \(error)") }
        if decoded.hasPartialTrailingBatch {
            throw fail("\(decoded.partialTrailingBytes) byte(s) of a torn batch at the end (no footer)")
        }
        let batches = decoded.batches
        guard let first = batches.first else { throw fail("empty file (no snapshot header)") }
        guard first.isControl, let headerRecord = first.records.first, let key = headerRecord.key,
              (try? ControlRecordKey(from: key))?.type == .snapshotHeader, var headerValue = headerRecord.value else {
            throw fail("the first batch is not a SnapshotHeaderRecord control batch")
        }
        let header: SnapshotHeaderRecord
        do { header = try SnapshotHeaderRecord(from: &headerValue, version: 0) } catch { throw fail("bad SnapshotHeaderRecord: \(error)") }
        guard batches.count >= 2, let last = batches.last, last.isControl, let footerRecord = last.records.last,
              let footerKey = footerRecord.key, (try? ControlRecordKey(from: footerKey))?.type == .snapshotFooter else {
            throw fail("no SnapshotFooterRecord at the end (incomplete snapshot)")
        }
        var records: [MetadataRecord] = []
        var expectedOffset: Int64 = 0
        for (i, batch) in batches.enumerated() {
            guard batch.baseOffset >= expectedOffset else {
                throw fail("batch \(i) starts at offset \(batch.baseOffset), below \(expectedOffset)")
            }
            expectedOffset = batch.baseOffset + Int64(batch.effectiveLastOffsetDelta) + 1
            // Control batches in between (KRaftVersionRecord, VotersRecord) are the quorum's.
            if batch.isControl { continue }
            for record in batch.records {
                guard let value = record.value else { throw fail("a record of batch \(i) has no value") }
                do {
                    if let r = try MetadataRecordCodec.decode(value) { records.append(r) }
                } catch {
                    throw fail("record at offset \(batch.baseOffset + Int64(record.offsetDelta)): \(error)")
                }
            }
        }
        return LoadedMetadataSnapshot(id: SnapshotId(offset: 0, epoch: first.partitionLeaderEpoch), path: path,
                                      lastContainedLogTimestamp: header.lastContainedLogTimestamp, records: records,
                                      sizeInBytes: Int64(bytes.readableBytes))
    }

    /// The newest snapshot in `directory` that reads back valid, or nil. Each one skipped is
    /// logged with its reason (a torn or corrupt snapshot must not stop the broker when an
    /// older snapshot or the log itself can rebuild the image). `atMost` ignores snapshots
    /// beyond an offset (those the log does not reach, e.g. after a truncation).
    public static func latestValid(in directory: String, fileSystem: any FileSystem, atMost: Int64 = .max,
                                   logger: Logger) throws(FileSystemError) -> LoadedMetadataSnapshot? {
        for id in try list(in: directory, fileSystem: fileSystem).reversed() where id.offset <= atMost {
            do {
                return try read(id, in: directory, fileSystem: fileSystem)
            } catch {
                logger.warning("Ignoring metadata snapshot \(fileName(id)): \(error)")
            }
        }
        return nil
    }

    /// Deletes complete snapshots older than `id` (rename to `.deleted`, directory fsync,
    /// remove), as Kafka does once a newer snapshot makes them unnecessary.
    public static func deleteSnapshots(before id: SnapshotId, in directory: String, fileSystem: any FileSystem) throws(FileSystemError) {
        let old = try list(in: directory, fileSystem: fileSystem).filter { $0 < id }
        guard !old.isEmpty else { return }
        for s in old {
            let name = fileName(s)
            try fileSystem.rename(directory + "/" + name, to: directory + "/" + name.dropLast(suffix.count) + deletedSuffix)
        }
        try fileSystem.syncDirectory(directory)
        for s in old {
            try fileSystem.removeFile(directory + "/" + fileName(s).dropLast(suffix.count) + deletedSuffix)
        }
    }

    private static func pad(_ digits: String, _ width: Int) -> String {
        digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

private extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
