import ArgumentParser
import Broker
import Dispatch
import Logging
import SamsaLogging
import Synchronization

/// `samsa broker --config server.properties [--override key=value]...`: runs one broker in
/// the foreground until SIGTERM or SIGINT, then shuts down gracefully (flush, checkpoints,
/// clean-shutdown marker).
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a Kafka-compatible broker.",
        discussion: """
        Reads Kafka's server.properties keys (node.id, listeners, advertised.listeners, log.dirs, \
        num.partitions, auto.create.topics.enable, log.retention.*, log.segment.bytes, message.max.bytes, \
        socket.request.max.bytes, offsets.topic.num.partitions, group.* ...). Unknown keys are \
        reported and ignored; an invalid value stops start-up with a message naming the key. \
        Without process.roles the broker is a single node that is its own controller; with \
        process.roles (and controller.quorum.voters, controller.listener.names, ...) it is a KRaft \
        node whose storage must first be formatted with `samsa storage format`.
        """
    )

    @Option(name: .long, help: "Path to server.properties.")
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Set a config key, overriding the file (repeatable).", valueName: "key=value"))
    var override: [String] = []

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: ArgumentHelp(
        "Append log lines to this file instead of stderr (created if missing); SIGHUP reopens it, for logrotate.",
        valueName: "path"))
    var logFile: String?

    func run() async throws {
        // Log lines go to --log-file or stderr, one write(2) per line, never colour.
        let destination: LogDestination
        if let logFile {
            do {
                destination = try LogDestination(path: logFile)
            } catch {
                var stderr = StandardErrorStream()
                print("samsa broker: \(error)", to: &stderr)
                throw ExitCode(1)
            }
        } else {
            destination = .standardError
        }
        var logger = Logger(label: "samsa.broker", factory: FileLogHandler.factory(destination: destination, level: logLevel))
        logger.logLevel = logLevel

        // SIGHUP reopens the log file (logrotate's postrotate `kill -HUP`, or `mv` then HUP): lines
        // before it stay in the renamed file, later ones go to a new file at the path. Without
        // --log-file it is only logged: its default action would end the broker. Installed
        // before anything slow (log recovery) so a HUP during start-up cannot kill it either.
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler {
            guard let path = destination.path else {
                logger.info("Received SIGHUP: logging to stderr, nothing to reopen")
                return
            }
            logger.info("Received SIGHUP, reopening log file \(path)")
            do {
                try destination.reopen()
                logger.info("Reopened log file \(path) on SIGHUP")
            } catch {
                logger.error("SIGHUP: \(error); still writing to the previous file")
            }
        }
        hangup.resume()
        defer { hangup.cancel() }

        let brokerConfig: BrokerConfig
        do {
            brokerConfig = try BrokerConfig.load(path: config, overrides: override)
        } catch {
            logger.critical("Invalid configuration: \(error)")
            throw ExitCode(1)
        }
        // Every broker line names its node (`node=1`), whichever logger wrote it.
        let nodeMetadata: Logger.Metadata = ["node": "\(brokerConfig.nodeId)"]
        logger[metadataKey: "node"] = "\(brokerConfig.nodeId)"
        LoggingSystem.bootstrap(FileLogHandler.factory(destination: destination, level: logLevel, metadata: nodeMetadata))
        for warning in brokerConfig.warnings { logger.warning("\(warning)") }

        let broker: KafkaBroker
        do {
            broker = try await KafkaBroker(config: brokerConfig, logger: logger)
        } catch {
            logger.critical("Broker failed to start: \(error)")
            throw ExitCode(1)
        }

        // Signals are taken over before the listeners accept connections: a SIGTERM sent as soon
        // as the port answers (a supervisor, a test) must shut down gracefully, not kill the
        // process with the default action. One arriving before bind() finishes is remembered
        // and honoured right after it.
        let phase = Mutex<(serving: Bool, stopRequested: Bool)>((false, false))
        let signals = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                logger.info("Received signal \(sig), shutting down")
                let serving = phase.withLock { p -> Bool in p.stopRequested = true; return p.serving }
                if serving { Task { await broker.shutdown() } }
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        do {
            try await broker.bind()
        } catch {
            logger.critical("Broker failed to start: \(error)")
            await broker.shutdown()
            throw ExitCode(1)
        }
        if phase.withLock({ p -> Bool in p.serving = true; return p.stopRequested }) {
            await broker.shutdown()
            if broker.storageFailureReason != nil { throw ExitCode(1) }
            return
        }

        do {
            try await broker.run()
        } catch {
            logger.error("Server stopped: \(error)")
        }
        await broker.shutdown()
        // A broker that stopped because its disk failed must not look like a clean stop to
        // whatever supervises it (systemd, a container runtime, a test).
        if broker.storageFailureReason != nil { throw ExitCode(1) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `print(..., to:)` for the one message written before logging exists.
private struct StandardErrorStream: TextOutputStream {
    mutating func write(_ string: String) { LogDestination.standardError.write(string) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
