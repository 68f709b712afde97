import KafkaProtocol
import NIOCore

extension PartitionLog {
    /// Appends the record batches in `batches` (readable bytes, v2 batches back to back).
    ///
    /// Every batch is validated first (magic 2, sizes, CRC, `lastOffsetDelta`/`recordCount`,
    /// `max.message.bytes`); a bad batch rejects the whole append and nothing is written.
    ///
    /// - Parameters:
    ///   - leaderEpoch: stamped into every batch's `partitionLeaderEpoch` (leader appends); nil keeps
    ///     the batches' own epochs (replication).
    ///   - assignOffsets: true for leader appends: the log stamps `baseOffset` from its LEO and
    ///     requires dense batches (`lastOffsetDelta == recordCount - 1`). False for replication:
    ///     offsets are kept and must continue the log (first >= LEO, strictly increasing).
    /// - Returns: offsets, timestamps and sizes of what was appended.
    @discardableResult
    public func append(_ batches: ByteBuffer, leaderEpoch: Int32? = nil, assignOffsets: Bool = true) throws(LogStorageError) -> LogAppendInfo {
        let buffer = batches
        return try lock.withLock { () throws(LogStorageError) -> LogAppendInfo in
            if isClosed { throw .closed }
            if let failure = currentFailure { throw failure }
            let config = _config
            let now = clock.milliseconds()
            var headers = try Self.validate(buffer, config: config, assignOffsets: assignOffsets, logEndOffset: _logEndOffset)
            var info = LogAppendInfo(
                firstOffset: _logEndOffset, lastOffset: _logEndOffset - 1, maxTimestamp: -1,
                logAppendTime: config.timestampType == .logAppendTime ? now : -1,
                recordCount: 0, validBytes: 0, batchCount: headers.count, logStartOffset: _logStartOffset
            )
            guard !headers.isEmpty else { return info }

            // Stamp offsets, epochs and (for LogAppendTime topics) timestamps into a copy of each
            // batch's first bytes only; the rest is written straight from the caller's buffer
            // (one pwritev), so a 16 KiB batch is not copied just to change 12 bytes.
            let stampTime = config.timestampType == .logAppendTime
            let prefixLength = stampTime ? RecordBatchHeader.size : RecordBatchHeader.partitionLeaderEpochOffset + 4
            let stamps = assignOffsets || leaderEpoch != nil || stampTime
            var parts: [ByteBuffer] = []
            parts.reserveCapacity(stamps ? headers.count * 2 : 1)
            var index = buffer.readerIndex
            var nextOffset = _logEndOffset
            for i in headers.indices {
                let total = headers[i].totalSize
                if stamps {
                    var prefix = buffer.getSlice(at: index, length: prefixLength)!
                    prefix = ByteBuffer(bytes: prefix.readableBytesView)   // own storage: never touch the caller's
                    if assignOffsets {
                        RecordBatchHeader.setBaseOffset(nextOffset, in: &prefix, at: 0)
                        headers[i].baseOffset = nextOffset
                    }
                    if let leaderEpoch {
                        RecordBatchHeader.setPartitionLeaderEpoch(leaderEpoch, in: &prefix, at: 0)
                        headers[i].partitionLeaderEpoch = leaderEpoch
                    }
                    let body = buffer.getSlice(at: index + prefixLength, length: total - prefixLength)!
                    if stampTime { Self.stampLogAppendTime(now, header: &headers[i], prefix: &prefix, body: body) }
                    parts.append(prefix)
                    parts.append(body)
                }
                nextOffset = headers[i].nextOffset
                info.recordCount += Int(headers[i].recordCount)
                info.maxTimestamp = max(info.maxTimestamp, headers[i].maxTimestamp)
                index += total
            }
            info.firstOffset = headers[0].baseOffset
            info.lastOffset = headers[headers.count - 1].lastOffset
            let validBytes = index - buffer.readerIndex
            info.validBytes = validBytes
            guard validBytes <= config.segmentBytes else {
                throw .recordListTooLarge(size: validBytes, segmentBytes: config.segmentBytes)
            }
            if !stamps { parts = [buffer.getSlice(at: buffer.readerIndex, length: validBytes)!] }

            do throws(FileSystemError) {
                // Record a new epoch before its first batch is written (as Kafka does): the
                // checkpoint is fsynced at once, so recovery can reject any batch whose
                // (CRC-less) epoch field is newer than every epoch the checkpoint knows.
                if let leaderEpoch {
                    try epochCache.assign(epoch: leaderEpoch, startOffset: info.firstOffset)
                } else {
                    for h in headers { try epochCache.assign(epoch: h.partitionLeaderEpoch, startOffset: h.baseOffset) }
                }
                let segment = try maybeRoll(incomingBytes: validBytes, firstBaseOffset: headers[0].baseOffset,
                                            lastOffset: info.lastOffset, maxTimestamp: headers[0].maxTimestamp, now: now, config: config)
                let sizeBefore = segment.size
                do throws(FileSystemError) {
                    try segment.append(parts, byteCount: validBytes, batches: headers, indexIntervalBytes: config.indexIntervalBytes)
                } catch {
                    // Undo a partial write so the log stays a sequence of whole batches.
                    try? segment.file().truncate(to: sizeBefore)
                    throw error
                }
                _logEndOffset = info.lastOffset + 1
                unflushedRecords += Int64(info.recordCount)
                if unflushedRecords >= config.flushMessages { try flushLocked(now: now) }
            } catch {
                throw recordFailure(error)
            }
            return info
        }
    }

