/// The SASL mechanisms Samsa's broker implements (Kafka also has GSSAPI and OAUTHBEARER).
public enum SaslMechanism: String, Sendable, CaseIterable {
    case plain = "PLAIN"
    case scramSha256 = "SCRAM-SHA-256"
    case scramSha512 = "SCRAM-SHA-512"

    public var scram: ScramMechanism? {
        switch self {
        case .plain: nil
        case .scramSha256: .sha256
        case .scramSha512: .sha512
        }
    }

    public static let supportedNames = allCases.map(\.rawValue).joined(separator: ", ")
}

/// One login module of a `sasl.jaas.config` value, parsed as Kafka's `JaasConfig` does
/// (`<LoginModuleClass> <ControlFlag> (<option>=<value>)* ;`, values bare or double-quoted).
///
/// Its options hold passwords (`password`, `user_<name>`): it has no `description` that
/// prints them, and parse errors never quote the text.
public struct JaasLoginModule: Sendable, Equatable {
    public static let plainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
    public static let scramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"

    public var loginModule: String
    public var controlFlag: String
    public var options: [String: String]

    /// PLAIN's users (Kafka's `PlainServerCallbackHandler`: the `user_<name>` options).
    public var plainUsers: [String: String] {
        var out: [String: String] = [:]
        for (k, v) in options where k.hasPrefix("user_") && k.count > 5 { out[String(k.dropFirst(5))] = v }
        return out
    }

    /// Parses `text`; a problem is one line without the value (it may hold passwords).
    /// Kafka's rule: a `sasl.jaas.config` value holds exactly one login module.
    public static func parse(_ text: String) throws(JaasParseError) -> JaasLoginModule {
        var tokens: [Token] = []
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c.isWhitespace { i = text.index(after: i); continue }
            if c == ";" || c == "=" {
                tokens.append(c == ";" ? .semicolon : .equals)
                i = text.index(after: i)
            } else if c == "\"" {
                var value = ""
                var j = text.index(after: i)
                var closed = false
                while j < text.endIndex {
                    let d = text[j]
                    if d == "\\", text.index(after: j) < text.endIndex {
                        value.append(text[text.index(after: j)])
                        j = text.index(j, offsetBy: 2)
                        continue
                    }
                    if d == "\"" { closed = true; j = text.index(after: j); break }
                    value.append(d)
                    j = text.index(after: j)
                }
                guard closed else { throw JaasParseError("unterminated quoted value") }
                tokens.append(.word(value, quoted: true))
                i = j
            } else {
                var j = i
                while j < text.endIndex, !text[j].isWhitespace, text[j] != "=", text[j] != ";", text[j] != "\"" {
                    j = text.index(after: j)
                }
                tokens.append(.word(String(text[i..<j]), quoted: false))
                i = j
            }
        }
        var modules: [JaasLoginModule] = []
        var k = 0
        while k < tokens.count {
            guard case .word(let cls, false) = tokens[k] else { throw JaasParseError("expected a login module class name") }
            guard k + 1 < tokens.count, case .word(let flag, false) = tokens[k + 1] else {
                throw JaasParseError("login module \(cls) has no control flag (required, requisite, sufficient or optional)")
            }
            guard ["required", "requisite", "sufficient", "optional"].contains(flag.lowercased()) else {
                throw JaasParseError("invalid control flag \(flag) (expected required, requisite, sufficient or optional)")
            }
            k += 2
            var options: [String: String] = [:]
            while k < tokens.count, tokens[k] != .semicolon {
                guard case .word(let name, false) = tokens[k], k + 2 < tokens.count, tokens[k + 1] == .equals,
                      case .word(let value, _) = tokens[k + 2] else {
                    throw JaasParseError("malformed option in login module \(cls) (expected name=value)")
                }
                options[name] = value
                k += 3
            }
            guard k < tokens.count, tokens[k] == .semicolon else {
                throw JaasParseError("login module \(cls) does not end with ';'")
            }
            k += 1
            modules.append(JaasLoginModule(loginModule: cls, controlFlag: flag.lowercased(), options: options))
        }
        guard modules.count == 1 else {
            throw JaasParseError("JAAS config property contains \(modules.count) login modules, should be 1 module")
        }
        return modules[0]
    }

    private enum Token: Equatable {
        case word(String, quoted: Bool)
        case equals
        case semicolon
    }
}

