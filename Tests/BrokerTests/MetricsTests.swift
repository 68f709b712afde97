import Foundation
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import NIOPosix
import XCTest
@testable import Broker

/// Names (the JMX mapping rule), escaping, the registry's counters and histograms, the
/// scrape-time gauges, and the HTTP endpoint of a real broker (port in use, shutdown).
final class MetricsTests: XCTestCase {
    // MARK: names

    func testPrometheusNamesFollowTheOneJMXRule() {
        XCTAssertEqual(KafkaMetrics.messagesIn.prometheusName, "kafka_server_brokertopicmetrics_messagesin_total")
        XCTAssertEqual(KafkaMetrics.bytesOut.prometheusName, "kafka_server_brokertopicmetrics_bytesout_total")
        XCTAssertEqual(KafkaMetrics.totalTime.prometheusName, "kafka_network_requestmetrics_totaltimems")
        XCTAssertEqual(KafkaMetrics.requests.prometheusName, "kafka_network_requestmetrics_requests_total")
        XCTAssertEqual(KafkaMetrics.underReplicated.prometheusName, "kafka_server_replicamanager_underreplicatedpartitions")
        XCTAssertEqual(KafkaMetrics.connectionCount.prometheusName, "kafka_server_socket_server_metrics_connection_count")
        XCTAssertEqual(KafkaMetrics.numGroups(state: .preparingRebalance).prometheusName,
                       "kafka_coordinator_group_groupmetadatamanager_numgroupspreparingrebalance")
        XCTAssertEqual(KafkaMetrics.logSize.prometheusName, "kafka_log_log_size")
        XCTAssertEqual(KafkaMetrics.messagesIn.jmxName, "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=<topic>")
        // A gauge whose Kafka name happens to end in PerSec would keep it: only meters drop it.
        XCTAssertEqual(KafkaMetricName("kafka.x", type: "T", name: "FooPerSec", .gauge, help: "").prometheusName, "kafka_x_t_foopersec")
    }

