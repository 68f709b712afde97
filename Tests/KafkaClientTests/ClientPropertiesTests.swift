import XCTest
@testable import KafkaClient

final class ClientPropertiesTests: XCTestCase {
    func testParsesJavaPropertiesSyntax() throws {
        let text = """
        # comment
        ! also a comment
        bootstrap.servers=localhost:9092,other:9093
        client.id : my-client
        sasl.jaas.config  value with spaces
          linger.ms=10
        long.value=first \\
            second
        escaped\\=key=a\\tb\\u0041
        empty.value=
        """
        let p = try ClientProperties.parse(text)
        XCTAssertEqual(p["bootstrap.servers"], "localhost:9092,other:9093")
        XCTAssertEqual(p["client.id"], "my-client")
        XCTAssertEqual(p["sasl.jaas.config"], "value with spaces")
        XCTAssertEqual(p["linger.ms"], "10")
        XCTAssertEqual(p["long.value"], "first second")
        XCTAssertEqual(p["escaped=key"], "a\tbA")
        XCTAssertEqual(p["empty.value"], "")
    }

    func testMalformedUnicodeEscapeIsATypedError() {
        XCTAssertThrowsError(try ClientProperties.parse("a=\\u12")) { error in
            guard case .propertiesFile(_, 1, _) = error as? KafkaClientError else {
                return XCTFail("unexpected \(error)")
            }
        }
    }

    func testLoadFromFile() throws {
        let path = NSTemporaryDirectory() + "samsa-client-\(UInt32.random(in: 0...UInt32.max)).properties"
        try "bootstrap.servers=127.0.0.1:1\nacks=1\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ProducerConfig(properties: try ClientProperties.load(path: path))
        XCTAssertEqual(config.acks, .leader)
        // acks=1 set explicitly turns the idempotence default off, as in Java.
        XCTAssertFalse(config.enableIdempotence)
        XCTAssertThrowsError(try ClientProperties.load(path: path + ".missing"))
    }

    func testProducerDefaultsAreModernKafkas() throws {
        let config = try ProducerConfig(properties: ["bootstrap.servers": "h:1"])
        XCTAssertEqual(config.acks, .all)
        XCTAssertTrue(config.enableIdempotence)
        XCTAssertEqual(config.linger, .milliseconds(5))
        XCTAssertEqual(config.batchSize, 16384)
        XCTAssertEqual(config.compression, CompressionType.none)
    }

    func testContradictoryIdempotenceIsRejected() {
        XCTAssertThrowsError(try ProducerConfig(properties: ["bootstrap.servers": "h:1", "acks": "1", "enable.idempotence": "true"]))
    }

    func testInvalidValuesNameTheKey() {
        XCTAssertThrowsError(try ProducerConfig(properties: ["bootstrap.servers": "h:1", "linger.ms": "soon"])) { error in
            XCTAssertEqual((error as? KafkaClientError)?.description, "invalid value 'soon' for linger.ms: expected an integer")
        }
        XCTAssertThrowsError(try ClientConfig(properties: [:]))
        XCTAssertThrowsError(try ClientConfig(properties: ["bootstrap.servers": "h:99999"]))
        XCTAssertThrowsError(try ConsumerConfig(properties: ["bootstrap.servers": "h:1", "auto.offset.reset": "sideways"]))
    }

    func testBrokerAddressParsing() throws {
        XCTAssertEqual(try BrokerAddress(parsing: "kafka:9093"), BrokerAddress(host: "kafka", port: 9093))
        XCTAssertEqual(try BrokerAddress(parsing: "PLAINTEXT://kafka:9093"), BrokerAddress(host: "kafka", port: 9093))
        XCTAssertEqual(try BrokerAddress(parsing: "[::1]:19092"), BrokerAddress(host: "::1", port: 19092))
        XCTAssertEqual(try BrokerAddress(parsing: "kafka"), BrokerAddress(host: "kafka", port: 9092))
        XCTAssertThrowsError(try BrokerAddress(parsing: ":9092"))
    }

    func testConsumerConfigAssignmentStrategies() throws {
        let c = try ConsumerConfig(properties: [
            "bootstrap.servers": "h:1",
            "partition.assignment.strategy": "org.apache.kafka.clients.consumer.RoundRobinAssignor, range",
        ])
        XCTAssertEqual(c.assignmentStrategies, [.roundRobin, .range])
        let d = try ConsumerConfig(properties: ["bootstrap.servers": "h:1"])
        XCTAssertEqual(d.assignmentStrategies, [.range, .cooperativeSticky])
        XCTAssertEqual(d.autoOffsetReset, .latest)
    }
}
