import Foundation

/// A reassignment under way, as ListPartitionReassignments reports it (KIP-455): while it
/// runs, the partition's replica set is the target plus the replicas being removed; the
/// replicas being added copy the log and join the ISR, then the controller drops the others.
public struct OngoingReassignment: Sendable, Equatable, Codable {
    public var partition: TopicPartition
    /// Target followed by the replicas being removed (Kafka's order).
    public var replicas: [Int32]
    public var adding: [Int32]
    public var removing: [Int32]
    public init(partition: TopicPartition, replicas: [Int32], adding: [Int32], removing: [Int32]) {
        self.partition = partition; self.replicas = replicas; self.adding = adding; self.removing = removing
    }
    /// The replica set the partition has once the reassignment is done.
    public var target: [Int32] { replicas.filter { !removing.contains($0) } }
}

/// The replicas of one partition before and after a reassignment the operator asked for.
public struct ReassignmentRow: Sendable, Equatable {
    public var partition: TopicPartition
    public var current: [Int32]
    public var target: [Int32]
    public var leader: Int32
    public init(partition: TopicPartition, current: [Int32], target: [Int32], leader: Int32) {
        self.partition = partition; self.current = current; self.target = target; self.leader = leader
    }
    public var adding: [Int32] { target.filter { !current.contains($0) } }
    public var removing: [Int32] { current.filter { !target.contains($0) } }
    /// The leader is moved off: a leader election follows once the new replicas are in sync.
    public var movesLeader: Bool { leader >= 0 && !target.contains(leader) }
}

/// What `:reassign` would do, shown before anything is sent (the plan preview).
public struct ReassignmentPlan: Sendable, Equatable {
    /// "orders-0" or "orders (6 partitions)": what the status line calls it.
    public var title: String
    /// Only partitions whose replica set changes.
    public var rows: [ReassignmentRow]
    /// Partitions the command covers that already have the target replicas.
    public var unchanged: Int
    /// Warnings the preview shows above the table (a target broker that is down now...).
    public var warnings: [String]
    public init(title: String, rows: [ReassignmentRow], unchanged: Int = 0, warnings: [String] = []) {
        self.title = title; self.rows = rows; self.unchanged = unchanged; self.warnings = warnings
    }
    public var targets: [TopicPartition: [Int32]] {
        Dictionary(uniqueKeysWithValues: rows.map { ($0.partition, $0.target) })
    }
}

/// One partition's answer to AlterPartitionReassignments: 0, or Kafka's error verbatim.
public struct ReassignmentOutcome: Sendable, Equatable {
    public var partition: TopicPartition
    public var errorCode: Int16
    public var error: String?
    public init(partition: TopicPartition, errorCode: Int16 = 0, error: String? = nil) {
        self.partition = partition; self.errorCode = errorCode; self.error = error
    }
}

/// Parsing, validation and planning of `:reassign`, pure functions of the command's words
/// and the last snapshot. Everything is checked before a request is sent, so a bad command
/// changes nothing (Kafka would accept some partitions of a request and refuse others).
public enum ReassignmentPlanner {
    public static let usage = "usage: :reassign TOPIC:PARTITION BROKERS (e.g. 1,2,3; the first is the preferred leader) | "
        + ":reassign TOPIC BROKERS [RF] | :reassign cancel [TOPIC[:PARTITION]]"

    public struct Failure: Error, Equatable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    public enum Command: Equatable {
        case plan(ReassignmentPlan)
        /// Partitions whose ongoing reassignment is to be cancelled (AlterPartitionReassignments
        /// with null replicas), as `kafka-reassign-partitions.sh --cancel`.
        case cancel([TopicPartition])
    }

