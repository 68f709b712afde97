import CNcursesw
import Foundation

/// Errors starting the real terminal.
public enum TerminalError: Error, CustomStringConvertible, Sendable {
    case notATerminal
    case unknownTerminal(String)
    case noCursorAddressing(String)
    public var description: String {
        switch self {
        case .notATerminal: return "standard input/output is not a terminal (use --once for headless output)"
        case .unknownTerminal(let t): return "cannot open terminal type '\(t)' (check TERM)"
        case .noCursorAddressing(let t): return "terminal type '\(t)' cannot position the cursor (check TERM)"
        }
    }
}

/// The ncursesw backend. The only type in the package that calls curses.
///
/// Concurrency: not Sendable. Create, drive and shut it down on one thread (the console's
/// UI thread); curses keeps global state and is not thread-safe.
///
/// Terminal restore paths: `shutdown()` on quit; SIGINT/SIGTERM/SIGHUP are turned into
/// `TerminationSignals.requested` (so the UI loop quits normally and runs `shutdown()`);
/// crashes go through the shim's fatal-signal handler, which calls `endwin()` before dying.
public final class NcursesTerminal: TerminalBackend {
    public let colorCapability: ColorCapability
    public let supportsUnicode: Bool
    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private var pairs: [PairKey: Int16] = [:]
    private var nextPair: Int16 = 1
    private let maxPairs: Int
    private var isShutDown = false
    private var cursorVisible = false

    private struct PairKey: Hashable { var fg: Int, bg: Int }

