import Foundation
import KafkaClient
import Logging

/// Performs the controller's `ConsoleAction`s against the cluster in background tasks and
/// posts the outcome to the inbox. Sendable: only immutable references.
public struct ActionExecutor: Sendable {
    public let source: any ClusterDataSource
    public let actions: (any ClusterActions)?
    /// Reads (configs, message export): kept in read-only mode, where `actions` is nil.
    public let reader: (any ClusterActions)?
    public let brokerControl: (any BrokerControl)?
    public let inbox: EventInbox
    public let sampler: ClusterSampler
    /// The rolling restart under way, so Esc can cancel it.
    let rolling = RollingTaskSlot()
    /// Pause between two looks at the cluster while a rolling restart waits.
    var rollingPoll: Duration = .seconds(1)
    /// Bound of each wait of a rolling restart.
    var rollingTimeout: TimeInterval = 180
    let logger = Logger(label: "samsa.console.actions")

    public init(source: any ClusterDataSource, actions: (any ClusterActions)?, reader: (any ClusterActions)? = nil,
                brokerControl: (any BrokerControl)?, inbox: EventInbox, sampler: ClusterSampler) {
        self.source = source; self.actions = actions; self.reader = reader ?? actions
        self.brokerControl = brokerControl; self.inbox = inbox; self.sampler = sampler
    }

    public func perform(_ action: ConsoleAction, snapshot: ClusterSnapshot) {
        if action == .rollingRestart && !rolling.begin() {
            inbox.post(.failed("a rolling restart is already running (Esc cancels it)"))
            return
        }
        let task = Task.detached { [self] in
            do {
                let text = try await run(action, snapshot: snapshot)
                logger.info("action done: \(text ?? "result posted")")
                if let text { inbox.post(.succeeded(text)) }
                if action.isMutation { await sampler.refreshNow() }
            } catch {
                logger.error("action failed: \(action): \(error)")
                inbox.post(.actionFailed(action, "\(ConsoleController.progressText(action).replacingOccurrences(of: "…", with: "")) failed: \(error)"))
            }
        }
        if action == .rollingRestart { rolling.attach(task) }
    }

    /// Esc: the rolling restart restarts no further broker (one under way finishes).
    public func cancelRollingRestart() { rolling.cancel() }

    /// On quit: cancels the rolling restart and waits (at most `bound`) until it has ended;
    /// false when it is still running then.
    public func stopRollingRestart(within bound: Duration) async -> Bool {
        guard rolling.isRunning else { return true }
        rolling.cancel()
        let deadline = ContinuousClock.now + bound
        while rolling.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return !rolling.isRunning
    }

