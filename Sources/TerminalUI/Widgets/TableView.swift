/// A table column: title, minimum width, share of spare width, alignment.
public struct TableColumn: Sendable, Equatable {
    public var title: String
    public var width: Int
    /// Share of the width left after every column got `width`; 0 keeps the column fixed.
    public var flex: Int
    public var alignRight: Bool
    public init(_ title: String, width: Int, flex: Int = 0, alignRight: Bool = false) {
        self.title = title; self.width = width; self.flex = flex; self.alignRight = alignRight
    }
}

/// One row's cells and optional roles (a whole-row role and per-cell overrides).
public struct TableRow: Sendable, Equatable {
    public var cells: [String]
    public var role: Role?
    public var cellRoles: [Int: Role]
    public init(_ cells: [String], role: Role? = nil, cellRoles: [Int: Role] = [:]) {
        self.cells = cells; self.role = role; self.cellRoles = cellRoles
    }
}

/// Selection and scroll position of a table, kept by the controller between frames.
public struct TableState: Sendable, Equatable {
    public var selected: Int = 0
    public var offset: Int = 0
    public init(selected: Int = 0, offset: Int = 0) { self.selected = selected; self.offset = offset }

    /// Keeps selection inside `rowCount` and visible in a viewport of `height` rows.
    public mutating func clamp(rowCount: Int, height: Int) {
        selected = rowCount == 0 ? 0 : min(max(0, selected), rowCount - 1)
        let h = max(1, height)
        if selected < offset { offset = selected }
        if selected >= offset + h { offset = selected - h + 1 }
        offset = max(0, min(offset, max(0, rowCount - h)))
    }

    /// Handles navigation keys (arrows, j/k, PgUp/PgDn, Home/End, g/G). Returns true if used.
    public mutating func handle(_ key: Key, rowCount: Int, pageHeight: Int) -> Bool {
        switch key {
        case .up, .char("k"): selected -= 1
        case .down, .char("j"): selected += 1
        case .pageUp, .ctrl("b"): selected -= max(1, pageHeight)
        case .pageDown, .ctrl("f"): selected += max(1, pageHeight)
        case .home, .char("g"): selected = 0
        case .end, .char("G"): selected = rowCount - 1
        default: return false
        }
        clamp(rowCount: rowCount, height: pageHeight)
        return true
    }
}

/// A virtualised table: it asks for rows only in the visible window, so drawing cost
/// depends on the screen height, not on the 10,000 partitions behind it.
public struct TableView {
    public var columns: [TableColumn]
    public var rowCount: Int
    public var row: (Int) -> TableRow
    public var showsSelection: Bool
    /// Widest cell (title included) per column, when known: spare width goes first to the
    /// columns whose content does not fit (see `layout`).
    public var contentWidths: [Int]?

    public init(columns: [TableColumn], rowCount: Int, showsSelection: Bool = true, contentWidths: [Int]? = nil,
                row: @escaping (Int) -> TableRow) {
        self.columns = columns; self.rowCount = rowCount; self.row = row; self.showsSelection = showsSelection
        self.contentWidths = contentWidths
    }

    /// The widest cell of each column (title included) over the first `limit` rows.
    public static func contentWidths(columns: [TableColumn], rowCount: Int, limit: Int = 1000, row: (Int) -> TableRow) -> [Int] {
        var w = columns.map { TextWidth.width(of: $0.title) }
        for i in 0..<min(rowCount, limit) {
            for (c, cell) in row(i).cells.prefix(columns.count).enumerated() { w[c] = max(w[c], TextWidth.width(of: cell)) }
        }
        return w
    }

