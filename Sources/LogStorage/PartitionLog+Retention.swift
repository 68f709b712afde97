import KafkaProtocol
import NIOCore

extension PartitionLog {
    // MARK: Truncation (replication)

    /// Removes every batch whose last offset is >= `offset` (a follower diverging from its leader).
    /// The LEO becomes the end of the last kept batch; HW, recovery point and the epoch cache follow.
    /// The cut is fsynced, so a crash cannot bring the removed records back.
    public func truncate(to offset: Int64) throws(LogStorageError) {
        try withLog { () throws(FileSystemError) in
            guard offset < _logEndOffset else {
                // Nothing to cut, but the epoch cache may still end with an epoch that has no
                // batch: this broker led, recorded the epoch's start, and lost leadership before
                // it wrote. Kept, it is the follower's LastFetchedEpoch, the leader answers
                // DivergingEpoch for it on every fetch, and the follower never catches up
                // (Kafka's UnifiedLog.truncateTo does the same; found by the data-path simulation).
                try epochCache.truncate(fromEnd: _logEndOffset)
                return
            }
            let interval = _config.indexIntervalBytes
            if offset <= segments[0].baseOffset {
                try truncateFullyLocked(startAt: offset)
                return
            }
            while segments.count > 1, segments[segments.count - 1].baseOffset >= offset {
                let doomed = segments.removeLast()
                for path in [doomed.logPath, doomed.offsetIndex.path, doomed.timeIndex.path] { try fileSystem.removeFile(path) }
            }
            let active = segments[segments.count - 1]
            _ = try active.truncate(to: offset, indexIntervalBytes: interval)
            try active.flush()
            try fileSystem.syncDirectory(directory)
            generation &+= 1
            _logEndOffset = try active.nextOffset(indexIntervalBytes: interval)
            afterTruncation()
            try epochCache.truncate(fromEnd: _logEndOffset)
        }
    }

    /// Deletes every segment and starts an empty log at `offset` (a follower far behind the
    /// leader's log start offset).
    public func truncateFullyAndStart(at offset: Int64) throws(LogStorageError) {
        try withLog { () throws(FileSystemError) in try truncateFullyLocked(startAt: offset) }
    }

    private func truncateFullyLocked(startAt offset: Int64) throws(FileSystemError) {
        for segment in segments {
            for path in [segment.logPath, segment.offsetIndex.path, segment.timeIndex.path] { try fileSystem.removeFile(path) }
        }
        segments = [try LogSegment.create(fileSystem: fileSystem, directory: directory, baseOffset: offset, nowMs: clock.milliseconds(),
                                          fileCache: fileCache)]
        try fileSystem.syncDirectory(directory)
        generation &+= 1
        _logEndOffset = offset
        _logStartOffset = offset
        afterTruncation()
        try epochCache.clear()
    }

    private func afterTruncation() {
        _logStartOffset = min(_logStartOffset, _logEndOffset)
        _highWatermark = min(_highWatermark, _logEndOffset)
        _recoveryPoint = min(_recoveryPoint, _logEndOffset)
        cleanerCheckpoint = min(cleanerCheckpoint, _logEndOffset)
        unflushedRecords = 0
    }

    // MARK: DeleteRecords and retention

    /// DeleteRecords: moves the log start offset up to `offset` (never past the high watermark)
    /// and deletes the segments wholly below it. Returns the new log start offset.
    @discardableResult
    public func deleteRecords(before offset: Int64) throws(LogStorageError) -> Int64 {
        let before = logStartOffset
        let after = try lock.withLock { () throws(LogStorageError) -> Int64 in
            if isClosed { throw .closed }
            if let failure = currentFailure { throw failure }
            guard offset >= 0, offset <= _highWatermark else {
                throw .offsetOutOfRange(offset: offset, logStartOffset: _logStartOffset, logEndOffset: _highWatermark)
            }
            do throws(FileSystemError) {
                if offset > _logStartOffset {
                    _logStartOffset = offset
                    try epochCache.truncate(fromStart: offset)
                }
                _ = try deleteSegmentsLocked(now: clock.milliseconds(), reason: { _, upper in upper <= self._logStartOffset })
            } catch {
                throw recordFailure(error)
            }
            return _logStartOffset
        }
        // Outside the lock: the listener (the log manager) writes the log-start-offset checkpoint,
        // so deleted records stay deleted after a crash.
        if after > before, let listener = lock.withLock({ logStartOffsetListener }) { listener() }
        return after
    }

    /// One retention pass (Kafka's `deleteOldSegments`): removes the oldest segments while they are
    /// wholly below the high watermark and past `retention.ms` or beyond `retention.bytes`, or
    /// wholly below the log start offset. Returns how many segments were deleted.
    @discardableResult
    public func applyRetention() throws(LogStorageError) -> Int {
        try withLog { () throws(FileSystemError) -> Int in
            let now = clock.milliseconds()
            let config = _config
            var deleted = try deleteSegmentsLocked(now: now) { _, upper in upper <= self._logStartOffset }
            guard config.cleanupPolicy.contains(.delete) else { return deleted }
            if config.retentionMs >= 0 {
                deleted += try deleteSegmentsLocked(now: now) { segment, _ in
                    let newest = segment.maxTimestampSoFar >= 0 ? segment.maxTimestampSoFar : segment.createdMs
                    return now - newest > config.retentionMs
                }
            }
            if config.retentionBytes >= 0 {
                var excess = segments.reduce(0) { $0 + $1.size } - config.retentionBytes
                deleted += try deleteSegmentsLocked(now: now) { segment, _ in
                    guard excess - segment.size >= 0 else { return false }
                    excess -= segment.size
                    return true
                }
            }
            return deleted
        }
    }

