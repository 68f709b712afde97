import KafkaProtocol
import LogStorage
@testable import Quorum
import XCTest

final class QuorumStateFileTests: XCTestCase {
    /// Kafka's own examples from `FileQuorumStateStore`'s class comment decode as Kafka means them.
    func testReadsKafkaVersion0AndVersion1Files() throws {
        let v0 = #"{"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,"currentVoters":[],"data_version":0}"#
        XCTAssertEqual(try QuorumStateFile.decode(v0), ElectionState(epoch: 2, leaderId: 1, votedId: nil))
        let v1 = #"{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"J8aAPcfLQt2bqs1JT_rMgQ","data_version":1}"#
        let state = try QuorumStateFile.decode(v1)
        XCTAssertEqual(state.epoch, 2)
        XCTAssertNil(state.leaderId)
        XCTAssertEqual(state.votedId, 1)
        XCTAssertEqual(state.votedDirectoryId.description, "J8aAPcfLQt2bqs1JT_rMgQ")
    }

    func testWritesKafkaVersion0Line() {
        let line = QuorumStateFile.encode(ElectionState(epoch: 7, leaderId: 3, votedId: 2), voters: [1, 2, 3])
        XCTAssertEqual(line, #"{"clusterId":"","leaderId":3,"leaderEpoch":7,"votedId":2,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}"#)
        XCTAssertEqual(try QuorumStateFile.decode(line), ElectionState(epoch: 7, leaderId: 3, votedId: 2))
    }

    func testWriteIsAtomicAndSurvivesPowerLoss() throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/m/__cluster_metadata-0")
        let file = QuorumStateFile(directory: "/m/__cluster_metadata-0", fileSystem: fs)
        XCTAssertNil(try file.read())
        try file.write(ElectionState(epoch: 1, votedId: 2), voters: [1, 2, 3])
        var rng = SeededRandom(seed: 1)
        for epoch in 2...50 {
            try file.write(ElectionState(epoch: Int32(epoch), leaderId: 1), voters: [1, 2, 3])
            fs.powerLoss(&rng)
            // Written durably before write returned: a power loss never takes it back.
            XCTAssertEqual(try file.read(), ElectionState(epoch: Int32(epoch), leaderId: 1))
        }
    }

    func testCorruptFilesAreRejectedWithTheReason() {
        for (text, reason) in [
            ("", "file ended prematurely"),
            ("{not json", "not JSON"),
            (#"{"leaderId":1,"leaderEpoch":2,"votedId":-1}"#, "no data_version field"),
            (#"{"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":7}"#, "data_version (7) is not within the min (0) and max (1) supported version"),
            (#"{"leaderId":1,"votedId":-1,"data_version":0}"#, "missing field leaderEpoch"),
            (#"{"leaderId":1,"leaderEpoch":-3,"votedId":-1,"data_version":0}"#, "field out of range"),
        ] {
            XCTAssertThrowsError(try QuorumStateFile.decode(text, path: "qs"), text) { error in
                XCTAssertEqual(error as? QuorumStateFile.ReadError, .unreadable(path: "qs", reason: reason), text)
            }
        }
    }
}

final class RaftLogViewTests: XCTestCase {
    // Epochs: 1 at 0, 3 at 10, 4 at 15; LEO 20.
    let log = RaftLogView(endOffset: 20, epochs: [EpochEntry(epoch: 1, startOffset: 0), EpochEntry(epoch: 3, startOffset: 10),
                                                  EpochEntry(epoch: 4, startOffset: 15)])

    func testEndOffsetForEpochIsKafkas() {
        XCTAssertEqual(log.endOffsetForEpoch(4), OffsetAndEpoch(offset: 20, epoch: 4))
        XCTAssertEqual(log.endOffsetForEpoch(3), OffsetAndEpoch(offset: 15, epoch: 3))
        XCTAssertEqual(log.endOffsetForEpoch(2), OffsetAndEpoch(offset: 10, epoch: 1))   // largest epoch <= 2
        XCTAssertEqual(log.endOffsetForEpoch(0), OffsetAndEpoch(offset: 0, epoch: 0))    // older than all
        XCTAssertEqual(log.endOffsetForEpoch(9), OffsetAndEpoch(offset: 20, epoch: 4))   // newer than all
    }

    func testDivergence() {
        XCTAssertNil(log.diverging(fetchOffset: 20, lastFetchedEpoch: 4))
        XCTAssertNil(log.diverging(fetchOffset: 12, lastFetchedEpoch: 3))
        XCTAssertNil(log.diverging(fetchOffset: 0, lastFetchedEpoch: 0))
        XCTAssertEqual(log.diverging(fetchOffset: 17, lastFetchedEpoch: 3), OffsetAndEpoch(offset: 15, epoch: 3))
        XCTAssertEqual(log.diverging(fetchOffset: 12, lastFetchedEpoch: 2), OffsetAndEpoch(offset: 10, epoch: 1))
        XCTAssertEqual(log.diverging(fetchOffset: 21, lastFetchedEpoch: 4), OffsetAndEpoch(offset: 20, epoch: 4))
    }

    func testTruncationOffsetFollowsKafkasTruncateToEndOffset() {
        // A follower with epochs 1@0, 2@10 and LEO 14 told (epoch 1, end 10): cut at 10.
        let follower = RaftLogView(endOffset: 14, epochs: [EpochEntry(epoch: 1, startOffset: 0), EpochEntry(epoch: 2, startOffset: 10)])
        XCTAssertEqual(follower.truncationOffset(for: OffsetAndEpoch(offset: 10, epoch: 1)), 10)
        XCTAssertEqual(follower.truncationOffset(for: OffsetAndEpoch(offset: 8, epoch: 1)), 8)
        // The leader knows an epoch the follower does not: cut where the follower's floor epoch ends.
        XCTAssertEqual(follower.truncationOffset(for: OffsetAndEpoch(offset: 12, epoch: 3)), 14)
        XCTAssertEqual(follower.truncationOffset(for: OffsetAndEpoch(offset: 5, epoch: 0)), 5)
        var copy = follower
        copy.truncate(to: 10)
        XCTAssertEqual(copy, RaftLogView(endOffset: 10, epochs: [EpochEntry(epoch: 1, startOffset: 0)]))
    }
}
