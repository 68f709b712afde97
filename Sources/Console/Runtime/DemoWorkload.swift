import Foundation
import KafkaClient
import Logging
import NIOCore

/// The load `samsa demo` puts on its local broker so every pane has something real to
/// show: a steady producer, a consumer group that alternates between too slow and catching
/// up (so its lag grows, then drains, and its verdict moves between WARN and OK), and a
/// second group that keeps up. All of it goes through the Swift client, like any user's app.
///
/// Concurrency: an actor owning its tasks; `stop()` cancels them and closes the clients.
public actor DemoWorkload {
    public struct Plan: Sendable {
        public var bootstrap: String
        /// Messages per second to `demo.orders` (and twice that to `demo.clicks`).
        public var rate: Double = 40
        /// Seconds the slow phase lasts (consumer at 50% of the rate), then the fast phase
        /// (150%) lasts two thirds of that.
        public var phaseSeconds: Double = 45
        /// Client security properties (security.protocol, sasl.*, ssl.*) of every demo client;
        /// empty for PLAINTEXT.
        public var security: [String: String] = [:]
        public init(bootstrap: String, rate: Double = 40, phaseSeconds: Double = 45, security: [String: String] = [:]) {
            self.bootstrap = bootstrap; self.rate = rate; self.phaseSeconds = phaseSeconds; self.security = security
        }
    }

    public static let topics: [(name: String, partitions: Int32)] = [("demo.orders", 6), ("demo.clicks", 3), ("demo.payments", 3)]
    public static let laggingGroup = "demo-billing"
    public static let healthyGroup = "demo-analytics"

    private let plan: Plan
    private var tasks: [Task<Void, Never>] = []
    private var producer: KafkaProducer?
    private var consumers: [KafkaConsumer] = []
    private let logger = Logger(label: "samsa.demo")

    public init(plan: Plan) { self.plan = plan }

    /// The demo topics' replication settings on a cluster of `brokers` nodes: replication
    /// factor min(3, brokers), and `min.insync.replicas=2` from 3 brokers on (one broker may
    /// die without stopping acks=all writes; two may not).
    public static func topicSettings(brokers: Int) -> (replicationFactor: Int16, configs: [String: String]) {
        (Int16(max(1, min(3, brokers))), brokers >= 3 ? ["min.insync.replicas": "2"] : [:])
    }

    /// Creates the demo topics when missing (an existing topic is fine: `--keep` reuses data).
    public static func createTopics(admin: KafkaAdmin, brokers: Int = 1) async throws {
        let existing = Set(try await admin.listTopics())
        let (rf, configs) = topicSettings(brokers: brokers)
        let missing = topics.filter { !existing.contains($0.name) }.map {
            NewTopic(name: $0.name, partitions: $0.partitions, replicationFactor: rf, configs: configs)
        }
        guard !missing.isEmpty else { return }
        for r in try await admin.createTopics(missing) where !r.succeeded && r.errorCode != 36 {  // 36 = TOPIC_ALREADY_EXISTS
            throw KafkaClusterSource.ActionError(description: r.error("create topic \(r.name)")?.description ?? "create topic \(r.name) failed")
        }
    }

    public func start() throws {
        let props = ClientProperties(plan.security.merging(["bootstrap.servers": plan.bootstrap, "client.id": "samsa-demo",
                                                            "enable.idempotence": "false", "acks": "1", "linger.ms": "20"]) { _, b in b })
        let producer = KafkaProducer(config: try ProducerConfig(properties: props))
        self.producer = producer
        let plan = self.plan, logger = self.logger
        tasks.append(Task.detached { await Self.produceLoop(producer, plan: plan, logger: logger) })
        for (group, topic, slow) in [(Self.laggingGroup, "demo.orders", true), (Self.healthyGroup, "demo.clicks", false)] {
            let consumer = KafkaConsumer(config: try ConsumerConfig(properties: ClientProperties(plan.security.merging([
                "bootstrap.servers": plan.bootstrap, "client.id": "\(group)-1", "group.id": group,
                "auto.offset.reset": "earliest", "enable.auto.commit": "true", "auto.commit.interval.ms": "1000",
                "max.poll.records": "20", "session.timeout.ms": "10000", "heartbeat.interval.ms": "1000",
            ]) { _, b in b })))
            consumers.append(consumer)
            tasks.append(Task.detached { await Self.consumeLoop(consumer, topic: topic, plan: plan, varying: slow, logger: logger) })
        }
    }

    public func stop() async {
        for t in tasks { t.cancel() }
        for t in tasks { await t.value }
        tasks = []
        for c in consumers { await c.close() }
        consumers = []
        await producer?.close()
        producer = nil
    }

    static func produceLoop(_ producer: KafkaProducer, plan: Plan, logger: Logger) async {
        var n = 0
        let tick = Duration.milliseconds(100)
        let perTick = max(1, Int(plan.rate / 10))
        let regions = ["eu-west", "us-east", "ap-south"]
        while !Task.isCancelled {
            do {
                for _ in 0..<perTick {
                    n += 1
                    let order = "{\"order\":\(n),\"customer\":\"c-\(n % 97)\",\"amount\":\(Double(n % 500) / 10),\"region\":\"\(regions[n % 3])\"}"
                    try await producer.produce(ProducerRecord(topic: "demo.orders", key: "c-\(n % 97)", value: order))
                    for k in 0..<2 {
                        try await producer.produce(ProducerRecord(topic: "demo.clicks", key: nil, value: "{\"click\":\(2 * n + k),\"page\":\"/p/\(n % 13)\"}"))
                    }
                    if n % 10 == 0 {
                        try await producer.produce(ProducerRecord(topic: "demo.payments", key: "c-\(n % 97)", value: "{\"payment\":\(n / 10)}",
                                                                  headers: [(key: "source", value: "demo")]))
                    }
                }
            } catch {
                logger.warning("demo producer: \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
            try? await Task.sleep(for: tick)
        }
    }

    /// Consumes `topic` at a paced rate: 50% of the produce rate during slow phases, 150%
    /// during fast ones (when `varying`), else 110% (keeps up).
    static func consumeLoop(_ consumer: KafkaConsumer, topic: String, plan: Plan, varying: Bool, logger: Logger) async {
        do { try await consumer.subscribe([topic]) } catch { logger.error("demo consumer subscribe: \(error)"); return }
        let started = ContinuousClock.now
        let produced = topic == "demo.clicks" ? plan.rate * 2 : plan.rate
        while !Task.isCancelled {
            let elapsed = Double((ContinuousClock.now - started).components.seconds)
            let cycle = plan.phaseSeconds * 5 / 3
            let slow = varying && elapsed.truncatingRemainder(dividingBy: cycle) < plan.phaseSeconds
            let rate = produced * (varying ? (slow ? 0.5 : 1.5) : 1.1)
            do {
                let records = try await consumer.poll(timeout: .milliseconds(500))
                if !records.isEmpty {
                    try? await Task.sleep(for: .milliseconds(Int64(Double(records.count) / rate * 1000)))
                }
            } catch {
                logger.warning("demo consumer \(topic): \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
