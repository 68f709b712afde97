import Foundation
import Logging
import NIOSSL
import Synchronization

/// Builds the `NIOSSLContext` of an SSL listener from its ``SSLListenerSettings``.
///
/// Runs once per listener at start-up (``KafkaBroker/init``): every file is read and every
/// PEM parsed here, and the context is built, so that a missing file, a key that does not
/// match its certificate or an unknown protocol stops the broker with one ``ConfigError``
/// naming the key, instead of failing each client's handshake later. The context is shared by
/// every connection of the listener (BoringSSL's `SSL_CTX` is thread-safe once built).
///
/// Kafka's `ssl.keystore.type=PEM` (KIP-651) is the only store format: JKS and PKCS12 are
/// refused with a message saying so.
enum ListenerTLS {
    /// TLS 1.3 suites by IANA name: BoringSSL always enables them with TLS 1.3, so naming them
    /// in `ssl.cipher.suites` is accepted and changes nothing.
    static let tls13Suites: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
    /// The TLS 1.2 suites BoringSSL implements, by the IANA names Kafka (JSSE) uses.
    static let tls12Suites: [String: NIOTLSCipher] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
        "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// The server context of `settings`' listener, or a ``ConfigError`` naming the key to fix.
    static func makeContext(_ settings: SSLListenerSettings) throws(ConfigError) -> NIOSSLContext {
        let listener = settings.listener
        // Key store: a PEM file with key and chain, or the inline pair.
        try requirePEM(settings, "ssl.keystore.type")
        let keyPassword = settings.value("ssl.key.password")?.value
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let keyKey: String
        if let location = settings.value("ssl.keystore.location") {
            let text = try readPEM(location)
            chain = try certificates(text, from: location, what: "certificate chain")
            key = try privateKey(text, password: keyPassword, from: location)
            keyKey = location.key
        } else if let inlineChain = settings.value("ssl.keystore.certificate.chain"),
                  let inlineKey = settings.value("ssl.keystore.key") {
            chain = try certificates(normalizePEM(inlineChain.value), from: inlineChain, what: "certificate chain")
            key = try privateKey(normalizePEM(inlineKey.value), password: keyPassword, from: inlineKey)
            keyKey = inlineKey.key
        } else {
            throw .invalidConfiguration(key: "ssl.keystore.location",
                reason: "listener \(listener) uses SSL but has no key store: set ssl.keystore.type=PEM and ssl.keystore.location (a PEM file with the private key and certificate chain), or ssl.keystore.certificate.chain and ssl.keystore.key (or their listener.name.\(listener.lowercased()). forms)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))

        // Trust store, for client certificates.
        if let location = settings.value("ssl.truststore.location") {
            try requirePEM(settings, "ssl.truststore.type")
            tls.trustRoots = .certificates(try certificates(try readPEM(location), from: location, what: "CA certificate"))
        } else if let inline = settings.value("ssl.truststore.certificates") {
            try requirePEM(settings, "ssl.truststore.type")
            tls.trustRoots = .certificates(try certificates(normalizePEM(inline.value), from: inline, what: "CA certificate"))
        }
        // Kafka's ssl.client.auth: "requested" verifies a certificate when one is presented.
        switch settings.value("ssl.client.auth")?.value.lowercased() ?? "none" {
        case "required": tls.certificateVerification = .noHostnameVerification
        case "requested": tls.certificateVerification = .optionalVerification
        default: tls.certificateVerification = .none
        }
        tls.sendCANameList = true

        // Protocol versions: a contiguous range of TLSv1.2 and TLSv1.3.
        let (protocolsKey, protocols) = settings.list("ssl.enabled.protocols")
        var versions: [TLSVersion] = []
        for p in protocols {
            switch p {
            case "TLSv1.2": versions.append(.tlsv12)
            case "TLSv1.3": versions.append(.tlsv13)
            case "TLSv1", "TLSv1.1", "SSLv3":
                throw .invalidValue(key: protocolsKey, value: p, reason: "\(p) is insecure and not supported; use TLSv1.2 and/or TLSv1.3")
            default:
                throw .invalidValue(key: protocolsKey, value: p, reason: "unknown protocol (supported: TLSv1.2, TLSv1.3)")
            }
        }
        guard !versions.isEmpty else {
            throw .invalidValue(key: protocolsKey, value: "", reason: "must name TLSv1.2 and/or TLSv1.3")
        }
        tls.minimumTLSVersion = versions.contains(.tlsv12) ? .tlsv12 : .tlsv13
        tls.maximumTLSVersion = versions.contains(.tlsv13) ? .tlsv13 : .tlsv12

        // Cipher suites (TLS 1.2 ones are configurable; TLS 1.3 ones are always on).
        let (suitesKey, suites) = settings.list("ssl.cipher.suites")
        if !suites.isEmpty {
            var selected: [NIOTLSCipher] = []
            for name in suites {
                if let c = tls12Suites[name] { selected.append(c); continue }
                if tls13Suites.contains(name) { continue }
                throw .invalidValue(key: suitesKey, value: name,
                                    reason: "unknown cipher suite (IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)")
            }
            if selected.isEmpty, tls.minimumTLSVersion == .tlsv12 {
                throw .invalidValue(key: suitesKey, value: suites.joined(separator: ","),
                                    reason: "names only TLS 1.3 suites while TLSv1.2 is enabled; add TLS 1.2 suites or set ssl.enabled.protocols=TLSv1.3")
            }
            if !selected.isEmpty { tls.cipherSuiteValues = selected }
        }

        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            // BoringSSL checks here that the key belongs to the leaf certificate.
            throw .invalidConfiguration(key: keyKey,
                reason: "cannot build the TLS context of listener \(listener): the private key does not match the certificate chain, or a setting is unusable (\(error))")
        }
    }

    private static func requirePEM(_ settings: SSLListenerSettings, _ key: String) throws(ConfigError) {
        let type = settings.value(key)
        guard type?.value.uppercased() == "PEM" else {
            throw .unsupported(key: type?.key ?? key, reason: "\(type?.value ?? "JKS") stores are not supported; set \(key)=PEM (listener \(settings.listener))")
        }
    }

    private static func readPEM(_ location: SSLListenerSettings.Value) throws(ConfigError) -> String {
        do {
            return try readTextFile(location.value)
        } catch {
            throw .invalidValue(key: location.key, value: location.value, reason: "cannot read the file: \(error)")
        }
    }

    private static func certificates(_ pem: String, from source: SSLListenerSettings.Value,
                                     what: String) throws(ConfigError) -> [NIOSSLCertificate] {
        let shown = source.key.hasSuffix("location") ? source.value : "(inline PEM)"
        let certs: [NIOSSLCertificate]
        do {
            certs = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
        } catch {
            throw .invalidValue(key: source.key, value: shown, reason: "not a PEM \(what): \(error)")
        }
        guard !certs.isEmpty else {
            throw .invalidValue(key: source.key, value: shown, reason: "holds no PEM \(what) (-----BEGIN CERTIFICATE-----)")
        }
        return certs
    }

    private static func privateKey(_ pem: String, password: String?,
                                   from source: SSLListenerSettings.Value) throws(ConfigError) -> NIOSSLPrivateKey {
        let shown = source.key.hasSuffix("location") ? source.value : "(inline PEM)"
        guard pem.contains("PRIVATE KEY-----") else {
            throw .invalidValue(key: source.key, value: shown, reason: "holds no PEM private key (-----BEGIN PRIVATE KEY-----)")
        }
        do {
            // Always pass a callback: without one BoringSSL prompts for the passphrase on stdin.
            let passphrase = Array((password ?? "").utf8)
            let callback: NIOSSLPassphraseCallback<[UInt8]> = { set in set(passphrase) }
            return try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem, passphraseCallback: callback)
        } catch {
            let hint = pem.contains("ENCRYPTED") ? (password == nil ? "the key is encrypted: set ssl.key.password" : "the key is encrypted and ssl.key.password does not decrypt it") : "not a PEM private key"
            throw .invalidValue(key: source.key, value: shown, reason: "cannot load the private key: \(hint)")
        }
    }

