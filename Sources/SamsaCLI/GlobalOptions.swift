import ArgumentParser
import Foundation
import KafkaClient

/// Options every client command shares, with the flag names of Kafka's own tools.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("bootstrap-server"), help: "Broker(s) to bootstrap from, host:port[,host:port...].")
    var bootstrapServer: String = ProcessInfo.processInfo.environment["SAMSA_BOOTSTRAP_SERVER"] ?? "127.0.0.1:9092"

    @Option(name: .customLong("command-config"), help: "A client properties file (bootstrap.servers, security.protocol, ...).")
    var commandConfig: String?

    @Option(name: [.customShort("X"), .customLong("property")], help: "A client property as key=value (repeatable); overrides --command-config.")
    var property: [String] = []

    /// The client properties: the file, then -X overrides; --bootstrap-server wins unless the
    /// file or -X sets bootstrap.servers and the flag was left at its default.
    func properties(defaults: ClientProperties = [:]) throws -> ClientProperties {
        var props = defaults
        if let path = commandConfig {
            props = props.merging(try ClientProperties.load(path: path))
        }
        for entry in property {
            let (key, value) = try splitKeyValue(entry, flag: "-X")
            props[key] = value
        }
        if props["bootstrap.servers"] == nil || CommandLine.arguments.contains("--bootstrap-server") {
            props["bootstrap.servers"] = bootstrapServer
        }
        return props
    }
}

/// `--output table|json` for commands with tabular output.
struct OutputOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument { case table, json }

    @Option(help: "Output format: table or json.")
    var output: Format = .table
}

/// Splits `key=value` (value may contain '='), for -X, --config and --header.
func splitKeyValue(_ entry: String, flag: String) throws -> (String, String) {
    guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
        throw ValidationError("\(flag) expects key=value, got '\(entry)'")
    }
    return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
}

/// Prints rows as an aligned table (Kafka tools' style: upper-case headers, two spaces).
func printTable(_ headers: [String], _ rows: [[String]]) {
    var widths = headers.map(\.count)
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(headers))
    for row in rows { print(line(row)) }
}

/// Prints a value as pretty JSON with sorted keys (stable output for scripts and tests).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Throws the first failed item of a batched admin result as one clear error.
func throwFirstFailure(_ results: [AdminItemResult], _ context: String) throws {
    if let failed = results.first(where: { !$0.succeeded }), let error = failed.error(context) { throw error }
}

/// Parses `--from-time` / `--to-datetime`: ms since the epoch, or ISO-8601 (with or without
/// fractional seconds; a missing zone means UTC).
func parseTimestamp(_ text: String) throws -> Int64 {
    if let ms = Int64(text) { return ms }
    let formats: [ISO8601DateFormatter.Options] = [
        [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
        [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate],
        [.withFullDate],
    ]
    for options in formats {
        let f = ISO8601DateFormatter()
        f.formatOptions = options
        f.timeZone = TimeZone(identifier: "UTC")
        if let date = f.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
    }
    throw ValidationError("cannot parse time '\(text)': use ms since the epoch or ISO-8601 (2026-11-26T13:00:00Z)")
}

/// Runs `body` with an admin client and closes it afterwards, also on errors.
func withAdmin<T>(_ global: GlobalOptions, _ body: (KafkaAdmin) async throws -> T) async throws -> T {
    let admin = KafkaAdmin(config: try ClientConfig(properties: try global.properties()))
    do {
        let result = try await body(admin)
        await admin.close()
        return result
    } catch {
        await admin.close()
        throw error
    }
}
