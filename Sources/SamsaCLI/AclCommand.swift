import ArgumentParser
import Foundation
import KafkaClient

/// `samsa acl list|add|remove`, modelled on `kafka-acls.sh` (`--list`, `--add`, `--remove`)
/// with its flag names: `--allow-principal`, `--deny-principal`, `--allow-host`, `--deny-host`,
/// `--operation`, `--topic`, `--group`, `--cluster`, `--transactional-id`,
/// `--resource-pattern-type`, `--principal` (list filter). Works against any Kafka cluster with
/// an authorizer (the caller needs ALTER / DESCRIBE on the cluster).
struct AclCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl",
        abstract: "List, add and remove ACLs (kafka-acls.sh).",
        subcommands: [List.self, Add.self, Remove.self]
    )

    /// The resource flags shared by the three subcommands.
    struct ResourceOptions: ParsableArguments {
        @Option(help: "A topic name (or prefix with --resource-pattern-type prefixed; * for all topics).")
        var topic: String?
        @Option(help: "A consumer group id (or prefix; * for all groups).")
        var group: String?
        @Flag(help: "The cluster resource (kafka-cluster).")
        var cluster = false
        @Option(name: .customLong("transactional-id"), help: "A transactional id (or prefix).")
        var transactionalId: String?
        @Option(name: .customLong("resource-pattern-type"), help: "literal, prefixed; for list and remove also any, match.")
        var resourcePatternType: String?

        /// The one resource named, or nil for none (list: everything).
        func resource() throws -> (KafkaAcl.ResourceType, String)? {
            var named: [(KafkaAcl.ResourceType, String)] = []
            if let topic { named.append((.topic, topic)) }
            if let group { named.append((.group, group)) }
            if cluster { named.append((.cluster, "kafka-cluster")) }
            if let transactionalId { named.append((.transactionalId, transactionalId)) }
            if named.count > 1 { throw ValidationError("give one of --topic, --group, --cluster, --transactional-id") }
            return named.first
        }

        func pattern(default value: KafkaAcl.PatternType) throws -> KafkaAcl.PatternType {
            guard let resourcePatternType else { return value }
            guard let p = KafkaAcl.PatternType(name: resourcePatternType) else {
                throw ValidationError("--resource-pattern-type must be literal, prefixed, any or match, not \(resourcePatternType)")
            }
            return p
        }
    }

    /// `--allow-principal` / `--deny-principal` / hosts / operations, for add and remove.
    struct GrantOptions: ParsableArguments {
        @Option(name: .customLong("allow-principal"), help: "Principal to allow, Type:name (User:alice). Repeatable.")
        var allowPrincipals: [String] = []
        @Option(name: .customLong("deny-principal"), help: "Principal to deny. Repeatable.")
        var denyPrincipals: [String] = []
        @Option(name: .customLong("allow-host"), help: "Host the allow applies to (default *). Repeatable.")
        var allowHosts: [String] = []
        @Option(name: .customLong("deny-host"), help: "Host the deny applies to (default *). Repeatable.")
        var denyHosts: [String] = []
        @Option(help: "Operation: Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All. Repeatable.")
        var operation: [String] = []

        func bindings(_ type: KafkaAcl.ResourceType, _ name: String, _ pattern: KafkaAcl.PatternType) throws -> [KafkaAcl.Binding] {
            let ops = try operation.map { text -> KafkaAcl.Operation in
                guard let op = KafkaAcl.Operation(name: text), op != .any else { throw ValidationError("unknown --operation \(text)") }
                return op
            }
            if ops.isEmpty { throw ValidationError("give at least one --operation") }
            if allowPrincipals.isEmpty && denyPrincipals.isEmpty { throw ValidationError("give --allow-principal or --deny-principal") }
            for p in allowPrincipals + denyPrincipals where !p.contains(":") {
                throw ValidationError("a principal is Type:name (User:alice), not \(p)")
            }
            var out: [KafkaAcl.Binding] = []
            for (principals, hosts, permission) in [(allowPrincipals, allowHosts, KafkaAcl.Permission.allow),
                                                    (denyPrincipals, denyHosts, .deny)] {
                for principal in principals {
                    for host in hosts.isEmpty ? ["*"] : hosts {
                        for op in ops {
                            out.append(KafkaAcl.Binding(resourceType: type, resourceName: name, patternType: pattern,
                                                        principal: principal, host: host, operation: op, permission: permission))
                        }
                    }
                }
            }
            return out
        }
    }

    struct Row: Encodable {
        var resourceType: String, resourceName: String, patternType: String
        var principal: String, host: String, operation: String, permission: String
        init(_ b: KafkaAcl.Binding) {
            resourceType = b.resourceType.name; resourceName = b.resourceName; patternType = b.patternType.name
            principal = b.principal; host = b.host; operation = b.operation.name; permission = b.permission.name
        }
        var cells: [String] { [resourceType, resourceName, patternType, principal, host, operation, permission] }
        static let headers = ["RESOURCE-TYPE", "NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"]
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the ACLs (all, or those of a resource / principal).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var resource: ResourceOptions
        @Option(help: "Only ACLs of this principal (Type:name).")
        var principal: String?

        func run() async throws {
            let named = try resource.resource()
            let filter = KafkaAcl.Filter(resourceType: named?.0 ?? .any, resourceName: named?.1,
                                         patternType: try resource.pattern(default: named == nil ? .any : .literal),
                                         principal: principal)
            let acls = try await withAdmin(global) { try await $0.describeAcls(filter) }
            let rows = acls.map(Row.init).sorted { $0.cells.lexicographicallyPrecedes($1.cells) }
            if output.output == .json { return try printJSON(rows) }
            printTable(Row.headers, rows.map(\.cells))
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add ACLs: principals x hosts x operations on one resource.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var resource: ResourceOptions
        @OptionGroup var grant: GrantOptions

        func run() async throws {
            guard let (type, name) = try resource.resource() else {
                throw ValidationError("give the resource: --topic, --group, --cluster or --transactional-id")
            }
            let pattern = try resource.pattern(default: .literal)
            guard pattern == .literal || pattern == .prefixed else { throw ValidationError("add takes --resource-pattern-type literal or prefixed") }
            let bindings = try grant.bindings(type, name, pattern)
            let results = try await withAdmin(global) { try await $0.createAcls(bindings) }
            var failed = false
            for (b, r) in zip(bindings, results) {
                switch r {
                case .success: print("Added: \(b.permission.name) \(b.principal) \(b.operation.name) on \(b.resourceType.name) \(b.patternType.name) \(b.resourceName) from host \(b.host)")
                case .failure(let e): print("Error adding \(b.operation.name) for \(b.principal): \(e)"); failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove ACLs: the given bindings, or with --all every ACL of the resource.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var resource: ResourceOptions
        @OptionGroup var grant: GrantOptions
        @Flag(help: "Every ACL of the resource (no --operation / principal needed).")
        var all = false

        func run() async throws {
            guard let (type, name) = try resource.resource() else {
                throw ValidationError("give the resource: --topic, --group, --cluster or --transactional-id")
            }
            let pattern = try resource.pattern(default: .literal)
            let filters = all ? [KafkaAcl.Filter(resourceType: type, resourceName: name, patternType: pattern)]
                              : try grant.bindings(type, name, pattern).map(KafkaAcl.Filter.init(exactly:))
            let results = try await withAdmin(global) { try await $0.deleteAcls(filters) }
            var removed = 0, failed = false
            for r in results {
                switch r {
                case .success(let acls):
                    for b in acls { print("Removed: \(b.permission.name) \(b.principal) \(b.operation.name) on \(b.resourceType.name) \(b.patternType.name) \(b.resourceName) from host \(b.host)") }
                    removed += acls.count
                case .failure(let e): print("Error removing ACLs: \(e)"); failed = true
                }
            }
            if removed == 0 && !failed { print("No matching ACLs.") }
            if failed { throw ExitCode(1) }
        }
    }
}
