import LogStorage
import Synchronization

/// Opens partition logs as `<log dir>/<topic>-<partition>` directories, spreading new
/// partitions over the log dirs. Every open after a start recovers past the log's own
/// recovery point (no clean-shutdown marker or checkpoints are kept here).
///
/// Thread-safe.
public final class DirectoryLogProvider: PartitionLogProvider {
    private let logDirs: [String]
    private let logs = Mutex<[String: (dir: String, log: PartitionLog)]>([:])

    public init(logDirs: [String]) { self.logDirs = logDirs }

    public func openLog(topic: String, partition: Int32, config: LogConfig) throws -> PartitionLog {
        let key = "\(topic)-\(partition)"
        return try logs.withLock { map throws -> PartitionLog in
            if let existing = map[key] { return existing.log }
            // Reuse the directory that already holds the partition, else the emptiest log dir.
            let dir = logDirs.first { fileExists($0 + "/" + key) }
                ?? logDirs.min { a, b in map.values.filter { $0.dir == a }.count < map.values.filter { $0.dir == b }.count }
                ?? logDirs[0]
            let log = try PartitionLog(directory: dir + "/" + key, topic: topic, partition: partition, config: config)
            map[key] = (dir, log)
            return log
        }
    }

    public func removeLog(topic: String, partition: Int32) throws {
        let key = "\(topic)-\(partition)"
        guard let entry = logs.withLock({ $0.removeValue(forKey: key) }) else { return }
        try entry.log.close()
        try removeDirectoryTree(entry.dir + "/" + key)
    }

    public func closeAll() throws {
        for entry in logs.withLock({ Array($0.values) }) {
            try entry.log.flush()
            try entry.log.close()
        }
    }
}
