import XCTest
import TerminalUI
@testable import Console

/// Issue 13 item 4: preferred leader election from the console (palette arguments, the
/// summary of Kafka's answer, the keys, `--read-only`, the executor path).
final class ElectionTests: XCTestCase {
    let snap = FixtureCluster.snapshot(samples: 1).0

    func parse(_ line: String) -> Result<ElectionScope, ConsoleController.CommandError> {
        ConsoleController.parseElection(line.split(separator: " ").map(String.init), snap)
    }

    func testParsesScopes() {
        XCTAssertEqual(try parse("preferred").get(), .all)
        XCTAssertEqual(try parse("PREFERRED orders").get(), .topic("orders"))
        XCTAssertEqual(try parse("preferred orders:2").get(), .partition(TopicPartition("orders", 2)))
    }

    func testRefusesBadArguments() {
        func message(_ line: String) -> String? {
            if case .failure(let e) = parse(line) { return e.message } else { return nil }
        }
        XCTAssertEqual(message(""), ConsoleController.electUsage)
        XCTAssertTrue(message("unclean orders")?.contains("--election-type unclean") ?? false)
        XCTAssertTrue(message("leader orders")?.contains("must be preferred, not 'leader'") ?? false)
        XCTAssertEqual(message("preferred orders:x"), "partition must be a number >= 0, not 'x'")
        XCTAssertEqual(message("preferred orders:-1"), "partition must be a number >= 0, not '-1'")
        XCTAssertEqual(message("preferred orders:"), "partition must be a number >= 0, not ''")
        XCTAssertEqual(message("preferred orders:3"), "orders has partitions 0-2, not 3")
        XCTAssertEqual(message("preferred nope"), "topic 'nope' does not exist in this cluster")
        XCTAssertEqual(message("preferred :1"), ConsoleController.electUsage)
        XCTAssertEqual(message("preferred orders 2"), ConsoleController.electUsage)
        // Before the first sample nothing is known: the cluster answers.
        XCTAssertEqual(try ConsoleController.parseElection(["preferred", "later:4"], .empty(bootstrap: "x")).get(),
                       .partition(TopicPartition("later", 4)))
    }

    func testSummaryTreatsElectionNotNeededAsSuccess() {
        let tp = TopicPartition("orders", 1)
        var (text, ok) = ConsoleController.electionSummary(.partition(tp), [ElectionOutcome(partition: tp)], snap)
        XCTAssertEqual(text, "orders-1: leadership moved to its preferred leader (broker 2)"); XCTAssertTrue(ok)
        (text, ok) = ConsoleController.electionSummary(.partition(tp), [ElectionOutcome(partition: tp, errorCode: 84, error: "ELECTION_NOT_NEEDED (error 84)")], snap)
        XCTAssertEqual(text, "orders-1: already on preferred leader (broker 2)"); XCTAssertTrue(ok)
        let refusal = "PREFERRED_LEADER_NOT_AVAILABLE (error 80): Failed to elect leader for partition orders-1 under strategy PreferredReplicaPartitionLeaderElectionStrategy"
        (text, ok) = ConsoleController.electionSummary(.partition(tp), [ElectionOutcome(partition: tp, errorCode: 80, error: refusal)], snap)
        XCTAssertEqual(text, "orders-1: election refused: " + refusal); XCTAssertFalse(ok)
    }

    func testSummaryOfATopicAndOfEverything() {
        let r = [ElectionOutcome(partition: TopicPartition("orders", 0)),
                 ElectionOutcome(partition: TopicPartition("orders", 1), errorCode: 84, error: "ELECTION_NOT_NEEDED (error 84)"),
                 ElectionOutcome(partition: TopicPartition("orders", 2), errorCode: 80, error: "PREFERRED_LEADER_NOT_AVAILABLE (error 80): x")]
        var (text, ok) = ConsoleController.electionSummary(.topic("orders"), r, snap)
        XCTAssertEqual(text, "preferred election on orders: 1 partition moved to their preferred leader, 1 already on preferred leader, 1 refused: "
                       + "orders-2: PREFERRED_LEADER_NOT_AVAILABLE (error 80): x")
        XCTAssertFalse(ok)
        (text, ok) = ConsoleController.electionSummary(.topic("orders"), Array(r.dropFirst().prefix(1)), snap)
        XCTAssertEqual(text, "preferred election on orders: 1 partition already on preferred leader"); XCTAssertTrue(ok)
        // Everything: Kafka answers only the partitions that needed an election.
        (text, ok) = ConsoleController.electionSummary(.all, [], snap)
        XCTAssertEqual(text, "preferred election on every partition: every partition is on preferred leader"); XCTAssertTrue(ok)
        (text, ok) = ConsoleController.electionSummary(.all, Array(r.prefix(1)), snap)
        XCTAssertEqual(text, "preferred election on every partition: 1 partition moved to their preferred leader, the others already on preferred leader")
        XCTAssertTrue(ok)
    }

