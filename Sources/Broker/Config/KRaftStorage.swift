import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `samsa storage format | info` and the start-up check of a KRaft node's storage, as Kafka's
/// `kafka-storage.sh` (`StorageTool.scala`, `Formatter.java`, `MetaPropertiesEnsemble.java`).
///
/// Why a KRaft node never formats itself: "if a majority of the controllers were able to start
/// with an empty log directory, a leader might be able to be elected with missing committed
/// data" (Kafka ops guide §6.10). So a node with `process.roles` refuses to start until every
/// directory holds a `meta.properties` of one cluster id and its own node id, written by
/// ``format(config:options:random:output:)``. The single node (no `process.roles`) keeps
/// writing its own `meta.properties` at start-up (``MetaProperties/ensure``), as before.
///
/// Directories are the `log.dirs` plus `metadata.log.dir` (``BrokerConfig/allStorageDirs``).
/// Stateless; I/O is the small-file helpers of `TextFile.swift` (write temp, fsync, rename).
public enum KRaftStorage {
    /// The `metadata.version` a format bootstraps: Kafka 4.0's latest production level
    /// (4.0-IV3, feature level 25), the version whose records and APIs Samsa speaks.
    public static let metadataVersion = (name: "4.0-IV3", featureLevel: Int16(25))

    /// A refusal with Kafka's wording where Kafka has one: printed as one line, exit code 1
    /// (Kafka's `TerseFailure` / `FormatterException`).
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// What `format` was asked for (`kafka-storage.sh format` flags).
    public struct FormatOptions: Equatable, Sendable {
        public var clusterId: String
        /// `--standalone`: this controller is the whole initial quorum.
        public var standalone = false
        /// `--initial-controllers id@host:port:directoryId,...` (KIP-853).
        public var initialControllers: String?
        /// `--no-initial-controllers`: the node joins a quorum that others bootstrap.
        public var noInitialControllers = false
        /// `--ignore-formatted`: formatted directories are skipped, not an error.
        public var ignoreFormatted = false
        /// `--add-scram MECHANISM=[name=...,password=...]` (KIP-900), each as written.
        public var addScram: [String] = []

        public init(clusterId: String, standalone: Bool = false, initialControllers: String? = nil,
                    noInitialControllers: Bool = false, ignoreFormatted: Bool = false, addScram: [String] = []) {
            self.clusterId = clusterId; self.standalone = standalone; self.initialControllers = initialControllers
            self.noInitialControllers = noInitialControllers; self.ignoreFormatted = ignoreFormatted; self.addScram = addScram
        }
    }

    /// One entry of `--initial-controllers` (Kafka's `DynamicVoters`).
    public struct InitialController: Equatable, Sendable {
        public var id: Int32
        public var host: String
        public var port: Int
        public var directoryId: KafkaUUID
    }

    /// What one storage directory holds.
    public enum DirectoryState: Equatable, Sendable {
        case missing
        case notADirectory
        case unformatted
        /// `meta.properties` with its `version` (1 for KRaft; 0 was ZooKeeper's `broker.id` form).
        case formatted(MetaProperties, version: Int)
        case unreadable(String)
    }

