import ArgumentParser
import Broker
import Dispatch
import Logging

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

    func run() async throws {
        var logger = Logger(label: "samsa.broker", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = logLevel
        let brokerConfig: BrokerConfig
        do {
            brokerConfig = try BrokerConfig.load(path: config, overrides: override)
        } catch {
            logger.critical("Invalid configuration: \(error)")
            throw ExitCode(1)
        }
        for warning in brokerConfig.warnings { logger.warning("\(warning)") }

        let broker: KafkaBroker
        do {
            broker = try KafkaBroker(config: brokerConfig, logger: logger)
        } catch {
            logger.critical("Broker failed to start: \(error)")
            throw ExitCode(1)
        }
        do {
            try await broker.bind()
        } catch {
            // A port in use (a listener or metrics.listener): close the opened logs cleanly.
            logger.critical("Broker failed to start: \(error)")
            await broker.shutdown()
            throw ExitCode(1)
        }

        let signals = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                logger.info("Received signal \(sig), shutting down")
                Task { await broker.shutdown() }
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
