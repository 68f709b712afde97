/// The type of a config key, with the codes DescribeConfigs v3+ reports (`ConfigType` in
/// Kafka's `DescribeConfigsResponse`).
public enum ConfigType: Int8, Sendable {
    case boolean = 1, string = 2, int = 3, short = 4, long = 5, double = 6, list = 7, `class` = 8, password = 9
}

/// Where a config value comes from, with DescribeConfigs' `ConfigSource` codes.
public enum ConfigSource: Int8, Sendable {
    case unknown = 0
    case dynamicTopicConfig = 1
    case dynamicBrokerConfig = 2
    case dynamicDefaultBrokerConfig = 3
    case staticBrokerConfig = 4
    case defaultConfig = 5
}

/// Why a configuration was rejected. Start-up stops with one of these; admin requests map it
/// to INVALID_CONFIG. The message always names the key.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidValue(key: String, value: String, reason: String)
    case unknownKey(String)
    case unsupported(key: String, reason: String)
    case readOnly(String)
    case unreadableFile(path: String, reason: String)
    case malformedOverride(String)
    /// A combination of keys that cannot work (Kafka's `validateValues`), naming the key to fix.
    case invalidConfiguration(key: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidValue(key, value, reason): "Invalid value \"\(value)\" for configuration \(key): \(reason)"
        case let .unknownKey(key): "Unknown configuration \(key)"
        case let .unsupported(key, reason): "Unsupported configuration \(key): \(reason)"
        case let .readOnly(key): "Cannot update configuration \(key) dynamically"
        case let .unreadableFile(path, reason): "Cannot read config file \(path): \(reason)"
        case let .malformedOverride(text): "Override \"\(text)\" is not of the form key=value"
        case let .invalidConfiguration(key, reason): "\(key): \(reason)"
        }
    }
}

/// A parsed, validated config value.
public enum ConfigValue: Sendable, Equatable {
    case bool(Bool)
    case string(String)
    case int(Int64)
    case double(Double)
    case list([String])
    case null
}

/// One config key: name, type, default and validation, as in Kafka's `ConfigDef`.
///
/// Definitions are immutable values in static tables (``BrokerConfigKeys``,
/// ``TopicConfigKeys``) so DescribeConfigs, AlterConfigs and start-up share one source of truth.
public struct ConfigDefinition: Sendable {
    public enum Validator: Sendable {
        case range(min: Int64?, max: Int64?)
        case doubleRange(min: Double, max: Double)
        case oneOf([String])
        /// Every element of a list must be one of these.
        case listOf([String])
        case nonEmpty
    }

    public let name: String
    public let type: ConfigType
    /// Kafka's default, as text; nil means the key defaults to null.
    public let defaultValue: String?
    public let validator: Validator?
    /// Whether AlterConfigs may change it at run time (topic configs are all dynamic).
    public let isDynamic: Bool
    public let documentation: String

    public init(_ name: String, _ type: ConfigType, default defaultValue: String?, _ validator: Validator? = nil,
                dynamic: Bool = false, doc: String) {
        self.name = name; self.type = type; self.defaultValue = defaultValue
        self.validator = validator; self.isDynamic = dynamic; self.documentation = doc
    }

    /// Parses and validates `raw` (already trimmed of surrounding whitespace).
    public func parse(_ raw: String) throws(ConfigError) -> ConfigValue {
        let text = raw.trimmingWhitespace()
        func invalid(_ reason: String) -> ConfigError { .invalidValue(key: name, value: raw, reason: reason) }
        let value: ConfigValue
        switch type {
        case .boolean:
            switch text.lowercased() {
            case "true": value = .bool(true)
            case "false": value = .bool(false)
            default: throw invalid("expected true or false")
            }
        case .int, .short, .long:
            guard let n = Int64(text) else { throw invalid("expected an integer") }
            let bounds: ClosedRange<Int64> = switch type {
            case .short: Int64(Int16.min)...Int64(Int16.max)
            case .int: Int64(Int32.min)...Int64(Int32.max)
            default: Int64.min...Int64.max
            }
            guard bounds.contains(n) else { throw invalid("out of range for a \(type)") }
            value = .int(n)
        case .double:
            guard let d = Double(text), d.isFinite else { throw invalid("expected a number") }
            value = .double(d)
        case .list:
            let items = text.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
            value = .list(items)
        case .string, .password, .class:
            value = .string(text)
        }
        switch (validator, value) {
        case let (.range(lo, hi)?, .int(n)):
            if let lo, n < lo { throw invalid("value must be at least \(lo)") }
            if let hi, n > hi { throw invalid("value must be no more than \(hi)") }
        case let (.doubleRange(lo, hi)?, .double(d)):
            guard d >= lo, d <= hi else { throw invalid("value must be between \(lo) and \(hi)") }
        case let (.oneOf(allowed)?, .string(s)):
            guard allowed.contains(s.lowercased()) || allowed.contains(s) else {
                throw invalid("must be one of \(allowed.joined(separator: ", "))")
            }
        case let (.listOf(allowed)?, .list(items)):
            for item in items where !allowed.contains(item.lowercased()) {
                throw invalid("\"\(item)\" is not one of \(allowed.joined(separator: ", "))")
            }
        case (.nonEmpty?, .string(let s)):
            guard !s.isEmpty else { throw invalid("must not be empty") }
        case (.nonEmpty?, .list(let items)):
            guard !items.isEmpty else { throw invalid("must not be empty") }
        default:
            break
        }
        return value
    }
}

extension String {
    /// Drops leading and trailing spaces, tabs and line breaks (Foundation-free).
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0C}" }
        var s = Substring(self)
        while let f = s.first, isSpace(f) { s = s.dropFirst() }
        while let l = s.last, isSpace(l) { s = s.dropLast() }
        return String(s)
    }
}
