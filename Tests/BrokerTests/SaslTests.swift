import Foundation
import KafkaClient
import KafkaProtocol
import Logging
import NIOCore
import XCTest
@testable import Broker

/// The broker's SASL: SCRAM server (RFC 5802/7677), the per-connection authenticator, the
/// dispatcher in front of the handler table, the JAAS / listener config, SCRAM credential
/// changes and records, and `--add-scram`.
final class ScramServerTests: XCTestCase {
    // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, i=4096.
    static let clientNonce = "rOprNGfwEbeRWgbNEkqO"
    static let serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    static let salt = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)
    static let credential = ScramCredential.derive(password: "pencil", salt: salt, iterations: 4096, mechanism: .sha256)
    static let clientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="

    func lookup(_ user: String) -> ScramCredential? { user == "user" ? Self.credential : nil }

    func testRFC7677ExampleExchange() {
        var server = ScramServer(mechanism: .sha256, serverNonce: Self.serverNonce)
        let first = server.evaluate(Array("n,,n=user,r=\(Self.clientNonce)".utf8), credential: lookup)
        XCTAssertEqual(first, .challenge(Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8)))
        let final = server.evaluate(Array(Self.clientFinal.utf8), credential: lookup)
        XCTAssertEqual(final, .success(serverFinal: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8), username: "user"))
        // Nothing after the exchange.
        if case .failure = server.evaluate(Array("x".utf8), credential: lookup) {} else { XCTFail("a third message must fail") }
    }

    func testWrongProofFails() {
        var server = ScramServer(mechanism: .sha256, serverNonce: Self.serverNonce)
        _ = server.evaluate(Array("n,,n=user,r=\(Self.clientNonce)".utf8), credential: lookup)
        let bad = Self.clientFinal.replacingOccurrences(of: "p=dHzb", with: "p=dHzc")
        XCTAssertEqual(server.evaluate(Array(bad.utf8), credential: lookup),
                       .failure(message: "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"))
    }

    func testWrongPasswordCredentialFails() {
        let other = ScramCredential.derive(password: "not-pencil", salt: Self.salt, iterations: 4096, mechanism: .sha256)
        var server = ScramServer(mechanism: .sha256, serverNonce: Self.serverNonce)
        _ = server.evaluate(Array("n,,n=user,r=\(Self.clientNonce)".utf8)) { _ in other }
        guard case .failure = server.evaluate(Array(Self.clientFinal.utf8), credential: { _ in other }) else {
            return XCTFail("a proof made with another password must fail")
        }
    }

    func testWrongNonceFails() {
        var server = ScramServer(mechanism: .sha256, serverNonce: Self.serverNonce)
        _ = server.evaluate(Array("n,,n=user,r=\(Self.clientNonce)".utf8), credential: lookup)
        let bad = Self.clientFinal.replacingOccurrences(of: "hNlF$k0,", with: "hNlF$k1,")
        guard case .failure = server.evaluate(Array(bad.utf8), credential: lookup) else { return XCTFail("wrong nonce must fail") }
    }

    func testLibrdkafkasRepeatedClientNonceIsAcceptedAsKafkaDoes() {
        // librdkafka sends r=<client nonce><combined nonce>; Kafka checks endsWith, and the
        // proof is over the message as sent.
        var server = ScramServer(mechanism: .sha256, serverNonce: "SRV")
        guard case .challenge(let sf) = server.evaluate(Array("n,,n=user,r=CLI".utf8), credential: lookup) else { return XCTFail() }
        let serverFirst = String(decoding: sf, as: UTF8.self)
        let salted = SHA2.pbkdf2(password: Array("pencil".utf8), salt: Self.salt, iterations: 4096, .sha256)
        let clientKey = SHA2.hmac(key: salted, message: Array("Client Key".utf8), .sha256)
        let withoutProof = "c=biws,r=CLICLISRV"
        let signature = SHA2.hmac(key: SHA2.hash(clientKey, .sha256), message: Array("n=user,r=CLI,\(serverFirst),\(withoutProof)".utf8), .sha256)
        let proof = Data(zip(clientKey, signature).map { $0 ^ $1 }).base64EncodedString()
        guard case .success = server.evaluate(Array("\(withoutProof),p=\(proof)".utf8), credential: lookup) else {
            return XCTFail("librdkafka's final message must be accepted")
        }
    }

    func testChannelBindingMustMatchTheGS2Header() {
        var server = ScramServer(mechanism: .sha256, serverNonce: Self.serverNonce)
        _ = server.evaluate(Array("n,,n=user,r=\(Self.clientNonce)".utf8), credential: lookup)
        let bad = Self.clientFinal.replacingOccurrences(of: "c=biws", with: "c=eSws")   // "y,,"
        guard case .failure = server.evaluate(Array(bad.utf8), credential: lookup) else { return XCTFail("binding mismatch must fail") }
    }

    func testUnknownUserAndMalformedFirstMessages() {
        var server = ScramServer(mechanism: .sha256, serverNonce: "n")
        XCTAssertEqual(server.evaluate(Array("n,,n=bob,r=abc".utf8), credential: lookup),
                       .failure(message: "Authentication failed: Invalid user credentials"))
        for bad in ["p=tls-unique,,n=user,r=abc", "n,,r=abc,n=user", "n,,n=us=3Xer,r=abc", "garbage", "n,,n=user,r=abc,tokenauth=true"] {
            var s = ScramServer(mechanism: .sha256, serverNonce: "n")
            guard case .failure = s.evaluate(Array(bad.utf8), credential: lookup) else { return XCTFail("\(bad) must fail") }
        }
        var s = ScramServer(mechanism: .sha256, serverNonce: "n")
        XCTAssertEqual(s.evaluate(Array("n,a=other,n=user,r=abc".utf8), credential: lookup),
                       .failure(message: "Authentication failed: Client requested an authorization id that is different from username"))
    }

    func testSaslNameEscapes() {
        XCTAssertEqual(ScramServer.decodeSaslName("a=2Cb=3Dc"), "a,b=c")
        XCTAssertNil(ScramServer.decodeSaslName("a=2"))
        XCTAssertNil(ScramServer.decodeSaslName("a=41"))
    }

    func testSHA512CredentialRoundTrip() {
        // A credential derived from a password verifies a proof made the client's way.
        let salt: [UInt8] = Array(0..<16)
        let c = ScramCredential.derive(password: "secret", salt: salt, iterations: 4096, mechanism: .sha512)
        var server = ScramServer(mechanism: .sha512, serverNonce: "SRV")
        guard case .challenge(let sf) = server.evaluate(Array("n,,n=u,r=CLI".utf8), credential: { _ in c }) else { return XCTFail() }
        let serverFirst = String(decoding: sf, as: UTF8.self)
        XCTAssertEqual(serverFirst, "r=CLISRV,s=\(Data(salt).base64EncodedString()),i=4096")
        let salted = SHA2Bridge.pbkdf2("secret", salt, 4096)
        let clientKey = SHA2Bridge.hmac(salted, "Client Key")
        let withoutProof = "c=biws,r=CLISRV"
        let auth = "n=u,r=CLI,\(serverFirst),\(withoutProof)"
        let signature = SHA2Bridge.hmac(SHA2Bridge.hash(clientKey), auth)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let final = server.evaluate(Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8), credential: { _ in c })
        guard case .success(_, let user) = final else { return XCTFail("\(final)") }
        XCTAssertEqual(user, "u")
        XCTAssertFalse("\(c)".contains(Data(c.storedKey).base64EncodedString()), "a printed credential shows no key")
    }
}

