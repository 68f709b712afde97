import Foundation
import KafkaProtocol
import NIOCore

extension KafkaAdmin {
    /// What a zero-wait Fetch at one offset tells about a partition.
    struct PartitionProbe: Sendable {
        var highWatermark: Int64
        var logStartOffset: Int64
        /// Timestamp of the first record at or after the probed offset, if one was returned.
        var timestamp: Int64?
    }

    /// Fetches (maxWait 0) at the given offsets, one request per leader, and returns the high
    /// watermark, log start offset and the timestamp of the record at each offset. Fetch rather
    /// than ListOffsets gives the high watermark and the record in one round trip, and stays
    /// right on brokers whose ListOffsets LATEST is off (Tansu 0.6).
    func probe(_ offsets: [TopicPartition: Int64], now: Int64) async throws -> [TopicPartition: Result<PartitionProbe, KafkaClientError>] {
        guard !offsets.isEmpty else { return [:] }
        let snapshot = try await cluster.metadata(for: Array(Set(offsets.keys.map(\.topic))))
        var byLeader: [Int32: [TopicPartition]] = [:]
        var result: [TopicPartition: Result<PartitionProbe, KafkaClientError>] = [:]
        for tp in offsets.keys {
            if let leader = snapshot.leader(for: tp) { byLeader[leader, default: []].append(tp) } else {
                result[tp] = .failure(.unknownPartition(topic: tp.topic, partition: tp.partition))
            }
        }
        for (leader, partitions) in byLeader {
            do {
                let connection = try await cluster.connection(to: leader)
                let (response, _) = try await connection.send(supported: 4...12) { version in
                    var request = FetchRequest()
                    // Tansu 0.6 answers a zero-wait, zero-byte fetch with no partitions at
                    // all; 1 byte / 10 ms returns at once when data exists, briefly waits when not.
                    request.maxWaitMs = 10
                    request.minBytes = 1
                    request.maxBytes = 16 << 20
                    if version >= 7 { request.sessionEpoch = -1 }
                    request.topics = Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map { topic, tps in
                        FetchRequest.FetchTopic(topic: topic, partitions: tps.map {
                            var p = FetchRequest.FetchPartition()
                            p.partition = $0.partition
                            p.fetchOffset = offsets[$0]!
                            p.partitionMaxBytes = 64 << 10
                            return p
                        })
                    }
                    return request
                }
                for t in response.responses {
                    for p in t.partitions {
                        let tp = TopicPartition(t.topic, p.partitionIndex)
                        guard p.errorCode == 0 else {
                            result[tp] = .failure(.broker(p.errorCode, "fetch \(tp)"))
                            continue
                        }
                        let ts = p.records.flatMap { Self.firstTimestamp(in: $0, atOrAfter: offsets[tp] ?? 0) }
                        result[tp] = .success(PartitionProbe(highWatermark: p.highWatermark, logStartOffset: p.logStartOffset, timestamp: ts))
                    }
                }
                for tp in partitions where result[tp] == nil {
                    result[tp] = .failure(.protocolViolation("Fetch response from broker \(leader) lacks \(tp)"))
                }
            } catch let error as KafkaClientError {
                for tp in partitions { result[tp] = .failure(error) }
            }
        }
        return result
    }

    /// The timestamp of the first non-control record with offset >= `offset` in fetched bytes.
    static func firstTimestamp(in records: ByteBuffer, atOrAfter offset: Int64) -> Int64? {
        var reader = RecordBatchReader(records)
        while let batch = try? reader.next() {
            guard !batch.isControl, batch.lastOffset >= offset else { continue }
            for record in batch.records where batch.offset(of: record) >= offset {
                return batch.timestamp(of: record)
            }
        }
        return nil
    }

