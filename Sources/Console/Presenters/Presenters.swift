import Foundation
import TerminalUI

/// Pure presenters: (snapshot, filter, now) -> PaneTable. One per pane. They decide what
/// is shown and in which role; widgets decide how it is drawn. No I/O, no clock of their
/// own, so every pane is tested on fixture snapshots.
public enum Presenters {
    /// What an empty pane says before the first good sample: "waiting" only while nothing
    /// has failed, else that the cluster cannot be reached (the error is shown above it).
    static func noDataMessage(_ s: ClusterSnapshot) -> String {
        s.errors[.metadata] == nil ? "waiting for cluster metadata" : "cannot reach the cluster yet; retrying every sample"
    }

    /// A group's reason without the leading "OK: " / "WARN: ": the STATUS column says it.
    static func reasonWithoutStatus(_ g: GroupView) -> String {
        let prefix = "\(g.status.rawValue): "
        return g.reason.hasPrefix(prefix) ? String(g.reason.dropFirst(prefix.count)) : g.reason
    }

    public static func brokers(_ s: ClusterSnapshot, filter: TextFilter, glyphs: Glyphs = .unicode) -> PaneTable {
        let items = filter.apply(s.brokers) {
            "\($0.id) \($0.host):\($0.port) \($0.rack ?? "") \($0.status.rawValue) \($0.role?.rawValue ?? "") \($0.quorumState ?? "")"
        }
        // With a metrics endpoint (`--metrics`), traffic columns from the broker's own
        // counters; without one the pane is exactly as before.
        if s.brokers.contains(where: { $0.metrics != nil }) { return brokersWithMetrics(s, items: items, glyphs: glyphs) }
        var table = PaneTable(
            title: "Brokers", columns: [
                TableColumn("ID", width: 3, alignRight: true), TableColumn("HOST:PORT", width: 15, flex: 2),
                TableColumn("RACK", width: 4, flex: 1), TableColumn("ROLE", width: 10), TableColumn("CTRL", width: 4),
                TableColumn("QUORUM", width: 8), TableColumn("STATUS", width: 11),
                TableColumn("LEADS", width: 5, alignRight: true), TableColumn("REPL", width: 4, alignRight: true),
                TableColumn("URP", width: 3, alignRight: true), TableColumn("LOG DIRS", width: 8, alignRight: true),
            ], rowCount: items.count, emptyMessage: s.hasData ? "no brokers match" : noDataMessage(s),
            row: { i in
                let b = items[i]
                let role: Role = b.status == .up ? .brokerUp : (b.status == .down ? .brokerDown : .warn)
                var roles: [Int: Role] = [6: role]
                if b.underReplicatedLed > 0 { roles[9] = .warn }
                return TableRow(["\(b.id)", b.port == 0 ? "-" : "\(b.host):\(b.port)", b.rack ?? "-", b.role?.rawValue ?? "-",
                                 b.isController ? "yes" : "", b.quorumState ?? "-", b.status.rawValue,
                                 "\(b.partitionsLed)", "\(b.replicas)", "\(b.underReplicatedLed)", Format.bytes(b.logDirBytes)], cellRoles: roles)
            }, key: { "\(items[$0].id)" },
            detail: { i in
                let b = items[i]
                if let e = b.error { return "broker \(b.id): \(e)" }
                guard let q = b.quorumState else { return nil }
                return "node \(b.id): quorum \(q)" + (b.quorumLag.map { ", metadata log lag \($0)" } ?? "")
                    + (b.isController ? ", active controller" : "") + " (Q: quorum)"
            })
        table.subtitle = quorumSummary(s)
        return table
    }

    /// " · quorum leader 2 · epoch 5 · HW 812" for pane titles; "" without a quorum.
    static func quorumSummary(_ s: ClusterSnapshot) -> String {
        guard let q = s.quorum else { return "" }
        return " · quorum leader \(q.leaderId < 0 ? "none" : "\(q.leaderId)") · epoch \(q.leaderEpoch) · HW \(q.highWatermark)"
    }

