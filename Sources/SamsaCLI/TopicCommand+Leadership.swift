import ArgumentParser
import Foundation
import KafkaClient

/// `samsa topic elect-leaders` (kafka-leader-election.sh) and `samsa topic reassign`
/// (kafka-reassign-partitions.sh), with those tools' flag names and JSON files.
extension TopicCommand {
    struct ElectLeaders: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "elect-leaders",
            abstract: "Elect partition leaders (kafka-leader-election.sh): preferred, or unclean for leaderless partitions.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .customLong("election-type"), help: "preferred or unclean.")
        var electionType: String
        @Option(help: "The topic whose partitions to elect for.")
        var topic: String?
        @Option(help: "One partition of --topic (default: all its partitions).")
        var partition: Int32?
        @Flag(name: .customLong("all-topic-partitions"), help: "Every partition of every topic.")
        var allTopicPartitions = false
        @Option(name: .customLong("path-to-json-file"), help: "A file {\"partitions\": [{\"topic\": \"t\", \"partition\": 0}, ...]}.")
        var pathToJsonFile: String?

        func run() async throws {
            let type: ElectionType
            switch electionType.lowercased() {
            case "preferred": type = .preferred
            case "unclean": type = .unclean
            default: throw ConsoleCLIError("--election-type must be preferred or unclean, not \(electionType)")
            }
            let sources = [topic != nil, allTopicPartitions, pathToJsonFile != nil].filter { $0 }.count
            if sources != 1 { throw ConsoleCLIError("give exactly one of --topic, --all-topic-partitions, --path-to-json-file") }
            if partition != nil && topic == nil { throw ConsoleCLIError("--partition needs --topic") }
            let results = try await withAdmin(global) { admin -> [TopicPartition: Result<Void, KafkaClientError>] in
                var partitions: [TopicPartition]?
                if let topic {
                    if let partition {
                        partitions = [TopicPartition(topic, partition)]
                    } else {
                        guard let info = try await admin.describeTopics([topic]).first, info.errorCode == 0 else {
                            throw KafkaClientError.unknownTopic(topic)
                        }
                        partitions = info.partitions.map { TopicPartition(topic, $0.partition) }
                    }
                } else if let pathToJsonFile {
                    struct File: Decodable { struct P: Decodable { var topic: String; var partition: Int32 }; var partitions: [P] }
                    let data = try Data(contentsOf: URL(fileURLWithPath: pathToJsonFile))
                    partitions = try JSONDecoder().decode(File.self, from: data).partitions.map { TopicPartition($0.topic, $0.partition) }
                }
                return try await admin.electLeaders(type, partitions: partitions)
            }
            let sorted = results.sorted { $0.key < $1.key }
            if output.output == .json {
                struct Out: Encodable { var topic: String; var partition: Int32; var error: String? }
                var rows: [Out] = []
                for (tp, r) in sorted {
                    var error: String?
                    if case .failure(let e) = r { error = e.description }
                    rows.append(Out(topic: tp.topic, partition: tp.partition, error: error))
                }
                return try printJSON(rows)
            }
            let elected = sorted.filter { if case .success = $0.value { return true } else { return false } }.map(\.key)
            if elected.isEmpty {
                print("No leader elections were performed.")
            } else {
                print("Successfully completed leader election (\(electionType.uppercased())) for partitions "
                      + elected.map(\.description).joined(separator: ", "))
            }
            var failed = false
            for (tp, r) in sorted {
                guard case .failure(let e) = r else { continue }
                if e.errorCode == 84 { print("Valid replica already elected for partitions \(tp)"); continue }  // ELECTION_NOT_NEEDED
                print("Error completing leader election for partition \(tp): \(e)")
                failed = true
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Reassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reassign",
            abstract: "Move partition replicas (kafka-reassign-partitions.sh --execute/--verify/--cancel/--list).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Flag(help: "Start the reassignment.")
        var execute = false
        @Flag(help: "Show whether each partition's reassignment is done (its replicas are the target).")
        var verify = false
        @Flag(help: "Cancel the running reassignments (replicas revert).")
        var cancel = false
        @Flag(help: "List every running reassignment.")
        var list = false
        @Option(name: .customLong("reassignment-json-file"),
                help: "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,2,3]}, ...]}")
        var reassignmentJsonFile: String?
        @Option(help: "Instead of a file: the topic of one partition to move.")
        var topic: String?
        @Option(help: "Instead of a file: the partition to move.")
        var partition: Int32?
        @Option(help: "Instead of a file: the target replicas, comma-separated (first = preferred leader).")
        var replicas: String?

        struct Plan: Codable {
            struct Entry: Codable { var topic: String; var partition: Int32; var replicas: [Int32] }
            var version: Int = 1
            var partitions: [Entry]
        }

        func plan() throws -> Plan {
            if let reassignmentJsonFile {
                let data = try Data(contentsOf: URL(fileURLWithPath: reassignmentJsonFile))
                return try JSONDecoder().decode(Plan.self, from: data)
            }
            guard let topic, let partition else {
                throw ConsoleCLIError("give --reassignment-json-file, or --topic and --partition (and --replicas for --execute)")
            }
            var target: [Int32] = []
            if let replicas {
                for s in replicas.split(separator: ",") {
                    guard let id = Int32(s.trimmingCharacters(in: .whitespaces)) else { throw ConsoleCLIError("bad broker id in --replicas: \(s)") }
                    target.append(id)
                }
            }
            return Plan(partitions: [.init(topic: topic, partition: partition, replicas: target)])
        }

        func run() async throws {
            if [execute, verify, cancel, list].filter({ $0 }).count != 1 {
                throw ConsoleCLIError("give exactly one of --execute, --verify, --cancel, --list")
            }
            if list {
                let ongoing = try await withAdmin(global) { try await $0.listPartitionReassignments(nil) }
                if output.output == .json { return try printJSON(ongoing) }
                if ongoing.isEmpty { return print("No partition reassignments are in progress.") }
                func ids(_ l: [Int32]) -> String { l.isEmpty ? "-" : l.map(String.init).joined(separator: ",") }
                printTable(["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING"],
                           ongoing.map { [$0.topicPartition.topic, String($0.topicPartition.partition), ids($0.replicas), ids($0.addingReplicas), ids($0.removingReplicas)] })
                return
            }
            let plan = try plan()
            if execute {
                if plan.partitions.contains(where: { $0.replicas.isEmpty }) { throw ConsoleCLIError("--execute needs the target replicas of every partition") }
                var targets: [TopicPartition: [Int32]?] = [:]
                for e in plan.partitions { targets[TopicPartition(e.topic, e.partition)] = e.replicas }
                let results = try await withAdmin(global) { admin in try await admin.alterPartitionReassignments(targets) }
                try report(results, verb: "reassignment")
                print("Successfully started partition reassignment\(plan.partitions.count == 1 ? "" : "s") for "
                      + plan.partitions.map { "\($0.topic)-\($0.partition)" }.joined(separator: ","))
            } else if cancel {
                var targets: [TopicPartition: [Int32]?] = [:]
                for e in plan.partitions { targets[TopicPartition(e.topic, e.partition)] = .some(nil) }
                let results = try await withAdmin(global) { try await $0.alterPartitionReassignments(targets) }
                try report(results, verb: "cancelling the reassignment")
                print("Successfully cancelled partition reassignment\(plan.partitions.count == 1 ? "" : "s") for "
                      + plan.partitions.map { "\($0.topic)-\($0.partition)" }.joined(separator: ","))
            } else {
                let (ongoing, described) = try await withAdmin(global) { admin -> ([PartitionReassignment], [TopicInfo]) in
                    let ongoing = try await admin.listPartitionReassignments(plan.partitions.map { TopicPartition($0.topic, $0.partition) })
                    let described = try await admin.describeTopics(Array(Set(plan.partitions.map(\.topic))).sorted())
                    return (ongoing, described)
                }
                var pending = false
                for e in plan.partitions {
                    let tp = TopicPartition(e.topic, e.partition)
                    let current = described.first { $0.name == e.topic }?.partitions.first { $0.partition == e.partition }?.replicas
                    if ongoing.contains(where: { $0.topicPartition == tp }) {
                        print("Reassignment of partition \(tp) is still in progress."); pending = true
                    } else if e.replicas.isEmpty || current == e.replicas {
                        print("Reassignment of partition \(tp) is completed.")
                    } else {
                        print("There is no active reassignment of partition \(tp), but replica set is "
                              + "\(current.map { $0.map(String.init).joined(separator: ",") } ?? "unknown") rather than "
                              + "\(e.replicas.map(String.init).joined(separator: ",")).")
                        pending = true
                    }
                }
                if pending { throw ExitCode(1) }
            }
        }

        private func report(_ results: [TopicPartition: Result<Void, KafkaClientError>], verb: String) throws {
            let failures = results.sorted { $0.key < $1.key }.compactMap { tp, r -> String? in
                if case .failure(let e) = r { return "\(tp): \(e)" } else { return nil }
            }
            if !failures.isEmpty { throw ConsoleCLIError("\(verb) failed for " + failures.joined(separator: "; ")) }
        }
    }
}
