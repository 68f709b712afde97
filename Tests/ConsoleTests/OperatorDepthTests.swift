import XCTest
import TerminalUI
@testable import Console

/// A console on a virtual terminal over a fixture snapshot, driven by keys (issue 10's
/// operator-depth items and small bugs).
final class ConsoleHarness {
    var snap: ClusterSnapshot
    var now: Date
    var vt: VirtualTerminal
    var controller: ConsoleController
    var effects: [ConsoleEffect] = []

    init(width: Int = 80, height: Int = 24, readOnly: Bool = false, brokerControl: Bool = true, samples: Int = 3,
         configure: (inout FixtureCluster) -> Void = { _ in }) {
        (snap, now) = FixtureCluster.snapshot(samples: samples, configure: configure)
        vt = VirtualTerminal(width: width, height: height)
        controller = ConsoleController(readOnly: readOnly, brokerControl: brokerControl)
        draw()
    }

    func draw() {
        var c = vt.makeCanvas()
        controller.render(snap, into: &c, now: now)
        vt.present(c, theme: controller.theme)
    }

    func press(_ keys: Key...) {
        for k in keys { effects += controller.handle(k, snapshot: snap, now: now); draw() }
    }

    func type(_ text: String) { for ch in text { press(.char(ch)) } }

    func command(_ line: String) { press(.char(":")); type(line); press(.enter) }

    func receive(_ e: ConsoleEvent) { controller.receive(e, now: now); draw() }

    var status: String { vt.row(vt.screen.height - 2) }
    var footer: String { vt.row(vt.screen.height - 1) }
    var screenText: String { (0..<vt.screen.height).map(vt.row).joined(separator: "\n") }
}