    /// The controller quorum (DescribeQuorum): every voter and observer with its role, log end
    /// offset, lag behind the leader, and how long ago it last fetched and was caught up
    /// (the leader's own clock).
    public static func quorum(_ s: ClusterSnapshot, filter: TextFilter, now: Date) -> PaneTable {
        let q = s.quorum
        let reps = q?.replicas ?? []
        func state(_ r: QuorumInfo.Replica) -> String { r.nodeId == q?.leaderId ? "leader" : (r.isVoter ? "follower" : "observer") }
        let items = filter.apply(reps) { "\($0.nodeId) \(state($0)) \($0.isVoter ? "voter" : "observer")" }
        let nowMs = Int64(now.timeIntervalSince1970 * 1000)
        func ago(_ ms: Int64?) -> String { ms.map { Duration.compact(Double(max(0, nowMs - $0)) / 1000) + " ago" } ?? "-" }
        let title = q.map { "Quorum · leader \($0.leaderId < 0 ? "none" : "\($0.leaderId)") · epoch \($0.leaderEpoch) · high watermark \($0.highWatermark)" }
            ?? "Quorum"
        return PaneTable(
            title: title, columns: [
                TableColumn("NODE", width: 4, alignRight: true), TableColumn("KIND", width: 8), TableColumn("STATE", width: 8),
                TableColumn("LOG END", width: 8, alignRight: true), TableColumn("LAG", width: 6, alignRight: true),
                TableColumn("LAST FETCH", width: 10, alignRight: true), TableColumn("CAUGHT UP", width: 10, flex: 1, alignRight: true),
            ], rowCount: items.count,
            emptyMessage: !s.hasData ? noDataMessage(s) : (s.errors[.quorum] != nil ? "no quorum answer yet" : "the cluster reports no controller quorum (DescribeQuorum)"),
            row: { i in
                let r = items[i]
                return TableRow(["\(r.nodeId)", r.isVoter ? "voter" : "observer", state(r), "\(r.logEndOffset)", "\(r.lag)",
                                 ago(r.lastFetchTimestampMs), ago(r.lastCaughtUpTimestampMs)],
                                cellRoles: r.lag > 0 ? [4: .warn] : [:])
            }, key: { "\(items[$0].nodeId)" },
            detail: { i in
                let r = items[i]
                return r.lag > 0 ? "node \(r.nodeId) is \(r.lag) metadata records behind the leader" : nil
            })
    }

    /// The brokers pane with the metrics columns: bytes in/out per second, requests per
    /// second, p99 produce latency, under-replicated partitions (as the broker counts them)
    /// and a sparkline of bytes in + out per scrape.
    static func brokersWithMetrics(_ s: ClusterSnapshot, items: [BrokerView], glyphs: Glyphs) -> PaneTable {
        PaneTable(
            title: "Brokers", columns: [
                TableColumn("ID", width: 3, alignRight: true), TableColumn("HOST:PORT", width: 14, flex: 2),
                TableColumn("CTRL", width: 4), TableColumn("STATUS", width: 6),
                TableColumn("IN/S", width: 8, alignRight: true), TableColumn("OUT/S", width: 8, alignRight: true),
                TableColumn("REQ/S", width: 5, alignRight: true), TableColumn("P99 PROD", width: 8, alignRight: true),
                TableColumn("URP", width: 3, alignRight: true), TableColumn("TRAFFIC", width: 12),
                TableColumn("LEADS", width: 5, alignRight: true), TableColumn("LOG DIRS", width: 8, alignRight: true),
            ], rowCount: items.count, emptyMessage: s.hasData ? "no brokers match" : noDataMessage(s),
            row: { i in
                let b = items[i]
                let m = b.metrics
                let role: Role = b.status == .up ? .brokerUp : (b.status == .down ? .brokerDown : .warn)
                let traffic = zip(m?.bytesInHistory ?? [], m?.bytesOutHistory ?? []).map { $0 + $1 }
                let spark = traffic.count < 2 ? "" : Sparkline.render(traffic, width: 12, levels: glyphs.levels)
                var roles: [Int: Role] = [3: role, 9: .sparkline]
                if let urp = m?.underReplicated, urp > 0 { roles[8] = .warn }
                if m?.error != nil { roles[4] = .stale; roles[5] = .stale; roles[6] = .stale }
                return TableRow(["\(b.id)", "\(b.host):\(b.port)", b.isController ? "yes" : "", b.status.rawValue,
                                 byteRate(m?.bytesInPerSecond), byteRate(m?.bytesOutPerSecond), Format.rate(m?.requestsPerSecond),
                                 milliseconds(m?.produceP99Ms), m?.underReplicated.map(String.init) ?? "-", spark,
                                 "\(b.partitionsLed)", Format.bytes(b.logDirBytes)], cellRoles: roles)
            }, key: { "\(items[$0].id)" },
            detail: { i in
                let b = items[i]
                if let e = b.error { return "broker \(b.id): \(e)" }
                if let e = b.metrics?.error { return "broker \(b.id) metrics: \(e)" }
                return b.metrics.map { "broker \(b.id) metrics from \($0.endpoint)" }
            })
    }

