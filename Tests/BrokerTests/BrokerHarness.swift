import Foundation
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Opens PartitionLogs in a temp dir, standing in for LogStorage's LogManager.
final class TempDirLogProvider: PartitionLogProvider, @unchecked Sendable {
    let root: String
    private let lock = NSLock()
    private var logs: [String: PartitionLog] = [:]

    init(root: String) { self.root = root }

    func openLog(topic: String, partition: Int32, config: LogConfig) throws -> PartitionLog {
        try lock.withLock {
            let key = "\(topic)-\(partition)"
            if let l = logs[key] { return l }
            let l = try PartitionLog(directory: root + "/" + key, topic: topic, partition: partition, config: config)
            logs[key] = l
            return l
        }
    }

    func removeLog(topic: String, partition: Int32) throws {
        let key = "\(topic)-\(partition)"
        let l = lock.withLock { logs.removeValue(forKey: key) }
        try l?.close()
        try? FileManager.default.removeItem(atPath: root + "/" + key)
    }
}

/// A manually advanced clock whose sleeps return at once (long polls become immediate).
struct InstantClock: BrokerClock {
    func nowMs() -> Int64 { SystemBrokerClock().nowMs() }
    func sleep(ms: Int64) async { try? await Task.sleep(for: .milliseconds(min(ms, 50))) }
}

/// A broker without sockets: real metadata store, controller, replica manager and logs in a
/// temp dir, with every broker-core handler registered. Requests go through the registry's
/// dispatch exactly as frames from a socket would.
final class BrokerHarness: @unchecked Sendable {
    let dir: String
    let config: BrokerConfig
    let services: BrokerServices
    var registry: HandlerRegistry
    let logs: TempDirLogProvider
    private var correlation: Int32 = 0

    init(properties: String = "", dir: String? = nil) throws {
        self.dir = dir ?? "/tmp/samsa-broker-h-\(UInt64.random(in: 0...UInt64.max))"
        try makeDirectories(self.dir)
        config = try BrokerConfig(properties: PropertiesFile(parsing: "listeners=PLAINTEXT://127.0.0.1:9092\nlog.dirs=\(self.dir)\n" + properties))
        let store = try MetadataStore.open(directory: self.dir, clusterId: "harness-cluster", nodeId: config.nodeId)
        let controller = LocalController(store: store, random: { UInt64.random(in: .min ... .max) })
        try controller.registerBroker(.init(id: config.nodeId, endpoints: [.init(listener: "PLAINTEXT", host: "127.0.0.1", port: 9092)],
                                            rack: nil, fenced: false))
        logs = TempDirLogProvider(root: self.dir)
        let logger = Logger(label: "harness")
        let replicas = ReplicaManager(nodeId: config.nodeId, logs: logs, config: config, logger: logger)
        replicas.apply(old: nil, new: store.image)
        store.addListener { old, new in replicas.apply(old: old, new: new) }
        services = BrokerServices(config: config, metadata: store, controller: controller, replicas: replicas,
                                  clock: InstantClock(), logger: logger)
        registry = HandlerRegistry(logger: logger)
        KafkaBrokerHandlers.register(into: &registry, services: services)
        registry.registerApiVersions()
    }

    func cleanup() { try? runRemove(dir) }

    /// Sends `request` at `version` and decodes the response; nil when none was sent.
    func send<R: KafkaRequest>(_ request: R, version: Int16, clientId: String? = "harness",
                               principal: String = ConnectionInfo.anonymous) async throws -> R.Response? {
        correlation += 1
        var frame = ByteBuffer()
        try request.encode(into: &frame, version: version, correlationId: correlation, clientId: clientId)
        var connection = ConnectionInfo(connectionId: 1, clientHost: "127.0.0.1", clientPort: 5555, listenerName: "PLAINTEXT")
        connection.principal = principal
        switch await registry.dispatch(frame: frame, connection: connection) {
        case .respond(var bytes):
            let size = bytes.readInteger(as: Int32.self)
            XCTAssertEqual(Int(size ?? -1), bytes.readableBytes, "frame size prefix")
            let (header, body) = try R.Response.decode(from: &bytes, version: version)
            XCTAssertEqual(header.correlationId, correlation)
            XCTAssertEqual(bytes.readableBytes, 0, "the response has no trailing bytes")
            return body
        case .noResponse:
            return nil
        case .close(let reason), .respondThenClose(_, let reason):
            throw CloseConnection(reason)
        }
    }

    /// Raw dispatch of bytes (for malformed input tests).
    func dispatchRaw(_ frame: ByteBuffer) async -> DispatchOutcome {
        await registry.dispatch(frame: frame, connection: ConnectionInfo(connectionId: 2, clientHost: "127.0.0.1",
                                                                       clientPort: 5556, listenerName: "PLAINTEXT"))
    }

    func createTopic(_ name: String, partitions: Int32 = 1, configs: [String: String] = [:]) throws {
        _ = try services.controller.createTopic(name: name, numPartitions: partitions, replicationFactor: 1, configs: configs)
    }

    /// One record batch with `values`, optionally idempotent.
    static func batch(_ values: [String], compression: CompressionCodec = .none, producerId: Int64 = -1,
                      epoch: Int16 = -1, sequence: Int32 = -1, timestamp: Int64 = 1_700_000_000_000) throws -> ByteBuffer {
        let records = values.enumerated().map { i, v in
            Record(offsetDelta: Int32(i), timestampDelta: Int64(i), key: ByteBuffer(string: "k\(i)"), value: ByteBuffer(string: v))
        }
        let batch = RecordBatch(compression: compression, baseTimestamp: timestamp, producerId: producerId,
                                producerEpoch: epoch, baseSequence: sequence, records: records)
        return try batch.encoded()
    }

    func produce(_ topic: String, partition: Int32 = 0, _ records: ByteBuffer?, acks: Int16 = -1,
                 version: Int16 = 9) async throws -> ProduceResponse.PartitionProduceResponse? {
        var req = ProduceRequest()
        req.acks = acks
        req.timeoutMs = 1000
        req.topicData = [.init(name: topic, partitionData: [.init(index: partition, records: records)])]
        return try await send(req, version: version)?.responses.first?.partitionResponses.first
    }

    func fetch(_ topic: String, partition: Int32 = 0, offset: Int64, maxWaitMs: Int32 = 0, minBytes: Int32 = 0,
               partitionMaxBytes: Int32 = 1 << 20, maxBytes: Int32 = 50 << 20,
               version: Int16 = 12) async throws -> FetchResponse.PartitionData? {
        var req = FetchRequest()
        req.maxWaitMs = maxWaitMs
        req.minBytes = minBytes
        req.maxBytes = maxBytes
        // v13+ names the topic by its id (the name is not on the wire then).
        let topicId = version >= 13 ? services.metadata.image.topics[topic]?.id ?? KafkaUUID.zero : KafkaUUID.zero
        req.topics = [.init(topic: topic, topicId: topicId,
                            partitions: [.init(partition: partition, fetchOffset: offset, partitionMaxBytes: partitionMaxBytes)])]
        return try await send(req, version: version)?.responses.first?.partitions.first
    }

    /// Decodes every record value in a fetched records buffer, with offsets.
    static func values(_ records: ByteBuffer?) throws -> [(Int64, String)] {
        guard var buf = records else { return [] }
        var out: [(Int64, String)] = []
        while buf.readableBytes > 0 {
            let batch = try RecordBatch.decode(from: &buf)
            for r in batch.records {
                out.append((batch.offset(of: r), r.value.map { String(buffer: $0) } ?? "<null>"))
            }
        }
        return out
    }
}