    /// Runs a rolling restart to its end, posting its state after every step.
    func rollingRestart() async throws {
        guard let brokerControl else { throw NotAvailable(description: "a rolling restart needs a local cluster (samsa demo)") }
        func observe() async -> RollingRestart.Observation? {
            let running = await brokerControl.runningBrokers()
            guard let md = try? await source.fetchMetadata() else { return nil }
            return RollingRestart.Observation(metadata: md, running: running)
        }
        guard let first = await observe() else { throw NotAvailable(description: "cannot read the cluster's metadata") }
        // The active controller is the quorum leader (a KRaft broker's Metadata controllerId
        // is any live broker, as in Kafka); without a quorum, Metadata's.
        var controller = (try? await source.fetchQuorum())?.leaderId
        if controller == nil { controller = try? await source.fetchMetadata().controllerId }
        let ids = await brokerControl.expectedBrokers().map(\.id)
        var plan = RollingRestart(brokers: RollingRestart.order(ids, controller: controller), timeout: rollingTimeout)
        var command = plan.start(first)
        inbox.post(.rollingRestart(plan))
        var logged = plan.phase
        logger.info("rolling restart of brokers \(plan.brokers) (controller \(controller.map(String.init) ?? "unknown")): \(plan.status(now: Date()))")
        while true {
            if plan.phase != logged, !plan.isFinished {
                logged = plan.phase
                logger.info("\(plan.status(now: Date()))")
            }
            if Task.isCancelled { plan.cancel(); command = .finish }
            switch command {
            case .finish:
                logger.info("\(plan.status(now: Date()))")
                inbox.post(.rollingRestart(plan))
                return
            case .restart(let id):
                // Unstructured: Esc must not cut a restart in half and leave the broker stopped.
                let restart = Task { try await brokerControl.perform(.restart, brokerId: id) }
                let error: String?
                do { try await restart.value; error = nil } catch let e { error = "\(e)" }
                command = plan.restarted(error: error, now: Date())
                if Task.isCancelled { continue }
                inbox.post(.rollingRestart(plan))
                await sampler.refreshNow()
            case .wait:
                try? await Task.sleep(for: rollingPoll)
                if Task.isCancelled { continue }
                command = plan.observe(await observe(), now: Date())
                if command != .finish { inbox.post(.rollingRestart(plan)) }
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

    private func needReader() throws -> any ClusterActions {
        guard let reader else { throw NotAvailable(description: "no client to read with") }
        return reader
    }

    /// Re-reads a target's configs after a change, so the Configs pane shows the new source.
    private func refreshConfigs(_ target: ConfigTarget) async -> [ConfigRow]? {
        do {
            let rows = try await needReader().describeConfigs(target)
            inbox.post(.configs(target, rows))
            return rows
        } catch {
            inbox.post(.configsFailed(target, "\(error)"))
            return nil
        }
    }

    /// Kafka's error code in a failure, when the broker answered one (54 SECURITY_DISABLED...).
    static func brokerCode(_ error: any Error) -> Int16? {
        if let e = error as? KafkaClusterSource.ActionError { return e.code }
        if case .broker(let code, _, _, _)? = error as? KafkaClientError { return code }
        return nil
    }

    /// Tries after a change before the list is posted as it is (the change may not be applied yet).
    var settleReads = 10
    var settlePause: Duration = .milliseconds(200)

    /// Reads every ACL and posts it; after a change, re-reads (at most `settleReads` times)
    /// until `settled` holds, since the broker applies committed ACLs asynchronously.
    private func refreshAcls(until settled: (([KafkaAcl.Binding]) -> Bool)? = nil) async -> [KafkaAcl.Binding]? {
        do {
            var acls = try await needReader().describeAcls()
            var tries = 1
            while let settled, !settled(acls), tries < settleReads {
                try await Task.sleep(for: settlePause)
                acls = try await needReader().describeAcls()
                tries += 1
            }
            inbox.post(.acls(acls))
            return acls
        } catch {
            inbox.post(.aclsFailed("\(error)", code: Self.brokerCode(error)))
            return nil
        }
    }

    /// As `refreshAcls`, for SCRAM users.
    private func refreshUsers(until settled: (([ScramUserDescription]) -> Bool)? = nil) async -> [ScramUserDescription]? {
        do {
            var users = try await needReader().describeScramUsers()
            var tries = 1
            while let settled, !settled(users), tries < settleReads {
                try await Task.sleep(for: settlePause)
                users = try await needReader().describeScramUsers()
                tries += 1
            }
            inbox.post(.users(users))
            return users
        } catch {
            inbox.post(.usersFailed("\(error)", code: Self.brokerCode(error)))
            return nil
        }
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
                return "created topic \(name) (\(Format.plural(created.partitions.count, "partition"))): the request timed out, but the topic is in the cluster metadata"
            }
            return "created topic \(name) (\(Format.plural(Int(partitions), "partition")), RF \(rf))"
        case .deleteTopic(let name):
            try await needActions().deleteTopic(name: name)
            return "deleted topic \(name)"
        case .alterTopicConfig(let topic, let key, let value):
            try await needActions().alterTopicConfig(topic: topic, key: key, value: value)
            return "set \(key)=\(value) on \(topic)"
        case .produce(let spec):
            let n = try await Self.produce(spec, with: needActions())
            return "produced \(Format.plural(n, "message")) to \(spec.topic)"
        case .planOffsetReset(let req):
            inbox.post(.resetPlan(try await plan(req, snapshot: snapshot)))
            return nil
        case .executeOffsetReset(let plan):
            var offsets: [TopicPartition: Int64] = [:]
            for r in plan.rows { offsets[r.partition] = r.target }
            try await needActions().commitOffsets(group: plan.request.group, offsets: offsets)
            return "reset \(Format.plural(offsets.count, "partition")) of \(plan.request.group) to \(plan.request.targetDescription)"
        case .broker(let op, let id):
            guard let brokerControl else { throw NotAvailable(description: "no local cluster to control") }
            try await brokerControl.perform(op, brokerId: id)
            return "broker \(id): \(op.verb) done"
        case .addPartitions(let topic, let total):
            try await needActions().addPartitions(topic: topic, total: total)
            return "topic \(topic) now has \(Format.plural(Int(total), "partition"))"
        case .deleteGroup(let g):
            try await needActions().deleteGroup(g)
            return "deleted group \(g)"
        case .produceMessage(let m):
            let (p, o) = try await needActions().produceMessage(m)
            return "produced 1 message to \(m.topic)-\(p) at offset \(o)"
        case .describeConfigs(let target):
            _ = await refreshConfigs(target)
            return nil
        case .setConfig(let target, let key, let value):
            try await needActions().alterConfigs(target, set: [key: value], delete: [])
            _ = await refreshConfigs(target)
            return "set \(key)=\(value) on \(target)"
        case .deleteConfig(let target, let key):
            try await needActions().alterConfigs(target, set: [:], delete: [key])
            let now = await refreshConfigs(target)?.first { $0.name == key }
            return "removed the override of \(key) on \(target)" + (now.map { ": now \($0.value ?? "null") (\($0.source.rawValue))" } ?? "")
        case .exportMessages(let spec):
            let (n, path) = try await Self.export(spec, reader: needReader(), source: source)
            return "exported \(Format.plural(n, "message")) of \(spec.topic) to \(path)"
        case .rollingRestart:
            defer { rolling.clear() }
            try await rollingRestart()
            return nil
        case .electPreferred(let scope):
            let partitions: [TopicPartition]?
            switch scope {
            case .partition(let tp): partitions = [tp]
            case .topic(let t):
                // Every partition of the topic as the cluster has it now (kafka-leader-election.sh --topic).
                guard let topic = try await source.fetchMetadata().topics.first(where: { $0.name == t }) else {
                    throw NotAvailable(description: "topic \(t) does not exist")
                }
                partitions = topic.partitions.map { TopicPartition(t, $0.partition) }
            case .all: partitions = nil
            }
            let results = try await needActions().electPreferredLeaders(partitions)
            let (text, ok) = ConsoleController.electionSummary(scope, results, snapshot)
            if ok { return text }
            inbox.post(.failed(text))
            return nil
        case .reassign(let plan):
            let results = try await needActions().reassign(plan.targets.mapValues { Optional($0) })
            let (text, ok) = ConsoleController.reassignmentSummary("reassignment of \(plan.title)", results, started: true)
            if ok {
                inbox.post(.reassignmentStarted(plan.title, plan.rows.map(\.partition)))
                return text
            }
            inbox.post(.failed(text))
            return nil
        case .cancelReassignments(let partitions):
            let results = try await needActions().reassign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, nil) }))
            let (text, ok) = ConsoleController.reassignmentSummary("cancel of \(Format.plural(partitions.count, "reassignment"))", results, started: false)
            if ok { return text }
            inbox.post(.failed(text))
            return nil
        case .describeAcls:
            _ = await refreshAcls()
            return nil
        case .createAcls(let bindings):
            try await needActions().createAcls(bindings)
            // Kafka commits an ACL through the controller and the broker applies it a moment
            // later: re-read until it is listed (bounded), so the pane shows what was added.
            _ = await refreshAcls { acls in bindings.allSatisfy(acls.contains) }
            return "added " + (bindings.count == 1 ? "ACL " + ConsoleController.aclText(bindings[0]) : Format.plural(bindings.count, "ACL"))
        case .deleteAcl(let binding):
            let removed = try await needActions().deleteAcl(binding)
            _ = await refreshAcls { !$0.contains(binding) }
            if removed == 0 { return "no ACL matched \(ConsoleController.aclText(binding)) (already deleted?)" }
            return "deleted ACL \(ConsoleController.aclText(binding))"
        case .describeUsers:
            _ = await refreshUsers()
            return nil
        case .setUserPassword(let user, let mechanism, let password, let iterations):
            try await needActions().upsertScramUser(user, mechanism: mechanism, password: password.value, iterations: iterations)
            _ = await refreshUsers { users in
                users.contains { $0.user == user && $0.credentials.contains { $0.mechanism == mechanism.name && Int($0.iterations) == iterations } }
            }
            return "set the \(mechanism.name) credential of user \(user) (\(iterations) iterations)"
        case .deleteUser(let user, let mechanisms):
            for m in mechanisms { try await needActions().deleteScramUser(user, mechanism: m) }
            _ = await refreshUsers { users in
                !users.contains { $0.user == user && $0.credentials.contains { c in mechanisms.contains { $0.name == c.mechanism } } }
            }
            return "deleted the \(mechanisms.map(\.name).joined(separator: " and ")) credential\(mechanisms.count == 1 ? "" : "s") of user \(user)"
        case .writeFile(let path, let contents, let what):
            let url = try Self.createFile(path)
            let h = try FileHandle(forWritingTo: url)
            defer { try? h.close() }
            try h.write(contentsOf: contents)
            return "wrote \(what) to \(url.path)"
        }
    }

    /// A new file at `path` ("~" expanded, relative to the working directory). An existing
    /// file is never overwritten: a typo must not destroy data.
    static func createFile(_ path: String) throws -> URL {
        let expanded = (path.trimmingCharacters(in: .whitespaces) as NSString).expandingTildeInPath
        guard !expanded.isEmpty else { throw NotAvailable(description: "no file name") }
        let url = URL(fileURLWithPath: expanded).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.path) { throw NotAvailable(description: "\(url.path) exists; choose another name") }
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw NotAvailable(description: "cannot create \(url.path)")
        }
        return url
    }

    /// One message as a JSON line, in `samsa consume --output json`'s shape (sorted keys;
    /// timestamp in ms). Bytes that are not UTF-8 are base64 with `keyEncoding`/`valueEncoding`.
    static func jsonLine(topic: String, _ m: ConsoleMessage) -> String {
        func text(_ b: [UInt8]?) -> (String?, Bool) {
            guard let b else { return (nil, false) }
            if let s = String(validating: b, as: UTF8.self) { return (s, false) }
            return (Data(b).base64EncodedString(), true)
        }
        var obj: [String: Any] = ["topic": topic, "partition": Int(m.partition), "offset": m.offset,
                                  "timestamp": m.timestamp.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? -1]
        let (k, kb) = text(m.key), (v, vb) = text(m.value)
        obj["key"] = k ?? NSNull()
        obj["value"] = v ?? NSNull()
        if kb { obj["keyEncoding"] = "base64" }
        if vb { obj["valueEncoding"] = "base64" }
        var headers: [String: Any] = [:]
        for h in m.headers { headers[h.key] = text(h.value).0 ?? NSNull() }
        obj["headers"] = headers
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes the messages of `spec` as JSON lines, partition by partition in offset order,
    /// reading with Fetch from the cluster (not from what the pane happens to hold).
    static func export(_ spec: ExportSpec, reader: any ClusterActions, source: any ClusterDataSource) async throws -> (Int, String) {
        let md = try await source.fetchMetadata()
        guard let topic = md.topics.first(where: { $0.name == spec.topic }) else { throw NotAvailable(description: "topic \(spec.topic) not found") }
        let tps = topic.partitions.map { TopicPartition(spec.topic, $0.partition) }.filter { spec.partition == nil || $0.partition == spec.partition }
        guard !tps.isEmpty else { throw NotAvailable(description: "partition \(spec.partition ?? -1) not found") }
        let offsets = try await source.fetchOffsets(tps, metadata: md)
        let url = try createFile(spec.path)
        let h = try FileHandle(forWritingTo: url)
        defer { try? h.close() }
        var written = 0
        for tp in tps.sorted() {
            guard let o = offsets[tp] else { throw NotAvailable(description: "no offsets for \(tp)") }
            var pos = max(spec.fromOffset, o.logStart)
            // Without a To offset, read until a Fetch comes back empty (the high watermark as
            // reached), not to ListOffsets' end: Tansu 0.6 answers LATEST too low.
            let stop = spec.toOffset ?? Int64.max
            while pos < stop, written < spec.maxMessages {
                try Task.checkCancellation()
                let batch = try await reader.fetchMessages(tp, fromOffset: pos, maxCount: min(500, spec.maxMessages - written))
                guard let last = batch.last else { break }
                var out = ""
                for m in batch where m.offset < stop && written < spec.maxMessages {
                    out += jsonLine(topic: spec.topic, m) + "\n"
                    written += 1
                }
                try h.write(contentsOf: Data(out.utf8))
                pos = last.offset + 1
            }
        }
        return (written, url.path)
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
        if req.strategy == .shiftBy, let tp = tps.sorted().first(where: { (current[$0] ?? nil) == nil }) {
            // Kafka's tool refuses too: there is nothing to shift from.
            throw NotAvailable(description: "cannot shift \(tp): group \(req.group) has no committed offset there")
        }
        let rows: [OffsetResetRow] = tps.sorted().map { tp in
            let o = offsets[tp]
            let lo = o?.logStart ?? 0, hi = o?.end ?? 0
            let target: Int64
            switch req.strategy {
            case .earliest: target = lo
            case .latest: target = hi
            case .offset: target = min(max(req.value ?? 0, lo), hi)
            case .time: target = byTime[tp].map { $0 < 0 ? hi : $0 } ?? hi
            case .shiftBy:
                let (sum, overflow) = (current[tp].flatMap { $0 } ?? lo).addingReportingOverflow(req.value ?? 0)
                target = overflow ? ((req.value ?? 0) < 0 ? lo : hi) : min(max(sum, lo), hi)
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

    /// Exactly `size` bytes, JSON when it fits so the Messages pane pretty-prints it:
    /// `{"n":42,"ts":1764150000000,"pad":"xxxx"}` padded to `size`; below that `{"n":42}`
    /// padded with spaces (still JSON); below that the number's digits, zero-padded or cut.
    /// (The dialog's "Value bytes 20" once wrote 35-byte values: the object was never cut.)
    static func testValue(number: Int, size: Int) -> [UInt8] {
        guard size > 0 else { return [] }
        let ms = Int64(Date().timeIntervalSince1970 * 1000)
        let head = "{\"n\":\(number),\"ts\":\(ms),\"pad\":\""
        if head.utf8.count + 2 <= size {
            return Array((head + String(repeating: "x", count: size - head.utf8.count - 2) + "\"}").utf8)
        }
        let small = "{\"n\":\(number)}"
        if small.utf8.count <= size { return Array((small + String(repeating: " ", count: size - small.utf8.count)).utf8) }
        let digits = String(number)
        return Array((String(repeating: "0", count: max(0, size - digits.utf8.count)) + digits.suffix(size)).utf8)
    }
}

/// The task of the rolling restart under way (at most one), for Esc to cancel.
final class RollingTaskSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var task: Task<Void, Never>?
    private var running = false
    var isRunning: Bool { lock.withLock { running } }
    /// False when one is already running.
    func begin() -> Bool { lock.withLock { if running { return false }; running = true; return true } }
    /// Its task; ignored when it has already finished.
    func attach(_ t: Task<Void, Never>) { lock.withLock { if running { task = t } } }
    func cancel() { lock.withLock { task }?.cancel() }
    func clear() { lock.withLock { task = nil; running = false } }
}
