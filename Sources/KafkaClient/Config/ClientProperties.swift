import Foundation

/// Client configuration as Kafka's own property names (`bootstrap.servers`, `acks`,
/// `group.id`, ...), the vocabulary operators already use in `client.properties` files and in
/// `--command-config` / `-X` flags. Typed configs (``ClientConfig``, ``ProducerConfig``,
/// ``ConsumerConfig``) are built from it and validate every key they read.
///
/// Concurrency: an immutable-by-default value type, `Sendable`.
public struct ClientProperties: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) { self.values = values }
    public init(dictionaryLiteral elements: (String, String)...) {
        self.values = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    public subscript(key: String) -> String? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// Returns these properties with `other`'s values taking precedence.
    public func merging(_ other: ClientProperties) -> ClientProperties {
        ClientProperties(values.merging(other.values, uniquingKeysWith: { _, new in new }))
    }

    /// Reads a Java `.properties` file (the format of Kafka's `client.properties`).
    public static func load(path: String) throws -> ClientProperties {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KafkaClientError.propertiesFile(path: path, line: 0, reason: "cannot read file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw KafkaClientError.propertiesFile(path: path, line: 0, reason: "not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// Parses Java properties syntax: `key=value`, `key: value` or `key value`; `#` and `!`
    /// comment lines; a trailing backslash continues a logical line; `\t \n \r \f \uXXXX`
    /// escapes. Later duplicates win, as with `java.util.Properties`.
    public static func parse(_ text: String, path: String = "<properties>") throws -> ClientProperties {
        var result: [String: String] = [:]
        let physical = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var index = 0
        while index < physical.count {
            let startLine = index + 1
            var logical = String(physical[index]).trimmingLeadingWhitespace()
            if logical.hasSuffix("\r") { logical.removeLast() }
            index += 1
            if logical.isEmpty || logical.hasPrefix("#") || logical.hasPrefix("!") { continue }
            while endsWithOddBackslashes(logical) {
                logical.removeLast()
                guard index < physical.count else { break }
                var next = String(physical[index]).trimmingLeadingWhitespace()
                if next.hasSuffix("\r") { next.removeLast() }
                logical += next
                index += 1
            }
            let (rawKey, rawValue) = splitKeyValue(logical)
            let key = try unescape(rawKey, path: path, line: startLine)
            let value = try unescape(rawValue, path: path, line: startLine)
            guard !key.isEmpty else {
                throw KafkaClientError.propertiesFile(path: path, line: startLine, reason: "empty key")
            }
            result[key] = value
        }
        return ClientProperties(result)
    }

    private static func endsWithOddBackslashes(_ s: String) -> Bool {
        var count = 0
        for c in s.reversed() {
            if c == "\\" { count += 1 } else { break }
        }
        return count % 2 == 1
    }

    private static func splitKeyValue(_ line: String) -> (String, String) {
        var key = ""
        var iterator = Array(line)
        var i = 0
        while i < iterator.count {
            let c = iterator[i]
            if c == "\\", i + 1 < iterator.count {
                key.append(c); key.append(iterator[i + 1]); i += 2; continue
            }
            if c == "=" || c == ":" || c == " " || c == "\t" { break }
            key.append(c); i += 1
        }
        // Skip whitespace, then at most one separator, then whitespace.
        while i < iterator.count, iterator[i] == " " || iterator[i] == "\t" { i += 1 }
        if i < iterator.count, iterator[i] == "=" || iterator[i] == ":" { i += 1 }
        while i < iterator.count, iterator[i] == " " || iterator[i] == "\t" { i += 1 }
        iterator.removeFirst(min(i, iterator.count))
        return (key, String(iterator))
    }

    private static func unescape(_ s: String, path: String, line: Int) throws -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        let chars = Array(s)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "\\", i + 1 < chars.count else { out.append(c); i += 1; continue }
            let n = chars[i + 1]
            i += 2
            switch n {
            case "t": out.append("\t")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "f": out.append("\u{0C}")
            case "u":
                guard i + 4 <= chars.count, let code = UInt32(String(chars[i..<i + 4]), radix: 16),
                      let scalar = Unicode.Scalar(code) else {
                    throw KafkaClientError.propertiesFile(path: path, line: line, reason: "malformed \\uXXXX escape")
                }
                out.unicodeScalars.append(scalar)
                i += 4
            default: out.append(n)
            }
        }
        return out
    }

    // MARK: Typed accessors (each throws invalidConfiguration with the key's name)

    public func string(_ key: String, default defaultValue: String) -> String {
        values[key] ?? defaultValue
    }

    public func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int>? = nil) throws -> Int {
        guard let raw = values[key] else { return defaultValue }
        guard let value = Int(raw.trimmingCharacters(in: .whitespaces)) else {
            throw KafkaClientError.invalidConfiguration(key: key, value: raw, reason: "expected an integer")
        }
        if let range, !range.contains(value) {
            throw KafkaClientError.invalidConfiguration(
                key: key, value: raw, reason: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let raw = values[key] else { return defaultValue }
        switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true": return true
        case "false": return false
        default:
            throw KafkaClientError.invalidConfiguration(key: key, value: raw, reason: "expected true or false")
        }
    }

    public func milliseconds(_ key: String, default defaultValue: Int) throws -> Duration {
        .milliseconds(try int(key, default: defaultValue, range: 0...Int(Int32.max)))
    }

    public func list(_ key: String, default defaultValue: [String]) -> [String] {
        guard let raw = values[key] else { return defaultValue }
        return raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func oneOf<T>(_ key: String, default defaultValue: T, _ choices: [String: T]) throws -> T {
        guard let raw = values[key] else { return defaultValue }
        if let value = choices[raw.trimmingCharacters(in: .whitespaces).lowercased()] { return value }
        throw KafkaClientError.invalidConfiguration(
            key: key, value: raw, reason: "expected one of \(choices.keys.sorted().joined(separator: ", "))")
    }
}

extension String {
    fileprivate func trimmingLeadingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }))
    }
}
