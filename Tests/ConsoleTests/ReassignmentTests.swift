import XCTest
import TerminalUI
@testable import Console

/// Issue 13 item 4 and its bad input: partition reassignment from the console (`:reassign`),
/// with a plan preview, Kafka's refusals verbatim, progress until done, and cancel. The
/// fixture: brokers 1-3; orders-0 on 1,2, orders-1 on 2,3 (ISR 2), orders-2 on 3,1; payments-0 on 1.
final class ReassignmentTests: XCTestCase {
    let snap = FixtureCluster.snapshot(samples: 1).0

    func parse(_ line: String, _ s: ClusterSnapshot? = nil) -> Result<ReassignmentPlanner.Command, ReassignmentPlanner.Failure> {
        ReassignmentPlanner.parse(line.split(separator: " ").map(String.init), s ?? snap)
    }

    func plan(_ line: String) throws -> ReassignmentPlan {
        guard case .plan(let p) = try parse(line).get() else { throw XCTSkip("not a plan") }
        return p
    }

    func message(_ line: String, _ s: ClusterSnapshot? = nil) -> String? {
        if case .failure(let f) = parse(line, s) { return f.message } else { return nil }
    }

    func testOnePartitionGetsTheReplicaListAsGiven() throws {
        let p = try plan("orders:0 2,3")
        XCTAssertEqual(p.title, "orders-0")
        XCTAssertEqual(p.rows, [ReassignmentRow(partition: TopicPartition("orders", 0), current: [1, 2], target: [2, 3], leader: 1)])
        XCTAssertEqual(p.rows[0].adding, [3])
        XCTAssertEqual(p.rows[0].removing, [1])
        XCTAssertTrue(p.warnings.contains { $0.contains("leader is moved off") }, "\(p.warnings)")
        XCTAssertEqual(p.targets, [TopicPartition("orders", 0): [2, 3]])
    }

    /// Every bad command is refused before anything is sent, with what is wrong.
    func testBadInputIsRefusedWithAClearMessage() {
        XCTAssertEqual(message(""), ReassignmentPlanner.usage)
        XCTAssertEqual(message("orders:0"), ReassignmentPlanner.usage)
        XCTAssertEqual(message("orders:0 1,9"), "no broker 9 in this cluster (brokers: 1,2,3)")
        XCTAssertEqual(message("orders:0 2,2"), "broker 2 is named twice in 2,2: a replica set lists each broker once")
        XCTAssertEqual(message("orders:0 1,x"), "broker ids are numbers separated by commas (1,2,3), not '1,x'")
        XCTAssertEqual(message("orders:0 1,,2"), "broker ids are numbers separated by commas (1,2,3), not '1,,2'")
        XCTAssertEqual(message("orders:0 -1"), "broker ids are numbers separated by commas (1,2,3), not '-1'")
        XCTAssertEqual(message("orders:7 1,2"), "orders has partitions 0-2, not 7")
        XCTAssertEqual(message("orders:x 1,2"), "partition must be a number >= 0, not 'x'")
        XCTAssertEqual(message("nope 1,2"), "topic 'nope' does not exist in this cluster")
        XCTAssertEqual(message("orders:0 1,2"), "orders-0 already has replicas 1,2: nothing to reassign")
        XCTAssertEqual(message("orders:0 1,2 3"), "a partition takes its replica list only: " + ReassignmentPlanner.usage)
        // A replication factor larger than the brokers named (and than the cluster).
        XCTAssertEqual(message("orders 1,2 3"), "replication factor 3 needs 3 brokers; 1,2 are 2")
        XCTAssertEqual(message("payments 1,2,3,4 4"), "no broker 4 in this cluster (brokers: 1,2,3)")
        XCTAssertEqual(message("orders 1,2,3 0"), "replication factor must be a whole number >= 1, not '0'")
        XCTAssertEqual(message("cancel"), "no reassignment is running: nothing to cancel")
        XCTAssertEqual(message("cancel orders:1"), "no reassignment is running for orders:1: nothing to cancel")
        XCTAssertEqual(message("cancel nope"), "topic 'nope' does not exist in this cluster")
        XCTAssertEqual(message("orders 1,2", .empty(bootstrap: "x")), "no cluster metadata yet: wait for the first sample")
    }

    /// A topic onto a broker list moves as few replicas as it can and spreads the new ones.
    func testTopicPlanKeepsWhatItCanAndBalancesTheRest() throws {
        let p = try plan("orders 1,2")
        XCTAssertEqual(p.title, "orders (2 partitions)")
        XCTAssertEqual(p.unchanged, 1, "orders-0 is already on 1,2")
        XCTAssertEqual(p.rows.map(\.partition.partition), [1, 2])
        XCTAssertEqual(p.rows.map(\.target), [[2, 1], [1, 2]])
        // Raising the replication factor keeps the existing replica first (the preferred leader).
        let up = try plan("payments 1,2,3 3")
        XCTAssertEqual(up.rows.map(\.target), [[1, 2, 3]])
        // Lowering it keeps the leading replicas.
        let down = try plan("orders 1,2,3 1")
        XCTAssertEqual(down.rows.map(\.target), [[1], [2], [3]])
        XCTAssertEqual(message("orders 1,2,3"), "every partition of orders already has 2 replicas on 1,2,3: nothing to reassign")
    }

