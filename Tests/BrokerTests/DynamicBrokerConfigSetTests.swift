import KafkaProtocol
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Issue 9 item 13: Kafka's dynamic broker config set on BROKER resources.
final class DynamicBrokerConfigSetTests: XCTestCase {
    func alter(_ h: BrokerHarness, _ resource: String, _ configs: [(String, String?)], validateOnly: Bool = false) async throws
        -> IncrementalAlterConfigsResponse.AlterConfigsResourceResponse {
        var inc = IncrementalAlterConfigsRequest()
        inc.validateOnly = validateOnly
        inc.resources = [.init(resourceType: 4, resourceName: resource,
                               configs: configs.map { .init(name: $0.0, configOperation: $0.1 == nil ? 1 : 0, value: $0.1) })]
        return try XCTUnwrapAsync(try await h.send(inc, version: 1)?.responses.first)
    }

    func testKafkasDynamicKeysAreAcceptedStoredAndReportedAsWithoutEffect() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        let keys: [(String, String)] = [("sasl.kerberos.min.time.before.relogin", "120000"), ("log.cleaner.threads", "2"),
                                        ("num.replica.fetchers", "2"), ("max.connections", "1000"), ("background.threads", "12"),
                                        ("listener.name.plaintext.max.connections", "50"),
                                        ("listener.name.internal.ssl.keystore.password", "secret"),
                                        ("listener.name.sasl_ssl.plain.sasl.jaas.config", "x required;"),
                                        ("log.roll.jitter.ms", "60000"), ("num.io.threads", "16")]
        let r = try await alter(h, "1", keys.map { ($0.0, $0.1) })
        XCTAssertEqual(r.errorCode, 0, r.errorMessage ?? "")
        XCTAssertEqual(h.services.metadata.image.brokerConfigs["1"], Dictionary(uniqueKeysWithValues: keys))

        var describe = DescribeConfigsRequest()
        describe.includeDocumentation = true
        describe.resources = [.init(resourceType: 4, resourceName: "1", configurationKeys: nil)]
        let configs = try XCTUnwrapAsync(try await h.send(describe, version: 4)).results[0].configs
        let byName = Dictionary(uniqueKeysWithValues: configs.map { ($0.name, $0) })
        for (k, v) in keys {
            let c = try XCTUnwrap(byName[k], k)
            XCTAssertEqual(c.configSource, ConfigSource.dynamicBrokerConfig.rawValue, k)
            XCTAssertFalse(c.readOnly, k)
            XCTAssertTrue(c.documentation?.contains("no effect") == true, "\(k): \(c.documentation ?? "nil")")
            if k.hasSuffix("password") || k.hasSuffix("jaas.config") {
                XCTAssertTrue(c.isSensitive, k)
                XCTAssertNil(c.value, k)
            } else {
                XCTAssertEqual(c.value, v, k)
            }
        }
        XCTAssertEqual(byName["sasl.kerberos.min.time.before.relogin"]?.configType, ConfigType.long.rawValue)
        let applied = try XCTUnwrap(byName["log.retention.ms"])
        XCTAssertFalse(applied.documentation?.contains("no effect") ?? true, "a key Samsa applies says nothing of the sort")
        XCTAssertTrue(try XCTUnwrap(byName["log.dirs"]).readOnly)
        XCTAssertEqual(byName["sasl.kerberos.min.time.before.relogin"]?.readOnly, false)

        // Deleting one returns it to Kafka's default.
        do { let value = try await alter(h, "1", [("sasl.kerberos.min.time.before.relogin", nil)]).errorCode; XCTAssertEqual(value, 0) }
        XCTAssertNil(h.services.metadata.image.brokerConfigs["1"]?["sasl.kerberos.min.time.before.relogin"])
    }

    func testWhatKafkaRefusesIsInvalidRequestWithKafkasMessage() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        let cases: [(String, String, String, String)] = [
            ("1", "log.dirs", "/x", "Cannot update these configs dynamically: Set(log.dirs)"),
            ("1", "log.cleaner.enable", "false", "Cannot update these configs dynamically: Set(log.cleaner.enable)"),
            ("1", "ssl.keystore.password", "p", "These security configs can be dynamically updated only per-listener using the listener prefix: Set(ssl.keystore.password)"),
            ("", "sasl.kerberos.min.time.before.relogin", "1", "Cannot update these configs at default cluster level, broker id must be specified: Set(sasl.kerberos.min.time.before.relogin)"),
            ("", "listener.name.plaintext.ssl.client.auth", "none", "Cannot update these configs at default cluster level, broker id must be specified: Set(listener.name.plaintext.ssl.client.auth)"),
            ("1", "sasl.kerberos.min.time.before.relogin", "soon", "Invalid value \"soon\" for configuration sasl.kerberos.min.time.before.relogin: expected an integer"),
            ("1", "log.segment.bytes", "abc", "Invalid value \"abc\" for configuration log.segment.bytes: expected an integer"),
            ("1", "no.such.config", "1", "Unknown broker configs (Samsa accepts its own keys and Kafka's dynamic broker configs): Set(no.such.config)"),
        ]
        for (resource, key, value, message) in cases {
            let r = try await alter(h, resource, [(key, value)])
            XCTAssertEqual(r.errorCode, ErrorCode.invalidRequest.rawValue, "\(resource) \(key)")
            XCTAssertEqual(r.errorMessage, message)
        }
        XCTAssertNil(h.services.metadata.image.brokerConfigs["1"], "nothing stored")
        // Cluster-wide listener configs may be set on the cluster default.
        do { let value = try await alter(h, "", [("max.connections", "100"), ("listener.name.plaintext.max.connections", "10")]).errorCode; XCTAssertEqual(value, 0) }
    }

    func testTheTableIsKafkasSet() {
        // Every key of Kafka's set has a definition (Samsa's own or stored-only), and the
        // stored-only ones are dynamic; Samsa's own dynamic keys are all in Kafka's set.
        for k in BrokerConfigKeys.kafkaDynamicConfigs {
            XCTAssertNotNil(BrokerConfigKeys.definition(k), k)
        }
        for d in BrokerConfigKeys.storedOnlyDynamic {
            XCTAssertTrue(BrokerConfigKeys.kafkaDynamicConfigs.contains(d.name), d.name)
            XCTAssertTrue(d.isDynamic)
            if let def = d.defaultValue { XCTAssertNoThrow(try d.parse(def), d.name) }
        }
        for d in BrokerConfigKeys.all where d.isDynamic {
            XCTAssertTrue(BrokerConfigKeys.kafkaDynamicConfigs.contains(d.name), "\(d.name) is dynamic in Samsa but not in Kafka")
        }
        XCTAssertEqual(BrokerConfigKeys.listenerOverride("listener.name.sasl_ssl.plain.sasl.jaas.config")?.base, "sasl.jaas.config")
        XCTAssertEqual(BrokerConfigKeys.listenerOverride("listener.name.internal.ssl.keystore.location")?.listener, "internal")
        XCTAssertNil(BrokerConfigKeys.listenerOverride("listener.name.x"))
    }
}
