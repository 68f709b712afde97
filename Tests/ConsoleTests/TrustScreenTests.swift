import XCTest
import TerminalUI
@testable import Console

/// Issue 10 (the console an operator trusts): selection by identity, numeric fields, and
/// the other trust bugs, reproduced on the virtual terminal.
final class TrustScreenTests: ScreenTestCase {

    var screenText: String { (0..<vt.screen.height).map(vt.row).joined(separator: "\n") }

    func selectedText() -> String? {
        (0..<vt.screen.height).first { r in vt.screen[r, 2].role == .selection }.map(vt.row)
    }

    /// A new snapshot with an extra topic that sorts before every other one.
    func addTopic(_ name: String) {
        var s = snap!
        s.sequence += 1
        var t = s.topics[0]
        t.name = name
        t.partitions = t.partitions.map { var p = $0; p.topic = name; return p }
        s.topics.insert(t, at: 0)
        snap = s
        draw()
    }

    // MARK: 1. Selection by identity

    /// With `payments` selected, a topic created elsewhere (sorting first) moved the
    /// highlight to the neighbour, so `p` produced to the wrong topic.
    func testSelectionFollowsTheTopicWhenARowAppearsAbove() {
        press(.down)
        XCTAssertTrue(selectedText()?.contains("payments") == true, selectedText() ?? "no selection")
        addTopic("a.first")
        XCTAssertTrue(vt.contains("a.first"))
        XCTAssertTrue(selectedText()?.contains("payments") == true, "highlight moved: \(selectedText() ?? "none")")
        press(.char("p"))
        XCTAssertTrue(vt.contains("Produce a message to payments"), screenText)
    }

    func testSelectionSurvivesPaneSwitchesAndFilters() {
        press(.down)
        press(.char("3"), .down, .char("2"))
        XCTAssertTrue(selectedText()?.contains("payments") == true, "after 3, 2: \(selectedText() ?? "none")")
        press(.tab, .tab, .tab)  // topics -> groups -> brokers -> topics
        XCTAssertTrue(selectedText()?.contains("payments") == true, "after Tab x3: \(selectedText() ?? "none")")
        press(.char("3"))
        XCTAssertTrue(selectedText()?.contains("billing") == true, "groups pane kept its own selection: \(selectedText() ?? "none")")
        press(.char("2"))
        // A filter that keeps the object keeps it selected.
        press(.char("/")); type("s"); press(.enter)
        XCTAssertTrue(selectedText()?.contains("payments") == true, "after filter: \(selectedText() ?? "none")")
        press(.escape)
        XCTAssertTrue(selectedText()?.contains("payments") == true, "after clearing the filter: \(selectedText() ?? "none")")
        // Drill down and back: the parent still has its object.
        addTopic("a.first")
        press(.enter)
        XCTAssertTrue(vt.contains("Partitions of payments"), screenText)
        press(.escape)
        XCTAssertTrue(selectedText()?.contains("payments") == true, "after Enter, Esc: \(selectedText() ?? "none")")
    }

    // MARK: 2. Numeric fields

    /// Partitions `4 ` passed validation (trimmed) and then `Int32("4 ")` failed, so the
    /// topic was created with the default of 1 partition.
    func testCreateTopicNumbersWithSpacesAreTrimmedNotDefaulted() {
        press(.char("c"))
        type("t.spaces")
        press(.tab, .backspace); type("4 ")
        press(.tab, .backspace); type(" 2")
        press(.ctrl("s"))
        XCTAssertEqual(effects, [.perform(.createTopic(name: "t.spaces", partitions: 4, replicationFactor: 2, configs: [:]))])
    }

    func testProduceAndResetAndSeekNumbersWithSpaces() {
        press(.char("P"))
        for _ in 0..<3 { press(.backspace) }
        type(" 7 ")
        press(.tab)
        for _ in 0..<3 { press(.backspace) }
        type("20 ")
        press(.tab, .tab)
        press(.backspace); type(" 5")
        press(.ctrl("s"))
        XCTAssertEqual(effects, [.perform(.produce(ProduceSpec(topic: "orders", partition: nil, count: 7, sizeBytes: 20, keyPattern: "key-{n}", rate: 5)))])
        effects = []
        press(.char("3"), .down, .char("o"))
        press(.char(" "), .char(" "), .char(" "))  // earliest -> latest -> time -> offset
        press(.tab); type(" 12 ")
        press(.ctrl("s"))
        XCTAssertEqual(effects, [.perform(.planOffsetReset(OffsetResetRequest(group: "billing", topic: nil, strategy: .offset, value: 12)))])
        effects = []
        press(.char("2"), .char("m"))
        effects = []
        press(.char("s")); type(" 5 ")
        press(.enter)
        guard case .tail(let req?) = effects.last else { return XCTFail("no tail after seek: \(effects)") }
        XCTAssertEqual(req.start, .offset(5), "' 5 ' is offset 5, not time 0")
    }

