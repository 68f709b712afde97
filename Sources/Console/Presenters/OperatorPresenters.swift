import Foundation
import TerminalUI

/// Presenters of the panes operators reach for beyond monitoring: a group's members and a
/// topic's or broker's configs. Pure, like the others.
extension Presenters {
    /// "orders[0,1] payments[0]": an assignment, grouped by topic.
    static func assignment(_ tps: [TopicPartition]) -> String {
        guard !tps.isEmpty else { return "-" }
        var byTopic: [String: [Int32]] = [:]
        for tp in tps { byTopic[tp.topic, default: []].append(tp.partition) }
        return byTopic.keys.sorted().map { t in "\(t)[" + byTopic[t]!.sorted().map(String.init).joined(separator: ",") + "]" }.joined(separator: " ")
    }

    public static func groupMembers(_ s: ClusterSnapshot, group: String, filter: TextFilter) -> PaneTable {
        let g = s.group(id: group)
        let members = (g?.members ?? []).sorted { ($0.clientId, $0.memberId) < ($1.clientId, $1.memberId) }
        let items = filter.apply(members) { "\($0.memberId) \($0.groupInstanceId ?? "") \($0.clientId) \($0.host) \(assignment($0.assignment))" }
        return PaneTable(
            title: "Members of \(group)" + (g.map { " (\($0.state), \(Format.plural($0.members.count, "member")))" } ?? ""),
            columns: [
                TableColumn("MEMBER ID", width: 16, flex: 2), TableColumn("INSTANCE ID", width: 11, flex: 1),
                TableColumn("CLIENT ID", width: 10, flex: 1), TableColumn("HOST", width: 12),
                TableColumn("PARTS", width: 5, alignRight: true), TableColumn("ASSIGNED", width: 12, flex: 2),
            ], rowCount: items.count,
            emptyMessage: g == nil ? (s.sectionTimes[.groups] == nil ? noDataMessage(s) : "group \(group) not found")
                : "no active members (state \(g!.state))",
            row: { i in
                let m = items[i]
                return TableRow([m.memberId, m.groupInstanceId ?? "-", m.clientId, m.host, "\(m.assignment.count)", assignment(m.assignment)])
            }, key: { items[$0].memberId },
            detail: { i in
                let m = items[i]
                return "\(m.clientId)@\(m.host)" + (m.groupInstanceId.map { " static \($0)" } ?? "") + ": " + assignment(m.assignment)
            })
    }

    /// A Configs pane: every entry with value, source and flags. `rows` is nil while loading.
    public static func configs(_ rows: [ConfigRow]?, target: ConfigTarget, error: String?, filter: TextFilter) -> PaneTable {
        // The filter matches the name alone (so `/^retention.ms$` works) or the whole row
        // (so `/topic override` lists the overrides); `!` excludes what matches either.
        let all = rows ?? []
        let byName = Set(filter.apply(all) { $0.name }.map(\.name))
        let byRow = Set(filter.apply(all) { "\($0.name) \($0.value ?? "") \($0.source.rawValue)" }.map(\.name))
        let keep = filter.inverted ? byName.intersection(byRow) : byName.union(byRow)
        let items = all.filter { keep.contains($0.name) }
        return PaneTable(
            title: "Configs of \(target)",
            columns: [
                TableColumn("NAME", width: 24, flex: 2), TableColumn("VALUE", width: 14, flex: 2),
                TableColumn("SOURCE", width: 17), TableColumn("FLAGS", width: 9),
            ], rowCount: items.count,
            emptyMessage: rows == nil ? (error.map { "cannot read configs: \($0)" } ?? "reading configs…") : "no configs match",
            row: { i in
                let c = items[i]
                let flags = [c.isSensitive ? "sensitive" : nil, c.isReadOnly ? "read-only" : nil].compactMap { $0 }.joined(separator: ",")
                let value = c.isSensitive ? "(sensitive)" : (c.value ?? "null")
                // Overrides stand out; defaults recede.
                let role: Role? = c.isRemovable(in: target) || c.source == .dynamicClusterDefault ? .ok
                    : (c.source == .defaultValue ? .dim : nil)
                return TableRow([c.name, value, c.source.rawValue, flags.isEmpty ? "" : flags], role: role)
            }, key: { items[$0].name },
            detail: { i in
                let c = items[i]
                if c.isReadOnly {
                    return "\(c.name): read-only" + (target.isBroker ? " (Kafka allows no dynamic change: set it in server.properties and restart)" : "")
                }
                return "\(c.name) = \(c.isSensitive ? "(sensitive)" : c.value ?? "null") from \(c.source.rawValue)"
                    + (c.isRemovable(in: target) ? "; d removes the override" : "")
            })
    }
}

extension ConfigTarget {
    var isBroker: Bool { if case .broker = self { return true } else { return false } }
}
