import KafkaProtocol
import NIOCore
import XCTest
@testable import KafkaClient

/// UNKNOWN_TOPIC_OR_PARTITION in Metadata is retriable (Kafka's producer waits up to
/// `max.block.ms` for the topic): right after a broker restart, a broker whose metadata has not
/// caught up answers it for a topic that exists. `samsa produce` used to exit at once on it.
final class ProducerTopicWaitTests: XCTestCase {
    /// The policy alone, no sockets: unknown twice, then known.
    func testUnknownTopicIsRetriedUntilTheMetadataListsIt() async throws {
        let calls = Locked(0)
        let count = try await KafkaProducer.waitForTopic("t", maxBlock: .seconds(60), backoff: .milliseconds(1)) {
            let n = calls.withLock { $0 += 1; return $0 }
            if n < 3 { throw KafkaClientError.unknownTopic("t") }
            return 3
        }
        XCTAssertEqual(count, 3)
        XCTAssertEqual(calls.withLock { $0 }, 3)
    }

    /// After `max.block.ms` the unknown topic is reported (a topic that really does not exist
    /// and is not auto-created); other errors are not retried here at all.
    func testUnknownTopicFailsAfterMaxBlockAndOtherErrorsAtOnce() async throws {
        let calls = Locked(0)
        do {
            _ = try await KafkaProducer.waitForTopic("t", maxBlock: .zero, backoff: .milliseconds(1)) {
                calls.withLock { $0 += 1 }
                throw KafkaClientError.unknownTopic("t")
            }
            XCTFail("an unknown topic must fail once max.block.ms has passed")
        } catch let error as KafkaClientError {
            XCTAssertEqual(error, .unknownTopic("t"))
        }
        XCTAssertEqual(calls.withLock { $0 }, 1)
        calls.withLock { $0 = 0 }
        do {
            _ = try await KafkaProducer.waitForTopic("t", maxBlock: .seconds(60), backoff: .milliseconds(1)) {
                calls.withLock { $0 += 1 }
                throw KafkaClientError.invalidArgument("boom")
            }
            XCTFail("expected the error")
        } catch let error as KafkaClientError {
            XCTAssertEqual(error, .invalidArgument("boom"))
        }
        XCTAssertEqual(calls.withLock { $0 }, 1)
    }

    func testMaxBlockConfig() throws {
        XCTAssertEqual(try ProducerConfig(properties: ["bootstrap.servers": "h:1"]).maxBlock, .seconds(60))
        XCTAssertEqual(try ProducerConfig(properties: ["bootstrap.servers": "h:1", "max.block.ms": "250"]).maxBlock, .milliseconds(250))
    }

    /// The producer itself, against a scripted in-process broker whose first two Metadata
    /// answers are UNKNOWN_TOPIC_OR_PARTITION (as a just-restarted broker's are): `produce`
    /// waits for the topic instead of failing.
    func testProduceWaitsForATopicTheBrokerDoesNotListYet() async throws {
        let metadataCalls = Locked(0)
        let port = Locked(0)
        let broker = try await FakeBroker { key, version, correlation in
            switch key {
            case 18:
                let apis: [(Int16, Int16, Int16)] = [(18, 0, 0), (3, 1, 1), (0, 3, 3)]
                return FakeBroker.apiVersionsV0(correlationId: correlation, error: version > 0 ? 35 : 0, apis: apis)
            case 3:
                let n = metadataCalls.withLock { $0 += 1; return $0 }
                var response = MetadataResponse()
                response.brokers = [.init(nodeId: 0, host: "127.0.0.1", port: Int32(port.withLock { $0 }))]
                response.controllerId = 0
                var topic = MetadataResponse.MetadataResponseTopic()
                topic.name = "t"
                if n <= 2 {
                    topic.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                } else {
                    var p = MetadataResponse.MetadataResponsePartition()
                    p.partitionIndex = 0
                    p.leaderId = 0
                    p.replicaNodes = [0]
                    p.isrNodes = [0]
                    topic.partitions = [p]
                }
                response.topics = [topic]
                var b = ByteBuffer()
                b.writeInteger(correlation)
                try? response.encode(into: &b, version: version)
                return b
            default:
                return nil  // Produce with acks=0: no response
            }
        }
        port.withLock { $0 = broker.port }
        let producer = try KafkaProducer(properties: ["bootstrap.servers": "127.0.0.1:\(broker.port)", "acks": "0",
                                                      "retry.backoff.ms": "10", "max.block.ms": "60000"])
        try await producer.produce(ProducerRecord(topic: "t", value: ByteBuffer(string: "v")))
        XCTAssertGreaterThanOrEqual(metadataCalls.withLock { $0 }, 3, "the unknown topic was asked for again")
        await producer.close()
        await broker.close()
    }
}