    /// Column widths for a total width: minimums first; then, with `content`, spare width to
    /// the columns whose content is cut (shared by flex, each up to its content: a wide
    /// TOPIC column no longer takes the room a cut REASON or OWNER needs); what is left is
    /// shared by flex. Columns are dropped from the right when even the minimums do not fit.
    public static func layout(_ columns: [TableColumn], width: Int, content: [Int]? = nil) -> [Int] {
        // A column never needs more than its content (title included): at 80 columns a
        // 12-wide TOPIC holding "orders" kept OWNER cut.
        var widths = columns.indices.map { i in content.map { $0.count == columns.count ? min(columns[i].width, max(1, $0[i])) : columns[i].width } ?? columns[i].width }
        var total = widths.reduce(0, +) + max(0, columns.count - 1)
        while total > width, let last = widths.lastIndex(where: { $0 > 0 }) {
            // Shrink the flexible last columns first, then drop whole columns.
            if last > 0 { total -= widths[last] + 1; widths[last] = 0 } else { widths[0] = max(0, width); total = width }
        }
        var spare = width - total
        if let content, content.count == columns.count, spare > 0 {
            // Smallest need first: a whole verdict ("COLLECTING") or owner is worth more
            // than a few more characters of a long reason, which gets what remains.
            let need = columns.indices.map { widths[$0] > 0 ? max(0, content[$0] - widths[$0]) : 0 }
            for i in columns.indices.filter({ need[$0] > 0 }).sorted(by: { (need[$0], $0) < (need[$1], $1) }) where spare > 0 {
                let g = min(need[i], spare)
                widths[i] += g; spare -= g
            }
        }
        let flexTotal = zip(columns, widths).filter { $1 > 0 }.map { $0.0.flex }.reduce(0, +)
        if content != nil, spare > 0, let last = columns.indices.last(where: { widths[$0] > 0 && columns[$0].flex > 0 }) {
            // Everything fits: the rest fills the last flexible column (REASON, OWNER),
            // so the first one (TOPIC) does not take the room as blank.
            widths[last] += spare
        } else if spare > 0, flexTotal > 0 {
            var given = 0
            var lastFlex = -1
            for i in columns.indices where widths[i] > 0 && columns[i].flex > 0 {
                let extra = spare * columns[i].flex / flexTotal
                widths[i] += extra; given += extra; lastFlex = i
            }
            if lastFlex >= 0 { widths[lastFlex] += spare - given }
        }
        return widths
    }

    /// Draws the header and the visible rows into `rect`, adjusting `state` to keep the
    /// selection visible. Returns the number of data rows that fit (the page height).
    @discardableResult
    public func draw(in canvas: inout Canvas, rect: Rect, state: inout TableState) -> Int {
        guard rect.height >= 1, rect.width >= 1 else { return 0 }
        let widths = Self.layout(columns, width: rect.width, content: contentWidths)
        var col = rect.col
        for (i, c) in columns.enumerated() where widths[i] > 0 {
            canvas.write(fitted: c.title, row: rect.row, col: col, width: widths[i], alignRight: c.alignRight, role: .tableHeader)
            col += widths[i] + 1
        }
        let pageHeight = rect.height - 1
        state.clamp(rowCount: rowCount, height: pageHeight)
        guard pageHeight > 0 else { return 0 }
        let end = min(rowCount, state.offset + pageHeight)
        guard state.offset < end else { return pageHeight }
        for index in state.offset..<end {
            let r = row(index)
            let y = rect.row + 1 + index - state.offset
            let selected = showsSelection && index == state.selected
            let rowRole = selected ? Role.selection : (r.role ?? .text)
            if selected { canvas.fill(Rect(row: y, col: rect.col, width: rect.width, height: 1), role: .selection) }
            var x = rect.col
            for (i, c) in columns.enumerated() where widths[i] > 0 {
                let text = i < r.cells.count ? r.cells[i] : ""
                let role = selected ? rowRole : (r.cellRoles[i] ?? rowRole)
                canvas.write(fitted: text, row: y, col: x, width: widths[i], alignRight: c.alignRight, role: role)
                x += widths[i] + 1
            }
        }
        return pageHeight
    }
}
