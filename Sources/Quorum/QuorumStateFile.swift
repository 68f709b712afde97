import Foundation
import KafkaProtocol
import LogStorage

/// What a voter persists about elections (Kafka's `ElectionState`): the epoch, the leader it
/// knows for that epoch, and whom it voted for in it. Written to `quorum-state` **before** the
/// replica acts on it (sends a vote, a BeginQuorumEpoch, a fetch in a new epoch).
public struct ElectionState: Equatable, Sendable, CustomStringConvertible {
    public var epoch: Int32
    public var leaderId: RaftNodeId?
    public var votedId: RaftNodeId?
    /// KIP-853 directory id of the vote (v1 files); zero when unknown (static quorums).
    public var votedDirectoryId: KafkaUUID

    public init(epoch: Int32, leaderId: RaftNodeId? = nil, votedId: RaftNodeId? = nil, votedDirectoryId: KafkaUUID = .zero) {
        self.epoch = epoch; self.leaderId = leaderId; self.votedId = votedId; self.votedDirectoryId = votedDirectoryId
    }

    public var description: String {
        "epoch \(epoch) leader \(leaderId.map(String.init) ?? "-") voted \(votedId.map(String.init) ?? "-")"
    }
}

/// Reading and writing `__cluster_metadata-0/quorum-state`, byte-compatible with Kafka's
/// `FileQuorumStateStore`: one JSON line of `QuorumStateData` plus `data_version`.
///
/// * Version 0 (what Kafka writes for kraft.version 0, i.e. static `controller.quorum.voters`):
///   `{"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1},...],"data_version":0}`
/// * Version 1 (kraft.version 1, dynamic quorums):
///   `{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"J8aAPcfLQt2bqs1JT_rMgQ","data_version":1}`
///
/// Both are read; version 0 is written (Samsa's quorum is static for now). The write goes to
/// `quorum-state.tmp`, is fsynced, renamed over `quorum-state` and the directory fsynced, so a
/// crash leaves the old or the new state, never a mix.
public struct QuorumStateFile: Sendable {
    public static let fileName = "quorum-state"

    public let path: String
    public let fileSystem: any FileSystem

    public init(directory: String, fileSystem: any FileSystem) {
        self.path = directory + "/" + Self.fileName
        self.fileSystem = fileSystem
    }

    public enum ReadError: Error, Equatable, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read quorum state \(path): \(reason)"
            }
        }
    }

    /// The stored state, nil when there is no file. Throws ``ReadError`` for a corrupt file
    /// (the caller decides: Kafka clears it and starts from the log's epoch).
    public func read() throws -> ElectionState? {
        let text: String?
        do { text = try fileSystem.readString(path) } catch {
            throw ReadError.unreadable(path: path, reason: "\(error)")
        }
        guard let text else { return nil }
        return try Self.decode(text, path: path)
    }

    /// Writes `state` durably (temp file, fsync, rename, directory fsync).
    public func write(_ state: ElectionState, voters: [RaftNodeId]) throws(FileSystemError) {
        try fileSystem.writeAtomically(path, contents: Self.encode(state, voters: voters))
    }

    /// Removes the file (and a leftover temp file).
    public func clear() throws(FileSystemError) {
        try fileSystem.removeFile(path)
        try fileSystem.removeFile(path + ".tmp")
    }

    /// The version-0 JSON line, fields in the order Kafka's `QuorumStateDataJsonConverter`
    /// writes them.
    public static func encode(_ state: ElectionState, voters: [RaftNodeId]) -> String {
        let voterList = voters.map { "{\"voterId\":\($0)}" }.joined(separator: ",")
        return "{\"clusterId\":\"\",\"leaderId\":\(state.leaderId ?? -1),\"leaderEpoch\":\(state.epoch),"
            + "\"votedId\":\(state.votedId ?? -1),\"appliedOffset\":0,\"currentVoters\":[\(voterList)],\"data_version\":0}"
    }

    public static func decode(_ text: String, path: String = QuorumStateFile.fileName) throws -> ElectionState {
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard !line.isEmpty else { throw ReadError.unreadable(path: path, reason: "file ended prematurely") }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ReadError.unreadable(path: path, reason: "not a JSON object")
            }
            object = parsed
        } catch let error as ReadError {
            throw error
        } catch {
            throw ReadError.unreadable(path: path, reason: "not JSON")
        }
        guard let version = (object["data_version"] as? NSNumber)?.intValue else {
            throw ReadError.unreadable(path: path, reason: "no data_version field")
        }
        guard version == 0 || version == 1 else {
            throw ReadError.unreadable(path: path, reason: "data_version (\(version)) is not within the min (0) and max (1) supported version")
        }
        func int(_ key: String) throws -> Int64 {
            guard let number = object[key] as? NSNumber else {
                throw ReadError.unreadable(path: path, reason: "missing field \(key)")
            }
            return number.int64Value
        }
        let epoch = try int("leaderEpoch")
        let leaderId = try int("leaderId")
        let votedId = try int("votedId")
        guard epoch >= 0, epoch <= Int64(Int32.max), (-1...Int64(Int32.max)).contains(leaderId),
              (-1...Int64(Int32.max)).contains(votedId) else {
            throw ReadError.unreadable(path: path, reason: "field out of range")
        }
        var directory = KafkaUUID.zero
        if version >= 1, let text = object["votedDirectoryId"] as? String {
            guard let parsed = KafkaUUID(text) else {
                throw ReadError.unreadable(path: path, reason: "bad votedDirectoryId")
            }
            directory = parsed
        }
        return ElectionState(epoch: Int32(epoch), leaderId: leaderId >= 0 ? Int32(leaderId) : nil,
                             votedId: votedId >= 0 ? Int32(votedId) : nil, votedDirectoryId: directory)
    }
}
