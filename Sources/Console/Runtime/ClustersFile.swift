import Foundation
import KafkaClient
import TOMLKit

/// One cluster of the clusters file: what `--bootstrap-server`, `--command-config`,
/// `--metrics` and `--read-only` would say for it.
public struct ClusterProfile: Sendable, Equatable {
    public var name: String
    public var bootstrapServers: String
    public var commandConfig: String?
    public var metrics: String?
    public var readOnly: Bool
    /// Why this entry cannot be used (its command-config is unreadable...): the others still
    /// can, and the console says this when it is chosen.
    public var problem: String?
    public init(name: String, bootstrapServers: String, commandConfig: String? = nil, metrics: String? = nil,
                readOnly: Bool = false, problem: String? = nil) {
        self.name = name; self.bootstrapServers = bootstrapServers; self.commandConfig = commandConfig
        self.metrics = metrics; self.readOnly = readOnly; self.problem = problem
    }

    /// The client properties to connect with: the command-config file (if any) plus the
    /// bootstrap servers.
    public func clientProperties() throws -> ClientProperties {
        var props: ClientProperties = ["bootstrap.servers": bootstrapServers]
        if let commandConfig { props = try ClientProperties.load(path: commandConfig).merging(props) }
        return props
    }
}

/// A clusters file that cannot be used at all (bad TOML, no cluster, a mistyped key).
public struct ClustersFileError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The console's clusters file (issue 13 item 5), for operators who juggle environments:
///
///     default = "staging"            # optional: the cluster to open first (else the first by name)
///
///     [clusters.staging]
///     bootstrap-servers = "kafka-s1:9092,kafka-s2:9092"
///
///     [clusters.prod]
///     bootstrap-servers = "kafka-p1:9093"
///     command-config = "~/prod-client.properties"   # TLS / SASL, as --command-config
///     metrics = "http://kafka-p1:7071"              # as --metrics
///     read-only = true                              # as --read-only
///
/// `samsa console --clusters FILE [--cluster NAME]` (default file `~/.samsa/clusters.toml`,
/// or `$SAMSA_CLUSTERS`); `:cluster NAME` switches, `:cluster` lists them.
public enum ClustersFile {
    static let keys: Set<String> = ["bootstrap-servers", "command-config", "metrics", "read-only"]

    public static func defaultPath() -> String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["SAMSA_CLUSTERS"], !p.isEmpty { return p }
        return (env["HOME"] ?? NSTemporaryDirectory()) + "/.samsa/clusters.toml"
    }

    public static func load(path: String) throws(ClustersFileError) -> (profiles: [ClusterProfile], defaultName: String) {
        let text: String
        do { text = try String(contentsOfFile: expand(path), encoding: .utf8) } catch {
            throw ClustersFileError("cannot read clusters file \(path): \((error as NSError).localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Parses the file. A broken file or entry (bad TOML, an unknown or mistyped key, a
    /// missing bootstrap-servers, a wrong type) is an error naming the file, the cluster and
    /// the key; an entry whose command-config cannot be read is kept with its `problem`.
    public static func parse(_ text: String, file: String) throws(ClustersFileError) -> (profiles: [ClusterProfile], defaultName: String) {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw ClustersFileError("\(file):\(e.source.begin.line):\(e.source.begin.column): \(e.description)")
        } catch {
            throw ClustersFileError("\(file): \(error)")
        }
        for key in root.keys where key != "clusters" && key != "default" {
            throw ClustersFileError("\(file): unknown key '\(key)' (expected [clusters.NAME] tables and an optional default = \"NAME\")")
        }
        guard let clusters = root["clusters"]?.table, !clusters.isEmpty else {
            throw ClustersFileError("\(file): no cluster: add a [clusters.NAME] table with bootstrap-servers = \"host:port\"")
        }
        var profiles: [ClusterProfile] = []
        for name in clusters.keys.sorted() {
            guard let t = clusters[name]?.table else { throw ClustersFileError("\(file): clusters.\(name) must be a table ([clusters.\(name)])") }
            for key in t.keys where !keys.contains(key) {
                throw ClustersFileError("\(file): clusters.\(name): unknown key '\(key)' (known: \(keys.sorted().joined(separator: ", ")))")
            }
            func string(_ key: String) throws(ClustersFileError) -> String? {
                guard let v = t[key] else { return nil }
                guard let s = v.string, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ClustersFileError("\(file): clusters.\(name).\(key) must be a non-empty string")
                }
                return s
            }
            guard let bootstrap = try string("bootstrap-servers") else {
                throw ClustersFileError("\(file): clusters.\(name) has no bootstrap-servers")
            }
            var readOnly = false
            if let v = t["read-only"] {
                guard let b = v.bool else { throw ClustersFileError("\(file): clusters.\(name).read-only must be true or false") }
                readOnly = b
            }
            var profile = ClusterProfile(name: name, bootstrapServers: bootstrap, commandConfig: try string("command-config").map(expand),
                                         metrics: try string("metrics"), readOnly: readOnly)
            if let metrics = profile.metrics {
                do { _ = try MetricsEndpoint.parseList(metrics) } catch {
                    throw ClustersFileError("\(file): clusters.\(name).metrics: \(error.message)")
                }
            }
            do { _ = try profile.clientProperties() } catch {
                profile.problem = "cluster '\(name)': cannot read its command-config \(profile.commandConfig ?? ""): \(error)"
            }
            profiles.append(profile)
        }
        var defaultName = profiles[0].name
        if let d = root["default"] {
            guard let name = d.string else { throw ClustersFileError("\(file): default must be a cluster name in quotes") }
            guard profiles.contains(where: { $0.name == name }) else {
                throw ClustersFileError("\(file): default = \"\(name)\" names no [clusters.\(name)] table")
            }
            defaultName = name
        }
        return (profiles, defaultName)
    }

    static func expand(_ path: String) -> String {
        guard path.hasPrefix("~/") else { return path }
        return (ProcessInfo.processInfo.environment["HOME"] ?? "") + path.dropFirst()
    }
}