/// The client's SHA2 (public for the broker) for SHA-512 in the tests above.
enum SHA2Bridge {
    static func pbkdf2(_ p: String, _ salt: [UInt8], _ i: Int) -> [UInt8] { SHA2.pbkdf2(password: Array(p.utf8), salt: salt, iterations: i, .sha512) }
    static func hmac(_ key: [UInt8], _ m: String) -> [UInt8] { SHA2.hmac(key: key, message: Array(m.utf8), .sha512) }
    static func hash(_ m: [UInt8]) -> [UInt8] { SHA2.hash(m, .sha512) }
}

final class SaslAuthenticatorTests: XCTestCase {
    static let settings = SaslListenerSettings(listener: "SASL_PLAINTEXT", enabledMechanisms: [.plain, .scramSha256],
                                               plainUsers: ["alice": "alice-secret"], maxReauthMs: [.plain: 0, .scramSha256: 0],
                                               failedAuthenticationDelayMs: 100)
    let noScram: (ScramMechanism, String) -> ScramCredential? = { _, _ in nil }

    func plainToken(_ user: String, _ password: String, authzid: String = "") -> [UInt8] {
        Array(authzid.utf8) + [0] + Array(user.utf8) + [0] + Array(password.utf8)
    }

    func testPlainSuccessAfterApiVersionsAndHandshake() {
        var a = SaslAuthenticator(settings: Self.settings)
        XCTAssertEqual(a.admit(apiKey: ApiKey.apiVersions.rawValue, nowMs: 0), .pass(principal: nil))
        XCTAssertEqual(a.admit(apiKey: ApiKey.saslHandshake.rawValue, nowMs: 0), .intercept)
        let h = a.handshake(mechanism: "PLAIN", version: 1)
        XCTAssertEqual(h, .init(errorCode: .none, mechanisms: ["PLAIN", "SCRAM-SHA-256"], close: false))
        XCTAssertEqual(a.admit(apiKey: ApiKey.saslAuthenticate.rawValue, nowMs: 0), .intercept)
        let r = a.authenticate(token: plainToken("alice", "alice-secret"), version: 2, nowMs: 0, credentials: noScram)
        XCTAssertEqual(r.errorCode, .none)
        XCTAssertEqual(r.principal, "User:alice")
        XCTAssertEqual(r.sessionLifetimeMs, 0)
        XCTAssertEqual(a.admit(apiKey: ApiKey.produce.rawValue, nowMs: 1_000_000), .pass(principal: "User:alice"))
        // connections.max.reauth.ms=0: a second handshake goes to the handler table (ILLEGAL_SASL_STATE there).
        XCTAssertEqual(a.admit(apiKey: ApiKey.saslHandshake.rawValue, nowMs: 0), .pass(principal: "User:alice"))
    }

