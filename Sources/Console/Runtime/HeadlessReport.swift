import Foundation
import TerminalUI

/// `samsa console --once`: what the panes show, as JSON or text, for scripts and tests.
public enum HeadlessReport {
    public enum Format: String, Sendable, CaseIterable { case json, text }

    public static func render(_ s: ClusterSnapshot, format: Format, now: Date = Date()) throws -> String {
        switch format {
        case .json:
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            enc.dateEncodingStrategy = .iso8601
            enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return String(decoding: try enc.encode(s), as: UTF8.self)
        case .text:
            var out: [String] = []
            out.append("cluster \(s.clusterId ?? "-")  bootstrap \(s.bootstrap)  controller \(s.controllerId.map(String.init) ?? "-")  sampled \(Format_.iso(s.takenAt))")
            for (section, e) in s.errors.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { out.append("error \(section.rawValue): \(e)") }
            let all = TextFilter("")
            let h = s.health
            out.append("partitions \(h.partitions)  under-replicated \(h.underReplicated)  under-min-isr \(h.underMinIsr)  offline \(h.offline)  not-on-preferred-leader \(h.notOnPreferredLeader)" + (h.reassigning > 0 ? "  reassigning \(h.reassigning)" : ""))
            out.append("")
            out.append("BROKERS")
            out += Presenters.brokers(s, filter: all).textLines()
            if s.quorum != nil {
                out.append("")
                out.append(Presenters.quorum(s, filter: all, now: now).title.uppercased())
                out += Presenters.quorum(s, filter: all, now: now).textLines()
            }
            out.append("")
            out.append("TOPICS")
            out += Presenters.topics(s, filter: all).textLines()
            for t in s.topics {
                out.append("")
                out.append("PARTITIONS \(t.name)")
                out += Presenters.partitions(s, topic: t.name, filter: all, now: now, glyphs: .ascii).textLines()
            }
            out.append("")
            out.append("GROUPS")
            out += Presenters.groups(s, filter: all, glyphs: .ascii).textLines(width: 200)
            for g in s.groups {
                out.append("")
                out.append("GROUP \(g.groupId)  state \(g.state)  members \(g.members.count)  \(g.reason)")
                out += Presenters.groupPartitions(s, group: g.groupId, filter: all).textLines()
            }
            return out.joined(separator: "\n")
        }
    }

    private enum Format_ {
        static func iso(_ d: Date) -> String { d == .distantPast ? "never" : ISO8601DateFormatter().string(from: d) }
    }
}
