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

/// The rolling restart's step logic as a value (issue 13 item 4), the keys that start and
/// cancel it, and the executor loop against a scripted local cluster.
final class RollingRestartTests: XCTestCase {
    typealias Obs = RollingRestart.Observation
    let t0 = Date(timeIntervalSince1970: 1_000_000)
    let all: Set<Int32> = [1, 2, 3]
    let urp = [TopicPartition("orders", 1)]

    func testOrderPutsTheControllerLast() {
        XCTAssertEqual(RollingRestart.order([3, 1, 2], controller: 1), [2, 3, 1])
        XCTAssertEqual(RollingRestart.order([3, 1, 2], controller: nil), [1, 2, 3])
        XCTAssertEqual(RollingRestart.order([1, 2], controller: 9), [1, 2])
    }

    func testRestartsOneAtATimeWaitingForTheBrokerThenTheISRs() {
        var r = RollingRestart(brokers: [1, 2, 3], timeout: 60)
        XCTAssertEqual(r.start(Obs(running: all, registered: all, notFull: [])), .restart(1))
        XCTAssertEqual(r.status(now: t0), "rolling restart 1/3: restarting broker 1…")
        XCTAssertEqual(r.restarted(error: nil, now: t0), .wait)
        // Not back in the metadata yet.
        XCTAssertEqual(r.observe(Obs(running: all, registered: [2, 3], notFull: urp), now: t0 + 2), .wait)
        XCTAssertEqual(r.phase, .waitingForBroker(1, since: t0))
        XCTAssertEqual(r.status(now: t0 + 2), "rolling restart 1/3: waiting for broker 1 to rejoin the cluster (2 s of 60)")
        // Back, the ISR not full: still waiting; an unreadable cluster changes nothing.
        XCTAssertEqual(r.observe(Obs(running: all, registered: all, notFull: urp), now: t0 + 4), .wait)
        XCTAssertEqual(r.phase, .waitingForISR(1, since: t0))
        XCTAssertEqual(r.observe(nil, now: t0 + 5), .wait)
        XCTAssertEqual(r.status(now: t0 + 5), "rolling restart 1/3: broker 1 back; waiting for ISRs: 1 partition under-replicated (5 s of 60)")
        // Full: the next broker.
        XCTAssertEqual(r.observe(Obs(running: all, registered: all, notFull: []), now: t0 + 6), .restart(2))
        XCTAssertEqual(r.restarted(error: nil, now: t0 + 7), .wait)
        // Back and full in one look.
        XCTAssertEqual(r.observe(Obs(running: all, registered: all, notFull: []), now: t0 + 8), .restart(3))
        XCTAssertEqual(r.restarted(error: nil, now: t0 + 9), .wait)
        XCTAssertEqual(r.observe(Obs(running: all, registered: all, notFull: []), now: t0 + 10), .finish)
        XCTAssertEqual(r.phase, .done)
        XCTAssertEqual(r.completed, [1, 2, 3])
        XCTAssertEqual(r.status(now: t0 + 10), "rolling restart done: broker 1, broker 2, broker 3 restarted one at a time; every ISR full")
        XCTAssertEqual(r.observe(Obs(running: all, registered: all, notFull: []), now: t0 + 11), .finish)
    }

    func testRefusesToStartOnAnUnhealthyCluster() {
        var r = RollingRestart(brokers: [1, 2, 3])
        XCTAssertEqual(r.start(Obs(running: all, registered: all, notFull: urp)), .finish)
        XCTAssertEqual(r.status(now: t0), "rolling restart failed: not started: 1 partition under-replicated (orders-1); "
                       + "restarting a broker now could take them offline: wait for the ISRs to heal")
        var down = RollingRestart(brokers: [1, 2, 3])
        XCTAssertEqual(down.start(Obs(running: [1, 3], registered: [1, 3], notFull: [])), .finish)
        XCTAssertEqual(down.phase, .failed("broker 2 is not running: start it and let the ISRs heal first"))
        var one = RollingRestart(brokers: [1])
        XCTAssertEqual(one.start(Obs(running: [1], registered: [1], notFull: [])), .finish)
        XCTAssertTrue(one.status(now: t0).contains("at least 2 brokers"))
    }

