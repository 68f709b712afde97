import KafkaProtocol
import Synchronization

/// What a handler reports about the request it is handling, for the request metrics: time
/// parked waiting (Kafka's remote time), the error codes of its response, and whether a
/// Fetch came from a follower (Kafka splits `FetchConsumer` / `FetchFollower`).
///
/// The server binds one to ``current`` around each dispatch, only when metrics are on; a
/// handler reaches it through the task-local, so handlers and the registry need no metrics
/// parameter and pay nothing when metrics are off (``current`` is nil).
///
/// Thread-safe: written by the request's task (and its child tasks), read by the server
/// after the dispatch returned.
public final class RequestTiming: Sendable {
    @TaskLocal public static var current: RequestTiming?

    private let remote = Atomic<Int64>(0)
    private let state = Mutex<(errors: [Int16: Int], follower: Bool)>(([:], false))

    public init() {}

    /// Adds time the request spent parked (long-poll fetch), in nanoseconds.
    public func addRemote(nanoseconds: Int64) { remote.add(max(0, nanoseconds), ordering: .relaxed) }
    public var remoteNanoseconds: Int64 { remote.load(ordering: .relaxed) }

    /// Counts one occurrence of `code` in the response (0 = NONE counts too, as Kafka's
    /// `ErrorsPerSec{error="NONE"}`).
    public func countError(_ code: Int16, times: Int = 1) {
        state.withLock { $0.errors[code, default: 0] += times }
    }

    public func markFollowerFetch() { state.withLock { $0.follower = true } }

    var errorCounts: [Int16: Int] { state.withLock { $0.errors } }
    var isFollowerFetch: Bool { state.withLock { $0.follower } }
}

/// A response whose error is one top-level code (most group and admin APIs).
public protocol TopLevelErrorCode { var errorCode: Int16 { get } }

extension RequestHandler {
    /// Reports the error codes of `response` to ``RequestTiming/current``. The default counts
    /// a top-level `errorCode` when the response has one; handlers with per-partition or
    /// per-topic codes (Produce, Fetch, Metadata...) count those instead, as Kafka's
    /// `AbstractResponse.errorCounts()` does.
    public static func countErrors(_ response: Request.Response, into timing: RequestTiming) {
        if let top = response as? any TopLevelErrorCode { timing.countError(top.errorCode) }
    }
}
