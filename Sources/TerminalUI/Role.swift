/// A semantic style role. Widgets and presenters draw with roles ("this is the selection",
/// "this broker is down"), never with colours; a `Theme` maps roles to colours and
/// attributes, so a theme file changes the look without touching code (htop/k9s habit).
public struct Role: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public var description: String { name }

    public static let text: Role = "text"
    public static let dim: Role = "text.dim"
    public static let title: Role = "title"
    public static let header: Role = "header"
    public static let tableHeader: Role = "table.header"
    public static let selection: Role = "selection"
    public static let border: Role = "border"
    public static let status: Role = "status"
    public static let statusKey: Role = "status.key"
    public static let tab: Role = "tab"
    public static let tabActive: Role = "tab.active"
    public static let ok: Role = "ok"
    public static let warn: Role = "warn"
    public static let error: Role = "error"
    public static let lagGrowing: Role = "lag.growing"
    public static let lagDraining: Role = "lag.draining"
    public static let brokerUp: Role = "broker.up"
    public static let brokerDown: Role = "broker.down"
    public static let sparkline: Role = "sparkline"
    public static let dialog: Role = "dialog"
    public static let dialogTitle: Role = "dialog.title"
    public static let input: Role = "input"
    public static let inputFocused: Role = "input.focused"
    public static let palette: Role = "palette"
    public static let paletteMatch: Role = "palette.match"
    public static let help: Role = "help"
    public static let helpKey: Role = "help.key"
    public static let json: Role = "json.key"
    /// A row whose data is older than the last successful sample (its source is failing):
    /// greyed, so stale numbers never look live.
    public static let stale: Role = "row.stale"

    /// Every role a theme may style. Theme files naming any other role are rejected, so a
    /// typo (`[heder]`) is an error with a line number instead of a silently ignored section.
    public static let all: [Role] = [
        text, dim, title, header, tableHeader, selection, border, status, statusKey, tab, tabActive,
        ok, warn, error, lagGrowing, lagDraining, brokerUp, brokerDown, sparkline,
        dialog, dialogTitle, input, inputFocused, palette, paletteMatch, help, helpKey, json, stale,
    ]
}