    /// Reads `dir/meta.properties` without changing anything.
    public static func inspect(_ dir: String) -> DirectoryState {
        var st = stat()
        guard stat(dir, &st) == 0 else { return .missing }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return .notADirectory }
        let path = dir + "/" + MetaProperties.fileName
        guard fileExists(path) else { return .unformatted }
        let props: PropertiesFile
        do { props = PropertiesFile(parsing: try readTextFile(path)) } catch { return .unreadable("\(error)") }
        let version = props["version"].flatMap { Int($0.trimmingWhitespace()) } ?? 0
        let nodeText = props["node.id"] ?? (version == 0 ? props["broker.id"] : nil)
        guard let node = nodeText.flatMap({ Int32($0.trimmingWhitespace()) }), let cluster = props["cluster.id"]?.trimmingWhitespace(), !cluster.isEmpty else {
            return .unreadable("\(path) is malformed (node.id and cluster.id are required)")
        }
        return .formatted(MetaProperties(nodeId: node, clusterId: cluster, directoryId: props["directory.id"] ?? ""), version: version)
    }

    /// `kafka-storage.sh random-uuid`: a random id in Kafka's URL-safe base64 form, never one
    /// of the reserved ids (all-zero high bits with low bits below 100, as `Uuid.randomUuid`).
    public static func randomUUID(_ random: () -> KafkaUUID) -> KafkaUUID {
        while true {
            let id = random()
            if id.description.hasPrefix("-") { continue }  // Kafka re-draws ids that start with '-' (command-line safety)
            if isReserved(id) { continue }
            return id
        }
    }

    static func isReserved(_ id: KafkaUUID) -> Bool {
        id.mostSignificantBits == 0 && id.leastSignificantBits < 100
    }

    /// Parses `--initial-controllers` (`0@host:9093:dirId,1@...`), as `DynamicVoters.parse`.
    public static func parseInitialControllers(_ text: String) throws(Failure) -> [InitialController] {
        var out: [InitialController] = []
        for entry in text.split(separator: ",").map({ String($0).trimmingWhitespace() }) where !entry.isEmpty {
            func bad(_ why: String) -> Failure { Failure("Unable to parse --initial-controllers entry \(entry): \(why). Expected id@host:port:directoryId") }
            let parts = entry.split(separator: "@", maxSplits: 1).map(String.init)
            guard parts.count == 2, let id = Int32(parts[0]), id >= 0 else { throw bad("no node id") }
            // host may be an IPv6 literal in brackets; the directory id is after the last ':'.
            guard let lastColon = parts[1].lastIndex(of: ":") else { throw bad("no directory id") }
            let dirText = String(parts[1][parts[1].index(after: lastColon)...])
            let hostPort = String(parts[1][..<lastColon])
            guard let portColon = hostPort.lastIndex(of: ":"), let port = Int(hostPort[hostPort.index(after: portColon)...]),
                  (1...65535).contains(port) else { throw bad("no port") }
            var host = String(hostPort[..<portColon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw bad("no host") }
            guard let dir = KafkaUUID(dirText), !isReserved(dir) else { throw bad("\(dirText) is not a valid directory id") }
            guard !out.contains(where: { $0.id == id }) else { throw Failure("Node id \(id) is given twice in --initial-controllers") }
            out.append(InitialController(id: id, host: host, port: port, directoryId: dir))
        }
        guard !out.isEmpty else { throw Failure("--initial-controllers names no controllers") }
        return out
    }

    /// `kafka-storage.sh format`: checks the flags against the configuration (Kafka's rules and
    /// wording), then writes `meta.properties` (version 1, node.id, cluster.id, a fresh
    /// directory.id) into every unformatted directory, creating it. A directory already
    /// formatted is an error unless `ignoreFormatted`; one formatted for another cluster or node
    /// is always an error. Returns what was formatted.
    @discardableResult
    public static func format(config: BrokerConfig, options: FormatOptions, random: () -> KafkaUUID, now: Int64 = 0,
                              output: (String) -> Void) throws(Failure) -> [String] {
        let scram = try options.addScram.map { text throws(Failure) in try parseAddScram(text) }
        guard config.isKRaftMode else {
            guard !scram.isEmpty else {
                throw Failure("The configuration file appears to be for a single Samsa node (no process.roles): "
                    + "it formats its own storage at start-up. Formatting is only supported for nodes in KRaft mode (set process.roles); "
                    + "--add-scram alone writes the single node's bootstrap records.")
            }
            return try writeSingleNodeBootstrap(config: config, scram: scram, now: now, output: output)
        }
        let nodeId = config.kraft.nodeId
        let clusterId = options.clusterId.trimmingWhitespace()
        guard let uuid = KafkaUUID(clusterId), uuid.description == clusterId else {
            throw Failure("Cluster ID string \(clusterId) does not appear to be a valid UUID (22 characters of URL-safe base64, as printed by samsa storage random-uuid)")
        }
        if let configured = config.clusterId, configured != clusterId {
            throw Failure("cluster.id in the configuration is \(configured), but --cluster-id is \(clusterId)")
        }
        let modes = [options.standalone, options.initialControllers != nil, options.noInitialControllers].filter { $0 }.count
        guard modes <= 1 else {
            throw Failure("--standalone, --initial-controllers and --no-initial-controllers are mutually exclusive")
        }
        let isController = config.kraft.roles.contains(.controller)
        if options.standalone && !isController {
            throw Failure("You cannot use --standalone on a broker node.")
        }
        if (options.standalone || options.initialControllers != nil) && !config.kraft.voters.isEmpty {
            throw Failure("You cannot specify controller.quorum.voters and format the node with --initial-controllers or --standalone. "
                + "If you want to use dynamic quorum, please remove controller.quorum.voters and specify controller.quorum.bootstrap.servers instead.")
        }
        if isController, config.kraft.voters.isEmpty, modes == 0 {
            throw Failure("Because controller.quorum.voters is not set on this controller, you must specify one of the following: "
                + "--standalone, --initial-controllers, or --no-initial-controllers.")
        }
        var metadataDirectoryId: KafkaUUID?
        if let text = options.initialControllers {
            let controllers = try parseInitialControllers(text)
            metadataDirectoryId = controllers.first(where: { $0.id == nodeId })?.directoryId
        }

        // Inspect everything before writing anything: a refusal leaves the disk untouched.
        var empty: [String] = []
        var formatted: [String] = []
        for dir in config.allStorageDirs {
            switch inspect(dir) {
            case .missing, .unformatted:
                empty.append(dir)
            case .notADirectory:
                throw Failure("\(dir) is not a directory")
            case .unreadable(let why):
                throw Failure("Unable to read \(dir)/\(MetaProperties.fileName): \(why)")
            case let .formatted(meta, _):
                if meta.clusterId != clusterId {
                    throw Failure("Invalid cluster.id in: \(dir)/\(MetaProperties.fileName). Expected \(clusterId), but read \(meta.clusterId)")
                }
                if meta.nodeId != nodeId {
                    throw Failure("Stored node id \(meta.nodeId) doesn't match previous node id \(nodeId) in \(dir)/\(MetaProperties.fileName). "
                        + "If you moved your data, make sure your configured node id matches. If you intend to create a new node, "
                        + "you should remove all data in your data directories.")
                }
                formatted.append(dir)
            }
        }
        if let first = formatted.first, !options.ignoreFormatted {
            throw Failure("Log directory \(first) is already formatted. Use --ignore-formatted to ignore this directory and format the others.")
        }
        guard !empty.isEmpty else {
            output("All of the log directories are already formatted.")
            return []
        }
        var usedIds: Set<KafkaUUID> = []
        for dir in empty {
            let isMetadataDir = dir == config.metadataLogDir
            let kind = !isMetadataDir ? "data directory"
                : options.initialControllers == nil && !options.standalone ? "metadata directory"
                : metadataDirectoryId != nil || options.standalone ? "dynamic metadata voter directory" : "dynamic metadata directory"
            var directoryId = isMetadataDir ? (metadataDirectoryId ?? randomUUID(random)) : randomUUID(random)
            while usedIds.contains(directoryId) { directoryId = randomUUID(random) }
            usedIds.insert(directoryId)
            output("Formatting \(kind) \(dir) with metadata.version \(metadataVersion.name).")
            do {
                try makeDirectories(dir)
                // The bootstrap file first: meta.properties marks the directory formatted, so a
                // crash in between leaves it unformatted (format again), never half-formatted.
                if isMetadataDir { try writeBootstrapCheckpoint(directory: dir, now: now, records: bootstrapRecords + scram) }
                try MetaProperties(nodeId: nodeId, clusterId: clusterId, directoryId: directoryId.description).write(directory: dir)
            } catch {
                throw Failure("Error while writing meta.properties file \(dir): \(error)")
            }
        }
        return empty
    }

    /// Kafka's bootstrap metadata file: `bootstrap.checkpoint` in the metadata log directory
    /// (`BootstrapDirectory.BINARY_BOOTSTRAP_FILENAME`), written by Kafka's `BatchFileWriter` in
    /// the snapshot format with offset 0 and epoch 0: a SnapshotHeader control batch
    /// (LastContainedLogTimestamp 0), the bootstrap records, a SnapshotFooter control batch. The
    /// records are the finalized features a new cluster starts with: a FeatureLevelRecord for
    /// `metadata.version` (``metadataVersion``). The first active controller writes them into the
    /// metadata log. Written to `bootstrap.checkpoint.tmp`, fsynced, renamed, directory fsynced.
    public static let bootstrapFileName = "bootstrap.checkpoint"

    public static var bootstrapRecords: [MetadataRecord] {
        [.featureLevel(name: "metadata.version", level: metadataVersion.featureLevel)]
    }

    static func writeBootstrapCheckpoint(directory: String, now: Int64, records: [MetadataRecord] = bootstrapRecords,
                                         fileSystem: any FileSystem = POSIXFileSystem()) throws {
        let values = try records.map { try MetadataRecordCodec.encode($0) }
        let bytes = try MetadataSnapshots.encode(values: values, id: SnapshotId(offset: 0, epoch: 0), lastContainedLogTimestamp: 0, now: now)
        let path = directory + "/" + bootstrapFileName
        let tmp = path + ".tmp"
        try fileSystem.removeFile(tmp)
        let file = try fileSystem.open(tmp, create: true)
        try file.truncate(to: 0)
        try file.write(bytes, at: 0)
        try file.sync()
        try fileSystem.rename(tmp, to: path)
        try fileSystem.syncDirectory(directory)
    }

    /// The single node (no `process.roles`) is never formatted, but it reads
    /// `metadata.log.dir/bootstrap.checkpoint` when its metadata log is still empty (its first
    /// start): `--add-scram` writes that file with the bootstrap records plus the users, so the
    /// first SCRAM users exist before any client connects. Refused once the node has metadata
    /// (the file would be ignored): then AlterUserScramCredentials adds users.
    static func writeSingleNodeBootstrap(config: BrokerConfig, scram: [MetadataRecord], now: Int64,
                                         output: (String) -> Void) throws(Failure) -> [String] {
        let dir = config.metadataLogDir
        let logDir = dir + "/__cluster_metadata-0"
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: logDir),
           entries.contains(where: { $0.hasSuffix(".log") }) {
            throw Failure("The single node's metadata log in \(logDir) already exists: the bootstrap records are only read at its first start. "
                + "Add SCRAM users with AlterUserScramCredentials (kafka-configs --alter --add-config 'SCRAM-SHA-256=[password=...]' or an admin client) instead.")
        }
        do {
            try makeDirectories(dir)
            try writeBootstrapCheckpoint(directory: dir, now: now, records: bootstrapRecords + scram)
        } catch {
            throw Failure("Error while writing \(dir)/\(bootstrapFileName): \(error)")
        }
        output("Wrote the single node's bootstrap records with \(scram.count) SCRAM credential(s) to \(dir)/\(bootstrapFileName).")
        return [dir]
    }

    /// One `--add-scram` value (KIP-900): `SCRAM-SHA-256=[name=alice,password=alice-secret]`, or
    /// with `salt=`, `saltedpassword=` (base64) and `iterations=` (default 4096, Kafka's bounds
    /// 4096...16384). Values may be double-quoted. The error never repeats a password.
    public static func parseAddScram(_ text: String, randomSalt: () -> [UInt8] = { ScramCredential.randomSalt() }) throws(Failure) -> MetadataRecord {
        guard let eq = text.firstIndex(of: "=") else {
            throw Failure("Invalid --add-scram argument: expected MECHANISM=[name=...,password=...] (MECHANISM is SCRAM-SHA-256 or SCRAM-SHA-512)")
        }
        let mechanismName = String(text[..<eq]).trimmingWhitespace()
        guard let mechanism = ScramMechanism(rawValue: mechanismName.uppercased()) else {
            throw Failure("Invalid --add-scram argument: unknown SCRAM mechanism \(mechanismName) (SCRAM-SHA-256 or SCRAM-SHA-512)")
        }
        var body = String(text[text.index(after: eq)...]).trimmingWhitespace()
        guard body.hasPrefix("["), body.hasSuffix("]"), body.count >= 2 else {
            throw Failure("Invalid --add-scram argument for \(mechanismName): the credential must be in brackets, [name=...,password=...]")
        }
        body = String(body.dropFirst().dropLast())
        var fields: [String: String] = [:]
        for part in body.split(separator: ",") {
            guard let e = part.firstIndex(of: "=") else {
                throw Failure("Invalid --add-scram argument for \(mechanismName): expected key=value, got a part without '='")
            }
            let key = String(part[..<e]).trimmingWhitespace().lowercased()
            var value = String(part[part.index(after: e)...]).trimmingWhitespace()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard ["name", "password", "salt", "saltedpassword", "iterations"].contains(key) else {
                throw Failure("Invalid --add-scram argument for \(mechanismName): unknown key \(key) (name, password, salt, saltedpassword, iterations)")
            }
            fields[key] = value
        }
        guard let name = fields["name"], !name.isEmpty else {
            throw Failure("Invalid --add-scram argument for \(mechanismName): you must supply 'name' to add-scram")
        }
        var iterations = ScramMechanism.minIterations
        if let text = fields["iterations"] {
            guard let n = Int(text) else { throw Failure("Invalid --add-scram argument for \(name): iterations must be an integer") }
            guard n >= ScramMechanism.minIterations else { throw Failure("Invalid --add-scram argument for \(name): Too few iterations (minimum \(ScramMechanism.minIterations))") }
            guard n <= ScramMechanism.maxIterations else { throw Failure("Invalid --add-scram argument for \(name): Too many iterations (maximum \(ScramMechanism.maxIterations))") }
            iterations = n
        }
        var salt = randomSalt()
        if let text = fields["salt"] {
            guard let decoded = Data(base64Encoded: text), !decoded.isEmpty else {
                throw Failure("Invalid --add-scram argument for \(name): salt must be base64")
            }
            salt = Array(decoded)
        }
        let credential: ScramCredential
        if let password = fields["password"] {
            guard fields["saltedpassword"] == nil else {
                throw Failure("Invalid --add-scram argument for \(name): give either password or saltedpassword, not both")
            }
            credential = ScramCredential.derive(password: password, salt: salt, iterations: iterations, mechanism: mechanism)
        } else if let text = fields["saltedpassword"] {
            guard fields["salt"] != nil else {
                throw Failure("Invalid --add-scram argument for \(name): saltedpassword needs the salt it was made with")
            }
            guard let salted = Data(base64Encoded: text), !salted.isEmpty else {
                throw Failure("Invalid --add-scram argument for \(name): saltedpassword must be base64")
            }
            credential = ScramCredential.derive(saltedPassword: Array(salted), salt: salt, iterations: iterations, mechanism: mechanism)
        } else {
            throw Failure("Invalid --add-scram argument for \(name): you must supply one of 'password' or 'saltedpassword' to add-scram")
        }
        return .scramCredential(name: name, mechanism: mechanism.type, credential)
    }

    /// `kafka-storage.sh info`: what each directory holds, in Kafka's layout. Returns the exit
    /// code (1 when a problem was found).
    public static func info(config: BrokerConfig, output: (String) -> Void) -> Int32 {
        var problems: [String] = []
        var found: [String] = []
        var first: (MetaProperties, Int)?
        for dir in config.allStorageDirs.sorted() {
            switch inspect(dir) {
            case .missing: problems.append("\(dir) does not exist")
            case .notADirectory: problems.append("\(dir) is not a directory")
            case .unformatted:
                found.append(dir)
                problems.append("\(dir) is not formatted.")
            case .unreadable(let why):
                found.append(dir)
                problems.append("Error loading \(dir)/\(MetaProperties.fileName): \(why)")
            case let .formatted(meta, version):
                found.append(dir)
                if let (prev, _) = first {
                    if prev.clusterId != meta.clusterId {
                        problems.append("Mismatched cluster IDs between storage directories.")
                    } else if prev.nodeId != meta.nodeId {
                        problems.append("Mismatched node IDs between storage directories.")
                    }
                } else {
                    first = (meta, version)
                }
            }
        }
        if let (_, version) = first {
            if config.isKRaftMode && version == 0 {
                problems.append("The configuration file appears to be for a cluster in KRaft mode, but the directories are formatted for legacy mode.")
            }
        }
        if !found.isEmpty {
            output(found.count == 1 ? "Found log directory:" : "Found log directories:")
            for d in found { output("  \(d)") }
            output("")
        }
        if let (meta, version) = first {
            // Kafka prints the properties sorted by key, as a Java map.
            var fields = ["cluster.id=\(meta.clusterId)"]
            if !meta.directoryId.isEmpty { fields.append("directory.id=\(meta.directoryId)") }
            fields.append("node.id=\(meta.nodeId)")
            fields.append("version=\(version)")
            output("Found metadata: {\(fields.joined(separator: ", "))}")
            output("")
        }
        guard !problems.isEmpty else { return 0 }
        output(problems.count == 1 ? "Found problem:" : "Found problems:")
        for p in problems { output("  \(p)") }
        output("")
        return 1
    }

    /// The start-up rule of a KRaft node: every storage directory formatted, for one cluster id
    /// and this node id. Returns the cluster id. Throws one line saying what to run.
    ///
    /// - Parameter configPath: the `--config` path, quoted in the suggested command.
    public static func verifyFormatted(config: BrokerConfig, configPath: String?) throws(Failure) -> String {
        let configArg = configPath ?? "server.properties"
        let formatHint = "samsa storage format -t $(samsa storage random-uuid) -c \(configArg)"
        var clusterId: String?
        for dir in config.allStorageDirs {
            switch inspect(dir) {
            case .missing, .unformatted:
                throw Failure("\(dir) is not formatted (no \(MetaProperties.fileName)); a node with process.roles needs formatted storage: "
                    + "run `\(formatHint)` (use the same cluster id on every node)")
            case .notADirectory:
                throw Failure("\(dir) (in log.dirs or metadata.log.dir) is not a directory")
            case .unreadable(let why):
                throw Failure("Cannot read \(dir)/\(MetaProperties.fileName): \(why)")
            case let .formatted(meta, version):
                guard version == 1 else {
                    throw Failure("\(dir)/\(MetaProperties.fileName) has version \(version), but KRaft needs version 1: "
                        + "move the directory away and run `\(formatHint)`")
                }
                guard meta.nodeId == config.kraft.nodeId else {
                    throw Failure("\(dir) is formatted for node \(meta.nodeId), but node.id is \(config.kraft.nodeId): "
                        + "fix node.id, or move the directory away and run `\(formatHint)`")
                }
                if let c = clusterId, c != meta.clusterId {
                    throw Failure("\(dir) is formatted for cluster \(meta.clusterId), but another directory of this node is of cluster \(c): "
                        + "move it away and run `samsa storage format -t \(c) -c \(configArg) --ignore-formatted`")
                }
                if let configured = config.clusterId, configured != meta.clusterId {
                    throw Failure("\(dir) is formatted for cluster \(meta.clusterId), but cluster.id is \(configured): "
                        + "fix cluster.id, or move the directory away and run `samsa storage format -t \(configured) -c \(configArg)`")
                }
                clusterId = meta.clusterId
            }
        }
        guard let clusterId else { throw Failure("no storage directories (log.dirs is empty)") }
        return clusterId
    }
}
