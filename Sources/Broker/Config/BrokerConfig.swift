import KafkaClient
import Quorum

/// A listener: where the broker accepts (or advertises) Kafka connections.
public struct ListenerConfig: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    /// Empty means every interface (for `listeners`).
    public var host: String
    public var port: Int

    public init(name: String, host: String, port: Int) {
        self.name = name; self.host = host; self.port = port
    }

    /// Parses `NAME://host:port`, `NAME://[v6]:port` or `NAME://:port`.
    static func parse(_ text: String, key: String) throws(ConfigError) -> ListenerConfig {
        func invalid(_ reason: String) -> ConfigError { .invalidValue(key: key, value: text, reason: reason) }
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw invalid("expected NAME://host:port") }
        let name = String(parts[0]).uppercased()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw invalid("listener name must be letters, digits, _ or -")
        }
        let rest = parts[1]
        var host: Substring
        var portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { throw invalid("missing port") }
            portText = after.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw invalid("missing port") }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else { throw invalid("port must be 0-65535") }
        return ListenerConfig(name: name, host: String(host), port: port)
    }

    public var description: String {
        host.contains(":") ? "\(name)://[\(host)]:\(port)" : "\(name)://\(host):\(port)"
    }
}

/// The broker's static configuration, read from `server.properties` plus `--override`s.
///
/// Every key is validated against ``BrokerConfigKeys``; an invalid value stops start-up with a
/// ``ConfigError`` naming the key, an unknown key only adds to ``warnings``. The typed
/// properties are what the broker uses; ``explicitValues`` remembers which keys the operator
/// set so DescribeConfigs can report STATIC_BROKER_CONFIG versus DEFAULT_CONFIG.
///
/// A value type; `Sendable`.
public struct BrokerConfig: Sendable {
    /// Validated values the operator set, by key (file first, then overrides).
    public private(set) var explicitValues: [String: String] = [:]
    /// One line per ignored unknown key, for the start-up log.
    public private(set) var warnings: [String] = []
    /// The file this configuration was read from (nil: defaults and overrides only), quoted in
    /// start-up messages that tell the operator what to run (`samsa storage format -c ...`).
    public var sourcePath: String?

    public var nodeId: Int32 = 1
    public var clusterId: String?
    public var rack: String?
    public var listeners: [ListenerConfig] = []
    public var advertisedListeners: [ListenerConfig] = []
    public var logDirs: [String] = []
    /// `metrics.listener` (`http://host:port`): the Prometheus endpoint, nil when off.
    public var metricsListener: ListenerConfig?
    public var numNetworkThreads: Int = 3
    public var socketRequestMaxBytes: Int = 104_857_600
    public var socketSendBufferBytes: Int = 102_400
    /// `samsa.fetch.zero.copy.enable`: Fetch records go out with sendfile on listeners without TLS.
    public var fetchZeroCopy: Bool = true
    /// `request.timeout.ms`: the broker's wait for the controller when it forwards a request.
    public var requestTimeoutMs: Int = 30_000
    /// `max.incremental.fetch.session.cache.slots`: fetch sessions kept (KIP-227).
    public var maxIncrementalFetchSessions: Int = 1000
    public var socketReceiveBufferBytes: Int = 102_400
    public var connectionsMaxIdleMs: Int64 = 600_000
    public var queuedMaxRequests: Int = 500
    /// `queued.max.request.bytes`; nil when -1 (no limit).
    public var queuedMaxRequestBytes: Int? = 104_857_600
    /// `max.broker.partitions` (KIP-578).
    public var maxBrokerPartitions: Int = 5_000
    /// `log.max.open.segment.files`; nil when -1 (from the open-file limit).
    public var logMaxOpenSegmentFiles: Int?
    /// `producer.id.expiration.ms`.
    public var producerIdExpirationMs: Int64 = 86_400_000
    public var numPartitions: Int32 = 1
    public var defaultReplicationFactor: Int16 = 1
    public var autoCreateTopicsEnable = true
    public var deleteTopicEnable = true
    /// The ACL authorizer when `authorizer.class.name` names Kafka's StandardAuthorizer (or
    /// AclAuthorizer); nil: no authorization, as Kafka without an authorizer.
    public var authorizer: AclAuthorizer?
    public var messageMaxBytes: Int32 = 1_048_588
    public var logRetentionCheckIntervalMs: Int64 = 300_000
    public var logFlushOffsetCheckpointIntervalMs: Int64 = 60_000
    public var logFlushSchedulerIntervalMs: Int64 = Int64.max
    /// `log.cleaner.enable`: compact topics with cleanup.policy=compact.
    public var logCleanerEnable = true
    /// `log.cleaner.backoff.ms`: the interval of the compaction check.
    public var logCleanerBackoffMs: Int64 = 15_000
    public var offsetsTopicNumPartitions: Int32 = 50
    public var offsetsTopicReplicationFactor: Int16 = 3
    public var offsetsTopicSegmentBytes: Int32 = 104_857_600
    /// `offsets.commit.timeout.ms`: how long a coordinator write waits for the ISR (Kafka's default 5 s).
    public var offsetsCommitTimeoutMs: Int64 = 5000
    public var offsetsRetentionMinutes: Int32 = 10_080
    public var offsetsRetentionCheckIntervalMs: Int64 = 600_000
    public var groupInitialRebalanceDelayMs: Int32 = 3000
    public var groupMinSessionTimeoutMs: Int32 = 6000
    public var groupMaxSessionTimeoutMs: Int32 = 1_800_000
    public var groupMaxSize: Int32 = Int32.max
    public var offsetMetadataMaxBytes: Int = 4096
    /// `replica.fetch.*`: how this broker's follower fetchers ask their leaders for data.
    public var replicaFetch = ReplicaFetchSettings()

