import XCTest
@testable import KafkaClient

final class ConnectionIntegrationTests: XCTestCase {
    func testConnectNegotiatesApiVersions() async throws {
        let bootstrap = try integrationBootstrap()
        let config = try ClientConfig(bootstrapServers: bootstrap)
        let connection = try await BrokerConnection.connect(to: config.bootstrapServers[0], nodeId: -1, config: config)
        defer { connection.close() }
        // Every Kafka-compatible broker supports Metadata (3) and ApiVersions (18).
        XCTAssertNotNil(connection.brokerVersions(for: 3))
        XCTAssertNotNil(connection.brokerVersions(for: 18))
        XCTAssertEqual(connection.version(for: 3, supported: 0...1), 1)
    }

    func testConnectionRefusedIsATypedError() async throws {
        let config = try ClientConfig(bootstrapServers: "127.0.0.1:1")
        do {
            _ = try await BrokerConnection.connect(to: config.bootstrapServers[0], nodeId: -1, config: config)
            XCTFail("connected to a closed port")
        } catch let error as KafkaClientError {
            guard case .connectionFailed = error else { return XCTFail("unexpected \(error)") }
        }
    }
}
