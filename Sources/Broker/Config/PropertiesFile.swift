/// Parser for Java `.properties` text, the format of Kafka's `server.properties`.
///
/// Supports what Kafka's sample files and operators actually use: `key=value`, `key: value`
/// and `key value` separators, `#` and `!` comment lines, backslash line continuations, and
/// the escapes `\t \n \r \f \\ \= \: \uXXXX`. Keys are kept in file order so that warnings and
/// errors are reported in the order the operator wrote them; a key given twice keeps its last
/// value, as `java.util.Properties` does.
///
/// A pure value type; `Sendable`.
public struct PropertiesFile: Sendable, Equatable {
    /// One `key = value` entry with the 1-based line it started on, for error messages.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: String
        public var line: Int
    }

    /// Entries in file order; later duplicates replace earlier ones in place.
    public private(set) var entries: [Entry] = []

    public init() {}

    /// Parses `text`. Never fails: a line with no separator is a key with an empty value,
    /// exactly as Java reads it.
    public init(parsing text: String) {
        var logical = ""
        var startLine = 0
        var lineNumber = 0
        var continuing = false
        // Split on any line terminator Java accepts (\n, \r\n, \r).
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        for rawLine in lines {
            lineNumber += 1
            var line = Substring(rawLine)
            // Leading whitespace is dropped on every physical line, including continuations.
            line = line.drop(while: { $0 == " " || $0 == "\t" || $0 == "\u{0C}" })
            if !continuing {
                if line.isEmpty || line.first == "#" || line.first == "!" { continue }
                startLine = lineNumber
                logical = ""
            }
            // An odd number of trailing backslashes means the line continues.
            var trailing = 0
            for ch in line.reversed() { if ch == "\\" { trailing += 1 } else { break } }
            if trailing % 2 == 1 {
                logical += line.dropLast()
                continuing = true
                continue
            }
            logical += line
            continuing = false
            set(Self.parseEntry(logical, line: startLine))
        }
        if continuing { set(Self.parseEntry(logical, line: startLine)) }
    }

    /// The value for `key`, if present.
    public subscript(key: String) -> String? {
        entries.last(where: { $0.key == key })?.value
    }

    /// Adds or replaces `key` (an override from the command line keeps line 0).
    public mutating func set(_ entry: Entry) {
        if let i = entries.firstIndex(where: { $0.key == entry.key }) {
            entries[i] = entry
        } else {
            entries.append(entry)
        }
    }

    /// Splits one logical line into key and value and unescapes both.
    static func parseEntry(_ logical: String, line: Int) -> Entry {
        let chars = Array(logical)
        var i = 0
        var keyEnd = chars.count
        var escaped = false
        // The key ends at the first unescaped '=', ':' or whitespace.
        while i < chars.count {
            let c = chars[i]
            if escaped { escaped = false; i += 1; continue }
            if c == "\\" { escaped = true; i += 1; continue }
            if c == "=" || c == ":" || c == " " || c == "\t" || c == "\u{0C}" { keyEnd = i; break }
            i += 1
        }
        let key = unescape(chars[0..<keyEnd])
        var j = keyEnd
        // Skip whitespace, then at most one '=' or ':', then whitespace again.
        while j < chars.count, chars[j] == " " || chars[j] == "\t" || chars[j] == "\u{0C}" { j += 1 }
        if j < chars.count, chars[j] == "=" || chars[j] == ":" { j += 1 }
        while j < chars.count, chars[j] == " " || chars[j] == "\t" || chars[j] == "\u{0C}" { j += 1 }
        let value = unescape(chars[min(j, chars.count)...])
        return Entry(key: key, value: value, line: line)
    }

    static func unescape(_ chars: ArraySlice<Character>) -> String {
        var out = ""
        var it = chars.makeIterator()
        while let c = it.next() {
            guard c == "\\" else { out.append(c); continue }
            guard let e = it.next() else { break }
            switch e {
            case "t": out.append("\t")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "f": out.append("\u{0C}")
            case "u":
                var hex = ""
                for _ in 0..<4 { if let h = it.next() { hex.append(h) } }
                if let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += "\\u" + hex
                }
            default: out.append(e)
            }
        }
        return out
    }
}