    /// The KRaft keys (`process.roles`, `controller.quorum.*`, `broker.heartbeat.interval.ms`,
    /// ...), read by ``KRaftSettings`` from the same parsed properties and cross-checked against
    /// the listeners in `BrokerConfig+KRaft.swift`. `isEmbeddedSingleNode` when `process.roles`
    /// is not set: today's single node, unchanged.
    public var kraft = KRaftSettings.embeddedDefault
    /// Listeners named in `controller.listener.names` that this node binds (a controller's);
    /// never in ``listeners`` (clients are not served there).
    public var controllerListeners: [ListenerConfig] = []
    /// `inter.broker.listener.name`, else the name of `security.inter.broker.protocol`, as Kafka.
    public var interBrokerListenerName = "PLAINTEXT"
    /// The security protocol of every listener (`listener.security.protocol.map`, else the
    /// listener's own name), by listener name.
    public var listenerSecurityProtocols: [String: SecurityProtocol] = [:]
    /// The `ssl.*` and `listener.name.<l>.ssl.*` values the operator set, validated by type
    /// (``SSLListenerSettings`` resolves them per listener). Kept apart from
    /// ``explicitValues`` because several are secrets (inline keys, passwords).
    public private(set) var securityValues: [String: String] = [:]
    /// Client properties for connecting to the controller listener (Raft transport, broker to
    /// controller channel): `security.protocol` and, for SSL, the listener's `ssl.*` settings
    /// (``makeControllerClientSecurity()``); empty without KRaft.
    public var controllerClientSecurity: [String: String] = [:]

    /// The resolved `ssl.*` settings of `listener` (per-listener keys first).
    public func sslSettings(listener: String) -> SSLListenerSettings {
        SSLListenerSettings(listener: listener, raw: securityValues)
    }

    /// The `ssl.principal.mapping.rules` of each SSL listener (not SASL_SSL: there the SASL
    /// identity is the principal), parsed at start-up so a bad rule stops the broker naming the key.
    public private(set) var sslPrincipalMappers: [String: SslPrincipalMapper] = [:]

    /// The SASL settings of each SASL_PLAINTEXT / SASL_SSL listener, resolved and validated at
    /// start-up (Security/SaslConfig.swift). Holds PLAIN passwords: never printed.
    public private(set) var saslSettings: [String: SaslListenerSettings] = [:]

