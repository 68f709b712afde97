import Foundation

/// Kafka's `ssl.principal.mapping.rules` (KIP-371, `SslPrincipalMapper`): turns the
/// distinguished name of a client certificate (RFC 2253 form, `CN=alice,OU=eng,O=Acme`) into
/// the name of its `User:` principal.
///
/// The rules are a comma-separated list (whitespace, newlines included, around each rule is
/// ignored, as are empty rules), tried in order; the first that matches decides:
/// * `DEFAULT`: the distinguished name unchanged;
/// * `RULE:pattern/replacement/` and `RULE:pattern/replacement/L` (or `/U`): when `pattern`
///   matches the whole name, every match of it is replaced by `replacement` (`$1` is a group,
///   Java's `String.replaceAll`), then lower-cased (`L`) or upper-cased (`U`). `\/` puts a `/`
///   in a pattern or replacement.
/// When no rule matches there is no name (``name(for:)`` is nil): Kafka refuses the connection.
///
/// Parsed once, at start-up (`BrokerConfig`): a rule that does not parse, a pattern that does not
/// compile or a replacement that could never be applied (`$` without a group number, a group the
/// pattern does not have, a trailing `\`) throws ``InvalidRule``, which stops the broker naming the
/// key. Kafka finds the last kind only when a certificate matches; here it is a start-up error.
/// Patterns are ICU regular expressions (NSRegularExpression), the syntax of Java's for
/// everything these rules use.
public struct SslPrincipalMapper: Sendable, Equatable, CustomStringConvertible {
    /// Why a rules value was refused (the text of Kafka's `IllegalArgumentException` where it has one).
    public struct InvalidRule: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// One rule: `DEFAULT` (no pattern) or `RULE:pattern/replacement/[LU]`.
    public struct Rule: Sendable, Equatable, CustomStringConvertible {
        /// nil for `DEFAULT`.
        public let pattern: String?
        public let replacement: String?
        public let toLowerCase: Bool
        public let toUpperCase: Bool
        private let compiled: Compiled?

        static let `default` = Rule(pattern: nil, replacement: nil, toLowerCase: false, toUpperCase: false, compiled: nil)

        private init(pattern: String?, replacement: String?, toLowerCase: Bool, toUpperCase: Bool, compiled: Compiled?) {
            self.pattern = pattern; self.replacement = replacement
            self.toLowerCase = toLowerCase; self.toUpperCase = toUpperCase; self.compiled = compiled
        }

        init(pattern: String, replacement: String, toLowerCase: Bool, toUpperCase: Bool) throws(InvalidRule) {
            self.init(pattern: pattern, replacement: replacement, toLowerCase: toLowerCase, toUpperCase: toUpperCase,
                      compiled: try Compiled(pattern: pattern, replacement: replacement))
        }

        public static func == (a: Rule, b: Rule) -> Bool {
            a.pattern == b.pattern && a.replacement == b.replacement
                && a.toLowerCase == b.toLowerCase && a.toUpperCase == b.toUpperCase
        }

        /// The mapped name, or nil when the rule does not match the whole of `distinguishedName`.
        func apply(_ distinguishedName: String) -> String? {
            guard let compiled else { return distinguishedName }
            guard var result = compiled.apply(distinguishedName) else { return nil }
            if toLowerCase {
                result = result.lowercased()
            } else if toUpperCase {
                result = result.uppercased()
            }
            return result
        }

        /// Kafka's `Rule.toString`.
        public var description: String {
            guard let pattern else { return "DEFAULT" }
            var s = "RULE:" + pattern
            if let replacement { s += "/" + replacement }
            if toLowerCase { s += "/L" } else if toUpperCase { s += "/U" }
            return s
        }
    }

    public let rules: [Rule]

    /// Kafka's default, `DEFAULT`: the distinguished name unchanged.
    public static let `default` = SslPrincipalMapper(parsed: [.default])

    private init(parsed: [Rule]) { rules = parsed }