    /// Lag of each group on each partition it has committed: high watermark − committed, and
    /// the time lag (now − timestamp of the first unconsumed record). Requests: one
    /// FindCoordinator, one OffsetFetch per coordinator (v8+), one Fetch per partition leader
    /// (more only when several groups sit at different offsets of one partition).
    public func lag(groups: [String]) async throws -> [String: Result<[PartitionLag], KafkaClientError>] {
        let committed = try await committedOffsets(groups: groups)
        var result: [String: Result<[PartitionLag], KafkaClientError>] = [:]
        // Distinct offsets per partition; round k probes the k-th distinct offset.
        var wanted: [TopicPartition: [Int64]] = [:]
        for case let (_, .success(offsets)) in committed {
            for (tp, c) in offsets where !(wanted[tp]?.contains(c.offset) ?? false) { wanted[tp, default: []].append(c.offset) }
        }
        let now = Int64(Date.nowMilliseconds)
        var probes: [TopicPartition: [Int64: Result<PartitionProbe, KafkaClientError>]] = [:]
        let rounds = wanted.values.map(\.count).max() ?? 0
        for round in 0..<rounds {
            var offsets: [TopicPartition: Int64] = [:]
            for (tp, list) in wanted where round < list.count { offsets[tp] = list[round] }
            for (tp, r) in try await probe(offsets, now: now) { probes[tp, default: [:]][offsets[tp]!] = r }
        }
        for group in groups {
            switch committed[group] {
            case .failure(let error)?:
                result[group] = .failure(error)
            case .success(let offsets)?:
                var lags: [PartitionLag] = []
                for (tp, c) in offsets.sorted(by: { $0.key < $1.key }) {
                    guard case let .success(p)? = probes[tp]?[c.offset] else {
                        // Out of range (e.g. retention passed the commit) or leaderless: report
                        // against nothing rather than guess.
                        continue
                    }
                    let lag = max(0, p.highWatermark - c.offset)
                    let timeLag: Int64? = lag == 0 ? 0 : p.timestamp.map { max(0, now - $0) }
                    lags.append(PartitionLag(group: group, topicPartition: tp, committedOffset: c.offset, highWatermark: p.highWatermark,
                                             logStartOffset: p.logStartOffset, lag: lag, timeLagMs: timeLag))
                }
                result[group] = .success(lags)
            case nil:
                result[group] = .success([])
            }
        }
        return result
    }

    // MARK: Offset reset

    /// Computes where `group`'s offsets on `topics` would move (a dry run: nothing is written).
    /// Targets are clamped to each partition's [earliest, latest], as Kafka's tool does.
    public func planOffsetReset(group: String, topics: [String], to target: OffsetResetTarget) async throws -> [OffsetResetEntry] {
        let snapshot = try await cluster.refreshMetadata(topics: topics)
        var partitions: [TopicPartition] = []
        for topic in topics {
            guard let info = snapshot.topics[topic], info.errorCode == 0 else { throw KafkaClientError.unknownTopic(topic) }
            partitions += info.partitions.map { TopicPartition(topic, $0.partition) }
        }
        let current = try await committedOffsets(group: group, partitions: partitions)
        let earliest = try await listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.earliest) }))
        let latest = try await listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
        var byTime: [TopicPartition: Result<ListedOffset, KafkaClientError>] = [:]
        if case let .timestamp(t) = target {
            byTime = try await listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.timestamp(t)) }))
        }
        return try partitions.sorted().map { tp in
            let low = try earliest[tp]!.get().offset
            let high = try latest[tp]!.get().offset
            let now = current[tp]?.offset
            let raw: Int64
            switch target {
            case .earliest: raw = low
            case .latest: raw = high
            case .offset(let o): raw = o
            case .shiftBy(let n): raw = (now ?? low) + n
            case .timestamp:
                let found = try byTime[tp]!.get().offset
                raw = found < 0 ? high : found
            }
            return OffsetResetEntry(topicPartition: tp, currentOffset: now, targetOffset: min(max(raw, low), high))
        }
    }

    /// Commits a plan from ``planOffsetReset(group:topics:to:)``. Refuses while the group has
    /// active members (they would overwrite the reset with their next commit).
    public func executeOffsetReset(group: String, plan: [OffsetResetEntry]) async throws {
        if case let .success(description)? = try await describeGroups([group])[group],
           !description.members.isEmpty || !["Empty", "Dead", ""].contains(description.state) {
            throw KafkaClientError.invalidArgument(
                "group \(group) is \(description.state) with \(description.members.count) member(s); stop its consumers before resetting offsets")
        }
        let results = try await commitOffsets(group: group, offsets: Dictionary(uniqueKeysWithValues: plan.map { ($0.topicPartition, $0.targetOffset) }))
        for (_, r) in results.sorted(by: { $0.key < $1.key }) { try r.get() }
    }
}
