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
    @discardableResult
    private func makePKI() throws -> TestPKI {
        let pki = try TestPKI(directory: root)
        try pki.makeCA("ca", cn: "controller-test-ca")
        try pki.makeNode("node", ca: "ca")
        return pki
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

    /// Two controllers on SSL controller listeners (client certificates required), bound,
    /// pointed at each other and started; `serving` runs their listeners.
    private func startTwoControllers() async throws -> (runtimes: [Int32: QuorumRuntime], ports: [Int32: Int], serving: [Task<Void, any Error>]) {
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
        return (runtimes, ports, serving)
    }

    private func stop(_ runtimes: [Int32: QuorumRuntime], _ serving: [Task<Void, any Error>]) async {
        for r in runtimes.values { await r.shutdown() }
        for t in serving { _ = try? await t.value }
    }

    /// The leader once one is elected (a bound, not an assertion on time).
    private func leader(of runtimes: [Int32: QuorumRuntime]) async throws -> QuorumRuntime {
        for _ in 0..<600 {
            if let l = runtimes.values.first(where: { $0.host.leadership.isLocalLeader }) { return l }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw NoLeader()
    }

    private struct NoLeader: Error, CustomStringConvertible {
        var description: String { "no leader elected over TLS within 30 s" }
    }

    /// Proposes a record on `leader` and waits until both controllers see it committed, at most
    /// `seconds` (waitForCommit has no deadline of its own).
    private func commit(_ text: String, on leader: QuorumRuntime, seen runtimes: [Int32: QuorumRuntime], seconds: Int) async throws -> Bool {
        let offset = try await leader.host.propose([ByteBuffer(string: text)])
        for _ in 0..<(seconds * 20) {
            if runtimes.values.allSatisfy({ $0.host.leadership.highWatermark > offset }) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Two controllers on SSL controller listeners with client certificates required elect a
    /// leader and commit: votes, BeginQuorumEpoch and the follower's fetches all crossed TLS
    /// both ways (a commit needs the follower's fetch).
    func testQuorumOverSSLControllerListenersElectsAndCommits() async throws {
        try makePKI()
        let (runtimes, _, serving) = try await startTwoControllers()
        do {
            let active = try await leader(of: runtimes)
            let committed = try await commit("over-tls", on: active, seen: runtimes, seconds: 30)
            XCTAssertTrue(committed, "not committed over TLS")
            for r in runtimes.values where r !== active {
                XCTAssertEqual(r.host.leadership.leaderId, active.settings.nodeId)
            }
        } catch {
            await stop(runtimes, serving)
            throw error
        }
        await stop(runtimes, serving)
    }

    /// Certificates renewed in place to a NEW CA on both controllers (trust store and key
    /// store): after the 5 s check (called here directly) reloads the listeners' contexts AND
    /// the transports' client TLS, new connections in both directions handshake with the new
    /// certificate and trust only the new CA, and the quorum still commits. Without the client
    /// reload (main before this change) the follower's new fetch connection presents its old-CA
    /// certificate and trusts only the old CA, while the leader's listener now serves a new-CA
    /// certificate and requires a new-CA client: the handshake fails and nothing commits.
    func testCertificatesRenewedToANewCAInPlaceReachTheQuorumsNewConnections() async throws {
        let pki = try makePKI()
        let (runtimes, ports, serving) = try await startTwoControllers()
        do {
            let active = try await leader(of: runtimes)
            let committed = try await commit("old-ca", on: active, seen: runtimes, seconds: 30)
            XCTAssertTrue(committed, "not committed before the renewal")

            try pki.makeCA("ca2", cn: "renewed-ca")
            try pki.makeNode("node2", ca: "ca2")
            try pki.overwrite("ca.pem", with: try pki.text("ca2.pem"))
            try pki.overwrite("node.pem", with: try pki.text("node2.pem"))
            for r in runtimes.values {
                let client = try XCTUnwrap(r.clientTLS)
                let lines = KafkaBroker.checkTLSFiles(r.tlsContexts, clients: [client]).map(\.line)
                XCTAssertEqual(lines, ["Listener CONTROLLER: reloaded its TLS key store and trust store (new connections use them)",
                                       "Reloaded the client TLS of the controller connections (Raft transport, broker-to-controller channel) (new connections use it)"])
            }
            // Close every established transport connection (moving the peer away and back):
            // what follows crosses new connections only.
            for (id, r) in runtimes {
                let peer: Int32 = id == 1 ? 2 : 1
                r.transport.updateEndpoint(peer, host: "127.0.0.1", port: 1)
                r.transport.updateEndpoint(peer, host: "127.0.0.1", port: ports[peer]!)
            }
            let now = try await leader(of: runtimes)
            let committedAfter = try await commit("new-ca", on: now, seen: runtimes, seconds: 20)
            XCTAssertTrue(committedAfter,
                          "not committed over new connections after the renewal to a new CA")
        } catch {
            await stop(runtimes, serving)
            throw error
        }
        await stop(runtimes, serving)
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
        XCTAssertEqual(tls.client?.current.verifyHostname, true)
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
