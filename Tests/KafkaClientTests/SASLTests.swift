import XCTest
@testable import KafkaClient

final class SASLTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testSHA2FIPSVectors() {
        XCTAssertEqual(hex(SHA2.sha256(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(SHA2.sha256([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(SHA2.sha512(Array("abc".utf8))),
                       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        // Two-block message (56 bytes forces a second padding block for SHA-256).
        XCTAssertEqual(hex(SHA2.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testHMACRFC4231Vectors() {
        let key = Array("Jefe".utf8), data = Array("what do ya want for nothing?".utf8)
        XCTAssertEqual(hex(SHA2.hmac(key: key, message: data, .sha256)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(hex(SHA2.hmac(key: key, message: data, .sha512)),
                       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")
    }

    /// RFC 7677 section 3's example SCRAM-SHA-256 exchange, byte for byte.
    /// SCRAM's Hi() is PBKDF2 with one output block; vectors from Python's hashlib.pbkdf2_hmac.
    func testHiIsPBKDF2() {
        let pw = Array("password".utf8), salt = Array("salt".utf8)
        XCTAssertEqual(hex(SHA2.pbkdf2(password: pw, salt: salt, iterations: 1, .sha512)),
                       "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce")
        XCTAssertEqual(hex(SHA2.pbkdf2(password: pw, salt: salt, iterations: 4096, .sha512)),
                       "d197b1b33db0143e018b12f3d1d1479e6cdebdcc97c5c0f87f6902e072f457b5143f30602641b3d55cd335988cb36b84376060ecd532e039b742a239434af2d5")
        XCTAssertEqual(hex(SHA2.pbkdf2(password: pw, salt: salt, iterations: 4096, .sha256)),
                       "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
    }

    func testScramSHA256MatchesRFC7677Example() throws {
        var scram = ScramClient(variant: .sha256, username: "user", password: "pencil", clientNonce: "rOprNGfwEbeRWgbNEkqO")
        XCTAssertEqual(scram.firstMessage(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let final = try scram.finalMessage(serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        XCTAssertEqual(final, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        XCTAssertNoThrow(try scram.verify(serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
        XCTAssertThrowsError(try scram.verify(serverFinal: "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
        XCTAssertThrowsError(try scram.verify(serverFinal: "e=invalid-proof"))
    }

    func testScramRejectsANonceTheClientDidNotStart() {
        var scram = ScramClient(variant: .sha512, username: "u", password: "p", clientNonce: "abc")
        _ = scram.firstMessage()
        XCTAssertThrowsError(try scram.finalMessage(serverFirst: "r=zzz123,s=c2FsdA==,i=4096"))
        XCTAssertThrowsError(try scram.finalMessage(serverFirst: "r=abc123,s=c2FsdA==,i=0"))
    }

    func testSASLConfigFromJaasAndLibrdkafkaKeys() throws {
        let jaas = try ClientConfig(properties: [
            "bootstrap.servers": "h:1", "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.jaas.config": #"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="p\"w";"#,
        ])
        XCTAssertEqual(jaas.sasl?.mechanism, .scramSHA512)
        XCTAssertEqual(jaas.sasl?.username, "alice")
        XCTAssertEqual(jaas.sasl?.password, "p\"w")
        let plain = try ClientConfig(properties: ["bootstrap.servers": "h:1", "security.protocol": "sasl_plaintext",
                                                  "sasl.username": "bob", "sasl.password": "secret"])
        XCTAssertEqual(plain.sasl?.mechanism, .plain)
        XCTAssertThrowsError(try ClientConfig(properties: ["bootstrap.servers": "h:1", "security.protocol": "SASL_PLAINTEXT"]))
        let saslSSL = try ClientConfig(properties: ["bootstrap.servers": "h:1", "security.protocol": "sasl_ssl",
                                                    "sasl.username": "bob", "sasl.password": "secret"])
        XCTAssertEqual(saslSSL.sasl?.username, "bob")
        XCTAssertEqual(saslSSL.tls?.verifyHostname, true, "hostname verification is on by default, as in Kafka")
    }
}
