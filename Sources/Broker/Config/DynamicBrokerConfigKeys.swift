/// Kafka's dynamic broker configs: the keys AlterConfigs / IncrementalAlterConfigs may set on
/// a BROKER resource, as data.
///
/// Source: Apache Kafka 4.x (trunk), `core/src/main/scala/kafka/server/DynamicBrokerConfig.scala`,
/// `DynamicBrokerConfig.AllDynamicConfigs` =
///   `SslConfigs.RECONFIGURABLE_CONFIGS` (DynamicSecurityConfigs)
///   ++ `LogCleaner.RECONFIGURABLE_CONFIGS`
///   ++ `DynamicLogConfig.ReconfigurableConfigs` (the first broker synonym of every topic config,
///      `ServerTopicConfigSynonyms.TOPIC_CONFIG_SYNONYMS`)
///   ++ `DynamicThreadPool.RECONFIGURABLE_CONFIGS` ++ `metric.reporters`
///   ++ `DynamicListenerConfig.ReconfigurableConfigs` ++ `SocketServer.RECONFIGURABLE_CONFIGS`
///   ++ DynamicProducerStateManagerConfig ++ `DynamicRemoteLogConfig.ReconfigurableConfigs`
///   ++ `DynamicReplicationConfig.RECONFIGURABLE_CONFIGS` ++ `config.providers`
///   ++ `GroupCoordinatorConfig.RECONFIGURABLE_CONFIGS` ++ `ShareCoordinatorConfig.RECONFIGURABLE_CONFIGS`,
/// plus any key with a listener prefix (`listener.name.<listener>.<key>`).
///
/// Samsa applies the dynamic keys its own table marks dynamic (``ConfigDefinition/isDynamic``:
/// the log.* topic defaults, message.max.bytes, min.insync.replicas, ...). Every other key of
/// Kafka's set is accepted, validated by type, stored in the metadata log and reported by
/// DescribeConfigs, whose documentation for it says that it has no effect here: a client that
/// sets a Kafka dynamic config must not be refused, and must not be told it took effect.
/// The validation rules are Kafka's (`DynamicBrokerConfig.validateConfigs`), every refusal is
/// INVALID_REQUEST as Kafka answers it (`ConfigAdminManager.validateBrokerConfigChange`).
extension BrokerConfigKeys {
    /// `SslConfigs.RECONFIGURABLE_CONFIGS`: dynamic only with a listener prefix.
    public static let dynamicSecurityConfigs: Set<String> = [
        "ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
        "ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.password",
        "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.truststore.certificates",
    ]

    /// `DynamicListenerConfig.ReconfigurableConfigs`.
    public static let dynamicListenerConfigs: Set<String> = [
        "listeners", "listener.security.protocol.map",
        "principal.builder.class", "ssl.protocol", "ssl.provider", "ssl.cipher.suites", "ssl.enabled.protocols",
        "ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
        "ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.password",
        "ssl.keymanager.algorithm", "ssl.trustmanager.algorithm", "ssl.endpoint.identification.algorithm",
        "ssl.secure.random.implementation", "ssl.client.auth", "ssl.engine.factory.class",
        "sasl.mechanism.inter.broker.protocol", "sasl.jaas.config", "sasl.enabled.mechanisms",
        "sasl.kerberos.service.name", "sasl.kerberos.kinit.cmd", "sasl.kerberos.ticket.renew.window.factor",
        "sasl.kerberos.ticket.renew.jitter", "sasl.kerberos.min.time.before.relogin",
        "sasl.kerberos.principal.to.local.rules", "sasl.login.refresh.window.factor",
        "sasl.login.refresh.window.jitter", "sasl.login.refresh.min.period.seconds", "sasl.login.refresh.buffer.seconds",
        "max.connections", "max.connection.creation.rate", "num.network.threads",
    ]

