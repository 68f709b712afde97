import XCTest
@testable import Console

/// Burrow's rules (console-anchors.md §3) on hand-built windows, including the edge cases
/// that produced Burrow's famous false results.
final class LagEvaluatorTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let cfg = LagEvaluationConfig(intervals: 5, allowedLag: 0, minimumComplete: 0.5)

    /// Commits every 60 s with the given (offset, lag) pairs.
    func window(_ pairs: [(Int64, Int64)], every: Double = 60) -> [OffsetSample] {
        pairs.enumerated().map { OffsetSample(offset: $1.0, timestamp: t0.addingTimeInterval(Double($0) * every), lag: $1.1) }
    }

    func eval(_ w: [OffsetSample], broker: [Int64] = [], lag: Int64, at now: Double? = nil, logStart: Int64? = nil) -> PartitionEvaluation {
        let n = t0.addingTimeInterval(now ?? Double(w.count - 1) * 60 + 10)
        return LagEvaluator.evaluate(commits: w, brokerOffsets: broker, currentLag: lag, logStart: logStart, now: n, config: cfg)
    }

    func testNoCurrentLagIsAlwaysOK() {
        let w = window([(10, 5), (10, 5), (10, 5), (10, 5), (10, 5)])
        XCTAssertEqual(eval(w, lag: 0, at: 100_000).status, .ok)
    }

    /// Burrow says OK under minimum-complete; the console says COLLECTING (issue 10 #15).
    func testIncompleteWindowIsCollecting() {
        let e = eval(window([(10, 5), (20, 9)]), lag: 9)
        XCTAssertEqual(e.status, .collecting)
        XCTAssertTrue(e.reason.contains("2/5 commits"), e.reason)
    }

    /// Burrow#290/#745: a consumer that stopped long ago must be STOP even though its
    /// window once had zero lag (rule 1 must not run before the stop check).
    func testStoppedConsumerIsStopEvenWithZeroLagInWindow() {
        let w = window([(10, 0), (20, 0), (30, 5), (40, 8), (50, 9)])
        let e = eval(w, broker: [100, 120, 140], lag: 90, at: 4 * 60 + 600)
        XCTAssertEqual(e.status, .stop)
        XCTAssertTrue(e.reason.contains("no commit for 10m00s"), e.reason)
    }

    /// Burrow#128: an idle consumer (caught up, no new data for a while, then new data
    /// arrives) is not STOP: a recent broker offset equals its last commit.
    func testIdleConsumerThenNewDataIsNotStop() {
        let w = window([(10, 0), (20, 0), (30, 0), (40, 0), (50, 0)])
        let e = eval(w, broker: [50, 50, 53], lag: 3, at: 4 * 60 + 600)
        XCTAssertNotEqual(e.status, .stop)
        XCTAssertEqual(e.status, .ok, "rule 1: lag was zero within the window")
    }

    func testRewindIsReported() {
        let e = eval(window([(100, 5), (200, 5), (50, 160), (60, 150), (70, 140)]), lag: 140)
        XCTAssertEqual(e.status, .rewind)
        XCTAssertTrue(e.reason.contains("from 200 to 50"))
    }

    /// A rewind that has since climbed back past the pre-rewind offset is forgiven.
    func testRecoveredRewindIsForgiven() {
        let e = eval(window([(100, 5), (200, 5), (50, 160), (150, 60), (210, 4)]), lag: 4)
        XCTAssertNotEqual(e.status, .rewind)
    }

    func testRuleOneZeroLagInWindowIsOK() {
        XCTAssertEqual(eval(window([(10, 0), (20, 5), (30, 8), (40, 9), (50, 12)]), lag: 12).status, .ok)
    }

    func testStallWhenCommittingSameOffsetWithLag() {
        let e = eval(window([(10, 5), (10, 7), (10, 9), (10, 12), (10, 15)]), lag: 15)
        XCTAssertEqual(e.status, .stall)
    }

    func testWarnWhenLagNeverDecreases() {
        let e = eval(window([(10, 5), (20, 7), (30, 7), (40, 12), (50, 15)]), lag: 15)
        XCTAssertEqual(e.status, .warn)
        XCTAssertTrue(e.reason.contains("lag rose across 5 commits over 4m00s"), e.reason)
    }

    func testConsumingWithFluctuatingLagIsOK() {
        XCTAssertEqual(eval(window([(10, 5), (20, 9), (30, 4), (40, 12), (50, 6)]), lag: 6).status, .ok)
    }

    func testAllowedLagCountsAsNoLag() {
        let c = LagEvaluationConfig(intervals: 5, allowedLag: 20, minimumComplete: 0.5)
        let w = window([(10, 5), (20, 7), (30, 7), (40, 12), (50, 15)])
        XCTAssertEqual(LagEvaluator.evaluate(commits: w, brokerOffsets: [], currentLag: 15, now: t0.addingTimeInterval(250), config: c).status, .ok)
    }

    func testRetentionBreachWhenCommittedBelowLogStart() {
        let e = eval(window([(10, 5)]), lag: 500, logStart: 300)
        XCTAssertEqual(e.status, .breach)
        XCTAssertTrue(e.reason.contains("290 messages deleted unread"), e.reason)
    }

    func testRollUpCollapsesToErrAndNamesWorstPartition() {
        let ok = PartitionEvaluation(status: .ok, reason: "caught up", complete: 1)
        let warn = PartitionEvaluation(status: .warn, reason: "lag rose", complete: 1)
        let stop = PartitionEvaluation(status: .stop, reason: "no commit for 5m", complete: 1)
        XCTAssertEqual(LagEvaluator.rollUp([(TopicPartition("a", 0), ok), (TopicPartition("a", 1), warn)]).0, .warn)
        let (s, reason) = LagEvaluator.rollUp([(TopicPartition("a", 0), warn), (TopicPartition("a", 1), stop), (TopicPartition("a", 2), stop)])
        XCTAssertEqual(s, .err)
        XCTAssertEqual(reason, "STOP a-1 (+1 more): no commit for 5m")
        XCTAssertEqual(LagEvaluator.rollUp([]).0, .ok)
        XCTAssertEqual(LagEvaluator.rollUp([(TopicPartition("a", 0), PartitionEvaluation(status: .stall, reason: "", complete: 1))]).0, .err)
        XCTAssertEqual(LagEvaluator.rollUp([(TopicPartition("a", 0), PartitionEvaluation(status: .rewind, reason: "", complete: 1))]).0, .err)
    }

    func testCompactDurations() {
        XCTAssertEqual(Duration.compact(0), "0s")
        XCTAssertEqual(Duration.compact(252), "4m12s")
        XCTAssertEqual(Duration.compact(3 * 3600 + 300), "3h05m")
        XCTAssertEqual(Duration.compact(1.5), "1.5s")
    }

    /// "6 partitions OK" beside a growing lag explained nothing; the roll-up says why.
    func testOkRollUpSaysWhyPartitionsPass() {
        let ok = { (r: String) in PartitionEvaluation(status: .ok, reason: r, complete: 1) }
        let (status, reason) = LagEvaluator.rollUp([(TopicPartition("o", 0), ok("consuming, lag 40")), (TopicPartition("o", 1), ok("consuming, lag 9")),
                                                    (TopicPartition("o", 2), ok("caught up")), (TopicPartition("o", 3), ok("collecting (1/10 commits)"))])
        XCTAssertEqual(status, .ok)
        XCTAssertEqual(reason, "4 partitions OK: 2 consuming with lag, 1 caught up, 1 collecting history")
    }

    /// Early in `samsa demo` a group was ERR STOP: three commits 2 s apart span 4 s, and a
    /// 5 s pause on one partition exceeded that. STOP now also needs 30 s without a commit.
    func testShortWindowPauseIsNotStop() {
        let c = LagEvaluationConfig(intervals: 10, allowedLag: 0, minimumComplete: 0.3)
        let w = window([(10, 5), (20, 6), (30, 7)], every: 2)
        let e = LagEvaluator.evaluate(commits: w, brokerOffsets: [40, 45, 50], currentLag: 20, now: t0.addingTimeInterval(4 + 6), config: c)
        XCTAssertNotEqual(e.status, .stop, e.reason)
        let later = LagEvaluator.evaluate(commits: w, brokerOffsets: [40, 45, 50], currentLag: 20, now: t0.addingTimeInterval(4 + 31), config: c)
        XCTAssertEqual(later.status, .stop, later.reason)
    }

    /// A consumer stuck before the console started has one window slot forever; it was
    /// "collecting" (OK) indefinitely. After 2 x 30 s unchanged with lag it is STOP.
    func testConsumerStuckSinceStartIsStopNotCollectingForever() {
        let c = LagEvaluationConfig(intervals: 10, allowedLag: 0, minimumComplete: 0.3)
        let w = window([(10, 90)])
        let early = LagEvaluator.evaluate(commits: w, brokerOffsets: [100, 100, 100], currentLag: 90, now: t0.addingTimeInterval(20), config: c)
        XCTAssertEqual(early.status, .collecting)
        let e = LagEvaluator.evaluate(commits: w, brokerOffsets: [100, 100, 100], currentLag: 90, now: t0.addingTimeInterval(61), config: c)
        XCTAssertEqual(e.status, .stop)
        XCTAssertTrue(e.reason.contains("unchanged for 1m01s"), e.reason)
        // Caught up at some recent broker offset: idle, not stuck.
        XCTAssertNotEqual(LagEvaluator.evaluate(commits: w, brokerOffsets: [10, 10, 12], currentLag: 2, now: t0.addingTimeInterval(61), config: c).status, .stop)
    }

    /// `--once` said OK for lag 583 on one commit (Burrow's "not enough data" OK) next to
    /// WARN for lag 16 on a window that had enough: a verdict resting on fewer commits than
    /// `minimumComplete` now says COLLECTING; WARN still needs only what Burrow needs.
    func testVerdictsOnFewCommitsAreCollecting() {
        let c = LagEvaluationConfig(intervals: 10, allowedLag: 0, minimumComplete: 0.3)
        let rising = window([(10, 5), (20, 9)], every: 2)
        let e = LagEvaluator.evaluate(commits: rising, brokerOffsets: [40, 45, 46], currentLag: 16, now: t0.addingTimeInterval(5), config: c)
        XCTAssertEqual(e.status, .collecting, e.reason)
        let three = window([(10, 5), (20, 9), (30, 16)], every: 2)
        XCTAssertEqual(LagEvaluator.evaluate(commits: three, brokerOffsets: [46], currentLag: 16, now: t0.addingTimeInterval(5), config: c).status, .warn)
        let one = LagEvaluator.evaluate(commits: window([(10, 583)]), brokerOffsets: [593], currentLag: 583, now: t0.addingTimeInterval(1), config: c)
        XCTAssertEqual(one.status, .collecting, one.reason)
        let (g, reason) = LagEvaluator.rollUp([(TopicPartition("o", 0), e), (TopicPartition("o", 1), PartitionEvaluation(status: .ok, reason: "caught up", complete: 1))])
        XCTAssertEqual(g, .collecting)
        XCTAssertTrue(reason.contains("o-0"), reason)
        // A full window of rising lag is still WARN.
        let full = window([(10, 5), (20, 7), (30, 8), (40, 9), (50, 10), (60, 11), (70, 12), (80, 13), (90, 14), (100, 16)], every: 2)
        XCTAssertEqual(LagEvaluator.evaluate(commits: full, brokerOffsets: [116], currentLag: 16, now: t0.addingTimeInterval(20), config: c).status, .warn)
    }
}