final class SmallBugTests: XCTestCase {
    /// "Value bytes 20" wrote 35-byte values: the JSON object was never cut to size.
    func testGeneratedValuesHaveExactlyTheRequestedSize() {
        for size in [0, 1, 2, 5, 8, 12, 20, 35, 36, 100, 1000] {
            XCTAssertEqual(ActionExecutor.testValue(number: 12345, size: size).count, size, "size \(size)")
        }
        let v = ActionExecutor.testValue(number: 7, size: 20)
        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(v)), "20 bytes is still JSON: \(String(decoding: v, as: UTF8.self))")
    }

    /// Seeking to `-5` silently went to offset 0 (offset -5 clamped to the log start).
    func testSeekMinusNReadsNBeforeTheEnd() {
        let h = ConsoleHarness()
        h.press(.char("m"), .char("s"))
        XCTAssertTrue(h.vt.contains("Seek orders"))
        h.type("-5")
        h.press(.enter)
        guard case .tail(let req?) = h.effects.last else { return XCTFail("no tail: \(h.effects)") }
        XCTAssertEqual(req.start, .latest(5))
        XCTAssertTrue(h.status.contains("5 before the end"), h.status)
        XCTAssertEqual(ConsoleController.parseSeek("12", now: h.now), .offset(12))
        XCTAssertEqual(ConsoleController.parseSeek("earliest", now: h.now), .offset(0))
        XCTAssertEqual(ConsoleController.parseSeek("latest", now: h.now), .latest(0))
        XCTAssertNil(ConsoleController.parseSeek("-x", now: h.now))
        XCTAssertEqual(ConsoleController.parseSeek("-10m", now: h.now), .timestampMs(Int64((h.now.timeIntervalSince1970 - 600) * 1000)))
    }

    /// `:partitions no.such` and `:group nosuch` opened empty panes; `:messages no.such` was refused.
    func testPaletteSaysUnknownTopicsAndGroupsDoNotExist() {
        let h = ConsoleHarness()
        h.command("partitions no.such")
        XCTAssertTrue(h.status.contains("topic 'no.such' does not exist"), h.status)
        XCTAssertEqual(h.controller.currentPane, .topics)
        h.command("group nosuch")
        XCTAssertTrue(h.status.contains("group 'nosuch' does not exist"), h.status)
        XCTAssertEqual(h.controller.currentPane, .topics)
        h.command("messages no.such")
        XCTAssertTrue(h.status.contains("topic 'no.such' does not exist"), h.status)
        h.command("group billing")
        XCTAssertEqual(h.controller.currentPane, .groupPartitions(group: "billing"))
        XCTAssertTrue(h.effects.isEmpty)
    }

    /// `:` then Tab listed 8 of the 15 commands.
    func testPaletteListsEveryCommand() {
        // Tall enough for every command at once (17 since :quorum); shorter terminals scroll,
        // checked below.
        let h = ConsoleHarness(height: 40)
        h.press(.char(":"), .tab)
        for c in ConsoleController.paletteCommands {
            XCTAssertTrue(h.vt.contains(":" + c.name + " "), "missing :\(c.name)\n\(h.screenText)")
        }
        // On a short terminal the list scrolls with the selection and says how many are hidden.
        let small = ConsoleHarness(width: 60, height: 12)
        small.press(.char(":"))
        XCTAssertTrue(small.vt.contains("more (Up/Down"), small.screenText)
        for _ in 0..<ConsoleController.paletteCommands.count { small.press(.down) }
        XCTAssertTrue(small.vt.contains(":" + ConsoleController.paletteCommands.last!.name), small.screenText)
    }

    /// Dialogs said "Enter submit" where Enter moves to the next field.
    func testDialogFooterSaysWhatEnterDoes() {
        let h = ConsoleHarness()
        h.press(.char("c"))
        XCTAssertTrue(h.vt.contains("Enter next  C-s create  Esc cancel"), h.screenText)
        XCTAssertFalse(h.vt.contains("Enter submit"))
        h.type("x1"); h.press(.tab, .tab, .tab)
        XCTAssertTrue(h.vt.contains("Enter create  Esc cancel"), h.screenText)
    }

    /// "1 members", "produced 1 messages".
    func testCountsAreEnglish() async throws {
        XCTAssertEqual(Format.plural(1, "member"), "1 member")
        XCTAssertEqual(Format.plural(0, "member"), "0 members")
        XCTAssertEqual(Format.plural(2, "partition"), "2 partitions")
        let (s, _) = FixtureCluster.snapshot(samples: 1)
        var one = s
        let b = one.groups.firstIndex { $0.groupId == "billing" }!
        one.groups[b].members = Array(one.groups[b].members.prefix(1))
        let title = Presenters.groupPartitions(one, group: "billing", filter: TextFilter("")).title
        XCTAssertTrue(title.contains(", 1 member,"), title)
        let c = ScriptedCluster()
        let store = SnapshotStore(.empty(bootstrap: c.displayName))
        let ex = ActionExecutor(source: c, actions: c, brokerControl: nil, inbox: EventInbox(),
                                sampler: ClusterSampler(source: c, store: store, interval: .seconds(60)))
        let text = try await ex.run(.produce(ProduceSpec(topic: "t", partition: nil, count: 1, sizeBytes: 10, keyPattern: "", rate: 0)), snapshot: s)
        XCTAssertEqual(text, "produced 1 message to t")
        XCTAssertEqual(ConsoleController.progressText(.produce(ProduceSpec(topic: "t", partition: nil, count: 1, sizeBytes: 10, keyPattern: "", rate: 0))),
                       "producing 1 message to t…")
    }
}

/// Issue 10 items 9-12 and 14 on the virtual terminal, and their executor paths on a
/// scripted cluster.
final class OperatorDepthTests: XCTestCase {
    func executor(_ c: ScriptedCluster, readOnly: Bool = false) -> (ActionExecutor, EventInbox) {
        let store = SnapshotStore(.empty(bootstrap: c.displayName))
        let inbox = EventInbox()
        return (ActionExecutor(source: c, actions: readOnly ? nil : c, reader: c, brokerControl: nil, inbox: inbox,
                               sampler: ClusterSampler(source: c, store: store, interval: .seconds(60))), inbox)
    }

    // MARK: item 12

    func testAddPartitionsWarnsAboutKeysAndNeedsMoreThanNow() async throws {
        let h = ConsoleHarness()
        h.press(.char("+"))
        XCTAssertTrue(h.vt.contains("Add partitions to orders"), h.screenText)
        XCTAssertTrue(h.vt.contains("per-key ordering breaks"), h.screenText)
        h.press(.ctrl("u")); h.type("3"); h.press(.enter)
        XCTAssertTrue(h.vt.contains("more than the current 3"), h.screenText)
        XCTAssertTrue(h.effects.isEmpty)
        h.press(.ctrl("u")); h.type("5"); h.press(.enter)
        XCTAssertEqual(h.effects, [.perform(.addPartitions(topic: "orders", total: 5))])
        let c = ScriptedCluster()
        let text = try await executor(c).0.run(.addPartitions(topic: "orders", total: 5), snapshot: h.snap)
        XCTAssertEqual(text, "topic orders now has 5 partitions")
        XCTAssertEqual(c.performed, ["addPartitions orders 5"])
        let ro = ConsoleHarness(readOnly: true)
        ro.press(.char("+"))
        XCTAssertTrue(ro.status.contains("read-only"), ro.status)
    }

