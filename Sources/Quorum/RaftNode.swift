import KafkaProtocol
import LogStorage
import NIOCore

/// Why a quorum node stopped. Every case is fatal for the node (Kafka's raft thread dies on a
/// log I/O error too): the process must restart and recover from disk.
public enum RaftNodeError: Error, Equatable, CustomStringConvertible {
    case storage(String)
    case stateFile(String)
    /// The replica reported a broken invariant (``RaftEffect/fatal(_:)``).
    case fatal(String)
    /// The log did not do what the replica's mirror of it predicted.
    case logMismatch(String)

    public var description: String {
        switch self {
        case .storage(let m): "metadata log: \(m)"
        case .stateFile(let m): "quorum-state: \(m)"
        case .fatal(let m): "raft: \(m)"
        case .logMismatch(let m): "raft log mismatch: \(m)"
        }
    }
}

/// The driver of one replica: owns the `__cluster_metadata-0` ``PartitionLog``, the
/// `quorum-state` file and a ``RaftTransport`` endpoint, and executes the replica's effects in
/// order. Not thread-safe: one caller at a time (the simulation's event loop; in the broker an
/// actor or a single event-loop thread, like Kafka's raft I/O thread).
public final class RaftNode {
    public let id: RaftNodeId
    public private(set) var replica: RaftReplica
    public let log: PartitionLog
    public let stateFile: QuorumStateFile
    public let transport: any RaftTransport
    /// Called with the new high watermark whenever it moves (the metadata listeners' hook).
    public var onCommit: ((Int64) -> Void)?
    /// Called for every state change (logging).
    public var onTransition: ((RaftRole, RaftRole, Int32) -> Void)?

    /// Opens the log in `directory` (`<metadata.log.dir>/__cluster_metadata-0`) and the
    /// `quorum-state` beside it, and builds the replica from them. A corrupt `quorum-state`
    /// stops start-up (see DESIGN.md: clearing it could let this voter vote twice in an epoch).
    public init(id: RaftNodeId, config: QuorumConfig, directory: String, fileSystem: any FileSystem,
                clock: any LogClock, transport: any RaftTransport, now: Int64, randomSeed: UInt64,
                faults: RaftTestingFaults = .none, logConfig: LogConfig = RaftNode.defaultLogConfig) throws {
        self.id = id
        self.transport = transport
        do {
            self.log = try PartitionLog(directory: directory, topic: MetadataPartition.topicName, partition: MetadataPartition.partition,
                                        config: logConfig, fileSystem: fileSystem, clock: clock)
        } catch {
            throw RaftNodeError.storage("\(error)")
        }
        // After kill -9 the log recovers records that were only in the page cache. A voter's
        // fetch offset tells the leader "durable up to here", so fsync them before the first
        // Fetch: otherwise a later power loss takes back entries the leader counted toward its
        // high watermark (the simulation found this: kill -9, restart, fetch, power loss).
        do { try log.flush() } catch { throw RaftNodeError.storage("\(error)") }
        self.stateFile = QuorumStateFile(directory: directory, fileSystem: fileSystem)
        let stored: ElectionState?
        do { stored = try stateFile.read() } catch { throw RaftNodeError.stateFile("\(error)") }
        let view = RaftLogView(endOffset: log.logEndOffset, epochs: log.leaderEpochEntries)
        let (replica, effects) = RaftReplica.start(localId: id, config: config, stored: stored, log: view,
                                                   now: now, randomSeed: randomSeed, faults: faults)
        self.replica = replica
        try execute(effects)
    }

    /// The metadata log's topic config: Kafka's `metadata.log.segment.bytes` default (1 GiB),
    /// batches up to 8 MiB (`KafkaRaftClient.MAX_BATCH_SIZE_BYTES`), no retention by time or
    /// size (snapshots will bound it), never compacted.
    public static var defaultLogConfig: LogConfig {
        var config = LogConfig()
        config.retentionMs = -1
        config.retentionBytes = -1
        config.maxMessageBytes = 8 * 1024 * 1024
        return config
    }

    /// The replica's effects for `event`, executed. `limit` executes only the first `limit`
    /// effects (the simulation's crash in the middle of a step); the rest are dropped.
    @discardableResult
    public func handle(_ event: RaftEvent, now: Int64, limit: Int? = nil) throws -> [RaftEffect] {
        let effects = replica.handle(event, now: now)
        try execute(effects, limit: limit)
        return effects
    }

    /// Appends `values` as one batch if this node leads. Returns (last offset, epoch) or nil.
    @discardableResult
    public func propose(_ values: [ByteBuffer], now: Int64) throws -> OffsetAndEpoch? {
        let (result, effects) = replica.propose(values, now: now)
        try execute(effects)
        return result
    }

    public func execute(_ effects: [RaftEffect], limit: Int? = nil) throws {
        for (index, effect) in effects.enumerated() {
            if let limit, index >= limit { return }
            try execute(effect)
        }
    }

    private func execute(_ effect: RaftEffect) throws {
        switch effect {
        case .persistElectionState(let election):
            do { try stateFile.write(election, voters: replica.config.voters) } catch {
                throw RaftNodeError.stateFile("\(error)")
            }
        case .appendAsLeader(let bytes, let epoch, let expected):
            let info: LogAppendInfo
            do { info = try log.append(bytes, leaderEpoch: epoch, assignOffsets: true) } catch {
                throw RaftNodeError.storage("\(error)")
            }
            guard info.firstOffset == expected else {
                throw RaftNodeError.logMismatch("leader append landed at \(info.firstOffset), expected \(expected)")
            }
        case .appendAsFollower(let bytes):
            do { try log.append(bytes, leaderEpoch: nil, assignOffsets: false) } catch {
                throw RaftNodeError.storage("\(error)")
            }
        case .truncate(let offset):
            do { try log.truncate(to: offset) } catch { throw RaftNodeError.storage("\(error)") }
        case .flush:
            do { try log.flush() } catch { throw RaftNodeError.storage("\(error)") }
        case .send(let to, let message):
            transport.send(message, from: id, to: to)
        case .sendFetchResponse(let to, let correlationId, var response, let readFrom, let maxBytes):
            if let readFrom, readFrom < log.logEndOffset, !response.responses.isEmpty, !response.responses[0].partitions.isEmpty {
                do {
                    let result = try log.read(from: readFrom, maxBytes: maxBytes, maxOffset: nil, minOneBatch: true)
                    response.responses[0].partitions[0].records = try result.readBytes()
                } catch {
                    throw RaftNodeError.storage("\(error)")
                }
            }
            transport.send(.response(correlationId: correlationId, .fetch(response)), from: id, to: to)
        case .highWatermark(let offset):
            log.updateHighWatermark(offset)
            onCommit?(offset)
        case .transitioned(let from, let to, let epoch):
            onTransition?(from, to, epoch)
        case .fatal(let message):
            throw RaftNodeError.fatal(message)
        }
    }

    /// Closes the log (flush + close). The node is unusable afterwards.
    public func close() throws {
        do { try log.close() } catch { throw RaftNodeError.storage("\(error)") }
    }
}