    func testWrongPasswordAndUnknownUserFailWithKafkasMessageAfterTheDelay() {
        for (user, password) in [("alice", "wrong"), ("mallory", "alice-secret")] {
            var a = SaslAuthenticator(settings: Self.settings)
            _ = a.handshake(mechanism: "PLAIN", version: 1)
            let r = a.authenticate(token: plainToken(user, password), version: 1, nowMs: 0, credentials: noScram)
            XCTAssertEqual(r.errorCode, .saslAuthenticationFailed)
            XCTAssertEqual(r.errorMessage, "Authentication failed: Invalid username or password")
            XCTAssertTrue(r.close)
            XCTAssertEqual(r.delayMs, 100)
            XCTAssertNil(r.principal)
            XCTAssertFalse(r.errorMessage!.contains(password), "the message never quotes the password")
            if case .close = a.admit(apiKey: ApiKey.metadata.rawValue, nowMs: 0) {} else { XCTFail("failed state must close") }
        }
    }

    func testPlainMalformedTokens() {
        XCTAssertEqual(SaslAuthenticator.plain(Array("nonul".utf8), users: [:]),
                       .failure("Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN"))
        XCTAssertEqual(SaslAuthenticator.plain(plainToken("", "x"), users: [:]), .failure("Authentication failed: username not specified"))
        XCTAssertEqual(SaslAuthenticator.plain(plainToken("alice", ""), users: [:]), .failure("Authentication failed: password not specified"))
        XCTAssertEqual(SaslAuthenticator.plain(plainToken("alice", "s", authzid: "bob"), users: ["alice": "s"]),
                       .failure("Authentication failed: Client requested an authorization id that is different from username"))
        XCTAssertEqual(SaslAuthenticator.plain(plainToken("alice", "s", authzid: "alice"), users: ["alice": "s"]), .success("alice"))
    }

    func testRequestBeforeAuthenticationCloses() {
        var a = SaslAuthenticator(settings: Self.settings)
        guard case .close(let reason) = a.admit(apiKey: ApiKey.metadata.rawValue, nowMs: 0) else { return XCTFail() }
        XCTAssertTrue(reason.contains("Unexpected Kafka request of type METADATA during SASL handshake"), reason)
        var b = SaslAuthenticator(settings: Self.settings)
        _ = b.handshake(mechanism: "PLAIN", version: 1)
        guard case .close(let r2) = b.admit(apiKey: ApiKey.produce.rawValue, nowMs: 0) else { return XCTFail() }
        XCTAssertTrue(r2.contains("during SASL authentication"), r2)
    }

    func testAuthenticateBeforeHandshakeIsIllegalSaslState() {
        var a = SaslAuthenticator(settings: Self.settings)
        XCTAssertEqual(a.admit(apiKey: ApiKey.saslAuthenticate.rawValue, nowMs: 0), .intercept)
        let r = a.authenticate(token: plainToken("alice", "alice-secret"), version: 1, nowMs: 0, credentials: noScram)
        XCTAssertEqual(r.errorCode, .illegalSaslState)
        XCTAssertTrue(r.close)
        XCTAssertNil(a.session)
    }

    func testUnknownMechanismListsTheEnabledOnes() {
        var a = SaslAuthenticator(settings: Self.settings)
        XCTAssertEqual(a.handshake(mechanism: "GSSAPI", version: 1),
                       .init(errorCode: .unsupportedSaslMechanism, mechanisms: ["PLAIN", "SCRAM-SHA-256"], close: true))
        var b = SaslAuthenticator(settings: Self.settings)
        XCTAssertEqual(b.handshake(mechanism: "SCRAM-SHA-512", version: 1).errorCode, .unsupportedSaslMechanism)
    }

