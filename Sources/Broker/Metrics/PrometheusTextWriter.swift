/// Writes gauge families in the Prometheus text exposition format (version 0.0.4) for the
/// values computed at scrape time (partition counts, log sizes, connections, groups).
///
/// Why not swift-prometheus's registry for these: its families copy their whole label
/// dictionary on every new series (10,000 partitions would cost 50 million copies) and a
/// series must be unregistered by hand when a partition goes away. Scrape-time values are
/// recomputed from the metadata image on each scrape instead, so they can never be stale,
/// and are written here with the same escaping the registry uses.
///
/// A value type; not shared.
public struct PrometheusTextWriter {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity: Int = 0) { bytes.reserveCapacity(reservingCapacity) }

    /// `# HELP` and `# TYPE` lines of a family. Call once per family, before its samples.
    public mutating func family(_ metric: KafkaMetricName) {
        append("# HELP ")
        append(metric.prometheusName)
        append(" ")
        // HELP text escapes backslash and line feed.
        for b in metric.help.utf8 {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(b)
            }
        }
        append("\n# TYPE ")
        append(metric.prometheusName)
        append(metric.kind == .meter ? " counter\n" : metric.kind == .histogram ? " histogram\n" : " gauge\n")
    }

    /// One sample line: `name{k="v",...} value`.
    public mutating func sample(_ metric: KafkaMetricName, labels: KeyValuePairs<String, String> = [:], _ value: Int64) {
        sample(metric.prometheusName, labels: labels.map { ($0.key, $0.value) }, value)
    }

    /// A sample with a fractional value (averages, in ms).
    public mutating func sample(_ metric: KafkaMetricName, _ value: Double) {
        append(metric.prometheusName)
        bytes.append(UInt8(ascii: " "))
        append(value.isFinite ? String(value) : "NaN")
        bytes.append(UInt8(ascii: "\n"))
    }

    public mutating func sample(_ name: String, labels: [(String, String)], _ value: Int64) {
        sample(name, labels: labels, text: String(value))
    }

    /// A labelled sample with a fractional value.
    public mutating func sample(_ name: String, labels: [(String, String)], double value: Double) {
        sample(name, labels: labels, text: value.isFinite ? String(value) : "NaN")
    }

    private mutating func sample(_ name: String, labels: [(String, String)], text: String) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (i, (k, v)) in labels.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                append(k)
                append("=\"")
                Self.appendEscapedLabelValue(v, to: &bytes)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(text)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// The text format's label value escaping: backslash, double quote and line feed are the
    /// only characters that need it (any other UTF-8, including `}` and `,`, is allowed
    /// inside the quotes).
    public static func appendEscapedLabelValue(_ value: String, to out: inout [UInt8]) {
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            default: out.append(b)
            }
        }
    }

    public static func escapeLabelValue(_ value: String) -> String {
        var out: [UInt8] = []
        appendEscapedLabelValue(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }
}