    func testPartitionsPaneKeyAsksFirstThenElects() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.press(.enter)  // orders
        XCTAssertEqual(h.controller.currentPane, .partitions(topic: "orders"))
        h.press(.down, .char("L"))
        XCTAssertTrue(h.vt.contains("elect the preferred leader of orders-1: broker 2, already the leader? (y/n)"), h.screenText)
        XCTAssertTrue(h.effects.isEmpty)
        h.press(.char("n"))
        XCTAssertTrue(h.effects.isEmpty)
        h.press(.char("L"), .char("y"))
        XCTAssertEqual(h.effects, [.perform(.electPreferred(.partition(TopicPartition("orders", 1))))])
        XCTAssertTrue(h.status.contains("electing the preferred leader of orders-1…"), h.status)
        h.receive(.failed("orders-1: election refused: PREFERRED_LEADER_NOT_AVAILABLE (error 80): no"))
        XCTAssertTrue(h.status.contains("PREFERRED_LEADER_NOT_AVAILABLE (error 80): no"), h.status)
    }

    func testPaletteAndTopicsKey() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.command("elect preferred orders:9")
        XCTAssertTrue(h.status.contains("orders has partitions 0-2, not 9"), h.status)
        h.command("elect preferred")
        XCTAssertTrue(h.vt.contains("elect the preferred leaders of every partition of the cluster"), h.screenText)
        h.press(.char("y"))
        h.press(.char("L"))  // Topics pane: the selected topic
        XCTAssertTrue(h.vt.contains("elect the preferred leaders of every partition of orders"), h.screenText)
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.electPreferred(.all)), .perform(.electPreferred(.topic("orders")))])
    }

    func testReadOnlyRefuses() {
        let h = ConsoleHarness(readOnly: true)
        h.press(.char("L"))
        XCTAssertTrue(h.status.contains("read-only: preferred leader election is disabled"), h.status)
        h.command("elect preferred orders")
        XCTAssertTrue(h.effects.isEmpty)
        XCTAssertFalse(h.footer.contains("elect"), h.footer)
    }

    func testExecutorElectsEveryPartitionOfATopicAndReportsRefusals() async throws {
        let c = ScriptedCluster()
        c.electionErrors[TopicPartition("orders", 2)] = (80, "PREFERRED_LEADER_NOT_AVAILABLE (error 80): broker 3 is down")
        let store = SnapshotStore(.empty(bootstrap: c.displayName))
        let inbox = EventInbox()
        let ex = ActionExecutor(source: c, actions: c, brokerControl: nil, inbox: inbox, sampler: ClusterSampler(source: c, store: store, interval: .seconds(60)))
        let text = try await ex.run(.electPreferred(.topic("orders")), snapshot: snap)
        XCTAssertNil(text)
        XCTAssertEqual(c.performed, ["elect orders-0,orders-1,orders-2"])
        XCTAssertEqual(inbox.drain(), [.failed("preferred election on orders: 2 partitions moved to their preferred leader, 1 refused: "
                                               + "orders-2: PREFERRED_LEADER_NOT_AVAILABLE (error 80): broker 3 is down")])
        let one = try await ex.run(.electPreferred(.partition(TopicPartition("orders", 0))), snapshot: snap)
        XCTAssertEqual(one, "orders-0: leadership moved to its preferred leader (broker 1)")
        c.electionErrors = [:]
        let all = try await ex.run(.electPreferred(.all), snapshot: snap)
        XCTAssertEqual(c.performed.last, "elect all")
        XCTAssertTrue(all?.hasPrefix("preferred election on every partition:") ?? false, all ?? "nil")
        // Read-only: no client to mutate with.
        let ro = ActionExecutor(source: c, actions: nil, reader: c, brokerControl: nil, inbox: inbox, sampler: ClusterSampler(source: c, store: store, interval: .seconds(60)))
        do { _ = try await ro.run(.electPreferred(.all), snapshot: snap); XCTFail("elected in read-only mode") } catch {}
    }
}
