import Foundation
import XCTest

/// Throwaway certificate authorities and node certificates made with the `openssl` CLI
/// (skipped when it is missing), for the TLS tests that renew certificates in place.
struct TestPKI {
    let directory: String
    private let openssl: String

    init(directory: String) throws {
        guard let openssl = ["/usr/bin/openssl", "/bin/openssl", "/usr/local/bin/openssl"]
            .first(where: FileManager.default.isExecutableFile(atPath:)) else { throw XCTSkip("openssl is not installed") }
        self.directory = directory
        self.openssl = openssl
    }

    func path(_ name: String) -> String { directory + "/" + name }

    private var ec: [String] { ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"] }

    /// `<name>.pem` (certificate) and `<name>.key`: a self-signed CA called `cn`.
    func makeCA(_ name: String, cn: String) throws {
        try "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n".write(toFile: path("ca.ext"), atomically: true, encoding: .utf8)
        try run(["req", "-new"] + ec + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=\(cn)"])
        try run(["x509", "-req", "-in", path("\(name).csr"), "-signkey", path("\(name).key"), "-days", "2", "-extfile", path("ca.ext"),
                 "-out", path("\(name).pem")])
    }

    /// `<name>.key`, `<name>.crt` and `<name>.pem` (key then certificate, Kafka's PEM key
    /// store): a certificate for IP 127.0.0.1 with no EKU (server and client), signed by CA `ca`.
    func makeNode(_ name: String, ca: String) throws {
        try "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n".write(toFile: path("node.ext"), atomically: true, encoding: .utf8)
        try run(["req", "-new"] + ec + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
        try run(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"), "-CAcreateserial",
                 "-days", "2", "-extfile", path("node.ext"), "-out", path("\(name).crt")])
        try (try text("\(name).key") + text("\(name).crt")).write(toFile: path("\(name).pem"), atomically: true, encoding: .utf8)
    }

    func text(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    /// Rewrites `name` in place (same inode, as an operator's `cp` over it does).
    func overwrite(_ name: String, with contents: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(name)))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(contents.utf8))
        try handle.close()
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("openssl \(arguments.first ?? "") failed") }
    }
}
