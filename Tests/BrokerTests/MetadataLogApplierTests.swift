import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import XCTest
@testable import Broker

/// Replaying the metadata log: committed batches applied in offset order, control batches
/// skipped, snapshot + log = the same image as the whole log, and the snapshot / retention rules.
final class MetadataLogApplierTests: XCTestCase {
    private let t1 = TopicID(mostSignificantBits: 1, leastSignificantBits: 1)
    private let t2 = TopicID(mostSignificantBits: 2, leastSignificantBits: 2)

    /// The log as batches: (epoch, records) each; a nil entry is a LeaderChange control batch.
    private func log(_ batches: [(Int32, [MetadataRecord]?)]) throws -> (bytes: ByteBuffer, boundaries: [Int64]) {
        var out = ByteBuffer()
        var offset: Int64 = 0
        var boundaries: [Int64] = []
        for (i, (epoch, records)) in batches.enumerated() {
            boundaries.append(offset)
            let batch: RecordBatch
            if let records {
                batch = RecordBatch(baseOffset: offset, partitionLeaderEpoch: epoch, baseTimestamp: Int64(1000 + i),
                                    records: try records.enumerated().map { j, r in
                                        Record(offsetDelta: Int32(j), value: try MetadataRecordCodec.encode(r))
                                    })
            } else {
                batch = RecordBatch(baseOffset: offset, partitionLeaderEpoch: epoch, isControl: true, baseTimestamp: Int64(1000 + i),
                                    records: [Record(offsetDelta: 0, key: ControlRecordKey(type: .leaderChange).encoded,
                                                     value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]))])
            }
            try batch.encode(into: &out)
            offset += Int64(batch.records.count)
        }
        return (out, boundaries)
    }

    private var history: [(Int32, [MetadataRecord]?)] {
        [
            (1, nil),
            (1, [.featureLevel(name: "metadata.version", level: 21),
                 .registerBroker(BrokerRegistration(id: 1, endpoints: [.init(listener: "PLAINTEXT", host: "h", port: 9092)], rack: nil, fenced: false, epoch: 1))]),
            (1, [.topic(name: "a", id: t1),
                 .partition(topicID: t1, PartitionRegistration(partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0))]),
            (2, nil),
            (2, [.topic(name: "b", id: t2), .config(resourceType: 2, resourceName: "b", name: "retention.ms", value: "1")]),
            (2, [.partitionChange(PartitionChange(topicID: t1, partition: 0, leader: -1, isr: [])), .removeTopic(t2)]),
            (2, [.producerIds(nextProducerId: 1000)]),
        ]
    }

    func testReplayAppliesDataBatchesInOrderAndSkipsControlBatches() throws {
        let (bytes, _) = try log(history)
        var applier = MetadataLogApplier(clusterId: "c", controllerId: 1)
        XCTAssertEqual(try applier.apply(batches: bytes), [])
        XCTAssertEqual(applier.nextOffset, 1 + 2 + 2 + 1 + 2 + 2 + 1)
        XCTAssertEqual(applier.lastEpoch, 2)
        XCTAssertEqual(applier.image.topics.keys.sorted(), ["a"])
        XCTAssertEqual(applier.image.partition("a", 0)?.leader, -1)
        XCTAssertEqual(applier.image.partition("a", 0)?.leaderEpoch, 1)
        XCTAssertEqual(applier.image.nextProducerId, 1000)
        XCTAssertEqual(applier.image.features["metadata.version"], 21)
        XCTAssertGreaterThan(applier.bytesSinceSnapshot, 0)
        XCTAssertEqual(applier.lastTimestamp, 1006)

        // Applying the same bytes again changes nothing (every batch is below nextOffset).
        let before = applier.image
        XCTAssertEqual(try applier.apply(batches: bytes), [])
        XCTAssertEqual(applier.image, before)
    }

    /// Replay in pieces (every batch boundary, and a cut inside a batch) gives the same image as
    /// one read: a partial trailing batch waits for the next read.
    func testReplayInPiecesGivesTheSameImage() throws {
        let (bytes, _) = try log(history)
        var whole = MetadataLogApplier(clusterId: "c", controllerId: 1)
        try whole.apply(batches: bytes)
        for cut in stride(from: 0, to: bytes.readableBytes, by: 7) {
            var pieces = MetadataLogApplier(clusterId: "c", controllerId: 1)
            try pieces.apply(batches: bytes.getSlice(at: 0, length: cut)!)
            // The caller re-reads from the first unapplied batch: find it by offset.
            var rest = bytes
            var reader = RecordBatchReader(bytes)
            while let (header, slice) = try reader.nextRawBatch(), header.nextOffset <= pieces.nextOffset {
                rest.moveReaderIndex(forwardBy: slice.readableBytes)
            }
            try pieces.apply(batches: rest)
            XCTAssertEqual(pieces.image, whole.image, "cut at \(cut)")
            XCTAssertEqual(pieces.nextOffset, whole.nextOffset)
        }
    }

    /// Snapshot at a batch boundary + the log after it == the whole log (the restart path).
    func testSnapshotPlusLogEqualsTheWholeLog() throws {
        let (bytes, boundaries) = try log(history)
        var whole = MetadataLogApplier(clusterId: "c", controllerId: 1)
        try whole.apply(batches: bytes)
        let fs = SimulatedFileSystem()
        let dir = "/m/__cluster_metadata-0"
        for (i, boundary) in boundaries.enumerated() where i > 0 {
            var prefix = MetadataLogApplier(clusterId: "c", controllerId: 1)
            var firstPart = bytes
            var reader = RecordBatchReader(bytes)
            var length = 0
            while let (header, slice) = try reader.nextRawBatch(), header.baseOffset < boundary { length += slice.readableBytes }
            try prefix.apply(batches: firstPart.readSlice(length: length)!)
            XCTAssertEqual(prefix.nextOffset, boundary)
            try MetadataSnapshots.write(records: prefix.image.records(), id: prefix.snapshotId, lastContainedLogTimestamp: prefix.lastTimestamp,
                                        now: 0, directory: dir, fileSystem: fs)
            let loaded = try XCTUnwrap(MetadataSnapshots.latestValid(in: dir, fileSystem: fs, logger: Logger(label: "t")))
            XCTAssertEqual(loaded.id, prefix.snapshotId)
            var resumed = MetadataLogApplier(snapshot: loaded, clusterId: "c", controllerId: 1)
            // The broker reads the log from the snapshot's offset; give it everything (the
            // batches below are skipped) and the rest separately: both work.
            try resumed.apply(batches: bytes)
            var expected = whole.image
            expected.recordCount = resumed.image.recordCount
            XCTAssertEqual(resumed.image, expected, "snapshot at \(boundary)")
            XCTAssertEqual(resumed.nextOffset, whole.nextOffset)
            var resumed2 = MetadataLogApplier(snapshot: loaded, clusterId: "c", controllerId: 1)
            try resumed2.apply(batches: firstPart)
            expected.recordCount = resumed2.image.recordCount
            XCTAssertEqual(resumed2.image, expected)
        }
    }

    func testGapAndCorruptionAreErrorsAndBadRecordsAreFaults() throws {
        let (bytes, boundaries) = try log(history)
        var applier = MetadataLogApplier(clusterId: "c", controllerId: 1)
        // Skip the first two batches: the log continues at boundaries[2] > 0.
        var reader = RecordBatchReader(bytes)
        var skip = 0
        for _ in 0..<2 { skip += try reader.nextRawBatch()!.bytes.readableBytes }
        XCTAssertThrowsError(try applier.apply(batches: bytes.getSlice(at: skip, length: bytes.readableBytes - skip)!)) {
            XCTAssertEqual($0 as? MetadataLogApplyError, .gap(expected: 0, found: boundaries[2]))
        }
        // A flipped byte in a record: CRC.
        var corrupt = bytes
        corrupt.setInteger(corrupt.getInteger(at: 70, as: UInt8.self)! ^ 0x10, at: 70)
        var fresh = MetadataLogApplier(clusterId: "c", controllerId: 1)
        XCTAssertThrowsError(try fresh.apply(batches: corrupt))
        // A record that is not a metadata record is a fault, skipped; the rest applies.
        var withBad = ByteBuffer()
        try RecordBatch(baseOffset: 0, partitionLeaderEpoch: 1, records: [
            Record(offsetDelta: 0, value: ByteBuffer(bytes: [0x01, 0x63, 0x00])),
            Record(offsetDelta: 1, value: try MetadataRecordCodec.encode(.topic(name: "ok", id: t1))),
        ]).encode(into: &withBad)
        var tolerant = MetadataLogApplier(clusterId: "c", controllerId: 1)
        let faults = try tolerant.apply(batches: withBad)
        XCTAssertEqual(faults.map(\.offset), [0])
        XCTAssertEqual(tolerant.image.topics.keys.sorted(), ["ok"])
        XCTAssertEqual(tolerant.nextOffset, 2)
    }

    func testSnapshotPolicyIsKafkas() throws {
        let policy = MetadataSnapshotPolicy()
        XCTAssertEqual(policy.maxBytesBetweenSnapshots, 20 * 1024 * 1024)
        XCTAssertEqual(policy.maxIntervalMs, 3_600_000)
        XCTAssertTrue(policy.shouldSnapshot(bytesSinceSnapshot: 20 * 1024 * 1024, msSinceLastSnapshot: 0))
        XCTAssertFalse(policy.shouldSnapshot(bytesSinceSnapshot: 20 * 1024 * 1024 - 1, msSinceLastSnapshot: 3_599_999))
        XCTAssertTrue(policy.shouldSnapshot(bytesSinceSnapshot: 1, msSinceLastSnapshot: 3_600_000))
        XCTAssertFalse(policy.shouldSnapshot(bytesSinceSnapshot: 0, msSinceLastSnapshot: 9_999_999), "nothing new")
        let noTimer = try MetadataSnapshotPolicy(properties: ["metadata.log.max.snapshot.interval.ms": "0",
                                                              "metadata.log.max.record.bytes.between.snapshots": "100"])
        XCTAssertFalse(noTimer.shouldSnapshot(bytesSinceSnapshot: 99, msSinceLastSnapshot: .max))
        XCTAssertTrue(noTimer.shouldSnapshot(bytesSinceSnapshot: 100, msSinceLastSnapshot: 0))
        XCTAssertThrowsError(try MetadataSnapshotPolicy(properties: ["metadata.log.max.record.bytes.between.snapshots": "0"])) {
            XCTAssertEqual(($0 as? MetadataConfigError)?.key, "metadata.log.max.record.bytes.between.snapshots")
        }
    }

    func testRetentionDeletesOnlyWholeSegmentsBelowTheSnapshotAndOnlyOverALimit() throws {
        typealias S = MetadataRetentionPolicy.Segment
        let segments = [S(baseOffset: 0, endOffset: 100, sizeInBytes: 60, lastModifiedMs: 0),
                        S(baseOffset: 100, endOffset: 200, sizeInBytes: 60, lastModifiedMs: 10),
                        S(baseOffset: 200, endOffset: 300, sizeInBytes: 60, lastModifiedMs: 20)]
        let small = MetadataRetentionPolicy(maxRetentionBytes: 100, maxRetentionMs: -1)
        // Over 100 bytes: delete from the oldest, but only segments ending at or below the snapshot.
        XCTAssertEqual(small.newLogStartOffset(segments: segments, snapshotOffset: 150, now: 0), 100)
        XCTAssertEqual(small.newLogStartOffset(segments: segments, snapshotOffset: 99, now: 0), nil)
        // Never the active (last) segment, even with a snapshot beyond it.
        XCTAssertEqual(small.newLogStartOffset(segments: segments, snapshotOffset: 300, now: 0), 200)
        // Under both limits: keep everything.
        XCTAssertNil(MetadataRetentionPolicy().newLogStartOffset(segments: segments, snapshotOffset: 300, now: 0))
        // By age only.
        let aged = MetadataRetentionPolicy(maxRetentionBytes: -1, maxRetentionMs: 15)
        XCTAssertEqual(aged.newLogStartOffset(segments: segments, snapshotOffset: 300, now: 30), 200)
        XCTAssertEqual(aged.newLogStartOffset(segments: segments, snapshotOffset: 300, now: 20), 100)
        XCTAssertEqual(MetadataRetentionPolicy().maxRetentionBytes, 104_857_600)
        XCTAssertEqual(MetadataRetentionPolicy().maxRetentionMs, 604_800_000)
    }
}
