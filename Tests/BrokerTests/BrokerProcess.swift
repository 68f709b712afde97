import Foundation
import KafkaProtocol
import NIOCore
import NIOPosix
import XCTest
@testable import Broker
import ClusterManager

/// A `samsa broker` child process on a free loopback port, for tests that need a real process
/// (kill -9, SIGTERM). The binary is `$SAMSA_BINARY` or `.build/debug/samsa` of this checkout,
/// which `swift build --build-tests` produces.
final class BrokerProcess: @unchecked Sendable {
    let dataDir: String
    let port: Int
    private var process: ChildProcess?
    let logPath: String

    static func binary() throws -> String {
        if let env = ProcessInfo.processInfo.environment["SAMSA_BINARY"] { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent(".build/debug/samsa").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("no samsa binary at \(path); run `swift build` first or set SAMSA_BINARY")
        }
        return path
    }

    init(dataDir: String) throws {
        self.dataDir = dataDir
        port = try Self.freePort()
        logPath = dataDir + ".log"
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func start(extra: [String] = []) async throws {
        let arguments = ["broker", "--override", "log.dirs=\(dataDir)",
                         "--override", "listeners=PLAINTEXT://127.0.0.1:\(port)",
                         "--override", "offsets.topic.num.partitions=3",
                         "--override", "group.initial.rebalance.delay.ms=0"] + extra
        // posix_spawn + waitpid (ClusterManager's ChildProcess), not Foundation's Process:
        // `Process.waitUntilExit` called from a test's async task once parked forever under
        // load and hung a whole CI unit-test stage (45 min) after the broker had exited.
        process = try ChildProcess.spawn(executable: try Self.binary(), arguments: arguments, logPath: logPath,
                                        newProcessGroup: false)
        // Ready when a connection succeeds.
        for _ in 0..<200 {
            if let c = try? await TestConnection.connect(port: port) { try? await c.close(); return }
            if let status = process?.exitStatus() {
                process = nil
                throw CloseConnection("broker exited with status \(status) while starting; log: \(logPath)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CloseConnection("broker did not start; log: \(logPath)")
    }

    func kill9() {
        guard let p = process else { return }
        p.signal(SIGKILL)
        _ = p.waitForExit(timeout: .seconds(30))
        process = nil
    }

    /// SIGTERM and wait (at most 60 s, then SIGKILL and -1); returns the exit status.
    func terminate() -> Int32 {
        guard let p = process else { return -1 }
        p.signal(SIGTERM)
        process = nil
        if let status = p.waitForExit(timeout: .seconds(60)) { return status }
        p.signal(SIGKILL)
        _ = p.waitForExit(timeout: .seconds(10))
        return -1
    }

    deinit { kill9() }
}

/// A minimal blocking Kafka connection for tests (POSIX socket, 10 s receive timeout): one
/// request at a time, typed by the generated codec.
final class TestConnection: @unchecked Sendable {
    private let fd: Int32
    private var correlation: Int32 = 0

    private init(fd: Int32) { self.fd = fd }

    static func connect(port: Int) async throws -> TestConnection {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { Glibc.close(fd); throw CloseConnection("connect failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return TestConnection(fd: fd)
    }

    func send<R: KafkaRequest>(_ request: R, version: Int16) async throws -> R.Response {
        correlation += 1
        let frame = try request.encodeFrame(version: version, correlationId: correlation, clientId: "restart-test")
        let bytes = Array(frame.readableBytesView)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CloseConnection("send failed: errno \(errno)") }
            sent += n
        }
        let sizeBytes = try receive(4)
        let size = Int(Int32(bigEndian: sizeBytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        var body = ByteBuffer(bytes: try receive(size))
        let (header, response) = try R.Response.decode(from: &body, version: version)
        guard header.correlationId == correlation else { throw CloseConnection("correlation mismatch") }
        return response
    }

    private func receive(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw CloseConnection("connection closed") }
            got += n
        }
        return out
    }

    func close() async throws { Glibc.close(fd) }

    deinit { Glibc.close(fd) }
}
