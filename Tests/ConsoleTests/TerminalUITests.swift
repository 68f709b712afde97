import XCTest
@testable import TerminalUI

final class TextWidthTests: XCTestCase {
    func testWidthsOfNarrowWideAndControl() {
        XCTAssertEqual(TextWidth.width(of: "abc"), 3)
        XCTAssertEqual(TextWidth.width(of: "漢字"), 4)
        XCTAssertEqual(TextWidth.width(of: "ＡＢ"), 4)
        XCTAssertEqual(TextWidth.width(of: "🙂"), 2)
        XCTAssertEqual(TextWidth.width(of: "e\u{301}"), 1)
    }

    func testTruncateAndFitRespectColumns() {
        XCTAssertEqual(TextWidth.truncate("abcdef", to: 4), "abc…")
        XCTAssertEqual(TextWidth.truncate("漢字かな", to: 5), "漢字…")
        XCTAssertEqual(TextWidth.fit("ab", to: 4), "ab  ")
        XCTAssertEqual(TextWidth.fit("ab", to: 4, alignRight: true), "  ab")
        XCTAssertEqual(TextWidth.width(of: TextWidth.fit("漢字かなカナ", to: 7)), 7)
    }

    func testSanitizeReplacesControlCharacters() {
        XCTAssertEqual(TextWidth.sanitize("a\u{1B}[31mb\tc"), "a\u{FFFD}[31mb c")
    }
}

final class CanvasTests: XCTestCase {
    func testWideCharactersTakeTwoCellsAndOverwriteBlanksTheOtherHalf() {
        var c = Canvas(width: 10, height: 1)
        c.write("漢x", row: 0, col: 0, role: .text)
        XCTAssertEqual(c.text(row: 0), "漢x       ")
        XCTAssertTrue(c[0, 1].isContinuation)
        c.write("y", row: 0, col: 1, role: .text)
        XCTAssertEqual(c.text(row: 0), " yx       ")
    }

    func testWriteClipsAtMaxWidthAndCanvasEdge() {
        var c = Canvas(width: 5, height: 2)
        XCTAssertEqual(c.write("abcdefgh", row: 0, col: 2, role: .text), 3)
        XCTAssertEqual(c.text(row: 0), "  abc")
        XCTAssertEqual(c.write("漢字", row: 1, col: 0, maxWidth: 3, role: .text), 2)
    }

    func testBoxUsesGlyphSet() {
        var c = Canvas(width: 6, height: 3, glyphs: .ascii)
        c.box(c.bounds, title: nil)
        XCTAssertEqual(c.plainText, "+----+\n|    |\n+----+")
    }
}

final class WidgetTests: XCTestCase {
    func testTableAsksOnlyForVisibleRows() {
        var asked: [Int] = []
        let table = TableView(columns: [TableColumn("N", width: 6)], rowCount: 10_000) { i in
            asked.append(i)
            return TableRow(["\(i)"])
        }
        var canvas = Canvas(width: 20, height: 6)
        var state = TableState(selected: 5000)
        let page = table.draw(in: &canvas, rect: canvas.bounds, state: &state)
        XCTAssertEqual(page, 5)
        XCTAssertEqual(asked, [4996, 4997, 4998, 4999, 5000])
        XCTAssertEqual(canvas[5, 0].role, .selection)
        XCTAssertTrue(canvas.text(row: 5).hasPrefix("5000"))
    }

    func testTableStateNavigation() {
        var s = TableState()
        XCTAssertTrue(s.handle(.down, rowCount: 3, pageHeight: 2))
        XCTAssertTrue(s.handle(.down, rowCount: 3, pageHeight: 2))
        XCTAssertTrue(s.handle(.down, rowCount: 3, pageHeight: 2))
        XCTAssertEqual(s.selected, 2)
        XCTAssertEqual(s.offset, 1)
        XCTAssertTrue(s.handle(.char("g"), rowCount: 3, pageHeight: 2))
        XCTAssertEqual(s, TableState(selected: 0, offset: 0))
        XCTAssertFalse(s.handle(.char("x"), rowCount: 3, pageHeight: 2))
    }

    func testColumnLayoutDropsRightColumnsAndSharesSpare() {
        let cols = [TableColumn("A", width: 10, flex: 1), TableColumn("B", width: 5), TableColumn("C", width: 30)]
        XCTAssertEqual(TableView.layout(cols, width: 20), [14, 5, 0])
        XCTAssertEqual(TableView.layout(cols, width: 60), [23, 5, 30])
    }

