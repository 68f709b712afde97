import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore

/// `samsa bench`: micro-benchmarks that print throughput figures for BENCHMARKS.md.
///
/// A command group so each subsystem adds its own subcommand (`samsa bench codec`,
/// `samsa bench storage`, ...): add the type to `subcommands` below.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Micro-benchmarks; build with -c release before trusting the numbers.",
        subcommands: [CodecBench.self, StorageBench.self]
    )
}

/// `samsa bench codec`: CRC-32C, memcpy, and record batch encode / decode+verify throughput.
///
/// Everything runs in one process, one thread, on data generated from a fixed seed, so two runs
/// on the same machine are comparable. Each figure is the best of `--rounds` timed rounds of at
/// least `--min-seconds` each (best, not mean: noise only ever slows a round down), reported
/// twice: per second of the thread's CPU time, and per second of wall-clock time. On an idle
/// machine the two agree; on a shared one (several engineers building at once) the wall-clock
/// figure mostly measures how much of a core the scheduler gave us, so the load average is
/// printed too.
struct CodecBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "CRC-32C and memcpy GB/s, record batch encode and decode+verify MB/s per codec."
    )

    @Option(name: .customLong("buffer-mib"), help: "Size in MiB of the large (beyond-cache) buffer for CRC-32C and memcpy.")
    var bufferMiB = 64

    @Option(name: .customLong("cached-kib"), help: "Size in KiB of the in-cache buffer for CRC-32C and memcpy.")
    var cachedKiB = 1024

    @Option(name: .customLong("batch-kib"), help: "Uncompressed bytes of records per batch (Kafka's default batch.size is 16 KiB; 1 MiB is max.request.size).")
    var batchKiB = 256

    @Option(help: "Timed rounds per figure; the best is reported.")
    var rounds = 5

    @Option(help: "Minimum seconds per round.")
    var minSeconds = 0.2

    @Option(help: "Comma-separated codecs to measure (none,gzip,snappy,lz4,zstd).")
    var codecs = "none,gzip,snappy,lz4,zstd"

    func run() async throws {
        let selected = try codecs.split(separator: ",").map { name in
            guard let codec = CompressionCodec(name: String(name)) else { throw ValidationError("unknown codec \(name)") }
            return codec
        }
        #if DEBUG
        print("warning: debug build; use `swift build -c release --product samsa` for real numbers")
        #endif
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            .joined(separator: " ") ?? "unknown"
        print("samsa bench codec: best of \(rounds) rounds >= \(minSeconds) s; load average \(load); "
              + "\(ProcessInfo.processInfo.activeProcessorCount) CPUs")
        print("CRC-32C hardware path: \(CRC32C.isHardwareAccelerated ? "SSE4.2 crc32 instruction" : "not available")")
        print("figures: per CPU-second of this thread | per wall-clock second")
        print("")

        // MARK: CRC-32C and memcpy, in cache and beyond it
        var rng = BenchRandom(seed: 0xC0DEC)
        var sink: UInt32 = 0
        print(pad("GB/s", 34) + pad("\(cachedKiB) KiB (in cache)", 24) + "\(bufferMiB) MiB")
        var rows: [(String, [String])] = [("CRC-32C (dispatching: hardware)", []), ("CRC-32C (portable slicing-by-8)", []), ("memcpy", [])]
        for size in [cachedKiB << 10, bufferMiB << 20] {
            let source = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            let target = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            defer { source.deallocate(); target.deallocate() }
            for i in stride(from: 0, to: size - 7, by: 8) { source.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self) }
            target.initializeMemory(as: UInt8.self, repeating: 0)
            let crcHW = measure(bytes: size) { sink &+= CRC32C.checksum(UnsafeRawBufferPointer(source)) }
            let crcPortable = measure(bytes: size) { sink &+= CRC32C.portableChecksum(UnsafeRawBufferPointer(source)) }
            let copy = measure(bytes: size) {
                target.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: size)
                sink &+= UInt32(target[Int(sink) % size])
            }
            rows[0].1.append(pad(gbps(crcHW), 24))
            rows[1].1.append(pad(gbps(crcPortable), 24))
            rows[2].1.append(pad(gbps(copy), 24))
        }
        for (label, cells) in rows { print(pad(label, 34) + cells.joined()) }
        print("")

        // MARK: record batches
        print("record batches of \(batchKiB) KiB of records; MB/s of key+value payload; decode includes CRC verification")
        print("  " + pad("records", 14) + pad("codec", 8) + pad("ratio", 7) + pad("encode MB/s", 18) + "decode+verify MB/s")
        for recordSize in [100, 1024] {
            for codec in selected {
                let batch = makeBatch(recordSize: recordSize, batchBytes: batchKiB << 10, codec: codec, rng: &rng)
                let payload = batch.records.reduce(0) { $0 + ($1.key?.readableBytes ?? 0) + ($1.value?.readableBytes ?? 0) }
                let encoded = try batch.encoded()
                let encode = try measureThrowing(bytes: payload) {
                    var out = ByteBuffer()
                    try batch.encode(into: &out)
                    sink &+= UInt32(truncatingIfNeeded: out.readableBytes)
                }
                let decode = try measureThrowing(bytes: payload) {
                    var reading = encoded
                    let decoded = try RecordBatch.decode(from: &reading)
                    sink &+= UInt32(truncatingIfNeeded: decoded.records.count)
                }
                let ratio = Double(payload) / Double(encoded.readableBytes)
                print("  " + pad("\(batch.records.count) x \(recordSize) B", 14) + pad(codec.name, 8)
                      + pad(String(format: "%.2f", ratio), 7) + pad(mbps(encode), 18) + mbps(decode))
            }
        }
        if sink == 0x5A45_A000 { print("") }  // keeps the optimizer from discarding the work
    }

    /// Records of `recordSize` bytes (16-byte key, the rest value) with text-like content, so
    /// compression ratios resemble real JSON/log payloads rather than all-zero or random bytes.
    func makeBatch(recordSize: Int, batchBytes: Int, codec: CompressionCodec, rng: inout BenchRandom) -> RecordBatch {
        let words = ["order", "user", "id", "amount", "currency", "EUR", "status", "shipped", "ts", "region",
                     "eu-west-1", "sku", "quantity", "price", "true", "false", "null", "{", "}", ":", ","]
        let count = max(1, batchBytes / recordSize)
        var records: [Record] = []
        records.reserveCapacity(count)
        for i in 0..<count {
            var value = ""
            while value.utf8.count < recordSize - 16 {
                value += words[Int(rng.next() % UInt64(words.count))]
                value += String(rng.next() % 100_000)
            }
            let valueBytes = Array(value.utf8.prefix(recordSize - 16))
            let key = String(format: "key-%012d", i)
            records.append(Record(
                offsetDelta: Int32(i), timestampDelta: Int64(i / 10), key: ByteBuffer(string: key),
                value: ByteBuffer(bytes: valueBytes)))
        }
        return RecordBatch(compression: codec, baseTimestamp: 1_700_000_000_000, records: records)
    }

    /// Best bytes per CPU-second and per wall-clock second over the rounds. Synchronous, so the
    /// thread-CPU clock reads on one thread.
    func measure(bytes: Int, _ body: () -> Void) -> (cpu: Double, wall: Double) {
        body()  // warm up: page faults, lazy tables
        var best = (cpu: 0.0, wall: 0.0)
        for _ in 0..<rounds {
            let cpuStart = threadCPUSeconds()
            let wallStart = ContinuousClock.now
            var iterations = 0
            var wall = 0.0
            repeat {
                body()
                iterations += 1
                wall = seconds(ContinuousClock.now - wallStart)
            } while wall < minSeconds
            let cpu = max(threadCPUSeconds() - cpuStart, 1e-9)
            best.cpu = max(best.cpu, Double(bytes * iterations) / cpu)
            best.wall = max(best.wall, Double(bytes * iterations) / wall)
        }
        return best
    }

    func measureThrowing(bytes: Int, _ body: () throws -> Void) throws -> (cpu: Double, wall: Double) {
        var failure: Error?
        let rate = measure(bytes: bytes) {
            do { try body() } catch { failure = error }
        }
        if let failure { throw failure }
        return rate
    }

    func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    func gbps(_ rate: (cpu: Double, wall: Double)) -> String {
        String(format: "%6.2f | %6.2f", rate.cpu / 1e9, rate.wall / 1e9)
    }
    func mbps(_ rate: (cpu: Double, wall: Double)) -> String {
        String(format: "%6.0f | %6.0f", rate.cpu / 1e6, rate.wall / 1e6)
    }
    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// xorshift64*: fast, deterministic data for benchmarks (not for anything that needs quality).
struct BenchRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
