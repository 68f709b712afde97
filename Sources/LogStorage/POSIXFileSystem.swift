#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The real disk: POSIX `open`/`pread`/`pwrite`/`fdatasync`/`ftruncate`/`rename` through libc.
/// Stateless, so trivially thread-safe.
public struct POSIXFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, create: Bool) throws(FileSystemError) -> any StorageFile {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = retryingEINTR { path.withCString { ptr in systemOpen(ptr, flags, 0o644) } }
        guard fd >= 0 else { throw FileSystemError(operation: "open", path: path, errno: currentErrno()) }
        return POSIXFile(path: path, fd: fd)
    }

    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        guard let dir = opendir(path) else { throw FileSystemError(operation: "opendir", path: path, errno: currentErrno()) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        if isDirectory(path) { return }
        let parent = parentDirectory(of: path)
        if parent != path && parent != "/" && parent != "." && !isDirectory(parent) { try createDirectory(parent) }
        if mkdir(path, 0o755) != 0 {
            let err = currentErrno()
            if err != EEXIST { throw FileSystemError(operation: "mkdir", path: path, errno: err) }
        }
    }

    public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        if unlink(path) != 0 {
            let err = currentErrno()
            if err != ENOENT { throw FileSystemError(operation: "unlink", path: path, errno: err) }
        }
    }

    public func removeDirectoryRecursively(_ path: String) throws(FileSystemError) {
        guard isDirectory(path) else { return try removeFile(path) }
        for name in try listDirectory(path) {
            let child = joinPath(path, name)
            if isDirectory(child) { try removeDirectoryRecursively(child) } else { try removeFile(child) }
        }
        if rmdir(path) != 0 {
            let err = currentErrno()
            if err != ENOENT { throw FileSystemError(operation: "rmdir", path: path, errno: err) }
        }
    }

    public func rename(_ from: String, to: String) throws(FileSystemError) {
        #if canImport(Glibc) || canImport(Musl)
        let rc = Glibc.rename(from, to)
        #else
        let rc = Darwin.rename(from, to)
        #endif
        if rc != 0 { throw FileSystemError(operation: "rename", path: from + " -> " + to, errno: currentErrno()) }
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {
        let fd = systemOpen(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY, 0)
        guard fd >= 0 else { throw FileSystemError(operation: "open(dir)", path: path, errno: currentErrno()) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw FileSystemError(operation: "fsync(dir)", path: path, errno: currentErrno()) }
    }

    public func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }
}

/// An open POSIX descriptor. Closed in `deinit` only (see ``StorageFile``).
final class POSIXFile: StorageFile {
    let path: String
    let fd: CInt

    init(path: String, fd: CInt) { self.path = path; self.fd = fd }
    deinit { close(fd) }

    var fileDescriptor: CInt? { fd }

    func size() throws(FileSystemError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystemError(operation: "fstat", path: path, errno: currentErrno()) }
        return Int64(st.st_size)
    }

    func read(at offset: Int64, count: Int) throws(FileSystemError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: max(count, 0))
        guard count > 0 else { return buffer }
        var failure: CInt = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            var done = 0
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno; return done
                }
                if n == 0 { break }
                done += n
            }
            return done
        }
        if failure != 0 { throw FileSystemError(operation: "pread", path: path, errno: failure) }
        return buffer
    }

    func write(_ bytes: ByteBuffer, at offset: Int64) throws(FileSystemError) {
        let failure: CInt = bytes.withUnsafeReadableBytes { raw in
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += n
            }
            return 0
        }
        if failure != 0 { throw FileSystemError(operation: "pwrite", path: path, errno: failure) }
    }

    /// `pwritev` of up to IOV_MAX parts at a time; a short write finishes part by part.
    func write(_ parts: [ByteBuffer], at offset: Int64) throws(FileSystemError) {
        if parts.count == 1 { return try write(parts[0], at: offset) }
        var position = offset
        var first = 0
        while first < parts.count {
            let chunk = parts[first..<min(parts.count, first + 512)]
            let expected = chunk.reduce(0) { $0 + $1.readableBytes }
            let written = Self.gatherWrite(fd: fd, chunk, at: position)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileSystemError(operation: "pwritev", path: path, errno: currentErrno())
            }
            if written < expected {
                // Finish the rest with plain writes, starting inside the part that was cut.
                var skip = written
                var at = position + Int64(written)
                for part in chunk {
                    if skip >= part.readableBytes { skip -= part.readableBytes; continue }
                    let rest = part.getSlice(at: part.readerIndex + skip, length: part.readableBytes - skip)!
                    try write(rest, at: at)
                    at += Int64(rest.readableBytes)
                    skip = 0
                }
            }
            position += Int64(expected)
            first += chunk.count
        }
    }

    private static func gatherWrite(fd: CInt, _ parts: ArraySlice<ByteBuffer>, at offset: Int64) -> Int {
        // Keep every buffer's bytes pinned while the kernel reads them.
        func pin(_ i: Int, _ vecs: inout [iovec]) -> Int {
            if i == parts.endIndex {
                return vecs.withUnsafeBufferPointer { pwritev(fd, $0.baseAddress, CInt($0.count), off_t(offset)) }
            }
            return parts[i].withUnsafeReadableBytes { raw in
                vecs.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count))
                return pin(i + 1, &vecs)
            }
        }
        var vecs: [iovec] = []
        vecs.reserveCapacity(parts.count)
        return pin(parts.startIndex, &vecs)
    }

    func truncate(to size: Int64) throws(FileSystemError) {
        if ftruncate(fd, off_t(size)) != 0 { throw FileSystemError(operation: "ftruncate", path: path, errno: currentErrno()) }
    }

    func sync() throws(FileSystemError) {
        #if canImport(Darwin)
        let rc = fsync(fd)
        #else
        let rc = fdatasync(fd)
        #endif
        if rc != 0 { throw FileSystemError(operation: "fdatasync", path: path, errno: currentErrno()) }
    }
}

@inline(__always)
private func currentErrno() -> CInt { errno }

@inline(__always)
private func systemOpen(_ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    #if canImport(Glibc) || canImport(Musl)
    return Glibc.open(path, flags, mode)
    #else
    return Darwin.open(path, flags, mode)
    #endif
}

private func retryingEINTR(_ body: () -> CInt) -> CInt {
    while true {
        let rc = body()
        if rc < 0 && errno == EINTR { continue }
        return rc
    }
}