    func testSparklineScalesFromZero() {
        XCTAssertEqual(Sparkline.render([0, 7, 14], width: 3, levels: Glyphs.ascii.levels), "_+@")
        XCTAssertEqual(Sparkline.render([5, 5], width: 5), "██")
        XCTAssertEqual(Sparkline.render([0, 0], width: 5), "▁▁")
        XCTAssertEqual(Sparkline.render(Array(repeating: 1, count: 100).map(Double.init), width: 4).count, 4)
    }

    func testLineEditorEditing() {
        var e = LineEditor("helo")
        _ = e.handle(.left)
        _ = e.handle(.char("l"))
        XCTAssertEqual(e.text, "hello")
        _ = e.handle(.home); _ = e.handle(.delete)
        XCTAssertEqual(e.text, "ello")
        _ = e.handle(.ctrl("k"))
        XCTAssertEqual(e.text, "")
    }

    func testFormValidatesBeforeSubmitting() {
        var f = Form(title: "T", fields: [
            FormField(key: "n", label: "Number", value: "x") { Int($0) == nil ? "a number" : nil },
            FormField(key: "c", label: "Choice", choices: ["a", "b"]),
        ])
        XCTAssertEqual(f.handle(.ctrl("s")), .none)
        XCTAssertEqual(f.error, "Number: a number")
        _ = f.handle(.backspace); _ = f.handle(.char("7"))
        _ = f.handle(.tab); _ = f.handle(.right)
        XCTAssertEqual(f.handle(.enter), .submit(["n": "7", "c": "b"]))
        XCTAssertEqual(f.handle(.escape), .cancel)
    }

    func testPaletteCompletesAliasesAndRejectsUnknown() {
        var p = CommandPalette(commands: [PaletteCommand("topics", aliases: ["t"], summary: ""), PaletteCommand("groups", summary: "")])
        for ch in "gro" { _ = p.handle(.char(ch)) }
        XCTAssertEqual(p.matches.map(\.name), ["groups"])
        XCTAssertEqual(p.handle(.enter), .run("groups", []))
        var q = CommandPalette(commands: p.commands)
        for ch in "t orders" { _ = q.handle(.char(ch)) }
        XCTAssertEqual(q.handle(.enter), .run("topics", ["orders"]))
        var r = CommandPalette(commands: p.commands)
        for ch in "zzz" { _ = r.handle(.char(ch)) }
        XCTAssertEqual(r.handle(.enter), .unknown("zzz"))
    }

    /// `:x` + Enter used to run `:quit` (x is inside "exit"): Enter must not guess from a
    /// substring or among several prefixes; Up/Down still picks any suggestion.
    func testPaletteEnterDoesNotRunSubstringOrAmbiguousMatches() {
        let cmds = [PaletteCommand("delete-topic", summary: ""), PaletteCommand("describe", summary: ""),
                    PaletteCommand("quit", aliases: ["q", "exit"], summary: "")]
        var p = CommandPalette(commands: cmds)
        _ = p.handle(.char("x"))
        XCTAssertEqual(p.matches.map(\.name), ["quit"], "still suggested")
        XCTAssertEqual(p.handle(.enter), .unknown("x"))
        var d = CommandPalette(commands: cmds)
        _ = d.handle(.char("d"))
        XCTAssertEqual(d.handle(.enter), .ambiguous("d", ["delete-topic", "describe"]))
        _ = d.handle(.down)
        XCTAssertEqual(d.handle(.enter), .run("describe", []), "an explicit pick runs")
        var q = CommandPalette(commands: cmds)
        for ch in "qu" { _ = q.handle(.char(ch)) }
        XCTAssertEqual(q.handle(.enter), .run("quit", []), "a unique prefix runs")
    }

    func testTextFilterRegexInverseAndInvalidRegex() {
        XCTAssertTrue(TextFilter("ord.*s").matches("Orders"))
        XCTAssertFalse(TextFilter("!ord").matches("orders"))
        XCTAssertTrue(TextFilter("!ord").matches("payments"))
        XCTAssertTrue(TextFilter("a[").matches("xa[y"))
        XCTAssertEqual(TextFilter("^p").apply(["orders", "payments"]) { $0 }, ["payments"])
    }