    /// The definition of an `ssl.*` key, bare or with a listener prefix, named as written.
    static func securityDefinition(_ key: String) -> ConfigDefinition? {
        if let d = SSLListenerSettings.byName[key] ?? SaslListenerSettings.byName[key] { return d }
        guard let override = BrokerConfigKeys.listenerOverride(key),
              let d = SSLListenerSettings.byName[override.base] ?? SaslListenerSettings.byName[override.base] else { return nil }
        return ConfigDefinition(key, d.type, default: d.defaultValue, d.validator, doc: d.documentation)
    }

    /// The client properties a broker uses to connect to another broker's inter-broker listener
    /// (follower fetches), as Kafka's brokers do: the listener's security protocol; for SSL its
    /// truststore (`ssl.truststore.location`, PEM) as the CA, its key store as the client
    /// certificate, `ssl.endpoint.identification.algorithm`; for SASL the mechanism
    /// `sasl.mechanism.inter.broker.protocol` and the credentials of that mechanism's JAAS
    /// config on the listener (its `username` / `password` options). Checked at start-up with
    /// the client's own parser, so a missing credential stops the broker naming the key.
    /// Holds a password: never printed.
    func interBrokerClientSecurity() throws(ConfigError) -> [String: String] {
        let l = interBrokerListenerName
        let proto = listenerSecurityProtocols[l] ?? .plaintext
        var props = ["security.protocol": proto.rawValue]
        if proto == .ssl || proto == .saslSsl { props.merge(sslClientProperties(listener: l)) { _, b in b } }
        var jaasKey = "sasl.jaas.config"
        if proto == .saslPlaintext || proto == .saslSsl {
            let mechanism = (securityValues["sasl.mechanism.inter.broker.protocol"] ?? "GSSAPI").trimmingWhitespace().uppercased()
            props["sasl.mechanism"] = mechanism
            let lower = l.lowercased()
            let candidates = ["listener.name.\(lower).\(mechanism.lowercased()).sasl.jaas.config", "listener.name.\(lower).sasl.jaas.config", "sasl.jaas.config"]
            for c in candidates {
                if let hit = securityValues.first(where: { $0.key.lowercased() == c }) { props["sasl.jaas.config"] = hit.value; jaasKey = hit.key; break }
            }
        }
        do {
            _ = try ClientConfig(properties: ClientProperties(props.merging(["bootstrap.servers": "127.0.0.1:1"]) { a, _ in a }))
        } catch {
            throw .invalidConfiguration(key: props["sasl.mechanism"] != nil ? jaasKey : "inter.broker.listener.name",
                reason: "the brokers could not connect to each other on \(l): \(Self.withoutSecrets(error, props))")
        }
        return props
    }

    /// The client's `ssl.*` properties for connecting to SSL listener `l`, from that listener's
    /// own settings as Kafka's brokers and controllers use them: its trust store
    /// (`ssl.truststore.location`, PEM) as the CA, its key store (`ssl.keystore.location`) as
    /// the client certificate, `ssl.endpoint.identification.algorithm` (default https).
    private func sslClientProperties(listener l: String) -> [String: String] {
        let ssl = sslSettings(listener: l)
        var props: [String: String] = [:]
        if let ca = ssl.value("ssl.truststore.location") { props["ssl.ca.location"] = ca.value }
        if let keystore = ssl.value("ssl.keystore.location") {
            props["ssl.certificate.location"] = keystore.value
            props["ssl.key.location"] = keystore.value
            if let pw = ssl.value("ssl.key.password") { props["ssl.key.password"] = pw.value }
        }
        props["ssl.endpoint.identification.algorithm"] = ssl.setting("ssl.endpoint.identification.algorithm")?.value ?? "https"
        return props
    }