    /// Kafka's inline PEM values often arrive on one line (a properties file joins `\`
    /// continuation lines): re-wrap every `-----BEGIN X-----...-----END X-----` block's
    /// base64 body into 64-column lines so BoringSSL's PEM reader accepts it.
    static func normalizePEM(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let begin = rest.range(of: "-----BEGIN ") {
            guard let labelEnd = rest[begin.upperBound...].range(of: "-----") else { break }
            let label = rest[begin.upperBound..<labelEnd.lowerBound]
            let endMarker = "-----END \(label)-----"
            guard let end = rest[labelEnd.upperBound...].range(of: endMarker) else { break }
            let body = rest[labelEnd.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            out += "-----BEGIN \(label)-----\n"
            var i = body.startIndex
            while i < body.endIndex {
                let j = body.index(i, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
                out += body[i..<j] + "\n"
                i = j
            }
            out += endMarker + "\n"
            rest = rest[end.upperBound...]
        }
        return out
    }
}

extension Substring {
    fileprivate func range(of needle: String) -> Range<Substring.Index>? {
        guard !needle.isEmpty, count >= needle.count else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}

/// What one check of a reloadable TLS configuration found (``ListenerTLSContext``,
/// ``ClientTLSContext``).
public enum TLSReload: Equatable, Sendable {
    case unchanged
    case reloaded
    /// The files changed but nothing could be built from them: why (the previous one stays).
    case failed(String)
}

/// The change detection every reloadable TLS configuration of a node shares: a value (a
/// listener's `NIOSSLContext`, an outgoing connection's client `TLSConfig`) built from some
/// files, and the contents of those files it was built from.
///
/// * "Changed" means the bytes of a watched file differ from those the current value (or the
///   last attempt that failed) was built from: comparing contents, not modification times,
///   so a `touch` or a copy of identical files does not rebuild, and a rewrite within the
///   same second still does. The files are small PEM files.
/// * "Does not build" means `rebuild` throws (a half-written PEM, a key that does not match
///   its certificate): the previous value stays, and the failed contents are remembered so the
///   failure is reported once, not every check, and tried again only after the next change.
///
/// Thread-safe; `current` is what each NEW connection should use (established connections
/// keep the session they negotiated).
final class ReloadableTLSValue<Value: Sendable>: Sendable {
    private struct State {
        var value: Value
        /// The contents of the watched files the current value was built from (or that last
        /// failed to build: not retried until they change again).
        var seen: [String: Data?]
        /// Successful reloads so far (tests: a failed reload must not swap the value).
        var generation: Int
    }

    private let files: [String]
    private let rebuild: (@Sendable () throws -> Value)?
    private let state: Mutex<State>

    /// A value that never changes (tests, inline PEM).
    init(fixed value: Value) {
        files = []
        rebuild = nil
        state = Mutex(State(value: value, seen: [:], generation: 0))
    }

    /// `value` was built from `files` whose contents were `seen` (read BEFORE building, so a
    /// change racing the first build is picked up by the first check); `rebuild` builds the
    /// value again from the files.
    init(value: Value, files: [String], seen: [String: Data?], rebuild: @escaping @Sendable () throws -> Value) {
        self.files = files
        self.rebuild = rebuild
        state = Mutex(State(value: value, seen: seen, generation: 0))
    }

    var current: Value { state.withLock { $0.value } }
    var generation: Int { state.withLock { $0.generation } }

    /// The contents of `paths` now (nil: unreadable or missing).
    static func read(_ paths: [String]) -> [String: Data?] {
        Dictionary(paths.map { ($0, FileManager.default.contents(atPath: $0)) }, uniquingKeysWith: { a, _ in a })
    }

    /// Reads the watched files; if they differ from what the current value was built from,
    /// builds a new one and, if that works, swaps it in.
    func reloadIfChanged() -> TLSReload {
        guard let rebuild else { return .unchanged }
        let now = Self.read(files)
        guard state.withLock({ $0.seen }) != now else { return .unchanged }
        do {
            let value = try rebuild()
            state.withLock { $0 = State(value: value, seen: now, generation: $0.generation + 1) }
            return .reloaded
        } catch {
            state.withLock { $0.seen = now }
            return .failed("\(error)")
        }
    }
}

/// The TLS context of one SSL listener, rebuilt when the files it was built from change
/// (issue 14: "certificate reload without restart when the files change"), so an operator
/// renews a certificate by replacing `ssl.keystore.location` (or `ssl.truststore.location`)
/// in place. Kafka reloads on an AlterConfigs of the same key; Samsa watches the files,
/// which needs no admin call and works from cert-manager-style tooling that only writes files.
///
/// * New connections get the new context; established ones keep the session they negotiated.
/// * A change that does not build (a key written before its certificate, a key that does not
///   match) keeps the old context and is logged once; the next change is tried again.
/// * Inline PEM values (`ssl.keystore.key`, ...) come from the config and never change here.
///
/// The change detection is ``ReloadableTLSValue``'s, shared with the outgoing connections'
/// ``ClientTLSContext``.
public final class ListenerTLSContext: Sendable {
    public typealias Reload = TLSReload

    private let value: ReloadableTLSValue<NIOSSLContext>

    /// A context that never changes (tests, inline PEM).
    public init(fixed context: NIOSSLContext) {
        value = ReloadableTLSValue(fixed: context)
    }

    /// Builds the listener's context (a ``ConfigError`` naming the key when it cannot) and
    /// remembers the files it came from.
    init(settings: SSLListenerSettings) throws(ConfigError) {
        let files = Self.watchedFiles(settings)
        let before = ReloadableTLSValue<NIOSSLContext>.read(files)
        let context = try ListenerTLS.makeContext(settings)
        value = ReloadableTLSValue(value: context, files: files, seen: before) { try ListenerTLS.makeContext(settings) }
    }

    /// The context new connections use.
    public var current: NIOSSLContext { value.current }

    /// The key store and trust store files of `settings` (inline values are not files).
    static func watchedFiles(_ settings: SSLListenerSettings) -> [String] {
        ["ssl.keystore.location", "ssl.truststore.location"].compactMap { settings.value($0)?.value }
    }

    /// Reads the watched files; if they differ from what the current context was built from,
    /// builds a new one and, if that works, swaps it in.
    public func reloadIfChanged() -> Reload { value.reloadIfChanged() }
}

extension KafkaBroker {
    /// The TLS context of every SSL and SASL_SSL listener, by name; a ``ConfigError`` naming the key when one
    /// cannot be built.
    static func makeTLSContexts(_ config: BrokerConfig) throws(ConfigError) -> [String: ListenerTLSContext] {
        var out: [String: ListenerTLSContext] = [:]
        for l in config.listeners where config.listenerSecurityProtocols[l.name] == .ssl || config.listenerSecurityProtocols[l.name] == .saslSsl {
            out[l.name] = try ListenerTLSContext(settings: config.sslSettings(listener: l.name))
        }
        return out
    }

    /// How often the SSL listeners' files (and the outgoing connections' ones) are checked
    /// for a renewed certificate.
    static let tlsReloadCheckInterval: Duration = .seconds(5)

    /// One check of every SSL listener's files and every outgoing connections' client TLS
    /// files: what to log, one line per reload and per change that could not be used (pure
    /// apart from reading the files; tests call it instead of waiting for the watcher).
    static func checkTLSFiles(_ contexts: [String: ListenerTLSContext], clients: [ClientTLSContext]) -> [(error: Bool, line: String)] {
        var out: [(error: Bool, line: String)] = []
        for (name, context) in contexts.sorted(by: { $0.key < $1.key }) {
            switch context.reloadIfChanged() {
            case .unchanged: break
            case .reloaded: out.append((false, "Listener \(name): reloaded its TLS key store and trust store (new connections use them)"))
            case .failed(let why): out.append((true, "Listener \(name): its TLS files changed but cannot be used, keeping the previous ones: \(why)"))
            }
        }
        for client in clients {
            switch client.reloadIfChanged() {
            case .unchanged: break
            case .reloaded: out.append((false, "Reloaded the client TLS of \(client.what) (new connections use it)"))
            case .failed(let why): out.append((true, "The client TLS files of \(client.what) changed but cannot be used, keeping the previous ones: \(why)"))
            }
        }
        return out
    }

    /// Checks every SSL listener's files and the outgoing connections' client TLS files every
    /// ``tlsReloadCheckInterval`` until cancelled, logging each reload and each change that
    /// could not be used.
    static func watchTLSFiles(_ contexts: [String: ListenerTLSContext], clients: [ClientTLSContext] = [],
                              logger: Logger) -> Task<Void, Never>? {
        guard !contexts.isEmpty || !clients.isEmpty else { return nil }
        return Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: tlsReloadCheckInterval)
                for (isError, line) in checkTLSFiles(contexts, clients: clients) {
                    if isError { logger.error("\(line)") } else { logger.info("\(line)") }
                }
            }
        }
    }
}
