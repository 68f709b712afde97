import NIOSSL
import SwiftASN1
import X509

/// The principal of a connection on an SSL listener, as Kafka's `DefaultKafkaPrincipalBuilder`
/// builds it for an `SslAuthenticationContext`: with a client certificate (mutual TLS,
/// `ssl.client.auth=required`, or `requested` and presented) `User:` followed by the certificate
/// subject's distinguished name in Java's RFC 2253 form (`X500Principal.getName()`), mapped by
/// `ssl.principal.mapping.rules` (``SslPrincipalMapper``); without one `User:ANONYMOUS`.
/// SASL_SSL listeners take the SASL identity instead (``SaslDispatcher``), as Kafka does.
public enum CertificatePrincipal {
    /// The principal of a connection whose peer presented `certificate` (nil: none), or why the
    /// connection must be refused (no mapping rule matches, the subject cannot be read).
    public static func principal(certificate: NIOSSLCertificate?, mapper: SslPrincipalMapper) -> Result<String, Refusal> {
        guard let certificate else { return .success(ConnectionInfo.anonymous) }
        let subject: String
        do {
            subject = try subjectName(derEncodedCertificate: certificate.toDERBytes())
        } catch {
            return .failure(Refusal(description: "cannot read the subject of the client certificate (\(error))"))
        }
        guard let name = mapper.name(for: subject) else {
            return .failure(Refusal(description: "no rule of ssl.principal.mapping.rules applies to the client certificate's subject \(subject) (\(mapper))"))
        }
        return .success("User:" + name)
    }

    /// Why a connection gets no principal: closes it, as Kafka's `KafkaException` from the
    /// principal builder does.
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The subject of a DER certificate in Java's RFC 2253 form.
    public static func subjectName(derEncodedCertificate der: [UInt8]) throws -> String {
        rfc2253(try Certificate(derEncoded: der).subject)
    }

    /// `name` as Java's `X500Principal.getName()` (`X500Name.getRFC2253Name`) prints it, which is
    /// the text Kafka's mapping rules and ACLs see: the RDNs from the last encoded to the first
    /// (`CN=alice,OU=eng,O=Acme,C=US` for a certificate made with `/C=US/O=Acme/OU=eng/CN=alice`),
    /// joined by `,`; the attributes of a multi-valued RDN joined by `+`.
    public static func rfc2253(_ name: DistinguishedName) -> String {
        name.reversed().map { rdn in rdn.map(attribute).joined(separator: "+") }.joined(separator: ",")
    }

    /// The RFC 2253 keywords Java uses (`AVAKeyword`s marked RFC 2253 compliant); any other
    /// attribute type (`emailAddress`, `serialNumber`, ...) is printed as its dotted OID.
    static let keywords: [ASN1ObjectIdentifier: String] = [
        [2, 5, 4, 3]: "CN", [2, 5, 4, 6]: "C", [2, 5, 4, 7]: "L", [2, 5, 4, 8]: "ST", [2, 5, 4, 10]: "O",
        [2, 5, 4, 11]: "OU", [2, 5, 4, 9]: "STREET", [0, 9, 2342, 19_200_300, 100, 1, 25]: "DC",
        [0, 9, 2342, 19_200_300, 100, 1, 1]: "UID",
    ]

    /// The universal tags Java prints as text (`AVA.isDerString`): UTF8String, PrintableString,
    /// T61String, IA5String, GeneralString, BMPString.
    static let stringTags: Set<UInt8> = [0x0C, 0x13, 0x14, 0x16, 0x1B, 0x1E]

    /// Java's `AVA.toRFC2253String`: `keyword=text` for a string value of a keyword type, else
    /// `type=#` and the lower-case hex of the value's DER encoding.
    static func attribute(_ a: RelativeDistinguishedName.Attribute) -> String {
        let keyword = keywords[a.type]
        var der: [UInt8] = []
        var serializer = DER.Serializer()
        if (try? serializer.serialize(ASN1Any(a.value))) != nil { der = serializer.serializedBytes }
        if let keyword, let first = der.first, stringTags.contains(first),
           let node = try? DER.parse(der), case .primitive(let content) = node.content {
            // Java decodes every string type's bytes as UTF-8 here.
            return keyword + "=" + escape(String(decoding: content, as: UTF8.self))
        }
        return (keyword ?? a.type.description) + "=#" + der.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Java's RFC 2253 value escaping: `\` before each of `,=+<>#;"\`, NUL as `\00`, and `\`
    /// before each leading and trailing space or carriage return.
    static func escape(_ value: String) -> String {
        var escaped: [Unicode.Scalar] = []
        for c in value.unicodeScalars {
            if ",=+<>#;\"\\".unicodeScalars.contains(c) {
                escaped.append("\\"); escaped.append(c)
            } else if c == "\0" {
                escaped.append(contentsOf: "\\00".unicodeScalars)
            } else {
                escaped.append(c)
            }
        }
        let blank: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\r" }
        let lead = escaped.prefix(while: blank).count
        let trail = escaped.count - escaped.reversed().prefix(while: blank).count - 1
        var out = String.UnicodeScalarView()
        for (i, c) in escaped.enumerated() {
            if i < lead || i > trail { out.append("\\") }
            out.append(c)
        }
        return String(out)
    }
}
