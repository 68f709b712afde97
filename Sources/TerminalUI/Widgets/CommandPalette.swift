/// A palette command: its name, aliases and a one-line description.
public struct PaletteCommand: Sendable, Equatable {
    public var name: String
    public var aliases: [String]
    public var summary: String
    public init(_ name: String, aliases: [String] = [], summary: String) {
        self.name = name; self.aliases = aliases; self.summary = summary
    }
}

/// The `:` command line with completion (k9s style): type a prefix, Tab completes,
/// Up/Down pick among matches, Enter runs. Arguments after the command word are passed on.
public struct CommandPalette: Sendable {
    public var commands: [PaletteCommand]
    public var editor = LineEditor()
    public var selected = 0
    /// True once Up/Down picked a suggestion: Enter then runs that one.
    public private(set) var navigated = false

    public init(commands: [PaletteCommand]) { self.commands = commands }

    /// Commands whose name or alias starts with (or, failing that, contains) the typed word.
    public var matches: [PaletteCommand] {
        let word = editor.text.split(separator: " ").first.map { $0.lowercased() } ?? ""
        if word.isEmpty { return commands }
        let prefix = commands.filter { c in ([c.name] + c.aliases).contains { $0.hasPrefix(word) } }
        if !prefix.isEmpty { return prefix }
        return commands.filter { c in ([c.name] + c.aliases).contains { $0.contains(word) } }
    }

    public enum Event: Equatable, Sendable {
        case none, cancel
        /// A command was chosen, with the rest of the line as arguments.
        case run(String, [String])
        /// The typed word matches no command.
        case unknown(String)
        /// The typed word is a prefix of several commands (listed).
        case ambiguous(String, [String])
    }

    public mutating func handle(_ key: Key) -> Event {
        switch key {
        case .escape: return .cancel
        case .up: selected = max(0, selected - 1); navigated = true; return .none
        case .down: selected = min(max(0, matches.count - 1), selected + 1); navigated = true; return .none
        case .tab:
            // On an empty line every command is already listed; completing to the first
            // one narrowed the list to it.
            if editor.text.allSatisfy({ $0 == " " }) { return .none }
            if let m = pick() { editor.set(m.name + " ") }
            return .none
        case .enter:
            let parts = editor.text.split(separator: " ").map(String.init)
            guard let word = parts.first?.lowercased() else { return .cancel }
            if let exact = commands.first(where: { $0.name == word || $0.aliases.contains(word) }) {
                return .run(exact.name, Array(parts.dropFirst()))
            }
            // Enter never guesses: `:x` once ran `:quit` because "x" is inside "exit".
            // It runs a suggestion picked with Up/Down, or the one command the word is a
            // prefix of; a substring match or several prefixes are only suggestions.
            if navigated, let m = pick() { return .run(m.name, Array(parts.dropFirst())) }
            let prefixed = commands.filter { c in ([c.name] + c.aliases).contains { $0.hasPrefix(word) } }
            if prefixed.count == 1 { return .run(prefixed[0].name, Array(parts.dropFirst())) }
            if prefixed.count > 1 { return .ambiguous(word, prefixed.map(\.name)) }
            return .unknown(word)
        default:
            if editor.handle(key) { selected = 0; navigated = false }
            return .none
        }
    }

    private func pick() -> PaletteCommand? {
        let m = matches
        return m.isEmpty ? nil : m[min(selected, m.count - 1)]
    }

    /// Draws the input line at `row` and the matches above it: as many as fit (the screen
    /// above the input, at most `maxSuggestions`), scrolled to keep the selected one in view,
    /// the last line saying how many more there are. A fixed 8 once hid 7 of 15 commands.
    public func draw(in canvas: inout Canvas, row: Int, maxSuggestions: Int = .max) {
        let m = matches
        let room = min(maxSuggestions, max(0, row - 1))
        let sel = min(selected, max(0, m.count - 1))
        var shown = min(m.count, room)
        var first = 0
        if m.count > room, room >= 2 {
            shown = room - 1   // one line for "N more"
            first = min(max(0, sel - shown + 1), m.count - shown)
        }
        let nameWidth = min(18, (m.map { TextWidth.width(of: $0.name) }.max() ?? 0) + 2)
        let lines = shown + (m.count > shown && room >= 2 ? 1 : 0)
        for i in 0..<shown {
            let y = row - lines + i
            let c = m[first + i]
            let role: Role = first + i == sel ? .paletteMatch : .palette
            canvas.fill(Rect(row: y, col: 0, width: canvas.width, height: 1), role: role)
            canvas.write(fitted: " :" + c.name, row: y, col: 0, width: nameWidth + 2, role: role)
            canvas.write(fitted: c.summary, row: y, col: nameWidth + 3, width: canvas.width - nameWidth - 3, role: role)
        }
        if lines > shown {
            let y = row - 1
            canvas.fill(Rect(row: y, col: 0, width: canvas.width, height: 1), role: .palette)
            let more = m.count - shown
            canvas.write(fitted: "  … \(more) more (Up/Down to scroll)", row: y, col: 0, width: canvas.width, role: .palette)
        }
        canvas.fill(Rect(row: row, col: 0, width: canvas.width, height: 1), role: .input)
        canvas.write(":", row: row, col: 0, role: .inputFocused)
        editor.draw(in: &canvas, row: row, col: 1, width: canvas.width - 1, role: .inputFocused, focused: true)
    }
}
