import KafkaProtocol

/// KIP-951 leader hints: a Produce (v10+) or Fetch (v12+) partition answered
/// NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH carries `CurrentLeader{LeaderId, LeaderEpoch}`
/// from this broker's metadata image, and a Produce (v10+) response lists the `NodeEndpoints` of
/// those leaders on the client's listener, as a Fetch (v16+) response does (Kafka's
/// `KafkaApis.handleProduceRequest` / `handleFetchRequest`). A client that
/// learns a newer epoch this way retries against the new leader without a metadata round trip.
/// A leaderless or fenced leader is sent as -1 with the epoch, so the client refreshes metadata.
enum LeaderHints {
    static func needsHint(_ code: Int16) -> Bool {
        code == ErrorCode.notLeaderOrFollower.rawValue || code == ErrorCode.fencedLeaderEpoch.rawValue
    }

    /// (leader, epoch) as clients should see it: -1 when the leader is not a live broker.
    static func currentLeader(_ image: MetadataImage, topic: String, partition: Int32) -> (id: Int32, epoch: Int32)? {
        guard let p = image.partition(topic, partition) else { return nil }
        let live = image.brokers[p.leader].map { !$0.fenced } ?? false
        return (live ? p.leader : -1, p.leaderEpoch)
    }

    static func annotate(_ response: ProduceResponse, version: Int16, image: MetadataImage, listener: String) -> ProduceResponse {
        guard version >= 10 else { return response }
        var out = response
        var leaders: [Int32] = []
        for t in out.responses.indices {
            for i in out.responses[t].partitionResponses.indices where needsHint(out.responses[t].partitionResponses[i].errorCode) {
                let name = out.responses[t].name
                guard let hint = currentLeader(image, topic: name, partition: out.responses[t].partitionResponses[i].index) else { continue }
                out.responses[t].partitionResponses[i].currentLeader = .init(leaderId: hint.id, leaderEpoch: hint.epoch)
                if hint.id >= 0, !leaders.contains(hint.id) { leaders.append(hint.id) }
            }
        }
        for id in leaders {
            guard let b = image.brokers[id],
                  let e = b.endpoints.first(where: { $0.listener == listener }) ?? b.endpoints.first else { continue }
            out.nodeEndpoints.append(.init(nodeId: id, host: e.host, port: e.port, rack: b.rack))
        }
        return out
    }

    static func annotate(_ response: FetchResponse, version: Int16, image: MetadataImage, listener: String) -> FetchResponse {
        guard version >= 12 else { return response }
        var out = response
        var leaders: [Int32] = []
        for t in out.responses.indices {
            for i in out.responses[t].partitions.indices where needsHint(out.responses[t].partitions[i].errorCode) {
                guard let hint = currentLeader(image, topic: out.responses[t].topic,
                                               partition: out.responses[t].partitions[i].partitionIndex) else { continue }
                out.responses[t].partitions[i].currentLeader = .init(leaderId: hint.id, leaderEpoch: hint.epoch)
                if hint.id >= 0, !leaders.contains(hint.id) { leaders.append(hint.id) }
            }
        }
        if version >= 16 {
            for id in leaders {
                guard let b = image.brokers[id],
                      let e = b.endpoints.first(where: { $0.listener == listener }) ?? b.endpoints.first else { continue }
                out.nodeEndpoints.append(.init(nodeId: id, host: e.host, port: e.port, rack: b.rack))
            }
        }
        return out
    }
}
