import Foundation

/// One observed committed offset: Burrow's ring slot.
public struct OffsetSample: Sendable, Equatable {
    public var offset: Int64
    public var timestamp: Date
    /// Lag at that moment against the broker's end offset.
    public var lag: Int64
    public init(offset: Int64, timestamp: Date, lag: Int64) { self.offset = offset; self.timestamp = timestamp; self.lag = lag }
}

/// Tunables of the evaluation, with Burrow's meanings and defaults.
public struct LagEvaluationConfig: Sendable, Equatable {
    /// Window length in commits (Burrow `intervals`).
    public var intervals: Int = 10
    /// Lag at or below this is no lag at all (Burrow `allowed-lag`).
    public var allowedLag: Int64 = 0
    /// Below this fill ratio of the window the partition is OK: not enough data to judge.
    public var minimumComplete: Double = 0.3
    /// STOP needs at least this long without a new committed offset, whatever the window
    /// spans. Not in Burrow, whose slots are min-distance apart: ours are one poll apart, so
    /// an early window of three commits spans ~4 s and a consumer busy on other partitions
    /// for 5 s was called STOP (seen in `samsa demo` right after start).
    public var minimumStopSeconds: Double = 30
    public init(intervals: Int = 10, allowedLag: Int64 = 0, minimumComplete: Double = 0.3, minimumStopSeconds: Double = 30) {
        self.intervals = intervals; self.allowedLag = allowedLag; self.minimumComplete = minimumComplete
        self.minimumStopSeconds = minimumStopSeconds
    }
}

/// The verdict on one partition of one group.
public struct PartitionEvaluation: Sendable, Equatable {
    public var status: PartitionLagStatus
    /// A short explanation, e.g. "lag rose across 10 commits over 4m12s".
    public var reason: String
    /// Window fill ratio, as Burrow's `complete`.
    public var complete: Double
}

/// Burrow's lag evaluation (core/internal/evaluator/caching.go, see console-anchors.md §3),
/// as pure functions over a window of commits, plus a retention-breach check.
///
/// How the console feeds it: the sampler polls committed offsets (OffsetFetch) instead of
/// reading `__consumer_offsets`, so it cannot see a commit that repeats the same offset. A
/// window slot is therefore added when the committed offset changes, stamped with the time
/// it was first seen; Burrow's `min-distance` becomes the poll interval. Consequences: a
/// stopped consumer shows as STOP once the window has history (now - last commit exceeds
/// the window span); STALL needs commit timestamps and so appears only with data sources
/// that provide them (and in the fixtures below, which pin Burrow's semantics).
public enum LagEvaluator {
    /// Evaluates one partition. `commits` is oldest first; `brokerOffsets` holds the
    /// partition's recent end offsets (oldest first); `logStart` enables the breach check.
    public static func evaluate(commits: [OffsetSample], brokerOffsets: [Int64], currentLag: Int64,
                                logStart: Int64? = nil, now: Date, config: LagEvaluationConfig = .init()) -> PartitionEvaluation {
        let complete = min(1, Double(commits.count) / Double(max(1, config.intervals)))
        // Retention breach first: it is data loss, whatever the consumer is doing.
        if let logStart, let last = commits.last, last.offset < logStart {
            return PartitionEvaluation(status: .breach, reason: "committed offset \(last.offset) is below log start \(logStart): \(logStart - last.offset) messages deleted unread", complete: complete)
        }
        // Rule: a partition with no lag is never in error.
        if currentLag <= config.allowedLag {
            return PartitionEvaluation(status: .ok, reason: currentLag <= 0 ? "caught up" : "lag \(currentLag) within allowed \(config.allowedLag)", complete: complete)
        }
        guard let first = commits.first, let last = commits.last else {
            return PartitionEvaluation(status: .ok, reason: "no commits seen yet", complete: 0)
        }
        let span = last.timestamp.timeIntervalSince(first.timestamp)
        let sinceLast = now.timeIntervalSince(last.timestamp)
        let caughtUpRecently = brokerOffsets.contains { $0 <= last.offset }
        if complete < config.minimumComplete {
            // A consumer already stuck when the console started never fills the window (the
            // offset never changes, so no new slot): after twice the STOP minimum without a
            // new offset, with lag, it is STOP rather than "collecting" forever.
            if sinceLast >= 2 * config.minimumStopSeconds && !caughtUpRecently {
                return PartitionEvaluation(status: .stop, reason: "committed offset \(last.offset) unchanged for \(Duration.compact(sinceLast)), lag \(currentLag)", complete: complete)
            }
            return PartitionEvaluation(status: .collecting, reason: "\(commits.count)/\(config.intervals) commits, lag \(currentLag)", complete: complete)
        }
        // STOP: no commit for longer than the window spans (and the minimum), unless the
        // consumer was caught up within the last few broker offsets (Burrow's fix for
        // "idle, then new data").
        if sinceLast > span && sinceLast >= config.minimumStopSeconds {
            if !caughtUpRecently {
                return PartitionEvaluation(status: .stop, reason: "no commit for \(Duration.compact(sinceLast)) (window spans \(Duration.compact(span))), lag \(currentLag)", complete: complete)
            }
        }
        // REWIND: an offset went backwards and has not climbed back since.
        if let i = (1..<commits.count).last(where: { commits[$0].offset < commits[$0 - 1].offset }) {
            let before = commits[i - 1].offset
            if last.offset < before {
                return PartitionEvaluation(status: .rewind, reason: "committed offset went back from \(before) to \(commits[i].offset)", complete: complete)
            }
        }
        // Rule 1: lag was at or below allowed at some point in the window.
        if commits.contains(where: { $0.lag <= config.allowedLag }) {
            return PartitionEvaluation(status: .ok, reason: "lag reached \(config.allowedLag) within the window", complete: complete)
        }
        // STALL: committing, but always the same offset.
        if commits.count > 1, commits.allSatisfy({ $0.offset == first.offset }) {
            return PartitionEvaluation(status: .stall, reason: "\(commits.count) commits of offset \(first.offset) with lag \(currentLag)", complete: complete)
        }
        // WARN: moving, but lag never decreased between consecutive commits.
        if commits.count > 1, (1..<commits.count).allSatisfy({ commits[$0].lag >= commits[$0 - 1].lag }) {
            return PartitionEvaluation(status: .warn, reason: "lag rose across \(commits.count) commits over \(Duration.compact(span))", complete: complete)
        }
        return PartitionEvaluation(status: .ok, reason: "consuming, lag \(currentLag)", complete: complete)
    }

