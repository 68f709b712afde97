import Quorum

/// The KRaft side of ``BrokerConfig``: `process.roles`, `node.id`/`broker.id`,
/// `controller.quorum.*`, `controller.listener.names`, `listener.security.protocol.map`,
/// `inter.broker.listener.name`, checked as Kafka's `KafkaConfig.validateValues` does, so a
/// configuration that cannot work stops `samsa broker` with one line naming the key.
///
/// There is one `.properties` parser (``PropertiesFile``): ``KRaftSettings`` is given the
/// validated values the operator set (``BrokerConfig/explicitValues``), never the file itself.
///
/// With no `process.roles` nothing here applies beyond parsing: the node is Samsa's single
/// node (its own controller), exactly as before issue 11.
extension BrokerConfig {
    /// True when `process.roles` asks for a KRaft node (storage must then be formatted with
    /// `samsa storage format`, as `kafka-storage.sh` requires).
    public var isKRaftMode: Bool { !kraft.isEmbeddedSingleNode }

    /// Where the metadata log lives: `metadata.log.dir`, else the first of `log.dirs` (Kafka).
    public var metadataLogDir: String { kraft.metadataLogDir ?? logDirs[0] }

    /// Every directory `samsa storage format` writes `meta.properties` into: the log dirs and
    /// the metadata log dir, each once, in that order.
    public var allStorageDirs: [String] {
        var out = logDirs
        if !out.contains(metadataLogDir) { out.append(metadataLogDir) }
        return out
    }

    /// Reads the KRaft keys through ``KRaftSettings``.
    ///
    /// One compatibility rule: releases before issue 11 shipped `config/server.properties` with
    /// `process.roles=broker,controller` and no quorum keys at all, meaning "a single node that
    /// is its own controller". Such a file (no `controller.quorum.voters`, no
    /// `controller.quorum.bootstrap.servers`, no `controller.listener.names`) still means that,
    /// with a warning, so existing installations keep starting without manual steps. Kafka
    /// would refuse it ("no controllers"); any quorum key makes it a real KRaft configuration.
    static func readKRaft(_ values: [String: String], warnings: inout [String]) throws(ConfigError) -> KRaftSettings {
        var values = values
        if let roles = values["process.roles"] {
            let set = Set(roles.split(separator: ",").map { String($0).trimmingWhitespace().lowercased() })
            let quorumKeys = ["controller.quorum.voters", "controller.quorum.bootstrap.servers", "controller.listener.names"]
            if set == ["broker", "controller"], quorumKeys.allSatisfy({ (values[$0] ?? "").isEmpty }) {
                values["process.roles"] = nil
                warnings.append("process.roles=broker,controller without controller.quorum.voters, controller.quorum.bootstrap.servers "
                    + "or controller.listener.names: running as Samsa's single node (its own controller), as before. "
                    + "Remove process.roles to silence this, or configure the quorum for a KRaft cluster.")
            }
        }
        do {
            return try KRaftSettings(properties: values)
        } catch {
            throw .invalidConfiguration(key: error.key, reason: error.message)
        }
    }

    /// Kafka's listener rules per role (`KafkaConfig.validateValues`), for KRaft nodes only:
    /// the single node keeps accepting what it accepted before.
    mutating func validateKRaftListeners(protocolMap: [String: String], allListeners: [ListenerConfig]) throws(ConfigError) {
        guard isKRaftMode else { return }
        let controllerNames = kraft.controllerListenerNames.map { $0.uppercased() }
        let listenerNames = Set(allListeners.map(\.name))
        let roles = kraft.roles
        if roles == [.broker] {
            if let bound = controllerNames.first(where: listenerNames.contains) {
                throw .invalidConfiguration(key: "controller.listener.names",
                    reason: "must not contain a value appearing in the 'listeners' configuration when running KRaft with just the broker role (\(bound) is in listeners; a broker only connects to the controllers)")
            }
            // The broker reaches the quorum over the first controller listener: its protocol
            // must be known. An explicit map that lacks it is Kafka's error too.
            for name in controllerNames {
                guard let proto = protocolMap[name] else {
                    throw .invalidConfiguration(key: "listener.security.protocol.map",
                        reason: "has no entry for controller listener \(name) defined in controller.listener.names (add \(name):PLAINTEXT)")
                }
                // PLAINTEXT or SSL (the broker connects with the listener's ssl.* settings);
                // SASL is not served on controller listeners.
                guard proto == "PLAINTEXT" || proto == "SSL", let known = SecurityProtocol(rawValue: proto) else {
                    throw .unsupported(key: "listener.security.protocol.map", reason: "controller listener \(name) uses \(proto); only PLAINTEXT and SSL are supported")
                }
                listenerSecurityProtocols[name] = known
            }
        }
        if roles.contains(.controller) {
            for name in controllerNames where !listenerNames.contains(name) {
                throw .invalidConfiguration(key: "controller.listener.names",
                    reason: "must only contain values appearing in the 'listeners' configuration when running the KRaft controller role (\(name) is not in listeners: \(allListeners.map(\.description).joined(separator: ",")))")
            }
        }
        if roles == [.controller] {
            if let client = allListeners.first(where: { !controllerNames.contains($0.name) }) {
                throw .invalidConfiguration(key: "listeners",
                    reason: "must only contain KRaft controller listeners from controller.listener.names when process.roles=controller (\(client.name) is not a controller listener)")
            }
            if let explicit = explicitValues["inter.broker.listener.name"], controllerNames.contains(explicit.uppercased()) {
                throw .invalidConfiguration(key: "inter.broker.listener.name",
                    reason: "must not be a controller listener (\(explicit)) when process.roles=controller")
            }
        }
        if roles.contains(.broker) {
            let advertisedNames = Set(advertisedListeners.map(\.name))
            guard advertisedNames.contains(interBrokerListenerName) else {
                throw .invalidConfiguration(key: "inter.broker.listener.name",
                    reason: "inter.broker.listener.name must be a listener name defined in advertised.listeners; \(interBrokerListenerName) is not. The valid options based on currently configured listeners are \(advertisedNames.sorted().joined(separator: ","))")
            }
            if let stray = advertisedNames.subtracting(listenerNames).sorted().first {
                throw .invalidConfiguration(key: "advertised.listeners",
                    reason: "listener names must be equal to or a subset of the ones defined in listeners; \(stray) is not in listeners (\(listenerNames.sorted().joined(separator: ",")))")
            }
        }
    }
}

extension KRaftSettings {
    /// The single node's settings (no `process.roles`), for ``BrokerConfig``'s initial value.
    static let embeddedDefault: KRaftSettings = {
        do { return try KRaftSettings(properties: [:]) } catch { preconditionFailure("empty KRaft settings are valid: \(error)") }
    }()
}