    // MARK: 3. Message viewer

    func records(_ range: Range<Int64>, partition: Int32 = 0) -> [ConsoleMessage] {
        range.map { ConsoleMessage(partition: partition, offset: $0, timestamp: nil, key: nil, value: Array("v\($0)".utf8), headers: []) }
    }

    func lastTail() -> TailRequest? {
        for e in effects.reversed() { if case .tail(let r?) = e { return r } }
        return nil
    }

    /// Seeking to offset 0 on a busy partition: the top row was 664 after 0.3 s and 728
    /// after 3 s, because only the newest 2,000 records were kept.
    func testSeekPinsTheViewAndKeepsTheRecordSought() {
        press(.enter, .enter)  // orders -> partition 0 -> messages
        press(.char("s")); type("0"); press(.enter)
        guard let req = lastTail() else { return XCTFail("no tail: \(effects)") }
        XCTAssertEqual(req.start, .offset(0))
        XCTAssertEqual(req.limit, controller.messageLimit, "a pinned tail reads only what can be scrolled to")
        XCTAssertTrue(vt.contains("paused"), screenText)
        // Even if more arrives than the limit, nothing the user has not scrolled past goes.
        for start in stride(from: Int64(0), to: 2600, by: 200) {
            controller.receive(.messages(tailId: req.id, records(start..<(start + 200))), now: now)
        }
        draw()
        let firstRow = vt.rowIndex(containing: "OFFSET")! + 1
        XCTAssertTrue(vt.row(firstRow).contains(" 0 "), "the record sought is still the top row: \(vt.row(firstRow))")
        XCTAssertTrue(selectedText()?.contains(" 0 ") == true, selectedText() ?? "none")
        // Scrolling to the end of what is buffered drops what was scrolled past and asks for more.
        effects = []
        press(.char("G"))
        guard case .tailLimit(let id, let limit?)? = effects.last else { return XCTFail("no more records asked for: \(effects)") }
        XCTAssertEqual(id, req.id)
        XCTAssertGreaterThan(limit, 2600)
        XCTAssertTrue(selectedText()?.contains("2599") == true, selectedText() ?? "none")
        // f follows again, from the newest records.
        press(.char("f"))
        XCTAssertEqual(lastTail()?.start, .latest(50))
        XCTAssertNil(lastTail()?.limit)
        XCTAssertTrue(vt.contains("following"), screenText)
    }

    func testFollowingShowsNewestAndMovingUpPauses() {
        press(.char("m"))
        guard let req = lastTail() else { return XCTFail() }
        XCTAssertNil(req.limit)
        controller.receive(.messages(tailId: req.id, records(0..<100)), now: now)
        draw()
        XCTAssertTrue(selectedText()?.contains(" 99 ") == true, "following selects the newest: \(selectedText() ?? "none")")
        effects = []
        press(.up)
        XCTAssertTrue(vt.contains("paused"), screenText)
        guard case .tailLimit(_, let limit?)? = effects.last else { return XCTFail("moving up did not pause: \(effects)") }
        XCTAssertEqual(limit, 100)
        controller.receive(.messages(tailId: req.id, records(100..<110)), now: now)
        draw()
        XCTAssertTrue(selectedText()?.contains(" 98 ") == true, "paused: the selection stays: \(selectedText() ?? "none")")
    }

    func testMessagesFromAGroupPartitionStartAtTheCommittedOffset() {
        press(.char("3"), .down, .enter)  // billing
        XCTAssertTrue(vt.contains("Group billing"), screenText)
        press(.enter)  // orders-0
        let committed = snap.group(id: "billing")!.partitions.first { $0.partition == 0 }!.committedOffset!
        XCTAssertEqual(lastTail()?.start, .offset(committed))
        XCTAssertEqual(lastTail()?.partition, 0)
        XCTAssertTrue(vt.contains("paused"), screenText)
    }

    // MARK: 7. Stale data