    /// Every key of `DynamicBrokerConfig.AllDynamicConfigs`, by the Kafka class it comes from.
    public static let kafkaDynamicConfigs: Set<String> = {
        let logCleaner: Set<String> = ["log.cleaner.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.load.factor",
                                       "log.cleaner.io.buffer.size", "message.max.bytes", "log.cleaner.io.max.bytes.per.second",
                                       "log.cleaner.backoff.ms"]
        let dynamicLog: Set<String> = ["log.segment.bytes", "log.roll.ms", "log.roll.jitter.ms", "log.index.size.max.bytes",
                                       "log.flush.interval.messages", "log.flush.interval.ms", "log.retention.bytes", "log.retention.ms",
                                       "message.max.bytes", "log.index.interval.bytes", "log.cleaner.delete.retention.ms",
                                       "log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms",
                                       "log.segment.delete.delay.ms", "log.cleaner.min.cleanable.ratio", "log.cleanup.policy",
                                       "unclean.leader.election.enable", "min.insync.replicas", "compression.type",
                                       "compression.gzip.level", "compression.lz4.level", "compression.zstd.level", "log.preallocate",
                                       "log.message.timestamp.type", "log.message.timestamp.before.max.ms",
                                       "log.message.timestamp.after.max.ms", "log.local.retention.ms", "log.local.retention.bytes"]
        let threadPool: Set<String> = ["num.io.threads", "num.replica.fetchers", "num.recovery.threads.per.data.dir", "background.threads"]
        let socketServer: Set<String> = ["max.connections.per.ip", "max.connections.per.ip.overrides", "max.connections",
                                         "max.connection.creation.rate"]
        let producerState: Set<String> = ["producer.id.expiration.ms", "transaction.partition.verification.enable"]
        let remoteLog: Set<String> = ["remote.log.index.file.cache.total.size.bytes", "remote.fetch.max.wait.ms",
                                      "remote.log.manager.copy.max.bytes.per.second", "remote.log.manager.fetch.max.bytes.per.second",
                                      "remote.list.offsets.request.timeout.ms", "remote.log.manager.copier.thread.pool.size",
                                      "remote.log.manager.expiration.thread.pool.size", "remote.log.manager.follower.thread.pool.size",
                                      "remote.log.reader.threads"]
        let replication: Set<String> = ["follower.fetch.last.tiered.offset.enable"]
        let groupCoordinator: Set<String> = ["group.coordinator.cached.buffer.max.bytes", "group.consumer.assignment.interval.ms",
                                             "group.consumer.assignor.offload.enable", "group.share.assignment.interval.ms",
                                             "group.share.assignor.offload.enable", "group.streams.assignment.interval.ms",
                                             "group.streams.assignor.offload.enable"]
        let shareCoordinator: Set<String> = ["share.coordinator.cached.buffer.max.bytes"]
        return dynamicSecurityConfigs.union(logCleaner).union(dynamicLog).union(threadPool).union(["metric.reporters"])
            .union(dynamicListenerConfigs).union(socketServer).union(producerState).union(remoteLog).union(replication)
            .union(["config.providers"]).union(groupCoordinator).union(shareCoordinator)
    }()

    /// Kafka's `ClusterLevelListenerConfigs`: listener configs that may also be set cluster-wide.
    static let clusterLevelListenerConfigs: Set<String> = ["max.connections", "max.connection.creation.rate", "num.network.threads"]

    /// Kafka's `PerBrokerConfigs`: refused on the cluster default resource (""), which Kafka
    /// answers "Cannot update these configs at default cluster level, broker id must be specified".
    public static let perBrokerOnlyConfigs: Set<String> = dynamicSecurityConfigs.union(dynamicListenerConfigs)
        .subtracting(clusterLevelListenerConfigs)

    /// Kafka's `ListenerMechanismConfigs`: given as `listener.name.<l>.<mechanism>.<key>`.
    static let listenerMechanismConfigs = ["sasl.jaas.config", "sasl.login.callback.handler.class", "sasl.login.class",
                                           "sasl.server.callback.handler.class", "connections.max.reauth.ms"]