    /// Checks every batch in `buffer` without changing anything; returns their headers.
    static func validate(_ buffer: ByteBuffer, config: LogConfig, assignOffsets: Bool, logEndOffset: Int64) throws(LogStorageError) -> [RecordBatchHeader] {
        var headers: [RecordBatchHeader] = []
        var index = buffer.readerIndex
        var expectedNext = logEndOffset
        while index < buffer.writerIndex {
            let header: RecordBatchHeader
            do {
                header = try RecordBatchHeader.peek(buffer, at: index)
            } catch {
                throw .corruptRecord("batch \(headers.count) at byte \(index - buffer.readerIndex): \(error)")
            }
            let size = header.totalSize
            guard size <= buffer.writerIndex - index else {
                throw .corruptRecord("batch \(headers.count) claims \(size) bytes, \(buffer.writerIndex - index) remain")
            }
            guard size <= config.maxMessageBytes else {
                throw .recordTooLarge(size: size, maxMessageBytes: config.maxMessageBytes)
            }
            do {
                try header.verifyCRC(of: buffer, at: index)
            } catch {
                throw .corruptRecord("batch \(headers.count): \(error)")
            }
            if assignOffsets {
                guard header.recordCount > 0, Int64(header.lastOffsetDelta) + 1 == Int64(header.recordCount) else {
                    throw .invalidRecord("batch \(headers.count): lastOffsetDelta \(header.lastOffsetDelta) with \(header.recordCount) records")
                }
            } else {
                guard header.baseOffset >= expectedNext else {
                    throw .unexpectedAppendOffset(expectedAtLeast: expectedNext, got: header.baseOffset)
                }
                guard header.lastOffset < Int64.max else { throw .invalidRecord("offset overflow") }
                expectedNext = header.nextOffset
            }
            headers.append(header)
            index += size
        }
        return headers
    }

    /// Turns a batch into a LogAppendTime batch: attribute bit 3 and maxTimestamp = now. Both are
    /// covered by the CRC, so it is recomputed (the only case where the broker rewrites one).
    /// `prefix` holds the batch's 61 header bytes, `body` the records after them.
    static func stampLogAppendTime(_ now: Int64, header: inout RecordBatchHeader, prefix: inout ByteBuffer, body: ByteBuffer) {
        header.attributes |= 0x08
        header.maxTimestamp = now
        prefix.setInteger(header.attributes, at: RecordBatchHeader.attributesOffset)
        prefix.setInteger(now, at: 35)
        var crc = CRC32C.checksum(prefix, at: RecordBatchHeader.attributesOffset,
                                  length: RecordBatchHeader.size - RecordBatchHeader.attributesOffset)!
        crc = body.withUnsafeReadableBytes { CRC32C.checksum($0, continuing: crc) }
        header.crc = crc
        prefix.setInteger(crc, at: RecordBatchHeader.crcOffset)
    }