    func testKeyNames() {
        XCTAssertEqual(Key(name: "C-c"), .ctrl("c"))
        XCTAssertEqual(Key(name: "f5"), .function(5))
        XCTAssertEqual(Key(name: "enter"), .enter)
        XCTAssertNil(Key(name: "nonsense"))
    }
}

final class ThemeTests: XCTestCase {
    func testInvalidThemeNamesFileLineAndKey() {
        let src = "name = \"x\"\n[header]\nfg = \"blue\"\nbg = \"purpleish\"\n"
        XCTAssertThrowsError(try ThemeParser.parse(src, file: "themes/x.toml")) { e in
            XCTAssertEqual((e as? ThemeError)?.description,
                           "themes/x.toml:4: key 'header.bg': invalid colour 'purpleish' (expected default, black..white, bright-<name>, 0-255 or #rrggbb)")
        }
        XCTAssertThrowsError(try ThemeParser.parse("[heder]\n", file: "t.toml")) { e in
            XCTAssertEqual((e as? ThemeError)?.line, 1)
            XCTAssertEqual((e as? ThemeError)?.key, "heder")
        }
        XCTAssertThrowsError(try ThemeParser.parse("[ok]\ncolour = \"red\"\n", file: "t.toml")) { e in
            XCTAssertEqual((e as? ThemeError)?.key, "ok.colour")
        }
        XCTAssertThrowsError(try ThemeParser.parse("[ok]\nattrs = \"blink\"\n", file: "t.toml")) { e in
            XCTAssertTrue((e as? ThemeError)?.message.contains("blink") ?? false)
        }
        XCTAssertThrowsError(try ThemeParser.parse("[ok]\nfg = \"red\n", file: "t.toml"))
    }

    func testPerKeyFallbackToDefault() throws {
        let t = try ThemeParser.parse("[selection]\nbg = \"#ff0000\"\n", file: "t.toml").completed(from: .builtinDefault)
        let sel = t.style(for: .selection)
        XCTAssertEqual(sel.bg, .rgb(255, 0, 0))
        XCTAssertEqual(sel.fg, Theme.builtinDefault.style(for: .selection).fg, "fg falls back to the default theme")
        XCTAssertEqual(t.style(for: .header), Theme.builtinDefault.style(for: .header))
    }

    func testDegradationFrom256To16To8ToMono() {
        let t = Theme(name: "t", styles: [.text: RoleStyle(fg: .terminalDefault, bg: .terminalDefault),
                                          .error: RoleStyle(fg: .rgb(255, 0, 0), attributes: [], mono: [.bold, .underline]),
                                          .warn: RoleStyle(fg: .indexed(11))])
        XCTAssertEqual(t.resolve(.error, capability: .full256).fg, 196)
        XCTAssertEqual(t.resolve(.error, capability: .sixteen).fg, 9)
        XCTAssertEqual(t.resolve(.error, capability: .eight).fg, 1)
        XCTAssertTrue(t.resolve(.warn, capability: .eight).attributes.contains(.bold), "bright colours become bold on 8 colours")
        let mono = t.resolve(.error, capability: .monochrome)
        XCTAssertNil(mono.fg)
        XCTAssertEqual(mono.attributes, [.bold, .underline])
    }

    func testEveryShippedThemeParsesAndDefaultFileMatchesBuiltin() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes").path
        let loader = ThemeLoader(searchPaths: [dir])
        let names = loader.availableThemes()
        for required in ["default", "light", "dark", "solarized", "high-contrast", "mono"] { XCTAssertTrue(names.contains(required), required) }
        for n in names {
            let t = try loader.load(n)
            XCTAssertEqual(t.name, n)
            for role in Role.all { XCTAssertNotNil(t.styles[role], "\(n) lacks \(role) after completion") }
        }
        let fromFile = try ThemeParser.parse(String(contentsOfFile: dir + "/default.toml", encoding: .utf8), file: "default.toml")
        XCTAssertEqual(fromFile, Theme.builtinDefault)
        XCTAssertThrowsError(try loader.load("no-such-theme"))
    }

    func testMonoThemeUsesNoColours() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes").path
        let mono = try ThemeLoader(searchPaths: [dir]).load("mono")
        for role in Role.all {
            let r = mono.resolve(role, capability: .full256)
            XCTAssertEqual(r.fg, -1, "\(role)")
            XCTAssertEqual(r.bg, -1, "\(role)")
        }
    }
}
