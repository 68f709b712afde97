/// A broker's host and port as written in `bootstrap.servers` or returned by Metadata.
public struct BrokerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[ipv6]:port`, or a bare host (port 9092, Kafka's default).
    /// A `PLAINTEXT://` style listener prefix is accepted and ignored.
    public init(parsing text: String) throws {
        var s = text.trimmingCharacters(in: .whitespaces)
        if let range = s.range(of: "://") { s = String(s[range.upperBound...]) }
        guard !s.isEmpty else {
            throw KafkaClientError.invalidConfiguration(key: "bootstrap.servers", value: text, reason: "empty address")
        }
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else {
                throw KafkaClientError.invalidConfiguration(key: "bootstrap.servers", value: text, reason: "unclosed '['")
            }
            host = String(s[s.index(after: s.startIndex)..<close])
            let rest = s[s.index(after: close)...]
            port = rest.isEmpty ? 9092 : try Self.parsePort(String(rest.dropFirst()), text: text)
        } else if let colon = s.lastIndex(of: ":") {
            host = String(s[..<colon])
            port = try Self.parsePort(String(s[s.index(after: colon)...]), text: text)
        } else {
            host = s
            port = 9092
        }
        guard !host.isEmpty else {
            throw KafkaClientError.invalidConfiguration(key: "bootstrap.servers", value: text, reason: "missing host")
        }
    }

    private static func parsePort(_ s: String, text: String) throws -> Int {
        guard let port = Int(s), (1...65535).contains(port) else {
            throw KafkaClientError.invalidConfiguration(key: "bootstrap.servers", value: text, reason: "port must be 1-65535")
        }
        return port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `security.protocol`.
public enum SecurityProtocol: String, Sendable {
    case plaintext = "PLAINTEXT"
    case ssl = "SSL"
    case saslPlaintext = "SASL_PLAINTEXT"
    case saslSSL = "SASL_SSL"
}

/// Settings shared by every client role (connections, metadata, retries).
///
/// Built from Kafka's property names; every key read is validated and a bad value throws
/// ``KafkaClientError/invalidConfiguration(key:value:reason:)`` naming the key.
public struct ClientConfig: Sendable {
    /// `bootstrap.servers`: where to fetch the first metadata from.
    public var bootstrapServers: [BrokerAddress]
    /// `client.id`: sent in every request header; brokers log and quota by it.
    public var clientId: String
    /// `request.timeout.ms` (default 30000): how long to wait for any one response.
    public var requestTimeout: Duration
    /// `socket.connection.setup.timeout.ms` (default 10000).
    public var connectTimeout: Duration
    /// `reconnect.backoff.ms` (default 50) and `reconnect.backoff.max.ms` (default 1000):
    /// exponential backoff between connection attempts to the same broker.
    public var reconnectBackoff: Duration
    public var reconnectBackoffMax: Duration
    /// `retry.backoff.ms` (default 100): pause before retrying a failed request.
    public var retryBackoff: Duration
    /// `max.in.flight.requests.per.connection` (default 5): requests pipelined per connection.
    public var maxInFlight: Int
    /// `metadata.max.age.ms` (default 300000): refresh metadata at least this often.
    public var metadataMaxAge: Duration
    /// `security.protocol` (default PLAINTEXT).
    public var securityProtocol: SecurityProtocol
    /// Every property this config was built from, for the role-specific configs.
    public var properties: ClientProperties

    public init(properties: ClientProperties) throws {
        self.properties = properties
        let servers = properties.list("bootstrap.servers", default: [])
        guard !servers.isEmpty else {
            throw KafkaClientError.invalidConfiguration(key: "bootstrap.servers", value: "", reason: "at least one host:port is required")
        }
        bootstrapServers = try servers.map(BrokerAddress.init(parsing:))
        clientId = properties.string("client.id", default: "samsa")
        requestTimeout = try properties.milliseconds("request.timeout.ms", default: 30000)
        connectTimeout = try properties.milliseconds("socket.connection.setup.timeout.ms", default: 10000)
        reconnectBackoff = try properties.milliseconds("reconnect.backoff.ms", default: 50)
        reconnectBackoffMax = try properties.milliseconds("reconnect.backoff.max.ms", default: 1000)
        retryBackoff = try properties.milliseconds("retry.backoff.ms", default: 100)
        maxInFlight = try properties.int("max.in.flight.requests.per.connection", default: 5, range: 1...1000)
        metadataMaxAge = try properties.milliseconds("metadata.max.age.ms", default: 300000)
        let proto = properties.string("security.protocol", default: "PLAINTEXT").uppercased()
        guard let security = SecurityProtocol(rawValue: proto) else {
            throw KafkaClientError.invalidConfiguration(
                key: "security.protocol", value: proto, reason: "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        }
        securityProtocol = security
        switch security {
        case .plaintext:
            sasl = nil; tls = nil
        case .saslPlaintext:
            sasl = try SASLConfig(properties: properties); tls = nil
        case .ssl:
            sasl = nil; tls = try TLSConfig(properties: properties)
        case .saslSSL:
            sasl = try SASLConfig(properties: properties); tls = try TLSConfig(properties: properties)
        }
    }

    /// SASL settings when `security.protocol` is SASL_PLAINTEXT or SASL_SSL.
    public var sasl: SASLConfig?
    /// TLS settings (`ssl.*`) when `security.protocol` is SSL or SASL_SSL.
    public var tls: TLSConfig?

    /// Convenience for code and tests: just the bootstrap servers, everything else default.
    public init(bootstrapServers: String, clientId: String = "samsa") throws {
        try self.init(properties: ["bootstrap.servers": bootstrapServers, "client.id": clientId])
    }
}

/// `sasl.mechanism` with librdkafka's `sasl.username` / `sasl.password`, or Java's
/// `sasl.jaas.config` (`... username="u" password="p";`).
public struct SASLConfig: Sendable {
    public enum Mechanism: String, Sendable {
        case plain = "PLAIN"
        case scramSHA256 = "SCRAM-SHA-256"
        case scramSHA512 = "SCRAM-SHA-512"
    }

    public var mechanism: Mechanism
    public var username: String
    public var password: String

    public init(mechanism: Mechanism, username: String, password: String) {
        self.mechanism = mechanism
        self.username = username
        self.password = password
    }

    init(properties: ClientProperties) throws {
        let raw = properties.string("sasl.mechanism", default: "PLAIN").uppercased()
        guard let mechanism = Mechanism(rawValue: raw) else {
            throw KafkaClientError.invalidConfiguration(key: "sasl.mechanism", value: raw, reason: "expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
        }
        self.mechanism = mechanism
        var username = properties["sasl.username"]
        var password = properties["sasl.password"]
        if let jaas = properties["sasl.jaas.config"] {
            username = username ?? Self.jaasValue("username", in: jaas)
            password = password ?? Self.jaasValue("password", in: jaas)
        }
        guard let username, let password else {
            throw KafkaClientError.invalidConfiguration(key: "sasl.username", value: "", reason: "SASL needs sasl.username and sasl.password (or sasl.jaas.config)")
        }
        self.username = username
        self.password = password
    }

    /// `key="value"` inside a JAAS line (backslash escapes the quote).
    static func jaasValue(_ key: String, in jaas: String) -> String? {
        guard let range = jaas.range(of: "\(key)=\"") else { return nil }
        var value = ""
        var escaped = false
        for c in jaas[range.upperBound...] {
            if escaped { value.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "\"" { return value }
            value.append(c)
        }
        return nil
    }
}
