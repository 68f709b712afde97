import Foundation

/// What the console takes from one scrape of a broker's Prometheus endpoint: cumulative
/// counters (rates come from two scrapes), the produce latency histogram and the
/// under-replicated gauge. Names are the broker's (Kafka JMX names under the JMX
/// exporter's rule, DESIGN.md "Metrics"), so a Kafka broker behind the JMX exporter with the
/// same rule reads the same way.
public struct BrokerMetricsReading: Sendable, Equatable {
    public var endpoint: String
    /// `kafka_server_app_info_start_time_ms{id=...}`: which broker answered.
    public var brokerId: Int32?
    public var bytesIn: Double
    public var bytesOut: Double
    public var requests: Double
    /// Cumulative buckets of `kafka_network_requestmetrics_totaltimems{request="Produce"}`,
    /// ascending by upper bound (ms), +Inf last.
    public var produceLatencyBuckets: [HistogramBucket]
    public var underReplicated: Int?

    public struct HistogramBucket: Sendable, Equatable {
        public var upperBound: Double
        public var count: Double
        public init(upperBound: Double, count: Double) { self.upperBound = upperBound; self.count = count }
    }

    public init(endpoint: String, brokerId: Int32?, bytesIn: Double, bytesOut: Double, requests: Double,
                produceLatencyBuckets: [HistogramBucket], underReplicated: Int?) {
        self.endpoint = endpoint; self.brokerId = brokerId; self.bytesIn = bytesIn; self.bytesOut = bytesOut
        self.requests = requests; self.produceLatencyBuckets = produceLatencyBuckets; self.underReplicated = underReplicated
    }

    public static let bytesInName = "kafka_server_brokertopicmetrics_bytesin_total"
    public static let bytesOutName = "kafka_server_brokertopicmetrics_bytesout_total"
    public static let requestsName = "kafka_network_requestmetrics_requests_total"
    public static let totalTimeBucketName = "kafka_network_requestmetrics_totaltimems_bucket"
    public static let underReplicatedName = "kafka_server_replicamanager_underreplicatedpartitions"
    public static let appInfoName = "kafka_server_app_info_start_time_ms"

    /// Sums the per-topic and per-request series. Throws on text that is not the format.
    public static func parse(_ text: String, endpoint: String) throws -> BrokerMetricsReading {
        var reading = BrokerMetricsReading(endpoint: endpoint, brokerId: nil, bytesIn: 0, bytesOut: 0, requests: 0,
                                           produceLatencyBuckets: [], underReplicated: nil)
        for s in try PrometheusTextParser.parse(text) {
            switch s.name {
            case bytesInName: reading.bytesIn += s.value
            case bytesOutName: reading.bytesOut += s.value
            case requestsName: reading.requests += s.value
            case underReplicatedName: reading.underReplicated = Int(exactly: s.value.rounded()) ?? reading.underReplicated
            case appInfoName: reading.brokerId = s.labels["id"].flatMap { Int32($0) }
            case totalTimeBucketName where s.labels["request"] == "Produce":
                if let le = s.labels["le"].flatMap(PrometheusTextParser.parseValue) {
                    reading.produceLatencyBuckets.append(HistogramBucket(upperBound: le, count: s.value))
                }
            default: break
            }
        }
        reading.produceLatencyBuckets.sort { $0.upperBound < $1.upperBound }
        return reading
    }

    /// Prometheus's `histogram_quantile`: the bucket holding rank q x total, interpolated
    /// linearly inside it (from 0 for the first bucket); in the +Inf bucket, the largest
    /// finite bound. nil when the histogram is empty.
    public static func quantile(_ q: Double, _ buckets: [HistogramBucket]) -> Double? {
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lowerBound = 0.0, lowerCount = 0.0
        for b in buckets {
            if b.count >= rank {
                if b.upperBound.isInfinite { return lowerBound }
                let inBucket = b.count - lowerCount
                guard inBucket > 0 else { return b.upperBound }
                return lowerBound + (b.upperBound - lowerBound) * (rank - lowerCount) / inBucket
            }
            lowerBound = b.upperBound
            lowerCount = b.count
        }
        return lowerBound
    }

    /// Bucket-wise `newer - older` (the observations between two scrapes); nil when the
    /// bounds differ or a count went down (the broker restarted).
    public static func delta(_ newer: [HistogramBucket], _ older: [HistogramBucket]) -> [HistogramBucket]? {
        guard newer.count == older.count else { return nil }
        var out: [HistogramBucket] = []
        for (n, o) in zip(newer, older) {
            guard n.upperBound == o.upperBound, n.count >= o.count else { return nil }
            out.append(HistogramBucket(upperBound: n.upperBound, count: n.count - o.count))
        }
        return out
    }
}

/// One endpoint's scrape in a sample.
public struct BrokerMetricsScrapeResult: Sendable {
    public var endpoint: String
    public var result: Result<BrokerMetricsReading, SourceError>
    public init(endpoint: String, result: Result<BrokerMetricsReading, SourceError>) { self.endpoint = endpoint; self.result = result }
}

/// What the brokers pane and `--once` show per broker when its metrics endpoint is known.
public struct BrokerMetricsView: Sendable, Equatable, Codable {
    public var endpoint: String
    public var bytesInPerSecond: Double?
    public var bytesOutPerSecond: Double?
    public var requestsPerSecond: Double?
    /// p99 of produce request total time (ms) over the rate window (since start with one scrape).
    public var produceP99Ms: Double?
    public var underReplicated: Int?
    /// Per-scrape rates, oldest first, for the sparklines.
    public var bytesInHistory: [Double]
    public var bytesOutHistory: [Double]
    public var requestsHistory: [Double]
    /// The last scrape's error (the values above are then from earlier scrapes).
    public var error: String?
}