    /// Why a group of OK partitions is OK, by kind: "6 partitions OK: 4 consuming with lag,
    /// 2 caught up". A bare "6 partitions OK" next to a growing lag read as a contradiction;
    /// this says which Burrow rule let them pass (or that the window is still filling).
    static func okSummary(_ evals: [PartitionEvaluation]) -> String {
        var kinds: [String: Int] = [:]
        for e in evals {
            let r = e.reason
            let kind = r.hasPrefix("collecting") ? "collecting history"
                : r.hasPrefix("consuming") ? "consuming with lag"
                : r.hasPrefix("no commit") ? "without commits yet"
                : r.hasPrefix("lag reached") ? "lag reached zero in the window"
                : "caught up"
            kinds[kind, default: 0] += 1
        }
        let parts = kinds.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.value) \($0.key)" }
        return "\(evals.count) partitions OK: " + parts.joined(separator: ", ")
    }

    /// Burrow's roll-up: the worst partition decides; STOP, STALL, REWIND (and BREACH)
    /// become ERR. The reason names the worst partition.
    public static func rollUp(_ partitions: [(TopicPartition, PartitionEvaluation)]) -> (GroupLagStatus, String) {
        guard let worst = partitions.max(by: { $0.1.status < $1.1.status }) else { return (.ok, "no committed offsets") }
        let group: GroupLagStatus
        switch worst.1.status {
        case .ok: return (.ok, partitions.count == 1 ? worst.1.reason : okSummary(partitions.map(\.1)))
        case .collecting: group = .collecting
        case .warn: group = .warn
        case .stall, .stop, .rewind, .breach: group = .err
        }
        let count = partitions.filter { $0.1.status == worst.1.status }.count
        let more = count > 1 ? " (+\(count - 1) more)" : ""
        // ERR hides which partition status caused it, so name it; WARN is already WARN.
        let label = group == .err ? "\(worst.1.status.rawValue) " : ""
        return (group, "\(label)\(worst.0)\(more): \(worst.1.reason)")
    }
}

extension Duration {
    /// "4m12s", "3h05m", "12s", "1.5s" for reasons and ages.
    public static func compact(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let s = max(0, seconds)
        if s < 10 { return s < 1 && s > 0 ? String(format: "%.1fs", s) : String(format: s.truncatingRemainder(dividingBy: 1) == 0 ? "%.0fs" : "%.1fs", s) }
        let total = Int(s.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        if total < 86400 { return "\(total / 3600)h\(String(format: "%02d", (total % 3600) / 60))m" }
        return "\(total / 86400)d\(String(format: "%02d", (total % 86400) / 3600))h"
    }
}
