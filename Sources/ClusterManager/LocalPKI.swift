import Crypto
import Foundation
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#endif

/// A throw-away certificate authority and one broker certificate for a local cluster
/// (`samsa demo --secure`), made in-process (P-256 keys, ECDSA-SHA256; no openssl binary).
/// The broker certificate names 127.0.0.1 and localhost (SAN), so clients that check the
/// host name (`ssl.endpoint.identification.algorithm=https`, the default) accept it; it is
/// also good for client authentication (the brokers present it to each other).
///
/// Files written by ``write(to:)``:
///
/// ```
/// ca.pem               the CA certificate: clients' ssl.ca.location, brokers' ssl.truststore.location
/// broker.pem           the broker certificate, then the CA certificate
/// broker.key           the broker's private key (PKCS#8 PEM, unencrypted, mode 0600)
/// broker-keystore.pem  broker.key followed by broker.pem: Kafka's PEM key store (ssl.keystore.location)
/// ```
///
/// The CA's private key is never written: nothing else can be signed by this CA once the
/// process that made it has gone.
public struct LocalPKI: Sendable {
    public let caCertificatePEM: String
    public let brokerCertificatePEM: String
    public let brokerKeyPEM: String

    public static let caFile = "ca.pem"
    public static let brokerCertificateFile = "broker.pem"
    public static let brokerKeyFile = "broker.key"
    public static let keystoreFile = "broker-keystore.pem"

    /// Makes a CA (`CN=<name> CA`) and a broker certificate it signs, valid from an hour ago
    /// (clock skew) for `validity`.
    public static func generate(name: String = "Samsa demo", validity: TimeInterval = 30 * 86_400, now: Date = Date()) throws -> LocalPKI {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName(name)
            CommonName("\(name) CA")
        }
        let caPublic = Certificate.PublicKey(caKey.publicKey)
        let caKeyId = SubjectKeyIdentifier(hash: caPublic)
        let notBefore = now.addingTimeInterval(-3600), notAfter = now.addingTimeInterval(validity)
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: caPublic,
            notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                caKeyId
            },
            issuerPrivateKey: .init(caKey))

        let brokerKey = P256.Signing.PrivateKey()
        let brokerPublic = Certificate.PublicKey(brokerKey.publicKey)
        let brokerName = try DistinguishedName {
            OrganizationName(name)
            CommonName("localhost")
        }
        let broker = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: brokerPublic,
            notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: caName, subject: brokerName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyAgreement: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                SubjectKeyIdentifier(hash: brokerPublic)
                AuthorityKeyIdentifier(keyIdentifier: caKeyId.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey))

        return LocalPKI(caCertificatePEM: try ca.serializeAsPEM().pemString,
                        brokerCertificatePEM: try broker.serializeAsPEM().pemString,
                        brokerKeyPEM: brokerKey.pemRepresentation)
    }

    /// Writes the four files into `directory` (created, mode 0700); the key files get mode 0600.
    public func write(to directory: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let chain = Self.line(brokerCertificatePEM) + Self.line(caCertificatePEM)
        try Self.writeFile(directory.appendingPathComponent(Self.caFile), Self.line(caCertificatePEM), mode: 0o644)
        try Self.writeFile(directory.appendingPathComponent(Self.brokerCertificateFile), chain, mode: 0o644)
        try Self.writeFile(directory.appendingPathComponent(Self.brokerKeyFile), Self.line(brokerKeyPEM), mode: 0o600)
        try Self.writeFile(directory.appendingPathComponent(Self.keystoreFile), Self.line(brokerKeyPEM) + chain, mode: 0o600)
    }

    private static func line(_ pem: String) -> String { pem.hasSuffix("\n") ? pem : pem + "\n" }

    /// Writes `text` to a file created with `mode` from the start (no window where a secret is
    /// readable by others), replacing an existing file.
    public static func writeFile(_ url: URL, _ text: String, mode: Int) throws {
        let path = url.path
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(fd) }
        // The umask may have taken bits away from `mode`; never adds any.
        _ = fchmod(fd, mode_t(mode))
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
            done += n
        }
    }
}
