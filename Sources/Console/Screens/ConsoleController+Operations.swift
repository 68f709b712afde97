import Foundation
import TerminalUI

/// The operator-depth part of the controller (issue 10 items 9-12): the Configs and Members
/// panes, produce one message, copy and export messages, add partitions, delete a group.
/// Kept apart from the navigation core; like it, no I/O: keys in, effects out.
extension ConsoleController {
    // MARK: - Configs pane

    /// Opens a topic's or broker's Configs pane and asks for its entries.
    func openConfigs(_ target: ConfigTarget, _ now: Date) -> [ConsoleEffect] {
        var effects = push(.configs(target))
        configData[target] = ConfigData(rows: configData[target]?.rows, error: nil)
        configVersion += 1
        effects.append(.perform(.describeConfigs(target)))
        return effects
    }

    func configKey(_ target: ConfigTarget, _ key: Key, _ sel: String?, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        let row = sel.flatMap { name in configData[target]?.rows?.first { $0.name == name } }
        switch key {
        case .enter, .char("e"):
            guard let row else { return [] }
            if row.isReadOnly {
                say("\(row.name) is read-only" + (target.isBroker ? ": Kafka allows no dynamic change (server.properties, then restart)" : ""), .warn, now)
                return []
            }
            return mutating("edit config", now) {
                mode = .form(Form(title: "Set \(row.name) on \(target)", fields: [
                    FormField(key: "value", label: "Value", value: row.isSensitive ? "" : (row.value ?? ""),
                              hint: "now from \(row.source.rawValue)" + (row.isSensitive ? "; sensitive: the current value is hidden" : "")),
                ], submitLabel: "set"), .setConfig(target, key: row.name))
                return []
            }
        case .char("a"):
            return mutating("edit config", now) {
                mode = .form(Form(title: "Set a config on \(target)", fields: [
                    FormField(key: "key", label: "Key", hint: target.isBroker ? "a dynamic broker config" : "a topic config, e.g. retention.ms") { k in
                        k.isEmpty ? "required" : (k.contains(where: { $0 == " " || $0 == "=" }) ? "no spaces or '='" : nil)
                    },
                    FormField(key: "value", label: "Value"),
                ], submitLabel: "set"), .addConfig(target))
                return []
            }
        case .char("d"), .delete:
            guard let row else { return [] }
            guard row.isRemovable(in: target) else {
                say("\(row.name) has no override on \(target) to remove (its value comes from \(row.source.rawValue))", .warn, now)
                return []
            }
            return mutating("remove override", now) {
                mode = .confirm("remove the override \(row.name)=\(row.value ?? "null") of \(target)? (y/n)", .deleteConfig(target, key: row.name))
                return []
            }
        case .char("r"):
            configData[target]?.error = nil
            return [.perform(.describeConfigs(target))]
        default: return []
        }
    }

    // MARK: - Topics: add partitions, produce one message

    func openAddPartitions(_ topic: String, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        mutating("add partitions", now) {
            let current = s.topic(named: topic)?.partitions.count ?? 0
            mode = .form(Form(title: "Add partitions to \(topic)", fields: [
                FormField(key: "total", label: "New total", value: "\(current + 1)",
                          hint: current > 0 ? "now \(Format.plural(current, "partition")); partitions cannot be removed" : "the new partition count") { v in
                    guard let n = Int32(v) else { return "a whole number" }
                    if current > 0 && n <= current { return "more than the current \(current)" }
                    return n > 100_000 ? "at most 100000" : (n < 1 ? "at least 1" : nil)
                },
            ], submitLabel: "add",
            // kafka-topics.sh --alter --partitions prints this warning; keyed data moves.
            note: "If messages have keys, a key's partition changes: per-key ordering breaks."), .addPartitions(topic: topic))
            return []
        }
    }