    /// Parses a `ssl.principal.mapping.rules` value (Kafka's `SslPrincipalMapper.fromRules`).
    public init(rules text: String) throws(InvalidRule) {
        var out: [Rule] = []
        for rule in Self.split(text) {
            let ns = rule as NSString
            let all = NSRange(location: 0, length: ns.length)
            // Java's lookingAt: anchored at the start, need not reach the end.
            guard let m = Self.parser.firstMatch(in: rule, options: [.anchored], range: all) else {
                throw InvalidRule(description: "Invalid rule: \(rule)")
            }
            guard m.range.upperBound == ns.length else {
                throw InvalidRule(description: "Invalid rule: `\(rule)`, unmatched substring: `\(ns.substring(from: m.range.upperBound))`")
            }
            if m.range(at: 1).location != NSNotFound {
                out.append(.default)
            } else if m.range(at: 2).location != NSNotFound {
                let flag = Self.group(m, 6, in: ns) ?? ""
                out.append(try Rule(pattern: ns.substring(with: m.range(at: 2)), replacement: Self.group(m, 4, in: ns) ?? "",
                                    toLowerCase: flag == "L", toUpperCase: flag == "U"))
            }
            // Anything else is an empty rule: ignored, as Kafka does.
        }
        rules = out
    }

    /// The principal name of `distinguishedName` by the first rule that matches, nil when none does.
    public func name(for distinguishedName: String) -> String? {
        for rule in rules {
            if let name = rule.apply(distinguishedName) { return name }
        }
        return nil
    }

    /// Kafka's `SslPrincipalMapper.toString` (its tests compare it).
    public var description: String {
        "SslPrincipalMapper(rules = [\(rules.map(\.description).joined(separator: ", "))])"
    }

    // MARK: Kafka's rule grammar

    /// Kafka's `RULE_PATTERN`: `DEFAULT`, a `RULE:` with `\`-escapes in pattern and replacement,
    /// or anything (an empty rule, or a bad one: the parser then reports what is left over).
    private static let rulePattern = #"(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)"#
    private static var parser: NSRegularExpression {
        // swiftlint:disable:next force_try
        try! NSRegularExpression(pattern: rulePattern)
    }

    /// Kafka's `splitRules`: every match of `RULE_SPLITTER` in the trimmed text is one rule.
    static func split(_ text: String) -> [String] {
        // swiftlint:disable:next force_try
        let splitter = try! NSRegularExpression(pattern: #"\s*("# + rulePattern + #")\s*(,\s*|$)"#)
        let trimmed = javaTrim(text)
        let ns = trimmed as NSString
        return splitter.matches(in: trimmed, range: NSRange(location: 0, length: ns.length)).map {
            group($0, 1, in: ns) ?? ""
        }
    }

    /// Java's `String.trim`: every character up to U+0020 at both ends.
    private static func javaTrim(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { $0.value > 0x20 }),
              let last = scalars.lastIndex(where: { $0.value > 0x20 }) else { return "" }
        return String(scalars[first...last])
    }

    private static func group(_ m: NSTextCheckingResult, _ i: Int, in ns: NSString) -> String? {
        let r = m.range(at: i)
        return r.location == NSNotFound ? nil : ns.substring(with: r)
    }
}

/// A rule's compiled pattern and parsed replacement (immutable after init, so shared freely).
private final class Compiled: @unchecked Sendable {
    /// One piece of a replacement (Java's `Matcher.appendReplacement` syntax).
    enum Piece: Equatable {
        case literal(String)
        case group(Int)
        case named(String)
    }

    /// The pattern as written: its matches are replaced.
    let pattern: NSRegularExpression
    /// The pattern anchored at both ends: Java's `Matcher.matches` (the whole name).
    let whole: NSRegularExpression
    let replacement: [Piece]

