import Foundation
import KafkaClient
import Logging

/// Performs the controller's `ConsoleAction`s against the cluster in background tasks and
/// posts the outcome to the inbox. Sendable: only immutable references.
public struct ActionExecutor: Sendable {
    public let source: any ClusterDataSource
    public let actions: (any ClusterActions)?
    public let brokerControl: (any BrokerControl)?
    public let inbox: EventInbox
    public let sampler: ClusterSampler
    let logger = Logger(label: "samsa.console.actions")

    public init(source: any ClusterDataSource, actions: (any ClusterActions)?, brokerControl: (any BrokerControl)?, inbox: EventInbox, sampler: ClusterSampler) {
        self.source = source; self.actions = actions; self.brokerControl = brokerControl; self.inbox = inbox; self.sampler = sampler
    }

    public func perform(_ action: ConsoleAction, snapshot: ClusterSnapshot) {
        Task.detached { [self] in
            do {
                let text = try await run(action, snapshot: snapshot)
                logger.info("action done: \(text ?? "plan ready")")
                if let text { inbox.post(.succeeded(text)) }
                await sampler.refreshNow()
            } catch {
                logger.error("action failed: \(action): \(error)")
                inbox.post(.actionFailed(action, "\(ConsoleController.progressText(action).replacingOccurrences(of: "…", with: "")) failed: \(error)"))
            }
        }
    }

    /// Whether a failed request may nevertheless have taken effect: no answer in time
    /// (the client's timeout, the connection lost) or the broker's REQUEST_TIMED_OUT (7).
    static func outcomeUnknown(_ error: any Error) -> Bool {
        if let e = error as? KafkaClusterSource.ActionError { return e.code == 7 }
        switch error as? KafkaClientError {
        case .timedOut?, .connectionClosed?: return true
        case .broker(let code, _, _, _)?: return code == 7
        default: return false
        }
    }

    struct NotAvailable: Error, CustomStringConvertible {
        var description: String
    }

    private func needActions() throws -> any ClusterActions {
        guard let actions else { throw NotAvailable(description: "not available in read-only mode") }
        return actions
    }

    /// Runs one action; returns the success message (nil when the action posts its own event).
    func run(_ action: ConsoleAction, snapshot: ClusterSnapshot) async throws -> String? {
        switch action {
        case .createTopic(let name, let partitions, let rf, let configs):
            do {
                try await needActions().createTopic(name: name, partitions: partitions, replicationFactor: rf, configs: configs)
            } catch where Self.outcomeUnknown(error) {
                // A timed-out CreateTopics may still have created the topic (a big one takes
                // a while): ask the cluster before saying "failed".
                guard let created = try? await source.fetchMetadata().topics.first(where: { $0.name == name }) else { throw error }
                return "created topic \(name) (\(created.partitions.count) partitions): the request timed out, but the topic is in the cluster metadata"
            }
            return "created topic \(name) (\(partitions) partitions, RF \(rf))"
        case .deleteTopic(let name):
            try await needActions().deleteTopic(name: name)
            return "deleted topic \(name)"
        case .alterTopicConfig(let topic, let key, let value):
            try await needActions().alterTopicConfig(topic: topic, key: key, value: value)
            return "set \(key)=\(value) on \(topic)"
        case .produce(let spec):
            let n = try await Self.produce(spec, with: needActions())
            return "produced \(n) messages to \(spec.topic)"
        case .planOffsetReset(let req):
            inbox.post(.resetPlan(try await plan(req, snapshot: snapshot)))
            return nil
        case .executeOffsetReset(let plan):
            var offsets: [TopicPartition: Int64] = [:]
            for r in plan.rows { offsets[r.partition] = r.target }
            try await needActions().commitOffsets(group: plan.request.group, offsets: offsets)
            return "reset \(offsets.count) partition(s) of \(plan.request.group) to \(plan.request.strategy.rawValue)"
        case .broker(let op, let id):
            guard let brokerControl else { throw NotAvailable(description: "no local cluster to control") }
            try await brokerControl.perform(op, brokerId: id)
            return "broker \(id): \(op.rawValue) done"
        }
    }

