import ClusterManager
import Foundation
import KafkaClient

/// What `samsa demo --secure` adds to the demo cluster: a throw-away CA and broker certificate
/// (``LocalPKI``), two SCRAM users with random passwords (`admin`, a super user, and the
/// limited `demo-reader`), the brokers' SASL_SSL settings with Kafka's StandardAuthorizer, and
/// one client properties file per user. Everything lives in `<dir>/secure/`:
///
/// ```
/// ca.pem, broker.pem, broker.key, broker-keystore.pem   (LocalPKI)
/// admin.properties    the admin's client properties (mode 0600: holds the password)
/// reader.properties   demo-reader's client properties (mode 0600)
/// scram-users         the users for `samsa storage format --add-scram-file` (mode 0600), so
///                     no password is ever on a command line (`/proc/PID/cmdline` is world-readable)
/// ```
///
/// Every listener is secured: clients and brokers use SASL_SSL, and the nodes' CONTROLLER
/// listener is SSL with client certificates required (mutual TLS with the broker certificate,
/// whose principal `User:CN=localhost,O=Samsa demo` is a super user so that the quorum's Vote and
/// Fetch and the brokers' registrations and heartbeats pass the authorizer's CLUSTER_ACTION).
///
/// The client files use the names both the Swift client (`--command-config`) and librdkafka
/// (`kcat -F`) read: security.protocol, sasl.mechanism, sasl.username, sasl.password,
/// ssl.ca.location; Java clients' lines (sasl.jaas.config, ssl.truststore.*) follow as
/// comments, since librdkafka refuses keys it does not know. A later run on the same
/// directory (`--keep`, or data left by a crash) reuses the files: the users were seeded into
/// the formatted storage with those passwords.
struct DemoSecurity: Sendable {
    static let adminUser = "admin"
    static let readerUser = "demo-reader"
    /// demo-reader may use consumer groups whose id starts with this.
    static let readerGroupPrefix = "demo-reader-"
    static let mechanism = "SCRAM-SHA-512"

    let directory: URL
    let adminPassword: String
    let readerPassword: String

    var caPath: String { directory.appendingPathComponent(LocalPKI.caFile).path }
    var adminPropertiesPath: String { directory.appendingPathComponent("admin.properties").path }
    var readerPropertiesPath: String { directory.appendingPathComponent("reader.properties").path }
    var scramUsersPath: String { directory.appendingPathComponent("scram-users").path }
    /// The principal of the nodes on the CONTROLLER listener: the broker certificate's subject
    /// in RFC 2253 form, as ``LocalPKI`` makes it and Kafka's principal builder prints it.
    static let nodePrincipal = "User:CN=localhost,O=Samsa demo"

    /// Reuses `<base>/secure` when it holds both client files and the CA, else makes it anew.
    /// Refuses cluster data formatted without it (a plaintext run kept with --keep): its
    /// storage has no such users, so nobody could log in.
    static func prepare(base: URL) throws -> DemoSecurity {
        let dir = base.appendingPathComponent("secure", isDirectory: true)
        let fm = FileManager.default
        let admin = dir.appendingPathComponent("admin.properties"), reader = dir.appendingPathComponent("reader.properties")
        let pkiFiles = [LocalPKI.caFile, LocalPKI.keystoreFile].map { dir.appendingPathComponent($0).path }
        if fm.fileExists(atPath: admin.path), fm.fileExists(atPath: reader.path), pkiFiles.allSatisfy({ fm.fileExists(atPath: $0) }),
           let a = try? ClientProperties.load(path: admin.path)["sasl.password"],
           let r = try? ClientProperties.load(path: reader.path)["sasl.password"] {
            let sec = DemoSecurity(directory: dir, adminPassword: a, readerPassword: r)
            try sec.writeScramUsers()
            return sec
        }
        if fm.fileExists(atPath: base.appendingPathComponent("cluster").path) {
            throw ConsoleCLIError("\(base.appendingPathComponent("cluster").path) holds data of a demo run without --secure "
                                  + "(or its \(dir.path) is gone): delete it, or choose another --dir")
        }
        let sec = DemoSecurity(directory: dir, adminPassword: randomPassword(), readerPassword: randomPassword())
        try LocalPKI.generate().write(to: dir)
        try LocalPKI.writeFile(admin, sec.propertiesFile(user: adminUser, password: sec.adminPassword), mode: 0o600)
        try LocalPKI.writeFile(reader, sec.propertiesFile(user: readerUser, password: sec.readerPassword), mode: 0o600)
        try sec.writeScramUsers()
        return sec
    }

