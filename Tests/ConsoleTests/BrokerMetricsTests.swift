import Foundation
import TerminalUI
import XCTest
@testable import Console

/// Issue 15 item 2: the console reads the brokers' Prometheus endpoints (`--metrics`).
final class BrokerMetricsTests: XCTestCase {
    /// A broker's `/metrics` text as the Samsa broker writes it (names per the JMX rule).
    static func exposition(id: Int32, bytesIn: Int, bytesOut: Int, requests: Int, produce: [(String, Int)], urp: Int) -> String {
        var lines = [
            "# TYPE kafka_server_brokertopicmetrics_bytesin_total counter",
            #"kafka_server_brokertopicmetrics_bytesin_total{topic="orders"} \#(bytesIn - 100)"#,
            #"kafka_server_brokertopicmetrics_bytesin_total{topic="we\"ird\\topic"} 100"#,
            #"kafka_server_brokertopicmetrics_bytesout_total{topic="orders"} \#(bytesOut)"#,
            #"kafka_network_requestmetrics_requests_total{request="Produce",version="9"} \#(requests / 2)"#,
            #"kafka_network_requestmetrics_requests_total{request="FetchConsumer",version="11"} \#(requests - requests / 2)"#,
            "# HELP kafka_server_replicamanager_underreplicatedpartitions Led partitions whose ISR is smaller than the replica set.",
            "kafka_server_replicamanager_underreplicatedpartitions \(urp)",
            #"kafka_server_app_info_start_time_ms{id="\#(id)"} 1700000000000"#,
            #"kafka_network_requestmetrics_totaltimems_bucket{request="FetchConsumer",le="1.0"} 5000"#,
        ]
        for (le, n) in produce { lines.append(#"kafka_network_requestmetrics_totaltimems_bucket{request="Produce",le="\#(le)"} \#(n)"#) }
        return lines.joined(separator: "\n") + "\n"
    }

    func testParserReadsLabelsEscapesAndSpecialValues() throws {
        let samples = try PrometheusTextParser.parse("""
        # HELP x help text
        # TYPE x counter

        x_total{a="1",b="q\\"uote\\\\back\\nline"} 3
        y NaN
        z{le="+Inf"} +Inf 1700000000
        """)
        XCTAssertEqual(samples.count, 3)
        XCTAssertEqual(samples[0], .init(name: "x_total", labels: ["a": "1", "b": "q\"uote\\back\nline"], value: 3))
        XCTAssertTrue(samples[1].value.isNaN)
        XCTAssertEqual(samples[2].value, .infinity)
        XCTAssertThrowsError(try PrometheusTextParser.parse("ok 1\nbad{a=\"x} 2\n")) { error in
            XCTAssertEqual("\(error)", "metrics line 2: unterminated label value of a")
        }
        XCTAssertThrowsError(try PrometheusTextParser.parse("name notanumber"))
    }

    func testReadingSumsTopicsAndRequestsAndFindsTheBroker() throws {
        let text = Self.exposition(id: 2, bytesIn: 5000, bytesOut: 700, requests: 11, produce: [("0.5", 10), ("1.0", 20), ("+Inf", 20)], urp: 1)
        let r = try BrokerMetricsReading.parse(text, endpoint: "http://h:1/metrics")
        XCTAssertEqual(r.brokerId, 2)
        XCTAssertEqual(r.bytesIn, 5000)
        XCTAssertEqual(r.bytesOut, 700)
        XCTAssertEqual(r.requests, 11)
        XCTAssertEqual(r.underReplicated, 1)
        XCTAssertEqual(r.produceLatencyBuckets.map(\.upperBound), [0.5, 1.0, .infinity], "only Produce's buckets, sorted")
    }

    func testQuantileInterpolatesLikeHistogramQuantile() {
        typealias B = BrokerMetricsReading.HistogramBucket
        XCTAssertNil(BrokerMetricsReading.quantile(0.99, [B(upperBound: 1, count: 0), B(upperBound: .infinity, count: 0)]))
        // 100 observations, all in (1, 2]: rank 99 sits 99% of the way through that bucket.
        XCTAssertEqual(BrokerMetricsReading.quantile(0.99, [B(upperBound: 1, count: 0), B(upperBound: 2, count: 100), B(upperBound: .infinity, count: 100)])!,
                       1.99, accuracy: 1e-9)
        // Beyond the last finite bound: that bound.
        XCTAssertEqual(BrokerMetricsReading.quantile(0.99, [B(upperBound: 1, count: 1), B(upperBound: .infinity, count: 10)]), 1)
        XCTAssertNil(BrokerMetricsReading.delta([B(upperBound: 1, count: 1)], [B(upperBound: 1, count: 5)]), "a counter reset is no delta")
    }

    /// Three samples 2 s apart; broker 1's endpoint gains 2,000 bytes in, 500 out and 10
    /// requests per sample, with every new produce request between 1 and 2 ms.
    static func snapshotWithMetrics(samples: Int = 3, failBroker2: Bool = false) -> (ClusterSnapshot, Date) {
        let f = FixtureCluster()
        var state = SamplerState()
        var snap = ClusterSnapshot.empty(bootstrap: "fixture:9092")
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var t = start
        for i in 0..<samples {
            t = start.addingTimeInterval(Double(i) * 2)
            var raw = f.raw(at: t)
            let produced = 5 * (i + 1)
            let text = exposition(id: 1, bytesIn: 2000 * (i + 1), bytesOut: 500 * (i + 1), requests: 10 * (i + 1),
                                  produce: [("1.0", 0), ("2.0", produced), ("+Inf", produced)], urp: 1)
            raw.brokerMetrics = [.init(endpoint: "http://10.0.0.1:9404/metrics",
                                       result: .success(try! BrokerMetricsReading.parse(text, endpoint: "http://10.0.0.1:9404/metrics")))]
            let two = exposition(id: 2, bytesIn: 100, bytesOut: 0, requests: 1, produce: [("+Inf", 0)], urp: 0)
            raw.brokerMetrics.append(.init(endpoint: "http://10.0.0.2:9404/metrics",
                                           result: failBroker2 && i == samples - 1
                                               ? .failure(SourceError("http://10.0.0.2:9404/metrics: HTTP 503: broker 2 is shutting down"))
                                               : .success(try! BrokerMetricsReading.parse(two, endpoint: "http://10.0.0.2:9404/metrics"))))
            snap = state.ingest(raw, bootstrap: "fixture:9092")
        }
        return (snap, t)
    }

    func testSamplerTurnsScrapesIntoRatesP99AndHistory() throws {
        let (snap, _) = Self.snapshotWithMetrics(failBroker2: true)
        let m = try XCTUnwrap(snap.brokers.first { $0.id == 1 }?.metrics)
        XCTAssertEqual(m.bytesInPerSecond!, 1000, accuracy: 1e-9)
        XCTAssertEqual(m.bytesOutPerSecond!, 250, accuracy: 1e-9)
        XCTAssertEqual(m.requestsPerSecond!, 5, accuracy: 1e-9)
        XCTAssertEqual(m.bytesInHistory, [1000, 1000])
        XCTAssertEqual(m.underReplicated, 1)
        XCTAssertEqual(m.produceP99Ms!, 1.99, accuracy: 1e-9)
        XCTAssertEqual(m.endpoint, "http://10.0.0.1:9404/metrics")
        let two = try XCTUnwrap(snap.brokers.first { $0.id == 2 }?.metrics)
        XCTAssertEqual(two.error, "http://10.0.0.2:9404/metrics: HTTP 503: broker 2 is shutting down",
                       "a failed scrape is charged to the broker that answered there before")
        XCTAssertNil(snap.brokers.first { $0.id == 3 }?.metrics, "no endpoint, no metrics")
        XCTAssertNil(two.produceP99Ms, "no produce requests in the window")
    }

    func testWithoutEndpointsNothingChanges() throws {
        let (snap, _) = FixtureCluster.snapshot(samples: 2)
        XCTAssertTrue(snap.brokers.allSatisfy { $0.metrics == nil })
        let json = try HeadlessReport.render(snap, format: .json)
        XCTAssertFalse(json.contains("\"metrics\""), "the --once JSON has no metrics keys without an endpoint")
        XCTAssertEqual(Presenters.brokers(snap, filter: TextFilter("")).columns.map(\.title),
                       ["ID", "HOST:PORT", "RACK", "ROLE", "CTRL", "QUORUM", "STATUS", "LEADS", "REPL", "URP", "LOG DIRS"])
    }

    func testHeadlessJSONAndTextIncludeTheMetrics() throws {
        let (snap, _) = Self.snapshotWithMetrics()
        let json = try HeadlessReport.render(snap, format: .json)
        XCTAssertTrue(json.contains("\"bytesInPerSecond\" : 1000"), json)
        XCTAssertTrue(json.contains("\"produceP99Ms\" : 1.99"), json)
        let text = try HeadlessReport.render(snap, format: .text)
        let header = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("ID") })
        XCTAssertTrue(header.contains("IN/S") && header.contains("P99 PROD") && header.contains("URP"), String(header))
        let row1 = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("10.0.0.1:9092") })
        XCTAssertTrue(row1.contains("1000 B") && row1.contains("250 B") && row1.contains("1.99 ms"), String(row1))
    }

    func testEndpointParsing() throws {
        XCTAssertEqual(try MetricsEndpoint(parsing: "http://broker-1:9404"), MetricsEndpoint(host: "broker-1", port: 9404))
        XCTAssertEqual(try MetricsEndpoint(parsing: "http://[::1]:9404/m").description, "http://[::1]:9404/m")
        XCTAssertEqual(try MetricsEndpoint.parseList("http://a:1, http://b:2").map(\.port), [1, 2])
        XCTAssertThrowsError(try MetricsEndpoint(parsing: "https://a:1"))
        XCTAssertThrowsError(try MetricsEndpoint(parsing: "http://a"))
        XCTAssertThrowsError(try MetricsEndpoint(parsing: "http://a:0"))
    }
}

/// The brokers pane at 80x24 with metrics, on the virtual terminal.
final class BrokerMetricsScreenTests: ScreenTestCase {
    func testBrokersPaneShowsTrafficLatencyAndSparklines() throws {
        (snap, now) = BrokerMetricsTests.snapshotWithMetrics(samples: 4)
        press(.char("1"))
        XCTAssertTrue(vt.contains("IN/S"), vt.text)
        XCTAssertTrue(vt.contains("P99 PROD"), vt.text)
        let row = try XCTUnwrap(vt.rowIndex(containing: "10.0.0.1:9092"), vt.text)
        let line = vt.row(row)
        XCTAssertTrue(line.contains("1000 B") && line.contains("1.99 ms"), line)
        XCTAssertTrue(line.contains("▁") || line.contains("█") || line.contains("▄"), "sparkline drawn: \(line)")
    }
}
