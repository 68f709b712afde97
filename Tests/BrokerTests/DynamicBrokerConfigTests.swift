import KafkaProtocol
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Kafka's dynamic broker configs: AlterConfigs/IncrementalAlterConfigs on BROKER resources
/// (this broker's id and the cluster default ""), persisted in the metadata log, applied to the
/// topic defaults of live logs without their own override, and described with Kafka's sources.
final class DynamicBrokerConfigTests: XCTestCase {
    func testDynamicBrokerConfigsApplyToLiveLogsAndSurviveRestart() async throws {
        let dir = "/tmp/samsa-broker-h-\(UInt64.random(in: 0...UInt64.max))"
        let h = try BrokerHarness(properties: "log.segment.bytes=300000", dir: dir)
        try h.createTopic("t")
        try h.createTopic("own", configs: ["retention.ms": "9000"])

        var inc = IncrementalAlterConfigsRequest()
        inc.resources = [.init(resourceType: 4, resourceName: "1", configs: [
            .init(name: "log.retention.ms", configOperation: 0, value: "5000"),
            .init(name: "log.segment.bytes", configOperation: 0, value: "200000")])]
        do { let value = try await h.send(inc, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        XCTAssertEqual(h.services.metadata.image.brokerConfigs["1"], ["log.retention.ms": "5000", "log.segment.bytes": "200000"])
        let t = try XCTUnwrap(h.services.replicas.partition("t", 0)?.log.config)
        XCTAssertEqual(t.retentionMs, 5000, "a live log without an override takes the dynamic default at once")
        XCTAssertEqual(t.segmentBytes, 200000, "dynamic per-broker beats server.properties")
        XCTAssertEqual(h.services.replicas.partition("own", 0)?.log.config.retentionMs, 9000, "the topic's own override wins")

        // The cluster default (non-incremental: the complete set), below the per-broker layer.
        var alter = AlterConfigsRequest()
        alter.resources = [.init(resourceType: 4, resourceName: "", configs: [
            .init(name: "message.max.bytes", value: "2000"), .init(name: "log.retention.ms", value: "7000")])]
        do { let value = try await h.send(alter, version: 0)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.log.config.maxMessageBytes, 2000)
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.log.config.retentionMs, 5000, "per-broker beats the cluster default")
        let big = try await h.produce("t", try BrokerHarness.batch([String(repeating: "x", count: 3000)]))
        XCTAssertEqual(big?.errorCode, ErrorCode.messageTooLarge.rawValue, "Produce checks the dynamic message.max.bytes")

        // Refusals: a static key, a bad value, another broker's id, with nothing changed.
        for (name, key, value, code) in [("1", "num.partitions", "3", ErrorCode.invalidRequest),
                                          // Kafka answers INVALID_REQUEST for a bad value too (ConfigAdminManager, KAFKA-13609).
                                          ("1", "log.segment.bytes", "abc", ErrorCode.invalidRequest),
                                          ("7", "log.retention.ms", "1", ErrorCode.invalidRequest)] {
            var bad = IncrementalAlterConfigsRequest()
            bad.resources = [.init(resourceType: 4, resourceName: name, configs: [.init(name: key, configOperation: 0, value: value)])]
            let got = try await h.send(bad, version: 0)?.responses.first?.errorCode
            XCTAssertEqual(got, code.rawValue, "\(name) \(key)=\(value)")
        }
        var validate = IncrementalAlterConfigsRequest()
        validate.validateOnly = true
        validate.resources = [.init(resourceType: 4, resourceName: "1", configs: [.init(name: "log.retention.ms", configOperation: 1, value: nil)])]
        do { let value = try await h.send(validate, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        XCTAssertEqual(h.services.metadata.image.brokerConfigs["1"]?["log.retention.ms"], "5000", "validate_only changes nothing")

        var describe = DescribeConfigsRequest()
        describe.includeSynonyms = true
        describe.resources = [.init(resourceType: 4, resourceName: "1", configurationKeys: ["log.retention.ms", "log.retention.hours", "message.max.bytes", "num.partitions"]),
                              .init(resourceType: 4, resourceName: "", configurationKeys: nil),
                              .init(resourceType: 2, resourceName: "t", configurationKeys: ["retention.ms", "max.message.bytes", "segment.bytes"])]
        let resp = try XCTUnwrapAsync(try await h.send(describe, version: 4))
        let broker = Dictionary(uniqueKeysWithValues: resp.results[0].configs.map { ($0.name, $0) })
        XCTAssertEqual(broker["log.retention.ms"]?.value, "5000")
        XCTAssertEqual(broker["log.retention.ms"]?.configSource, ConfigSource.dynamicBrokerConfig.rawValue)
        XCTAssertEqual(broker["log.retention.ms"]?.synonyms.map(\.source),
                       [ConfigSource.dynamicBrokerConfig, .dynamicDefaultBrokerConfig, .defaultConfig].map(\.rawValue))
        XCTAssertEqual(broker["log.retention.ms"]?.synonyms.last?.name, "log.retention.hours")
        XCTAssertEqual(broker["log.retention.ms"]?.readOnly, false)
        // Described as itself, log.retention.hours starts its synonyms at its own entry.
        XCTAssertEqual(broker["log.retention.hours"]?.value, "168")
        XCTAssertEqual(broker["log.retention.hours"]?.configSource, ConfigSource.defaultConfig.rawValue)
        XCTAssertEqual(broker["log.retention.hours"]?.synonyms.map(\.name), ["log.retention.hours"])
        XCTAssertEqual(broker["log.retention.hours"]?.readOnly, true)
        XCTAssertEqual(broker["message.max.bytes"]?.value, "2000")
        XCTAssertEqual(broker["message.max.bytes"]?.configSource, ConfigSource.dynamicDefaultBrokerConfig.rawValue)
        XCTAssertEqual(broker["num.partitions"]?.readOnly, true)
        let clusterDefault = resp.results[1].configs
        XCTAssertEqual(Set(clusterDefault.map(\.name)), ["message.max.bytes", "log.retention.ms"], "only dynamic defaults")
        XCTAssertEqual(clusterDefault.first { $0.name == "log.retention.ms" }?.value, "7000")
        XCTAssertEqual(Set(clusterDefault.flatMap(\.synonyms).map(\.source)), [ConfigSource.dynamicDefaultBrokerConfig.rawValue])
        let topic = Dictionary(uniqueKeysWithValues: resp.results[2].configs.map { ($0.name, $0) })
        XCTAssertEqual(topic["retention.ms"]?.value, "5000")
        XCTAssertEqual(topic["retention.ms"]?.configSource, ConfigSource.dynamicBrokerConfig.rawValue)
        XCTAssertEqual(topic["max.message.bytes"]?.configSource, ConfigSource.dynamicDefaultBrokerConfig.rawValue)
        XCTAssertEqual(topic["segment.bytes"]?.synonyms.map(\.value), ["200000", "300000", "1073741824"])

        // APPEND on a list key starts from the effective value (log.cleanup.policy=delete).
        var append = IncrementalAlterConfigsRequest()
        append.resources = [.init(resourceType: 4, resourceName: "", configs: [.init(name: "log.cleanup.policy", configOperation: 2, value: "compact")])]
        do { let value = try await h.send(append, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        XCTAssertEqual(h.services.metadata.image.brokerConfigs[""]?["log.cleanup.policy"], "delete,compact")
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.log.config.cleanupPolicy, try LogConfig(topicConfigs: ["cleanup.policy": "delete,compact"]).cleanupPolicy)

        // Deleting the per-broker value falls back to the cluster default.
        var del = IncrementalAlterConfigsRequest()
        del.resources = [.init(resourceType: 4, resourceName: "1", configs: [.init(name: "log.retention.ms", configOperation: 1, value: nil)])]
        do { let value = try await h.send(del, version: 1)?.responses.first?.errorCode; XCTAssertEqual(value, 0) }
        XCTAssertEqual(h.services.replicas.partition("t", 0)?.log.config.retentionMs, 7000)

        // Persisted in the metadata log: a restarted broker opens its logs with them.
        for tp in [("t", 0), ("own", 0)] { try h.services.replicas.partition(tp.0, Int32(tp.1))?.log.close() }
        let h2 = try BrokerHarness(properties: "log.segment.bytes=300000", dir: dir)
        defer { h2.cleanup() }
        let t2 = try XCTUnwrap(h2.services.replicas.partition("t", 0)?.log.config)
        XCTAssertEqual(t2.retentionMs, 7000)
        XCTAssertEqual(t2.segmentBytes, 200000)
        XCTAssertEqual(t2.maxMessageBytes, 2000)
    }

    /// Kafka's DEFAULT_CONFIG synonyms name the broker key with that key's own default, and its
    /// ConfigHelper keeps the synonym list from the first entry of the primary broker key on.
    func testTopicSynonymsFollowKafka() throws {
        let c = try BrokerConfig(properties: PropertiesFile(parsing: "log.retention.hours=24\nlog.retention.ms=3600000"))
        let d = Dictionary(uniqueKeysWithValues: c.describeTopicConfigs([:]).map { ($0.name, $0) })
        XCTAssertEqual(d["segment.bytes"]?.synonyms, [.init(name: "log.segment.bytes", value: "1073741824", source: .defaultConfig)])
        XCTAssertEqual(d["max.message.bytes"]?.synonyms, [.init(name: "message.max.bytes", value: "1048588", source: .defaultConfig)])
        XCTAssertEqual(d["segment.ms"]?.synonyms, [], "log.roll.ms has no default; Kafka drops log.roll.hours")
        XCTAssertEqual(d["segment.ms"]?.source, .defaultConfig)
        XCTAssertEqual(d["retention.ms"]?.value, "3600000")
        XCTAssertEqual(d["retention.ms"]?.synonyms.map(\.name), ["log.retention.ms", "log.retention.hours", "log.retention.hours"])
        XCTAssertEqual(d["retention.ms"]?.synonyms.map(\.source), [.staticBrokerConfig, .staticBrokerConfig, .defaultConfig])
        // Only log.retention.hours set: the value honours it, but Kafka reports DEFAULT_CONFIG
        // and no synonyms (its list starts at log.retention.ms, which is unset).
        let hoursOnly = try BrokerConfig(properties: PropertiesFile(parsing: "log.retention.hours=24"))
        let r = try XCTUnwrap(hoursOnly.describeTopicConfigs([:]).first { $0.name == "retention.ms" })
        XCTAssertEqual(r.value, "86400000")
        XCTAssertEqual(r.source, .defaultConfig)
        XCTAssertEqual(r.synonyms, [])
    }
}
