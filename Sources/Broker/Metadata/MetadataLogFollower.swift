import FoundationEssentials
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Quorum
import Synchronization

/// What the metadata store needs from the replicated `__cluster_metadata-0` log (the quorum's
/// `QuorumHost` conforms). Offsets are the log's; "committed" means below the high watermark.
public protocol MetadataLog: AnyObject, Sendable {
    /// Appends `values` (MetadataRecordSerde frames) as one batch; returns its last offset.
    /// Throws ``MetadataLogError/notLeader(leaderId:)`` on a node that does not lead.
    func propose(_ values: [ByteBuffer]) async throws -> Int64
    /// Returns once `offset` is committed; throws ``MetadataLogError/notLeader(leaderId:)`` when
    /// leadership is lost first (the entry may be truncated).
    func waitForCommit(_ offset: Int64) async throws
    /// Whole committed batches from `offset` (a batch boundary), empty at the high watermark.
    func readCommitted(from offset: Int64, maxBytes: Int) async throws -> ByteBuffer
    /// The high watermark as this node knows it (any thread, never waits).
    var committedOffset: Int64 { get }
    /// Called with the new high watermark every time it moves, in order; must not block.
    func addCommitListener(_ listener: @escaping @Sendable (Int64) -> Void)
}

/// Errors a ``MetadataLog`` reports in the store's terms.
public enum MetadataLogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// This node is not the active controller; `leaderId` is the one it knows, if any.
    case notLeader(leaderId: Int32?)
    public var description: String {
        switch self {
        case .notLeader(let id): "This node is not the active controller (the quorum leader is \(id.map(String.init) ?? "unknown"))"
        }
    }
}

/// Keeps a ``MetadataStore`` equal to the committed metadata log: at open, the newest valid
/// snapshot plus the committed log after it; afterwards, every committed batch, applied in
/// offset order by ONE task (``run()``) woken by the log's commit listener, on every node (the
/// active controller included). The store's listeners (the replica manager) are therefore
/// called in commit order and off the request path.
///
/// A proposer (``commit(_:)``, the controller) proposes, waits for the commit, then waits until
/// this follower has applied that offset, so its answer reflects the committed change.
///
/// Snapshots: after applying, when ``MetadataSnapshotPolicy`` says so, the image is written as a
/// Kafka snapshot in the log's directory (crash-safe, see ``MetadataSnapshots``) and older ones
/// are deleted.
///
/// Thread-safe: the applier state sits behind a mutex; only ``run()`` applies.
public final class MetadataLogFollower: Sendable {
    public let store: MetadataStore
    private let log: any MetadataLog
    private let directory: String
    private let fileSystem: any FileSystem
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let policy: MetadataSnapshotPolicy

    private struct State {
        var applier: MetadataLogApplier
        /// Every record below this offset is applied AND published to the store's listeners:
        /// what a proposer waits for (the replica manager has reacted by then).
        var publishedOffset: Int64
        var waiters: [(offset: Int64, continuation: CheckedContinuation<Void, Never>)] = []
        var lastSnapshotMs: Int64
        var faults: Int = 0
    }
    private let state: Mutex<State>
    private let wakeups: AsyncStream<Int64>
    private let wake: AsyncStream<Int64>.Continuation
    /// How much one read takes from the log (Kafka's metadata fetches use 8 MiB batches).
    static let readBytes = 1 << 20

    /// Loads the newest valid snapshot in `directory` (the log's, `.../__cluster_metadata-0`)
    /// and replays the committed log after it up to the current high watermark.
    public static func open(log: any MetadataLog, directory: String, fileSystem: any FileSystem, clusterId: String,
                            nodeId: Int32, policy: MetadataSnapshotPolicy = MetadataSnapshotPolicy(),
                            clock: @escaping @Sendable () -> Int64, logger: Logger) async throws -> MetadataLogFollower {
        try MetadataSnapshots.removeLeftovers(in: directory, fileSystem: fileSystem)
        var applier: MetadataLogApplier
        if let snapshot = try MetadataSnapshots.latestValid(in: directory, fileSystem: fileSystem, logger: logger) {
            applier = MetadataLogApplier(snapshot: snapshot, clusterId: clusterId, controllerId: nodeId)
            logger.info("Metadata: loaded snapshot \(snapshot.path) (\(snapshot.records.count) records)")
        } else {
            applier = MetadataLogApplier(clusterId: clusterId, controllerId: nodeId)
        }
        let target = log.committedOffset
        while applier.nextOffset < target {
            let bytes = try await log.readCommitted(from: applier.nextOffset, maxBytes: readBytes)
            if bytes.readableBytes == 0 { break }
            let before = applier.nextOffset
            for fault in try applier.apply(batches: bytes) { logger.error("Metadata: skipping \(fault)") }
            if applier.nextOffset == before { break }
        }
        logger.info("Metadata: replayed the log to offset \(applier.nextOffset) (\(applier.image.topics.count) topics)")
        let follower = MetadataLogFollower(applier: applier, log: log, directory: directory, fileSystem: fileSystem,
                                           policy: policy, clock: clock, logger: logger)
        log.addCommitListener { [weak follower] hw in follower?.wake.yield(hw) }
        return follower
    }