    /// The client properties this node uses to connect to the controller listener (the first
    /// of `controller.listener.names`): the Raft transport between controllers and the
    /// broker's channel to the active controller. PLAINTEXT, or for SSL the listener's own
    /// `ssl.*` settings (``sslClientProperties(listener:)``), as Kafka's controllers and brokers
    /// connect to `CONTROLLER:SSL`. Checked at start-up with the client's parser, so an
    /// unreadable trust store stops the node naming the key. SASL was refused before.
    func makeControllerClientSecurity() throws(ConfigError) -> [String: String] {
        guard isKRaftMode, let l = kraft.controllerListenerNames.first?.uppercased() else { return [:] }
        let proto = listenerSecurityProtocols[l] ?? .plaintext
        guard proto == .ssl else { return ["security.protocol": proto.rawValue] }
        var props = sslClientProperties(listener: l)
        props["security.protocol"] = proto.rawValue
        do {
            _ = try ClientConfig(properties: ClientProperties(props.merging(["bootstrap.servers": "127.0.0.1:1"]) { a, _ in a }))
        } catch {
            // Name the listener's key the client key came from.
            let ssl = sslSettings(listener: l)
            var key = ssl.value("ssl.keystore.location")?.key ?? "ssl.keystore.location"
            if case KafkaClientError.invalidConfiguration(let clientKey, _, _) = error {
                if clientKey == "ssl.ca.location" { key = ssl.value("ssl.truststore.location")?.key ?? "ssl.truststore.location" }
                if clientKey == "ssl.endpoint.identification.algorithm" { key = ssl.setting(clientKey)?.key ?? clientKey }
            }
            throw .invalidConfiguration(key: key,
                reason: "the controllers and brokers could not connect to the controller listener \(l): \(Self.withoutSecrets(error, props))")
        }
        return props
    }

    /// An error text with no value of `props` in it (a JAAS config holds a password).
    private static func withoutSecrets(_ error: any Error, _ props: [String: String]) -> String {
        var text = "\(error)"
        for (k, v) in props where k == "sasl.jaas.config" || k == "ssl.key.password" { text = text.replacingOccurrences(of: v, with: "(hidden)") }
        return text
    }

    /// A configuration with every key at its default, for tests and embedding.
    public init() {
        // Defaults are derived from the table itself so the two cannot drift apart.
        // swiftlint:disable:next force_try
        self = try! BrokerConfig(properties: PropertiesFile())
    }

    /// Reads `path` and applies `overrides` (each `key=value`) on top.
    public static func load(path: String?, overrides: [String]) throws(ConfigError) -> BrokerConfig {
        var props = PropertiesFile()
        if let path {
            let text: String
            do {
                text = try readTextFile(path)
            } catch {
                throw .unreadableFile(path: path, reason: "\(error)")
            }
            props = PropertiesFile(parsing: text)
        }
        for item in overrides {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { throw .malformedOverride(item) }
            props.set(.init(key: String(item[..<eq]).trimmingWhitespace(),
                            value: String(item[item.index(after: eq)...]), line: 0))
        }
        var config = try BrokerConfig(properties: props)
        config.sourcePath = path
        return config
    }