    /// Starts curses on the process's terminal.
    /// - Parameter forceColors: overrides the detected capability (e.g. `NO_COLOR` -> monochrome).
    /// - Parameter mouse: xterm mouse reporting (clicks and wheel). It takes over the
    ///   terminal's own text selection (Shift+drag still selects in most terminals), hence `--no-mouse`.
    public init(forceColors: ColorCapability? = nil, mouse: Bool = true) throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { throw TerminalError.notATerminal }
        // ncursesw silently drops every non-ASCII character under the C locale, so make
        // sure LC_CTYPE is UTF-8 when the environment did not say so.
        setlocale(LC_ALL, "")
        if cn_locale_is_utf8() == 0 { setlocale(LC_CTYPE, "C.UTF-8") }
        supportsUnicode = cn_locale_is_utf8() != 0
        let term = ProcessInfo.processInfo.environment["TERM"] ?? "vt100"
        TerminationSignals.shared.install()
        // newterm, not initscr: initscr exit(1)s on an unknown TERM with no chance to clean up.
        guard let scr = term.withCString({ cn_newterm_stdio($0) }) else { throw TerminalError.unknownTerminal(term) }
        screen = scr
        set_term(scr)
        window = cn_stdscr()
        if cn_has_cursor_addressing() == 0 {
            endwin(); delscreen(scr)
            throw TerminalError.noCursorAddressing(term)
        }
        cn_install_fatal_handlers(scr)
        raw()          // Ctrl-C arrives as a key; the UI quits through its normal path.
        noecho()
        nonl()
        keypad(window, true)
        cn_set_escdelay(25)
        curs_set(0)
        var caps: ColorCapability = .monochrome
        if has_colors() {
            start_color()
            use_default_colors()
            let n = cn_colors()
            caps = n >= 256 ? .full256 : n >= 16 ? .sixteen : n >= 8 ? .eight : .monochrome
        }
        if ProcessInfo.processInfo.environment["NO_COLOR"].map({ !$0.isEmpty }) == true { caps = .monochrome }
        colorCapability = forceColors.map { min($0, caps) } ?? caps
        maxPairs = Int(min(cn_color_pairs(), 32767))
        if mouse { _ = cn_enable_mouse(1) }
    }

    deinit { shutdown() }

    public var size: (width: Int, height: Int) {
        (Int(getmaxx(window)), Int(getmaxy(window)))
    }

    public func present(_ canvas: Canvas, theme: Theme) {
        guard !isShutDown else { return }
        werase(window)
        var styleCache: [Role: (attr_t, Int16)] = [:]
        for row in 0..<canvas.height {
            var col = 0
            while col < canvas.width {
                let role = canvas[row, col].role
                let start = col
                var run = ""
                while col < canvas.width, canvas[row, col].role == role {
                    let cell = canvas[row, col]
                    if !cell.isContinuation { run += supportsUnicode ? cell.text : Self.asciiOnly(cell.text) }
                    col += 1
                }
                let (attrs, pair) = styleCache[role] ?? {
                    let v = attributes(for: theme.resolve(role, capability: colorCapability))
                    styleCache[role] = v
                    return v
                }()
                wattr_set(window, attrs, pair, nil)
                wmove(window, Int32(row), Int32(start))
                waddnstr(window, run, -1)
            }
        }
        wattr_set(window, CN_A_NORMAL, 0, nil)
        if let c = canvas.cursor {
            if !cursorVisible { curs_set(1); cursorVisible = true }
            wmove(window, Int32(c.row), Int32(c.col))
        } else if cursorVisible {
            curs_set(0); cursorVisible = false
        }
        wnoutrefresh(window)
        doupdate()
    }

    public func readKey(timeoutMs: Int) -> Key? {
        guard !isShutDown else { return nil }
        wtimeout(window, Int32(timeoutMs))
        var wc: wint_t = 0
        let rc = wget_wch(window, &wc)
        if rc == ERR { return nil }
        if rc == KEY_CODE_YES && Int32(wc) == CN_KEY_MOUSE {
            var x: Int32 = 0, y: Int32 = 0
            var state: UInt = 0
            guard cn_get_mouse(&x, &y, &state) != 0 else { return nil }
            return Self.translate(mouse: state, row: Int(y), col: Int(x))
        }
        if rc == KEY_CODE_YES { return Self.translate(keyCode: Int32(wc)) }
        return Self.translate(char: UInt32(wc))
    }

    public func copyToClipboard(_ text: String) -> Bool {
        guard !isShutDown, text.utf8.count <= OSC52.maxBytes else { return false }
        // Written past curses: the sequence draws nothing, so curses' idea of the screen stays true.
        fflush(nil)
        let seq = Array(OSC52.sequence(text).utf8)
        var off = 0
        while off < seq.count {
            let n = seq[off...].withUnsafeBufferPointer { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        cn_clear_fatal_handlers()
        curs_set(1)
        endwin()
        delscreen(screen)
    }

    private func attributes(for style: ResolvedStyle) -> (attr_t, Int16) {
        var a: attr_t = CN_A_NORMAL
        if style.attributes.contains(.bold) { a |= CN_A_BOLD }
        if style.attributes.contains(.reverse) { a |= CN_A_REVERSE }
        if style.attributes.contains(.underline) { a |= CN_A_UNDERLINE }
        if style.attributes.contains(.dim) { a |= CN_A_DIM }
        if style.attributes.contains(.italic) { a |= CN_A_ITALIC }
        guard let fg = style.fg, let bg = style.bg, fg != -1 || bg != -1 else { return (a, 0) }
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return (a, p) }
        // Out of colour pairs (8-colour terminals have 64): keep the attributes, drop colour.
        guard Int(nextPair) < maxPairs else { return (a, 0) }
        let p = nextPair
        nextPair += 1
        init_pair(p, Int16(fg), Int16(bg))
        pairs[key] = p
        return (a, p)
    }

    static func asciiOnly(_ s: String) -> String {
        s.unicodeScalars.allSatisfy(\.isASCII) ? s : String(repeating: "?", count: max(1, TextWidth.width(of: s)))
    }

    /// An ncurses mouse event (`MEVENT.bstate`) as a key; nil for what the console ignores
    /// (releases, other buttons).
    static func translate(mouse state: UInt, row: Int, col: Int) -> Key? {
        if state & CN_BUTTON4_PRESSED != 0 { return .mouse(MouseEvent(.wheelUp, row: row, col: col)) }
        if CN_BUTTON5_PRESSED != 0, state & CN_BUTTON5_PRESSED != 0 { return .mouse(MouseEvent(.wheelDown, row: row, col: col)) }
        if state & CN_BUTTON1_PRESSED != 0 { return .mouse(MouseEvent(.press, row: row, col: col)) }
        return nil
    }

    static func translate(keyCode k: Int32) -> Key? {
        switch k {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_ENTER: return .enter
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_BTAB: return .backTab
        case KEY_RESIZE: return .resize
        case KEY_F0 + 1 ... KEY_F0 + 24: return .function(Int(k - KEY_F0))
        default: return nil
        }
    }

    static func translate(char c: UInt32) -> Key? {
        switch c {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return .ctrl(Character(UnicodeScalar(c + 96)!))
        default:
            guard let scalar = UnicodeScalar(c) else { return nil }
            return .char(Character(scalar))
        }
    }
}
