/// A key binding line for the help overlay and status bar.
public struct KeyHelp: Sendable, Equatable {
    public var keys: String
    public var action: String
    public init(_ keys: String, _ action: String) { self.keys = keys; self.action = action }
}

/// The `?` overlay: sections of key bindings in a centred box.
public struct HelpOverlay {
    public var title: String
    public var sections: [(String, [KeyHelp])]
    public init(title: String, sections: [(String, [KeyHelp])]) { self.title = title; self.sections = sections }

    /// Draws the overlay scrolled by `scroll` lines (clamped) and returns the scroll used:
    /// at 80x24 the keys and the legend do not fit at once.
    @discardableResult
    public func draw(in canvas: inout Canvas, scroll: Int = 0) -> Int {
        var lines: [(String, String, Bool)] = []
        for (name, items) in sections {
            if !lines.isEmpty { lines.append(("", "", false)) }
            lines.append((name, "", true))
            for k in items { lines.append((k.keys, k.action, false)) }
        }
        lines.append(("", "", false))
        lines.append(("Esc", "close this help", false))
        let keyWidth = min(16, (lines.map { TextWidth.width(of: $0.0) }.max() ?? 0) + 1)
        let width = min(canvas.width - 2, 84)
        let height = min(canvas.height - 2, lines.count + 2)
        let rect = canvas.bounds.centered(width: width, height: height)
        canvas.fill(rect, role: .help)
        canvas.box(rect, title: title, role: .help, titleRole: .dialogTitle)
        let inner = rect.inset(1)
        let first = min(max(0, scroll), max(0, lines.count - inner.height))
        if lines.count > inner.height {
            let more = " \(first + 1)-\(first + inner.height)/\(lines.count) Up/Down "
            canvas.write(more, row: rect.bottom - 1, col: max(rect.col + 1, rect.col + rect.width - TextWidth.width(of: more) - 2), role: .dialogTitle)
        }
        for (i, line) in lines.dropFirst(first).prefix(inner.height).enumerated() {
            let y = inner.row + i
            if line.2 {
                canvas.write(fitted: line.0, row: y, col: inner.col + 1, width: inner.width - 2, role: .dialogTitle)
            } else {
                canvas.write(fitted: line.0, row: y, col: inner.col + 1, width: keyWidth, role: .helpKey)
                canvas.write(fitted: line.1, row: y, col: inner.col + 2 + keyWidth, width: max(0, inner.width - keyWidth - 3), role: .help)
            }
        }
        return first
    }
}
