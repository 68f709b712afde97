import ArgumentParser
import Foundation
import KafkaClient
import NIOCore

/// `samsa produce --topic T`: lines from stdin as records (like kafka-console-producer), or
/// generated test data with `--count N --size B [--rate R]` (like kafka-producer-perf-test).
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce lines from stdin, or generated records with --count/--size/--rate."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The topic to produce to.") var topic: String
    @Option(help: "Fixed partition (default: murmur2 of the key, sticky when unkeyed).") var partition: Int32?
    @Option(name: .customLong("key-separator"), help: "Split each line at the first SEP into key and value.") var keySeparator: String?
    @Option(help: "A header as key=value on every record (repeatable).") var header: [String] = []
    @Option(help: "Generate this many records instead of reading stdin.") var count: Int?
    @Option(help: "Bytes per generated record value.") var size = 100
    @Option(help: "Generated records per second (0 = as fast as possible).") var rate = 0
    @Option(help: "compression.type: none, gzip, snappy, lz4, zstd.") var compression: String?
    @Option(help: "acks: 0, 1 or all.") var acks: String?

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must be >= 0") }
        if size < 0 { throw ValidationError("--size must be >= 0") }
        if rate < 0 { throw ValidationError("--rate must be >= 0") }
        if keySeparator == "" { throw ValidationError("--key-separator must not be empty") }
    }

    func run() async throws {
        var props = try global.properties()
        if let compression { props["compression.type"] = compression }
        if let acks { props["acks"] = acks }
        let producer = KafkaProducer(config: try ProducerConfig(properties: props))
        let headers = try header.map { entry -> (key: String, value: ByteBuffer?) in
            let (k, v) = try splitKeyValue(entry, flag: "--header")
            return (k, ByteBuffer(string: v))
        }
        let failures = Locked<(count: Int, first: KafkaClientError?)>((0, nil))
        let callback: DeliveryCallback = { result in
            if case .failure(let e) = result { failures.withLock { if $0.first == nil { $0.first = e }; $0.count += 1 } }
        }
        let start = ContinuousClock.now
        var produced = 0
        var bytes = 0
        do {
            if let count {
                let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: size)
                let record = ProducerRecord(topic: topic, partition: partition, value: payload, headers: headers)
                if rate > 0 {
                    for i in 0..<count {
                        let due = start + .nanoseconds(Int64(i) * 1_000_000_000 / Int64(rate))
                        if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                        try await producer.produce(record, onDelivery: callback)
                    }
                } else {
                    // Unthrottled: hand records over in chunks, one actor hop per chunk.
                    var remaining = count
                    while remaining > 0 {
                        let n = min(remaining, 1000)
                        try await producer.produce(contentsOf: Array(repeating: record, count: n), onDelivery: callback)
                        remaining -= n
                    }
                }
                produced = count
                bytes = count * size
            } else {
                while let line = readLine(strippingNewline: true) {
                    var key: ByteBuffer?
                    var value = line
                    if let sep = keySeparator, let range = line.range(of: sep) {
                        key = ByteBuffer(string: String(line[..<range.lowerBound]))
                        value = String(line[range.upperBound...])
                    }
                    try await producer.produce(ProducerRecord(topic: topic, partition: partition, key: key, value: ByteBuffer(string: value),
                                                              headers: headers), onDelivery: callback)
                    produced += 1
                    bytes += value.utf8.count
                }
            }
            await producer.close()
        } catch {
            await producer.close()
            throw error
        }
        let elapsed = ContinuousClock.now - start
        let seconds = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 1e-9)
        let (failed, first) = failures.withLock { ($0.count, $0.first) }
        let summary = String(format: "%d records produced in %.3f s: %.0f records/s, %.2f MB/s%@",
                             produced - failed, seconds, Double(produced - failed) / seconds, Double(bytes) / seconds / 1e6,
                             failed > 0 ? ", \(failed) failed" : "")
        FileHandle.standardError.write(Data((summary + "\n").utf8))
        if let first { throw first }
    }
}

/// A lock-protected value for delivery callbacks (they run on the producer's task).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
