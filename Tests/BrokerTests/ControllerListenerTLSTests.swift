import Foundation
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import Quorum
import XCTest
@testable import Broker

/// TLS on the controller listener (issue 14: "inter-broker and controller traffic can be
/// secured too"): `listener.security.protocol.map=CONTROLLER:SSL` serves the controller
/// listener with the listener's key store, and the Raft transport and the broker's
/// controller channel connect to it with the same listener's trust store (and key store as
/// the client certificate). Certificates are made with the `openssl` CLI.
final class ControllerListenerTLSTests: XCTestCase {
    private var root: String!
    private var group: MultiThreadedEventLoopGroup!
    private let logger: Logger = {
        var l = Logger(label: "controller-tls-test")
        l.logLevel = ProcessInfo.processInfo.environment["SAMSA_TEST_LOG"] == nil ? .critical : .debug
        return l
    }()

    override func setUp() {
        root = NSTemporaryDirectory() + "samsa-controller-tls-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    override func tearDown() async throws {
        try await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: root)
    }

    private func path(_ name: String) -> String { root + "/" + name }

    /// ca.pem and node.pem (key + certificate for IP 127.0.0.1, no EKU: server and client).
    private func makePKI() throws {
        guard let openssl = ["/usr/bin/openssl", "/bin/openssl", "/usr/local/bin/openssl"]
            .first(where: FileManager.default.isExecutableFile(atPath:)) else { throw XCTSkip("openssl is not installed") }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n".write(toFile: path("ca.ext"), atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n".write(toFile: path("node.ext"), atomically: true, encoding: .utf8)
        try run(openssl, ["req", "-new"] + ec + ["-keyout", path("ca.key"), "-out", path("ca.csr"), "-subj", "/CN=controller-test-ca"])
        try run(openssl, ["x509", "-req", "-in", path("ca.csr"), "-signkey", path("ca.key"), "-days", "2", "-extfile", path("ca.ext"), "-out", path("ca.pem")])
        try run(openssl, ["req", "-new"] + ec + ["-keyout", path("node.key"), "-out", path("node.csr"), "-subj", "/CN=controller"])
        try run(openssl, ["x509", "-req", "-in", path("node.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
                          "-days", "2", "-extfile", path("node.ext"), "-out", path("node.crt")])
        try (try String(contentsOfFile: path("node.key"), encoding: .utf8) + String(contentsOfFile: path("node.crt"), encoding: .utf8))
            .write(toFile: path("node.pem"), atomically: true, encoding: .utf8)
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("openssl \(arguments.first ?? "") failed") }
    }

    private func config(_ text: String) throws -> BrokerConfig {
        try BrokerConfig(properties: PropertiesFile(parsing: text))
    }

    private var sslKeys: String {
        """
        listener.security.protocol.map=CONTROLLER:SSL,PLAINTEXT:PLAINTEXT
        listener.name.controller.ssl.keystore.type=PEM
        listener.name.controller.ssl.keystore.location=\(path("node.pem"))
        listener.name.controller.ssl.truststore.type=PEM
        listener.name.controller.ssl.truststore.location=\(path("ca.pem"))
        listener.name.controller.ssl.client.auth=required
        """
    }

    /// Controller `id` of two, with the SSL keys (`edit`ed: one key's value replaced).
    private func controller(_ id: Int, edit: (key: String, value: String)? = nil) throws -> BrokerConfig {
        var keys = sslKeys
        if let edit {
            keys = keys.split(separator: "\n").map { $0.hasPrefix(edit.key + "=") ? "\(edit.key)=\(edit.value)" : String($0) }.joined(separator: "\n")
        }
        return try config("""
        process.roles=controller
        node.id=\(id)
        controller.quorum.voters=1@127.0.0.1:9,2@127.0.0.1:9
        controller.listener.names=CONTROLLER
        listeners=CONTROLLER://127.0.0.1:0
        controller.quorum.election.timeout.ms=500
        controller.quorum.fetch.timeout.ms=1500
        controller.quorum.request.timeout.ms=1000
        log.dirs=\(path("n\(id)"))
        \(keys)
        """)
    }

    /// Two controllers on SSL controller listeners with client certificates required elect a
    /// leader and commit: votes, BeginQuorumEpoch and the follower's fetches all crossed TLS
    /// both ways (a commit needs the follower's fetch).
    func testQuorumOverSSLControllerListenersElectsAndCommits() async throws {
        try makePKI()
        var runtimes: [Int32: QuorumRuntime] = [:]
        var ports: [Int32: Int] = [:]
        for id in [1, 2] {
            let c = try controller(id)
            XCTAssertEqual(c.controllerClientSecurity["security.protocol"], "SSL")
            let tls = try ClusterRuntime.controllerListenerTLS(c)
            XCTAssertNotNil(tls.server["CONTROLLER"])
            XCTAssertNotNil(tls.client)
            let runtime = try QuorumRuntime(settings: c.kraft, clusterId: "tls-cluster", directory: path("n\(id)/__cluster_metadata-0"),
                                            controllerListeners: [.init(name: "CONTROLLER", host: "127.0.0.1", port: 0)],
                                            group: group, logger: logger, serverTLS: tls.server,
                                            principalMappers: c.sslPrincipalMappers, clientTLS: tls.client)
            XCTAssertNotNil(runtime.tlsContexts["CONTROLLER"])
            runtimes[Int32(id)] = runtime
            let addresses = try await runtime.bind()
            ports[Int32(id)] = try XCTUnwrap(addresses.first?.port)
        }
        runtimes[1]!.transport.updateEndpoint(2, host: "127.0.0.1", port: ports[2]!)
        runtimes[2]!.transport.updateEndpoint(1, host: "127.0.0.1", port: ports[1]!)
        var serving: [Task<Void, any Error>] = []
        for r in runtimes.values {
            await r.start()
            serving.append(Task { try await r.run() })
        }
        do {
            var leader: QuorumRuntime?
            for _ in 0..<600 where leader == nil {   // a bound, not an assertion on time
                leader = runtimes.values.first { $0.host.leadership.isLocalLeader }
                if leader == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let active = try XCTUnwrap(leader, "no leader elected over TLS")
            let offset = try await active.host.propose([ByteBuffer(string: "over-tls")])
            try await active.host.waitForCommit(offset)
            for r in runtimes.values where r !== active {
                XCTAssertEqual(r.host.leadership.leaderId, active.settings.nodeId)
            }
        } catch {
            for r in runtimes.values { await r.shutdown() }
            throw error
        }
        for r in runtimes.values { await r.shutdown() }
        for t in serving { _ = try? await t.value }
    }

    /// The same listener's settings decide the client side; a broker-only node (which does not
    /// bind the controller listener) may name it SSL too.
    func testBrokerOnlyNodeConnectsToAnSSLControllerListenerWithItsSettings() throws {
        try makePKI()
        let c = try config("""
        process.roles=broker
        node.id=4
        controller.quorum.voters=1@127.0.0.1:9093
        controller.listener.names=CONTROLLER
        listeners=PLAINTEXT://127.0.0.1:9092
        log.dirs=\(path("n4"))
        \(sslKeys)
        """)
        XCTAssertEqual(c.controllerClientSecurity["security.protocol"], "SSL")
        XCTAssertEqual(c.controllerClientSecurity["ssl.ca.location"], path("ca.pem"))
        XCTAssertEqual(c.controllerClientSecurity["ssl.certificate.location"], path("node.pem"))
        XCTAssertEqual(c.controllerClientSecurity["ssl.endpoint.identification.algorithm"], "https")
        let tls = try ClusterRuntime.controllerListenerTLS(c)
        XCTAssertTrue(tls.server.isEmpty, "a broker-only node serves no controller listener")
        XCTAssertEqual(tls.client?.verifyHostname, true)
    }

    func testMisconfiguredSSLControllerListenerIsAStartUpErrorNamingTheKey() throws {
        try makePKI()
        // No key store on a controller: the error names the key, as for a broker listener.
        let noKeyStore = try config("""
        process.roles=controller
        node.id=1
        controller.quorum.voters=1@127.0.0.1:9093
        controller.listener.names=CONTROLLER
        listeners=CONTROLLER://127.0.0.1:9093
        listener.security.protocol.map=CONTROLLER:SSL
        ssl.keystore.type=PEM
        log.dirs=\(path("n1"))
        """)
        XCTAssertThrowsError(try ClusterRuntime.controllerListenerTLS(noKeyStore)) { error in
            guard case let ConfigError.invalidConfiguration(key, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "ssl.keystore.location")
            XCTAssertTrue(reason.contains("CONTROLLER"), reason)
        }
        // A trust store that cannot be read: refused while reading the config, naming the key.
        XCTAssertThrowsError(try controller(1, edit: ("listener.name.controller.ssl.truststore.location", path("missing.pem")))) { error in
            guard case let ConfigError.invalidConfiguration(key, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "listener.name.controller.ssl.truststore.location")
        }
        // SASL is not served on controller listeners: refused, naming the key.
        for proto in ["SASL_SSL", "SASL_PLAINTEXT"] {
            XCTAssertThrowsError(try controller(1, edit: ("listener.security.protocol.map", "CONTROLLER:\(proto)"))) { error in
                guard case let ConfigError.unsupported(key, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(key, "listener.security.protocol.map")
            }
            XCTAssertThrowsError(try config("""
            process.roles=broker
            node.id=4
            controller.quorum.voters=1@127.0.0.1:9093
            controller.listener.names=CONTROLLER
            listeners=PLAINTEXT://127.0.0.1:9092
            listener.security.protocol.map=CONTROLLER:\(proto),PLAINTEXT:PLAINTEXT
            """)) { error in
                guard case let ConfigError.unsupported(key, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(key, "listener.security.protocol.map")
            }
        }
    }
}
