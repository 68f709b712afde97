import XCTest
@testable import Broker

final class PropertiesFileTests: XCTestCase {
    func testSeparatorsCommentsContinuationsAndEscapes() {
        let text = """
        # comment
        ! another comment
          node.id=3
        listeners : PLAINTEXT://127.0.0.1:9092
        log.dirs /a,\\
            /b
        weird\\=key=v\\u0041l\\tue
        empty.key
        node.id=4
        """
        let p = PropertiesFile(parsing: text)
        XCTAssertEqual(p["node.id"], "4", "a repeated key keeps its last value")
        XCTAssertEqual(p["listeners"], "PLAINTEXT://127.0.0.1:9092")
        XCTAssertEqual(p["log.dirs"], "/a,/b")
        XCTAssertEqual(p["weird=key"], "vAl\tue")
        XCTAssertEqual(p["empty.key"], "")
        XCTAssertEqual(p.entries.map(\.key), ["node.id", "listeners", "log.dirs", "weird=key", "empty.key"])
        XCTAssertEqual(p.entries.first(where: { $0.key == "listeners" })?.line, 4)
    }

    func testWindowsLineEndings() {
        let p = PropertiesFile(parsing: "a=1\r\nb=2\r\n")
        XCTAssertEqual(p["a"], "1")
        XCTAssertEqual(p["b"], "2")
    }
}

final class BrokerConfigTests: XCTestCase {
    private func config(_ text: String, overrides: [String] = []) throws -> BrokerConfig {
        var p = PropertiesFile(parsing: text)
        for o in overrides {
            let kv = o.split(separator: "=", maxSplits: 1).map(String.init)
            p.set(.init(key: kv[0], value: kv[1], line: 0))
        }
        return try BrokerConfig(properties: p)
    }

    func testDefaultsMatchKafka() throws {
        let c = BrokerConfig()
        XCTAssertEqual(c.nodeId, 1)
        XCTAssertEqual(c.listeners, [ListenerConfig(name: "PLAINTEXT", host: "", port: 9092)])
        XCTAssertEqual(c.logDirs, ["/tmp/kafka-logs"])
        XCTAssertEqual(c.numPartitions, 1)
        XCTAssertTrue(c.autoCreateTopicsEnable)
        XCTAssertEqual(c.messageMaxBytes, 1_048_588)
        XCTAssertEqual(c.socketRequestMaxBytes, 104_857_600)
        XCTAssertEqual(c.offsetsTopicNumPartitions, 50)
        XCTAssertEqual(c.groupInitialRebalanceDelayMs, 3000)
        XCTAssertEqual(try c.topicDefault("retention.ms").value, "604800000")
        XCTAssertEqual(try c.topicDefault("retention.ms").source, .defaultConfig)
    }

    func testTypicalServerProperties() throws {
        let c = try config("""
        node.id=2
        listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093
        controller.listener.names=CONTROLLER
        advertised.listeners=PLAINTEXT://localhost:19092
        log.dirs=/data/a, /data/b
        num.partitions=3
        auto.create.topics.enable=false
        log.retention.hours=24
        log.segment.bytes=1048576
        offsets.topic.num.partitions=5
        """)
        XCTAssertEqual(c.nodeId, 2)
        XCTAssertEqual(c.listeners, [ListenerConfig(name: "PLAINTEXT", host: "127.0.0.1", port: 19092)],
                       "controller listeners are not client listeners")
        XCTAssertEqual(c.advertisedListeners.first?.host, "localhost")
        XCTAssertEqual(c.logDirs, ["/data/a", "/data/b"])
        XCTAssertEqual(c.numPartitions, 3)
        XCTAssertFalse(c.autoCreateTopicsEnable)
        XCTAssertEqual(c.offsetsTopicNumPartitions, 5)
        let retention = try c.topicDefault("retention.ms")
        XCTAssertEqual(retention.value, "86400000", "hours are scaled to the topic key's milliseconds")
        XCTAssertEqual(retention.source, .staticBrokerConfig)
        XCTAssertEqual(retention.synonym, "log.retention.hours")
        XCTAssertEqual(try c.topicDefault("segment.bytes").value, "1048576")
        XCTAssertEqual(c.brokerValue("num.partitions").source, .staticBrokerConfig)
        XCTAssertEqual(c.brokerValue("message.max.bytes").source, .defaultConfig)
    }

