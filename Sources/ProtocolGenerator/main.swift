import Foundation

// samsa-protocol-generator: Kafka's JSON message specs -> Swift codecs.
//
// Usage: samsa-protocol-generator <specDir> <outDir> [<samplesFile>]
//
// Reads every *.json in <specDir> (Kafka's clients/src/main/resources/common/message), writes
// one <Name>.swift per spec plus ApiKey.swift into <outDir>, deletes stale generated files
// there, and, when <samplesFile> is given, writes the test-sample builders to it. The output
// is committed, so building Samsa never needs the specs; a test regenerates and diffs.

func run(arguments: [String]) throws {
    guard arguments.count == 3 || arguments.count == 4 else {
        throw GeneratorError("usage: samsa-protocol-generator <specDir> <outDir> [<samplesFile>]")
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
    try write(try emitApiKey(specs), to: outDirectory.appendingPathComponent("ApiKey.swift"))
    written.insert("ApiKey.swift")

    // Remove generated files whose spec disappeared, but never a hand-written file.
    for existing in try fileManager.contentsOfDirectory(atPath: outDirectory.path)
    where existing.hasSuffix(".swift") && !written.contains(existing) {
        let url = outDirectory.appendingPathComponent(existing)
        let head = (try? String(contentsOf: url, encoding: .utf8))?.prefix(generatedHeaderPrefix.count)
        if head.map(String.init) == generatedHeaderPrefix { try fileManager.removeItem(at: url) }
    }

    if arguments.count == 4 {
        try write(try emitSamples(contexts), to: URL(fileURLWithPath: arguments[3]))
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
