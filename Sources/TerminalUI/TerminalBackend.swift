import Foundation
/// How many colours the terminal can show. Themes degrade to what the backend reports.
public enum ColorCapability: Int, Sendable, Comparable, CaseIterable {
    case monochrome = 0, eight = 8, sixteen = 16, full256 = 256
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// What a screen backend must do: report its size, present finished frames, deliver keys.
///
/// Two implementations: `NcursesTerminal` (the real terminal) and `VirtualTerminal` (tests).
/// Not Sendable by contract: a backend is driven by the single UI thread that created it.
public protocol TerminalBackend: AnyObject {
    /// Current size in cells (columns, rows).
    var size: (width: Int, height: Int) { get }
    var colorCapability: ColorCapability { get }
    /// Whether UTF-8 text and box drawing can be shown; false selects `Glyphs.ascii`.
    var supportsUnicode: Bool { get }
    /// Shows a frame, resolving roles through `theme`.
    func present(_ canvas: Canvas, theme: Theme)
    /// Waits up to `timeoutMs` for a key; nil on timeout.
    func readKey(timeoutMs: Int) -> Key?
    /// Restores the terminal. Safe to call more than once.
    func shutdown()
    /// Asks the terminal to put `text` on the system clipboard (OSC 52). Returns false when
    /// the backend cannot send it; true does not prove the terminal accepted it.
    func copyToClipboard(_ text: String) -> Bool
}

/// OSC 52: `ESC ] 52 ; c ; <base64> BEL` sets the clipboard in xterm, kitty, iTerm2,
/// WezTerm, Windows Terminal, and tmux with `set-clipboard on` (also over SSH).
public enum OSC52 {
    /// Bytes of text accepted: terminals cap the sequence (xterm ~100 kB, some 74 kB of base64).
    public static let maxBytes = 74_000 * 3 / 4
    public static func sequence(_ text: String) -> String {
        "\u{1B}]52;c;" + Data(text.utf8).base64EncodedString() + "\u{07}"
    }
}

extension TerminalBackend {
    /// An empty canvas of the current size with the right glyph set.
    public func makeCanvas() -> Canvas {
        let s = size
        return Canvas(width: s.width, height: s.height, glyphs: supportsUnicode ? .unicode : .ascii)
    }
}
