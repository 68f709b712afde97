import KafkaProtocol
import XCTest
@testable import KafkaClient

final class QuorumDescriptionTests: XCTestCase {
    private func state(_ id: Int32, _ leo: Int64, fetch: Int64 = -1, caughtUp: Int64 = -1) -> DescribeQuorumResponse.ReplicaState {
        var r = DescribeQuorumResponse.ReplicaState()
        r.replicaId = id; r.logEndOffset = leo; r.lastFetchTimestamp = fetch; r.lastCaughtUpTimestamp = caughtUp
        return r
    }

    func testLagIsBehindTheLeadersEndOffsetAndVotersComeBeforeObservers() {
        var p = DescribeQuorumResponse.PartitionData()
        p.leaderId = 2; p.leaderEpoch = 7; p.highWatermark = 118
        p.currentVoters = [state(3, 100, fetch: 5, caughtUp: 4), state(2, 120), state(1, 118, fetch: 9, caughtUp: 9)]
        p.observers = [state(5, 90), state(4, 121)]
        let q = QuorumDescription(p)
        XCTAssertEqual(q.leaderId, 2); XCTAssertEqual(q.leaderEpoch, 7); XCTAssertEqual(q.highWatermark, 118)
        XCTAssertEqual(q.replicas.map(\.nodeId), [1, 2, 3, 4, 5])
        XCTAssertEqual(q.replicas.map(\.isVoter), [true, true, true, false, false])
        XCTAssertEqual(q.replicas.map(\.lag), [2, 0, 20, 0, 30], "lag never negative, measured from the leader's end offset")
        XCTAssertEqual(q.replicas[0].lastCaughtUpTimestamp, 9)
        XCTAssertNil(q.replicas[1].lastFetchTimestamp, "-1 on the wire means unknown")
    }
}