    func testWaitsAreBoundedAndSayWhereItStopped() {
        var r = RollingRestart(brokers: [1, 2, 3], timeout: 30)
        _ = r.start(Obs(running: all, registered: all, notFull: []))
        _ = r.restarted(error: nil, now: t0)
        XCTAssertEqual(r.observe(Obs(running: all, registered: all, notFull: urp), now: t0 + 29), .wait)
        XCTAssertEqual(r.observe(Obs(running: all, registered: all, notFull: urp), now: t0 + 31), .finish)
        XCTAssertEqual(r.phase, .failed("1 partition still under-replicated 30 s after broker 1's restart (orders-1); stopped before broker 2 (no broker fully restarted)"))
        var gone = RollingRestart(brokers: [1, 2], timeout: 30)
        _ = gone.start(Obs(running: [1, 2], registered: [1, 2], notFull: []))
        _ = gone.restarted(error: nil, now: t0)
        XCTAssertEqual(gone.observe(Obs(running: [2], registered: [2], notFull: urp), now: t0 + 31), .finish)
        XCTAssertEqual(gone.phase, .failed("broker 1 is not running 30 s after its restart; stopped before broker 2 (no broker fully restarted)"))
        var failed = RollingRestart(brokers: [1, 2, 3])
        _ = failed.start(Obs(running: all, registered: all, notFull: []))
        _ = failed.restarted(error: nil, now: t0)
        _ = failed.observe(Obs(running: all, registered: all, notFull: []), now: t0 + 1)
        XCTAssertEqual(failed.restarted(error: "port in use", now: t0 + 2), .finish)
        XCTAssertEqual(failed.phase, .failed("broker 2 did not restart: port in use; stopped before broker 3 (restarted broker 1)"))
    }

    func testCancelStopsBeforeTheNextBroker() {
        var r = RollingRestart(brokers: [1, 2, 3])
        _ = r.start(Obs(running: all, registered: all, notFull: []))
        _ = r.restarted(error: nil, now: t0)
        _ = r.observe(Obs(running: all, registered: all, notFull: []), now: t0 + 1)  // -> restart 2
        r.cancel()
        XCTAssertEqual(r.restarted(error: nil, now: t0 + 2), .finish)
        XCTAssertEqual(r.observe(Obs(running: all, registered: all, notFull: []), now: t0 + 3), .finish)
        XCTAssertEqual(r.status(now: t0 + 3), "rolling restart cancelled: restarted broker 1; broker 2's restart was under way and has finished")
    }

