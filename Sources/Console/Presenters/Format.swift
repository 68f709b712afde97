import Foundation

/// Number and time formatting shared by the presenters and the headless text output.
public enum Format {
    /// 1536 -> "1.5 KiB"; nil -> "-".
    public static func bytes(_ v: Int64?) -> String {
        guard let v else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var x = Double(v), i = 0
        while x >= 1024, i < units.count - 1 { x /= 1024; i += 1 }
        return i == 0 ? "\(v) B" : String(format: x < 10 ? "%.1f %@" : "%.0f %@", x, units[i])
    }

    /// 12345 -> "12.3k", 1234567 -> "1.23M"; exact below 10,000.
    public static func count(_ v: Int64?) -> String {
        guard let v else { return "-" }
        let a = abs(Double(v))
        if a < 10_000 { return "\(v)" }
        if a < 1_000_000 { return String(format: "%.1fk", Double(v) / 1e3) }
        if a < 1_000_000_000 { return String(format: "%.2fM", Double(v) / 1e6) }
        return String(format: "%.2fG", Double(v) / 1e9)
    }

    /// Messages per second: "0", "12.5", "1.2k".
    public static func rate(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "-" }
        if v == 0 { return "0" }
        if abs(v) < 100 { return String(format: "%.1f", v) }
        if abs(v) < 10_000 { return String(format: "%.0f", v) }
        return String(format: "%.1fk", v / 1e3)
    }

    /// Seconds as "4m12s"; nil -> "-"; a lower bound gets a ">" prefix.
    public static func seconds(_ v: Double?, lowerBound: Bool = false) -> String {
        guard let v else { return "-" }
        return (lowerBound ? ">" : "") + Duration.compact(v)
    }

    /// retention.ms: "7d", "12h", "-1" -> "forever".
    public static func retention(ms: Int64?) -> String {
        guard let ms else { return "-" }
        if ms < 0 { return "forever" }
        let s = ms / 1000
        if ms % 86_400_000 == 0 { return "\(s / 86400)d" }
        if ms % 3_600_000 == 0 { return "\(s / 3600)h" }
        if ms % 60_000 == 0 { return "\(s / 60)m" }
        return Duration.compact(Double(ms) / 1000)
    }

    /// "1 member", "3 members": counts in messages read as English ("1 members" did not).
    /// `plural` defaults to `singular + "s"`.
    public static func plural(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    public static func ids(_ v: [Int32]) -> String { v.map(String.init).joined(separator: ",") }

    public static let timestamp: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return f
    }()

    /// Bytes as text: UTF-8 if valid (control characters made visible), else hex.
    public static func payload(_ b: [UInt8]?) -> String {
        guard let b else { return "null" }
        if let s = String(validating: b, as: UTF8.self) { return s }
        return "0x" + b.prefix(64).map { String(format: "%02x", $0) }.joined() + (b.count > 64 ? "…" : "")
    }

    /// Pretty-prints a JSON payload without changing any token (see `JSONText`); nil when
    /// it is not a JSON object or array.
    public static func prettyJSON(_ b: [UInt8]?) -> String? { b.flatMap { JSONText.pretty($0) } }
}
