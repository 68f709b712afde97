/// A one-line bar of `key label` hints on the left and free text on the right.
public struct StatusBar {
    public var hints: [(key: String, label: String)]
    public var right: String
    public var rightRole: Role
    /// Hints that always show (at the right end), whatever else is cut: at 80 columns the
    /// pane's keys used to push `? help` and `q quit` off the bar.
    public var pinned: [(key: String, label: String)]
    public init(hints: [(key: String, label: String)], right: String = "", rightRole: Role = .status,
                pinned: [(key: String, label: String)] = []) {
        self.hints = hints; self.right = right; self.rightRole = rightRole; self.pinned = pinned
    }

    public func draw(in canvas: inout Canvas, row: Int) {
        canvas.fill(Rect(row: row, col: 0, width: canvas.width, height: 1), role: .status)
        let pinnedWidth = pinned.map { TextWidth.width(of: $0.key) + TextWidth.width(of: $0.label) + 2 }.reduce(0, +)
        let rightWidth = min(TextWidth.width(of: right), max(0, canvas.width / 2 - pinnedWidth))
        var px = canvas.width - rightWidth - (rightWidth > 0 ? 1 : 0) - pinnedWidth
        if px > 0 {
            for h in pinned {
                px += canvas.write(h.key, row: row, col: px, role: .statusKey)
                px += canvas.write(" " + h.label + " ", row: row, col: px, role: .status)
            }
        }
        let leftLimit = canvas.width - rightWidth - 1 - pinnedWidth
        var col = 0
        for h in hints {
            let need = TextWidth.width(of: h.key) + TextWidth.width(of: h.label) + 2
            if col + need > leftLimit { break }
            col += canvas.write(h.key, row: row, col: col, role: .statusKey)
            col += canvas.write(" " + h.label + " ", row: row, col: col, role: .status)
        }
        if rightWidth > 0 {
            canvas.write(fitted: right, row: row, col: canvas.width - rightWidth, width: rightWidth, alignRight: true, role: rightRole)
        }
    }
}

/// A row of pane tabs (`1 Brokers  2 Topics ...`) with the active one highlighted.
public struct TabBar {
    public var titles: [String]
    public var active: Int?
    public init(titles: [String], active: Int?) { self.titles = titles; self.active = active }

    /// Draws tabs from `col`; returns the column after the last tab.
    @discardableResult
    public func draw(in canvas: inout Canvas, row: Int, col: Int, role: Role = .tab) -> Int {
        var x = col
        for (i, t) in titles.enumerated() {
            let label = " \(i + 1) \(t) "
            if x + TextWidth.width(of: label) > canvas.width { break }
            x += canvas.write(label, row: row, col: x, role: i == active ? .tabActive : role)
        }
        return x
    }
}
