import KafkaProtocol
import NIOCore

/// What one compaction pass did. A value type; `Sendable`.
public struct CompactionResult: Equatable, Sendable {
    /// Segments read (all replaced by `segmentsWritten` new ones).
    public var segmentsCleaned: Int
    public var segmentsWritten: Int
    public var bytesBefore: Int64
    public var bytesAfter: Int64
    /// Records dropped because a later record has the same key.
    public var recordsRemoved: Int
    /// Tombstones (null values) dropped because they were older than `delete.retention.ms`.
    public var tombstonesRemoved: Int
    /// The cleaned range ends here (exclusive).
    public var cleanedUpTo: Int64
    /// Batches left without records (now or by an earlier pass) that were dropped.
    public var emptyBatchesRemoved: Int = 0
}

extension PartitionLog {
    /// Kafka's default `producer.id.expiration.ms` (1 day).
    public static let defaultProducerIdExpirationMs: Int64 = 86_400_000

    /// One compaction pass (`cleanup.policy=compact`): keeps only the latest record per key in
    /// every non-active segment wholly below the high watermark and older than
    /// `min.compaction.lag.ms`, merging small segments up to `segment.bytes`.
    ///
    /// Appends and reads continue while the new segments are built (from the immutable old ones,
    /// outside the lock); only the final swap takes the lock. If the log was truncated or
    /// retention removed segments meanwhile, the pass is abandoned and its files removed.
    ///
    /// Crash safety: new segments are written as `<base>.log.cleaned` and fsynced, renamed to
    /// `.log.swap` (the commit point), then the old segments are removed and the swap files
    /// renamed to `.log`. Opening a log deletes `.cleaned` files and finishes `.swap` files.
    ///
    /// Rules (Kafka's `LogCleaner`, simplified; documented in DESIGN.md):
    /// * a record is kept when its key has no later record in the cleaned range; records without
    ///   a key are kept;
    /// * a tombstone is dropped once its timestamp is older than `delete.retention.ms`;
    /// * control batches are kept whole;
    /// * a batch left without records (emptied now, or already empty from an earlier pass) is
    ///   dropped, except two, kept as empty batches:
    ///   - the last batch of its group: it is where the cleaned segment ends, which is what
    ///     finishing an interrupted swap reads from the `.swap` file to know which old segments it
    ///     replaces (without it an all-superseded group leaves an empty file that covers nothing);
    ///   - the batch holding the last sequence of an *active* idempotent producer: the last batch
    ///     of that producer id in the whole log (not just the cleaned range), whose newest
    ///     timestamp is within `producerIdExpirationMs` (Kafka: `producer.id.expiration.ms`), so
    ///     the producer state rebuilt from the log after a restart still knows its sequence
    ///     (Kafka's `RETAIN_EMPTY`).
    ///   The next pass merges small groups, so a former group end becomes an inner batch and goes.
    ///   Copying every old empty batch again and keeping the last batch of every producer ever
    ///   seen made them pile up pass after pass, until Fetch answers held nothing but empty
    ///   batches (issue 9, item 4);
    /// * segments are grouped for merging as Kafka's `groupSegmentsBySize`: consecutive segments
    ///   while their bytes stay <= `segment.bytes`, their index entries <= `segment.index.bytes`,
    ///   and their offsets span <= Int32.max;
    /// * a pass runs when the never-compacted share of the range is >= `min.cleanable.dirty.ratio`
    ///   (or when `force` is set).
    ///
    /// Returns nil when there was nothing to do.
    @discardableResult
    public func compact(force: Bool = false,
                        producerIdExpirationMs: Int64 = PartitionLog.defaultProducerIdExpirationMs) throws(LogStorageError) -> CompactionResult? {
        // 1. Choose the range under the lock.
        struct Source {
            let segment: LogSegment; let file: any StorageFile; let size: Int64; let upper: Int64
            let offsetIndexBytes: Int; let timeIndexBytes: Int
        }
        let (sources, later, config, generationAtStart, now): ([Source], [(any StorageFile, Int64)], LogConfig, UInt64, Int64) = try withLog { () throws(FileSystemError) in
            let config = _config
            let now = clock.milliseconds()
            var chosen: [Source] = []
            guard config.cleanupPolicy.contains(.compact) || force else { return ([], [], config, generation, now) }
            for i in 0..<(segments.count - 1) {
                let segment = segments[i]
                let upper = segments[i + 1].baseOffset
                try segment.ensureIndexes(indexIntervalBytes: config.indexIntervalBytes)
                guard upper <= _highWatermark else { break }
                let newest = segment.maxTimestampSoFar >= 0 ? segment.maxTimestampSoFar : segment.createdMs
                guard now - newest >= config.minCompactionLagMs else { break }
                chosen.append(Source(segment: segment, file: try segment.file(), size: segment.size, upper: upper,
                                     offsetIndexBytes: segment.offsetIndex.entries.count * OffsetIndex.entrySize,
                                     timeIndexBytes: segment.timeIndex.entries.count * TimeIndex.entrySize))
            }
            guard !chosen.isEmpty else { return ([], [], config, generation, now) }
            let total = chosen.reduce(Int64(0)) { $0 + $1.size }
            let dirty = chosen.filter { $0.upper > cleanerCheckpoint }.reduce(Int64(0)) { $0 + $1.size }
            if !force && (total == 0 || dirty == 0 || Double(dirty) / Double(total) < config.minCleanableDirtyRatio) {
                return ([], [], config, generation, now)
            }
            // The rest of the log (up to its size now: appends past it do not matter) tells which
            // producers wrote again after the cleaned range.
            var rest: [(any StorageFile, Int64)] = []
            for segment in segments[chosen.count...] { rest.append((try segment.file(), segment.size)) }
            return (chosen, rest, config, generation, now)
        }
        guard !sources.isEmpty else { return nil }

        var result = CompactionResult(segmentsCleaned: sources.count, segmentsWritten: 0,
                                      bytesBefore: sources.reduce(0) { $0 + $1.size }, bytesAfter: 0,
                                      recordsRemoved: 0, tombstonesRemoved: 0, cleanedUpTo: sources.last!.upper)
        // 2. Outside the lock: the latest offset of every key, and each producer's last batch in
        //    the whole log (last offset and newest timestamp).
        var latest: [ByteBuffer: Int64] = [:]
        var lastBatchOfProducer: [Int64: (lastOffset: Int64, maxTimestamp: Int64)] = [:]
        do {
            for source in sources {
                try Self.forEachBatch(source.file, size: source.size) { bytes, header in
                    if header.hasProducerID { lastBatchOfProducer[header.producerId] = (header.lastOffset, header.maxTimestamp) }
                    guard !header.isControl else { return }
                    var copy = bytes
                    let batch = try RecordBatch.decode(from: &copy)
                    for record in batch.records {
                        if let key = record.key { latest[key] = batch.offset(of: record) }
                    }
                }
            }
            for (file, size) in later {
                var scanner = BatchScanner(file: file, from: 0, to: size, wantBodies: false)
                while let next = try scanner.next() {
                    guard case .success(let batch) = next else { break }
                    if batch.header.hasProducerID {
                        lastBatchOfProducer[batch.header.producerId] = (batch.header.lastOffset, batch.header.maxTimestamp)
                    }
                }
            }
        } catch let error as LogStorageError {
            throw error
        } catch {
            throw .corruptRecord("compaction read: \(error)")
        }
        // Kafka's `lastRecordsOfActiveProducers`: producers not expired, and their last batch.
        let producerHorizon = now - producerIdExpirationMs
        let activeProducerLastOffset = lastBatchOfProducer.filter { $0.value.maxTimestamp >= producerHorizon }.mapValues(\.lastOffset)

        // 3. Group consecutive segments (Kafka's groupSegmentsBySize) and write each group's cleaned file.
        var groups: [[Source]] = []
        var current: [Source] = []
        var currentBytes: Int64 = 0, currentIndexBytes = 0, currentTimeIndexBytes = 0
        for source in sources {
            if let first = current.first,
               currentBytes + source.size > Int64(config.segmentBytes)
                || currentIndexBytes + source.offsetIndexBytes > config.segmentIndexBytes
                || currentTimeIndexBytes + source.timeIndexBytes > config.segmentIndexBytes
                || source.upper - 1 - first.segment.baseOffset > Int64(Int32.max) {
                groups.append(current); current = []; currentBytes = 0; currentIndexBytes = 0; currentTimeIndexBytes = 0
            }
            current.append(source); currentBytes += source.size
            currentIndexBytes += source.offsetIndexBytes; currentTimeIndexBytes += source.timeIndexBytes
        }
        if !current.isEmpty { groups.append(current) }

        let deleteHorizon = now - config.deleteRetentionMs
        var cleanedPaths: [(base: Int64, path: String)] = []
        do {
            for group in groups {
                let base = group[0].segment.baseOffset
                let path = joinPath(directory, LogSegment.fileName(base, LogSegment.logSuffix + LogSegment.cleanedSuffix))
                cleanedPaths.append((base, path))
                let out = try fileSystem.open(path, create: true)
                try out.truncate(to: 0)
                var pending = ByteBufferAllocator().buffer(capacity: 1 << 20)
                var written: Int64 = 0
                for (sourceIndex, source) in group.enumerated() {
                    var batches: [(ByteBuffer, RecordBatchHeader)] = []
                    try Self.forEachBatch(source.file, size: source.size) { bytes, header in batches.append((bytes, header)) }
                    for (batchIndex, (bytes, header)) in batches.enumerated() {
                        if header.isControl {
                            var b = bytes; pending.writeBuffer(&b); continue
                        }
                        // Kept even when empty: the group's last batch (its offset is where the
                        // cleaned segment ends) and the last batch of an active idempotent producer.
                        let isLastOfGroup = sourceIndex == group.count - 1 && batchIndex == batches.count - 1
                        let keepEmpty = isLastOfGroup
                            || (header.hasProducerID && activeProducerLastOffset[header.producerId] == header.lastOffset)
                        if header.recordCount == 0 {
                            if keepEmpty { var b = bytes; pending.writeBuffer(&b) } else { result.emptyBatchesRemoved += 1 }
                            continue
                        }
                        var copy = bytes
                        var batch = try RecordBatch.decode(from: &copy)
                        let before = batch.records.count
                        var tombstones = 0
                        let original = batch
                        batch.records.removeAll { record in
                            if let key = record.key, let newest = latest[key], newest > original.offset(of: record) { return true }
                            if record.value == nil, record.key != nil, original.timestamp(of: record) < deleteHorizon {
                                tombstones += 1
                                return true
                            }
                            return false
                        }
                        let removed = before - batch.records.count
                        result.tombstonesRemoved += tombstones
                        result.recordsRemoved += removed - tombstones
                        if removed == 0 {
                            var b = bytes; pending.writeBuffer(&b)
                        } else if !batch.records.isEmpty || keepEmpty {
                            try batch.encode(into: &pending)
                        } else {
                            result.emptyBatchesRemoved += 1
                        }
                        if pending.readableBytes >= 1 << 20 {
                            try out.write(pending, at: written)
                            written += Int64(pending.readableBytes)
                            pending.clear()
                        }
                    }
                }
                if pending.readableBytes > 0 {
                    try out.write(pending, at: written)
                    written += Int64(pending.readableBytes)
                }
                try out.sync()
                result.bytesAfter += written
            }
        } catch {
            for (_, path) in cleanedPaths { try? fileSystem.removeFile(path) }
            if let error = error as? LogStorageError { throw error }
            if let error = error as? FileSystemError { throw .storage(error) }
            throw .corruptRecord("compaction: \(error)")
        }
        result.segmentsWritten = groups.count

        // 4. Swap under the lock, unless the log changed under us.
        let swapped: Bool = try withLog { () throws(FileSystemError) -> Bool in
            let stillThere = generation == generationAtStart && segments.count > sources.count
                && zip(segments, sources).allSatisfy { $0 === $1.segment }
            guard stillThere else { return false }
            for (base, path) in cleanedPaths {
                try fileSystem.rename(path, to: joinPath(directory, LogSegment.fileName(base, LogSegment.logSuffix + LogSegment.swapSuffix)))
            }
            try fileSystem.syncDirectory(directory)   // commit point
            for source in sources {
                let s = source.segment
                for path in [s.logPath, s.offsetIndex.path, s.timeIndex.path] { try fileSystem.removeFile(path) }
            }
            var replacements: [LogSegment] = []
            for (base, _) in cleanedPaths {
                let logPath = joinPath(directory, LogSegment.fileName(base, LogSegment.logSuffix))
                try fileSystem.rename(joinPath(directory, LogSegment.fileName(base, LogSegment.logSuffix + LogSegment.swapSuffix)), to: logPath)
                let segment = LogSegment.existing(fileSystem: fileSystem, directory: directory, baseOffset: base, nowMs: now,
                                                  fileCache: fileCache)
                try segment.rebuildIndexes(indexIntervalBytes: config.indexIntervalBytes)
                try segment.persistIndexes()
                replacements.append(segment)
            }
            try fileSystem.syncDirectory(directory)
            segments.replaceSubrange(0..<sources.count, with: replacements)
            generation &+= 1
            cleanerCheckpoint = max(cleanerCheckpoint, result.cleanedUpTo)
            return true
        }
        if !swapped {
            for (_, path) in cleanedPaths { try? fileSystem.removeFile(path) }
            return nil
        }
        return result
    }

    /// Calls `body` with every whole batch of a segment file (bytes and header).
    static func forEachBatch(_ file: any StorageFile, size: Int64,
                             _ body: (ByteBuffer, RecordBatchHeader) throws -> Void) throws {
        var scanner = BatchScanner(file: file, from: 0, to: size, wantBodies: true)
        while let next = try scanner.next() {
            switch next {
            case .success(let batch): try body(batch.bytes!, batch.header)
            case .failure(let stop): throw LogStorageError.corruptRecord("segment \(file.path): \(stop.reason) at \(stop.position)")
            }
        }
    }
}