    private init(applier: MetadataLogApplier, log: any MetadataLog, directory: String, fileSystem: any FileSystem,
                 policy: MetadataSnapshotPolicy, clock: @escaping @Sendable () -> Int64, logger: Logger) {
        self.store = MetadataStore(image: applier.image, path: nil)
        self.log = log
        self.directory = directory
        self.fileSystem = fileSystem
        self.policy = policy
        self.clock = clock
        self.logger = logger
        self.state = Mutex(State(applier: applier, publishedOffset: applier.nextOffset, lastSnapshotMs: clock()))
        (wakeups, wake) = AsyncStream.makeStream(of: Int64.self, bufferingPolicy: .bufferingNewest(1))
        store.attach(self)
    }

    /// The next offset to apply: everything below it is in the store's image.
    public var appliedOffset: Int64 { state.withLock { $0.applier.nextOffset } }

    /// Records that could not be applied since open (each logged and skipped).
    public var faultCount: Int { state.withLock { $0.faults } }

    /// Applies committed batches as the high watermark moves, until ``stop()``. Run it in one
    /// task for the life of the broker.
    public func run() async {
        wake.yield(log.committedOffset)
        for await hw in wakeups {
            await catchUp(to: hw)
        }
    }

    /// Ends ``run()``.
    public func stop() { wake.finish() }

