import ArgumentParser
import KafkaClient

/// `samsa topic list|describe|create|delete|alter-config|add-partitions|elect-leaders|reassign`,
/// with the flags of `kafka-topics.sh` / `kafka-configs.sh` / `kafka-leader-election.sh` /
/// `kafka-reassign-partitions.sh`.
struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "List, describe, create, delete and configure topics.",
        subcommands: [List.self, Describe.self, Create.self, Delete.self, AlterConfig.self, AddPartitions.self,
                      ElectLeaders.self, Reassign.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topic names.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Flag(help: "Include internal topics such as __consumer_offsets.")
        var includeInternal = false

        func run() async throws {
            let topics = try await withAdmin(global) { try await $0.describeTopics(nil, includeInternal: includeInternal) }
            if output.output == .json { return try printJSON(topics.map(\.name)) }
            printTable(["TOPIC", "PARTITIONS", "REPLICATION"],
                       topics.map { [$0.name, String($0.partitions.count), String($0.partitions.first?.replicas.count ?? 0)] })
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show partitions with leader, leader epoch, replicas, ISR and offline replicas.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Topics to describe (default: all).")
        var topics: [String] = []
        @Flag(help: "Also show each topic's configuration.")
        var configs = false

        func run() async throws {
            let (described, configEntries) = try await withAdmin(global) { admin in
                let described = try await admin.describeTopics(topics.isEmpty ? nil : topics)
                var entries: [String: [ConfigEntry]] = [:]
                if configs {
                    let found = try await admin.describeConfigs(described.map { .topic($0.name) })
                    for (resource, result) in found { entries[resource.name] = (try? result.get()) ?? [] }
                }
                return (described, entries)
            }
            if let missing = described.first(where: { $0.errorCode != 0 }) {
                throw KafkaClientError.unknownTopic(missing.name)
            }
            if output.output == .json {
                struct Out: Encodable { var topic: TopicInfo; var configs: [ConfigEntry]? }
                return try printJSON(described.map { Out(topic: $0, configs: configs ? configEntries[$0.name] ?? [] : nil) })
            }
            func ids(_ list: [Int32]) -> String { list.isEmpty ? "-" : list.map(String.init).joined(separator: ",") }
            var rows: [[String]] = []
            for t in described {
                for p in t.partitions {
                    rows.append([t.name, String(p.partition), p.leader >= 0 ? String(p.leader) : "none",
                                 p.leaderEpoch >= 0 ? String(p.leaderEpoch) : "-",
                                 ids(p.replicas), ids(p.isr), ids(p.offlineReplicas)])
                }
            }
            printTable(["TOPIC", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "OFFLINE"], rows)
            if configs {
                for t in described {
                    let set = (configEntries[t.name] ?? []).filter { !$0.isDefault }
                    print("\nConfigs for \(t.name):" + (set.isEmpty ? " (all defaults)" : ""))
                    for e in set { print("  \(e.name)=\(e.isSensitive ? "<sensitive>" : e.value ?? "")") }
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The topic name.")
        var name: String
        @Option(help: "Number of partitions (default: the broker's num.partitions).")
        var partitions: Int32 = -1
        @Option(name: .customLong("replication-factor"), help: "Replicas per partition (default: the broker's default.replication.factor).")
        var replicationFactor: Int16 = -1
        @Option(help: "A topic config as key=value (repeatable), e.g. --config cleanup.policy=compact.")
        var config: [String] = []
        @Flag(name: .customLong("if-not-exists"), help: "Succeed if the topic already exists.")
        var ifNotExists = false

        func run() async throws {
            var configs: [String: String] = [:]
            for entry in config {
                let (k, v) = try splitKeyValue(entry, flag: "--config")
                configs[k] = v
            }
            let results = try await withAdmin(global) {
                try await $0.createTopics([NewTopic(name: name, partitions: partitions, replicationFactor: replicationFactor, configs: configs)])
            }
            if ifNotExists, results.first?.errorCode == 36 { return }
            try throwFirstFailure(results, "create topic")
            print("Created topic \(name).")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete topics.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Topics to delete.")
        var names: [String]

        func run() async throws {
        // Checked in run(), not validate(): ArgumentParser reports a failed validate() in
        // place of an unknown option, so `--bogus x` said only what was missing.
            if names.isEmpty { throw ConsoleCLIError("name at least one topic to delete (see samsa topic delete --help)") }
            let results = try await withAdmin(global) { try await $0.deleteTopics(names) }
            try throwFirstFailure(results, "delete topic")
            for r in results { print("Deleted topic \(r.name).") }
        }
    }

    struct AlterConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "alter-config", abstract: "Set or delete topic configs (kafka-configs --alter).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The topic name.")
        var name: String
        @Option(name: .customLong("add-config"), help: "key=value to set (repeatable; a,b lists in Kafka's [a,b] form are passed through).")
        var addConfig: [String] = []
        @Option(name: .customLong("delete-config"), help: "Key to reset to its default (repeatable).")
        var deleteConfig: [String] = []

        func run() async throws {
        // Checked in run(), not validate(): ArgumentParser reports a failed validate() in
        // place of an unknown option, so `--bogus x` said only what was missing.
            if addConfig.isEmpty && deleteConfig.isEmpty { throw ConsoleCLIError("give --add-config and/or --delete-config (see samsa topic alter-config --help)") }
            var changes: [ConfigChange] = []
            for entry in addConfig {
                let (k, v) = try splitKeyValue(entry, flag: "--add-config")
                changes.append(.set(k, v))
            }
            changes += deleteConfig.map { .delete($0) }
            let results = try await withAdmin(global) { try await $0.alterConfigs([.topic(name): changes]) }
            try throwFirstFailure(results, "alter configs of")
            print("Updated configs of topic \(name).")
        }
    }

    struct AddPartitions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-partitions", abstract: "Raise a topic's partition count (kafka-topics --alter --partitions).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The topic name.")
        var name: String
        @Option(help: "The new total number of partitions.")
        var partitions: Int32

        func run() async throws {
            let results = try await withAdmin(global) { try await $0.createPartitions([name: partitions]) }
            try throwFirstFailure(results, "add partitions to")
            print("Topic \(name) now has \(partitions) partitions.")
        }
    }
}