    /// Validates `properties` and fills the typed fields.
    public init(properties: PropertiesFile) throws(ConfigError) {
        var parsed: [String: ConfigValue] = [:]
        for entry in properties.entries {
            guard let def = BrokerConfigKeys.byName[entry.key] else {
                if let ssl = Self.securityDefinition(entry.key) {
                    _ = try ssl.parse(entry.value)
                    securityValues[entry.key] = entry.value.trimmingWhitespace()
                    continue
                }
                if TopicConfigKeys.byName[entry.key] != nil {
                    warnings.append("Ignoring \(entry.key): it is a topic config; set it per topic or use its log.* broker key")
                } else {
                    let where_ = entry.line > 0 ? " (line \(entry.line))" : " (override)"
                    warnings.append("Ignoring unknown configuration \(entry.key)\(where_)")
                }
                continue
            }
            parsed[entry.key] = try def.parse(entry.value)
            explicitValues[entry.key] = entry.value.trimmingWhitespace()
        }
        func value(_ key: String) throws(ConfigError) -> ConfigValue {
            if let v = parsed[key] { return v }
            guard let def = BrokerConfigKeys.byName[key] else { preconditionFailure("no definition for \(key)") }
            guard let d = def.defaultValue else { return .null }
            return try def.parse(d)
        }
        func int(_ key: String) throws(ConfigError) -> Int64 {
            if case .int(let n) = try value(key) { return n }
            preconditionFailure("\(key) is not an integer key")
        }
        func bool(_ key: String) throws(ConfigError) -> Bool {
            if case .bool(let b) = try value(key) { return b }
            preconditionFailure("\(key) is not a boolean key")
        }
        func string(_ key: String) throws(ConfigError) -> String? {
            switch try value(key) {
            case .string(let s): return s.isEmpty ? nil : s
            case .null: return nil
            default: preconditionFailure("\(key) is not a string key")
            }
        }
        func list(_ key: String) throws(ConfigError) -> [String]? {
            switch try value(key) {
            case .list(let l): return l
            case .null: return nil
            default: preconditionFailure("\(key) is not a list key")
            }
        }

        // node.id wins over broker.id; when they disagree the operator made a mistake.
        let nodeId = try int("node.id"), brokerId = try int("broker.id")
        if parsed["node.id"] != nil, parsed["broker.id"] != nil, nodeId != brokerId {
            throw .invalidValue(key: "broker.id", value: String(brokerId),
                                reason: "must match node.id (\(nodeId)) when both are set")
        }
        let id = nodeId >= 0 ? nodeId : (brokerId >= 0 ? brokerId : 1)
        self.nodeId = Int32(id)
        clusterId = try string("cluster.id")
        if let clusterId, !clusterId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            throw .invalidValue(key: "cluster.id", value: clusterId, reason: "must be letters, digits, - or _")
        }
        rack = try string("broker.rack")

