import Foundation
import TerminalUI

/// Cluster-level operator actions (issue 13 item 4): preferred leader election for a
/// partition, a topic or everything. Like the rest of the controller: keys in, effects out,
/// no I/O; the parsing and the summaries are pure functions, tested on their own.
extension ConsoleController {
    /// A palette command's arguments that cannot run, with the message to show.
    struct CommandError: Error, Equatable {
        var message: String
    }

    static let electUsage = "usage: :elect preferred [TOPIC[:PARTITION]] (no TOPIC: every partition)"

    /// `:elect preferred [TOPIC[:PARTITION]]`. Topic names cannot contain ':' (Kafka allows
    /// [a-zA-Z0-9._-]), so the last ':' separates the partition. When the cluster's metadata
    /// is known the topic and partition must exist in it.
    static func parseElection(_ args: [String], _ s: ClusterSnapshot) -> Result<ElectionScope, CommandError> {
        guard let type = args.first?.lowercased() else { return .failure(CommandError(message: electUsage)) }
        if type == "unclean" {
            return .failure(CommandError(message: "unclean elections can lose committed messages and are not offered here; "
                                         + "use samsa topic elect-leaders --election-type unclean"))
        }
        guard type == "preferred" else { return .failure(CommandError(message: "election type must be preferred, not '\(args[0])'; " + electUsage)) }
        guard args.count <= 2 else { return .failure(CommandError(message: electUsage)) }
        guard args.count == 2 else { return .success(.all) }
        let target = args[1]
        var topic = target, partition: Int32?
        if let colon = target.lastIndex(of: ":") {
            topic = String(target[..<colon])
            let p = String(target[target.index(after: colon)...])
            guard let n = Int32(p), n >= 0 else { return .failure(CommandError(message: "partition must be a number >= 0, not '\(p)'")) }
            partition = n
        }
        guard !topic.isEmpty else { return .failure(CommandError(message: electUsage)) }
        if s.hasData {
            guard let t = s.topic(named: topic) else { return .failure(CommandError(message: "topic '\(topic)' does not exist in this cluster")) }
            if let partition, !t.partitions.contains(where: { $0.partition == partition }) {
                return .failure(CommandError(message: "\(topic) has partitions 0-\(t.partitions.count - 1), not \(partition)"))
            }
        }
        return .success(partition.map { .partition(TopicPartition(topic, $0)) } ?? .topic(topic))
    }

    /// The confirmation question, with what the console knows now: whether the partitions
    /// are on their preferred leader (the first replica).
    static func electionQuestion(_ scope: ElectionScope, _ s: ClusterSnapshot) -> String {
        switch scope {
        case .partition(let tp):
            let p = s.topic(named: tp.topic)?.partitions.first { $0.partition == tp.partition }
            let now: String
            if let p, let pref = p.replicas.first {
                now = p.leader == pref ? ": broker \(pref), already the leader" : ": broker \(pref), now led by \(p.leader < 0 ? "none" : "broker \(p.leader)")"
            } else { now = "" }
            return "elect the preferred leader of \(scope)\(now)? (y/n)"
        case .topic(let t):
            let off = s.topic(named: t)?.partitions.filter { !$0.health.preferredLeader }.count
            return "elect the preferred leaders of \(scope)" + (off.map { " (\($0) not on their preferred leader)" } ?? "") + "? (y/n)"
        case .all:
            let off = s.hasData ? " (\(s.health.notOnPreferredLeader) not on their preferred leader)" : ""
            return "elect the preferred leaders of every partition of the cluster\(off)? (y/n)"
        }
    }

    /// Asks to confirm an election; refused in read-only mode.
    func openElection(_ scope: ElectionScope, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        mutating("preferred leader election", now) {
            mode = .confirm(Self.electionQuestion(scope, s), .electPreferred(scope))
            return []
        }
    }

    func runElectCommand(_ args: [String], _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch Self.parseElection(args, s) {
        case .failure(let e): say(e.message, .error, now); return []
        case .success(let scope): return openElection(scope, s, now)
        }
    }

