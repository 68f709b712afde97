import KafkaProtocol

/// Kafka's `meta.properties`, one per log directory: it ties the directory to a cluster and a
/// node so that a disk moved to the wrong broker is refused instead of silently served.
///
/// ```
/// version=1
/// node.id=1
/// cluster.id=<22-char base64 uuid>
/// directory.id=<22-char base64 uuid>
/// ```
public struct MetaProperties: Equatable, Sendable {
    public static let fileName = "meta.properties"

    public var nodeId: Int32
    public var clusterId: String
    public var directoryId: String

    /// Reads `dir/meta.properties`, nil if absent.
    public static func read(directory dir: String) throws -> MetaProperties? {
        let path = dir + "/" + fileName
        guard fileExists(path) else { return nil }
        let props = PropertiesFile(parsing: try readTextFile(path))
        guard let node = props["node.id"].flatMap({ Int32($0) }), let cluster = props["cluster.id"] else {
            throw MetaPropertiesError.malformed(path)
        }
        return MetaProperties(nodeId: node, clusterId: cluster, directoryId: props["directory.id"] ?? "")
    }

    public func write(directory dir: String) throws {
        let text = "#\n#Written by samsa\nversion=1\nnode.id=\(nodeId)\ncluster.id=\(clusterId)\ndirectory.id=\(directoryId)\n"
        try writeTextFileAtomically(text, to: dir + "/" + Self.fileName)
    }

    /// Checks every log dir's meta.properties against the configured node id and cluster id,
    /// and writes the missing ones. Returns the cluster id in force: the configured one, else
    /// the one already on disk, else a fresh random one.
    public static func ensure(logDirs: [String], nodeId: Int32, configuredClusterId: String?,
                              random: () -> KafkaUUID) throws -> String {
        var found: [(String, MetaProperties)] = []
        for dir in logDirs {
            try makeDirectories(dir)
            if let meta = try read(directory: dir) { found.append((dir, meta)) }
        }
        var clusterId = configuredClusterId
        for (dir, meta) in found {
            guard meta.nodeId == nodeId else { throw MetaPropertiesError.nodeIdMismatch(dir: dir, stored: meta.nodeId, configured: nodeId) }
            if let c = clusterId, c != meta.clusterId {
                throw MetaPropertiesError.clusterIdMismatch(dir: dir, stored: meta.clusterId, expected: c)
            }
            clusterId = meta.clusterId
        }
        let cluster = clusterId ?? random().description
        for dir in logDirs where !found.contains(where: { $0.0 == dir }) {
            try MetaProperties(nodeId: nodeId, clusterId: cluster, directoryId: random().description).write(directory: dir)
        }
        return cluster
    }
}

public enum MetaPropertiesError: Error, CustomStringConvertible {
    case malformed(String)
    case nodeIdMismatch(dir: String, stored: Int32, configured: Int32)
    case clusterIdMismatch(dir: String, stored: String, expected: String)

    public var description: String {
        switch self {
        case .malformed(let path): "\(path) is malformed (node.id and cluster.id are required)"
        case let .nodeIdMismatch(dir, stored, configured):
            "Log directory \(dir) belongs to node \(stored), but node.id is \(configured)"
        case let .clusterIdMismatch(dir, stored, expected):
            "Log directory \(dir) belongs to cluster \(stored), but this broker is in cluster \(expected)"
        }
    }
}
