/// The KRaft settings of one node, read from `server.properties` keys with Kafka's names and
/// defaults (`KRaftConfigs.java`, `QuorumConfig.java`, `KafkaConfig.validateValues`), and
/// checked so that a configuration that cannot work stops start-up with one line naming the key.
///
/// Pure: takes the properties as a dictionary (the broker's `.properties` parser produces it).
/// Not used by `samsa broker` yet; the broker will build its ``QuorumConfig`` from this when
/// the quorum is wired in.
///
/// Samsa's one deviation: with no `process.roles` (Kafka 4 requires it) a node is the
/// single-node combined default `samsa demo` and a first-time user get: roles
/// `broker,controller`, and itself as the only voter.
public struct KRaftSettings: Equatable, Sendable {
    public enum Role: String, Sendable, Equatable, CaseIterable { case broker, controller }

    public struct Voter: Equatable, Sendable {
        public var id: RaftNodeId
        public var host: String
        public var port: Int
    }

    public var roles: Set<Role>
    public var nodeId: RaftNodeId
    /// Static voters (`controller.quorum.voters`); empty when `bootstrapServers` is used.
    public var voters: [Voter]
    /// `controller.quorum.bootstrap.servers` (host:port), KIP-853.
    public var bootstrapServers: [String]
    public var controllerListenerNames: [String]
    /// True for the single-node default (no `process.roles` given).
    public var isEmbeddedSingleNode: Bool
    public var electionTimeoutMs: Int64
    public var fetchTimeoutMs: Int64
    public var electionBackoffMaxMs: Int64
    public var requestTimeoutMs: Int64
    public var retryBackoffMs: Int64
    public var appendLingerMs: Int64
    public var brokerHeartbeatIntervalMs: Int64
    public var brokerSessionTimeoutMs: Int64
    /// `metadata.log.dir`; nil means the first `log.dirs` entry, as Kafka.
    public var metadataLogDir: String?

    public struct InvalidSetting: Error, Equatable, CustomStringConvertible {
        public var key: String
        public var message: String
        public var description: String { "\(key): \(message)" }
    }

    /// Kafka's defaults (ms): election 1000, fetch 2000, election backoff max 1000, request
    /// 2000, retry backoff 20, append linger 25, heartbeat 2000, session 9000.
    public static let defaults: [String: Int64] = [
        "controller.quorum.election.timeout.ms": 1000,
        "controller.quorum.fetch.timeout.ms": 2000,
        "controller.quorum.election.backoff.max.ms": 1000,
        "controller.quorum.request.timeout.ms": 2000,
        "controller.quorum.retry.backoff.ms": 20,
        "controller.quorum.append.linger.ms": 25,
        "broker.heartbeat.interval.ms": 2000,
        "broker.session.timeout.ms": 9000,
    ]