    /// 24 characters of [A-Za-z0-9] (about 143 bits): nothing a properties file, a JAAS line or
    /// `--add-scram`'s brackets would need escaped.
    static func randomPassword() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var g = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &g)] })
    }

    /// The client properties of `user`, for the Swift client in this process.
    func clientProperties(user: String, password: String) -> [String: String] {
        ["security.protocol": "SASL_SSL", "sasl.mechanism": Self.mechanism, "sasl.username": user, "sasl.password": password,
         "ssl.ca.location": caPath]
    }

    var adminClientProperties: [String: String] { clientProperties(user: Self.adminUser, password: adminPassword) }

    func propertiesFile(user: String, password: String) -> String {
        let p = clientProperties(user: user, password: password)
        return """
            # samsa demo --secure: client properties of the SCRAM user \(user) (\(user == Self.adminUser ? "a super user" : "reads the demo topics only")).
            # samsa: --command-config THIS_FILE; kcat: -F THIS_FILE. Throw-away credentials: deleted with the demo's data.
            security.protocol=\(p["security.protocol"]!)
            sasl.mechanism=\(p["sasl.mechanism"]!)
            sasl.username=\(user)
            sasl.password=\(password)
            ssl.ca.location=\(caPath)
            # Java clients (kafka-*.sh --command-config) read these instead of sasl.username, sasl.password, ssl.ca.location:
            # sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="\(user)" password="\(password)";
            # ssl.truststore.type=PEM
            # ssl.truststore.location=\(caPath)

            """
    }

    /// Every node's extra `server.properties` (the client listener is SASL_SSL by name, see
    /// `LocalCluster(clientListener:)`).
    /// `controllerListener`: the nodes have a (PLAINTEXT) CONTROLLER listener (KRaft quorum).
    func brokerConfig(controllerListener: Bool) -> [String: String] {
        let keystore = directory.appendingPathComponent(LocalPKI.keystoreFile).path
        let jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"\(Self.adminUser)\" password=\"\(adminPassword)\";"
        return [
            "sasl.enabled.mechanisms": "SCRAM-SHA-512,SCRAM-SHA-256",
            // Brokers replicate over SASL_SSL as admin (a super user: ClusterAction, Read).
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.mechanism.inter.broker.protocol": Self.mechanism,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": keystore,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": caPath,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            // On the CONTROLLER listener (SSL, see controllerConfig) the nodes authenticate with
            // the broker certificate: that principal needs CLUSTER_ACTION, as a super user.
            "super.users": controllerListener ? "User:\(Self.adminUser);\(Self.nodePrincipal)" : "User:\(Self.adminUser)",
            "allow.everyone.if.no.acl.found": "false",
        ].merging(controllerListener ? controllerConfig : [:]) { a, _ in a }
    }

    /// The CONTROLLER listener as SSL with client certificates required (Kafka's
    /// `listener.name.controller.ssl.*`): the quorum's Raft traffic and each broker's channel to
    /// the active controller connect with the same key store (the broker certificate, good for
    /// client authentication) and trust the demo CA. Overrides LocalCluster's default protocol
    /// map (CONTROLLER:PLAINTEXT).
    var controllerConfig: [String: String] {
        let keystore = directory.appendingPathComponent(LocalPKI.keystoreFile).path
        return [
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "listener.name.controller.ssl.keystore.type": "PEM",
            "listener.name.controller.ssl.keystore.location": keystore,
            "listener.name.controller.ssl.truststore.type": "PEM",
            "listener.name.controller.ssl.truststore.location": caPath,
            "listener.name.controller.ssl.client.auth": "required",
        ]
    }

    /// `samsa storage format` arguments seeding both users with both SCRAM mechanisms, from
    /// ``scramUsersPath`` (the passwords stay off the command line).
    var formatArguments: [String] { ["--add-scram-file", scramUsersPath] }

    /// The `--add-scram` values for both users and both mechanisms, one per line.
    var scramUsers: String {
        "# samsa demo --secure: the SCRAM users seeded by `samsa storage format --add-scram-file`.\n"
            + [(Self.adminUser, adminPassword), (Self.readerUser, readerPassword)].flatMap { user, pw in
                ["SCRAM-SHA-512", "SCRAM-SHA-256"].map { "\($0)=[name=\(user),password=\(pw)]\n" }
            }.joined()
    }

    func writeScramUsers() throws {
        try LocalPKI.writeFile(URL(fileURLWithPath: scramUsersPath), scramUsers, mode: 0o600)
    }

    /// demo-reader's ACLs: Read and Describe on each demo topic, Read and Describe on the
    /// groups starting with `demo-reader-`. Nothing else (no Write, no Create, no cluster ops).
    static func readerBindings(topics: [String]) -> [KafkaAcl.Binding] {
        let principal = "User:\(readerUser)"
        return topics.flatMap { t in [KafkaAcl.Operation.read, .describe].map {
            KafkaAcl.Binding(resourceType: .topic, resourceName: t, principal: principal, operation: $0)
        } } + [KafkaAcl.Operation.read, .describe].map {
            KafkaAcl.Binding(resourceType: .group, resourceName: readerGroupPrefix, patternType: .prefixed, principal: principal, operation: $0)
        }
    }
}