    init(pattern text: String, replacement: String) throws(SslPrincipalMapper.InvalidRule) {
        do {
            // ICU refuses an empty pattern, which Java compiles (it matches the empty string).
            pattern = try NSRegularExpression(pattern: text.isEmpty ? "(?:)" : text)
            whole = try NSRegularExpression(pattern: #"\A(?:"# + text + #")\z"#)
        } catch {
            throw .init(description: "Invalid rule pattern `\(text)`: not a regular expression (\(error))")
        }
        let groups = pattern.numberOfCaptureGroups
        self.replacement = try Self.parse(Self.escapeLiteralBackReferences(replacement, groups: groups),
                                          groups: groups, pattern: text)
    }

    /// The replaced name when the pattern matches all of `name` (Java's
    /// `name.replaceAll(pattern, replacement)` after `matches()`), else nil.
    func apply(_ name: String) -> String? {
        let ns = name as NSString
        let all = NSRange(location: 0, length: ns.length)
        guard whole.firstMatch(in: name, range: all) != nil else { return nil }
        var out = ""
        var last = 0
        for m in pattern.matches(in: name, range: all) {
            out += ns.substring(with: NSRange(location: last, length: m.range.location - last))
            for piece in replacement {
                switch piece {
                case .literal(let s): out += s
                case .group(let i):
                    let r = m.range(at: i)
                    if r.location != NSNotFound { out += ns.substring(with: r) }
                case .named(let n):
                    let r = m.range(withName: n)
                    if r.location != NSNotFound { out += ns.substring(with: r) }
                }
            }
            last = m.range.upperBound
        }
        out += ns.substring(from: last)
        return out
    }

    /// Kafka's `escapeLiteralBackReferences` (from Apache NiFi): `$N` naming a group the pattern
    /// does not have becomes the literal text `$N`, after dropping trailing digits while N is
    /// too large and has two or more (`$123` with 12 groups is group 12 then `3`). Kafka leaves
    /// the replacement alone when the pattern has no group at all. Kafka computes each insert
    /// position on the original text, so a second escape lands one character early, and it
    /// escapes an already escaped `\$1` again; here each lands before its own unescaped `$`.
    static func escapeLiteralBackReferences(_ unescaped: String, groups: Int) -> String {
        guard groups > 0 else { return unescaped }
        var chars = Array(unescaped)
        var i = 0
        while i < chars.count {
            // An escaped character (`\$1` is the text `$1` already).
            if chars[i] == "\\" { i += 2; continue }
            guard chars[i] == "$", i + 1 < chars.count, chars[i + 1].isASCII, chars[i + 1].isNumber else { i += 1; continue }
            var j = i + 1
            while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
            let digits = String(chars[(i + 1)..<j])
            defer { i = j }
            if digits.hasPrefix("0") { continue }
            // Digits beyond Int range are a group too large for any pattern.
            var index = Int(digits) ?? Int.max
            while index > groups, index >= 10 { index /= 10 }
            if index > groups {
                chars.insert("\\", at: i)
                j += 1
            }
        }
        return String(chars)
    }

    /// Java's replacement syntax (`Matcher.appendExpandedReplacement`): `\x` is `x`, `$n` the
    /// longest group number the pattern has (the first digit always counts), `${name}` a named
    /// group. What Java throws on when applying it is thrown here, at start-up.
    static func parse(_ text: String, groups: Int, pattern: String) throws(SslPrincipalMapper.InvalidRule) -> [Piece] {
        func invalid(_ why: String) -> SslPrincipalMapper.InvalidRule {
            .init(description: "Invalid rule replacement `\(text)`: \(why)")
        }
        var out: [Piece] = []
        var literal = ""
        func flush() { if !literal.isEmpty { out.append(.literal(literal)); literal = "" } }
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                i += 1
                guard i < chars.count else { throw invalid("character to be escaped is missing") }
                literal.append(chars[i])
                i += 1
            } else if c == "$" {
                i += 1
                guard i < chars.count else { throw invalid("Illegal group reference: group index is missing") }
                if chars[i] == "{" {
                    i += 1
                    var name = ""
                    while i < chars.count, chars[i].isASCII, chars[i].isLetter || chars[i].isNumber {
                        name.append(chars[i]); i += 1
                    }
                    guard !name.isEmpty else { throw invalid("named capturing group has 0 length name") }
                    guard i < chars.count, chars[i] == "}" else { throw invalid("named capturing group is missing trailing '}'") }
                    guard !name.first!.isNumber else { throw invalid("capturing group name {\(name)} starts with digit character") }
                    guard pattern.contains("(?<\(name)>") else { throw invalid("No group with name {\(name)}") }
                    i += 1
                    flush()
                    out.append(.named(name))
                } else {
                    guard chars[i].isASCII, let first = chars[i].wholeNumberValue else { throw invalid("Illegal group reference") }
                    var ref = first
                    i += 1
                    while i < chars.count, chars[i].isASCII, let d = chars[i].wholeNumberValue, ref * 10 + d <= groups {
                        ref = ref * 10 + d
                        i += 1
                    }
                    guard ref <= groups else { throw invalid("No group \(ref) (the pattern has \(groups))") }
                    flush()
                    out.append(.group(ref))
                }
            } else {
                literal.append(c)
                i += 1
            }
        }
        flush()
        return out
    }
}
