import Foundation
import KafkaClient
import Logging
import SamsaLogging
import TerminalUI

/// What `samsa console` and `samsa demo` share: theme selection, file logging, the
/// headless report and the interactive session. Lives in Console so the CLI stays thin.
public enum ConsoleLauncher {
    /// Loads the theme named by `--theme` (name or file) and every other available theme
    /// for the cycle key. An invalid `--theme` is an error (with file, line and key);
    /// other broken theme files are skipped with a log line.
    public static func themes(selected: String?) throws(ThemeError) -> (themes: [Theme], index: Int) {
        let loader = ThemeLoader()
        let chosen = try loader.load(selected ?? "default")
        var list: [Theme] = [chosen]
        for name in loader.availableThemes() where name != chosen.name {
            do { list.append(try loader.load(name)) } catch {
                Logger(label: "samsa.console").warning("skipping theme \(name): \(error)")
            }
        }
        return (list, 0)
    }

    /// Sends all logging to a file: nothing may reach stdout/stderr while curses is active.
    /// Safe to call once per process (swift-log's bootstrap rule).
    public static func logToFile(_ path: String) throws {
        let factory = try FileLogHandler.makeFactory(path: path)
        LoggingSystem.bootstrap(factory)
    }

    /// Default log file: `$SAMSA_LOG_DIR` or `~/.samsa`, then `console.log`.
    public static func defaultLogPath() -> String {
        let env = ProcessInfo.processInfo.environment
        let dir = env["SAMSA_LOG_DIR"] ?? ((env["HOME"] ?? NSTemporaryDirectory()) + "/.samsa")
        return dir + "/console.log"
    }

    /// `--once`: samples `samples` times (`interval` apart, so rates and trends exist when
    /// samples > 1) and returns the report.
    public static func once(source: any ClusterDataSource, samples: Int, interval: Duration, format: HeadlessReport.Format) async throws -> (String, ClusterSnapshot) {
        let store = SnapshotStore(.empty(bootstrap: source.displayName))
        let sampler = ClusterSampler(source: source, store: store, interval: interval)
        var snap = await sampler.sampleOnce()
        for _ in 1..<max(1, samples) {
            try await Task.sleep(for: interval)
            snap = await sampler.sampleOnce()
        }
        return (try HeadlessReport.render(snap, format: format), snap)
    }

    /// Runs the interactive console on the real terminal; says why it ended.
    @discardableResult
    public static func interactive(source: any ClusterDataSource, actions: (any ClusterActions)?, brokerControl: (any BrokerControl)?,
                                   options: ConsoleOptions, themes: [Theme], themeIndex: Int) async throws -> ConsoleExit {
        let runtime = ConsoleRuntime(source: source, actions: actions, brokerControl: brokerControl, options: options)
        let mouse = options.mouse
        return try await runtime.run(themes: themes, themeIndex: themeIndex) { try NcursesTerminal(mouse: mouse) }
    }
}
