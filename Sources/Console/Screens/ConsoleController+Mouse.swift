import Foundation
import TerminalUI

/// Mouse input (issue 10 item 14): a click on a tab switches panes, a click on a row selects
/// it, the wheel scrolls. Never required: every action stays on keys. Positions come from
/// the last rendered frame (`MouseTargets`), so hit-testing matches what the user saw.
extension ConsoleController {
    func handleMouse(_ e: MouseEvent, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch mode {
        case .normal: break
        case .detail(var view):
            if e.kind != .press {
                for _ in 0..<3 { _ = view.handle(e.kind == .wheelUp ? .up : .down) }
                mode = .detail(view)
            }
            return []
        default: return []   // dialogs, palette, filter, help: keys only
        }
        switch e.kind {
        case .wheelUp, .wheelDown:
            // Three rows per notch, as terminals scroll text.
            let table = paneTable(s, now: now)
            for _ in 0..<3 { _ = stack[stack.count - 1].table.handle(e.kind == .wheelUp ? .up : .down, rowCount: table.rowCount, pageHeight: mouseTargets.pageHeight) }
            rememberSelection(table)   // selection follows the row's identity from now on
            if case .messages = currentPane { return messagesScrolled(table, e.kind == .wheelUp ? .up : .down, now) }
            return []
        case .press:
            if let tab = mouseTargets.tabs.first(where: { $0.cols.contains(e.col) && e.row == mouseTargets.tabRow }) {
                return goTop(tab.pane)
            }
            let area = mouseTargets.rows
            guard area.width > 0, e.row >= area.row, e.row < area.row + area.height, e.col >= area.col, e.col < area.col + area.width else { return [] }
            let index = stack[stack.count - 1].table.offset + (e.row - area.row)
            let table = paneTable(s, now: now)
            guard index < table.rowCount else { return [] }
            stack[stack.count - 1].table.selected = index
            rememberSelection(table)
            return []
        }
    }
}

/// Where the last frame put the clickable things.
struct MouseTargets {
    var tabRow = 1
    var tabs: [(cols: Range<Int>, pane: PaneKind)] = []
    /// The table's data rows (below its header).
    var rows = Rect(row: 0, col: 0, width: 0, height: 0)
    var pageHeight = 10
}