        // Listeners: PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL (SASL on broker listeners only).
        var protocolMap: [String: String] = [:]
        for item in try list("listener.security.protocol.map") ?? [] {
            let parts = item.split(separator: ":", maxSplits: 1).map { String($0).trimmingWhitespace().uppercased() }
            guard parts.count == 2 else {
                throw .invalidValue(key: "listener.security.protocol.map", value: item, reason: "expected NAME:PROTOCOL")
            }
            protocolMap[parts[0]] = parts[1]
        }
        func checkedListeners(_ key: String, _ items: [String]) throws(ConfigError) -> [ListenerConfig] {
            var out: [ListenerConfig] = []
            for item in items {
                let l = try ListenerConfig.parse(item, key: key)
                let proto = protocolMap[l.name] ?? l.name
                guard let known = SecurityProtocol(rawValue: proto) else {
                    throw .invalidConfiguration(key: "listener.security.protocol.map",
                        reason: "no security protocol defined for listener \(l.name) (\(proto) is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; add \(l.name):SSL or \(l.name):PLAINTEXT)")
                }
                listenerSecurityProtocols[l.name] = known
                guard !out.contains(where: { $0.name == l.name }) else {
                    throw .invalidValue(key: key, value: item, reason: "listener name \(l.name) is used twice")
                }
                out.append(l)
            }
            return out
        }
        let controllerNames = Set((try list("controller.listener.names") ?? []).map { $0.uppercased() })
        let allListeners = try checkedListeners("listeners", try list("listeners") ?? [])
        listeners = allListeners.filter { !controllerNames.contains($0.name) }
        controllerListeners = allListeners.filter { controllerNames.contains($0.name) }
        kraft = try Self.readKRaft(explicitValues, warnings: &warnings)
        guard !listeners.isEmpty || !kraft.roles.contains(.broker) else {
            throw .invalidValue(key: "listeners", value: explicitValues["listeners"] ?? "",
                                reason: "at least one client listener is required"
                                    + (controllerListeners.isEmpty ? "" : " (every listener is in controller.listener.names)"))
        }
        if let adv = try list("advertised.listeners"), !adv.isEmpty {
            // A controller may advertise its controller listener (KIP-853); clients are only
            // ever told about broker listeners (Kafka's effectiveAdvertisedBrokerListeners).
            advertisedListeners = try checkedListeners("advertised.listeners", adv)
                .filter { !controllerNames.contains($0.name) }
            for a in advertisedListeners where a.host.isEmpty || a.host == "0.0.0.0" || a.host == "::" {
                throw .invalidValue(key: "advertised.listeners", value: a.description,
                                    reason: "a wildcard address cannot be advertised")
            }
        } else {
            advertisedListeners = listeners
        }
        if let name = try string("inter.broker.listener.name") {
            interBrokerListenerName = name.uppercased()
        } else {
            interBrokerListenerName = (try string("security.inter.broker.protocol") ?? "PLAINTEXT").uppercased()
        }
        try validateKRaftListeners(protocolMap: protocolMap, allListeners: allListeners)
        for l in controllerListeners where listenerSecurityProtocols[l.name] == .saslPlaintext || listenerSecurityProtocols[l.name] == .saslSsl {
            throw .unsupported(key: "listener.security.protocol.map",
                               reason: "controller listener \(l.name) uses \(listenerSecurityProtocols[l.name]!.rawValue); SASL is served on broker listeners only")
        }
        for l in listeners where listenerSecurityProtocols[l.name] == .saslPlaintext || listenerSecurityProtocols[l.name] == .saslSsl {
            saslSettings[l.name] = try SaslListenerSettings.resolve(listener: l.name, raw: securityValues)
        }
        // Controller listeners too: a controller names the broker that sent an Envelope by its
        // certificate, as Kafka (super.users must then list the brokers' certificate principals).
        for l in listeners + controllerListeners where listenerSecurityProtocols[l.name] == .ssl {
            let rules = sslSettings(listener: l.name).setting("ssl.principal.mapping.rules")
                ?? .init(key: "ssl.principal.mapping.rules", value: "DEFAULT")
            do {
                sslPrincipalMappers[l.name] = try SslPrincipalMapper(rules: rules.value)
            } catch {
                throw .invalidValue(key: rules.key, value: rules.value, reason: error.description)
            }
        }
        if let inter = saslSettings[interBrokerListenerName] {
            let name = (securityValues["sasl.mechanism.inter.broker.protocol"] ?? "GSSAPI").trimmingWhitespace()
            guard let m = SaslMechanism(rawValue: name.uppercased()), inter.enabledMechanisms.contains(m) else {
                throw .invalidConfiguration(key: "sasl.mechanism.inter.broker.protocol",
                    reason: "\(name) must be one of the mechanisms enabled on the inter-broker listener \(interBrokerListenerName) (\(inter.enabledMechanisms.map(\.rawValue).joined(separator: ", ")))")
            }
        }

        if let text = try string("metrics.listener") {
            let l = try ListenerConfig.parse(text, key: "metrics.listener")
            guard l.name == "HTTP" else {
                throw .invalidValue(key: "metrics.listener", value: text, reason: "expected http://host:port")
            }
            metricsListener = l
        }

