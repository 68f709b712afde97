import Foundation
import TerminalUI

/// The full-screen detail of one message (or any text): scrolling, a pretty/raw toggle
/// and a wrap toggle. Pretty never rewrites data (`JSONText.pretty` re-indents the
/// original tokens); raw shows the bytes as sent, with a hex dump.
struct DetailView {
    var title: String
    var message: ConsoleMessage?
    /// Lines for a detail that is not a message.
    var text: [String] = []
    var raw = false
    var wrap = false
    var scroll = 0
    var hscroll = 0
    /// Rows of the last draw, for paging.
    private var page = 10

    init(message: ConsoleMessage) {
        self.title = "Message \(message.partition)/\(message.offset)"
        self.message = message
    }

    init(title: String, lines: [String]) {
        self.title = title; self.text = lines; self.wrap = true
    }

    /// Handles a key; false when the view closes.
    mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .escape, .enter, .char("q"): return false
        case .down, .char("j"): scroll += 1
        case .up, .char("k"): scroll = max(0, scroll - 1)
        case .pageDown, .char(" "), .ctrl("f"): scroll += max(1, page - 1)
        case .pageUp, .ctrl("b"): scroll = max(0, scroll - max(1, page - 1))
        case .home, .char("g"): scroll = 0
        case .end, .char("G"): scroll = Int.max / 2
        case .right, .char("l"): if !wrap { hscroll += 8 }
        case .left, .char("h"): hscroll = max(0, hscroll - 8)
        case .char("r") where message != nil: raw.toggle(); scroll = 0
        case .char("w"): wrap.toggle(); hscroll = 0
        default: break
        }
        return true
    }

    /// The content lines before wrapping.
    func contentLines(width: Int) -> [String] {
        guard let m = message else { return text }
        return raw ? Self.rawLines(m, width: width) : Self.prettyLines(m)
    }

    static func meta(_ m: ConsoleMessage) -> String {
        "partition \(m.partition)  offset \(m.offset)  timestamp \(m.timestamp.map { Format.timestamp.string(from: $0) } ?? "-")"
    }

    /// Metadata, key, headers, and the value: JSON re-indented token by token, else the text.
    static func prettyLines(_ m: ConsoleMessage) -> [String] {
        var lines = [meta(m), "key: \(Format.payload(m.key))"]
        if !m.headers.isEmpty {
            lines.append("headers:")
            for h in m.headers { lines.append("  \(h.key) = \(Format.payload(h.value))") }
        }
        let pretty = m.value.flatMap { JSONText.pretty($0) }
        lines.append("value (\(m.value?.count ?? 0) bytes\(pretty != nil ? ", JSON re-indented" : "")):")
        lines += split(pretty ?? Format.payload(m.value))
        return lines
    }

    /// The bytes as sent: each field's text exactly (not re-indented) and its hex dump.
    static func rawLines(_ m: ConsoleMessage, width: Int) -> [String] {
        let perLine = width >= 78 ? 16 : 8
        var lines = [meta(m)]
        func field(_ name: String, _ b: [UInt8]?) {
            guard let b else { lines.append("\(name): null"); return }
            lines.append("\(name) (\(b.count) bytes), as sent:")
            if let s = String(validating: b, as: UTF8.self) { lines += split(s).map { "  " + $0 } } else { lines.append("  (not UTF-8: see hex)") }
            lines += JSONText.hexDump(b, perLine: perLine).map { "  " + $0 }
        }
        field("key", m.key)
        for h in m.headers { field("header \(h.key)", h.value) }
        field("value", m.value)
        return lines
    }

    static func split(_ s: String) -> [String] {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { String($0).replacingOccurrences(of: "\r", with: "\\r") }
    }

    /// Splits lines at `width` columns when wrapping, at a space when there is one in the
    /// second half of the line (so a path or a word stays whole), else anywhere.
    static func wrapped(_ lines: [String], width: Int) -> [String] {
        guard width > 1 else { return lines }
        var out: [String] = []
        for line in lines {
            var rest = Substring(line)
            while TextWidth.width(of: rest) > width {
                var w = 0, cut = rest.startIndex, lastSpace: String.Index?
                for i in rest.indices {
                    let cw = TextWidth.width(of: rest[i])
                    if w + cw > width { break }
                    w += cw
                    if rest[i] == " ", w > width / 2 { lastSpace = i }
                    cut = rest.index(after: i)
                }
                if cut == rest.startIndex { cut = rest.index(after: cut) }
                if let sp = lastSpace {
                    out.append(String(rest[..<sp])); rest = rest[rest.index(after: sp)...]
                } else {
                    out.append(String(rest[..<cut])); rest = rest[cut...]
                }
            }
            out.append(String(rest))
        }
        return out
    }

    var modeText: String {
        (message != nil ? (raw ? "raw bytes" : "pretty") + "  r toggle  c copy  " : "") + "w wrap " + (wrap ? "on" : "off")
    }

    mutating func draw(in canvas: inout Canvas) {
        let rect = canvas.bounds.centered(width: canvas.width - 4, height: canvas.height - 2)
        canvas.fill(rect, role: .dialog)
        canvas.box(rect, title: "\(title) · \(modeText)", role: .dialog, titleRole: .dialogTitle)
        let inner = rect.inset(1)
        let width = inner.width - 2
        let content = contentLines(width: width)
        let lines = wrap ? Self.wrapped(content, width: width) : content
        page = max(1, inner.height)
        scroll = min(scroll, max(0, lines.count - inner.height))
        for (i, line) in lines.dropFirst(scroll).prefix(inner.height).enumerated() {
            let shown = wrap || hscroll == 0 ? line : String(line.dropFirst(hscroll))
            canvas.write(fitted: shown, row: inner.row + i, col: inner.col + 1, width: width, role: .dialog)
        }
        if lines.count > inner.height {
            let pos = " \(scroll + 1)-\(min(lines.count, scroll + inner.height))/\(lines.count) "
            canvas.write(pos, row: rect.bottom - 1, col: max(rect.col + 1, rect.col + rect.width - TextWidth.width(of: pos) - 2), role: .dialogTitle)
        }
    }
}
