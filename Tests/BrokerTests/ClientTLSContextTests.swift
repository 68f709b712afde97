import Foundation
import XCTest
@testable import Broker

/// The reloadable client TLS of the connections a node opens (Raft transport, controller
/// channel, follower fetchers): renewed files are picked up, a change that does not build
/// keeps the previous configuration and is reported once, unchanged files do not rebuild.
/// No sockets: the holder is checked directly (``ControllerListenerTLSTests`` covers the
/// connections).
final class ClientTLSContextTests: XCTestCase {
    private var pki: TestPKI!

    override func setUpWithError() throws {
        let root = NSTemporaryDirectory() + "samsa-client-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        pki = try TestPKI(directory: root)
        try pki.makeCA("ca", cn: "old-ca")
        try pki.makeNode("node", ca: "ca")
        try pki.makeCA("ca2", cn: "new-ca")
        try pki.makeNode("node2", ca: "ca2")
    }

    override func tearDown() {
        if let pki { try? FileManager.default.removeItem(atPath: pki.directory) }
    }

    /// As ``BrokerConfig`` builds them from an SSL listener: trust store as the CA, the key
    /// store file as both certificate and key.
    private var properties: [String: String] {
        ["security.protocol": "SSL", "ssl.ca.location": pki.path("ca.pem"), "ssl.certificate.location": pki.path("node.pem"),
         "ssl.key.location": pki.path("node.pem"), "ssl.endpoint.identification.algorithm": "https"]
    }

    private func holder() throws -> ClientTLSContext {
        try XCTUnwrap(try ClientTLSContext.make(properties: properties, what: "the test connections"))
    }

    func testNoTLSNoHolderAndTheKeyStoreIsWatchedOnce() throws {
        XCTAssertNil(try ClientTLSContext.make(properties: ["security.protocol": "PLAINTEXT"], what: "x"))
        XCTAssertNil(try ClientTLSContext.make(properties: ["security.protocol": "SASL_PLAINTEXT"], what: "x"))
        XCTAssertNil(try ClientTLSContext.make(properties: [:], what: "x"))
        XCTAssertEqual(ClientTLSContext.watchedFiles(properties), [pki.path("ca.pem"), pki.path("node.pem")])
        var sasl = properties
        sasl["security.protocol"] = "SASL_SSL"
        sasl["sasl.mechanism"] = "PLAIN"
        sasl["sasl.username"] = "broker"
        sasl["sasl.password"] = "secret"
        XCTAssertNotNil(try ClientTLSContext.make(properties: sasl, what: "x"))
    }

    func testUnchangedFilesDoNotRebuild() throws {
        let tls = try holder()
        XCTAssertEqual(tls.reloadIfChanged(), .unchanged)
        XCTAssertEqual(tls.reloadIfChanged(), .unchanged)
        // Rewritten with the same bytes (a copy of identical files, a touch): still unchanged.
        try pki.overwrite("node.pem", with: try pki.text("node.pem"))
        XCTAssertEqual(tls.reloadIfChanged(), .unchanged)
        XCTAssertEqual(tls.generation, 0)
    }

    func testRenewedTrustStoreAndKeyStoreAreReloadedOnce() throws {
        let tls = try holder()
        try pki.overwrite("ca.pem", with: try pki.text("ca2.pem"))
        try pki.overwrite("node.pem", with: try pki.text("node2.pem"))
        XCTAssertEqual(tls.reloadIfChanged(), .reloaded)
        XCTAssertEqual(tls.generation, 1)
        XCTAssertEqual(tls.reloadIfChanged(), .unchanged, "rebuilt once per change")
        XCTAssertEqual(tls.generation, 1)
        XCTAssertEqual(tls.current.certificateLocation, pki.path("node.pem"))
    }

    func testAChangeThatDoesNotBuildKeepsThePreviousConfigurationAndIsReportedOnce() throws {
        let tls = try holder()
        // Half-written key store: the key and a cut certificate.
        let renewed = try pki.text("node2.pem")
        try pki.overwrite("node.pem", with: String(renewed.prefix(renewed.count * 3 / 4)))
        guard case .failed(let why) = tls.reloadIfChanged() else { return XCTFail("a half-written key store was used") }
        XCTAssertTrue(why.contains("node.pem"), why)
        XCTAssertEqual(tls.reloadIfChanged(), .unchanged, "the same bad files are reported once")
        XCTAssertEqual(tls.generation, 0, "the previous configuration stays")
        // A key that does not match the certificate (key written, certificate not yet).
        try pki.overwrite("node.pem", with: try pki.text("node2.key") + pki.text("node.crt"))
        guard case .failed(let mismatch) = tls.reloadIfChanged() else { return XCTFail("a key not matching its certificate was used") }
        XCTAssertTrue(mismatch.contains("ssl.key.location"), mismatch)
        XCTAssertEqual(tls.generation, 0)
        // A half-written trust store.
        try pki.overwrite("ca.pem", with: "-----BEGIN CERTIFICATE-----\nMIIB")
        guard case .failed = tls.reloadIfChanged() else { return XCTFail("a half-written trust store was used") }
        XCTAssertEqual(tls.generation, 0)
        // The operator finishes writing: tried again and used.
        try pki.overwrite("ca.pem", with: try pki.text("ca2.pem"))
        try pki.overwrite("node.pem", with: renewed)
        XCTAssertEqual(tls.reloadIfChanged(), .reloaded)
        XCTAssertEqual(tls.generation, 1)
    }

    /// The watcher's check: one log line per reload (and per unusable change), none while
    /// nothing changes.
    func testTheWatcherLogsOneLinePerReload() throws {
        let tls = try holder()
        XCTAssertTrue(KafkaBroker.checkTLSFiles([:], clients: [tls]).isEmpty)
        try pki.overwrite("ca.pem", with: try pki.text("ca2.pem"))
        try pki.overwrite("node.pem", with: try pki.text("node2.pem"))
        let lines = KafkaBroker.checkTLSFiles([:], clients: [tls])
        XCTAssertEqual(lines.map(\.line), ["Reloaded the client TLS of the test connections (new connections use it)"])
        XCTAssertEqual(lines.map(\.error), [false])
        XCTAssertTrue(KafkaBroker.checkTLSFiles([:], clients: [tls]).isEmpty)
        try pki.overwrite("node.pem", with: "-----BEGIN PRIVATE KEY-----\n")
        let failed = KafkaBroker.checkTLSFiles([:], clients: [tls])
        XCTAssertEqual(failed.count, 1)
        XCTAssertEqual(failed.first?.error, true)
        XCTAssertTrue(failed.first?.line.hasPrefix("The client TLS files of the test connections changed but cannot be used, keeping the previous ones: ") ?? false)
        XCTAssertTrue(KafkaBroker.checkTLSFiles([:], clients: [tls]).isEmpty)
    }
}