    // MARK: item 11

    func testMembersViewShowsIdsHostsAndAssignment() {
        let h = ConsoleHarness(width: 120, height: 40)
        let i = h.snap.groups.firstIndex { $0.groupId == "billing" }!
        h.snap.groups[i].members[1].groupInstanceId = "billing-static-2"
        h.press(.char("3"), .down, .char("M"))
        XCTAssertEqual(h.controller.currentPane, .groupMembers(group: "billing"))
        XCTAssertTrue(h.vt.contains("Members of billing (Stable, 2 members)"), h.screenText)
        let r1 = h.vt.rowIndex(containing: "m-1")!
        XCTAssertTrue(h.vt.row(r1).contains("billing-1"))
        XCTAssertTrue(h.vt.row(r1).contains("/10.1.0.5"))
        XCTAssertTrue(h.vt.row(r1).contains("orders[0,1]"), h.vt.row(r1))
        let r2 = h.vt.rowIndex(containing: "m-2")!
        XCTAssertTrue(h.vt.row(r2).contains("billing-static-2"), h.vt.row(r2))
        h.press(.escape)
        XCTAssertEqual(h.controller.currentPane, .groups)
        h.command("members audit")
        XCTAssertTrue(h.vt.contains("no active members (state Empty)"), h.screenText)
    }

    func testDeleteGroupNeedsTheNameAndNoMembers() async throws {
        let h = ConsoleHarness()
        h.press(.char("3"), .down, .char("d"))   // billing: 2 members
        XCTAssertTrue(h.status.contains("has 2 active members: Kafka refuses"), h.status)
        XCTAssertFalse(h.vt.contains("Delete group"))
        h.press(.up, .char("d"))                 // audit: Empty
        XCTAssertTrue(h.vt.contains("Delete group audit"))
        h.type("aud"); h.press(.enter)
        XCTAssertTrue(h.vt.contains("does not match the group name"))
        h.type("it"); h.press(.enter)
        XCTAssertEqual(h.effects, [.perform(.deleteGroup("audit"))])
        let c = ScriptedCluster()
        let text = try await executor(c).0.run(.deleteGroup("audit"), snapshot: h.snap)
        XCTAssertEqual(text, "deleted group audit")
        XCTAssertEqual(c.performed, ["deleteGroup audit"])
    }

    func testResetByShiftBy() async throws {
        let h = ConsoleHarness()
        h.press(.char("3"), .down, .char("o"))
        h.press(.char(" "), .char(" "), .char(" "), .char(" "))
        XCTAssertTrue(h.vt.contains("< shift-by >"), h.screenText)
        h.press(.tab); h.type("x"); h.press(.ctrl("s"))
        XCTAssertTrue(h.vt.contains("shift-by: a whole number"), h.screenText)
        h.press(.backspace); h.type("-10"); h.press(.ctrl("s"))
        let req = OffsetResetRequest(group: "billing", topic: nil, strategy: .shiftBy, value: -10)
        XCTAssertEqual(h.effects, [.perform(.planOffsetReset(req))])
        let c = ScriptedCluster()
        let (snap, _) = FixtureCluster.snapshot(samples: 1)
        let ex = executor(c).0
        // orders-0 log 100..1000, committed 900; orders-1 0..2000 at 2000; orders-2 0..500 at 400.
        var plan = try await ex.plan(req, snapshot: snap)
        XCTAssertEqual(plan.rows.map(\.target), [890, 1990, 390])
        plan = try await ex.plan(OffsetResetRequest(group: "billing", topic: nil, strategy: .shiftBy, value: 1000), snapshot: snap)
        XCTAssertEqual(plan.rows.map(\.target), [1000, 2000, 500], "clamped to the end")
        plan = try await ex.plan(OffsetResetRequest(group: "billing", topic: nil, strategy: .shiftBy, value: -5000), snapshot: snap)
        XCTAssertEqual(plan.rows.map(\.target), [100, 0, 0], "clamped to the log start")
        XCTAssertEqual(req.targetDescription, "shift by -10")
        // A partition without a committed offset cannot be shifted (Kafka's tool refuses too).
        await XCTAssertThrowsErrorAsync {
            _ = try await ex.plan(OffsetResetRequest(group: "audit", topic: "orders", strategy: .shiftBy, value: 1), snapshot: snap)
        }
    }