    private func catchUp(to hw: Int64) async {
        while appliedOffset < hw {
            let from = appliedOffset
            let bytes: ByteBuffer
            do {
                bytes = try await log.readCommitted(from: from, maxBytes: Self.readBytes)
            } catch {
                logger.error("Metadata: reading the committed log from \(from) failed: \(error)")
                return
            }
            if bytes.readableBytes == 0 { return }
            let (old, new, faults, applied) = state.withLock { s -> (MetadataImage, MetadataImage, [MetadataReplayFault], Int64) in
                let old = s.applier.image
                var faults: [MetadataReplayFault] = []
                do { faults = try s.applier.apply(batches: bytes) } catch {
                    faults = [MetadataReplayFault(offset: s.applier.nextOffset, reason: "\(error)")]
                }
                s.faults += faults.count
                return (old, s.applier.image, faults, s.applier.nextOffset)
            }
            for fault in faults { logger.error("Metadata: skipping \(fault)") }
            // Listeners first, then the waiters: a controller answer must find the change
            // already acted on (CreateTopics checks the new partitions' logs exist).
            store.publish(old: old, new: new)
            let resumed = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.publishedOffset = applied
                let ready = s.waiters.filter { $0.offset < applied }.map(\.continuation)
                s.waiters.removeAll { $0.offset < applied }
                return ready
            }
            for c in resumed { c.resume() }
            if appliedOffset == from { return }   // a corrupt batch: wait for the next wake-up
            snapshotIfDue()
        }
    }

    /// Returns once every record up to `offset` is in the store's image and its listeners ran.
    public func waitUntilApplied(_ offset: Int64) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.publishedOffset > offset { return true }
                s.waiters.append((offset, c))
                return false
            }
            if ready { c.resume() }
        }
    }

    /// Proposes `records`, waits for their commit and for this node to have applied them.
    /// `.notLeader` becomes NOT_CONTROLLER (41), as Kafka's controller answers; other log
    /// failures KAFKA_STORAGE_ERROR (56).
    public func commit(_ records: [MetadataRecord]) async throws {
        guard !records.isEmpty else { return }
        let values: [ByteBuffer]
        do { values = try records.map { try MetadataRecordCodec.encode($0) } } catch {
            throw ControllerError(42, "Metadata record cannot be encoded: \(error)")
        }
        do {
            let offset = try await log.propose(values)
            try await log.waitForCommit(offset)
            await waitUntilApplied(offset)
        } catch let error as MetadataLogError {
            throw ControllerError(41, error.description)
        } catch QuorumHostError.notLeader(let leaderId, _) {
            throw ControllerError(41, MetadataLogError.notLeader(leaderId: leaderId).description)
        } catch let error as ControllerError {
            throw error
        } catch {
            throw ControllerError(56, "Could not commit metadata records: \(error)")
        }
    }

    /// Writes a snapshot now if the policy says so (called by the applier after each read).
    private func snapshotIfDue() {
        let now = clock()
        let due = state.withLock { s -> (MetadataLogApplier)? in
            policy.shouldSnapshot(bytesSinceSnapshot: s.applier.bytesSinceSnapshot, msSinceLastSnapshot: now - s.lastSnapshotMs)
                ? s.applier : nil
        }
        guard let applier = due else { return }
        writeSnapshot(of: applier, now: now)
    }

    /// Writes a snapshot of the current image (also used at a clean shutdown by callers).
    public func writeSnapshotNow() {
        let applier = state.withLock { $0.applier }
        writeSnapshot(of: applier, now: clock())
    }

    private func writeSnapshot(of applier: MetadataLogApplier, now: Int64) {
        let id = applier.snapshotId
        do {
            let path = try MetadataSnapshots.write(records: applier.image.records(), id: id, lastContainedLogTimestamp: applier.lastTimestamp,
                                                   now: now, directory: directory, fileSystem: fileSystem)
            try MetadataSnapshots.deleteSnapshots(before: id, in: directory, fileSystem: fileSystem)
            state.withLock { s in
                s.lastSnapshotMs = now
                if s.applier.nextOffset == id.offset { s.applier.snapshotWritten() }
            }
            logger.info("Metadata: wrote snapshot \(path)")
        } catch {
            // A failed snapshot loses nothing (the log still has every record); retry later.
            logger.error("Metadata: writing snapshot \(MetadataSnapshots.fileName(id)) failed: \(error)")
            state.withLock { $0.lastSnapshotMs = now }
        }
    }

    /// A new cluster's first records (Kafka's bootstrap metadata): when the log holds no
    /// metadata yet, the records of `bootstrap.checkpoint` in `directory`'s parent (written by
    /// `samsa storage format`, in the snapshot format), else `defaults`, are committed. An
    /// unreadable bootstrap file stops start-up, naming it (Kafka refuses it too).
    public func bootstrapIfEmpty(bootstrapFile path: String, defaults: [MetadataRecord]) async throws {
        guard store.image.records().isEmpty else { return }
        var records = defaults
        if let size = fileSystem.fileSize(path) {
            let bytes = try fileSystem.open(path, create: false).read(at: 0, count: Int(size))
            records = try MetadataSnapshots.decode(bytes, path: path).records
        }
        guard !records.isEmpty else { return }
        try await commit(records)
        logger.info("Metadata: bootstrapped the metadata log with \(records.count) record(s)")
    }

    /// Moves an image persisted by an earlier release (`samsa-metadata.json`) into the log:
    /// when the log holds no metadata yet, the image's records are committed (in batches), then
    /// the JSON file is renamed `samsa-metadata.json.migrated`. Idempotent across a crash in
    /// between: a log that already has metadata only gets the rename.
    public func migrateJSONImage(at path: String, clusterId: String) async throws {
        guard let text = try fileSystem.readString(path) else { return }
        let legacy: MetadataImage
        do { legacy = try JSONDecoder().decode(MetadataImage.self, from: Data(text.utf8)) } catch {
            throw MetadataStoreError.corrupt(path: path, reason: "\(error)")
        }
        guard legacy.clusterId == clusterId else {
            throw MetadataStoreError.clusterIdMismatch(path: path, stored: legacy.clusterId, configured: clusterId)
        }
        if store.image.records().isEmpty {
            let records = legacy.records()
            var index = 0
            while index < records.count {
                let end = min(index + 500, records.count)
                try await commit(Array(records[index..<end]))
                index = end
            }
            logger.info("Metadata: migrated \(path) into the metadata log (\(records.count) records, \(legacy.topics.count) topics)")
        }
        try fileSystem.rename(path, to: path + ".migrated")
        try fileSystem.syncDirectory(String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]))
    }
}