    func testRetentionPrecedenceMsOverMinutesOverHours() throws {
        let c = try config("log.retention.hours=1\nlog.retention.minutes=2\nlog.retention.ms=3")
        XCTAssertEqual(try c.topicDefault("retention.ms").value, "3")
        let d = try config("log.retention.hours=1\nlog.retention.minutes=2")
        XCTAssertEqual(try d.topicDefault("retention.ms").value, "120000")
        let e = try config("log.retention.ms=-1")
        XCTAssertEqual(try e.topicDefault("retention.ms").value, "-1")
    }

    func testBrokerIdIsASynonymOfNodeId() throws {
        XCTAssertEqual(try config("broker.id=7").nodeId, 7)
        XCTAssertThrowsError(try config("broker.id=7\nnode.id=8")) { error in
            XCTAssertEqual((error as? ConfigError).map { "\($0)" }?.contains("broker.id"), true)
        }
    }

    func testUnknownKeyIsAWarningNotAnError() throws {
        let c = try config("zookeeper.connect=localhost:2181\nretention.ms=5")
        XCTAssertEqual(c.warnings.count, 2)
        XCTAssertTrue(c.warnings[0].contains("zookeeper.connect"))
        XCTAssertTrue(c.warnings[1].contains("topic config"))
    }

    func testInvalidValuesNameTheKey() {
        let cases: [(String, String)] = [
            ("num.partitions=zero", "num.partitions"),
            ("num.partitions=0", "num.partitions"),
            ("auto.create.topics.enable=yes", "auto.create.topics.enable"),
            ("log.segment.bytes=10", "log.segment.bytes"),
            ("listeners=PLAINTEXT://:99999", "listeners"),
            ("listeners=localhost:9092", "listeners"),
            ("listeners=SASL_SSL://:9093", "sasl.enabled.mechanisms"),   // Kafka's default GSSAPI
            ("listeners=SECURE://:9093", "listener.security.protocol.map"),
            ("listener.name.ssl.ssl.client.auth=sometimes", "listener.name.ssl.ssl.client.auth"),
            ("advertised.listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners"),
            ("message.max.bytes=3000000000", "message.max.bytes"),
            ("compression.type=brotli", "compression.type"),
            ("log.cleanup.policy=delete,shred", "log.cleanup.policy"),
            ("group.min.session.timeout.ms=50000\ngroup.max.session.timeout.ms=100", "group.max.session.timeout.ms"),
            ("cluster.id=has space", "cluster.id"),
        ]
        for (text, key) in cases {
            XCTAssertThrowsError(try config(text), text) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(key), "\(message) should name \(key)")
            }
        }
    }

    /// SSL listeners (issue 14): the protocol comes from the map or the name, and
    /// `listener.name.<l>.ssl.*` wins over the broker-wide key for that listener only.
    func testSSLListenersAndPerListenerOverrides() throws {
        let c = try config("""
            listeners=PLAINTEXT://:9092,SSL://:9093,MTLS://:9094
            listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL
            ssl.keystore.type=PEM
            ssl.keystore.location=/etc/ks.pem
            ssl.client.auth=requested
            listener.name.mtls.ssl.client.auth=required
            listener.name.mtls.ssl.keystore.location=/etc/mtls.pem
            """)
        XCTAssertEqual(c.listenerSecurityProtocols, ["PLAINTEXT": .plaintext, "SSL": .ssl, "MTLS": .ssl])
        XCTAssertTrue(c.warnings.isEmpty, "\(c.warnings)")
        let ssl = c.sslSettings(listener: "SSL"), mtls = c.sslSettings(listener: "MTLS")
        XCTAssertEqual(ssl.value("ssl.client.auth")?.value, "requested")
        XCTAssertEqual(mtls.value("ssl.client.auth")?.value, "required")
        XCTAssertEqual(mtls.value("ssl.keystore.location"), .init(key: "listener.name.mtls.ssl.keystore.location", value: "/etc/mtls.pem"))
        XCTAssertEqual(ssl.value("ssl.keystore.location")?.value, "/etc/ks.pem")
        XCTAssertEqual(ssl.list("ssl.enabled.protocols").items, ["TLSv1.2", "TLSv1.3"])
        // Secrets stay out of the values DescribeConfigs reports.
        let secret = try config("ssl.key.password=hunter2")
        XCTAssertNil(secret.explicitValues["ssl.key.password"])
    }

    func testOverridesWin() throws {
        let c = try config("num.partitions=3", overrides: ["num.partitions=6", "listeners=PLAINTEXT://[::1]:9093"])
        XCTAssertEqual(c.numPartitions, 6)
        XCTAssertEqual(c.listeners, [ListenerConfig(name: "PLAINTEXT", host: "::1", port: 9093)])
        XCTAssertThrowsError(try BrokerConfig.load(path: nil, overrides: ["novalue"])) { error in
            XCTAssertEqual(error as? ConfigError, .malformedOverride("novalue"))
        }
    }

    func testLoadReportsUnreadableFile() {
        XCTAssertThrowsError(try BrokerConfig.load(path: "/nonexistent/server.properties", overrides: [])) { error in
            guard case .unreadableFile(let path, _)? = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/server.properties")
        }
    }

    func testEffectiveTopicConfigOverlaysOverrides() throws {
        let c = try config("log.segment.bytes=2000000")
        let eff = c.effectiveTopicConfig(["cleanup.policy": "compact"])
        XCTAssertEqual(eff["cleanup.policy"], "compact")
        XCTAssertEqual(eff["segment.bytes"], "2000000")
        XCTAssertEqual(eff["max.message.bytes"], "1048588")
        XCTAssertThrowsError(try TopicConfigKeys.validate("retention.ms", "soon"))
        XCTAssertThrowsError(try TopicConfigKeys.validate("no.such.key", "1"))
    }

    /// Kafka 4.0's own config/server.properties (comments dropped) must load as it is.
    func testKafkasStockServerPropertiesLoads() throws {
        let c = try config("""
        process.roles=broker,controller
        node.id=1
        controller.quorum.bootstrap.servers=localhost:9093
        listeners=PLAINTEXT://:9092,CONTROLLER://:9093
        inter.broker.listener.name=PLAINTEXT
        advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
        controller.listener.names=CONTROLLER
        listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
        num.network.threads=3
        num.io.threads=8
        socket.send.buffer.bytes=102400
        socket.receive.buffer.bytes=102400
        socket.request.max.bytes=104857600
        log.dirs=/tmp/kraft-combined-logs
        num.partitions=1
        num.recovery.threads.per.data.dir=1
        offsets.topic.replication.factor=1
        share.coordinator.state.topic.replication.factor=1
        share.coordinator.state.topic.min.isr=1
        transaction.state.log.replication.factor=1
        transaction.state.log.min.isr=1
        log.retention.hours=168
        log.segment.bytes=1073741824
        log.retention.check.interval.ms=300000
        """)
        XCTAssertEqual(c.warnings, [], "every stock key is known")
        XCTAssertEqual(c.listeners, [ListenerConfig(name: "PLAINTEXT", host: "", port: 9092)])
        XCTAssertEqual(c.advertisedListeners.first, ListenerConfig(name: "PLAINTEXT", host: "localhost", port: 9092))
        XCTAssertEqual(c.logDirs, ["/tmp/kraft-combined-logs"])
    }
}

/// KIP-651 inline PEM values arrive joined onto one line; they must come back as valid PEM.
final class ListenerTLSPEMTests: XCTestCase {
    func testNormalizePEMRewrapsOneLineBlocks() {
        let body = String(repeating: "QUJD", count: 40)   // 160 base64 characters
        let oneLine = "-----BEGIN CERTIFICATE----- \(body.prefix(70)) \(body.dropFirst(70)) -----END CERTIFICATE----- "
            + "-----BEGIN PRIVATE KEY----- QUJD -----END PRIVATE KEY-----"
        let out = ListenerTLS.normalizePEM(oneLine)
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, ["-----BEGIN CERTIFICATE-----", String(body.prefix(64)), String(body.dropFirst(64).prefix(64)),
                               String(body.dropFirst(128)), "-----END CERTIFICATE-----",
                               "-----BEGIN PRIVATE KEY-----", "QUJD", "-----END PRIVATE KEY-----"])
        XCTAssertEqual(ListenerTLS.normalizePEM("no pem here"), "")
    }
}