    /// The preview said Kafka would refuse, and Enter still executed.
    func testPreviewOffersNoExecuteWhileMembersAreActive() {
        let h = ConsoleHarness()
        let plan = OffsetResetPlan(request: OffsetResetRequest(group: "billing", topic: nil, strategy: .latest, value: nil),
                                   rows: [OffsetResetRow(partition: TopicPartition("orders", 0), current: 1000, target: 1200, end: 1200)], activeMembers: 2)
        h.receive(.resetPlan(plan))
        XCTAssertTrue(h.vt.contains("2 active members: Kafka will refuse"), h.screenText)
        XCTAssertTrue(h.vt.contains("no Execute"), h.screenText)
        XCTAssertFalse(h.vt.contains("Enter execute"))
        h.press(.enter)
        h.press(.char("y"))
        XCTAssertTrue(h.effects.isEmpty, "\(h.effects)")
        XCTAssertTrue(h.status.contains("not executed"), h.status)
        XCTAssertTrue(h.vt.contains("Preview: reset billing to latest"), "the preview stays open")
        h.press(.escape)
        XCTAssertFalse(h.vt.contains("Preview"))
    }

    // MARK: item 9

    static let topicRows = [
        ConfigRow(name: "cleanup.policy", value: "delete", source: .defaultValue),
        ConfigRow(name: "min.insync.replicas", value: "2", source: .staticBroker),
        ConfigRow(name: "retention.ms", value: "604800000", source: .topicOverride),
        ConfigRow(name: "sasl.secret", value: nil, source: .topicOverride, isSensitive: true),
    ]

