import Foundation
import KafkaClient

/// The client-side TLS of the connections this node OPENS to other nodes over an SSL
/// listener, rebuilt when its files change, as the listeners' ``ListenerTLSContext`` is:
///
/// * the Raft transport between controllers and each broker's ``ControllerChannel`` (one
///   holder: both connect to the controller listener with its `ssl.*` settings,
///   ``BrokerConfig/controllerClientSecurity``);
/// * the follower fetchers' connections to partition leaders over an SSL / SASL_SSL
///   inter-broker listener (``ReplicaFetchSettings/clientSecurity``).
///
/// Why: an operator renews certificates in place (a new CA, or a node certificate near
/// expiry). The listeners pick the new files up, but a client configuration built once at
/// start-up keeps presenting the old client certificate and trusting only the old CA, so once
/// the old certificate expires or the peers stop trusting the old CA, the quorum and
/// replication break until a restart. Kafka reconfigures its inter-broker and controller
/// clients' `SslFactory` for the same reason.
///
/// Each connection maker asks ``current`` when it opens a NEW connection; established
/// connections keep the session they negotiated. A change that does not build (a half-written
/// PEM, a key that does not match its certificate) keeps the previous configuration and is
/// reported once (``ReloadableTLSValue``, the listeners' change detection). Checked every
/// 5 s with the listeners (``KafkaBroker/watchTLSFiles(_:clients:logger:)``).
public final class ClientTLSContext: Sendable {
    /// What connects with it, for the reload log line ("the controller connections ...").
    public let what: String
    private let value: ReloadableTLSValue<TLSConfig>

    /// The holder for client `properties` (`security.protocol`, `ssl.*`), or nil when they ask
    /// for no TLS (PLAINTEXT, SASL_PLAINTEXT). Throws the client parser's error when the files
    /// cannot be used now (start-up checked them already, so this is a file changed since).
    public static func make(properties: [String: String], what: String) throws -> ClientTLSContext? {
        let proto = properties["security.protocol"]?.uppercased() ?? "PLAINTEXT"
        guard proto == "SSL" || proto == "SASL_SSL" else { return nil }
        return try ClientTLSContext(properties: properties, what: what)
    }

    private init(properties: [String: String], what: String) throws {
        self.what = what
        let files = Self.watchedFiles(properties)
        let before = ReloadableTLSValue<TLSConfig>.read(files)
        let build: @Sendable () throws -> TLSConfig = { try Self.build(properties) }
        value = ReloadableTLSValue(value: try build(), files: files, seen: before, rebuild: build)
    }

    /// The trust store, certificate and key files of client `properties` (the key store is
    /// usually one file named twice: read once).
    static func watchedFiles(_ properties: [String: String]) -> [String] {
        var out: [String] = []
        for key in ["ssl.ca.location", "ssl.certificate.location", "ssl.key.location"] {
            if let path = properties[key]?.trimmingCharacters(in: .whitespaces), !path.isEmpty, !out.contains(path) { out.append(path) }
        }
        return out
    }

    /// The client library's own parser builds it (same checks and errors as at start-up).
    private static func build(_ properties: [String: String]) throws -> TLSConfig {
        // bootstrap.servers is required by the parser and unused here.
        let config = try ClientConfig(properties: ClientProperties(properties.merging(["bootstrap.servers": "127.0.0.1:1"]) { a, _ in a }))
        guard let tls = config.tls else {
            throw KafkaClientError.invalidConfiguration(key: "security.protocol", value: properties["security.protocol"] ?? "",
                                                        reason: "asks for no TLS")
        }
        return tls
    }

    /// The configuration a new connection uses now.
    public var current: TLSConfig { value.current }

    /// Successful reloads so far (tests).
    var generation: Int { value.generation }

    /// `config` with the current TLS, for a new connection.
    public func applied(to config: ClientConfig) -> ClientConfig {
        var config = config
        config.tls = current
        return config
    }

    /// Reads the watched files; if they differ from what the current configuration was built
    /// from, builds a new one and, if that works, swaps it in.
    public func reloadIfChanged() -> TLSReload { value.reloadIfChanged() }
}
