/// Terminal column widths of text, computed without the C locale.
///
/// ncursesw uses the locale's `wcwidth`, which depends on `setlocale` having run; tests and
/// presenters must not depend on process-global state, so widths come from this small table
/// of East Asian Wide/Fullwidth ranges and emoji (Unicode 15) instead. The ncurses backend
/// moves the cursor to the start of every run it draws, so a rare disagreement with the
/// system's `wcwidth` shifts at most one run, never the rest of the row.
public enum TextWidth {
    /// Columns one grapheme occupies: 0 for combining marks and controls, 2 for wide, else 1.
    public static func width(of character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        let v = first.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if v < 0x1100 { return 1 }
        // Emoji presentation selector makes a narrow symbol wide.
        if character.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        return isWide(v) ? 2 : (isZeroWidth(v) ? 0 : 1)
    }

    /// Total columns of a string.
    public static func width(of text: some StringProtocol) -> Int {
        var total = 0
        for ch in text { total += width(of: ch) }
        return total
    }

    static func isZeroWidth(_ v: UInt32) -> Bool {
        (0x0300...0x036F).contains(v) || (0x200B...0x200F).contains(v) || (0x20D0...0x20FF).contains(v)
            || (0xFE00...0xFE0F).contains(v) || (0xFE20...0xFE2F).contains(v)
    }

    static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3,
             0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F, 0x2693, 0x26A1, 0x26AA...0x26AB,
             0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE, 0x26D4, 0x26EA, 0x26F2...0x26F3, 0x26F5, 0x26FA,
             0x26FD, 0x2705, 0x270A...0x270B, 0x2728, 0x274C, 0x274E, 0x2753...0x2755, 0x2757,
             0x2795...0x2797, 0x27B0, 0x27BF, 0x2B1B...0x2B1C, 0x2B50, 0x2B55,
             0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18CFF, 0x1B000...0x1B2FF,
             0x1F004, 0x1F0CF, 0x1F18E, 0x1F191...0x1F19A, 0x1F200...0x1F251, 0x1F300...0x1F64F,
             0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB, 0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// Replaces control characters (which ncurses would draw as two-cell `^X` and break the
    /// layout) with a visible substitute, and tabs/newlines with spaces.
    public static func sanitize(_ text: String) -> String {
        var needsWork = false
        for s in text.unicodeScalars where s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0) {
            needsWork = true; break
        }
        guard needsWork else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value == 0x09 || s.value == 0x0A || s.value == 0x0D { out.append(" ") }
            else if s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0) { out.append("\u{FFFD}") }
            else { out.append(s) }
        }
        return String(out)
    }

    /// Truncates to at most `width` columns, ending with `ellipsis` when something was cut.
    public static func truncate(_ text: String, to width: Int, ellipsis: String = "…") -> String {
        guard width > 0 else { return "" }
        if Self.width(of: text) <= width { return text }
        let ellipsisWidth = Self.width(of: ellipsis)
        let budget = max(0, width - ellipsisWidth)
        var out = ""
        var used = 0
        for ch in text {
            let w = Self.width(of: ch)
            if used + w > budget { break }
            out.append(ch); used += w
        }
        return ellipsisWidth <= width ? out + ellipsis : out
    }

    /// Pads (or truncates) to exactly `width` columns.
    public static func fit(_ text: String, to width: Int, alignRight: Bool = false, ellipsis: String = "…") -> String {
        let t = truncate(text, to: width, ellipsis: ellipsis)
        let pad = max(0, width - Self.width(of: t))
        let spaces = String(repeating: " ", count: pad)
        return alignRight ? spaces + t : t + spaces
    }
}
