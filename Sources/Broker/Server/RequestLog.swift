import KafkaProtocol
import Logging
import NIOCore

/// The request log: at debug level, one line per completed request, in the spirit of Kafka's
/// `kafka.request.logger` ("Completed request: ... totalTime, requestQueueTime, localTime,
/// remoteTime, sendTime ..."):
///
///     Completed request api=Produce version=9 correlation=7 client_id=rdkafka listener=PLAINTEXT
///       principal=User:ANONYMOUS errors=NOT_LEADER_OR_FOLLOWER(6) total_ms=1.204 queue_ms=0.031
///       local_ms=1.050 remote_ms=0.000 send_ms=0.123
///
/// (one line; the server's connection logger adds `node`, `connection` and `peer`, the client's
/// address). `errors` lists the response's non-zero error codes (Kafka's `errorCounts()`: per
/// partition or topic, `xN` when several), and is absent when all are NONE; `response=none`
/// marks an acks=0 produce (nothing sent). The server decides once, from its logger's level,
/// whether to build these lines: above debug a request costs nothing.
enum RequestLog {
    /// Timestamps of one request (monotonic ns): frame decoded, handler started, handler
    /// returned, response written.
    struct Times {
        var receivedNs: Int64
        var startedNs: Int64
        var handledNs: Int64
        var sentNs: Int64
        var remoteNs: Int64
    }

    /// The line for a request `frame` (without its size prefix) answered with `errors` (code ->
    /// occurrences, NONE included or not).
    static func line(frame: ByteBuffer, connection: ConnectionInfo, errors: [Int16: Int], times: Times,
                     responded: Bool) -> String {
        let r = frame.readerIndex
        guard let key = frame.getInteger(at: r, as: Int16.self),
              let version = frame.getInteger(at: r + 2, as: Int16.self),
              let correlation = frame.getInteger(at: r + 4, as: Int32.self) else {
            return "Completed request (header unreadable, \(frame.readableBytes) bytes) listener=\(connection.listenerName)"
        }
        let api = ApiKey(rawValue: key)
        var s = "Completed request api=\(api?.name ?? "Unknown(\(key))") version=\(version) correlation=\(correlation)"
        // Request header v1 and v2 carry a nullable (int16-length) ClientId; v0 (ControlledShutdown v0) none.
        if api.map({ $0.requestHeaderVersion(apiVersion: version) >= 1 }) ?? true,
           let length = frame.getInteger(at: r + 8, as: Int16.self) {
            if length < 0 {
                s += " client_id=null"
            } else if let id = frame.getString(at: r + 10, length: Int(length)) {
                s += " client_id=" + quotedIfNeeded(id)
            }
        }
        s += " listener=\(connection.listenerName) principal=\(connection.principal)"
        if connection.forwarded { s += " forwarded=true" }
        let failed = errors.filter { $0.key != 0 && $0.value > 0 }.sorted { $0.key < $1.key }
        if !failed.isEmpty {
            s += " errors=" + failed.map { code, count in
                "\(ErrorCode(code).name)(\(code))" + (count > 1 ? "x\(count)" : "")
            }.joined(separator: ",")
        }
        if !responded { s += " response=none" }
        s += " total_ms=" + millis(times.sentNs - times.receivedNs)
        s += " queue_ms=" + millis(times.startedNs - times.receivedNs)
        s += " local_ms=" + millis(times.handledNs - times.startedNs - times.remoteNs)
        s += " remote_ms=" + millis(times.remoteNs)
        s += " send_ms=" + millis(times.sentNs - times.handledNs)
        return s
    }

    /// Nanoseconds as milliseconds with three decimals (`1.204`), negatives as 0.
    static func millis(_ ns: Int64) -> String {
        let us = max(0, ns) / 1_000
        let frac = us % 1_000
        return "\(us / 1_000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + "\(frac)"
    }

    /// A client id as is, or quoted (Swift string escapes) when empty or when it holds a space,
    /// `=`, a quote or a control character: the line stays `key=value` pairs.
    static func quotedIfNeeded(_ id: String) -> String {
        let plain = !id.isEmpty && !id.unicodeScalars.contains {
            $0.value <= 0x20 || $0.value == 0x7F || $0 == "=" || $0 == "\"" || $0 == "\\"
        }
        return plain ? id : id.debugDescription
    }
}
