/// A one-line chart of recent values, scaled between the window's min and max (or 0).
public enum Sparkline {
    /// Renders the last `width` values with the given level glyphs. Values are scaled from
    /// zero (or the minimum, if negative) to the maximum, so a flat non-zero series shows as
    /// a full bar and a flat zero series as the lowest level.
    public static func render(_ values: [Double], width: Int, levels: [String] = Glyphs.unicode.levels) -> String {
        guard width > 0, !levels.isEmpty else { return "" }
        let tail = Array(values.suffix(width))
        guard !tail.isEmpty else { return "" }
        let lo = min(0, tail.min() ?? 0)
        let hi = tail.max() ?? 0
        let span = hi - lo
        var out = ""
        for v in tail {
            let idx: Int
            if span <= 0 || !v.isFinite { idx = hi > 0 ? levels.count - 1 : 0 }
            else { idx = min(levels.count - 1, max(0, Int(((v - lo) / span) * Double(levels.count - 1) + 0.5))) }
            out += levels[idx]
        }
        return out
    }
}