    func testV0HandshakeTakesRawTokens() {
        var a = SaslAuthenticator(settings: Self.settings)
        _ = a.handshake(mechanism: "PLAIN", version: 0)
        XCTAssertEqual(a.admit(apiKey: 0x0061, nowMs: 0), .rawToken)   // the token's first bytes are not an api key
        let r = a.authenticateRaw(token: plainToken("alice", "alice-secret"), nowMs: 0, credentials: noScram)
        XCTAssertEqual(r.errorCode, .none)
        XCTAssertEqual(r.token, [])
        XCTAssertEqual(a.session?.principal, "User:alice")
    }

    func testScramThroughTheAuthenticator() {
        var a = SaslAuthenticator(settings: Self.settings, nonce: { ScramServerTests.serverNonce })
        _ = a.handshake(mechanism: "SCRAM-SHA-256", version: 1)
        let creds: (ScramMechanism, String) -> ScramCredential? = { m, u in m == .sha256 && u == "user" ? ScramServerTests.credential : nil }
        let first = a.authenticate(token: Array("n,,n=user,r=\(ScramServerTests.clientNonce)".utf8), version: 2, nowMs: 0, credentials: creds)
        XCTAssertEqual(first.errorCode, .none)
        XCTAssertNil(first.principal)
        let final = a.authenticate(token: Array(ScramServerTests.clientFinal.utf8), version: 2, nowMs: 0, credentials: creds)
        XCTAssertEqual(final.errorCode, .none)
        XCTAssertEqual(String(decoding: final.token, as: UTF8.self), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        XCTAssertEqual(final.principal, "User:user")
    }

    func testReauthenticationAndSessionExpiry() {
        var settings = Self.settings
        settings.maxReauthMs[.plain] = 1000
        var a = SaslAuthenticator(settings: settings)
        _ = a.handshake(mechanism: "PLAIN", version: 1)
        let r = a.authenticate(token: plainToken("alice", "alice-secret"), version: 1, nowMs: 5000, credentials: noScram)
        XCTAssertEqual(r.sessionLifetimeMs, 1000)
        XCTAssertEqual(a.admit(apiKey: ApiKey.fetch.rawValue, nowMs: 5999), .pass(principal: "User:alice"))
        // Re-authenticate before expiry: same mechanism, same principal.
        XCTAssertEqual(a.admit(apiKey: ApiKey.saslHandshake.rawValue, nowMs: 5500), .intercept)
        XCTAssertEqual(a.handshake(mechanism: "PLAIN", version: 1).errorCode, .none)
        XCTAssertTrue(a.isReauthenticating)
        let again = a.authenticate(token: plainToken("alice", "alice-secret"), version: 1, nowMs: 5500, credentials: noScram)
        XCTAssertEqual(again.errorCode, .none)
        XCTAssertEqual(a.session?.expiresAtMs, 6500)
        XCTAssertEqual(a.admit(apiKey: ApiKey.fetch.rawValue, nowMs: 6400), .pass(principal: "User:alice"))
        // After expiry anything but a handshake closes.
        guard case .close = a.admit(apiKey: ApiKey.fetch.rawValue, nowMs: 6500) else { return XCTFail("expired session must close") }
    }

    func testReauthenticationCannotChangePrincipalOrMechanism() {
        var settings = Self.settings
        settings.plainUsers["bob"] = "bob-secret"
        settings.maxReauthMs[.plain] = 1000
        var a = SaslAuthenticator(settings: settings)
        _ = a.handshake(mechanism: "PLAIN", version: 1)
        _ = a.authenticate(token: plainToken("alice", "alice-secret"), version: 1, nowMs: 0, credentials: noScram)
        _ = a.handshake(mechanism: "PLAIN", version: 1)
        let r = a.authenticate(token: plainToken("bob", "bob-secret"), version: 1, nowMs: 10, credentials: noScram)
        XCTAssertEqual(r.errorCode, .saslAuthenticationFailed)
        XCTAssertEqual(r.errorMessage, "Cannot change principals during re-authentication from User:alice: User:bob")
        var b = SaslAuthenticator(settings: settings)
        _ = b.handshake(mechanism: "PLAIN", version: 1)
        _ = b.authenticate(token: plainToken("alice", "alice-secret"), version: 1, nowMs: 0, credentials: noScram)
        XCTAssertEqual(b.handshake(mechanism: "SCRAM-SHA-256", version: 1).errorCode, .unsupportedSaslMechanism)
    }
}

/// The dispatcher over a stub table: frames in, outcomes out, state freed on close.
final class SaslDispatcherTests: XCTestCase {
    struct Stub: RequestDispatcher {
        func dispatch(frame: ByteBuffer, connection: ConnectionInfo) async -> DispatchOutcome {
            var out = ByteBuffer()
            out.writeString(connection.principal)
            return .respond(out)
        }
    }

