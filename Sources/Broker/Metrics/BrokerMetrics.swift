import CoreMetrics
import KafkaProtocol
import NIOCore
import Prometheus
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The broker's instruments (swift-metrics API) over one swift-prometheus registry.
///
/// The broker records through swift-metrics (`CoreMetrics.Counter`, `Recorder`) built with
/// an explicit ``PrometheusMetricsFactory`` over a registry owned by this object, not through
/// `MetricsSystem.bootstrap`: the global factory can be set once per process, and tests run
/// several brokers in one process whose numbers must stay apart.
///
/// Hot-path cost: a produce or fetch request looks its topic's counters up once per topic
/// (one uncontended lock) and increments atomics; the request metrics take one lookup per
/// request and one lock per histogram observation (swift-prometheus's histogram). Label
/// values are built once, when a topic or API is first seen, never per request.
/// Gauges that describe state (partition counts, log sizes, groups, connections) are not kept
/// here: they are computed on each scrape (``BrokerMetricsScrape``).
///
/// Thread-safe.
public final class BrokerMetrics: Sendable {
    /// Histogram buckets for `...TimeMs` metrics, in milliseconds: sub-millisecond steps
    /// matter on a local broker, and the top catches long polls (fetch.max.wait.ms 500).
    public static let millisecondBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500,
                                                      1000, 2500, 5000, 10000, 30000]

    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let requestSets = Mutex<[Int32: RequestMetricSet]>([:])
    private let topics = Mutex<[String: TopicMetrics]>([:])
    /// `kafka.log:type=LogFlushStats,name=LogFlushRateAndTimeMs`.
    public let logFlushTimeMs: Recorder
    private let shuttingDown = Atomic<Bool>(false)
    /// Wall-clock start, for `kafka_server_app_info_start_time_ms`.
    public let startTimeMs: Int64 = Int64((Date().timeIntervalSince1970 * 1000).rounded())

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultValueHistogramBuckets = Self.millisecondBuckets
        self.factory = factory
        logFlushTimeMs = Recorder(label: KafkaMetrics.logFlush.prometheusName, dimensions: [], aggregate: true, factory: factory)
    }

    // MARK: Topics

    /// The counters of one topic (`BrokerTopicMetrics`, topic label). Thread-safe.
    public final class TopicMetrics: Sendable {
        public let messagesIn, bytesIn, bytesOut, totalProduceRequests, totalFetchRequests,
                   failedProduceRequests, failedFetchRequests: CoreMetrics.Counter

        init(topic: String, factory: PrometheusMetricsFactory) {
            let labels = [("topic", topic)]
            func make(_ m: KafkaMetricName) -> CoreMetrics.Counter {
                CoreMetrics.Counter(label: m.prometheusName, dimensions: labels, factory: factory)
            }
            messagesIn = make(KafkaMetrics.messagesIn)
            bytesIn = make(KafkaMetrics.bytesIn)
            bytesOut = make(KafkaMetrics.bytesOut)
            totalProduceRequests = make(KafkaMetrics.totalProduceRequests)
            totalFetchRequests = make(KafkaMetrics.totalFetchRequests)
            failedProduceRequests = make(KafkaMetrics.failedProduceRequests)
            failedFetchRequests = make(KafkaMetrics.failedFetchRequests)
        }

        func destroy() {
            for c in [messagesIn, bytesIn, bytesOut, totalProduceRequests, totalFetchRequests,
                      failedProduceRequests, failedFetchRequests] { c.destroy() }
        }
    }

    /// The counters of `topic`, created on first use.
    public func topic(_ topic: String) -> TopicMetrics {
        if let m = topics.withLock({ $0[topic] }) { return m }
        let made = TopicMetrics(topic: topic, factory: factory)
        return topics.withLock { t in
            if let existing = t[topic] { return existing }
            t[topic] = made
            return made
        }
    }

    /// Drops the series of deleted topics, so a scrape does not report them forever.
    public func removeTopics(_ names: [String]) {
        let removed = topics.withLock { t in names.compactMap { t.removeValue(forKey: $0) } }
        for m in removed { m.destroy() }
    }

    // MARK: Requests

    /// The instruments of one request name (`Produce`, `FetchConsumer`, ...). Thread-safe.
    final class RequestMetricSet: Sendable {
        let name: String
        let totalTime, requestQueueTime, localTime, remoteTime, responseSendTime: Recorder
        private let factory: PrometheusMetricsFactory
        private let counters = Mutex<(versions: [Int16: CoreMetrics.Counter], errors: [Int16: CoreMetrics.Counter])>(([:], [:]))

        init(name: String, factory: PrometheusMetricsFactory) {
            self.name = name
            self.factory = factory
            let labels = [("request", name)]
            func make(_ m: KafkaMetricName) -> Recorder {
                Recorder(label: m.prometheusName, dimensions: labels, aggregate: true, factory: factory)
            }
            totalTime = make(KafkaMetrics.totalTime)
            requestQueueTime = make(KafkaMetrics.requestQueueTime)
            localTime = make(KafkaMetrics.localTime)
            remoteTime = make(KafkaMetrics.remoteTime)
            responseSendTime = make(KafkaMetrics.responseSendTime)
        }

        func count(version: Int16, errors: [Int16: Int]) {
            let (v, e) = counters.withLock { c -> (CoreMetrics.Counter, [(CoreMetrics.Counter, Int)]) in
                let v = c.versions[version] ?? {
                    let made = CoreMetrics.Counter(label: KafkaMetrics.requests.prometheusName,
                                                   dimensions: [("request", name), ("version", String(version))], factory: factory)
                    c.versions[version] = made
                    return made
                }()
                var e: [(CoreMetrics.Counter, Int)] = []
                for (code, n) in errors {
                    let counter = c.errors[code] ?? {
                        let made = CoreMetrics.Counter(label: KafkaMetrics.errors.prometheusName,
                                                       dimensions: [("request", name), ("error", ErrorCode(code).name)], factory: factory)
                        c.errors[code] = made
                        return made
                    }()
                    e.append((counter, n))
                }
                return (v, e)
            }
            v.increment()
            for (counter, n) in e { counter.increment(by: n) }
        }
    }

    /// Kafka's request name for the metrics: the API's name, except that Fetch is split into
    /// `FetchConsumer` and `FetchFollower` (`RequestMetrics` in Kafka's `RequestChannel`).
    static func requestName(apiKey: Int16, follower: Bool) -> String {
        if apiKey == ApiKey.fetch.rawValue { return follower ? "FetchFollower" : "FetchConsumer" }
        return ApiKey(rawValue: apiKey)?.name ?? "ApiKey\(apiKey)"
    }

    private func requestSet(apiKey: Int16, follower: Bool) -> RequestMetricSet {
        let key = Int32(apiKey) << 1 | (follower ? 1 : 0)
        if let s = requestSets.withLock({ $0[key] }) { return s }
        let made = RequestMetricSet(name: Self.requestName(apiKey: apiKey, follower: follower), factory: factory)
        return requestSets.withLock { s in
            if let existing = s[key] { return existing }
            s[key] = made
            return made
        }
    }

    /// Monotonic nanoseconds, for the request timestamps.
    @inline(__always)
    public static func nowNanoseconds() -> Int64 {
        Int64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds)
    }

    /// Records one request: `received` when its frame was decoded, `started` when its
    /// connection task took it up, `handled` when the handler returned, `sent` when the
    /// response was written (equal to `handled` when there is none).
    public func recordRequest(apiKey: Int16, version: Int16, receivedNs: Int64, startedNs: Int64, handledNs: Int64,
                              sentNs: Int64, timing: RequestTiming) {
        let set = requestSet(apiKey: apiKey, follower: timing.isFollowerFetch)
        set.count(version: version, errors: timing.errorCounts)
        let remote = timing.remoteNanoseconds
        func ms(_ ns: Int64) -> Double { Double(max(0, ns)) / 1_000_000 }
        set.totalTime.record(ms(sentNs - receivedNs))
        set.requestQueueTime.record(ms(startedNs - receivedNs))
        set.localTime.record(ms(handledNs - startedNs - remote))
        set.remoteTime.record(ms(remote))
        set.responseSendTime.record(ms(sentNs - handledNs))
    }

    // MARK: Scrape

    /// Marks the broker as stopping: scrapes answer 503 from now on instead of reading
    /// partitions that are being closed.
    public func beginShutdown() { shuttingDown.store(true, ordering: .releasing) }
    public var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }

    /// The registry's series (counters, histograms) in the text format, then `gauges`.
    public func render(gauges: PrometheusTextWriter) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(gauges.bytes.count + registry.internalBufferCapacity() + 4096)
        registry.emit(into: &out)
        out.append(contentsOf: gauges.bytes)
        return out
    }
}
