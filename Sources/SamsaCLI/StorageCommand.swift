import ArgumentParser
import Broker
import Foundation
import KafkaProtocol

/// `samsa storage random-uuid | format | info`: Kafka's `kafka-storage.sh`, same subcommands,
/// flags and messages. A node with `process.roles` refuses to start until its directories
/// are formatted; the single node (no `process.roles`) never needs this.
struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Format and inspect a KRaft node's storage (kafka-storage.sh).",
        discussion: """
        A node with process.roles set (a KRaft controller, broker or both) does not format its own \
        storage: run `samsa storage format -t $(samsa storage random-uuid) -c server.properties` once \
        per node, with the same cluster id on every node of the cluster.
        """,
        subcommands: [RandomUUID.self, Format.self, Info.self]
    )

    struct RandomUUID: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "random-uuid", abstract: "Print a random UUID (a cluster id).")
        func run() {
            print(KRaftStorage.randomUUID { KafkaUUID.random() })
        }
    }

    struct Format: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Format the log directories and metadata log directory of this node.",
            discussion: "Writes meta.properties (version=1, node.id, cluster.id, directory.id) into every log dir and the metadata.log.dir.")

        @Option(name: [.customLong("config"), .customShort("c")], help: "The server.properties to use.")
        var config: String

        @Option(name: [.customLong("cluster-id"), .customShort("t")], help: "The cluster id to use (samsa storage random-uuid); required in KRaft mode.")
        var clusterId: String?

        @Flag(name: [.customLong("standalone"), .customShort("s")], help: "Initialize a single-node controller quorum (this node).")
        var standalone = false

        @Option(name: [.customLong("initial-controllers"), .customShort("I")],
                help: ArgumentHelp("The initial controller quorum, the same on every node.", valueName: "id@host:port:directoryId,..."))
        var initialControllers: String?

        @Flag(name: [.customLong("no-initial-controllers"), .customShort("N")], help: "Join a quorum that other controllers bootstrap.")
        var noInitialControllers = false

        @Flag(name: [.customLong("ignore-formatted"), .customShort("g")], help: "Skip directories that are already formatted.")
        var ignoreFormatted = false

        @Option(name: [.customLong("add-scram"), .customShort("S")],
                help: ArgumentHelp("A SCRAM user in the bootstrap records (KIP-900); repeatable. A single node (no process.roles) takes this alone, without --cluster-id.",
                                   valueName: "SCRAM-SHA-256=[name=alice,password=alice-secret]"))
        var addScram: [String] = []

        /// Samsa's addition to KIP-900: the same values read from a file, so passwords never sit
        /// in the process's command line (`/proc/PID/cmdline` and `ps` show it to every local
        /// user; a 0600 file does not). `samsa demo --secure` seeds its users this way.
        @Option(name: .customLong("add-scram-file"),
                help: ArgumentHelp("A file of --add-scram values, one per line (blank lines and lines starting with # are skipped); repeatable.",
                                   valueName: "path"))
        var addScramFiles: [String] = []

        func run() throws {
            let brokerConfig = try loadConfig(config)
            var addScram = self.addScram
            for path in addScramFiles {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    failTersely("Cannot read --add-scram-file \(path)")
                }
                addScram += Self.scramLines(text)
            }
            if brokerConfig.isKRaftMode, clusterId == nil { failTersely("Missing required option: --cluster-id") }
            let clusterId = self.clusterId ?? ""
            do {
                try KRaftStorage.format(
                    config: brokerConfig,
                    options: .init(clusterId: clusterId, standalone: standalone, initialControllers: initialControllers,
                                   noInitialControllers: noInitialControllers, ignoreFormatted: ignoreFormatted, addScram: addScram),
                    random: { KafkaUUID.random() }, now: Int64(Date().timeIntervalSince1970 * 1000), output: { print($0) })
            } catch {
                failTersely(error.message)
            }
        }

        /// The `--add-scram` values of an `--add-scram-file`: each line trimmed, blank lines
        /// and `#` comments skipped.
        static func scramLines(_ text: String) -> [String] {
            text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what the log directories of this node hold.")

        @Option(name: [.customLong("config"), .customShort("c")], help: "The server.properties to use.")
        var config: String

        func run() throws {
            let code = KRaftStorage.info(config: try loadConfig(config), output: { print($0) })
            if code != 0 { throw ExitCode(code) }
        }
    }
}

/// Reads the node's configuration; a bad one is one line on stderr and exit code 1.
private func loadConfig(_ path: String) throws -> BrokerConfig {
    do {
        return try BrokerConfig.load(path: path, overrides: [])
    } catch {
        failTersely("Invalid configuration: \(error)")
    }
}

/// Kafka's TerseFailure: the message alone on stderr, exit code 1.
private func failTersely(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}
