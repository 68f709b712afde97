import Foundation
import NIOSSL

/// TLS settings for `security.protocol` SSL and SASL_SSL, read from Kafka's `ssl.*` keys.
///
/// The files are read once, here, when the config is built: a missing or malformed CA,
/// certificate or key is an operator error that should surface as one line naming the key
/// and the path before any connection is tried, not as a handshake failure per broker. The
/// resulting ``NIOSSLContext`` is shared by every connection (building one per connection
/// would re-parse the files and the system trust store each time).
public struct TLSConfig: Sendable {
    /// `ssl.ca.location`: PEM file (or directory of PEM files) of trusted CAs; nil means the
    /// system trust roots.
    public var caLocation: String?
    /// `ssl.certificate.location`: PEM client certificate chain for mutual TLS.
    public var certificateLocation: String?
    /// `ssl.key.location`: PEM private key matching the client certificate.
    public var keyLocation: String?
    /// `ssl.endpoint.identification.algorithm`: `https` (default, as in librdkafka >= 1.9
    /// and Java) verifies that the broker certificate names the host we dialled; empty
    /// disables that check (the chain is still verified against the CA).
    public var verifyHostname: Bool
    /// The context every connection's ``NIOSSLClientHandler`` is created from.
    let context: NIOSSLContext

    init(properties: ClientProperties) throws {
        caLocation = Self.nonEmpty(properties["ssl.ca.location"])
        certificateLocation = Self.nonEmpty(properties["ssl.certificate.location"])
        keyLocation = Self.nonEmpty(properties["ssl.key.location"])
        let algorithm = properties.string("ssl.endpoint.identification.algorithm", default: "https")
            .trimmingCharacters(in: .whitespaces).lowercased()
        switch algorithm {
        case "https": verifyHostname = true
        case "", "none": verifyHostname = false
        default:
            throw KafkaClientError.invalidConfiguration(
                key: "ssl.endpoint.identification.algorithm", value: algorithm, reason: "expected 'https' or empty")
        }

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = verifyHostname ? .fullVerification : .noHostnameVerification
        if let caLocation {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: caLocation, isDirectory: &isDirectory) else {
                throw KafkaClientError.invalidConfiguration(key: "ssl.ca.location", value: caLocation, reason: "no such file")
            }
            if isDirectory.boolValue {
                // BoringSSL looks certificates up by subject hash in a CA directory lazily.
                tls.trustRoots = .file(caLocation)
            } else {
                let certificates = try Self.loadCertificates(key: "ssl.ca.location", path: caLocation)
                tls.trustRoots = .certificates(certificates)
            }
        }
        switch (certificateLocation, keyLocation) {
        case (nil, nil):
            break
        case let (certificatePath?, keyPath?):
            let chain = try Self.loadCertificates(key: "ssl.certificate.location", path: certificatePath)
            tls.certificateChain = chain.map { .certificate($0) }
            let password = properties["ssl.key.password"]
            let key: NIOSSLPrivateKey
            do {
                if let password {
                    key = try NIOSSLPrivateKey(file: keyPath, format: .pem) { setter in setter(Array(password.utf8)) }
                } else {
                    key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
                }
            } catch {
                let hint = password == nil ? " (encrypted keys need ssl.key.password)" : " (or wrong ssl.key.password)"
                throw KafkaClientError.invalidConfiguration(
                    key: "ssl.key.location", value: keyPath,
                    reason: "cannot read a PEM private key: \(Self.describe(error))\(hint)")
            }
            tls.privateKey = .privateKey(key)
        case (_?, nil):
            throw KafkaClientError.invalidConfiguration(
                key: "ssl.key.location", value: "", reason: "ssl.certificate.location is set but ssl.key.location is not")
        case (nil, _?):
            throw KafkaClientError.invalidConfiguration(
                key: "ssl.certificate.location", value: "", reason: "ssl.key.location is set but ssl.certificate.location is not")
        }
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            // Reached when the key does not match the certificate, or a CA directory is unusable.
            if let certificateLocation, let keyLocation {
                throw KafkaClientError.invalidConfiguration(
                    key: "ssl.key.location", value: keyLocation,
                    reason: "the key does not match the certificate in ssl.certificate.location \(certificateLocation) (\(Self.describe(error)))")
            }
            throw KafkaClientError.invalidConfiguration(
                key: "ssl.ca.location", value: caLocation ?? "",
                reason: "cannot build the TLS context: \(Self.describe(error))")
        }
    }

    /// A TLS client handler for a connection to `host` (the name the certificate is checked
    /// against when ``verifyHostname``; sent as SNI unless it is an IP literal), for pipelines
    /// this library does not build itself (the broker's Raft transport to an SSL controller
    /// listener).
    public func makeClientHandler(host: String) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: Self.isIPAddress(host) ? nil : host)
    }

    /// Whether `host` is an IP literal (which SNI may not carry; RFC 6066 section 3).
    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    private static func loadCertificates(key: String, path: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw KafkaClientError.invalidConfiguration(key: key, value: path, reason: "file does not exist or is not readable")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw KafkaClientError.invalidConfiguration(key: key, value: path, reason: "not a PEM certificate file: \(describe(error))")
        }
        guard !certificates.isEmpty else {
            throw KafkaClientError.invalidConfiguration(key: key, value: path, reason: "no PEM certificate in the file")
        }
        return certificates
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// One line for a NIOSSL / BoringSSL error: the library's message without its source
    /// file and line, which mean nothing to an operator.
    static func describe(_ error: Error) -> String {
        if let ssl = error as? NIOSSLError, case .handshakeFailed(let inner) = ssl {
            return describe(inner)
        }
        if let boring = error as? BoringSSLError {
            switch boring {
            case .sslError(let stack), .unknownError(let stack), .invalidSNIName(let stack), .failedToSetALPN(let stack):
                let messages = stack.map { info -> String in
                    // "Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at /path:123"
                    var text = String(describing: info)
                    if let at = text.range(of: " at /") { text = String(text[..<at.lowerBound]) }
                    if let last = text.split(separator: ":").last { return String(last) }
                    return text
                }
                return messages.isEmpty ? String(describing: boring) : messages.joined(separator: ", ")
            default:
                return String(describing: boring)
            }
        }
        return String(describing: error)
    }
}
