import KafkaProtocol
import LogStorage
import NIOCore

/// FetchSnapshot (key 59): moving the bytes of a `__cluster_metadata` snapshot between quorum
/// nodes, as Kafka's `KafkaRaftClient.handleFetchSnapshotRequest` serves them and its follower
/// pulls them. The files are Kafka's, in the partition directory:
/// `%020d-%010d.checkpoint` (end offset, epoch), written as `.checkpoint.part` first
/// (Broker's `MetadataSnapshots` writes and reads their contents; this type only names and
/// moves them, so the naming rule is repeated here: Quorum cannot see Broker).
///
/// Serving (``answer(_:replica:directory:fileSystem:)``) is pure apart from reading the file.
/// Downloading (``download(_:epoch:from:transport:directory:fileSystem:chunkBytes:clusterId:)``)
/// pulls a snapshot chunk by chunk into `.checkpoint.part`, fsyncs it, renames it to
/// `.checkpoint` and fsyncs the directory, so a `.checkpoint` is whole or absent.
///
/// Not wired into the replica yet: nothing deletes the metadata log's prefix, so a Fetch is
/// never answered with a SnapshotId and no follower needs to download. When log cleaning comes,
/// the follower's Fetch-response handler starts a download of the id the leader names and then
/// truncates its log to the snapshot (Kafka's `truncateToLatestSnapshot`).
public enum SnapshotTransfer {
    public static let suffix = ".checkpoint"
    public static let partialSuffix = ".checkpoint.part"

    /// Kafka's `Snapshots.filenameFromSnapshotId`: `%020d-%010d.checkpoint`.
    public static func fileName(_ id: OffsetAndEpoch) -> String {
        pad(id.offset, 20) + "-" + pad(Int64(id.epoch), 10) + suffix
    }

    private static func pad(_ n: Int64, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    // MARK: Serving

    /// The leader's answer to a FetchSnapshot request, in Kafka's order of checks:
    /// INCONSISTENT_CLUSTER_ID and INVALID_REQUEST (top level); UNKNOWN_TOPIC_OR_PARTITION for any
    /// partition but `__cluster_metadata-0`; FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH /
    /// NOT_LEADER_OR_FOLLOWER (``RaftReplica/validateLeaderOnlyRequest(epoch:)``) with the
    /// current leader; BROKER_NOT_AVAILABLE while shutting down; SNAPSHOT_NOT_FOUND; POSITION_OUT_OF_RANGE unless 0 <= position < size;
    /// else up to `MaxBytes` bytes of the file from `Position` (not batch-aligned: "unaligned
    /// records"), with the file's size.
    public static func answer(_ request: FetchSnapshotRequest, replica: RaftReplica, directory: String,
                              fileSystem: any FileSystem, shuttingDown: Bool = false) -> FetchSnapshotResponse {
        var response = FetchSnapshotResponse()
        if let mine = replica.config.clusterId, let theirs = request.clusterId, mine != theirs {
            response.errorCode = ErrorCode.inconsistentClusterId.rawValue
            return response
        }
        guard request.topics.count == 1, request.topics[0].partitions.count == 1 else {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            return response
        }
        let topic = request.topics[0]
        let wanted = topic.partitions[0]
        var partition = FetchSnapshotResponse.PartitionSnapshot()
        partition.index = wanted.partition
        partition.unalignedRecords = ByteBuffer()   // not nullable: empty on every error
        func reply(_ error: ErrorCode) -> FetchSnapshotResponse {
            partition.errorCode = error.rawValue
            response.topics = [FetchSnapshotResponse.TopicSnapshot(name: topic.name, partitions: [partition])]
            return response
        }
        guard topic.name == MetadataPartition.topicName, wanted.partition == MetadataPartition.partition else {
            return reply(.unknownTopicOrPartition)
        }
        partition.currentLeader = FetchSnapshotResponse.LeaderIdAndEpoch(leaderId: replica.leaderId ?? -1, leaderEpoch: replica.epoch)
        let leaderError = replica.validateLeaderOnlyRequest(epoch: wanted.currentLeaderEpoch)
        guard leaderError == .none else { return reply(leaderError) }
        if shuttingDown { return reply(.brokerNotAvailable) }
        let id = OffsetAndEpoch(offset: wanted.snapshotId.endOffset, epoch: wanted.snapshotId.epoch)
        let path = directory + "/" + fileName(id)
        guard id.offset >= 0, id.epoch >= 0, fileSystem.fileExists(path) else { return reply(.snapshotNotFound) }
        partition.snapshotId = FetchSnapshotResponse.SnapshotId(endOffset: id.offset, epoch: id.epoch)
        do {
            let file = try fileSystem.open(path, create: false)
            let size = try file.size()
            guard wanted.position >= 0, wanted.position < size else { return reply(.positionOutOfRange) }
            let count = Int(min(Int64(max(0, request.maxBytes)), size - wanted.position, Int64(Int32.max)))
            partition.size = size
            partition.position = wanted.position
            partition.unalignedRecords = try file.read(at: wanted.position, count: count)
        } catch {
            // The file vanished (a newer snapshot replaced it) or cannot be read: as if absent,
            // so the follower starts over with a fresh Fetch.
            return reply(.snapshotNotFound)
        }
        return reply(.none)
    }

    // MARK: Downloading

    /// Why a download stopped.
    public struct DownloadError: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { "snapshot download: \(reason)" }
    }

