import ClusterManager
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import X509
import XCTest

/// `samsa demo --secure`'s throw-away CA: a real TLS handshake (swift-nio-ssl, BoringSSL) with
/// the generated broker certificate, verified against the generated CA for both names the
/// certificate is for; another CA is refused; the key files are private.
final class LocalPKITests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!

    override func setUp() { group = MultiThreadedEventLoopGroup(numberOfThreads: 1) }
    override func tearDown() { try? group.syncShutdownGracefully() }

    /// Completes when the client's handshake finishes; fails with the handshake's error.
    private final class HandshakeWatcher: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let done: EventLoopPromise<Void>
        init(_ done: EventLoopPromise<Void>) { self.done = done }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event as? TLSUserEvent ?? .shutdownCompleted { done.succeed(()) }
            context.fireUserInboundEventTriggered(event)
        }
        func errorCaught(context: ChannelHandlerContext, error: Error) {
            done.fail(error)
            context.close(promise: nil)
        }
        func channelInactive(context: ChannelHandlerContext) {
            done.fail(ChannelError.ioOnClosedChannel)
            context.fireChannelInactive()
        }
    }

    /// A TLS server on 127.0.0.1 with the broker key store file (key then chain, as the broker
    /// reads `ssl.keystore.location`); a client trusting `caFile` connects naming `host`.
    private func handshake(keystore: String, caFile: String, host: String) throws {
        let serverContext = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(keystore).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keystore, format: .pem))))
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverContext)) }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        var clientConfig = TLSConfiguration.makeClientConfiguration()
        clientConfig.trustRoots = .file(caFile)
        clientConfig.certificateVerification = .fullVerification
        let clientContext = try NIOSSLContext(configuration: clientConfig)
        let done = group.next().makePromise(of: Void.self)
        let client = try ClientBootstrap(group: group)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: clientContext, serverHostname: host == "127.0.0.1" ? nil : host))
                    try ch.pipeline.syncOperations.addHandler(HandshakeWatcher(done))
                }
            }
            .connect(host: "127.0.0.1", port: server.localAddress!.port!).wait()
        defer { try? client.close().wait() }
        try done.futureResult.wait()
    }

    private func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("samsa-pki-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    func testBrokerCertificateVerifiesWithTheGeneratedCAForLocalhostAndTheLoopbackAddress() throws {
        let dir = try tempDir().appendingPathComponent("secure")
        try LocalPKI.generate().write(to: dir)
        let keystore = dir.appendingPathComponent(LocalPKI.keystoreFile).path
        let ca = dir.appendingPathComponent(LocalPKI.caFile).path
        // Host name check on the DNS SAN...
        try handshake(keystore: keystore, caFile: ca, host: "localhost")
        // ...and on the IP SAN (no SNI for an address; BoringSSL matches the connected IP).
        try handshake(keystore: keystore, caFile: ca, host: "127.0.0.1")
    }

    func testAnotherCAIsRefused() throws {
        let a = try tempDir(), b = try tempDir()
        try LocalPKI.generate().write(to: a)
        try LocalPKI.generate().write(to: b)
        XCTAssertThrowsError(try handshake(keystore: a.appendingPathComponent(LocalPKI.keystoreFile).path,
                                           caFile: b.appendingPathComponent(LocalPKI.caFile).path, host: "localhost"))
    }

    func testChainAndExtensions() throws {
        let pki = try LocalPKI.generate()
        let ca = try Certificate(pemEncoded: pki.caCertificatePEM)
        let broker = try Certificate(pemEncoded: pki.brokerCertificatePEM)
        XCTAssertEqual(broker.issuer, ca.subject)
        XCTAssertTrue(ca.publicKey.isValidSignature(broker.signature, for: broker))
        XCTAssertTrue(ca.publicKey.isValidSignature(ca.signature, for: ca))
        XCTAssertEqual(try ca.extensions.basicConstraints, .isCertificateAuthority(maxPathLength: 0))
        XCTAssertEqual(try broker.extensions.basicConstraints, .notCertificateAuthority)
        let sans = try XCTUnwrap(try broker.extensions.subjectAlternativeNames)
        XCTAssertTrue(sans.contains(.dnsName("localhost")))
        XCTAssertTrue(sans.contains { if case .ipAddress(let ip) = $0 { return Array(ip.bytes) == [127, 0, 0, 1] } else { return false } })
        XCTAssertTrue(broker.notValidAfter > Date().addingTimeInterval(86_400))
    }

    func testKeyFilesArePrivateAndTheCAKeyIsNotWritten() throws {
        let dir = try tempDir()
        try LocalPKI.generate().write(to: dir)
        let fm = FileManager.default
        func mode(_ f: String) throws -> Int { try (fm.attributesOfItem(atPath: dir.appendingPathComponent(f).path)[.posixPermissions] as! NSNumber).intValue }
        XCTAssertEqual(try mode(LocalPKI.brokerKeyFile), 0o600)
        XCTAssertEqual(try mode(LocalPKI.keystoreFile), 0o600)
        XCTAssertEqual(try mode(LocalPKI.caFile), 0o644)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: dir.path).sorted(),
                       [LocalPKI.brokerKeyFile, LocalPKI.brokerCertificateFile, LocalPKI.keystoreFile, LocalPKI.caFile].sorted())
        let ks = try String(contentsOf: dir.appendingPathComponent(LocalPKI.keystoreFile), encoding: .utf8)
        XCTAssertTrue(ks.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        XCTAssertEqual(ks.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1, 2)
    }
}