public struct JaasParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The SASL settings of one SASL_PLAINTEXT or SASL_SSL listener, resolved as Kafka resolves
/// them: `listener.name.<listener>.<mechanism>.<key>` (jaas config, re-authentication) and
/// `listener.name.<listener>.<key>` win over the broker-wide `<key>`.
///
/// Built at start-up (``BrokerConfig/saslSettings(listener:)``); every problem is one line
/// naming the key to fix and never quoting a JAAS value.
public struct SaslListenerSettings: Sendable, Equatable {
    public var listener: String
    /// In the operator's order (the order SaslHandshake's answer lists them).
    public var enabledMechanisms: [SaslMechanism]
    /// PLAIN's users and passwords (from the PLAIN JAAS config), empty without PLAIN.
    public var plainUsers: [String: String]
    /// `connections.max.reauth.ms` per mechanism (0: re-authentication is not required).
    public var maxReauthMs: [SaslMechanism: Int64]
    /// `connection.failed.authentication.delay.ms`: the failure response and the close wait this long.
    public var failedAuthenticationDelayMs: Int64
    /// `sasl.server.max.receive.size`: the largest frame accepted before authentication completes.
    public var maxReceiveSize: Int

    public init(listener: String, enabledMechanisms: [SaslMechanism], plainUsers: [String: String] = [:],
                maxReauthMs: [SaslMechanism: Int64] = [:], failedAuthenticationDelayMs: Int64 = 100,
                maxReceiveSize: Int = 524_288) {
        self.listener = listener; self.enabledMechanisms = enabledMechanisms; self.plainUsers = plainUsers
        self.maxReauthMs = maxReauthMs; self.failedAuthenticationDelayMs = failedAuthenticationDelayMs
        self.maxReceiveSize = maxReceiveSize
    }

    /// The keys read per listener (Kafka's `BrokerSecurityConfigs` / `SaslConfigs` server keys).
    /// `sasl.jaas.config` is a password: DescribeConfigs never shows it.
    public static let keys: [ConfigDefinition] = [
        .init("sasl.enabled.mechanisms", .list, default: "GSSAPI",
              doc: "SASL mechanisms enabled on SASL listeners; Samsa implements PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512."),
        .init("sasl.jaas.config", .password, default: nil,
              doc: "JAAS login module, usually per listener and mechanism (listener.name.<l>.plain.sasl.jaas.config); PLAIN's users are its user_<name>=\"<password>\" options."),
        .init("sasl.mechanism.inter.broker.protocol", .string, default: "GSSAPI",
              doc: "SASL mechanism brokers use with each other when the inter-broker listener is a SASL listener."),
        .init("connections.max.reauth.ms", .long, default: "0", .range(min: 0, max: nil),
              doc: "Session lifetime of an authenticated SASL connection (0: unlimited, re-authentication refused); told to clients in SaslAuthenticate v1+."),
        .init("connection.failed.authentication.delay.ms", .int, default: "100", .range(min: 0, max: nil),
              doc: "Delay before the response to a failed authentication is sent and the connection is closed."),
        .init("sasl.server.max.receive.size", .int, default: "524288", .range(min: 1, max: nil),
              doc: "Largest request frame accepted before SASL authentication completes; a larger one closes the connection."),
        .init("sasl.server.callback.handler.class", .class, default: nil, doc: "Accepted for compatibility; Samsa's callbacks are built in."),
        .init("sasl.login.class", .class, default: nil, doc: "Accepted for compatibility."),
        .init("sasl.login.callback.handler.class", .class, default: nil, doc: "Accepted for compatibility."),
    ]

