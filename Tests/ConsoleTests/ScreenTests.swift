import XCTest
import TerminalUI
@testable import Console

/// Whole screens on an 80x24 virtual terminal, driven by keys, on fixture snapshots.
final class ScreenTests: ScreenTestCase {

    func testTopicsScreenAt80x24() {
        XCTAssertTrue(vt.row(0).contains("samsa console"))
        XCTAssertTrue(vt.row(0).contains("brokers 3/3  topics 3  groups 2"))
        XCTAssertTrue(vt.row(1).contains("1 Brokers"))
        XCTAssertTrue(vt.row(2).contains("Topics [3]"))
        XCTAssertTrue(vt.contains("TOPIC"))
        let orders = vt.rowIndex(containing: "orders")!
        XCTAssertEqual(vt.screen[orders, 2].role, .selection, "first row selected")
        XCTAssertTrue(vt.row(orders).contains("7d"), vt.row(orders))
        XCTAssertTrue(vt.row(23).contains("Enter partitions"))
        XCTAssertEqual(vt.row(23).count, 80)
        XCTAssertEqual(vt.rowIndex(containing: "payments").map { vt.screen[$0, 2].role }, .text)
    }

    func testDrillDownIntoPartitionsAndBack() {
        press(.enter)
        XCTAssertTrue(vt.row(1).contains("› orders"))
        XCTAssertTrue(vt.contains("Partitions of orders [3]"))
        let p1 = vt.rowIndex(containing: "URP 4s")!
        XCTAssertTrue(vt.row(p1).contains("2,3"))
        press(.down)
        XCTAssertTrue(vt.row(22).contains("replicas out of sync: 3"), vt.row(22))
        press(.escape)
        XCTAssertTrue(vt.contains("Topics [3]"))
    }

    func testGroupsPaneShowsVerdictsAndDrillsIntoLaggingGroup() {
        press(.char("3"))
        XCTAssertTrue(vt.contains("Consumer groups [2]"))
        let audit = vt.rowIndex(containing: "audit")!
        XCTAssertTrue(vt.row(audit).contains("ERR"))
        XCTAssertTrue(vt.row(22).contains("STOP payments-0"), vt.row(22))
        press(.down)
        let billing = vt.rowIndex(containing: "billing")!
        XCTAssertTrue(vt.row(billing).contains("Stable"))
        press(.enter)
        XCTAssertTrue(vt.contains("Group billing (Stable, 2 members"))
        XCTAssertTrue(vt.contains("billing-1"), vt.text)
        XCTAssertTrue(vt.row(22).contains("owner billing-1@/10.1.0.5"), vt.row(22))
    }

    func testFilterNarrowsAndEscClears() {
        press(.char("/"))
        type("pay")
        XCTAssertTrue(vt.row(23).hasPrefix("/pay"))
        XCTAssertTrue(vt.contains("Topics [1] /pay"))
        press(.enter)
        XCTAssertFalse(vt.contains("orders"))
        press(.escape)
        XCTAssertTrue(vt.contains("Topics [3]"))
    }

    func testPaletteSwitchesPanesAndReportsUnknownCommands() {
        press(.char(":"))
        type("bro")
        XCTAssertTrue(vt.contains(":brokers"))
        press(.enter)
        XCTAssertTrue(vt.contains("Brokers [3]"))
        XCTAssertTrue(vt.contains("10.0.0.1:9092"))
        press(.char(":"))
        type("nope")
        press(.enter)
        XCTAssertTrue(vt.row(22).contains("unknown command :nope"))
    }

    func testHelpShowsPaneKeysAndClosesOnEsc() {
        press(.char("?"))
        XCTAssertTrue(vt.contains("Keys: Topics"))
        XCTAssertTrue(vt.contains("create"))
        XCTAssertTrue(vt.contains("command palette"))
        press(.escape)
        XCTAssertFalse(vt.contains("Keys: Topics"))
    }

