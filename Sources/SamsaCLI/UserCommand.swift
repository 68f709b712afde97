import ArgumentParser
import Foundation
import KafkaClient

/// `samsa user list|add|delete`: SCRAM users (what `kafka-configs.sh --entity-type users
/// --alter --add-config 'SCRAM-SHA-256=[password=...]'` does). The password is read from
/// `--password-file` or standard input, never from the command line, so it stays out of shell
/// history and `ps`.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "List, add (or change the password of) and delete SCRAM users.",
        subcommands: [List.self, Add.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List SCRAM users and their mechanisms.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Users to describe (default: all).")
        var users: [String] = []

        func run() async throws {
            let described = try await withAdmin(global) { try await $0.describeScramUsers(users.isEmpty ? nil : users) }
            if output.output == .json { return try printJSON(described) }
            printTable(["USER", "MECHANISM", "ITERATIONS"], described.flatMap { u in
                u.credentials.map { [u.user, $0.mechanism, String($0.iterations)] }
            })
        }
    }

    static func mechanism(_ text: String) throws -> ScramUserMechanism {
        guard let m = ScramUserMechanism(name: text) else {
            throw ValidationError("--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not \(text)")
        }
        return m
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a SCRAM user or replace its password (read from --password-file or stdin).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user name.")
        var user: String
        @Option(help: "SCRAM-SHA-256 or SCRAM-SHA-512.")
        var mechanism = "SCRAM-SHA-256"
        @Option(help: "PBKDF2 iterations (4096-16384).")
        var iterations = 8192
        @Option(name: .customLong("password-file"), help: "A file whose first line is the password (default: read stdin).")
        var passwordFile: String?

        func run() async throws {
            let m = try UserCommand.mechanism(mechanism)
            let text = try passwordFile.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? (readLine(strippingNewline: true) ?? "")
            let password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            guard !password.isEmpty else { throw ValidationError("empty password (give --password-file or the password on stdin)") }
            try await withAdmin(global) { try await $0.upsertScramUser(user, mechanism: m, password: password, iterations: iterations) }
            print("Set \(m.name) credential of user \(user) (\(iterations) iterations).")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a SCRAM user's credential.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user name.")
        var user: String
        @Option(help: "SCRAM-SHA-256 or SCRAM-SHA-512.")
        var mechanism = "SCRAM-SHA-256"

        func run() async throws {
            let m = try UserCommand.mechanism(mechanism)
            try await withAdmin(global) { try await $0.deleteScramUser(user, mechanism: m) }
            print("Deleted \(m.name) credential of user \(user).")
        }
    }
}
