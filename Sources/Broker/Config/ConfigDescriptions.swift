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
    /// Most specific first: the topic override, then broker keys that supply the default.
    public var synonyms: [Synonym]

    public var isDefault: Bool { source == .defaultConfig }
}

extension BrokerConfig {
    /// Every topic config of a topic with `overrides`, with value, source and synonyms.
    public func describeTopicConfigs(_ overrides: [String: String]) -> [DescribedConfig] {
        TopicConfigKeys.all.map { key in
            let name = key.definition.name
            var synonyms: [DescribedConfig.Synonym] = []
            if let v = overrides[name] { synonyms.append(.init(name: name, value: v, source: .dynamicTopicConfig)) }
            for syn in key.brokerSynonyms {
                if let v = explicitValues[syn] { synonyms.append(.init(name: syn, value: v, source: .staticBrokerConfig)) }
            }
            let def = (try? topicDefault(name)) ?? (key.definition.defaultValue ?? "", .defaultConfig, nil)
            if def.source == .defaultConfig, let kafkaDefault = key.definition.defaultValue {
                synonyms.append(.init(name: key.brokerSynonyms.first ?? name, value: kafkaDefault, source: .defaultConfig))
            }
            let value = overrides[name] ?? def.value
            let source: ConfigSource = overrides[name] != nil ? .dynamicTopicConfig : def.source
            return DescribedConfig(name: name, value: value, source: source, readOnly: false, isSensitive: false,
                                   type: key.definition.type, documentation: key.definition.documentation, synonyms: synonyms)
        }
    }

    /// Every broker config with value and source; `dynamic` holds AlterConfigs overrides
    /// (per-broker first, then the cluster default under resource name "").
    public func describeBrokerConfigs(dynamicPerBroker: [String: String], dynamicDefault: [String: String]) -> [DescribedConfig] {
        BrokerConfigKeys.all.map { def in
            let name = def.name
            var synonyms: [DescribedConfig.Synonym] = []
            if let v = dynamicPerBroker[name] { synonyms.append(.init(name: name, value: v, source: .dynamicBrokerConfig)) }
            if let v = dynamicDefault[name] { synonyms.append(.init(name: name, value: v, source: .dynamicDefaultBrokerConfig)) }
            if let v = explicitValues[name] { synonyms.append(.init(name: name, value: v, source: .staticBrokerConfig)) }
            if let v = def.defaultValue { synonyms.append(.init(name: name, value: v, source: .defaultConfig)) }
            let top = synonyms.first
            return DescribedConfig(name: name, value: top?.value, source: top?.source ?? .defaultConfig,
                                   readOnly: !def.isDynamic, isSensitive: def.type == .password, type: def.type,
                                   documentation: def.documentation, synonyms: synonyms)
        }
    }
}
