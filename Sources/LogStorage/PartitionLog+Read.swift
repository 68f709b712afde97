import KafkaProtocol
import NIOCore

extension PartitionLog {
    /// Reads whole batches starting with the one that contains `offset`.
    ///
    /// - Parameters:
    ///   - offset: must be in [log start offset, LEO]; at the LEO the result is empty.
    ///   - maxBytes: byte budget; only whole batches that fit are returned...
    ///   - maxOffset: ...and only batches entirely below this offset (the high watermark for
    ///     consumers; nil, i.e. the LEO, for followers).
    ///   - minOneBatch: return the first batch even when it alone exceeds `maxBytes` (KIP-74), so a
    ///     consumer can never get stuck behind a large batch.
    ///   - skipRecordlessBatches: for consumers. When everything from `offset` to the end of its
    ///     segment is batches without records (what compaction leaves for producer state), answer
    ///     with the next segment's batches instead (the consumer skips offsets that hold nothing,
    ///     as it does across any compaction gap), and with the empty batches only when no record
    ///     follows below the limit. An answer made only of record-less batches is what librdkafka
    ///     takes for "the fetch size is too small": it doubles its fetch size and, once that
    ///     reaches 1 GiB, reports MSG_SIZE_TOO_LARGE on every such answer. Followers and the
    ///     producer-state rebuild must see every batch, so they leave this off.
    /// - Throws: ``LogStorageError/offsetOutOfRange(offset:logStartOffset:logEndOffset:)``.
    public func read(from offset: Int64, maxBytes: Int, maxOffset: Int64? = nil, minOneBatch: Bool = true,
                     skipRecordlessBatches: Bool = false) throws(LogStorageError) -> LogReadResult {
        try lock.withLock { () throws(LogStorageError) -> LogReadResult in
            if isClosed { throw .closed }
            // No failure check: after an I/O error (this log's or its directory's) what was
            // written before stays readable for as long as the files can be read; a read that
            // itself fails records the failure below.
            var result = LogReadResult(slice: nil, logStartOffset: _logStartOffset, logEndOffset: _logEndOffset, highWatermark: _highWatermark)
            guard offset >= _logStartOffset, offset <= _logEndOffset else {
                throw .offsetOutOfRange(offset: offset, logStartOffset: _logStartOffset, logEndOffset: _logEndOffset)
            }
            let limitOffset = min(maxOffset ?? _logEndOffset, _logEndOffset)
            guard offset < limitOffset, maxBytes >= 0 else { return result }
            let interval = _config.indexIntervalBytes
            var corruption: String?
            // The record-less run found first, answered when no record follows it.
            var recordless: LogSlice?
            do throws(FileSystemError) {
                var i = segmentIndex(containing: offset)
                segmentLoop: while i < segments.count {
                    let segment = segments[i]
                    let first: ScannedBatch
                    switch try segment.lookup(offset, indexIntervalBytes: interval) {
                    case .notFound:
                        i += 1
                        continue segmentLoop
                    case .corrupt(let stop):
                        corruption = corruptionReport(segment, stop, offset: offset)
                        break segmentLoop
                    case .found(let batch):
                        first = batch
                    }
                    // Only batches entirely below the limit are returned.
                    guard first.header.lastOffset < limitOffset else { break segmentLoop }
                    // Every batch before the first one reaching `limitOffset` is below it; a
                    // damaged batch before that is a hard end too (the next read reports it).
                    var hardEnd = segment.size
                    if limitOffset < _logEndOffset {
                        switch try segment.lookup(limitOffset, indexIntervalBytes: interval) {
                        case .found(let stop): hardEnd = stop.position
                        case .corrupt(let stop): hardEnd = stop.position
                        case .notFound: break
                        }
                    }
                    let start = first.position
                    guard hardEnd > start else { break segmentLoop }
                    var end: Int64
                    if i < segments.count - 1 {
                        // An older segment: walk every header of the range (see validatedBoundary).
                        end = try segment.validatedBoundary(from: start, notAfter: min(hardEnd, start + Int64(maxBytes)))
                        if end == start && minOneBatch { end = start + Int64(first.header.totalSize) }
                    } else if hardEnd - start <= Int64(maxBytes) {
                        end = hardEnd
                    } else {
                        end = try segment.lastBoundary(from: start, notAfter: start + Int64(maxBytes))
                        if end == start && minOneBatch { end = start + Int64(first.header.totalSize) }
                    }
                    if end > start {
                        let slice = LogSlice(path: segment.logPath, position: start, length: Int(end - start),
                                             firstBatchBaseOffset: first.header.baseOffset, file: try segment.file())
                        if skipRecordlessBatches, first.header.recordCount == 0, !first.header.isControl,
                           end == segment.size, i + 1 < segments.count, segments[i + 1].baseOffset < limitOffset,
                           try segment.onlyRecordlessBatches(from: start, to: end) {
                            if recordless == nil { recordless = slice }
                            i += 1
                            continue segmentLoop
                        }
                        result.slice = slice
                    }
                    break segmentLoop
                }
                if result.slice == nil, corruption == nil { result.slice = recordless }
            } catch {
                throw recordFailure(error)
            }
            // Kafka answers CORRUPT_MESSAGE rather than skipping to the next readable batch:
            // skipping would hand consumers a silent gap in the offsets.
            if let corruption { throw .corruptRecord(corruption) }
            return result
        }
    }