    public static func parse(_ args: [String], _ s: ClusterSnapshot) -> Result<Command, Failure> {
        guard let first = args.first else { return .failure(Failure(usage)) }
        if first.lowercased() == "cancel" { return cancel(Array(args.dropFirst()), s) }
        guard s.hasData else { return .failure(Failure("no cluster metadata yet: wait for the first sample")) }
        guard args.count >= 2, args.count <= 3 else { return .failure(Failure(usage)) }
        let (topicName, partition): (String, Int32?)
        switch splitTarget(first) {
        case .failure(let f): return .failure(f)
        case .success(let v): (topicName, partition) = v
        }
        guard let topic = s.topic(named: topicName) else { return .failure(Failure("topic '\(topicName)' does not exist in this cluster")) }
        let brokers: [Int32]
        switch parseBrokers(args[1], s) {
        case .failure(let f): return .failure(f)
        case .success(let b): brokers = b
        }
        if let partition {
            guard args.count == 2 else { return .failure(Failure("a partition takes its replica list only: " + usage)) }
            guard let p = topic.partitions.first(where: { $0.partition == partition }) else {
                return .failure(Failure("\(topicName) has partitions 0-\(topic.partitions.count - 1), not \(partition)"))
            }
            let row = ReassignmentRow(partition: TopicPartition(topicName, partition), current: currentReplicas(p, s), target: brokers, leader: p.leader)
            if row.current == row.target {
                return .failure(Failure("\(topicName)-\(partition) already has replicas \(Format.ids(brokers)): nothing to reassign"))
            }
            return .success(.plan(ReassignmentPlan(title: "\(topicName)-\(partition)", rows: [row], warnings: warnings([row], s))))
        }
        let rf: Int
        if args.count == 3 {
            guard let n = Int(args[2]), n >= 1 else { return .failure(Failure("replication factor must be a whole number >= 1, not '\(args[2])'")) }
            rf = n
        } else {
            rf = topic.replicationFactor
        }
        guard rf <= brokers.count else {
            return .failure(Failure("replication factor \(rf) needs \(rf) brokers; \(Format.ids(brokers)) \(brokers.count == 1 ? "is" : "are") \(brokers.count)"))
        }
        let rows = planTopic(topic, brokers: brokers, rf: rf, s)
        let changed = rows.filter { $0.current != $0.target }
        guard !changed.isEmpty else {
            return .failure(Failure("every partition of \(topicName) already has \(rf) replicas on \(Format.ids(brokers)): nothing to reassign"))
        }
        return .success(.plan(ReassignmentPlan(title: "\(topicName) (\(Format.plural(changed.count, "partition")))", rows: changed,
                                               unchanged: rows.count - changed.count, warnings: warnings(changed, s))))
    }

    /// The replicas a partition will keep: during a reassignment, its target.
    static func currentReplicas(_ p: PartitionView, _ s: ClusterSnapshot) -> [Int32] {
        p.reassignment.map { r in p.replicas.filter { !r.removing.contains($0) } } ?? p.replicas
    }

    /// "TOPIC" or "TOPIC:PARTITION" (topic names cannot contain ':').
    static func splitTarget(_ target: String) -> Result<(String, Int32?), Failure> {
        guard let colon = target.lastIndex(of: ":") else { return .success((target, nil)) }
        let topic = String(target[..<colon]), p = String(target[target.index(after: colon)...])
        guard !topic.isEmpty else { return .failure(Failure(usage)) }
        guard let n = Int32(p), n >= 0 else { return .failure(Failure("partition must be a number >= 0, not '\(p)'")) }
        return .success((topic, n))
    }

