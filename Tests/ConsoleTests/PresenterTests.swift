import XCTest
import TerminalUI
@testable import Console

final class PresenterTests: XCTestCase {
    func testBrokersPresenter() {
        let (s, _) = FixtureCluster.snapshot(samples: 1) { $0.logDirError3 = "timeout" }
        let t = Presenters.brokers(s, filter: TextFilter(""))
        XCTAssertEqual(t.rowCount, 3)
        // No DescribeQuorum in the fixture: ROLE and QUORUM say "-".
        XCTAssertEqual(t.row(0).cells, ["1", "10.0.0.1:9092", "a", "-", "yes", "-", "up", "3", "4", "0", "6.0 KiB"])
        XCTAssertEqual(t.row(2).cells[6], "unreachable")
        XCTAssertEqual(t.row(2).cellRoles[6], .warn)
        XCTAssertEqual(t.detail(2), "broker 3: timeout")
        XCTAssertEqual(Presenters.brokers(s, filter: TextFilter("rack-none|10.0.0.2")).rowCount, 1)
    }

    func testTopicsPresenterFlagsURPAndSortsByName() {
        let (s, _) = FixtureCluster.snapshot(samples: 2)
        let t = Presenters.topics(s, filter: TextFilter(""))
        XCTAssertEqual((0..<t.rowCount).map(t.key), ["orders", "payments", "__consumer_offsets"])
        XCTAssertEqual(t.row(0).role, .warn)
        XCTAssertEqual(t.row(0).cells, ["orders", "3", "2", "1", "0", "6.0 KiB", "3500", "50.0", "7d"])
        XCTAssertEqual(t.row(1).cells.last, "forever")
        XCTAssertEqual(t.row(2).role, .dim)
    }

    func testPartitionsPresenterOfflineAndMissingTopic() {
        let (s, now) = FixtureCluster.snapshot(samples: 1) { f in f.orders1ISR = [] }
        var s2 = s
        s2.topics[0].partitions[1].leader = -1
        let t = Presenters.partitions(s2, topic: "orders", filter: TextFilter(""), now: now)
        XCTAssertTrue(t.row(1).cells[7].hasPrefix("OFFLINE"))
        XCTAssertEqual(t.row(1).cellRoles[7], .error)
        XCTAssertEqual(t.row(1).cells[1], "none")
        XCTAssertEqual(Presenters.partitions(s, topic: "gone", filter: TextFilter(""), now: now).emptyMessage, "topic gone not found")
    }

    func testGroupPartitionsPresenter() {
        let (s, _) = FixtureCluster.snapshot(samples: 3, growth: 100, consumed: 80)
        let t = Presenters.groupPartitions(s, group: "billing", filter: TextFilter(""))
        XCTAssertEqual(t.rowCount, 3)
        XCTAssertEqual(Array(t.row(0).cells[0...4]), ["orders", "0", "1060", "1200", "140"])
        XCTAssertEqual(t.row(0).cells.last, "billing-1@/10.1.0.5")
        XCTAssertEqual(t.row(0).cellRoles[6], .lagGrowing)
    }

    func testHeadlessTextListsEveryPane() throws {
        let (s, now) = FixtureCluster.snapshot(samples: 2)
        let text = try HeadlessReport.render(s, format: .text, now: now)
        for needle in ["BROKERS", "TOPICS", "PARTITIONS orders", "GROUPS", "GROUP billing", "ERR: STOP payments-0"] {
            XCTAssertTrue(text.contains(needle), needle)
        }
        XCTAssertTrue(text.unicodeScalars.allSatisfy(\.isASCII))
    }

    func testFormatting() {
        XCTAssertEqual(Format.bytes(1536), "1.5 KiB")
        XCTAssertEqual(Format.bytes(nil), "-")
        XCTAssertEqual(Format.count(12345), "12.3k")
        XCTAssertEqual(Format.rate(0), "0")
        XCTAssertEqual(Format.retention(ms: 3_600_000), "1h")
        XCTAssertEqual(Format.retention(ms: 5_400_000), "90m")
        XCTAssertEqual(Format.payload([0xff, 0x00]), "0xff00")
        XCTAssertNil(Format.prettyJSON(Array("plain".utf8)))
    }

    func testTestValuesAreSizedJSON() {
        let v = ActionExecutor.testValue(number: 3, size: 100)
        XCTAssertEqual(v.count, 100)
        XCTAssertNotNil(Format.prettyJSON(v))
    }

    func testParseTime() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        XCTAssertEqual(ConsoleController.parseTime("-10m", now: now), (1_000_000 - 600) * 1000)
        XCTAssertEqual(ConsoleController.parseTime("1970-01-02T00:00:00Z", now: now), 86_400_000)
        XCTAssertNil(ConsoleController.parseTime("yesterday", now: now))
    }
}
