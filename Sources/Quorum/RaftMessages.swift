import KafkaProtocol
import NIOCore

/// A Raft request between quorum nodes: the generated Kafka messages, unchanged, so the
/// SwiftNIO transport can put them on the wire as they are.
public enum RaftRequest: Sendable, Equatable {
    case vote(VoteRequest)
    case beginQuorumEpoch(BeginQuorumEpochRequest)
    case endQuorumEpoch(EndQuorumEpochRequest)
    case fetch(FetchRequest)

    public var apiKey: ApiKey {
        switch self {
        case .vote: .vote
        case .beginQuorumEpoch: .beginQuorumEpoch
        case .endQuorumEpoch: .endQuorumEpoch
        case .fetch: .fetch
        }
    }
}

/// The response to a ``RaftRequest``.
public enum RaftResponse: Sendable, Equatable {
    case vote(VoteResponse)
    case beginQuorumEpoch(BeginQuorumEpochResponse)
    case endQuorumEpoch(EndQuorumEpochResponse)
    case fetch(FetchResponse)

    public var apiKey: ApiKey {
        switch self {
        case .vote: .vote
        case .beginQuorumEpoch: .beginQuorumEpoch
        case .endQuorumEpoch: .endQuorumEpoch
        case .fetch: .fetch
        }
    }
}

/// One message on the transport. A response carries the correlation id of its request, as
/// Kafka frames do, so a late or duplicated response is recognised and dropped.
public enum RaftMessage: Sendable, Equatable {
    case request(correlationId: Int32, RaftRequest)
    case response(correlationId: Int32, RaftResponse)

    public var correlationId: Int32 {
        switch self {
        case .request(let id, _), .response(let id, _): id
        }
    }
}

/// The API versions the quorum speaks (the highest of ../shared/kafka-protocol that Kafka's
/// KRaft sends): Vote 1, BeginQuorumEpoch 1, EndQuorumEpoch 1 (KIP-853 fields, directory ids
/// zero for a static quorum), Fetch 17 (topic id, ReplicaState, ReplicaDirectoryId),
/// FetchSnapshot 1.
public enum RaftWireVersions {
    public static func version(of apiKey: ApiKey) -> Int16 {
        switch apiKey {
        case .vote, .beginQuorumEpoch, .endQuorumEpoch: 1
        case .fetch: 17
        case .fetchSnapshot: 1
        default: 0
        }
    }
}

extension RaftMessage {
    /// The message as it would travel: body encoded at ``RaftWireVersions`` and decoded again.
    /// The in-memory transport does this for every delivery so that the simulation exercises
    /// exactly the fields the wire versions carry.
    public func roundTripped() throws -> RaftMessage {
        switch self {
        case .request(let id, let request):
            switch request {
            case .vote(let m): return .request(correlationId: id, .vote(try Self.cycle(m)))
            case .beginQuorumEpoch(let m): return .request(correlationId: id, .beginQuorumEpoch(try Self.cycle(m)))
            case .endQuorumEpoch(let m): return .request(correlationId: id, .endQuorumEpoch(try Self.cycle(m)))
            case .fetch(let m): return .request(correlationId: id, .fetch(try Self.cycle(m)))
            }
        case .response(let id, let response):
            switch response {
            case .vote(let m): return .response(correlationId: id, .vote(try Self.cycle(m)))
            case .beginQuorumEpoch(let m): return .response(correlationId: id, .beginQuorumEpoch(try Self.cycle(m)))
            case .endQuorumEpoch(let m): return .response(correlationId: id, .endQuorumEpoch(try Self.cycle(m)))
            case .fetch(let m): return .response(correlationId: id, .fetch(try Self.cycle(m)))
            }
        }
    }

    private static func cycle<M: KafkaMessage>(_ message: M) throws -> M where M: KafkaMessage {
        let version: Int16
        if let request = M.self as? any KafkaRequest.Type {
            version = RaftWireVersions.version(of: request.apiKey)
        } else if let response = M.self as? any KafkaResponse.Type {
            version = RaftWireVersions.version(of: response.apiKey)
        } else {
            version = 0
        }
        var buffer = ByteBuffer()
        try message.encode(into: &buffer, version: version)
        let decoded = try M(from: &buffer, version: version)
        guard buffer.readableBytes == 0 else { throw ProtocolError.malformed("\(buffer.readableBytes) bytes after the body") }
        return decoded
    }
}

/// The one abstraction between quorum nodes. `send` hands a message to the network and returns
/// at once; delivery may be late, duplicated, reordered or never (the Raft rules tolerate all
/// of it: every request has a timeout and every response is matched by correlation id).
/// Inbound messages reach the node's driver (`RaftNode.receive`) from the transport.
///
/// Implementations: `InMemoryRaftNetwork` (tests, with faults); a SwiftNIO one (one client
/// connection per peer on the controller listener, Kafka framing, the correlation id as the
/// frame's; inbound requests arrive through the broker's server and are answered by the
/// response the replica sends back) comes when the quorum is wired into the broker.
public protocol RaftTransport: AnyObject, Sendable {
    func send(_ message: RaftMessage, from: RaftNodeId, to: RaftNodeId)
}