    /// Deletes segments from the oldest while `shouldDelete(segment, upperBoundOffset)` holds and the
    /// segment is wholly below the high watermark. Deleting every segment rolls an empty one first.
    func deleteSegmentsLocked(now: Int64, reason shouldDelete: (LogSegment, Int64) -> Bool) throws(FileSystemError) -> Int {
        let interval = _config.indexIntervalBytes
        var count = 0
        while count < segments.count {
            let segment = segments[count]
            let upper = count + 1 < segments.count ? segments[count + 1].baseOffset : _logEndOffset
            let isActive = count == segments.count - 1
            if isActive && segment.size == 0 { break }
            try segment.ensureIndexes(indexIntervalBytes: interval)
            guard upper <= _highWatermark, shouldDelete(segment, upper) else { break }
            count += 1
        }
        guard count > 0 else { return 0 }
        if count == segments.count { try roll(at: _logEndOffset, now: now) }
        var paths: [String] = []
        for segment in segments[..<count] { paths += try segment.renameToDeleted() }
        segments.removeFirst(count)
        try fileSystem.syncDirectory(directory)
        generation &+= 1
        if segments[0].baseOffset > _logStartOffset {
            _logStartOffset = segments[0].baseOffset
            try epochCache.truncate(fromStart: _logStartOffset)
        }
        _highWatermark = max(_highWatermark, _logStartOffset)
        cleanerCheckpoint = max(cleanerCheckpoint, _logStartOffset)
        pendingDeletions.append((now + _config.fileDeleteDelayMs, paths))
        return count
    }

    /// Removes `.deleted` files whose `file.delete.delay.ms` has passed. Returns how many.
    @discardableResult
    public func removeExpiredDeletedFiles() -> Int {
        lock.withLock {
            let now = clock.milliseconds()
            var removed = 0
            pendingDeletions.removeAll { entry in
                guard entry.dueMs <= now else { return false }
                for path in entry.paths { try? fileSystem.removeFile(path); removed += 1 }
                return true
            }
            return removed
        }
    }

    // MARK: Close

    /// Flushes everything, writes the index files and closes the log. Later calls throw `.closed`.
    /// Pending `.deleted` files are removed now rather than after their delay.
    public func close() throws(LogStorageError) {
        try lock.withLock { () throws(LogStorageError) in
            guard !isClosed else { return }
            defer {
                isClosed = true
                for segment in segments { segment.releaseFile() }
            }
            for entry in pendingDeletions { for path in entry.paths { try? fileSystem.removeFile(path) } }
            pendingDeletions = []
            if let failure = currentFailure { throw failure }
            do throws(FileSystemError) {
                segments[segments.count - 1].finishTimeIndex()
                // Index files must be durable before the clean-shutdown marker vouches for them.
                try flushLocked(now: clock.milliseconds(), includingActiveIndexes: true)
                for segment in segments { try segment.persistIndexes() }
            } catch {
                throw recordFailure(error)
            }
        }
    }

    /// Closes without flushing and removes the partition directory (topic deletion): renames it to
    /// `<topic>-<partition>.<suffix>-delete` first, so a crash midway leaves a directory the log
    /// manager deletes at startup rather than a half-deleted partition.
    func deleteFiles(deleteSuffix: String) throws(LogStorageError) {
        try lock.withLock { () throws(LogStorageError) in
            isClosed = true
            for segment in segments { segment.releaseFile() }
            let parent = parentDirectory(of: directory)
            let name = String(directory.dropFirst(parent.count + 1))
            let doomed = joinPath(parent, name + "." + deleteSuffix + "-delete")
            do throws(FileSystemError) {
                try fileSystem.rename(directory, to: doomed)
                try fileSystem.syncDirectory(parent)
                try fileSystem.removeDirectoryRecursively(doomed)
            } catch {
                throw .storage(error)
            }
        }
    }

    /// Checks that every batch is intact, offsets increase across segments and the indexes point
    /// at real batches. Returns the problems found (empty when consistent). For tests and tools.
    public func verifyConsistency() throws -> [String] {
        try lock.withLock { () throws -> [String] in
            var problems: [String] = []
            var expected: Int64? = nil
            for segment in segments {
                problems += try segment.checkConsistency(indexIntervalBytes: _config.indexIntervalBytes)
                var scanner = BatchScanner(file: try segment.file(), from: 0, to: segment.size, wantBodies: false)
                while let result = try scanner.next() {
                    guard case .success(let batch) = result else { break }
                    if batch.header.baseOffset < segment.baseOffset {
                        problems.append("batch \(batch.header.baseOffset) below segment base \(segment.baseOffset)")
                    }
                    if let e = expected, batch.header.baseOffset < e {
                        problems.append("batch \(batch.header.baseOffset) does not follow \(e)")
                    }
                    expected = batch.header.nextOffset
                }
            }
            if let expected, expected != _logEndOffset { problems.append("last batch ends at \(expected), LEO is \(_logEndOffset)") }
            if !(_logStartOffset <= _highWatermark && _highWatermark <= _logEndOffset) {
                problems.append("offsets out of order: start \(_logStartOffset) hw \(_highWatermark) leo \(_logEndOffset)")
            }
            return problems
        }
    }
}