    /// With the broker down, MSG/S still showed 79.9 and groups "Stable ... OK" in the
    /// normal colours.
    func testUnreachableClusterGreysRowsAndRatesAreUnknown() {
        var f = FixtureCluster()
        var state = SamplerState()
        let t0 = now!
        for i in 0..<3 {
            _ = state.ingest(f.raw(at: t0.addingTimeInterval(Double(i) * 2)), bootstrap: "x")
            f.ends[TopicPartition("orders", 0)]! += 100
        }
        let good = state.ingest(f.raw(at: t0.addingTimeInterval(6)), bootstrap: "x")
        XCTAssertNotNil(good.topic(named: "orders")?.messagesPerSecond)
        f.unreachable = true
        let failedAt = t0.addingTimeInterval(8)
        snap = state.ingest(f.raw(at: failedAt), bootstrap: "x")
        _ = state.ingest(f.raw(at: t0.addingTimeInterval(10)), bootstrap: "x")
        snap = state.ingest(f.raw(at: t0.addingTimeInterval(12)), bootstrap: "x")
        now = t0.addingTimeInterval(13)
        draw()
        let orders = vt.rowIndex(containing: "orders")!
        XCTAssertEqual(vt.screen[orders, 3].role, .selection)
        press(.down)
        XCTAssertEqual(vt.screen[orders, 3].role, .stale, "greyed")
        XCTAssertTrue(vt.row(orders).contains(" ? "), "rate unknown: \(vt.row(orders))")
        XCTAssertTrue(vt.row(1).contains("cluster unreachable since \(ConsoleController.clock.string(from: failedAt))"), vt.row(1))
        press(.char("3"))
        let billing = vt.rowIndex(containing: "billing")!
        XCTAssertEqual(vt.screen[billing, 3].role, .stale, "groups greyed")
        XCTAssertEqual(snap.group(id: "billing")?.trend, .unknown)
    }

    // MARK: 8. Message history

    func testLongErrorsCanBeReopenedFromTheHistory() {
        let text = "start broker 1 failed: broker 1 failed to start: Too many open files (errno 24) (exit status 1; log: /tmp/x/broker-1/broker.log)\nline one of the log\nline two of the log"
        controller.receive(.actionFailed(.broker(.start, id: 1), text), now: now)
        draw()
        XCTAssertTrue(vt.row(22).contains("! full text"), vt.row(22))
        press(.char("!"))
        XCTAssertTrue(vt.contains("Message history"), screenText)
        XCTAssertTrue(vt.contains("errno 24"), screenText)
        XCTAssertTrue(vt.contains("broker.log"), "wrapped, not cut: \(screenText)")
        XCTAssertTrue(vt.contains("line two of the log"), screenText)
        press(.escape)
        XCTAssertFalse(vt.contains("Message history"))
        press(.char("?"))
        // The Topics pane's own keys come first; at 80x24 the global ones may need a scroll.
        if !vt.contains("message history") { press(.pageDown) }
        XCTAssertTrue(vt.contains("message history"), screenText)
    }

    // MARK: 13. Tables

    func testSortByAnyColumnWithIndicator() {
        press(.char("3"))
        XCTAssertLessThan(vt.rowIndex(containing: "audit")!, vt.rowIndex(containing: "billing")!)
        press(.char(">"), .char(">"), .char(">"), .char(">"))  // GROUP, STATE, MEMB, LAG
        XCTAssertTrue(vt.contains("LAG↓"), screenText)
        XCTAssertLessThan(vt.rowIndex(containing: "billing")!, vt.rowIndex(containing: "audit")!, "largest lag first")
        press(.char("-"))
        XCTAssertTrue(vt.contains("LAG↑"), screenText)
        XCTAssertLessThan(vt.rowIndex(containing: "audit")!, vt.rowIndex(containing: "billing")!)
        XCTAssertEqual(TableSort.value("1.5 KiB"), .number(1536))
        XCTAssertEqual(TableSort.value("4m12s"), .number(252))
        XCTAssertEqual(TableSort.value(">30s"), .number(30))
        XCTAssertEqual(TableSort.value("12.3k"), .number(12300))
        XCTAssertNil(TableSort.value("-"))
    }

    func testStatusBarKeepsHelpAndQuitAt80Columns() {
        XCTAssertTrue(vt.row(23).contains("? help"), vt.row(23))
        XCTAssertTrue(vt.row(23).contains("q quit"), vt.row(23))
        press(.char("3"), .enter)
        XCTAssertTrue(vt.row(23).contains("? help") && vt.row(23).contains("q quit"), vt.row(23))
    }

    /// At 120 columns TOPIC took 68 columns while REASON and OWNER were cut.
    func testColumnsAreSizedToContent() {
        vt = VirtualTerminal(width: 120, height: 40)
        press(.char("3"), .down, .enter)
        let header = vt.row(vt.rowIndex(containing: "COMMIT")!)
        let topicWidth = header.range(of: "P ")!.lowerBound.utf16Offset(in: header) - header.range(of: "TOPIC")!.lowerBound.utf16Offset(in: header)
        XCTAssertLessThan(topicWidth, 40, "the spare first went to TOPIC (flex 3): \(header)")
        XCTAssertTrue(vt.contains("billing-1@/10.1.0.5"), "OWNER not cut: \(screenText)")
        let w = TableView.layout([TableColumn("A", width: 5, flex: 3), TableColumn("B", width: 5, flex: 1)], width: 40, content: [6, 30])
        XCTAssertGreaterThanOrEqual(w[1], 30, "the cut column gets the room first: \(w)")
        XCTAssertEqual(TableView.layout([TableColumn("A", width: 12), TableColumn("B", width: 5)], width: 20, content: [6, 13]), [6, 13],
                       "a column wider than its content gives the room to a cut one")
    }