    /// Builds the per-partition preview of an offset reset from fresh offsets.
    func plan(_ req: OffsetResetRequest, snapshot: ClusterSnapshot) async throws -> OffsetResetPlan {
        let group = snapshot.group(id: req.group)
        var tps = (group?.partitions ?? []).map { TopicPartition($0.topic, $0.partition) }
        if let t = req.topic {
            tps = tps.filter { $0.topic == t }
            if tps.isEmpty, let topic = snapshot.topic(named: t) { tps = topic.partitions.map { TopicPartition(t, $0.partition) } }
        }
        guard !tps.isEmpty else { throw NotAvailable(description: "group \(req.group) has no committed offsets" + (req.topic.map { " on \($0)" } ?? "")) }
        let md = try await source.fetchMetadata()
        let offsets = try await source.fetchOffsets(tps, metadata: md)
        var byTime: [TopicPartition: Int64] = [:]
        if req.strategy == .time, let ts = req.value { byTime = try await needActions().offsetsForTime(tps, timestampMs: ts) }
        let current = Dictionary((group?.partitions ?? []).map { (TopicPartition($0.topic, $0.partition), $0.committedOffset) }, uniquingKeysWith: { a, _ in a })
        let rows: [OffsetResetRow] = tps.sorted().map { tp in
            let o = offsets[tp]
            let lo = o?.logStart ?? 0, hi = o?.end ?? 0
            let target: Int64
            switch req.strategy {
            case .earliest: target = lo
            case .latest: target = hi
            case .offset: target = min(max(req.value ?? 0, lo), hi)
            case .time: target = byTime[tp].map { $0 < 0 ? hi : $0 } ?? hi
            }
            return OffsetResetRow(partition: tp, current: current[tp] ?? nil, target: target, end: o?.end)
        }
        return OffsetResetPlan(request: req, rows: rows, activeMembers: group?.members.count ?? 0)
    }

    /// Generates and sends test messages: JSON values padded to `sizeBytes`, keys from the
    /// pattern, in batches, paced to `rate` messages per second when it is non-zero.
    static func produce(_ spec: ProduceSpec, with actions: any ClusterActions) async throws -> Int {
        if let problem = spec.problem { throw NotAvailable(description: problem) }
        var sent = 0
        let batch = max(1, min(500, ProduceSpec.maxBatchBytes / max(1, spec.sizeBytes)))
        let started = ContinuousClock.now
        var n = 0
        while n < spec.count {
            let k = min(batch, spec.count - n, spec.rate > 0 ? max(1, Int(spec.rate / 10)) : batch)
            var msgs: [OutgoingMessage] = []
            msgs.reserveCapacity(k)
            for i in n..<(n + k) {
                let key = spec.keyPattern.isEmpty ? nil : Array(spec.keyPattern.replacingOccurrences(of: "{n}", with: "\(i)").utf8)
                msgs.append(OutgoingMessage(key: key, value: testValue(number: i, size: spec.sizeBytes)))
            }
            sent += try await actions.produce(topic: spec.topic, partition: spec.partition, messages: msgs)
            n += k
            if spec.rate > 0 {
                let due = started + .milliseconds(Int64(Double(n) / spec.rate * 1000))
                try await Task.sleep(until: due, clock: .continuous)
            }
        }
        return sent
    }

    /// `{"n":42,"ts":1764150000000,"pad":"xxxx"}` padded to `size` bytes (or just the
    /// object when smaller), so values are JSON the Messages pane pretty-prints.
    static func testValue(number: Int, size: Int) -> [UInt8] {
        let ms = Int64(Date().timeIntervalSince1970 * 1000)
        let head = "{\"n\":\(number),\"ts\":\(ms),\"pad\":\""
        let pad = max(0, size - head.utf8.count - 2)
        return Array((head + String(repeating: "x", count: pad) + "\"}").utf8)
    }
}
