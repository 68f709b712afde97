/// A parser for the Prometheus text exposition format (0.0.4), enough to read a broker's
/// `/metrics`: `# HELP` / `# TYPE` and blank lines are skipped, every other line is
/// `name[{label="value",...}] value [timestamp]`. Label values are unescaped (`\\`, `\"`,
/// `\n`); values may be `+Inf`, `-Inf`, `NaN`.
///
/// Pure; a malformed line throws with its line number rather than being guessed at.
public enum PrometheusTextParser {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
        public init(name: String, labels: [String: String] = [:], value: Double) {
            self.name = name; self.labels = labels; self.value = value
        }
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "metrics line \(line): \(reason)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [Sample] {
        var out: [Sample] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = Array(rawLine.utf8)
            var i = 0
            while i < line.count, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: "\t") { i += 1 }
            if i == line.count || line[i] == UInt8(ascii: "#") { continue }
            func fail(_ reason: String) -> ParseError { ParseError(line: lineNumber, reason: reason) }
            let nameStart = i
            while i < line.count, isNameByte(line[i]) { i += 1 }
            guard i > nameStart else { throw fail("expected a metric name") }
            let name = String(decoding: line[nameStart..<i], as: UTF8.self)
            var labels: [String: String] = [:]
            if i < line.count, line[i] == UInt8(ascii: "{") {
                i += 1
                while true {
                    while i < line.count, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: ",") { i += 1 }
                    guard i < line.count else { throw fail("unterminated label set") }
                    if line[i] == UInt8(ascii: "}") { i += 1; break }
                    let keyStart = i
                    while i < line.count, isNameByte(line[i]) { i += 1 }
                    guard i > keyStart, i < line.count, line[i] == UInt8(ascii: "=") else { throw fail("expected label=\"value\"") }
                    let key = String(decoding: line[keyStart..<i], as: UTF8.self)
                    i += 1
                    guard i < line.count, line[i] == UInt8(ascii: "\"") else { throw fail("label value of \(key) is not quoted") }
                    i += 1
                    var value: [UInt8] = []
                    var closed = false
                    while i < line.count {
                        let b = line[i]
                        if b == UInt8(ascii: "\\") {
                            guard i + 1 < line.count else { break }
                            let next = line[i + 1]
                            switch next {
                            case UInt8(ascii: "n"): value.append(UInt8(ascii: "\n"))
                            case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(next)
                            default: value.append(b); value.append(next)
                            }
                            i += 2
                        } else if b == UInt8(ascii: "\"") {
                            closed = true
                            i += 1
                            break
                        } else {
                            value.append(b)
                            i += 1
                        }
                    }
                    guard closed else { throw fail("unterminated label value of \(key)") }
                    labels[key] = String(decoding: value, as: UTF8.self)
                }
            }
            while i < line.count, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: "\t") { i += 1 }
            let valueStart = i
            while i < line.count, line[i] != UInt8(ascii: " "), line[i] != UInt8(ascii: "\t") { i += 1 }
            let valueText = String(decoding: line[valueStart..<i], as: UTF8.self)
            guard let value = parseValue(valueText) else { throw fail("bad value '\(valueText)' for \(name)") }
            out.append(Sample(name: name, labels: labels, value: value))
        }
        return out
    }

    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: ":")
    }
}