    public init(properties: [String: String]) throws(InvalidSetting) {
        func value(_ key: String) -> String? {
            guard let raw = properties[key]?.trimmingSpaces, !raw.isEmpty else { return nil }
            return raw
        }
        func list(_ key: String) -> [String] {
            (value(key) ?? "").split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        }
        func milliseconds(_ key: String, min: Int64 = 0) throws(InvalidSetting) -> Int64 {
            guard let raw = value(key) else { return Self.defaults[key]! }
            guard let number = Int64(raw), number >= min else {
                throw InvalidSetting(key: key, message: "must be an integer >= \(min), got \"\(raw)\"")
            }
            return number
        }

        let rawId = value("node.id") ?? value("broker.id")
        if let rawId {
            guard let id = Int32(rawId), id >= 0 else {
                throw InvalidSetting(key: "node.id", message: "must be a non-negative integer, got \"\(rawId)\"")
            }
            nodeId = id
        } else {
            nodeId = -1
        }

        if value("process.roles") == nil {
            isEmbeddedSingleNode = true
            roles = [.broker, .controller]
            if nodeId < 0 { nodeId = 1 }
        } else {
            isEmbeddedSingleNode = false
            var seen: Set<Role> = []
            for name in list("process.roles") {
                guard let role = Role(rawValue: name) else {
                    throw InvalidSetting(key: "process.roles", message: "unknown role \"\(name)\" (expected broker, controller or both)")
                }
                guard seen.insert(role).inserted else {
                    throw InvalidSetting(key: "process.roles", message: "duplicate role \"\(name)\"")
                }
            }
            guard !seen.isEmpty else {
                throw InvalidSetting(key: "process.roles", message: "must name broker, controller or both")
            }
            roles = seen
            guard nodeId >= 0 else {
                throw InvalidSetting(key: "node.id", message: "is required when process.roles is set")
            }
        }

        voters = []
        for entry in list("controller.quorum.voters") {
            voters.append(try Self.parseVoter(entry))
        }
        if Set(voters.map(\.id)).count != voters.count {
            throw InvalidSetting(key: "controller.quorum.voters", message: "lists a node id twice")
        }
        bootstrapServers = list("controller.quorum.bootstrap.servers")
        for server in bootstrapServers where Self.hostPort(server) == nil {
            throw InvalidSetting(key: "controller.quorum.bootstrap.servers", message: "\"\(server)\" is not host:port")
        }
        controllerListenerNames = list("controller.listener.names")

        electionTimeoutMs = try milliseconds("controller.quorum.election.timeout.ms", min: 1)
        fetchTimeoutMs = try milliseconds("controller.quorum.fetch.timeout.ms", min: 1)
        electionBackoffMaxMs = try milliseconds("controller.quorum.election.backoff.max.ms", min: 1)
        requestTimeoutMs = try milliseconds("controller.quorum.request.timeout.ms", min: 1)
        retryBackoffMs = try milliseconds("controller.quorum.retry.backoff.ms")
        appendLingerMs = try milliseconds("controller.quorum.append.linger.ms")
        brokerHeartbeatIntervalMs = try milliseconds("broker.heartbeat.interval.ms", min: 1)
        brokerSessionTimeoutMs = try milliseconds("broker.session.timeout.ms", min: 1)
        metadataLogDir = value("metadata.log.dir")

        guard !isEmbeddedSingleNode else { return }
        // KafkaConfig.validateValues, one line each.
        if voters.isEmpty && bootstrapServers.isEmpty {
            throw InvalidSetting(key: "controller.quorum.voters",
                                 message: "no controllers: set controller.quorum.voters (id@host:port,...) or controller.quorum.bootstrap.servers")
        }
        if roles.contains(.controller), !voters.isEmpty, !voters.contains(where: { $0.id == nodeId }) {
            throw InvalidSetting(key: "controller.quorum.voters",
                                 message: "this node (node.id=\(nodeId)) has the controller role but is not one of the voters \(voters.map { String($0.id) }.joined(separator: ","))")
        }
        if roles == [.broker], voters.contains(where: { $0.id == nodeId }) {
            throw InvalidSetting(key: "controller.quorum.voters",
                                 message: "node.id=\(nodeId) is a voter, but process.roles=broker (a voter must have the controller role)")
        }
        if controllerListenerNames.isEmpty {
            throw InvalidSetting(key: "controller.listener.names", message: "must name at least one listener when process.roles is set")
        }
        if roles.contains(.controller) {
            let listenerNames = Self.listenerNames(list("listeners"))
            guard let first = controllerListenerNames.first, listenerNames.contains(first.uppercased()) else {
                throw InvalidSetting(key: "controller.listener.names",
                                     message: "\(controllerListenerNames.joined(separator: ",")) is not in listeners (\(list("listeners").joined(separator: ",")))")
            }
        }
        if fetchTimeoutMs < electionTimeoutMs {
            // Not a Kafka rule, but a fetch timeout below the election timeout makes followers
            // stand before a live leader's long poll (500 ms) can even answer twice.
            throw InvalidSetting(key: "controller.quorum.fetch.timeout.ms",
                                 message: "\(fetchTimeoutMs) is below controller.quorum.election.timeout.ms (\(electionTimeoutMs))")
        }
    }

    /// The quorum's timing and voters for ``RaftReplica``.
    public func quorumConfig(clusterId: String?) -> QuorumConfig {
        var config = QuorumConfig(voters: isEmbeddedSingleNode && voters.isEmpty ? [nodeId] : voters.map(\.id), clusterId: clusterId)
        config.electionTimeoutMs = electionTimeoutMs
        config.fetchTimeoutMs = fetchTimeoutMs
        config.electionBackoffMaxMs = electionBackoffMaxMs
        config.requestTimeoutMs = requestTimeoutMs
        config.retryBackoffMs = retryBackoffMs
        return config
    }

    /// `id@host:port`, as `QuorumConfig.parseVoterConnections` (IPv6 in brackets).
    static func parseVoter(_ entry: String) throws(InvalidSetting) -> Voter {
        let parts = entry.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, let id = Int32(parts[0]), id >= 0, let (host, port) = hostPort(parts[1]) else {
            throw InvalidSetting(key: "controller.quorum.voters", message: "\"\(entry)\" is not id@host:port")
        }
        return Voter(id: id, host: host, port: port)
    }

    static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        return (host, port)
    }

    /// Listener names of `NAME://host:port` entries, upper-cased as Kafka compares them.
    static func listenerNames(_ listeners: [String]) -> Set<String> {
        Set(listeners.compactMap { entry in
            guard let range = entry.range(of: "://") else { return nil }
            return String(entry[..<range.lowerBound]).uppercased()
        })
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
