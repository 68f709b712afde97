import Foundation
import KafkaClient
import TerminalUI

/// Presenters of the ACL and Users panes (issue 14 item 4). Pure, like the others: the lists
/// come from `SecurityData`, read on demand by the executor.
extension Presenters {
    /// A row key naming one binding exactly (every field, tab-separated).
    static func aclKey(_ b: KafkaAcl.Binding) -> String {
        [b.principal, b.host, b.operation.name, b.permission.name, b.resourceType.name, b.resourceName, b.patternType.name].joined(separator: "\t")
    }

    /// " · read 12s ago", or what went wrong with the last read.
    static func readNote<T>(_ d: SecurityData<T>, now: Date) -> String {
        var note = d.readAt.map { " · read \(Duration.compact(max(0, now.timeIntervalSince($0)))) ago" } ?? ""
        if d.loading { note += " · reading…" }
        if let e = d.error, d.items != nil { note += " · reload failed: \(e)" }
        return note
    }

    /// Why a list is empty because it could not be read. SECURITY_DISABLED is said plainly:
    /// the cluster has no authorizer, so there are no ACLs to list (not "no ACLs").
    static func unreadable(_ error: String?, code: Int16?, what: String) -> String? {
        guard let error else { return nil }
        if code == SecurityData<Int>.securityDisabled {
            return "this cluster has no authorizer (SECURITY_DISABLED): it keeps and enforces no ACLs (set authorizer.class.name on the brokers). "
                + "Kafka said: \(error)"
        }
        return "cannot read \(what): \(error)"
    }

    /// Every ACL binding, sorted by principal then resource; the filter matches the whole row
    /// (`/User:alice`, `/orders`, `/DENY`).
    static func acls(_ d: SecurityData<KafkaAcl.Binding>, filter: TextFilter, now: Date) -> PaneTable {
        let all = (d.items ?? []).sorted {
            ($0.principal, $0.resourceType.rawValue, $0.resourceName, $0.patternType.rawValue, $0.operation.rawValue, "\($0.permission.rawValue)\t\($0.host)")
                < ($1.principal, $1.resourceType.rawValue, $1.resourceName, $1.patternType.rawValue, $1.operation.rawValue, "\($1.permission.rawValue)\t\($1.host)")
        }
        let items = filter.apply(all) { aclKey($0).replacingOccurrences(of: "\t", with: " ") }
        var table = PaneTable(
            title: "ACLs",
            columns: [
                TableColumn("PRINCIPAL", width: 14, flex: 2), TableColumn("HOST", width: 9),
                TableColumn("OPERATION", width: 15), TableColumn("PERMISSION", width: 10),
                TableColumn("RESOURCE", width: 16), TableColumn("NAME", width: 14, flex: 2), TableColumn("PATTERN", width: 8),
            ], rowCount: items.count,
            emptyMessage: d.items == nil ? (unreadable(d.error, code: d.code, what: "ACLs") ?? "reading ACLs…")
                : (all.isEmpty ? "no ACLs (a add, or :acl add PRINCIPAL OPERATION topic NAME)" : "no ACLs match the filter"),
            row: { i in
                let b = items[i]
                return TableRow([b.principal, b.host, b.operation.name, b.permission.name, b.resourceType.name, b.resourceName, b.patternType.name],
                                role: b.permission == .deny ? .warn : nil)
            }, key: { aclKey(items[$0]) },
            detail: { i in ConsoleController.aclText(items[i]) + "; d deletes it" })
        table.subtitle = readNote(d, now: now)
        return table
    }

    /// SCRAM users, one row per credential (a user may have both mechanisms).
    static func users(_ d: SecurityData<ScramUserDescription>, filter: TextFilter, now: Date) -> PaneTable {
        let all = (d.items ?? []).sorted { $0.user < $1.user }.flatMap { u in
            u.credentials.sorted { $0.mechanism < $1.mechanism }.map { (u.user, $0) }
        }
        let items = filter.apply(all) { "\($0.0) \($0.1.mechanism)" }
        var table = PaneTable(
            title: "SCRAM users",
            columns: [TableColumn("USER", width: 16, flex: 2), TableColumn("MECHANISM", width: 14), TableColumn("ITERATIONS", width: 10, alignRight: true)],
            rowCount: items.count,
            emptyMessage: d.items == nil ? (unreadable(d.error, code: d.code, what: "SCRAM users") ?? "reading SCRAM users…")
                : (all.isEmpty ? "no SCRAM users (a add, or :user set NAME)" : "no users match the filter"),
            row: { i in TableRow([items[i].0, items[i].1.mechanism, "\(items[i].1.iterations)"]) },
            key: { "\(items[$0].0)\t\(items[$0].1.mechanism)" },
            detail: { i in "\(items[i].0): \(items[i].1.mechanism), \(items[i].1.iterations) iterations; Enter changes the password, d deletes it" })
        table.subtitle = readNote(d, now: now)
        return table
    }
}
