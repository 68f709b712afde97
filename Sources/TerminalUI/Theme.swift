import Foundation

/// How one role looks. Every field is optional so a theme can set only what it changes and
/// inherit the rest key by key from the default theme (btop's fallback habit).
public struct RoleStyle: Equatable, Sendable {
    public var fg: ThemeColor?
    public var bg: ThemeColor?
    public var attributes: TextAttributes?
    /// Attributes used instead of colours on a monochrome terminal.
    public var mono: TextAttributes?
    public init(fg: ThemeColor? = nil, bg: ThemeColor? = nil, attributes: TextAttributes? = nil, mono: TextAttributes? = nil) {
        self.fg = fg; self.bg = bg; self.attributes = attributes; self.mono = mono
    }
    /// Fills every unset field from `base`.
    func filled(from base: RoleStyle) -> RoleStyle {
        RoleStyle(fg: fg ?? base.fg, bg: bg ?? base.bg, attributes: attributes ?? base.attributes, mono: mono ?? base.mono)
    }
}

/// A role's look after degradation to a terminal's capability: xterm indexes (-1 = terminal
/// default) or nil colours in monochrome, plus attributes.
public struct ResolvedStyle: Hashable, Sendable {
    public var fg: Int?
    public var bg: Int?
    public var attributes: TextAttributes
}

/// A set of role styles, loaded from a theme file and completed from the default theme.
public struct Theme: Sendable, Equatable {
    public var name: String
    public var styles: [Role: RoleStyle]

    public init(name: String, styles: [Role: RoleStyle]) { self.name = name; self.styles = styles }

    /// The style for a role: its own keys, then its parent role's (`lag.growing` -> `lag`),
    /// then the `text` role's, so an unknown role still renders legibly.
    public func style(for role: Role) -> RoleStyle {
        var s = styles[role] ?? RoleStyle()
        var name = role.name
        while let dot = name.lastIndex(of: ".") {
            name = String(name[..<dot])
            if let parent = styles[Role(name)] { s = s.filled(from: parent) }
        }
        if role != .text, let text = styles[.text] {
            s = RoleStyle(fg: s.fg ?? text.fg, bg: s.bg ?? text.bg, attributes: s.attributes, mono: s.mono)
        }
        return s
    }

    /// Resolves a role for a terminal with `capability`.
    public func resolve(_ role: Role, capability: ColorCapability) -> ResolvedStyle {
        let s = style(for: role)
        if capability == .monochrome {
            return ResolvedStyle(fg: nil, bg: nil, attributes: s.mono ?? s.attributes ?? [])
        }
        var attrs = s.attributes ?? []
        if let fg = s.fg, fg.lostBrightness(on: capability) { attrs.insert(.bold) }
        return ResolvedStyle(fg: s.fg?.resolved(for: capability) ?? -1, bg: s.bg?.resolved(for: capability) ?? -1, attributes: attrs)
    }

    /// This theme with every role and key it leaves unset taken from `base`.
    public func completed(from base: Theme) -> Theme {
        var out = base.styles
        for (role, style) in styles { out[role] = style.filled(from: base.styles[role] ?? RoleStyle()) }
        return Theme(name: name, styles: out)
    }

    /// The built-in default theme. `themes/default.toml` holds the same values; this copy
    /// exists so that per-key fallback works even when the themes directory is not installed.
    public static let builtinDefault: Theme = {
        do { return try ThemeParser.parse(ThemeParser.builtinDefaultSource, file: "<builtin default>") }
        catch { preconditionFailure("built-in default theme does not parse: \(error)") }
    }()
}