    /// A comma-separated list of registered broker ids, each once.
    static func parseBrokers(_ text: String, _ s: ClusterSnapshot) -> Result<[Int32], Failure> {
        var ids: [Int32] = []
        for word in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let id = Int32(word), id >= 0 else {
                return .failure(Failure("broker ids are numbers separated by commas (1,2,3), not '\(text)'"))
            }
            guard !ids.contains(id) else { return .failure(Failure("broker \(id) is named twice in \(text): a replica set lists each broker once")) }
            ids.append(id)
        }
        let known = Set(s.brokers.filter { $0.role != .controller }.map(\.id))
        let unknown = ids.filter { !known.contains($0) }
        if !unknown.isEmpty {
            return .failure(Failure("no broker \(Format.ids(unknown)) in this cluster (brokers: \(Format.ids(known.sorted())))"))
        }
        return .success(ids)
    }

    /// Every partition of `topic` on `rf` of `brokers`, balanced and moving little: each
    /// broker takes at most ceil(partitions x rf / brokers) replicas of the topic. Current
    /// replicas on the named brokers are kept rank by rank (every partition's leader first,
    /// then every second replica...) while their broker is under that cap, so leaders stay
    /// where they are; the free slots go to the least loaded brokers. (Keeping whole replica
    /// sets first left `:reassign t 1,2,3` of a topic on brokers 1,2 with nothing to do.)
    static func planTopic(_ topic: TopicView, brokers: [Int32], rf: Int, _ s: ClusterSnapshot) -> [ReassignmentRow] {
        var load: [Int32: Int] = Dictionary(uniqueKeysWithValues: brokers.map { ($0, 0) })
        let cap = (topic.partitions.count * rf + brokers.count - 1) / brokers.count
        let current = topic.partitions.map { p in currentReplicas(p, s).filter { load[$0] != nil } }
        var kept = Array(repeating: [Int32](), count: topic.partitions.count)
        for rank in 0..<(current.map(\.count).max() ?? 0) {
            for i in current.indices where rank < current[i].count && kept[i].count < rf {
                let b = current[i][rank]
                if load[b]! < cap { kept[i].append(b); load[b]! += 1 }
            }
        }
        var rows: [ReassignmentRow] = []
        for (i, p) in topic.partitions.enumerated() {
            var target = kept[i]
            while target.count < rf {
                let next = brokers.filter { !target.contains($0) }.min { (load[$0]!, $0) < (load[$1]!, $1) }!
                target.append(next)
                load[next]! += 1
            }
            rows.append(ReassignmentRow(partition: TopicPartition(topic.name, p.partition), current: currentReplicas(p, s), target: target, leader: p.leader))
        }
        return rows
    }

    /// What the operator should know before confirming.
    static func warnings(_ rows: [ReassignmentRow], _ s: ClusterSnapshot) -> [String] {
        var out: [String] = []
        let targets = Set(rows.flatMap(\.target))
        let down = s.brokers.filter { targets.contains($0.id) && $0.status != .up }.map(\.id)
        if !down.isEmpty {
            out.append("broker \(Format.ids(down)) is not up: the reassignment waits until \(down.count == 1 ? "it is" : "they are") back")
        }
        let running = rows.filter { r in s.topic(named: r.partition.topic)?.partitions.first { $0.partition == r.partition.partition }?.reassignment != nil }
        if !running.isEmpty {
            out.append("\(Format.plural(running.count, "partition")) already being reassigned: the new target replaces the old one")
        }
        let moved = rows.filter(\.movesLeader).count
        if moved > 0 { out.append("\(Format.plural(moved, "partition"))' leader is moved off: clients follow it after a short NOT_LEADER_OR_FOLLOWER") }
        return out
    }

    static func cancel(_ args: [String], _ s: ClusterSnapshot) -> Result<Command, Failure> {
        guard args.count <= 1 else { return .failure(Failure(usage)) }
        var running = s.topics.flatMap(\.partitions).filter { $0.reassignment != nil }.map { TopicPartition($0.topic, $0.partition) }
        if let target = args.first {
            switch splitTarget(target) {
            case .failure(let f): return .failure(f)
            case .success(let (topic, partition)):
                guard s.topic(named: topic) != nil else { return .failure(Failure("topic '\(topic)' does not exist in this cluster")) }
                running = running.filter { $0.topic == topic && (partition == nil || $0.partition == partition) }
            }
        }
        guard !running.isEmpty else {
            return .failure(Failure("no reassignment is running" + (args.first.map { " for \($0)" } ?? "") + ": nothing to cancel"))
        }
        return .success(.cancel(running.sorted()))
    }
}

/// Follows reassignments the console started until ListPartitionReassignments no longer
/// lists them (the progress on the status line).
public struct ReassignmentWatch: Sendable, Equatable {
    public var title: String
    public var partitions: Set<TopicPartition>
    public var startedAt: Date
    /// Partitions still listed as reassigning in the last snapshot.
    public var remaining: Int
    public init(title: String, partitions: Set<TopicPartition>, startedAt: Date) {
        self.title = title; self.partitions = partitions; self.startedAt = startedAt; self.remaining = partitions.count
    }

    /// Progress against a snapshot taken after `startedAt`: nil when nothing changed.
    public mutating func observe(_ s: ClusterSnapshot) -> (text: String, done: Bool)? {
        guard s.takenAt > startedAt, s.errors[.reassignments] == nil else { return nil }
        var left: [PartitionView] = []
        for tp in partitions {
            if let p = s.topic(named: tp.topic)?.partitions.first(where: { $0.partition == tp.partition }), p.reassignment != nil { left.append(p) }
        }
        let elapsed = Duration.compact(s.takenAt.timeIntervalSince(startedAt))
        if left.isEmpty {
            remaining = 0
            return ("reassignment of \(title) done in \(elapsed)", true)
        }
        guard left.count != remaining else { return nil }
        remaining = left.count
        let first = left.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }[0]
        let adding = first.reassignment.map { Format.ids($0.adding) } ?? "-"
        return ("reassigning \(title): \(partitions.count - left.count) of \(partitions.count) done (\(first.topic)-\(first.partition) adding \(adding)), \(elapsed)", false)
    }
}