    /// What the status line says about an election's answer, and whether it all went well.
    /// ELECTION_NOT_NEEDED is not a failure: the partition is already on its preferred leader.
    /// Refusals carry Kafka's error text verbatim.
    static func electionSummary(_ scope: ElectionScope, _ results: [ElectionOutcome], _ s: ClusterSnapshot) -> (text: String, ok: Bool) {
        func preferred(_ tp: TopicPartition) -> String {
            s.topic(named: tp.topic)?.partitions.first { $0.partition == tp.partition }?.replicas.first.map { " (broker \($0))" } ?? ""
        }
        if case .partition(let tp) = scope {
            guard let r = results.first(where: { $0.partition == tp }) ?? results.first else {
                return ("\(scope): already on preferred leader\(preferred(tp)) (Kafka elected nothing)", true)
            }
            switch r.errorCode {
            case 0: return ("\(scope): leadership moved to its preferred leader\(preferred(tp))", true)
            case ElectionOutcome.electionNotNeeded: return ("\(scope): already on preferred leader\(preferred(tp))", true)
            default: return ("\(scope): election refused: \(r.error ?? "error \(r.errorCode)")", false)
            }
        }
        let elected = results.filter { $0.errorCode == 0 }.count
        let already = results.filter { $0.errorCode == ElectionOutcome.electionNotNeeded }.count
        let refused = results.filter { $0.errorCode != 0 && $0.errorCode != ElectionOutcome.electionNotNeeded }
        let what: String
        switch scope {
        case .topic(let t): what = "preferred election on \(t)"
        default: what = "preferred election on every partition"
        }
        if results.isEmpty || (elected == 0 && refused.isEmpty) {
            return ("\(what): " + ((scope == .all) ? "every partition is" : "\(Format.plural(already, "partition")) already") + " on preferred leader", true)
        }
        var parts: [String] = []
        if elected > 0 { parts.append("\(Format.plural(elected, "partition")) moved to their preferred leader") }
        if already > 0 { parts.append("\(already) already on preferred leader") }
        else if (scope == .all) && refused.isEmpty { parts.append("the others already on preferred leader") }
        if !refused.isEmpty { parts.append("\(refused.count) refused") }
        var text = "\(what): " + parts.joined(separator: ", ")
        // The first refusal on the status line; every one in the message history (`!`).
        if let first = refused.first { text += ": \(first.partition.topic)-\(first.partition.partition): \(first.error ?? "error \(first.errorCode)")" }
        for r in refused.dropFirst() { text += "\n\(r.partition.topic)-\(r.partition.partition): \(r.error ?? "error \(r.errorCode)")" }
        return (text, refused.isEmpty)
    }
}

// MARK: - Rolling restart

extension ConsoleController {
    /// Asks to confirm a rolling restart of the local cluster (Brokers `R`, `:rolling-restart`).
    func openRollingRestart(_ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        // Read-only first: a read-only console never has process control, and should say why.
        mutating("rolling restart", now) {
            guard brokerControl else {
                say("a rolling restart needs a local cluster started by samsa demo", .warn, now); return []
            }
            if let r = rolling, !r.isFinished { say("a rolling restart is already running (Esc cancels it)", .warn, now); return [] }
            let ids = RollingRestart.order(s.brokers.map(\.id), controller: s.quorum?.leaderId ?? s.controllerId)
            let which = ids.isEmpty ? "every broker" : "brokers " + ids.map(String.init).joined(separator: ", ")
            mode = .confirm("rolling restart of \(which), one at a time, waiting for every ISR to be full between them? (y/n)", .rollingRestart)
            return []
        }
    }

    func cancelRollingRestart(_ now: Date) -> [ConsoleEffect] {
        if rollingCancelling { return [] }
        rollingCancelling = true
        let under = rolling.flatMap { r -> String? in
            if case .restarting(let id) = r.phase { return "; broker \(id)'s restart under way finishes first" } else { return nil }
        } ?? ""
        say("cancelling the rolling restart: no further broker is restarted" + under, .warn, now)
        return [.cancelRollingRestart]
    }

    func receiveRollingRestart(_ r: RollingRestart, _ now: Date) {
        if r.isFinished {
            rolling = nil
            rollingCancelling = false
            pendingForm = nil
            let role: Role
            switch r.phase {
            case .done: role = .ok
            case .cancelled: role = .warn
            default: role = .error
            }
            say(r.status(now: now), role, now)
            return
        }
        if rolling?.phase != r.phase {
            // A new step shows at once (over an older message); each broker's turn goes to
            // the history too (what happened when, after the fact).
            rollingChangedAt = now
            if case .restarting = r.phase { history.append((r.status(now: now), .dim, now)) }
        }
        rolling = r
    }
}

