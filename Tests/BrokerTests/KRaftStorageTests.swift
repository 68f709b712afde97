import XCTest
@testable import Broker
import KafkaProtocol
import Foundation
import NIOCore

/// `samsa storage format | info` and the KRaft start-up rule (issue 11 item 2), on real temp
/// directories: what is written, what is refused (with Kafka's wording), and that a refusal
/// writes nothing.
final class KRaftStorageTests: XCTestCase {
    private var root = ""

    override func setUp() {
        root = "/tmp/samsa-kraft-storage-\(UInt64.random(in: 0...UInt64.max))"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    private func config(_ roles: String = "broker,controller", nodeId: Int = 1, voters: String? = "1@127.0.0.1:9093",
                        bootstrap: String? = nil, extra: String = "") throws -> BrokerConfig {
        var text = """
        process.roles=\(roles)
        node.id=\(nodeId)
        controller.listener.names=CONTROLLER
        log.dirs=\(root)/a,\(root)/b
        metadata.log.dir=\(root)/meta

        """
        if let voters { text += "controller.quorum.voters=\(voters)\n" }
        if let bootstrap { text += "controller.quorum.bootstrap.servers=\(bootstrap)\n" }
        switch roles {
        case "broker": text += "listeners=PLAINTEXT://127.0.0.1:9092\n"
        case "controller": text += "listeners=CONTROLLER://127.0.0.1:9093\n"
        default: text += "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n"
        }
        var c = try BrokerConfig(properties: PropertiesFile(parsing: text + extra))
        c.sourcePath = "\(root)/server.properties"
        return c
    }

    /// A deterministic id source (never a reserved id).
    private func ids() -> () -> KafkaUUID {
        var n: UInt64 = 1000
        return { n += 1; return KafkaUUID(mostSignificantBits: n, leastSignificantBits: n * 7) }
    }

    private let clusterId = KafkaUUID(mostSignificantBits: 0x1234_5678_9ABC_DEF0, leastSignificantBits: 0x0FED_CBA9_8765_4321).description

    private func failure(_ body: () throws -> Void) -> String {
        do { try body(); return "no failure" } catch let f as KRaftStorage.Failure { return f.message } catch { return "\(error)" }
    }

    func testFormatWritesMetaPropertiesEverywhereInKafkasFormat() throws {
        var lines: [String] = []
        let written = try KRaftStorage.format(config: config(), options: .init(clusterId: clusterId), random: ids(), output: { lines.append($0) })
        XCTAssertEqual(written, ["\(root)/a", "\(root)/b", "\(root)/meta"])
        XCTAssertEqual(lines, [
            "Formatting data directory \(root)/a with metadata.version 4.0-IV3.",
            "Formatting data directory \(root)/b with metadata.version 4.0-IV3.",
            "Formatting metadata directory \(root)/meta with metadata.version 4.0-IV3.",
        ])
        var dirIds: Set<String> = []
        for dir in written {
            let props = PropertiesFile(parsing: try String(contentsOfFile: dir + "/meta.properties", encoding: .utf8))
            XCTAssertEqual(props["version"], "1")
            XCTAssertEqual(props["node.id"], "1")
            XCTAssertEqual(props["cluster.id"], clusterId)
            let dirId = try XCTUnwrap(props["directory.id"])
            XCTAssertNotNil(KafkaUUID(dirId))
            dirIds.insert(dirId)
        }
        XCTAssertEqual(dirIds.count, 3, "every directory gets its own directory.id")
        // Kafka's bootstrap metadata: the metadata dir only, snapshot format at offset 0 epoch 0.
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(root)/a/bootstrap.checkpoint"))
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/meta/bootstrap.checkpoint"))
        let bootstrap = try MetadataSnapshots.decode(ByteBuffer(bytes: Array(data)), path: "bootstrap.checkpoint")
        XCTAssertEqual(bootstrap.id, SnapshotId(offset: 0, epoch: 0))
        XCTAssertEqual(bootstrap.lastContainedLogTimestamp, 0)
        XCTAssertEqual(bootstrap.records, [.featureLevel(name: "metadata.version", level: 25)])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(root)/meta/bootstrap.checkpoint.tmp"))
        XCTAssertEqual(try KRaftStorage.verifyFormatted(config: config(), configPath: nil), clusterId)
    }

    func testFormatTwiceRefusedUnlessIgnoreFormatted() throws {
        try KRaftStorage.format(config: config(), options: .init(clusterId: clusterId), random: ids(), output: { _ in })
        let message = failure { try KRaftStorage.format(config: config(), options: .init(clusterId: clusterId), random: ids(), output: { _ in }) }
        XCTAssertEqual(message, "Log directory \(root)/a is already formatted. Use --ignore-formatted to ignore this directory and format the others.")
        var lines: [String] = []
        try KRaftStorage.format(config: config(), options: .init(clusterId: clusterId, ignoreFormatted: true), random: ids(), output: { lines.append($0) })
        XCTAssertEqual(lines, ["All of the log directories are already formatted."])
        // A new log dir added later is formatted alone, the others kept.
        let before = try String(contentsOfFile: "\(root)/a/meta.properties", encoding: .utf8)
        let grown = try config(extra: "log.dirs=\(root)/a,\(root)/b,\(root)/c\n")
        lines = []
        try KRaftStorage.format(config: grown, options: .init(clusterId: clusterId, ignoreFormatted: true), random: ids(), output: { lines.append($0) })
        XCTAssertEqual(lines, ["Formatting data directory \(root)/c with metadata.version 4.0-IV3."])
        XCTAssertEqual(try String(contentsOfFile: "\(root)/a/meta.properties", encoding: .utf8), before)
    }

    func testFormatRefusesAnotherClusterOrNodeEvenWithIgnoreFormatted() throws {
        try KRaftStorage.format(config: config(), options: .init(clusterId: clusterId), random: ids(), output: { _ in })
        let other = KafkaUUID(mostSignificantBits: 77, leastSignificantBits: 77_000).description
        XCTAssertTrue(failure { try KRaftStorage.format(config: config(), options: .init(clusterId: other, ignoreFormatted: true), random: ids(), output: { _ in }) }
            .hasPrefix("Invalid cluster.id in: \(root)/a/meta.properties. Expected \(other), but read \(clusterId)"))
        XCTAssertTrue(failure { try KRaftStorage.format(config: config(nodeId: 2, voters: "2@127.0.0.1:9093"), options: .init(clusterId: clusterId, ignoreFormatted: true),
                                                        random: ids(), output: { _ in }) }
            .hasPrefix("Stored node id 1 doesn't match previous node id 2"))
    }

    func testFormatFlagRulesAreKafkas() throws {
        let noWrite = { XCTAssertFalse(FileManager.default.fileExists(atPath: self.root), "a refusal writes nothing") }
        XCTAssertTrue(failure { try KRaftStorage.format(config: config(), options: .init(clusterId: "not-a-uuid"), random: ids(), output: { _ in }) }
            .hasPrefix("Cluster ID string not-a-uuid does not appear to be a valid UUID"))
        noWrite()
        XCTAssertEqual(failure { try KRaftStorage.format(config: config(), options: .init(clusterId: clusterId, standalone: true), random: ids(), output: { _ in }) },
                       "You cannot specify controller.quorum.voters and format the node with --initial-controllers or --standalone. If you want to use dynamic quorum, please remove controller.quorum.voters and specify controller.quorum.bootstrap.servers instead.")
        XCTAssertEqual(failure { try KRaftStorage.format(config: config("broker", nodeId: 4), options: .init(clusterId: clusterId, standalone: true), random: ids(), output: { _ in }) },
                       "You cannot use --standalone on a broker node.")
        let dynamic = try config(voters: nil, bootstrap: "127.0.0.1:9093")
        XCTAssertEqual(failure { try KRaftStorage.format(config: dynamic, options: .init(clusterId: clusterId), random: ids(), output: { _ in }) },
                       "Because controller.quorum.voters is not set on this controller, you must specify one of the following: --standalone, --initial-controllers, or --no-initial-controllers.")
        XCTAssertEqual(failure { try KRaftStorage.format(config: dynamic, options: .init(clusterId: clusterId, standalone: true, noInitialControllers: true), random: ids(), output: { _ in }) },
                       "--standalone, --initial-controllers and --no-initial-controllers are mutually exclusive")
        noWrite()
        var single = try BrokerConfig(properties: PropertiesFile(parsing: "node.id=1\nlog.dirs=\(root)/a\n"))
        single.sourcePath = nil
        XCTAssertTrue(failure { try KRaftStorage.format(config: single, options: .init(clusterId: clusterId), random: ids(), output: { _ in }) }
            .contains("Formatting is only supported for nodes in KRaft mode"))
        noWrite()
    }

    func testStandaloneAndInitialControllersMarkTheMetadataDirectory() throws {
        let dynamic = try config(voters: nil, bootstrap: "127.0.0.1:9093")
        var lines: [String] = []
        try KRaftStorage.format(config: dynamic, options: .init(clusterId: clusterId, standalone: true), random: ids(), output: { lines.append($0) })
        XCTAssertEqual(lines.last, "Formatting dynamic metadata voter directory \(root)/meta with metadata.version 4.0-IV3.")

        try FileManager.default.removeItem(atPath: root)
        let voterDir = KafkaUUID(mostSignificantBits: 5, leastSignificantBits: 5_555).description
        let list = "1@127.0.0.1:9093:\(voterDir),2@[::1]:9094:\(KafkaUUID(mostSignificantBits: 6, leastSignificantBits: 6_666))"
        try KRaftStorage.format(config: dynamic, options: .init(clusterId: clusterId, initialControllers: list), random: ids(), output: { _ in })
        let meta = PropertiesFile(parsing: try String(contentsOfFile: "\(root)/meta/meta.properties", encoding: .utf8))
        XCTAssertEqual(meta["directory.id"], voterDir, "a voter's metadata dir takes the directory id the quorum knows it by")

        let parsed = try KRaftStorage.parseInitialControllers(list)
        XCTAssertEqual(parsed.map(\.id), [1, 2])
        XCTAssertEqual(parsed[1].host, "::1")
        XCTAssertEqual(parsed[1].port, 9094)
        XCTAssertThrowsError(try KRaftStorage.parseInitialControllers("1@host:9093"))
        XCTAssertThrowsError(try KRaftStorage.parseInitialControllers("1@host:9093:\(voterDir),1@other:9093:\(voterDir)"))
    }

    func testStartUpRefusesUnformattedOrForeignStorageNamingTheCommand() throws {
        let c = try config()
        let unformatted = failure { _ = try KRaftStorage.verifyFormatted(config: c, configPath: c.sourcePath) }
        XCTAssertTrue(unformatted.contains("is not formatted"), unformatted)
        XCTAssertTrue(unformatted.contains("samsa storage format -t $(samsa storage random-uuid) -c \(root)/server.properties"), unformatted)
        XCTAssertFalse(unformatted.contains("\n"))

        try KRaftStorage.format(config: c, options: .init(clusterId: clusterId), random: ids(), output: { _ in })
        XCTAssertNoThrow(try KafkaBroker.checkKRaftStartup(config: c))
        // One directory re-formatted for another cluster.
        try FileManager.default.removeItem(atPath: "\(root)/b/meta.properties")
        try MetaProperties(nodeId: 1, clusterId: "AAAAAAAAAAAAAAAAAAAAAA", directoryId: "x").write(directory: "\(root)/b")
        XCTAssertTrue(failure { _ = try KRaftStorage.verifyFormatted(config: c, configPath: nil) }.contains("is formatted for cluster AAAAAAAAAAAAAAAAAAAAAA"))
        // The configured cluster.id must match what is on disk.
        try FileManager.default.removeItem(atPath: "\(root)/b/meta.properties")
        try MetaProperties(nodeId: 1, clusterId: clusterId, directoryId: "y").write(directory: "\(root)/b")
        let pinned = try config(extra: "cluster.id=OtherCluster\n")
        XCTAssertTrue(failure { _ = try KRaftStorage.verifyFormatted(config: pinned, configPath: nil) }.contains("but cluster.id is OtherCluster"))
        // node.id changed in the config.
        let moved = try config(nodeId: 2, voters: "2@127.0.0.1:9093")
        XCTAssertTrue(failure { _ = try KRaftStorage.verifyFormatted(config: moved, configPath: nil) }.contains("formatted for node 1, but node.id is 2"))
    }

    /// Until the quorum runs in samsa broker, only a combined node that is the whole quorum may
    /// start; anything else says so instead of running alone.
    func testOnlyASoleCombinedVoterMayStartInThisBuild() throws {
        let broker = try config("broker", nodeId: 4)
        try KRaftStorage.format(config: broker, options: .init(clusterId: clusterId), random: ids(), output: { _ in })
        XCTAssertTrue(failure { try KafkaBroker.checkKRaftStartup(config: broker) }.hasPrefix("process.roles=broker with controller.quorum.voters=1@127.0.0.1:9093"))
        try FileManager.default.removeItem(atPath: root)
        let threeVoters = try config(voters: "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097")
        try KRaftStorage.format(config: threeVoters, options: .init(clusterId: clusterId), random: ids(), output: { _ in })
        XCTAssertTrue(failure { try KafkaBroker.checkKRaftStartup(config: threeVoters) }.contains("multi-node clusters need the controller quorum"))
        try FileManager.default.removeItem(atPath: root)
        let stock = try config(voters: nil, bootstrap: "localhost:9093")
        try KRaftStorage.format(config: stock, options: .init(clusterId: clusterId, standalone: true), random: ids(), output: { _ in })
        XCTAssertNoThrow(try KafkaBroker.checkKRaftStartup(config: stock), "Kafka's stock single-node config, formatted --standalone")
    }

    func testInfoPrintsKafkasLayout() throws {
        var lines: [String] = []
        XCTAssertEqual(KRaftStorage.info(config: try config(), output: { lines.append($0) }), 1)
        XCTAssertEqual(lines, ["Found problems:", "  \(root)/a does not exist", "  \(root)/b does not exist", "  \(root)/meta does not exist", ""])

        try KRaftStorage.format(config: config(), options: .init(clusterId: clusterId), random: ids(), output: { _ in })
        lines = []
        XCTAssertEqual(KRaftStorage.info(config: try config(), output: { lines.append($0) }), 0)
        let dirId = try XCTUnwrap(PropertiesFile(parsing: try String(contentsOfFile: "\(root)/a/meta.properties", encoding: .utf8))["directory.id"])
        XCTAssertEqual(lines, ["Found log directories:", "  \(root)/a", "  \(root)/b", "  \(root)/meta", "",
                               "Found metadata: {cluster.id=\(clusterId), directory.id=\(dirId), node.id=1, version=1}", ""])

        try FileManager.default.removeItem(atPath: "\(root)/b/meta.properties")
        lines = []
        XCTAssertEqual(KRaftStorage.info(config: try config(), output: { lines.append($0) }), 1)
        XCTAssertEqual(Array(lines.suffix(3)), ["Found problem:", "  \(root)/b is not formatted.", ""])
    }

    func testRandomUUIDSkipsReservedAndDashIds() {
        var draws = [KafkaUUID.zero, KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 99),
                     KafkaUUID(mostSignificantBits: 0xFB00_0000_0000_0000, leastSignificantBits: 1),  // base64 starts with '-'
                     KafkaUUID(mostSignificantBits: 42, leastSignificantBits: 42)]
        XCTAssertTrue(KafkaUUID(mostSignificantBits: 0xFB00_0000_0000_0000, leastSignificantBits: 1).description.hasPrefix("-"))
        let id = KRaftStorage.randomUUID { draws.removeFirst() }
        XCTAssertEqual(id, KafkaUUID(mostSignificantBits: 42, leastSignificantBits: 42))
    }
}
