/// A single-line text input: the editing core of the filter, the palette and form fields.
public struct LineEditor: Sendable, Equatable {
    public private(set) var text: String
    /// Cursor position in characters.
    public private(set) var cursor: Int
    public var maxLength: Int

    public init(_ text: String = "", maxLength: Int = 256) {
        self.text = text; self.cursor = text.count; self.maxLength = maxLength
    }

    public mutating func set(_ new: String) { text = String(new.prefix(maxLength)); cursor = text.count }

    /// Applies an editing key. Returns true if the key was an editing key.
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .char(let c):
            guard text.count < maxLength else { return true }
            let i = text.index(text.startIndex, offsetBy: cursor)
            text.insert(c, at: i); cursor += 1
        case .backspace, .ctrl("h"):
            guard cursor > 0 else { return true }
            let i = text.index(text.startIndex, offsetBy: cursor - 1)
            text.remove(at: i); cursor -= 1
        case .delete, .ctrl("d"):
            guard cursor < text.count else { return true }
            text.remove(at: text.index(text.startIndex, offsetBy: cursor))
        case .left, .ctrl("b"): cursor = max(0, cursor - 1)
        case .right, .ctrl("f"): cursor = min(text.count, cursor + 1)
        case .home, .ctrl("a"): cursor = 0
        case .end, .ctrl("e"): cursor = text.count
        case .ctrl("u"): text.removeSubrange(text.startIndex..<text.index(text.startIndex, offsetBy: cursor)); cursor = 0
        case .ctrl("k"): text = String(text.prefix(cursor))
        default: return false
        }
        return true
    }

    /// Draws the text in a field of `width` columns, scrolled so the cursor is visible, and
    /// places the canvas cursor when `focused`. `masked` draws one `*` per character (a password).
    public func draw(in canvas: inout Canvas, row: Int, col: Int, width: Int, role: Role, focused: Bool, masked: Bool = false) {
        guard width > 0 else { return }
        canvas.fill(Rect(row: row, col: col, width: width, height: 1), role: role)
        let chars = masked ? Array(repeating: Character("*"), count: text.count) : Array(text)
        var start = 0
        while TextWidth.width(of: String(chars[start..<cursor])) >= width { start += 1 }
        let visible = String(chars[start...])
        canvas.write(visible, row: row, col: col, maxWidth: width, role: role)
        if focused { canvas.cursor = (row, col + TextWidth.width(of: String(chars[start..<cursor]))) }
    }
}