// MARK: - Partition reassignment

extension ConsoleController {
    /// `:reassign ...`: a plan preview (nothing is sent before Enter), or a confirmation to
    /// cancel reassignments under way. Every word is checked against the snapshot first.
    func runReassignCommand(_ args: [String], _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        mutating("partition reassignment", now) {
            switch ReassignmentPlanner.parse(args, s) {
            case .failure(let f): say(f.message, .error, now)
            case .success(.plan(let plan)): mode = .reassignPreview(plan, TableState())
            case .success(.cancel(let tps)):
                let which = tps.count == 1 ? "\(tps[0].topic)-\(tps[0].partition)" : Format.plural(tps.count, "partition")
                mode = .confirm("cancel the reassignment of \(which)? Its replicas go back to the set before it (y/n)", .cancelReassignments(tps))
            }
            return []
        }
    }

    /// `A` on the Topics or Partitions pane: the palette, filled in with `:reassign` and the
    /// current replicas of the partition (or every broker up, for a topic), to edit and run.
    func openReassignPalette(topic: String, partition: Int32?, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        mutating("partition reassignment", now) {
            var line = "reassign \(topic)"
            if let partition {
                let p = s.topic(named: topic)?.partitions.first { $0.partition == partition }
                line += ":\(partition) " + (p.map { ReassignmentPlanner.currentReplicas($0, s) }.map(Format.ids) ?? "")
            } else {
                line += " " + Format.ids(s.brokers.filter { $0.status == .up && $0.role != .controller }.map(\.id).sorted())
            }
            var palette = CommandPalette(commands: Self.paletteCommands)
            palette.editor.set(line)
            mode = .palette(palette)
            return []
        }
    }

    /// What the status line says about AlterPartitionReassignments' answer; refusals carry
    /// Kafka's error verbatim (every one in the message history).
    static func reassignmentSummary(_ what: String, _ results: [ReassignmentOutcome], started: Bool) -> (text: String, ok: Bool) {
        let refused = results.filter { $0.errorCode != 0 }
        if refused.isEmpty {
            return (started ? "\(what) started: the new replicas copy the log, then the old ones are removed" : "\(what) done", true)
        }
        let accepted = results.count - refused.count
        var text = "\(what): \(refused.count) of \(results.count) refused" + (accepted > 0 ? " (\(accepted) accepted)" : "")
        text += ": \(refused[0].partition.topic)-\(refused[0].partition.partition): \(refused[0].error ?? "error \(refused[0].errorCode)")"
        for r in refused.dropFirst() { text += "\n\(r.partition.topic)-\(r.partition.partition): \(r.error ?? "error \(r.errorCode)")" }
        return (text, false)
    }

    /// Called with each new snapshot: follows a reassignment this console started.
    public func observe(_ s: ClusterSnapshot, now: Date) {
        guard var watch = reassignWatch, let progress = watch.observe(s) else { return }
        reassignWatch = progress.done ? nil : watch
        say(progress.text, progress.done ? .ok : .dim, now)
    }
}

// MARK: - Broker process control

