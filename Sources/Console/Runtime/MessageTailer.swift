import Foundation

/// Reads a topic (or one partition) from a start position and keeps following it, posting
/// batches to the inbox. One tail at a time: starting a new one cancels the old.
public actor MessageTailer {
    private let source: any ClusterDataSource
    private let actions: (any ClusterActions)?
    private let inbox: EventInbox
    private var task: Task<Void, Never>?
    private var gate: (id: Int, gate: TailGate)?

    /// The record budget of the running tail, shared with its task (see `TailRequest.limit`).
    final class TailGate: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int?
        init(_ limit: Int?) { value = limit }
        var limit: Int? { get { lock.withLock { value } } set { lock.withLock { value = newValue } } }
    }

    public init(source: any ClusterDataSource, actions: (any ClusterActions)?, inbox: EventInbox) {
        self.source = source; self.actions = actions; self.inbox = inbox
    }

    public func start(_ req: TailRequest?) {
        task?.cancel()
        task = nil
        gate = nil
        guard let req else { return }
        let source = self.source, actions = self.actions, inbox = self.inbox
        let g = TailGate(req.limit)
        gate = (req.id, g)
        task = Task.detached {
            await Self.follow(req, gate: g, source: source, actions: actions, inbox: inbox)
        }
    }

    /// Raises (or, with nil, lifts) the record budget of tail `id`.
    public func setLimit(id: Int, limit: Int?) {
        if let gate, gate.id == id { gate.gate.limit = limit }
    }

    static func follow(_ req: TailRequest, gate: TailGate = TailGate(nil), source: any ClusterDataSource,
                       actions: (any ClusterActions)?, inbox: EventInbox) async {
        guard let actions else {
            inbox.post(.tailError(tailId: req.id, "reading messages needs a client (not available)"))
            return
        }
        var positions: [TopicPartition: Int64] = [:]
        while !Task.isCancelled && positions.isEmpty {
            do {
                let md = try await source.fetchMetadata()
                guard let topic = md.topics.first(where: { $0.name == req.topic }) else {
                    inbox.post(.tailError(tailId: req.id, "topic \(req.topic) not found")); return
                }
                let tps = topic.partitions.map { TopicPartition(req.topic, $0.partition) }.filter { req.partition == nil || $0.partition == req.partition }
                let offsets = try await source.fetchOffsets(tps, metadata: md)
                var byTime: [TopicPartition: Int64] = [:]
                if case .timestampMs(let ts) = req.start { byTime = try await actions.offsetsForTime(tps, timestampMs: ts) }
                for tp in tps {
                    let o = offsets[tp] ?? PartitionOffsets(logStart: 0, end: 0)
                    switch req.start {
                    case .latest(let n): positions[tp] = max(o.logStart, o.end - Int64(n))
                    case .offset(let off): positions[tp] = min(max(off, o.logStart), o.end)
                    case .timestampMs: positions[tp] = byTime[tp].map { $0 < 0 ? o.end : $0 } ?? o.end
                    }
                }
                if tps.isEmpty { inbox.post(.tailError(tailId: req.id, "partition \(req.partition ?? -1) not found")); return }
            } catch {
                inbox.post(.tailError(tailId: req.id, "\(error)"))
                try? await Task.sleep(for: .seconds(2))
            }
        }
        var delivered = 0
        while !Task.isCancelled {
            var got = 0
            for tp in positions.keys.sorted() {
                guard let pos = positions[tp], !Task.isCancelled else { continue }
                let room = gate.limit.map { $0 - delivered } ?? 200
                guard room > 0 else { continue }
                do {
                    let batch = try await actions.fetchMessages(tp, fromOffset: pos, maxCount: min(200, room))
                    if let last = batch.last {
                        positions[tp] = last.offset + 1
                        got += batch.count
                        delivered += batch.count
                        inbox.post(.messages(tailId: req.id, batch))
                    }
                } catch {
                    inbox.post(.tailError(tailId: req.id, "\(tp): \(error)"))
                }
            }
            if got == 0 { try? await Task.sleep(for: .milliseconds(500)) }
        }
    }
}
