/// An in-memory terminal for tests: a fixed size (80x24 by default), a scripted queue of
/// keys, and the last presented frame kept for assertions on text and roles.
public final class VirtualTerminal: TerminalBackend {
    public private(set) var size: (width: Int, height: Int)
    public var colorCapability: ColorCapability
    public var supportsUnicode: Bool
    /// The last frame passed to `present`.
    public private(set) var screen: Canvas
    public private(set) var presentCount = 0
    public private(set) var isShutDown = false
    private var keys: [Key] = []

    public init(width: Int = 80, height: Int = 24, colors: ColorCapability = .full256, unicode: Bool = true) {
        size = (width, height); colorCapability = colors; supportsUnicode = unicode
        screen = Canvas(width: width, height: height, glyphs: unicode ? .unicode : .ascii)
    }

    public func present(_ canvas: Canvas, theme: Theme) {
        screen = canvas
        presentCount += 1
    }

    public func readKey(timeoutMs: Int) -> Key? {
        keys.isEmpty ? nil : keys.removeFirst()
    }

    public func shutdown() { isShutDown = true }

    /// What the last clipboard copy sent (tests check the OSC 52 payload through this).
    public private(set) var clipboard: String?
    public func copyToClipboard(_ text: String) -> Bool { clipboard = text; return true }

    /// Queues keys to be returned by `readKey`.
    public func type(_ keys: Key...) { self.keys.append(contentsOf: keys) }
    /// Queues each character of `text` as a `.char` key.
    public func type(text: String) { keys.append(contentsOf: text.map { Key.char($0) }) }
    /// Simulates a terminal resize: the next `readKey` returns `.resize`.
    public func resize(width: Int, height: Int) {
        size = (width, height)
        keys.insert(.resize, at: 0)
    }
    public var pendingKeys: Int { keys.count }

    /// The whole screen as text (trailing spaces trimmed per row).
    public var text: String { screen.plainText }
    /// Row `r` as text, untrimmed.
    public func row(_ r: Int) -> String { screen.text(row: r) }
    /// True when any row contains `needle`.
    public func contains(_ needle: String) -> Bool { (0..<screen.height).contains { row($0).contains(needle) } }
    /// The first row index containing `needle`.
    public func rowIndex(containing needle: String) -> Int? { (0..<screen.height).first { row($0).contains(needle) } }
}
