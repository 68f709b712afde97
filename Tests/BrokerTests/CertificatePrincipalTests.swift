import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509
import XCTest
@testable import Broker

/// The distinguished name of a client certificate as Java's `X500Principal.getName()` prints it
/// (RFC 2253), which is what Kafka's mapping rules and ACLs see.
final class CertificatePrincipalTests: XCTestCase {
    private func name(_ rdns: [RelativeDistinguishedName]) -> String {
        CertificatePrincipal.rfc2253(DistinguishedName(rdns))
    }

    func testMostSpecificFirstWithJavasKeywords() throws {
        // openssl -subj /C=US/ST=CA/L=SF/O=Acme/OU=eng/CN=alice encodes C first.
        let dn = try DistinguishedName {
            CountryName("US")
            StateOrProvinceName("CA")
            LocalityName("SF")
            OrganizationName("Acme")
            OrganizationalUnitName("eng")
            CommonName("alice")
        }
        XCTAssertEqual(CertificatePrincipal.rfc2253(dn), "CN=alice,OU=eng,O=Acme,L=SF,ST=CA,C=US")
    }

    func testDomainComponentsUidAndOtherAttributes() throws {
        let dc: ASN1ObjectIdentifier = [0, 9, 2342, 19_200_300, 100, 1, 25]
        let uid: ASN1ObjectIdentifier = [0, 9, 2342, 19_200_300, 100, 1, 1]
        let email: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 1]
        typealias RDN = RelativeDistinguishedName
        let dn = name([
            RDN(try RDN.Attribute(type: dc, ia5String: "com")),
            RDN(try RDN.Attribute(type: dc, ia5String: "example")),
            RDN(RDN.Attribute(type: uid, utf8String: "jdoe")),
            RDN(try RDN.Attribute(type: email, ia5String: "a@b")),
        ])
        // emailAddress has no RFC 2253 keyword in Java: dotted OID and the DER value in hex.
        XCTAssertEqual(dn, "1.2.840.113549.1.9.1=#1603614062,UID=jdoe,DC=example,DC=com")
    }

    func testEscapingAsJava() {
        let cn: ASN1ObjectIdentifier = [2, 5, 4, 3]
        func cnName(_ value: String) -> String {
            name([RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: cn, utf8String: value))])
        }
        XCTAssertEqual(cnName("Tkac, Adam"), #"CN=Tkac\, Adam"#)
        XCTAssertEqual(cnName(##"a+b=c<d>e#f;g"h\i"##), ##"CN=a\+b\=c\<d\>e\#f\;g\"h\\i"##)
        XCTAssertEqual(cnName(" padded  "), #"CN=\ padded\ \ "#)
        XCTAssertEqual(cnName("#1"), ##"CN=\#1"##)
        XCTAssertEqual(cnName("Zoë_é*@x"), "CN=Zoë_é*@x")
    }

    func testMultiValuedRDN() throws {
        let cn: ASN1ObjectIdentifier = [2, 5, 4, 3], ou: ASN1ObjectIdentifier = [2, 5, 4, 11]
        let rdn = RelativeDistinguishedName([RelativeDistinguishedName.Attribute(type: cn, utf8String: "a"),
                                             RelativeDistinguishedName.Attribute(type: ou, utf8String: "b")])
        XCTAssertEqual(name([rdn]), "CN=a+OU=b")
    }

    func testPrincipalOfACertificate() throws {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("Acme")
            OrganizationalUnitName("eng")
            CommonName("Alice")
        }
        let now = Date()
        let cert = try Certificate(version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                                   notValidBefore: now - 60, notValidAfter: now + 3600, issuer: subject, subject: subject,
                                   signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
                                   issuerPrivateKey: .init(key))
        var serializer = DER.Serializer()
        try serializer.serialize(cert)
        XCTAssertEqual(try CertificatePrincipal.subjectName(derEncodedCertificate: serializer.serializedBytes), "CN=Alice,OU=eng,O=Acme")
        let pem = try cert.serializeAsPEM().pemString
        let nio = try XCTUnwrap(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)).first)
        let rules = try SslPrincipalMapper(rules: "RULE:^CN=(.*?),OU=.*$/$1/L,DEFAULT")
        XCTAssertEqual(CertificatePrincipal.principal(certificate: nio, mapper: rules), .success("User:alice"))
        XCTAssertEqual(CertificatePrincipal.principal(certificate: nio, mapper: .default), .success("User:CN=Alice,OU=eng,O=Acme"))
        XCTAssertEqual(CertificatePrincipal.principal(certificate: nil, mapper: rules), .success("User:ANONYMOUS"))
        guard case .failure(let refusal) = CertificatePrincipal.principal(certificate: nio, mapper: try SslPrincipalMapper(rules: "RULE:^CN=bob$/bob/")) else {
            return XCTFail("a certificate no rule maps must be refused")
        }
        XCTAssertTrue(refusal.description.contains("CN=Alice,OU=eng,O=Acme"), refusal.description)
    }
}