    /// One line for the broker log and the error message: partition, file, byte, what is wrong.
    func corruptionReport(_ segment: LogSegment, _ stop: ScanStop, offset: Int64) -> String {
        "\(topic)-\(partition): corrupt record batch in segment \(segment.logPath) at byte \(stop.position) "
            + "(reading offset \(offset)): \(stop.reason)"
    }

    /// ListOffsets by time: the first record (at or after the log start offset) whose timestamp is
    /// >= `timestamp`, with that timestamp and its batch's leader epoch; nil when every record is
    /// older. The indexes find the first batch whose maxTimestamp is >= `timestamp`; that one
    /// batch is decoded to find the record (LogAppendTime batches: their first record).
    public func offsetForTimestamp(_ timestamp: Int64) throws(LogStorageError) -> TimestampAndOffset? {
        try withLog { () throws(FileSystemError) -> TimestampAndOffset? in
            let interval = _config.indexIntervalBytes
            for segment in segments {
                try segment.ensureIndexes(indexIntervalBytes: interval)
                guard segment.maxTimestampSoFar >= timestamp else { continue }
                guard let batch = try segment.firstBatch(withTimestampAtLeast: timestamp, indexIntervalBytes: interval) else { continue }
                if batch.header.lastOffset < _logStartOffset { continue }
                let h = batch.header
                if !h.isLogAppendTime {
                    var bytes = try segment.file().read(at: batch.position, count: h.totalSize)
                    if let decoded = try? RecordBatch.decode(from: &bytes),
                       let record = decoded.records.first(where: {
                           decoded.offset(of: $0) >= _logStartOffset && decoded.timestamp(of: $0) >= timestamp
                       }) {
                        return TimestampAndOffset(timestamp: decoded.timestamp(of: record), offset: decoded.offset(of: record),
                                                  leaderEpoch: h.partitionLeaderEpoch)
                    }
                }
                return TimestampAndOffset(timestamp: h.maxTimestamp, offset: max(h.baseOffset, _logStartOffset),
                                          leaderEpoch: h.partitionLeaderEpoch)
            }
            return nil
        }
    }

    /// ListOffsets MAX_TIMESTAMP (-3, KIP-734): the largest timestamp in the log and the offset of
    /// the first record carrying it (found by decoding that one batch; the batch's last offset if
    /// it cannot be decoded); nil for an empty log.
    public func maxTimestampAndOffset() throws(LogStorageError) -> TimestampAndOffset? {
        try withLog { () throws(FileSystemError) -> TimestampAndOffset? in
            var best: (ts: Int64, offset: Int64, segment: LogSegment)? = nil
            for segment in segments {
                try segment.ensureIndexes(indexIntervalBytes: _config.indexIntervalBytes)
                if segment.size > 0, segment.maxTimestampSoFar > (best?.ts ?? -2) {
                    best = (segment.maxTimestampSoFar, segment.offsetOfMaxTimestampSoFar, segment)
                }
            }
            guard let best, best.offset >= _logStartOffset else { return nil }
            var offset = best.offset
            var epoch = epochCache.entries.last { $0.startOffset <= best.offset }?.epoch ?? -1
            if let found = try best.segment.translate(best.offset, indexIntervalBytes: _config.indexIntervalBytes) {
                epoch = found.header.partitionLeaderEpoch
                var bytes = try best.segment.file().read(at: found.position, count: found.header.totalSize)
                if !found.header.isLogAppendTime, let batch = try? RecordBatch.decode(from: &bytes),
                   let record = batch.records.first(where: { batch.timestamp(of: $0) == best.ts }) {
                    offset = max(batch.offset(of: record), _logStartOffset)
                } else if found.header.isLogAppendTime {
                    offset = max(found.header.baseOffset, _logStartOffset)
                }
            }
            return TimestampAndOffset(timestamp: best.ts, offset: offset, leaderEpoch: epoch)
        }
    }
}