    func testCreateTopicDialogValidatesThenEmitsAction() {
        press(.char("c"))
        XCTAssertTrue(vt.contains("Create topic"))
        type("orders")
        press(.ctrl("s"))
        XCTAssertTrue(vt.contains("Name: topic already exists"))
        for _ in 0..<6 { press(.backspace) }
        type("__consumer.offsets")  // Kafka: INVALID_TOPIC_EXCEPTION, collides in metrics
        press(.ctrl("s"))
        XCTAssertTrue(vt.contains("collides with __consumer_offsets"))
        for _ in 0..<18 { press(.backspace) }
        type("new topic")
        press(.ctrl("s"))
        XCTAssertTrue(vt.contains("only ASCII letters"))
        for _ in 0..<9 { press(.backspace) }
        type("new-topic")
        press(.tab)
        press(.backspace); type("6")
        press(.tab)
        press(.backspace); type("9")
        press(.ctrl("s"))
        XCTAssertTrue(vt.contains("at most 3"), "RF is limited by live brokers")
        press(.backspace); type("2")
        press(.tab); type("retention.ms=1000")
        press(.enter)
        XCTAssertEqual(effects, [.perform(.createTopic(name: "new-topic", partitions: 6, replicationFactor: 2, configs: ["retention.ms": "1000"]))])
        XCTAssertTrue(vt.row(22).contains("creating topic new-topic"))
    }

    /// A create refused by the broker (unknown config) used to close the dialog and show a
    /// truncated, doubled error: everything typed was lost. It now reopens with the error.
    func testRefusedCreateReopensTheDialogWithTheError() {
        press(.char("c"))
        type("qa.t1")
        press(.tab, .tab, .tab)
        type("no.such.key=5")
        press(.ctrl("s"))
        let action = ConsoleAction.createTopic(name: "qa.t1", partitions: 3, replicationFactor: 3, configs: ["no.such.key": "5"])
        XCTAssertEqual(effects, [.perform(action)])
        XCTAssertFalse(vt.contains("Create topic"))
        controller.receive(.actionFailed(action, "creating topic qa.t1 failed: INVALID_CONFIG (error 40): Unknown configuration no.such.key"), now: now)
        draw()
        XCTAssertTrue(vt.contains("Create topic"), "dialog is back")
        XCTAssertTrue(vt.contains("qa.t1"))
        XCTAssertTrue(vt.contains("no.such.key=5"), "what was typed is kept")
        XCTAssertTrue(vt.contains("Unknown configuration no.such.key"), "the broker's reason is readable at 80 columns")
        press(.escape)
        XCTAssertFalse(vt.contains("Create topic"))
        // A success clears the pending dialog: a later unrelated failure does not reopen it.
        controller.receive(.succeeded("ok"), now: now)
        controller.receive(.actionFailed(action, "late"), now: now)
        draw()
        XCTAssertFalse(vt.contains("Create topic"))
    }

    /// Rate "inf" (Double parses it) or 1e308 crashed the console in the pacing maths, and
    /// 10,000,000 x 1 MB was accepted.
    func testProduceDialogRejectsInfiniteRateAndHugeTotals() {
        press(.char("P"))
        press(.tab, .tab, .tab)
        for _ in 0..<3 { press(.backspace) }
        type("inf")
        press(.ctrl("s"))
        XCTAssertTrue(vt.contains("Rate msg/s: a number >= 0"))
        for _ in 0..<3 { press(.backspace) }
        type("1e308")
        press(.ctrl("s"))
        XCTAssertTrue(vt.contains("Rate msg/s: at most 1000000"))
        for _ in 0..<5 { press(.backspace) }
        type("0")
        press(.tab)  // messages
        for _ in 0..<3 { press(.backspace) }
        type("10000000")
        press(.tab)
        for _ in 0..<3 { press(.backspace) }
        type("1000000")
        press(.ctrl("s"))
        XCTAssertTrue(vt.contains("per run"), (0..<24).map(vt.row).joined(separator: "\n"))
        XCTAssertTrue(effects.isEmpty)
        XCTAssertNotNil(ProduceSpec(topic: "t", partition: nil, count: 1, sizeBytes: 1, keyPattern: "", rate: .infinity).problem)
    }