    /// Pulls snapshot `id` from node `leader` (whose epoch is `epoch`) over `transport`, `chunkBytes`
    /// at a time, into `<directory>/<fileName(id)>` (via `.checkpoint.part`, fsync, rename,
    /// directory fsync). Returns the file's path; an existing complete file is kept as it is.
    /// Throws ``DownloadError`` on an error answer, no answer, or answers that do not line up
    /// (another id, another size, a chunk not at the requested position).
    @discardableResult
    public static func download(_ id: OffsetAndEpoch, epoch: Int32, from leader: RaftNodeId, transport: NIORaftTransport,
                                directory: String, fileSystem: any FileSystem, chunkBytes: Int32 = 8 * 1024 * 1024,
                                clusterId: String? = nil) async throws -> String {
        let path = directory + "/" + fileName(id)
        if fileSystem.fileExists(path) { return path }
        try fileSystem.createDirectory(directory)
        let partial = directory + "/" + String(fileName(id).dropLast(suffix.count)) + partialSuffix
        let file = try fileSystem.open(partial, create: true)
        try file.truncate(to: 0)
        var position: Int64 = 0
        var expectedSize: Int64?
        repeat {
            var p = FetchSnapshotRequest.PartitionSnapshot()
            p.partition = MetadataPartition.partition
            p.currentLeaderEpoch = epoch
            p.snapshotId = FetchSnapshotRequest.SnapshotId(endOffset: id.offset, epoch: id.epoch)
            p.position = position
            var request = FetchSnapshotRequest()
            request.clusterId = clusterId
            request.replicaId = transport.localId
            request.maxBytes = chunkBytes
            request.topics = [FetchSnapshotRequest.TopicSnapshot(name: MetadataPartition.topicName, partitions: [p])]
            guard let response = await transport.forward(request, version: RaftWireVersions.version(of: .fetchSnapshot), to: leader) else {
                throw DownloadError(reason: "no answer from node \(leader) at position \(position)")
            }
            guard response.errorCode == 0 else {
                throw DownloadError(reason: "node \(leader) answered \(ErrorCode(rawValue: response.errorCode))")
            }
            guard let answer = response.topics.first?.partitions.first else { throw DownloadError(reason: "empty answer") }
            guard answer.errorCode == 0 else {
                throw DownloadError(reason: "node \(leader) answered \(ErrorCode(rawValue: answer.errorCode)) at position \(position)")
            }
            guard answer.snapshotId.endOffset == id.offset, answer.snapshotId.epoch == id.epoch, answer.position == position,
                  expectedSize.map({ $0 == answer.size }) ?? true, answer.size > 0,
                  let chunk = answer.unalignedRecords, chunk.readableBytes > 0,
                  position + Int64(chunk.readableBytes) <= answer.size else {
                throw DownloadError(reason: "answer does not continue the download at \(position) (id \(answer.snapshotId.endOffset)/\(answer.snapshotId.epoch), position \(answer.position), size \(answer.size))")
            }
            expectedSize = answer.size
            try file.write(chunk, at: position)
            position += Int64(chunk.readableBytes)
        } while position < expectedSize!
        try file.sync()
        try fileSystem.rename(partial, to: path)
        try fileSystem.syncDirectory(directory)
        return path
    }
}
