import Foundation
import XCTest

/// The committed generated code must be exactly what the generator makes from Kafka's specs:
/// a hand edit to a generated file, or a generator change without regenerating, fails here.
final class MessageRegenerationTests: XCTestCase {
    /// The package root, from this file's path (Tests/KafkaProtocolTests/<file>).
    private var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `$SAMSA_KAFKA_SPECS`, else `../shared/kafka-protocol/message` next to the package (or
    /// one level further up, where git worktrees live).
    private func specDirectory() -> URL? {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["SAMSA_KAFKA_SPECS"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        for relative in ["../shared/kafka-protocol/message", "../../shared/kafka-protocol/message"] {
            let candidate = packageRoot.appendingPathComponent(relative).standardizedFileURL
            if fileManager.fileExists(atPath: candidate.appendingPathComponent("ApiVersionsRequest.json").path) {
                return candidate
            }
        }
        return nil
    }

    /// The generator built alongside the test bundle (`swift build --build-tests` builds it).
    private func generatorBinary() -> URL? {
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for directory in candidates {
            let binary = directory.appendingPathComponent("samsa-protocol-generator")
            if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
        }
        return nil
    }

    func testCommittedMessagesMatchTheGenerator() throws {
        guard let specs = specDirectory() else {
            throw XCTSkip("Kafka's specs not found (set SAMSA_KAFKA_SPECS or provide ../shared/kafka-protocol)")
        }
        let generator = try XCTUnwrap(generatorBinary(), "samsa-protocol-generator was not built next to the tests")
        let fileManager = FileManager.default
        let temporary = fileManager.temporaryDirectory.appendingPathComponent("samsa-regen-\(UUID().uuidString)")
        defer { try? fileManager.removeItem(at: temporary) }
        let outDirectory = temporary.appendingPathComponent("Messages")
        let samples = temporary.appendingPathComponent("MessageSamples.swift")

        let process = Process()
        process.executableURL = generator
        process.arguments = [specs.path, outDirectory.path, samples.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "generator failed")

        let committedDirectory = packageRoot.appendingPathComponent("Sources/KafkaProtocol/Messages")
        let generated = Set(try fileManager.contentsOfDirectory(atPath: outDirectory.path))
        let committed = Set(try fileManager.contentsOfDirectory(atPath: committedDirectory.path).filter { $0.hasSuffix(".swift") })
        XCTAssertEqual(generated.subtracting(committed).sorted(), [], "generated files missing from the repository")
        XCTAssertEqual(committed.subtracting(generated).sorted(), [], "committed files the generator no longer makes")
        XCTAssertGreaterThan(generated.count, 180)

        var differing: [String] = []
        for name in generated.intersection(committed).sorted() {
            let fresh = try Data(contentsOf: outDirectory.appendingPathComponent(name))
            let existing = try Data(contentsOf: committedDirectory.appendingPathComponent(name))
            if fresh != existing { differing.append(name) }
        }
        let committedSamples = packageRoot.appendingPathComponent("Tests/KafkaProtocolTests/Generated/MessageSamples.swift")
        if try Data(contentsOf: samples) != Data(contentsOf: committedSamples) {
            differing.append("MessageSamples.swift")
        }
        XCTAssertEqual(differing, [], "out of date; run scripts/generate-protocol.sh")
    }

    /// The same for the metadata records (`metadata/*.json`, the sibling of the message specs)
    /// in Messages/Metadata/ and their samples.
    func testCommittedMetadataRecordsMatchTheGenerator() throws {
        guard let messageSpecs = specDirectory() else {
            throw XCTSkip("Kafka's specs not found (set SAMSA_KAFKA_SPECS or provide ../shared/kafka-protocol)")
        }
        let specs = messageSpecs.deletingLastPathComponent().appendingPathComponent("metadata")
        guard FileManager.default.fileExists(atPath: specs.appendingPathComponent("TopicRecord.json").path) else {
            throw XCTSkip("Kafka's metadata record specs not found next to \(messageSpecs.path)")
        }
        let generator = try XCTUnwrap(generatorBinary(), "samsa-protocol-generator was not built next to the tests")
        let fileManager = FileManager.default
        let temporary = fileManager.temporaryDirectory.appendingPathComponent("samsa-regen-metadata-\(UUID().uuidString)")
        defer { try? fileManager.removeItem(at: temporary) }
        let outDirectory = temporary.appendingPathComponent("Metadata")
        let samples = temporary.appendingPathComponent("MetadataRecordSamples.swift")

        let process = Process()
        process.executableURL = generator
        process.arguments = ["--metadata", specs.path, outDirectory.path, samples.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "generator failed")

        let committedDirectory = packageRoot.appendingPathComponent("Sources/KafkaProtocol/Messages/Metadata")
        let generated = Set(try fileManager.contentsOfDirectory(atPath: outDirectory.path))
        let committed = Set(try fileManager.contentsOfDirectory(atPath: committedDirectory.path).filter { $0.hasSuffix(".swift") })
        XCTAssertEqual(generated, committed)
        XCTAssertEqual(generated.count, 26)  // 25 records + MetadataRecordType.swift
        var differing: [String] = []
        for name in generated.intersection(committed).sorted() {
            let fresh = try Data(contentsOf: outDirectory.appendingPathComponent(name))
            let existing = try Data(contentsOf: committedDirectory.appendingPathComponent(name))
            if fresh != existing { differing.append(name) }
        }
        let committedSamples = packageRoot.appendingPathComponent("Tests/KafkaProtocolTests/Generated/MetadataRecordSamples.swift")
        if try Data(contentsOf: samples) != Data(contentsOf: committedSamples) {
            differing.append("MetadataRecordSamples.swift")
        }
        XCTAssertEqual(differing, [], "out of date; run scripts/generate-protocol.sh")
    }
}
