/// Kafka's security protocols, with the ids of Kafka's `SecurityProtocol` (used in
/// RegisterBrokerRecord endpoints).
public enum SecurityProtocol: String, Sendable, CaseIterable {
    case plaintext = "PLAINTEXT", ssl = "SSL", saslPlaintext = "SASL_PLAINTEXT", saslSsl = "SASL_SSL"

    public var id: Int16 {
        switch self {
        case .plaintext: 0
        case .ssl: 1
        case .saslPlaintext: 2
        case .saslSsl: 3
        }
    }
}

/// The `ssl.*` settings of one listener, resolved as Kafka's `ListenerName.configPrefix` does:
/// `listener.name.<listener>.<key>` wins over the broker-wide `<key>`.
///
/// Pure data: the files are read and the NIOSSL context built in `ListenerTLS.swift`, at
/// start-up, so that a bad file or key stops the broker with one line naming the key. Each
/// value remembers the key it came from, which is the key an error message names.
public struct SSLListenerSettings: Sendable, Equatable {
    public struct Value: Sendable, Equatable {
        /// The key as the operator wrote it (`ssl.keystore.location` or
        /// `listener.name.internal.ssl.keystore.location`).
        public var key: String
        public var value: String
    }

    public var listener: String
    private var values: [String: Value]

    /// The keys resolved per listener (Kafka's `SslConfigs` server keys that Samsa applies or
    /// accepts).
    public static let keys: [ConfigDefinition] = [
        .init("ssl.keystore.type", .string, default: "JKS", doc: "Keystore format; Samsa reads PEM only (ssl.keystore.type=PEM)."),
        .init("ssl.keystore.location", .string, default: nil,
              doc: "PEM file holding the private key and the certificate chain of the listener."),
        .init("ssl.keystore.password", .password, default: nil, doc: "Accepted for compatibility; a PEM key's password is ssl.key.password."),
        .init("ssl.keystore.certificate.chain", .password, default: nil, doc: "Inline PEM certificate chain (KIP-651)."),
        .init("ssl.keystore.key", .password, default: nil, doc: "Inline PEM private key (KIP-651)."),
        .init("ssl.key.password", .password, default: nil, doc: "Password of an encrypted PEM private key."),
        .init("ssl.truststore.type", .string, default: "JKS", doc: "Truststore format; Samsa reads PEM only (ssl.truststore.type=PEM)."),
        .init("ssl.truststore.location", .string, default: nil, doc: "PEM file of CA certificates that client certificates are verified against."),
        .init("ssl.truststore.password", .password, default: nil, doc: "Accepted for compatibility (PEM truststores have no password)."),
        .init("ssl.truststore.certificates", .password, default: nil, doc: "Inline PEM CA certificates (KIP-651)."),
        .init("ssl.client.auth", .string, default: "none", .oneOf(["required", "requested", "none"]),
              doc: "Client certificates: none, requested (verified when presented) or required."),
        .init("ssl.enabled.protocols", .list, default: "TLSv1.2,TLSv1.3", .nonEmpty, doc: "TLS versions accepted: TLSv1.2, TLSv1.3."),
        .init("ssl.protocol", .string, default: "TLSv1.3", doc: "Accepted for compatibility; ssl.enabled.protocols decides."),
        .init("ssl.cipher.suites", .list, default: "", doc: "TLS 1.2 cipher suites by IANA name (TLS 1.3 suites are always enabled); empty: BoringSSL's defaults."),
        .init("ssl.endpoint.identification.algorithm", .string, default: "https", doc: "Host name verification when this node connects to the listener (inter-broker and controller connections): https (default) checks the certificate names the host dialled; empty skips it."),
        .init("ssl.principal.mapping.rules", .string, default: "DEFAULT",
              doc: "How an SSL listener names a client by its certificate (KIP-371): comma-separated RULE:pattern/replacement/[LU] and DEFAULT (the subject's distinguished name, CN=...,OU=...), first match wins; the principal is User:<name>."),
    ]

    public static let byName: [String: ConfigDefinition] = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })

    /// Resolves every key of ``keys`` for `listener` from validated `raw` values (key as
    /// written -> value).
    init(listener: String, raw: [String: String]) {
        self.listener = listener
        var out: [String: Value] = [:]
        let prefix = "listener.name.\(listener.lowercased())."
        for def in Self.keys {
            if let (k, v) = raw.first(where: { $0.key.lowercased() == prefix + def.name }) {
                out[def.name] = Value(key: k, value: v)
            } else if let v = raw[def.name] {
                out[def.name] = Value(key: def.name, value: v)
            } else if let d = def.defaultValue {
                out[def.name] = Value(key: def.name, value: d)
            }
        }
        values = out
    }

    /// The effective value of `key` (nil when unset and without default, or empty).
    public func value(_ key: String) -> Value? {
        guard let v = values[key], !v.value.isEmpty else { return nil }
        return v
    }

    /// The effective value of `key` even when empty (nil only when unset and without default).
    public func setting(_ key: String) -> Value? { values[key] }

    /// The effective list value of `key`, split on commas.
    public func list(_ key: String) -> (key: String, items: [String]) {
        let v = values[key] ?? Value(key: key, value: "")
        return (v.key, v.value.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty })
    }
}