    /// `(listener, base key)` of a listener override `listener.name.<listener>.<key>`
    /// (Kafka's `ListenerConfigRegex`), with a mechanism prefix reduced to its base key.
    public static func listenerOverride(_ name: String) -> (listener: String, base: String)? {
        let prefix = "listener.name."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), dot != rest.startIndex else { return nil }
        let base = String(rest[rest.index(after: dot)...])
        guard !base.isEmpty else { return nil }
        let mechanismBase = listenerMechanismConfigs.first { base.hasSuffix("." + $0) }
        return (String(rest[..<dot]), mechanismBase ?? base)
    }

    /// Whether Kafka accepts `name` as a dynamic broker config.
    public static func isKafkaDynamic(_ name: String) -> Bool {
        kafkaDynamicConfigs.contains(name) || listenerOverride(name) != nil
    }

    /// The definition of broker key `name`: Samsa's own (``all``), else one of Kafka's dynamic
    /// keys Samsa only stores (``storedOnlyDynamic``), else for a listener override the
    /// definition of its base key.
    public static func definition(_ name: String) -> ConfigDefinition? {
        if let d = byName[name] ?? storedOnlyByName[name] { return d }
        if let base = listenerOverride(name)?.base { return byName[base] ?? storedOnlyByName[base] }
        return nil
    }

    /// Whether Samsa applies a dynamic value of `name` (its own table marks it dynamic);
    /// otherwise a dynamic value is only stored and reported.
    public static func isAppliedDynamically(_ name: String) -> Bool { byName[name]?.isDynamic == true }

    /// What DescribeConfigs says about a key of Kafka's dynamic set that Samsa only stores.
    public static let storedOnlyNote = "Samsa stores a dynamic value of this key (Kafka's dynamic broker config set) "
        + "and reports it here, but it has no effect on this broker."

    /// Kafka's dynamic keys that are not in ``all``, with Kafka's types and defaults, so their
    /// values are validated as Kafka validates them and DescribeConfigs can report them.
    /// Keys Samsa later implements move to ``all`` (which wins over this table).
    public static let storedOnlyDynamic: [ConfigDefinition] = {
        func d(_ name: String, _ type: ConfigType, _ def: String?, _ v: ConfigDefinition.Validator? = nil, _ what: String) -> ConfigDefinition {
            ConfigDefinition(name, type, default: def, v, dynamic: true, doc: what + " " + storedOnlyNote)
        }
        let unlimited = "2147483647", longMax = "9223372036854775807"
        let atLeast1: ConfigDefinition.Validator = .range(min: 1, max: nil)
        return [
            // SSL (only with a listener prefix; a dynamic value is not applied: TLS contexts are built at start-up)
            d("ssl.keystore.type", .string, "JKS", nil, "Keystore format."),
            d("ssl.keystore.location", .string, nil, nil, "Keystore file."),
            d("ssl.keystore.password", .password, nil, nil, "Keystore password."),
            d("ssl.key.password", .password, nil, nil, "Private key password."),
            d("ssl.truststore.type", .string, "JKS", nil, "Truststore format."),
            d("ssl.truststore.location", .string, nil, nil, "Truststore file."),
            d("ssl.truststore.password", .password, nil, nil, "Truststore password."),
            d("ssl.keystore.certificate.chain", .password, nil, nil, "PEM certificate chain."),
            d("ssl.keystore.key", .password, nil, nil, "PEM private key."),
            d("ssl.truststore.certificates", .password, nil, nil, "PEM trusted certificates."),
            d("principal.builder.class", .class, "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", nil,
              "Builds the principal of a connection."),
            d("ssl.protocol", .string, "TLSv1.3", nil, "TLS protocol of SSLContext."),
            d("ssl.provider", .string, nil, nil, "Security provider of SSL connections."),
            d("ssl.cipher.suites", .list, "", nil, "Enabled cipher suites."),
            d("ssl.enabled.protocols", .list, "TLSv1.2,TLSv1.3", nil, "Enabled TLS protocols."),
            d("ssl.keymanager.algorithm", .string, "SunX509", nil, "Key manager factory algorithm."),
            d("ssl.trustmanager.algorithm", .string, "PKIX", nil, "Trust manager factory algorithm."),
            d("ssl.endpoint.identification.algorithm", .string, "https", nil, "Server host name verification."),
            d("ssl.secure.random.implementation", .string, nil, nil, "SecureRandom implementation."),
            d("ssl.client.auth", .string, "none", .oneOf(["required", "requested", "none"]), "Client certificate authentication."),
            d("ssl.engine.factory.class", .class, nil, nil, "SSLEngine factory."),
            // SASL
            d("sasl.mechanism.inter.broker.protocol", .string, "GSSAPI", nil, "SASL mechanism between brokers."),
            d("sasl.jaas.config", .password, nil, nil, "JAAS login context."),
            d("sasl.enabled.mechanisms", .list, "GSSAPI", nil, "SASL mechanisms enabled on the server."),
            d("sasl.kerberos.service.name", .string, nil, nil, "Kerberos principal name Kafka runs as."),
            d("sasl.kerberos.kinit.cmd", .string, "/usr/bin/kinit", nil, "Kerberos kinit command path."),
            d("sasl.kerberos.ticket.renew.window.factor", .double, "0.8", nil, "Share of the ticket lifetime before renewal."),
            d("sasl.kerberos.ticket.renew.jitter", .double, "0.05", nil, "Random jitter added to the renewal time."),
            d("sasl.kerberos.min.time.before.relogin", .long, "60000", nil, "Login thread sleep between refresh attempts."),
            d("sasl.kerberos.principal.to.local.rules", .list, "DEFAULT", nil, "Principal to short name rules."),
            d("sasl.login.refresh.window.factor", .double, "0.8", .doubleRange(min: 0.5, max: 1.0), "Share of the credential lifetime before refresh."),
            d("sasl.login.refresh.window.jitter", .double, "0.05", .doubleRange(min: 0.0, max: 0.25), "Random jitter added to the refresh time."),
            d("sasl.login.refresh.min.period.seconds", .short, "60", .range(min: 0, max: 900), "Minimum time between credential refreshes."),
            d("sasl.login.refresh.buffer.seconds", .short, "300", .range(min: 0, max: 3600), "Buffer before credential expiry."),
            // Connections
            d("max.connections", .int, unlimited, .range(min: 0, max: nil), "Connections allowed in the broker at any time."),
            d("max.connection.creation.rate", .int, unlimited, .range(min: 0, max: nil), "New connections per second allowed."),
            d("max.connections.per.ip", .int, unlimited, .range(min: 0, max: nil), "Connections allowed from one IP address."),
            d("max.connections.per.ip.overrides", .string, "", nil, "Per-IP or host connection limits (host:count,...)."),
            // Threads
            d("num.replica.fetchers", .int, "1", atLeast1, "Fetcher threads per source broker."),
            d("background.threads", .int, "10", atLeast1, "Threads for background processing."),
            d("metric.reporters", .list, "", nil, "Metrics reporter classes."),
            d("config.providers", .list, "", nil, "Config provider classes."),
            // Log cleaner
            d("log.cleaner.threads", .int, "1", .range(min: 0, max: nil), "Background threads for log cleaning."),
            d("log.cleaner.dedupe.buffer.size", .long, "134217728", nil, "Memory for log deduplication across cleaner threads."),
            d("log.cleaner.io.buffer.load.factor", .double, "0.9", nil, "Load factor of the dedupe buffer."),
            d("log.cleaner.io.buffer.size", .int, "524288", .range(min: 0, max: nil), "Memory for cleaner I/O buffers."),
            d("log.cleaner.io.max.bytes.per.second", .double, "1.7976931348623157E308", nil, "Cleaner I/O throttle."),
            d("log.cleaner.backoff.ms", .long, "15000", .range(min: 0, max: nil), "Sleep when there are no logs to clean."),
            // Topic defaults Samsa has no topic config (or no broker synonym) for
            d("log.roll.jitter.ms", .long, nil, nil, "Default segment.jitter.ms."),
            d("log.segment.delete.delay.ms", .long, "60000", .range(min: 0, max: nil), "Default file.delete.delay.ms."),
            d("compression.gzip.level", .int, "-1", nil, "Default gzip level of topics."),
            d("compression.lz4.level", .int, "9", .range(min: 1, max: 17), "Default lz4 level of topics."),
            d("compression.zstd.level", .int, "3", nil, "Default zstd level of topics."),
            d("log.local.retention.ms", .long, "-2", .range(min: -2, max: nil), "Local retention of tiered topics."),
            d("log.local.retention.bytes", .long, "-2", .range(min: -2, max: nil), "Local retention bytes of tiered topics."),
            // Producer state, transactions, tiered storage, replication
            d("transaction.partition.verification.enable", .boolean, "true", nil, "Verify partitions are in a transaction before appending."),
            d("remote.log.index.file.cache.total.size.bytes", .long, "1073741824", .range(min: 1, max: nil), "Remote index cache size."),
            d("remote.fetch.max.wait.ms", .int, "500", .range(min: 1, max: nil), "Longest wait for remote fetches."),
            d("remote.log.manager.copy.max.bytes.per.second", .long, longMax, .range(min: 1, max: nil), "Remote copy throttle."),
            d("remote.log.manager.fetch.max.bytes.per.second", .long, longMax, .range(min: 1, max: nil), "Remote fetch throttle."),
            d("remote.list.offsets.request.timeout.ms", .long, "30000", .range(min: 1, max: nil), "Remote ListOffsets timeout."),
            d("remote.log.manager.copier.thread.pool.size", .int, "10", atLeast1, "Remote copy threads."),
            d("remote.log.manager.expiration.thread.pool.size", .int, "10", atLeast1, "Remote expiration threads."),
            d("remote.log.manager.follower.thread.pool.size", .int, "2", atLeast1, "Remote follower threads."),
            d("remote.log.reader.threads", .int, "10", atLeast1, "Remote reader threads."),
            d("follower.fetch.last.tiered.offset.enable", .boolean, "false", nil, "Followers start at the last tiered offset."),
            // Coordinators
            d("group.coordinator.cached.buffer.max.bytes", .int, "1048588", .range(min: 524288, max: nil), "Write buffer kept by the group coordinator."),
            d("group.consumer.assignment.interval.ms", .int, "1000", .range(min: 0, max: nil), "Interval between consumer group assignments."),
            d("group.consumer.assignor.offload.enable", .boolean, "true", nil, "Run consumer group assignors on a background thread."),
            d("group.share.assignment.interval.ms", .int, "1000", .range(min: 0, max: nil), "Interval between share group assignments."),
            d("group.share.assignor.offload.enable", .boolean, "true", nil, "Run share group assignors on a background thread."),
            d("group.streams.assignment.interval.ms", .int, "1000", .range(min: 0, max: nil), "Interval between streams group assignments."),
            d("group.streams.assignor.offload.enable", .boolean, "true", nil, "Run streams group assignors on a background thread."),
            d("share.coordinator.cached.buffer.max.bytes", .int, "1048588", .range(min: 524288, max: nil), "Write buffer kept by the share coordinator."),
        ]
    }()

    /// ``storedOnlyDynamic`` by name, without keys ``all`` defines (Samsa's own definition wins).
    static let storedOnlyByName: [String: ConfigDefinition] = Dictionary(
        storedOnlyDynamic.filter { byName[$0.name] == nil }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

    /// Checks a complete set of dynamic configs for BROKER resource `resourceName` ("" = the
    /// cluster default) as Kafka's `DynamicBrokerConfig.validateConfigs` does; returns the
    /// refusal's message (always INVALID_REQUEST in Kafka) or nil.
    public static func validateDynamic(_ configs: [String: String], clusterDefault: Bool) -> String? {
        func set(_ keys: [String]) -> String { "Set(" + keys.sorted().joined(separator: ", ") + ")" }
        let names = Array(configs.keys)
        let nonDynamic = names.filter { byName[$0] != nil && !byName[$0]!.isDynamic && !isKafkaDynamic($0) }
        if !nonDynamic.isEmpty { return ("Cannot update these configs dynamically: \(set(nonDynamic))") }
        let unknown = names.filter { definition($0) == nil && !isKafkaDynamic($0) }
        if !unknown.isEmpty {
            return ("Unknown broker configs (Samsa accepts its own keys and Kafka's dynamic broker configs): \(set(unknown))")
        }
        let unprefixedSecurity = names.filter { dynamicSecurityConfigs.contains($0) }
        if !unprefixedSecurity.isEmpty {
            return ("These security configs can be dynamically updated only per-listener using the listener prefix: \(set(unprefixedSecurity))")
        }
        for (k, v) in configs {
            do { _ = try definition(k)?.parse(v) } catch { return "\(error)" }
        }
        if clusterDefault {
            let perBroker = names.filter { n in
                if let base = listenerOverride(n)?.base { return !clusterLevelListenerConfigs.contains(base) }
                return perBrokerOnlyConfigs.contains(n)
            }
            if !perBroker.isEmpty {
                return ("Cannot update these configs at default cluster level, broker id must be specified: \(set(perBroker))")
            }
        }
        return nil
    }
}