    func testEveryNameIsUniqueAndValid() {
        let names = KafkaMetrics.all.map(\.prometheusName)
        XCTAssertEqual(Set(names).count, names.count, "duplicate names: \(names)")
        for name in names {
            XCTAssertTrue(name.hasPrefix("kafka_"), name)
            XCTAssertTrue(name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }, name)
        }
    }

    func testTheReadmeTableNamesEveryExportedMetric() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let perState = Set(GroupState.allCases.map { KafkaMetrics.numGroups(state: $0).prometheusName })
        for m in KafkaMetrics.all where !perState.contains(m.prometheusName) {
            XCTAssertTrue(text.contains("| `\(m.prometheusName)` |"), "README's metrics table lacks \(m.prometheusName)")
        }
    }

    // MARK: escaping

    func testLabelValuesAreEscapedAsTheTextFormatRequires() {
        XCTAssertEqual(PrometheusTextWriter.escapeLabelValue(#"a"b\c"# + "\nd"), #"a\"b\\c\nd"#)
        XCTAssertEqual(PrometheusTextWriter.escapeLabelValue("plain.topic-1_x}{,="), "plain.topic-1_x}{,=")
        var w = PrometheusTextWriter()
        w.family(KafkaMetrics.connectionCount)
        w.sample(KafkaMetrics.connectionCount.prometheusName, labels: [("listener", "we\"ird\\\nname")], 3)
        let text = String(decoding: w.bytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#"kafka_server_socket_server_metrics_connection_count{listener="we\"ird\\\nname"} 3"#), text)
        XCTAssertTrue(text.contains("# TYPE kafka_server_socket_server_metrics_connection_count gauge\n"), text)
    }

    func testRegistrySeriesEscapeLabelValuesToo() {
        let metrics = BrokerMetrics()
        metrics.topic("t\"x\\y").messagesIn.increment(by: 2)
        let text = String(decoding: metrics.render(gauges: PrometheusTextWriter()), as: UTF8.self)
        XCTAssertTrue(text.contains(#"kafka_server_brokertopicmetrics_messagesin_total{topic="t\"x\\y"} 2"#), text)
    }

    // MARK: instruments

    func testTopicCountersAndTheirRemoval() {
        let metrics = BrokerMetrics()
        let t = metrics.topic("orders")
        XCTAssertTrue(metrics.topic("orders") === t, "a topic's counters are created once")
        t.messagesIn.increment(by: 5)
        t.bytesIn.increment(by: 300)
        var text = String(decoding: metrics.render(gauges: PrometheusTextWriter()), as: UTF8.self)
        XCTAssertTrue(text.contains(#"kafka_server_brokertopicmetrics_messagesin_total{topic="orders"} 5"#), text)
        XCTAssertTrue(text.contains(#"kafka_server_brokertopicmetrics_bytesin_total{topic="orders"} 300"#), text)
        metrics.removeTopics(["orders"])
        text = String(decoding: metrics.render(gauges: PrometheusTextWriter()), as: UTF8.self)
        XCTAssertFalse(text.contains(#"topic="orders""#), text)
    }

    func testRequestMetricsSplitTheTimesAndCountErrorsByName() {
        let metrics = BrokerMetrics()
        let timing = RequestTiming()
        timing.countError(0, times: 2)
        timing.countError(ErrorCode.notLeaderOrFollower.rawValue)
        timing.addRemote(nanoseconds: 3_000_000)
        // received 0, started 1 ms, handled 5 ms (3 of them remote), sent 6 ms.
        metrics.recordRequest(apiKey: ApiKey.fetch.rawValue, version: 11, receivedNs: 0, startedNs: 1_000_000,
                              handledNs: 5_000_000, sentNs: 6_000_000, timing: timing)
        let text = String(decoding: metrics.render(gauges: PrometheusTextWriter()), as: UTF8.self)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_requests_total{request="FetchConsumer",version="11"} 1"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_errors_total{request="FetchConsumer",error="NONE"} 2"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_errors_total{request="FetchConsumer",error="NOT_LEADER_OR_FOLLOWER"} 1"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_totaltimems_sum{request="FetchConsumer"} 6.0"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_requestqueuetimems_sum{request="FetchConsumer"} 1.0"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_localtimems_sum{request="FetchConsumer"} 1.0"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_remotetimems_sum{request="FetchConsumer"} 3.0"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_responsesendtimems_sum{request="FetchConsumer"} 1.0"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_totaltimems_bucket{request="FetchConsumer",le="5.0"} 0"#), text)
        XCTAssertTrue(text.contains(#"kafka_network_requestmetrics_totaltimems_bucket{request="FetchConsumer",le="10.0"} 1"#), text)
    }

    // MARK: scrape-time gauges

    func testScrapeGaugesCountLeadersUnderReplicatedAndUnderMinIsr() {
        func p(_ topic: String, _ i: Int32, leader: Bool, replicas: Int, isr: Int, minIsr: Int = 1) -> BrokerMetricsScrape.PartitionSample {
            .init(topic: topic, partition: i, isLeader: leader, replicas: replicas, isr: isr, minInSyncReplicas: minIsr,
                  sizeBytes: Int64(i) * 100, logStartOffset: 0, logEndOffset: Int64(i), segments: 1)
        }
        var input = BrokerMetricsScrape.Input(
            nodeId: 7, startTimeMs: 1_700_000_000_000, partitions: [p("b", 0, leader: true, replicas: 3, isr: 1, minIsr: 2), p("a", 1, leader: true, replicas: 1, isr: 1),
                         p("a", 0, leader: false, replicas: 3, isr: 2), p("c", 0, leader: true, replicas: 3, isr: 2, minIsr: 2)],
            globalTopics: 3, globalPartitions: 4, offlinePartitions: 1, isActiveController: true,
            connections: [("PLAINTEXT", 2)], groups: [.stable: 2, .empty: 1])
        XCTAssertFalse(String(decoding: BrokerMetricsScrape.write(input).bytes, as: UTF8.self).contains("raft_metrics"),
                       "no quorum metrics without a network quorum")
        input.isrShrinks = 5
        input.isrExpands = 4
        input.raft = (leader: 2, epoch: 9, highWatermark: 1234)
        XCTAssertFalse(String(decoding: BrokerMetricsScrape.write(input).bytes, as: UTF8.self).contains("commit_latency"),
                       "no commit latency on a node that committed nothing as leader")
        input.raftCommitLatency = (avgMs: 2.5, maxMs: 7)
        let text = String(decoding: BrokerMetricsScrape.write(input).bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("kafka_server_raft_metrics_commit_latency_avg 2.5\n"), text)
        XCTAssertTrue(text.contains("kafka_server_raft_metrics_commit_latency_max 7.0\n"), text)
        for line in ["kafka_server_replicamanager_isrshrinks_total 5", "kafka_server_replicamanager_isrexpands_total 4",
                     "kafka_server_raft_metrics_current_leader 2", "kafka_server_raft_metrics_current_epoch 9",
                     "kafka_server_raft_metrics_high_watermark 1234","kafka_server_replicamanager_partitioncount 4", "kafka_server_replicamanager_leadercount 3",
                     "kafka_server_replicamanager_underreplicatedpartitions 2", "kafka_server_replicamanager_underminisrpartitioncount 1",
                     "kafka_controller_kafkacontroller_offlinepartitionscount 1", "kafka_controller_kafkacontroller_activecontrollercount 1",
                     "kafka_coordinator_group_groupmetadatamanager_numgroups 3",
                     "kafka_coordinator_group_groupmetadatamanager_numgroupsstable 2",
                     "kafka_coordinator_group_groupmetadatamanager_numgroupsdead 0",
                     #"kafka_server_app_info_start_time_ms{id="7"} 1700000000000"#,
                     #"kafka_server_socket_server_metrics_connection_count{listener="PLAINTEXT"} 2"#,
                     #"kafka_log_log_size{topic="a",partition="1"} 100"#] {
            XCTAssertTrue(text.contains(line + "\n"), "missing \(line) in\n\(text)")
        }
        // Partitions are written in (topic, partition) order.
        let a0 = text.range(of: #"kafka_log_log_size{topic="a",partition="0"}"#)!, b0 = text.range(of: #"kafka_log_log_size{topic="b",partition="0"}"#)!
        XCTAssertLessThan(a0.lowerBound, b0.lowerBound)
    }

    func testOfflinePartitionsAreThoseWithoutALiveLeader() throws {
        var image = MetadataImage(clusterId: "c", controllerId: 1)
        image = image.applying(.registerBroker(.init(id: 1, endpoints: [], rack: nil, fenced: false)))
        image = image.applying(.registerBroker(.init(id: 2, endpoints: [], rack: nil, fenced: true)))
        let id = KafkaUUID.random()
        image = image.applying(.topic(name: "t", id: id))
        for (i, leader) in [Int32(1), 2, -1, 7].enumerated() {
            image = image.applying(.partition(topicID: id, PartitionRegistration(partition: Int32(i), replicas: [1], isr: [1],
                                                                               leader: leader, leaderEpoch: 0, partitionEpoch: 0)))
        }
        XCTAssertEqual(image.topics["t"]?.partitions.count, 4)
        XCTAssertEqual(BrokerMetricsScrape.offlinePartitionCount(image), 3, "fenced, no leader and an unknown broker are offline")
    }

    // MARK: endpoint

    private var dir = ""
    override func setUp() { dir = "/tmp/samsa-metrics-\(UInt64.random(in: 0...UInt64.max))" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func config(_ extra: String = "") throws -> BrokerConfig {
        try BrokerConfig(properties: PropertiesFile(parsing: "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=\(dir)\n"
            + "offsets.topic.num.partitions=1\nmetrics.listener=http://127.0.0.1:0\n" + extra))
    }

    func testMetricsListenerConfig() throws {
        XCTAssertNil(try BrokerConfig(properties: PropertiesFile(parsing: "log.dirs=/tmp/x\n")).metricsListener, "off by default")
        XCTAssertEqual(try config().metricsListener, ListenerConfig(name: "HTTP", host: "127.0.0.1", port: 0))
        XCTAssertThrowsError(try config("metrics.listener=https://127.0.0.1:9404\n")) { error in
            XCTAssertTrue("\(error)".contains("metrics.listener"), "\(error)")
        }
        XCTAssertThrowsError(try config("metrics.listener=http://127.0.0.1\n"))
    }

    func testEndpointServesCountersThatMoveWithRealRequestsAndAnswers503DuringShutdown() async throws {
        let broker = try await KafkaBroker(config: config(), logger: Logger(label: "test"))
        try await broker.bind()
        let port = try XCTUnwrap(broker.metricsAddress?.port)
        _ = try await broker.services.controller.createTopic(name: "m", numPartitions: 2, replicationFactor: 1)
        // A Produce through the broker's own dispatcher (the socket path is Tests/interop/test_metrics.py's).
        let records = try BrokerHarness.batch(["a", "b", "c"], timestamp: Int64(Date().timeIntervalSince1970 * 1000))
        var request = ProduceRequest()
        request.acks = 1
        request.timeoutMs = 5000
        request.topicData = [.init(name: "m", partitionData: [.init(index: 0, records: records)])]
        var frame = ByteBuffer()
        try request.encode(into: &frame, version: 9, correlationId: 7, clientId: "metrics-test")
        guard case .respond = await broker.registry.dispatch(frame: frame, connection: ConnectionInfo(
            connectionId: 1, clientHost: "127.0.0.1", clientPort: 1, listenerName: "PLAINTEXT")) else { return XCTFail("no response") }

        let (status, body) = try await httpGet(port: port, path: "/metrics")
        XCTAssertEqual(status, 200)
        for line in [#"kafka_server_brokertopicmetrics_messagesin_total{topic="m"} 3"#,
                     #"kafka_server_brokertopicmetrics_bytesin_total{topic="m"} \#(records.readableBytes)"#,
                     #"kafka_server_brokertopicmetrics_totalproducerequests_total{topic="m"} 1"#,
                     "kafka_server_replicamanager_partitioncount 3", "kafka_controller_kafkacontroller_globaltopiccount 2",
                     #"kafka_log_log_size{topic="m",partition="0"} \#(records.readableBytes)"#] {
            XCTAssertTrue(body.contains(line + "\n"), "missing \(line) in\n\(body)")
        }
        let (notFound, _) = try await httpGet(port: port, path: "/other")
        XCTAssertEqual(notFound, 404)

        broker.metrics?.beginShutdown()
        let (unavailable, reason) = try await httpGet(port: port, path: "/metrics")
        XCTAssertEqual(unavailable, 503)
        XCTAssertTrue(reason.contains("shutting down"), reason)
        await broker.shutdown()
    }

    func testAMetricsPortInUseIsAOneLineStartupError() async throws {
        let first = try await KafkaBroker(config: config(), logger: Logger(label: "test"))
        try await first.bind()
        let port = try XCTUnwrap(first.metricsAddress?.port)
        let otherDir = dir + "-2"
        defer { try? FileManager.default.removeItem(atPath: otherDir) }
        let second = try await KafkaBroker(config: BrokerConfig(properties: PropertiesFile(parsing:
            "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=\(otherDir)\noffsets.topic.num.partitions=1\nmetrics.listener=http://127.0.0.1:\(port)\n")),
            logger: Logger(label: "test"))
        do {
            try await second.bind()
            XCTFail("bound a port in use")
        } catch {
            XCTAssertEqual("\(error)", "metrics.listener http://127.0.0.1:\(port): address already in use (is another broker or exporter on this port?)")
        }
        await second.shutdown()
        await first.shutdown()
    }

    // MARK: helpers

    private func httpGet(port: Int, path: String) async throws -> (Int, String) {
        let request = ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        // Until the headers and Content-Length bytes of body are in (or the peer closes).
        let reply = try await rawExchange(port: port, send: request, until: { buffer in
            let text = String(buffer: buffer)
            guard let end = text.range(of: "\r\n\r\n"),
                  let line = text[..<end.lowerBound].split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
                  let length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) else { return false }
            return text.utf8.count - text[..<end.upperBound].utf8.count >= length
        })
        let text = String(buffer: reply)
        let statusLine = text.prefix(while: { $0 != "\r" })
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? -1
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    /// Writes `send`, reads until `until` says enough or the peer closes.
    private func rawExchange(port: Int, send: ByteBuffer, until: @escaping @Sendable (ByteBuffer) -> Bool) async throws -> ByteBuffer {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(send)
            var all = ByteBuffer()
            for try await var chunk in inbound {
                all.writeBuffer(&chunk)
                if until(all) { break }
            }
            return all
        }
    }
}

/// `NetworkProcessorAvgIdlePercent` from the event-loop threads' CPU clocks.
final class NetworkThreadIdleMeterTests: XCTestCase {
    final class FakeClocks: @unchecked Sendable {
        var wall: Int64 = 0
        var cpu: [clockid_t: Int64] = [:]
        var clocks: NetworkThreadIdleMeter.Clocks {
            .init(cpuNanoseconds: { self.cpu[$0] }, wallNanoseconds: { self.wall })
        }
    }

    func testIdleIsOneMinusCpuOverWallPerThreadSinceTheLastSample() {
        let f = FakeClocks()
        f.cpu = [1: 0, 2: 0]
        let meter = NetworkThreadIdleMeter(threadClocks: [1, 2], clocks: f.clocks)
        f.wall = 1_000_000_000
        f.cpu = [1: 250_000_000, 2: 0]          // thread 1 busy a quarter of the second
        let first = meter.sample()
        XCTAssertEqual(first?.perThread, [0.75, 1.0])
        XCTAssertEqual(first?.average, 0.875)
        f.wall = 2_000_000_000
        f.cpu = [1: 250_000_000, 2: 1_000_000_000]   // then thread 2 saturated
        XCTAssertEqual(meter.sample()?.perThread, [1.0, 0.0])
        XCTAssertNil(meter.sample(), "no time passed")
        f.wall = 3_000_000_000
        f.cpu = [1: 250_000_000]                 // thread 2 gone: left out
        XCTAssertEqual(meter.sample()?.perThread, [1.0])
    }

    func testScrapeExportsTheAverageAndEachProcessor() throws {
        var input = BrokerMetricsScrape.Input(nodeId: 1, startTimeMs: 0, partitions: [], globalTopics: 0, globalPartitions: 0,
                                              offlinePartitions: 0, isActiveController: true, connections: [], groups: nil)
        input.networkIdle = (0.875, [0.75, 1.0])
        let text = String(decoding: BrokerMetricsScrape.write(input).bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("kafka_network_socketserver_networkprocessoravgidlepercent 0.875\n"), text)
        XCTAssertTrue(text.contains("kafka_network_processor_idlepercent{networkProcessor=\"0\"} 0.75\n"), text)
        XCTAssertTrue(text.contains("kafka_network_processor_idlepercent{networkProcessor=\"1\"} 1.0\n"), text)
    }

    func testAMeterOverRealEventLoopsReadsTheirThreads() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let meter = await NetworkThreadIdleMeter.make(group: group)
        try await Task.sleep(for: .milliseconds(20))
        let sample = try XCTUnwrap(meter?.sample())
        XCTAssertEqual(sample.perThread.count, 2)
        XCTAssertTrue(sample.perThread.allSatisfy { (0...1).contains($0) })
        try await group.shutdownGracefully()
    }
}
