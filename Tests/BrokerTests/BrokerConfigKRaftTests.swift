import XCTest
@testable import Broker
import Quorum

/// `BrokerConfig` reading the KRaft keys (issue 11 item 1): every configuration Kafka's
/// `KafkaConfig.validateValues` refuses is refused with the key to fix, and a node without
/// `process.roles` is the single node it always was.
final class BrokerConfigKRaftTests: XCTestCase {
    private func config(_ text: String) throws(ConfigError) -> BrokerConfig {
        try BrokerConfig(properties: PropertiesFile(parsing: text))
    }

    /// The refusal's key, or a failure naming what was accepted.
    private func refusedKey(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            let c = try config(text)
            XCTFail("accepted: roles \(c.kraft.roles), listeners \(c.listeners)", file: file, line: line)
            return nil
        } catch {
            switch error {
            case let .invalidConfiguration(key, _), let .invalidValue(key, _, _), let .unsupported(key, _): return key
            default: XCTFail("unexpected error \(error)", file: file, line: line); return nil
            }
        }
    }

    private let combined = """
    process.roles=broker,controller
    node.id=1
    controller.quorum.voters=1@127.0.0.1:9093
    listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
    controller.listener.names=CONTROLLER
    log.dirs=/data/a
    """

    func testNoProcessRolesIsTheSingleNodeAsBefore() throws {
        let c = try config("node.id=3\nlisteners=PLAINTEXT://:9092\nlog.dirs=/d\n")
        XCTAssertFalse(c.isKRaftMode)
        XCTAssertTrue(c.kraft.isEmbeddedSingleNode)
        XCTAssertEqual(c.kraft.roles, [.broker, .controller])
        XCTAssertEqual(c.nodeId, 3)
        XCTAssertEqual(c.metadataLogDir, "/d")
        XCTAssertEqual(c.warnings, [])
    }

    /// The sample server.properties of earlier releases said process.roles=broker,controller
    /// with no quorum keys; those installations must keep starting (with a warning).
    func testLegacySampleProcessRolesStaysSingleNode() throws {
        let c = try config("node.id=1\nprocess.roles=broker,controller\nlisteners=PLAINTEXT://:9092\n")
        XCTAssertFalse(c.isKRaftMode)
        XCTAssertEqual(c.warnings.count, 1)
        XCTAssertTrue(c.warnings[0].contains("process.roles=broker,controller"), c.warnings[0])
    }

    func testCombinedNodeReadsEveryKey() throws {
        let c = try config(combined + """

        broker.heartbeat.interval.ms=500
        broker.session.timeout.ms=3000
        controller.quorum.election.timeout.ms=800
        controller.quorum.fetch.timeout.ms=1600
        metadata.log.dir=/meta
        """)
        XCTAssertTrue(c.isKRaftMode)
        XCTAssertEqual(c.kraft.roles, [.broker, .controller])
        XCTAssertEqual(c.kraft.nodeId, 1)
        XCTAssertEqual(c.kraft.voters.map(\.id), [1])
        XCTAssertEqual(c.kraft.brokerHeartbeatIntervalMs, 500)
        XCTAssertEqual(c.kraft.brokerSessionTimeoutMs, 3000)
        XCTAssertEqual(c.kraft.electionTimeoutMs, 800)
        XCTAssertEqual(c.listeners.map(\.name), ["PLAINTEXT"])
        XCTAssertEqual(c.controllerListeners, [ListenerConfig(name: "CONTROLLER", host: "127.0.0.1", port: 9093)])
        XCTAssertEqual(c.metadataLogDir, "/meta")
        XCTAssertEqual(c.allStorageDirs, ["/data/a", "/meta"])
        XCTAssertEqual(c.warnings, [], "the KRaft keys are known keys")
    }

    func testBrokerIdIsKafkasAliasOfNodeId() throws {
        let c = try config(combined.replacingOccurrences(of: "node.id=1", with: "broker.id=1"))
        XCTAssertEqual(c.kraft.nodeId, 1)
        XCTAssertEqual(c.nodeId, 1)
        XCTAssertEqual(refusedKey(combined + "\nbroker.id=2\n"), "broker.id", "node.id and broker.id disagree")
    }

    func testNodeIdRequired() {
        XCTAssertEqual(refusedKey(combined.replacingOccurrences(of: "node.id=1\n", with: "")), "node.id")
    }

    func testNoVotersRefused() {
        XCTAssertEqual(refusedKey(combined.replacingOccurrences(of: "controller.quorum.voters=1@127.0.0.1:9093\n", with: "")),
                       "controller.quorum.voters")
    }

    func testControllerNotAmongVotersRefused() {
        XCTAssertEqual(refusedKey(combined.replacingOccurrences(of: "1@127.0.0.1:9093", with: "2@127.0.0.1:9093")),
                       "controller.quorum.voters")
    }

    func testControllerListenerMissingFromListenersRefused() {
        XCTAssertEqual(refusedKey(combined.replacingOccurrences(of: ",CONTROLLER://127.0.0.1:9093", with: "")),
                       "controller.listener.names")
    }

    func testEveryControllerListenerMustBeBoundOnAController() {
        let text = combined.replacingOccurrences(of: "controller.listener.names=CONTROLLER", with: "controller.listener.names=CONTROLLER,CTRL2")
            .replacingOccurrences(of: "log.dirs", with: "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CTRL2:PLAINTEXT\nlog.dirs")
        XCTAssertEqual(refusedKey(text), "controller.listener.names")
    }

    func testBrokerOnlyMustNotBindTheControllerListener() throws {
        let broker = """
        process.roles=broker
        node.id=4
        controller.quorum.voters=1@127.0.0.1:9093
        controller.listener.names=CONTROLLER
        listeners=PLAINTEXT://127.0.0.1:9092
        """
        let c = try config(broker)
        XCTAssertEqual(c.kraft.roles, [.broker])
        XCTAssertEqual(c.controllerListeners, [])
        XCTAssertEqual(refusedKey(broker.replacingOccurrences(of: "listeners=PLAINTEXT://127.0.0.1:9092",
                                                              with: "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093")),
                       "controller.listener.names")
        XCTAssertEqual(refusedKey(broker.replacingOccurrences(of: "node.id=4", with: "node.id=1")), "controller.quorum.voters",
                       "a broker-only node cannot be a voter")
        XCTAssertEqual(refusedKey(broker + "\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT\n"),
                       "listener.security.protocol.map", "the controller listener's protocol must be mapped")
        XCTAssertEqual(refusedKey(broker.replacingOccurrences(of: "controller.listener.names=CONTROLLER\n", with: "")),
                       "controller.listener.names")
    }

    func testControllerOnlyListensOnlyOnControllerListeners() throws {
        let controller = """
        process.roles=controller
        node.id=1
        controller.quorum.voters=1@127.0.0.1:9093
        controller.listener.names=CONTROLLER
        listeners=CONTROLLER://127.0.0.1:9093
        """
        let c = try config(controller)
        XCTAssertEqual(c.kraft.roles, [.controller])
        XCTAssertEqual(c.listeners, [], "a controller serves no clients")
        XCTAssertEqual(refusedKey(controller.replacingOccurrences(of: "listeners=CONTROLLER://127.0.0.1:9093",
                                                                  with: "listeners=CONTROLLER://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092")),
                       "listeners")
        XCTAssertEqual(refusedKey(controller + "\ninter.broker.listener.name=CONTROLLER\n"), "inter.broker.listener.name")
    }

    func testInterBrokerListenerMustBeAdvertised() throws {
        let text = combined.replacingOccurrences(of: "PLAINTEXT://127.0.0.1:9092", with: "CLIENT://127.0.0.1:9092")
            .replacingOccurrences(of: "log.dirs", with: "listener.security.protocol.map=CLIENT:PLAINTEXT,CONTROLLER:PLAINTEXT\nlog.dirs")
        XCTAssertEqual(refusedKey(text), "inter.broker.listener.name", "the default inter-broker listener PLAINTEXT does not exist")
        XCTAssertEqual(try config(text + "\ninter.broker.listener.name=CLIENT\n").interBrokerListenerName, "CLIENT")
        XCTAssertEqual(refusedKey(text + "\ninter.broker.listener.name=OTHER\n"), "inter.broker.listener.name")
    }

    func testAdvertisedListenersMustBeBound() {
        XCTAssertEqual(refusedKey(combined + "\nadvertised.listeners=PLAINTEXT://h:9092,EXTRA://h:9094\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTRA:PLAINTEXT\n"),
                       "advertised.listeners")
    }

    /// Kafka 4's stock combined config advertises the controller listener (KIP-853); clients
    /// must still only be told about broker listeners.
    func testControllerListenerIsNeverAdvertisedToClients() throws {
        let c = try config(combined + "\nadvertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093\n")
        XCTAssertEqual(c.advertisedListeners, [ListenerConfig(name: "PLAINTEXT", host: "localhost", port: 9092)])
    }

    func testBadRoleAndBadTimeoutNameTheirKeys() {
        XCTAssertEqual(refusedKey(combined.replacingOccurrences(of: "broker,controller", with: "broker,zookeeper")), "process.roles")
        XCTAssertEqual(refusedKey(combined + "\nbroker.session.timeout.ms=0\n"), "broker.session.timeout.ms")
        XCTAssertEqual(refusedKey(combined + "\ncontroller.quorum.voters=1@nohost\n"), "controller.quorum.voters")
    }

    /// The one line `samsa broker` prints names the key first.
    func testRefusalDescriptionIsOneLineNamingTheKey() {
        do {
            _ = try config(combined.replacingOccurrences(of: "controller.quorum.voters=1@127.0.0.1:9093\n", with: ""))
            XCTFail("accepted")
        } catch {
            XCTAssertTrue(error.description.hasPrefix("controller.quorum.voters: "), error.description)
            XCTAssertFalse(error.description.contains("\n"))
        }
    }
}