    /// Bytes per second: "0 B", "1.5 KiB", "-".
    static func byteRate(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "-" }
        return Format.bytes(Int64(v.rounded()))
    }

    /// "0.42 ms", "12 ms", "1.2 s"; nil -> "-".
    static func milliseconds(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "-" }
        if v < 10 { return String(format: "%.2f ms", v) }
        if v < 1000 { return String(format: "%.0f ms", v) }
        return String(format: "%.1f s", v / 1000)
    }

    public static func topics(_ s: ClusterSnapshot, filter: TextFilter, showInternal: Bool = true) -> PaneTable {
        let items = filter.apply(s.topics.filter { showInternal || !$0.isInternal }) { $0.name }
        return PaneTable(
            title: "Topics", columns: [
                TableColumn("TOPIC", width: 14, flex: 3), TableColumn("PART", width: 4, alignRight: true),
                TableColumn("RF", width: 2, alignRight: true), TableColumn("URP", width: 3, alignRight: true),
                TableColumn("OFFL", width: 4, alignRight: true), TableColumn("SIZE", width: 8, alignRight: true),
                TableColumn("MESSAGES", width: 8, alignRight: true), TableColumn("MSG/S", width: 6, alignRight: true),
                TableColumn("RETAIN", width: 7, alignRight: true),
            ], rowCount: items.count, emptyMessage: s.hasData ? "no topics match" : noDataMessage(s),
            row: { i in
                let t = items[i]
                let role: Role? = t.isStale ? .stale : (t.offline > 0 ? .error : (t.underReplicated > 0 ? .warn : (t.isInternal ? .dim : nil)))
                return TableRow([t.name, "\(t.partitions.count)", "\(t.replicationFactor)", "\(t.underReplicated)", "\(t.offline)",
                                 Format.bytes(t.sizeBytes), Format.count(t.messageCount), staleRate(t.messagesPerSecond, t.isStale),
                                 Format.retention(ms: t.retentionMs)], role: role)
            }, key: { items[$0].name },
            detail: { i in
                let t = items[i]
                if t.isStale { return "stale: offsets older than the last good sample; MSG/S unknown" + (s.errors[.offsets].map { " (\($0))" } ?? "") }
                if t.offline > 0 { return Format.plural(t.offline, "partition") + " offline: no leader" }
                if t.underReplicated > 0 { return Format.plural(t.underReplicated, "partition") + " under-replicated" }
                return nil
            })
    }

    public static func partitions(_ s: ClusterSnapshot, topic: String, filter: TextFilter, now: Date, glyphs: Glyphs = .unicode) -> PaneTable {
        let parts = s.topic(named: topic)?.partitions ?? []
        // Filter words: "offline", "urp", "minisr" (under min ISR), "notpref" (not on the preferred leader), "ok".
        let items = filter.apply(parts) { p in
            var words = ["\(p.partition)", "\(p.leader)"]
            if p.health.offline { words.append("offline") }
            if p.health.underReplicated { words.append("urp") }
            if p.health.underMinIsr { words.append("minisr") }
            if !p.health.preferredLeader { words.append("notpref") }
            if p.reassignment != nil { words.append("moving") }
            if !p.health.offline && !p.health.underReplicated { words.append("ok") }
            return words.joined(separator: " ")
        }
        return PaneTable(
            title: "Partitions of \(topic)", columns: [
                TableColumn("P", width: 3, alignRight: true), TableColumn("LEADER", width: 6, alignRight: true),
                TableColumn("EPOCH", width: 5, alignRight: true),
                TableColumn("REPLICAS", width: 8, flex: 1), TableColumn("ISR", width: 8, flex: 1), TableColumn("OFFLINE", width: 7, flex: 1),
                TableColumn("PREF", width: 4), TableColumn("STATE", width: 11), TableColumn("START", width: 8, alignRight: true),
                TableColumn("END/HW", width: 8, alignRight: true), TableColumn("SIZE", width: 8, alignRight: true),
                TableColumn("MSG/S", width: 6, alignRight: true), TableColumn("FOLLOWER LAG", width: 12, flex: 1),
                TableColumn("LAG TREND", width: 12),
            ], rowCount: items.count,
            emptyMessage: s.topic(named: topic) == nil ? "topic \(topic) not found" : "no partitions match",
            row: { i in
                let p = items[i]
                let since = p.unhealthySince.map { " " + Duration.compact(now.timeIntervalSince($0)) } ?? ""
                let state = p.isOffline ? "OFFLINE" + since
                    : (p.health.underMinIsr ? "<MIN-ISR" + since : (p.health.underReplicated ? "URP" + since : (p.reassignment != nil ? "MOVING" : "ok")))
                let role: Role = p.isOffline || p.health.underMinIsr ? .error : (p.health.underReplicated || p.reassignment != nil ? .warn : .ok)
                // During a reassignment the replica set is target + removed; say which is which.
                let replicas = Format.ids(p.replicas) + (p.reassignment.map { r in
                    (r.adding.isEmpty ? "" : " +" + Format.ids(r.adding)) + (r.removing.isEmpty ? "" : " -" + Format.ids(r.removing))
                } ?? "")
                let lag = p.followerLag.isEmpty ? "-" : p.followerLag.map { f in
                    "\(f.brokerId):\(f.lag.offsets)" + (f.lag.timeMs.map { "/" + Duration.compact(Double($0) / 1000) } ?? "")
                }.joined(separator: " ")
                // The worst follower's offset lag over recent samples (one sample is no trend).
                let worst = FollowerLag.worstHistory(p.followerLag)
                let trend = worst.count < 2 ? "" : Sparkline.render(worst.map(Double.init), width: 12, levels: glyphs.levels)
                var roles: [Int: Role] = p.isStale ? [:] : [7: role]
                if !p.isStale && !p.health.preferredLeader { roles[6] = .warn }
                return TableRow(["\(p.partition)", p.leader < 0 ? "none" : "\(p.leader)", p.leaderEpoch < 0 ? "-" : "\(p.leaderEpoch)",
                                 replicas, Format.ids(p.isr), p.offlineReplicas.isEmpty ? "-" : Format.ids(p.offlineReplicas),
                                 p.health.preferredLeader ? "yes" : "no",
                                 state, p.logStartOffset.map(String.init) ?? "-", p.highWatermark.map(String.init) ?? "-",
                                 Format.bytes(p.sizeBytes), staleRate(p.messagesPerSecond, p.isStale), lag, trend],
                                role: p.isStale ? .stale : nil, cellRoles: roles)
            }, key: { "\(items[$0].partition)" },
            detail: { i in
                let p = items[i]
                if p.isStale { return "stale: offsets older than the last good sample; MSG/S unknown" }
                let missing = p.replicas.filter { !p.isr.contains($0) }
                if p.isOffline { return "partition \(p.partition) has no leader; offline replicas: \(Format.ids(p.offlineReplicas))" }
                var parts: [String] = []
                if let r = p.reassignment {
                    let target = p.replicas.filter { !r.removing.contains($0) }
                    let copying = r.adding.filter { !p.isr.contains($0) }
                    parts.append("reassigning to \(Format.ids(target))" + (copying.isEmpty ? "" : ": \(Format.ids(copying)) copying the log")
                                 + (r.removing.isEmpty ? "" : ", then \(Format.ids(r.removing)) removed"))
                }
                if !missing.isEmpty { parts.append("replicas out of sync: \(Format.ids(missing))") }
                if p.health.underMinIsr, let m = p.minInSyncReplicas { parts.append("ISR \(p.isr.count) < min.insync.replicas \(m): acks=all produce refused") }
                if !p.health.preferredLeader, let pref = p.replicas.first { parts.append("leader \(p.leader) is not the preferred leader \(pref)") }
                return parts.isEmpty ? nil : parts.joined(separator: "; ")
            })
    }

    /// A rate, or "?" when its data is stale (unknown, not zero and not the old value).
    static func staleRate(_ v: Double?, _ stale: Bool) -> String { stale ? "?" : Format.rate(v) }

    static func statusRole(_ s: GroupLagStatus) -> Role { s == .ok ? .ok : (s == .collecting ? .dim : (s == .warn ? .warn : .error)) }
    static func statusRole(_ s: PartitionLagStatus) -> Role { s == .ok ? .ok : (s == .collecting ? .dim : (s == .warn ? .warn : .error)) }
    static func trendGlyph(_ t: LagTrend, glyphs: Glyphs) -> String {
        switch t { case .growing: glyphs.arrowUp; case .draining: glyphs.arrowDown; case .flat: glyphs.flat; case .unknown: " " }
    }

    public static func groups(_ s: ClusterSnapshot, filter: TextFilter, glyphs: Glyphs = .unicode) -> PaneTable {
        let items = filter.apply(s.groups) { "\($0.groupId) \($0.state) \($0.status.rawValue) \($0.topics.joined(separator: " "))" }
        return PaneTable(
            title: "Consumer groups", columns: [
                TableColumn("GROUP", width: 14, flex: 2), TableColumn("STATE", width: 10), TableColumn("MEMB", width: 4, alignRight: true),
                TableColumn("LAG", width: 7, alignRight: true), TableColumn("TREND", width: 13), TableColumn("LAG-S", width: 6, alignRight: true),
                TableColumn("STATUS", width: 6), TableColumn("REASON", width: 10, flex: 3), TableColumn("ASSIGNOR", width: 10),
            ], rowCount: items.count, emptyMessage: s.hasData ? "no consumer groups" : noDataMessage(s),
            row: { i in
                let g = items[i]
                // One sample is no trend: it drew a full bar ("@" in --once text output).
                let spark = g.lagHistory.count < 2 ? "" : Sparkline.render(g.lagHistory.map(Double.init), width: 12, levels: glyphs.levels)
                let trendRole: Role = g.trend == .growing ? .lagGrowing : (g.trend == .draining ? .lagDraining : .sparkline)
                return TableRow([g.groupId, g.state, "\(g.members.count)", Format.count(g.totalLag),
                                 trendGlyph(g.trend, glyphs: glyphs) + spark, Format.seconds(g.maxLagSeconds, lowerBound: g.partitions.contains(where: \.lagSecondsIsLowerBound)), g.status.rawValue,
                                 reasonWithoutStatus(g), g.assignor.isEmpty ? "-" : g.assignor],
                                role: g.isStale ? .stale : nil, cellRoles: g.isStale ? [:] : [4: trendRole, 6: statusRole(g.status)])
            }, key: { items[$0].groupId },
            detail: { items[$0].isStale ? "stale (data older than the last good sample): " + items[$0].reason : items[$0].reason })
    }

    public static func groupPartitions(_ s: ClusterSnapshot, group: String, filter: TextFilter) -> PaneTable {
        let g = s.group(id: group)
        let parts = g?.partitions ?? []
        let items = filter.apply(parts) { "\($0.topic) \($0.partition) \($0.status.rawValue) \($0.clientId ?? "") \($0.host ?? "")" }
        return PaneTable(
            title: "Group \(group)" + (g.map { " (\($0.state), \(Format.plural($0.members.count, "member")), \($0.status.rawValue))" } ?? ""),
            columns: [
                TableColumn("TOPIC", width: 12, flex: 3), TableColumn("P", width: 3, alignRight: true),
                TableColumn("COMMIT", width: 8, alignRight: true), TableColumn("END", width: 8, alignRight: true),
                TableColumn("LAG", width: 7, alignRight: true), TableColumn("LAG-S", width: 6, alignRight: true),
                TableColumn("DRAIN", width: 6, alignRight: true), TableColumn("ETA", width: 6, alignRight: true),
                TableColumn("STATUS", width: 6), TableColumn("OWNER", width: 7, flex: 1),
            ], rowCount: items.count, emptyMessage: g == nil ? "group \(group) not found" : "no partitions",
            row: { i in
                let p = items[i]
                let owner = p.clientId.map { "\($0)@\(p.host ?? "?")" } ?? "-"
                let drainRole: Role = (p.drainRate ?? 0) < 0 ? .lagGrowing : .lagDraining
                return TableRow([p.topic, "\(p.partition)", p.committedOffset.map(String.init) ?? "-", p.endOffset.map(String.init) ?? "-",
                                 Format.count(p.lag), Format.seconds(p.lagSeconds, lowerBound: p.lagSecondsIsLowerBound),
                                 staleRate(p.drainRate, p.isStale), p.isStale ? "?" : (p.etaSeconds.map { Duration.compact($0) } ?? "-"),
                                 p.status.rawValue, owner],
                                role: p.isStale ? .stale : nil, cellRoles: p.isStale ? [:] : [6: drainRole, 8: statusRole(p.status)])
            }, key: { "\(items[$0].topic)\t\(items[$0].partition)" },
            detail: { i in
                let p = items[i]
                let owner = p.memberId.map { "  owner \(p.clientId ?? "?")@\(p.host ?? "?") (\($0))" } ?? "  unassigned"
                return "\(p.status.rawValue) \(p.topic)-\(p.partition): \(p.reason)" + owner
            })
    }

    public static func messages(_ messages: [ConsoleMessage], title: String, filter: TextFilter) -> PaneTable {
        let items = filter.apply(messages) { Format.payload($0.key) + " " + Format.payload($0.value) }
        return PaneTable(
            title: title, columns: [
                TableColumn("P", width: 3, alignRight: true), TableColumn("OFFSET", width: 8, alignRight: true),
                TableColumn("TIMESTAMP", width: 23), TableColumn("KEY", width: 10, flex: 1), TableColumn("VALUE", width: 20, flex: 4),
            ], rowCount: items.count, emptyMessage: "no messages yet (tailing)",
            row: { i in
                let m = items[i]
                return TableRow(["\(m.partition)", "\(m.offset)", m.timestamp.map { Format.timestamp.string(from: $0) } ?? "-",
                                 Format.payload(m.key), Format.payload(m.value)], cellRoles: [3: .json])
            }, key: { "\(items[$0].partition)\t\(items[$0].offset)" },
            detail: { i in items[i].headers.isEmpty ? nil : "headers: " + items[i].headers.map { "\($0.key)=\(Format.payload($0.value))" }.joined(separator: ", ") })
    }

}
