/// A rectangle in canvas coordinates (row/column, zero-based).
public struct Rect: Equatable, Sendable {
    public var row: Int, col: Int, width: Int, height: Int
    public init(row: Int, col: Int, width: Int, height: Int) {
        self.row = row; self.col = col; self.width = max(0, width); self.height = max(0, height)
    }
    public var bottom: Int { row + height }
    public var right: Int { col + width }
    public var isEmpty: Bool { width == 0 || height == 0 }
    /// Shrinks every side by `by` cells (for the inside of a border).
    public func inset(_ by: Int) -> Rect {
        Rect(row: row + by, col: col + by, width: width - 2 * by, height: height - 2 * by)
    }
    /// A rectangle of the given size centred in this one, clamped to fit.
    public func centered(width w: Int, height h: Int) -> Rect {
        let cw = min(w, width), ch = min(h, height)
        return Rect(row: row + (height - ch) / 2, col: col + (width - cw) / 2, width: cw, height: ch)
    }
}

/// The characters used for lines, bars and ellipses. The ncurses backend picks `.ascii`
/// when the terminal cannot show UTF-8, so every widget degrades in one place.
public struct Glyphs: Sendable, Equatable {
    public var horizontal: String, vertical: String
    public var topLeft: String, topRight: String, bottomLeft: String, bottomRight: String
    public var ellipsis: String
    /// Sparkline levels, lowest first.
    public var levels: [String]
    public var arrowUp: String, arrowDown: String, flat: String

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        ellipsis: "…", levels: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], arrowUp: "↑", arrowDown: "↓", flat: "→")
    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        ellipsis: "~", levels: ["_", ".", "-", "=", "+", "*", "#", "@"], arrowUp: "^", arrowDown: "v", flat: ">")
}

/// One screen cell: a grapheme (empty for the right half of a wide character) and a role.
public struct Cell: Equatable, Sendable {
    public var text: String
    public var role: Role
    public init(text: String, role: Role) { self.text = text; self.role = role }
    public static let blank = Cell(text: " ", role: .text)
    /// True for the second column of a double-width character.
    public var isContinuation: Bool { text.isEmpty }
}

/// An in-memory frame that widgets draw into. Backends present a finished canvas, so
/// drawing code never talks to curses and the same frame can be asserted on in tests.
///
/// Value type, not shared: each frame is built by one thread and then handed to the backend.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    public var glyphs: Glyphs
    /// True with the ASCII glyph set: every non-ASCII character written is replaced, so a
    /// terminal without UTF-8 never receives bytes it would show as garbage.
    public let asciiOnly: Bool
    public private(set) var cells: [Cell]
    /// Where the hardware cursor should be shown (text inputs), or nil to hide it.
    public var cursor: (row: Int, col: Int)?

    public init(width: Int, height: Int, glyphs: Glyphs = .unicode) {
        self.width = max(0, width); self.height = max(0, height); self.glyphs = glyphs
        self.asciiOnly = glyphs == .ascii
        self.cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(row: 0, col: 0, width: width, height: height) }

    public subscript(row: Int, col: Int) -> Cell {
        cells[row * width + col]
    }

    /// Fills a rectangle with spaces in `role` (a background).
    public mutating func fill(_ rect: Rect, role: Role) {
        let r0 = max(0, rect.row), r1 = min(height, rect.bottom)
        let c0 = max(0, rect.col), c1 = min(width, rect.right)
        guard r0 < r1, c0 < c1 else { return }
        for r in r0..<r1 { for c in c0..<c1 { cells[r * width + c] = Cell(text: " ", role: role) } }
    }

    /// Writes text starting at (row, col), clipped to `maxWidth` columns and to the canvas.
    /// Control characters are sanitised. Returns the number of columns written.
    @discardableResult
    public mutating func write(_ text: String, row: Int, col: Int, maxWidth: Int? = nil, role: Role) -> Int {
        guard row >= 0, row < height, col < width else { return 0 }
        let limit = min(width, col + (maxWidth ?? width))
        var c = col
        for var ch in TextWidth.sanitize(text) {
            if asciiOnly, !ch.isASCII { ch = ch == "…" ? "~" : (ch == "›" ? ">" : "?") }
            let w = TextWidth.width(of: ch)
            if w == 0 { continue }
            if c + w > limit { break }
            if c >= 0 {
                put(Cell(text: String(ch), role: role), row: row, col: c)
                if w == 2 { put(Cell(text: "", role: role), row: row, col: c + 1) }
            }
            c += w
        }
        return max(0, c - col)
    }

    /// Writes text fitted (truncated with the ellipsis, or padded) to exactly `width` columns.
    public mutating func write(fitted text: String, row: Int, col: Int, width w: Int, alignRight: Bool = false, role: Role) {
        write(TextWidth.fit(text, to: w, alignRight: alignRight, ellipsis: glyphs.ellipsis), row: row, col: col, maxWidth: w, role: role)
    }

    /// Draws a border around `rect` with an optional title in the top edge.
    public mutating func box(_ rect: Rect, title: String? = nil, role: Role = .border, titleRole: Role = .title) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let g = glyphs
        write(g.topLeft, row: rect.row, col: rect.col, role: role)
        write(g.topRight, row: rect.row, col: rect.right - 1, role: role)
        write(g.bottomLeft, row: rect.bottom - 1, col: rect.col, role: role)
        write(g.bottomRight, row: rect.bottom - 1, col: rect.right - 1, role: role)
        for c in (rect.col + 1)..<(rect.right - 1) {
            write(g.horizontal, row: rect.row, col: c, role: role)
            write(g.horizontal, row: rect.bottom - 1, col: c, role: role)
        }
        if rect.height > 2 {
            for r in (rect.row + 1)..<(rect.bottom - 1) {
                write(g.vertical, row: r, col: rect.col, role: role)
                write(g.vertical, row: r, col: rect.right - 1, role: role)
            }
        }
        if let title, rect.width > 4 {
            write(" " + TextWidth.truncate(title, to: rect.width - 4, ellipsis: g.ellipsis) + " ", row: rect.row, col: rect.col + 1, maxWidth: rect.width - 2, role: titleRole)
        }
    }

    /// Changes the role of existing cells without changing their text (used for highlights).
    public mutating func restyle(_ rect: Rect, role: Role) {
        let r0 = max(0, rect.row), r1 = min(height, rect.bottom)
        let c0 = max(0, rect.col), c1 = min(width, rect.right)
        guard r0 < r1, c0 < c1 else { return }
        for r in r0..<r1 { for c in c0..<c1 { cells[r * width + c].role = role } }
    }

    private mutating func put(_ cell: Cell, row: Int, col: Int) {
        guard col >= 0, col < width else { return }
        let i = row * width + col
        // Overwriting half of a wide character blanks the other half, as a terminal would.
        if cells[i].isContinuation, col > 0 { cells[i - 1] = Cell(text: " ", role: cells[i - 1].role) }
        if !cells[i].isContinuation, col + 1 < width, cells[i + 1].isContinuation, !cell.isContinuation {
            cells[i + 1] = Cell(text: " ", role: cells[i + 1].role)
        }
        cells[i] = cell
    }

    /// The text of one row (continuation cells skipped), for tests and `--once` dumps.
    public func text(row: Int) -> String {
        var s = ""
        for c in 0..<width where !self[row, c].isContinuation { s += self[row, c].text }
        return s
    }

    /// All rows joined by newlines, trailing spaces trimmed per row.
    public var plainText: String {
        (0..<height).map { r in
            var line = text(row: r)
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}
