/// A colour as written in a theme file, before degradation to what the terminal supports.
///
/// Accepted spellings: `default` (the terminal's own colour), the 8 ANSI names and their
/// `bright-` variants (`red`, `bright-red`), an xterm index `0`...`255`, or `#rrggbb`.
public enum ThemeColor: Equatable, Sendable {
    case terminalDefault
    /// xterm index 0...255 (0...15 are the ANSI colours).
    case indexed(Int)
    case rgb(UInt8, UInt8, UInt8)

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    public init?(parsing raw: String) {
        let s = raw.lowercased()
        if s == "default" || s == "none" { self = .terminalDefault; return }
        if let i = Self.names.firstIndex(of: s) { self = .indexed(i); return }
        if s.hasPrefix("bright-"), let i = Self.names.firstIndex(of: String(s.dropFirst(7))) { self = .indexed(i + 8); return }
        if let n = Int(s), (0...255).contains(n) { self = .indexed(n); return }
        if s.hasPrefix("#"), s.count == 7, let v = UInt32(s.dropFirst(), radix: 16) {
            self = .rgb(UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)); return
        }
        return nil
    }

    /// The colour to use on a terminal with `capability`, as an xterm index, -1 for the
    /// terminal default, or nil when colours are off (monochrome).
    public func resolved(for capability: ColorCapability) -> Int? {
        switch capability {
        case .monochrome: return nil
        case .full256:
            switch self {
            case .terminalDefault: return -1
            case .indexed(let i): return i
            case .rgb(let r, let g, let b): return Self.nearest256(r, g, b)
            }
        case .sixteen, .eight:
            let idx16: Int
            switch self {
            case .terminalDefault: return -1
            case .indexed(let i) where i < 16: idx16 = i
            case .indexed(let i): let (r, g, b) = Self.rgbOf(index: i); idx16 = Self.nearestANSI(r, g, b)
            case .rgb(let r, let g, let b): idx16 = Self.nearestANSI(Int(r), Int(g), Int(b))
            }
            return capability == .eight ? idx16 % 8 : idx16
        }
    }

    /// True when degrading to 8 colours turned a bright colour into its dim twin; the
    /// backend then adds bold so bright text stays distinguishable.
    public func lostBrightness(on capability: ColorCapability) -> Bool {
        guard capability == .eight, let i = resolved(for: .sixteen) else { return false }
        return i >= 8
    }

    static let ansiRGB: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]
    static let cubeLevels = [0, 95, 135, 175, 215, 255]

    static func rgbOf(index i: Int) -> (Int, Int, Int) {
        if i < 16 { return ansiRGB[i] }
        if i >= 232 { let v = 8 + (i - 232) * 10; return (v, v, v) }
        let n = i - 16
        return (cubeLevels[n / 36], cubeLevels[(n / 6) % 6], cubeLevels[n % 6])
    }

    static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        var best = 16, bestD = Int.max
        for i in 16..<256 {
            let (cr, cg, cb) = rgbOf(index: i)
            let d = sq(cr - Int(r)) + sq(cg - Int(g)) + sq(cb - Int(b))
            if d < bestD { bestD = d; best = i }
        }
        return best
    }

    static func nearestANSI(_ r: Int, _ g: Int, _ b: Int) -> Int {
        var best = 0, bestD = Int.max
        for (i, c) in ansiRGB.enumerated() {
            let d = sq(c.0 - r) + sq(c.1 - g) + sq(c.2 - b)
            if d < bestD { bestD = d; best = i }
        }
        return best
    }

    private static func sq(_ x: Int) -> Int { x * x }
}

/// Text attributes a role may carry. In monochrome they are all a role has.
public struct TextAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = TextAttributes(rawValue: 1)
    public static let reverse = TextAttributes(rawValue: 2)
    public static let underline = TextAttributes(rawValue: 4)
    public static let dim = TextAttributes(rawValue: 8)
    public static let italic = TextAttributes(rawValue: 16)

    struct BadWord: Error { var word: String }

    static let byName: [String: TextAttributes] = [
        "bold": .bold, "reverse": .reverse, "underline": .underline, "dim": .dim, "italic": .italic,
    ]

    /// Parses `"bold,underline"` / `"bold underline"` / `"none"`; a failure names the bad word.
    static func parse(_ raw: String) -> Result<TextAttributes, BadWord> {
        var out: TextAttributes = []
        for word in raw.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "|" }) {
            let w = word.lowercased()
            if w == "none" || w == "normal" { continue }
            guard let a = byName[w] else { return .failure(BadWord(word: String(word))) }
            out.insert(a)
        }
        return .success(out)
    }
}