    /// An invalid regex silently fell back to a text match, so `/demo.(cl` showed
    /// "no topics match" with no hint why.
    func testInvalidRegexFilterSaysItMatchesAsText() {
        press(.char("/"))
        type("ord(")
        XCTAssertTrue(vt.row(23).contains("not a valid regex: matching as text"), vt.row(23))
        press(.enter)
        XCTAssertTrue(vt.row(2).contains("/ord( (as text)"), vt.row(2))
        press(.escape, .char("/"))
        type("ord.*")
        XCTAssertFalse(vt.row(23).contains("not a valid regex"))
        press(.enter)
        XCTAssertTrue(vt.contains("Topics [1] /ord.*"))
    }

    /// `:messages orders x` tailed every partition; `:messages nosuch` opened an empty tail.
    func testMessagesCommandRejectsBadPartitionAndUnknownTopic() {
        press(.char(":")); type("messages orders x"); press(.enter)
        XCTAssertTrue(vt.row(22).contains("partition must be a number"), vt.row(22))
        press(.char(":")); type("messages nosuch"); press(.enter)
        XCTAssertTrue(vt.row(22).contains("topic 'nosuch' does not exist"), vt.row(22))
        XCTAssertTrue(effects.isEmpty)
        press(.char(":")); type("messages orders 1"); press(.enter)
        XCTAssertEqual(effects, [.tail(TailRequest(topic: "orders", partition: 1, start: .latest(50), id: 1))])
    }

    func testDeleteNeedsTheTypedName() {
        press(.char("d"))
        type("order")
        press(.enter)
        XCTAssertTrue(vt.contains("does not match"))
        XCTAssertTrue(effects.isEmpty)
        type("s")
        press(.enter)
        XCTAssertEqual(effects, [.perform(.deleteTopic("orders"))])
    }

    func testReadOnlyRefusesMutations() {
        controller = ConsoleController(readOnly: true, brokerControl: false)
        draw()
        XCTAssertTrue(vt.row(0).contains("  READ-ONLY  brokers 3/3  topics 3  groups 2"), vt.row(0))
        press(.char("c"))
        XCTAssertFalse(vt.contains("Create topic"))
        XCTAssertTrue(vt.row(22).contains("read-only: create topic is disabled"))
        XCTAssertFalse(vt.row(23).contains("create"), "mutations are not offered: \(vt.row(23))")
        press(.char("3"), .char("o"))
        XCTAssertTrue(effects.isEmpty)
    }

    func testResetOffsetsPreviewThenExecute() {
        press(.char("3"), .down, .char("o"))
        XCTAssertTrue(vt.contains("Reset offsets of billing"))
        press(.char(" "))  // earliest -> latest
        press(.enter, .enter, .enter)
        XCTAssertEqual(effects, [.perform(.planOffsetReset(OffsetResetRequest(group: "billing", topic: nil, strategy: .latest, value: nil)))])
        let plan = OffsetResetPlan(request: OffsetResetRequest(group: "billing", topic: nil, strategy: .latest, value: nil),
                                   rows: [OffsetResetRow(partition: TopicPartition("orders", 0), current: 1000, target: 1200, end: 1200)], activeMembers: 0)
        controller.receive(.resetPlan(plan), now: now)
        draw()
        XCTAssertTrue(vt.contains("Preview: reset billing to latest"))
        XCTAssertTrue(vt.contains("Enter execute"))
        let row = vt.rowIndex(containing: "1000")!
        XCTAssertTrue(vt.row(row).contains("1200"))
        press(.enter)
        XCTAssertEqual(effects.last, .perform(.executeOffsetReset(plan)))
    }

    func testBrokerRestartAsksForConfirmation() {
        press(.char("1"), .char("r"))
        XCTAssertTrue(vt.contains("restart broker 1? leadership of 3 partitions moves to other brokers; 2"), vt.text)
        press(.char("y"))
        XCTAssertEqual(effects, [.perform(.broker(.restart, id: 1))])
    }