    func testBrokersPaneKeyConfirmsShowsProgressAndEscCancels() {
        let h = ConsoleHarness(width: 140, height: 30)
        h.press(.char("1"), .char("R"))
        XCTAssertTrue(h.vt.contains("rolling restart of brokers "), h.screenText)
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.rollingRestart)])
        var r = RollingRestart(brokers: [1, 2, 3], timeout: 60)
        _ = r.start(Obs(running: all, registered: all, notFull: []))
        _ = r.restarted(error: nil, now: h.now - 10)
        _ = r.observe(Obs(running: all, registered: all, notFull: urp), now: h.now)
        h.now += 5  // past the "checking the cluster" flash
        h.receive(.rollingRestart(r))
        XCTAssertTrue(h.status.contains("rolling restart 1/3: broker 1 back; waiting for ISRs: 1 partition under-replicated (15 s of 60) · Esc cancels"), h.status)
        // A second one is refused while it runs.
        h.press(.char("R"))
        XCTAssertTrue(h.status.contains("already running"), h.status)
        // Nor may a broker be stopped or restarted by hand meanwhile.
        h.now += 5
        h.press(.char("x"))
        XCTAssertTrue(h.status.contains("Esc cancels it first"), h.status)
        XCTAssertEqual(h.effects, [.perform(.rollingRestart)])
        h.now += 5
        h.effects = []
        h.press(.escape)
        XCTAssertEqual(h.effects, [.cancelRollingRestart])
        XCTAssertEqual(h.controller.currentPane, .brokers, "Esc cancelled, it did not go back")
        h.now += 5
        h.draw()
        XCTAssertTrue(h.status.contains("cancelling the rolling restart"), h.status)
        r.cancel()
        h.receive(.rollingRestart(r))
        XCTAssertTrue(h.status.contains("rolling restart cancelled: no broker fully restarted; broker 1 was restarted, its ISRs not yet full"), h.status)
        h.effects = []
        h.press(.escape)
        XCTAssertEqual(h.effects, [], "Esc is back to normal once it ended")
    }

    func testNeedsALocalClusterAndObeysReadOnly() {
        let remote = ConsoleHarness(brokerControl: false)
        remote.command("rolling-restart")
        XCTAssertTrue(remote.status.contains("needs a local cluster"), remote.status)
        let ro = ConsoleHarness(readOnly: true, brokerControl: true)
        ro.press(.char("1"), .char("R"))
        XCTAssertTrue(ro.status.contains("read-only: rolling restart is disabled"), ro.status)
        XCTAssertTrue(remote.effects.isEmpty && ro.effects.isEmpty)
    }

    /// The executor loop against a scripted cluster whose ISRs heal a few looks after each
    /// restart: every broker restarted in order, the controller last, one at a time.
    func testExecutorRollsThroughTheClusterAndCanBeCancelled() async throws {
        let c = ScriptedCluster()
        let control = ScriptedControl(cluster: c)
        let store = SnapshotStore(.empty(bootstrap: c.displayName))
        let inbox = EventInbox()
        var ex = ActionExecutor(source: c, actions: c, brokerControl: control, inbox: inbox,
                                sampler: ClusterSampler(source: c, store: store, interval: .seconds(60)))
        ex.rollingPoll = .milliseconds(1)
        c.fixture.orders1ISR = [2, 3]  // healthy to start with
        _ = try await ex.run(.rollingRestart, snapshot: .empty(bootstrap: "x"))
        let states = inbox.drain().compactMap { e -> RollingRestart? in if case .rollingRestart(let r) = e { return r } else { return nil } }
        XCTAssertEqual(states.last?.phase, .done, states.last?.status(now: Date()) ?? "")
        XCTAssertEqual(control.log, ["restart 2", "restart 3", "restart 1"], "one at a time, controller (1) last")
        XCTAssertTrue(states.contains { if case .waitingForISR = $0.phase { return true } else { return false } })
        XCTAssertFalse(ex.rolling.isRunning)

        // Cancelled while waiting for the ISRs: no further restart.
        control.log = []
        control.healAfter = 1_000_000
        ex.perform(.rollingRestart, snapshot: .empty(bootstrap: "x"))
        while !control.log.contains("restart 2") { try await Task.sleep(for: .milliseconds(5)) }
        // As on quit: cancel, and wait until it has ended.
        let stopped = await ex.stopRollingRestart(within: .seconds(60))
        XCTAssertTrue(stopped)
        var last: RollingRestart?
        for case .rollingRestart(let r) in inbox.drain() { last = r }
        XCTAssertEqual(last?.phase, .cancelled)
        XCTAssertEqual(control.log, ["restart 2"])
    }
}

/// A local cluster for the executor: a restart makes the broker's partitions
/// under-replicated in the scripted metadata for `healAfter` looks.
final class ScriptedControl: BrokerControl, @unchecked Sendable {
    let cluster: ScriptedCluster
    private let lock = NSLock()
    var log: [String] { get { lock.withLock { _log } } set { lock.withLock { _log = newValue } } }
    private var _log: [String] = []
    var healAfter = 2
    init(cluster: ScriptedCluster) { self.cluster = cluster }
    func expectedBrokers() async -> [BrokerEndpoint] { cluster.fixture.metadata().brokers }
    func runningBrokers() async -> Set<Int32> { Set(cluster.fixture.metadata().brokers.map(\.id)) }
    func perform(_ op: BrokerOperation, brokerId: Int32) async throws {
        lock.withLock { _log.append("\(op.rawValue) \(brokerId)") }
        cluster.underReplicatedLooks = healAfter
    }
}

