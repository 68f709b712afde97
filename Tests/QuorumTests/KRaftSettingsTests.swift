@testable import Quorum
import XCTest

final class KRaftSettingsTests: XCTestCase {
    func testNoRolesIsTheSingleNodeDefault() throws {
        let settings = try KRaftSettings(properties: ["listeners": "PLAINTEXT://:9092"])
        XCTAssertTrue(settings.isEmbeddedSingleNode)
        XCTAssertEqual(settings.roles, [.broker, .controller])
        XCTAssertEqual(settings.nodeId, 1)
        let config = settings.quorumConfig(clusterId: "c")
        XCTAssertEqual(config.voters, [1])
        XCTAssertEqual(config.electionTimeoutMs, 1000)
        XCTAssertEqual(config.fetchTimeoutMs, 2000)
        XCTAssertEqual(config.electionBackoffMaxMs, 1000)
        XCTAssertEqual(settings.brokerSessionTimeoutMs, 9000)
        XCTAssertEqual(settings.brokerHeartbeatIntervalMs, 2000)
        XCTAssertEqual(settings.appendLingerMs, 25)
    }

    let controller: [String: String] = [
        "process.roles": "controller",
        "node.id": "2",
        "controller.quorum.voters": "1@c1:9093,2@c2:9093,3@[::1]:9093",
        "controller.listener.names": "CONTROLLER",
        "listeners": "CONTROLLER://:9093",
        "controller.quorum.election.timeout.ms": "1500",
    ]

    func testAThreeVoterController() throws {
        let settings = try KRaftSettings(properties: controller)
        XCTAssertEqual(settings.roles, [.controller])
        XCTAssertEqual(settings.voters.map(\.id), [1, 2, 3])
        XCTAssertEqual(settings.voters[2].host, "::1")
        XCTAssertEqual(settings.voters[2].port, 9093)
        XCTAssertEqual(settings.quorumConfig(clusterId: nil).electionTimeoutMs, 1500)
    }

    /// Each configuration that cannot work is one line naming the key.
    func testConfigurationsThatCannotWork() {
        func error(_ changes: [String: String?]) -> String? {
            var properties = controller
            for (k, v) in changes { properties[k] = v }
            do { _ = try KRaftSettings(properties: properties); return nil } catch { return error.description }
        }
        XCTAssertEqual(error(["controller.quorum.voters": nil]),
                       "controller.quorum.voters: no controllers: set controller.quorum.voters (id@host:port,...) or controller.quorum.bootstrap.servers")
        XCTAssertEqual(error(["node.id": "7"]),
                       "controller.quorum.voters: this node (node.id=7) has the controller role but is not one of the voters 1,2,3")
        XCTAssertEqual(error(["process.roles": "broker", "listeners": "PLAINTEXT://:9092"]),
                       "controller.quorum.voters: node.id=2 is a voter, but process.roles=broker (a voter must have the controller role)")
        XCTAssertEqual(error(["listeners": "PLAINTEXT://:9092"]),
                       "controller.listener.names: CONTROLLER is not in listeners (PLAINTEXT://:9092)")
        XCTAssertEqual(error(["controller.listener.names": nil]),
                       "controller.listener.names: must name at least one listener when process.roles is set")
        XCTAssertEqual(error(["process.roles": "broker,zookeeper"]),
                       "process.roles: unknown role \"zookeeper\" (expected broker, controller or both)")
        XCTAssertEqual(error(["process.roles": "controller,controller"]), "process.roles: duplicate role \"controller\"")
        XCTAssertEqual(error(["node.id": nil]), "node.id: is required when process.roles is set")
        XCTAssertEqual(error(["controller.quorum.voters": "1@c1"]), "controller.quorum.voters: \"1@c1\" is not id@host:port")
        XCTAssertEqual(error(["controller.quorum.voters": "1@a:1,1@b:2"]), "controller.quorum.voters: lists a node id twice")
        XCTAssertEqual(error(["controller.quorum.fetch.timeout.ms": "soon"]),
                       "controller.quorum.fetch.timeout.ms: must be an integer >= 1, got \"soon\"")
        XCTAssertNil(error(["controller.quorum.voters": nil, "controller.quorum.bootstrap.servers": "c1:9093,c2:9093"]),
                     "bootstrap servers instead of static voters are accepted")
    }
}