    func testHelpHasALegendAndScrolls() {
        press(.char("3"), .char("?"))
        XCTAssertTrue(vt.contains("Columns and verdicts"), screenText)
        XCTAssertTrue(vt.contains("DRAIN"), screenText)
        for _ in 0..<40 { press(.down) }
        XCTAssertTrue(vt.contains("BREACH"), screenText)
        XCTAssertTrue(vt.contains("COLLECTING"), screenText)
    }

    // MARK: 15. --once collecting

    /// `--once` with one sample said OK for a lagging group on one commit.
    func testOnceWithOneSampleSaysCollecting() throws {
        let (one, _) = FixtureCluster.snapshot(samples: 1)
        XCTAssertEqual(one.group(id: "billing")?.status, .collecting, one.group(id: "billing")?.reason ?? "")
        let text = try HeadlessReport.render(one, format: .text, now: now)
        let row = text.split(separator: "\n").first { $0.hasPrefix("billing") } ?? ""
        XCTAssertTrue(row.contains("COLLECTING"), String(row))
        XCTAssertFalse(row.contains(" OK "), String(row))
    }
}

/// 4. The JSON detail view rewrote data: `"/p/11"` as `"\/p\/11"`, `1.10` as `1.1`, keys sorted.
final class MessageDetailTests: XCTestCase {
    let value = #"{"page":"/p/11","amount":1.10,"z":1,"a":{"b":[],"e":"\u00e9\"q"},"big":12345678901234567890}"#

    func screen(_ keys: [Key], width: Int = 100, height: Int = 30, value: String? = nil) -> VirtualTerminal {
        let (snap, now) = FixtureCluster.snapshot(samples: 1)
        let vt = VirtualTerminal(width: width, height: height)
        let c = ConsoleController(readOnly: false, brokerControl: false)
        var effects = c.handle(.char("m"), snapshot: snap, now: now)
        guard case .tail(let req?) = effects.last else { XCTFail("no tail"); return vt }
        c.receive(.messages(tailId: req.id, [ConsoleMessage(partition: 0, offset: 7, timestamp: nil, key: Array("k1".utf8),
                                                           value: Array((value ?? self.value).utf8), headers: [])]), now: now)
        for k in [Key.enter] + keys { effects += c.handle(k, snapshot: snap, now: now) }
        var canvas = vt.makeCanvas()
        c.render(snap, into: &canvas, now: now)
        vt.present(canvas, theme: c.theme)
        return vt
    }

    func testPrettyKeepsEveryTokenAndTheKeyOrder() {
        let vt = screen([])
        let text = vt.text
        XCTAssertTrue(text.contains(#""page": "/p/11","#), text)
        XCTAssertFalse(text.contains(#"\/"#), text)
        XCTAssertTrue(text.contains(#""amount": 1.10,"#), text)
        XCTAssertTrue(text.contains("12345678901234567890"), text)
        XCTAssertTrue(text.contains(#""e": "\u00e9\"q""#), "escapes are kept as sent: \(text)")
        XCTAssertTrue(text.contains(#""b": [],"#), text)
        let z = vt.rowIndex(containing: #""z": 1"#)!, a = vt.rowIndex(containing: #""a": {"#)!
        XCTAssertLessThan(z, a, "key order kept")
        XCTAssertEqual(JSONText.pretty(Array(#"{"a" : [ 1 , 2 ] }"#.utf8)), "{\n  \"a\": [\n    1,\n    2\n  ]\n}")
        XCTAssertNil(JSONText.pretty(Array("{not json".utf8)))
    }

    func testRawViewShowsBytesAsSentWithHex() {
        let vt = screen([.char("r")])
        XCTAssertTrue(vt.contains("raw bytes"), vt.text)
        XCTAssertTrue(vt.contains(#"{"page":"/p/11","amount":1.10"#), "the value as sent: \(vt.text)")
        XCTAssertTrue(vt.contains("00000000  7b 22 70 61 67 65 22 3a  22 2f 70 2f 31 31 22 2c |{\"page\":\"/p/11\",|"), vt.text)
        XCTAssertTrue(vt.contains("value (\(value.utf8.count) bytes), as sent:"), vt.text)
    }

    func testWrapToggleShowsTheEndOfLongLines() {
        let long = #"{"text":""# + String(repeating: "abcdefghij", count: 12) + #"END"}"#
        var vt = screen([], value: long)
        XCTAssertFalse(vt.contains("END"), "cut without wrap")
        vt = screen([.char("w")], value: long)
        XCTAssertTrue(vt.contains("END"), vt.text)
        XCTAssertTrue(vt.contains("wrap on"), vt.text)
    }
}
