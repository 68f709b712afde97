import ArgumentParser

/// The root of the `samsa` command tree. Each subcommand is a small nested type in its own file.
public struct SamsaCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "samsa",
        abstract: "A Kafka-compatible streaming platform and operations console.",
        version: BuildInfo.versionLine,
        subcommands: [
            BenchCommand.self,
            TopicCommand.self,
            ProduceCommand.self,
            ConsumeCommand.self,
            GroupCommand.self,
            AclCommand.self,
            UserCommand.self,
            ClusterCommand.self,
            BrokerCommand.self,
            StorageCommand.self,
            ConsoleCommand.self,
            DemoCommand.self,
        ]
    )
    public init() {}
}
