/// One described config entry, the shape DescribeConfigs and CreateTopics (v5+) report.
public struct DescribedConfig: Equatable, Sendable {
    public struct Synonym: Equatable, Sendable {
        public var name: String
        public var value: String?
        public var source: ConfigSource
    }

    public var name: String
    public var value: String?
    public var source: ConfigSource
    public var readOnly: Bool
    public var isSensitive: Bool
    public var type: ConfigType
    public var documentation: String
    /// Most specific first, in Kafka's order (see ``BrokerConfig/describeTopicConfigs(_:dynamic:)``).
    public var synonyms: [Synonym]

    public var isDefault: Bool { source == .defaultConfig }
}

/// Dynamic broker configs, set by AlterConfigs/IncrementalAlterConfigs on BROKER resources and
/// kept in the metadata image (so they survive restarts): this broker's own (resource name =
/// node id) and the cluster default (resource name ""). They sit above server.properties, as
/// in Kafka: per-broker, then cluster default, then static, then Kafka's default.
public struct DynamicBrokerConfigs: Equatable, Sendable {
    public var perBroker: [String: String]
    public var clusterDefault: [String: String]

    public init(perBroker: [String: String] = [:], clusterDefault: [String: String] = [:]) {
        self.perBroker = perBroker
        self.clusterDefault = clusterDefault
    }

    /// No dynamic configs: server.properties and defaults only.
    public static let none = DynamicBrokerConfigs()

    /// The dynamic value of broker key `key`, most specific layer first.
    public func value(_ key: String) -> (value: String, source: ConfigSource)? {
        if let v = perBroker[key] { return (v, .dynamicBrokerConfig) }
        if let v = clusterDefault[key] { return (v, .dynamicDefaultBrokerConfig) }
        return nil
    }
}

extension MetadataImage {
    /// The dynamic broker configs that apply to broker `nodeId`.
    public func dynamicBrokerConfigs(nodeId: Int32) -> DynamicBrokerConfigs {
        DynamicBrokerConfigs(perBroker: brokerConfigs[String(nodeId)] ?? [:], clusterDefault: brokerConfigs[""] ?? [:])
    }
}

extension BrokerConfig {
    /// Every source layer of broker keys, in Kafka's synonym order (`ConfigHelper.configSynonyms`):
    /// dynamic per-broker, dynamic cluster default, server.properties, Kafka's defaults.
    private func layers(_ dynamic: DynamicBrokerConfigs) -> [(values: [String: String], source: ConfigSource)] {
        [(dynamic.perBroker, .dynamicBrokerConfig), (dynamic.clusterDefault, .dynamicDefaultBrokerConfig),
         (explicitValues, .staticBrokerConfig), (BrokerConfigKeys.staticDefaults, .defaultConfig)]
    }

    /// Kafka's synonym list for broker keys `names` (one logical setting, most specific key
    /// first) described as `primary`: source-major, then key order, starting at the first
    /// entry for `primary`. Kafka drops the leading entries of other keys, so `retention.ms`
    /// with only `log.retention.hours` set reports no synonyms (its value still honours the
    /// hours), and `log.retention.hours` does not list a dynamic `log.retention.ms`.
    private func synonyms(_ names: [String], primary: String?, _ dynamic: DynamicBrokerConfigs) -> [DescribedConfig.Synonym] {
        var out: [DescribedConfig.Synonym] = []
        for layer in layers(dynamic) {
            for n in names { if let v = layer.values[n] { out.append(.init(name: n, value: v, source: layer.source)) } }
        }
        guard let primary else { return out }
        return Array(out.drop { $0.name != primary })
    }

    /// Every topic config of a topic with `overrides`, with value, source and synonyms, as
    /// Kafka's `createTopicConfigEntry` reports them: the topic override (DYNAMIC_TOPIC_CONFIG),
    /// then the broker keys that supply the default, where DEFAULT_CONFIG entries name the
    /// broker key with its own default (`log.segment.bytes=1073741824`). The source is that of
    /// the first synonym, DEFAULT_CONFIG when there is none.
    public func describeTopicConfigs(_ overrides: [String: String], dynamic: DynamicBrokerConfigs = .none) -> [DescribedConfig] {
        TopicConfigKeys.all.map { key in
            let name = key.definition.name
            var all: [DescribedConfig.Synonym] = []
            if let v = overrides[name] { all.append(.init(name: name, value: v, source: .dynamicTopicConfig)) }
            all += synonyms(key.brokerSynonyms, primary: key.brokerSynonyms.first, dynamic)
            let value = overrides[name] ?? (try? topicDefault(name, dynamic: dynamic).value) ?? key.definition.defaultValue
            return DescribedConfig(name: name, value: value, source: all.first?.source ?? .defaultConfig, readOnly: false,
                                   isSensitive: false, type: key.definition.type,
                                   documentation: key.definition.documentation, synonyms: all)
        }
    }

    /// The broker configs DescribeConfigs reports for a BROKER resource, as Kafka does: for
    /// this broker's id every key Samsa knows, with the value from the most specific layer;
    /// for the cluster default (`clusterDefault`, resource name "") only the keys that have a
    /// dynamic cluster default, with only DYNAMIC_DEFAULT_BROKER_CONFIG synonyms. Keys
    /// AlterConfigs cannot change are read-only. Kafka's dynamic keys Samsa only stores
    /// (``BrokerConfigKeys/storedOnlyDynamic``, and listener overrides once set) are listed
    /// too, their documentation saying they have no effect here; so is a key Samsa reads only
    /// at start-up that was set dynamically.
    public func describeBrokerConfigs(dynamic: DynamicBrokerConfigs, clusterDefault: Bool) -> [DescribedConfig] {
        var all = BrokerConfigKeys.all + BrokerConfigKeys.storedOnlyDynamic.filter { BrokerConfigKeys.byName[$0.name] == nil }
        let stored = Set(dynamic.perBroker.keys).union(dynamic.clusterDefault.keys)
        for name in stored.sorted() {
            guard let (listener, base) = BrokerConfigKeys.listenerOverride(name) else { continue }
            let baseDef = BrokerConfigKeys.definition(base)
            all.append(ConfigDefinition(name, baseDef?.type ?? .string, default: nil, dynamic: true,
                                        doc: "\(base) for listener \(listener). " + BrokerConfigKeys.storedOnlyNote))
        }
        let defs = clusterDefault ? all.filter { dynamic.clusterDefault[$0.name] != nil } : all
        return defs.map { def in
            let name = def.name
            var syns = synonyms(BrokerConfigKeys.synonymGroup(name), primary: name, dynamic)
            let value: String?
            if clusterDefault {
                syns = syns.filter { $0.source == .dynamicDefaultBrokerConfig }
                value = dynamic.clusterDefault[name]
            } else {
                value = dynamic.value(name)?.value ?? explicitValues[name] ?? def.defaultValue
            }
            var doc = def.documentation
            if !def.isDynamic, BrokerConfigKeys.isKafkaDynamic(name), dynamic.value(name) != nil {
                doc += " Samsa reads this key only from server.properties at start-up: the dynamic value is stored and reported, but has no effect."
            }
            return DescribedConfig(name: name, value: value, source: syns.first?.source ?? .defaultConfig,
                                   readOnly: !def.isDynamic && !BrokerConfigKeys.isKafkaDynamic(name),
                                   isSensitive: def.type == .password, type: def.type,
                                   documentation: doc, synonyms: syns)
        }
    }
}
