import XCTest
import TerminalUI
@testable import Console

/// What every whole-screen test class shares: a fixture snapshot, a virtual terminal, a
/// read-write controller with broker control, and keys that redraw after each press, as the
/// runtime does. Tests may replace `vt`, `snap` or `controller` and call `draw()`.
/// (`ConsoleHarness` is the same thing as an object, for tests that need several consoles.)
class ScreenTestCase: XCTestCase {
    var snap: ClusterSnapshot!
    var now: Date!
    var vt: VirtualTerminal!
    var controller: ConsoleController!
    var effects: [ConsoleEffect] = []
    /// The width the tests start at (24 rows); a subclass overrides it.
    var terminalWidth: Int { 80 }

    override func setUp() {
        (snap, now) = FixtureCluster.snapshot(samples: 3)
        vt = VirtualTerminal(width: terminalWidth, height: 24)
        controller = ConsoleController(readOnly: false, brokerControl: true)
        effects = []
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
}
