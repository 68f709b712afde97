import FoundationEssentials
import Synchronization

/// Holds the current ``MetadataImage``, applies committed records, persists the image, and
/// tells listeners (the replica manager) about each change.
///
/// A single node commits records itself (see ``LocalController``) and persists the whole image
/// as JSON in its first log dir (`samsa-metadata.json`, written atomically: temp file, fsync,
/// rename), so topics, ids and partition epochs survive restarts. A controller quorum will
/// later call ``commit(_:)`` with records replicated from its log instead.
///
/// Thread-safe: the image sits behind a mutex; readers get a copy-on-write snapshot.
public final class MetadataStore: Sendable {
    /// Called after each commit with the images before and after it, outside the lock.
    public typealias Listener = @Sendable (_ old: MetadataImage, _ new: MetadataImage) -> Void

    public static let fileName = "samsa-metadata.json"

    private let state: Mutex<MetadataImage>
    private let listeners = Mutex<[Listener]>([])
    /// Serialises commits so listeners see changes in commit order.
    private let commitLock = Mutex<Void>(())
    private let path: String?
    /// Set when the metadata lives in the replicated log: commits go through it (async), and
    /// the image changes only when the follower applies committed batches.
    private let follower = Mutex<MetadataLogFollower?>(nil)

    /// An in-memory store (tests) or one persisted at `path`.
    public init(image: MetadataImage, path: String?) {
        state = Mutex(image)
        self.path = path
    }

    /// Loads the image persisted in `directory`, or starts a new one for `clusterId`.
    public static func open(directory: String, clusterId: String, nodeId: Int32) throws -> MetadataStore {
        let path = directory + "/" + fileName
        guard fileExists(path) else {
            return MetadataStore(image: MetadataImage(clusterId: clusterId, controllerId: nodeId), path: path)
        }
        let text = try readTextFile(path)
        let image: MetadataImage
        do {
            image = try JSONDecoder().decode(MetadataImage.self, from: Data(text.utf8))
        } catch {
            throw MetadataStoreError.corrupt(path: path, reason: "\(error)")
        }
        guard image.clusterId == clusterId else {
            throw MetadataStoreError.clusterIdMismatch(path: path, stored: image.clusterId, configured: clusterId)
        }
        return MetadataStore(image: image, path: path)
    }

    /// The current image.
    public var image: MetadataImage { state.withLock { $0 } }

    public func addListener(_ listener: @escaping Listener) {
        listeners.withLock { $0.append(listener) }
    }

    /// Wires the store to the metadata log (called once by ``MetadataLogFollower``).
    func attach(_ follower: MetadataLogFollower) {
        self.follower.withLock { $0 = follower }
    }

    /// The offset the next committed record will get: the metadata log's next offset to apply
    /// (everything below it is applied), or for a log-less store the records applied so far.
    public var nextWriteOffset: Int64 {
        follower.withLock { $0 }?.appliedOffset ?? image.recordCount
    }

    /// Whether commits go through the replicated metadata log.
    public var isLogBacked: Bool { follower.withLock { $0 != nil } }

    /// The follower applied committed records: swap the image and notify listeners, in commit
    /// order (only the follower's single applier task calls this).
    func publish(old: MetadataImage, new: MetadataImage) {
        commitLock.withLock { _ in
            state.withLock { $0 = new }
            if old != new { for l in listeners.withLock({ $0 }) { l(old, new) } }
        }
    }

    /// Commits `records`: through the metadata log when the store is log-backed (returns once
    /// they are committed and applied here), else as ``commit(_:)``.
    public func commitAsync(_ records: [MetadataRecord]) async throws {
        if let follower = follower.withLock({ $0 }) {
            try await follower.commit(records)
        } else {
            try commit(records)
        }
    }

    /// Applies `records` atomically, persists the result, then notifies listeners.
    /// If persisting fails the image is left unchanged and a ``ControllerError`` with
    /// KAFKA_STORAGE_ERROR (56) is thrown.
    @discardableResult
    public func commit(_ records: [MetadataRecord]) throws -> MetadataImage {
        guard !records.isEmpty else { return image }
        if isLogBacked {
            // Only the async path may wait for the quorum; a synchronous commit here would
            // change the image without the log, which is exactly what must never happen.
            throw ControllerError(56, "The metadata is replicated: commit through the metadata log (commitAsync)")
        }
        return try commitLock.withLock { _ in
            let old = state.withLock { $0 }
            var new = old
            for r in records { new.apply(r) }
            if let path {
                let data = try JSONEncoder().encode(new)
                do {
                    try writeTextFileAtomically(String(decoding: data, as: UTF8.self), to: path)
                } catch {
                    // A full or failing disk: admin requests answer KAFKA_STORAGE_ERROR with the
                    // reason (every handler turns a ControllerError into an error code) rather
                    // than closing the connection; nothing changed.
                    throw ControllerError(56, "Could not persist the metadata image \(path): \(error)")
                }
            }
            state.withLock { $0 = new }
            for l in listeners.withLock({ $0 }) { l(old, new) }
            return new
        }
    }
}

public enum MetadataStoreError: Error, CustomStringConvertible {
    case corrupt(path: String, reason: String)
    case clusterIdMismatch(path: String, stored: String, configured: String)

    public var description: String {
        switch self {
        case let .corrupt(path, reason): "Metadata image \(path) is unreadable: \(reason)"
        case let .clusterIdMismatch(path, stored, configured):
            "Metadata image \(path) belongs to cluster \(stored), but this broker is configured for \(configured)"
        }
    }
}
