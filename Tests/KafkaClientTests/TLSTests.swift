import Foundation
import KafkaProtocol
import NIOCore
import NIOSSL
import XCTest
@testable import KafkaClient

/// A throwaway PKI made with the `openssl` CLI: a CA, a server certificate for `localhost`
/// only (no IP SAN, so dialling 127.0.0.1 is a hostname mismatch), and a client certificate
/// whose key is encrypted with `clientKeyPassword`.
private final class TestPKI {
    let directory: URL
    let clientKeyPassword = "s3cret"
    var ca: String { path("ca.pem") }
    var serverCertificate: String { path("server.pem") }
    var serverKey: String { path("server.key") }
    var clientCertificate: String { path("client.pem") }
    var clientKey: String { path("client.key") }

    init() throws {
        guard let openssl = Self.findOnPath("openssl") else { throw XCTSkip("openssl is not on PATH") }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("samsa-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        // Explicit extension files: the CA must say CA:TRUE, leaves must not, whatever the
        // system openssl.cnf defaults to.
        try "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
            .write(toFile: path("ca.ext"), atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"
            .write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
            .write(toFile: path("client.ext"), atomically: true, encoding: .utf8)
        try run(openssl, ["req", "-new"] + ec + ["-keyout", path("ca.key"), "-out", path("ca.csr"), "-subj", "/CN=samsa-test-ca"])
        try run(openssl, ["x509", "-req", "-in", path("ca.csr"), "-signkey", path("ca.key"), "-days", "2",
                          "-extfile", path("ca.ext"), "-out", ca])
        for (name, subject) in [("server", "/CN=localhost"), ("client", "/CN=samsa-test-client")] {
            try run(openssl, ["req", "-new"] + ec + ["-keyout", path("\(name).plain.key"), "-out", path("\(name).csr"), "-subj", subject])
            try run(openssl, ["x509", "-req", "-in", path("\(name).csr"), "-CA", ca, "-CAkey", path("ca.key"),
                              "-CAcreateserial", "-days", "2", "-extfile", path("\(name).ext"), "-out", path("\(name).pem")])
        }
        try FileManager.default.moveItem(atPath: path("server.plain.key"), toPath: serverKey)
        try run(openssl, ["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", path("client.plain.key"),
                          "-passout", "pass:\(clientKeyPassword)", "-out", clientKey])
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The broker side: presents the server certificate; with `requireClientCertificate` it
    /// also demands a client certificate signed by the CA (mutual TLS).
    func serverContext(requireClientCertificate: Bool = false) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(serverCertificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: serverKey, format: .pem)))
        if requireClientCertificate {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        }
        return try NIOSSLContext(configuration: tls)
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let exit = ProcessExitWaiter(process)
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        guard exit.wait(for: process), process.terminationStatus == 0 else {
            throw KafkaClientError.invalidArgument("openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }

    private static func findOnPath(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// TLS (`security.protocol=SSL` / `SASL_SSL`) against the scripted in-process broker behind a
/// real NIOSSLServerHandler: every byte the client sends crosses an actual TLS 1.2/1.3 session.
final class TLSTests: XCTestCase {
    private let metadataKey: Int16 = 3

    /// A broker advertising ApiVersions, Metadata v0 and SASL, answering Metadata with one
    /// broker (node 7) so the test can see a decoded response that crossed TLS.
    private func startBroker(_ pki: TestPKI, requireClientCertificate: Bool = false,
                             seen: Locked<[Int16]> = Locked([])) async throws -> FakeBroker {
        try await FakeBroker(tls: try pki.serverContext(requireClientCertificate: requireClientCertificate)) { key, version, correlation in
            if key == 18 && version > 0 {  // KIP-511: answer v0 so the client retries at v0
                return FakeBroker.apiVersionsV0(correlationId: correlation, error: 35, apis: [(18, 0, 0)])
            }
            seen.withLock { $0.append(key) }
            var b = ByteBuffer()
            switch key {
            case 18:
                return FakeBroker.apiVersionsV0(correlationId: correlation, apis: [(18, 0, 0), (3, 0, 0), (17, 1, 1), (36, 0, 0)])
            case 3:  // Metadata v0: brokers [node 7 localhost:9093], no topics
                b.writeInteger(correlation)
                b.writeInteger(Int32(1))
                b.writeInteger(Int32(7))
                b.writeInteger(Int16(9)); b.writeString("localhost")
                b.writeInteger(Int32(9093))
                b.writeInteger(Int32(0))
                return b
            case 17:  // SaslHandshake v1: ok, PLAIN offered
                b.writeInteger(correlation)
                b.writeInteger(Int16(0))
                b.writeInteger(Int32(1))
                b.writeInteger(Int16(5)); b.writeString("PLAIN")
                return b
            case 36:  // SaslAuthenticate v0: ok, null message, empty bytes
                b.writeInteger(correlation)
                b.writeInteger(Int16(0))
                b.writeInteger(Int16(-1))
                b.writeInteger(Int32(0))
                return b
            default:
                return nil
            }
        }
    }

    private func connect(host: String, port: Int, _ properties: [String: String]) async throws -> BrokerConnection {
        var all = ClientProperties()
        all["bootstrap.servers"] = "\(host):\(port)"
        all["request.timeout.ms"] = "5000"
        for (k, v) in properties { all[k] = v }
        return try await BrokerConnection.connect(to: BrokerAddress(host: host, port: port), nodeId: -1,
                                                  config: try ClientConfig(properties: all))
    }

    private func metadata(_ connection: BrokerConnection) async throws -> MetadataResponse {
        try await connection.send(MetadataRequest(), version: 0)
    }

    private func assertConnectFails(host: String, port: Int, _ properties: [String: String],
                                    contains expected: String, file: StaticString = #filePath, line: UInt = #line) async {
        do {
            let connection = try await connect(host: host, port: port, properties)
            connection.close()
            XCTFail("connected although the handshake should fail", file: file, line: line)
        } catch {
            XCTAssertTrue("\(error)".contains(expected), "unexpected error: \(error)", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "the error should be one line: \(error)", file: file, line: line)
        }
    }

    func testApiVersionsAndMetadataOverTLSWithTheConfiguredCA() async throws {
        let pki = try TestPKI()
        let seen = Locked<[Int16]>([])
        let broker = try await startBroker(pki, seen: seen)
        let connection = try await connect(host: "localhost", port: broker.port,
                                           ["security.protocol": "SSL", "ssl.ca.location": pki.ca])
        XCTAssertEqual(connection.brokerVersions(for: metadataKey), 0...0)
        let response = try await metadata(connection)
        XCTAssertEqual(response.brokers.map(\.nodeId), [7])
        XCTAssertEqual(response.brokers.first?.host, "localhost")
        XCTAssertEqual(seen.withLock { $0 }, [18, 3])
        connection.close()
        await broker.close()
    }

    func testUntrustedBrokerCertificateFailsClearly() async throws {
        let pki = try TestPKI()
        let broker = try await startBroker(pki)
        // No ssl.ca.location: the system roots do not know the throwaway CA.
        await assertConnectFails(host: "localhost", port: broker.port, ["security.protocol": "SSL"],
                                 contains: "not trusted")
        await broker.close()
    }

    func testHostnameMismatchFailsUnlessVerificationIsDisabled() async throws {
        let pki = try TestPKI()
        let broker = try await startBroker(pki)
        // The certificate names only "localhost"; 127.0.0.1 is not in it.
        await assertConnectFails(host: "127.0.0.1", port: broker.port,
                                 ["security.protocol": "SSL", "ssl.ca.location": pki.ca],
                                 contains: "does not match the host name")
        // librdkafka/Java: an empty algorithm turns hostname checks off, the chain is still verified.
        let connection = try await connect(host: "127.0.0.1", port: broker.port,
                                           ["security.protocol": "SSL", "ssl.ca.location": pki.ca,
                                            "ssl.endpoint.identification.algorithm": ""])
        let nodes = try await metadata(connection).brokers.map(\.nodeId)
        XCTAssertEqual(nodes, [7])
        connection.close()
        await assertConnectFails(host: "127.0.0.1", port: broker.port,
                                 ["security.protocol": "SSL", "ssl.endpoint.identification.algorithm": ""],
                                 contains: "not trusted")
        await broker.close()
    }

    func testSASLRunsInsideTheTLSSession() async throws {
        let pki = try TestPKI()
        let seen = Locked<[Int16]>([])
        let broker = try await startBroker(pki, seen: seen)
        let connection = try await connect(host: "localhost", port: broker.port,
                                           ["security.protocol": "SASL_SSL", "ssl.ca.location": pki.ca,
                                            "sasl.mechanism": "PLAIN", "sasl.username": "alice", "sasl.password": "pw"])
        _ = try await metadata(connection)
        XCTAssertEqual(seen.withLock { $0 }, [18, 17, 36, 3], "ApiVersions, SaslHandshake, SaslAuthenticate, then Metadata")
        connection.close()
        await broker.close()
    }

    func testMutualTLSWithAnEncryptedClientKey() async throws {
        let pki = try TestPKI()
        let broker = try await startBroker(pki, requireClientCertificate: true)
        let connection = try await connect(host: "localhost", port: broker.port,
                                           ["security.protocol": "SSL", "ssl.ca.location": pki.ca,
                                            "ssl.certificate.location": pki.clientCertificate,
                                            "ssl.key.location": pki.clientKey, "ssl.key.password": pki.clientKeyPassword])
        let nodes = try await metadata(connection).brokers.map(\.nodeId)
        XCTAssertEqual(nodes, [7])
        connection.close()
        // Without a client certificate the broker refuses the session (in TLS 1.3 after the
        // client's side of the handshake, so the first request fails rather than the handshake).
        do {
            let refused = try await connect(host: "localhost", port: broker.port,
                                            ["security.protocol": "SSL", "ssl.ca.location": pki.ca])
            refused.close()
            XCTFail("a broker requiring client certificates accepted none")
        } catch let error as KafkaClientError {
            switch error {
            case .connectionFailed(_, let reason):
                // BoringSSL on both sides negotiates TLS 1.3, whose alert names the cause.
                XCTAssertTrue(reason.contains("ssl.certificate.location"), reason)
            case .connectionClosed: break
            default: XCTFail("unexpected \(error)")
            }
        }
        await broker.close()
    }

    /// Unusable files are reported at configuration time, naming the key and the path.
    func testInvalidFilesNameTheKeyAndPath() throws {
        let pki = try TestPKI()
        func configError(_ properties: [String: String]) -> String {
            var all = ClientProperties()
            all["bootstrap.servers"] = "localhost:9093"
            all["security.protocol"] = "SSL"
            for (k, v) in properties { all[k] = v }
            do {
                _ = try ClientConfig(properties: all)
                return ""
            } catch {
                return "\(error)"
            }
        }
        let missing = pki.path("missing.pem")
        var error = configError(["ssl.ca.location": missing])
        XCTAssertTrue(error.contains("ssl.ca.location") && error.contains(missing), error)
        error = configError(["ssl.ca.location": pki.path("server.ext")])  // not PEM
        XCTAssertTrue(error.contains("ssl.ca.location") && error.contains("server.ext"), error)
        error = configError(["ssl.certificate.location": pki.clientCertificate, "ssl.key.location": pki.clientKey])
        XCTAssertTrue(error.contains("ssl.key.location") && error.contains(pki.clientKey) && error.contains("ssl.key.password"), error)
        error = configError(["ssl.certificate.location": pki.clientCertificate, "ssl.key.location": pki.clientKey,
                             "ssl.key.password": "wrong"])
        XCTAssertTrue(error.contains("ssl.key.location") && error.contains(pki.clientKey), error)
        error = configError(["ssl.certificate.location": pki.clientCertificate])
        XCTAssertTrue(error.contains("ssl.key.location"), error)
        error = configError(["ssl.endpoint.identification.algorithm": "dns"])
        XCTAssertTrue(error.contains("ssl.endpoint.identification.algorithm"), error)
        // The client key does not match the server certificate.
        error = configError(["ssl.certificate.location": pki.serverCertificate, "ssl.key.location": pki.clientKey,
                             "ssl.key.password": pki.clientKeyPassword])
        XCTAssertTrue(error.contains("ssl.key.location") && error.contains(pki.clientKey) && error.contains("does not match"), error)
        for message in [error] { XCTAssertFalse(message.contains("\n"), message) }
    }
}
