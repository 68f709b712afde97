/// A key press as the UI sees it, independent of the terminal backend.
///
/// Backends translate their native codes (ncurses `KEY_*`, escape sequences, test scripts)
/// into this enum so that controllers and widgets never see curses constants.
public enum Key: Hashable, Sendable {
    case char(Character)
    case ctrl(Character)   // Ctrl plus a lowercase letter, e.g. `.ctrl("c")`
    case enter, escape, tab, backTab, backspace, delete
    case up, down, left, right, pageUp, pageDown, home, end
    case function(Int)
    /// The terminal changed size; the next frame must be laid out again.
    case resize
    /// A mouse button or wheel event (xterm mouse reporting; off with --no-mouse).
    case mouse(MouseEvent)

    /// Parses a readable key name, as used by test scripts and the help overlay:
    /// `"q"`, `"enter"`, `"esc"`, `"tab"`, `"up"`, `"pgdn"`, `"f5"`, `"C-c"`.
    public init?(name: String) {
        switch name.lowercased() {
        case "enter", "return": self = .enter
        case "esc", "escape": self = .escape
        case "tab": self = .tab
        case "backtab", "s-tab": self = .backTab
        case "bs", "backspace": self = .backspace
        case "del", "delete": self = .delete
        case "up": self = .up
        case "down": self = .down
        case "left": self = .left
        case "right": self = .right
        case "pgup", "pageup": self = .pageUp
        case "pgdn", "pagedown": self = .pageDown
        case "home": self = .home
        case "end": self = .end
        case "space": self = .char(" ")
        default:
            if name.count == 1, let c = name.first { self = .char(c); return }
            let lower = name.lowercased()
            if lower.hasPrefix("c-"), lower.count == 3, let c = lower.last { self = .ctrl(c); return }
            if lower.hasPrefix("f"), let n = Int(lower.dropFirst()), (1...24).contains(n) { self = .function(n); return }
            return nil
        }
    }

    /// A short label for help screens: `"q"`, `"Enter"`, `"C-d"`.
    public var label: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .ctrl(let c): return "C-\(c)"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .backspace: return "BS"
        case .delete: return "Del"
        case .up: return "Up"
        case .down: return "Down"
        case .left: return "Left"
        case .right: return "Right"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .function(let n): return "F\(n)"
        case .resize: return "Resize"
        case .mouse: return "Mouse"
        }
    }
}

/// A mouse event in screen cells (0-based row and column).
public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case press, wheelUp, wheelDown }
    public var kind: Kind
    public var row: Int
    public var col: Int
    public init(_ kind: Kind, row: Int, col: Int) { self.kind = kind; self.row = row; self.col = col }
}
