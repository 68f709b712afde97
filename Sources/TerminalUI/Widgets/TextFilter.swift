import Foundation

/// The `/` filter: a case-insensitive regular expression, `!expr` to invert, and a plain
/// substring match when the text is not a valid regex (so `/my.topic[` still works).
public struct TextFilter: Sendable, Equatable {
    public let source: String
    public let inverted: Bool
    private let pattern: String

    public init(_ source: String) {
        self.source = source
        if source.hasPrefix("!") { inverted = true; pattern = String(source.dropFirst()) }
        else { inverted = false; pattern = source }
    }

    public var isEmpty: Bool { pattern.isEmpty }

    /// False when the text is not a valid regular expression and is matched as plain text;
    /// the console says so, or `/demo.(cl` would silently match nothing "as a regex".
    public var isRegex: Bool {
        pattern.isEmpty || (try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive])) != nil
    }

    public func matches(_ text: String) -> Bool {
        guard !pattern.isEmpty else { return true }
        let hit: Bool
        if let re = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) {
            hit = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        } else {
            hit = text.range(of: pattern, options: .caseInsensitive) != nil
        }
        return hit != inverted
    }

    /// Filters with one compiled regex (the per-row path above recompiles every call).
    public func apply<T>(_ items: [T], text: (T) -> String) -> [T] {
        guard !pattern.isEmpty else { return items }
        if let re = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) {
            return items.filter { item in
                let t = text(item)
                return (re.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) != nil) != inverted
            }
        }
        return items.filter { (text($0).range(of: pattern, options: .caseInsensitive) != nil) != inverted }
    }
}