    func testMessagesPaneTailsAndShowsPrettyJSON() {
        press(.char("m"))
        guard case .tail(let req?) = effects.last else { return XCTFail("expected a tail request, got \(effects)") }
        XCTAssertEqual(req.topic, "orders")
        controller.receive(.messages(tailId: req.id, [ConsoleMessage(partition: 0, offset: 7, timestamp: Date(timeIntervalSince1970: 0),
                                                                       key: Array("k1".utf8), value: Array("{\"b\":1,\"a\":[2]}".utf8),
                                                                       headers: [MessageHeader(key: "trace", value: Array("abc".utf8))])]), now: now)
        draw()
        XCTAssertTrue(vt.contains("1970-01-01 00:00:00.000"))
        XCTAssertTrue(vt.row(22).contains("headers: trace=abc"))
        press(.enter)
        XCTAssertTrue(vt.contains("\"a\": ["), vt.text)
        press(.escape, .escape)
        XCTAssertEqual(effects.last, .tail(nil))
    }

    func testResizeRedrawsAtNewSizeAndTinyTerminalSaysSo() {
        vt.resize(width: 120, height: 40)
        draw()
        XCTAssertEqual(vt.screen.width, 120)
        XCTAssertTrue(vt.row(39).contains("Enter partitions"))
        vt.resize(width: 30, height: 8)
        draw()
        XCTAssertTrue(vt.row(0).contains("terminal too small"))
    }

    func testAsciiFallbackHasNoNonASCII() {
        vt = VirtualTerminal(width: 80, height: 24, colors: .monochrome, unicode: false)
        press(.char("3"))
        XCTAssertTrue(vt.text.unicodeScalars.allSatisfy(\.isASCII), vt.text)
    }

    func testSectionErrorShownInline() {
        var f = FixtureCluster()
        var state = SamplerState()
        _ = state.ingest(f.raw(at: now), bootstrap: "x")
        f.metadataError = "connection refused"
        snap = state.ingest(f.raw(at: now.addingTimeInterval(2)), bootstrap: "x")
        draw()
        XCTAssertTrue(vt.contains("! metadata: connection refused"))
        XCTAssertTrue(vt.row(1).contains("cluster unreachable"))
    }

    /// Started against a dead port, the console said "no data" / "waiting for cluster
    /// metadata" under the error, plus one "skipped" line per other section.
    func testUnreachableFromTheStartSaysSo() {
        var f = FixtureCluster()
        f.unreachable = true
        var state = SamplerState()
        snap = state.ingest(f.raw(at: now), bootstrap: "x")
        draw()
        XCTAssertTrue(vt.row(1).contains("cluster unreachable"), vt.row(1))
        XCTAssertTrue(vt.contains("! metadata: cannot connect"))
        XCTAssertFalse(vt.contains("skipped"), "only the cause is listed")
        XCTAssertTrue(vt.contains("cannot reach the cluster yet"))
    }

    /// At 40x10 the create dialog showed three of four fields; Tab moved into an invisible one.
    func testFormScrollsToTheFocusedFieldOnATinyTerminal() {
        vt = VirtualTerminal(width: 40, height: 10)
        press(.char("c"))
        XCTAssertFalse(vt.contains("Configs"))
        press(.tab, .tab, .tab)
        XCTAssertTrue(vt.contains("Configs"), (0..<10).map(vt.row).joined(separator: "\n"))
        type("a=b")
        XCTAssertTrue(vt.contains("a=b"))
    }

    func testThemeCycleKey() {
        controller = ConsoleController(readOnly: false, brokerControl: false, themes: [.builtinDefault, Theme(name: "other", styles: Theme.builtinDefault.styles)])
        press(.char("T"))
        XCTAssertEqual(controller.theme.name, "other")
        XCTAssertTrue(vt.row(22).contains("theme other"))
    }

    func testUILoopDrawsProcessesKeysAndQuits() {
        let store = SnapshotStore(snap)
        let inbox = EventInbox()
        vt.type(.char("3"), .char("q"))
        var seen: [ConsoleEffect] = []
        ConsoleRuntime.loop(backend: vt, controller: controller, store: store, inbox: inbox, timeoutMs: 0, maxIterations: 10) { e, _ in
            seen.append(e); return e != .quit
        }
        XCTAssertEqual(seen, [.quit])
        XCTAssertTrue(vt.contains("Consumer groups"))
    }
}
