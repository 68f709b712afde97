#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// A swift-log handler writing one line per event to a ``LogDestination``: a file (the
/// console's log while curses owns the terminal, `samsa broker --log-file`) or standard error.
///
/// Line format (StreamLogHandler's, with milliseconds):
///
///     2026-12-03T11:43:23.123+0000 info samsa.broker: node=1 [Broker] Listening on 127.0.0.1:9092
///
/// timestamp (local time, ISO 8601), level word, label, the metadata sorted by key, `[source]`
/// (the module), the message. Never any colour: control characters in the message or in
/// metadata (a newline in an error, an escape sequence in a client id) are written escaped
/// (`\n`, `\u{1B}`), so an event is exactly one line and a file never holds terminal codes.
///
/// Thread-safe: the handler is a value; lines meet in the destination's lock.
public struct FileLogHandler: LogHandler {
    public let destination: LogDestination
    public let label: String
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    public var metadata: Logger.Metadata {
        didSet { prettyMetadata = Self.prettify(metadata) }
    }
    private var prettyMetadata: String?

    public init(label: String, destination: LogDestination, logLevel: Logger.Level = .info,
                metadata: Logger.Metadata = [:], metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.destination = destination
        self.logLevel = logLevel
        self.metadata = metadata
        self.metadataProvider = metadataProvider
        self.prettyMetadata = Self.prettify(metadata)
    }

    /// A factory for `LoggingSystem.bootstrap` or `Logger(label:factory:)`: every logger it
    /// makes writes to `destination` at `level` and starts with `metadata`.
    public static func factory(destination: LogDestination, level: Logger.Level = .info,
                               metadata: Logger.Metadata = [:]) -> @Sendable (String) -> any LogHandler {
        { label in FileLogHandler(label: label, destination: destination, logLevel: level, metadata: metadata) }
    }

    /// Opens (creating, appending) the log file at `path` and returns a factory writing there;
    /// throws ``LogFileError`` if it cannot be written.
    public static func makeFactory(path: String, level: Logger.Level = .info) throws -> @Sendable (String) -> any LogHandler {
        factory(destination: try LogDestination(path: path), level: level)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var pretty = prettyMetadata
        let provided = metadataProvider?.get() ?? [:]
        let explicit = event.metadata ?? [:]
        if !provided.isEmpty || !explicit.isEmpty || event.error != nil {
            var merged = metadata
            merged.merge(provided) { $1 }
            merged.merge(explicit) { $1 }
            if let error = event.error {
                merged["error.message"] = "\(error)"
                merged["error.type"] = "\(String(reflecting: type(of: error)))"
            }
            pretty = Self.prettify(merged)
        }
        destination.write(Self.line(timestamp: Self.timestamp(), level: event.level, label: label,
                                    metadata: pretty, source: event.source, message: "\(event.message)"))
    }

    /// One formatted line, newline included.
    static func line(timestamp: String, level: Logger.Level, label: String, metadata: String?,
                     source: String, message: String) -> String {
        var s = timestamp
        s += " "
        s += level.rawValue
        if !label.isEmpty { s += " " + label }
        s += ":"
        if let metadata { s += " " + metadata }
        s += " [" + source + "] "
        s += escapingControlCharacters(message)
        s += "\n"
        return s
    }

    static func prettify(_ metadata: Logger.Metadata) -> String? {
        if metadata.isEmpty { return nil }
        return escapingControlCharacters(metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }

    /// `s` with every C0 control character (tab kept), DEL and C1 control written escaped.
    static func escapingControlCharacters(_ s: String) -> String {
        func isControl(_ v: UInt32) -> Bool { (v < 0x20 && v != 0x09) || (v >= 0x7F && v < 0xA0) }
        guard s.unicodeScalars.contains(where: { isControl($0.value) }) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case let v where isControl(v): out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Local time with milliseconds and the UTC offset: `2026-12-03T11:43:23.123+0000`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return "<unknown>" }
        var date = [CChar](repeating: 0, count: 32)
        var zone = [CChar](repeating: 0, count: 16)
        strftime(&date, date.count, "%Y-%m-%dT%H:%M:%S", &parts)
        strftime(&zone, zone.count, "%z", &parts)
        let millis = Int(now.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : (millis < 100 ? "0\(millis)" : "\(millis)")
        return cString(date) + "." + ms + cString(zone)
    }

    private static func cString(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
