import Foundation

/// A theme file that cannot be used, with the file, line and key at fault.
public struct ThemeError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String
    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let key { s += ": key '\(key)'" }
        return s + ": " + message
    }
}

/// Parses theme files: a small, dependency-free subset of TOML.
///
/// ```toml
/// # comment
/// name = "solarized"
/// [header]                 # a role (see Role.all)
/// fg = "#fdf6e3"           # colour: default | black..white | bright-red | 0..255 | #rrggbb
/// bg = "blue"
/// attrs = "bold"           # bold, reverse, underline, dim, italic (comma separated) or none
/// mono = "reverse"         # attributes used on a monochrome terminal
/// ```
///
/// Each `[section]` is a role; unknown roles and keys are errors, because a silently
/// ignored typo is the most common theme bug.
public enum ThemeParser {
    static let roleKeys: Set<String> = ["fg", "bg", "attrs", "mono"]

    public static func parse(_ source: String, file: String) throws(ThemeError) -> Theme {
        var name = (file as NSString).lastPathComponent
        if name.hasSuffix(".toml") { name = String(name.dropLast(5)) }
        var styles: [Role: RoleStyle] = [:]
        var current: Role?
        var seenRoles: Set<Role> = []
        let known = Set(Role.all)
        for (index, rawLine) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = index + 1
            let line = stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw ThemeError(file: file, line: lineNo, key: nil, message: "section header must end with ']'")
                }
                let roleName = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                let role = Role(roleName)
                guard known.contains(role) else {
                    throw ThemeError(file: file, line: lineNo, key: roleName,
                                     message: "unknown role; known roles: \(Role.all.map(\.name).joined(separator: ", "))")
                }
                guard seenRoles.insert(role).inserted else {
                    throw ThemeError(file: file, line: lineNo, key: roleName, message: "role defined twice")
                }
                current = role
                styles[role] = styles[role] ?? RoleStyle()
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw ThemeError(file: file, line: lineNo, key: nil, message: "expected 'key = \"value\"' or '[role]'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = try unquote(line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces), file: file, line: lineNo, key: key)
            guard let role = current else {
                switch key {
                case "name": name = value
                case "description": break
                default: throw ThemeError(file: file, line: lineNo, key: key, message: "unknown top-level key (expected name or description)")
                }
                continue
            }
            let qualified = "\(role.name).\(key)"
            guard roleKeys.contains(key) else {
                throw ThemeError(file: file, line: lineNo, key: qualified, message: "unknown key (expected fg, bg, attrs or mono)")
            }
            var style = styles[role] ?? RoleStyle()
            switch key {
            case "fg", "bg":
                guard let color = ThemeColor(parsing: value) else {
                    throw ThemeError(file: file, line: lineNo, key: qualified,
                                     message: "invalid colour '\(value)' (expected default, black..white, bright-<name>, 0-255 or #rrggbb)")
                }
                if key == "fg" { style.fg = color } else { style.bg = color }
            default:
                switch TextAttributes.parse(value) {
                case .success(let a): if key == "attrs" { style.attributes = a } else { style.mono = a }
                case .failure(let bad):
                    throw ThemeError(file: file, line: lineNo, key: qualified,
                                     message: "unknown attribute '\(bad.word)' (expected bold, reverse, underline, dim, italic or none)")
                }
            }
            styles[role] = style
        }
        return Theme(name: name, styles: styles)
    }

    private static func stripComment(_ line: String) -> String {
        var inQuote = false
        for (i, ch) in zip(line.indices, line) {
            if ch == "\"" { inQuote.toggle() }
            if ch == "#" && !inQuote {
                // A '#' that starts a colour value is inside quotes; a bare one starts a comment.
                return String(line[..<i])
            }
        }
        return line
    }

    private static func unquote(_ raw: String, file: String, line: Int, key: String) throws(ThemeError) -> String {
        if raw.hasPrefix("\"") {
            guard raw.count >= 2, raw.hasSuffix("\"") else {
                throw ThemeError(file: file, line: line, key: key, message: "unterminated string")
            }
            return String(raw.dropFirst().dropLast())
        }
        guard !raw.isEmpty else { throw ThemeError(file: file, line: line, key: key, message: "missing value") }
        return raw
    }

    /// The default theme (also shipped as themes/default.toml; a test keeps them equal).
    public static let builtinDefaultSource = """
    # Samsa console theme: default (dark terminal background, 16 ANSI colours).
    # Every other theme falls back to these values key by key.
    name = "default"

    [text]
    fg = "default"
    bg = "default"
    attrs = "none"
    mono = "none"

    [text.dim]
    fg = "bright-black"
    mono = "dim"

    [title]
    fg = "bright-cyan"
    attrs = "bold"
    mono = "bold"

    [header]
    fg = "bright-white"
    bg = "blue"
    attrs = "bold"
    mono = "reverse"

    [table.header]
    fg = "bright-yellow"
    attrs = "bold"
    mono = "bold,underline"

    [selection]
    fg = "black"
    bg = "cyan"
    attrs = "none"
    mono = "reverse"

    [border]
    fg = "bright-black"
    mono = "none"

    [status]
    fg = "white"
    bg = "bright-black"
    mono = "reverse"

    [status.key]
    fg = "bright-yellow"
    bg = "bright-black"
    attrs = "bold"
    mono = "reverse,bold"

    [tab]
    fg = "white"
    bg = "blue"
    mono = "reverse"

    [tab.active]
    fg = "black"
    bg = "bright-cyan"
    attrs = "bold"
    mono = "bold,underline"

    [ok]
    fg = "green"
    mono = "none"

    [warn]
    fg = "yellow"
    attrs = "bold"
    mono = "bold"

    [error]
    fg = "bright-red"
    attrs = "bold"
    mono = "bold,underline"

    [lag.growing]
    fg = "bright-red"
    mono = "bold"

    [lag.draining]
    fg = "bright-green"
    mono = "none"

    [broker.up]
    fg = "green"
    mono = "none"

    [broker.down]
    fg = "white"
    bg = "red"
    attrs = "bold"
    mono = "reverse,bold"

    [sparkline]
    fg = "cyan"
    mono = "none"

    [dialog]
    fg = "white"
    bg = "blue"
    mono = "none"

    [dialog.title]
    fg = "bright-white"
    bg = "blue"
    attrs = "bold"
    mono = "bold"

    [input]
    fg = "black"
    bg = "white"
    mono = "underline"

    [input.focused]
    fg = "black"
    bg = "bright-yellow"
    mono = "reverse"

    [palette]
    fg = "white"
    bg = "bright-black"
    mono = "reverse"

    [palette.match]
    fg = "bright-yellow"
    bg = "bright-black"
    attrs = "bold"
    mono = "reverse,bold"

    [help]
    fg = "white"
    bg = "blue"
    mono = "none"

    [help.key]
    fg = "bright-yellow"
    bg = "blue"
    attrs = "bold"
    mono = "bold"

    [json.key]
    fg = "cyan"
    mono = "bold"

    [row.stale]
    # Rows whose data is older than the last good sample (cluster or section unreachable).
    fg = "bright-black"
    attrs = "italic"
    mono = "dim"

    """
}
