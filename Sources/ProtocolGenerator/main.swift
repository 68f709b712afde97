import Foundation

// samsa-protocol-generator: Kafka's JSON message specs -> Swift codecs.
//
// Usage: samsa-protocol-generator <specDir> <outDir> [<samplesFile>]
//        samsa-protocol-generator --metadata <metadataSpecDir> <outDir> [<samplesFile>]
//
// Reads every *.json in <specDir> (Kafka's clients/src/main/resources/common/message), writes
// one <Name>.swift per spec plus ApiKey.swift into <outDir>, deletes stale generated files
// there, and, when <samplesFile> is given, writes the test-sample builders to it. The output
// is committed, so building Samsa never needs the specs; a test regenerates and diffs.
//
// With --metadata it reads Kafka's metadata record specs (metadata/*.json, the records of
// `__cluster_metadata`) instead, and writes MetadataRecordType.swift in place of ApiKey.swift;
// the samples file then reuses the message samples' `SampleProviding` protocol.

func run(arguments: [String]) throws {
    var arguments = arguments
    let metadata = arguments.count > 1 && arguments[1] == "--metadata"
    if metadata { arguments.remove(at: 1) }
    guard arguments.count == 3 || arguments.count == 4 else {
        throw GeneratorError("usage: samsa-protocol-generator [--metadata] <specDir> <outDir> [<samplesFile>]")
    }
    let specDirectory = URL(fileURLWithPath: arguments[1])
    let outDirectory = URL(fileURLWithPath: arguments[2])
    let fileManager = FileManager.default
    let specFiles = try fileManager.contentsOfDirectory(atPath: specDirectory.path)
        .filter { $0.hasSuffix(".json") }
        .sorted()
    guard !specFiles.isEmpty else { throw GeneratorError("no *.json specs in \(specDirectory.path)") }

    var specs: [MessageSpec] = []
    for file in specFiles {
        let text = try String(contentsOf: specDirectory.appendingPathComponent(file), encoding: .utf8)
        specs.append(try MessageSpec(fileName: file, text: text))
    }
    let contexts = try specs.map { try MessageContext(spec: $0) }

    try fileManager.createDirectory(at: outDirectory, withIntermediateDirectories: true)
    var written = Set<String>()
    for context in contexts {
        let name = "\(context.spec.name).swift"
        try write(try emitMessage(context), to: outDirectory.appendingPathComponent(name))
        written.insert(name)
    }
    let indexFile = metadata ? "MetadataRecordType.swift" : "ApiKey.swift"
    try write(try metadata ? emitMetadataRecordType(specs) : emitApiKey(specs), to: outDirectory.appendingPathComponent(indexFile))
    written.insert(indexFile)

    // Remove generated files whose spec disappeared, but never a hand-written file.
    for existing in try fileManager.contentsOfDirectory(atPath: outDirectory.path)
    where existing.hasSuffix(".swift") && !written.contains(existing) {
        let url = outDirectory.appendingPathComponent(existing)
        let head = (try? String(contentsOf: url, encoding: .utf8))?.prefix(generatedHeaderPrefix.count)
        if head.map(String.init) == generatedHeaderPrefix { try fileManager.removeItem(at: url) }
    }

    if arguments.count == 4 {
        let samples = metadata
            ? try emitSamples(contexts, source: "the metadata record specs", declareProtocol: false)
            : try emitSamples(contexts)
        try write(samples, to: URL(fileURLWithPath: arguments[3]))
    }
    print("generated \(written.count) files from \(specs.count) specs into \(outDirectory.path)")
}

/// Writes only when the content changed, so regenerating does not touch every mtime.
func write(_ text: String, to url: URL) throws {
    if let existing = try? String(contentsOf: url, encoding: .utf8), existing == text { return }
    try text.write(to: url, atomically: true, encoding: .utf8)
}

do {
    try run(arguments: CommandLine.arguments)
} catch {
    FileHandle.standardError.write(Data("samsa-protocol-generator: \(error)\n".utf8))
    exit(1)
}
