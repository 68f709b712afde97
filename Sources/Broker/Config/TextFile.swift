#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from the tiny file helpers the broker uses for its own small files
/// (config, metadata image, meta.properties). Log data goes through LogStorage.
public struct FileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let operation: String
    public let errno: Int32
    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

/// Reads a whole small text file.
func readTextFile(_ path: String) throws(FileError) -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw FileError(path: path, operation: "read", errno: errno)
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Writes `text` durably: to `path.tmp`, fsync, rename over `path`, fsync the directory.
/// A crash leaves either the old or the new file, never a torn one.
func writeTextFileAtomically(_ text: String, to path: String) throws(FileError) {
    let tmp = path + ".tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw FileError(path: tmp, operation: "open", errno: errno) }
    var bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 {
            if errno == EINTR { continue }
            let e = errno
            close(fd)
            throw FileError(path: tmp, operation: "write", errno: e)
        }
        written += n
    }
    if fsync(fd) != 0 { let e = errno; close(fd); throw FileError(path: tmp, operation: "fsync", errno: e) }
    close(fd)
    guard rename(tmp, path) == 0 else { throw FileError(path: path, operation: "rename", errno: errno) }
    let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY)
    if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    bytes.removeAll()
}

/// Creates `path` and its parents (mkdir -p).
func makeDirectories(_ path: String) throws(FileError) {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        current += "/" + part
        if mkdir(current, 0o755) != 0, errno != EEXIST {
            throw FileError(path: current, operation: "mkdir", errno: errno)
        }
    }
}

/// Whether a file or directory exists at `path`.
func fileExists(_ path: String) -> Bool {
    access(path, F_OK) == 0
}

