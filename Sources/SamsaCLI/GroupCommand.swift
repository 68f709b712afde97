import ArgumentParser
import Foundation
import KafkaClient

/// `samsa group list|describe|reset-offsets|delete`, modelled on `kafka-consumer-groups.sh`.
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List, describe, reset and delete consumer groups.",
        subcommands: [List.self, Describe.self, ResetOffsets.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups with their state.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let groups = try await withAdmin(global) { try await $0.listGroups() }
            if output.output == .json { return try printJSON(groups) }
            printTable(["GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR"],
                       groups.map { [$0.groupId, $0.state.isEmpty ? "-" : $0.state, $0.protocolType.isEmpty ? "-" : $0.protocolType, String($0.coordinator)] })
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each partition's committed offset, log end, lag and owner.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Groups to describe.")
        var groups: [String]
        @Flag(help: "List members and their assignments instead of offsets.")
        var members = false


        struct Row: Encodable {
            var group: String
            var topic: String
            var partition: Int32
            var currentOffset: Int64?
            var logEndOffset: Int64
            var lag: Int64
            var timeLagMs: Int64?
            var consumerId: String?
            var host: String?
            var clientId: String?
        }

        func run() async throws {
        // Checked in run(), not validate(): ArgumentParser reports a failed validate() in
        // place of an unknown option, so `--bogus x` said only what was missing.
            if groups.isEmpty { throw ConsoleCLIError("name at least one group (see samsa group describe --help)") }
            let (descriptions, lags) = try await withAdmin(global) { admin in
                (try await admin.describeGroups(groups), members ? [:] : try await admin.lag(groups: groups))
            }
            var described: [GroupDescription] = []
            var missing: [String] = []
            for g in groups {
                guard let result = descriptions[g] else { continue }
                let d = try result.get()
                // DescribeGroups answers an unknown group with state Dead and no error; Kafka's
                // kafka-consumer-groups says it does not exist (this once exited 0, "state Dead").
                if d.state == "Dead" && d.members.isEmpty { missing.append(g) } else { described.append(d) }
            }
            // Unknown groups fail the command (after the known ones are printed).
            if !missing.isEmpty && described.isEmpty { throw GroupNotFound(groups: missing) }
            try show(described, lags)
            if !missing.isEmpty { throw GroupNotFound(groups: missing) }
        }

        private func show(_ described: [GroupDescription], _ lags: [String: Result<[PartitionLag], KafkaClientError>]) throws {
            if members {
                if output.output == .json { return try printJSON(described) }
                var rows: [[String]] = []
                for g in described {
                    for m in g.members {
                        rows.append([g.groupId, m.memberId, m.clientHost, m.clientId,
                                     m.assignment.isEmpty ? "-" : m.assignment.map(\.description).joined(separator: ",")])
                    }
                }
                return printTable(["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "ASSIGNMENT"], rows)
            }
            var rows: [Row] = []
            for g in described {
                var owner: [TopicPartition: GroupMemberDescription] = [:]
                for m in g.members { for tp in m.assignment { owner[tp] = m } }
                for lag in try lags[g.groupId]?.get() ?? [] {
                    let m = owner[lag.topicPartition]
                    rows.append(Row(group: g.groupId, topic: lag.topicPartition.topic, partition: lag.topicPartition.partition,
                                    currentOffset: lag.committedOffset, logEndOffset: lag.highWatermark, lag: lag.lag,
                                    timeLagMs: lag.timeLagMs, consumerId: m?.memberId, host: m?.clientHost, clientId: m?.clientId))
                }
            }
            if output.output == .json { return try printJSON(rows) }
            for g in described {
                print("Group \(g.groupId): state \(g.state.isEmpty ? "unknown" : g.state), \(g.members.count) member(s)" +
                      (g.protocolName.isEmpty ? "" : ", assignor \(g.protocolName)"))
            }
            printTable(["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "TIME-LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"],
                       rows.map { r in [r.group, r.topic, String(r.partition), r.currentOffset.map(String.init) ?? "-", String(r.logEndOffset),
                                        String(r.lag), r.timeLagMs.map { formatMs($0) } ?? "-", r.consumerId ?? "-", r.host ?? "-", r.clientId ?? "-"] })
        }

        /// Kafka's wording ("Consumer group 'x' does not exist."); exit status 1.
        struct GroupNotFound: Error, CustomStringConvertible {
            var groups: [String]
            var description: String { groups.map { "Consumer group '\($0)' does not exist." }.joined(separator: "\n") }
        }
    }

    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-offsets",
            abstract: "Move a group's committed offsets (a dry run unless --execute; the group must have no active members).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "The group.")
        var group: String
        @Option(help: "Topics whose partitions to reset (repeatable).")
        var topic: [String]
        @Flag(name: .customLong("to-earliest")) var toEarliest = false
        @Flag(name: .customLong("to-latest")) var toLatest = false
        @Option(name: .customLong("to-offset"), parsing: .unconditional) var toOffset: Int64?
        @Option(name: .customLong("shift-by"), parsing: .unconditional, help: "Move by N (may be negative).") var shiftBy: Int64?
        @Option(name: .customLong("to-datetime"), help: "ISO-8601 time or ms since the epoch.") var toDatetime: String?
        @Flag(help: "Print the plan only (the default).") var dryRun = false
        @Flag(help: "Commit the new offsets.") var execute = false

        func run() async throws {
        // Checked in run(), not validate(): ArgumentParser reports a failed validate() in
        // place of an unknown option, so `--bogus x` said only what was missing.
            let chosen = [toEarliest, toLatest, toOffset != nil, shiftBy != nil, toDatetime != nil].filter { $0 }.count
            if chosen != 1 { throw ConsoleCLIError("choose exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime") }
            if topic.isEmpty { throw ConsoleCLIError("give at least one --topic") }
            if dryRun && execute { throw ConsoleCLIError("--dry-run and --execute are exclusive") }
            let target: OffsetResetTarget
            if toEarliest { target = .earliest } else if toLatest { target = .latest } else if let o = toOffset { target = .offset(o) }
            else if let s = shiftBy { target = .shiftBy(s) } else { target = .timestamp(try parseTimestamp(toDatetime!)) }
            let plan = try await withAdmin(global) { admin in
                let plan = try await admin.planOffsetReset(group: group, topics: topic, to: target)
                if execute { try await admin.executeOffsetReset(group: group, plan: plan) }
                return plan
            }
            if output.output == .json { return try printJSON(plan) }
            printTable(["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"],
                       plan.map { [group, $0.topicPartition.topic, String($0.topicPartition.partition),
                                   $0.currentOffset.map(String.init) ?? "-", String($0.targetOffset)] })
            if !execute { print("(dry run: add --execute to commit these offsets)") }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete groups that have no active members.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Groups to delete (repeatable).")
        var group: [String]

        func run() async throws {
        // Checked in run(), not validate(): ArgumentParser reports a failed validate() in
        // place of an unknown option, so `--bogus x` said only what was missing.
            if group.isEmpty { throw ConsoleCLIError("give at least one --group (see samsa group delete --help)") }
            let results = try await withAdmin(global) { try await $0.deleteGroups(group) }
            try throwFirstFailure(results, "delete group")
            for r in results { print("Deleted group \(r.name).") }
        }
    }
}

/// 1234 -> "1.2s", 90000 -> "1m30s": the time-lag column.
func formatMs(_ ms: Int64) -> String {
    if ms < 1000 { return "\(ms)ms" }
    let seconds = ms / 1000
    if seconds < 60 { return String(format: "%.1fs", Double(ms) / 1000) }
    if seconds < 3600 { return "\(seconds / 60)m\(seconds % 60)s" }
    return "\(seconds / 3600)h\((seconds % 3600) / 60)m"
}