    func testAReassignedPartitionIsMovingNotUnderReplicated() throws {
        let tp = TopicPartition("orders", 0)
        let (s, _) = FixtureCluster.snapshot(samples: 1) { f in
            // Metadata during the move: target 2,3 plus 1 being removed; 3 still copying.
            f.reassignments = [OngoingReassignment(partition: tp, replicas: [2, 3, 1], adding: [3], removing: [1])]
        }
        XCTAssertEqual(s.health.reassigning, 1)
        XCTAssertEqual(s.health.underReplicated, 1, "orders-1 (ISR 2 of 2,3) only: the copy in progress is not a missing replica")
        let p = s.topic(named: "orders")!.partitions[0]
        XCTAssertEqual(p.reassignment, PartitionReassigning(adding: [3], removing: [1]))
        let h = ConsoleHarness(width: 160, height: 30) { f in
            f.reassignments = [OngoingReassignment(partition: tp, replicas: [2, 3, 1], adding: [3], removing: [1])]
        }
        h.press(.enter)  // orders' partitions
        XCTAssertTrue(h.screenText.contains("MOVING"), h.screenText)
        XCTAssertTrue(h.screenText.contains("1,2 +3 -1"), h.screenText)
        XCTAssertTrue(h.vt.row(0).contains("moving 1"), h.vt.row(0))
        let text = try HeadlessReport.render(s, format: .text)
        XCTAssertTrue(text.contains("reassigning 1"), text)
    }

    func testPreviewThenExecute() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.command("reassign orders:1 1,2")
        XCTAssertTrue(h.effects.isEmpty, "nothing is sent before the preview is confirmed")
        XCTAssertTrue(h.screenText.contains("Preview: reassign orders-1"), h.screenText)
        XCTAssertTrue(h.screenText.contains("2,3") && h.screenText.contains("1,2"), h.screenText)
        h.press(.escape)
        XCTAssertTrue(h.effects.isEmpty)
        XCTAssertTrue(h.status.contains("reassignment cancelled: nothing was sent"), h.status)
        h.command("reassign orders:1 1,2")
        h.press(.enter)
        let expected = ReassignmentPlan(title: "orders-1", rows: [ReassignmentRow(partition: TopicPartition("orders", 1), current: [2, 3], target: [1, 2], leader: 2)])
        XCTAssertEqual(h.effects.count, 1)
        guard case .perform(.reassign(let sent)) = h.effects[0] else { return XCTFail("\(h.effects)") }
        XCTAssertEqual(sent.rows, expected.rows)
        XCTAssertTrue(h.status.contains("starting the reassignment of orders-1…"), h.status)
    }

    func testBadCommandShowsTheMessageAndChangesNothing() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.command("reassign orders:0 1,1")
        XCTAssertTrue(h.effects.isEmpty)
        XCTAssertTrue(h.status.contains("broker 1 is named twice"), h.status)
        h.command("move orders:0 7")
        XCTAssertTrue(h.status.contains("no broker 7 in this cluster"), h.status)
        XCTAssertTrue(h.effects.isEmpty)
    }

    func testReadOnlyRefuses() {
        let h = ConsoleHarness(width: 120, height: 30, readOnly: true)
        h.command("reassign orders:1 1,2")
        XCTAssertTrue(h.effects.isEmpty)
        XCTAssertTrue(h.status.contains("read-only: partition reassignment is disabled"), h.status)
    }

    func testCancelAsksFirst() {
        let tp = TopicPartition("orders", 0)
        let h = ConsoleHarness(width: 120, height: 30) { f in
            f.reassignments = [OngoingReassignment(partition: tp, replicas: [2, 3, 1], adding: [3], removing: [1])]
        }
        h.command("reassign cancel orders")
        XCTAssertTrue(h.screenText.contains("cancel the reassignment of orders-0?"), h.screenText)
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.cancelReassignments([tp]))])
    }

    func testRefusalsAreVerbatimAndProgressFollowsTheSnapshots() {
        let tp = TopicPartition("orders", 0)
        let refusal = "INVALID_REPLICA_ASSIGNMENT (error 39): The manual partition assignment includes broker 5, but no such broker is registered."
        let (text, ok) = ConsoleController.reassignmentSummary("reassignment of orders-0",
                                                                [ReassignmentOutcome(partition: tp, errorCode: 39, error: refusal)], started: true)
        XCTAssertFalse(ok)
        XCTAssertEqual(text, "reassignment of orders-0: 1 of 1 refused: orders-0: " + refusal)

        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var f = FixtureCluster()
        f.reassignments = [OngoingReassignment(partition: tp, replicas: [2, 3, 1], adding: [3], removing: [1])]
        var state = SamplerState()
        let moving = state.ingest(f.raw(at: start.addingTimeInterval(2)), bootstrap: "x")
        f.reassignments = []
        let done = state.ingest(f.raw(at: start.addingTimeInterval(6)), bootstrap: "x")
        let c = ConsoleController(readOnly: false, brokerControl: false)
        c.receive(.reassignmentStarted("orders-0", [tp]), now: start)
        c.observe(moving, now: start.addingTimeInterval(2))
        XCTAssertNotNil(c.reassignWatch, "still running")
        c.observe(done, now: start.addingTimeInterval(6))
        XCTAssertNil(c.reassignWatch)
        XCTAssertEqual(c.history.last?.text, "reassignment of orders-0 done in 6s")
    }
}