extension ConsoleController {
    /// The confirmation for stopping, killing or restarting a local broker, with what the
    /// last snapshot says it will do to the cluster: partitions whose only in-sync replica it
    /// is go offline (unclean election is off), partitions it keeps at min.insync.replicas
    /// refuse acks=all writes, its leaderships move; the last broker up takes the cluster
    /// down. A broker that is not running cannot be stopped: said at once, no dialog.
    static func brokerOperationQuestion(_ op: BrokerOperation, _ id: Int32, _ s: ClusterSnapshot) -> Result<String, CommandError> {
        let question = "\(op.verb) broker \(id)?"
        guard op != .start, s.hasData, let broker = s.brokers.first(where: { $0.id == id }) else { return .success(question + " (y/n)") }
        if broker.status == .down && op != .restart {
            return .failure(CommandError(message: "broker \(id) is not running: nothing to \(op == .kill ? "kill" : "stop") (s starts it)"))
        }
        let partitions = s.topics.flatMap(\.partitions).filter { $0.replicas.contains(id) }
        let led = partitions.filter { $0.leader == id }.count
        let offline = partitions.filter { $0.leader >= 0 && $0.isr == [id] }.count
        let underMin = partitions.filter { p in
            p.leader >= 0 && p.isr.contains(id) && p.isr != [id] && p.minInSyncReplicas.map { p.isr.count - 1 < $0 } ?? false
        }.count
        let others = s.brokers.filter { $0.id != id && $0.status == .up && $0.role != .controller }.count
        let until = op == .restart ? " until it is back" : ""
        var effects: [String] = []
        // No other broker up: nothing can take its partitions over, whatever the last sample
        // said of this one (right after a start it can still read "starting"; the question
        // then named "other brokers" that do not exist).
        if others == 0 {
            effects.append("it is the last broker up: every partition is offline and clients fail\(until)")
        } else {
            if led > 0 { effects.append("leadership of \(Format.plural(led, "partition")) moves to other brokers") }
            if offline > 0 { effects.append("\(Format.plural(offline, "partition")) offline\(until) (it is their only in-sync replica)") }
            if underMin > 0 { effects.append("\(Format.plural(underMin, "partition")) below min.insync.replicas (acks=all writes refused)\(until)") }
        }
        return .success(question + (effects.isEmpty ? "" : " " + effects.joined(separator: "; ") + ".") + " (y/n)")
    }
}

// MARK: - Clusters file

extension ConsoleController {
    /// `:cluster` lists the clusters file's entries; `:cluster NAME` leaves this cluster for
    /// that one (the runtime reopens the console on it). Unknown names change nothing.
    /// `:cluster up [N]` starts a local demo cluster of N nodes (3) in the directory the console
    /// names and opens it; `:cluster down` stops that one ("up" and "down" are therefore not
    /// usable as cluster names here).
    func runClusterCommand(_ args: [String], _ now: Date) -> [ConsoleEffect] {
        if args.first == "up" || args.first == "down" { return runLocalClusterCommand(args, now) }
        guard !clusterNames.isEmpty else {
            let local = localClusterDirectory == nil ? "" : "; :cluster up [N] starts a local demo cluster"
            say("no clusters file: start with --clusters FILE (or put one at ~/.samsa/clusters.toml)\(local)", .warn, now)
            return []
        }
        let list = clusterNames.map { $0 == clusterName ? "\($0) (this one)" : $0 }.joined(separator: ", ")
        guard let name = args.first else { say("clusters: \(list); :cluster NAME switches", .dim, now); return [] }
        guard args.count == 1 else { say("usage: :cluster NAME", .error, now); return [] }
        if name == clusterName { say("already on cluster \(name)", .dim, now); return [] }
        guard clusterNames.contains(name) else { say("no cluster '\(name)' in the clusters file (clusters: \(list))", .error, now); return [] }
        if let r = rolling, !r.isFinished { say("a rolling restart is running: Esc cancels it first", .warn, now); return [] }
        return [.switchCluster(name)]
    }

    private func runLocalClusterCommand(_ args: [String], _ now: Date) -> [ConsoleEffect] {
        guard let dir = localClusterDirectory else {
            say("no local cluster control here (samsa demo runs its own cluster)", .warn, now)
            return []
        }
        if let r = rolling, !r.isFinished { say("a rolling restart is running: Esc cancels it first", .warn, now); return [] }
        if args.first == "down" {
            guard args.count == 1 else { say("usage: :cluster down", .error, now); return [] }
            guard localClusterRunning else { say("no local cluster started from this console (:cluster up [N] starts one)", .warn, now); return [] }
            return [.stopLocalCluster]
        }
        guard args.count <= 2, let n = args.count == 2 ? Int(args[1]) : 3, (1...9).contains(n) else {
            say("usage: :cluster up [N] (N nodes, 1-9; default 3)", .error, now)
            return []
        }
        guard !localClusterRunning else {
            say("a local cluster already runs in \(dir): :cluster local opens it, :cluster down stops it", .warn, now)
            return []
        }
        return [.startLocalCluster(brokers: n)]
    }
}
