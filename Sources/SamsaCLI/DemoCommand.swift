import ArgumentParser
import ClusterManager
import Console
import Foundation
import KafkaClient
import TerminalUI

/// `samsa demo`: a local cluster (3 combined broker+controller KRaft nodes by default) with
/// live load, and the console on it.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a local Samsa cluster with demo topics, a producer and two consumer groups, and open the console on it.",
        discussion: "By default 3 nodes, each a combined broker and KRaft controller (process.roles=broker,controller), "
            + "formatted with one cluster id; demo topics have replication factor min(3, N) and, from 3 brokers on, "
            + "min.insync.replicas=2. Each node runs as a child process (samsa broker --config <dir>/cluster/broker-N/server.properties) "
            + "with its data and log under --dir. --brokers 1 gives a single node without a controller quorum. "
            + "--controllers N runs N dedicated controllers (process.roles=controller, ids after the brokers') and broker-only nodes instead. "
            + "One consumer group (demo-billing) alternates between too slow and catching up, "
            + "so its lag grows and drains. On the console's Brokers pane, x/s/r/K stop, start, restart and kill -9 the selected broker. "
            + "Quit with q or Ctrl-C: the load, the brokers and (without --keep) the data go away. "
            + "With --bootstrap-server the load runs against an existing cluster instead (no local brokers). "
            + "--secure: every client listener is SASL_SSL (SCRAM-SHA-512/256) with a throw-away CA made in <dir>/secure, "
            + "the StandardAuthorizer, a super user admin and a user demo-reader that may only read the demo topics; "
            + "their client properties (with the random passwords) are <dir>/secure/admin.properties and reader.properties.")

    @Option(help: "Directory for the brokers' data, config and logs.")
    var dir: String = "samsa-demo"

    @Flag(help: "Keep the data directory for the next run (default: delete it on exit).")
    var keep = false

    @Option(help: "Number of local nodes: 1 is a single broker; 2 or more are combined broker+controller KRaft nodes.")
    var brokers: Int = 3

    @Option(help: "Dedicated KRaft controllers (process.roles=controller; node ids after the brokers'); 0 = every node is a combined broker+controller.")
    var controllers: Int = 0

    @Option(help: "Port of broker 1 on 127.0.0.1 (0 = pick a free one); the other nodes and the controller listeners get free ports.")
    var port: Int = 0

    @Option(help: "Messages per second produced to demo.orders.")
    var rate: Double = 40

    @Option(help: "Theme name or file (see samsa console --help).")
    var theme: String?

    @Flag(name: .customLong("no-mouse"), help: "Do not capture the mouse (keeps the terminal's own text selection).")
    var noMouse = false

    @Option(help: "Seconds between console samples.")
    var refresh: Double = 2

    @Option(name: .customLong("bootstrap-server"), help: "Run the demo load against this existing cluster instead of a local broker.")
    var bootstrapServer: String?

    @Flag(name: .customLong("no-console"), help: "Run the broker and load without the console (until Ctrl-C); for scripts.")
    var noConsole = false

    @Flag(help: "SASL_SSL with a throw-away CA, SCRAM users admin and demo-reader, and ACLs (files in <dir>/secure).")
    var secure = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535") }
        guard (1...9).contains(brokers) else { throw ValidationError("--brokers must be 1-9") }
        guard (0...9).contains(controllers) else { throw ValidationError("--controllers must be 0-9") }
        if controllers > 0 && bootstrapServer != nil { throw ValidationError("--controllers starts local nodes; it does not go with --bootstrap-server") }
        guard rate > 0, rate <= 100_000 else { throw ValidationError("--rate must be in (0, 100000]") }
        guard refresh >= 0.2 else { throw ValidationError("--refresh must be at least 0.2 seconds") }
        if secure && bootstrapServer != nil { throw ValidationError("--secure starts local nodes; it does not go with --bootstrap-server") }
        // --secure with --controllers: the controllers get only their SSL CONTROLLER listener.
    }

    func run() async throws {
        let base = URL(fileURLWithPath: dir, isDirectory: true).standardizedFileURL
        // One clear line instead of an NSError dump (Code=516 "A file with the same name...").
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: base.path, isDirectory: &isDir), !isDir.boolValue {
            throw ConsoleCLIError("--dir \(base.path) exists and is not a directory")
        }
        do { try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true) } catch {
            throw ConsoleCLIError("cannot create --dir \(base.path): \((error as NSError).localizedDescription)")
        }
        let logPath = base.appendingPathComponent("console.log").path
        do { try ConsoleLauncher.logToFile(logPath) } catch { throw ConsoleCLIError("cannot open log file \(logPath): \(error)") }
        TerminationSignals.shared.install()
        let themes: (themes: [Theme], index: Int)
        do { themes = try ConsoleLauncher.themes(selected: theme) } catch { throw ConsoleCLIError("invalid theme: \(error)") }

        let started = ContinuousClock.now
        // With --bootstrap-server there is no local broker: an empty cluster plan.
        let demo = try DemoCluster(base: base, brokers: brokers, controllers: controllers, firstPort: port, rate: rate, external: bootstrapServer, secure: secure)
        var failure: Error?
        do {
            if bootstrapServer == nil {
                let plans = await demo.cluster.status()
                if controllers > 0 {
                    say("Starting \(controllers) controller\(controllers == 1 ? "" : "s") (KRaft quorum of \(controllers)) and \(brokers) broker\(brokers == 1 ? "" : "s") in \(base.path)")
                } else if brokers == 1 {
                    say("Starting broker 1 on 127.0.0.1:\(plans.first?.port ?? 0) (data and logs in \(base.path))")
                } else {
                    say("Starting \(brokers) nodes (broker+controller each, KRaft quorum of \(brokers)) in \(base.path)")
                }
            }
            try await demo.start(progress: { Self.say($0) }, interrupted: { TerminationSignals.shared.requested != nil })
            let bootstrap = demo.bootstrap
            let elapsed = ContinuousClock.now - started
            say(String(format: "Ready in %.1f s (bootstrap %@)", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, bootstrap))
            if let sec = demo.security { for line in Self.secureUsage(sec, bootstrap: bootstrap) { say(line) } }
            if noConsole {
                say("Running until Ctrl-C (bootstrap \(bootstrap))")
                while TerminationSignals.shared.requested == nil { try await Task.sleep(for: .milliseconds(200)) }
            } else if TerminationSignals.shared.requested == nil, let src = demo.source {
                if demo.security != nil { try await Task.sleep(for: .seconds(3)) }  // time to read where the credentials are
                try await ConsoleLauncher.interactive(
                    source: src, actions: src, brokerControl: bootstrapServer == nil ? LocalClusterControl(cluster: demo.cluster) : nil,
                    options: ConsoleOptions(refresh: .milliseconds(Int64(refresh * 1000)), mouse: !noMouse), themes: themes.themes, themeIndex: themes.index)
            }
        } catch {
            failure = error
        }
        say("Stopping the demo load and the broker\(brokers == 1 || bootstrapServer != nil ? "" : "s") (Ctrl-C again to force)")
        // A second Ctrl-C kills the brokers and exits at once (data is kept).
        TerminationSignals.shared.beginShutdown { _ in
            LocalCluster.killAllNow()
            try? FileHandle.standardOutput.write(contentsOf: Data("samsa demo: forced exit; brokers killed, data kept\n".utf8))
            _exit(130)
        }
        await demo.stop(progress: { Self.say($0) })
        if bootstrapServer != nil {
            // Nothing local to delete.
        } else if !keep {
            try? await demo.deleteData()
            let secured = demo.security.map { " and \($0.directory.path)" } ?? ""
            say("Deleted \(base.appendingPathComponent("cluster").path)\(secured) (use --keep to keep \(secured.isEmpty ? "it" : "them"))")
        } else {
            say("Kept data in \(base.path)")
        }
        if let failure { throw ConsoleCLIError("\(failure)") }
    }

    /// How to connect to a `--secure` demo. Names the files; never prints a password.
    static func secureUsage(_ sec: DemoSecurity, bootstrap: String) -> [String] {
        let first = bootstrap.split(separator: ",").first.map(String.init) ?? bootstrap
        return [
            "SASL_SSL (SCRAM-SHA-512/256), CA \(sec.caPath); users \(DemoSecurity.adminUser) (super user) and \(DemoSecurity.readerUser) "
                + "(Read/Describe on the demo topics and groups \(DemoSecurity.readerGroupPrefix)*); passwords only in the files below (mode 0600)",
            "  admin:  \(sec.adminPropertiesPath)",
            "  reader: \(sec.readerPropertiesPath)",
            "  samsa console --bootstrap-server \(first) --command-config \(sec.adminPropertiesPath)",
            "  kcat -b \(first) -F \(sec.readerPropertiesPath) -C -t demo.orders -o beginning -c 5 -e",
        ]
    }

    /// Progress lines go straight to fd 1 (unbuffered), so they show before a slow step.
    /// Errors are ignored: after an SSH hang-up the terminal is gone, and the old
    /// `FileHandle.write(_:)` trapped on EIO right after "console closed", so the demo died
    /// before stopping its broker (which then ran on, orphaned).
    private func say(_ line: String) { Self.say(line) }
    private static func say(_ line: String) { try? FileHandle.standardOutput.write(contentsOf: Data("samsa demo: \(line)\n".utf8)) }
}