    func frame<R: KafkaRequest>(_ r: R, _ version: Int16) throws -> ByteBuffer {
        var b = ByteBuffer()
        try r.encode(into: &b, version: version, correlationId: 7, clientId: "t")
        return b
    }

    func decode<R: KafkaResponse>(_ outcome: DispatchOutcome, _: R.Type, _ version: Int16) throws -> (R, closed: Bool) {
        let bytes: ByteBuffer, closed: Bool
        switch outcome {
        case .respond(let b): (bytes, closed) = (b, false)
        case .respondThenClose(let b, _): (bytes, closed) = (b, true)
        default: XCTFail("no response: \(outcome)"); throw CloseConnection("none")
        }
        var b = bytes
        _ = b.readInteger(as: Int32.self)
        return (try R.decode(from: &b, version: version).1, closed)
    }

    func testFullPlainExchangeSetsThePrincipalAndCountsFailures() async throws {
        var settings = SaslAuthenticatorTests.settings
        settings.failedAuthenticationDelayMs = 0
        let d = SaslDispatcher(inner: Stub(), settings: settings, credentials: { _, _ in nil }, logger: Logger(label: "t"))
        let c1 = ConnectionInfo(connectionId: 1, clientHost: "h", clientPort: 1, listenerName: "SASL_PLAINTEXT")
        let hs = try decode(await d.dispatch(frame: try frame(SaslHandshakeRequest(mechanism: "PLAIN"), 1), connection: c1), SaslHandshakeResponse.self, 1)
        XCTAssertEqual(hs.0.errorCode, 0)
        var auth = SaslAuthenticateRequest()
        auth.authBytes = ByteBuffer(bytes: Array("\u{0}alice\u{0}alice-secret".utf8))
        let ok = try decode(await d.dispatch(frame: try frame(auth, 2), connection: c1), SaslAuthenticateResponse.self, 2)
        XCTAssertEqual(ok.0.errorCode, 0)
        XCTAssertFalse(ok.closed)
        guard case .respond(let principal) = await d.dispatch(frame: try frame(MetadataRequest(), 1), connection: c1) else { return XCTFail() }
        XCTAssertEqual(principal.getString(at: 0, length: principal.readableBytes), "User:alice")

        let c2 = ConnectionInfo(connectionId: 2, clientHost: "h", clientPort: 2, listenerName: "SASL_PLAINTEXT")
        _ = await d.dispatch(frame: try frame(SaslHandshakeRequest(mechanism: "PLAIN"), 1), connection: c2)
        auth.authBytes = ByteBuffer(bytes: Array("\u{0}alice\u{0}guess".utf8))
        let bad = try decode(await d.dispatch(frame: try frame(auth, 1), connection: c2), SaslAuthenticateResponse.self, 1)
        XCTAssertEqual(bad.0.errorCode, ErrorCode.saslAuthenticationFailed.rawValue)
        XCTAssertEqual(bad.0.errorMessage, "Authentication failed: Invalid username or password")
        XCTAssertTrue(bad.closed)
        XCTAssertEqual(d.failedAuthentications, 1)
        // The first connection is unaffected.
        guard case .respond = await d.dispatch(frame: try frame(MetadataRequest(), 1), connection: c1) else { return XCTFail() }
        XCTAssertEqual(d.trackedConnections, 2)
        d.connectionClosed(c2)
        d.connectionClosed(c1)
        XCTAssertEqual(d.trackedConnections, 0)
    }