    public static let byName: [String: ConfigDefinition] = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })

    /// Resolves `listener`'s settings from the operator's `raw` values (key as written -> value).
    public static func resolve(listener: String, raw: [String: String]) throws(ConfigError) -> SaslListenerSettings {
        let l = listener.lowercased()
        func lookup(_ key: String, mechanism: SaslMechanism? = nil) -> (key: String, value: String)? {
            var candidates: [String] = []
            if let mechanism { candidates.append("listener.name.\(l).\(mechanism.rawValue.lowercased()).\(key)") }
            candidates.append("listener.name.\(l).\(key)")
            for c in candidates {
                if let hit = raw.first(where: { $0.key.lowercased() == c }) { return (hit.key, hit.value) }
            }
            if let v = raw[key] { return (key, v) }
            return nil
        }
        let mechKey = lookup("sasl.enabled.mechanisms")
        let names = (mechKey?.value ?? "GSSAPI").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        let mechKeyName = mechKey?.key ?? "sasl.enabled.mechanisms"
        var mechanisms: [SaslMechanism] = []
        for name in names {
            guard let m = SaslMechanism(rawValue: name.uppercased()) else {
                throw .unsupported(key: mechKeyName,
                                   reason: "SASL listener \(listener) enables \(name), which Samsa does not implement (supported: \(SaslMechanism.supportedNames))")
            }
            if !mechanisms.contains(m) { mechanisms.append(m) }
        }
        guard !mechanisms.isEmpty else {
            throw .invalidConfiguration(key: mechKeyName,
                                        reason: "SASL listener \(listener) has no SASL mechanism enabled (supported: \(SaslMechanism.supportedNames))")
        }
        var plainUsers: [String: String] = [:]
        var reauth: [SaslMechanism: Int64] = [:]
        for m in mechanisms {
            if let (key, text) = lookup("sasl.jaas.config", mechanism: m) {
                let module: JaasLoginModule
                do throws(JaasParseError) {
                    module = try JaasLoginModule.parse(text)
                } catch {
                    throw .invalidConfiguration(key: key, reason: "invalid JAAS configuration: \(error.reason)")
                }
                let expected = m == .plain ? JaasLoginModule.plainLoginModule : JaasLoginModule.scramLoginModule
                guard module.loginModule == expected else {
                    throw .invalidConfiguration(key: key, reason: "\(m.rawValue) on listener \(listener) needs \(expected), not \(module.loginModule)")
                }
                if m == .plain { plainUsers = module.plainUsers }
            }
            if m == .plain, plainUsers.isEmpty {
                throw .invalidConfiguration(key: "listener.name.\(l).plain.sasl.jaas.config",
                    reason: "PLAIN is enabled on listener \(listener) but no user is configured (\(JaasLoginModule.plainLoginModule) required user_<name>=\"<password>\";)")
            }
            if let (key, text) = lookup("connections.max.reauth.ms", mechanism: m) {
                guard let n = Int64(text.trimmingWhitespace()), n >= 0 else {
                    throw .invalidValue(key: key, value: text, reason: "expected a non-negative integer")
                }
                reauth[m] = n
            } else {
                reauth[m] = 0
            }
        }
        var delay: Int64 = 100
        if let text = raw["connection.failed.authentication.delay.ms"] {
            guard let n = Int64(text.trimmingWhitespace()), n >= 0, n <= Int64(Int32.max) else {
                throw .invalidValue(key: "connection.failed.authentication.delay.ms", value: text, reason: "expected an integer >= 0")
            }
            delay = n
        }
        var maxReceive = 524_288
        if let text = raw["sasl.server.max.receive.size"] {
            guard let n = Int(text.trimmingWhitespace()), n >= 1, n <= Int(Int32.max) else {
                throw .invalidValue(key: "sasl.server.max.receive.size", value: text, reason: "expected an integer >= 1")
            }
            maxReceive = n
        }
        return SaslListenerSettings(listener: listener, enabledMechanisms: mechanisms, plainUsers: plainUsers,
                                    maxReauthMs: reauth, failedAuthenticationDelayMs: delay, maxReceiveSize: maxReceive)
    }
}