    func testTopicConfigsPaneEditsAndRemovesOverrides() {
        let h = ConsoleHarness(width: 120, height: 40)
        h.press(.char("e"))
        XCTAssertEqual(h.controller.currentPane, .configs(.topic("orders")))
        XCTAssertEqual(h.effects, [.perform(.describeConfigs(.topic("orders")))])
        XCTAssertTrue(h.vt.contains("reading configs"), h.screenText)
        h.receive(.configs(.topic("orders"), Self.topicRows))
        XCTAssertTrue(h.vt.contains("Configs of topic orders [4]"), h.screenText)
        let ret = h.vt.rowIndex(containing: "retention.ms")!
        XCTAssertTrue(h.vt.row(ret).contains("604800000"))
        XCTAssertTrue(h.vt.row(ret).contains("topic override"))
        XCTAssertTrue(h.vt.row(h.vt.rowIndex(containing: "min.insync.replicas")!).contains("server.properties"))
        let secret = h.vt.rowIndex(containing: "sasl.secret")!
        XCTAssertTrue(h.vt.row(secret).contains("(sensitive)"))
        XCTAssertTrue(h.vt.row(secret).contains("sensitive"))
        h.effects = []
        // Remove on a default: nothing to remove.
        h.press(.char("d"))
        XCTAssertTrue(h.status.contains("no override"), h.status)
        // Edit retention.ms.
        h.press(.down, .down, .enter)
        XCTAssertTrue(h.vt.contains("Set retention.ms on topic orders"), h.screenText)
        XCTAssertTrue(h.vt.contains("604800000"))
        h.press(.ctrl("u")); h.type("3600000"); h.press(.enter)
        XCTAssertEqual(h.effects, [.perform(.setConfig(.topic("orders"), key: "retention.ms", value: "3600000"))])
        h.effects = []
        // Remove its override, after a y/n.
        h.press(.char("d"))
        XCTAssertTrue(h.vt.contains("remove the override retention.ms=604800000 of topic orders? (y/n)"), h.screenText)
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.deleteConfig(.topic("orders"), key: "retention.ms"))])
        // The palette reaches it too; an unknown topic is refused.
        h.command("configs nosuch")
        XCTAssertTrue(h.status.contains("topic 'nosuch' does not exist"))
    }

    func testBrokerConfigsAreReadOnlyWhereKafkaSaysSo() {
        let h = ConsoleHarness()
        h.press(.char("1"), .char("e"))
        XCTAssertEqual(h.effects, [.perform(.describeConfigs(.broker(1)))])
        h.receive(.configs(.broker(1), [
            ConfigRow(name: "log.dirs", value: "/data", source: .staticBroker, isReadOnly: true),
            ConfigRow(name: "log.retention.bytes", value: "1000", source: .dynamicBroker),
        ]))
        XCTAssertTrue(h.vt.contains("read-only"))
        h.press(.enter)
        XCTAssertTrue(h.status.contains("log.dirs is read-only: Kafka allows no dynamic change"), h.status)
        XCTAssertFalse(h.vt.contains("Set log.dirs"))
        h.press(.down, .char("d"), .char("y"))
        XCTAssertEqual(h.effects.last, .perform(.deleteConfig(.broker(1), key: "log.retention.bytes")))
        let p = ConsoleHarness()
        p.command("configs broker 2")
        XCTAssertEqual(p.controller.currentPane, .configs(.broker(2)))
        p.command("configs broker 9")
        XCTAssertTrue(p.status.contains("broker 9 does not exist"), p.status)
        // Read-only mode reads configs but edits nothing.
        let ro = ConsoleHarness(readOnly: true)
        ro.press(.char("e"))
        XCTAssertEqual(ro.effects, [.perform(.describeConfigs(.topic("orders")))])
        ro.receive(.configs(.topic("orders"), Self.topicRows))
        ro.press(.enter)
        XCTAssertTrue(ro.status.contains("read-only"), ro.status)
        XCTAssertEqual(ro.effects.count, 1)
    }

    func testExecutorSetsAndRemovesThenRereads() async throws {
        let c = ScriptedCluster()
        c.configs[.topic("orders")] = Self.topicRows
        let (ex, inbox) = executor(c)
        let (snap, _) = FixtureCluster.snapshot(samples: 1)
        var text = try await ex.run(.setConfig(.topic("orders"), key: "retention.ms", value: "5"), snapshot: snap)
        XCTAssertEqual(text, "set retention.ms=5 on topic orders")
        text = try await ex.run(.deleteConfig(.topic("orders"), key: "retention.ms"), snapshot: snap)
        XCTAssertEqual(text, "removed the override of retention.ms on topic orders: now default-of-retention.ms (default)")
        XCTAssertEqual(c.performed, ["alter topic orders set [\"retention.ms=5\"] delete []", "alter topic orders set [] delete [\"retention.ms\"]"])
        let events = inbox.drain()
        XCTAssertEqual(events.count, 2, "each change re-reads the configs")
        guard case .configs(.topic("orders"), let rows) = events.last else { return XCTFail("\(events)") }
        XCTAssertEqual(rows.first { $0.name == "retention.ms" }?.source, .defaultValue)
        // A read that fails reaches the pane as its error.
        _ = try await ex.run(.describeConfigs(.topic("gone")), snapshot: snap)
        guard case .configsFailed(.topic("gone"), let e) = inbox.drain().last else { return XCTFail() }
        XCTAssertTrue(e.contains("UNKNOWN_TOPIC"), e)
        // Read-only: reading works (reader), writing does not.
        let (ro, _) = executor(c, readOnly: true)
        _ = try await ro.run(.describeConfigs(.topic("orders")), snapshot: snap)
        await XCTAssertThrowsErrorAsync { _ = try await ro.run(.setConfig(.topic("orders"), key: "a", value: "b"), snapshot: snap) }
    }

    // MARK: item 10

    func testProduceOneMessageWithKeyHeadersAndPartition() async throws {
        let h = ConsoleHarness()
        h.press(.char("p"))
        XCTAssertTrue(h.vt.contains("Produce a message to orders"), h.screenText)
        h.type("7"); h.press(.ctrl("s"))
        XCTAssertTrue(h.vt.contains("orders has partitions 0-2"), h.screenText)
        h.press(.backspace); h.type("2"); h.press(.enter)
        h.type("k1"); h.press(.enter)
        h.type("{\"a\":1}"); h.press(.enter)
        h.type("trace=abc,x"); h.press(.enter)
        XCTAssertTrue(h.vt.contains("'x' is not key=value"), h.screenText)
        h.type("=1"); h.press(.enter)
        let m = SingleMessage(topic: "orders", partition: 2, key: Array("k1".utf8), value: Array("{\"a\":1}".utf8),
                              headers: [MessageHeader(key: "trace", value: Array("abc".utf8)), MessageHeader(key: "x", value: Array("1".utf8))])
        XCTAssertEqual(h.effects, [.perform(.produceMessage(m))])
        let c = ScriptedCluster()
        let text = try await executor(c).0.run(.produceMessage(m), snapshot: h.snap)
        XCTAssertEqual(text, "produced 1 message to orders-2 at offset 42")
        // P is the load generator (what p used to be).
        let g = ConsoleHarness()
        g.press(.char("P"))
        XCTAssertTrue(g.vt.contains("Produce to orders"), g.screenText)
    }

    func messagesHarness() -> (ConsoleHarness, ConsoleMessage) {
        let h = ConsoleHarness()
        h.press(.char("m"))
        guard case .tail(let req?) = h.effects.last else { fatalError("no tail") }
        let m = ConsoleMessage(partition: 1, offset: 7, timestamp: Date(timeIntervalSince1970: 1), key: Array("k1".utf8),
                               value: Array("{\"b\":\"/p/1\"}".utf8), headers: [MessageHeader(key: "h", value: Array("v".utf8))])
        h.receive(.messages(tailId: req.id, [m]))
        h.effects = []
        return (h, m)
    }

    func testCopyAMessageToTheClipboardThroughTheLoop() {
        let (h, m) = messagesHarness()
        h.vt.type(.char("c"), .enter, .enter, .enter)
        ConsoleRuntime.loop(backend: h.vt, controller: h.controller, store: SnapshotStore(h.snap), inbox: EventInbox(),
                            timeoutMs: 0, maxIterations: 6) { _, _ in true }
        XCTAssertEqual(h.vt.clipboard, String(decoding: m.value!, as: UTF8.self))
        XCTAssertTrue(h.vt.contains("copied 12 bytes to the clipboard"), h.screenText)
        XCTAssertEqual(OSC52.sequence("hi"), "\u{1B}]52;c;aGk=\u{07}")
        // JSON of the whole message; headers.
        let (j, _) = messagesHarness()
        j.press(.char("c"), .char(" "), .char(" "), .char(" "), .ctrl("s"))
        guard case .clipboard(let json)? = j.effects.last else { return XCTFail("\(j.effects)") }
        XCTAssertEqual(json, "{\"headers\":{\"h\":\"v\"},\"key\":\"k1\",\"offset\":7,\"partition\":1,\"timestamp\":1000,\"topic\":\"orders\",\"value\":\"{\\\"b\\\":\\\"/p/1\\\"}\"}\n")
    }

    func testCopyFromTheMessageView() {
        let (h, m) = messagesHarness()
        h.press(.enter)
        XCTAssertTrue(h.vt.contains("c copy"), h.screenText)
        h.press(.char("c"))
        XCTAssertTrue(h.vt.contains("Copy message 1/7"), h.screenText)
        h.press(.ctrl("s"))
        XCTAssertEqual(h.effects, [.clipboard(String(decoding: m.value!, as: UTF8.self))])
    }

    func testCopyToAFileNeverOverwrites() async throws {
        let (h, m) = messagesHarness()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("samsa-copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v.txt").path
        h.press(.char("c"), .tab, .char(" "), .tab, .ctrl("u"))
        h.type(path); h.press(.enter)
        XCTAssertEqual(h.effects, [.perform(.writeFile(path: path, contents: m.value!, what: "the value"))])
        let c = ScriptedCluster()
        let ex = executor(c).0
        let text = try await ex.run(.writeFile(path: path, contents: m.value!, what: "the value"), snapshot: h.snap)
        XCTAssertEqual(text, "wrote the value to \(path)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(m.value!))
        await XCTAssertThrowsErrorAsync { _ = try await ex.run(.writeFile(path: path, contents: [1], what: "x"), snapshot: h.snap) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(m.value!), "not overwritten")
    }

    func testExportWritesJSONLinesFromTheCluster() async throws {
        let (h, _) = messagesHarness()
        h.press(.char("w"))
        XCTAssertTrue(h.vt.contains("Export messages of orders"), h.screenText)
        h.press(.tab, .ctrl("u")); h.type("earliest")
        h.press(.tab); h.type("5")
        h.press(.tab, .tab, .ctrl("u")); h.type("/tmp/x.jsonl"); h.press(.ctrl("s"))
        XCTAssertTrue(h.vt.contains("To offset must be after From offset") == false)
        XCTAssertEqual(h.effects, [.perform(.exportMessages(ExportSpec(topic: "orders", partition: nil, fromOffset: 0, toOffset: 5,
                                                                       maxMessages: 10_000, path: "/tmp/x.jsonl")))])
        let c = ScriptedCluster()
        // orders-0 starts at 100 (fixture); orders-1 has a binary value.
        c.stored[TopicPartition("orders", 0)] = (100..<103).map { ConsoleMessage(partition: 0, offset: $0, timestamp: Date(timeIntervalSince1970: 2), key: nil, value: Array("v\($0)".utf8)) }
        c.stored[TopicPartition("orders", 1)] = [ConsoleMessage(partition: 1, offset: 4, timestamp: nil, key: [0xff], value: [0, 1, 0xfe])]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("samsa-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("e.jsonl").path
        let text = try await executor(c).0.run(.exportMessages(ExportSpec(topic: "orders", partition: nil, fromOffset: 0, toOffset: nil,
                                                                          maxMessages: 100, path: path)), snapshot: h.snap)
        XCTAssertEqual(text, "exported 4 messages of orders to \(path)")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[0], "{\"headers\":{},\"key\":null,\"offset\":100,\"partition\":0,\"timestamp\":2000,\"topic\":\"orders\",\"value\":\"v100\"}")
        XCTAssertEqual(lines[3], "{\"headers\":{},\"key\":\"/w==\",\"keyEncoding\":\"base64\",\"offset\":4,\"partition\":1,\"timestamp\":-1,\"topic\":\"orders\",\"value\":\"AAH+\",\"valueEncoding\":\"base64\"}")
        // A range and a cap.
        let p2 = dir.appendingPathComponent("e2.jsonl").path
        let t2 = try await executor(c).0.run(.exportMessages(ExportSpec(topic: "orders", partition: 0, fromOffset: 101, toOffset: 102,
                                                                        maxMessages: 100, path: p2)), snapshot: h.snap)
        XCTAssertEqual(t2, "exported 1 message of orders to \(p2)")
    }

    // MARK: item 14

    func testMouseClickSelectsRowsAndTabsAndWheelScrolls() {
        let h = ConsoleHarness()
        let payments = h.vt.rowIndex(containing: "payments")!
        h.press(.mouse(MouseEvent(.press, row: payments, col: 5)))
        XCTAssertEqual(h.controller.selectedRow, 1)
        XCTAssertEqual(h.vt.screen[payments, 2].role, .selection)
        h.press(.mouse(MouseEvent(.wheelDown, row: payments, col: 5)))
        XCTAssertEqual(h.controller.selectedRow, 2, "clamped to the last row")
        h.press(.mouse(MouseEvent(.wheelUp, row: payments, col: 5)))
        XCTAssertEqual(h.controller.selectedRow, 0)
        // A click below the rows or on the header does nothing.
        h.press(.mouse(MouseEvent(.press, row: 20, col: 5)), .mouse(MouseEvent(.press, row: 0, col: 5)))
        XCTAssertEqual(h.controller.selectedRow, 0)
        XCTAssertEqual(h.controller.currentPane, .topics)
        // Tabs: " 1 Brokers " " 2 Topics " " 3 Groups ".
        let groupsCol = h.vt.row(1).range(of: "3 Groups").map { h.vt.row(1).distance(from: h.vt.row(1).startIndex, to: $0.lowerBound) }!
        h.press(.mouse(MouseEvent(.press, row: 1, col: groupsCol + 2)))
        XCTAssertEqual(h.controller.currentPane, .groups)
        h.press(.mouse(MouseEvent(.press, row: 1, col: 1)))
        XCTAssertEqual(h.controller.currentPane, .brokers)
        // Dialogs ignore the mouse.
        h.press(.char("2"), .char("c"))
        h.press(.mouse(MouseEvent(.press, row: 1, col: groupsCol + 2)))
        XCTAssertTrue(h.vt.contains("Create topic"))
        XCTAssertEqual(h.controller.currentPane, .topics)
    }
}
