import ArgumentParser
import Foundation
import KafkaClient
import NIOCore

/// `samsa consume --topic T`: print records, from a position or as a group member.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print records of a topic (kafka-console-consumer / kcat -C).",
        discussion: """
        --format placeholders: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms),
        %h headers (k=v,...), %K key length, %S value length, %% a percent sign; \\n and \\t escapes.
        Default: "%s\\n". --output json prints one JSON object per record instead.
        """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The topic to consume.") var topic: String
    @Option(help: "Only this partition (default: all).") var partition: Int32?
    // .unconditional: "-5" is a value here, not an option ("Missing value for '--offset'").
    @Option(parsing: .unconditional,
            help: "Start offset: a number, -N for N before the end of each partition (kcat -o -N), 'earliest' or 'latest' (default latest, or the group's committed offset).")
    var offset: String?
    @Flag(name: .customLong("from-beginning"), help: "Start from the earliest offset.") var fromBeginning = false
    @Option(name: .customLong("from-time"), help: "Start at the first record at or after this time (ISO-8601 or ms).") var fromTime: String?
    @Option(help: "Consume as a member of this group (commits offsets).") var group: String?
    @Option(name: .customLong("max-messages"), help: "Exit after this many records.") var maxMessages: Int?
    @Option(name: .customLong("timeout-ms"), help: "Exit when no record arrives for this long.") var timeoutMs: Int?
    @Option(help: "Output format string (see above).") var format = "%s\\n"
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let starts = [fromBeginning, offset != nil, fromTime != nil].filter { $0 }.count
        if starts > 1 { throw ValidationError("choose at most one of --from-beginning, --offset, --from-time") }
        if group != nil && (offset != nil || partition != nil) {
            throw ValidationError("--offset and --partition do not apply with --group (the group assigns partitions)")
        }
        if let offset, Int64(offset) == nil, !["earliest", "latest", "beginning", "end"].contains(offset) {
            throw ValidationError("--offset must be a number, -N (N before the end), 'earliest' or 'latest', not '\(offset)'")
        }
    }

    func run() async throws {
        var props = try global.properties()
        if let group {
            props["group.id"] = group
            if let maxMessages {
                // Commit exactly what was printed (below), not what was fetched beyond it.
                props["enable.auto.commit"] = "false"
                props["max.poll.records"] = String(max(1, min(maxMessages, 500)))
            }
        } else {
            props["enable.auto.commit"] = "false"
        }
        if fromBeginning || offset == "earliest" || offset == "beginning" { props["auto.offset.reset"] = "earliest" }
        let consumer = KafkaConsumer(config: try ConsumerConfig(properties: props))
        do {
            try await consume(consumer)
            await consumer.close()
        } catch {
            await consumer.close()
            throw error
        }
    }

    private func consume(_ consumer: KafkaConsumer) async throws {
        let startTime = try fromTime.map(parseTimestamp)
        if group != nil {
            // Seeks for a group member happen once partitions are assigned.
            try await consumer.subscribe([topic], listener: RebalanceListener(assigned: { tps in
                if let startTime { try? await consumer.seek(tps, toTimestamp: startTime) }
            }))
        } else {
            let count = try await consumer.cluster.partitionCount(of: topic)
            let partitions: [TopicPartition]
            if let partition {
                guard partition >= 0 && Int(partition) < count else { throw KafkaClientError.unknownPartition(topic: topic, partition: partition) }
                partitions = [TopicPartition(topic, partition)]
            } else {
                partitions = (0..<Int32(count)).map { TopicPartition(topic, $0) }
            }
            try await consumer.assign(partitions)
            if fromBeginning || offset == "earliest" || offset == "beginning" {
                try await consumer.seekToBeginning(partitions)
            } else if let startTime {
                try await consumer.seek(partitions, toTimestamp: startTime)
            } else if let offset, let n = Int64(offset), n < 0 {
                // N before the end, never before the log start.
                try await consumer.seekToBeginning(partitions)
                var start: [TopicPartition: Int64] = [:]
                for tp in partitions { start[tp] = try await consumer.position(tp) }
                try await consumer.seekToEnd(partitions)
                for tp in partitions {
                    let end = try await consumer.position(tp)
                    try await consumer.seek(tp, to: max(start[tp] ?? 0, end + max(n, -end)))
                }
            } else if let offset, let n = Int64(offset) {
                for tp in partitions { try await consumer.seek(tp, to: n) }
            } else {
                try await consumer.seekToEnd(partitions)
            }
        }
        let template = FormatTemplate(format)
        var printed = 0
        var lastRecord = ContinuousClock.now
        var out = FileHandleBuffer()
        var printedPositions: [TopicPartition: Int64] = [:]
        // Property-wrapper getters are slow (generic metadata lookups): read them once.
        let limit = maxMessages ?? Int.max
        let json = output.output == .json
        let idleLimit = timeoutMs.map { Duration.milliseconds($0) }
        while printed < limit {
            let records = try await consumer.poll(timeout: .milliseconds(200))
            if records.isEmpty {
                out.flush()
                if let idleLimit, ContinuousClock.now - lastRecord >= idleLimit { break }
                continue
            }
            lastRecord = ContinuousClock.now
            // Records of one partition come in runs: note the next offset per run, not per record.
            var lastOffsets: [TopicPartition: Int64] = [:]
            var run: (partition: Int32, topic: String, next: Int64)?
            for record in records {
                if printed >= limit { break }
                if let r = run, r.partition != record.partition || r.topic != record.topic {
                    lastOffsets[TopicPartition(r.topic, r.partition)] = r.next
                }
                run = (record.partition, record.topic, record.offset + 1)
                if json {
                    out.write(jsonLine(record))
                } else {
                    out.write(template.render(record))
                }
                printed += 1
            }
            if let r = run { lastOffsets[TopicPartition(r.topic, r.partition)] = r.next }
            printedPositions.merge(lastOffsets) { _, new in new }
        }
        out.flush()
        if group != nil, maxMessages != nil, !printedPositions.isEmpty {
            try await consumer.commitSync(printedPositions)
        }
    }

    private func jsonLine(_ r: ConsumerRecord) -> String {
        struct Line: Encodable {
            var topic: String; var partition: Int32; var offset: Int64; var timestamp: Int64
            var key: String?; var value: String?; var headers: [String: String?]
        }
        let line = Line(topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp,
                        key: r.key.map { String(buffer: $0) }, value: r.value.map { String(buffer: $0) },
                        headers: Dictionary(r.headers.map { ($0.key, $0.value.map { String(buffer: $0) }) }, uniquingKeysWith: { _, b in b }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(line)) ?? Data(), as: UTF8.self) + "\n"
    }
}