/// Issue 13 bad input: stopping, killing or restarting a broker says what it will do first,
/// and a broker that is not running is not "stopped" again.
final class BrokerOperationQuestionTests: XCTestCase {
    typealias C = ConsoleController

    func question(_ op: BrokerOperation, _ id: Int32, _ s: ClusterSnapshot) -> String {
        switch C.brokerOperationQuestion(op, id, s) {
        case .success(let q): return q
        case .failure(let e): return "refused: " + e.message
        }
    }

    func testConsequencesFromTheSnapshot() {
        let s = FixtureCluster.snapshot(samples: 1).0
        // Broker 1 leads orders-0, payments-0 and __consumer_offsets-0; the last two have it as their only ISR member.
        XCTAssertEqual(question(.restart, 1, s),
                       "restart broker 1? leadership of 3 partitions moves to other brokers; 2 partitions offline until it is back (it is their only in-sync replica). (y/n)")
        // Broker 2 leads orders-1, whose ISR is [2].
        XCTAssertEqual(question(.kill, 2, s),
                       "kill -9 broker 2? leadership of 1 partition moves to other brokers; 1 partition offline (it is their only in-sync replica). (y/n)")
        XCTAssertEqual(question(.start, 2, s), "start broker 2? (y/n)")
    }

    func testMinInsyncReplicas() {
        let s = FixtureCluster.snapshot(samples: 1) { f in
            f.extraTopics = [TopicMetadata(name: "safe", partitions: [PartitionMetadata(partition: 0, leader: 3, replicas: [3, 2, 1], isr: [3, 2])])]
        }.0
        var s2 = s
        for i in s2.topics.indices where s2.topics[i].name == "safe" { s2.topics[i].partitions[0].minInSyncReplicas = 2 }
        XCTAssertEqual(question(.stop, 3, s2),
                       "stop broker 3? leadership of 2 partitions moves to other brokers; 1 partition below min.insync.replicas (acks=all writes refused). (y/n)")
    }

    func testTheLastBrokerUpAndABrokerThatIsNotRunning() {
        let single = FixtureCluster.snapshot(samples: 1) { f in f.brokers = [f.brokers[0]] }.0
        XCTAssertEqual(question(.stop, 1, single), "stop broker 1? it is the last broker up: every partition is offline and clients fail. (y/n)")
        XCTAssertEqual(question(.restart, 1, single),
                       "restart broker 1? it is the last broker up: every partition is offline and clients fail until it is back. (y/n)")
        // Right after a start the last sample may not say "up" yet: still no "other brokers"
        // (the e2e saw "leadership of 64 partitions moves to other brokers" on a single node).
        var starting = single
        starting.brokers[0].status = .down
        XCTAssertEqual(question(.restart, 1, starting),
                       "restart broker 1? it is the last broker up: every partition is offline and clients fail until it is back. (y/n)")
        var s = FixtureCluster.snapshot(samples: 1).0
        for i in s.brokers.indices where s.brokers[i].id == 3 { s.brokers[i].status = .down }
        XCTAssertEqual(question(.stop, 3, s), "refused: broker 3 is not running: nothing to stop (s starts it)")
        XCTAssertEqual(question(.kill, 3, s), "refused: broker 3 is not running: nothing to kill (s starts it)")
        XCTAssertTrue(question(.restart, 3, s).hasPrefix("restart broker 3?"))
    }

    func testTheDialogWrapsALongQuestion() {
        let h = ConsoleHarness(width: 70, height: 24)
        h.press(.char("1"), .char("r"))
        XCTAssertTrue(h.screenText.contains("restart broker 1?"), h.screenText)
        XCTAssertTrue(h.screenText.contains("only in-sync replica). (y/n)"), h.screenText)
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.broker(.restart, id: 1))])
    }
}