    /// "k=v,k2=v2" -> headers in order (values may be empty; duplicates kept, as Kafka allows).
    static func parseHeaders(_ s: String) -> Result<[MessageHeader], ConfigParseError> {
        var out: [MessageHeader] = []
        for item in s.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { return .failure(ConfigParseError(item: item)) }
            out.append(MessageHeader(key: String(item[..<eq]), value: Array(item[item.index(after: eq)...].utf8)))
        }
        return .success(out)
    }

    func openProduceMessage(_ topic: String, _ partition: Int32?, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        mutating("produce", now) {
            let count = s.topic(named: topic)?.partitions.count
            mode = .form(Form(title: "Produce a message to \(topic)", fields: [
                FormField(key: "partition", label: "Partition", value: partition.map(String.init) ?? "",
                          hint: "empty = by key (murmur2, as Kafka's producers)" + (count.map { "; 0-\($0 - 1)" } ?? "")) { v in
                    if v.isEmpty { return nil }
                    guard let p = Int32(v), p >= 0 else { return "empty or a partition number" }
                    if let count, p >= count { return "\(topic) has partitions 0-\(count - 1)" }
                    return nil
                },
                FormField(key: "key", label: "Key", hint: "empty = null key"),
                FormField(key: "value", label: "Value", hint: "sent as typed (UTF-8)"),
                FormField(key: "headers", label: "Headers", hint: "k=v,k2=v2 (optional)") { h in
                    if case .failure(let e) = Self.parseHeaders(h) { return "'\(e.item)' is not key=value" }
                    return nil
                },
            ], submitLabel: "produce"), .produceMessage(topic: topic))
            return []
        }
    }

    // MARK: - Groups: members, delete

    func openDeleteGroup(_ group: String, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        mutating("delete group", now) {
            // Kafka answers NON_EMPTY_GROUP while members are connected: do not offer it.
            if let g = s.group(id: group), !g.members.isEmpty {
                say("group \(group) has \(Format.plural(g.members.count, "active member")): Kafka refuses to delete it; stop its consumers first", .warn, now)
                return []
            }
            mode = .form(Form(title: "Delete group \(group)", fields: [
                FormField(key: "confirm", label: "Type name", hint: "type \(group) to delete the group and its committed offsets") { v in
                    v == group ? nil : "does not match the group name"
                },
            ], submitLabel: "delete"), .deleteGroup(group))
            return []
        }
    }

    // MARK: - Messages: copy, export

    func openCopy(_ m: ConsoleMessage, topic: String, _ now: Date) -> [ConsoleEffect] {
        mode = .form(Form(title: "Copy message \(m.partition)/\(m.offset)", fields: [
            FormField(key: "what", label: "What", choices: ["value", "key", "headers", "json"]),
            FormField(key: "to", label: "To", choices: ["clipboard", "file"]),
            FormField(key: "file", label: "File", value: "\(topic)-\(m.partition)-\(m.offset).txt", hint: "for To: file; never overwritten"),
        ], submitLabel: "copy"), .copyMessage(m, topic: topic))
        return []
    }

    func openExport(_ topic: String, _ partition: Int32?, _ now: Date) -> [ConsoleEffect] {
        let stamp = Self.fileStamp.string(from: now)
        // One partition: from the first record the pane holds. Several: offsets differ per
        // partition, so from the earliest of each.
        let first = partition.flatMap { p in messages.filter { $0.partition == p }.map(\.offset).min() }
        mode = .form(Form(title: "Export messages of \(topic)", fields: [
            FormField(key: "partition", label: "Partition", value: partition.map(String.init) ?? "", hint: "empty = every partition") { v in
                v.isEmpty || (Int32(v).map { $0 >= 0 } ?? false) ? nil : "empty or a partition number"
            },
            FormField(key: "from", label: "From offset", value: first.map(String.init) ?? "earliest", hint: "an offset or earliest (per partition)") { v in
                v == "earliest" || (Int64(v).map { $0 >= 0 } ?? false) ? nil : "an offset >= 0 or earliest"
            },
            FormField(key: "to", label: "To offset", hint: "stop before this offset; empty = the end now") { v in
                v.isEmpty || (Int64(v).map { $0 >= 0 } ?? false) ? nil : "empty or an offset >= 0"
            },
            FormField(key: "max", label: "At most", value: "10000", validate: Self.positiveInt(10_000_000)),
            FormField(key: "file", label: "File", value: "\(topic)\(partition.map { "-\($0)" } ?? "")-\(stamp).jsonl",
                      hint: "JSON lines as samsa consume --output json; never overwritten"),
        ], submitLabel: "export") { v in
            if let f = Int64(v["from"] ?? ""), let t = Int64(v["to"] ?? ""), t <= f { return "To offset must be after From offset" }
            return (v["file"] ?? "").isEmpty ? "File: required" : nil
        }, .export(topic: topic))
        return []
    }

    static let fileStamp: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f
    }()

    /// The bytes a copy takes and a word for them.
    static func copyContent(_ m: ConsoleMessage, what: String, topic: String) -> ([UInt8], String) {
        switch what {
        case "key": return (m.key ?? [], "the key")
        case "headers":
            let text = m.headers.map { "\($0.key)=\(Format.payload($0.value))" }.joined(separator: "\n")
            return (Array(text.utf8), "the headers")
        case "json": return (Array((ActionExecutor.jsonLine(topic: topic, m) + "\n").utf8), "the message as JSON")
        default: return (m.value ?? [], "the value")
        }
    }

    func submitOperation(_ purpose: FormPurpose, _ v: [String: String], _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch purpose {
        case .addPartitions(let t):
            return perform(.addPartitions(topic: t, total: Int32(v["total"] ?? "") ?? 0), now)
        case .deleteGroup(let g):
            return perform(.deleteGroup(g), now)
        case .produceMessage(let t):
            let headers = (try? Self.parseHeaders(v["headers"] ?? "").get()) ?? []
            let key = v["key"] ?? ""
            return perform(.produceMessage(SingleMessage(topic: t, partition: Int32(v["partition"] ?? ""), key: key.isEmpty ? nil : Array(key.utf8),
                                                         value: Array((v["value"] ?? "").utf8), headers: headers)), now)
        case .setConfig(let target, let key):
            return perform(.setConfig(target, key: key, value: v["value"] ?? ""), now)
        case .addConfig(let target):
            return perform(.setConfig(target, key: v["key"] ?? "", value: v["value"] ?? ""), now)
        case .copyMessage(let m, let topic):
            let (bytes, what) = Self.copyContent(m, what: v["what"] ?? "value", topic: topic)
            if v["to"] == "file" { return perform(.writeFile(path: v["file"] ?? "", contents: bytes, what: what), now) }
            guard bytes.count <= OSC52.maxBytes else {
                say("\(what) is \(Format.bytes(Int64(bytes.count))): too large for a terminal clipboard; copy to a file", .warn, now)
                return []
            }
            if let text = String(validating: bytes, as: UTF8.self) { return [.clipboard(text)] }
            say("\(what) is not UTF-8: copied as base64", .dim, now)
            return [.clipboard(Data(bytes).base64EncodedString())]
        case .export(let t):
            let from = Int64(v["from"] ?? "") ?? 0
            let spec = ExportSpec(topic: t, partition: Int32(v["partition"] ?? ""), fromOffset: from, toOffset: Int64(v["to"] ?? ""),
                                  maxMessages: Int(v["max"] ?? "") ?? 10_000, path: v["file"] ?? "")
            return perform(.exportMessages(spec), now)
        default: return []
        }
    }

    // MARK: - Events

    func receiveConfigs(_ target: ConfigTarget, rows: [ConfigRow]?, error: String?) {
        var d = configData[target] ?? ConfigData()
        if let rows { d.rows = rows; d.error = nil } else { d.error = error }
        configData[target] = d
        configVersion += 1
    }
}

/// A Configs pane's data: nil rows while the first answer is awaited.
struct ConfigData {
    var rows: [ConfigRow]?
    var error: String?
}
