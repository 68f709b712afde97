import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
@testable import Quorum
import XCTest

/// A single-voter node on the real file system: the files it leaves are Kafka's.
final class RaftNodeFilesTests: XCTestCase {
    final class NoNetwork: RaftTransport, @unchecked Sendable {
        func send(_ message: RaftMessage, from: RaftNodeId, to: RaftNodeId) {}
    }

    func testSingleVoterLeadsCommitsAndWritesKafkasFiles() throws {
        let root = NSTemporaryDirectory() + "samsa-quorum-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/__cluster_metadata-0"
        let clock = ManualLogClock()
        let config = QuorumConfig(voters: [1], clusterId: "c1")
        var node = try RaftNode(id: 1, config: config, directory: dir, fileSystem: POSIXFileSystem(), clock: clock,
                                transport: NoNetwork(), now: clock.milliseconds(), randomSeed: 1)
        // Kafka's KafkaRaftClient.initialize: the only voter stands at once and wins.
        XCTAssertEqual(node.replica.role, .leader)
        XCTAssertEqual(node.replica.epoch, 1)
        XCTAssertEqual(node.replica.highWatermark, 1, "the LeaderChangeMessage commits at once with one voter")
        var committed: Int64 = 0
        node.onCommit = { committed = $0 }
        let result = try XCTUnwrap(try node.propose([ByteBuffer(string: "a"), ByteBuffer(string: "b")], now: clock.milliseconds()))
        XCTAssertEqual(result, OffsetAndEpoch(offset: 2, epoch: 1))
        XCTAssertEqual(committed, 3)

        let state = try String(contentsOfFile: dir + "/quorum-state", encoding: .utf8)
        XCTAssertEqual(state, #"{"clusterId":"","leaderId":1,"leaderEpoch":1,"votedId":1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0}"#)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/00000000000000000000.log"))
        let checkpoint = try String(contentsOfFile: dir + "/leader-epoch-checkpoint", encoding: .utf8)
        XCTAssertEqual(checkpoint, "0\n1\n1 0\n")

        // Restarted, the former leader comes back Resigned in epoch 1 (it may not lead that epoch
        // again) and, being the only voter, stands at once and leads epoch 2.
        try node.close()
        node = try RaftNode(id: 1, config: config, directory: dir, fileSystem: POSIXFileSystem(), clock: clock,
                            transport: NoNetwork(), now: clock.milliseconds(), randomSeed: 2)
        XCTAssertEqual(node.replica.role, .leader)
        XCTAssertEqual(node.replica.epoch, 2)
        XCTAssertEqual(node.log.leaderEpochEntries, [EpochEntry(epoch: 1, startOffset: 0), EpochEntry(epoch: 2, startOffset: 3)])
    }

    func testACorruptQuorumStateStopsStartUpWithTheReason() throws {
        let fs = SimulatedFileSystem()
        let dir = "/m/__cluster_metadata-0"
        try fs.createDirectory(dir)
        try fs.writeAtomically(dir + "/quorum-state", contents: "{\"leaderEpoch\":")
        XCTAssertThrowsError(try RaftNode(id: 1, config: QuorumConfig(voters: [1, 2, 3]), directory: dir, fileSystem: fs,
                                          clock: ManualLogClock(), transport: NoNetwork(), now: 0, randomSeed: 1)) { error in
            XCTAssertEqual("\(error)", "quorum-state: cannot read quorum state /m/__cluster_metadata-0/quorum-state: not JSON")
        }
    }
}
