import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// The request log line (`samsa broker --log-level debug`): api, version, correlation id,
/// client id, non-zero error codes and the time split, read from the request frame.
final class RequestLogTests: XCTestCase {
    private let connection = ConnectionInfo(connectionId: 4, clientHost: "10.0.0.9", clientPort: 5555, listenerName: "PLAINTEXT")

    private func frame<R: KafkaRequest>(_ request: R, version: Int16, correlation: Int32, clientId: String?) throws -> ByteBuffer {
        var buffer = try request.encodeFrame(version: version, correlationId: correlation, clientId: clientId)
        buffer.moveReaderIndex(forwardBy: 4)  // the server hands dispatch the frame without its size
        return buffer
    }

    private let times = RequestLog.Times(receivedNs: 1_000_000, startedNs: 1_050_000, handledNs: 3_250_000,
                                         sentNs: 3_300_000, remoteNs: 1_000_000)

    func testProduceLineNamesApiVersionCorrelationClientAndTimes() throws {
        let f = try frame(ProduceRequest(acks: -1, timeoutMs: 1000), version: 9, correlation: 42, clientId: "rdkafka")
        let line = RequestLog.line(frame: f, connection: connection, errors: [0: 3], times: times, responded: true)
        XCTAssertEqual(line, "Completed request api=Produce version=9 correlation=42 client_id=rdkafka listener=PLAINTEXT "
                       + "principal=User:ANONYMOUS total_ms=2.300 queue_ms=0.050 local_ms=1.200 remote_ms=1.000 send_ms=0.050")
    }

    func testNonZeroErrorCodesAreListedByName() throws {
        let f = try frame(MetadataRequest(), version: 12, correlation: 7, clientId: "c")
        let line = RequestLog.line(frame: f, connection: connection, errors: [0: 2, 3: 1, 6: 2], times: times, responded: true)
        XCTAssertTrue(line.contains(" errors=UNKNOWN_TOPIC_OR_PARTITION(3),NOT_LEADER_OR_FOLLOWER(6)x2 "), line)
        XCTAssertTrue(line.hasPrefix("Completed request api=Metadata version=12 correlation=7 client_id=c "), line)
    }

    func testAcksZeroAndOddClientIds() throws {
        let f = try frame(ProduceRequest(acks: 0), version: 3, correlation: 1, clientId: "my client\n")
        let line = RequestLog.line(frame: f, connection: connection, errors: [:], times: times, responded: false)
        XCTAssertTrue(line.contains(#" client_id="my client\n" "#), line)
        XCTAssertTrue(line.contains(" response=none "), line)
        XCTAssertFalse(line.contains("errors="), line)
        let null = try frame(ApiVersionsRequest(), version: 0, correlation: 2, clientId: nil)
        XCTAssertTrue(RequestLog.line(frame: null, connection: connection, errors: [:], times: times, responded: true)
            .contains("api=ApiVersions version=0 correlation=2 client_id=null "))
    }

    func testControlledShutdownV0HasNoClientId() throws {
        let f = try frame(ControlledShutdownRequest(brokerId: 1), version: 0, correlation: 5, clientId: nil)
        let line = RequestLog.line(frame: f, connection: connection, errors: [:], times: times, responded: true)
        XCTAssertTrue(line.hasPrefix("Completed request api=ControlledShutdown version=0 correlation=5 listener=PLAINTEXT "), line)
    }

    func testTruncatedHeader() {
        var f = ByteBuffer()
        f.writeInteger(Int16(0))
        let line = RequestLog.line(frame: f, connection: connection, errors: [:], times: times, responded: true)
        XCTAssertTrue(line.contains("header unreadable"), line)
    }

    func testMillis() {
        XCTAssertEqual(RequestLog.millis(0), "0.000")
        XCTAssertEqual(RequestLog.millis(-5), "0.000")
        XCTAssertEqual(RequestLog.millis(1_234_567), "1.234")
        XCTAssertEqual(RequestLog.millis(12_005_000_000), "12005.000")
    }
}
