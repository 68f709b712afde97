import Foundation

/// Reads a topic (or one partition) from a start position and keeps following it, posting
/// batches to the inbox. One tail at a time: starting a new one cancels the old.
public actor MessageTailer {
    private let source: any ClusterDataSource
    private let actions: (any ClusterActions)?
    private let inbox: EventInbox
    private var task: Task<Void, Never>?

    public init(source: any ClusterDataSource, actions: (any ClusterActions)?, inbox: EventInbox) {
        self.source = source; self.actions = actions; self.inbox = inbox
    }

    public func start(_ req: TailRequest?) {
        task?.cancel()
        task = nil
        guard let req else { return }
        let source = self.source, actions = self.actions, inbox = self.inbox
        task = Task.detached {
            await Self.follow(req, source: source, actions: actions, inbox: inbox)
        }
    }

    static func follow(_ req: TailRequest, source: any ClusterDataSource, actions: (any ClusterActions)?, inbox: EventInbox) async {
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
        while !Task.isCancelled {
            var got = 0
            for tp in positions.keys.sorted() {
                guard let pos = positions[tp], !Task.isCancelled else { continue }
                do {
                    let batch = try await actions.fetchMessages(tp, fromOffset: pos, maxCount: 200)
                    if let last = batch.last {
                        positions[tp] = last.offset + 1
                        got += batch.count
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