/// A parsed `--format` string.
struct FormatTemplate {
    enum Piece { case literal(String), topic, partition, offset, key, value, timestamp, headers, keyLength, valueLength }
    let pieces: [Piece]

    init(_ format: String) {
        var pieces: [Piece] = []
        var literal = ""
        var chars = Array(format)[...]
        while let c = chars.popFirst() {
            if c == "\\", let n = chars.first {
                chars.removeFirst()
                switch n {
                case "n": literal.append("\n")
                case "t": literal.append("\t")
                case "\\": literal.append("\\")
                default: literal.append(c); literal.append(n)
                }
            } else if c == "%", let n = chars.first {
                chars.removeFirst()
                let piece: Piece?
                switch n {
                case "t": piece = .topic
                case "p": piece = .partition
                case "o": piece = .offset
                case "k": piece = .key
                case "s": piece = .value
                case "T": piece = .timestamp
                case "h": piece = .headers
                case "K": piece = .keyLength
                case "S": piece = .valueLength
                case "%": piece = nil; literal.append("%")
                default: piece = nil; literal.append(c); literal.append(n)
                }
                if let piece {
                    if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                    pieces.append(piece)
                }
            } else {
                literal.append(c)
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    func render(_ r: ConsumerRecord) -> String {
        var s = ""
        for piece in pieces {
            switch piece {
            case .literal(let l): s += l
            case .topic: s += r.topic
            case .partition: s += String(r.partition)
            case .offset: s += String(r.offset)
            case .key: s += r.key.map { String(buffer: $0) } ?? ""
            case .value: s += r.value.map { String(buffer: $0) } ?? ""
            case .timestamp: s += String(r.timestamp)
            case .headers: s += r.headers.map { "\($0.key)=\($0.value.map { String(buffer: $0) } ?? "")" }.joined(separator: ",")
            case .keyLength: s += String(r.key?.readableBytes ?? -1)
            case .valueLength: s += String(r.value?.readableBytes ?? -1)
            }
        }
        return s
    }
}

/// Buffers stdout writes (one syscall per poll, not per record).
struct FileHandleBuffer {
    private var buffer = ""
    mutating func write(_ s: String) {
        buffer += s
        if buffer.utf8.count >= 1 << 16 { flush() }
    }
    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}
