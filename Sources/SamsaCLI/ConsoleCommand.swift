import ArgumentParser
import Console
import Foundation
import KafkaClient
import TerminalUI

/// `samsa console`: the operations console (interactive, or headless with `--once`).
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Operations console: brokers, topics, partitions, consumer groups with lag verdicts, messages.",
        discussion: """
        Keys: ':' command palette, Tab or 1/2/3 switch panes, '/' filter, '?' help, Enter drill down, Esc back, q quit.
        Logs go to --log-file (nothing is printed while the console owns the terminal).
        """)

    @Option(name: .customLong("bootstrap-server"), help: "host:port[,host:port...] of the cluster (or a cluster of --clusters).")
    var bootstrapServer: String?

    @Option(help: ArgumentHelp("Clusters file (TOML: [clusters.NAME] with bootstrap-servers, command-config, metrics, read-only); "
                               + "`:cluster NAME` switches. Default without --bootstrap-server: $SAMSA_CLUSTERS or ~/.samsa/clusters.toml.",
                               valueName: "file"))
    var clusters: String?

    @Option(help: "The cluster of the clusters file to open (default: its `default`, else the first by name).")
    var cluster: String?

    @Option(name: .customLong("command-config"), help: "Client properties file (security.protocol, sasl.*, ssl.*, ...).")
    var commandConfig: String?

    @Option(help: "Theme name (default, light, dark, solarized, high-contrast, mono) or a theme file.")
    var theme: String?

    @Flag(name: .customLong("read-only"), help: "Disable every mutation (create, delete, produce, reset, alter, broker control).")
    var readOnly = false

    @Flag(name: .customLong("no-mouse"), help: "Do not capture the mouse (keeps the terminal's own text selection).")
    var noMouse = false

    @Option(help: "Seconds between samples of the cluster.")
    var refresh: Double = 2

    @Option(help: ArgumentHelp("Brokers' Prometheus endpoints (metrics.listener): per-broker traffic, request rate, p99 produce latency and under-replicated count in the brokers pane.",
                               valueName: "http://host:port[,...]"))
    var metrics: String?

    @Flag(help: "Print what the panes show once and exit (no terminal UI).")
    var once = false

    @Option(help: "Output of --once: json or text.")
    var output: HeadlessReport.Format = .text

    @Option(help: "Samples taken by --once (more than one gives rates and trends).")
    var samples: Int = 1

    /// BENCHMARK ONLY (hidden): "PARTITIONS:GROUPS" of a synthetic cluster to time refreshes.
    @Option(name: .customLong("benchmark-synthetic"), help: .hidden)
    var benchmarkSynthetic: String?

    @Option(name: .customLong("log-file"), help: "Where the console logs (default ~/.samsa/console.log).")
    var logFile: String?

    func validate() throws {
        if bootstrapServer != nil && (clusters != nil || cluster != nil) {
            throw ValidationError("give --bootstrap-server, or --clusters/--cluster, not both")
        }
        guard refresh >= 0.2, refresh <= 3600 else { throw ValidationError("--refresh must be between 0.2 and 3600 seconds") }
        guard (1...100).contains(samples) else { throw ValidationError("--samples must be between 1 and 100") }
        if let metrics { do { _ = try MetricsEndpoint.parseList(metrics) } catch { throw ValidationError(error.message) } }
    }

    func run() async throws {
        if let spec = benchmarkSynthetic {
            let parts = spec.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2 else { throw ConsoleCLIError("--benchmark-synthetic wants PARTITIONS:GROUPS") }
            let r = await ConsoleBenchmark.run(partitions: parts[0], groups: parts[1], samples: samples == 1 ? 10 : samples)
            print("synthetic benchmark (not a real cluster): \(r.partitions) partitions, \(r.groups) groups, \(r.samples) samples")
            print(String(format: "sample (collect+ingest): median %.1f ms, max %.1f ms", r.sampleMedian * 1000, r.sampleMax * 1000))
            for (pane, t) in r.frameMedian.sorted(by: { $0.key < $1.key }) {
                print(String(format: "frame %@ (80x24): median %.2f ms, max %.2f ms (rows rebuilt)", pane, t * 1000, (r.frameMax[pane] ?? 0) * 1000))
            }
            return
        }
        // Checked before --once too: `--once --theme nosuch` was accepted while the
        // interactive console refused it.
        let themes: (themes: [Theme], index: Int)
        do { themes = try ConsoleLauncher.themes(selected: theme) } catch { throw ConsoleCLIError("invalid theme: \(error)") }
        let interval = Duration.milliseconds(Int64(refresh * 1000))
        let (profiles, first) = try resolveProfiles()
        var profile = first
        if let problem = profile.problem { throw ConsoleCLIError(problem) }
        if once {
            let (source, data) = try Self.connect(profile)
            let (text, snap) = try await ConsoleLauncher.once(source: data, samples: samples, interval: interval, format: output)
            print(text)
            await Deadline.run(.seconds(2)) { await source.close() }
            if let e = snap.errors[.metadata] { throw ConsoleCLIError("cannot read cluster metadata from \(profile.bootstrapServers): \(e)") }
            return
        }
        let log = logFile ?? ConsoleLauncher.defaultLogPath()
        do { try ConsoleLauncher.logToFile(log) } catch { throw ConsoleCLIError("cannot open log file \(log): \(error)") }
        // One session per cluster: `:cluster NAME` ends it and the next one opens on NAME. An
        // entry that cannot be used leaves the console where it was, saying why. `:cluster up N`
        // ends it too: the local demo cluster starts between sessions (its progress on the
        // plain terminal) and the next session opens on it, with broker control.
        let localDir = Self.localClusterDirectory()
        var local: DemoCluster?
        var beforeLocal: ClusterProfile?
        var opening: (text: String, isError: Bool)?
        while true {
            let (source, data) = try Self.connect(profile)
            let onLocal = local != nil && profile.name == Self.localName
            var options = ConsoleOptions(refresh: interval, readOnly: readOnly || profile.readOnly, mouse: !noMouse)
            if clusters != nil || bootstrapServer == nil || local != nil {
                options.clusterName = profile.name
                options.clusterNames = profiles.map(\.name) + (local == nil ? [] : [Self.localName])
            }
            options.localClusterDirectory = localDir.path
            options.localClusterRunning = local != nil
            options.openingMessage = opening
            var exit: ConsoleExit
            do {
                exit = try await ConsoleLauncher.interactive(source: data, actions: source,
                                                             brokerControl: onLocal ? local.map { LocalClusterControl(cluster: $0.cluster) } : nil,
                                                             options: options, themes: themes.themes, themeIndex: themes.index)
            } catch {
                if let local { await Self.stopLocal(local) }
                throw ConsoleCLIError("\(error)")
            }
            // Bounded: a close must not keep a quitting console waiting on a dead cluster.
            await Deadline.run(.seconds(2)) { await source.close() }
            if TerminationSignals.shared.requested != nil { exit = .quit }
            switch exit {
            case .quit:
                if let local { await Self.stopLocal(local) }
                return
            case .switchCluster(let name) where name == Self.localName && local != nil:
                if !onLocal { beforeLocal = profile }
                profile = ClusterProfile(name: Self.localName, bootstrapServers: local?.bootstrap ?? "")
                opening = ("switched to the local cluster (\(profile.bootstrapServers))", false)
            case .switchCluster(let name):
                guard let next = profiles.first(where: { $0.name == name }) else { return }
                if let problem = next.problem {
                    opening = ("not switched: \(problem)", true)
                } else {
                    opening = ("switched to cluster \(next.name) (\(next.bootstrapServers))" + (next.readOnly ? ", read-only" : ""), false)
                    profile = next
                }
            case .startLocalCluster(let n):
                // Ctrl-C while the nodes start (or later) stops them instead of orphaning them.
                TerminationSignals.shared.install()
                let demo: DemoCluster
                do {
                    demo = try DemoCluster(base: localDir, brokers: n, rate: 40)
                    // A throw-away cluster: whatever an earlier one left there goes first.
                    try? await demo.deleteData()
                } catch {
                    opening = ("local cluster not started: \(error)", true)
                    continue
                }
                Self.say("Starting a local demo cluster of \(n) node\(n == 1 ? "" : "s") in \(localDir.path)")
                do {
                    try await demo.start(progress: { Self.say($0) }, interrupted: { TerminationSignals.shared.requested != nil })
                    local = demo
                    if profile.name != Self.localName { beforeLocal = profile }
                    profile = ClusterProfile(name: Self.localName, bootstrapServers: demo.bootstrap)
                    opening = ("local demo cluster of \(n) node\(n == 1 ? "" : "s") in \(localDir.path) (bootstrap \(demo.bootstrap)); :cluster down stops it", false)
                } catch {
                    await Self.stopLocal(demo)
                    if TerminationSignals.shared.requested != nil { return }
                    opening = ("local cluster not started: \(error)", true)
                }
            case .stopLocalCluster:
                guard let running = local else { continue }
                Self.say("Stopping the local demo cluster in \(localDir.path)")
                await Self.stopLocal(running)
                local = nil
                if profile.name == Self.localName { profile = beforeLocal ?? first }
                opening = ("stopped the local cluster and deleted its data in \(localDir.path)", false)
            }
        }
    }

    /// The name of the local demo cluster `:cluster up` starts, in the header and for `:cluster`.
    static let localName = "local"

    /// Where `:cluster up` puts its cluster: `$SAMSA_LOCAL_CLUSTER_DIR`, else
    /// `~/.samsa/local-cluster`.
    static func localClusterDirectory() -> URL {
        let env = ProcessInfo.processInfo.environment
        let path = env["SAMSA_LOCAL_CLUSTER_DIR"] ?? ((env["HOME"] ?? NSTemporaryDirectory()) + "/.samsa/local-cluster")
        return URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    /// Stops the load and the nodes of a local cluster and deletes its data (a throw-away
    /// cluster, as `samsa demo` without --keep).
    static func stopLocal(_ demo: DemoCluster) async {
        await demo.stop(progress: { say($0) })
        try? await demo.deleteData()
    }

    /// Progress of the local cluster, on the plain terminal between console sessions.
    static func say(_ line: String) { try? FileHandle.standardOutput.write(contentsOf: Data("samsa console: \(line)\n".utf8)) }

    /// The clusters to offer and the one to open: `--bootstrap-server` alone is one unnamed
    /// cluster; otherwise the clusters file (explicit, `$SAMSA_CLUSTERS` or the default path).
    func resolveProfiles() throws -> ([ClusterProfile], ClusterProfile) {
        if let bootstrapServer {
            let p = ClusterProfile(name: bootstrapServer, bootstrapServers: bootstrapServer, commandConfig: commandConfig, metrics: metrics)
            return ([p], p)
        }
        let path = clusters ?? ClustersFile.defaultPath()
        if clusters == nil && !FileManager.default.fileExists(atPath: path) {
            throw ConsoleCLIError("--bootstrap-server is required (or a clusters file: --clusters FILE; none at \(path))")
        }
        let loaded: (profiles: [ClusterProfile], defaultName: String)
        do { loaded = try ClustersFile.load(path: path) } catch { throw ConsoleCLIError(error.description) }
        var profiles = loaded.profiles
        // --command-config and --metrics on the command line apply to every cluster of the file
        // that does not say otherwise.
        for i in profiles.indices {
            if profiles[i].commandConfig == nil, let commandConfig { profiles[i].commandConfig = commandConfig }
            if profiles[i].metrics == nil, let metrics { profiles[i].metrics = metrics }
            // Checked again with the command line's command-config: an unreadable one is this
            // entry's problem (refused when chosen), not an exit in the middle of a switch.
            if profiles[i].problem == nil {
                do { _ = try profiles[i].clientProperties() } catch {
                    profiles[i].problem = "cluster '\(profiles[i].name)': cannot read its command-config \(profiles[i].commandConfig ?? ""): \(error)"
                }
            }
        }
        let name = cluster ?? loaded.defaultName
        guard let chosen = profiles.first(where: { $0.name == name }) else {
            throw ConsoleCLIError("no cluster '\(name)' in \(path) (clusters: \(profiles.map(\.name).joined(separator: ", ")))")
        }
        return (profiles, chosen)
    }

    /// A client for `profile` and the data source the console samples (with the brokers'
    /// metrics endpoints when known; without, exactly the client).
    static func connect(_ profile: ClusterProfile) throws -> (KafkaClusterSource, any ClusterDataSource) {
        let props: ClientProperties
        do { props = try profile.clientProperties() } catch { throw ConsoleCLIError("\(error)") }
        let source: KafkaClusterSource
        do { source = try KafkaClusterSource(properties: props) } catch { throw ConsoleCLIError("\(error)") }
        let endpoints: [MetricsEndpoint]
        do { endpoints = try profile.metrics.map { try MetricsEndpoint.parseList($0) } ?? [] } catch { throw ConsoleCLIError("\(error)") }
        return (source, endpoints.isEmpty ? source : MetricsScrapingSource(base: source, endpoints: endpoints))
    }
}

extension HeadlessReport.Format: ExpressibleByArgument {}

/// A one-line error for the user (ArgumentParser prints "Error: <description>" and exits 1).
struct ConsoleCLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