extension ReassignmentTests {
    /// A topic on brokers 1,2 spread onto 1,2,3: two replicas each, leaders kept.
    func testSpreadingOntoANewBrokerBalances() throws {
        let (s, _) = FixtureCluster.snapshot(samples: 1) { f in
            f.extraTopics = [TopicMetadata(name: "moveme", partitions: [
                PartitionMetadata(partition: 0, leader: 2, replicas: [2, 1], isr: [2, 1]),
                PartitionMetadata(partition: 1, leader: 1, replicas: [1, 2], isr: [1, 2]),
                PartitionMetadata(partition: 2, leader: 1, replicas: [1, 2], isr: [1, 2]),
            ])]
        }
        guard case .plan(let p) = try ReassignmentPlanner.parse(["moveme", "1,2,3"], s).get() else { return XCTFail() }
        let targets = Dictionary(uniqueKeysWithValues: p.rows.map { ($0.partition.partition, $0.target) })
        XCTAssertEqual(targets, [0: [2, 3], 2: [1, 3]])
        XCTAssertEqual(p.unchanged, 1)
        XCTAssertFalse(p.rows.contains(where: \.movesLeader))
    }
}

/// Issue 13 item 3: per-replica lag with a history sparkline, like the group lag.
final class ReplicaLagHistoryTests: XCTestCase {
    func testEachFollowerKeepsItsLagHistoryAndThePaneDrawsTheWorst() throws {
        var f = FixtureCluster()
        var state = SamplerState()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var snap = ClusterSnapshot.empty(bootstrap: "x")
        for (i, lag) in [150, 900, 400, 0].enumerated() {
            f.orders1Lag = Int64(lag)
            snap = state.ingest(f.raw(at: start.addingTimeInterval(Double(i) * 2)), bootstrap: "x")
        }
        let p = try XCTUnwrap(snap.topic(named: "orders")?.partitions.first { $0.partition == 1 })
        XCTAssertEqual(p.followerLag.map(\.brokerId), [3])
        XCTAssertEqual(p.followerLag[0].history, [150, 900, 400, 0])
        XCTAssertEqual(p.followerLag[0].lag.offsets, 0)
        // In the JSON of --once too.
        let json = try HeadlessReport.render(snap, format: .json)
        XCTAssertTrue(json.contains("\"history\""), json)
        // The pane: a sparkline of 4 samples in LAG TREND, none for a partition without followers' reports.
        let table = Presenters.partitions(snap, topic: "orders", filter: TextFilter(""), now: start, glyphs: .ascii)
        let trendColumn = try XCTUnwrap(table.columns.firstIndex { $0.title == "LAG TREND" })
        let cells = (0..<table.rowCount).map { table.row($0).cells[trendColumn] }
        XCTAssertEqual(cells[0], "")
        XCTAssertEqual(cells[1].count, 4, "one glyph per sample: \(cells[1])")
        XCTAssertEqual(cells[2], "")
        // A history is dropped with its partition's replica: broker 3 moved off orders-1.
        XCTAssertEqual(FollowerLag.worstHistory([FollowerLag(brokerId: 2, lag: ReplicaLag(offsets: 5), history: [1, 5]),
                                                 FollowerLag(brokerId: 3, lag: ReplicaLag(offsets: 2), history: [9, 7, 2])]), [9, 7, 5])
    }
}

extension ReassignmentTests {
    /// `A` fills the palette with `:reassign` and the current replicas, to edit and run.
    func testAKeyFillsThePalette() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.press(.enter)  // orders
        h.press(.down, .char("A"))
        XCTAssertTrue(h.screenText.contains(":reassign orders:1 2,3"), h.screenText)
        h.press(.backspace, .backspace, .backspace)
        h.type("1,2")
        h.press(.enter)
        XCTAssertTrue(h.screenText.contains("Preview: reassign orders-1"), h.screenText)
        h.press(.escape)
        h.press(.escape)  // back to Topics
        h.press(.char("A"))
        XCTAssertTrue(h.screenText.contains(":reassign orders 1,2,3"), h.screenText)
        h.press(.enter)
        XCTAssertTrue(h.status.contains("every partition of orders already has 2 replicas on 1,2,3"), h.status)
        XCTAssertTrue(h.effects.isEmpty)
    }
}