        if let dirs = try list("log.dirs"), !dirs.isEmpty {
            logDirs = dirs
        } else {
            logDirs = [try string("log.dir") ?? "/tmp/kafka-logs"]
        }
        numNetworkThreads = Int(try int("num.network.threads"))
        socketRequestMaxBytes = Int(try int("socket.request.max.bytes"))
        socketSendBufferBytes = Int(try int("socket.send.buffer.bytes"))
        fetchZeroCopy = try bool("samsa.fetch.zero.copy.enable")
        requestTimeoutMs = Int(try int("request.timeout.ms"))
        maxIncrementalFetchSessions = Int(try int("max.incremental.fetch.session.cache.slots"))
        socketReceiveBufferBytes = Int(try int("socket.receive.buffer.bytes"))
        connectionsMaxIdleMs = try int("connections.max.idle.ms")
        queuedMaxRequests = Int(try int("queued.max.requests"))
        let requestBytes = try int("queued.max.request.bytes")
        guard requestBytes == -1 || requestBytes >= 1 else {
            throw .invalidValue(key: "queued.max.request.bytes", value: String(requestBytes), reason: "must be -1 (no limit) or positive")
        }
        queuedMaxRequestBytes = requestBytes == -1 ? nil : Int(requestBytes)
        maxBrokerPartitions = Int(try int("max.broker.partitions"))
        let openFiles = try int("log.max.open.segment.files")
        guard openFiles == -1 || openFiles >= 1 else {
            throw .invalidValue(key: "log.max.open.segment.files", value: String(openFiles), reason: "must be -1 (automatic) or positive")
        }
        logMaxOpenSegmentFiles = openFiles == -1 ? nil : Int(openFiles)
        producerIdExpirationMs = try int("producer.id.expiration.ms")
        numPartitions = Int32(try int("num.partitions"))
        defaultReplicationFactor = Int16(try int("default.replication.factor"))
        autoCreateTopicsEnable = try bool("auto.create.topics.enable")
        deleteTopicEnable = try bool("delete.topic.enable")
        if let className = try string("authorizer.class.name") {
            guard AclAuthorizer.acceptedClassNames.contains(className) else {
                throw .unsupported(key: "authorizer.class.name",
                                   reason: "\(className) is not an authorizer Samsa implements (use org.apache.kafka.metadata.authorizer.StandardAuthorizer)")
            }
            let supers = (try string("super.users") ?? "").split(separator: ";").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
            authorizer = AclAuthorizer(superUsers: Set(supers), allowEveryoneIfNoAclFound: try bool("allow.everyone.if.no.acl.found"))
        }
        messageMaxBytes = Int32(try int("message.max.bytes"))
        logRetentionCheckIntervalMs = try int("log.retention.check.interval.ms")
        logFlushOffsetCheckpointIntervalMs = try int("log.flush.offset.checkpoint.interval.ms")
        logFlushSchedulerIntervalMs = try int("log.flush.scheduler.interval.ms")
        logCleanerEnable = try bool("log.cleaner.enable")
        logCleanerBackoffMs = try int("log.cleaner.backoff.ms")
        offsetsTopicNumPartitions = Int32(try int("offsets.topic.num.partitions"))
        offsetsTopicReplicationFactor = Int16(try int("offsets.topic.replication.factor"))
        offsetsTopicSegmentBytes = Int32(try int("offsets.topic.segment.bytes"))
        offsetsCommitTimeoutMs = Int64(try int("offsets.commit.timeout.ms"))
        offsetsRetentionMinutes = Int32(try int("offsets.retention.minutes"))
        offsetsRetentionCheckIntervalMs = try int("offsets.retention.check.interval.ms")
        groupInitialRebalanceDelayMs = Int32(try int("group.initial.rebalance.delay.ms"))
        groupMinSessionTimeoutMs = Int32(try int("group.min.session.timeout.ms"))
        groupMaxSessionTimeoutMs = Int32(try int("group.max.session.timeout.ms"))
        groupMaxSize = Int32(try int("group.max.size"))
        offsetMetadataMaxBytes = Int(try int("offset.metadata.max.bytes"))
        replicaFetch = ReplicaFetchSettings(
            waitMaxMs: Int32(try int("replica.fetch.wait.max.ms")), minBytes: Int32(try int("replica.fetch.min.bytes")),
            maxBytes: Int32(try int("replica.fetch.max.bytes")),
            responseMaxBytes: Int32(try int("replica.fetch.response.max.bytes")),
            backoffMs: try int("replica.fetch.backoff.ms"), socketTimeoutMs: try int("replica.socket.timeout.ms"))
        replicaFetch.clientSecurity = try interBrokerClientSecurity()
        controllerClientSecurity = try makeControllerClientSecurity()
        guard groupMinSessionTimeoutMs <= groupMaxSessionTimeoutMs else {
            throw .invalidValue(key: "group.max.session.timeout.ms", value: String(groupMaxSessionTimeoutMs),
                                reason: "must be at least group.min.session.timeout.ms (\(groupMinSessionTimeoutMs))")
        }
        // Validate the topic defaults now so a bad log.* key fails start-up, not the first CreateTopics.
        for key in TopicConfigKeys.all {
            _ = try topicDefault(key.definition.name)
        }
    }

    /// The effective text value of a broker key and where it came from.
    public func brokerValue(_ key: String) -> (value: String?, source: ConfigSource) {
        if let v = explicitValues[key] { return (v, .staticBrokerConfig) }
        return (BrokerConfigKeys.definition(key)?.defaultValue, .defaultConfig)
    }

    /// The default of topic config `name` on this broker: the first broker synonym set
    /// dynamically (`dynamic`, per-broker before cluster default) or in server.properties,
    /// scaled to the topic key's unit, else Kafka's default. Synonym order wins over layer
    /// order, as in Kafka, where `log.retention.ms` beats `log.retention.hours` wherever each is set.
    /// - Returns: value, source, and the broker key that supplied it (nil for Kafka's default).
    public func topicDefault(_ name: String, dynamic: DynamicBrokerConfigs = .none)
        throws(ConfigError) -> (value: String, source: ConfigSource, synonym: String?) {
        guard let key = TopicConfigKeys.byName[name] else { throw .unknownKey(name) }
        for (i, syn) in key.brokerSynonyms.enumerated() {
            let raw: String, source: ConfigSource
            if let d = dynamic.value(syn) {
                (raw, source) = d
            } else if let v = explicitValues[syn] {
                (raw, source) = (v, .staticBrokerConfig)
            } else {
                continue
            }
            let scale = key.synonymScale[i]
            if scale == 1 { return (raw, source, syn) }
            guard let n = Int64(raw) else { throw .invalidValue(key: syn, value: raw, reason: "expected an integer") }
            // -1 means "forever" in every unit; do not scale it.
            let (scaled, overflow) = n.multipliedReportingOverflow(by: scale)
            return (n < 0 ? String(n) : (overflow ? String(Int64.max) : String(scaled)), source, syn)
        }
        // log.retention.hours has a non-null default (168) that must win over the topic
        // table's own default only when they differ; they agree, so Kafka's default is used.
        return (key.definition.defaultValue ?? "", .defaultConfig, nil)
    }

    /// Effective topic configs: broker defaults overlaid with the topic's own `overrides`.
    public func effectiveTopicConfig(_ overrides: [String: String], dynamic: DynamicBrokerConfigs = .none) -> [String: String] {
        var out: [String: String] = [:]
        for key in TopicConfigKeys.all {
            let name = key.definition.name
            out[name] = overrides[name] ?? (try? topicDefault(name, dynamic: dynamic).value) ?? key.definition.defaultValue ?? ""
        }
        return out
    }
}

/// The follower fetchers' settings (Kafka's `replica.fetch.*` keys, same defaults).
public struct ReplicaFetchSettings: Equatable, Sendable {
    public var waitMaxMs: Int32 = 500
    public var minBytes: Int32 = 1
    public var maxBytes: Int32 = 1 << 20
    public var responseMaxBytes: Int32 = 10 << 20
    public var backoffMs: Int64 = 1000
    public var socketTimeoutMs: Int64 = 30_000
    /// Client security properties for connecting to the leaders' inter-broker listener
    /// (``BrokerConfig/interBrokerClientSecurity()``); may hold a JAAS password.
    public var clientSecurity: [String: String] = [:]
    public init() {}
    public init(waitMaxMs: Int32, minBytes: Int32, maxBytes: Int32, responseMaxBytes: Int32, backoffMs: Int64, socketTimeoutMs: Int64) {
        self.waitMaxMs = waitMaxMs; self.minBytes = minBytes; self.maxBytes = maxBytes
        self.responseMaxBytes = responseMaxBytes; self.backoffMs = backoffMs; self.socketTimeoutMs = socketTimeoutMs
    }
}