    /// The segment to append to, rolling a new one first when Kafka would: the active segment
    /// is non-empty and the append would overflow `segment.bytes`, or it is older than
    /// `segment.ms`, or an index is full, or the offsets would not fit its 32-bit relative offsets.
    func maybeRoll(incomingBytes: Int, firstBaseOffset: Int64, lastOffset: Int64, maxTimestamp: Int64, now: Int64, config: LogConfig) throws(FileSystemError) -> LogSegment {
        let active = segments[segments.count - 1]
        try active.ensureIndexes(indexIntervalBytes: config.indexIntervalBytes)
        guard active.size > 0 else {
            if firstBaseOffset > active.baseOffset + Int64(Int32.max) { return try roll(at: firstBaseOffset, now: now) }
            return active
        }
        let waited: Int64 = active.rollingBasedTimestamp.map { maxTimestamp - $0 } ?? (now - active.createdMs)
        let shouldRoll = active.size + Int64(incomingBytes) > Int64(config.segmentBytes)
            || waited > config.segmentMs
            || active.offsetIndex.count >= config.maxIndexEntries
            || active.timeIndex.count >= max(1, config.segmentIndexBytes / TimeIndex.entrySize)
            || lastOffset - active.baseOffset > Int64(Int32.max)
        return shouldRoll ? try roll(at: max(firstBaseOffset, _logEndOffset), now: now) : active
    }

    /// Closes the active segment (fsync of data and indexes, so the recovery point can move past
    /// it) and starts a new one at `baseOffset`.
    @discardableResult
    func roll(at baseOffset: Int64, now: Int64) throws(FileSystemError) -> LogSegment {
        let old = segments[segments.count - 1]
        old.finishTimeIndex()
        try old.flush()
        _recoveryPoint = _logEndOffset
        unflushedRecords = 0
        if old.size == 0 {
            // Replace an empty active segment instead of leaving an empty file behind.
            for path in [old.logPath, old.offsetIndex.path, old.timeIndex.path] { try fileSystem.removeFile(path) }
            segments.removeLast()
        }
        // The new file's directory entry is fsynced by its first flush.
        let segment = try LogSegment.create(fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, nowMs: now,
                                            fileCache: fileCache)
        segments.append(segment)
        return segment
    }

    /// Rolls a new active segment at the LEO now (tests, and before deleting every segment).
    public func roll() throws(LogStorageError) {
        try withLog { () throws(FileSystemError) in
            if segments[segments.count - 1].size > 0 { try roll(at: _logEndOffset, now: clock.milliseconds()) }
        }
    }

    // MARK: Flush

    /// fsyncs everything up to the LEO (data and indexes) and moves the recovery point there.
    /// Produce with acks=all and replication call this when they need durability on one disk.
    public func flush() throws(LogStorageError) {
        try withLog { () throws(FileSystemError) in try flushLocked(now: clock.milliseconds()) }
    }

    func flushLocked(now: Int64, includingActiveIndexes: Bool = false) throws(FileSystemError) {
        // Segments before the one holding the recovery point were fsynced when they rolled.
        let first = segmentIndex(containing: _recoveryPoint)
        for (i, segment) in segments.enumerated() where i >= first {
            try segment.flush(includingIndexes: includingActiveIndexes || i < segments.count - 1)
        }
        if needsParentDirectorySync {
            try fileSystem.syncDirectory(parentDirectory(of: directory))
            needsParentDirectorySync = false
        }
        _recoveryPoint = _logEndOffset
        unflushedRecords = 0
        lastFlushMs = now
    }

    /// The background flush task's check: fsync when `flush.ms` has passed since the last flush
    /// and something is unflushed. Returns whether it flushed.
    @discardableResult
    public func flushIfDue() throws(LogStorageError) -> Bool {
        try withLog { () throws(FileSystemError) -> Bool in
            let now = clock.milliseconds()
            guard _recoveryPoint < _logEndOffset, _config.flushMs != .max, now - lastFlushMs >= _config.flushMs else { return false }
            try flushLocked(now: now)
            return true
        }
    }
}
