import Foundation
import Logging

/// A swift-log handler appending to a file. While curses owns the terminal nothing may be
/// written to stdout or stderr, so the console bootstraps logging to this before starting.
/// Thread-safe: one lock around the file handle.
public struct FileLogHandler: LogHandler {
    final class Sink: @unchecked Sendable {
        let lock = NSLock()
        let handle: FileHandle
        init(handle: FileHandle) { self.handle = handle }
        func write(_ line: String) { lock.withLock { handle.write(Data(line.utf8)) } }
    }

    private let sink: Sink
    private let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    /// Opens (creating, appending) the log file; throws if it cannot be written.
    public static func makeFactory(path: String, level: Logger.Level = .info) throws -> @Sendable (String) -> any LogHandler {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        h.seekToEndOfFile()
        let sink = Sink(handle: h)
        return { label in FileLogHandler(sink: sink, label: label, logLevel: level) }
    }

    init(sink: Sink, label: String, logLevel: Logger.Level) { self.sink = sink; self.label = label; self.logLevel = logLevel }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let ts = ISO8601DateFormatter().string(from: Date())
        var meta = metadata
        if let m = event.metadata { meta.merge(m) { $1 } }
        let m = meta.isEmpty ? "" : " " + meta.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        sink.write("\(ts) \(event.level) \(label):\(m) \(event.message)\n")
    }
}