    func testUnknownMechanismAndEarlyRequests() async throws {
        let d = SaslDispatcher(inner: Stub(), settings: SaslAuthenticatorTests.settings, credentials: { _, _ in nil }, logger: Logger(label: "t"))
        let c = ConnectionInfo(connectionId: 1, clientHost: "h", clientPort: 1, listenerName: "SASL_PLAINTEXT")
        let hs = try decode(await d.dispatch(frame: try frame(SaslHandshakeRequest(mechanism: "OAUTHBEARER"), 1), connection: c), SaslHandshakeResponse.self, 1)
        XCTAssertEqual(hs.0.errorCode, ErrorCode.unsupportedSaslMechanism.rawValue)
        XCTAssertEqual(hs.0.mechanisms, ["PLAIN", "SCRAM-SHA-256"])
        XCTAssertTrue(hs.closed)
        let c2 = ConnectionInfo(connectionId: 2, clientHost: "h", clientPort: 1, listenerName: "SASL_PLAINTEXT")
        guard case .respond = await d.dispatch(frame: try frame(ApiVersionsRequest(), 0), connection: c2) else { return XCTFail("ApiVersions is served before authentication") }
        guard case .close = await d.dispatch(frame: try frame(MetadataRequest(), 1), connection: c2) else { return XCTFail("Metadata before authentication closes") }
        let c3 = ConnectionInfo(connectionId: 3, clientHost: "h", clientPort: 1, listenerName: "SASL_PLAINTEXT")
        let early = try decode(await d.dispatch(frame: try frame(SaslAuthenticateRequest(), 1), connection: c3), SaslAuthenticateResponse.self, 1)
        XCTAssertEqual(early.0.errorCode, ErrorCode.illegalSaslState.rawValue)
        XCTAssertTrue(early.closed)
        // sasl.server.max.receive.size: an oversized frame before authentication closes.
        let c4 = ConnectionInfo(connectionId: 4, clientHost: "h", clientPort: 1, listenerName: "SASL_PLAINTEXT")
        var big = SaslAuthenticateRequest()
        big.authBytes = ByteBuffer(repeating: 0x41, count: 600_000)
        guard case .close(let reason) = await d.dispatch(frame: try frame(big, 1), connection: c4) else { return XCTFail("oversized frame") }
        XCTAssertTrue(reason.contains("sasl.server.max.receive.size"), reason)
    }
}

final class SaslConfigTests: XCTestCase {
    func testJaasParsing() throws {
        let m = try JaasLoginModule.parse(#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice \"quoted\" secret";"#)
        XCTAssertEqual(m.loginModule, JaasLoginModule.plainLoginModule)
        XCTAssertEqual(m.controlFlag, "required")
        XCTAssertEqual(m.plainUsers, ["admin": "admin-secret", "alice": #"alice "quoted" secret"#])
        XCTAssertEqual(try JaasLoginModule.parse("org.apache.kafka.common.security.scram.ScramLoginModule required;").options, [:])
        XCTAssertEqual(try JaasLoginModule.parse("a.B required user_x=bare;").plainUsers, ["x": "bare"])
    }

    func testJaasErrorsAreOneLineWithoutSecrets() {
        let cases: [(String, String)] = [
            (#"a.B required user_x="secret1""#, "does not end with ';'"),
            (#"a.B mandatory user_x="secret1";"#, "invalid control flag"),
            (#"a.B required user_x="secret1"; c.D required;"#, "contains 2 login modules, should be 1 module"),
            (#"a.B required user_x="secret1;"#, "unterminated quoted value"),
            (#"a.B required user_x "secret1";"#, "malformed option"),
            ("", "contains 0 login modules"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try JaasLoginModule.parse(text), text) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(expected), "\(text): \(message)")
                XCTAssertFalse(message.contains("secret1"), message)
                XCTAssertFalse(message.contains("\n"))
            }
        }
    }

    func config(_ lines: [String]) throws(ConfigError) -> BrokerConfig {
        var props = PropertiesFile()
        for (i, line) in lines.enumerated() {
            let eq = line.firstIndex(of: "=")!
            props.set(.init(key: String(line[..<eq]), value: String(line[line.index(after: eq)...]), line: i + 1))
        }
        return try BrokerConfig(properties: props)
    }

    static let plainJaas = #"listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";"#

    func testSaslListenerSettingsResolvePerListenerAndMechanism() throws {
        let c = try config(["listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093",
                            "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512",
                            Self.plainJaas,
                            "listener.name.sasl_plaintext.scram-sha-512.connections.max.reauth.ms=60000",
                            "connection.failed.authentication.delay.ms=250"])
        let s = try XCTUnwrap(c.saslSettings["SASL_PLAINTEXT"])
        XCTAssertEqual(s.enabledMechanisms, [.plain, .scramSha512])
        XCTAssertEqual(s.plainUsers, ["alice": "alice-secret"])
        XCTAssertEqual(s.maxReauthMs, [.plain: 0, .scramSha512: 60000])
        XCTAssertEqual(s.failedAuthenticationDelayMs, 250)
        XCTAssertNil(c.saslSettings["PLAINTEXT"])
        XCTAssertEqual(c.listenerSecurityProtocols["SASL_PLAINTEXT"], .saslPlaintext)
    }

    func testBadSaslConfigsAreOneLineStartUpErrors() {
        let cases: [([String], String)] = [
            (["listeners=SASL_PLAINTEXT://:9093"], "sasl.enabled.mechanisms"),   // Kafka's default GSSAPI
            (["listeners=SASL_PLAINTEXT://:9093", "sasl.enabled.mechanisms=PLAIN"], "listener.name.sasl_plaintext.plain.sasl.jaas.config"),
            (["listeners=SASL_PLAINTEXT://:9093", "sasl.enabled.mechanisms=SCRAM-SHA-256,OAUTHBEARER"], "OAUTHBEARER"),
            (["listeners=SASL_PLAINTEXT://:9093", "sasl.enabled.mechanisms=PLAIN",
              #"listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_a="pw-secret""#],
             "does not end with ';'"),
            (["listeners=SASL_PLAINTEXT://:9093", "sasl.enabled.mechanisms=SCRAM-SHA-256", "connections.max.reauth.ms=-1"], "connections.max.reauth.ms"),
            (["listeners=SASL_PLAINTEXT://:9093", "sasl.enabled.mechanisms=SCRAM-SHA-256", "inter.broker.listener.name=SASL_PLAINTEXT",
              "sasl.mechanism.inter.broker.protocol=PLAIN"], "sasl.mechanism.inter.broker.protocol"),
        ]
        for (lines, key) in cases {
            XCTAssertThrowsError(try config(lines), "\(lines)") { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(key), message)
                XCTAssertFalse(message.contains("pw-secret"), message)
                XCTAssertFalse(message.contains("\n"))
            }
        }
        XCTAssertNoThrow(try config(["listeners=SASL_SSL://:9094", "sasl.enabled.mechanisms=SCRAM-SHA-256"]))
        // A KRaft broker whose inter-broker listener is SASL needs the credentials its replica
        // fetcher logs in with: the mechanism's JAAS config with username and password.
        let kraft = ["process.roles=broker,controller", "node.id=1", "controller.quorum.voters=1@localhost:9095",
                     "controller.listener.names=CONTROLLER", "listeners=SASL_PLAINTEXT://:9093,CONTROLLER://:9095",
                     "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
                     "inter.broker.listener.name=SASL_PLAINTEXT", "sasl.enabled.mechanisms=SCRAM-SHA-256",
                     "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256"]
        XCTAssertThrowsError(try config(kraft)) { error in
            XCTAssertTrue("\(error)".contains("sasl.jaas.config"), "\(error)")
        }
        let jaas = #"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="pw-secret";"#
        let ok = try? config(kraft + [jaas])
        XCTAssertEqual(ok?.replicaFetch.clientSecurity["security.protocol"], "SASL_PLAINTEXT")
        XCTAssertEqual(ok?.replicaFetch.clientSecurity["sasl.mechanism"], "SCRAM-SHA-256")
    }
}

final class ScramCredentialStorageTests: XCTestCase {
    func upsert(_ name: String, _ mechanism: Int8 = 1, iterations: Int32 = 4096) -> ScramCredentialChanges.Upsertion {
        .init(name: name, mechanism: mechanism, iterations: iterations, salt: [1, 2, 3], saltedPassword: Array(repeating: 7, count: 32))
    }

    func testAlterPlanErrorsAreKafkas() {
        var image = MetadataImage(clusterId: "c", controllerId: 1)
        let (records, results) = ScramCredentialChanges.plan(
            deletions: [.init(name: "ghost", mechanism: 1)],
            upsertions: [upsert("alice"), upsert("low", iterations: 4095), upsert("high", iterations: 16385),
                         upsert("odd", 3), upsert("twice"), upsert("twice"), upsert("")],
            image: image)
        let byUser = Dictionary(uniqueKeysWithValues: results.map { ($0.user, $0) })
        XCTAssertEqual(byUser["alice"]?.error, ErrorCode.none)
        XCTAssertEqual(byUser["ghost"]?.error, .resourceNotFound)
        XCTAssertEqual(byUser["low"]?.error, .unacceptableCredential)
        XCTAssertEqual(byUser["low"]?.message, "Too few iterations")
        XCTAssertEqual(byUser["high"]?.message, "Too many iterations")
        XCTAssertEqual(byUser["odd"]?.error, .unsupportedSaslMechanism)
        XCTAssertEqual(byUser["twice"]?.error, .duplicateResource)
        XCTAssertEqual(byUser[""]?.error, .unacceptableCredential)
        XCTAssertEqual(results.map(\.user), ["ghost", "alice", "low", "high", "odd", "twice", ""])
        XCTAssertEqual(records.count, 1)
        for r in records { image.apply(r) }
        let c = image.scramCredential(.sha256, user: "alice")
        XCTAssertEqual(c, ScramCredential.derive(saltedPassword: Array(repeating: 7, count: 32), salt: [1, 2, 3], iterations: 4096, mechanism: .sha256))
        // Deleting it now works; a user with one bad alteration keeps its credential.
        let (r2, res2) = ScramCredentialChanges.plan(deletions: [.init(name: "alice", mechanism: 1)], upsertions: [upsert("alice", 2, iterations: 1)], image: image)
        XCTAssertEqual(res2.first?.error, .unacceptableCredential)
        XCTAssertTrue(r2.isEmpty)
        // Deleting and setting the same mechanism in one request: DUPLICATE_RESOURCE.
        let (_, res3) = ScramCredentialChanges.plan(deletions: [.init(name: "alice", mechanism: 1)], upsertions: [upsert("alice", 1)], image: image)
        XCTAssertEqual(res3.first?.error, .duplicateResource)
        let (r3, _) = ScramCredentialChanges.plan(deletions: [.init(name: "alice", mechanism: 1)], upsertions: [], image: image)
        for r in r3 { image.apply(r) }
        XCTAssertTrue(image.scramCredentials.isEmpty)
    }

    func testRecordsRoundTripKafkasCodecAndSnapshots() throws {
        let cred = ScramCredential.derive(password: "pw", salt: [9, 9], iterations: 4096, mechanism: .sha512)
        let record = MetadataRecord.scramCredential(name: "bob", mechanism: 2, cred)
        XCTAssertEqual(try MetadataRecordCodec.decode(MetadataRecordCodec.encode(record)), record)
        let removal = MetadataRecord.removeScramCredential(name: "bob", mechanism: 2)
        XCTAssertEqual(try MetadataRecordCodec.decode(MetadataRecordCodec.encode(removal)), removal)
        var image = MetadataImage(clusterId: "c", controllerId: 1)
        image.apply(record)
        var rebuilt = MetadataImage(clusterId: "c", controllerId: 1)
        for r in image.records() { rebuilt.apply(r) }
        XCTAssertEqual(rebuilt.scramCredentials, image.scramCredentials)
        // Images persisted as JSON before SCRAM existed still decode.
        var old = MetadataImage(clusterId: "c", controllerId: 1)
        old.apply(.producerIds(nextProducerId: 5))
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(old)) as! [String: Any]
        json["scramCredentials"] = nil
        let decoded = try JSONDecoder().decode(MetadataImage.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(decoded.nextProducerId, 5)
        XCTAssertTrue(decoded.scramCredentials.isEmpty)
    }

    func testDescribeUserScramCredentials() {
        var image = MetadataImage(clusterId: "c", controllerId: 1)
        image.apply(.scramCredential(name: "alice", mechanism: 1, .derive(password: "a", salt: [1], iterations: 8192, mechanism: .sha256)))
        var all = DescribeUserScramCredentialsRequest()
        all.users = nil
        let r = DescribeUserScramCredentialsHandler.describe(all, image: image)
        XCTAssertEqual(r.results.map(\.user), ["alice"])
        XCTAssertEqual(r.results.first?.credentialInfos.first?.iterations, 8192)
        var some = DescribeUserScramCredentialsRequest()
        some.users = [.init(name: "alice"), .init(name: "nobody"), .init(name: "x"), .init(name: "x")]
        let r2 = DescribeUserScramCredentialsHandler.describe(some, image: image)
        XCTAssertEqual(r2.results.map(\.errorCode), [0, ErrorCode.resourceNotFound.rawValue, ErrorCode.duplicateResource.rawValue])
    }

    func testAddScramArgument() throws {
        let r = try KRaftStorage.parseAddScram("SCRAM-SHA-256=[name=admin,password=admin-secret]", randomSalt: { [1, 2, 3, 4] })
        XCTAssertEqual(r, .scramCredential(name: "admin", mechanism: 1,
                                           .derive(password: "admin-secret", salt: [1, 2, 3, 4], iterations: 4096, mechanism: .sha256)))
        let q = try KRaftStorage.parseAddScram(#"SCRAM-SHA-512=[name="bob",iterations=8192,salt="AQID",saltedpassword="BAUG"]"#)
        XCTAssertEqual(q, .scramCredential(name: "bob", mechanism: 2,
                                           .derive(saltedPassword: [4, 5, 6], salt: [1, 2, 3], iterations: 8192, mechanism: .sha512)))
        for bad in ["SCRAM-SHA-1=[name=a,password=pw-secret]", "SCRAM-SHA-256=name=a,password=pw-secret", "SCRAM-SHA-256=[password=pw-secret]",
                    "SCRAM-SHA-256=[name=a]", "SCRAM-SHA-256=[name=a,password=pw-secret,iterations=100]", "SCRAM-SHA-256=[name=a,pass=pw-secret]"] {
            XCTAssertThrowsError(try KRaftStorage.parseAddScram(bad), bad) { error in
                XCTAssertFalse("\(error)".contains("pw-secret"), "\(error)")
            }
        }
    }
}
